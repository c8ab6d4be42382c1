import { z } from 'zod';
import type { Collate } from '../collate/collate.ts';
import { describe } from '../core/checks.ts';
import type { Dataset } from '../core/dataset.ts';
import { ConfigError } from '../core/errors.ts';
import { epochIndices } from '../core/indices.ts';
import type { Sampler } from '../core/sampler.ts';
import { fail, zodIssues } from '../core/validate.ts';
import {
  configIssues,
  InterleavedSamplerConfig,
  type InterleavedSamplerOptions,
  intervalIssues,
  isLength,
  LENGTH_EXPECTED,
  MAX_LENGTH,
  SamplerIntervalConfig,
  type SamplerIntervalOptions,
} from './config.ts';
import { type Plan, type Position, Schedule } from './schedule.ts';

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

/**
 * A point to resume a run from: a position after an update, and the callback passes that followed that
 * update but had not finished when it was saved (they run again, whole, before training goes on).
 */
export interface ResumeState extends Position {
  /**
   * Names of the callbacks whose passes followed the saved update but had not finished: they run again,
   * whole and in this order, before training goes on.
   * @default []
   */
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

const isFunction = (v: unknown): v is Collate => typeof v === 'function';
const nonNegativeInt = z
  .int({ error: 'must be a non-negative integer' })
  .min(0, { error: 'must be a non-negative integer' });
const positiveInt = z
  .int({ error: 'must be a positive integer' })
  .min(1, { error: 'must be a positive integer' });

// Only the keys; the samplers and config are checked by hand below, for messages that say what they need.
const initSchema = z
  .object({
    trainSampler: z.unknown(),
    config: z.unknown(),
    trainCollate: z.custom<Collate>(isFunction, { error: 'must be a function' }).optional(),
    callbackSamplers: z.array(z.unknown(), { error: 'must be an array' }).optional(),
    replay: z
      .array(z.string({ error: 'must be a callback name' }), { error: 'must be an array of callback names' })
      .optional(),
  })
  .strict();

/**
 * Zod schema of a {@link ResumeState}, as `JSON.parse` gives it back from a checkpoint.
 *
 * @example
 * ```ts
 * resumeStateSchema.parse({ epoch: 1, update: 6, sample: 96, replay: ['test'] });
 * // a data-parallel run's state also records its shape:
 * resumeStateSchema.parse({ epoch: 0, update: 5, sample: 60, worldSize: 3, globalBatchSize: 12, datasetLength: 100, epochSamples: 96 });
 * ```
 */
export const resumeStateSchema = z
  .object({
    /** Whole epochs done; see {@link Position.epoch}. */
    epoch: nonNegativeInt,
    /** Updates done; see {@link Position.update}. */
    update: nonNegativeInt,
    /** Training samples done (over all ranks); see {@link Position.sample}. */
    sample: nonNegativeInt,
    /** Callbacks whose passes run again first; see {@link ResumeState.replay}. */
    replay: z
      .array(z.string({ error: 'must be a callback name' }), { error: 'must be an array of callback names' })
      .optional(),
    // What a data-parallel run records (see DistributedState); checked against the resuming run.
    /** Data-parallel runs: the number of ranks the state was saved on. */
    worldSize: positiveInt.optional(),
    /** Data-parallel runs: samples per update over all ranks (`batchSize` × `worldSize`). */
    globalBatchSize: positiveInt.optional(),
    /** Data-parallel runs: the training dataset's length. */
    datasetLength: nonNegativeInt.optional(),
    /** Data-parallel runs: training samples per epoch over all ranks. */
    epochSamples: nonNegativeInt.optional(),
  })
  .strict();

/**
 * Every problem of a resume state, each field named under `prefix` (`resume.`, `state.`).
 *
 * @param state - the state as given
 * @param prefix - where it sits in the caller's options
 * @example
 * ```ts
 * resumeStateIssues({ epoch: 0, update: 0, sample: 0, replay: 'test' }, 'resume.');
 * // ['`resume.replay` must be an array of callback names, got "test"']
 * ```
 */
export function resumeStateIssues(state: unknown, prefix: string): string[] {
  if (typeof state !== 'object' || state === null) {
    return [
      `\`${prefix.slice(0, -1)}\` must be a position { epoch, update, sample }, got ${describe(state)}`,
    ];
  }
  const parsed = resumeStateSchema.safeParse(state);
  return parsed.success ? [] : zodIssues(parsed.error, state, prefix);
}

/**
 * One stream of indices over the training dataset, paused at configured intervals for complete passes
 * over callback (evaluation) datasets; all datasets laid end to end in one index space.
 *
 * The TypeScript counterpart of ksuit/noether's `InterleavedSampler`; the behaviour is specified in
 * `docs/spec/interleaved-sampler.md`. Iterating it yields `[index, endsBatch]` pairs as the spec describes;
 * {@link InterleavedSampler.batchSampler} yields whole tagged batches and is what loaders consume. When the
 * steps fall is the business of the schedule (`src/schedule.ts`); the concatenated dataset and the routing
 * collate are the loader's (`src/interleaved-loader.ts`), which adds `dataset`, `collator` and
 * `getDataLoader()` to this class.
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
  /** The training config, validated (an {@link InterleavedSamplerConfig} even when plain options were given). */
  readonly config: InterleavedSamplerConfig;
  /** The training sampler: {@link InterleavedSamplerInit.trainSampler}. */
  readonly mainSampler: Sampler;
  /**
   * The callbacks, in order, each as a {@link SamplerIntervalConfig}: from
   * {@link InterleavedSamplerInit.callbackSamplers}.
   */
  readonly extraSamplers: readonly SamplerIntervalConfig[];
  /** The main dataset followed by every callback dataset, in index-space order. */
  readonly datasets: readonly Dataset<unknown>[];
  /** The collate of each of {@link InterleavedSampler.datasets} (`undefined`: the default collate). */
  readonly collates: readonly (Collate | undefined)[];
  /** Start of each callback dataset in the global index space (callback k at `indexOffsets[k]`). */
  readonly indexOffsets: readonly number[];
  /** Names of the callbacks whose passes run first, before training resumes. */
  readonly replay: readonly string[];
  /** Tagged index batches, the form a loader consumes. */
  readonly batchSampler: InterleavedBatchSampler;
  readonly #schedule: Schedule;
  readonly #names: readonly string[];
  readonly #init: InterleavedSamplerInit;

  constructor(init: InterleavedSamplerInit) {
    if (typeof init !== 'object' || init === null) {
      throw new ConfigError(`\`InterleavedSampler\` options must be an object, got ${describe(init)}`);
    }
    const parsed = initSchema.safeParse(init);
    const issues = parsed.success ? [] : zodIssues(parsed.error, init);
    const { trainSampler, trainCollate } = init;
    const callbackSamplers = Array.isArray(init.callbackSamplers) ? init.callbackSamplers : [];

    issues.push(...trainSamplerIssues(trainSampler));
    const rawConfig: unknown = init.config;
    if (!(rawConfig instanceof InterleavedSamplerConfig)) {
      if (typeof rawConfig === 'object' && rawConfig !== null)
        issues.push(...configIssues(rawConfig, 'config.'));
      else
        issues.push(
          `\`config\` must be an object with \`batchSize\` and a limit, got ${describe(rawConfig)}`,
        );
    }
    callbackSamplers.forEach((c: unknown, k) => {
      const prefix = `callbackSamplers[${k}].`;
      if (typeof c !== 'object' || c === null) {
        issues.push(`\`callbackSamplers[${k}]\` must be an object with a \`sampler\`, got ${describe(c)}`);
        return;
      }
      if (!(c instanceof SamplerIntervalConfig)) issues.push(...intervalIssues(c, prefix));
      const sampler = (c as { sampler?: unknown }).sampler;
      const samplerIssues = datasetIssues(sampler, `${prefix}sampler`);
      if (samplerIssues.length === 0 && typeof sampler === 'object' && sampler !== null)
        samplerIssues.push(...shardIssues(sampler as Sampler, `${prefix}sampler`));
      issues.push(...samplerIssues);
    });
    if (issues.length > 0) fail('InterleavedSampler', issues);

    const config =
      rawConfig instanceof InterleavedSamplerConfig
        ? rawConfig
        : new InterleavedSamplerConfig(rawConfig as InterleavedSamplerOptions);
    const callbacks = callbackSamplers.map((c) =>
      c instanceof SamplerIntervalConfig ? c : new SamplerIntervalConfig(c),
    );
    const datasets = [trainSampler, ...callbacks.map((c) => c.sampler)].map(
      (s) => s.dataset as Dataset<unknown>,
    );
    const offsets = [0];
    for (const d of datasets) offsets.push((offsets.at(-1) as number) + d.length);
    const total = offsets.at(-1) as number;
    if (total > MAX_LENGTH + 1) {
      issues.push(
        `the datasets together must hold at most ${MAX_LENGTH + 1} items (global indices are 32-bit), got ${total}`,
      );
    }
    const L = trainSampler.length;
    const R = trainSampler.numReplicas ?? 1;
    if (L === 0 && !config.isEvaluation) {
      const n = trainSampler.dataset?.length;
      const sharded =
        R > 1 && n
          ? ` (sharding its ${n} items over ${R} ranks left this rank none; see distributedSamplers)`
          : '';
      issues.push(
        `\`trainSampler\` is empty (length 0)${sharded}: training would never reach a limit; use \`evaluation: true\` to only run the callbacks`,
      );
    }
    const names = callbacks.map((c, k) => c.name ?? `callback${k}`);
    const dup = names.find((n, k) => names.indexOf(n) !== k);
    if (dup !== undefined) issues.push(`callback names must be unique, got ${JSON.stringify(dup)} twice`);
    const replayNames = init.replay ?? [];
    const replay = replayNames.map((name) => names.indexOf(name));
    const unknown = replayNames.find((_, i) => (replay[i] as number) < 0);
    if (unknown !== undefined) {
      issues.push(
        `\`replay\` names an unknown callback, got ${JSON.stringify(unknown)}; callbacks are ${JSON.stringify(names)}`,
      );
    }
    if (issues.length > 0) fail('InterleavedSampler', issues);

    let schedule: Schedule;
    try {
      const lengths = callbacks.map((c, k) => ({
        name: names[k] as string,
        length: c.sampler.length,
        // A sharded callback sampler evaluates its whole dataset over the ranks; any other, its own items on each.
        samplesPerPass:
          c.sampler.numReplicas === undefined ? undefined : (datasets[k + 1] as Dataset<unknown>).length,
        batchSize: c.batchSize,
        everyNEpochs: c.everyNEpochs,
        everyNUpdates: c.everyNUpdates,
        everyNSamples: c.everyNSamples,
      }));
      schedule = new Schedule(config, L, lengths, replay, R);
    } catch (e) {
      if (e instanceof ConfigError) fail('InterleavedSampler', e.issues);
      throw e;
    }

    this.#init = init;
    this.#schedule = schedule;
    this.#names = names;
    this.config = config;
    this.mainSampler = trainSampler;
    this.extraSamplers = Object.freeze(callbacks);
    this.datasets = Object.freeze(datasets);
    this.collates = Object.freeze([trainCollate, ...callbacks.map((c) => c.collate as Collate | undefined)]);
    this.indexOffsets = Object.freeze(offsets.slice(1, -1));
    this.replay = Object.freeze([...replayNames]);
    this.batchSampler = Object.freeze({
      batchSize: config.batchSize,
      [Symbol.iterator]: () => this.batches(),
    });
    Object.freeze(this);
  }

  /** The effective training batch size: `batchSize`, or the sampler's length when `dropLast` and shorter. */
  get batchSize(): number {
    return this.#schedule.batchSize;
  }

  /** The position the stream starts from (all zeros unless a `start*` field is set). */
  get start(): Position {
    return this.#schedule.start;
  }

  /** Number of ranks the training sampler is a shard of (its `numReplicas`); 1 outside a data-parallel run. */
  get worldSize(): number {
    return this.#schedule.worldSize;
  }

  /**
   * What a saved state records about a data-parallel run (`undefined` unless the training sampler has
   * `numReplicas`): a resume on another number of ranks checks it to continue exactly.
   */
  get distributedState(): DistributedState | undefined {
    if (this.mainSampler.numReplicas === undefined) return undefined;
    const s = this.#schedule;
    return {
      worldSize: s.worldSize,
      globalBatchSize: s.globalBatchSize,
      datasetLength: (this.datasets[0] as Dataset<unknown>).length,
      epochSamples: s.samplesPerEpoch,
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
    return Schedule.startOf(config, samplerLength, worldSize);
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
    const issues = resumeStateIssues(state, 'state.');
    if (issues.length > 0) fail('resume state', issues);
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
    const mainLength = (this.datasets[0] as Dataset<unknown>).length;
    let order: Uint32Array = new Uint32Array(0);
    let orderEpoch = -1;
    for (const step of this.#schedule.steps()) {
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
   * The whole schedule in closed form, without touching any sampler or data and in time independent of the
   * run's length: totals, and for each callback its passes and the updates after which they run.
   *
   * @example
   * ```ts
   * const p = sampler.plan();
   * console.log(p.updates, p.callbacks.map((c) => c.passes), p.evaluationShare);
   * ```
   */
  plan(): Plan {
    return this.#schedule.plan();
  }

  *#pass(
    k: number,
    pass: number,
    afterUpdate: number | undefined,
  ): Generator<CallbackIndexBatch, void, undefined> {
    const c = this.extraSamplers[k] as SamplerIntervalConfig;
    const offset = this.indexOffsets[k] as number;
    const order = epochIndices(
      c.sampler,
      (this.datasets[k + 1] as Dataset<unknown>).length,
      `\`callbackSamplers[${k}].sampler\``,
    );
    const size = c.batchSize ?? this.#schedule.batchSize;
    const n = order.length;
    const name = this.#names[k] as string;
    const realLength = (c.sampler.realLength ?? n) as number;
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

/**
 * Problems of the training sampler: not a sampler, no dataset, a length weft cannot index, or a world size
 * (`numReplicas`) that is not a positive integer.
 */
function trainSamplerIssues(sampler: unknown): string[] {
  const issues = datasetIssues(sampler, 'trainSampler');
  if (issues.length === 0 && !isLength((sampler as Sampler).length)) {
    issues.push(`\`trainSampler.length\` ${LENGTH_EXPECTED}, got ${describe((sampler as Sampler).length)}`);
  }
  if (issues.length === 0) issues.push(...shardIssues(sampler as Sampler, 'trainSampler'));
  return issues;
}

/**
 * Problems of what a data-parallel shard declares: `numReplicas` (the world size) must be a positive integer,
 * and `realLength` (the real, unpadded indices at the start of a padded evaluation shard) in [0, length].
 */
function shardIssues(sampler: Sampler, what: string): string[] {
  const issues: string[] = [];
  const { numReplicas: R, realLength: real, length } = sampler;
  if (R !== undefined && !(Number.isSafeInteger(R) && R >= 1)) {
    issues.push(`\`${what}.numReplicas\` must be a positive integer, got ${describe(R)}`);
  }
  if (
    real !== undefined &&
    isLength(length) &&
    !(Number.isSafeInteger(real) && real >= 0 && real <= length)
  ) {
    issues.push(`\`${what}.realLength\` must be an integer in [0, ${length}], got ${describe(real)}`);
  }
  return issues;
}

/** Problems of the dataset a sampler indexes, which the index space is built from. */
function datasetIssues(sampler: unknown, what: string): string[] {
  if (
    typeof sampler !== 'object' ||
    sampler === null ||
    typeof (sampler as Sampler)[Symbol.iterator] !== 'function'
  ) {
    // A callback's `sampler` field is reported by its own config's checks.
    return what === 'trainSampler'
      ? [`\`${what}\` must be a sampler (an iterable of indices with a \`length\`), got ${describe(sampler)}`]
      : [];
  }
  const dataset = (sampler as Sampler).dataset as Dataset<unknown> | undefined;
  if (typeof dataset !== 'object' || dataset === null || typeof dataset.get !== 'function') {
    return [
      `\`${what}.dataset\` must be the dataset the sampler indexes (with \`length\` and \`get\`), got ${describe(dataset)}; construct the sampler over its dataset`,
    ];
  }
  if (!isLength(dataset.length))
    return [`\`${what}.dataset.length\` ${LENGTH_EXPECTED}, got ${describe(dataset.length)}`];
  return [];
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
