import { z } from 'zod';
import type { Sized } from '../core/dataset.ts';
import { Random } from '../core/random.ts';
import { IndexSampler } from '../core/sampler.ts';
import { bool, parseArguments, seedOption, withLength } from '../core/validate.ts';
import { rankInRange, shardFields } from './shard.ts';

/** Options of {@link DistributedSampler}. */
export interface DistributedSamplerOptions {
  /** Number of processes (ranks). */
  numReplicas: number;
  /** This process's rank, in [0, numReplicas). */
  rank: number;
  /** Shuffle the order each epoch (the same permutation on every rank); `false` keeps 0..n-1. @default true */
  shuffle?: boolean;
  /** Seed of the shuffle; must be the same on every rank, or shards overlap. @default 0 */
  seed?: number;
  /** Drop the tail that does not divide evenly instead of padding. @default false */
  dropLast?: boolean;
}

const argumentsSchema = z.object({
  data: withLength,
  ...shardFields,
  shuffle: bool.default(true),
  seed: seedOption,
  dropLast: bool.default(false),
});

/**
 * One rank's shard of a dataset, with torch's `DistributedSampler` semantics.
 *
 * Every rank computes the same order (a permutation from `new Random(seed, epoch)` if `shuffle`, else
 * 0..n-1); without `dropLast` it is padded by repeating from its start to a multiple of `numReplicas`,
 * with `dropLast` cut down to one; rank r takes every `numReplicas`-th index starting at r.
 *
 * @typeParam D - the dataset's type, kept as `dataset` (a loader of an interleaved run types its batches by it)
 * @param data - the dataset (only its `length` is read)
 * @param options - `numReplicas`, `rank`, `shuffle`, `seed`, `dropLast`
 * @example
 * ```ts
 * const shard = new DistributedSampler(dataset, { numReplicas: 4, rank: 1, seed: 0 });
 * shard.setEpoch(epoch); // a new shuffle each epoch, the same on every rank
 * ```
 */
export class DistributedSampler<D extends Sized = Sized> extends IndexSampler {
  /** The data the indices refer to (only its `length` is read). */
  readonly dataset: D;
  /** Number of ranks the dataset is split across; see {@link DistributedSamplerOptions.numReplicas}. */
  readonly numReplicas: number;
  /** This process's rank; see {@link DistributedSamplerOptions.rank}. */
  readonly rank: number;
  /** Whether the order is shuffled each epoch; see {@link DistributedSamplerOptions.shuffle}. */
  readonly shuffle: boolean;
  /** Seed of the shuffle; see {@link DistributedSamplerOptions.seed}. */
  readonly seed: number;
  /** Whether the uneven tail is dropped instead of padded; see {@link DistributedSamplerOptions.dropLast}. */
  readonly dropLast: boolean;
  /** Indices this rank yields per epoch. */
  readonly length: number;
  /** Indices all ranks yield together per epoch. */
  readonly totalSize: number;
  #cache: { epoch: number; order: Uint32Array } | undefined;

  constructor(data: D, options: DistributedSamplerOptions) {
    super();
    const parsed = parseArguments(argumentsSchema, { data }, options, {
      relations: [rankInRange],
      expected: 'an object with `numReplicas` and `rank`',
    });
    ({ numReplicas: this.numReplicas, rank: this.rank } = parsed);
    this.dataset = parsed.data as D;
    ({ shuffle: this.shuffle, seed: this.seed, dropLast: this.dropLast } = parsed);
    const n = data.length;
    const R = this.numReplicas;
    this.length = this.dropLast && n % R !== 0 ? Math.max(0, Math.ceil((n - R) / R)) : Math.ceil(n / R);
    this.totalSize = this.length * R;
  }

  /** This rank's share of the current epoch's order, computed once per epoch and cached: do not modify it. */
  indices(): Uint32Array {
    if (this.#cache?.epoch === this.epoch) return this.#cache.order;
    const n = this.dataset.length;
    const all = this.shuffle
      ? new Random(this.seed, this.epoch).permutation(n)
      : Uint32Array.from({ length: n }, (_, i) => i);
    const out = new Uint32Array(this.length);
    // Position p of the padded (or cut) order is all[p % n]: padding repeats the order from its start.
    for (let i = 0, p = this.rank; i < out.length; i++, p += this.numReplicas) out[i] = all[p % n] as number;
    this.#cache = { epoch: this.epoch, order: out };
    return out;
  }
}
