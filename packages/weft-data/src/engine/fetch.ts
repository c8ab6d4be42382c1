import type { Collate } from '../collate/default.ts';
import { allocateBatch, type FreeBuffers, type InPlacePlan, inPlacePlan } from '../collate/in-place.ts';
import { isPromiseLike } from '../core/checks.ts';
import type { Dataset } from '../core/dataset.ts';
import type { TypedArray } from '../core/dtype.ts';
import { CollateError } from '../core/errors.ts';
import { Random } from '../core/random.ts';
import type { SampleContext } from '../core/worker-info.ts';

/** The context of one sample; the generator is created lazily because most datasets never ask for it. */
class Context implements SampleContext {
  #random: Random | undefined;
  constructor(
    readonly epoch: number,
    readonly seed: number,
    readonly index: number,
  ) {}
  random(): Random {
    this.#random ??= new Random(this.seed, this.epoch, this.index);
    return this.#random;
  }
}

/**
 * A failure while fetching, with the sample it happened at (`undefined`: in collate). Workers report the
 * location; the in-process loader rethrows `cause` untouched, as torch does.
 */
export class FetchFailure {
  constructor(
    readonly cause: unknown,
    readonly index: number | undefined,
  ) {}
}

/**
 * Indices → batch: the one fetcher of in-process and worker loading. With the default collate and a dataset
 * that writes its items in place (`layout` with fixed shapes, and `writeItem`), each item is written
 * straight into its row of the batch (taken from `free` when the loader reuses batch memory); otherwise
 * `dataset.get(index, context)` for each index, then `collate(items)`. Returns synchronously unless some
 * `get` or `writeItem` returned a thenable, so sync datasets pay no microtask per item. Throws (or rejects
 * with) a {@link FetchFailure}.
 */
export function fetchBatch<B>(
  dataset: Dataset<unknown>,
  collate: Collate<unknown, B>,
  indices: Uint32Array,
  epoch: number,
  seed: number,
  free?: FreeBuffers,
): B | Promise<B> {
  // A user's collate sees the items as `get` returns them, so only a default one is bypassed, and only
  // when its dtypes are the layout's (what the in-place batch holds).
  const plan = inPlacePlan(dataset, collate);
  if (plan !== undefined && indices.length > 0) return writeBatch(dataset, plan, indices, epoch, seed, free);
  return getBatch(dataset, collate, indices, epoch, seed);
}

/** Each item from `get`, then `collate(items)`. */
function getBatch<B>(
  dataset: Dataset<unknown>,
  collate: Collate<unknown, B>,
  indices: Uint32Array,
  epoch: number,
  seed: number,
): B | Promise<B> {
  const items: unknown[] = new Array(indices.length);
  let pending = false;
  let i = 0;
  try {
    for (; i < indices.length; i++) {
      const index = indices[i] as number;
      const item = dataset.get(index, new Context(epoch, seed, index));
      if (isPromiseLike(item)) {
        pending = true;
        items[i] = located(item, index);
      } else {
        items[i] = item;
      }
    }
  } catch (e) {
    if (pending) settle(items);
    throw new FetchFailure(e, indices[i]);
  }
  if (pending) return Promise.all(items).then((ready) => collateItems(collate, ready, indices));
  return collateItems(collate, items, indices);
}

/** Each item written into its row by `writeItem`: no item is allocated. */
function writeBatch<B>(
  dataset: Dataset<unknown>,
  plan: InPlacePlan,
  indices: Uint32Array,
  epoch: number,
  seed: number,
  free: FreeBuffers | undefined,
): B | Promise<B> {
  const { arrays, batch } = allocateBatch(plan, indices.length, free);
  const write = dataset.writeItem as NonNullable<Dataset<unknown>['writeItem']>;
  const view = arrays as Readonly<Record<string, TypedArray>>;
  const pending: unknown[] = [];
  let row = 0;
  try {
    for (; row < indices.length; row++) {
      const index = indices[row] as number;
      const done = write.call(dataset, index, view, row, new Context(epoch, seed, index));
      if (isPromiseLike(done)) pending.push(located(done, index));
    }
  } catch (e) {
    settle(pending);
    throw new FetchFailure(e, indices[row]);
  }
  if (pending.length > 0) return Promise.all(pending).then(() => batch as B);
  return batch as B;
}

/** A pending item whose failure names its index. */
function located(item: PromiseLike<unknown>, index: number): Promise<unknown> {
  return Promise.resolve(item).catch((e: unknown) => {
    throw new FetchFailure(e, index);
  });
}

/** Items already pending may reject too once the batch has failed; nobody will await them now. */
function settle(items: unknown[]): void {
  for (const item of items) if (item instanceof Promise) item.catch(() => {});
}

/**
 * `collate(items)`, or a FetchFailure. When the collate fails and an item is `undefined` (a `get` that
 * returned nothing), that item is the failure, named by its dataset index: its place in the batch means
 * nothing to the user once the order is shuffled. Only on failure, so a collate that accepts `undefined`
 * items is free to, and a batch pays nothing for the check.
 */
function collateItems<B>(collate: Collate<unknown, B>, items: unknown[], indices: Uint32Array): B {
  try {
    return collate(items);
  } catch (e) {
    const at = items.indexOf(undefined);
    if (at === -1) throw new FetchFailure(e, undefined);
    const index = indices[at] as number;
    const error = new CollateError(
      `dataset.get(${index}) returned undefined, which cannot be collated (items[${at}] of the batch)`,
      { cause: e },
    );
    throw new FetchFailure(error, index);
  }
}
