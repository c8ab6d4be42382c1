// The options of an InterleavedSampler, checked and resolved into the parts the sampler is built from: every
// problem at once (the fields, then what needs them valid: the index space, the names, the schedule).
import { z } from 'zod';
import type { Collate } from '../collate/collate.ts';
import type { BatchOf, SamplerDataset } from '../collate/collated.ts';
import { describe } from '../core/checks.ts';
import type { Dataset, ItemOf } from '../core/dataset.ts';
import { ConfigError } from '../core/errors.ts';
import type { Sampler } from '../core/sampler.ts';
import { fail, fn, isLength, issuesOf, LENGTH_EXPECTED, MAX_LENGTH } from '../core/validate.ts';
import { MixtureSampler } from '../samplers/mixture-sampler.ts';
import {
  configIssues,
  InterleavedSamplerConfig,
  type InterleavedSamplerOptions,
  intervalIssues,
  SamplerIntervalConfig,
  type SamplerIntervalOptions,
} from './config.ts';
import { callbackNames, type ResumeState } from './resume.ts';
import { Schedule } from './schedule.ts';

/** One callback of {@link InterleavedSamplerInit.callbackSamplers}: a config object or its options. */
export type CallbackInput = SamplerIntervalConfig | SamplerIntervalOptions;

/**
 * Options of {@link InterleavedSampler}.
 *
 * @typeParam S - the training sampler's type (its `dataset` types the training batches)
 * @typeParam TB - the training batches: what `trainCollate` returns, else the default collate's batch of
 *   the training dataset
 * @typeParam CB - the callbacks' types (each one's sampler and collate type its batches)
 */
export interface InterleavedSamplerInit<
  S extends Sampler = Sampler,
  TB = BatchOf<SamplerDataset<S>>,
  CB extends readonly CallbackInput[] = readonly CallbackInput[],
> {
  /** Sampler over the training dataset; it must expose its `dataset`. */
  trainSampler: S;
  /** Batch size, limits, resume position. */
  config: InterleavedSamplerConfig | InterleavedSamplerOptions;
  /** Collate for training batches. @default defaultCollate, with the training dataset's layout dtypes */
  trainCollate?: Collate<ItemOf<SamplerDataset<S>>, TB>;
  /** The callback datasets and when to pass over them. @default [] */
  callbackSamplers?: CB;
  /** Names of callbacks whose passes run first, before training resumes; see {@link ResumeState}. @default [] */
  replay?: readonly string[];
}

/** Options of an `InterleavedSampler` of any types: what the checks take. */
export type AnyInit = InterleavedSamplerInit<Sampler, unknown>;

/** An {@link InterleavedSamplerInit}, checked and resolved: what an `InterleavedSampler` is built from. */
export interface SamplerParts {
  /** The training config, as a config object. */
  readonly config: InterleavedSamplerConfig;
  /** The training sampler, as given. */
  readonly trainSampler: Sampler;
  /** The training collate, as given (`undefined`: the default collate). */
  readonly trainCollate: Collate | undefined;
  /** The callbacks, as config objects. */
  readonly callbacks: readonly SamplerIntervalConfig[];
  /** Each callback's name: its own, or `callback<k>`. */
  readonly names: readonly string[];
  /** The training dataset followed by every callback dataset, in index-space order. */
  readonly datasets: readonly Dataset<unknown>[];
  /** Start of each callback dataset in the global index space. */
  readonly offsets: readonly number[];
  /** Names of the callbacks whose passes run first. */
  readonly replay: readonly string[];
  /** When every step falls, from the config and the samplers' lengths. */
  readonly schedule: Schedule;
}

// The keys; the samplers and config are checked by the relations below, for messages that say what they need.
const initSchema = z
  .object({
    trainSampler: z.unknown(),
    config: z.unknown(),
    trainCollate: fn.optional(),
    callbackSamplers: z.array(z.unknown(), { error: 'must be an array' }).optional(),
    replay: callbackNames.optional(),
  })
  .strict();

const fieldRelations = [
  (raw: Record<string, unknown>) => trainSamplerIssues(raw.trainSampler),
  (raw: Record<string, unknown>) => configInputIssues(raw.config),
  (raw: Record<string, unknown>) =>
    Array.isArray(raw.callbackSamplers) ? callbackIssues(raw.callbackSamplers) : [],
];

/**
 * Checks the options of an `InterleavedSampler` and resolves them into its parts, or throws one
 * {@link ConfigError} (`invalid InterleavedSampler: …`) naming every problem.
 *
 * @param init - the options as given
 * @example
 * ```ts
 * const parts = samplerParts({ trainSampler, config: { batchSize: 32, maxEpochs: 3 } });
 * ```
 */
export function samplerParts(init: AnyInit): SamplerParts {
  if (typeof init !== 'object' || init === null) {
    throw new ConfigError(`\`InterleavedSampler\` options must be an object, got ${describe(init)}`);
  }
  const fieldIssues = issuesOf(initSchema, init, fieldRelations);
  if (fieldIssues.length > 0) fail('InterleavedSampler', fieldIssues);

  const { trainSampler, trainCollate } = init;
  const config =
    init.config instanceof InterleavedSamplerConfig ? init.config : new InterleavedSamplerConfig(init.config);
  const callbacks = (init.callbackSamplers ?? []).map((c) =>
    c instanceof SamplerIntervalConfig ? c : new SamplerIntervalConfig(c),
  );
  const datasets = [trainSampler, ...callbacks.map((c) => c.sampler)].map(
    (s) => s.dataset as Dataset<unknown>,
  );
  const offsets = [0];
  for (const d of datasets) offsets.push((offsets.at(-1) as number) + d.length);
  const issues: string[] = [];
  const total = offsets.at(-1) as number;
  if (total > MAX_LENGTH + 1) {
    issues.push(
      `the datasets together must hold at most ${MAX_LENGTH + 1} items (global indices are 32-bit), got ${total}`,
    );
  }
  const R = trainSampler.numReplicas ?? 1;
  if (trainSampler.length === 0 && !config.isEvaluation) {
    const n = trainSampler.dataset?.length;
    const sharded =
      R > 1 && n
        ? ` (sharding its ${n} items over ${R} ranks left this rank none; see distributedSamplers)`
        : '';
    issues.push(
      `\`trainSampler\` is empty (length 0)${sharded}: training would never reach a limit; use \`evaluation: true\` to only run the callbacks`,
    );
  }
  issues.push(...perSourceIssues(trainSampler, config.batchSize));
  const names = callbacks.map((c, k) => c.name ?? `callback${k}`);
  const dup = names.find((n, k) => names.indexOf(n) !== k);
  if (dup !== undefined) issues.push(`callback names must be unique, got ${JSON.stringify(dup)} twice`);
  const base = {
    trainSampler,
    trainCollate: trainCollate as Collate | undefined,
    callbacks,
    names,
    datasets,
    offsets: offsets.slice(1, -1),
  };
  return scheduled(base, config, init.replay ?? [], issues);
}

/**
 * The parts of the same sampler resumed from `state` (already checked): only what the state changes, the
 * start and the passes to replay, is checked again.
 *
 * @param parts - the parts of the sampler to resume
 * @param state - where to resume (see {@link ResumeState})
 * @example
 * ```ts
 * const resumed = resumedParts(parts, { epoch: 1, update: 6, sample: 96, replay: ['test'] });
 * ```
 */
export function resumedParts(parts: SamplerParts, state: ResumeState): SamplerParts {
  const { startEpoch: _e, startUpdate: _u, startSample: _s, ...rest } = { ...parts.config };
  const config = new InterleavedSamplerConfig({ ...rest, startUpdate: state.update });
  return scheduled(parts, config, state.replay ?? [], []);
}

/** Adds the config, the replay and the schedule to the parts; throws with `issues` and any of theirs. */
function scheduled(
  base: Omit<SamplerParts, 'config' | 'replay' | 'schedule'>,
  config: InterleavedSamplerConfig,
  replayNames: readonly string[],
  issues: string[],
): SamplerParts {
  const { names, callbacks, datasets, trainSampler } = base;
  const replay = replayNames.map((name) => names.indexOf(name));
  const unknown = replayNames.find((_, i) => (replay[i] as number) < 0);
  if (unknown !== undefined) {
    issues.push(
      `\`replay\` names an unknown callback, got ${JSON.stringify(unknown)}; callbacks are ${JSON.stringify(names)}`,
    );
  }
  if (issues.length > 0) fail('InterleavedSampler', issues);
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
  try {
    const schedule = new Schedule(
      config,
      trainSampler.length,
      lengths,
      replay,
      trainSampler.numReplicas ?? 1,
    );
    return { ...base, config, replay: Object.freeze([...replayNames]), schedule };
  } catch (e) {
    if (e instanceof ConfigError) fail('InterleavedSampler', e.issues);
    throw e;
  }
}

/**
 * A mixture drawn one source per batch lines its runs up with the run's updates, or an update's batch would
 * straddle two sources: its `batchSize` must be a whole number of global batches.
 */
function perSourceIssues(sampler: Sampler, batchSize: number): string[] {
  if (!(sampler instanceof MixtureSampler) || sampler.batchSize === undefined) return [];
  const R = sampler.numReplicas ?? 1;
  if (sampler.batchSize % (batchSize * R) === 0) return [];
  const ranks = R === 1 ? '' : ` × ${R} ranks`;
  return [
    `\`trainSampler.batchSize\` (${sampler.batchSize}, the samples drawn from one source in a row) must be a multiple of the global batch size ${batchSize * R} (\`config.batchSize\` ${batchSize}${ranks}), or an update's batch would mix two sources`,
  ];
}

/** Problems of the training config: a config object, or options with `batchSize` and a limit. */
function configInputIssues(config: unknown): string[] {
  if (config instanceof InterleavedSamplerConfig) return [];
  if (typeof config === 'object' && config !== null) return configIssues(config, 'config.');
  return [`\`config\` must be an object with \`batchSize\` and a limit, got ${describe(config)}`];
}

/** Problems of each callback: its options, and the dataset and shard of its sampler. */
function callbackIssues(callbacks: readonly unknown[]): string[] {
  return callbacks.flatMap((c, k) => {
    const prefix = `callbackSamplers[${k}].`;
    if (typeof c !== 'object' || c === null) {
      return [`\`callbackSamplers[${k}]\` must be an object with a \`sampler\`, got ${describe(c)}`];
    }
    const issues = c instanceof SamplerIntervalConfig ? [] : intervalIssues(c, prefix);
    const sampler = (c as { sampler?: unknown }).sampler;
    const samplerIssues = datasetIssues(sampler, `${prefix}sampler`);
    if (samplerIssues.length === 0 && typeof sampler === 'object' && sampler !== null)
      samplerIssues.push(...shardIssues(sampler as Sampler, `${prefix}sampler`));
    return [...issues, ...samplerIssues];
  });
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
