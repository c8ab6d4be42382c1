// Each rank's samplers for a data-parallel run: its shard of the training data and of every evaluation set.
import { z } from 'zod';
import { describe } from '../core/checks.ts';
import type { Sized } from '../core/dataset.ts';
import { ConfigError } from '../core/errors.ts';
import { bool, fail, fn, issuesOf, nonNegativeInt, positiveInt, sized } from '../core/validate.ts';
import {
  intervalRelations,
  type SamplerIntervalOptions,
  samplerIntervalConfigSchema,
} from '../interleaved/config.ts';
import { DistributedSampler } from '../samplers/distributed-sampler.ts';
import { ShardedEvalSampler } from '../samplers/sharded-eval-sampler.ts';
import { type DistributedEnv, distributedEnv, MAX_WORLD_SIZE } from './distributed-env.ts';

const distributedSamplersSchema = z
  .object({
    train: sized,
    callbacks: z
      .array(
        samplerIntervalConfigSchema
          .extend({ dataset: sized, collate: fn.optional(), pipeline: fn.optional() })
          .strict(),
        { error: 'must be an array of callbacks' },
      )
      .optional(),
    env: z
      .object(
        {
          rank: nonNegativeInt,
          worldSize: positiveInt.max(MAX_WORLD_SIZE, `must be at most ${MAX_WORLD_SIZE}`),
        },
        { error: 'must be { rank, worldSize } (see distributedEnv)' },
      )
      .loose()
      .optional(),
    shuffle: bool.optional(),
    seed: nonNegativeInt.optional(),
    dropLast: bool.optional(),
    padEval: bool.optional(),
  })
  .strict();

/** Each callback's `everyN*` and batch fields, checked as {@link InterleavedSampler} checks them. */
function callbackRelations({ callbacks }: Record<string, unknown>): string[] {
  if (!Array.isArray(callbacks)) return [];
  return callbacks.flatMap((c: unknown, k) =>
    typeof c === 'object' && c !== null
      ? intervalRelations(c as Record<string, unknown>, `callbacks[${k}].`)
      : [],
  );
}

/** `env.rank` below `env.worldSize`, once both are valid on their own. */
function rankBelowWorldSize({ env }: Record<string, unknown>): string[] {
  const parsed = distributedSamplersSchema.shape.env.safeParse(env);
  if (!parsed.success || parsed.data === undefined || parsed.data.rank < parsed.data.worldSize) return [];
  const { rank, worldSize } = parsed.data;
  return [`\`env.rank\` must be in [0, env.worldSize - 1] = [0, ${worldSize - 1}], got ${rank}`];
}

/** Options of {@link distributedSamplers}. */
export interface DistributedSamplersOptions<
  D extends Sized = Sized,
  C extends readonly DistributedCallback[] = readonly DistributedCallback[],
> {
  /** The full training dataset (every rank passes the same one). */
  train: D;
  /**
   * Evaluation callbacks: the full dataset and the fields of a {@link SamplerIntervalOptions} except
   * `sampler` (`name`, one `everyN*`, `batchSize`, `collate`). @default []
   */
  callbacks?: C;
  /** This process's `rank` and `worldSize`. @default distributedEnv() */
  env?: Pick<DistributedEnv, 'rank' | 'worldSize'>;
  /** Shuffle the training data each epoch. @default true */
  shuffle?: boolean;
  /** Seed of the training shuffle; it must be the same on every rank. @default 0 */
  seed?: number;
  /**
   * Training: drop the tail of the shuffled order that does not divide over the ranks (torch's
   * `drop_last=True`); `false` pads it by repeating the order's first items, as torch does. @default true
   */
  dropLast?: boolean;
  /**
   * Evaluation: pad every rank's shard to the same length, so every rank runs every pass with the same
   * number of batches; each batch's `real` says how many of its items count. @default true
   */
  padEval?: boolean;
}

/**
 * One callback of {@link DistributedSamplersOptions.callbacks}: its full dataset and the fields of a
 * {@link SamplerIntervalOptions} except `sampler`.
 *
 * @example
 * ```ts
 * const test: DistributedCallback = { dataset: testSet, everyNEpochs: 1, name: 'test' };
 * ```
 */
export type DistributedCallback = Omit<SamplerIntervalOptions, 'sampler'> & {
  /** The full evaluation dataset (every rank passes the same one); each rank gets its shard of it. */
  readonly dataset: Sized;
};

/**
 * What {@link distributedSamplers} makes of a callback given as `C`: its fields, its dataset replaced by
 * this rank's {@link ShardedEvalSampler} of it.
 *
 * @example
 * ```ts
 * type S = ShardedCallback<{ dataset: ImageFolder; everyNEpochs: 1 }>; // { everyNEpochs: 1; sampler: ShardedEvalSampler<ImageFolder> }
 * ```
 */
export type ShardedCallback<C extends DistributedCallback> = Omit<C, 'dataset'> & {
  /** This rank's shard of the callback's dataset. */
  sampler: ShardedEvalSampler<C['dataset']>;
};

/**
 * Builds the samplers of one process of a data-parallel run, ready for {@link InterleavedSampler}.
 *
 * Training is a {@link DistributedSampler} (torch's strided sharding; `dropLast` as torch's `drop_last`):
 * every rank gets the same number of indices per epoch, hence the same updates and the same schedule, and
 * the run counts samples globally (all ranks together). Each callback dataset is a
 * {@link ShardedEvalSampler}: every item on exactly one rank, padded (`padEval`) so that every rank runs
 * every pass with the same number of batches, the padding marked by each batch's `real` count.
 *
 * Unknown options are rejected; so is a split that leaves a rank without training items (or, with
 * `padEval: false`, without a batch of some pass), naming the dataset, the ranks and the way out.
 *
 * @typeParam D - the training dataset's type, kept by the training sampler
 * @typeParam C - the callbacks' types, kept (with their datasets' types) by the callback samplers
 * @param options - `train`, `callbacks`, `env` (@default distributedEnv()), `shuffle` (@default true),
 *   `seed` (@default 0), `dropLast` (@default true), `padEval` (@default true)
 * @returns `{ trainSampler, callbackSamplers }`, to spread into `new InterleavedSampler({ …, config })`
 * @example
 * ```ts
 * const { trainSampler, callbackSamplers } = distributedSamplers({
 *   train: trainSet, seed: 1, callbacks: [{ dataset: testSet, everyNEpochs: 1, name: 'test' }],
 * });
 * const sampler = new InterleavedSampler({ trainSampler, callbackSamplers, config: { batchSize: 32, maxEpochs: 5 } });
 * ```
 */
export function distributedSamplers<
  D extends Sized,
  const C extends readonly DistributedCallback[] = readonly DistributedCallback[],
>(
  options: DistributedSamplersOptions<D, C>,
): {
  /** This rank's shard of the training dataset, for {@link InterleavedSamplerInit.trainSampler}. */
  trainSampler: DistributedSampler<D>;
  /**
   * One callback per entry of `options.callbacks`, in order, its dataset replaced by this rank's
   * {@link ShardedEvalSampler}: for {@link InterleavedSamplerInit.callbackSamplers}.
   */
  callbackSamplers: { -readonly [K in keyof C]: ShardedCallback<C[K]> };
} {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError(`\`distributedSamplers\` options must be an object, got ${describe(options)}`);
  }
  const issues = issuesOf(distributedSamplersSchema, options, [callbackRelations, rankBelowWorldSize]);
  if (issues.length > 0) fail('distributedSamplers options', issues);
  const {
    train,
    callbacks = [] as readonly DistributedCallback[],
    env = distributedEnv(),
    shuffle = true,
    seed = 0,
    dropLast = true,
    padEval = true,
  } = options;
  const { rank, worldSize } = env;
  const shard = { numReplicas: worldSize, rank };
  const trainSampler = new DistributedSampler(train, { ...shard, shuffle, seed, dropLast });
  // What the split leaves a rank: checked once the shards exist, each problem a message of its own.
  const emptied: string[] = [];
  if (trainSampler.length === 0) {
    const why =
      train.length === 0
        ? '`train` is empty'
        : `sharding \`train\` (${train.length} items) over ${worldSize} ranks with \`dropLast: true\` leaves every rank without a training item (${train.length} < ${worldSize}); use \`dropLast: false\` (each rank repeats items) or fewer ranks`;
    emptied.push(`rank ${rank} has no training items: ${why}`);
  }
  const callbackSamplers = callbacks.map(({ dataset, ...interval }, k) => {
    if (!padEval && dataset.length > 0 && dataset.length < worldSize) {
      emptied.push(
        `sharding \`callbacks[${k}].dataset\` (${dataset.length} items) over ${worldSize} ranks without padding leaves ranks ${dataset.length}..${worldSize - 1} with no batch of its passes, so they would not see a pass the others run; keep \`padEval: true\``,
      );
    }
    return { ...interval, sampler: new ShardedEvalSampler(dataset, { ...shard, pad: padEval }) };
  });
  if (emptied.length > 0) fail(undefined, emptied);
  return {
    trainSampler,
    callbackSamplers: callbackSamplers as { -readonly [K in keyof C]: ShardedCallback<C[K]> },
  };
}

/**
 * The per-rank `batchSize` for a global batch size: `globalBatchSize / worldSize`, which must divide.
 * Keep the global batch size fixed and derive the per-rank one from it, and a run saved on one number of
 * ranks resumes exactly on another (see the README, "Elastic resume").
 *
 * @param globalBatchSize - samples per update over all ranks
 * @param worldSize - number of ranks (`distributedEnv().worldSize`)
 * @returns the batch size each rank uses
 * @example
 * ```ts
 * const config = { batchSize: rankBatchSize(48, env.worldSize), maxEpochs: 10 }; // 12 on 4 ranks
 * ```
 */
export function rankBatchSize(globalBatchSize: number, worldSize: number): number {
  const args = { globalBatchSize, worldSize };
  const issues = issuesOf(rankBatchSizeSchema, args, [divides]);
  if (issues.length > 0) fail(undefined, issues);
  return globalBatchSize / worldSize;
}

const rankBatchSizeSchema = z.object({ globalBatchSize: positiveInt, worldSize: positiveInt });

/** The global batch size a multiple of the world size, once both are valid. */
function divides(args: Record<string, unknown>): string[] {
  const { globalBatchSize: G, worldSize: R } = args;
  if (!rankBatchSizeSchema.safeParse(args).success || (G as number) % (R as number) === 0) return [];
  return [
    `the global batch size ${G} does not divide over ${R} ranks; choose a global batch size that is a multiple of every world size you run on`,
  ];
}
