// The public default collate: the function of default.ts with `with`, whose options are checked here.
import type { Collated, NoDTypes } from './collated.ts';
import { collateWithDtypes, plainCollate } from './default.ts';
import type { CollateOptions } from './options.ts';
import { parseOptions } from './options.ts';

export type { Collate } from './default.ts';

/**
 * {@link defaultCollate}'s type: the collate function itself, and {@link DefaultCollate.with} to make one
 * with options.
 *
 * @example
 * ```ts
 * const collate: DefaultCollate = defaultCollate;
 * ```
 */
export interface DefaultCollate {
  /**
   * Collates a batch of items (see {@link defaultCollate}).
   *
   * @param items - the batch; must not be empty
   */
  <T>(items: T[]): Collated<T>;
  /**
   * A collate like this one with options: per-field element types, so that labels arrive as an
   * `Int32Array` and images as a `Float32Array` without a cast. Options are checked here (an unknown dtype is
   * a {@link ConfigError}); a dtype naming no field of the items is a `ConfigError` at the first batch. The
   * result can be used with workers: they rebuild it from its options.
   *
   * @param options - see {@link CollateOptions}
   * @example
   * ```ts
   * const collate = defaultCollate.with({ dtypes: { x: 'float32', y: 'int32' } });
   * collate([{ x: [0.5, 1], y: 3 }, { x: [2, 0], y: 7 }]);
   * // { x: { data: Float32Array [0.5, 1, 2, 0], shape: [2, 2] }, y: Int32Array [3, 7] }
   * ```
   */
  with<const O extends CollateOptions>(options: O): CollateWith<DTypesOf<O>>;
}

/**
 * The collate `defaultCollate.with({ dtypes })` returns: any batch of items, typed as {@link Collated} with
 * those dtypes.
 *
 * @typeParam DT - the dtypes by field path
 * @example
 * ```ts
 * const collate: CollateWith<{ label: 'int32' }> = defaultCollate.with({ dtypes: { label: 'int32' } });
 * ```
 */
export type CollateWith<DT> = <T>(items: T[]) => Collated<T, DT>;

/** The `dtypes` of collate options, `{}` when there are none. */
type DTypesOf<O> = O extends { readonly dtypes?: infer D } ? NonNullable<D> : NoDTypes;

const collateWith = <const O extends CollateOptions>(options: O): CollateWith<DTypesOf<O>> =>
  collateWithDtypes(parseOptions(options)) as CollateWith<DTypesOf<O>>;

/**
 * Collates a batch of items in the spirit of torch's `default_collate`.
 *
 * Numbers become a `Float64Array`, booleans a `Uint8Array`, bigints a `BigInt64Array` (one out of its range
 * is an error, not wrapped); typed arrays of one type and length, tensors of one shape, and rectangular nested
 * number arrays are stacked into a {@link Tensor} with a leading batch dimension; objects are collated key by
 * key and other arrays (tuples such as `[0, 'cat']`) position by position; strings stay a `string[]`. Anything
 * that does not line up, a tensor whose `data` does not fit its shape, or an item nested more than 32 levels
 * deep (a cycle) is a {@link CollateError} naming the path in the item and what differed.
 * `defaultCollate.with({ dtypes })` gives other element types per field (see {@link DefaultCollate.with}).
 *
 * @param items - the batch; must not be empty
 * @example
 * ```ts
 * defaultCollate([{ x: new Float32Array([1, 2]), y: 0 }, { x: new Float32Array([3, 4]), y: 1 }]);
 * // { x: { data: Float32Array [1, 2, 3, 4], shape: [2, 2] }, y: Float64Array [0, 1] }
 * ```
 */
export const defaultCollate: DefaultCollate = Object.assign(plainCollate as <T>(items: T[]) => Collated<T>, {
  with: collateWith,
});
