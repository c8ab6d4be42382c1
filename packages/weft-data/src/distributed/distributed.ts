/**
 * Data-parallel runs: one process per GPU or node, started by a launcher weft knows nothing about
 * (torchrun, mpirun, srun, a Kubernetes job). Each process reads its place from the environment
 * ({@link distributedEnv}), builds its own shard of every dataset ({@link distributedSamplers}) and, after an
 * evaluation pass, puts the gathered per-rank results back in dataset order ({@link gatherInOrder}).
 * weft does not communicate between processes.
 */
import { z } from 'zod';
import { checkLength, checkPositiveInt, checkShard, checkSized, describe } from '../core/checks.ts';
import type { Sized } from '../core/dataset.ts';
import { ConfigError, WeftError } from '../core/errors.ts';
import { IndexSampler } from '../core/sampler.ts';
import { fail, zodIssues } from '../core/validate.ts';
import {
  intervalRelations,
  type SamplerIntervalOptions,
  samplerIntervalConfigSchema,
} from '../interleaved/config.ts';
import { DistributedSampler } from '../samplers/distributed-sampler.ts';

/** The launchers {@link distributedEnv} reads, by the name it reports in `source`. */
export type Launcher = 'torchrun' | 'openmpi' | 'mvapich' | 'mpich' | 'pmix' | 'slurm';

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
 * Environment variables as {@link distributedEnv} reads them: names to values, `undefined` (or `''`) when
 * unset. `process.env` is one; a plain object stands in for it in tests or when the values come from elsewhere.
 *
 * @example
 * ```ts
 * const env: Env = { RANK: '1', WORLD_SIZE: '4', LOCAL_RANK: '1' };
 * distributedEnv(env); // rank 1 of 4, source 'torchrun'
 * ```
 */
export type Env = Readonly<Record<string, string | undefined>>;

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

interface LauncherVars {
  readonly name: Launcher;
  readonly label: string;
  readonly rank: string;
  readonly size: readonly string[];
  readonly localRank?: string;
  readonly localSize?: string;
  readonly nodeRank?: string;
}

// torchrun first: `mpirun torchrun …` or `srun torchrun …` start agents whose children are the training
// processes, with torchrun's variables. Then the MPI family, whose launchers set their variables for each
// process they start. SLURM last: its variables are also inherited from the batch script (sbatch, salloc)
// around an mpirun, or from the srun that started mpirun's daemons, and then say nothing about this process.
const TORCHRUN: LauncherVars = {
  name: 'torchrun',
  label: 'torchrun',
  rank: 'RANK',
  size: ['WORLD_SIZE'],
  localRank: 'LOCAL_RANK',
  localSize: 'LOCAL_WORLD_SIZE',
  nodeRank: 'GROUP_RANK',
};
const MPI: readonly LauncherVars[] = [
  {
    name: 'openmpi',
    label: 'Open MPI',
    rank: 'OMPI_COMM_WORLD_RANK',
    size: ['OMPI_COMM_WORLD_SIZE'],
    localRank: 'OMPI_COMM_WORLD_LOCAL_RANK',
    localSize: 'OMPI_COMM_WORLD_LOCAL_SIZE',
  },
  {
    name: 'mvapich',
    label: 'MVAPICH',
    rank: 'MV2_COMM_WORLD_RANK',
    size: ['MV2_COMM_WORLD_SIZE'],
    localRank: 'MV2_COMM_WORLD_LOCAL_RANK',
    localSize: 'MV2_COMM_WORLD_LOCAL_SIZE',
  },
  {
    name: 'mpich',
    label: 'MPICH/Intel MPI (PMI)',
    rank: 'PMI_RANK',
    size: ['PMI_SIZE'],
    localRank: 'MPI_LOCALRANKID',
    localSize: 'MPI_LOCALNRANKS',
  },
  // PMIx puts only the rank in the environment; the size comes from another launcher's variables.
  { name: 'pmix', label: 'PMIx', rank: 'PMIX_RANK', size: [] },
];
const SLURM: LauncherVars = {
  name: 'slurm',
  label: 'SLURM srun',
  rank: 'SLURM_PROCID',
  size: ['SLURM_STEP_NUM_TASKS', 'SLURM_NTASKS'],
  localRank: 'SLURM_LOCALID',
  nodeRank: 'SLURM_NODEID',
};

const OVERRIDE_HINT =
  'pass the right values in code: distributedEnv(process.env, { rank, worldSize }), or unset the stale variables';

/** A variable as a non-negative integer; `undefined` when unset or empty. */
function envInt(env: Env, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = /^\s*\d+\s*$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value)) {
    throw new ConfigError(`\`${name}\` must be a non-negative integer, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** What one launcher's variables say. */
interface Found {
  readonly vars: LauncherVars;
  readonly rank: number | undefined;
  readonly size: number | undefined;
  /** The variable the size came from. */
  readonly sizeName: string;
  readonly localRank: number | undefined;
  readonly localSize: number | undefined;
  readonly nodeRank: number | undefined;
  /** `NAME=value` of every variable that was set, for messages. */
  readonly shown: string;
}

function read(env: Env, vars: LauncherVars): Found | undefined {
  const names = [vars.rank, ...vars.size, vars.localRank, vars.localSize, vars.nodeRank].filter(
    (n): n is string => n !== undefined && env[n] !== undefined && env[n] !== '',
  );
  if (!names.includes(vars.rank) && !vars.size.some((n) => names.includes(n))) return undefined;
  const sizeName = vars.size.find((n) => env[n] !== undefined && env[n] !== '') ?? vars.size[0] ?? '';
  const opt = (name: string | undefined) => (name === undefined ? undefined : envInt(env, name));
  let localSize = opt(vars.localSize);
  const nodeRank = opt(vars.nodeRank);
  if (vars.name === 'slurm') localSize = slurmTasksOnNode(env, nodeRank);
  return {
    vars,
    rank: envInt(env, vars.rank),
    size: sizeName === '' ? undefined : envInt(env, sizeName),
    sizeName,
    localRank: opt(vars.localRank),
    localSize,
    nodeRank,
    shown: names.map((n) => `${n}=${env[n]}`).join(', '),
  };
}

/** Like {@link read}, but `undefined` for variables it would reject (for the launchers that are not used). */
function peek(env: Env, vars: LauncherVars): Found | undefined {
  try {
    return read(env, vars);
  } catch {
    return undefined;
  }
}

/** `SLURM_STEP_TASKS_PER_NODE` ("4(x2),3") at this node; `undefined` if absent or unreadable. */
function slurmTasksOnNode(env: Env, node: number | undefined): number | undefined {
  const spec = env.SLURM_STEP_TASKS_PER_NODE ?? env.SLURM_TASKS_PER_NODE;
  if (spec === undefined || node === undefined) return undefined;
  const perNode: number[] = [];
  for (const part of spec.split(',')) {
    const m = /^\s*(\d+)(?:\(x(\d+)\))?\s*$/.exec(part);
    if (m === null) return undefined;
    for (let i = 0; i < Number(m[2] ?? 1) && perNode.length <= node; i++) perNode.push(Number(m[1]));
  }
  return perNode[node];
}

/** Whether SLURM's variables belong to an srun task (a job step), not to the batch script or an salloc shell. */
function isSrunTask(env: Env): boolean {
  return [env.SLURM_STEP_ID, env.SLURM_STEPID].some((v) => v !== undefined && v !== '');
}

const says = (f: Found) => `${f.vars.label} says rank ${f.rank ?? '?'} of ${f.size ?? '?'} (${f.shown})`;

function conflict(what: string, found: readonly Found[]): ConfigError {
  return new ConfigError(
    `launcher variables contradict each other (${what}): ${found.map(says).join('; ')}; ${OVERRIDE_HINT}`,
  );
}

/** The pair (rank, size) of a launcher that must set both, checked. */
function complete(f: Found): Found & { rank: number; size: number } {
  const { rank, size, vars } = f;
  if (rank === undefined || size === undefined) {
    const [set, unset] = rank === undefined ? [f.sizeName, vars.rank] : [vars.rank, vars.size.join('` or `')];
    throw new ConfigError(
      `\`${set}\` is set but \`${unset}\` is not (${f.shown}): ${vars.label} sets both; ${OVERRIDE_HINT}`,
    );
  }
  return { ...f, rank, size };
}

type Picked = {
  found: Found;
  rank: number;
  size: number;
  localRank: number | undefined;
  localSize: number | undefined;
  nodeRank: number | undefined;
  ignored: string[];
};

function fromFound(f: Found & { rank: number; size: number }, ignored: string[] = []): Picked {
  return {
    found: f,
    rank: f.rank,
    size: f.size,
    localRank: f.localRank,
    localSize: f.localSize,
    nodeRank: f.nodeRank,
    ignored,
  };
}

/** The launcher of this process, following the precedence above; `undefined` for a single process. */
function detect(env: Env, sizeInCode: number | undefined): Picked | undefined {
  const mpiPeek = MPI.map((v) => peek(env, v)).filter((f): f is Found => f !== undefined);
  const slurmPeek = peek(env, SLURM);
  const torchrun = read(env, TORCHRUN);
  if (torchrun !== undefined) {
    const t = complete(torchrun);
    // A torchrun started by mpirun has at least as many processes as mpirun: fewer means stale variables.
    const bigger = mpiPeek.find((f) => f.size !== undefined && f.size > t.size);
    if (bigger !== undefined) {
      throw conflict(`torchrun's world is smaller than the MPI job it runs in: stale torchrun variables?`, [
        t,
        bigger,
      ]);
    }
    const ignored = [...mpiPeek, ...(slurmPeek ? [slurmPeek] : [])].map(
      (f) => `${f.shown} (${f.vars.label}: the launcher that started torchrun)`,
    );
    return fromFound(t, ignored);
  }

  const mpi = MPI.map((v) => read(env, v)).filter((f): f is Found => f !== undefined);
  const slurm = slurmPeek !== undefined && isSrunTask(env) ? slurmPeek : undefined;
  if (mpi.length > 0) {
    const checked = mpi.map((f) => (f.vars.name === 'pmix' ? f : complete(f)));
    const ranks = new Set(checked.map((f) => f.rank));
    const sizes = new Set(checked.flatMap((f) => (f.size === undefined ? [] : [f.size])));
    if (ranks.size > 1 || sizes.size > 1) throw conflict('two MPI launchers for one process', checked);
    const first = checked[0] as Found;
    const rank = first.rank as number;
    // srun starting MPI processes itself (srun --mpi=pmix) sets SLURM's variables for the same task.
    const sameTask = slurm?.rank === rank ? slurm : undefined;
    let size = checked.find((f) => f.size !== undefined)?.size;
    if (size === undefined && sameTask?.size !== undefined) size = sameTask.size;
    size ??= sizeInCode;
    if (size === undefined) {
      throw new ConfigError(
        `\`PMIX_RANK\` is set (${first.shown}) but no variable gives the world size (PMIx does not set one); pass it in code: distributedEnv(process.env, { worldSize })`,
      );
    }
    const pickFirst = (get: (f: Found) => number | undefined) =>
      [...checked, ...(sameTask && sameTask.size === size ? [sameTask] : [])]
        .map(get)
        .find((v) => v !== undefined);
    const ignored =
      slurmPeek !== undefined && (sameTask === undefined || sameTask.size !== size)
        ? [
            `${slurmPeek.shown} (SLURM: the allocation or the srun around the MPI launcher, not this process's place)`,
          ]
        : [];
    return {
      found: first,
      rank,
      size,
      localRank: pickFirst((f) => f.localRank),
      localSize: pickFirst((f) => f.localSize),
      nodeRank: sameTask?.size === size ? sameTask.nodeRank : undefined,
      ignored,
    };
  }

  if (slurm !== undefined) return fromFound(complete(read(env, SLURM) as Found));
  return undefined; // a SLURM allocation without a step is reported as ignored by the caller
}

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
  if (typeof env !== 'object' || env === null) {
    throw new ConfigError(`\`env\` must be an object of environment variables, got ${describe(env)}`);
  }
  if (typeof overrides !== 'object' || overrides === null) {
    throw new ConfigError(
      `\`overrides\` must be an object { rank?, worldSize?, localRank? }, got ${describe(overrides)}`,
    );
  }
  const unknown = Object.keys(overrides).filter((k) => !['rank', 'worldSize', 'localRank'].includes(k));
  if (unknown.length > 0)
    fail(
      'overrides',
      unknown.map((k) => `\`overrides.${k}\` is not a known option`),
    );
  const o = {
    rank: overrides.rank === undefined ? undefined : checkLength(overrides.rank, 'overrides.rank'),
    worldSize:
      overrides.worldSize === undefined
        ? undefined
        : checkPositiveInt(overrides.worldSize, 'overrides.worldSize'),
    localRank:
      overrides.localRank === undefined ? undefined : checkLength(overrides.localRank, 'overrides.localRank'),
  };
  const inCode = o.rank !== undefined && o.worldSize !== undefined;
  const picked = inCode ? undefined : detect(env, o.worldSize);
  const ignored = picked?.ignored ?? [];
  if (picked === undefined && !inCode) {
    const slurm = peek(env, SLURM);
    if (slurm !== undefined) {
      ignored.push(
        `${slurm.shown} (SLURM without a job step: a batch script or salloc shell, not an srun task)`,
      );
    }
  }
  const names = picked
    ? { rank: picked.found.vars.rank, size: picked.found.sizeName, local: picked.found.vars.localRank }
    : { rank: 'rank', size: 'worldSize', local: 'localRank' };
  const rank = o.rank ?? picked?.rank ?? 0;
  const worldSize = o.worldSize ?? picked?.size ?? 1;
  const rankName = o.rank === undefined ? names.rank : 'overrides.rank';
  const sizeName = o.worldSize === undefined ? names.size : 'overrides.worldSize';
  const overridden = Object.values(o).some((v) => v !== undefined);
  const source = overridden ? 'override' : (picked?.found.vars.name ?? 'none');
  if (worldSize < 1 || worldSize > MAX_WORLD_SIZE) {
    throw new ConfigError(
      `\`${sizeName}\` must be in [1, ${MAX_WORLD_SIZE}] (MPI's limit), got ${worldSize} (${source})`,
    );
  }
  if (rank >= worldSize) {
    throw new ConfigError(
      `\`${rankName}\` must be in [0, ${sizeName} - 1] = [0, ${worldSize - 1}], got ${rank} (${source})`,
    );
  }
  const localWorldSize = picked?.localSize;
  const localRank = o.localRank ?? picked?.localRank ?? rank;
  const localName = o.localRank === undefined ? (names.local ?? 'localRank') : 'overrides.localRank';
  const localBound = Math.min(worldSize, localWorldSize ?? worldSize);
  if (localRank >= localBound) {
    throw new ConfigError(
      `\`${localName}\` must be below the number of processes on this node (${localBound}), got ${localRank} (${source})`,
    );
  }
  const port = envInt(env, 'MASTER_PORT');
  if (port !== undefined && (port < 1 || port > 65535)) {
    throw new ConfigError(
      `\`MASTER_PORT\` must be a port in [1, 65535], got ${JSON.stringify(env.MASTER_PORT)}`,
    );
  }
  return {
    rank,
    worldSize,
    localRank,
    localWorldSize: localWorldSize !== undefined && localWorldSize <= worldSize ? localWorldSize : undefined,
    nodeRank: picked?.nodeRank,
    masterAddr: env.MASTER_ADDR === '' ? undefined : env.MASTER_ADDR,
    masterPort: port,
    source,
    ignored,
  };
}

/** Options of {@link ShardedEvalSampler}. */
export interface ShardedEvalSamplerOptions {
  /** Number of ranks. */
  numReplicas: number;
  /** This shard's rank, in [0, numReplicas). */
  rank: number;
  /**
   * Pad every shard to the same length, `ceil(n / numReplicas)`, so every rank runs the same number of
   * batches per pass; the padding slots repeat real items and are not counted (see `realLength`).
   * @default false
   */
  pad?: boolean;
}

/**
 * One rank's share of an evaluation dataset, every item on exactly one rank: rank r of R takes the indices
 * r, r + R, r + 2R, … below the dataset's length (strided, like torch's `DistributedSampler`).
 *
 * Without `pad`, shards differ in size by at most one and a rank may have none. With `pad`, every shard has
 * `ceil(n / R)` indices: its `realLength` real ones first, then padding (repeats of other ranks' items),
 * so all ranks run the same number of batches per pass; an {@link InterleavedSampler} tags each batch with
 * how many of its items are `real`. Torch pads too but then counts the repeats (pytorch#25162).
 *
 * @param data - the full evaluation dataset (only its `length` is read; it is kept as `dataset`)
 * @param options - `numReplicas`, `rank`, `pad` (@default false)
 * @example
 * ```ts
 * const shard = new ShardedEvalSampler(testSet, { numReplicas: 3, rank: 1 }); // 1, 4, 7, …
 * const padded = new ShardedEvalSampler({ length: 2 }, { numReplicas: 4, rank: 3, pad: true }); // [1], realLength 0
 * ```
 */
export class ShardedEvalSampler extends IndexSampler {
  /** The full dataset the indices refer to. */
  readonly dataset: Sized;
  /** Number of ranks. */
  readonly numReplicas: number;
  /** This shard's rank. */
  readonly rank: number;
  /** Whether the shard is padded to `ceil(n / numReplicas)`. */
  readonly pad: boolean;
  /** Real (not padding) indices at the start of this shard: `ceil((n - rank) / numReplicas)`. */
  readonly realLength: number;
  readonly #order: Uint32Array;

  constructor(data: Sized, options: ShardedEvalSamplerOptions) {
    super();
    this.dataset = checkSized(data, 'data');
    ({ numReplicas: this.numReplicas, rank: this.rank } = checkShard(options));
    const { pad = false } = options;
    if (typeof pad !== 'boolean') throw new ConfigError(`\`pad\` must be a boolean, got ${describe(pad)}`);
    this.pad = pad;
    const n = data.length;
    const R = this.numReplicas;
    this.realLength = Math.max(0, Math.ceil((n - this.rank) / R));
    this.#order = new Uint32Array(pad ? Math.ceil(n / R) : this.realLength);
    // Position p of the strided order is item p % n: the padding wraps around to the first items.
    for (let i = 0; i < this.#order.length; i++) this.#order[i] = (this.rank + i * R) % n;
  }

  /** Indices of this shard, padding included. */
  get length(): number {
    return this.#order.length;
  }

  /** This shard's indices, real ones first (shared; do not modify). The order is the same every epoch. */
  indices(): Uint32Array {
    return this.#order;
  }
}

const isSized = (v: unknown): v is Sized =>
  typeof v === 'object' &&
  v !== null &&
  Number.isSafeInteger((v as { length?: unknown }).length) &&
  ((v as { length: number }).length as number) >= 0;
const sizedSchema = z.custom<Sized>(isSized, {
  error: 'must be a dataset (an object with a non-negative integer `length`)',
});
const fnSchema = z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', {
  error: 'must be a function',
});
const boolSchema = z.boolean({ error: 'must be a boolean' });

const distributedSamplersSchema = z
  .object({
    train: sizedSchema,
    callbacks: z
      .array(
        samplerIntervalConfigSchema
          .extend({ dataset: sizedSchema, collate: fnSchema.optional(), pipeline: fnSchema.optional() })
          .strict(),
        { error: 'must be an array of callbacks' },
      )
      .optional(),
    env: z
      .object(
        {
          rank: z.int({ error: 'must be a non-negative integer' }).min(0, 'must be a non-negative integer'),
          worldSize: z
            .int({ error: 'must be a positive integer' })
            .min(1, 'must be a positive integer')
            .max(MAX_WORLD_SIZE, `must be at most ${MAX_WORLD_SIZE}`),
        },
        { error: 'must be { rank, worldSize } (see distributedEnv)' },
      )
      .loose()
      .optional(),
    shuffle: boolSchema.optional(),
    seed: z
      .int({ error: 'must be a non-negative integer' })
      .min(0, 'must be a non-negative integer')
      .optional(),
    dropLast: boolSchema.optional(),
    padEval: boolSchema.optional(),
  })
  .strict();

/** Options of {@link distributedSamplers}. */
export interface DistributedSamplersOptions {
  /** The full training dataset (every rank passes the same one). */
  train: Sized;
  /**
   * Evaluation callbacks: the full dataset and the fields of a {@link SamplerIntervalOptions} except
   * `sampler` (`name`, one `everyN*`, `batchSize`, `collate`). @default []
   */
  callbacks?: readonly (Omit<SamplerIntervalOptions, 'sampler'> & {
    /** The full evaluation dataset (every rank passes the same one); each rank gets its shard of it. */
    dataset: Sized;
  })[];
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
export function distributedSamplers(options: DistributedSamplersOptions): {
  /** This rank's shard of the training dataset, for {@link InterleavedSamplerInit.trainSampler}. */
  trainSampler: DistributedSampler;
  /**
   * One callback per entry of `options.callbacks`, in order, its dataset replaced by this rank's
   * {@link ShardedEvalSampler}: for {@link InterleavedSamplerInit.callbackSamplers}.
   */
  callbackSamplers: SamplerIntervalOptions[];
} {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError(`\`distributedSamplers\` options must be an object, got ${describe(options)}`);
  }
  const parsed = distributedSamplersSchema.safeParse(options);
  const issues = parsed.success ? [] : zodIssues(parsed.error, options);
  const raw = options as { callbacks?: unknown };
  if (Array.isArray(raw.callbacks)) {
    raw.callbacks.forEach((c: unknown, k) => {
      if (typeof c === 'object' && c !== null) {
        issues.push(...intervalRelations(c as Record<string, unknown>, `callbacks[${k}].`));
      }
    });
  }
  if (issues.length > 0) fail('distributedSamplers options', issues);
  const {
    train,
    callbacks = [],
    env = distributedEnv(),
    shuffle = true,
    seed = 0,
    dropLast = true,
    padEval = true,
  } = options;
  const { rank, worldSize } = env;
  if (rank >= worldSize) {
    throw new ConfigError(
      `\`env.rank\` must be in [0, env.worldSize - 1] = [0, ${worldSize - 1}], got ${rank}`,
    );
  }
  const shard = { numReplicas: worldSize, rank };
  const trainSampler = new DistributedSampler(train, { ...shard, shuffle, seed, dropLast });
  if (trainSampler.length === 0) {
    const why =
      train.length === 0
        ? '`train` is empty'
        : `sharding \`train\` (${train.length} items) over ${worldSize} ranks with \`dropLast: true\` leaves every rank without a training item (${train.length} < ${worldSize}); use \`dropLast: false\` (each rank repeats items) or fewer ranks`;
    throw new ConfigError(`rank ${rank} has no training items: ${why}`);
  }
  const callbackSamplers = callbacks.map(({ dataset, ...interval }, k) => {
    const sampler = new ShardedEvalSampler(dataset, { ...shard, pad: padEval });
    if (!padEval && dataset.length > 0 && dataset.length < worldSize) {
      throw new ConfigError(
        `sharding \`callbacks[${k}].dataset\` (${dataset.length} items) over ${worldSize} ranks without padding leaves ranks ${dataset.length}..${worldSize - 1} with no batch of its passes, so they would not see a pass the others run; keep \`padEval: true\``,
      );
    }
    return { ...interval, sampler };
  });
  return { trainSampler, callbackSamplers };
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
  checkPositiveInt(globalBatchSize, 'globalBatchSize');
  checkPositiveInt(worldSize, 'worldSize');
  if (globalBatchSize % worldSize !== 0) {
    throw new ConfigError(
      `the global batch size ${globalBatchSize} does not divide over ${worldSize} ranks; choose a global batch size that is a multiple of every world size you run on`,
    );
  }
  return globalBatchSize / worldSize;
}

/**
 * Puts per-rank evaluation results back in dataset order, checking that every index comes exactly once.
 *
 * weft does not communicate between processes: after a pass, all-gather each rank's `{ indices, values }`
 * with your framework (an all-gather of the tensors, an MPI binding, or files on a shared disk), then call
 * this on every rank (or only on rank 0). `indices` are dataset indices (an {@link InterleavedSampler}'s
 * batch indices less `indexOffsets[k]`) of the real items only (the first `real` of each batch).
 *
 * @param parts - one entry per rank: the dataset indices it evaluated and a value for each, in the same order
 * @param length - the dataset's length: every index in [0, length) must appear exactly once
 * @returns the values in dataset order (`result[i]` belongs to index i)
 * @example
 * ```ts
 * gatherInOrder([{ indices: [0, 2], values: ['a', 'c'] }, { indices: [1], values: ['b'] }], 3); // ['a', 'b', 'c']
 * ```
 */
export function gatherInOrder<T>(
  parts: readonly { readonly indices: ArrayLike<number>; readonly values: ArrayLike<T> }[],
  length: number,
): T[] {
  checkLength(length, 'length');
  if (!Array.isArray(parts)) throw new ConfigError(`\`parts\` must be an array, got ${describe(parts)}`);
  const out = new Array<T>(length);
  const owner = new Int32Array(length).fill(-1);
  parts.forEach((part: unknown, r) => {
    const { indices, values } = (part ?? {}) as { indices?: ArrayLike<number>; values?: ArrayLike<T> };
    if (typeof indices?.length !== 'number' || typeof values?.length !== 'number') {
      throw new ConfigError(
        `\`parts[${r}]\` must be { indices, values } (two arrays), got ${describe(part)}`,
      );
    }
    if (indices.length !== values.length) {
      throw new WeftError(`\`parts[${r}]\` has ${indices.length} indices but ${values.length} values`);
    }
    for (let i = 0; i < indices.length; i++) {
      const index = indices[i] as number;
      if (!Number.isInteger(index) || index < 0 || index >= length) {
        throw new WeftError(
          `\`parts[${r}].indices[${i}]\` must be an index in [0, ${length - 1}] (length ${length}), got ${describe(index)}`,
        );
      }
      const first = owner[index] as number;
      if (first >= 0) {
        throw new WeftError(`index ${index} was evaluated twice: in parts[${first}] and in parts[${r}]`);
      }
      owner[index] = r;
      out[index] = values[i] as T;
    }
  });
  const missing: number[] = [];
  for (let i = 0; i < length; i++) if (owner[i] === -1) missing.push(i);
  if (missing.length === 1) throw new WeftError(`index ${missing[0]} was not evaluated by any rank`);
  if (missing.length > 1) {
    const shown = missing.slice(0, 10).join(', ') + (missing.length > 10 ? ', …' : '');
    throw new WeftError(`${missing.length} indices were not evaluated by any rank: ${shown}`);
  }
  return out;
}
