// The `dtypes` option of `defaultCollate.with`: its schema and its check (what each dtype means and the checks
// of a batch against them are in dtypes.ts, which workers load without zod).
import { z } from 'zod';
import { describe } from '../core/checks.ts';
import type { DType } from '../core/dtype.ts';
import { ConfigError } from '../core/errors.ts';
import { parse } from '../core/validate.ts';
import { type DTypeInfo, dtypeInfo, NAMES } from './dtypes.ts';

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
  return new Map(Object.entries(dtypes ?? {}).map(([field, name]) => [field, dtypeInfo(name)]));
}
