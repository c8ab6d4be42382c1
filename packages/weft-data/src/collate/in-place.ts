// Batches written in place: the batch's memory laid out from a dataset's `layout` (one flat typed array per
// field), which the dataset's `writeItem` fills row by row, and the free list its buffers come from when a
// loader reuses batch memory. The batch has exactly the form `defaultCollate` gives the same items.

import type { Dataset, ItemLayout } from '../core/dataset.ts';
import { DTYPE_ARRAYS, type Tensor, type TypedArray } from '../core/dtype.ts';
import { defaultCollateDtypes } from './default.ts';

/** One field of a batch written in place. */
interface PlannedField {
  readonly name: string;
  readonly Ctor: (typeof DTYPE_ARRAYS)[keyof typeof DTYPE_ARRAYS];
  /** Elements of one item. */
  readonly size: number;
  /** One item's shape; `[]` gives a plain typed array, anything else a {@link Tensor}. */
  readonly shape: readonly number[];
}

/**
 * How a dataset's batches are written in place: its fields in `layout` order, and whether the item is the
 * one value of field `''` rather than an object.
 *
 * @example
 * ```ts
 * const plan = inPlacePlan(dataset); // undefined: collate items from `get`
 * ```
 */
export interface InPlacePlan {
  readonly fields: readonly PlannedField[];
  /** The layout has the single field `''`: each item is that value itself (a typed array, a number). */
  readonly bare: boolean;
}

const plans = new WeakMap<object, InPlacePlan | null>();

/**
 * The plan of a dataset whose batches can be written in place with `collate`, or `undefined`: it needs
 * `writeItem`, a `layout` whose every field has a fixed `shape`, and a default collate whose dtypes are the
 * layout's (the loader's own default, see `layout.ts`), so that the batch is exactly what collating the
 * items would give. The layout's part is computed once per dataset.
 *
 * @param dataset - the loader's dataset
 * @param collate - the loader's collate
 * @example
 * ```ts
 * if (inPlacePlan(dataset, collate) !== undefined) // the collate writes items straight into the batch
 * ```
 */
export function inPlacePlan(dataset: Dataset<unknown>, collate: unknown): InPlacePlan | undefined {
  const dtypes = defaultCollateDtypes(collate);
  if (dtypes === undefined) return undefined;
  let plan = plans.get(dataset);
  if (plan === undefined) {
    plan = planOf(dataset.layout, typeof dataset.writeItem === 'function');
    plans.set(dataset, plan);
  }
  return plan !== null && matches(dataset.layout as ItemLayout, dtypes) ? plan : undefined;
}

/**
 * Whether a collate with `dtypes` gives each field of `layout` its dtype: a field the collate has no dtype
 * for keeps its own type only when it is the whole item (`''`) or a bigint, as in `layout.ts`.
 */
function matches(layout: ItemLayout, dtypes: Readonly<Record<string, string>>): boolean {
  const fields = Object.entries(layout);
  for (const [name, { dtype }] of fields) {
    const own = name === '' || dtype === 'bigint64';
    if (own ? dtypes[name] !== undefined : dtypes[name] !== dtype) return false;
  }
  return Object.keys(dtypes).every((name) => Object.hasOwn(layout, name));
}

function planOf(layout: ItemLayout | undefined, writes: boolean): InPlacePlan | null {
  if (!writes || layout === undefined) return null;
  const entries = Object.entries(layout);
  if (entries.length === 0) return null;
  const fields: PlannedField[] = [];
  for (const [name, { dtype, shape }] of entries) {
    if (shape === undefined) return null;
    const size = shape.reduce((a, b) => a * b, 1);
    fields.push({ name, Ctor: DTYPE_ARRAYS[dtype], size, shape: [...shape] });
  }
  return { fields, bare: entries.length === 1 && entries[0]?.[0] === '' };
}

// Batches whose memory a loader may take back (see engine/protocol.ts, "Batch memory"): those made here.
const pooled = new WeakSet<object>();

/**
 * Whether `batch` was written in place into memory that the loader which made it takes back once the
 * consumer moves on (`reuseBatches`).
 *
 * @param batch - a batch a loader yielded
 * @example
 * ```ts
 * const copy = isPooled(batch) ? structuredClone(batch) : batch;
 * ```
 */
export function isPooled(batch: unknown): boolean {
  return typeof batch === 'object' && batch !== null && pooled.has(batch);
}

/**
 * Marks a batch that arrived from a worker, where it was written in place.
 *
 * @param batch - the batch as received
 * @example
 * ```ts
 * if (answer.pooled) markPooled(answer.data);
 * ```
 */
export function markPooled(batch: object): void {
  pooled.add(batch);
}

/** How many free buffers of one size a free list keeps: a loader's window of batches is a few of them. */
const KEPT_PER_SIZE = 8;

/**
 * Free `ArrayBuffer`s by byte length, which batches written in place take before allocating: memory
 * already touched, so a batch costs no page faults.
 *
 * @example
 * ```ts
 * const free = new FreeBuffers();
 * free.give([buffer]);
 * free.take(buffer.byteLength); // buffer
 * ```
 */
export class FreeBuffers {
  readonly #bySize = new Map<number, ArrayBuffer[]>();

  /** A free buffer of exactly `bytes` bytes, or a new one. */
  take(bytes: number): ArrayBuffer {
    return this.#bySize.get(bytes)?.pop() ?? new ArrayBuffer(bytes);
  }

  /** Buffers to reuse; beyond a few per size they are left to the garbage collector. */
  give(buffers: readonly ArrayBuffer[]): void {
    for (const b of buffers) {
      const list = this.#bySize.get(b.byteLength);
      if (list === undefined) this.#bySize.set(b.byteLength, [b]);
      else if (list.length < KEPT_PER_SIZE) list.push(b);
    }
  }
}

/**
 * The memory of a batch of `n` items, one flat typed array per field (what `writeItem` writes into), and the
 * batch value over it, in `defaultCollate`'s form: a field of shape `[]` is a typed array of length `n`, any
 * other a {@link Tensor} `{ data, shape: [n, ...shape] }`; fields in `layout` order, or the one value itself.
 *
 * @param plan - from {@link inPlacePlan}
 * @param n - items in the batch
 * @param free - where to take the buffers from, when the loader reuses batch memory (the batch is then
 *   marked as its, see {@link isPooled}); fresh memory without it
 * @example
 * ```ts
 * const { arrays, batch } = allocateBatch(plan, indices.length, free);
 * indices.forEach((index, row) => dataset.writeItem(index, arrays, row));
 * ```
 */
export function allocateBatch(
  plan: InPlacePlan,
  n: number,
  free?: FreeBuffers,
): { arrays: Record<string, TypedArray>; batch: unknown } {
  const arrays: Record<string, TypedArray> = {};
  const values: Record<string, TypedArray | Tensor> = {};
  for (const { name, Ctor, size, shape } of plan.fields) {
    const length = n * size;
    const bytes = length * Ctor.BYTES_PER_ELEMENT;
    const data = free === undefined ? new Ctor(length) : new Ctor(free.take(bytes), 0, length);
    arrays[name] = data;
    values[name] = shape.length === 0 ? data : { data, shape: [n, ...shape] };
  }
  const batch = plan.bare ? (values[''] as TypedArray | Tensor) : values;
  if (free !== undefined) pooled.add(batch);
  return { arrays, batch };
}
