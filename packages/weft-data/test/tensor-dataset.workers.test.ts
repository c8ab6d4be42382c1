import { afterAll, describe, expect, it } from 'vitest';
import {
  ArrayDataset,
  DataLoader,
  fromModule,
  type InterleavedBatch,
  type InterleavedLoader,
  InterleavedSampler,
  RandomSampler,
  randomSplit,
  SequentialSampler,
  TensorDataset,
} from '../src/index.ts';
import { type lists, type markSeen, url } from './fixtures/tensor-data.ts';

const table = TensorDataset.fromItems(
  Array.from({ length: 50 }, (_, i) => ({
    x: Float32Array.from({ length: 6 }, (_, k) => i + k / 10),
    y: i % 4,
    id: BigInt(i),
    name: `item ${i}`,
    tokens: Int32Array.from({ length: i % 5 }, (_, k) => i * 100 + k),
  })),
  { x: { shape: [2, 3] }, y: { dtype: 'int32' } },
);
const { tokens: _, ...fixedColumns } = table.columns;
// The same shared columns without the ragged one, for defaultCollate (which cannot stack ragged items).
const fixed = new TensorDataset(
  Object.fromEntries(
    Object.entries(fixedColumns).map(([k, c]) => [
      k,
      c.kind === 'string'
        ? { dtype: 'string' as const, data: c.data, offsets: c.offsets }
        : { data: c.data, shape: c.shape },
    ]),
  ),
);

const open: { close(): Promise<void> }[] = [];
afterAll(() => Promise.all(open.map((l) => l.close())));
function keep<L extends { close(): Promise<void> }>(loader: L): L {
  open.push(loader);
  return loader;
}
async function epoch(loader: AsyncIterable<unknown>): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const b of loader) out.push(b);
  return out;
}

describe('TensorDataset in workers', () => {
  it("keeps each column's dtype in workers, and each dataset's own in an interleaved run", async () => {
    const labelled = TensorDataset.fromItems(
      Array.from({ length: 8 }, (_, i) => ({ x: Float32Array.of(i, -i), y: i % 3 })),
      { y: { dtype: 'int32' } },
    );
    const plain = new ArrayDataset([0.5, 1.5, 2.5]);
    for (const numWorkers of [0, 2]) {
      const [batch] = await epoch(keep(new DataLoader({ dataset: labelled, batchSize: 4, numWorkers })));
      expect((batch as { y: unknown }).y).toEqual(Int32Array.of(0, 1, 2, 0));
      const sampler = new InterleavedSampler({
        trainSampler: new SequentialSampler(labelled),
        config: { batchSize: 4, maxUpdates: 1 },
        callbackSamplers: [{ sampler: new SequentialSampler(plain), everyNUpdates: 1, name: 'plain' }],
      });
      const batches = await epoch(keep(sampler.getDataLoader({ numWorkers })));
      expect(batches.map((b) => (b as { data: unknown }).data)).toEqual([
        {
          x: { data: Float32Array.of(0, -0, 1, -1, 2, -2, 3, -3), shape: [4, 2] },
          y: Int32Array.of(0, 1, 2, 0),
        },
        Float64Array.of(0.5, 1.5, 2.5),
      ]);
    }
  });

  it('gives the same batches with 0 and 2 workers, directly and through randomSplit', async () => {
    expect(fixed.columns.x?.data).toBe(table.columns.x?.data);
    const [train] = randomSplit(fixed, [0.8, 0.2], { seed: 3 });
    for (const dataset of [fixed, train as NonNullable<typeof train>]) {
      const options = { dataset, batchSize: 8, shuffle: true, seed: 9 };
      const a = await epoch(keep(new DataLoader({ ...options, numWorkers: 0 })));
      const b = await epoch(keep(new DataLoader({ ...options, numWorkers: 2 })));
      expect(b).toEqual(a);
      expect(a).toHaveLength(Math.ceil(dataset.length / 8));
    }
    const collate = await fromModule<typeof lists>(url, 'lists');
    const options = { dataset: table, batchSize: 8, shuffle: true, seed: 9, collate };
    const a = await epoch(keep(new DataLoader({ ...options, numWorkers: 0 })));
    const b = await epoch(keep(new DataLoader({ ...options, numWorkers: 2 })));
    expect(b).toEqual(a);
    expect((a[0] as [string, number[]][])[0]?.[1]).toHaveLength(
      Number((a[0] as [string][])[0]?.[0].slice(5)) % 5,
    );
  });

  it('shares memory with the workers: a write in one thread is seen by the other', async () => {
    const n = 16;
    const ds = new TensorDataset({
      value: { data: Int32Array.from({ length: n }, (_, i) => i) },
      seen: { data: new Int32Array(n), shape: [1] },
    });
    const collate = await fromModule<typeof markSeen>(url, 'markSeen');
    const loader = keep(
      new DataLoader({ dataset: ds, batchSize: 4, numWorkers: 2, persistentWorkers: true, collate }),
    );
    const first = (await epoch(loader)).flat();
    expect(first).toEqual(Array.from({ length: n }, (_, i) => i));
    // Each worker wrote into its items' `seen` views; here, in the main thread, the writes are visible.
    const seen = ds.columns.seen?.data as Int32Array;
    expect(Array.from({ length: n }, (_, i) => Atomics.load(seen, i))).toEqual(new Array(n).fill(1));
    // Now the main thread writes; the same, already running workers read the new values.
    const value = ds.columns.value?.data as Int32Array;
    for (let i = 0; i < n; i++) Atomics.store(value, i, 1000 + i);
    const second = (await epoch(loader)).flat();
    expect(second).toEqual(Array.from({ length: n }, (_, i) => 1000 + i));
    expect(Array.from({ length: n }, (_, i) => Atomics.load(seen, i))).toEqual(new Array(n).fill(2));
  });

  it('serves as a callback dataset of an interleaved run, the same with 0 and 2 workers', async () => {
    const [train, val] = randomSplit(fixed, [40, 10], { seed: 1 });
    const sampler = new InterleavedSampler({
      trainSampler: new RandomSampler(train as NonNullable<typeof train>, { seed: 5 }),
      config: { batchSize: 8, maxEpochs: 2 },
      callbackSamplers: [
        {
          sampler: new SequentialSampler(val as NonNullable<typeof val>),
          everyNEpochs: 1,
          batchSize: 4,
          name: 'val',
        },
        { sampler: new SequentialSampler(fixed), everyNUpdates: 3, batchSize: 25, name: 'all' },
      ],
    });
    const run = async (numWorkers: number) =>
      (await epoch(keep(sampler.getDataLoader({ numWorkers, seed: 2 }) as InterleavedLoader))).map((b) => {
        const { data, indices, ...tags } = b as InterleavedBatch;
        return { ...tags, indices: [...indices], data };
      });
    const a = await run(0);
    const b = await run(2);
    expect(b).toEqual(a);
    const vals = a.filter((x) => x.source === 'callback' && x.name === 'val');
    expect(vals).toHaveLength(2 * 3);
    expect((vals[0] as { data: { name: string[] } }).data.name).toEqual(
      [0, 1, 2, 3].map((i) => `item ${(val as NonNullable<typeof val>).indices[i]}`),
    );
  });
});
