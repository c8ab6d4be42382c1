import { z } from 'zod';
import { checkIndex, isPromiseLike } from '../core/checks.ts';
import { DATASET_PARTS, type Dataset, type ItemLayout } from '../core/dataset.ts';
import { toIndices } from '../core/indices.ts';
import { type Recipe, TO_RECIPE } from '../core/recipe.ts';
import { parseArguments, withLength } from '../core/validate.ts';
import type { SampleContext } from '../core/worker-info.ts';

// The arguments of the three constructors. Items are not looked at (an array of a million is not walked).
const itemsSchema = z.object({
  items: z.custom<readonly unknown[]>(Array.isArray, { error: 'must be an array' }),
});
const subsetSchema = z.object({ dataset: withLength });
const concatSchema = z.object({
  datasets: z.array(
    withLength.check((ctx) => {
      if (typeof (ctx.value as Partial<Dataset<unknown>>).get !== 'function') {
        ctx.issues.push({ code: 'custom', message: 'must have a `get(index)` method', input: ctx.value });
      }
    }),
    { error: 'must be an array of datasets' },
  ),
});

/**
 * A dataset backed by an in-memory array.
 *
 * With `numWorkers > 0` every worker receives its own structured-clone copy of all items. For tables of
 * numbers, typed arrays or strings of any size use `TensorDataset` instead (`TensorDataset.fromItems`):
 * its columns live in shared memory, which workers read without copies. An `ArrayDataset` is not converted
 * automatically, so that items are the same objects' values with 0 or more workers.
 *
 * @param items - the items; not copied
 * @example
 * ```ts
 * const ds = new ArrayDataset(['a', 'b', 'c']);
 * ds.get(1); // 'b'
 * ```
 */
export class ArrayDataset<T> implements Dataset<T, undefined> {
  readonly #items: readonly T[];
  constructor(items: readonly T[]) {
    parseArguments(itemsSchema, { items }, {});
    this.#items = items;
  }
  /** Number of items: the array's length. */
  get length(): number {
    return this.#items.length;
  }
  /**
   * The item at `index`, as it is in the array (not copied).
   *
   * @param index - 0 ≤ index < length; anything else is an {@link IndexError}
   */
  get(index: number): T {
    checkIndex(index, this.#items.length);
    return this.#items[index] as T;
  }
  /** How a worker rebuilds this dataset: from its items, sent as they are (not copied here first). @internal */
  [TO_RECIPE](): Recipe | undefined {
    // A subclass may override `get`; rebuilding it as an ArrayDataset would load other items.
    if (Object.getPrototypeOf(this) !== ArrayDataset.prototype) return undefined;
    return rebuild('arrayDataset', [{ label: 'items', value: this.#items }]);
  }
}

/**
 * A view of a dataset at the given indices, like torch's `Subset`.
 *
 * @param dataset - the underlying dataset
 * @param indices - positions in `dataset`; each is checked eagerly
 * @example
 * ```ts
 * const evens = new Subset(new ArrayDataset([10, 11, 12, 13]), [0, 2]);
 * evens.get(1); // 12
 * ```
 */
export class Subset<T, L extends ItemLayout | undefined = ItemLayout | undefined> implements Dataset<T, L> {
  /** The underlying dataset the view reads from. */
  readonly dataset: Dataset<T, L>;
  /** The underlying dataset's layout: a view has the same items. */
  readonly layout: L | undefined;
  /**
   * Position in {@link Subset.dataset} of each item of the view: item `i` is `dataset.get(indices[i])`.
   * A copy of the indices given, checked at construction.
   */
  readonly indices: readonly number[];
  constructor(dataset: Dataset<T, L>, indices: ArrayLike<number>) {
    const n = parseArguments(subsetSchema, { dataset }, {}).dataset.length;
    // The indices are checked after the dataset, as they need its length.
    this.indices = Array.from(toIndices(indices ?? [], n, 'indices', 'argument'));
    this.dataset = dataset;
    this.layout = dataset.layout;
  }
  /** Number of items in the view: the number of indices given. */
  get length(): number {
    return this.indices.length;
  }
  /**
   * Item `index` of the view: `dataset.get(indices[index], context)`.
   *
   * @param index - 0 ≤ index < length; anything else is an {@link IndexError}
   * @param context - passed on to the underlying dataset's `get`
   */
  get(index: number, context?: SampleContext): T | Promise<T> {
    checkIndex(index, this.indices.length, 'subset');
    return this.dataset.get(this.indices[index] as number, context);
  }
  /**
   * Passes the coming items on to the underlying dataset's `prefetch` (see {@link Dataset.prefetch}), as
   * its indices, and its answer (`true`: read further ahead).
   *
   * @param indices - items of the view soon to be read
   */
  prefetch(indices: Uint32Array): boolean {
    if (this.dataset.prefetch === undefined) return false;
    return this.dataset.prefetch(Uint32Array.from(indices, (i) => this.indices[i] as number)) === true;
  }

  /** The dataset under the view, for the loaders' length checks. @internal */
  [DATASET_PARTS](): [string, Dataset<T>][] {
    return [['.dataset', this.dataset]];
  }
  /** How a worker rebuilds this view: its dataset (itself rebuildable) and its indices. @internal */
  [TO_RECIPE](): Recipe | undefined {
    if (Object.getPrototypeOf(this) !== Subset.prototype) return undefined;
    return rebuild('subset', [
      { label: 'dataset', value: this.dataset, ref: true },
      { label: 'indices', value: this.indices },
    ]);
  }
}

/** What {@link ConcatDataset} returns: the item and where it came from. */
export interface ConcatItem<T> {
  /** Position of the source dataset in the list given to {@link ConcatDataset}. */
  readonly dataset: number;
  /** Index of the item inside its source dataset. */
  readonly index: number;
  /** The item itself. */
  readonly item: T;
}

/**
 * Datasets laid end to end in one index space; each item says which dataset it came from.
 *
 * @param datasets - the datasets, in order; dataset `k` starts at `offsets[k]`
 * @example
 * ```ts
 * const all = new ConcatDataset([new ArrayDataset(['a', 'b']), new ArrayDataset(['x'])]);
 * all.get(2); // { dataset: 1, index: 0, item: 'x' }
 * ```
 */
export class ConcatDataset<T> implements Dataset<ConcatItem<T>, undefined> {
  /** The concatenated datasets, in order (a copy of the array given). */
  readonly datasets: readonly Dataset<T>[];
  /** Start of each dataset in the global index space; one more entry at the end holds the total length. */
  readonly offsets: readonly number[];
  constructor(datasets: readonly Dataset<T>[]) {
    parseArguments(concatSchema, { datasets }, {});
    const offsets = [0];
    for (const d of datasets) offsets.push((offsets[offsets.length - 1] as number) + d.length);
    this.datasets = [...datasets];
    this.offsets = offsets;
  }
  /** Total number of items: the sum of the datasets' lengths. */
  get length(): number {
    return this.offsets[this.offsets.length - 1] as number;
  }
  /**
   * Which dataset a global index falls in, and the index inside it, without loading the item.
   *
   * @param index - a global index (0 ≤ index < length); out of range is an {@link IndexError}
   * @returns the source dataset's position and the index inside it
   * @example
   * ```ts
   * const all = new ConcatDataset([new ArrayDataset(['a', 'b']), new ArrayDataset(['x'])]);
   * all.locate(2); // { dataset: 1, index: 0 }
   * ```
   */
  locate(index: number): {
    /** Position of the source dataset in {@link ConcatDataset.datasets}. */
    dataset: number;
    /** Index of the item inside its source dataset. */
    index: number;
  } {
    checkIndex(index, this.length, 'concatenated dataset');
    // Few datasets (one per callback), so a linear scan beats bisection in practice.
    let k = 0;
    while (index >= (this.offsets[k + 1] as number)) k++;
    return { dataset: k, index: index - (this.offsets[k] as number) };
  }
  /**
   * The item at a global index, with the position of its source dataset and its index there.
   *
   * @param index - 0 ≤ index < length; anything else is an {@link IndexError}
   * @param context - passed on to the source dataset's `get`
   * @returns a {@link ConcatItem}, or a promise of one when the source dataset returns a promise
   */
  get(index: number, context?: SampleContext): ConcatItem<T> | Promise<ConcatItem<T>> {
    const where = this.locate(index);
    const item = (this.datasets[where.dataset] as Dataset<T>).get(where.index, context);
    if (isPromiseLike(item)) return Promise.resolve(item).then((v) => ({ ...where, item: v }));
    return { ...where, item };
  }
  /**
   * Passes the coming items on to the `prefetch` of the datasets they fall in (see
   * {@link Dataset.prefetch}), as their own indices; asks for more (`true`) when every one asked does.
   *
   * @param indices - global indices soon to be read
   */
  prefetch(indices: Uint32Array): boolean {
    let more: boolean | undefined;
    this.datasets.forEach((dataset, k) => {
      if (dataset.prefetch === undefined) return;
      const start = this.offsets[k] as number;
      const end = this.offsets[k + 1] as number;
      const own = indices.filter((i) => i >= start && i < end).map((i) => i - start);
      if (own.length > 0) more = dataset.prefetch(own) === true && more !== false;
    });
    return more === true;
  }

  /** The concatenated datasets, for the loaders' length checks. @internal */
  [DATASET_PARTS](): [string, Dataset<T>][] {
    return this.datasets.map((d, k) => [`.datasets[${k}]`, d]);
  }
  /** How a worker rebuilds the concatenation: from its datasets, each itself rebuildable. @internal */
  [TO_RECIPE](): Recipe | undefined {
    if (Object.getPrototypeOf(this) !== ConcatDataset.prototype) return undefined;
    return rebuild('concatDataset', [{ label: 'datasets', value: this.datasets, ref: true }]);
  }
}

// What a worker calls to rebuild these datasets (their recipes name this module and these exports).
const rebuild = (name: string, args: Recipe['args']): Recipe => ({ url: import.meta.url, name, args });
/** Rebuilds an {@link ArrayDataset} from its items in a worker. @internal */
export const arrayDataset = (items: unknown[]): Dataset<unknown> => new ArrayDataset(items);
/** Rebuilds a {@link Subset} from its dataset and indices in a worker. @internal */
export const subset = (dataset: Dataset<unknown>, indices: number[]): Dataset<unknown> =>
  new Subset(dataset, indices);
/** Rebuilds a {@link ConcatDataset} from its datasets in a worker. @internal */
export const concatDataset = (datasets: Dataset<unknown>[]): Dataset<unknown> => new ConcatDataset(datasets);
