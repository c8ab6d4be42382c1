import type { Sized } from './dataset.ts';
import { ConfigError, WeftError } from './errors.ts';
import type { SamplerIntervalOptions } from './interleaved-config.ts';
import { checkLength, checkPositiveInt, checkShard, checkSized, describe } from './internal/checks.ts';
import { DistributedSampler } from './samplers/distributed-sampler.ts';
import { IndexSampler } from './samplers/sampler.ts';

/** This process's place in a multi-process run, and where it was read from. */
export interface DistributedEnv {
  readonly rank: number;
  readonly worldSize: number;
  readonly localRank: number;
  readonly source: 'torchrun' | 'slurm' | 'openmpi' | 'override' | 'none';
}

// In order of precedence: a torchrun inside a SLURM allocation sets both, and torchrun's ranks are the
// ones of the training processes.
const LAUNCHERS = [
  { source: 'torchrun', rank: 'RANK', size: 'WORLD_SIZE', local: 'LOCAL_RANK' },
  { source: 'slurm', rank: 'SLURM_PROCID', size: 'SLURM_NTASKS', local: 'SLURM_LOCALID' },
  {
    source: 'openmpi',
    rank: 'OMPI_COMM_WORLD_RANK',
    size: 'OMPI_COMM_WORLD_SIZE',
    local: 'OMPI_COMM_WORLD_LOCAL_RANK',
  },
] as const;

function envInt(env: Record<string, string | undefined>, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d+$/.test(raw.trim()))
    throw new ConfigError(`\`${name}\` must be a non-negative integer, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

/**
 * Reads rank and world size from the launcher's environment: torchrun (`RANK`, `WORLD_SIZE`, `LOCAL_RANK`),
 * then SLURM (`SLURM_PROCID`, `SLURM_NTASKS`, `SLURM_LOCALID`), then Open MPI (`OMPI_COMM_WORLD_RANK`,
 * `OMPI_COMM_WORLD_SIZE`, `OMPI_COMM_WORLD_LOCAL_RANK`); none of them means a single process. Values given
 * in `overrides` win over the environment.
 *
 * @param env - the environment @default process.env
 * @param overrides - `rank`, `worldSize`, `localRank` set in code
 * @example
 * ```ts
 * const { rank, worldSize } = distributedEnv(); // under torchrun --nproc-per-node 4: rank 0..3, worldSize 4
 * ```
 */
export function distributedEnv(
  env: Record<string, string | undefined> = process.env,
  overrides: { rank?: number; worldSize?: number; localRank?: number } = {},
): DistributedEnv {
  let found: DistributedEnv = { rank: 0, worldSize: 1, localRank: 0, source: 'none' };
  for (const l of LAUNCHERS) {
    const rank = envInt(env, l.rank);
    const size = envInt(env, l.size);
    if (rank === undefined && size === undefined) continue;
    if (rank === undefined || size === undefined) {
      const [set, unset] = rank === undefined ? [l.size, l.rank] : [l.rank, l.size];
      throw new ConfigError(`\`${set}\` is set but \`${unset}\` is not: ${l.source} sets both`);
    }
    found = { rank, worldSize: size, localRank: envInt(env, l.local) ?? rank, source: l.source };
    break;
  }
  const given = Object.entries(overrides).filter(([, v]) => v !== undefined);
  if (given.length > 0) {
    const o = overrides;
    found = {
      rank: o.rank === undefined ? found.rank : checkLength(o.rank, 'rank'),
      worldSize: o.worldSize === undefined ? found.worldSize : checkPositiveInt(o.worldSize, 'worldSize'),
      localRank: o.localRank === undefined ? found.localRank : checkLength(o.localRank, 'localRank'),
      source: 'override',
    };
  }
  if (found.worldSize < 1)
    throw new ConfigError(`the world size must be at least 1, got ${found.worldSize} (${found.source})`);
  if (found.rank >= found.worldSize) {
    throw new ConfigError(
      `the rank must be below the world size, got rank ${found.rank} of ${found.worldSize} (${found.source})`,
    );
  }
  return found;
}

/**
 * One rank's share of an evaluation dataset, without duplicates: rank r takes indices r, r + R, r + 2R, …
 * Shards differ in size by at most one, and every index is on exactly one rank — unlike torch's
 * `DistributedSampler`, whose padding counts some samples twice (pytorch#25162).
 *
 * @param data - the dataset (only its `length` is read)
 * @param options - `numReplicas` and `rank`
 * @example
 * ```ts
 * const shard = new ShardedEvalSampler(testSet, { numReplicas: 3, rank: 1 }); // 1, 4, 7, …
 * ```
 */
export class ShardedEvalSampler extends IndexSampler {
  readonly dataset: Sized;
  readonly numReplicas: number;
  readonly rank: number;
  readonly #order: Uint32Array;
  constructor(data: Sized, options: { numReplicas: number; rank: number }) {
    super();
    this.dataset = checkSized(data, 'data');
    ({ numReplicas: this.numReplicas, rank: this.rank } = checkShard(options));
    const n = data.length;
    this.#order = new Uint32Array(Math.max(0, Math.ceil((n - this.rank) / this.numReplicas)));
    for (let i = 0; i < this.#order.length; i++) this.#order[i] = this.rank + i * this.numReplicas;
  }
  get length(): number {
    return this.#order.length;
  }
  indices(): Uint32Array {
    return this.#order;
  }
}

/** Options of {@link distributedSamplers}. */
export interface DistributedSamplersOptions {
  /** The training dataset. */
  train: Sized;
  /** Evaluation callbacks: a dataset and the interval fields of a {@link SamplerIntervalOptions}. */
  callbacks?: readonly (Omit<SamplerIntervalOptions, 'sampler'> & { dataset: Sized })[];
  /** This process (from {@link distributedEnv}). */
  env: Pick<DistributedEnv, 'rank' | 'worldSize'>;
  /** Shuffle the training data; the same seed on every rank. @default true */
  shuffle?: boolean;
  /** @default 0 */
  seed?: number;
}

/**
 * The samplers of one process of a data-parallel run, ready for {@link InterleavedSampler}: training sharded
 * like torch's `DistributedSampler` with `dropLast` (so every rank does the same number of updates, hence the
 * same schedule), each evaluation dataset sharded without duplicates ({@link ShardedEvalSampler}).
 *
 * @param options - see {@link DistributedSamplersOptions}
 * @example
 * ```ts
 * const env = distributedEnv();
 * const { trainSampler, callbackSamplers } = distributedSamplers({
 *   train: trainSet, env, seed: 1, callbacks: [{ dataset: testSet, everyNEpochs: 1, name: 'test' }],
 * });
 * const sampler = new InterleavedSampler({ trainSampler, callbackSamplers, config: { batchSize: 32, maxEpochs: 5 } });
 * ```
 */
export function distributedSamplers(options: DistributedSamplersOptions): {
  trainSampler: DistributedSampler;
  callbackSamplers: SamplerIntervalOptions[];
} {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError(`\`distributedSamplers\` options must be an object, got ${describe(options)}`);
  }
  const { train, callbacks = [], env, shuffle = true, seed = 0 } = options;
  if (typeof env !== 'object' || env === null) {
    throw new ConfigError(`\`env\` must be { rank, worldSize } (see distributedEnv), got ${describe(env)}`);
  }
  const shard = { numReplicas: env.worldSize, rank: env.rank };
  const trainSampler = new DistributedSampler(train, { ...shard, shuffle, seed, dropLast: true });
  const callbackSamplers = callbacks.map(({ dataset, ...interval }) => ({
    ...interval,
    sampler: new ShardedEvalSampler(dataset, shard),
  }));
  return { trainSampler, callbackSamplers };
}

/**
 * Puts per-rank evaluation results back in dataset order, checking that every index comes exactly once.
 *
 * weft does not communicate between processes: all-gather each rank's `{ indices, values }` with your
 * framework (or files), then call this on every rank (or one).
 *
 * @param parts - one entry per rank: the dataset indices it evaluated and a value per index, in the same order
 * @param length - the dataset's length: every index in [0, length) must appear exactly once
 * @example
 * ```ts
 * gatherInOrder([{ indices: [0, 2], values: ['a', 'c'] }, { indices: [1], values: ['b'] }], 3); // ['a', 'b', 'c']
 * ```
 */
export function gatherInOrder<T>(
  parts: readonly { indices: ArrayLike<number>; values: readonly T[] }[],
  length: number,
): T[] {
  checkLength(length, 'length');
  if (!Array.isArray(parts)) throw new ConfigError(`\`parts\` must be an array, got ${describe(parts)}`);
  const out = new Array<T>(length);
  const seen = new Uint8Array(length);
  parts.forEach(({ indices, values }, r) => {
    if (indices.length !== values.length) {
      throw new WeftError(`parts[${r}] has ${indices.length} indices but ${values.length} values`);
    }
    for (let i = 0; i < indices.length; i++) {
      const index = indices[i] as number;
      if (!Number.isInteger(index) || index < 0 || index >= length) {
        throw new WeftError(
          `parts[${r}] has index ${describe(index)}, outside the dataset of length ${length}`,
        );
      }
      if (seen[index]) throw new WeftError(`index ${index} was evaluated twice (again in parts[${r}])`);
      seen[index] = 1;
      out[index] = values[i] as T;
    }
  });
  const missing = seen.indexOf(0);
  if (missing >= 0) throw new WeftError(`index ${missing} was not evaluated by any rank`);
  return out;
}
