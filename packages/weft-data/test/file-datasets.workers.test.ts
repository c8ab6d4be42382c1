// Every file-backed dataset in a loader with workers: each worker reopens the file from the dataset's plain
// recipe (no user module), batches are identical with 0 and 2 workers, and each kind works as the callback
// dataset of an interleaved run.
import { afterAll, describe, expect, it } from 'vitest';
import {
  ArrayDataset,
  ArrowDataset,
  BinaryDataset,
  BlockShuffleSampler,
  CsvDataset,
  DataLoader,
  type Dataset,
  FileError,
  type InterleavedBatch,
  InterleavedSampler,
  JsonlDataset,
  ParquetDataset,
  RandomSampler,
  SequentialSampler,
  WorkerError,
} from '../src/index.ts';
import { rewrite, tempFiles } from './fixtures/files.ts';
import { writeArrow, writeParquet } from './fixtures/tables.ts';

const files = tempFiles('workers');
const N = 37;

/** Deep copy with typed arrays as plain arrays, to compare batches. */
function plain(value: unknown): unknown {
  if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<number>);
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

const kinds: Record<string, () => Promise<Dataset<unknown>>> = {
  jsonl: () =>
    JsonlDataset.open(
      files.write(
        'w.jsonl',
        Array.from({ length: N }, (_, i) => JSON.stringify({ id: i, x: [i, i / 2], tag: `t${i}` })).join(
          '\n',
        ),
      ),
    ),
  csv: () =>
    CsvDataset.open(
      files.write(
        'w.csv',
        `id,x,label\n${Array.from({ length: N }, (_, i) => `${i},${i / 4},"line ${i}\nof ${N}"`).join('\n')}\n`,
      ),
      { columns: { x: 'float32', id: 'int32', label: 'string' } },
    ),
  parquet: () => ParquetDataset.open(writeParquet(files.path('w.parquet'), N, 8), { columns: ['x', 'name'] }),
  arrow: () => ArrowDataset.open(writeArrow(files.path('w.arrow'), N, 8), { columns: ['id', 'name'] }),
  binary: () =>
    BinaryDataset.open(
      files.write('w.u32', new Uint8Array(Uint32Array.from({ length: N * 5 }, (_, i) => i * 3).buffer)),
      { dtype: 'uint32', sequenceLength: 5 },
    ),
};

async function collect(loader: AsyncIterable<unknown>): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const b of loader) out.push(plain(b));
  return out;
}

const loaders: { close(): Promise<void> }[] = [];
afterAll(() => Promise.all(loaders.map((l) => l.close())));

describe.each(Object.keys(kinds))('%s in workers', (kind) => {
  it('gives identical batches with 0 and 2 workers, shuffled, over two epochs', async () => {
    const dataset = await kinds[kind]!();
    const make = (numWorkers: number) =>
      new DataLoader({
        dataset,
        batchSize: 4,
        shuffle: true,
        seed: 3,
        numWorkers,
        ...(numWorkers > 0 ? { persistentWorkers: true } : {}),
      });
    const inProcess = make(0);
    const expected = [...(await collect(inProcess)), ...(await collect(inProcess))];
    const withWorkers = make(2);
    loaders.push(withWorkers);
    const got = [...(await collect(withWorkers)), ...(await collect(withWorkers))];
    expect(got).toEqual(expected);
    expect(expected.length).toBe(20);
  });
});

describe('file datasets in an interleaved run', () => {
  it('work as callback datasets (every kind in one run), with 0 and 2 workers alike', async () => {
    const names = Object.keys(kinds);
    const datasets = await Promise.all(names.map((k) => kinds[k]!()));
    const train = new ArrayDataset(Array.from({ length: 12 }, (_, i) => i));
    const sampler = new InterleavedSampler({
      trainSampler: new RandomSampler(train, { seed: 1 }),
      config: { batchSize: 3, maxEpochs: 2 },
      callbackSamplers: datasets.map((d, k) => ({
        sampler: new SequentialSampler(d),
        everyNUpdates: 3,
        batchSize: 8,
        name: names[k]!,
      })),
    });
    const run = async (numWorkers: number) => {
      const l = sampler.getDataLoader({ numWorkers, seed: 4 });
      loaders.push(l);
      const out: unknown[] = [];
      for await (const b of l as AsyncIterable<InterleavedBatch>) {
        out.push(
          plain({ source: b.source === 'train' ? 'train' : b.name, indices: b.indices, data: b.data }),
        );
      }
      return out;
    };
    const a = await run(0);
    for (const name of names) {
      expect(a.filter((b) => (b as { source: string }).source === name).length, name).toBe(5 * 2);
    }
    expect(await run(2)).toEqual(a);
  });
});

describe('block-aware shuffle in workers', () => {
  it('hits the row-group caches of both workers, counted in shared memory, with the batches of 0 workers', async () => {
    const file = writeParquet(files.path('groups.parquet'), 400, 20);
    const run = async (numWorkers: number) => {
      const dataset = await ParquetDataset.open(file, { cacheBlocks: 4 });
      const sampler = new BlockShuffleSampler(dataset, { seed: 9, window: 2 });
      const batches = await collect(new DataLoader({ dataset, sampler, batchSize: 10, numWorkers }));
      return { batches, stats: dataset.cacheStats };
    };
    const [a, b] = [await run(0), await run(2)];
    expect(b.batches).toEqual(a.batches);
    expect(a.stats).toEqual({ hits: 380, misses: 20, hitRate: 0.95 });
    // Each worker decodes each row group at most once: at most 2 × 20 misses over the 400 rows.
    expect(b.stats.hits + b.stats.misses).toBe(400);
    expect(b.stats.misses).toBeLessThanOrEqual(40);
  });
});

describe('file changes seen by workers', () => {
  it('reports a file changed before the workers open it, naming the file', async () => {
    const file = files.write('late.jsonl', '{"a":1}\n{"a":2}\n');
    const dataset = await JsonlDataset.open(file);
    rewrite(file, '{"a":1}\n{"a":3}\n');
    const loader = new DataLoader({ dataset, batchSize: 2, numWorkers: 2 });
    const e = await collect(loader).catch((x) => x);
    expect(e).toBeInstanceOf(WorkerError);
    expect((e as WorkerError).cause).toBeInstanceOf(Error);
    expect(((e as WorkerError).cause as Error).name).toBe('FileError');
    expect(((e as WorkerError).cause as Error).message).toMatch(
      new RegExp(
        `^${file.replaceAll('.', '\\.')} changed after the dataset was opened \\(modified .* → .*\\); open the dataset again$`,
      ),
    );
    // In-process, the dataset's own error surfaces.
    await expect(collect(new DataLoader({ dataset, batchSize: 2 }))).rejects.toThrow(FileError);
  });
});
