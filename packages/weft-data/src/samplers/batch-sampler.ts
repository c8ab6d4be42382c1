import { z } from 'zod';
import type { Sized } from '../core/dataset.ts';
import { epochIndices, NO_BOUND, samplerName } from '../core/indices.ts';
import type { Sampler } from '../core/sampler.ts';
import { bool, parseArguments, positiveInt, withLength } from '../core/validate.ts';

/** Options of {@link BatchSampler}. */
export interface BatchSamplerOptions {
  /** Indices per batch. */
  batchSize: number;
  /** Drop the last batch if it is smaller than `batchSize`. @default false */
  dropLast?: boolean;
  /**
   * The data the sampler's indices refer to: each epoch's indices are checked to lie in it, once, before the
   * first batch. Without it (and without `sampler.dataset`) indices are only checked to be indices.
   * @default sampler.dataset
   */
  dataset?: Sized;
}

const argumentsSchema = z.object({
  sampler: z.custom<Sampler>(
    (v) =>
      typeof v === 'object' && v !== null && typeof (v as Partial<Sampler>)[Symbol.iterator] === 'function',
    { error: 'must be a sampler (an iterable of indices with a `length`)' },
  ),
  batchSize: positiveInt,
  dropLast: bool.default(false),
  dataset: withLength.optional(),
});

/**
 * Groups a sampler's indices into batches (torch's `BatchSampler`); each batch is a fresh `Uint32Array`
 * the consumer owns.
 *
 * An epoch's order is taken, and checked, when its iterator is created: a later `setEpoch` does not change an
 * iteration already started. An index outside the dataset, or a sampler yielding a number of indices other
 * than its `length`, is an {@link IndexError} naming the sampler and the value.
 *
 * @param sampler - any sampler; its `indices()` fast path is used when it has one
 * @param options - `batchSize`, `dropLast`, `dataset`
 * @example
 * ```ts
 * [...new BatchSampler(new SequentialSampler(dataset10), { batchSize: 4 })];
 * // [Uint32Array [0,1,2,3], Uint32Array [4,5,6,7], Uint32Array [8,9]]
 * ```
 */
export class BatchSampler implements Iterable<Uint32Array> {
  /** The sampler whose indices are grouped into batches. */
  readonly sampler: Sampler;
  /** Indices per batch; see {@link BatchSamplerOptions.batchSize}. */
  readonly batchSize: number;
  /** Whether a last, smaller batch is dropped; see {@link BatchSamplerOptions.dropLast}. */
  readonly dropLast: boolean;
  /** The data the indices are checked against, if known. */
  readonly dataset: Sized | undefined;

  constructor(sampler: Sampler, options: BatchSamplerOptions) {
    // Without a `dataset` option, the sampler's own is the one checked and used.
    const dataset = options?.dataset ?? (sampler as Partial<Sampler> | null)?.dataset;
    ({
      sampler: this.sampler,
      batchSize: this.batchSize,
      dropLast: this.dropLast,
      dataset: this.dataset,
    } = parseArguments(argumentsSchema, { sampler, dataset }, options, {
      expected: 'an object with `batchSize`',
    }));
  }

  /** Number of batches per epoch. */
  get length(): number {
    const n = this.sampler.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /**
   * Forwards the epoch to the sampler, so a shuffling sampler draws that epoch's order.
   *
   * @param epoch - the epoch about to start (from 0)
   */
  setEpoch(epoch: number): void {
    this.sampler.setEpoch?.(epoch);
  }

  /** The current epoch's batches; the order is taken (and checked) now, not at the first `next()`. */
  [Symbol.iterator](): Iterator<Uint32Array> {
    const order = epochIndices(
      this.sampler,
      this.dataset?.length ?? NO_BOUND,
      samplerName('sampler', this.sampler),
    );
    return batches(order, this.batchSize, this.dropLast);
  }
}

function* batches(
  order: Uint32Array,
  size: number,
  dropLast: boolean,
): Generator<Uint32Array, void, undefined> {
  const end = dropLast ? order.length - (order.length % size) : order.length;
  for (let pos = 0; pos < end; pos += size) yield order.slice(pos, Math.min(pos + size, end));
}
