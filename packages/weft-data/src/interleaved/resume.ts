// A saved point of an interleaved run, its schema, and the checks that a data-parallel run continues exactly.
import { z } from 'zod';
import { describe } from '../core/checks.ts';
import { ConfigError } from '../core/errors.ts';
import { bool, fail, nonNegativeInt, positiveInt, zodIssues } from '../core/validate.ts';
import type { Position } from './schedule.ts';

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
  /** The training dataset's length (see {@link OrderState}). */
  readonly datasetLength?: number;
  /** The training sampler's class and what fixes its order (see {@link OrderState}). */
  readonly trainSampler?: SamplerRecord;
  /** The loader's `seed`, which fixes every sample's `context.random()` (saved by a loader's `state()`). */
  readonly seed?: number;
  /** Data-parallel runs: the number of ranks the state was saved on. */
  readonly worldSize?: number;
  /** Data-parallel runs: samples per update over all ranks (`batchSize` × `worldSize`). */
  readonly globalBatchSize?: number;
  /** Data-parallel runs: training samples per epoch over all ranks. */
  readonly epochSamples?: number;
}

/**
 * A training sampler as a saved state records it: its class and the options that fix its order, those
 * of weft's samplers that it has (`seed`, `shuffle`, `replacement`, `window`). The rank and the number of
 * ranks are not among them: a data-parallel run may resume on other ranks (see "Elastic resume" in the README).
 *
 * @example
 * ```ts
 * const record: SamplerRecord = { type: 'RandomSampler', seed: 1 };
 * ```
 */
export interface SamplerRecord {
  /** The sampler's class name (`RandomSampler`, `DistributedSampler`, …). */
  readonly type: string;
  /** Its `seed`. */
  readonly seed?: number;
  /** Its `shuffle` (`DistributedSampler`). */
  readonly shuffle?: boolean;
  /** Its `replacement` (`RandomSampler`, `WeightedRandomSampler`). */
  readonly replacement?: boolean;
  /** Its `window` (`BlockShuffleSampler`). */
  readonly window?: number;
  /** Its `numSamples` (`RandomSampler`, `WeightedRandomSampler`, `MixtureSampler`). */
  readonly numSamples?: number;
  /** Its `batchSize` (a `MixtureSampler`'s runs of one source). */
  readonly batchSize?: number;
  /**
   * Its `weights`, when there are at most 64 (a `MixtureSampler`'s, one per
   * source); a `WeightedRandomSampler`'s one weight per item are too many to keep in a state and go unchecked.
   */
  readonly weights?: readonly number[];
}

/** The most weights a {@link SamplerRecord} keeps. */
export const MAX_RECORDED_WEIGHTS = 64;

/**
 * What fixes the order of a run's training samples, which every saved state records and a resume checks:
 * a resumed run that draws another order would train some samples twice and others never in the
 * interrupted epoch. (The loader's `seed` is checked by the loader, which knows it.)
 *
 * @example
 * ```ts
 * const order: OrderState = { datasetLength: 1000, trainSampler: { type: 'RandomSampler', seed: 1 } };
 * ```
 */
export interface OrderState {
  /** The training dataset's length. */
  readonly datasetLength: number;
  /** The training sampler. */
  readonly trainSampler: SamplerRecord;
}

/** What a state records about a data-parallel run, to check that a resume on other ranks is exact. */
export type DistributedState = Required<
  Pick<ResumeState, 'worldSize' | 'globalBatchSize' | 'datasetLength' | 'epochSamples'>
>;

/**
 * How a state records `sampler`: its class name, and those of `seed`, `shuffle`, `replacement`, `window`
 * it has.
 *
 * @param sampler - the training sampler
 * @example
 * ```ts
 * samplerRecord(new RandomSampler(train, { seed: 1 })); // { type: 'RandomSampler', seed: 1, replacement: false }
 * ```
 */
export function samplerRecord(sampler: object): SamplerRecord {
  const s = sampler as Record<string, unknown>;
  const name = (sampler as { constructor?: { name?: unknown } }).constructor?.name;
  const record: Record<string, unknown> = { type: typeof name === 'string' && name !== '' ? name : 'Object' };
  if (typeof s.seed === 'number') record.seed = s.seed;
  if (typeof s.shuffle === 'boolean') record.shuffle = s.shuffle;
  if (typeof s.replacement === 'boolean') record.replacement = s.replacement;
  if (typeof s.window === 'number') record.window = s.window;
  if (typeof s.numSamples === 'number') record.numSamples = s.numSamples;
  if (typeof s.batchSize === 'number') record.batchSize = s.batchSize;
  const weights = s.weights as ArrayLike<unknown> | undefined;
  if (weights !== undefined && weights !== null && typeof weights.length === 'number') {
    if (weights.length <= MAX_RECORDED_WEIGHTS) record.weights = Array.from(weights, Number);
  }
  return record as unknown as SamplerRecord;
}

/**
 * Names of callbacks, as a sampler's `replay` and a state's `replay` give them.
 *
 * @example
 * ```ts
 * callbackNames.parse(['test', 'val']);
 * ```
 */
export const callbackNames = z.array(z.string({ error: 'must be a callback name' }), {
  error: 'must be an array of callback names',
});

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
    replay: callbackNames.optional(),
    // What fixes the order (see OrderState) and the loader's seed; checked against the resuming run.
    /** The training dataset's length. */
    datasetLength: nonNegativeInt.optional(),
    /** The training sampler's class and what fixes its order; see {@link SamplerRecord}. */
    trainSampler: z
      .object({
        /** The sampler's class name; see {@link SamplerRecord.type}. */
        type: z.string({ error: 'must be the class name of the training sampler' }),
        /** Its `seed`. */
        seed: z.number({ error: 'must be a number' }).optional(),
        /** Its `shuffle`. */
        shuffle: bool.optional(),
        /** Its `replacement`. */
        replacement: bool.optional(),
        /** Its `window`. */
        window: z.number({ error: 'must be a number' }).optional(),
        /** Its `numSamples`. */
        numSamples: z.number({ error: 'must be a number' }).optional(),
        /** Its `batchSize`. */
        batchSize: z.number({ error: 'must be a number' }).optional(),
        /** Its `weights`. */
        weights: z.array(z.number(), { error: 'must be an array of numbers' }).optional(),
      })
      .strict()
      .optional(),
    /** The loader's `seed`. */
    seed: nonNegativeInt.optional(),
    // What a data-parallel run records (see DistributedState); checked against the resuming run.
    /** Data-parallel runs: the number of ranks the state was saved on. */
    worldSize: positiveInt.optional(),
    /** Data-parallel runs: samples per update over all ranks (`batchSize` × `worldSize`). */
    globalBatchSize: positiveInt.optional(),
    /** Data-parallel runs: training samples per epoch over all ranks. */
    epochSamples: nonNegativeInt.optional(),
  })
  .strict();

// The states parseResumeState returned (frozen copies, so still valid): a state handed on from a loader's
// options to `resumeFrom` is checked once.
const parsed = new WeakSet<object>();

/**
 * A resume state, checked: a frozen copy, or one `ConfigError` naming every problem, each field under
 * `prefix`, as `invalid <what>: …`. A state this function returned is not checked again.
 *
 * @param state - the state as given
 * @param prefix - where it sits in the caller's options (`resume.`, `state.`)
 * @param what - names the options in the message (`loader options`, `resume state`)
 * @example
 * ```ts
 * parseResumeState({ epoch: 0, update: 0, sample: 0, replay: 'test' }, 'resume.', 'loader options');
 * // ConfigError: invalid loader options: `resume.replay` must be an array of callback names, got "test"
 * ```
 */
export function parseResumeState(state: unknown, prefix: string, what: string): ResumeState {
  if (typeof state === 'object' && state !== null && parsed.has(state)) return state as ResumeState;
  if (typeof state !== 'object' || state === null) {
    fail(what, [
      `\`${prefix.slice(0, -1)}\` must be a position { epoch, update, sample }, got ${describe(state)}`,
    ]);
  }
  const result = resumeStateSchema.safeParse(state);
  if (!result.success) fail(what, zodIssues(result.error, state, prefix, resumeStateSchema));
  const { replay, trainSampler, ...rest } = result.data;
  const valid: ResumeState = Object.freeze({
    ...rest,
    ...(trainSampler === undefined ? {} : { trainSampler: Object.freeze(trainSampler) as SamplerRecord }),
    ...(replay === undefined ? {} : { replay: Object.freeze(replay) }),
  });
  parsed.add(valid);
  return valid;
}

/**
 * The problems of resuming `state` here, so that the run continues exactly: what fixes the order of the
 * training samples (see {@link OrderState}) and the loader's `seed` must be unchanged, and a data-parallel
 * run must keep its shape (see {@link elasticIssues}). A change is a {@link ConfigError} naming each field
 * with its value in the state and here. A state that does not record them (a bare position, or one saved
 * by a weft before they were recorded) is refused, since a change would go unnoticed; the message gives
 * this run's values, to add to it if the state was saved with them.
 *
 * @param state - the state, already checked by {@link parseResumeState}
 * @param here - what fixes the order of the resuming run
 * @param distributed - what the resuming sampler records of a data-parallel run (`undefined`: not a shard)
 * @param batchSize - the resuming sampler's configured batch size, for the suggested fix
 * @param seed - the resuming loader's seed (`undefined`: not resumed by a loader, not checked)
 * @example
 * ```ts
 * checkResume(state, sampler.orderState, sampler.distributedState, sampler.config.batchSize, 11);
 * ```
 */
export function checkResume(
  state: ResumeState,
  here: OrderState,
  distributed: DistributedState | undefined,
  batchSize: number,
  seed: number | undefined,
): void {
  const wanted = { ...here, ...(seed === undefined ? {} : { seed }) };
  const missing = Object.keys(wanted).filter((k) => state[k as keyof ResumeState] === undefined);
  if (missing.length > 0) {
    const add = missing.map((k) => `"${k}": ${JSON.stringify(wanted[k as keyof typeof wanted])}`).join(', ');
    throw new ConfigError(
      `\`state\` does not record ${missing.map((k) => `\`${k}\``).join(', ')}, which ${missing.length === 1 ? 'fixes' : 'fix'} the order of the run: it is a bare position, or was saved by an older weft, so a change would go unnoticed; resume from a loader's \`state()\`, or, if the state was saved with this run's settings, add them to it: ${add}`,
    );
  }
  const issues: string[] = [];
  // Weights are short lists whose values are the point: shown whole.
  const show = (v: unknown) => (Array.isArray(v) ? `[${v.join(', ')}]` : describe(v));
  const changed = (field: string, was: unknown, now: unknown) =>
    issues.push(`\`${field}\` changed from ${show(was)} (in the state) to ${show(now)}`);
  const saved = state.trainSampler as SamplerRecord;
  if (saved.type !== here.trainSampler.type) {
    issues.push(
      `\`trainSampler\` changed from a ${saved.type} (in the state) to a ${here.trainSampler.type}`,
    );
  } else {
    for (const key of [
      'seed',
      'shuffle',
      'replacement',
      'window',
      'numSamples',
      'batchSize',
      'weights',
    ] as const) {
      const [was, now] = [saved[key], here.trainSampler[key]];
      if (JSON.stringify(was) !== JSON.stringify(now)) changed(`trainSampler.${key}`, was, now);
    }
  }
  if (state.datasetLength !== here.datasetLength) {
    issues.push(
      `the training dataset length changed: ${describe(state.datasetLength)} in the state, ${here.datasetLength} now`,
    );
  }
  if (seed !== undefined && state.seed !== seed) {
    issues.push(`the loader's \`seed\` changed from ${describe(state.seed)} (in the state) to ${seed}`);
  }
  issues.push(...elasticIssues(state, distributed, batchSize));
  if (issues.length > 0) {
    throw new ConfigError(`\`state\` cannot be continued exactly here: ${issues.join('; ')}`, issues);
  }
}

/**
 * The problems of continuing a state saved by a data-parallel run here. With torch's strided sharding,
 * update k of an epoch covers positions [kG, (k+1)G) of the epoch's order whatever the number of ranks,
 * for a global batch G; so the run continues exactly when the dataset (checked by {@link checkResume}), the
 * global batch size and the samples per epoch are unchanged. A state of a data-parallel run resumed by a
 * sampler that is not a shard is a {@link ConfigError} at once.
 *
 * @param state - the state, already checked by {@link parseResumeState}
 * @param here - what the resuming sampler records (`undefined` when it is not a shard)
 * @param batchSize - the resuming sampler's configured batch size, for the suggested fix
 * @example
 * ```ts
 * const issues = elasticIssues(state, sampler.distributedState, sampler.config.batchSize);
 * ```
 */
export function elasticIssues(
  state: ResumeState,
  here: DistributedState | undefined,
  batchSize: number,
): string[] {
  const saved = state.worldSize;
  if (saved === undefined) return [];
  if (here === undefined) {
    throw new ConfigError(
      `\`state\` was saved by a data-parallel run (world size ${describe(saved)}) but this training sampler is not a shard (no \`numReplicas\`): build it with distributedSamplers, or give a MixtureSampler \`numReplicas\` and \`rank\``,
    );
  }
  const R = here.worldSize;
  const ranks = (n: unknown) => `${describe(n)} rank${n === 1 ? '' : 's'}`;
  const issues: string[] = [];
  const G = state.globalBatchSize;
  if (G !== undefined && G !== here.globalBatchSize) {
    const fix =
      G % R === 0
        ? `; on ${ranks(R)} use \`batchSize: ${G / R}\` (rankBatchSize(${G}, ${R}))`
        : `; ${describe(G)} does not divide over ${ranks(R)}, so no batch size continues it there`;
    issues.push(
      `the global batch size changed: ${describe(G)} in the state (saved on ${ranks(saved)}), ${here.globalBatchSize} now (batchSize ${batchSize} × ${ranks(R)})${fix}`,
    );
  }
  const sameData = state.datasetLength === undefined || state.datasetLength === here.datasetLength;
  if (
    issues.length === 0 &&
    sameData &&
    state.epochSamples !== undefined &&
    state.epochSamples !== here.epochSamples
  ) {
    issues.push(
      saved === R
        ? `the samples per epoch changed: ${describe(state.epochSamples)} in the state, ${here.epochSamples} now (did \`dropLast\` change?)`
        : `the world size changed from ${describe(saved)} to ${R} and an epoch then covers ${here.epochSamples} samples instead of ${describe(state.epochSamples)}: with \`dropLast: false\` (training shards or config) the padded or partial tail depends on the number of ranks; resume on ${ranks(saved)}, or train with \`dropLast: true\``,
    );
  }
  return issues;
}
