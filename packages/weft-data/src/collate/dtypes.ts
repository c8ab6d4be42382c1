// What a dtype asked of the default collate means: its typed array and the numbers it holds; and the checks of
// a collated batch against the dtypes asked for. Free of zod: worker threads load it (options.ts validates).
import { fail } from '../core/checks.ts';
import { DTYPE_ARRAYS, INTEGER_RANGES, type TypedArray } from '../core/dtype.ts';
import { ConfigError } from '../core/errors.ts';

/** The dtypes the default collate can give a field (all but `bigint64`), in the order messages list them. */
export const NAMES = [
  'float64',
  'float32',
  'int8',
  'int16',
  'int32',
  'uint8',
  'uint16',
  'uint32',
  'bool',
] as const;
/** One of {@link NAMES}. */
export type Name = (typeof NAMES)[number];

/** A dtype asked for: its typed array, and which numbers it holds. */
export interface DTypeInfo {
  /** The dtype's name, as the options give it. */
  readonly name: Name;
  /** Its typed array. */
  readonly Array: new (
    length: number,
  ) => TypedArray;
  /** Whether the type holds `v` exactly (float32: up to rounding). */
  readonly fits: (v: number) => boolean;
}

function fits(name: Name): (v: number) => boolean {
  if (name === 'float64') return () => true;
  // NaN and ±Infinity are float32 values; a finite number that rounds to Infinity is not.
  if (name === 'float32') return (v) => !Number.isFinite(v) || Number.isFinite(Math.fround(v));
  const [lo, hi] = INTEGER_RANGES[name];
  return (v) => Number.isInteger(v) && v >= lo && v <= hi;
}

/**
 * What the dtype `name` means to the default collate.
 *
 * @param name - a dtype of {@link NAMES}
 * @example
 * ```ts
 * dtypeInfo('int32').fits(1.5); // false
 * ```
 */
export const dtypeInfo = (name: Name): DTypeInfo => ({ name, Array: DTYPE_ARRAYS[name], fits: fits(name) });

/** The dtypes asked for, by field path, and which of them this batch met (the others name no field). */
export interface Context {
  /** The dtypes asked for (options.ts checks them). */
  readonly dtypes: ReadonlyMap<string, DTypeInfo>;
  /** The fields met so far. */
  readonly used: Set<string>;
}

/**
 * Throws when a dtype named a field the batch did not have (a typo, most likely).
 *
 * @param ctx - the context the batch was collated with
 * @example
 * ```ts
 * checkAllUsed({ dtypes, used }); // after collating a batch
 * ```
 */
export function checkAllUsed(ctx: Context): void {
  if (ctx.used.size === ctx.dtypes.size) return;
  const missing = [...ctx.dtypes.keys()].filter((f) => !ctx.used.has(f));
  fail(
    'collate options',
    missing.map((f) => `\`dtypes.${f}\` names no field of the items`),
  );
}

/**
 * The error for a dtype naming a field whose values have none (strings, bigints, objects, tuples).
 *
 * @param field - the field's path as the options name it
 * @param kind - what its values are
 * @example
 * ```ts
 * throw noDtype('name', 'string');
 * ```
 */
export function noDtype(field: string, kind: string): ConfigError {
  return new ConfigError(
    `\`dtypes.${field}\` names a field of ${kind} values, which have no dtype; dtypes apply to numbers, booleans, typed arrays, tensors and nested number arrays`,
  );
}
