/**
 * `npm run bench:memory` (builds first): what batch memory costs.
 *
 * 1. First touch: one 64 × 3 × 224 × 224 float32 batch (36.8 MiB) written into fresh memory and into memory
 *    written before; then a DataLoader of such batches (items written in place, a fill standing in for
 *    decoding), in-process and with 2 workers, with and without `reuseBatches`: milliseconds and minor page
 *    faults per batch after a warm-up epoch. Reused memory has no page to fault in.
 * 2. PSS per worker: a process of its own per run (bench/memory-child.mjs, the compiled library) loads an
 *    epoch of a TensorDataset of MIB MiB (default 128) with 0, 2 and 4 workers and reads its PSS
 *    (/proc/self/smaps_rollup). A worker's share is (PSS with 4 − PSS with 2) / 2: the calling thread's own
 *    memory differs with and without workers (in-process it makes every batch), not between 2 and 4. The
 *    same through torch's
 *    DataLoader (bench/torch_bench.py) when torch is importable (WEFT_TORCH_PYTHONPATH, else PYTHONPATH).
 * Medians over REPS repetitions (default 3), the variants alternated in each. Last lines:
 * `first_touch_ms_fresh`, `first_touch_ms_reused`, `loader_faults_per_batch_reused`, `pss_mib_per_worker`.
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Dataset } from '../src/core/dataset.ts';
import { fromModule } from '../src/core/recipe.ts';
import { DataLoader } from '../src/engine/data-loader.ts';
import { IMAGE } from './memory-data.ts';
import { torchJson } from './torch.ts';

const REPS = Number(process.env.REPS ?? 3);
const MIB = Number(process.env.MIB ?? 128);
const BATCH = 64;
const BATCHES = 8;
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1] as number;
};
const faults = (): number => process.resourceUsage().minorPageFault;

// --- 1. First touch. -------------------------------------------------------------------------------------
const floats = BATCH * IMAGE;
const written = new Float32Array(floats).fill(1);
const raw = { fresh: [] as number[], reused: [] as number[] };
for (let rep = 0; rep < Math.max(REPS, 5); rep++) {
  let t = performance.now();
  new Float32Array(floats).fill(rep);
  raw.fresh.push(performance.now() - t);
  t = performance.now();
  written.fill(rep);
  raw.reused.push(performance.now() - t);
}

const dataset = await fromModule<Dataset<unknown>>(new URL('./memory-data.ts', import.meta.url), 'images', {
  n: BATCH * BATCHES,
});
type Variant = { name: string; loader: DataLoader<Dataset<unknown>, unknown> };
const variants: Variant[] = [];
for (const numWorkers of [0, 2]) {
  for (const reuseBatches of [false, true]) {
    const workers = numWorkers > 0 ? { numWorkers, persistentWorkers: true } : {};
    variants.push({
      name: `${numWorkers === 0 ? 'in-process' : `${numWorkers} workers`}, ${reuseBatches ? 'reused' : 'fresh'} memory`,
      loader: new DataLoader({ dataset, batchSize: BATCH, reuseBatches, ...workers }),
    });
  }
}
/** Milliseconds and minor page faults (the whole process: every thread) per batch of one epoch. */
async function epoch(loader: DataLoader<Dataset<unknown>, unknown>): Promise<[number, number]> {
  const [t, f] = [performance.now(), faults()];
  for await (const _ of loader);
  return [(performance.now() - t) / BATCHES, (faults() - f) / BATCHES];
}
for (const v of variants) await epoch(v.loader); // warm-up: workers started, memory touched once
const timed = variants.map(() => ({ ms: [] as number[], faults: [] as number[] }));
for (let rep = 0; rep < REPS; rep++) {
  for (const [k, v] of variants.entries()) {
    const [ms, f] = await epoch(v.loader);
    timed[k]?.ms.push(ms);
    timed[k]?.faults.push(f);
  }
}
for (const v of variants) await v.loader.close();

// --- 2. PSS per worker. ----------------------------------------------------------------------------------
const child = fileURLToPath(new URL('./memory-child.mjs', import.meta.url));
function weftPss(workers: number): number {
  const r = spawnSync(process.execPath, ['--expose-gc', child, String(MIB), String(workers)], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`memory-child.mjs ${workers} failed: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { pss_mib: number }).pss_mib;
}
const pss: Record<string, number[]> = { w0: [], w2: [], w4: [], t0: [], t2: [], t4: [] };
let torchNote = '';
for (let rep = 0; rep < REPS; rep++) {
  for (const n of [0, 2, 4]) {
    pss[`w${n}`]?.push(weftPss(n));
    const t = torchJson<{ pss_mib: number }>(['memory', String(MIB), String(n)]);
    if ('skip' in t) torchNote = t.skip;
    else pss[`t${n}`]?.push(t.result.pss_mib);
  }
}

const [l1, l5, l15] = loadavg().map((x) => x.toFixed(2));
console.log(`repetitions: ${REPS} (median reported); load average ${l1} ${l5} ${l15}`);
console.log(
  `one batch of ${BATCH}×3×224×224 float32 (${((floats * 4) / 2 ** 20).toFixed(1)} MiB): fresh memory ${median(raw.fresh).toFixed(1)} ms, reused memory ${median(raw.reused).toFixed(1)} ms`,
);
for (const [k, v] of variants.entries()) {
  const m = timed[k] as { ms: number[]; faults: number[] };
  console.log(
    `  DataLoader, ${v.name}: ${median(m.ms).toFixed(1)} ms/batch, ${median(m.faults).toFixed(0)} page faults/batch`,
  );
}
const at = (prefix: string, n: number) => median(pss[`${prefix}${n}`] as number[]);
const perWorker = (prefix: string) => (at(prefix, 4) - at(prefix, 2)) / 2;
const totals = (prefix: string) => [0, 2, 4].map((n) => `${at(prefix, n).toFixed(0)}`).join(' / ');
console.log(
  `PSS over a TensorDataset of ${MIB} MiB after an epoch, 0 / 2 / 4 workers: weft ${totals('w')} MiB, ${perWorker('w').toFixed(1)} MiB per worker`,
);
if (torchNote !== '') console.log(torchNote);
else {
  console.log(
    `  torch ${totals('t')} MiB, ${perWorker('t').toFixed(1)} MiB per worker; weft / torch per worker: ${(perWorker('w') / perWorker('t')).toFixed(2)}`,
  );
}
const reusedWorkers = timed[3] as { faults: number[] };
console.log(`first_touch_ms_fresh: ${median(raw.fresh).toFixed(1)}`);
console.log(`first_touch_ms_reused: ${median(raw.reused).toFixed(1)}`);
console.log(`loader_faults_per_batch_reused: ${median(reusedWorkers.faults).toFixed(0)}`);
console.log(`pss_mib_per_worker: ${perWorker('w').toFixed(1)}`);
