// MDS and WebDataset shards in a loader with workers: each worker reopens the shards from the dataset's state,
// 0 and 2 workers give the same batches under a shard-aligned BlockShuffleSampler, each worker reads a window
// of shards at a time, and an interleaved run over shards resumes exactly.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ArrayDataset,
  BlockShuffleSampler,
  DataLoader,
  type InterleavedBatch,
  InterleavedSampler,
  MdsDataset,
  type ResumeState,
  ShardWriter,
  WebDataset,
} from '../src/index.ts';
import { tempFiles } from './fixtures/files.ts';
import { npy, tarOf } from './fixtures/shards.ts';

const files = tempFiles('shard-workers');
const ROOT = resolve(import.meta.dirname, '../../..');
const FIXTURES =
  ['../shared/fixtures/mds', '../../shared/fixtures/mds'].map((p) => resolve(ROOT, p)).find(existsSync) ?? '';
const N = 90;

/** Deep copy with typed arrays as plain arrays, to compare batches. */
function plain(value: unknown): unknown {
  if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<number>);
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

// An MDS dataset of 90 rows in shards of at most 512 bytes, written by ShardWriter.
const mdsDir = files.path('mds');
await ShardWriter.writeDataset(
  new ArrayDataset(
    Array.from({ length: N }, (_, i) => ({ id: i, x: Float32Array.of(i, -i), name: `row ${i}` })),
  ),
  { out: mdsDir, columns: { id: 'int', x: 'ndarray:float32:2', name: 'str' }, sizeLimit: 512 },
);

// Nine tar shards of ten samples.
const tars = Array.from({ length: 9 }, (_, s) =>
  tarOf(
    files.path(`wds-${s}.tar`),
    Array.from({ length: 10 }, (_, k) => s * 10 + k).flatMap((i): [string, Uint8Array | string][] => [
      [`k${i}.cls`, `${i}`],
      [`k${i}.npy`, npy('<i4', [3], new Uint8Array(Int32Array.of(i, i * 2, i * 3).buffer))],
    ]),
  ),
);

const kinds: Record<string, () => Promise<MdsDataset | WebDataset>> = {
  mds: () => MdsDataset.open(mdsDir, { cacheBlocks: 2 }),
  webdataset: () => WebDataset.open(files.path('wds-{0..8}.tar'), { cacheBlocks: 2 }),
  ...(FIXTURES === ''
    ? {}
    : {
        'mds zstd (MDSWriter)': () =>
          MdsDataset.open(join(FIXTURES, 'arrays'), { columns: ['feat'], cacheBlocks: 2 }),
      }),
};

const loaders: { close(): Promise<void> }[] = [];
afterAll(() => Promise.all(loaders.map((l) => l.close())));

describe.each(Object.keys(kinds))('%s in workers', (kind) => {
  it('gives identical batches with 0 and 2 workers under a shard-aligned shuffle, a window of shards at a time', async () => {
    const run = async (numWorkers: number) => {
      const dataset = await (kinds[kind] as () => Promise<MdsDataset | WebDataset>)();
      expect(tars.length).toBe(9);
      const sampler = new BlockShuffleSampler(dataset, { seed: 7, window: 2 });
      const loader = new DataLoader({
        dataset,
        sampler,
        batchSize: 8,
        numWorkers,
        ...(numWorkers > 0 ? { persistentWorkers: true } : {}),
      });
      loaders.push(loader);
      const batches: unknown[] = [];
      for (let epoch = 0; epoch < 2; epoch++) for await (const b of loader) batches.push(plain(b));
      return { batches, blocks: dataset.blocks, misses: dataset.cacheStats.misses };
    };
    const a = await run(0);
    const b = await run(2);
    expect(b.batches).toEqual(a.batches);
    expect(a.blocks).toBeGreaterThan(4);
    // In process, every shard is read at most once per epoch (the last window may still be cached when the
    // next epoch starts); each of two workers reads every shard of its windows at most once (a cache of two
    // shards holds a window of two).
    expect(a.misses).toBeLessThanOrEqual(2 * a.blocks);
    expect(a.misses).toBeGreaterThanOrEqual(2 * a.blocks - 2);
    expect(b.misses).toBeLessThanOrEqual(2 * 2 * b.blocks);
  });
});

describe('an interleaved run over MDS shards', () => {
  it('resumes exactly from a state saved after any batch, with 2 workers or with none', async () => {
    const dataset = await MdsDataset.open(mdsDir, { columns: ['id'], cacheBlocks: 2 });
    const sampler = new InterleavedSampler({
      trainSampler: new BlockShuffleSampler(dataset, { seed: 4, window: 2 }),
      config: { batchSize: 8, maxEpochs: 2 },
    });
    const run = async (numWorkers: number, resume?: ResumeState, states?: ResumeState[]) => {
      const loader = sampler.getDataLoader({ numWorkers, ...(resume ? { resume } : {}) });
      loaders.push(loader);
      const out: unknown[] = [];
      for await (const b of loader as AsyncIterable<InterleavedBatch>) {
        out.push(plain({ indices: b.indices, data: b.data }));
        states?.push(loader.state());
      }
      return out;
    };
    const states: ResumeState[] = [];
    const full = await run(2, undefined, states);
    expect(full.length).toBe(22); // 11 updates of 8 (dropLast) per epoch of 90
    for (const [k, numWorkers] of [
      [3, 2],
      [10, 0],
      [16, 2],
    ] as const) {
      const resumed = await run(numWorkers, JSON.parse(JSON.stringify(states[k])) as ResumeState);
      expect(resumed, `after batch ${k}, ${numWorkers} workers`).toEqual(full.slice(k + 1));
    }
  });
});
