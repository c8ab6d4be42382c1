import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, Random } from '../src/index.ts';

describe('Random (xoshiro128**)', () => {
  it('gives pinned sequences for a seed and a stream', () => {
    const r = new Random(42);
    expect([r.nextUint32(), r.nextUint32(), r.nextUint32()]).toEqual([3690653525, 11933045, 849986415]);
    expect(new Random(42, 1, 7).nextUint32()).toBe(2554338458);
  });

  it('separates streams and large seeds', () => {
    const first = (...key: number[]) => new Random(key[0] as number, ...key.slice(1)).nextUint32();
    expect(first(1, 2)).not.toBe(first(1, 3));
    expect(first(1)).not.toBe(first(1, 0));
    expect(first(2 ** 40)).not.toBe(first(0));
  });

  it('stays in range and is close to uniform', () => {
    const r = new Random(7);
    const counts = new Array<number>(10).fill(0);
    const n = 100_000;
    for (let i = 0; i < n; i++) {
      const x = r.int(10);
      counts[x] = (counts[x] as number) + 1;
    }
    const chi2 = counts.reduce((s, c) => s + (c - n / 10) ** 2 / (n / 10), 0);
    expect(chi2).toBeLessThan(40); // 9 degrees of freedom: p < 1e-5 beyond this
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 1, max: 2 ** 32 }), (seed, n) => {
        const x = new Random(seed).int(n);
        expect(Number.isInteger(x) && x >= 0 && x < n).toBe(true);
        const f = new Random(seed).next();
        expect(f >= 0 && f < 1).toBe(true);
      }),
    );
  });

  it('permutes', () => {
    fc.assert(
      fc.property(fc.nat(), fc.nat({ max: 200 }), (seed, n) => {
        const p = [...new Random(seed).permutation(n)].sort((a, b) => a - b);
        expect(p).toEqual(Array.from({ length: n }, (_, i) => i));
      }),
    );
  });

  it('draws normals with the right moments', () => {
    const r = new Random(3);
    const xs = Array.from({ length: 20_000 }, () => r.normal(2, 3));
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
    expect(mean).toBeCloseTo(2, 1);
    expect(sd).toBeCloseTo(3, 1);
  });

  it('validates its key and arguments', () => {
    expect(() => new Random(1.5)).toThrow(
      new ConfigError('`seed` must be a non-negative safe integer, got 1.5'),
    );
    expect(() => new Random(1, -1)).toThrow('`stream[0]` must be a non-negative safe integer, got -1');
    expect(() => new Random(1).int(0)).toThrow('`n` must be an integer in [1, 2^32], got 0');
    const issues = [
      '`seed` must be a non-negative safe integer, got 1.5',
      '`stream[1]` must be a non-negative safe integer, got -1',
    ];
    expect(() => new Random(1.5, 0, -1)).toThrow(new ConfigError(issues.join('; '), issues));
  });
});
