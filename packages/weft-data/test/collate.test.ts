import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CollateError, collectTransferables, defaultCollate, type Tensor } from '../src/index.ts';

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
