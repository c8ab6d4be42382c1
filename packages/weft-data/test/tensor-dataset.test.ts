import { describe, expect, it } from 'vitest';
import type { Dataset } from '../src/core/dataset.ts';
import { encode } from '../src/core/recipe.ts';
import {
  ArrayDataset,
  ConfigError,
  DataLoader,
  defaultCollate,
  IndexError,
  randomSplit,
  Subset,
  type Tensor,
  TensorDataset,
} from '../src/index.ts';

const isShared = (a: ArrayBufferView): boolean => a.buffer instanceof SharedArrayBuffer;

/** Items with every kind of column weft stores. */
const items = Array.from({ length: 7 }, (_, i) => ({
  x: Float32Array.from({ length: 6 }, (_, k) => i + k / 8),
  img: { data: Uint8Array.from({ length: 6 }, (_, k) => i * 6 + k), shape: [2, 3] },
  grid: [
    [i, -i],
    [i / 2, 1],
  ],
  y: i % 3,
  id: BigInt(i) * 10n,
  name: `row ${i} ✓`,
  tokens: Int32Array.from({ length: i % 4 }, (_, k) => i * 10 + k),
}));

const fails = (build: () => unknown, what: string, issues: string[]): void => {
  expect(build).toThrow(ConfigError);
  try {
    build();
  } catch (e) {
    expect((e as ConfigError).issues).toEqual(issues);
    expect((e as ConfigError).message).toBe(`invalid ${what}: ${issues.join('; ')}`);
  }
};

describe('TensorDataset.fromItems', () => {
  const ds = TensorDataset.fromItems(items);

  it('infers every column and gives back the values', () => {
    expect(ds.length).toBe(7);
    const summary = Object.fromEntries(
      Object.entries(ds.columns).map(([k, c]) => [k, `${c.kind} ${c.dtype} [${c.shape}]`]),
    );
    expect(summary).toEqual({
      x: 'fixed float32 [6]',
      img: 'fixed uint8 [2,3]',
      grid: 'fixed float64 [2,2]',
      y: 'fixed float64 []',
      id: 'fixed bigint64 []',
      name: 'string string []',
      tokens: 'ragged int32 []',
    });
    const got = ds.get(5);
    expect(got).toEqual({
      x: items[5]?.x,
      img: items[5]?.img,
      grid: { data: new Float64Array([5, -5, 2.5, 1]), shape: [2, 2] },
      y: 2,
      id: 50n,
      name: 'row 5 ✓',
      tokens: new Int32Array([50]),
    });
    expect(ds.get(4).tokens).toEqual(new Int32Array(0));
  });

  it('returns views into shared memory, never copies', () => {
    const a = ds.get(3);
    const b = ds.get(3);
    for (const v of [a.x, a.tokens, (a.img as Tensor).data] as ArrayBufferView[])
      expect(isShared(v)).toBe(true);
    expect((a.x as Float32Array).buffer).toBe(ds.columns.x?.data.buffer);
    (a.x as Float32Array)[0] = 99;
    expect((b.x as Float32Array)[0]).toBe(99);
    expect(ds.columns.x?.data[3 * 6]).toBe(99);
    (a.x as Float32Array)[0] = 3;
  });

  it('follows the given dtypes and shapes', () => {
    const rows = [
      { x: [1, 2, 3, 4], y: 1 },
      { x: [5, 6, 7, 8], y: 2 },
    ];
    const t = TensorDataset.fromItems(rows, {
      x: { dtype: 'float32', shape: [2, 2] },
      y: { dtype: 'int32' },
    });
    expect(t.get(1)).toEqual({ x: { data: new Float32Array([5, 6, 7, 8]), shape: [2, 2] }, y: 2 });
    expect(t.columns.y?.data).toBeInstanceOf(Int32Array);
    const r = TensorDataset.fromItems(rows, { x: { dtype: 'uint16', ragged: true } });
    expect(r.get(0).x).toEqual(new Uint16Array([1, 2, 3, 4]));
    expect(TensorDataset.fromItems([], { y: { dtype: 'int8' } }).length).toBe(0);
  });

  it('collates to the same batches as an ArrayDataset of the same values', async () => {
    const { tokens: _, ...rest } = ds.columns;
    const fixed = TensorDataset.fromItems(
      items.map(({ tokens: _t, ...row }) => row),
      {},
    );
    expect(Object.keys(fixed.columns)).toEqual(Object.keys(rest));
    const plain = new ArrayDataset(
      Array.from({ length: fixed.length }, (_, i) => structuredClone(fixed.get(i))),
    );
    for (const batch of [
      [0, 1, 2],
      [6, 3],
      [4, 4, 5, 1, 0],
    ]) {
      expect(defaultCollate(batch.map((i) => fixed.get(i)))).toEqual(
        defaultCollate(batch.map((i) => plain.get(i))),
      );
    }
    // And through a loader: the same batches as from the items themselves, mapped the way get() maps them.
    const same = new ArrayDataset(
      items.map(({ tokens: _t, grid, ...row }) => ({
        ...row,
        grid: { data: Float64Array.from(grid.flat()), shape: [2, 2] },
      })),
    );
    const a = await batches(new DataLoader({ dataset: fixed, batchSize: 3, shuffle: true, seed: 2 }));
    const b = await batches(new DataLoader({ dataset: same, batchSize: 3, shuffle: true, seed: 2 }));
    expect(a).toHaveLength(3);
    expect(a).toEqual(b);
  });

  it('reports every problem at once, each column with its first bad item', () => {
    fails(
      () =>
        TensorDataset.fromItems(
          [
            { x: [1, 2], y: 1, s: 'a' },
            { x: [1], y: 1.5, s: 2 },
          ],
          { x: { dtype: 'float32', shape: [2] }, y: { dtype: 'int32' } },
        ),
      'TensorDataset.fromItems',
      [
        '`items[1].x` must be 2 float32 values of shape [2] (a typed array, a flat or nested array, or { data, shape }), got an array of length 1',
        '`items[1].y` must be an int32 value (an integer in [-2147483648, 2147483647]), got 1.5',
        '`items[1].s` must be a string, got 2',
      ],
    );
    fails(() => TensorDataset.fromItems([{ y: 300 }], { y: { dtype: 'uint8' } }), 'TensorDataset.fromItems', [
      '`items[0].y` must be a uint8 value (an integer in [0, 255]), got 300',
    ]);
  });

  it('rejects unknown dtypes, bad shapes and unknown options', () => {
    fails(
      () =>
        TensorDataset.fromItems([{ x: [1], y: 1 }], {
          x: { dtype: 'float16' as never, shape: [0] },
          y: { ragged: 'yes' as never, size: 2 } as never,
          z: { dtype: 'int32' },
        }),
      'TensorDataset.fromItems',
      [
        '`columns.x.dtype` must be one of float32, float64, int8, int16, int32, uint8, uint16, uint32, bigint64, string, got "float16"',
        '`columns.x.shape` must be an array of positive integers (the shape of one item; [] for a scalar), got an array of length 1',
        '`columns.y.size` is not a known option',
        '`columns.y.ragged` must be a boolean, got "yes"',
        '`columns.z` is not a field of `items[0]` (its fields: x, y)',
      ],
    );
    fails(() => TensorDataset.fromItems([1, 2] as never), 'TensorDataset.fromItems', [
      '`items[0]` must be an object of named fields ({ x, y }), got 1',
    ]);
    fails(() => TensorDataset.fromItems([{ flag: true }]), 'TensorDataset.fromItems', [
      '`items[0].flag` must be a number, bigint, string, typed array (Float32Array, Float64Array, Int8Array, Int16Array, Int32Array, Uint8Array, Uint16Array, Uint32Array, BigInt64Array), nested array of numbers or { data, shape }, got true; or give `columns.flag.dtype`',
    ]);
    fails(() => TensorDataset.fromItems([], { y: {} }), 'TensorDataset.fromItems', [
      '`columns.y.dtype` must be given when there are no items to infer it from, got undefined',
    ]);
  });
});

describe('new TensorDataset(columns)', () => {
  it('copies unshared data into shared memory once, and uses shared data in place', () => {
    const x = Float32Array.from({ length: 12 }, (_, i) => i);
    const sab = new Int32Array(new SharedArrayBuffer(5 * 4));
    sab.set([6, 7, 8, 9, 10]);
    const ds = new TensorDataset({ x: { data: x, shape: [3] }, y: { data: sab.subarray(1) } });
    expect(ds.length).toBe(4);
    expect(isShared(ds.columns.x?.data as Float32Array)).toBe(true);
    expect(ds.columns.x?.data).not.toBe(x);
    expect(ds.columns.y?.data.buffer).toBe(sab.buffer);
    expect(ds.get(2)).toEqual({ x: new Float32Array([6, 7, 8]), y: 9 });
    sab[3] = 11; // shared input is not copied: the dataset sees the write
    expect(ds.get(2).y).toBe(11);
    x[6] = -1; // unshared input was copied
    expect((ds.get(2).x as Float32Array)[0]).toBe(6);
  });

  it('stores strings and variable-length arrays as offsets into shared values', () => {
    const bytes = new TextEncoder().encode('héllo, world');
    const ds = new TensorDataset({
      s: { data: ['', 'naïve', 'ok'] },
      raw: { dtype: 'string', data: bytes.subarray(0, 10), offsets: [0, 6, 6, 10] },
      r: { data: new Float64Array([1, 2, 3, 4, 5]), offsets: new Uint32Array([0, 2, 2, 5]) },
    });
    expect([0, 1, 2].map((i) => ds.get(i))).toEqual([
      { s: '', raw: 'héllo', r: new Float64Array([1, 2]) },
      { s: 'naïve', raw: '', r: new Float64Array([]) },
      { s: 'ok', raw: ', wo', r: new Float64Array([3, 4, 5]) },
    ]);
    expect(isShared(ds.columns.s?.data as Uint8Array)).toBe(true);
    expect(isShared(ds.columns.r?.offsets as Float64Array)).toBe(true);
  });

  it('refuses strings that UTF-8 would silently turn into U+FFFD, naming the column and the item', () => {
    // "ok", then 0xff (never valid in UTF-8), then "é" cut in half at an item boundary.
    const bytes = Uint8Array.of(0x6f, 0x6b, 0xff, 0xc3, 0xa9);
    fails(
      () => new TensorDataset({ text: { dtype: 'string', data: bytes, offsets: [0, 2, 3, 5] } }),
      'TensorDataset',
      ['`columns.text` item 1 is not valid UTF-8 (bytes [2, 3) of `columns.text.data`)'],
    );
    fails(
      () => new TensorDataset({ text: { dtype: 'string', data: bytes.subarray(3), offsets: [0, 1, 2] } }),
      'TensorDataset',
      ['`columns.text` item 0 is not valid UTF-8 (bytes [0, 1) of `columns.text.data`)'],
    );
    expect(
      new TensorDataset({ text: { dtype: 'string', data: bytes.subarray(3), offsets: [0, 2] } }).get(0),
    ).toEqual({
      text: 'é',
    });
    fails(() => new TensorDataset({ s: { data: ['a', 'b\uD800'] } }), 'TensorDataset', [
      '`columns.s.data[1]` must be well-formed Unicode (no lone surrogate, which UTF-8 cannot store), got "b\\ud800"',
    ]);
    fails(() => TensorDataset.fromItems([{ s: 'a' }, { s: '\uDC00' }]), 'TensorDataset.fromItems', [
      '`items[1].s` must be well-formed Unicode (no lone surrogate, which UTF-8 cannot store), got "\\udc00"',
    ]);
  });

  it('validates every column at construction and reports every problem at once', () => {
    fails(
      () =>
        new TensorDataset({
          x: { data: new Float32Array(10), shape: [3] },
          img: { data: new Float32Array(8), shape: [2, 1.5] },
          y: { data: new Int32Array(4) },
          z: { data: new Uint8ClampedArray(4) as never },
          s: { data: ['a', 1] as never },
          r: { data: new Int8Array(3), offsets: [0, 2, 1, 3] },
          q: { data: new Int8Array(3), offsets: [0, 2], shape: [2] },
          t: { data: new Int8Array(3), offsets: [0, 2], stride: 1 } as never,
          u: { data: new Int8Array(3), offsets: [0, 2, 3], dtype: 'int8' as never },
          w: { data: new Uint8Array(3), shape: [] },
        }),
      'TensorDataset',
      [
        '`columns.x.data` must have a length that is a multiple of 3 (items of shape [3]), got 10',
        '`columns.img.shape` must be an array of positive integers (the shape of one item; [] for a scalar), got an array of length 2',
        '`columns.z.data` must be a typed array (Float32Array, Float64Array, Int8Array, Int16Array, Int32Array, Uint8Array, Uint16Array, Uint32Array, BigInt64Array) or an array of strings, got an object (Uint8ClampedArray)',
        '`columns.s.data[1]` must be a string, got 1',
        '`columns.r.offsets[2]` must be an integer in [2, 3] (offsets never decrease), got 1',
        '`columns.q.shape` must be left out for a ragged column, got an array of length 1',
        '`columns.t.stride` is not a known option',
        "`columns.t.offsets[1]` must be the data's length 3, got 2",
        '`columns.u.dtype` must be \'string\' (with UTF-8 bytes and offsets) or left out: the typed array gives the type, got "int8"',
        '`columns.w` must have 4 items like `columns.y` (every column one entry per item), got 3',
      ],
    );
    fails(() => new TensorDataset({ r: { data: new Int8Array(2), offsets: [0] } }), 'TensorDataset', [
      "`columns.r.offsets[0]` must be the data's length 2, got 0",
    ]);
    fails(() => new TensorDataset({ r: { data: new Int8Array(2), offsets: [1, 2] } }), 'TensorDataset', [
      '`columns.r.offsets[0]` must be 0, got 1',
    ]);
    fails(() => new TensorDataset({}), 'TensorDataset', [
      '`columns` must name at least one column, got an empty object',
    ]);
    fails(() => new TensorDataset(null as never), 'TensorDataset', [
      '`columns` must be an object of named columns ({ x: { data, shape } }), got null',
    ]);
  });

  it('checks indices', () => {
    const ds = new TensorDataset({ y: { data: new Int8Array(2) } });
    expect(() => ds.get(2)).toThrow(IndexError);
    expect(() => ds.get(2)).toThrow('index 2 is out of range for a dataset of length 2');
  });

  it('goes to workers as its shared buffers, not as items', () => {
    const ds = TensorDataset.fromItems(items);
    const encoded = encode(new Subset(ds, [1, 2]), 'dataset');
    const json = JSON.stringify(encoded, (_k, v) =>
      ArrayBuffer.isView(v) ? `${v.constructor.name}@${isShared(v)}` : typeof v === 'bigint' ? `${v}` : v,
    );
    expect(json).toContain('"name":"tensorDatasetFromShared"');
    expect(json).toContain('"Float32Array@true"');
    expect(json).not.toContain('@false');
    expect(json).not.toContain('row 1');
  });
});

describe('randomSplit', () => {
  const data = new ArrayDataset(Array.from({ length: 10 }, (_, i) => i));

  it('splits into disjoint subsets covering the dataset, the same for the same seed', () => {
    const parts = randomSplit(data, [3, 7], { seed: 4 });
    expect(parts.map((p) => p.length)).toEqual([3, 7]);
    expect(parts.every((p) => p instanceof Subset)).toBe(true);
    const all = parts.flatMap((p) => [...p.indices]);
    expect([...all].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(randomSplit(data, [3, 7], { seed: 4 }).map((p) => p.indices)).toEqual(parts.map((p) => p.indices));
    expect(randomSplit(data, [3, 7], { seed: 5 }).map((p) => p.indices)).not.toEqual(
      parts.map((p) => p.indices),
    );
    expect(randomSplit(data, [3, 7]).map((p) => p.indices)).toEqual(
      randomSplit(data, [3, 7], { seed: 0 }).map((p) => p.indices),
    );
  });

  it('takes fractions with torch’s remainder rule', () => {
    // floor(10 × f) = [3, 3, 3]; the one left over goes to the first subset.
    expect(randomSplit(data, [1 / 3, 1 / 3, 1 / 3]).map((p) => p.length)).toEqual([4, 3, 3]);
    expect(randomSplit(data, [0.25, 0.25, 0.5]).map((p) => p.length)).toEqual([3, 2, 5]);
    expect(randomSplit(data, [0.1, 0.2, 0.7]).map((p) => p.length)).toEqual([1, 2, 7]);
    expect(randomSplit(data, [1, 0]).map((p) => p.length)).toEqual([10, 0]);
  });

  it('rejects bad lengths with every problem named', () => {
    fails(() => randomSplit(data, [4, 4]), 'randomSplit', [
      "`lengths` must sum to the dataset's length 10 (or be fractions summing to 1), got a sum of 8",
    ]);
    fails(() => randomSplit(data, [0.5, 0.3]), 'randomSplit', [
      '`lengths[0]` must be an integer when the lengths are not fractions summing to 1 (they sum to 0.8), got 0.5',
    ]);
    fails(
      () => randomSplit(data, [-1, 2.5, 'x' as never], { seed: -1, shuffle: true } as never),
      'randomSplit',
      [
        '`options.seed` must be a non-negative safe integer, got -1',
        '`options.shuffle` is not a known option',
        '`lengths[0]` must be a non-negative integer or a fraction in [0, 1], got -1',
        '`lengths[1]` must be a non-negative integer or a fraction in [0, 1], got 2.5',
        '`lengths[2]` must be a non-negative integer or a fraction in [0, 1], got "x"',
      ],
    );
    fails(() => randomSplit({} as never, []), 'randomSplit', [
      '`dataset.length` must be a non-negative integer, got undefined',
      '`lengths` must be a non-empty array of lengths or fractions, got an array of length 0',
    ]);
    // The sum is judged along with the options, not after them.
    fails(() => randomSplit(data, [4, 4], { seed: -1 }), 'randomSplit', [
      '`options.seed` must be a non-negative safe integer, got -1',
      "`lengths` must sum to the dataset's length 10 (or be fractions summing to 1), got a sum of 8",
    ]);
  });
});

/** Every batch of one epoch of a loader. */
async function batches(loader: DataLoader<Dataset<unknown>, unknown>): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const b of loader) out.push(b);
  return out;
}
