import { type Collate, routeCollate } from './collate.ts';
import { ConcatDataset, type ConcatItem, type Dataset } from './dataset.ts';
import { ConfigError } from './errors.ts';
import {
  InterleavedSamplerConfig,
  type InterleavedSamplerOptions,
  SamplerIntervalConfig,
  type SamplerIntervalOptions,
} from './interleaved-config.ts';
import { InterleavedLoader, type InterleavedLoaderOptions } from './interleaved-loader.ts';
import { describe } from './internal/checks.ts';
import { epochIndices } from './internal/indices.ts';
import type { Sampler } from './samplers/sampler.ts';

/**
 * Where a run stands after an update: whole epochs, updates and samples done. In a data-parallel run
 * (a training sampler with `numReplicas`) `sample` counts the samples of all ranks together.
 */
export interface Position {
  readonly epoch: number;
  readonly update: number;
  readonly sample: number;
}

/** A training batch of indices, with the position the run reaches once it is consumed. */
export interface TrainIndexBatch {
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

/** Options of {@link InterleavedSampler}. */
export interface InterleavedSamplerInit {
  /** Sampler over the training dataset; it must expose its `dataset`. */
  trainSampler: Sampler;
  /** Batch size, limits, resume position. */
  config: InterleavedSamplerConfig | InterleavedSamplerOptions;
  /** Collate for training batches. @default defaultCollate */
  trainCollate?: Collate;
  /** The callback datasets and when to pass over them. @default [] */
  callbackSamplers?: readonly (SamplerIntervalConfig | SamplerIntervalOptions)[];
  /** Names of callbacks whose passes run first, before training resumes; see {@link ResumeState}. @default [] */
  replay?: readonly string[];
}

/** The batch sampler of an {@link InterleavedSampler}: an iterable of tagged index batches. */
export interface InterleavedBatchSampler extends Iterable<IndexBatch> {
  /** The configured (nominal) training batch size. */
  readonly batchSize: number;
}

/** One callback's share of a {@link Plan}. */
export interface CallbackPlan {
  readonly callback: number;
  readonly name: string;
  readonly batchSize: number;
  /**
   * Items one pass evaluates over all ranks, padding excluded: the dataset's length for a sharded sampler
   * (one with `numReplicas`), the sampler's length times the world size for any other.
   */
  readonly samplesPerPass: number;
  /** Batches of one pass on this rank (the same on every rank with padded shards). */
  readonly batchesPerPass: number;
  /** Number of passes in the run. */
  readonly passes: number;
  readonly batches: number;
  readonly samples: number;
  /** The training updates after which a pass runs (empty in evaluation mode). */
  readonly afterUpdates: readonly number[];
}

/** The schedule of a run, computed by {@link InterleavedSampler.plan} without loading anything. */
export interface Plan {
  /** Number of ranks the training sampler is a shard of (1 outside a data-parallel run). */
  readonly worldSize: number;
  /** Where the run starts; its `sample`, like every training sample count here, counts all ranks. */
  readonly start: Position;
  /** Position after the last update. */
  readonly end: Position;
  /** Training updates (and batches) the run performs from its start; the same on every rank. */
  readonly updates: number;
  /** Training samples from the start to the end, over all ranks. */
  readonly samples: number;
  /** Epochs completed during the run. */
  readonly epochs: number;
  readonly trainBatches: number;
  readonly evalBatches: number;
  /** Share of all batches that belong to callback passes, in [0, 1]. */
  readonly evaluationShare: number;
  readonly callbacks: readonly CallbackPlan[];
}

type Step =
  | {
      kind: 'train';
      epoch: number;
      from: number;
      to: number;
      position: Position;
      endsEpoch: boolean;
      passesAfter: readonly string[];
    }
  | { kind: 'pass'; callback: number; pass: number; afterUpdate: number | undefined };

/**
 * A point to resume a run from: a position after an update, and the callback passes that followed that
 * update but had not finished when it was saved (they run again, whole, before training goes on).
 */
export interface ResumeState extends Position {
  readonly replay?: readonly string[];
  /** Data-parallel runs: the number of ranks the state was saved on. */
  readonly worldSize?: number;
  /** Data-parallel runs: samples per update over all ranks (`batchSize` × `worldSize`). */
  readonly globalBatchSize?: number;
  /** Data-parallel runs: the training dataset's length. */
  readonly datasetLength?: number;
  /** Data-parallel runs: training samples per epoch over all ranks. */
  readonly epochSamples?: number;
}

/** What a state records about a data-parallel run, to check that a resume on other ranks is exact. */
export type DistributedState = Required<
  Pick<ResumeState, 'worldSize' | 'globalBatchSize' | 'datasetLength' | 'epochSamples'>
>;

interface Shape {
  /** Effective main batch size. */
  B: number;
  /** Main sampler length. */
  L: number;
  /** Samples per epoch. */
  E: number;
  /** Updates per epoch. */
  U: number;
  /** Ranks: every update counts `R` times its batch, since every rank runs a batch of the same size. */
  R: number;
}

function shapeOf(config: InterleavedSamplerConfig, samplerLength: number, worldSize = 1): Shape {
  const L = samplerLength;
  const R = worldSize;
  const B = config.dropLast && L < config.batchSize ? L : config.batchSize;
  if (B === 0) return { B, L, E: 0, U: 0, R };
  const E = config.dropLast ? Math.floor(L / B) * B : L;
  const U = config.dropLast ? E / B : Math.ceil(L / B);
  return { B, L, E, U, R };
}

/** The world size a training sampler declares (`numReplicas`), 1 if it is not a shard. */
function replicasOf(sampler: Sampler): number {
  const R = (sampler as { numReplicas?: unknown }).numReplicas;
  if (R === undefined) return 1;
  if (typeof R !== 'number' || !Number.isSafeInteger(R) || R < 1) {
    throw new ConfigError(`\`trainSampler.numReplicas\` must be a positive integer, got ${describe(R)}`);
  }
  return R;
}

/**
 * One stream of indices over the training dataset, paused at configured intervals for complete passes
 * over callback (evaluation) datasets; all datasets laid end to end in one index space.
 *
 * The TypeScript counterpart of ksuit/noether's `InterleavedSampler`; the behaviour is specified in
 * `spec/interleaved-sampler.md`. Iterating it yields `[index, endsBatch]` pairs as the spec describes;
 * {@link InterleavedSampler.batchSampler} yields whole tagged batches and is what loaders consume.
 *
 * @param init - the training sampler, config, training collate and callback configs
 * @example
 * ```ts
 * const sampler = new InterleavedSampler({
 *   trainSampler: new RandomSampler(trainSet, { seed: 1 }),
 *   config: { batchSize: 32, maxEpochs: 3 },
 *   callbackSamplers: [{ sampler: new SequentialSampler(testSet), everyNEpochs: 1, name: 'test' }],
 * });
 * for (const batch of sampler.batchSampler) console.log(batch.source, batch.indices.length);
 * ```
 */
export class InterleavedSampler implements Iterable<[index: number, endsBatch: boolean]> {
  readonly config: InterleavedSamplerConfig;
  readonly mainSampler: Sampler;
  readonly extraSamplers: readonly SamplerIntervalConfig[];
  /** Start of each callback dataset in the global index space (callback k at `indexOffsets[k]`). */
  readonly indexOffsets: readonly number[];
  /** The main dataset followed by every callback dataset. */
  readonly dataset: ConcatDataset<unknown>;
  /** Collates a batch of {@link ConcatItem}s with its own dataset's collate; rejects mixed batches. */
  readonly collator: Collate<ConcatItem<unknown>>;
  /** Tagged index batches, the form a loader consumes. */
  readonly batchSampler: InterleavedBatchSampler;
  readonly #shape: Shape;
  readonly #start: Position;
  readonly #names: readonly string[];
  readonly #replay: readonly number[];
  readonly #init: InterleavedSamplerInit;

  constructor(init: InterleavedSamplerInit) {
    if (typeof init !== 'object' || init === null) {
      throw new ConfigError(`\`InterleavedSampler\` options must be an object, got ${describe(init)}`);
    }
    const { trainSampler, trainCollate, callbackSamplers = [] } = init;
    const config =
      init.config instanceof InterleavedSamplerConfig
        ? init.config
        : new InterleavedSamplerConfig(init.config);
    if (!Array.isArray(callbackSamplers)) {
      throw new ConfigError(`\`callbackSamplers\` must be an array, got ${describe(callbackSamplers)}`);
    }
    const callbacks = callbackSamplers.map((c, k) => {
      if (c instanceof SamplerIntervalConfig) return c;
      try {
        return new SamplerIntervalConfig(c);
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        throw new ConfigError(`\`callbackSamplers[${k}]\`: ${e.message}`, e.issues, { cause: e });
      }
    });
    const datasets = [datasetOf(trainSampler, 'trainSampler')];
    callbacks.forEach((c, k) => {
      datasets.push(datasetOf(c.sampler, `callbackSamplers[${k}].sampler`));
    });
    if (trainCollate !== undefined && typeof trainCollate !== 'function') {
      throw new ConfigError(`\`trainCollate\` must be a function, got ${describe(trainCollate)}`);
    }
    const L = trainSampler.length;
    if (!Number.isSafeInteger(L) || L < 0) {
      throw new ConfigError(`\`trainSampler.length\` must be a non-negative integer, got ${describe(L)}`);
    }
    const R = replicasOf(trainSampler);
    if (L === 0 && !config.isEvaluation) {
      const n = trainSampler.dataset?.length;
      const sharded =
        R > 1 && n
          ? ` (sharding its ${n} items over ${R} ranks left this rank none; see distributedSamplers)`
          : '';
      throw new ConfigError(
        `\`trainSampler\` is empty (length 0)${sharded}: training would never reach a limit; use \`evaluation: true\` to only run the callbacks`,
      );
    }
    const names = callbacks.map((c, k) => c.name ?? `callback${k}`);
    const dup = names.find((n, k) => names.indexOf(n) !== k);
    if (dup !== undefined)
      throw new ConfigError(`callback names must be unique, got ${JSON.stringify(dup)} twice`);

    const replay = (init.replay ?? []).map((name) => {
      const k = names.indexOf(name);
      if (k < 0) {
        throw new ConfigError(
          `\`replay\` names an unknown callback, got ${JSON.stringify(name)}; callbacks are ${JSON.stringify(names)}`,
        );
      }
      return k;
    });

    this.#init = init;
    this.#replay = replay;
    this.config = config;
    this.mainSampler = trainSampler;
    this.extraSamplers = Object.freeze(callbacks);
    this.#names = names;
    this.#shape = shapeOf(config, L, R);
    this.#start = config.isEvaluation
      ? { epoch: 0, update: 0, sample: 0 }
      : InterleavedSampler.calculateStart(config, L, R);
    this.dataset = new ConcatDataset(datasets);
    this.indexOffsets = Object.freeze(this.dataset.offsets.slice(1, -1));
    this.collator = routeCollate([trainCollate, ...callbacks.map((c) => c.collate)]);
    const batchSize = config.batchSize;
    this.batchSampler = { batchSize, [Symbol.iterator]: () => this.batches() };
    Object.freeze(this.batchSampler);
    Object.freeze(this);
  }

  /** The effective training batch size: `batchSize`, or the sampler's length when `dropLast` and shorter. */
  get batchSize(): number {
    return this.#shape.B;
  }

  /** The position the stream starts from (all zeros unless a `start*` field is set). */
  get start(): Position {
    return this.#start;
  }

  /** Number of ranks the training sampler is a shard of (its `numReplicas`); 1 outside a data-parallel run. */
  get worldSize(): number {
    return this.#shape.R;
  }

  /**
   * What a saved state records about a data-parallel run (`undefined` unless the training sampler has
   * `numReplicas`): a resume on another number of ranks checks it to continue exactly.
   */
  get distributedState(): DistributedState | undefined {
    if ((this.mainSampler as { numReplicas?: unknown }).numReplicas === undefined) return undefined;
    const { B, E, R } = this.#shape;
    return {
      worldSize: R,
      globalBatchSize: B * R,
      datasetLength: this.dataset.offsets[1] as number,
      epochSamples: E * R,
    };
  }

  /**
   * The start position (epoch, update, sample) a config asks for, given the training sampler's length.
   * Samples count all ranks: `startSample` and the returned `sample` are global.
   *
   * @param config - the sampler config (its `start*` field is used)
   * @param samplerLength - length of the training sampler (one rank's shard)
   * @param worldSize - number of ranks, each with a shard of that length. @default 1
   * @example
   * ```ts
   * InterleavedSampler.calculateStart(new InterleavedSamplerConfig({ batchSize: 4, maxEpochs: 9, startUpdate: 5 }), 10);
   * // { epoch: 2, update: 5, sample: 20 } (dropLast: 2 updates of 4 per epoch)
   * ```
   */
  static calculateStart(config: InterleavedSamplerConfig, samplerLength: number, worldSize = 1): Position {
    const { B, E, U } = shapeOf(config, samplerLength);
    const R = worldSize;
    if (U === 0) {
      if (config.startEpoch || config.startUpdate || config.startSample) {
        throw new ConfigError('cannot resume inside an empty training sampler (length 0)');
      }
      return { epoch: 0, update: 0, sample: 0 };
    }
    if (config.startEpoch !== undefined) {
      const e = config.startEpoch;
      return { epoch: e, update: e * U, sample: e * E * R };
    }
    if (config.startUpdate !== undefined) {
      const u = config.startUpdate;
      const epoch = Math.floor(u / U);
      return { epoch, update: u, sample: (epoch * E + (u - epoch * U) * B) * R };
    }
    if (config.startSample !== undefined) {
      const s = config.startSample;
      const epoch = Math.floor(s / (E * R));
      const rest = s - epoch * E * R;
      if (rest % (B * R) !== 0) {
        const size = R === 1 ? `the batch size ${B}` : `the global batch size ${B * R} (${B} × ${R} ranks)`;
        throw new ConfigError(
          `\`startSample\` must fall on an update boundary: ${s} is ${rest} samples into epoch ${epoch}, not a multiple of ${size}`,
        );
      }
      return { epoch, update: epoch * U + rest / (B * R), sample: s };
    }
    return { epoch: 0, update: 0, sample: 0 };
  }

  /**
   * The same sampler, started from a saved {@link ResumeState} instead of its configured start.
   *
   * @param state - a position after an update (from a batch's `position` or a loader's `state()`)
   * @example
   * ```ts
   * const resumed = sampler.resumeFrom(JSON.parse(readFileSync('checkpoint.json', 'utf8')));
   * ```
   */
  resumeFrom(state: ResumeState): InterleavedSampler {
    if (typeof state !== 'object' || state === null) {
      throw new ConfigError(`\`state\` must be a position { epoch, update, sample }, got ${describe(state)}`);
    }
    checkElastic(state, this.distributedState, this.config.batchSize);
    const { startEpoch: _e, startUpdate: _u, startSample: _s, ...rest } = { ...this.config };
    const config = new InterleavedSamplerConfig({ ...rest, startUpdate: state.update });
    const sampler = new InterleavedSampler({ ...this.#init, config, replay: state.replay ?? [] });
    const start = sampler.start;
    if (start.epoch !== state.epoch || start.sample !== state.sample) {
      throw new ConfigError(
        `\`state\` does not fit this sampler: update ${describe(state.update)} is at epoch ${start.epoch}, sample ${start.sample} here, but the state says epoch ${describe(state.epoch)}, sample ${describe(state.sample)} (did the batch size or the dataset change?)`,
      );
    }
    return sampler;
  }

  /**
   * The loader of this run: the concatenated dataset, the tagged batch sampler and the routing collate,
   * with one persistent worker pool (the seed's `get_data_loader`; torch's `pin_memory` has no
   * counterpart, see `DataLoader`).
   *
   * @param options - `numWorkers`, `prefetchFactor`, `timeout`, `seed`, `resume`, …
   * @example
   * ```ts
   * const loader = sampler.getDataLoader({ numWorkers: 2 });
   * ```
   */
  getDataLoader<B = unknown>(options: InterleavedLoaderOptions = {}): InterleavedLoader<B> {
    return new InterleavedLoader<B>(this, options);
  }

  /** Yields the stream as `[globalIndex, endsBatch]` pairs, as the spec describes it. */
  *[Symbol.iterator](): Iterator<[index: number, endsBatch: boolean]> {
    for (const { indices } of this.batches()) {
      const last = indices.length - 1;
      for (let i = 0; i <= last; i++) yield [indices[i] as number, i === last];
    }
  }

  /**
   * Yields the stream batch by batch, each tagged with its source and position.
   *
   * @example
   * ```ts
   * for (const b of sampler.batches()) if (b.source === 'train') console.log(b.position.update);
   * ```
   */
  *batches(): Generator<IndexBatch, void, undefined> {
    const mainLength = this.dataset.offsets[1] as number;
    let order: Uint32Array = new Uint32Array(0);
    let orderEpoch = -1;
    for (const step of this.#schedule()) {
      if (step.kind === 'pass') {
        yield* this.#pass(step.callback, step.pass, step.afterUpdate);
        continue;
      }
      if (step.epoch !== orderEpoch) {
        this.mainSampler.setEpoch?.(step.epoch);
        order = epochIndices(this.mainSampler, mainLength, '`trainSampler`');
        orderEpoch = step.epoch;
      }
      const { epoch, position, endsEpoch, passesAfter } = step;
      const indices = order.slice(step.from, step.to);
      yield { source: 'train', dataset: 0, indices, epoch, position, endsEpoch, passesAfter };
    }
  }

  /**
   * The whole schedule computed without touching any sampler or data: totals, and for each callback its
   * passes and the updates after which they run.
   *
   * @example
   * ```ts
   * const p = sampler.plan();
   * console.log(p.updates, p.callbacks.map((c) => c.passes), p.evaluationShare);
   * ```
   */
  plan(): Plan {
    const { B, R } = this.#shape;
    const callbacks = this.extraSamplers.map((c, k) => {
      const size = c.batchSize ?? B;
      const sharded = c.sampler.numReplicas !== undefined && c.sampler.dataset !== undefined;
      const samplesPerPass = sharded
        ? (c.sampler.dataset as { length: number }).length
        : c.sampler.length * R;
      return {
        callback: k,
        name: this.#names[k] as string,
        batchSize: size,
        samplesPerPass,
        batchesPerPass: size === 0 ? 0 : Math.ceil(c.sampler.length / size),
        passes: 0,
        batches: 0,
        samples: 0,
        afterUpdates: [] as number[],
      };
    });
    let end = this.#start;
    let trainBatches = 0;
    for (const step of this.#schedule()) {
      if (step.kind === 'train') {
        trainBatches++;
        end = step.position;
        continue;
      }
      const c = callbacks[step.callback] as (typeof callbacks)[number];
      c.passes++;
      c.batches += c.batchesPerPass;
      c.samples += c.samplesPerPass;
      if (step.afterUpdate !== undefined) c.afterUpdates.push(step.afterUpdate);
    }
    const evalBatches = callbacks.reduce((n, c) => n + c.batches, 0);
    const total = trainBatches + evalBatches;
    return {
      worldSize: R,
      start: this.#start,
      end,
      updates: end.update - this.#start.update,
      samples: end.sample - this.#start.sample,
      epochs: end.epoch - this.#start.epoch,
      trainBatches,
      evalBatches,
      evaluationShare: total === 0 ? 0 : evalBatches / total,
      callbacks,
    };
  }

  /** The schedule as steps (training updates and callback passes), shared by {@link batches} and {@link plan}. */
  *#schedule(): Generator<Step, void, undefined> {
    if (this.config.isEvaluation) {
      for (let k = 0; k < this.extraSamplers.length; k++)
        yield { kind: 'pass', callback: k, pass: 0, afterUpdate: undefined };
      return;
    }
    const { B, E, R } = this.#shape;
    let { epoch, update, sample } = this.#start;
    for (const k of this.#replay) {
      yield {
        kind: 'pass',
        callback: k,
        pass: this.#passNumber(k, epoch, update, sample),
        afterUpdate: update,
      };
    }
    if (this.#limitReached(epoch, update, sample)) return;
    let sampleAtLastUpdate = sample;
    let from = sample / R - epoch * E; // `sample` counts all ranks, `from` this rank's shard
    for (;;) {
      const batchEpoch = epoch;
      for (; from < E; ) {
        const to = Math.min(from + B, E);
        sample += (to - from) * R;
        update++;
        const endsEpoch = to === E;
        if (endsEpoch) epoch++;
        const due: number[] = [];
        for (let k = 0; k < this.extraSamplers.length; k++) {
          if (this.#due(k, endsEpoch, epoch, update, sampleAtLastUpdate, sample)) due.push(k);
        }
        const passesAfter = due
          .filter((k) => this.extraSamplers[k]?.sampler.length)
          .map((k) => this.#names[k] as string);
        const position = { epoch, update, sample };
        yield { kind: 'train', epoch: batchEpoch, from, to, position, endsEpoch, passesAfter };
        for (const k of due) {
          yield {
            kind: 'pass',
            callback: k,
            pass: this.#passNumber(k, epoch, update, sample),
            afterUpdate: update,
          };
        }
        sampleAtLastUpdate = sample;
        if (this.#limitReached(epoch, update, sample)) return;
        from = to;
      }
      from = 0;
    }
  }

  #limitReached(epoch: number, update: number, sample: number): boolean {
    const c = this.config;
    return (
      (c.maxEpochs !== undefined && epoch >= c.maxEpochs) ||
      (c.maxUpdates !== undefined && update >= c.maxUpdates) ||
      (c.maxSamples !== undefined && sample >= c.maxSamples)
    );
  }

  /** Whether callback `k` is due after an update that moved the sample count from `before` to `sample`. */
  #due(
    k: number,
    endsEpoch: boolean,
    epoch: number,
    update: number,
    before: number,
    sample: number,
  ): boolean {
    const c = this.extraSamplers[k] as SamplerIntervalConfig;
    if (c.everyNEpochs !== undefined) return endsEpoch && epoch % c.everyNEpochs === 0;
    if (c.everyNUpdates !== undefined) return update % c.everyNUpdates === 0;
    const n = c.everyNSamples as number;
    return Math.floor(before / n) < Math.floor(sample / n);
  }

  /** The interval number of callback `k` at a position (see {@link CallbackIndexBatch.pass}). */
  #passNumber(k: number, epoch: number, update: number, sample: number): number {
    const c = this.extraSamplers[k] as SamplerIntervalConfig;
    if (c.everyNEpochs !== undefined) return Math.floor(epoch / c.everyNEpochs);
    if (c.everyNUpdates !== undefined) return Math.floor(update / c.everyNUpdates);
    return Math.floor(sample / (c.everyNSamples as number));
  }

  *#pass(
    k: number,
    pass: number,
    afterUpdate: number | undefined,
  ): Generator<CallbackIndexBatch, void, undefined> {
    const c = this.extraSamplers[k] as SamplerIntervalConfig;
    const offsets = this.dataset.offsets;
    const offset = offsets[k + 1] as number;
    const order = epochIndices(
      c.sampler,
      (offsets[k + 2] as number) - offset,
      `\`callbackSamplers[${k}].sampler\``,
    );
    const size = c.batchSize ?? this.#shape.B;
    const n = order.length;
    const name = this.#names[k] as string;
    const realLength = realLengthOf(c.sampler, n, k);
    for (let pos = 0, batch = 0; pos < n; pos += size, batch++) {
      const end = Math.min(pos + size, n);
      const indices = new Uint32Array(end - pos);
      for (let i = 0; i < indices.length; i++) indices[i] = (order[pos + i] as number) + offset;
      yield {
        source: 'callback',
        callback: k,
        name,
        dataset: k + 1,
        indices,
        pass,
        batch,
        last: end === n,
        real: Math.max(0, Math.min(end, realLength) - pos),
        afterUpdate,
      };
    }
  }
}

/** The number of real (not padding) indices at the start of a callback sampler's order. */
function realLengthOf(sampler: Sampler, length: number, k: number): number {
  const real = sampler.realLength;
  if (real === undefined) return length;
  if (!Number.isSafeInteger(real) || real < 0 || real > length) {
    throw new ConfigError(
      `\`callbackSamplers[${k}].sampler.realLength\` must be an integer in [0, ${length}], got ${describe(real)}`,
    );
  }
  return real;
}

/**
 * Whether a state saved by a data-parallel run continues exactly here. With torch's strided sharding,
 * update k of an epoch covers positions [kG, (k+1)G) of the epoch's order whatever the number of ranks,
 * for a global batch G; so the run continues exactly when the dataset, the global batch size and the
 * samples per epoch are unchanged. Anything else is a ConfigError naming what changed.
 */
function checkElastic(state: ResumeState, here: DistributedState | undefined, batchSize: number): void {
  const saved = state.worldSize;
  if (saved === undefined) return;
  if (here === undefined) {
    throw new ConfigError(
      `\`state\` was saved by a data-parallel run (world size ${describe(saved)}) but this training sampler is not a shard (no \`numReplicas\`): build it with distributedSamplers`,
    );
  }
  const R = here.worldSize;
  const ranks = (n: unknown) => `${describe(n)} rank${n === 1 ? '' : 's'}`;
  const issues: string[] = [];
  if (state.datasetLength !== undefined && state.datasetLength !== here.datasetLength) {
    issues.push(
      `the training dataset length changed: ${describe(state.datasetLength)} in the state, ${here.datasetLength} now`,
    );
  }
  const G = state.globalBatchSize;
  if (G !== undefined && G !== here.globalBatchSize) {
    const fix =
      typeof G === 'number' && G % R === 0
        ? `; on ${ranks(R)} use \`batchSize: ${G / R}\` (rankBatchSize(${G}, ${R}))`
        : `; ${describe(G)} does not divide over ${ranks(R)}, so no batch size continues it there`;
    issues.push(
      `the global batch size changed: ${describe(G)} in the state (saved on ${ranks(saved)}), ${here.globalBatchSize} now (batchSize ${batchSize} × ${ranks(R)})${fix}`,
    );
  }
  if (issues.length === 0 && state.epochSamples !== undefined && state.epochSamples !== here.epochSamples) {
    issues.push(
      saved === R
        ? `the samples per epoch changed: ${describe(state.epochSamples)} in the state, ${here.epochSamples} now (did \`dropLast\` change?)`
        : `the world size changed from ${describe(saved)} to ${R} and an epoch then covers ${here.epochSamples} samples instead of ${describe(state.epochSamples)}: with \`dropLast: false\` (training shards or config) the padded or partial tail depends on the number of ranks; resume on ${ranks(saved)}, or train with \`dropLast: true\``,
    );
  }
  if (issues.length > 0) {
    throw new ConfigError(`\`state\` cannot be continued exactly here: ${issues.join('; ')}`, issues);
  }
}

function datasetOf(sampler: Sampler, what: string): Dataset<unknown> {
  if (typeof sampler !== 'object' || sampler === null || typeof sampler[Symbol.iterator] !== 'function') {
    throw new ConfigError(
      `\`${what}\` must be a sampler (an iterable of indices with a \`length\`), got ${describe(sampler)}`,
    );
  }
  const dataset = sampler.dataset as Dataset<unknown> | undefined;
  if (typeof dataset !== 'object' || dataset === null || typeof dataset.get !== 'function') {
    throw new ConfigError(
      `\`${what}.dataset\` must be the dataset the sampler indexes (with \`length\` and \`get\`), got ${describe(dataset)}; construct the sampler over its dataset`,
    );
  }
  return dataset;
}
