// Reused batch memory with worker threads: the same batches as in-process, a kept batch never changed.
import { describe, expect, it } from 'vitest';
import { DataLoader, type Dataset, TensorDataset } from '../src/index.ts';

const table = new TensorDataset({
  image: { data: Float32Array.from({ length: 61 * 48 }, (_, i) => Math.sin(i)), shape: [3, 4, 4] },
  label: { data: Int32Array.from({ length: 61 }, (_, i) => i % 7) },
});
const options = { dataset: table as Dataset<unknown>, batchSize: 5, shuffle: true, seed: 5 };

async function epochs(loader: DataLoader<Dataset<unknown>, unknown>, n: number): Promise<unknown[][]> {
  const out: unknown[][] = [];
  for (let e = 0; e < n; e++) {
    const batches: unknown[] = [];
    for await (const b of loader) batches.push(structuredClone(b));
    out.push(batches);
  }
  return out;
}

describe('reused batch memory with workers', () => {
  it('gives 0 and 2 workers the same batches, epoch after epoch', async () => {
    const inProcess = await epochs(new DataLoader({ ...options, reuseBatches: true }), 3);
    await using workers = new DataLoader({
      ...options,
      reuseBatches: true,
      numWorkers: 2,
      persistentWorkers: true,
    });
    expect(await epochs(workers, 3)).toStrictEqual(inProcess);
    // And those of a loader that does not reuse memory.
    expect(inProcess).toStrictEqual(await epochs(new DataLoader(options), 3));
  });

  it('never changes a kept batch: its memory goes back to the workers detached', async () => {
    const loader = new DataLoader({ ...options, reuseBatches: true, numWorkers: 2 });
    const it = loader[Symbol.asyncIterator]();
    const kept = (await it.next()).value as { label: Int32Array; image: { data: Float32Array } };
    const copy = structuredClone(kept);
    for (let k = 0; k < 5; k++) await it.next();
    expect(kept.image.data.byteLength).toBe(0);
    expect(() => [...kept.label]).toThrow(TypeError);
    await it.return?.();
    const [fresh] = await epochs(new DataLoader(options), 1);
    expect(copy).toStrictEqual(fresh?.[0]);
  });

  it('keeps every batch valid without reuseBatches', async () => {
    await using loader = new DataLoader({ ...options, numWorkers: 2 });
    const it = loader[Symbol.asyncIterator]();
    const kept = (await it.next()).value;
    const copy = structuredClone(kept);
    for (let k = 0; k < 5; k++) await it.next();
    expect(kept).toStrictEqual(copy);
    await it.return?.();
  });
});
