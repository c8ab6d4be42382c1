import type { DType, TypedArray } from './dtype.ts';
import type { SampleContext } from './worker-info.ts';

/**
 * The dataset contract: a length and an item by index, synchronously or as a promise.
 *
 * Like torch's map-style `Dataset`: indices run from 0 to `length - 1`.
 *
 * @typeParam T - the items
 * @typeParam L - the type of `layout`: a dataset that declares one types it exactly, so that the batches of
 *   the default collate are typed with its dtypes; `undefined` says it has none. The default, any layout,
 *   types a batch's numbers as any dtype's array.
 * @example
 * ```ts
 * const squares: Dataset<number> = { length: 10, get: (i) => i * i };
 * ```
 */
export interface Dataset<T, L extends ItemLayout | undefined = ItemLayout | undefined> {
  /** Number of items. */
  readonly length: number;
  /**
   * The item at `index` (0 ≤ index < length). May return a promise. Loaders pass a `context` whose
   * `random()` makes augmentations depend only on (seed, epoch, index), not on the worker.
   */
  get(index: number, context?: SampleContext): T | Promise<T>;
  /**
   * Optional: the dtype (and, when every item has the same, the shape) of each field of an item. The default
   * collate gives each field's batch that dtype, so a dtype declared by the dataset reaches the batch. An item
   * that is a single value rather than an object (a typed array, a number) is the one field `''`.
   */
  readonly layout?: L;
  /**
   * Optional: writes item `index` straight into row `row` of a batch, one flat typed array per field of
   * `layout` (row `row` of field `f` starts at `row * product(layout[f].shape)`). Used by the default collate
   * when every field of `layout` has a `shape`; it must write exactly what `get` followed by collating gives,
   * every element of the row (the batch's memory may be reused, holding an earlier batch's values).
   */
  writeItem?(
    index: number,
    batch: Readonly<Record<string, TypedArray>>,
    row: number,
    context?: SampleContext,
  ): void | Promise<void>;
  /**
   * Optional: a hint that the items at `indices` will be read soon. Loaders call it on the main thread with
   * the indices of the coming batches, in order, a bounded number of batches ahead of loading (in-process
   * and with workers alike), since weft's order is known in advance. A dataset over remote data starts
   * fetching their bytes into its cache in the background and returns at once; it must not throw (what fails
   * is reported by the `get` that needs the item) nor change what `get` returns.
   *
   * Returning `true` asks for more: the loader then reads further ahead than its usual number of batches
   * (up to a bound), until an answer is not `true`. A dataset whose blocks hold many batches (shards,
   * row groups) answers `true` while its downloads have room, so that the next blocks are known early
   * enough, however many batches a block holds.
   *
   * @example
   * ```ts
   * prefetch(indices: Uint32Array): boolean { for (const i of indices) this.#cache.warm(this.#blockOf(i)); return this.#cache.hasRoom; }
   * ```
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: a prefetch that answers nothing (void) stays valid
  prefetch?(indices: Uint32Array): void | boolean;
}

/**
 * One field of an {@link ItemLayout}: its dtype, and the shape of one item's value when it is fixed
 * (`[]` for a scalar such as a label).
 *
 * @example
 * ```ts
 * const image: FieldLayout = { dtype: 'float32', shape: [3, 224, 224] };
 * ```
 */
export interface FieldLayout {
  /** The element type of the field's batch array. */
  readonly dtype: DType;
  /** The shape of one item's value, when every item has it (`[]` for a scalar); absent when it varies. */
  readonly shape?: readonly number[];
}

/**
 * What a dataset declares about the fields of its (object) items, by field name. An item that is one typed
 * array rather than an object (a `BinaryDataset`'s) is described as the field `''`.
 *
 * @example
 * ```ts
 * const layout: ItemLayout = { image: { dtype: 'uint8', shape: [28, 28, 1] }, label: { dtype: 'int32', shape: [] } };
 * ```
 */
export type ItemLayout = Readonly<Record<string, FieldLayout>>;

/**
 * The key of a method that gives the datasets inside a dataset (a `Subset`'s, a `ConcatDataset`'s parts),
 * each with its path from it (`.dataset`, `.datasets[0]`): how loaders compare their lengths between
 * threads without loading the classes that have parts. @internal
 */
export const DATASET_PARTS: unique symbol = Symbol.for('weft.datasetParts');

/** Anything with a length: what samplers need to know of the data they index. */
export interface Sized {
  /** Number of items (indices run from 0 to `length - 1`). */
  readonly length: number;
}

/** The item type of a dataset. */
export type ItemOf<D> = D extends Dataset<infer T> ? T : never;
