import type { SampleContext } from './worker-info.ts';

/**
 * The dataset contract: a length and an item by index, synchronously or as a promise.
 *
 * Like torch's map-style `Dataset`: indices run from 0 to `length - 1`.
 *
 * @example
 * ```ts
 * const squares: Dataset<number> = { length: 10, get: (i) => i * i };
 * ```
 */
export interface Dataset<T> {
  /** Number of items. */
  readonly length: number;
  /**
   * The item at `index` (0 ≤ index < length). May return a promise. Loaders pass a `context` whose
   * `random()` makes augmentations depend only on (seed, epoch, index), not on the worker.
   */
  get(index: number, context?: SampleContext): T | Promise<T>;
}

/** Anything with a length: what samplers need to know of the data they index. */
export interface Sized {
  /** Number of items (indices run from 0 to `length - 1`). */
  readonly length: number;
}

/** The item type of a dataset. */
export type ItemOf<D> = D extends Dataset<infer T> ? T : never;
