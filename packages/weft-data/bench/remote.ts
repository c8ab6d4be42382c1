/**
 * `npm run bench:remote`: an epoch over remote shards (issue 17). MDS shards (written by `ShardWriter`) and a
 * Parquet file (row groups written by hyparquet-writer), served on 127.0.0.1 by the test HTTP server in a
 * child process with injected latency (`LATENCY_MS`, default 20 ms a request) and bandwidth (`RATE`, default
 * 100 MB/s per response), read by a `BlockShuffleSampler` (window 2) in process and with 2 workers:
 *
 * - `local`: the files on disk (in the page cache);
 * - `warm`: the URL, every block already in the node-wide cache;
 * - `cold`: the URL, an empty cache, with the loader's prefetch from the known order;
 * - `cold-noprefetch`: the same without prefetch (each block downloaded when a read needs it).
 *
 * Each is timed for the whole epoch and to the first batch (from the loader's creation; the dataset is
 * opened before). Runs alternate (local, warm, cold, cold-noprefetch, …) and medians of `REPS` (default 3)
 * are printed side by side, with the ratios of the targets: cold / warm ≥ 0.8 (throughput), warm / local ≥
 * 0.9, the first batch of a cold epoch in shard downloads ≤ 2 (one shard download timed alone), and the
 * cache's peak size (polled every 10 ms) against its budget.
 *
 * The data (`MIB` MiB of MDS, default 64, and half as much Parquet, slower to decode) is generated once
 * (seeded) in `$TMPDIR/weft-bench-remote`.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetWriteFile } from 'hyparquet-writer';
import {
  BlockShuffleSampler,
  DataLoader,
  type Dataset,
  MdsDataset,
  ParquetDataset,
  Random,
  ShardWriter,
} from '../src/index.ts';

const REPS = Number(process.env.REPS ?? 3);
const MIB = Number(process.env.MIB ?? 64);
const LATENCY_MS = Number(process.env.LATENCY_MS ?? 20);
const RATE = Number(process.env.RATE ?? 100e6);
const SHARD_BYTES = 8 << 20;
const BATCH = 256;
const root = join(tmpdir(), 'weft-bench-remote', `${MIB}mib`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const loadBefore = load();

// ── Data: MDS rows of 128 float32 and a label; Parquet rows of 8 doubles and a label ──
const FEATURES = 128;
const mdsDir = join(root, `mds-${FEATURES}`);
if (!existsSync(join(mdsDir, 'index.json'))) {
  console.log(`generating ${mdsDir} (${MIB} MiB of MDS shards, once)…`);
  const r = new Random(17);
  const writer = new ShardWriter({
    out: mdsDir,
    columns: { x: `ndarray:float32:${FEATURES}`, label: 'int32' },
    sizeLimit: SHARD_BYTES,
  });
  const rows = Math.floor((MIB << 20) / (4 * FEATURES + 16));
  const x = new Float32Array(FEATURES);
  for (let i = 0; i < rows; i++) {
    for (let k = 0; k < FEATURES; k++) x[k] = r.next();
    writer.write({ x, label: i % 10 });
  }
  writer.finish();
}
const COLUMNS = 8;
const GROUP_ROWS = 1 << 16; // 4 MiB of doubles a row group
const parquet = join(root, 'parquet', 'table.parquet');
if (!existsSync(parquet)) {
  console.log(`generating ${parquet} (${MIB / 2} MiB of row groups, once)…`);
  mkdirSync(join(root, 'parquet'), { recursive: true });
  const r = new Random(18);
  const rows = Math.floor((MIB << 19) / (8 * COLUMNS + 4) / GROUP_ROWS) * GROUP_ROWS;
  parquetWriteFile({
    filename: parquet,
    columnData: [
      { name: 'label', data: Int32Array.from({ length: rows }, (_, i) => i % 10), type: 'INT32' },
      ...Array.from({ length: COLUMNS }, (_, c) => ({
        name: `f${c}`,
        data: Float64Array.from({ length: rows }, () => r.next()),
        type: 'DOUBLE' as const,
      })),
    ],
    rowGroupSize: GROUP_ROWS,
  });
}

// ── The server, in a child process ──
const server: ChildProcess = fork(join(import.meta.dirname, 'remote-server.ts'), [
  root,
  String(LATENCY_MS),
  String(RATE),
]);
const origin = await new Promise<string>((resolve, reject) => {
  server.once('message', (m: { origin: string }) => resolve(m.origin));
  server.once('exit', (code) => reject(new Error(`the bench server exited (${code})`)));
});
const gets = () =>
  new Promise<number>((resolve) => {
    server.once('message', (m: { gets: number }) => resolve(m.gets));
    server.send({ kind: 'requests' });
  });

/** One shard download alone: what "first batch in shard downloads" divides by. */
async function shardDownloadMs(name: string): Promise<number> {
  const times: number[] = [];
  for (let k = 0; k < 3; k++) {
    const t = performance.now();
    const res = await fetch(`${origin}/${name}`);
    await res.arrayBuffer();
    times.push(performance.now() - t);
  }
  return median(times);
}

/** Bytes of the cache's complete entries (what its budget counts). */
function cacheBytes(dir: string): number {
  const entries = join(dir, 'entries');
  if (!existsSync(entries)) return 0;
  let total = 0;
  for (const name of readdirSync(entries)) {
    try {
      total += statSync(join(entries, name)).size;
    } catch {
      // evicted meanwhile
    }
  }
  return total;
}

type Mode = 'local' | 'warm' | 'cold' | 'cold-noprefetch';
const MODES: Mode[] = ['local', 'warm', 'cold', 'cold-noprefetch'];
interface Run {
  epochMs: number;
  firstMs: number;
  peak: number;
}

interface Format {
  name: string;
  local: string;
  url: string;
  /** Bytes of data, for MB/s. */
  bytes: number;
  open(location: string, options: { cacheDir?: string; cacheBytes?: number }): Promise<Dataset<unknown>>;
}

const mdsBytes = readdirSync(mdsDir).reduce((s, f) => s + statSync(join(mdsDir, f)).size, 0);
const formats: Format[] = [
  {
    name: 'mds',
    local: mdsDir,
    url: `${origin}/mds-${FEATURES}`,
    bytes: mdsBytes,
    open: (location, options) => MdsDataset.open(location, { ...options, verifyHashes: false }),
  },
  {
    name: 'parquet',
    local: parquet,
    url: `${origin}/parquet/table.parquet`,
    bytes: statSync(parquet).size,
    open: (location, options) => ParquetDataset.open(location, options),
  },
];
const budget = Math.ceil(Math.max(mdsBytes, statSync(parquet).size) * 1.25);

async function epoch(format: Format, mode: Mode, numWorkers: number, cacheDir: string): Promise<Run> {
  const dataset = (await format.open(
    mode === 'local' ? format.local : format.url,
    mode === 'local' ? {} : { cacheDir, cacheBytes: budget },
  )) as Dataset<unknown> & { blockOffsets: readonly number[] };
  // Own property over the prototype's method: the loader sees a dataset without prefetch.
  if (mode === 'cold-noprefetch') Object.assign(dataset, { prefetch: undefined });
  let peak = cacheBytes(cacheDir);
  const poll = setInterval(() => {
    peak = Math.max(peak, cacheBytes(cacheDir));
  }, 10);
  const sampler = new BlockShuffleSampler(dataset, { seed: 1, window: 2 });
  const start = performance.now();
  const loader = new DataLoader({ dataset, sampler, batchSize: BATCH, numWorkers });
  let firstMs = 0;
  let rows = 0;
  for await (const batch of loader) {
    if (rows === 0) firstMs = performance.now() - start;
    rows += (batch as { label: Int32Array }).label.length;
  }
  const epochMs = performance.now() - start;
  clearInterval(poll);
  await loader.close();
  if (rows !== dataset.length) throw new Error(`${format.name} ${mode}: ${rows} rows of ${dataset.length}`);
  return { epochMs, firstMs, peak: Math.max(peak, cacheBytes(cacheDir)) };
}

const results = new Map<string, Run[]>();
const key = (f: string, w: number, m: Mode) => `${f}/${w}/${m}`;
const runsOf = (f: string, w: number, m: Mode) => results.get(key(f, w, m)) ?? [];
rmSync(join(root, 'cache'), { recursive: true, force: true });
const started = performance.now();
// The unit of "first batch in shard downloads": one 8 MiB shard (a cache block) downloaded alone.
const downloadMs = await shardDownloadMs(`mds-${FEATURES}/shard.00000.mds`);
for (const format of formats) {
  for (const numWorkers of [0, 2]) {
    const warmDir = join(root, 'cache', `${format.name}-${numWorkers}-warm`);
    await epoch(format, 'cold', numWorkers, warmDir); // fills the warm cache
    for (let rep = 0; rep < REPS; rep++) {
      for (const mode of MODES) {
        // A new folder for each cold run: this thread keeps descriptors of the entries it opened, which would
        // still serve a deleted folder's blocks.
        const dir =
          mode === 'warm' ? warmDir : join(root, 'cache', `${format.name}-${numWorkers}-${mode}-${rep}`);
        const run = await epoch(format, mode, numWorkers, dir);
        results.set(key(format.name, numWorkers, mode), [...runsOf(format.name, numWorkers, mode), run]);
      }
    }
  }
}
const requests = await gets();
server.kill();
// The caches of every run: several times the data, not worth keeping (the data is).
rmSync(join(root, 'cache'), { recursive: true, force: true });

console.log(
  `\nbench:remote — ${LATENCY_MS} ms a request, ${RATE / 1e6} MB/s a response, batch ${BATCH}, BlockShuffleSampler window 2, cache budget ${(budget / 2 ** 20).toFixed(0)} MiB; medians of ${REPS} alternated runs; ${requests} GETs in all; ${((performance.now() - started) / 1000).toFixed(0)} s`,
);
console.log(`load average before: ${loadBefore}; after: ${load()}`);
console.log(`one ${SHARD_BYTES >> 20} MiB shard downloaded alone: ${downloadMs.toFixed(0)} ms`);
for (const format of formats) {
  const mb = format.bytes / 1e6;
  console.log(
    `\n${format.name}: ${mb.toFixed(0)} MB, ${format.name === 'mds' ? `shards of ≤ ${SHARD_BYTES >> 20} MiB` : `row groups of ${GROUP_ROWS} rows`}`,
  );
  console.log('workers  mode             epoch ms   MB/s   first batch ms   cache peak MiB');
  for (const numWorkers of [0, 2]) {
    const m = (mode: Mode, f: (r: Run) => number) => median(runsOf(format.name, numWorkers, mode).map(f));
    for (const mode of MODES) {
      const epochMs = m(mode, (r) => r.epochMs);
      const peak = Math.max(...runsOf(format.name, numWorkers, mode).map((r) => r.peak));
      console.log(
        `${String(numWorkers).padEnd(8)} ${mode.padEnd(16)} ${epochMs.toFixed(0).padStart(8)} ${(mb / (epochMs / 1000)).toFixed(0).padStart(6)} ${m(
          mode,
          (r) => r.firstMs,
        )
          .toFixed(0)
          .padStart(16)} ${(peak / 2 ** 20).toFixed(1).padStart(16)}`,
      );
    }
    const epochOf = (mode: Mode) => m(mode, (r) => r.epochMs);
    // The first batch's wait for the network: beyond what a local first batch takes (workers starting,
    // the first window decoded).
    const wait = m('cold', (r) => r.firstMs) - m('local', (r) => r.firstMs);
    const peak = Math.max(
      ...MODES.flatMap((mode) => runsOf(format.name, numWorkers, mode).map((r) => r.peak)),
    );
    console.log(
      `  ${numWorkers} workers: cold/warm ${(epochOf('warm') / epochOf('cold')).toFixed(2)} (≥ 0.8; without prefetch ${(epochOf('warm') / epochOf('cold-noprefetch')).toFixed(2)}) · warm/local ${(epochOf('local') / epochOf('warm')).toFixed(2)} (≥ 0.9) · first batch waits ${(wait / downloadMs).toFixed(1)} shard downloads more than local (≤ 2) · cache peak/budget ${(peak / budget).toFixed(2)} (≤ 1)`,
    );
  }
}
