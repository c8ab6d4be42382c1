import { z } from 'zod';
import type { Sized } from '../core/dataset.ts';
import { Random } from '../core/random.ts';
import { IndexSampler } from '../core/sampler.ts';
import type { Relation } from '../core/validate.ts';
import { bool, parseArguments, positiveInt, seedOption, withLength } from '../core/validate.ts';

/** Options of {@link RandomSampler}. */
export interface RandomSamplerOptions {
  /**
   * Seed of the order: the same seed and epoch always give the same order (what exact resume relies on).
   * A non-negative integer.
   * @default 0
   */
  seed?: number;
  /** Draw with replacement (indices may repeat within an epoch) instead of a permutation. @default false */
  replacement?: boolean;
  /**
   * Indices per epoch; without replacement it may exceed the dataset's length (further permutations are
   * appended).
   * @default the dataset's length
   */
  numSamples?: number;
}

const argumentsSchema = z.object({
  data: withLength,
  seed: seedOption,
  replacement: bool.default(false),
  numSamples: positiveInt.optional(),
});
// Asking for draws from an empty dataset is a mistake, not an empty epoch.
const drawsFromNothing: Relation = ({ data, numSamples }) =>
  positiveInt.safeParse(numSamples).success && (data as { length?: unknown } | null | undefined)?.length === 0
    ? [`\`numSamples\` is ${numSamples} but the dataset is empty: there is nothing to draw`]
    : [];

/**
 * Yields the dataset's indices in a seeded random order, a fresh one per epoch (torch's `RandomSampler`).
 *
 * Without replacement, epoch e is the permutation drawn by `new Random(seed, e, k)` for k = 0, 1, …,
 * concatenated and cut to `numSamples` (so `numSamples` may exceed the length, as in torch); with
 * replacement, `numSamples` uniform draws from `new Random(seed, e)`. The same seed and epoch always give
 * the same order, which exact resume relies on.
 *
 * @typeParam D - the dataset's type, kept as `dataset` (a loader of an interleaved run types its batches by it)
 * @param data - the dataset (only its `length` is read)
 * @param options - `seed`, `replacement`, `numSamples`
 * @example
 * ```ts
 * const s = new RandomSampler(dataset, { seed: 7 });
 * s.setEpoch(3);
 * const order = s.indices(); // epoch 3's permutation
 * ```
 */
export class RandomSampler<D extends Sized = Sized> extends IndexSampler {
  /** The data the indices refer to (only its `length` is read). */
  readonly dataset: D;
  /** Seed of the order; see {@link RandomSamplerOptions.seed}. */
  readonly seed: number;
  /** Whether indices are drawn with replacement; see {@link RandomSamplerOptions.replacement}. */
  readonly replacement: boolean;
  /** Indices per epoch; see {@link RandomSamplerOptions.numSamples}. */
  readonly length: number;
  #cache: { epoch: number; order: Uint32Array } | undefined;

  constructor(data: D, options: RandomSamplerOptions = {}) {
    super();
    const parsed = parseArguments(argumentsSchema, { data }, options, { relations: [drawsFromNothing] });
    this.dataset = parsed.data as D;
    this.seed = parsed.seed;
    this.replacement = parsed.replacement;
    this.length = parsed.numSamples ?? data.length;
  }

  /** The current epoch's order, computed once per epoch and cached: do not modify it. */
  indices(): Uint32Array {
    if (this.#cache?.epoch === this.epoch) return this.#cache.order;
    const n = this.dataset.length;
    const out = new Uint32Array(this.length);
    if (this.replacement) {
      const r = new Random(this.seed, this.epoch);
      for (let i = 0; i < out.length; i++) out[i] = r.int(n);
    } else {
      for (let start = 0, k = 0; start < out.length; start += n, k++) {
        const perm = new Random(this.seed, this.epoch, k).permutation(n);
        out.set(perm.subarray(0, Math.min(n, out.length - start)), start);
      }
    }
    this.#cache = { epoch: this.epoch, order: out };
    return out;
  }
}
