// The TensorDataset class: items read as views into its shared columns, and its rebuild in a worker from
// those same buffers.
import { checkIndex } from '../../core/checks.ts';
import type { Dataset, FieldLayout } from '../../core/dataset.ts';
import type { Tensor, TypedArray } from '../../core/dtype.ts';
import { withRecipe } from '../../core/recipe.ts';
import { type ColumnData, type ColumnInfo, columnsFromData, sizeOf } from './columns.ts';
import { columnsFromItems } from './infer.ts';
import type {
  ColumnSpecs,
  ItemColumns,
  TensorColumns,
  TensorItemOf,
  TensorLayoutOf,
  TensorValue,
} from './types.ts';

const decoder = new TextDecoder();

type Reader = (index: number) => TensorValue;

function reader(column: ColumnInfo): Reader {
  const { data, offsets, shape } = column;
  if (column.kind === 'string') {
    const o = offsets as Float64Array;
    return (i) => decoder.decode((data as Uint8Array).subarray(o[i], o[i + 1]));
  }
  if (column.kind === 'ragged') {
    const o = offsets as Float64Array;
    return (i) => data.subarray(o[i] as number, o[i + 1] as number);
  }
  if (shape.length === 0) return (i) => data[i] as number | bigint;
  const size = sizeOf(shape);
  if (shape.length === 1) return (i) => data.subarray(i * size, (i + 1) * size);
  const frozen = Object.freeze([...shape]) as number[];
  return (i) => ({ data: data.subarray(i * size, (i + 1) * size), shape: frozen });
}

/** Writes an item's values into a batch, one copy per column; only when every column is fixed-size numeric. */
function writerOf(columns: Readonly<Record<string, ColumnInfo>>, length: number): TensorDataset['writeItem'] {
  const all = Object.entries(columns);
  if (all.length === 0 || all.some(([, c]) => c.kind !== 'fixed')) return undefined;
  const fixed = all.map(([name, c]) => ({ name, data: c.data, size: sizeOf(c.shape) }));
  return (index, batch, row) => {
    checkIndex(index, length);
    for (const { name, data, size } of fixed) {
      const out = batch[name] as typeof data;
      if (size === 1) out[row] = data[index] as never;
      else
        (out as Float64Array).set(
          (data as Float64Array).subarray(index * size, (index + 1) * size),
          row * size,
        );
    }
  };
}

// Set only while a worker rebuilds a dataset from columns that were validated where they were made.
let trusted: Record<string, ColumnInfo> | undefined;

/**
 * A dataset of named typed columns held in `SharedArrayBuffer`s (torch's `TensorDataset`, with names).
 *
 * `get(i)` returns `{ column: value }` with views into the shared memory, never copies: a number or bigint
 * for items of shape `[]`, a typed-array view for shape `[k]` and for ragged columns, a {@link Tensor}
 * `{ data: view, shape }` for two or more dimensions, a decoded string for string columns. With
 * `numWorkers > 0` the workers receive the shared buffers themselves: nothing is copied or rebuilt, so the
 * memory is paid once whatever the number of workers, and workers start at once. `defaultCollate` stacks
 * these items exactly as it stacks the same values in an `ArrayDataset`.
 *
 * The views alias the table: writing into one changes the dataset, in every thread. Data that was already
 * in a `SharedArrayBuffer` is used in place, not copied. To build one from JavaScript items, see
 * {@link TensorDataset.fromItems}. Pass the dataset itself to a loader (or wrap it in `Subset`,
 * `ConcatDataset`, {@link randomSplit}); a `fromModule` factory that builds one would build it again in
 * every worker.
 *
 * @param columns - the columns by name, see {@link ColumnData}; all with the same number of items
 * @throws ConfigError listing every problem: unknown types, bad shapes or offsets, lengths that disagree
 * @example
 * ```ts
 * const ds = new TensorDataset({
 *   x: { data: new Float32Array(10 * 784), shape: [28, 28] },
 *   y: { data: Int32Array.from({ length: 10 }, (_, i) => i % 3) },
 *   name: { data: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'] },
 * });
 * ds.get(2); // { x: { data: Float32Array(784), shape: [28, 28] }, y: 2, name: 'c' }
 * ```
 */
export class TensorDataset<const C = TensorColumns> implements Dataset<TensorItemOf<C>, TensorLayoutOf<C>> {
  readonly #columns: Readonly<Record<string, ColumnInfo>>;
  readonly #readers: readonly (readonly [string, Reader])[];
  /** Number of items. */
  readonly length: number;
  /**
   * The dtype of each numeric column (and the shape of a fixed-size one's items): the default collate gives
   * each field its column's type, so an `int32` column arrives as an `Int32Array`.
   */
  readonly layout: TensorLayoutOf<C>;
  /**
   * Writes item `index` into row `row` of a batch, one copy per column, without allocating: what a loader's
   * default collate uses (see {@link Dataset.writeItem}). Only when every column is fixed-size and numeric,
   * and not in a subclass (which may override `get`); `undefined` otherwise.
   */
  readonly writeItem:
    | ((index: number, batch: Readonly<Record<string, TypedArray>>, row: number) => void)
    | undefined;

  constructor(columns: C & TensorColumns) {
    const stored = trusted ?? columnsFromData(columns);
    for (const c of Object.values(stored)) Object.freeze(Object.freeze(c).shape);
    this.#columns = Object.freeze(stored);
    this.layout = layoutOf(stored) as TensorLayoutOf<C>;
    this.#readers = Object.entries(stored).map(([name, c]) => [name, reader(c)] as const);
    const c = Object.values(stored)[0] as ColumnInfo;
    this.length = c.offsets ? c.offsets.length - 1 : c.data.length / sizeOf(c.shape);
    // A subclass may override `get`; writing the raw columns would then bypass it.
    this.writeItem = new.target === TensorDataset ? writerOf(stored, this.length) : undefined;
    if (new.target === TensorDataset) shareWithWorkers(this, stored);
  }

  /**
   * Builds a dataset from an array of items in one call, copying each field into shared memory.
   *
   * Every field of `items[0]` becomes a column. Types and shapes are inferred from the items unless given:
   * numbers → `float64`, bigints → `bigint64`, strings → a string column, a typed array → its own type with
   * shape `[length]` (ragged when the lengths differ), a nested number array → `float64` of its shape,
   * `{ data, shape }` → that type and shape. Values are checked: an integer column rejects fractions and
   * values out of range.
   *
   * @typeParam R - the items' type, which with the specs gives the dataset's item type
   * @typeParam S - the specs' type
   * @param items - objects with the same fields
   * @param columns - optional `{ dtype, shape, ragged }` per field, see {@link ColumnSpec} @default {}
   * @throws ConfigError naming each column's first bad item, and any bad spec
   * @example
   * ```ts
   * const ds = TensorDataset.fromItems(rows, { x: { dtype: 'float32', shape: [784] }, y: { dtype: 'int32' } });
   * ```
   */
  static fromItems<R extends object, const S extends ColumnSpecs<R> = Record<never, never>>(
    items: readonly R[],
    columns: S = {} as S,
  ): TensorDataset<ItemColumns<R, S>> {
    const stored = columnsFromItems(items, columns);
    return rebuild<ItemColumns<R, S>>(stored);
  }

  /** The columns as stored: type, layout and the shared arrays (for direct, whole-column access). */
  get columns(): Readonly<Record<string, ColumnInfo>> {
    return this.#columns;
  }

  /**
   * The item at `index`: one value per column, views into shared memory (see the class summary).
   *
   * @param index - 0 ≤ index < length
   */
  get(index: number): TensorItemOf<C> {
    checkIndex(index, this.length);
    const out: Record<string, TensorValue> = {};
    for (const [name, read] of this.#readers) out[name] = read(index);
    return out as TensorItemOf<C>;
  }
}

/** The dtype of each numeric column, with the item shape of fixed-size ones; string columns have none. */
function layoutOf(columns: Record<string, ColumnInfo>): Record<string, FieldLayout> {
  const layout: Record<string, FieldLayout> = {};
  for (const [name, c] of Object.entries(columns)) {
    if (c.dtype === 'string') continue;
    layout[name] = Object.freeze(
      c.kind === 'fixed' ? { dtype: c.dtype, shape: c.shape } : { dtype: c.dtype },
    );
  }
  return Object.freeze(layout);
}

// The columns are trusted, and so is `C`: the caller knows what they hold.
function rebuild<C = TensorColumns>(columns: Record<string, ColumnInfo>): TensorDataset<C> {
  trusted = columns;
  try {
    return new TensorDataset<C>({} as C & TensorColumns);
  } finally {
    trusted = undefined;
  }
}

// ---- Worker rebuild glue: the one place to change when switching to `Symbol.for('weft.toRecipe')`. -------
// A worker rebuilds the dataset by calling `tensorDatasetFromShared(columns)` from this module. `columns`
// holds the SharedArrayBuffer-backed arrays and travels as plain structured-clone data (a recipe argument
// without `ref`), so the buffers are shared with the worker, not copied.

/** Rebuilds a {@link TensorDataset} in a worker from shared columns, without copying. @internal */
export const tensorDatasetFromShared = (columns: Record<string, ColumnInfo>): TensorDataset =>
  rebuild(columns);

function shareWithWorkers(dataset: object, columns: Record<string, ColumnInfo>): void {
  withRecipe(dataset, {
    url: import.meta.url,
    name: 'tensorDatasetFromShared',
    args: [{ label: 'columns', value: columns }],
  });
}
