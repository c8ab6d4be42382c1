// Batch types: each `expectTypeOf` and `@ts-expect-error` here is checked by `tsc` (the typecheck step of
// `npm test`, over the test folder), and each runtime `expect` beside it checks that the value that arrives
// is of the class the type names. A public type that becomes `any` or `unknown`, or stops matching what
// collating gives, fails the typecheck.
import * as tfc from '@tensorflow/tfjs-core';
import { Bool, Float32, Int32, Int64, Table, tableToIPC, Uint8, Utf8, vectorFromArray } from 'apache-arrow';
import { parquetWriteFile } from 'hyparquet-writer';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  ArrayDataset,
  ArrowDataset,
  BinaryDataset,
  type Collated,
  ConfigError,
  DataLoader,
  type Dataset,
  defaultCollate,
  distributedSamplers,
  fromModule,
  ImageFolder,
  InterleavedSampler,
  ParquetDataset,
  randomSplit,
  SequentialSampler,
  type Tensor,
  type TensorColumns,
  TensorDataset,
  type TensorItem,
} from '../src/index.ts';
import { loaderDataset, type Tensors } from '../src/tfjs/index.ts';
import { tempFiles } from './fixtures/files.ts';
import { smallFolder } from './fixtures/images.ts';
import { url as fixtures } from './fixtures/loader-datasets.ts';

type IsAny<T> = 0 extends 1 & T ? true : false;
type IsUnknown<T> = unknown extends T ? (IsAny<T> extends true ? false : true) : false;
/** `true` unless `T` is `any` or `unknown`, at the top or in any field, recursively. */
type Known<T> =
  IsAny<T> extends true
    ? false
    : IsUnknown<T> extends true
      ? false
      : T extends ArrayBufferView | string | number | bigint | boolean
        ? true
        : T extends readonly (infer E)[]
          ? Known<E>
          : T extends object
            ? false extends { [K in keyof T]-?: Known<T[K]> }[keyof T]
              ? false
              : true
            : true;

async function first<B>(loader: AsyncIterable<B>): Promise<B> {
  for await (const b of loader) return b;
  throw new Error('no batch');
}

describe('Collated: what defaultCollate returns, kind by kind', () => {
  it('numbers, booleans, bigints and strings', () => {
    const b = defaultCollate([
      { n: 1, flag: true, big: 1n, s: 'a' },
      { n: 2, flag: false, big: 2n, s: 'b' },
    ]);
    expectTypeOf(b).toEqualTypeOf<{ n: Float64Array; flag: Uint8Array; big: BigInt64Array; s: string[] }>();
    expect(b.n).toBeInstanceOf(Float64Array);
    expect(b.flag).toBeInstanceOf(Uint8Array);
    expect(b.big).toBeInstanceOf(BigInt64Array);
    expect(b.s).toEqual(['a', 'b']);
    expectTypeOf<Known<typeof b>>().toEqualTypeOf<true>();
    expectTypeOf<Known<{ x: unknown }>>().toEqualTypeOf<false>();
    // biome-ignore lint/suspicious/noExplicitAny: the check must catch an `any` inside a batch
    expectTypeOf<Known<{ x: [any] }>>().toEqualTypeOf<false>();
  });

  it('typed arrays and tensors stack into tensors of their own array type', () => {
    const b = defaultCollate([
      { f: Float32Array.of(1), c: Uint8ClampedArray.of(2), t: { data: Uint16Array.of(1, 2), shape: [2] } },
      { f: Float32Array.of(3), c: Uint8ClampedArray.of(4), t: { data: Uint16Array.of(3, 4), shape: [2] } },
    ]);
    expectTypeOf(b.f).toEqualTypeOf<Tensor<Float32Array>>();
    expectTypeOf(b.c).toEqualTypeOf<Tensor<Uint8ClampedArray>>();
    expectTypeOf(b.t).toEqualTypeOf<Tensor<Uint16Array>>();
    expect(b.f.data).toBeInstanceOf(Float32Array);
    expect(b.c.data).toBeInstanceOf(Uint8ClampedArray);
    expect(b.t.data).toBeInstanceOf(Uint16Array);
    expect(b.t.shape).toEqual([2, 2]);
  });

  it('nested number arrays stack into a Float64Array tensor; other tuples go position by position', () => {
    const b = defaultCollate<{ m: number[][]; pair: [number, number]; mixed: [Float32Array, string] }>([
      { m: [[1], [2]], pair: [1, 2], mixed: [Float32Array.of(1), 'x'] },
      { m: [[3], [4]], pair: [3, 4], mixed: [Float32Array.of(2), 'y'] },
    ]);
    expectTypeOf(b.m).toEqualTypeOf<Tensor<Float64Array>>();
    expectTypeOf(b.pair).toEqualTypeOf<Tensor<Float64Array>>();
    expectTypeOf(b.mixed).toEqualTypeOf<[Tensor<Float32Array>, string[]]>();
    expect(b.m.data).toBeInstanceOf(Float64Array);
    expect(b.m.shape).toEqual([2, 2, 1]);
    expect(b.pair.data).toBeInstanceOf(Float64Array);
    expect(b.mixed[0].data).toBeInstanceOf(Float32Array);
    expect(b.mixed[1]).toEqual(['x', 'y']);
  });

  it('objects recursively, and the dtypes of defaultCollate.with by field path', () => {
    const collate = defaultCollate.with({ dtypes: { 'a.b': 'int32', img: 'float32' } });
    const b = collate([{ a: { b: 1 }, img: [[1, 2]] }]);
    expectTypeOf(b).toEqualTypeOf<{ a: { b: Int32Array }; img: Tensor<Float32Array> }>();
    expect(b.a.b).toBeInstanceOf(Int32Array);
    expect(b.img.data).toBeInstanceOf(Float32Array);
    const t = defaultCollate.with({ dtypes: { '0': 'int8' } })<[number, boolean]>([[1, true]]);
    expectTypeOf(t).toEqualTypeOf<[Int8Array, Uint8Array]>();
    expect(t[0]).toBeInstanceOf(Int8Array);
    expect(t[1]).toBeInstanceOf(Uint8Array);
  });

  it('keeps unknown items unknown, and gives nothing for what cannot be collated', () => {
    expectTypeOf<Collated<unknown>>().toBeUnknown();
    expectTypeOf<Collated<{ x: undefined }>>().toEqualTypeOf<{ x: never }>();
    expectTypeOf<Collated<{ x?: number }>>().toEqualTypeOf<{ x?: Float64Array }>();
  });
});

describe('batches typed by their dataset, with its dtypes', () => {
  const rows = [
    { x: [1, 2], y: 3, name: 'a' },
    { x: [3, 4], y: 5, name: 'b' },
  ];

  it('TensorDataset: an int32 column arrives as an Int32Array, typed so, through randomSplit too', async () => {
    const ds = TensorDataset.fromItems(rows, { y: { dtype: 'int32' } });
    expectTypeOf(ds.get(0)).toEqualTypeOf<{ x: Float64Array; y: number; name: string }>();
    const batch = await first(new DataLoader({ dataset: ds, batchSize: 2 }));
    expectTypeOf(batch).toEqualTypeOf<{ x: Tensor<Float64Array>; y: Int32Array; name: string[] }>();
    expect(batch.y).toBeInstanceOf(Int32Array);
    expect(batch.x.data).toBeInstanceOf(Float64Array);
    expectTypeOf<Known<typeof batch>>().toEqualTypeOf<true>();
    const [part] = randomSplit(ds, [1]);
    const split = await first(new DataLoader({ dataset: part as NonNullable<typeof part>, batchSize: 2 }));
    expectTypeOf(split.y).toEqualTypeOf<Int32Array>();
    expect(split.y).toBeInstanceOf(Int32Array);
    const columns = new TensorDataset({
      image: { data: new Uint8Array(8), shape: [2, 2] },
      label: { data: Int16Array.of(1, 2) },
    });
    expectTypeOf(columns.get(0)).toEqualTypeOf<{ image: Tensor<Uint8Array>; label: number }>();
    const b = await first(new DataLoader({ dataset: columns, batchSize: 2 }));
    expectTypeOf(b).toEqualTypeOf<{ image: Tensor<Uint8Array>; label: Int16Array }>();
    expect(b.label).toBeInstanceOf(Int16Array);
    // Columns known only as TensorColumns give the items of any TensorDataset.
    const wide = new TensorDataset({ label: { data: Int16Array.of(1) } } as TensorColumns);
    expectTypeOf(wide.get(0)).toEqualTypeOf<TensorItem>();
  });

  it('an explicit collate wins over the layout, in the type and in the batch', async () => {
    const dataset = TensorDataset.fromItems(rows, { y: { dtype: 'int32' } });
    const batch = await first(new DataLoader({ dataset, batchSize: 2, collate: defaultCollate }));
    expectTypeOf(batch.y).toEqualTypeOf<Float64Array>();
    expect(batch.y).toBeInstanceOf(Float64Array);
    const sizes = await first(new DataLoader({ dataset, batchSize: 2, collate: (items) => items.length }));
    expectTypeOf(sizes).toEqualTypeOf<number>();
  });

  it('a batch type needs the collate that makes it: a type argument alone is refused', () => {
    const dataset = new ArrayDataset([{ y: 1 }]);
    // @ts-expect-error `y` arrives as a Float64Array; saying Int32Array needs a collate that makes one
    expect(() => new DataLoader<typeof dataset, { y: Int32Array }>({ dataset })).not.toThrow();
    expect(() => new DataLoader<typeof dataset, unknown>({ dataset })).not.toThrow();
  });

  it('ImageFolder: images of its dtype, int32 labels, and the shape when transforms fix it', async () => {
    const { root } = await smallFolder();
    const folder = new ImageFolder(root, { dtype: 'uint8', transforms: [{ centerCrop: 4 }], layout: 'hwc' });
    expect(folder.layout).toEqual({
      image: { dtype: 'uint8', shape: [4, 4, 3] },
      label: { dtype: 'int32', shape: [] },
    });
    expect(new ImageFolder(root, { transforms: [{ resize: 6 }] }).layout.image).toEqual({ dtype: 'float32' });
    const batch = await first(new DataLoader({ dataset: folder, batchSize: 2 }));
    expectTypeOf(batch).toEqualTypeOf<{ image: Tensor<Uint8Array>; label: Int32Array }>();
    expect(batch.image.data).toBeInstanceOf(Uint8Array);
    expect(batch.label).toBeInstanceOf(Int32Array);
  });

  it('BinaryDataset: records stack in their dtype', async () => {
    const file = tempFiles('types').write('t.u16', new Uint8Array(Uint16Array.of(1, 2, 3, 4).buffer));
    const ds = await BinaryDataset.open(file, { dtype: 'uint16', sequenceLength: 2 });
    const batch = await first(new DataLoader({ dataset: ds, batchSize: 2 }));
    expectTypeOf(batch).toEqualTypeOf<Tensor<Uint16Array>>();
    expect(batch.data).toEqual(Uint16Array.of(1, 2, 3, 4));
  });

  it('Parquet and Arrow: the column types the file declares reach the batch', async () => {
    const files = tempFiles('typed-tables');
    const parquet = files.path('t.parquet');
    parquetWriteFile({
      filename: parquet,
      columnData: [
        { name: 'id', data: Int32Array.of(1, 2), type: 'INT32' },
        { name: 'f', data: Float32Array.of(0.5, 1.5), type: 'FLOAT' },
        { name: 'x', data: Float64Array.of(0.1, 0.2), type: 'DOUBLE' },
        { name: 'flag', data: [true, false], type: 'BOOLEAN' },
        { name: 'name', data: ['a', 'b'], type: 'STRING' },
      ],
    });
    type Row = { id: number; f: number; x: number; flag: boolean; name: string };
    const table = await ParquetDataset.open<Row>(parquet);
    expect(table.layout).toEqual({
      id: { dtype: 'int32', shape: [] },
      f: { dtype: 'float32', shape: [] },
      x: { dtype: 'float64', shape: [] },
      flag: { dtype: 'bool', shape: [] },
    });
    const batch = await first(new DataLoader({ dataset: table, batchSize: 2 }));
    // The row type says numbers; which array each becomes is the file's to say, so the type allows any.
    expectTypeOf(batch.id).toExtend<ArrayBufferView>();
    expectTypeOf(batch.name).toEqualTypeOf<string[]>();
    expect(batch.id).toEqual(Int32Array.of(1, 2));
    expect(batch.f).toEqual(Float32Array.of(0.5, 1.5));
    expect(batch.x).toEqual(Float64Array.of(0.1, 0.2));
    expect(batch.flag).toEqual(Uint8Array.of(1, 0));
    const arrow = files.write(
      't.arrow',
      tableToIPC(
        new Table({
          id: vectorFromArray([1, 2], new Int32()),
          f: vectorFromArray([0.5, 1.5], new Float32()),
          small: vectorFromArray([3, 4], new Uint8()),
          flag: vectorFromArray([true, false], new Bool()),
          big: vectorFromArray([5n, 6n], new Int64()),
          name: vectorFromArray(['a', 'b'], new Utf8()),
        }),
        'file',
      ),
    );
    const frame = await ArrowDataset.open(arrow, { columns: ['id', 'f', 'small', 'flag', 'big'] });
    expect(frame.layout).toEqual({
      id: { dtype: 'int32', shape: [] },
      f: { dtype: 'float32', shape: [] },
      small: { dtype: 'uint8', shape: [] },
      flag: { dtype: 'bool', shape: [] },
    });
    const b = await first(new DataLoader({ dataset: frame, batchSize: 2 }));
    expect(b).toEqual({
      id: Int32Array.of(1, 2),
      f: Float32Array.of(0.5, 1.5),
      small: Uint8Array.of(3, 4),
      flag: Uint8Array.of(1, 0),
      big: BigInt64Array.of(5n, 6n),
    });
  });

  it('a dataset typed only as Dataset<T> may have any layout: its numbers are any dtype', () => {
    const ds: Dataset<{ y: number }> = TensorDataset.fromItems([{ y: 1 }], { y: { dtype: 'int32' } });
    const loader = new DataLoader({ dataset: ds });
    expectTypeOf<typeof loader extends DataLoader<Dataset<{ y: number }>, infer B> ? B : never>()
      .toHaveProperty('y')
      .toExtend<ArrayBufferView>();
    const none: Dataset<{ y: number }, undefined> = { length: 1, get: () => ({ y: 1 }) };
    expectTypeOf(new DataLoader({ dataset: none })).toEqualTypeOf<
      DataLoader<Dataset<{ y: number }, undefined>, { y: Float64Array }>
    >();
  });

  it('a layout that is not one is a ConfigError naming the field', () => {
    const dataset = { length: 1, get: () => ({ y: 1 }), layout: { y: { dtype: 'int33' } } };
    expect(() => new DataLoader({ dataset } as never)).toThrow(ConfigError);
    expect(() => new DataLoader({ dataset } as never)).toThrow(
      'invalid dataset layout: `layout.y.dtype` must be one of float32, float64, int8, int16, int32, bigint64, uint8, uint16, uint32, bool, got "int33"',
    );
  });
});

describe('the interleaved loader: training batches by the training dataset, callback batches by theirs', () => {
  it('types and delivers each kind with its own dataset dtypes', async () => {
    const train = TensorDataset.fromItems(
      [0, 1, 2, 3].map((i) => ({ x: Float32Array.of(i), y: i })),
      { y: { dtype: 'int32' } },
    );
    const test = new ArrayDataset([{ id: 'a' }, { id: 'b' }]);
    const sampler = new InterleavedSampler({
      trainSampler: new SequentialSampler(train),
      config: { batchSize: 2, maxEpochs: 1 },
      callbackSamplers: [{ sampler: new SequentialSampler(test), everyNEpochs: 1, name: 'test' }],
    });
    const kinds: string[] = [];
    for await (const batch of sampler.getDataLoader()) {
      if (batch.source === 'train') {
        expectTypeOf(batch.data).toEqualTypeOf<{ x: Tensor<Float32Array>; y: Int32Array }>();
        expect(batch.data.y).toBeInstanceOf(Int32Array);
        expect(batch.data.x.data).toBeInstanceOf(Float32Array);
      } else {
        expectTypeOf(batch.data).toEqualTypeOf<{ id: string[] }>();
        expect(batch.data.id).toEqual(['a', 'b']);
      }
      kinds.push(batch.source);
    }
    expect(kinds).toEqual(['train', 'train', 'callback']);
  });

  it('types the batches of a data-parallel run by the datasets given to distributedSamplers', async () => {
    const train = TensorDataset.fromItems([{ y: 1 }, { y: 2 }, { y: 3 }, { y: 4 }], {
      y: { dtype: 'int32' },
    });
    const test = new ArrayDataset(['a', 'b', 'c']);
    const { trainSampler, callbackSamplers } = distributedSamplers({
      train,
      env: { rank: 1, worldSize: 2 },
      callbacks: [{ dataset: test, everyNEpochs: 1, name: 'test', collate: (items) => items.join('') }],
    });
    const sampler = new InterleavedSampler({
      trainSampler,
      callbackSamplers,
      config: { batchSize: 2, maxEpochs: 1 },
    });
    const seen: unknown[] = [];
    for await (const batch of sampler.getDataLoader()) {
      if (batch.source === 'train') {
        expectTypeOf(batch.data).toEqualTypeOf<{ y: Int32Array }>();
        expect(batch.data.y).toBeInstanceOf(Int32Array);
      } else {
        expectTypeOf(batch.data).toEqualTypeOf<string>();
        seen.push(batch.data);
      }
    }
    expect(seen).toEqual(['ba']); // rank 1's shard of [a, b, c]: b, padded with a
  });

  it('types a batch by the collate given for it', async () => {
    const data = new ArrayDataset([1, 2]);
    const sampler = new InterleavedSampler({
      trainSampler: new SequentialSampler(data),
      trainCollate: (items) => items.length,
      config: { batchSize: 2, maxEpochs: 1 },
      callbackSamplers: [
        { sampler: new SequentialSampler(data), everyNEpochs: 1, collate: (items) => items.map(String) },
      ],
    });
    const seen: unknown[] = [];
    for await (const batch of sampler.getDataLoader()) {
      if (batch.source === 'train') expectTypeOf(batch.data).toEqualTypeOf<number>();
      else expectTypeOf(batch.data).toEqualTypeOf<string[]>();
      seen.push(batch.data);
    }
    expect(seen).toEqual([2, ['1', '2']]);
  });
});

describe('fromModule typed by the export', () => {
  it("gives the factory's result and checks its options", async () => {
    type Fixtures = typeof import('./fixtures/loader-datasets.ts');
    const dataset = await fromModule<Fixtures['numbers']>(fixtures, 'numbers', { n: 3 });
    expectTypeOf(dataset).toEqualTypeOf<Dataset<number, undefined>>();
    const batch = await first(new DataLoader({ dataset, batchSize: 3 }));
    expectTypeOf(batch).toEqualTypeOf<Float64Array>();
    expect(batch).toEqual(Float64Array.of(0, 1, 2));
    // @ts-expect-error the factory takes { n: number }
    await fromModule<Fixtures['numbers']>(fixtures, 'numbers', { count: 3 }).catch(() => undefined);
    const untyped = await fromModule(fixtures, 'numbers', { n: 1 });
    expectTypeOf(untyped).toEqualTypeOf<Dataset<unknown>>();
    expect(untyped.length).toBe(1);
  });
});

describe('weft-data/tfjs', () => {
  it("types loaderDataset's map by the loader's batches", () => {
    const loader = new DataLoader({ dataset: new ArrayDataset([{ x: Float32Array.of(1), label: 'a' }]) });
    type Seen = Tensors<typeof loader extends AsyncIterable<infer B> ? B : never>;
    expectTypeOf<Seen>().toEqualTypeOf<{ x: tfc.Tensor; label: string[] }>();
    const tf = { ...tfc, data: { generator: () => ({}) } } as unknown as Parameters<typeof loaderDataset>[0];
    loaderDataset(tf, loader, (b) => {
      expectTypeOf(b.x).toEqualTypeOf<tfc.Tensor>();
      return { xs: b.x };
    });
  });
});
