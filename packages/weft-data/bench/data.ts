/**
 * `npm run bench:data`: measurements of datasets over real amounts of data (issue 11), each a named entry of
 * MEASUREMENTS below: add a new one there. Every variant runs in a fresh child process (so that heaps and
 * page counts of one variant never leak into another), REPS times, variants side by side in each round;
 * medians are reported. The library is used as compiled JavaScript (`dist`, rebuilt here when older than
 * `src`), as an application would.
 *
 * Last lines, one per measurement: `name: value`.
 *
 * - `pss_growth_per_worker_mib`: a 300 MiB TensorDataset (rows of 784 float32 + an int32 label), one epoch
 *   (batch 256, shuffled) with 0, 2 and 4 workers; proportional set size of the process
 *   (/proc/self/smaps_rollup) after the epoch, workers still alive, minus the 0-worker figure, per worker.
 *   The larger of the 2- and 4-worker figures; the same for a 1.2 GiB table, and, for comparison, an
 *   ArrayDataset of the same rows as Float32Arrays, are printed above. Target ≤ 40 MiB per worker.
 * - `first_batch_ms_fresh_2_workers`: a new 2-worker loader over the 300 MiB table, from construction to
 *   its first batch (workers started, dataset received, batch loaded). Target ≤ 100 ms.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const REPS = Number(process.env.REPS ?? 3);
const dist = new URL('../dist/index.js', import.meta.url);

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2
    ? (s[s.length >> 1] as number)
    : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};

/** One named measurement: runs its variants and returns the headline figure (printed last). */
interface Measurement {
  readonly name: string;
  readonly run: () => number;
}

// --- Child processes. ------------------------------------------------------------------------------------
// Each variant runs in `data-child.mjs` under plain node: a child started through tsx would pass tsx's loader
// on to the loader's workers (they inherit `execArgv`), which is not what an application pays.

/** What one child process measures. */
type Child =
  | { task: 'pss'; mib: number; workers: number; kind: 'tensor' | 'array' }
  | { task: 'first-batch'; mib: number; reps: number };

const childScript = fileURLToPath(new URL('./data-child.mjs', import.meta.url));

/** Runs `spec` in a fresh process (this file, in child mode) and returns what it printed. */
function inChild<R>(spec: Child): R {
  const args = ['--expose-gc', childScript, JSON.stringify(spec)];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`child ${JSON.stringify(spec)} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() as string) as R;
}

// --- The measurements. ----------------------------------------------------------------------------------

const pssGrowth: Measurement = {
  name: 'pss_growth_per_worker_mib',
  run: () => {
    const variants = [
      { mib: 300, kind: 'tensor', workers: [0, 2, 4] },
      { mib: 1200, kind: 'tensor', workers: [0, 2, 4] },
      { mib: 300, kind: 'array', workers: [0, 2] },
    ] as const;
    const pss = new Map<string, { before: number; after: number }[]>();
    for (let rep = 0; rep < REPS; rep++) {
      for (const v of variants) {
        for (const workers of v.workers) {
          const key = `${v.kind} ${v.mib} ${workers}`;
          const got = inChild<{ before: number; after: number }>({
            task: 'pss',
            mib: v.mib,
            workers,
            kind: v.kind,
          });
          pss.set(key, [...(pss.get(key) ?? []), got]);
        }
      }
    }
    const at = (kind: string, mib: number, workers: number) => {
      const runs = pss.get(`${kind} ${mib} ${workers}`) ?? [];
      return {
        after: median(runs.map((r) => r.after)),
        growth: median(runs.map((r) => r.after - r.before)),
      };
    };
    let headline = 0;
    for (const v of variants) {
      const base = at(v.kind, v.mib, 0);
      const name = v.kind === 'tensor' ? 'TensorDataset' : 'ArrayDataset of Float32Array rows';
      console.log(
        `${name}, ${v.mib} MiB table: PSS after an in-process epoch ${base.after.toFixed(0)} MiB (+${base.growth.toFixed(1)} MiB during the epoch)`,
      );
      for (const workers of v.workers.slice(1)) {
        const { after, growth } = at(v.kind, v.mib, workers);
        const perWorker = (growth - base.growth) / workers;
        console.log(
          `  ${workers} workers: PSS ${after.toFixed(0)} MiB (+${growth.toFixed(1)} MiB during the epoch), ${perWorker.toFixed(1)} MiB per worker over in-process`,
        );
        if (v.kind === 'tensor' && v.mib === 300) headline = Math.max(headline, perWorker);
        if (v.kind === 'tensor' && v.mib === 1200) {
          console.log(`pss_growth_per_worker_mib_1200_mib_${workers}_workers: ${perWorker.toFixed(1)}`);
        }
      }
    }
    return Number(headline.toFixed(1));
  },
};

const firstBatch: Measurement = {
  name: 'first_batch_ms_fresh_2_workers',
  run: () => {
    const { times, cpu, bare } = inChild<{ times: number[]; cpu: number[]; bare: number[] }>({
      task: 'first-batch',
      mib: 300,
      reps: Math.max(5, REPS * 3),
    });
    console.log(
      `fresh 2-worker loader over a 300 MiB TensorDataset, to the first batch: ${times.map((t) => t.toFixed(0)).join(', ')} ms (first loader of the process: ${times[0]?.toFixed(0)} ms)`,
    );
    console.log(
      `  CPU time of the process (all threads) meanwhile: ${cpu.map((t) => t.toFixed(0)).join(', ')} ms; load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
    );
    console.log(
      `  floor, two bare worker_threads started side by side to their first message: median ${median(bare).toFixed(0)} ms (${bare.map((t) => t.toFixed(0)).join(', ')})`,
    );
    return Number(median(times).toFixed(1));
  },
};

const MEASUREMENTS: Measurement[] = [pssGrowth, firstBatch];

// --- Entry. ---------------------------------------------------------------------------------------------

/** Rebuilds `dist` when any source file is newer than it. */
function ensureBuilt(): void {
  const src = fileURLToPath(new URL('../src', import.meta.url));
  const newest = (dir: string): number =>
    Math.max(
      ...readdirSync(dir, { withFileTypes: true }).map((e) =>
        e.isDirectory() ? newest(`${dir}/${e.name}`) : statSync(`${dir}/${e.name}`).mtimeMs,
      ),
    );
  let built = 0;
  try {
    built = statSync(dist).mtimeMs;
  } catch {}
  if (built < newest(src)) {
    console.log('building dist (npm run build -w weft-data)');
    execFileSync('npm', ['run', '-s', 'build', '-w', 'weft-data'], { stdio: 'inherit' });
  }
}

ensureBuilt();
const only = process.env.ONLY?.split(',');
const chosen = MEASUREMENTS.filter((m) => only === undefined || only.includes(m.name));
console.log(`repetitions: ${REPS} (medians); node ${process.version}`);
const figures = chosen.map((m) => [m.name, m.run()] as const);
for (const [name, value] of figures) console.log(`${name}: ${value}`);
