// A saved point of an interleaved run, its schema, and the checks that a data-parallel run continues exactly.
import { z } from 'zod';
import { describe } from '../core/checks.ts';
import { ConfigError } from '../core/errors.ts';
import { fail, nonNegativeInt, positiveInt, zodIssues } from '../core/validate.ts';
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
  const { replay, ...rest } = result.data;
  const valid: ResumeState = Object.freeze(
    replay === undefined ? rest : { ...rest, replay: Object.freeze(replay) },
  );
  parsed.add(valid);
  return valid;
}

/**
 * Checks that a state saved by a data-parallel run continues exactly here. With torch's strided sharding,
 * update k of an epoch covers positions [kG, (k+1)G) of the epoch's order whatever the number of ranks,
 * for a global batch G; so the run continues exactly when the dataset, the global batch size and the
 * samples per epoch are unchanged. Anything else is a ConfigError naming what changed.
 *
 * @param state - the state, already checked by {@link parseResumeState}
 * @param here - what the resuming sampler records (`undefined` when it is not a shard)
 * @param batchSize - the resuming sampler's configured batch size, for the suggested fix
 * @example
 * ```ts
 * checkElastic(state, sampler.distributedState, sampler.config.batchSize);
 * ```
 */
export function checkElastic(
  state: ResumeState,
  here: DistributedState | undefined,
  batchSize: number,
): void {
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
      G % R === 0
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
