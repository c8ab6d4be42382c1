// The bare baseline of `npm run bench:images`: one thread decoding its share of the files, one at a time,
// with the same sharp pipeline and the same RandomResizedCrop 224 (torchvision's box, cut out and resized by
// libvips), flip and normalize as the ImageFolder, and no loader, no batches and no collate.
// Plain JavaScript, so that it needs no TypeScript loader in the worker.
import { readFile } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import sharp from 'sharp';

sharp.concurrency(1);
sharp.cache(false);
const { files, size, mean, std } = workerData;
const scale = mean.map((_, c) => 1 / (255 * std[c]));
const shift = mean.map((m, c) => -m / std[c]);
let state = 12345;
const rand = () => {
  state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
  return state / 4294967296;
};
const round = (x) => (Math.abs(x % 1) === 0.5 ? 2 * Math.round(x / 2) : Math.round(x));

/** torchvision's RandomResizedCrop box with its default scale (0.08, 1) and ratio (3/4, 4/3). */
function box(width, height) {
  for (let k = 0; k < 10; k++) {
    const area = width * height * (0.08 + 0.92 * rand());
    const aspect = Math.exp(Math.log(3 / 4) + (Math.log(4 / 3) - Math.log(3 / 4)) * rand());
    const w = round(Math.sqrt(area * aspect));
    const h = round(Math.sqrt(area / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height)
      return {
        top: Math.floor(rand() * (height - h + 1)),
        left: Math.floor(rand() * (width - w + 1)),
        width: w,
        height: h,
      };
  }
  return { top: 0, left: 0, width, height };
}

parentPort.on('message', async () => {
  let checksum = 0;
  for (const file of files) {
    const bytes = await readFile(file);
    const { width, height } = await sharp(bytes).metadata();
    const { data } = await sharp(bytes, { failOn: 'error' })
      .toColourspace('srgb')
      .removeAlpha()
      .extract(box(width, height))
      .resize({ width: size, height: size, fit: 'fill', kernel: 'linear' })
      .raw()
      .toBuffer({ resolveWithObject: true });
    const flip = rand() < 0.5;
    const out = new Float32Array(3 * size * size);
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < size; y++) {
        const row = y * size;
        for (let x = 0; x < size; x++) {
          const sx = flip ? size - 1 - x : x;
          out[(c * size + y) * size + x] = data[(row + sx) * 3 + c] * scale[c] + shift[c];
        }
      }
    }
    checksum += out[0];
  }
  parentPort.postMessage(checksum);
});
