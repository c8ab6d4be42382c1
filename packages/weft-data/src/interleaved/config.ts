import { z } from 'zod';
import type { Collate } from '../collate/collate.ts';
import { describe } from '../core/checks.ts';
import { ConfigError } from '../core/errors.ts';
import type { Sampler } from '../core/sampler.ts';
import {
  bool,
  fail,
  fn,
  isLength,
  issuesOf,
  LENGTH_EXPECTED,
  nonNegativeInt,
  positiveInt,
  zodIssues,
} from '../core/validate.ts';

const isSampler = (v: unknown): v is Sampler =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as Sampler).length === 'number' &&
  typeof (v as Sampler)[Symbol.iterator] === 'function';

/**
 * Zod schema of the JSON part of {@link InterleavedSamplerConfig}: every field is plain data, so a config
 * file can be validated with it (`z.toJSONSchema(interleavedSamplerConfigSchema)` gives its JSON Schema).
 *
 * @example
 * ```ts
 * interleavedSamplerConfigSchema.parse({ batchSize: 32, maxEpochs: 10 });
 * ```
 */
export const interleavedSamplerConfigSchema = z
  .object({
    /** Main (training) batch size on each rank: indices per training batch. A positive integer. */
    batchSize: positiveInt.describe('Main (training) batch size.'),
    /**
     * Drop the last incomplete batch of every epoch, so every update has `batchSize` samples.
     * @default true
     */
    dropLast: bool.optional().describe('Drop the last incomplete batch of every epoch. Default true.'),
    /**
     * Stop after this many epochs, counted from the run's very beginning (not from the resume point).
     * At least one `max*` limit is required; with several, the earliest ends the run; a limit of 0 means an
     * evaluation-only run.
     */
    maxEpochs: nonNegativeInt.optional().describe('Stop after this many epochs.'),
    /** Stop after this many updates (training batches), counted from the run's very beginning. */
    maxUpdates: nonNegativeInt.optional().describe('Stop after this many updates.'),
    /**
     * Stop after the first update that reaches or passes this many samples, counted from the run's very
     * beginning and over all ranks in a data-parallel run.
     */
    maxSamples: nonNegativeInt.optional().describe('Stop after the update that reaches this many samples.'),
    /**
     * Resume after this many whole epochs: the run starts at epoch `startEpoch`, update and sample counts
     * included. At most one `start*` may be set; with none, the run starts at the beginning.
     */
    startEpoch: nonNegativeInt.optional().describe('Resume after this many whole epochs.'),
    /** Resume after this many updates: the run starts mid-epoch where that update left off. */
    startUpdate: nonNegativeInt.optional().describe('Resume after this many updates.'),
    /**
     * Resume after this many samples (over all ranks); it must fall on an update boundary, a multiple of
     * the (global) batch size within its epoch.
     */
    startSample: nonNegativeInt.optional().describe('Resume after this many samples (an update boundary).'),
    /**
     * Run each callback pass once and no training (what a limit of 0 also does): an evaluation-only run.
     * @default false
     */
    evaluation: bool.optional().describe('Run each callback pass once and no training. Default false.'),
  })
  .strict();

/**
 * Zod schema of the JSON part of {@link SamplerIntervalConfig} (everything but `sampler` and `collate`).
 *
 * @example
 * ```ts
 * samplerIntervalConfigSchema.parse({ everyNEpochs: 1, name: 'test' });
 * ```
 */
export const samplerIntervalConfigSchema = z
  .object({
    /**
     * Name carried by this callback's batches (and used by a resume state's `replay`); unique per sampler.
     * @default `callback<k>`, k being the callback's position
     */
    name: z
      .string({ error: 'must be a non-empty string' })
      .min(1, { error: 'must be a non-empty string' })
      .optional()
      .describe('Name the batches of this callback carry.'),
    /** Run a pass after every n epochs (at the end of epochs n, 2n, …). Exactly one `everyN*` is needed. */
    everyNEpochs: positiveInt.optional().describe('Run a pass every n epochs.'),
    /** Run a pass after every n updates (after updates n, 2n, …). */
    everyNUpdates: positiveInt.optional().describe('Run a pass every n updates.'),
    /** Run a pass after the update in which a multiple of n samples (all ranks) is reached or crossed. */
    everyNSamples: positiveInt.optional().describe('Run a pass whenever a multiple of n samples is reached.'),
    /**
     * Batch size of the pass; required with `everyNSamples`.
     * @default the effective main batch size
     */
    batchSize: positiveInt.optional().describe('Batch size of the pass. Default: the main batch size.'),
  })
  .strict();

const intervalInputSchema = samplerIntervalConfigSchema.extend({
  sampler: z
    .custom<Sampler>(isSampler, {
      error: 'must be a sampler (an iterable of indices with a numeric `length`)',
    })
    .superRefine((sampler, ctx) => {
      // A pass's batches are cut from its length, so a bad one must fail here rather than mid-run.
      if (!isLength(sampler.length))
        ctx.addIssue({ code: 'custom', path: ['length'], message: LENGTH_EXPECTED });
    }),
  collate: fn.optional(),
  pipeline: fn.optional(),
});

/** Options of {@link SamplerIntervalConfig}: one callback dataset and when to pass over it. */
export interface SamplerIntervalOptions<T = unknown> {
  /** Any sampler over the callback's dataset; it must expose that `dataset`. */
  sampler: Sampler;
  /**
   * Name carried by this callback's batches (and used by a resume state's `replay`); unique per sampler.
   * @default `callback<k>`, k being the callback's position
   */
  name?: string;
  /** Run a pass after every n epochs. Exactly one `everyN*` is required. */
  everyNEpochs?: number;
  /** Run a pass after every n updates. */
  everyNUpdates?: number;
  /** Run a pass after the update in which a multiple of n samples was reached or crossed. */
  everyNSamples?: number;
  /** Batch size of the pass; required with `everyNSamples`. @default the effective main batch size */
  batchSize?: number;
  /** Collate function for this dataset's batches. @default defaultCollate */
  collate?: Collate<T>;
  /** Alias of `collate`, the seed's name. */
  pipeline?: Collate<T>;
}

/** Options of {@link InterleavedSamplerConfig}. */
export type InterleavedSamplerOptions = z.input<typeof interleavedSamplerConfigSchema>;

function setFields(obj: Record<string, unknown>, names: readonly string[]): string[] {
  return names.filter((n) => obj[n] !== undefined);
}

function listSet(obj: Record<string, unknown>, names: readonly string[]): string {
  return names.map((n) => `${n}=${describe(obj[n])}`).join(', ');
}

const INTERVALS = ['everyNEpochs', 'everyNUpdates', 'everyNSamples'] as const;
const LIMITS = ['maxEpochs', 'maxUpdates', 'maxSamples'] as const;
const STARTS = ['startEpoch', 'startUpdate', 'startSample'] as const;

/**
 * The rules between fields of a callback's options that no single field's schema can state.
 * `prefix` names where the options sit in a larger document (`callbacks[0].`).
 */
export function intervalRelations(raw: Record<string, unknown>, prefix = ''): string[] {
  const issues: string[] = [];
  const intervals = setFields(raw, INTERVALS);
  if (intervals.length !== 1) {
    issues.push(
      `exactly one of ${INTERVALS.map((n) => `\`${prefix}${n}\``).join(', ')} must be set, got ${
        intervals.length === 0 ? 'none' : listSet(raw, intervals)
      }`,
    );
  }
  if (raw.everyNSamples !== undefined && raw.batchSize === undefined) {
    issues.push(
      `\`${prefix}batchSize\` is required with \`${prefix}everyNSamples\`, got everyNSamples=${describe(raw.everyNSamples)} and no batchSize`,
    );
  }
  return issues;
}

/**
 * The rules between fields of the training config that no single field's schema can state; `fieldsValid`
 * says whether the fields themselves passed (the arithmetic rules need valid numbers).
 */
export function configRelations(raw: Record<string, unknown>, prefix = '', fieldsValid = true): string[] {
  const issues: string[] = [];
  if (setFields(raw, LIMITS).length === 0) {
    issues.push(`at least one of ${LIMITS.map((n) => `\`${prefix}${n}\``).join(', ')} must be set, got none`);
  }
  const starts = setFields(raw, STARTS);
  if (starts.length > 1) {
    issues.push(
      `at most one of ${STARTS.map((n) => `\`${prefix}${n}\``).join(', ')} may be set, got ${listSet(raw, starts)}`,
    );
  }
  const { batchSize, startSample } = raw;
  if (
    fieldsValid &&
    typeof startSample === 'number' &&
    typeof batchSize === 'number' &&
    startSample % batchSize !== 0
  ) {
    issues.push(
      `\`${prefix}startSample\` must be a multiple of \`${prefix}batchSize\` (${batchSize}), got ${startSample}`,
    );
  }
  return issues;
}

/**
 * Every problem of a callback's options (fields and their relations), each naming the field under `prefix`.
 *
 * @param raw - the options as given
 * @param prefix - where they sit in a larger object (`callbackSamplers[0].`) @default ''
 * @example
 * ```ts
 * intervalIssues({ sampler, everyNEpochs: 0 }); // ['`everyNEpochs` must be a positive integer, got 0']
 * ```
 */
export function intervalIssues(raw: object, prefix = ''): string[] {
  return issuesOf(
    intervalInputSchema,
    raw,
    [(r) => intervalRelations(r, prefix), (r) => collateAliasIssues(r, prefix)],
    prefix,
  );
}

/** `collate` and its alias `pipeline` must not name different functions. */
function collateAliasIssues(raw: Record<string, unknown>, prefix: string): string[] {
  return raw.collate !== undefined && raw.pipeline !== undefined && raw.collate !== raw.pipeline
    ? [`\`${prefix}collate\` and its alias \`${prefix}pipeline\` were both given, with different functions`]
    : [];
}

/**
 * Every problem of a training config (fields and their relations), each naming the field under `prefix`.
 *
 * @param raw - the options as given
 * @param prefix - where they sit in a larger object (`config.`) @default ''
 * @example
 * ```ts
 * configIssues({ batchSize: 0, maxEpochs: 1 }); // ['`batchSize` must be a positive integer, got 0']
 * ```
 */
export function configIssues(raw: object, prefix = ''): string[] {
  const parsed = interleavedSamplerConfigSchema.safeParse(raw);
  const issues = parsed.success ? [] : zodIssues(parsed.error, raw, prefix, interleavedSamplerConfigSchema);
  issues.push(...configRelations(raw as Record<string, unknown>, prefix, parsed.success));
  return issues;
}

/**
 * When, and with which sampler, the training stream pauses for a pass over a callback dataset.
 *
 * Validated eagerly: a bad field throws {@link ConfigError} naming it and the value given.
 *
 * @param options - see {@link SamplerIntervalOptions}
 * @example
 * ```ts
 * const test = new SamplerIntervalConfig({ sampler: new SequentialSampler(testSet), everyNEpochs: 1 });
 * ```
 */
export class SamplerIntervalConfig<T = unknown> {
  /** The sampler over the callback's dataset; see {@link SamplerIntervalOptions.sampler}. */
  readonly sampler: Sampler;
  /**
   * The name given, or `undefined` (the sampler then names it `callback<k>`); see
   * {@link SamplerIntervalOptions.name}.
   */
  readonly name: string | undefined;
  /** Pass every n epochs, if that is the interval; see {@link SamplerIntervalOptions.everyNEpochs}. */
  readonly everyNEpochs: number | undefined;
  /** Pass every n updates, if that is the interval; see {@link SamplerIntervalOptions.everyNUpdates}. */
  readonly everyNUpdates: number | undefined;
  /** Pass every n samples, if that is the interval; see {@link SamplerIntervalOptions.everyNSamples}. */
  readonly everyNSamples: number | undefined;
  /**
   * Batch size of the pass as given, or `undefined` for the main one; see
   * {@link SamplerIntervalOptions.batchSize}.
   */
  readonly batchSize: number | undefined;
  /**
   * The collate function given (as `collate` or `pipeline`), or `undefined` for the default; see
   * {@link SamplerIntervalOptions.collate}.
   */
  readonly collate: Collate<T> | undefined;

  constructor(options: SamplerIntervalOptions<T>) {
    if (typeof options !== 'object' || options === null) {
      throw new ConfigError(`\`SamplerIntervalConfig\` options must be an object, got ${describe(options)}`);
    }
    const issues = intervalIssues(options);
    if (issues.length > 0) fail('SamplerIntervalConfig', issues);
    this.sampler = options.sampler;
    this.name = options.name;
    this.everyNEpochs = options.everyNEpochs;
    this.everyNUpdates = options.everyNUpdates;
    this.everyNSamples = options.everyNSamples;
    this.batchSize = options.batchSize;
    this.collate = options.collate ?? options.pipeline;
    Object.freeze(this);
  }

  /** The seed's name for {@link SamplerIntervalConfig.collate}. */
  get pipeline(): Collate<T> | undefined {
    return this.collate;
  }
}

/**
 * How the training stream runs: batch size, when to stop, where to resume, evaluation only or not.
 *
 * Validated eagerly: a bad field throws {@link ConfigError} naming it and the value given.
 *
 * @param options - see {@link interleavedSamplerConfigSchema} for the fields
 * @example
 * ```ts
 * const config = new InterleavedSamplerConfig({ batchSize: 64, maxEpochs: 10, startUpdate: 1200 });
 * ```
 */
export class InterleavedSamplerConfig {
  /**
   * Main (training) batch size on each rank, as given ({@link InterleavedSampler.batchSize} is the effective
   * one).
   */
  readonly batchSize: number;
  /** Whether the last incomplete batch of every epoch is dropped. @default true */
  readonly dropLast: boolean;
  /** Stop after this many epochs from the run's beginning, or `undefined` for no epoch limit. */
  readonly maxEpochs: number | undefined;
  /** Stop after this many updates from the run's beginning, or `undefined` for no update limit. */
  readonly maxUpdates: number | undefined;
  /** Stop after the update reaching this many samples (all ranks), or `undefined` for no sample limit. */
  readonly maxSamples: number | undefined;
  /** Resume after this many whole epochs, or `undefined`. At most one `start*` is set. */
  readonly startEpoch: number | undefined;
  /** Resume after this many updates, or `undefined`. */
  readonly startUpdate: number | undefined;
  /** Resume after this many samples (all ranks, an update boundary), or `undefined`. */
  readonly startSample: number | undefined;
  /**
   * Whether an evaluation-only run was asked for explicitly ({@link InterleavedSamplerConfig.isEvaluation}
   * also counts a limit of 0).
   * @default false
   */
  readonly evaluation: boolean;

  constructor(options: InterleavedSamplerOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new ConfigError(
        `\`InterleavedSamplerConfig\` options must be an object, got ${describe(options)}`,
      );
    }
    const issues = configIssues(options);
    if (issues.length > 0) fail('InterleavedSamplerConfig', issues);
    const c = interleavedSamplerConfigSchema.parse(options);
    this.batchSize = c.batchSize;
    this.dropLast = c.dropLast ?? true;
    this.maxEpochs = c.maxEpochs;
    this.maxUpdates = c.maxUpdates;
    this.maxSamples = c.maxSamples;
    this.startEpoch = c.startEpoch;
    this.startUpdate = c.startUpdate;
    this.startSample = c.startSample;
    this.evaluation = c.evaluation ?? false;
    Object.freeze(this);
  }

  /** True when no training runs: `evaluation` is set or a limit is 0. */
  get isEvaluation(): boolean {
    return this.evaluation || this.maxEpochs === 0 || this.maxUpdates === 0 || this.maxSamples === 0;
  }
}
