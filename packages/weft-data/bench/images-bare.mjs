// The bare baseline of `npm run bench:images`: one thread decoding its share of the files, one at a time,
// with the same sharp pipeline and the same crop 224, flip and normalize as the ImageFolder, and no loader.
// Plain JavaScript, so that it needs no TypeScript loader in the worker.
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

parentPort.on('message', async () => {
  let checksum = 0;
  for (const file of files) {
    const { data, info } = await sharp(file, { failOn: 'error' })
      .toColourspace('srgb')
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    const { width, height, channels } = info;
    const top = Math.floor(rand() * (height - size + 1));
    const left = Math.floor(rand() * (width - size + 1));
    const flip = rand() < 0.5;
    const out = new Float32Array(channels * size * size);
    for (let c = 0; c < channels; c++) {
      for (let y = 0; y < size; y++) {
        const row = (top + y) * width;
        for (let x = 0; x < size; x++) {
          const sx = left + (flip ? size - 1 - x : x);
          out[(c * size + y) * size + x] = data[(row + sx) * channels + c] * scale[c] + shift[c];
        }
      }
    }
    checksum += out[0];
  }
  parentPort.postMessage(checksum);
});
