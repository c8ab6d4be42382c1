import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CollateError,
  ConfigError,
  collectTransferables,
  defaultCollate,
  type Tensor,
} from '../src/index.ts';

const fails = (items: unknown[], message: string) => {
  expect(() => defaultCollate(items)).toThrow(CollateError);
  expect(() => defaultCollate(items)).toThrow(`\`defaultCollate\`: ${message}`);
};

describe('defaultCollate', () => {
  it('turns numbers, booleans and bigints into typed arrays, and keeps strings', () => {
    expect(defaultCollate([1, 2.5])).toEqual(new Float64Array([1, 2.5]));
    expect(defaultCollate([true, false])).toEqual(new Uint8Array([1, 0]));
    expect(defaultCollate([1n, 2n])).toEqual(new BigInt64Array([1n, 2n]));
    expect(defaultCollate(['a', 'b'])).toEqual(['a', 'b']);
  });

  it('stacks typed arrays, tensors and nested number arrays with a shape', () => {
    expect(defaultCollate([new Float32Array([1, 2]), new Float32Array([3, 4])])).toEqual({
      data: new Float32Array([1, 2, 3, 4]),
      shape: [2, 2],
    });
    const t = (v: number) => ({ data: new Uint8Array([v, v, v, v]), shape: [2, 2] });
    expect(defaultCollate([t(1), t(2)])).toEqual({
      data: new Uint8Array([1, 1, 1, 1, 2, 2, 2, 2]),
      shape: [2, 2, 2],
    });
    expect(
      defaultCollate([
        [[1], [2]],
        [[3], [4]],
      ]),
    ).toEqual({ data: new Float64Array([1, 2, 3, 4]), shape: [2, 2, 1] });
  });

  it('collates objects key by key and tuples position by position', () => {
    expect(
      defaultCollate([
        { x: 1, tag: ['a', 0] },
        { x: 2, tag: ['b', 1] },
      ]),
    ).toEqual({
      x: new Float64Array([1, 2]),
      tag: [['a', 'b'], new Float64Array([0, 1])],
    });
  });

  it('names what does not line up', () => {
    fails([], 'cannot collate an empty batch');
    fails([{ a: 1 }, { b: 2 }], 'items[1] has keys [b], items[0] has [a]');
    fails([{ a: 1 }, { a: 'x' }], 'items[1].a is string, items[0].a is number');
    fails(
      [{ p: new Float32Array(3) }, { p: new Float32Array(2) }],
      'items[1].p has length 2, items[0].p has 3',
    );
    fails([new Float32Array(1), new Int8Array(1)], 'items[1] is Int8Array, items[0] is Float32Array');
    fails([[[1, 2]], [[1]]], 'items[1][0] has length 1, expected length 2 (a ragged array)');
    fails([['a', 1], ['b']], 'items[1] has length 1, items[0] has 2');
    fails(
      [
        { data: new Uint8Array(2), shape: [2] },
        { data: new Uint8Array(2), shape: [1, 2] },
      ],
      'items[1] has shape [1,2], items[0] has [2]',
    );
    fails([null], 'cannot collate items[0]: null');
    fails([{ d: new Date() }], 'cannot collate items[0].d: Date instance');
  });

  it('stacks any rectangular nested arrays into their flattened concatenation', () => {
    const dims = fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 });
    fc.assert(
      fc.property(dims, fc.integer({ min: 1, max: 4 }), fc.nat(), (shape, n, seed) => {
        let x = seed;
        const make = (d: number): unknown => {
          if (d < shape.length) return Array.from({ length: shape[d] as number }, () => make(d + 1));
          x = (x * 31 + 7) % 1000;
          return x;
        };
        const items = Array.from({ length: n }, () => make(0));
        const out = defaultCollate(items) as Tensor<Float64Array>;
        expect(out.shape).toEqual([n, ...shape]);
        expect([...out.data]).toEqual(items.flat(shape.length as 1));
      }),
    );
  });
});

describe('defaultCollate on awkward items', () => {
  it('collates tuples that start with a number position by position', () => {
    expect(
      defaultCollate([
        [0, 'cat'],
        [1, 'dog'],
      ]),
    ).toEqual([new Float64Array([0, 1]), ['cat', 'dog']]);
    expect(
      defaultCollate([
        [0, new Float32Array([1, 2])],
        [1, new Float32Array([3, 4])],
      ]),
    ).toEqual([new Float64Array([0, 1]), { data: new Float32Array([1, 2, 3, 4]), shape: [2, 2] }]);
  });

  it('rejects a tensor whose data does not fit its shape', () => {
    const t = (n: number, shape: number[]) => ({ data: new Float32Array(n), shape });
    fails([t(4, [2, 2]), t(3, [2, 2])], 'items[1] has 3 elements in `data`, but its shape [2,2] needs 4');
    fails([t(3, [2, 2])], 'items[0] has 3 elements in `data`, but its shape [2,2] needs 4');
    fails([t(2, [-1, -2])], 'items[0] has shape [-1,-2], which is not a list of non-negative integers');
  });

  it('rejects bigints outside the int64 range instead of wrapping them', () => {
    fails(
      [1n, 2n ** 63n],
      'items[1] is 9223372036854775808n, outside the range of a BigInt64Array [-2^63, 2^63 - 1]',
    );
    fails(
      [{ id: -(2n ** 63n) - 1n }],
      'items[0].id is -9223372036854775809n, outside the range of a BigInt64Array [-2^63, 2^63 - 1]',
    );
    expect(defaultCollate([2n ** 63n - 1n, -(2n ** 63n)])).toEqual(
      new BigInt64Array([2n ** 63n - 1n, -(2n ** 63n)]),
    );
  });

  it('gives its own error for cyclic and deeply nested items', () => {
    const cyclic: { self?: unknown } = {};
    cyclic.self = cyclic;
    fails(
      [cyclic],
      'items[0].self.self.self.self.self.self.self.self.self.self… is nested more than 32 levels deep (is the item cyclic?)',
    );
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    fails(
      [deep],
      'items[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]… is nested more than 32 levels deep (is the item cyclic?)',
    );
    let ok: unknown = 1;
    for (let i = 0; i < 32; i++) ok = { a: ok };
    expect(() => defaultCollate([ok])).not.toThrow();
  });

  it('accepts the same keys in another order', () => {
    expect(
      defaultCollate([
        { a: 1, b: 2 },
        { b: 4, a: 3 },
      ]),
    ).toEqual({ a: new Float64Array([1, 3]), b: new Float64Array([2, 4]) });
    fails(
      [
        { a: 1, b: 2 },
        { a: 1, c: 2 },
      ],
      'items[1] has keys [a, c], items[0] has [a, b]',
    );
    fails([{ a: 1, b: 2 }, { a: 1 }], 'items[1] has keys [a], items[0] has [a, b]');
  });
});

describe('defaultCollate.with({ dtypes })', () => {
  const items = [
    { x: [0.5, 1], y: 3, ok: true, name: 'a', px: new Uint8Array([0, 255]) },
    { x: [2, 0], y: 7, ok: false, name: 'b', px: new Uint8Array([1, 2]) },
  ];

  it('gives each named field its element type', () => {
    const collate = defaultCollate.with({ dtypes: { x: 'float32', y: 'int32', ok: 'bool', px: 'float32' } });
    expect(collate(items)).toEqual({
      x: { data: new Float32Array([0.5, 1, 2, 0]), shape: [2, 2] },
      y: new Int32Array([3, 7]),
      ok: new Uint8Array([1, 0]),
      name: ['a', 'b'],
      px: { data: new Float32Array([0, 255, 1, 2]), shape: [2, 2] },
    });
    const out = collate(items) as { y: unknown; x: Tensor };
    expect(out.y).toBeInstanceOf(Int32Array);
    expect(out.x.data).toBeInstanceOf(Float32Array);
    // Without dtypes the defaults stay: integers as Float64Array.
    expect((defaultCollate(items) as { y: unknown }).y).toBeInstanceOf(Float64Array);
  });

  it('names nested fields by path and tuple elements by position', () => {
    const collate = defaultCollate.with({ dtypes: { '0.label': 'uint8', '1': 'int32' } });
    expect(
      collate([
        [{ label: 1 }, 5],
        [{ label: 2 }, 6],
      ]),
    ).toEqual([{ label: new Uint8Array([1, 2]) }, new Int32Array([5, 6])]);
    expect(defaultCollate.with({ dtypes: { 'meta.label': 'uint8' } })([{ meta: { label: 4 } }])).toEqual({
      meta: { label: new Uint8Array([4]) },
    });
  });

  it('rejects values the type cannot hold, naming the field, item and value', () => {
    const fails = (dtypes: Record<string, string>, batch: unknown[], message: string) => {
      const collate = defaultCollate.with({ dtypes } as never);
      expect(() => collate(batch)).toThrow(CollateError);
      expect(() => collate(batch)).toThrow(`\`defaultCollate\`: ${message}`);
    };
    fails(
      { y: 'int32' },
      [{ y: 1 }, { y: 1.5 }],
      'items[1].y is 1.5, which int32 cannot represent (`dtypes.y`)',
    );
    fails({ y: 'uint8' }, [{ y: 300 }], 'items[0].y is 300, which uint8 cannot represent (`dtypes.y`)');
    fails({ y: 'bool' }, [{ y: 2 }], 'items[0].y is 2, which bool cannot represent (`dtypes.y`)');
    fails(
      { x: 'float32' },
      [{ x: [1, 1e39] }],
      'items[0].x[1] is 1e+39, which float32 cannot represent (`dtypes.x`)',
    );
    fails(
      { px: 'int8' },
      [{ px: new Uint8Array([1, 200]) }],
      'items[0].px[1] is 200, which int8 cannot represent (`dtypes.px`)',
    );
    fails(
      { t: 'uint8' },
      [{ t: { data: new Float32Array([0, -1]), shape: [2] } }],
      'items[0].t.data[1] is -1, which uint8 cannot represent (`dtypes.t`)',
    );
  });

  it('rejects unknown dtypes, options and fields with a ConfigError', () => {
    const bad = (options: unknown, message: string) => {
      expect(() => defaultCollate.with(options as never)).toThrow(ConfigError);
      expect(() => defaultCollate.with(options as never)).toThrow(message);
    };
    bad(
      { dtypes: { y: 'int64', x: 'float32' } },
      'invalid collate options: `dtypes.y` must be one of float64, float32, int8, int16, int32, uint8, uint16, uint32, bool, got "int64"',
    );
    bad({ dtype: { y: 'int32' } }, 'invalid collate options: `dtype` is not a known option');
    bad(
      { dtypes: 'int32' },
      'invalid collate options: `dtypes` must be an object of field → dtype, got "int32"',
    );
    bad(
      { dtypes: { 'a..b': 'int32' } },
      'invalid collate options: `dtypes` has the field "a..b", which is not a path like `a` or `a.b`',
    );
    bad(null, 'collate options must be an object, got null');
    const collate = defaultCollate.with({ dtypes: { z: 'int32', y: 'int32' } });
    expect(() => collate(items)).toThrow(ConfigError);
    expect(() => collate(items)).toThrow('invalid collate options: `dtypes.z` names no field of the items');
    expect(() => defaultCollate.with({ dtypes: { name: 'int32' } })(items)).toThrow(
      new ConfigError(
        '`dtypes.name` names a field of string values, which have no dtype; dtypes apply to numbers, booleans, typed arrays, tensors and nested number arrays',
      ),
    );
  });
});

describe('collectTransferables', () => {
  it('finds each whole buffer once and skips partial views', () => {
    const a = new Float32Array(4);
    const shared = new Uint8Array(16);
    const batch = { a, again: a, list: [new Int32Array(2)], part: shared.subarray(0, 4), n: 1 };
    const found = collectTransferables(batch);
    expect(found).toHaveLength(2);
    expect(found).toContain(a.buffer);
    expect(found).not.toContain(shared.buffer);
  });
});
