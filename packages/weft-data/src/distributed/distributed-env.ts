/**
 * Data-parallel runs: one process per GPU or node, started by a launcher weft knows nothing about
 * (torchrun, mpirun, srun, a Kubernetes job). Each process reads its place from the environment
 * ({@link distributedEnv}, here; the launchers in `launchers.ts`), builds its own shard of every dataset
 * ({@link distributedSamplers}, `samplers.ts`) and, after an evaluation pass, puts the gathered per-rank
 * results back in dataset order ({@link gatherInOrder}, `gather.ts`). weft does not communicate between
 * processes.
 */
import { z } from 'zod';
import { describe } from '../core/checks.ts';
import { ConfigError } from '../core/errors.ts';
import { fail, issuesOf, nonNegativeInt, positiveInt } from '../core/validate.ts';
import { allocationOnly, detect, type Env, envInt, type Launcher } from './launchers.ts';

/** This process's place in a multi-process run, and where it was read from. */
export interface DistributedEnv {
  /** This process's rank, in [0, worldSize). */
  readonly rank: number;
  /** Number of processes in the run. */
  readonly worldSize: number;
  /** Rank within this node (which GPU to use); the global rank when the launcher does not say. */
  readonly localRank: number;
  /** Processes on this node; `undefined` when the launcher does not say. */
  readonly localWorldSize: number | undefined;
  /** Index of this node; `undefined` when the launcher does not say (Open MPI, MPICH, PMIx). */
  readonly nodeRank: number | undefined;
  /** `MASTER_ADDR` (torchrun sets it; set it yourself under other launchers), for a process group. */
  readonly masterAddr: string | undefined;
  /** `MASTER_PORT`, likewise. */
  readonly masterPort: number | undefined;
  /** The launcher the values came from, `'override'` when set in code, `'none'` for a single process. */
  readonly source: Launcher | 'override' | 'none';
  /** Launcher variables that were present but not used, each with the reason (for a log line). */
  readonly ignored: readonly string[];
}

/** Values {@link distributedEnv} takes from code instead of the environment. */
export interface DistributedOverrides {
  /** This process's rank. */
  rank?: number;
  /** Number of processes. */
  worldSize?: number;
  /** Rank within the node. */
  localRank?: number;
}

/**
 * The largest world size {@link distributedEnv} accepts: MPI ranks are C `int`s, so no launcher starts more
 * processes than this; a bigger `WORLD_SIZE` is a typo or garbage.
 *
 * @example
 * ```ts
 * distributedEnv({ RANK: '0', WORLD_SIZE: '99999999999999999999' }); // ConfigError
 * ```
 */
export const MAX_WORLD_SIZE = 2 ** 31 - 1;

/**
 * Reads this process's place in a data-parallel run from its launcher's environment variables.
 *
 * The launcher that started this process wins, in this order:
 * 1. torchrun: `RANK`, `WORLD_SIZE`, `LOCAL_RANK`, `LOCAL_WORLD_SIZE`, `GROUP_RANK` (the node);
 * 2. the MPI family, which must agree with each other: Open MPI (`OMPI_COMM_WORLD_RANK`, `…_SIZE`,
 *    `…_LOCAL_RANK`, `…_LOCAL_SIZE`), MVAPICH (`MV2_COMM_WORLD_*`), MPICH and Intel MPI (`PMI_RANK`,
 *    `PMI_SIZE`, `MPI_LOCALRANKID`, `MPI_LOCALNRANKS`), PMIx (`PMIX_RANK`; the size from another of them);
 * 3. SLURM's srun: `SLURM_PROCID`, `SLURM_STEP_NUM_TASKS` (or `SLURM_NTASKS`), `SLURM_LOCALID`,
 *    `SLURM_NODEID`, only inside a job step (`SLURM_STEP_ID` set). The variables of a batch script or an
 *    `salloc` shell (no step) describe the allocation, not this process: they are ignored, as they are
 *    around an mpirun.
 *
 * None of them means a single process (rank 0 of 1). Variables that contradict each other (two MPI
 * launchers with different ranks, a torchrun world smaller than the MPI job around it, half of a pair) are
 * a {@link ConfigError} listing what was found and how to override it. Values in `overrides` win; with
 * both `rank` and `worldSize` given the launcher variables are not read at all.
 *
 * @param env - the environment variables to read. @default process.env
 * @param overrides - `rank`, `worldSize`, `localRank` set in code. @default {}
 * @returns rank, world size, local rank and size, node rank, `MASTER_ADDR`/`MASTER_PORT`, the source
 * @example
 * ```ts
 * // mpirun -n 4 node train.js, even inside an sbatch script
 * const { rank, worldSize, localRank, source } = distributedEnv(); // rank 0..3 of 4, source 'openmpi'
 * ```
 */
export function distributedEnv(env: Env = process.env, overrides: DistributedOverrides = {}): DistributedEnv {
  const o = checkArguments(env, overrides);
  const inCode = o.rank !== undefined && o.worldSize !== undefined;
  const picked = inCode ? undefined : detect(env, o.worldSize);
  const ignored = picked?.ignored ?? [];
  const allocation = inCode || picked !== undefined ? undefined : allocationOnly(env);
  if (allocation !== undefined) ignored.push(allocation);
  const names = picked
    ? { rank: picked.found.vars.rank, size: picked.found.sizeName, local: picked.found.vars.localRank }
    : { rank: 'rank', size: 'worldSize', local: 'localRank' };
  const rank = o.rank ?? picked?.rank ?? 0;
  const worldSize = o.worldSize ?? picked?.size ?? 1;
  const rankName = o.rank === undefined ? names.rank : 'overrides.rank';
  const sizeName = o.worldSize === undefined ? names.size : 'overrides.worldSize';
  const overridden = Object.values(o).some((v) => v !== undefined);
  const source = overridden ? 'override' : (picked?.found.vars.name ?? 'none');
  const localWorldSize = picked?.localSize;
  const localRank = o.localRank ?? picked?.localRank ?? rank;
  const localName = o.localRank === undefined ? (names.local ?? 'localRank') : 'overrides.localRank';
  const localBound = Math.min(worldSize, localWorldSize ?? worldSize);
  const port = envInt(env, 'MASTER_PORT');
  // Each bound holds only within the one before it (a rank below a valid size, a local rank below both),
  // so a chain reports its first broken link; the port is independent.
  const issues: string[] = [];
  if (worldSize < 1 || worldSize > MAX_WORLD_SIZE) {
    issues.push(
      `\`${sizeName}\` must be in [1, ${MAX_WORLD_SIZE}] (MPI's limit), got ${worldSize} (${source})`,
    );
  } else if (rank >= worldSize) {
    issues.push(
      `\`${rankName}\` must be in [0, ${sizeName} - 1] = [0, ${worldSize - 1}], got ${rank} (${source})`,
    );
  } else if (localWorldSize !== undefined && (localWorldSize < 1 || localWorldSize > worldSize)) {
    // A node runs some of the run's processes, never more: a bigger count is a stale or mistyped variable.
    const shown = picked?.localSizeShown as string;
    const name = shown.slice(0, shown.indexOf('='));
    issues.push(
      `\`${name}\` must be in [1, ${sizeName}] = [1, ${worldSize}] (the processes on this node are some of the run's), got ${shown} with ${sizeName}=${worldSize} (${source})`,
    );
  } else if (localRank >= localBound) {
    issues.push(
      `\`${localName}\` must be below the number of processes on this node (${localBound}), got ${localRank} (${source})`,
    );
  } else if (picked?.nodeRank !== undefined && picked.nodeFrom?.nodes !== undefined) {
    const { count, name } = picked.nodeFrom.nodes;
    if (picked.nodeRank >= count) {
      issues.push(
        `\`${picked.nodeFrom.vars.nodeRank}\` must be in [0, ${name} - 1] = [0, ${count - 1}], got ${picked.nodeRank} (${source})`,
      );
    }
  }
  if (port !== undefined && (port < 1 || port > 65535)) {
    issues.push(`\`MASTER_PORT\` must be a port in [1, 65535], got ${JSON.stringify(env.MASTER_PORT)}`);
  }
  if (issues.length > 0) fail(undefined, issues);
  return {
    rank,
    worldSize,
    localRank,
    localWorldSize,
    nodeRank: picked?.nodeRank,
    masterAddr: env.MASTER_ADDR === '' ? undefined : env.MASTER_ADDR,
    masterPort: port,
    source,
    ignored,
  };
}

const overridesSchema = z
  .object({
    rank: nonNegativeInt.optional(),
    worldSize: positiveInt.optional(),
    localRank: nonNegativeInt.optional(),
  })
  .strict();

/** `env` and `overrides` checked together: every problem at once. */
function checkArguments(env: unknown, overrides: unknown): DistributedOverrides {
  const isObject = typeof overrides === 'object' && overrides !== null;
  const issues = isObject
    ? issuesOf(overridesSchema, overrides, [], 'overrides.')
    : [`\`overrides\` must be an object { rank?, worldSize?, localRank? }, got ${describe(overrides)}`];
  if (typeof env !== 'object' || env === null) {
    issues.unshift(`\`env\` must be an object of environment variables, got ${describe(env)}`);
  }
  if (issues.length === 0) return overrides as DistributedOverrides;
  // A misspelt name reads `invalid overrides: …`, as distributedSamplers' do; a bad value reads as itself,
  // as a launcher variable's does.
  if (isObject && Object.keys(overrides).some((k) => !(k in overridesSchema.shape)))
    fail('overrides', issues);
  fail(undefined, issues);
}
