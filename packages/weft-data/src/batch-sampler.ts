import { ConfigError } from './errors.ts';
import { checkBoolean, checkPositiveInt, describe } from './internal/checks.ts';
import type { Sampler } from './samplers/sampler.ts';

/** Options of {@link BatchSampler}. */
export interface BatchSamplerOptions {
  batchSize: number;
  /** Drop the last batch if it is smaller than `batchSize`. @default false */
  dropLast?: boolean;
}

/**
 * Groups a sampler's indices into batches (torch's `BatchSampler`); each batch is a fresh `Uint32Array`
 * the consumer owns.
 *
 * @param sampler - any sampler; its `indices()` fast path is used when it has one
 * @param options - `batchSize`, `dropLast`
 * @example
 * ```ts
 * [...new BatchSampler(new SequentialSampler(dataset10), { batchSize: 4 })];
 * // [Uint32Array [0,1,2,3], Uint32Array [4,5,6,7], Uint32Array [8,9]]
 * ```
 */
export class BatchSampler implements Iterable<Uint32Array> {
  readonly sampler: Sampler;
  readonly batchSize: number;
  readonly dropLast: boolean;

  constructor(sampler: Sampler, options: BatchSamplerOptions) {
    if (typeof sampler !== 'object' || sampler === null || typeof sampler[Symbol.iterator] !== 'function') {
      throw new ConfigError(
        `\`sampler\` must be a sampler (an iterable of indices with a \`length\`), got ${describe(sampler)}`,
      );
    }
    if (typeof options !== 'object' || options === null) {
      throw new ConfigError(`\`options\` must be an object with \`batchSize\`, got ${describe(options)}`);
    }
    this.sampler = sampler;
    this.batchSize = checkPositiveInt(options.batchSize, 'batchSize');
    this.dropLast = checkBoolean(options.dropLast ?? false, 'dropLast');
  }

  /** Number of batches per epoch. */
  get length(): number {
    const n = this.sampler.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** Forwards the epoch to the sampler. */
  setEpoch(epoch: number): void {
    this.sampler.setEpoch?.(epoch);
  }

  *[Symbol.iterator](): Iterator<Uint32Array> {
    const order = typeof this.sampler.indices === 'function' ? this.sampler.indices() : collect(this.sampler);
    const size = this.batchSize;
    const end = this.dropLast ? order.length - (order.length % size) : order.length;
    for (let pos = 0; pos < end; pos += size) yield order.slice(pos, Math.min(pos + size, end));
  }
}

function collect(sampler: Sampler): Uint32Array {
  const out: number[] = [];
  for (const i of sampler) {
    if (!Number.isInteger(i) || i < 0 || i > 0xffffffff) {
      throw new ConfigError(
        `\`sampler\` yielded ${describe(i)}, which is not an index (an integer in [0, 2^32))`,
      );
    }
    out.push(i);
  }
  return Uint32Array.from(out);
}
