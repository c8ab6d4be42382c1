// One variant of `npm run bench:data` (see data.ts), in a fresh plain-node process, against the compiled
// library: `node --expose-gc data-child.mjs '<spec as JSON>'`. Prints one JSON line.
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { ArrayDataset, DataLoader, TensorDataset } from '../dist/index.js';

const ROW = 784; // float32 values per row: an MNIST image
const MIB = 2 ** 20;

function pssMib() {
  const line = readFileSync('/proc/self/smaps_rollup', 'utf8').match(/^Pss:\s+(\d+) kB/m);
  if (!line) throw new Error('no Pss line in /proc/self/smaps_rollup');
  return Number(line[1]) / 1024;
}

/** A `rows × 784` float32 table (and int32 labels), filled with a cheap pattern, in shared memory. */
function tensorTable(mib) {
  const rows = Math.round((mib * MIB) / (ROW * 4));
  const x = new Float32Array(new SharedArrayBuffer(rows * ROW * 4));
  for (let i = 0; i < x.length; i++) x[i] = (i % 251) / 251;
  const y = new Int32Array(new SharedArrayBuffer(rows * 4));
  for (let i = 0; i < rows; i++) y[i] = i % 10;
  return new TensorDataset({ x: { data: x, shape: [ROW] }, y: { data: y } });
}

/** The same rows as an ArrayDataset of `{ x: Float32Array, y }`. */
function arrayTable(mib) {
  const rows = Math.round((mib * MIB) / (ROW * 4));
  const items = Array.from({ length: rows }, (_, i) => {
    const x = new Float32Array(ROW);
    for (let k = 0; k < ROW; k++) x[k] = ((i * ROW + k) % 251) / 251;
    return { x, y: i % 10 };
  });
  return new ArrayDataset(items);
}

async function pss({ mib, workers, kind }) {
  const dataset = kind === 'tensor' ? tensorTable(mib) : arrayTable(mib);
  const loader = new DataLoader({ dataset, batchSize: 256, shuffle: true, seed: 1, numWorkers: workers });
  globalThis.gc();
  const before = pssMib();
  for await (const _ of loader);
  globalThis.gc();
  globalThis.gc();
  const after = pssMib(); // workers still alive
  await loader.close();
  return { before, after };
}

async function firstBatch({ mib, reps }) {
  const dataset = tensorTable(mib);
  const times = [];
  const cpu = [];
  const bare = [];
  for (let r = 0; r < reps; r++) {
    const c = process.cpuUsage();
    const t = performance.now();
    const loader = new DataLoader({ dataset, batchSize: 256, shuffle: true, seed: r, numWorkers: 2 });
    const it = loader[Symbol.asyncIterator]();
    await it.next();
    times.push(performance.now() - t);
    const used = process.cpuUsage(c);
    cpu.push((used.user + used.system) / 1000);
    await it.return();
    await loader.close();
    // The floor: two bare workers started side by side, each posting one message (Node's own start-up).
    const b = performance.now();
    await Promise.all(
      [0, 1].map(async () => {
        const w = new Worker("require('node:worker_threads').parentPort.postMessage(0)", { eval: true });
        await new Promise((resolve) => w.once('message', resolve));
        await w.terminate();
      }),
    );
    bare.push(performance.now() - b);
  }
  return { times, cpu, bare };
}

const spec = JSON.parse(process.argv[2]);
const result = spec.task === 'pss' ? await pss(spec) : await firstBatch(spec);
console.log(JSON.stringify(result));
