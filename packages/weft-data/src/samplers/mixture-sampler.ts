import { z } from 'zod';
import type { Sized } from '../core/dataset.ts';
import { Random } from '../core/random.ts';
import { IndexSampler } from '../core/sampler.ts';
import { fail, parseArguments, positiveInt, type Relation, seedOption, sizedAs } from '../core/validate.ts';
import { rankInRange, shardFields } from './shard.ts';

/**
 * What a {@link MixtureSampler} reads of its data: a `ConcatDataset`'s `offsets`, where each source dataset
 * starts in the one index space, the total length last.
 */
export interface Mixable extends Sized {
  /** Start of each source dataset in the index space, then the total length (a `ConcatDataset`'s `offsets`). */
  readonly offsets: readonly number[];
}

/** Options of {@link MixtureSampler}. */
export interface MixtureSamplerOptions {
  /**
   * One positive number per source dataset, in the order of the `ConcatDataset`: its share of every epoch,
   * normalised by their sum (`[3, 1]` is 75% and 25%). For exact counts, give the counts as weights and
   * their sum as `numSamples`.
   */
  weights: readonly number[];
  /**
   * Samples per epoch, all ranks together. It must be a multiple of `batchSize` and of `numReplicas` when
   * they are given, so that the global order, and so a resume on another number of ranks, stays the same.
   * @default the datasets' total length (rounded down to a multiple of `batchSize` when it is given)
   */
  numSamples?: number;
  /** Seed of the order: the same seed and epoch always give the same order. A non-negative integer. @default 0 */
  seed?: number;
  /**
   * Draw sources per batch rather than per sample: every run of `batchSize` consecutive samples of the
   * global order comes from one source (Mosaic's per-stream batching). With ranks it is the global batch
   * (the interleaved run's `batchSize` × `numReplicas`, or a multiple of it), so that each rank's batch of an
   * update comes from one source; an {@link InterleavedSampler} whose updates would straddle two sources is
   * refused.
   * @default undefined: sources mixed sample by sample
   */
  batchSize?: number;
  /** Number of ranks of a data-parallel run; give it with `rank`. @default undefined: one process */
  numReplicas?: number;
  /** This process's rank, in [0, numReplicas); give it with `numReplicas`. @default undefined */
  rank?: number;
}

/** A weight: a positive finite number. */
const weight = z
  .number({ error: 'must be a positive number' })
  .positive({ error: 'must be a positive number' });
const mixable = sizedAs<Mixable>(
  (v) => typeof v === 'object' && v !== null && Array.isArray((v as { offsets?: unknown }).offsets),
  'must be a ConcatDataset (an object whose `offsets` say where each dataset starts)',
);
const WEIGHTS = 'must be an array of positive numbers, one per dataset';
const argumentsSchema = z
  .object({
    data: mixable,
    weights: z.array(weight, { error: WEIGHTS }).min(1, { error: WEIGHTS }),
    numSamples: positiveInt.optional(),
    seed: seedOption,
    batchSize: positiveInt.optional(),
    numReplicas: shardFields.numReplicas.optional(),
    rank: shardFields.rank.optional(),
  })
  .strict();

/** Each field of `raw` that is valid on its own; the relations below check only those. */
function validFields(raw: Record<string, unknown>) {
  const ok = <T>(schema: z.ZodType<T>, value: unknown): T | undefined => {
    const r = schema.safeParse(value);
    return r.success ? r.data : undefined;
  };
  const shape = argumentsSchema.shape;
  return {
    lengths: sourceLengths(ok(shape.data, raw.data)),
    weights: ok(shape.weights, raw.weights),
    numSamples: ok(shape.numSamples, raw.numSamples),
    batchSize: ok(shape.batchSize, raw.batchSize),
    numReplicas: ok(shape.numReplicas, raw.numReplicas),
  };
}

/** The source datasets' lengths from a ConcatDataset's offsets, or `undefined` when the offsets make none. */
function sourceLengths(data: Mixable | undefined): number[] | undefined {
  const offsets = data?.offsets;
  if (offsets === undefined || offsets[0] !== 0 || offsets.at(-1) !== data?.length) return undefined;
  const lengths = offsets.slice(1).map((o, k) => o - (offsets[k] as number));
  return lengths.every((n) => Number.isSafeInteger(n) && n >= 0) ? lengths : undefined;
}

/** `numSamples` as given, or its default: the total length, rounded down to whole batches. */
const defaultSamples = (total: number, batchSize: number | undefined) =>
  batchSize === undefined ? total : Math.floor(total / batchSize) * batchSize;

// The offsets a ConcatDataset builds always fit; anything else was not built by one.
const offsetsValid: Relation = (raw) =>
  mixable.safeParse(raw.data).success && validFields(raw).lengths === undefined
    ? ['`data.offsets` must rise from 0 to `data.length` (build `data` with `new ConcatDataset(datasets)`)']
    : [];

// One weight per source, and no source weighted that has nothing to draw.
const weightPerSource: Relation = (raw) => {
  const { lengths, weights } = validFields(raw);
  if (lengths === undefined || weights === undefined) return [];
  if (weights.length !== lengths.length) {
    return [
      `\`weights\` must have one weight per dataset of \`data\` (${lengths.length}), got ${weights.length}`,
    ];
  }
  return lengths.flatMap((n, k) =>
    n === 0 ? [`\`weights[${k}]\` is ${weights[k]} but dataset ${k} is empty: there is nothing to draw`] : [],
  );
};

// What keeps the global order the same on any number of ranks: ranks given together, and every epoch (and
// every per-source batch) dividing evenly over them.
const divides: Relation = (raw) => {
  const issues: string[] = [];
  const given = (v: unknown) => v !== undefined;
  if (given(raw.numReplicas) !== given(raw.rank)) {
    issues.push(
      '`numReplicas` and `rank` go together: give both in a data-parallel run, neither outside one',
    );
  }
  const { lengths, numSamples, batchSize, numReplicas: R } = validFields(raw);
  if (batchSize !== undefined && R !== undefined && batchSize % R !== 0) {
    issues.push(
      `\`batchSize\` must be a multiple of \`numReplicas\` (${R}), got ${batchSize}: it is the global batch, and each rank's part of it comes from one source`,
    );
  }
  if (batchSize !== undefined && numSamples !== undefined && numSamples % batchSize !== 0) {
    issues.push(
      `\`numSamples\` must be a multiple of \`batchSize\` (${batchSize}), got ${numSamples}: each batch comes from one source`,
    );
  }
  if (lengths === undefined || raw.numSamples !== undefined) {
    if (numSamples !== undefined && R !== undefined && numSamples % R !== 0) {
      issues.push(
        `\`numSamples\` must be a multiple of \`numReplicas\` (${R}), got ${numSamples}: every rank takes an equal share of one order`,
      );
    }
    return issues;
  }
  const total = lengths.reduce((a, n) => a + n, 0);
  const samples = defaultSamples(total, batchSize);
  if (samples === 0 && total > 0) {
    issues.push(
      `the datasets hold ${total} items, less than one \`batchSize\` (${batchSize}): give \`numSamples\``,
    );
  } else if (R !== undefined && samples % R !== 0) {
    issues.push(
      `\`numSamples\` (by default the datasets' total length, ${samples}) must be a multiple of \`numReplicas\` (${R}), so that every rank takes an equal share of one order: give \`numSamples: ${samples - (samples % R)}\``,
    );
  }
  return issues;
};

/**
 * Splits `units` among sources in proportion to `weights` by largest remainder: each gets the floor of its
 * quota, and the units left go one each to the largest fractional parts (ties to the earlier source). The
 * counts sum to `units` and each is within one of its exact quota.
 */
function apportion(weights: readonly number[], units: number): number[] {
  const total = weights.reduce((a, w) => a + w, 0);
  // Multiplying before dividing keeps whole quotas whole (weights [300, 100] of 400 give exactly 300, 100).
  const quotas = weights.map((w) => (w * units) / total);
  const counts = quotas.map(Math.floor);
  let left = units - counts.reduce((a, c) => a + c, 0);
  const byRemainder = quotas
    .map((q, k) => ({ k, r: q - Math.floor(q) }))
    .sort((a, b) => b.r - a.r || a.k - b.k);
  for (const { k } of byRemainder) {
    if (left-- <= 0) break;
    counts[k] = (counts[k] as number) + 1;
  }
  return counts;
}

/**
 * Several datasets mixed by proportion: one rank's share of a seeded order over a `ConcatDataset` whose
 * epochs draw each source by its weight (Mosaic's streams with proportions, litData's combined dataset).
 *
 * Epoch e of the global order (all ranks together) is built from (seed, e) alone:
 * - each source's count is its share of `numSamples` by largest remainder (exact: the counts sum to
 *   `numSamples`, each within one sample of `weight × numSamples`); with `batchSize`, whole batches are
 *   shared out instead of samples; a source whose count would be 0 is a {@link ConfigError};
 * - the sequence of sources (one per sample, or one per batch of `batchSize`) is those counts shuffled by
 *   `new Random(seed, e)`;
 * - source s yields its items from one endless stream: permutations of its items drawn by
 *   `new Random(seed, s, k)` for k = 0, 1, … laid end to end, of which epoch e takes the next `counts[s]`.
 *   So no item of a source repeats until all of its items have come, within an epoch and across epochs: a
 *   source drawn less than its length per epoch goes through all its items over the following epochs, and
 *   one drawn more (upsampled) goes on into its next permutation. Each source's permutation is kept
 *   between epochs (4 bytes per item of `data`), so that an epoch costs what it draws, not whole
 *   permutations of large sources.
 *
 * With `numReplicas`, rank r takes every `numReplicas`-th sample of that order from position r, as
 * `DistributedSampler` does; the order does not depend on the number of ranks, which is what lets an
 * interleaved run saved on one number of ranks resume exactly on another (keep the global batch size).
 *
 * @typeParam D - the data's type, kept as `dataset` (a loader of an interleaved run types its batches by it)
 * @param data - a `ConcatDataset` of the sources (only its `offsets` and `length` are read)
 * @param options - `weights`, `numSamples`, `seed`, `batchSize`, `numReplicas`, `rank`
 * @example
 * ```ts
 * const both = new ConcatDataset([books, web]);
 * const sampler = new MixtureSampler(both, { weights: [3, 1], numSamples: 4000, seed: 7 });
 * sampler.counts; // [3000, 1000] per epoch
 * ```
 */
export class MixtureSampler<D extends Mixable = Mixable> extends IndexSampler {
  /** The concatenated sources the indices refer to (only its `offsets` and `length` are read). */
  readonly dataset: D;
  /** The weights, normalised to sum to 1; see {@link MixtureSamplerOptions.weights}. */
  readonly weights: readonly number[];
  /** Samples each source contributes to every epoch, all ranks together (they sum to `numSamples`). */
  readonly counts: readonly number[];
  /** Samples per epoch, all ranks together; see {@link MixtureSamplerOptions.numSamples}. */
  readonly numSamples: number;
  /** Seed of the order; see {@link MixtureSamplerOptions.seed}. */
  readonly seed: number;
  /** Samples of one source in a row, or `undefined`; see {@link MixtureSamplerOptions.batchSize}. */
  readonly batchSize: number | undefined;
  /** Number of ranks, or `undefined` outside a data-parallel run; the interleaved run counts samples by it. */
  readonly numReplicas: number | undefined;
  /** This process's rank (0 outside a data-parallel run). */
  readonly rank: number;
  /** Indices this rank yields per epoch: `numSamples / numReplicas`. */
  readonly length: number;
  readonly #lengths: readonly number[];
  #cache: { epoch: number; order: Uint32Array } | undefined;
  // Per source, the permutation its stream is in and how far it is shuffled (see #permutation).
  readonly #streams: ({ k: number; perm: Uint32Array; done: number; random: Random } | undefined)[] = [];

  constructor(data: D, options: MixtureSamplerOptions) {
    super();
    const parsed = parseArguments(argumentsSchema, { data }, options, {
      relations: [offsetsValid, weightPerSource, divides, rankInRange],
      expected: 'an object with `weights`',
    });
    this.dataset = parsed.data as D;
    this.#lengths = sourceLengths(parsed.data) as number[];
    const sum = parsed.weights.reduce((a, w) => a + w, 0);
    this.weights = Object.freeze(parsed.weights.map((w) => w / sum));
    this.seed = parsed.seed;
    this.batchSize = parsed.batchSize;
    this.numReplicas = parsed.numReplicas;
    this.rank = parsed.rank ?? 0;
    this.numSamples = parsed.numSamples ?? defaultSamples(parsed.data.length, parsed.batchSize);
    const unit = this.batchSize ?? 1;
    this.counts = Object.freeze(apportion(parsed.weights, this.numSamples / unit).map((c) => c * unit));
    this.length = this.numSamples / (this.numReplicas ?? 1);
    // A source weighted but never drawn is a mixture other than the one asked for.
    const unseen = this.counts.flatMap((c, k) => {
      if (c > 0) return [];
      const share = ((this.weights[k] as number) * this.numSamples) / unit;
      const of = unit === 1 ? `${this.numSamples} samples` : `${this.numSamples / unit} batches of ${unit}`;
      return [
        `\`weights[${k}]\` gives dataset ${k} no ${unit === 1 ? 'sample' : 'batch'} of an epoch of ${of} (its share is ${share.toFixed(2)}): raise \`numSamples\` or its weight`,
      ];
    });
    if (unseen.length > 0) fail(undefined, unseen);
  }

  /** This rank's share of the current epoch's order, computed once per epoch and cached: do not modify it. */
  indices(): Uint32Array {
    if (this.#cache?.epoch === this.epoch) return this.#cache.order;
    const all = this.#globalOrder();
    const R = this.numReplicas ?? 1;
    let order = all;
    if (R > 1) {
      order = new Uint32Array(this.length);
      for (let i = 0, p = this.rank; i < order.length; i++, p += R) order[i] = all[p] as number;
    }
    this.#cache = { epoch: this.epoch, order };
    return order;
  }

  /** The epoch's order over all ranks, in one pass once each source's draws are known. */
  #globalOrder(): Uint32Array {
    const unit = this.batchSize ?? 1;
    const sequence = new Uint32Array(this.numSamples / unit);
    for (let s = 0, at = 0; s < this.counts.length; s++) {
      const units = (this.counts[s] as number) / unit;
      sequence.fill(s, at, at + units);
      at += units;
    }
    new Random(this.seed, this.epoch).shuffle(sequence);
    const draws = this.counts.map((c, s) => this.#draws(s, c));
    const taken = new Uint32Array(this.counts.length);
    const all = new Uint32Array(this.numSamples);
    for (let u = 0; u < sequence.length; u++) {
      const s = sequence[u] as number;
      const from = taken[s] as number;
      all.set((draws[s] as Uint32Array).subarray(from, from + unit), u * unit);
      taken[s] = from + unit;
    }
    return all;
  }

  /**
   * Source `s`'s `count` items of this epoch, as indices of `data`: positions [epoch × count, (epoch + 1) ×
   * count) of its endless stream of permutations.
   */
  #draws(s: number, count: number): Uint32Array {
    const n = this.#lengths[s] as number;
    const offset = this.dataset.offsets[s] as number;
    const out = new Uint32Array(count);
    const start = this.epoch * count;
    for (let i = 0; i < count; ) {
      const k = Math.floor((start + i) / n);
      const from = start + i - k * n;
      const take = Math.min(n - from, count - i);
      const perm = this.#permutation(s, k, from + take);
      for (let j = 0; j < take; j++) out[i + j] = (perm[from + j] as number) + offset;
      i += take;
    }
    return out;
  }

  /**
   * Permutation `k` of source `s`, final in its first `upTo` positions. The shuffle runs front to back
   * (position i is settled at step i) and is kept between epochs, so that a source drawn at a tenth of its
   * length per epoch costs a tenth of a permutation per epoch, not a whole one; going back to an earlier
   * permutation (an earlier epoch) shuffles it again from its seed.
   */
  #permutation(s: number, k: number, upTo: number): Uint32Array {
    const n = this.#lengths[s] as number;
    let st = this.#streams[s];
    if (st === undefined || st.k !== k) {
      const perm = st?.perm ?? new Uint32Array(n);
      for (let i = 0; i < n; i++) perm[i] = i;
      st = { k, perm, done: 0, random: new Random(this.seed, s, k) };
      this.#streams[s] = st;
    }
    const { perm, random } = st;
    for (let i = st.done; i < upTo; i++) {
      const j = i + random.int(n - i);
      const t = perm[i] as number;
      perm[i] = perm[j] as number;
      perm[j] = t;
    }
    st.done = Math.max(st.done, upTo);
    return perm;
  }
}
