// What an interleaved sampler yields: training and callback batches of indices, each tagged with its place.
import type { Position } from './schedule.ts';

/** A training batch of indices, with the position the run reaches once it is consumed. */
export interface TrainIndexBatch {
  /** Always `'train'`: tells training batches from callback ones ({@link CallbackIndexBatch}). */
  readonly source: 'train';
  /** Position of the source dataset in {@link InterleavedSampler.dataset} (0 for training). */
  readonly dataset: 0;
  /** Global indices (the main dataset starts at 0). Owned by the consumer. */
  readonly indices: Uint32Array;
  /** The epoch this batch belongs to. */
  readonly epoch: number;
  /** The position after this update. */
  readonly position: Position;
  /** Whether this update closed an epoch. */
  readonly endsEpoch: boolean;
  /** Names of the callbacks whose passes follow this update, in order (those with at least one batch). */
  readonly passesAfter: readonly string[];
}

/** A batch of a callback's pass. */
export interface CallbackIndexBatch {
  /** Always `'callback'`: tells callback batches from training ones ({@link TrainIndexBatch}). */
  readonly source: 'callback';
  /** Position of the callback in `callbackSamplers`. */
  readonly callback: number;
  /** The callback's `name`, or `callback<k>`. */
  readonly name: string;
  /** Position of the source dataset in {@link InterleavedSampler.dataset} (`callback + 1`). */
  readonly dataset: number;
  /** Global indices (the callback's offset already added). Owned by the consumer. */
  readonly indices: Uint32Array;
  /**
   * The interval this pass belongs to: `update / n`, `epoch / n` or `floor(sample / n)` for
   * `everyNUpdates`, `everyNEpochs`, `everyNSamples`; 0 in evaluation mode. Stable across resumes.
   */
  readonly pass: number;
  /** Number of this batch within its pass, from 0. */
  readonly batch: number;
  /** Whether this is the pass's last batch. */
  readonly last: boolean;
  /**
   * How many of the batch's items are real, from its start; the rest is padding that results must not
   * count. `indices.length` except for a padded shard (`ShardedEvalSampler` with `pad`), where a rank with
   * fewer items gets batches with fewer (even 0) real ones, so every rank runs the same batches.
   */
  readonly real: number;
  /** The training update after which the pass runs; `undefined` in evaluation mode. */
  readonly afterUpdate: number | undefined;
}

/** What the interleaved batch sampler yields. */
export type IndexBatch = TrainIndexBatch | CallbackIndexBatch;

/** The batch sampler of an {@link InterleavedSampler}: an iterable of tagged index batches. */
export interface InterleavedBatchSampler extends Iterable<IndexBatch> {
  /** The configured (nominal) training batch size. */
  readonly batchSize: number;
}
