// ImageFolder with a loader's workers: each worker opens the folder from its recipe and decodes there.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DataLoader,
  ImageFolder,
  type ImageTransform,
  type InterleavedBatch,
  type InterleavedLoader,
  InterleavedSampler,
  RandomSampler,
  SequentialSampler,
  type Tensor,
  WorkerError,
} from '../src/index.ts';
import { pattern, smallFolder, tempDir, writeImage } from './fixtures/images.ts';

let root: string;
beforeAll(async () => {
  ({ root } = await smallFolder());
});

const open: { close(): Promise<void> }[] = [];
afterAll(() => Promise.all(open.map((l) => l.close())));

type Batch = { image: Tensor<Float32Array>; label: Int32Array };
const plain = (b: Batch) => ({ shape: b.image.shape, image: [...b.image.data], label: [...b.label] });

async function epochs(loader: DataLoader<ImageFolder, Batch>, n: number): Promise<unknown[]> {
  const out: unknown[] = [];
  for (let e = 0; e < n; e++) for await (const b of loader) out.push(plain(b));
  return out;
}

const normalize = { normalize: { mean: [0.5, 0.4, 0.3], std: [0.25, 0.25, 0.25] } };
const crops: ImageTransform[][] = [
  [{ randomCrop: { size: 16, padding: 2 } }, { flip: 0.5 }, normalize],
  [
    { randomResizedCrop: 16 },
    { colorJitter: { brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1 } },
    { randomAffine: { degrees: 20, translate: [0.1, 0.1], scale: [0.9, 1.1] } },
    { flip: 0.5 },
    normalize,
  ],
];

describe('ImageFolder in workers', () => {
  it.each(crops)(
    'gives the same batches, augmentations included, with 0 and 2 workers: %j',
    async (...transforms) => {
      const folder = new ImageFolder(root, { transforms });
      const make = (numWorkers: number) => {
        const l = new DataLoader({
          dataset: folder,
          batchSize: 2,
          shuffle: true,
          seed: 9,
          numWorkers,
          persistentWorkers: numWorkers > 0,
        });
        open.push(l);
        return l;
      };
      const inProcess = await epochs(make(0), 2);
      expect((inProcess[0] as { shape: number[] }).shape).toEqual([2, 3, 16, 16]);
      expect(inProcess.slice(0, 3)).not.toEqual(inProcess.slice(3, 6)); // epochs differ
      expect(await epochs(make(2), 2)).toEqual(inProcess);
    },
  );

  it('reports an unreadable file as the worker’s error, naming the file and the sample', async () => {
    const dir = tempDir('worker-corrupt');
    for (let i = 0; i < 4; i++) await writeImage(join(dir, 'a', `${i}.png`), pattern(i, 6, 6));
    const broken = join(dir, 'a', '2.png');
    writeFileSync(broken, readFileSync(broken).subarray(0, 30));
    const loader = new DataLoader({ dataset: new ImageFolder(dir), batchSize: 2, numWorkers: 2 });
    open.push(loader);
    const e = await (async () => {
      for await (const _ of loader);
    })().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(WorkerError);
    expect((e as WorkerError).index).toBe(2);
    expect((e as WorkerError).message).toContain(`FileError: cannot decode image ${broken}: `);
  });

  it('serves as a callback dataset of an interleaved run, the same with 0 and 2 workers', async () => {
    const train = new ImageFolder(root, { transforms: crops[0] });
    const test = new ImageFolder(root, { transforms: [{ centerCrop: 12 }], dtype: 'uint8' });
    const sampler = new InterleavedSampler({
      trainSampler: new RandomSampler(train, { seed: 2 }),
      config: { batchSize: 2, maxEpochs: 2 },
      callbackSamplers: [
        { sampler: new SequentialSampler(test), everyNEpochs: 1, batchSize: 3, name: 'test' },
      ],
    });
    const run = async (numWorkers: number): Promise<unknown[]> => {
      const loader: InterleavedLoader = sampler.getDataLoader({ numWorkers, seed: 4 });
      open.push(loader);
      const out: unknown[] = [];
      for await (const b of loader as AsyncIterable<InterleavedBatch>) {
        const { image, label } = b.data as { image: Tensor; label: Float64Array };
        out.push({ source: b.source, shape: image.shape, image: [...image.data], label: [...label] });
      }
      return out;
    };
    const inProcess = await run(0);
    const tests = inProcess.filter((b) => (b as { source: string }).source !== 'train');
    expect(tests.map((b) => (b as { shape: number[] }).shape)).toEqual([
      [3, 3, 12, 12],
      [2, 3, 12, 12],
      [3, 3, 12, 12],
      [2, 3, 12, 12],
    ]);
    expect(tests.map((b) => (b as { label: number[] }).label)).toEqual([
      [0, 0, 0],
      [1, 1],
      [0, 0, 0],
      [1, 1],
    ]);
    expect(await run(2)).toEqual(inProcess);
  });
});
