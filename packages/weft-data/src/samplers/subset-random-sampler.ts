import { z } from 'zod';
import type { Sized } from '../core/dataset.ts';
import { NO_BOUND, toIndices } from '../core/indices.ts';
import { Random } from '../core/random.ts';
import { IndexSampler } from '../core/sampler.ts';
import { parseArguments, seedOption, withLength } from '../core/validate.ts';

/** Options of {@link SubsetRandomSampler}. */
export interface SubsetRandomSamplerOptions {
  /** Seed of the order: the same seed and epoch always give the same order. A non-negative integer. @default 0 */
  seed?: number;
  /** The dataset the indices refer to; checks them, and lets {@link InterleavedSampler} use this sampler. */
  dataset?: Sized;
}

const optionsSchema = z.object({ seed: seedOption, dataset: withLength.optional() });

/**
 * Yields the given indices in a seeded random order, a fresh one per epoch (torch's `SubsetRandomSampler`).
 *
 * @param indices - the indices to draw from, each a non-negative integer (below `dataset.length` if given)
 * @param options - `seed`, `dataset`
 * @example
 * ```ts
 * const s = new SubsetRandomSampler([0, 2, 4, 6], { seed: 1 });
 * [...s]; // the four indices, shuffled
 * ```
 */
export class SubsetRandomSampler extends IndexSampler {
  /** The data the indices refer to, if given; see {@link SubsetRandomSamplerOptions.dataset}. */
  readonly dataset: Sized | undefined;
  /** Seed of the order; see {@link SubsetRandomSamplerOptions.seed}. */
  readonly seed: number;
  readonly #subset: Uint32Array;
  #cache: { epoch: number; order: Uint32Array } | undefined;

  constructor(indices: ArrayLike<number>, options: SubsetRandomSamplerOptions = {}) {
    super();
    ({ dataset: this.dataset, seed: this.seed } = parseArguments(optionsSchema, {}, options));
    // The indices are checked after the options, as they need the dataset's length.
    const subset = toIndices(indices, this.dataset?.length ?? NO_BOUND, 'indices', 'argument');
    // A Uint32Array comes back as it is; the caller may still change it.
    this.#subset = subset === indices ? subset.slice() : subset;
  }
  /** Number of indices given: each epoch yields every one of them once. */
  get length(): number {
    return this.#subset.length;
  }
  /** The given indices in the current epoch's order, computed once per epoch and cached: do not modify it. */
  indices(): Uint32Array {
    if (this.#cache?.epoch === this.epoch) return this.#cache.order;
    const order = this.#subset.slice();
    new Random(this.seed, this.epoch).shuffle(order);
    this.#cache = { epoch: this.epoch, order };
    return order;
  }
}
