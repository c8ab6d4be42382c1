/**
 * The launchers weft knows and how their variables are read: one table (`TORCHRUN`, `MPI`, `SLURM`) and the
 * precedence between them ({@link detect}). A new launcher is a row of the table and, if it can start or be
 * started by another one, a line in {@link detect}; {@link distributedEnv} applies overrides and checks ranges.
 */
import { ConfigError } from '../core/errors.ts';

/** The launchers {@link distributedEnv} reads, by the name it reports in `source`. */
export type Launcher = 'torchrun' | 'openmpi' | 'mvapich' | 'mpich' | 'pmix' | 'slurm';

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

/** One launcher's variables: which names give the rank, the size, the place on the node, the node. */
interface LauncherVars {
  readonly name: Launcher;
  /** The launcher's name in messages. */
  readonly label: string;
  readonly rank: string;
  /** Where the size comes from, first set wins; empty for a launcher that sets none (PMIx). */
  readonly size: readonly string[];
  readonly localRank?: string;
  readonly localSize?: string;
  readonly nodeRank?: string;
  /** Where the number of nodes comes from, first set wins (checked against the node rank). */
  readonly nodeCount?: readonly string[];
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
  nodeCount: ['GROUP_WORLD_SIZE'],
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
  nodeCount: ['SLURM_STEP_NUM_NODES', 'SLURM_NNODES'],
};

const OVERRIDE_HINT =
  'pass the right values in code: distributedEnv(process.env, { rank, worldSize }), or unset the stale variables';

/**
 * A variable as a non-negative integer; `undefined` when unset or empty.
 *
 * @param env - the environment variables
 * @param name - the variable to read
 * @example
 * ```ts
 * envInt({ MASTER_PORT: '29500' }, 'MASTER_PORT'); // 29500
 * ```
 */
export function envInt(env: Env, name: string): number | undefined {
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
  /** `NAME=value` of the variable the local size came from, for messages. */
  readonly localSizeShown: string | undefined;
  readonly nodeRank: number | undefined;
  /** The number of nodes and the variable it came from, when the launcher says. */
  readonly nodes: { readonly count: number; readonly name: string } | undefined;
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
  let localSizeName = vars.localSize;
  const nodeRank = opt(vars.nodeRank);
  const countName = vars.nodeCount?.find((n) => env[n] !== undefined && env[n] !== '');
  const nodes =
    countName === undefined ? undefined : { count: envInt(env, countName) as number, name: countName };
  if (vars.name === 'slurm') {
    localSize = slurmTasksOnNode(env, nodeRank);
    localSizeName =
      env.SLURM_STEP_TASKS_PER_NODE === undefined ? 'SLURM_TASKS_PER_NODE' : 'SLURM_STEP_TASKS_PER_NODE';
  }
  return {
    vars,
    rank: envInt(env, vars.rank),
    size: sizeName === '' ? undefined : envInt(env, sizeName),
    sizeName,
    localRank: opt(vars.localRank),
    localSize,
    localSizeShown: localSize === undefined ? undefined : `${localSizeName}=${env[localSizeName as string]}`,
    nodeRank,
    nodes,
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

/** The launcher {@link detect} picked and the place it gives this process. */
export type Picked = {
  found: Found;
  rank: number;
  size: number;
  localRank: number | undefined;
  localSize: number | undefined;
  /** `NAME=value` of the variable the local size came from, for messages. */
  localSizeShown: string | undefined;
  nodeRank: number | undefined;
  /** The launcher that gave the node rank, with its node count (for the check of one against the other). */
  nodeFrom: Found | undefined;
  ignored: string[];
};

function fromFound(f: Found & { rank: number; size: number }, ignored: string[] = []): Picked {
  return {
    found: f,
    rank: f.rank,
    size: f.size,
    localRank: f.localRank,
    localSize: f.localSize,
    localSizeShown: f.localSizeShown,
    nodeRank: f.nodeRank,
    nodeFrom: f,
    ignored,
  };
}

/**
 * The launcher of this process, following the precedence of the table above; `undefined` for a single
 * process. Contradicting or half-set variables are a {@link ConfigError}.
 *
 * @param env - the environment variables
 * @param sizeInCode - the world size set in code, for a launcher that gives none (PMIx)
 * @example
 * ```ts
 * detect({ OMPI_COMM_WORLD_RANK: '1', OMPI_COMM_WORLD_SIZE: '4' }, undefined)?.rank; // 1
 * ```
 */
export function detect(env: Env, sizeInCode: number | undefined): Picked | undefined {
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
    const sources = [...checked, ...(sameTask && sameTask.size === size ? [sameTask] : [])];
    const pickFirst = (get: (f: Found) => number | undefined) =>
      sources.map(get).find((v) => v !== undefined);
    const localSizeFrom = sources.find((f) => f.localSize !== undefined);
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
      localSize: localSizeFrom?.localSize,
      localSizeShown: localSizeFrom?.localSizeShown,
      nodeRank: sameTask?.size === size ? sameTask.nodeRank : undefined,
      nodeFrom: sameTask?.size === size ? sameTask : undefined,
      ignored,
    };
  }

  if (slurm !== undefined) return fromFound(complete(read(env, SLURM) as Found));
  return undefined; // a SLURM allocation without a step: see allocationOnly
}

/**
 * The line for `ignored` when SLURM's variables are present without a job step (a batch script or an
 * `salloc` shell, which describe the allocation, not this process); `undefined` otherwise.
 *
 * @param env - the environment variables
 * @example
 * ```ts
 * allocationOnly({ SLURM_PROCID: '0', SLURM_NTASKS: '4' }); // 'SLURM_PROCID=0, SLURM_NTASKS=4 (SLURM without …)'
 * ```
 */
export function allocationOnly(env: Env): string | undefined {
  const slurm = peek(env, SLURM);
  return (
    slurm && `${slurm.shown} (SLURM without a job step: a batch script or salloc shell, not an srun task)`
  );
}
