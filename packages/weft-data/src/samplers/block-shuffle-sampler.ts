import { z } from 'zod';
import { describe } from '../core/checks.ts';
import type { Sized } from '../core/dataset.ts';
import { Random } from '../core/random.ts';
import { IndexSampler } from '../core/sampler.ts';
import { parseArguments, positiveInt, type Relation, seedOption, withLength } from '../core/validate.ts';

/** A dataset stored in blocks (row groups, record batches, shards), read a block at a time. */
export interface Blocked extends Sized {
  /**
   * First item of each block, then the total length: block b holds items
   * `[blockOffsets[b], blockOffsets[b + 1])`.
   */
  readonly blockOffsets: ArrayLike<number>;
}

/** Options of {@link BlockShuffleSampler}. */
export interface BlockShuffleSamplerOptions {
  /** Seed of the order: the same seed and epoch always give the same order. A non-negative integer. @default 0 */
  seed?: number;
  /** Blocks whose items are shuffled together; keep it at most the dataset's cache size. @default 2 */
  window?: number;
  /**
   * Items per block, for data without `blockOffsets` (binary shards, JSONL read in order). When given, it is
   * used even if the data has `blockOffsets`.
   * @default the data's `blockOffsets`
   */
  blockSize?: number;
}

const argumentsSchema = z
  .object({
    data: withLength,
    seed: seedOption,
    window: positiveInt.default(2),
    blockSize: positiveInt.optional(),
  })
  .strict();

/** First item of each block of `data`, then its length; or, when it has no usable blocks, why. */
function blocksOf(data: Sized | Blocked, blockSize: number | undefined): number[] | string {
  const n = data.length;
  if (blockSize !== undefined) {
    const offsets = Array.from({ length: Math.ceil(n / blockSize) }, (_, b) => b * blockSize);
    offsets.push(n);
    return offsets;
  }
  const own = (data as Partial<Blocked>).blockOffsets;
  if (own === undefined) {
    return '`BlockShuffleSampler` needs blocks: `data` has no `blockOffsets`, and no `blockSize` was given';
  }
  const offsets = Array.from(own);
  const ok =
    offsets[0] === 0 &&
    offsets[offsets.length - 1] === n &&
    offsets.every((o, k) => Number.isSafeInteger(o) && (k === 0 || o >= (offsets[k - 1] as number)));
  // Empty data has one empty block whatever its offsets repeat, so that `blocks` is 0.
  if (ok) return n === 0 ? [0] : offsets;
  return `\`data.blockOffsets\` must rise from 0 to the dataset's length ${n}, got ${describe(own)}`;
}

// Blocks are looked for once the data and `blockSize` are sound (a bad `blockSize` is its own problem).
const hasBlocks: Relation = ({ data, blockSize }) => {
  if (!withLength.safeParse(data).success || !positiveInt.optional().safeParse(blockSize).success) return [];
  const blocks = blocksOf(data as Sized, blockSize as number | undefined);
  return typeof blocks === 'string' ? [blocks] : [];
};

/**
 * A shuffle for data read in blocks: it shuffles the order of the blocks, then the items within each window
 * of `window` consecutive blocks (in that order), so a loader's workers keep touching the same few blocks and
 * their block caches hit, where a full shuffle would decode a block for nearly every item. Each epoch is a
 * permutation of all items, fixed by (seed, epoch) like every weft sampler, so a run resumes exactly.
 *
 * Epoch e's block order is `new Random(seed, e, 0).permutation(blocks)`; window w's items are shuffled by
 * `new Random(seed, e, 1 + w)`. The blocks come from the data's `blockOffsets` (Parquet row groups, Arrow
 * record batches) or from `blockSize`. Hit rates are counted by the datasets (`cacheStats`).
 *
 * @typeParam D - the dataset's type, kept as `dataset` (a loader of an interleaved run types its batches by it)
 * @param data - a dataset with `blockOffsets`, or any sized data with the `blockSize` option
 * @param options - `seed`, `window`, `blockSize`
 * @example
 * ```ts
 * const table = await ParquetDataset.open('train.parquet', { cacheBlocks: 4 });
 * const sampler = new BlockShuffleSampler(table, { seed: 1, window: 2 });
 * const loader = new DataLoader({ dataset: table, sampler, batchSize: 256, numWorkers: 2 });
 * ```
 */
export class BlockShuffleSampler<D extends Sized = Sized> extends IndexSampler {
  /** The data the indices refer to. */
  readonly dataset: D;
  /** Seed of every epoch's order. */
  readonly seed: number;
  /** Blocks whose items are shuffled together. */
  readonly window: number;
  /** First item of each block, then the total length. */
  readonly blockOffsets: readonly number[];
  /** Indices per epoch: the dataset's length. */
  readonly length: number;
  #cache: { epoch: number; order: Uint32Array } | undefined;

  constructor(data: D & (Sized | Blocked), options: BlockShuffleSamplerOptions = {}) {
    super();
    const parsed = parseArguments(argumentsSchema, { data }, options, {
      relations: [hasBlocks],
      what: 'BlockShuffleSampler options',
    });
    ({ seed: this.seed, window: this.window } = parsed);
    this.dataset = parsed.data as D;
    this.blockOffsets = blocksOf(data, parsed.blockSize) as number[];
    this.length = data.length;
  }

  /** Number of blocks. */
  get blocks(): number {
    return this.blockOffsets.length - 1;
  }

  /** The current epoch's order (cached; do not modify). */
  indices(): Uint32Array {
    if (this.#cache?.epoch === this.epoch) return this.#cache.order;
    const offsets = this.blockOffsets;
    const order = new Random(this.seed, this.epoch, 0).permutation(this.blocks);
    const out = new Uint32Array(this.length);
    let pos = 0;
    for (let w = 0; w * this.window < order.length; w++) {
      const start = pos;
      for (const b of order.subarray(w * this.window, (w + 1) * this.window)) {
        for (let i = offsets[b] as number; i < (offsets[b + 1] as number); i++) out[pos++] = i;
      }
      new Random(this.seed, this.epoch, 1 + w).shuffle(out.subarray(start, pos));
    }
    this.#cache = { epoch: this.epoch, order: out };
    return out;
  }
}
