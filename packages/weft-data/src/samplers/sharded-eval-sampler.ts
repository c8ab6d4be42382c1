import { z } from 'zod';
import type { Sized } from '../core/dataset.ts';
import { IndexSampler } from '../core/sampler.ts';
import { bool, parseArguments, withLength } from '../core/validate.ts';
import { rankInRange, shardFields } from './shard.ts';

/** Options of {@link ShardedEvalSampler}. */
export interface ShardedEvalSamplerOptions {
  /** Number of ranks. */
  numReplicas: number;
  /** This shard's rank, in [0, numReplicas). */
  rank: number;
  /**
   * Pad every shard to the same length, `ceil(n / numReplicas)`, so every rank runs the same number of
   * batches per pass; the padding slots repeat real items and are not counted (see `realLength`).
   * @default false
   */
  pad?: boolean;
}

const argumentsSchema = z.object({ data: withLength, ...shardFields, pad: bool.default(false) });

/**
 * One rank's share of an evaluation dataset, every item on exactly one rank: rank r of R takes the indices
 * r, r + R, r + 2R, … below the dataset's length (strided, like torch's `DistributedSampler`).
 *
 * Without `pad`, shards differ in size by at most one and a rank may have none. With `pad`, every shard has
 * `ceil(n / R)` indices: its `realLength` real ones first, then padding (repeats of other ranks' items),
 * so all ranks run the same number of batches per pass; an {@link InterleavedSampler} tags each batch with
 * how many of its items are `real`. Torch pads too but then counts the repeats (pytorch#25162).
 *
 * @typeParam D - the dataset's type, kept as `dataset` (a loader of an interleaved run types its batches by it)
 * @param data - the full evaluation dataset (only its `length` is read; it is kept as `dataset`)
 * @param options - `numReplicas`, `rank`, `pad` (@default false)
 * @example
 * ```ts
 * const shard = new ShardedEvalSampler(testSet, { numReplicas: 3, rank: 1 }); // 1, 4, 7, …
 * const padded = new ShardedEvalSampler({ length: 2 }, { numReplicas: 4, rank: 3, pad: true }); // [1], realLength 0
 * ```
 */
export class ShardedEvalSampler<D extends Sized = Sized> extends IndexSampler {
  /** The full dataset the indices refer to. */
  readonly dataset: D;
  /** Number of ranks. */
  readonly numReplicas: number;
  /** This shard's rank. */
  readonly rank: number;
  /** Whether the shard is padded to `ceil(n / numReplicas)`. */
  readonly pad: boolean;
  /** Real (not padding) indices at the start of this shard: `ceil((n - rank) / numReplicas)`. */
  readonly realLength: number;
  readonly #order: Uint32Array;

  constructor(data: D, options: ShardedEvalSamplerOptions) {
    super();
    const parsed = parseArguments(argumentsSchema, { data }, options, {
      relations: [rankInRange],
      expected: 'an object with `numReplicas` and `rank`',
    });
    ({ numReplicas: this.numReplicas, rank: this.rank, pad: this.pad } = parsed);
    this.dataset = parsed.data as D;
    const n = data.length;
    const R = this.numReplicas;
    this.realLength = Math.max(0, Math.ceil((n - this.rank) / R));
    this.#order = new Uint32Array(this.pad ? Math.ceil(n / R) : this.realLength);
    // Position p of the strided order is item p % n: the padding wraps around to the first items.
    for (let i = 0; i < this.#order.length; i++) this.#order[i] = (this.rank + i * R) % n;
  }

  /** Indices of this shard, padding included. */
  get length(): number {
    return this.#order.length;
  }

  /** This shard's indices, real ones first (shared; do not modify). The order is the same every epoch. */
  indices(): Uint32Array {
    return this.#order;
  }
}
