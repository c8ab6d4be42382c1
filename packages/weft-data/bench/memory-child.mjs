// One measurement of `bench:memory`, in a process of its own (PSS splits the pages a process shares with any
// other): the PSS of this process after an epoch over a TensorDataset of MIB MiB with N worker threads.
// Usage: node memory-child.mjs MIB N. Loads the compiled library (npm run build), as users run it.
import { readFileSync } from 'node:fs';
import { DataLoader, TensorDataset } from '../dist/index.js';

const [mib, workers] = process.argv.slice(2).map(Number);
const pssMib = () =>
  Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync('/proc/self/smaps_rollup', 'utf8'))[1]) / 1024;
const rows = (mib * 1024 * 1024) / (4 * 256);
const x = new Float32Array(new SharedArrayBuffer(rows * 256 * 4));
for (let i = 0; i < x.length; i++) x[i] = Math.random();
const y = new Int32Array(new SharedArrayBuffer(rows * 4)).map((_, i) => i);
const dataset = new TensorDataset({ x: { data: x, shape: [256] }, y: { data: y } });
const loader = new DataLoader({
  dataset,
  batchSize: 256,
  ...(workers > 0 ? { numWorkers: workers, persistentWorkers: true } : {}),
});
for await (const _ of loader);
globalThis.gc?.();
console.log(JSON.stringify({ pss_mib: pssMib() }));
await loader.close();
