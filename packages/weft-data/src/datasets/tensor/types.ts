// The types of a TensorDataset's items and layout, computed from its columns as given (`new TensorDataset`)
// or from the items and specs given to `fromItems`: what `get` returns for each kind of column (see
// `reader` in tensor-dataset.ts) and the dtype each numeric column declares. Type-level only.
import type { DTypeArrays, Tensor } from '../../core/dtype.ts';
import type { ColumnArray, ColumnData, NumericDType } from './columns.ts';
import type { ColumnSpec } from './infer.ts';

/**
 * One field of a {@link TensorDataset} item: a number or bigint (per-item shape `[]`), a typed-array view
 * (shape `[k]` or a ragged column), a {@link Tensor} whose `data` is a view (shape of two or more
 * dimensions), or a string.
 *
 * @example
 * ```ts
 * const v: TensorValue = dataset.get(0).x;
 * ```
 */
export type TensorValue = number | bigint | string | ColumnArray | Tensor<ColumnArray>;

/**
 * A {@link TensorDataset} item: one value per column.
 *
 * @example
 * ```ts
 * const item: TensorItem = dataset.get(0); // { x: Float32Array(784), y: 3 }
 * ```
 */
export type TensorItem = Record<string, TensorValue>;

/**
 * Columns as `new TensorDataset(columns)` takes them, by name: the type parameter of {@link TensorDataset}.
 *
 * @example
 * ```ts
 * const columns = { x: { data: new Float32Array(8), shape: [4] }, y: { data: new Int32Array(2) } } satisfies TensorColumns;
 * ```
 */
export type TensorColumns = Readonly<Record<string, ColumnData>>;

interface DTypeByTag {
  Float64Array: 'float64';
  Float32Array: 'float32';
  Int32Array: 'int32';
  Uint32Array: 'uint32';
  Int16Array: 'int16';
  Uint16Array: 'uint16';
  Int8Array: 'int8';
  Uint8Array: 'uint8';
  BigInt64Array: 'bigint64';
}
type DTypeOf<A extends ColumnArray> = DTypeByTag[A[typeof Symbol.toStringTag]];

type IsString<C> = C extends { readonly data: readonly string[] }
  ? true
  : C extends { readonly dtype: 'string' }
    ? true
    : false;

// An item of shape [] is a number (a bigint in a bigint64 column), [k] a typed-array view, two or more
// dimensions a Tensor; a shape of unknown length may be any of them.
type Scalar<D extends NumericDType> = D extends 'bigint64' ? bigint : number;
type ByShape<D extends NumericDType, S> = S extends readonly []
  ? Scalar<D>
  : S extends readonly [number]
    ? DTypeArrays[D]
    : S extends readonly [number, number, ...number[]]
      ? Tensor<DTypeArrays[D]>
      : Scalar<D> | DTypeArrays[D] | Tensor<DTypeArrays[D]>;

/**
 * The value `get` gives for a column given as `C`: a string for a string column, a typed-array view for a
 * ragged one, else by its `shape` (a number for `[]` or none, a view for `[k]`, a {@link Tensor} beyond).
 *
 * @example
 * ```ts
 * type V = ColumnValue<{ data: Float32Array; shape: [28, 28] }>; // Tensor<Float32Array>
 * ```
 */
export type ColumnValue<C> = ColumnData extends C
  ? TensorValue
  : IsString<C> extends true
    ? string
    : C extends Pick<ColumnData, 'data'>
      ? NumericValue<C>
      : never;

type NumericValue<C extends Pick<ColumnData, 'data'>> =
  C extends Required<Pick<ColumnData, 'offsets'>>
    ? DTypeArrays[DTypeOfColumn<C>]
    : C extends Required<Pick<ColumnData, 'shape'>>
      ? ByShape<DTypeOfColumn<C>, C['shape']>
      : Scalar<DTypeOfColumn<C>>;

type DTypeOfColumn<C> =
  C extends Pick<ColumnData, 'data'> ? (C['data'] extends ColumnArray ? DTypeOf<C['data']> : never) : never;

/**
 * A {@link TensorDataset} item: each column's {@link ColumnValue}.
 *
 * @example
 * ```ts
 * type Item = TensorItemOf<{ x: { data: Float32Array; shape: [4] }; y: { data: Int32Array } }>; // { x: Float32Array; y: number }
 * ```
 */
export type TensorItemOf<C> = string extends keyof C
  ? TensorItem
  : { -readonly [K in keyof C]: ColumnValue<C[K]> };

/**
 * A {@link TensorDataset}'s `layout`: the dtype of each numeric column (string columns have none).
 *
 * @example
 * ```ts
 * type L = TensorLayoutOf<{ y: { data: Int32Array }; name: { data: string[] } }>; // { y: { dtype: 'int32'; … } }
 * ```
 */
export type TensorLayoutOf<C> = {
  readonly [K in keyof C as IsString<C[K]> extends true ? never : K]: {
    /** The column's element type. */
    readonly dtype: DTypeOfColumn<C[K]>;
    /** The shape of one item, for a column of fixed-size items. */
    readonly shape?: readonly number[];
  };
};

// ---- fromItems: the columns that items and specs make, as the constructor's columns would be given. ----

type NestedShape<V> = V extends number
  ? []
  : V extends readonly (infer E)[]
    ? [number, ...NestedShape<E>]
    : number[];

type InferredDType<V> = V extends bigint
  ? 'bigint64'
  : V extends ColumnArray
    ? DTypeOf<V>
    : V extends Tensor<infer A extends ColumnArray>
      ? DTypeOf<A>
      : 'float64';

type InferredShape<V> = V extends number | bigint
  ? []
  : V extends ColumnArray
    ? [number]
    : V extends Tensor
      ? number[]
      : NestedShape<V>;

type ItemColumn<V, P> = P extends { readonly dtype: 'string' }
  ? { readonly data: string[] }
  : [V] extends [string]
    ? { readonly data: string[] }
    : P extends { readonly ragged: true }
      ? {
          readonly data: DTypeArrays[P extends { readonly dtype: infer D extends NumericDType }
            ? D
            : InferredDType<V>];
          readonly offsets: ArrayLike<number>;
        }
      : {
          readonly data: DTypeArrays[P extends { readonly dtype: infer D extends NumericDType }
            ? D
            : InferredDType<V>];
          readonly shape: P extends { readonly shape: infer S } ? S : InferredShape<V>;
        };

/**
 * The columns `TensorDataset.fromItems(items, specs)` stores for items of type `R`, by field: each field's
 * dtype and shape as given in its {@link ColumnSpec}, else as inferred from the item's type.
 *
 * @example
 * ```ts
 * type C = ItemColumns<{ x: number[]; y: number }, { y: { dtype: 'int32' } }>; // x: float64 [k], y: int32 []
 * ```
 */
export type ItemColumns<R, S> = [R] extends [never]
  ? TensorColumns
  : {
      readonly [K in keyof R & string]: ItemColumn<
        R[K],
        K extends keyof S ? NonNullable<S[K]> : Record<never, never>
      >;
    };

/**
 * The column specs `fromItems` accepts for items of type `R`: a {@link ColumnSpec} per field, all optional
 * (any field names when there are no items to type them).
 *
 * @example
 * ```ts
 * const specs: ColumnSpecs<{ y: number }> = { y: { dtype: 'int32' } };
 * ```
 */
export type ColumnSpecs<R> = [R] extends [never]
  ? Readonly<Record<string, ColumnSpec>>
  : { readonly [K in keyof R]?: ColumnSpec };
