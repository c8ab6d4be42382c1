// The types of collated batches: `Collated<Item>` says, kind by kind, what `defaultCollate` (collate.ts and
// stack.ts) returns for a batch of `Item`s, and the layout types say which dtypes a dataset's `layout` gives
// to the default collate of a loader. Type-level only: nothing here runs.
import type { Dataset, ItemLayout, ItemOf } from '../core/dataset.ts';
import type { DType, DTypeArrays, Tensor, TypedArray } from '../core/dtype.ts';

/**
 * Dtypes by field path, as `defaultCollate.with({ dtypes })` takes them and as a dataset's `layout` gives
 * them (`bigint64` aside: bigints are collated as they are).
 *
 * @example
 * ```ts
 * const dtypes: FieldDTypes = { image: 'float32', label: 'int32' };
 * ```
 */
export type FieldDTypes = { readonly [field: string]: Exclude<DType, 'bigint64'> };

// The typed array of each typed-array type, by its tag: a stacked batch is a fresh array (on an ArrayBuffer)
// of the items' own type, whatever buffer the items' arrays were views of.
interface ArraysByTag {
  Float64Array: Float64Array;
  Float32Array: Float32Array;
  Int32Array: Int32Array;
  Uint32Array: Uint32Array;
  Int16Array: Int16Array;
  Uint16Array: Uint16Array;
  Int8Array: Int8Array;
  Uint8Array: Uint8Array;
  Uint8ClampedArray: Uint8ClampedArray;
  BigInt64Array: BigInt64Array;
  BigUint64Array: BigUint64Array;
}
type Fresh<A extends TypedArray> = ArraysByTag[A[typeof Symbol.toStringTag]];

// The array of field `F`: its dtype's when `DT` names it; with dtypes known only as "some" (an index
// signature: a dataset typed as `Dataset<T>`, whose layout is not known), any of them or the default.
type ArrayAt<DT, F extends string, Default> = F extends keyof DT
  ? DTypeArrays[DT[F] & DType] | (string extends keyof DT ? Default : never)
  : Default;

/**
 * No dtypes: every field collates to its default array.
 *
 * @example
 * ```ts
 * type B = Collated<{ y: number }, NoDTypes>; // { y: Float64Array }
 * ```
 */
export type NoDTypes = Record<never, never>;

type Path<P extends string, K extends string> = P extends '' ? K : `${P}.${K}`;

// A rectangular nested array of numbers is stacked into one tensor (collate.ts, case 'array').
type NestedNumbers = number | readonly NestedNumbers[];

// `Depth` counts the levels walked: a recursive item type (a JSON value) stops at MaxTypeDepth as `unknown`
// rather than instantiating forever.
type MaxTypeDepth = 8;
type At<T, DT, F extends string, Depth extends 0[] = []> = Depth['length'] extends MaxTypeDepth
  ? unknown
  : unknown extends T
    ? unknown
    : // Whole, so that `true | false` gives one array type, not the same one twice.
      [T] extends [boolean]
      ? ArrayAt<DT, F, Uint8Array>
      : T extends number
        ? ArrayAt<DT, F, Float64Array>
        : T extends boolean
          ? ArrayAt<DT, F, Uint8Array>
          : T extends bigint
            ? BigInt64Array
            : T extends string
              ? string[]
              : T extends TypedArray
                ? Tensor<ArrayAt<DT, F, Fresh<T>>>
                : T extends Tensor<infer A>
                  ? Tensor<ArrayAt<DT, F, Fresh<A>>>
                  : T extends readonly []
                    ? []
                    : T extends readonly NestedNumbers[]
                      ? Tensor<ArrayAt<DT, F, Float64Array>>
                      : T extends readonly unknown[]
                        ? {
                            -readonly [K in keyof T]: At<
                              T[K],
                              DT,
                              Path<F, `${K & (string | number)}`>,
                              [...Depth, 0]
                            >;
                          }
                        : T extends (...args: never[]) => unknown
                          ? never
                          : T extends object
                            ? { -readonly [K in keyof T]: At<T[K], DT, Path<F, K & string>, [...Depth, 0]> }
                            : never;

/**
 * What {@link defaultCollate} returns for a batch of `Item`s, with the dtypes `DT` of
 * `defaultCollate.with({ dtypes })` or of a dataset's `layout`:
 *
 * - a number → `Float64Array` (or its field's dtype's array), a boolean → `Uint8Array` (likewise), a bigint
 *   → `BigInt64Array`, a string → `string[]`;
 * - a typed array, or a {@link Tensor} of one → a `Tensor` of the same array type (or the field's dtype's)
 *   with a leading batch dimension;
 * - a nested array of numbers (`number[]`, `number[][]`, `[number, number]`) → a `Tensor<Float64Array>` (or
 *   the dtype's); the type assumes it is rectangular, as collating it requires;
 * - an object → the same keys, each collated; another array or tuple (`[Float32Array, number]`,
 *   `string[]`) → position by position.
 *
 * `null`, `undefined` and functions cannot be collated (`never`); `unknown` stays `unknown`.
 *
 * @typeParam Item - the items of the batch
 * @typeParam DT - dtypes by field path (`label`, `meta.id`, `1`) @default NoDTypes
 * @example
 * ```ts
 * type B = Collated<{ image: Tensor<Uint8Array>; label: number; name: string }, { label: 'int32' }>;
 * // { image: Tensor<Uint8Array>; label: Int32Array; name: string[] }
 * ```
 */
export type Collated<Item, DT = NoDTypes> = At<Item, DT, ''>;

/**
 * The dtypes a dataset's {@link ItemLayout} gives the default collate: each field's `dtype`, but `bigint64`
 * (bigints are collated as they are) and the whole-item field `''` (a typed-array item keeps its type).
 * A layout known only as `ItemLayout` gives "any dtype" (an index signature), so the batch type is the union.
 *
 * @typeParam L - the type of the dataset's `layout` (`undefined` or `unknown`: none)
 * @example
 * ```ts
 * type D = LayoutDTypes<{ x: { dtype: 'float32' }; y: { dtype: 'int32'; shape: [] } }>; // { x: 'float32'; y: 'int32' }
 * ```
 */
export type LayoutDTypes<L> = unknown extends L
  ? NoDTypes
  : [NonNullable<L>] extends [never]
    ? NoDTypes
    : string extends keyof NonNullable<L>
      ? FieldDTypes
      : {
          [K in keyof NonNullable<L> as K extends ''
            ? never
            : NonNullable<L>[K] extends {
                  /** A bigint field. */
                  readonly dtype: 'bigint64';
                }
              ? never
              : K]: NonNullable<L>[K] extends {
            /** The field's dtype. */
            readonly dtype: infer D;
          }
            ? D
            : never;
        };

/**
 * The type of a dataset's `layout` (`unknown` for a dataset that declares none).
 *
 * @example
 * ```ts
 * type L = LayoutOf<TensorDataset<{ y: { data: Int32Array } }>>; // { readonly y: { dtype: 'int32'; shape: [] } }
 * ```
 */
export type LayoutOf<D> = D extends {
  /** The dataset's layout. */
  readonly layout?: infer L;
}
  ? L
  : unknown;

/**
 * The batch a loader's default collate makes of dataset `D`'s items: {@link Collated} with the dtypes of
 * its `layout`. What `new DataLoader({ dataset })` yields when no `collate` is given.
 *
 * @example
 * ```ts
 * type B = BatchOf<ImageFolder<'uint8'>>; // { image: Tensor<Uint8Array>; label: Int32Array }
 * ```
 */
export type BatchOf<D> = Collated<ItemOf<D>, LayoutDTypes<LayoutOf<D>>>;

/**
 * Any collate function, whatever its items: what options that take a user's collate accept.
 *
 * @example
 * ```ts
 * const collate: AnyCollate = (items: { x: number }[]) => items.length;
 * ```
 */
export type AnyCollate = (items: never[]) => unknown;

/**
 * The batch the collate `F` makes, or without one (`undefined`) the default collate's batch of dataset `D`.
 *
 * @example
 * ```ts
 * type B = BatchMadeBy<undefined, ImageFolder>; // { image: Tensor<Float32Array>; label: Int32Array }
 * ```
 */
export type BatchMadeBy<F, D> = F extends (items: never[]) => infer B ? B : BatchOf<D>;

/**
 * The dataset a sampler indexes, as its `dataset` is typed (`Dataset<unknown>` when it does not say).
 *
 * @example
 * ```ts
 * type D = SamplerDataset<RandomSampler<ImageFolder>>; // ImageFolder
 * ```
 */
export type SamplerDataset<S> = S extends {
  /** The sampler's dataset. */
  readonly dataset: infer D extends Dataset<unknown>;
}
  ? D
  : Dataset<unknown>;
