/**
 * `npm run bench:images`: ImageNet-style training input. An ImageFolder of 2,000 JPEGs of varied sizes
 * (each side 300–500 px; 10 classes; generated once, seeded, kept in the temp folder), decoded with sharp,
 * then RandomResizedCrop 224 (torchvision's defaults), horizontal flip and normalize, float32 CHW, in
 * batches of 64, shuffled. Side by side in each repetition, one epoch each:
 *   - in-process: a DataLoader with no workers;
 *   - 2 workers: a DataLoader with two persistent workers (started and warmed up before timing);
 *   - in place: no loader, no workers, `ImageFolder.writeItem` rendering each image into a reused batch
 *     (what the default collate's in-place path does, without the loader around it);
 *   - bare: two worker_threads, each decoding half of the files with the same sharp pipeline, crop, flip
 *     and normalize, one image at a time, with no loader, no batches and no collate;
 *   - PyTorch: the same workload through torch's DataLoader (in-process and 2 workers) with Pillow
 *     (bench/images-torch.py), when Python can import torch and Pillow, found through
 *     WEFT_TORCH_PYTHONPATH (else PYTHONPATH); WEFT_PYTHON names the interpreter (default python3).
 * Figures are medians over REPS repetitions (default 5). Last lines: the ratios to PyTorch,
 * `image_folder_speedup_2_workers` (in-process time over 2-worker time; target ≥ 1.8) and
 * `image_folder_vs_bare_loop` (bare time over 2-worker time, i.e. weft's throughput relative to the bare
 * loop; target ≥ 0.9).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import sharp from 'sharp';
import { Random } from '../src/core/random.ts';
import type { SampleContext } from '../src/core/worker-info.ts';
import { DataLoader } from '../src/engine/data-loader.ts';
import { ImageFolder } from '../src/images/image-folder.ts';

const REPS = Number(process.env.REPS ?? 5);
const IMAGES = 2000;
const CLASSES = 10;
const CROP = 224;
const BATCH = 64;
const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];
const root = join(tmpdir(), 'weft-bench-images-v2');

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1] as number;
};

/**
 * Image i: each side 300–500 px, a colour gradient, a few rectangles and noise, all from `new Random(7, i)`;
 * JPEG quality 90.
 */
async function makeImage(i: number, file: string): Promise<void> {
  const r = new Random(7, i);
  const height = 300 + r.int(201);
  const width = 300 + r.int(201);
  const px = new Uint8Array(height * width * 3);
  const base = [r.int(256), r.int(256), r.int(256)];
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      for (let c = 0; c < 3; c++) px[(y * width + x) * 3 + c] = ((base[c] as number) + ((x + y) >> 1)) % 256;
  for (let k = 0; k < 6; k++) {
    const [y0, x0, h, w] = [r.int(height - 32), r.int(width - 32), 16 + r.int(160), 16 + r.int(160)];
    const colour = [r.int(256), r.int(256), r.int(256)];
    for (let y = y0; y < Math.min(height, y0 + h); y++)
      for (let x = x0; x < Math.min(width, x0 + w); x++)
        for (let c = 0; c < 3; c++) px[(y * width + x) * 3 + c] = colour[c] as number;
  }
  for (let k = 0; k < px.length; k++) px[k] = Math.max(0, Math.min(255, (px[k] as number) + r.int(17) - 8));
  await sharp(px, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 90 })
    .toFile(file);
}

if (!existsSync(join(root, 'complete'))) {
  rmSync(root, { recursive: true, force: true });
  const t = performance.now();
  for (let c = 0; c < CLASSES; c++) mkdirSync(join(root, `class${c}`), { recursive: true });
  for (let i = 0; i < IMAGES; i += 50) {
    await Promise.all(
      Array.from({ length: 50 }, (_, k) =>
        makeImage(i + k, join(root, `class${(i + k) % CLASSES}`, `${String(i + k).padStart(4, '0')}.jpg`)),
      ),
    );
  }
  writeFileSync(join(root, 'complete'), '');
  console.log(`generated ${IMAGES} JPEGs in ${root} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
}

const folder = new ImageFolder(root, {
  transforms: [{ randomResizedCrop: CROP }, { flip: 0.5 }, { normalize: { mean: MEAN, std: STD } }],
});
if (folder.length !== IMAGES) throw new Error(`expected ${IMAGES} images in ${root}, found ${folder.length}`);

/** Milliseconds to consume one epoch of `loader`. */
async function epochMs(loader: AsyncIterable<unknown>): Promise<number> {
  const t = performance.now();
  for await (const _ of loader);
  return performance.now() - t;
}

const inProcess = new DataLoader({ dataset: folder, batchSize: BATCH, shuffle: true });
await using workers = new DataLoader({
  dataset: folder,
  batchSize: BATCH,
  shuffle: true,
  numWorkers: 2,
  persistentWorkers: true,
});

// In place: one reused batch, each batch's 64 images written concurrently as the loader would.
const batch = { image: new Float32Array(BATCH * 3 * CROP * CROP), label: new Int32Array(BATCH) };
let inPlaceEpoch = 0;
const contextOf = (index: number): SampleContext => {
  let random: Random | undefined;
  const epoch = inPlaceEpoch;
  return { epoch, seed: 0, random: () => (random ??= new Random(0, epoch, index)) };
};
async function inPlaceMs(): Promise<number> {
  const order = new Random(2, inPlaceEpoch++).permutation(IMAGES);
  const t = performance.now();
  for (let start = 0; start < IMAGES; start += BATCH) {
    const rows = order.subarray(start, Math.min(IMAGES, start + BATCH));
    await Promise.all(Array.from(rows, (i, row) => folder.writeItem(i, batch, row, contextOf(i))));
  }
  return performance.now() - t;
}

// The bare loop: two threads, each with half of the files (the same shuffled order as the loaders get).
const order = new Random(1).permutation(IMAGES);
const files = Array.from(order, (i) => (folder.samples[i] as { path: string }).path);
const bare = [0, 1].map(
  (k) =>
    new Worker(new URL('./images-bare.mjs', import.meta.url), {
      workerData: { files: files.filter((_, i) => i % 2 === k), size: CROP, mean: MEAN, std: STD },
    }),
);
const bareEpoch = (): Promise<number> => {
  const t = performance.now();
  return Promise.all(
    bare.map(
      (w) =>
        new Promise<void>((done) => {
          w.once('message', () => done());
          w.postMessage('go');
        }),
    ),
  ).then(() => performance.now() - t);
};

/** PyTorch's side (bench/images-torch.py) as a child process answering one epoch per line, or why not. */
async function startTorch(): Promise<
  { epoch: (name: string) => Promise<number>; stop: () => void } | string
> {
  const pythonPath = process.env.WEFT_TORCH_PYTHONPATH ?? process.env.PYTHONPATH;
  const python = process.env.WEFT_PYTHON ?? 'python3';
  const script = fileURLToPath(new URL('./images-torch.py', import.meta.url));
  const child = spawn(python, [script, root], {
    env: { ...process.env, ...(pythonPath === undefined ? {} : { PYTHONPATH: pythonPath }) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<string | undefined> => (await lines.next()).value as string | undefined;
  const started = await Promise.race([
    next(),
    new Promise<undefined>((done) => child.once('error', () => done(undefined))),
  ]);
  if (started === undefined || !started.startsWith('ready')) {
    child.kill();
    const reason = stderr.trim().split('\n').at(-1) ?? 'no output';
    return `torch is not importable with ${python} (PYTHONPATH=${pythonPath ?? ''}): ${reason}`;
  }
  return {
    epoch: async (name) => {
      child.stdin.write(`${name}\n`);
      const answer = await next();
      if (answer === undefined || !answer.startsWith('ms '))
        throw new Error(`PyTorch side failed: ${stderr}`);
      return Number(answer.slice(3));
    },
    stop: () => {
      child.stdin.end('quit\n');
    },
  };
}

// Warm-up: start the workers, load sharp everywhere, bring the files into the page cache.
await epochMs(workers);
await epochMs(inProcess);
await inPlaceMs();
await bareEpoch();
const torch = await startTorch();
if (typeof torch === 'string') console.log(`${torch}: skipping PyTorch`);

const times = {
  inProcess: [] as number[],
  workers: [] as number[],
  inPlace: [] as number[],
  bare: [] as number[],
  torchInProcess: [] as number[],
  torchWorkers: [] as number[],
};
for (let rep = 0; rep < REPS; rep++) {
  times.inProcess.push(await epochMs(inProcess));
  times.workers.push(await epochMs(workers));
  times.inPlace.push(await inPlaceMs());
  times.bare.push(await bareEpoch());
  if (typeof torch !== 'string') {
    times.torchInProcess.push(await torch.epoch('in-process'));
    times.torchWorkers.push(await torch.epoch('workers'));
  }
  const last = (xs: number[]) => (xs.length === 0 ? '–' : `${xs.at(-1)?.toFixed(0)} ms`);
  console.log(
    `rep ${rep + 1}/${REPS}: weft in-process ${last(times.inProcess)}, 2 workers ${last(times.workers)}, in place ${last(times.inPlace)}, bare 2 threads ${last(times.bare)}; PyTorch in-process ${last(times.torchInProcess)}, 2 workers ${last(times.torchWorkers)}`,
  );
}
await Promise.all(bare.map((w) => w.terminate()));
if (typeof torch !== 'string') torch.stop();

// What a batch's fresh memory costs here: every collated batch (64 × 3 × 224 × 224 float32 = 38.5 MB, above
// glibc's 32 MB mmap threshold) is new pages, first touched by the copy into it; a reused buffer is not.
const batchFloats = BATCH * 3 * CROP * CROP;
const reused = new Float32Array(batchFloats);
const fresh: number[] = [];
const again: number[] = [];
for (let i = 0; i < 5; i++) {
  let t = performance.now();
  new Float32Array(batchFloats).fill(1);
  fresh.push(performance.now() - t);
  t = performance.now();
  reused.fill(i);
  again.push(performance.now() - t);
}
console.log(
  `writing one batch (${((batchFloats * 4) / 2 ** 20).toFixed(1)} MiB): fresh memory ${median(fresh).toFixed(1)} ms, reused memory ${median(again).toFixed(1)} ms`,
);

const perSecond = (t: number): string => ((IMAGES / t) * 1000).toFixed(0);
const row = (name: string, xs: number[]) =>
  xs.length === 0 ? `${name}: –` : `${name}: ${median(xs).toFixed(0)} ms (${perSecond(median(xs))} images/s)`;
console.log(
  `medians over ${REPS}, load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')} on ${availableParallelism()} cores:`,
);
console.log(
  `  ${row('weft in-process', times.inProcess)} | ${row('PyTorch in-process', times.torchInProcess)}`,
);
console.log(`  ${row('weft 2 workers', times.workers)} | ${row('PyTorch 2 workers', times.torchWorkers)}`);
console.log(`  ${row('weft in place, no workers', times.inPlace)} | ${row('bare 2 threads', times.bare)}`);
const ms = { inProcess: median(times.inProcess), workers: median(times.workers), bare: median(times.bare) };
if (typeof torch !== 'string') {
  console.log(`images_vs_pytorch_in_process: ${(median(times.torchInProcess) / ms.inProcess).toFixed(2)}`);
  console.log(`images_vs_pytorch_2_workers: ${(median(times.torchWorkers) / ms.workers).toFixed(2)}`);
}
console.log(`image_folder_speedup_2_workers: ${(ms.inProcess / ms.workers).toFixed(2)}`);
console.log(`image_folder_vs_bare_loop: ${(ms.bare / ms.workers).toFixed(2)}`);
