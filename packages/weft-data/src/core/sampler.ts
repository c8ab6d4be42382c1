import { checkLength } from './checks.ts';
import type { Sized } from './dataset.ts';

/**
 * The sampler contract: an iterable of dataset indices with a known length.
 *
 * Samplers yield indices only (torch's split of responsibilities). Every sampler of weft is deterministic
 * given its seed and the epoch it was told with {@link Sampler.setEpoch}, so an epoch's order can be
 * replayed exactly when a run resumes.
 *
 * @example
 * ```ts
 * const s: Sampler = { length: 3, *[Symbol.iterator]() { yield* [2, 0, 1]; } };
 * ```
 */
export interface Sampler extends Iterable<number> {
  /** Number of indices one epoch yields. */
  readonly length: number;
  /** The data the indices refer to. {@link InterleavedSampler} needs it to lay datasets end to end. */
  readonly dataset?: Sized;
  /**
   * Set by a sampler that is one rank's shard of a data-parallel run (`DistributedSampler`): as the
   * training sampler of an {@link InterleavedSampler} it makes the run count samples over all ranks.
   */
  readonly numReplicas?: number;
  /**
   * Set by a padded evaluation shard (`ShardedEvalSampler` with `pad`): only the first `realLength`
   * indices are real, the rest is padding that results must not count.
   */
  readonly realLength?: number;
  /** Selects the epoch whose order the next iteration yields. */
  setEpoch?(epoch: number): void;
  /**
   * The current epoch's indices as one array: the batch-oriented fast path that consumers prefer over
   * the iterator. The array may be cached and shared; callers must not modify it.
   */
  indices?(): Uint32Array;
}

/**
 * Base class for samplers that compute a whole epoch's order at once.
 *
 * Subclasses implement {@link IndexSampler.indices}; iteration and `setEpoch` come from here.
 *
 * @example
 * ```ts
 * class Reversed extends IndexSampler {
 *   constructor(readonly length: number) { super(); }
 *   indices() { return Uint32Array.from({ length: this.length }, (_, i) => this.length - 1 - i); }
 * }
 * ```
 */
export abstract class IndexSampler implements Sampler {
  /** Number of indices one epoch yields. */
  abstract readonly length: number;
  /** The epoch last given to {@link IndexSampler.setEpoch} (0 before any). */
  protected epoch = 0;
  /**
   * The current epoch's indices as one array, computed for {@link IndexSampler.epoch}. May be cached and
   * shared between calls; callers must not modify it.
   */
  abstract indices(): Uint32Array;
  /**
   * Selects the epoch whose order the next {@link IndexSampler.indices} call (or iteration) gives.
   *
   * @param epoch - the epoch (a non-negative integer); a seeded sampler draws a fresh order for each
   */
  setEpoch(epoch: number): void {
    this.epoch = checkLength(epoch, 'epoch');
  }
  /**
   * Iterates the current epoch's indices, one number at a time: the same values as
   * {@link IndexSampler.indices}, for consumers that take any iterable (`for…of`, spread).
   */
  [Symbol.iterator](): Iterator<number> {
    return this.indices()[Symbol.iterator]();
  }
}
