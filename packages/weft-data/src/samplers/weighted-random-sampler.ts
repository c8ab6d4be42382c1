import { z } from 'zod';
import { describe } from '../core/checks.ts';
import type { Sized } from '../core/dataset.ts';
import { Random } from '../core/random.ts';
import { IndexSampler } from '../core/sampler.ts';
import type { Relation } from '../core/validate.ts';
import { bool, parseArguments, positiveInt, seedOption, withLength } from '../core/validate.ts';

/** Options of {@link WeightedRandomSampler}. */
export interface WeightedRandomSamplerOptions {
  /**
   * Draw with replacement (an index may repeat within an epoch). Without it, `numSamples` must be at most
   * the number of positive weights.
   * @default true
   */
  replacement?: boolean;
  /** Seed of the order: the same seed and epoch always give the same order. A non-negative integer. @default 0 */
  seed?: number;
  /** The dataset the weights describe (one weight per item); lets {@link InterleavedSampler} use it. */
  dataset?: Sized;
}

const isArrayLike = (v: unknown): v is ArrayLike<unknown> =>
  typeof v === 'object' && v !== null && typeof (v as { length?: unknown }).length === 'number';
const argumentsSchema = z.object({
  weights: z.custom<ArrayLike<number>>(isArrayLike, { error: 'must be an array of numbers' }),
  numSamples: positiveInt,
  replacement: bool.default(true),
  seed: seedOption,
  dataset: withLength.optional(),
});

const oneWeightPerItem: Relation = ({ weights, dataset }) =>
  isArrayLike(weights) &&
  withLength.safeParse(dataset).success &&
  (dataset as Sized).length !== weights.length
    ? [
        `\`weights\` must have one weight per dataset item (${(dataset as Sized).length}), got ${weights.length}`,
      ]
    : [];

// The weights one by one, read as the Float64Array they become (the first bad one is named: one message per
// weight could run to millions), then what they allow: something to draw, and without replacement enough
// distinct indices.
const drawable: Relation = ({ weights, numSamples, replacement }) => {
  if (!isArrayLike(weights)) return [];
  let total = 0;
  let positive = 0;
  for (let i = 0; i < weights.length; i++) {
    const w = Number(weights[i]);
    if (!Number.isFinite(w) || w < 0) {
      return [`\`weights[${i}]\` must be a finite non-negative number, got ${describe(weights[i])}`];
    }
    if (w > 0) positive++;
    total += w;
  }
  if (total === 0) return ['`weights` must not all be zero'];
  if (
    replacement === false &&
    positiveInt.safeParse(numSamples).success &&
    (numSamples as number) > positive
  ) {
    return [
      `\`numSamples\` must be at most the number of positive weights (${positive}) without replacement, got ${numSamples}`,
    ];
  }
  return [];
};

/**
 * Draws indices 0..weights.length-1 with probability proportional to their weight (torch's
 * `WeightedRandomSampler`), a fresh draw per epoch from `new Random(seed, epoch)`.
 *
 * With replacement: inverse-CDF sampling, a binary search in the cumulative weights per draw. Without:
 * Efraimidis–Spirakis keys u^(1/w), the `numSamples` largest taken in order.
 *
 * @param weights - finite, non-negative, not all zero
 * @param numSamples - indices per epoch
 * @param options - `replacement`, `seed`, `dataset`
 * @example
 * ```ts
 * const s = new WeightedRandomSampler([0.1, 0.9], 100, { seed: 3 }); // mostly 1s
 * ```
 */
export class WeightedRandomSampler extends IndexSampler {
  /** The data the weights describe, if given; see {@link WeightedRandomSamplerOptions.dataset}. */
  readonly dataset: Sized | undefined;
  /** Indices per epoch: the `numSamples` argument. */
  readonly length: number;
  /** Whether indices are drawn with replacement; see {@link WeightedRandomSamplerOptions.replacement}. */
  readonly replacement: boolean;
  /** Seed of the draws; see {@link WeightedRandomSamplerOptions.seed}. */
  readonly seed: number;
  readonly #weights: Float64Array;
  readonly #cumulative: Float64Array;
  #cache: { epoch: number; order: Uint32Array } | undefined;

  constructor(weights: ArrayLike<number>, numSamples: number, options: WeightedRandomSamplerOptions = {}) {
    super();
    const parsed = parseArguments(argumentsSchema, { weights, numSamples }, options, {
      relations: [oneWeightPerItem, drawable],
    });
    this.length = parsed.numSamples;
    this.replacement = parsed.replacement;
    this.seed = parsed.seed;
    this.dataset = parsed.dataset;
    this.#weights = Float64Array.from(weights);
    this.#cumulative = new Float64Array(weights.length);
    let total = 0;
    this.#weights.forEach((w, i) => {
      total += w;
      this.#cumulative[i] = total;
    });
  }

  /** The current epoch's draws, computed once per epoch and cached: do not modify it. */
  indices(): Uint32Array {
    if (this.#cache?.epoch === this.epoch) return this.#cache.order;
    const r = new Random(this.seed, this.epoch);
    const out = new Uint32Array(this.length);
    const cum = this.#cumulative;
    const total = cum[cum.length - 1] as number;
    if (this.replacement) {
      for (let i = 0; i < out.length; i++) {
        const x = r.next() * total;
        let lo = 0;
        let hi = cum.length - 1;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if ((cum[mid] as number) > x) hi = mid;
          else lo = mid + 1;
        }
        out[i] = lo;
      }
    } else {
      const keys = Array.from(this.#weights, (w, i) => ({
        i,
        key: w > 0 ? Math.log(1 - r.next()) / w : -Infinity,
      }));
      keys.sort((a, b) => b.key - a.key || a.i - b.i);
      for (let i = 0; i < out.length; i++) out[i] = (keys[i] as { i: number }).i;
    }
    this.#cache = { epoch: this.epoch, order: out };
    return out;
  }
}
