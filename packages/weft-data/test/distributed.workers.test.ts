// Data-parallel runs as real processes: simulated launchers (torchrun's variables; an sbatch batch
// environment around mpirun's), and a real Open MPI `mpirun` running the README's program
// (examples/distributed.mjs) on 3 and 4 ranks, each rank with a worker thread.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { gatherInOrder, Random } from '../src/index.ts';

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Runs a command to its end; rejects with its stderr on a non-zero exit or after `timeoutMs`. */
function run(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 90_000,
): Promise<{ stdout: string; stderr: string }> {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} did not finish in ${timeoutMs} ms (a hang?): ${stderr}`));
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    // 'close' comes after the exit and after stdout and stderr have ended: all output is in.
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve({ stdout, stderr });
      else reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr}`));
    });
  });
}

// Launcher variables of the test runner itself must not leak into the simulated ranks.
const clean = Object.fromEntries(
  Object.entries(process.env).filter(
    ([k]) => !/^(RANK|WORLD_SIZE|LOCAL_|OMPI_|PMIX_|PMI_|SLURM_|MV2_)/.test(k),
  ),
);

interface RankReport {
  env: { rank: number; worldSize: number; source: string; ignored: string[] };
  train: number[][];
  schedule: string[];
  passes: Record<string, { batches: number; indices: number[] }>;
}

const fixture = fileURLToPath(new URL('./fixtures/ddp-worker.ts', import.meta.url));
const rank = async (env: Record<string, string>): Promise<RankReport> =>
  JSON.parse((await run(process.execPath, ['--import', 'tsx', fixture], { ...clean, ...env })).stdout);

/** What every data-parallel run must show, whatever launched it. */
function checkRun(ranks: RankReport[], R: number): void {
  expect(ranks.map((r) => r.env.rank)).toEqual(range(R));
  // Training: per epoch, disjoint shards covering the shuffled order less its tail.
  const perRank = Math.floor(50 / R);
  for (let epoch = 0; epoch < 3; epoch++) {
    const all = ranks.flatMap((r) => r.train[epoch] ?? []);
    expect(new Set(all).size).toBe(perRank * R);
    const kept = [...new Random(7, epoch).permutation(50)].slice(0, perRank * R);
    expect(all.sort((a, b) => a - b)).toEqual(kept.sort((a, b) => a - b));
  }
  // One schedule, evaluation batches included: the same tags, batch counts and `last` on every rank.
  for (const r of ranks) expect(r.schedule).toEqual(ranks[0]?.schedule);
  // Every pass covers its dataset exactly once over the ranks.
  for (const key of Object.keys(ranks[0]?.passes ?? {})) {
    const parts = ranks.map((r) => ({
      indices: r.passes[key]?.indices ?? [],
      values: r.passes[key]?.indices ?? [],
    }));
    expect(gatherInOrder(parts, key.startsWith('test') ? 17 : 2)).toEqual(
      range(key.startsWith('test') ? 17 : 2),
    );
  }
}

describe('simulated launchers, one process per rank', () => {
  it('torchrun: 3 ranks', async () => {
    const ranks = await Promise.all(
      range(3).map((r) =>
        rank({ RANK: String(r), WORLD_SIZE: '3', LOCAL_RANK: String(r), LOCAL_WORLD_SIZE: '3' }),
      ),
    );
    expect(ranks.map((r) => r.env.source)).toEqual(['torchrun', 'torchrun', 'torchrun']);
    checkRun(ranks, 3);
    const schedule = ranks[0]?.schedule ?? [];
    expect(schedule.filter((s) => s.startsWith('test'))).toEqual([
      'test pass 1 after 4 batch 0',
      'test pass 1 after 4 batch 1 last',
      'test pass 2 after 8 batch 0',
      'test pass 2 after 8 batch 1 last',
      'test pass 3 after 12 batch 0',
      'test pass 3 after 12 batch 1 last',
    ]);
    expect(schedule).toContain('train epoch 1 update 4 sample 48 then [test]'); // samples of all 3 ranks
  });

  it('sbatch + mpirun: 4 ranks each get their MPI rank, not the batch script’s SLURM_PROCID=0', async () => {
    const batch = {
      SLURM_JOB_ID: '77',
      SLURM_PROCID: '0',
      SLURM_NTASKS: '4',
      SLURM_LOCALID: '0',
      SLURM_NODEID: '0',
    };
    const ranks = await Promise.all(
      range(4).map((r) =>
        rank({
          ...batch,
          OMPI_COMM_WORLD_RANK: String(r),
          OMPI_COMM_WORLD_SIZE: '4',
          OMPI_COMM_WORLD_LOCAL_RANK: String(r),
          OMPI_COMM_WORLD_LOCAL_SIZE: '4',
          PMIX_RANK: String(r),
        }),
      ),
    );
    expect(ranks.map((r) => [r.env.source, r.env.worldSize, r.env.ignored.length])).toEqual(
      range(4).map(() => ['openmpi', 4, 1]),
    );
    checkRun(ranks, 4);
  });
});

// The real thing: Open MPI's mpirun. CI installs openmpi-bin (.ci/run) and must run this; elsewhere it is
// skipped, with the reason in its name, only when mpirun is missing.
const hasMpirun = spawnSync('mpirun', ['--version'], { stdio: 'ignore' }).status === 0;
const mpiIt = hasMpirun || process.env.CI ? it : it.skip;
const why =
  hasMpirun || process.env.CI ? '' : ' [SKIPPED: mpirun not found; apt-get install openmpi-bin, CI runs it]';
if (why !== '') console.warn(`distributed.workers.test.ts: the real mpirun tests are skipped:${why}`);
const example = fileURLToPath(new URL('../examples/distributed.mjs', import.meta.url));

interface ExampleReport {
  env: { rank: number; worldSize: number; source: string };
  train: number[][];
  schedule: string[];
  passes: Record<string, { batches: number; real: number; globalReal: number }>;
  w: number;
  b: number;
}

/** Runs the example on `n` ranks into `out` (a new folder unless given). */
async function mpirun(
  n: number,
  testItems: number,
  out = mkdtempSync(join(tmpdir(), `weft-mpirun-${n}-`)),
  extra: string[] = [],
): Promise<{ out: string; reports: ExampleReport[] }> {
  if (!existsSync(fileURLToPath(new URL('../dist/index.js', import.meta.url)))) {
    throw new Error(
      'examples/distributed.mjs imports the built package: run `npm run build -w weft-data` first',
    );
  }
  const args = ['--allow-run-as-root', '--oversubscribe', '-n', String(n), process.execPath, example];
  await run(
    'mpirun',
    [...args, '--out', out, '--test', String(testItems), '--workers', '1', ...extra],
    clean,
  );
  const reports = range(n).map(
    (r) => JSON.parse(readFileSync(join(out, `report.rank${r}.json`), 'utf8')) as ExampleReport,
  );
  return { out, reports };
}

describe(`a real mpirun (Open MPI) running examples/distributed.mjs${why}`, () => {
  /** The model each run trained in a fresh folder, by `${n}-${testItems}`, for the reruns below. */
  const fresh = new Map<string, { out: string; w: number; b: number }>();
  for (const [n, testItems] of [
    [3, 17],
    [4, 17],
    [4, 2],
  ] as const) {
    mpiIt(
      `${n} ranks, ${testItems} test items: disjoint shards, one schedule, every item once, no hang`,
      async () => {
        const { out, reports } = await mpirun(n, testItems);
        fresh.set(`${n}-${testItems}`, {
          out,
          w: reports[0]?.w ?? Number.NaN,
          b: reports[0]?.b ?? Number.NaN,
        });
        // One model on every rank, trained towards y = 3x + 1.
        for (const r of reports) expect([r.w, r.b]).toEqual([reports[0]?.w, reports[0]?.b]);
        expect(reports[0]?.b).toBeGreaterThan(0.5);
        expect(reports.map((r) => [r.env.rank, r.env.worldSize, r.env.source])).toEqual(
          range(n).map((r) => [r, n, 'openmpi']),
        );
        // Disjoint training shards: per epoch, 96 items split over the ranks, none twice.
        for (let epoch = 0; epoch < 3; epoch++) {
          const all = reports.flatMap((r) => r.train[epoch] ?? []);
          expect(all).toHaveLength(96);
          expect(new Set(all).size).toBe(96);
        }
        // One schedule on every rank, with global sample counts (24 updates of 12).
        for (const r of reports) expect(r.schedule).toEqual(reports[0]?.schedule);
        expect(reports[0]?.schedule).toContain('update 24 sample 288 then [test]');
        // Every pass: the same number of batches on every rank, and every test item counted once.
        const keys = Object.keys(reports[0]?.passes ?? {});
        expect(keys).toEqual(['test-1', 'test-2', 'test-3']);
        for (const key of keys) {
          const counts = reports.map((r) => r.passes[key]);
          expect(new Set(counts.map((c) => c?.batches)).size).toBe(1);
          expect(counts.reduce((s, c) => s + (c?.real ?? 0), 0)).toBe(testItems);
          for (const c of counts) expect(c?.globalReal).toBe(testItems); // the per-batch all-reduces agree
          const gathered = JSON.parse(readFileSync(join(out, `${key}.gathered.json`), 'utf8'));
          expect(gathered.items).toBe(testItems); // gatherInOrder saw each item exactly once
          expect(gathered.ranks).toBe(n); // the all-gather after the pass: every rank arrived
        }
        // The run's exchange files are gone: only its results stay in OUT.
        expect(readdirSync(out).filter((f) => f.startsWith('gather-'))).toEqual([]);
        if (testItems < n) {
          // Ranks without a test item still ran every pass, with all-masked batches.
          for (const r of reports.slice(testItems))
            for (const key of keys) expect(r.passes[key]?.real).toBe(0);
        }
      },
    );
  }

  mpiIt(
    'rerun into the same OUT, on as many or on other ranks: the same model as in a fresh folder',
    async () => {
      const four = fresh.get('4-17');
      const three = fresh.get('3-17');
      if (four === undefined || three === undefined)
        throw new Error('the 3- and 4-rank runs above must run first');
      const again = await mpirun(4, 17, four.out);
      expect(again.reports.map((r) => [r.w, r.b])).toEqual(range(4).map(() => [four.w, four.b]));
      const fewer = await mpirun(3, 17, four.out);
      expect(fewer.reports.map((r) => [r.w, r.b])).toEqual(range(3).map(() => [three.w, three.b]));
      expect(readdirSync(four.out).filter((f) => f.startsWith('gather-'))).toEqual([]);
    },
  );

  mpiIt('refuses the exchange folder of an earlier run with the same run id, naming it', async () => {
    const out = mkdtempSync(join(tmpdir(), 'weft-mpirun-stale-'));
    mkdirSync(join(out, 'gather-r1')); // as a run that stopped midway leaves it
    const failed = await mpirun(2, 17, out, ['--run-id', 'r1']).then(
      () => 'no error',
      (e: Error) => e.message,
    );
    expect(failed).toContain(
      `Error: ${join(out, 'gather-r1')} is left from an earlier run with the same run id (it stopped before the end, or --run-id was reused): delete it, or pass a new --run-id\n`,
    );
    // A new run id runs.
    const { reports } = await mpirun(2, 17, out, ['--run-id', 'r2']);
    expect(reports.map((r) => r.env.worldSize)).toEqual([2, 2]);
  });
});
