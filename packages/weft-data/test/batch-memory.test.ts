// Batches written in place (`layout` + `writeItem`) and reused batch memory (`reuseBatches`), in-process.
import * as tfc from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { FreeBuffers } from '../src/collate/in-place.ts';
import {
  BinaryDataset,
  type Collate,
  ConfigError,
  DataLoader,
  type Dataset,
  defaultCollate,
  type ItemLayout,
  TensorDataset,
  type TypedArray,
} from '../src/index.ts';
import { toTensors } from '../src/tfjs/index.ts';
import { tempFiles } from './fixtures/files.ts';

const files = tempFiles('batch-memory');

/** Every column kind a batch can be written from: scalars of several dtypes, vectors, images. */
const table = new TensorDataset({
  image: { data: Uint8Array.from({ length: 37 * 12 }, (_, i) => (i * 7) % 256), shape: [2, 2, 3] },
  features: { data: Float32Array.from({ length: 37 * 4 }, (_, i) => i / 8 - 3), shape: [4] },
  weight: { data: Float64Array.from({ length: 37 }, (_, i) => i * 0.25) },
  label: { data: Int32Array.from({ length: 37 }, (_, i) => (i % 5) - 2) },
  id: { data: BigInt64Array.from({ length: 37 }, (_, i) => BigInt(i) * 10n ** 12n) },
});

const tokens = Uint16Array.from({ length: 8 + 301 }, (_, i) => (i * 31) % 65536);
const bytes = (a: TypedArray) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** A dataset whose items are numbers (the one field `''`) and whose `writeItem` may be async. */
function squares(async: boolean): Dataset<number> {
  return {
    length: 23,
    layout: { '': { dtype: 'float64', shape: [] } },
    get: (i) => i * i,
    writeItem(i, batch, row) {
      (batch[''] as Float64Array)[row] = i * i;
      return async ? Promise.resolve() : undefined;
    },
  };
}

/** The same shared columns, as a TensorDataset takes them. */
const columnsOf = (ds: { columns: TensorDataset['columns'] }, names: string[]) =>
  Object.fromEntries(
    names.map((n) => [n, { data: ds.columns[n]?.data, shape: ds.columns[n]?.shape }]),
  ) as never;

/** What `get` and the default collate give: a user's collate (so not written in place) with layout dtypes. */
function viaGet(layout: ItemLayout | undefined): Collate<unknown, unknown> {
  const dtypes = Object.fromEntries(
    Object.entries(layout ?? {}).flatMap(([f, { dtype }]) =>
      f === '' || dtype === 'bigint64' ? [] : [[f, dtype]],
    ),
  );
  const collate = defaultCollate.with(dtypes === undefined ? {} : { dtypes });
  return (items) => collate(items);
}

async function all<B>(loader: AsyncIterable<B>): Promise<B[]> {
  const out: B[] = [];
  for await (const b of loader) out.push(b);
  return out;
}

describe('items written in place', () => {
  let binary: BinaryDataset<'uint16'>;
  beforeAll(async () => {
    const file = files.write(
      'tokens.u16',
      new Uint8Array([...new Uint8Array(8), ...bytes(tokens).subarray(16)]),
    );
    binary = await BinaryDataset.open(file, {
      dtype: 'uint16',
      sequenceLength: 9,
      stride: 7,
      headerBytes: 8,
      remainder: 'drop',
    });
  });

  it.each([
    ['a TensorDataset', () => table as Dataset<unknown>],
    ['a BinaryDataset', () => binary as Dataset<unknown>],
    ['a dataset of numbers', () => squares(false)],
    ['a dataset whose writeItem is async', () => squares(true)],
  ])('give %s the batches of get and collate, field by field', async (_, make) => {
    const dataset = make();
    const options = { dataset, batchSize: 8, shuffle: true, seed: 3 };
    const written = await all(new DataLoader(options));
    const collated = await all(new DataLoader({ ...options, collate: viaGet(dataset.layout) }));
    expect(written.length).toBe(Math.ceil(dataset.length / 8));
    // Same keys in the same order, same classes, same shapes and values.
    expect(written).toStrictEqual(collated);
  });

  it('write a TensorDataset batch without calling get', async () => {
    const copy = new TensorDataset(columnsOf(table, Object.keys(table.columns)));
    Object.defineProperty(copy, 'get', {
      value: () => {
        throw new Error('get was called');
      },
    });
    const [batch] = await all(new DataLoader({ dataset: copy, batchSize: 37 }));
    expect((batch as unknown as { label: Int32Array }).label).toStrictEqual(
      table.columns.label?.data.slice(),
    );
  });

  it('are not used with a collate of the user, a subclass, or a string column', async () => {
    class Doubled extends TensorDataset {
      override get(i: number) {
        const item = super.get(i) as { weight: number };
        return { ...item, weight: item.weight * 2 };
      }
    }
    const doubled = new Doubled(columnsOf(table, ['weight']));
    expect(doubled.writeItem).toBeUndefined();
    const [batch] = await all(new DataLoader({ dataset: doubled, batchSize: 3 }));
    expect(batch).toStrictEqual({ weight: Float64Array.of(0, 0.5, 1) });
    const named = new TensorDataset({ name: { data: ['a', 'b'] }, label: { data: Int32Array.of(1, 2) } });
    expect(named.writeItem).toBeUndefined();
    expect(named.layout).toStrictEqual({ label: { dtype: 'int32', shape: [] } });
  });

  it('report a failing writeItem with its own error, as get does', async () => {
    const failing: Dataset<number> = {
      ...squares(false),
      writeItem(i) {
        if (i === 5) throw new RangeError('no 5');
      },
    };
    await expect(all(new DataLoader({ dataset: failing, batchSize: 4 }))).rejects.toThrow('no 5');
  });
});

describe('reused batch memory', () => {
  const options = { dataset: table as Dataset<unknown>, batchSize: 4, shuffle: true, seed: 11 };

  it('keeps a batch valid by default, as torch does', async () => {
    const it = new DataLoader(options)[Symbol.asyncIterator]();
    const kept = (await it.next()).value;
    const copy = structuredClone(kept);
    for (let k = 0; k < 5; k++) await it.next();
    expect(kept).toStrictEqual(copy);
    await it.return?.();
  });

  it('never changes a kept batch: its memory is detached, and using it throws', async () => {
    const loader = new DataLoader({ ...options, reuseBatches: true });
    const it = loader[Symbol.asyncIterator]();
    const kept = (await it.next()).value as { label: Int32Array; image: { data: Uint8Array } };
    const copy = structuredClone(kept);
    const later = [];
    for (let k = 0; k < 5; k++) later.push(structuredClone((await it.next()).value));
    expect(kept.label.length).toBe(0);
    expect(kept.image.data.byteLength).toBe(0);
    expect(() => [...kept.label]).toThrow(TypeError);
    expect(() => kept.image.data.slice()).toThrow(TypeError);
    await it.return?.();
    // The batches written into reused memory are the batches a loader without reuse gives.
    const fresh = await all(new DataLoader(options));
    expect([copy, ...later]).toStrictEqual(fresh.slice(0, 6));
  });

  it('takes back the last batch when the loop ends or breaks', async () => {
    const loader = new DataLoader({ ...options, reuseBatches: true });
    let last: { label: Int32Array } | undefined;
    for await (const b of loader) {
      last = b as { label: Int32Array };
      break;
    }
    expect(last?.label.length).toBe(0);
  });

  it('writes every batch after the first into memory taken back, in-process', async () => {
    // Which buffers the loader's free list was given, and how many batches it served from them.
    const given = new WeakSet<ArrayBuffer>();
    let reused = 0;
    let taken = 0;
    const { give, take } = FreeBuffers.prototype;
    FreeBuffers.prototype.give = function (buffers) {
      for (const b of buffers) given.add(b);
      give.call(this, buffers);
    };
    FreeBuffers.prototype.take = function (bytes) {
      const b = take.call(this, bytes);
      taken++;
      if (given.has(b)) reused++;
      return b;
    };
    try {
      const loader = new DataLoader({
        ...options,
        dataset: squares(false),
        batchSize: 23,
        reuseBatches: true,
      });
      for (let epoch = 0; epoch < 4; epoch++) for await (const _ of loader);
    } finally {
      Object.assign(FreeBuffers.prototype, { give, take });
    }
    expect([taken, reused]).toStrictEqual([4, 3]);
  });

  it('keeps a few free buffers of each size, not every one it is given', () => {
    const free = new FreeBuffers();
    const buffers = Array.from({ length: 12 }, () => new ArrayBuffer(16));
    free.give(buffers);
    const back = Array.from({ length: 12 }, () => free.take(16));
    expect(back.filter((b) => buffers.includes(b))).toHaveLength(8);
    expect(free.take(32).byteLength).toBe(32);
  });

  it('gives the same batches, epoch after epoch, as a loader without reuse', async () => {
    const reusing = new DataLoader({ ...options, reuseBatches: true });
    const plain = new DataLoader(options);
    for (let epoch = 0; epoch < 3; epoch++) {
      const a: unknown[] = [];
      for await (const b of reusing) a.push(structuredClone(b));
      expect(a).toStrictEqual(await all(plain));
    }
  });

  it('goes on when the consumer transferred a batch away itself', async () => {
    const loader = new DataLoader({ ...options, reuseBatches: true });
    const seen: unknown[] = [];
    for await (const b of loader) {
      const { port1, port2 } = new MessageChannel();
      const label = (b as unknown as { label: Int32Array }).label;
      seen.push(Array.from(label));
      port1.postMessage(label, [label.buffer as ArrayBuffer]);
      port1.close();
      port2.close();
    }
    const plain = (await all(new DataLoader(options))).map((b) =>
      Array.from((b as unknown as { label: Int32Array }).label),
    );
    expect(seen).toStrictEqual(plain);
  });

  it('leaves batches of a user collate alone', async () => {
    const loader = new DataLoader({ ...options, reuseBatches: true, collate: viaGet(table.layout) });
    const batches = await all(loader);
    expect((batches[0] as unknown as { label: Int32Array }).label.length).toBe(4);
  });

  it('gives TensorFlow.js tensors that outlive the batch', async () => {
    await tfc.setBackend('cpu');
    const dataset = new TensorDataset(columnsOf(table, ['features', 'label']));
    const loader = new DataLoader({ ...options, dataset, reuseBatches: true });
    const tensors: { features: tfc.Tensor }[] = [];
    const copies: Float32Array[] = [];
    for await (const b of loader) {
      tensors.push(toTensors(tfc, b) as { features: tfc.Tensor });
      copies.push((b as unknown as { features: { data: Float32Array } }).features.data.slice());
    }
    tensors.forEach((t, k) => {
      expect(t.features.dataSync()).toStrictEqual(copies[k]);
    });
    for (const t of tensors) t.features.dispose();
  });

  it('is an option checked like the others', () => {
    const make = () => new DataLoader({ ...options, reuseBatches: 1 as never });
    expect(make).toThrow(ConfigError);
    expect(make).toThrow('invalid DataLoader options: `reuseBatches` must be a boolean, got 1');
  });
});
