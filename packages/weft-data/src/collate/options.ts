// The `dtypes` option of `defaultCollate.with`: its schema, what each dtype can hold, and the check, after a
// batch, that every field it names was met.
import { z } from 'zod';
import { describe } from '../core/checks.ts';
import { DTYPE_ARRAYS, type DType, INTEGER_RANGES, type TypedArray } from '../core/dtype.ts';
import { ConfigError } from '../core/errors.ts';
import { fail, parse } from '../core/validate.ts';

/**
 * Options of {@link DefaultCollate.with}.
 *
 * @example
 * ```ts
 * const options: CollateOptions = { dtypes: { image: 'float32', label: 'int32' } };
 * ```
 */
export interface CollateOptions {
  /**
   * The element type of named fields, instead of the defaults (`Float64Array` for numbers, `Uint8Array` for
   * booleans, the items' own type for typed arrays and tensors). A field is named by its path in an item, a dot
   * between levels and a position for a tuple element: `label`, `image.pixels`, `1`. Applies to numbers,
   * booleans, typed arrays, tensors and nested number arrays; not `bigint64` (bigints are collated as they
   * are). A value the type cannot hold (1.5 as int32, 300 as uint8, 1e39 as float32) is a
   * {@link CollateError}; float32 rounds like `Math.fround`.
   * @default {}
   */
  readonly dtypes?: Readonly<Record<string, Exclude<DType, 'bigint64'>>>;
}

// In the order the messages list them.
const NAMES = ['float64', 'float32', 'int8', 'int16', 'int32', 'uint8', 'uint16', 'uint32', 'bool'] as const;
type Name = (typeof NAMES)[number];

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

const optionsSchema = z.strictObject({
  dtypes: z
    .record(z.string(), z.enum(NAMES, { error: `must be one of ${NAMES.join(', ')}` }), {
      error: 'must be an object of field → dtype',
    })
    .nullish(),
});

/** Each key of `dtypes` must be a field path: names joined by single dots. */
function fieldPaths(raw: Record<string, unknown>): string[] {
  const { dtypes } = raw;
  if (typeof dtypes !== 'object' || dtypes === null) return [];
  return Object.keys(dtypes)
    .filter((f) => f === '' || f.startsWith('.') || f.endsWith('.') || f.includes('..'))
    .map((f) => `\`dtypes\` has the field ${JSON.stringify(f)}, which is not a path like \`a\` or \`a.b\``);
}

/**
 * The dtypes asked for, by field path; throws one {@link ConfigError} listing every problem of `options`.
 *
 * @param options - as given to `defaultCollate.with`
 * @example
 * ```ts
 * parseOptions({ dtypes: { y: 'int32' } }).get('y')?.Array; // Int32Array
 * ```
 */
export function parseOptions(options: CollateOptions): ReadonlyMap<string, DTypeInfo> {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError(`collate options must be an object, got ${describe(options)}`);
  }
  const { dtypes } = parse('collate options', optionsSchema, options, [fieldPaths]);
  return new Map(
    Object.entries(dtypes ?? {}).map(([field, name]) => [
      field,
      { name, Array: DTYPE_ARRAYS[name], fits: fits(name) },
    ]),
  );
}

/** The dtypes asked for, by field path, and which of them this batch met (the others name no field). */
export interface Context {
  /** From {@link parseOptions}. */
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
