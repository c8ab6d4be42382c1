/**
 * `npm run bench:loader`: the DataLoader's cost per batch, its speed-up with workers on CPU-bound items,
 * a comparison with @tensorflow/tfjs-data, and the time to the first batch of an evaluation pass.
 * Every figure is the median over REPS repetitions, the variants measured side by side in each one.
 * Then the same workloads through torch's DataLoader (bench/torch_bench.py, its items calibrated to the same
 * 0.2 ms in Python) when torch is importable: WEFT_TORCH_PYTHONPATH, else PYTHONPATH; otherwise it says so.
 * Last three lines: `overhead_us_per_batch`, `speedup_2_workers`, `ratio_vs_tfjs_data`.
 */
import { loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import * as tfd from '@tensorflow/tfjs-data';
import { defaultCollate } from '../src/collate/collate.ts';
import type { Dataset } from '../src/core/dataset.ts';
import { fromModule } from '../src/core/recipe.ts';
import { DataLoader } from '../src/engine/data-loader.ts';
import { cpuItem, spin } from './loader-data.ts';
import { torchJson } from './torch.ts';

const REPS = Number(process.env.REPS ?? 5);
const data = new URL('./loader-data.ts', import.meta.url);
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1] as number;
};

/** Milliseconds to consume one epoch of `loader`. */
async function epochMs(loader: AsyncIterable<unknown>): Promise<number> {
  const t = performance.now();
  for await (const _ of loader);
  return performance.now() - t;
}

// --- 1. Overhead: trivial items, batch 256, 2 workers (persistent pool, warmed up). --------------------
const TRIVIAL_BATCHES = 2000;
const trivialSet = await fromModule<Dataset<number>>(data, 'trivial', { n: 256 * TRIVIAL_BATCHES });
await using trivial2 = new DataLoader({
  dataset: trivialSet,
  batchSize: 256,
  numWorkers: 2,
  persistentWorkers: true,
});
const trivial0 = new DataLoader({ dataset: trivialSet, batchSize: 256 });
await epochMs(trivial2);

/** The items' own cost: the same gets and collate in a bare loop. */
function bareMs(): number {
  const t = performance.now();
  for (let b = 0; b < TRIVIAL_BATCHES; b++) {
    const items = new Array<number>(256);
    for (let i = 0; i < 256; i++) items[i] = trivialSet.get(b * 256 + i) as number;
    defaultCollate(items);
  }
  return performance.now() - t;
}

// --- 2. CPU-bound items of about 0.2 ms, batch 64. ------------------------------------------------------
const DIM = 16;
const CPU_ITEMS = 64 * 40;
function calibrate(targetMs: number): number {
  let k = 10_000;
  for (;;) {
    const t = performance.now();
    for (let i = 0; i < 50; i++) spin(k, i);
    const perItem = (performance.now() - t) / 50;
    if (perItem > 0.05) return Math.round((k * targetMs) / perItem);
    k *= 4;
  }
}
const k = median([calibrate(0.2), calibrate(0.2), calibrate(0.2)]);
const cpuSet = await fromModule<Dataset<Float32Array>>(data, 'cpuBound', { n: CPU_ITEMS, k, dim: DIM });
const cpu0 = new DataLoader({ dataset: cpuSet, batchSize: 64 });
await using cpu2 = new DataLoader({ dataset: cpuSet, batchSize: 64, numWorkers: 2, persistentWorkers: true });
await epochMs(cpu2);

// tfjs-core ships no backend since 2.x (its cpu kernels are in @tensorflow/tfjs-backend-cpu). Batching
// arrays of numbers only stores values (tf.tensor, no kernel), so this backend does what tfjs-backend-cpu
// does for `write`/`read`: keep the values in a map.
class StorageBackend extends tf.KernelBackend {
  readonly #data = new WeakMap<object, { values: tf.backend_util.BackendValues; refCount: number }>();
  #count = 0;
  override write(values: tf.backend_util.BackendValues): object {
    const id = {};
    this.move(id, values, [], 'float32', 1);
    return id;
  }
  override move(
    id: object,
    values: tf.backend_util.BackendValues,
    _s: number[],
    _d: tf.DataType,
    refCount: number,
  ): void {
    this.#data.set(id, { values, refCount });
    this.#count++;
  }
  override readSync(id: object): tf.backend_util.BackendValues {
    return this.#data.get(id)?.values as tf.backend_util.BackendValues;
  }
  override read(id: object): Promise<tf.backend_util.BackendValues> {
    return Promise.resolve(this.readSync(id));
  }
  override refCount(id: object): number {
    return this.#data.get(id)?.refCount ?? 0;
  }
  override incRef(id: object): void {
    const d = this.#data.get(id);
    if (d) d.refCount++;
  }
  override disposeData(id: object, force = false): boolean {
    const d = this.#data.get(id);
    if (d === undefined) return true;
    if (!force && --d.refCount > 0) return false;
    this.#data.delete(id);
    this.#count--;
    return true;
  }
  override numDataIds(): number {
    return this.#count;
  }
  override memory(): { unreliable: boolean } {
    return { unreliable: true };
  }
  override floatPrecision(): 32 {
    return 32;
  }
  override epsilon(): number {
    return 1e-7;
  }
  override dispose(): void {}
}
tf.registerBackend('storage', () => new StorageBackend());
await tf.setBackend('storage');

async function tfjsMs(): Promise<number> {
  const t = performance.now();
  const dataset = tfd
    .generator(function* () {
      for (let i = 0; i < CPU_ITEMS; i++) yield cpuItem(i, k, DIM) as unknown as number[];
    })
    .batch(64)
    .prefetch(4);
  const it = await dataset.iterator();
  for (let r = await it.next(); !r.done; r = await it.next()) (r.value as tf.Tensor).dispose();
  return performance.now() - t;
}

// --- 3. Time to the first batch of an evaluation pass. ---------------------------------------------------
const evalSet = await fromModule<Dataset<Float32Array>>(data, 'cpuBound', { n: 64 * 4, k, dim: DIM });
await using evalPersistent = new DataLoader({
  dataset: evalSet,
  batchSize: 64,
  numWorkers: 2,
  persistentWorkers: true,
});
await epochMs(evalPersistent);
async function firstBatchMs(loader: DataLoader<Dataset<Float32Array>>): Promise<number> {
  const t = performance.now();
  for await (const _ of loader) break;
  return performance.now() - t;
}

const r = {
  weft2: [] as number[],
  weft0: [] as number[],
  bare: [] as number[],
  cpu0: [] as number[],
  cpu2: [] as number[],
  tfjs: [] as number[],
  firstPersistent: [] as number[],
  firstFresh: [] as number[],
};
for (let rep = 0; rep < REPS; rep++) {
  r.weft2.push(await epochMs(trivial2));
  r.weft0.push(await epochMs(trivial0));
  r.bare.push(bareMs());
  r.cpu0.push(await epochMs(cpu0));
  r.cpu2.push(await epochMs(cpu2));
  r.tfjs.push(await tfjsMs());
  r.firstPersistent.push(await firstBatchMs(evalPersistent));
  const fresh = new DataLoader({ dataset: evalSet, batchSize: 64, numWorkers: 2 });
  r.firstFresh.push(await firstBatchMs(fresh));
}

/** What torch_bench.py's loader mode prints. */
interface TorchLoader {
  torch: string;
  overhead_us_per_batch: number;
  in_process_samples_per_s: number;
  workers2_samples_per_s: number;
  speedup_2_workers: number;
  ms_per_item: number;
}
const torch = torchJson<TorchLoader>(['loader', String(REPS)]);

const us = (ms: number) => ((ms * 1000) / TRIVIAL_BATCHES).toFixed(1);
const perSecond = (ms: number) => (CPU_ITEMS / ms) * 1000;
const [weft2, weft0, bare] = [median(r.weft2), median(r.weft0), median(r.bare)];
const [c0, c2, tj] = [median(r.cpu0), median(r.cpu2), median(r.tfjs)];
console.log(`repetitions: ${REPS} (median reported)`);
console.log(
  `trivial items, batch 256: 2 workers ${us(weft2)} us/batch, in-process ${us(weft0)} us/batch, bare loop ${us(bare)} us/batch`,
);
console.log(
  `cpu-bound items: ${k} spin steps ≈ ${(c0 / CPU_ITEMS).toFixed(3)} ms/item in-process, batch 64, ${CPU_ITEMS} items`,
);
console.log(
  `  in-process ${perSecond(c0).toFixed(0)} samples/s, 2 workers ${perSecond(c2).toFixed(0)} samples/s, tfjs-data ${perSecond(tj).toFixed(0)} samples/s`,
);
console.log(
  `first batch of an evaluation pass: persistent pool ${median(r.firstPersistent).toFixed(2)} ms, fresh loader ${median(r.firstFresh).toFixed(2)} ms`,
);
const overhead = Math.max(0, weft2 - bare);
if ('skip' in torch) console.log(torch.skip);
else {
  const t = torch.result;
  const lower = t.overhead_us_per_batch / ((overhead * 1000) / TRIVIAL_BATCHES);
  console.log(
    `torch ${t.torch}, the same workloads: overhead ${t.overhead_us_per_batch.toFixed(1)} us/batch (weft's is ${lower.toFixed(1)}× lower); cpu-bound items of ${t.ms_per_item.toFixed(3)} ms in-process ${t.in_process_samples_per_s.toFixed(0)} samples/s, 2 workers ${t.workers2_samples_per_s.toFixed(0)} samples/s (speed-up ${t.speedup_2_workers.toFixed(2)}); weft / torch with 2 workers ${(perSecond(c2) / t.workers2_samples_per_s).toFixed(2)}`,
  );
}
console.log(
  `load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
console.log(`overhead_us_per_batch: ${us(overhead)}`);
console.log(`speedup_2_workers: ${(c0 / c2).toFixed(2)}`);
console.log(`ratio_vs_tfjs_data: ${(tj / c2).toFixed(2)}`);
