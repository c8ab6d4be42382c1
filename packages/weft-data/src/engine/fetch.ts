import type { Collate } from '../collate/collate.ts';
import { isPromiseLike } from '../core/checks.ts';
import type { Dataset } from '../core/dataset.ts';
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
 * Indices → items via `dataset.get(index, context)` → `collate(items)`: the one fetcher of in-process and
 * worker loading. Returns synchronously unless some `get` returned a thenable, so sync datasets pay no
 * microtask per item. Throws (or rejects with) a {@link FetchFailure}.
 */
export function fetchBatch<B>(
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
        items[i] = Promise.resolve(item).catch((e: unknown) => {
          throw new FetchFailure(e, index);
        });
      } else {
        items[i] = item;
      }
    }
  } catch (e) {
    // Items already pending may reject too; nobody will await them now.
    if (pending) for (const item of items) if (item instanceof Promise) item.catch(() => {});
    throw new FetchFailure(e, indices[i]);
  }
  if (pending) return Promise.all(items).then((ready) => collateItems(collate, ready, indices));
  return collateItems(collate, items, indices);
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
