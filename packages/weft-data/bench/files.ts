/**
 * `npm run bench:files`: the file-backed datasets (issue 11).
 *
 * - `jsonl_index_mb_per_s`: building the byte-offset index of a 500 MB JSONL file that is in the page cache
 *   (`JsonlDataset.open`), against a bare loop that only counts the newlines of the same file.
 * - `parquet_block_shuffle_hit_rate`: one epoch of a `BlockShuffleSampler` (window 2) over a Parquet file of
 *   20 row groups, loaded by a 2-worker DataLoader whose workers each cache 4 decoded row groups: the hit rate
 *   summed over both workers' caches. A full shuffle's hit rate (in-process, first 2,000 items) is shown
 *   beside it.
 *
 * The data files are generated once (seeded) in `$TMPDIR/weft-bench-files` and reused. Medians over `REPS`
 * repetitions (default 5). Last lines: `name: value`.
 */
import { closeSync, existsSync, mkdirSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetWriteFile } from 'hyparquet-writer';
import { BlockShuffleSampler, DataLoader, JsonlDataset, ParquetDataset, Random } from '../src/index.ts';

const REPS = Number(process.env.REPS ?? 5);
const dir = join(tmpdir(), 'weft-bench-files');
mkdirSync(dir, { recursive: true });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

// ── JSONL ──
const JSONL_BYTES = 500_000_000;
const jsonl = join(dir, 'lines-500mb.jsonl');

function makeJsonl(): void {
  if (existsSync(jsonl) && statSync(jsonl).size >= JSONL_BYTES) return;
  console.log(`generating ${jsonl} (500 MB, once)…`);
  const r = new Random(11);
  const fd = openSync(jsonl, 'w');
  let written = 0;
  const words = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta'];
  for (let id = 0; written < JSONL_BYTES; ) {
    const lines: string[] = [];
    for (let k = 0; k < 10_000; k++, id++) {
      const text = Array.from({ length: 4 + r.int(30) }, () => words[r.int(words.length)]).join(' ');
      const x = Array.from({ length: 4 }, () => Math.round(r.next() * 1e4) / 1e4);
      lines.push(JSON.stringify({ id, label: r.int(10), text, x }));
    }
    written += writeSync(fd, `${lines.join('\n')}\n`);
  }
  closeSync(fd);
}

/** Reads the whole file once, so that it is in the page cache; returns the number of newlines. */
function countNewlines(): number {
  const fd = openSync(jsonl, 'r');
  const buffer = Buffer.allocUnsafe(4 << 20);
  let count = 0;
  for (let pos = 0; ; ) {
    const n = readSync(fd, buffer, 0, buffer.length, pos);
    if (n === 0) break;
    const chunk = n === buffer.length ? buffer : buffer.subarray(0, n);
    for (let j = chunk.indexOf(10); j !== -1; j = chunk.indexOf(10, j + 1)) count++;
    pos += n;
  }
  closeSync(fd);
  return count;
}

makeJsonl();
const size = statSync(jsonl).size;
countNewlines(); // warm the page cache
const indexS: number[] = [];
const bareS: number[] = [];
let lines = 0;
for (let rep = 0; rep < REPS; rep++) {
  let t = performance.now();
  const ds = await JsonlDataset.open(jsonl);
  indexS.push((performance.now() - t) / 1000);
  lines = ds.length;
  if ((ds.get(lines - 1) as { id: number }).id !== lines - 1) throw new Error('index is wrong');
  t = performance.now();
  countNewlines();
  bareS.push((performance.now() - t) / 1000);
}
const mb = size / 1e6;

// ── Parquet ──
const GROUPS = 20;
const GROUP_ROWS = 5_000;
const parquet = join(dir, `table-${GROUPS}x${GROUP_ROWS}.parquet`);
if (!existsSync(parquet)) {
  console.log(`generating ${parquet} (${GROUPS} row groups, once)…`);
  const n = GROUPS * GROUP_ROWS;
  const r = new Random(12);
  const ids = Int32Array.from({ length: n }, (_, i) => i);
  parquetWriteFile({
    filename: parquet,
    columnData: [
      { name: 'id', data: ids, type: 'INT32' },
      { name: 'label', data: Int32Array.from(ids, () => r.int(10)), type: 'INT32' },
      { name: 'x', data: Float64Array.from(ids, () => r.next()), type: 'DOUBLE' },
      { name: 'text', data: Array.from(ids, (i) => `row ${i} ${r.int(1e6)}`), type: 'STRING' },
    ],
    rowGroupSize: GROUP_ROWS,
  });
}

const hitRates: number[] = [];
const epochMs: number[] = [];
let misses = 0;
{
  const dataset = await ParquetDataset.open(parquet, { cacheBlocks: 4, columns: ['id', 'label', 'x'] });
  const sampler = new BlockShuffleSampler(dataset, { seed: 1, window: 2 });
  const loader = new DataLoader({ dataset, sampler, batchSize: 256, numWorkers: 2, persistentWorkers: true });
  for (let rep = 0; rep < REPS; rep++) {
    dataset.resetCacheStats();
    const t = performance.now();
    for await (const _ of loader);
    epochMs.push(performance.now() - t);
    hitRates.push(dataset.cacheStats.hitRate);
    misses = dataset.cacheStats.misses;
  }
  await loader.close();
}
let fullRate = 0;
{
  const dataset = await ParquetDataset.open(parquet, { cacheBlocks: 4, columns: ['id', 'label', 'x'] });
  const loader = new DataLoader({ dataset, batchSize: 256, shuffle: true, seed: 1 });
  let seen = 0;
  for await (const batch of loader) {
    seen += (batch as { id: Float64Array }).id.length;
    if (seen >= 2_000) break;
  }
  fullRate = dataset.cacheStats.hitRate;
}

console.log(`repetitions: ${REPS} (median reported)`);
console.log(
  `jsonl: ${mb.toFixed(0)} MB, ${lines} lines, index ${median(indexS).toFixed(2)} s; bare newline count ${median(bareS).toFixed(2)} s (${(mb / median(bareS)).toFixed(0)} MB/s)`,
);
console.log(
  `parquet: ${GROUPS} row groups × ${GROUP_ROWS} rows, cache 4 row groups per worker, 2 workers, window 2: epoch ${median(epochMs).toFixed(0)} ms, ${misses} row-group decodes; full shuffle (in-process, first 2000 rows): hit rate ${fullRate.toFixed(3)}`,
);
console.log(`jsonl_index_mb_per_s: ${(mb / median(indexS)).toFixed(0)}`);
console.log(`parquet_block_shuffle_hit_rate: ${median(hitRates).toFixed(4)}`);
