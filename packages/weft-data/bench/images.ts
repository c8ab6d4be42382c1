/**
 * `npm run bench:images`: an ImageFolder of 2,000 JPEGs of 256×256 (10 classes; generated once, seeded,
 * kept in the temp folder) decoded with sharp, then random crop 224, horizontal flip and normalize, in
 * batches of 64. Side by side in each repetition, one epoch each:
 *   - in-process: a DataLoader with no workers;
 *   - 2 workers: a DataLoader with two persistent workers (started and warmed up before timing);
 *   - bare: two worker_threads, each decoding half of the files with the same sharp pipeline, crop, flip
 *     and normalize, one image at a time, with no loader, no batches and no collate.
 * Figures are medians over REPS repetitions (default 5). Last lines: `image_folder_speedup_2_workers`
 * (in-process time over 2-worker time; target ≥ 1.8) and `image_folder_vs_bare_loop` (bare time over
 * 2-worker time, i.e. weft's throughput relative to the bare loop; target ≥ 0.9).
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import sharp from 'sharp';
import { Random } from '../src/core/random.ts';
import { DataLoader } from '../src/engine/data-loader.ts';
import { ImageFolder } from '../src/images/image-folder.ts';

const REPS = Number(process.env.REPS ?? 5);
const IMAGES = 2000;
const CLASSES = 10;
const SIDE = 256;
const CROP = 224;
const BATCH = 64;
const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];
const root = join(tmpdir(), 'weft-bench-images-v1');

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1] as number;
};

/** Image i: a colour gradient, a few rectangles and noise, all from `new Random(7, i)`; JPEG quality 90. */
async function makeImage(i: number, file: string): Promise<void> {
  const r = new Random(7, i);
  const px = new Uint8Array(SIDE * SIDE * 3);
  const base = [r.int(256), r.int(256), r.int(256)];
  const rects = Array.from({ length: 6 }, () => ({
    y: r.int(SIDE - 32),
    x: r.int(SIDE - 32),
    h: 16 + r.int(96),
    w: 16 + r.int(96),
    colour: [r.int(256), r.int(256), r.int(256)],
  }));
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      const rect = rects.find((q) => y >= q.y && y < q.y + q.h && x >= q.x && x < q.x + q.w);
      for (let c = 0; c < 3; c++) {
        const v = rect ? (rect.colour[c] as number) : ((base[c] as number) + ((x + y) >> 1)) % 256;
        px[(y * SIDE + x) * 3 + c] = Math.max(0, Math.min(255, v + r.int(17) - 8));
      }
    }
  }
  await sharp(px, { raw: { width: SIDE, height: SIDE, channels: 3 } })
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
  transforms: [{ randomCrop: CROP }, { flip: 0.5 }, { normalize: { mean: MEAN, std: STD } }],
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

// Warm-up: start the workers, load sharp everywhere, bring the files into the page cache.
await epochMs(workers);
await epochMs(inProcess);
await bareEpoch();

const times = { inProcess: [] as number[], workers: [] as number[], bare: [] as number[] };
for (let rep = 0; rep < REPS; rep++) {
  times.inProcess.push(await epochMs(inProcess));
  times.workers.push(await epochMs(workers));
  times.bare.push(await bareEpoch());
  console.log(
    `rep ${rep + 1}/${REPS}: in-process ${times.inProcess.at(-1)?.toFixed(0)} ms, 2 workers ${times.workers.at(-1)?.toFixed(0)} ms, bare 2 threads ${times.bare.at(-1)?.toFixed(0)} ms`,
  );
}
await Promise.all(bare.map((w) => w.terminate()));

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
  `writing one batch (${((batchFloats * 4) / 2 ** 20).toFixed(1)} MiB): fresh memory ${median(fresh).toFixed(1)} ms, reused memory ${median(again).toFixed(1)} ms; load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')} on ${availableParallelism()} cores`,
);

const ms = { inProcess: median(times.inProcess), workers: median(times.workers), bare: median(times.bare) };
const perSecond = (t: number): string => ((IMAGES / t) * 1000).toFixed(0);
console.log(
  `medians over ${REPS}: in-process ${ms.inProcess.toFixed(0)} ms (${perSecond(ms.inProcess)} images/s), 2 workers ${ms.workers.toFixed(0)} ms (${perSecond(ms.workers)} images/s), bare 2 threads ${ms.bare.toFixed(0)} ms (${perSecond(ms.bare)} images/s)`,
);
console.log(`image_folder_speedup_2_workers: ${(ms.inProcess / ms.workers).toFixed(2)}`);
console.log(`image_folder_vs_bare_loop: ${(ms.bare / ms.workers).toFixed(2)}`);
