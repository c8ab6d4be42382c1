import { z } from 'zod';
import type { Sized } from '../core/dataset.ts';
import { IndexSampler } from '../core/sampler.ts';
import { parseArguments, withLength } from '../core/validate.ts';

const argumentsSchema = z.object({ data: withLength });

/**
 * Yields 0, 1, …, n-1 in order, every epoch (torch's `SequentialSampler`).
 *
 * @typeParam D - the dataset's type, kept as `dataset` (a loader of an interleaved run types its batches by it)
 * @param data - the dataset (only its `length` is read)
 * @example
 * ```ts
 * [...new SequentialSampler(new ArrayDataset(['a', 'b', 'c']))]; // [0, 1, 2]
 * ```
 */
export class SequentialSampler<D extends Sized = Sized> extends IndexSampler {
  /** The data the indices refer to (only its `length` is read). */
  readonly dataset: D;
  #order: Uint32Array | undefined;
  constructor(data: D) {
    super();
    this.dataset = parseArguments(argumentsSchema, { data }, {}).data as D;
  }
  /** The dataset's current length: one index per item. */
  get length(): number {
    return this.dataset.length;
  }
  /** 0..n-1, computed once: the same array every call. */
  indices(): Uint32Array {
    if (this.#order?.length !== this.dataset.length) {
      const order = new Uint32Array(this.dataset.length);
      for (let i = 0; i < order.length; i++) order[i] = i;
      this.#order = order;
    }
    return this.#order;
  }
}
