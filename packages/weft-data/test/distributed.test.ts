// Data-parallel runs without processes: launcher detection on simulated environments, the samplers of every
// rank built side by side, global counting, and elastic resume (4 ranks → 3 and 2) compared update by update.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planFile } from '../src/cli/plan-config.ts';
import {
  type CallbackIndexBatch,
  ConfigError,
  DistributedSampler,
  distributedEnv,
  distributedSamplers,
  formatPlan,
  gatherInOrder,
  InterleavedSampler,
  MAX_WORLD_SIZE,
  type ResumeState,
  rankBatchSize,
  SequentialSampler,
  ShardedEvalSampler,
  WeftError,
} from '../src/index.ts';

const sized = (length: number) => ({ length, get: (i: number) => i });
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

function thrown(f: () => unknown, type: new (...a: never[]) => Error = ConfigError): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(type);
    return (e as Error).message;
  }
  throw new Error('did not throw');
}

// What each launcher sets for each of its processes: 4 ranks on 2 nodes of 2.
const node = (rank: number) => String(Math.floor(rank / 2));
const local = (rank: number) => String(rank % 2);
const LAUNCHES: Record<string, (rank: number) => Record<string, string>> = {
  // srun torchrun --nproc-per-node 2: one srun task (a torchrun agent) per node, two workers each.
  torchrun: (r) => ({
    RANK: String(r),
    WORLD_SIZE: '4',
    LOCAL_RANK: local(r),
    LOCAL_WORLD_SIZE: '2',
    GROUP_RANK: node(r),
    MASTER_ADDR: 'node0',
    MASTER_PORT: '29500',
    TORCHELASTIC_RUN_ID: 'none',
    SLURM_JOB_ID: '77',
    SLURM_STEP_ID: '0',
    SLURM_PROCID: node(r),
    SLURM_NTASKS: '2',
    SLURM_LOCALID: '0',
    SLURM_NODEID: node(r),
  }),
  // srun --ntasks-per-node 2 node train.js
  srun: (r) => ({
    SLURM_JOB_ID: '77',
    SLURM_STEP_ID: '0',
    SLURM_PROCID: String(r),
    SLURM_NTASKS: '4',
    SLURM_STEP_NUM_TASKS: '4',
    SLURM_LOCALID: local(r),
    SLURM_NODEID: node(r),
    SLURM_STEP_TASKS_PER_NODE: '2(x2)',
  }),
  // MPICH or Intel MPI (Hydra's mpiexec): PMI.
  pmi: (r) => ({ PMI_RANK: String(r), PMI_SIZE: '4', MPI_LOCALRANKID: local(r), MPI_LOCALNRANKS: '2' }),
  // srun --mpi=pmix: PMIx gives the rank, SLURM's step the size, the node and the local rank.
  pmix: (r) => ({
    PMIX_RANK: String(r),
    PMIX_NAMESPACE: 'slurm.pmix.77.0',
    SLURM_JOB_ID: '77',
    SLURM_STEP_ID: '0',
    SLURM_PROCID: String(r),
    SLURM_NTASKS: '4',
    SLURM_LOCALID: local(r),
    SLURM_NODEID: node(r),
    SLURM_STEP_TASKS_PER_NODE: '2(x2)',
  }),
  // An sbatch script running mpirun on one node: the batch environment says task 0 of 4 to every rank.
  'sbatch+mpirun': (r) => ({
    SLURM_JOB_ID: '77',
    SLURM_PROCID: '0',
    SLURM_NTASKS: '4',
    SLURM_LOCALID: '0',
    SLURM_NODEID: '0',
    SLURM_TASKS_PER_NODE: '4',
    OMPI_COMM_WORLD_RANK: String(r),
    OMPI_COMM_WORLD_SIZE: '4',
    OMPI_COMM_WORLD_LOCAL_RANK: String(r),
    OMPI_COMM_WORLD_LOCAL_SIZE: '4',
    PMIX_RANK: String(r),
  }),
  // mpirun over 2 nodes of an allocation: its daemons were started by srun (a step of 2 tasks).
  'mpirun on 2 nodes': (r) => ({
    SLURM_JOB_ID: '77',
    SLURM_STEP_ID: '1',
    SLURM_PROCID: node(r),
    SLURM_NTASKS: '2',
    SLURM_LOCALID: '0',
    SLURM_NODEID: node(r),
    OMPI_COMM_WORLD_RANK: String(r),
    OMPI_COMM_WORLD_SIZE: '4',
    OMPI_COMM_WORLD_LOCAL_RANK: local(r),
    OMPI_COMM_WORLD_LOCAL_SIZE: '2',
  }),
  // MVAPICH's mpirun_rsh sets its own variables and PMI's.
  mvapich: (r) => ({
    MV2_COMM_WORLD_RANK: String(r),
    MV2_COMM_WORLD_SIZE: '4',
    MV2_COMM_WORLD_LOCAL_RANK: local(r),
    MV2_COMM_WORLD_LOCAL_SIZE: '2',
    PMI_RANK: String(r),
    PMI_SIZE: '4',
  }),
};

describe('distributedEnv', () => {
  it.each([
    ['torchrun', 'torchrun', true, true],
    ['srun', 'slurm', true, false],
    ['pmi', 'mpich', false, false],
    ['pmix', 'pmix', true, false],
    ['sbatch+mpirun', 'openmpi', false, false],
    ['mpirun on 2 nodes', 'openmpi', false, false],
    ['mvapich', 'mvapich', false, false],
  ] as const)('gives every rank its own place under %s', (launch, source, knowsNode, master) => {
    for (const rank of range(4)) {
      const env = distributedEnv(LAUNCHES[launch]?.(rank));
      const onOneNode = launch === 'sbatch+mpirun';
      expect(env).toMatchObject({
        rank,
        worldSize: 4,
        localRank: onOneNode ? rank : rank % 2,
        localWorldSize: onOneNode ? 4 : 2,
        nodeRank: knowsNode ? Math.floor(rank / 2) : undefined,
        masterAddr: master ? 'node0' : undefined,
        masterPort: master ? 29500 : undefined,
        source,
      });
    }
  });

  it('says which variables it ignored and why', () => {
    expect(distributedEnv(LAUNCHES['sbatch+mpirun']?.(2)).ignored).toEqual([
      "SLURM_PROCID=0, SLURM_NTASKS=4, SLURM_LOCALID=0, SLURM_NODEID=0 (SLURM: the allocation or the srun around the MPI launcher, not this process's place)",
    ]);
    expect(distributedEnv(LAUNCHES.torchrun?.(3)).ignored).toEqual([
      'SLURM_PROCID=1, SLURM_NTASKS=2, SLURM_LOCALID=0, SLURM_NODEID=1 (SLURM srun: the launcher that started torchrun)',
    ]);
    expect(distributedEnv(LAUNCHES.srun?.(3)).ignored).toEqual([]);
  });

  it('takes a SLURM batch script or salloc shell for what it is: one process', () => {
    // An salloc shell: a lone SLURM_NTASKS (no task of a step).
    expect(distributedEnv({ SLURM_JOB_ID: '77', SLURM_NTASKS: '4' })).toMatchObject({
      rank: 0,
      worldSize: 1,
      source: 'none',
      ignored: [
        'SLURM_NTASKS=4 (SLURM without a job step: a batch script or salloc shell, not an srun task)',
      ],
    });
    // The batch script itself, started without srun.
    expect(distributedEnv({ SLURM_PROCID: '0', SLURM_NTASKS: '8' })).toMatchObject({
      rank: 0,
      worldSize: 1,
      source: 'none',
    });
    expect(distributedEnv({})).toEqual({
      rank: 0,
      worldSize: 1,
      localRank: 0,
      localWorldSize: undefined,
      nodeRank: undefined,
      masterAddr: undefined,
      masterPort: undefined,
      source: 'none',
      ignored: [],
    });
  });

  it('reports contradicting launchers with what it found and how to override', () => {
    const hint =
      'pass the right values in code: distributedEnv(process.env, { rank, worldSize }), or unset the stale variables';
    expect(
      thrown(() =>
        distributedEnv({
          OMPI_COMM_WORLD_RANK: '1',
          OMPI_COMM_WORLD_SIZE: '4',
          PMI_RANK: '2',
          PMI_SIZE: '4',
        }),
      ),
    ).toBe(
      `launcher variables contradict each other (two MPI launchers for one process): Open MPI says rank 1 of 4 (OMPI_COMM_WORLD_RANK=1, OMPI_COMM_WORLD_SIZE=4); MPICH/Intel MPI (PMI) says rank 2 of 4 (PMI_RANK=2, PMI_SIZE=4); ${hint}`,
    );
    // A RANK=0 WORLD_SIZE=1 left in the shell, under mpirun -n 4.
    expect(
      thrown(() =>
        distributedEnv({ RANK: '0', WORLD_SIZE: '1', OMPI_COMM_WORLD_RANK: '2', OMPI_COMM_WORLD_SIZE: '4' }),
      ),
    ).toBe(
      `launcher variables contradict each other (torchrun's world is smaller than the MPI job it runs in: stale torchrun variables?): torchrun says rank 0 of 1 (RANK=0, WORLD_SIZE=1); Open MPI says rank 2 of 4 (OMPI_COMM_WORLD_RANK=2, OMPI_COMM_WORLD_SIZE=4); ${hint}`,
    );
    expect(thrown(() => distributedEnv({ RANK: '0' }))).toBe(
      `\`RANK\` is set but \`WORLD_SIZE\` is not (RANK=0): torchrun sets both; ${hint}`,
    );
    expect(thrown(() => distributedEnv({ OMPI_COMM_WORLD_SIZE: '4' }))).toBe(
      `\`OMPI_COMM_WORLD_SIZE\` is set but \`OMPI_COMM_WORLD_RANK\` is not (OMPI_COMM_WORLD_SIZE=4): Open MPI sets both; ${hint}`,
    );
    expect(thrown(() => distributedEnv({ SLURM_STEP_ID: '0', SLURM_PROCID: '1' }))).toBe(
      `\`SLURM_PROCID\` is set but \`SLURM_STEP_NUM_TASKS\` or \`SLURM_NTASKS\` is not (SLURM_PROCID=1): SLURM srun sets both; ${hint}`,
    );
    expect(thrown(() => distributedEnv({ PMIX_RANK: '3' }))).toBe(
      '`PMIX_RANK` is set (PMIX_RANK=3) but no variable gives the world size (PMIx does not set one); pass it in code: distributedEnv(process.env, { worldSize })',
    );
    expect(distributedEnv({ PMIX_RANK: '3' }, { worldSize: 4 })).toMatchObject({ rank: 3, worldSize: 4 });
  });

  it.each<[Record<string, string>, string]>([
    [{ RANK: 'abc', WORLD_SIZE: '2' }, '`RANK` must be a non-negative integer, got "abc"'],
    [{ RANK: '-1', WORLD_SIZE: '2' }, '`RANK` must be a non-negative integer, got "-1"'],
    [
      { RANK: '0', WORLD_SIZE: '99999999999999999999' },
      '`WORLD_SIZE` must be a non-negative integer, got "99999999999999999999"',
    ],
    [
      { RANK: '0', WORLD_SIZE: String(MAX_WORLD_SIZE + 1) },
      "`WORLD_SIZE` must be in [1, 2147483647] (MPI's limit), got 2147483648 (torchrun)",
    ],
    [
      { RANK: '0', WORLD_SIZE: '0' },
      "`WORLD_SIZE` must be in [1, 2147483647] (MPI's limit), got 0 (torchrun)",
    ],
    [{ RANK: '4', WORLD_SIZE: '4' }, '`RANK` must be in [0, WORLD_SIZE - 1] = [0, 3], got 4 (torchrun)'],
    [{ PMI_RANK: '5', PMI_SIZE: '4' }, '`PMI_RANK` must be in [0, PMI_SIZE - 1] = [0, 3], got 5 (mpich)'],
    [
      { RANK: '0', WORLD_SIZE: '4', LOCAL_RANK: '2', LOCAL_WORLD_SIZE: '2' },
      '`LOCAL_RANK` must be below the number of processes on this node (2), got 2 (torchrun)',
    ],
    [
      { RANK: '0', WORLD_SIZE: '2', LOCAL_RANK: '0', LOCAL_WORLD_SIZE: '8' },
      "`LOCAL_WORLD_SIZE` must be in [1, WORLD_SIZE] = [1, 2] (the processes on this node are some of the run's), got LOCAL_WORLD_SIZE=8 with WORLD_SIZE=2 (torchrun)",
    ],
    [
      { RANK: '0', WORLD_SIZE: '2', LOCAL_RANK: '0', LOCAL_WORLD_SIZE: '0' },
      "`LOCAL_WORLD_SIZE` must be in [1, WORLD_SIZE] = [1, 2] (the processes on this node are some of the run's), got LOCAL_WORLD_SIZE=0 with WORLD_SIZE=2 (torchrun)",
    ],
    [
      { OMPI_COMM_WORLD_RANK: '1', OMPI_COMM_WORLD_SIZE: '2', OMPI_COMM_WORLD_LOCAL_SIZE: '4' },
      "`OMPI_COMM_WORLD_LOCAL_SIZE` must be in [1, OMPI_COMM_WORLD_SIZE] = [1, 2] (the processes on this node are some of the run's), got OMPI_COMM_WORLD_LOCAL_SIZE=4 with OMPI_COMM_WORLD_SIZE=2 (openmpi)",
    ],
    [
      {
        SLURM_STEP_ID: '0',
        SLURM_PROCID: '1',
        SLURM_NTASKS: '2',
        SLURM_NODEID: '0',
        SLURM_STEP_TASKS_PER_NODE: '4',
      },
      "`SLURM_STEP_TASKS_PER_NODE` must be in [1, SLURM_NTASKS] = [1, 2] (the processes on this node are some of the run's), got SLURM_STEP_TASKS_PER_NODE=4 with SLURM_NTASKS=2 (slurm)",
    ],
    [
      { RANK: '0', WORLD_SIZE: '4', GROUP_RANK: '3', GROUP_WORLD_SIZE: '2' },
      '`GROUP_RANK` must be in [0, GROUP_WORLD_SIZE - 1] = [0, 1], got 3 (torchrun)',
    ],
    [
      { SLURM_STEP_ID: '0', SLURM_PROCID: '1', SLURM_NTASKS: '2', SLURM_NODEID: '2', SLURM_NNODES: '2' },
      '`SLURM_NODEID` must be in [0, SLURM_NNODES - 1] = [0, 1], got 2 (slurm)',
    ],
    [
      { RANK: '0', WORLD_SIZE: '2', MASTER_PORT: '70000' },
      '`MASTER_PORT` must be a port in [1, 65535], got "70000"',
    ],
  ])('rejects %j', (env, message) => {
    expect(thrown(() => distributedEnv(env))).toBe(message);
  });

  it('lets values set in code win', () => {
    const torchrun = LAUNCHES.torchrun?.(3) ?? {};
    expect(distributedEnv(torchrun, { rank: 0 })).toMatchObject({
      rank: 0,
      worldSize: 4,
      source: 'override',
    });
    // Both given: the environment's launcher variables are not read (the way out of a contradiction).
    const broken = { OMPI_COMM_WORLD_RANK: '1', OMPI_COMM_WORLD_SIZE: '4', PMI_RANK: '2', PMI_SIZE: '4' };
    expect(distributedEnv(broken, { rank: 1, worldSize: 4 })).toMatchObject({
      rank: 1,
      worldSize: 4,
      localRank: 1,
      source: 'override',
      ignored: [],
    });
    expect(thrown(() => distributedEnv({}, { rank: 1 }))).toBe(
      '`overrides.rank` must be in [0, worldSize - 1] = [0, 0], got 1 (override)',
    );
    expect(thrown(() => distributedEnv({}, { worldSize: 0 }))).toBe(
      '`overrides.worldSize` must be a positive integer, got 0',
    );
    expect(thrown(() => distributedEnv({}, { rnak: 1 } as never))).toBe(
      'invalid overrides: `overrides.rnak` is not a known option (did you mean `overrides.rank`?)',
    );
    expect(thrown(() => distributedEnv(null as never))).toBe(
      '`env` must be an object of environment variables, got null',
    );
  });
});

describe('ShardedEvalSampler', () => {
  it('shards without duplicates; padded, every shard has the same length and says what is real', () => {
    fc.assert(
      fc.property(fc.nat({ max: 60 }), fc.integer({ min: 1, max: 9 }), fc.boolean(), (n, R, pad) => {
        const shards = range(R).map(
          (rank) => new ShardedEvalSampler(sized(n), { numReplicas: R, rank, pad }),
        );
        const real = shards.flatMap((s) => [...s.indices()].slice(0, s.realLength));
        expect(real.sort((a, b) => a - b)).toEqual(range(n));
        for (const [rank, s] of shards.entries()) {
          expect([...s].slice(0, s.realLength)).toEqual(range(n).filter((i) => i % R === rank));
          expect(s.length).toBe(pad ? Math.ceil(n / R) : s.realLength);
          for (const i of s) expect(i).toBeLessThan(n);
        }
      }),
    );
    const s = new ShardedEvalSampler(sized(2), { numReplicas: 4, rank: 3, pad: true });
    expect([...s]).toEqual([1]);
    expect(s.realLength).toBe(0);
    expect(thrown(() => new ShardedEvalSampler(sized(2), { numReplicas: 4, rank: 0, pad: 1 as never }))).toBe(
      '`pad` must be a boolean, got 1',
    );
  });
});

describe('argument checks', () => {
  // Each of these stopped at its first problem before.
  it('report every problem at once', () => {
    expect(
      thrown(() => new ShardedEvalSampler(sized(2), { numReplicas: 0, rank: -1, pad: 1 as never })),
    ).toBe(
      '`numReplicas` must be a positive integer, got 0; `rank` must be a non-negative integer, got -1; `pad` must be a boolean, got 1',
    );
    expect(thrown(() => rankBatchSize(0, 1.5))).toBe(
      '`globalBatchSize` must be a positive integer, got 0; `worldSize` must be a positive integer, got 1.5',
    );
    expect(thrown(() => distributedEnv(null as never, { rank: -1, worldSize: 0 }))).toBe(
      '`env` must be an object of environment variables, got null; `overrides.rank` must be a non-negative integer, got -1; `overrides.worldSize` must be a positive integer, got 0',
    );
    expect(thrown(() => distributedEnv({ RANK: '4', WORLD_SIZE: '4', MASTER_PORT: '70000' }))).toBe(
      '`RANK` must be in [0, WORLD_SIZE - 1] = [0, 3], got 4 (torchrun); `MASTER_PORT` must be a port in [1, 65535], got "70000"',
    );
    expect(
      thrown(() => distributedSamplers({ train: sized(10), env: { rank: 3, worldSize: 3 }, seed: -1 })),
    ).toBe(
      'invalid distributedSamplers options: `seed` must be a non-negative integer, got -1; `env.rank` must be in [0, env.worldSize - 1] = [0, 2], got 3',
    );
    expect(thrown(() => gatherInOrder(5 as never, -1))).toBe(
      '`parts` must be an array, got 5; `length` must be a non-negative integer, got -1',
    );
  });
});

/** Every rank's interleaved sampler, built as a data-parallel program would. */
function ranks(
  R: number,
  options: { train: number; test: number; batchSize: number; testBatch: number; dropLast?: boolean },
) {
  return range(R).map(
    (rank) =>
      new InterleavedSampler({
        ...distributedSamplers({
          train: sized(options.train),
          env: { rank, worldSize: R },
          seed: 3,
          dropLast: options.dropLast ?? true,
          callbacks: [
            { dataset: sized(options.test), everyNEpochs: 1, name: 'test', batchSize: options.testBatch },
            { dataset: sized(3), everyNUpdates: 2, name: 'quick', batchSize: 2 },
          ],
        }),
        config: { batchSize: options.batchSize, maxEpochs: 2 },
      }),
  );
}

describe('distributedSamplers', () => {
  it('gives every rank every pass, with the same batches and tags, and counts each test item once', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 30 }),
        (R, test, testBatch, batchSize, trainExtra) => {
          const samplers = ranks(R, { train: R + trainExtra, test, batchSize, testBatch });
          const streams = samplers.map((s) => [...s.batches()]);
          // Tags without the rank's own indices and real counts: identical on every rank.
          const tags = streams.map((bs) =>
            bs.map((b) => {
              const { indices: _, ...rest } = b;
              if (rest.source === 'train') return rest;
              const { real: __, ...tag } = rest;
              return tag;
            }),
          );
          for (const t of tags) expect(t).toEqual(tags[0]);
          const plans = samplers.map((s) => s.plan());
          for (const p of plans) expect(p).toEqual(plans[0]);
          // Gathering the real items of every pass: each test item exactly once.
          const offset = samplers[0]?.indexOffsets[0] as number;
          const passes = new Map<string, { indices: number[]; values: number[] }[]>();
          streams.forEach((bs, rank) => {
            for (const b of bs) {
              if (b.source !== 'callback' || b.name !== 'test') continue;
              const key = `${b.pass}`;
              const parts = passes.get(key) ?? range(R).map(() => ({ indices: [], values: [] }));
              passes.set(key, parts);
              const real = [...b.indices.slice(0, b.real)].map((i) => i - offset);
              parts[rank]?.indices.push(...real);
              parts[rank]?.values.push(...real);
              expect(b.real).toBeLessThanOrEqual(b.indices.length);
            }
          });
          expect(passes.size).toBe(test === 0 ? 0 : 2);
          for (const parts of passes.values()) expect(gatherInOrder(parts, test)).toEqual(range(test));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('4 ranks, 2 test items: the empty ranks still see every pass, all masked', () => {
    const samplers = ranks(4, { train: 40, test: 2, batchSize: 2, testBatch: 4 });
    const tests = samplers.map((s) =>
      [...s.batches()].filter((b): b is CallbackIndexBatch => b.source === 'callback' && b.name === 'test'),
    );
    expect(tests.map((t) => t.map((b) => [b.pass, b.batch, b.last, b.real, b.indices.length]))).toEqual([
      [
        [1, 0, true, 1, 1],
        [2, 0, true, 1, 1],
      ],
      [
        [1, 0, true, 1, 1],
        [2, 0, true, 1, 1],
      ],
      [
        [1, 0, true, 0, 1],
        [2, 0, true, 0, 1],
      ],
      [
        [1, 0, true, 0, 1],
        [2, 0, true, 0, 1],
      ],
    ]);
  });

  it('4 ranks, 17 test items, batches of 4: two batches per pass on every rank', () => {
    const plans = ranks(4, { train: 40, test: 17, batchSize: 2, testBatch: 4 }).map((s) => s.plan());
    expect(plans.map((p) => p.callbacks[0]?.batchesPerPass)).toEqual([2, 2, 2, 2]);
    expect(plans[0]?.callbacks[0]?.samplesPerPass).toBe(17); // over all ranks, padding excluded
  });

  it('pads training like torch with dropLast: false', () => {
    const shards = range(4).map(
      (rank) =>
        distributedSamplers({ train: sized(10), env: { rank, worldSize: 4 }, dropLast: false }).trainSampler,
    );
    expect(shards.map((s) => s.length)).toEqual([3, 3, 3, 3]);
    const all = shards.flatMap((s) => [...s]);
    expect(new Set(all)).toEqual(new Set(range(10)));
    expect(all).toHaveLength(12); // two items twice, as torch does
    const dropped = range(4).map(
      (rank) => distributedSamplers({ train: sized(10), env: { rank, worldSize: 4 } }).trainSampler,
    );
    expect(dropped.map((s) => [s.length, s.dropLast])).toEqual(range(4).map(() => [2, true]));
  });

  it('rejects unknown options and says when sharding empties a rank', () => {
    const env = { rank: 2, worldSize: 3 };
    expect(thrown(() => distributedSamplers({ train: sized(10), env, dropLst: false } as never))).toBe(
      'invalid distributedSamplers options: `dropLst` is not a known option (did you mean `dropLast`?)',
    );
    expect(
      thrown(() =>
        distributedSamplers({
          train: sized(10),
          env,
          callbacks: [{ dataset: sized(3), everyNEpoch: 1 }],
        } as never),
      ),
    ).toBe(
      'invalid distributedSamplers options: `callbacks[0].everyNEpoch` is not a known option (did you mean `callbacks[0].everyNEpochs`?); exactly one of `callbacks[0].everyNEpochs`, `callbacks[0].everyNUpdates`, `callbacks[0].everyNSamples` must be set, got none',
    );
    expect(thrown(() => distributedSamplers({ train: sized(10), env, seed: -1 }))).toBe(
      'invalid distributedSamplers options: `seed` must be a non-negative integer, got -1',
    );
    expect(thrown(() => distributedSamplers({ train: 5 as never, env }))).toBe(
      'invalid distributedSamplers options: `train` must be a dataset (an object with a non-negative integer `length`), got 5',
    );
    expect(thrown(() => distributedSamplers({ train: sized(2), env }))).toBe(
      'rank 2 has no training items: sharding `train` (2 items) over 3 ranks with `dropLast: true` leaves every rank without a training item (2 < 3); use `dropLast: false` (each rank repeats items) or fewer ranks',
    );
    expect(distributedSamplers({ train: sized(2), env, dropLast: false }).trainSampler.length).toBe(1);
    expect(
      thrown(() =>
        distributedSamplers({
          train: sized(9),
          env: { rank: 0, worldSize: 4 },
          padEval: false,
          callbacks: [{ dataset: sized(2), everyNEpochs: 1 }],
        }),
      ),
    ).toBe(
      'sharding `callbacks[0].dataset` (2 items) over 4 ranks without padding leaves ranks 2..3 with no batch of its passes, so they would not see a pass the others run; keep `padEval: true`',
    );
    // A hand-built shard that ends up empty: the interleaved sampler says why.
    expect(
      thrown(
        () =>
          new InterleavedSampler({
            trainSampler: new DistributedSampler(sized(2), { numReplicas: 3, rank: 0, dropLast: true }),
            config: { batchSize: 1, maxEpochs: 1 },
          }),
      ),
    ).toBe(
      'invalid InterleavedSampler: `trainSampler` is empty (length 0) (sharding its 2 items over 3 ranks left this rank none; see distributedSamplers): training would never reach a limit; use `evaluation: true` to only run the callbacks',
    );
  });

  it('rankBatchSize divides a global batch over the ranks', () => {
    expect(rankBatchSize(48, 4)).toBe(12);
    expect(thrown(() => rankBatchSize(48, 5))).toBe(
      'the global batch size 48 does not divide over 5 ranks; choose a global batch size that is a multiple of every world size you run on',
    );
  });

  it('gatherInOrder names a missing, duplicate or stray index', () => {
    expect(thrown(() => gatherInOrder([{ indices: [1], values: [1] }], 2), WeftError)).toBe(
      'index 0 was not evaluated by any rank',
    );
    expect(
      thrown(
        () =>
          gatherInOrder(
            [
              { indices: [0, 2], values: [0, 2] },
              { indices: [1, 2], values: [1, 2] },
            ],
            3,
          ),
        WeftError,
      ),
    ).toBe('index 2 was evaluated twice: in parts[0] and in parts[1]');
    expect(thrown(() => gatherInOrder([{ indices: [5], values: [1] }], 2), WeftError)).toBe(
      '`parts[0].indices[0]` must be an index in [0, 1] (length 2), got 5',
    );
  });
});

describe('global counting', () => {
  const build = (rank: number, config: Record<string, number>) =>
    new InterleavedSampler({
      ...distributedSamplers({
        train: sized(100),
        env: { rank, worldSize: 3 },
        callbacks: [{ dataset: sized(6), everyNSamples: 48, name: 'every48', batchSize: 2 }],
      }),
      config: { batchSize: 4, ...config },
    });

  it('counts samples over all ranks: tags, limits, everyNSamples, plan and state agree', async () => {
    const s = build(1, { maxSamples: 288 });
    const train = [...s.batches()].filter((b) => b.source === 'train');
    expect(train).toHaveLength(24); // 288 samples = 24 updates of 4 on each of 3 ranks (3 epochs of 96)
    expect(train.map((b) => b.position.sample)).toEqual(range(24).map((k) => 12 * (k + 1)));
    expect(train.filter((b) => b.passesAfter.length).map((b) => b.position.update)).toEqual([
      4, 8, 12, 16, 20, 24,
    ]);
    const plan = s.plan();
    expect(plan).toMatchObject({
      worldSize: 3,
      samples: 288,
      updates: 24,
      end: { epoch: 3, update: 24, sample: 288 },
    });
    expect(plan.callbacks[0]).toMatchObject({ samplesPerPass: 6, passes: 6 });
    expect([...(plan.callbacks[0]?.afterUpdates ?? [])]).toEqual([4, 8, 12, 16, 20, 24]);
    expect(formatPlan(plan)).toContain(
      'world size 3: samples count all ranks together; batches and updates are per rank, the same on every rank',
    );
    const loader = s.getDataLoader();
    const states: ResumeState[] = [];
    for await (const b of loader) if (b.source === 'train') states.push(loader.state());
    expect(states[4]).toEqual({
      epoch: 0,
      update: 5,
      sample: 60,
      trainSampler: { type: 'DistributedSampler', seed: 0, shuffle: true },
      seed: 0,
      worldSize: 3,
      globalBatchSize: 12,
      datasetLength: 100,
      epochSamples: 96,
    });
    // A start given in samples is global too, and must fall on a global update boundary.
    expect(build(0, { maxEpochs: 1, startSample: 24 }).start).toEqual({ epoch: 0, update: 2, sample: 24 });
    expect(thrown(() => build(0, { maxEpochs: 1, startSample: 32 }))).toBe(
      'invalid InterleavedSampler: `startSample` must fall on an update boundary: 32 is 32 samples into epoch 0, not a multiple of the global batch size 12 (4 × 3 ranks)',
    );
  });

  it('weft plan takes a world size and shows global samples', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-plan-'));
    const file = join(dir, 'plan.json');
    writeFileSync(
      file,
      JSON.stringify({
        trainSize: 100,
        worldSize: 4,
        config: { batchSize: 3, maxEpochs: 2 },
        callbacks: [{ name: 'test', size: 17, everyNEpochs: 1, batchSize: 4 }],
      }),
    );
    const { table } = await planFile(file);
    expect(table).toContain('epochs 2, updates 16, samples 192');
    expect(table).toMatch(/test\s+2\s+4\s+34\s+8, 16/); // 2 batches per pass on every rank, 17 items per pass
    expect(table).toContain('world size 4');
  });
});

describe('elastic resume', () => {
  const G = 12;
  const build = (
    R: number,
    rank: number,
    opts: { n?: number; dropLast?: boolean; batchSize?: number } = {},
  ) =>
    new InterleavedSampler({
      ...distributedSamplers({
        train: sized(opts.n ?? 100),
        env: { rank, worldSize: R },
        seed: 5,
        dropLast: opts.dropLast ?? true,
        callbacks: [
          { dataset: sized(7), everyNSamples: 30, name: 'samples', batchSize: 2 },
          { dataset: sized(5), everyNUpdates: 5, name: 'updates' },
          { dataset: sized(9), everyNEpochs: 1, name: 'epochs', batchSize: 4 },
        ],
      }),
      config: { batchSize: opts.batchSize ?? G / R, maxEpochs: 3, dropLast: opts.dropLast ?? true },
    });

  /** All ranks of a run: per update the global set of training samples, the passes, and rank 0's states. */
  async function run(R: number, resume?: ResumeState) {
    const updates = new Map<number, number[]>();
    const passes: string[][] = [];
    const states = new Map<number, ResumeState>();
    for (const rank of range(R)) {
      const loader = build(R, rank).getDataLoader(resume ? { resume } : {});
      const seen: string[] = [];
      for await (const b of loader) {
        if (b.source === 'train') {
          const u = b.position.update;
          updates.set(
            u,
            [...(updates.get(u) ?? []), ...b.indices].sort((x, y) => x - y),
          );
          const state = loader.state();
          if (rank === 0) states.set(u, state);
          else expect(state).toEqual(states.get(u)); // the same state on every rank
        } else if (b.last) {
          seen.push(`${b.name} ${b.pass} after ${b.afterUpdate}`);
        }
      }
      passes.push(seen);
      await loader.close();
    }
    for (const p of passes) expect(p).toEqual(passes[0]);
    return { updates, passes: passes[0] as string[], states };
  }

  it('continues a 4-rank run on 3 and on 2 ranks exactly: every later update covers the same samples', async () => {
    const full = await run(4);
    expect(full.updates.size).toBe(24); // 8 updates of 12 per epoch (100 items), 3 epochs
    for (const samples of full.updates.values()) expect(new Set(samples).size).toBe(G);
    for (const at of [5, 8, 13]) {
      const state = JSON.parse(JSON.stringify(full.states.get(at))) as ResumeState;
      expect(state).toMatchObject({ update: at, worldSize: 4, globalBatchSize: 12, sample: at * G });
      for (const R of [3, 2]) {
        const resumed = await run(R, state);
        const later = [...full.updates.keys()].filter((u) => u > at);
        expect([...resumed.updates.keys()], `4 → ${R} at update ${at}`).toEqual(later);
        for (const u of later)
          expect(resumed.updates.get(u), `update ${u}, 4 → ${R}`).toEqual(full.updates.get(u));
        // Callback passes on the same updates, with the same numbers (those due after `at` are replayed).
        const after = (p: string) => Number(p.split(' after ')[1]) >= at;
        expect(resumed.passes).toEqual(full.passes.filter(after));
        expect(resumed.states.get(24)).toMatchObject({ ...full.states.get(24), worldSize: R });
      }
    }
  });

  it('refuses what cannot continue exactly, naming what changed', () => {
    const state = (R: number, opts: Parameters<typeof build>[2] = {}): ResumeState => ({
      epoch: 0,
      update: 5,
      sample: 60,
      ...build(R, 0, opts).orderState,
      ...build(R, 0, opts).distributedState,
    });
    const saved = state(4);
    expect(thrown(() => build(3, 0, { batchSize: 3 }).resumeFrom(saved))).toBe(
      '`state` cannot be continued exactly here: the global batch size changed: 12 in the state (saved on 4 ranks), 9 now (batchSize 3 × 3 ranks); on 3 ranks use `batchSize: 4` (rankBatchSize(12, 3))',
    );
    expect(thrown(() => build(5, 0, { batchSize: 2 }).resumeFrom(saved))).toBe(
      '`state` cannot be continued exactly here: the global batch size changed: 12 in the state (saved on 4 ranks), 10 now (batchSize 2 × 5 ranks); 12 does not divide over 5 ranks, so no batch size continues it there',
    );
    expect(thrown(() => build(3, 0, { n: 101 }).resumeFrom(saved))).toBe(
      '`state` cannot be continued exactly here: the training dataset length changed: 100 in the state, 101 now',
    );
    // Torch's padding with a partial last batch makes an epoch's length depend on the number of ranks.
    expect(thrown(() => build(3, 0, { dropLast: false }).resumeFrom(state(4, { dropLast: false })))).toBe(
      '`state` cannot be continued exactly here: the world size changed from 4 to 3 and an epoch then covers 102 samples instead of 100: with `dropLast: false` (training shards or config) the padded or partial tail depends on the number of ranks; resume on 4 ranks, or train with `dropLast: true`',
    );
    expect(
      thrown(() =>
        new InterleavedSampler({
          trainSampler: new SequentialSampler(sized(100)),
          config: { batchSize: 12, maxEpochs: 1 },
        }).resumeFrom(saved),
      ),
    ).toBe(
      '`state` was saved by a data-parallel run (world size 4) but this training sampler is not a shard (no `numReplicas`): build it with distributedSamplers, or give a MixtureSampler `numReplicas` and `rank`',
    );
    expect(() => build(2, 1).resumeFrom(saved)).not.toThrow();
  });
});

describe('the README', () => {
  it('shows exactly the program the mpirun test runs', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const program = readFileSync(new URL('../examples/distributed.mjs', import.meta.url), 'utf8');
    expect(readme).toContain(`\`\`\`js\n${program}\`\`\``);
  });
});
