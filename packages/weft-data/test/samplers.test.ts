import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  DistributedSampler,
  IndexError,
  RandomSampler,
  SequentialSampler,
  SubsetRandomSampler,
  WeightedRandomSampler,
} from '../src/index.ts';

const data = (length: number) => ({ length, get: (i: number) => i });
const sorted = (xs: Iterable<number>) => [...xs].sort((a, b) => a - b);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);
/** The error that lists `issues`, all of them, as its message and its `issues`. */
const allOf = (...issues: string[]) => new ConfigError(issues.join('; '), issues);

describe('SequentialSampler', () => {
  it('yields 0..n-1 from one cached array', () => {
    const s = new SequentialSampler(data(4));
    expect([...s]).toEqual([0, 1, 2, 3]);
    expect(s.indices()).toBe(s.indices());
    expect(s.dataset.length).toBe(4);
  });
  it('rejects what is not a dataset', () => {
    expect(() => new SequentialSampler(3 as never)).toThrow(
      '`data` must be a dataset (an object with a `length`), got 3',
    );
    expect(() => new SequentialSampler({ length: -1 })).toThrow(
      '`data.length` must be a non-negative integer, got -1',
    );
  });
});

describe('RandomSampler', () => {
  it('gives pinned permutations per epoch', () => {
    const s = new RandomSampler(data(10), { seed: 7 });
    expect([...s]).toEqual([7, 9, 3, 1, 4, 8, 5, 6, 0, 2]);
    s.setEpoch(1);
    expect([...s]).toEqual([9, 4, 2, 1, 0, 5, 7, 6, 3, 8]);
    s.setEpoch(0);
    expect([...s]).toEqual([7, 9, 3, 1, 4, 8, 5, 6, 0, 2]);
  });
  it('draws with replacement, and concatenates permutations past the length', () => {
    expect([...new RandomSampler(data(10), { seed: 7, replacement: true, numSamples: 6 })]).toEqual([
      2, 0, 2, 3, 9, 2,
    ]);
    expect([...new RandomSampler(data(3), { seed: 7, numSamples: 7 })]).toEqual([1, 0, 2, 2, 0, 1, 0]);
  });
  it('is a permutation, the same for the same seed and epoch', () => {
    fc.assert(
      fc.property(fc.nat({ max: 100 }), fc.nat(), fc.nat({ max: 50 }), (n, seed, epoch) => {
        const a = new RandomSampler(data(n), { seed });
        const b = new RandomSampler(data(n), { seed });
        a.setEpoch(epoch);
        b.setEpoch(epoch);
        expect(sorted(a)).toEqual(range(n));
        expect([...a]).toEqual([...b]);
      }),
    );
  });
  it('validates its options', () => {
    expect(() => new RandomSampler(data(3), { numSamples: 0 })).toThrow(
      '`numSamples` must be a positive integer, got 0',
    );
    expect(() => new RandomSampler(data(3), { replacement: 'no' as never })).toThrow(
      '`replacement` must be a boolean, got "no"',
    );
    expect(() => new RandomSampler(data(3), { seed: -1 })).toThrow(
      '`seed` must be a non-negative integer, got -1',
    );
    expect(() => new RandomSampler(data(0), { numSamples: 2, replacement: true })).toThrow(
      '`numSamples` is 2 but the dataset is empty: there is nothing to draw',
    );
    expect(() => new RandomSampler(data(3)).setEpoch(-2)).toThrow(
      '`epoch` must be a non-negative integer, got -2',
    );
  });
  it('reports every problem of its arguments at once', () => {
    expect(() => new RandomSampler({ length: -1 }, { seed: -1, replacement: 'no' as never })).toThrow(
      allOf(
        '`data.length` must be a non-negative integer, got -1',
        '`seed` must be a non-negative integer, got -1',
        '`replacement` must be a boolean, got "no"',
      ),
    );
  });
});

describe('SubsetRandomSampler', () => {
  it('shuffles the given indices', () => {
    expect([...new SubsetRandomSampler([1, 3, 5, 7, 9], { seed: 3 })]).toEqual([7, 9, 5, 1, 3]);
  });
  it('checks indices against the dataset', () => {
    expect(() => new SubsetRandomSampler([0, 5], { dataset: data(5) })).toThrow(IndexError);
    expect(() => new SubsetRandomSampler([0, 5], { dataset: data(5) })).toThrow(
      '`indices[1]` must be an integer in [0, 5), got 5',
    );
    expect(() => new SubsetRandomSampler([0.5])).toThrow(
      '`indices[0]` must be an integer in [0, 4294967296), got 0.5',
    );
  });
  it('reports every problem of its options at once', () => {
    expect(() => new SubsetRandomSampler([0], { seed: -1, dataset: 3 as never })).toThrow(
      allOf(
        '`seed` must be a non-negative integer, got -1',
        '`dataset` must be a dataset (an object with a `length`), got 3',
      ),
    );
  });
});

describe('WeightedRandomSampler', () => {
  it('gives pinned draws with and without replacement', () => {
    expect([...new WeightedRandomSampler([1, 0, 3, 6], 8, { seed: 5 })]).toEqual([3, 0, 0, 0, 2, 3, 3, 2]);
    expect([...new WeightedRandomSampler([1, 0, 3, 6], 3, { seed: 5, replacement: false })]).toEqual([
      3, 2, 0,
    ]);
  });
  it('follows the weights and never draws a zero weight', () => {
    const s = new WeightedRandomSampler([1, 0, 3], 30_000, { seed: 1 });
    const counts = [0, 0, 0];
    for (const i of s) counts[i] = (counts[i] as number) + 1;
    expect(counts[1]).toBe(0);
    expect((counts[2] as number) / (counts[0] as number)).toBeCloseTo(3, 0);
  });
  it('validates weights', () => {
    expect(() => new WeightedRandomSampler([1, -1], 2)).toThrow(
      '`weights[1]` must be a finite non-negative number, got -1',
    );
    expect(() => new WeightedRandomSampler([0, 0], 2)).toThrow('`weights` must not all be zero');
    expect(() => new WeightedRandomSampler([1, 0], 2, { replacement: false })).toThrow(
      '`numSamples` must be at most the number of positive weights (1) without replacement, got 2',
    );
    expect(() => new WeightedRandomSampler([1], 2, { dataset: data(2) })).toThrow(ConfigError);
  });
  it('reports every problem of its arguments at once, the weights too', () => {
    expect(() => new WeightedRandomSampler([1, -1], 0, { seed: 0.5 })).toThrow(
      allOf(
        '`numSamples` must be a positive integer, got 0',
        '`seed` must be a non-negative integer, got 0.5',
        '`weights[1]` must be a finite non-negative number, got -1',
      ),
    );
  });
});

describe('DistributedSampler', () => {
  it('gives pinned shards', () => {
    const shards = [0, 1, 2].map((rank) => [
      ...new DistributedSampler(data(10), { numReplicas: 3, rank, seed: 1 }),
    ]);
    expect(shards).toEqual([
      [7, 2, 8, 4],
      [3, 6, 9, 7],
      [0, 5, 1, 3],
    ]);
  });
  it('has torch sizes, and its shards cover the dataset (padded or cut) without overlap', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 1, max: 7 }),
        fc.boolean(),
        fc.boolean(),
        fc.nat({ max: 5 }),
        (n, R, dropLast, shuffle, epoch) => {
          const shards = range(R).map((rank) => {
            const s = new DistributedSampler(data(n), { numReplicas: R, rank, dropLast, shuffle, seed: 9 });
            s.setEpoch(epoch);
            return [...s];
          });
          const expected = dropLast && n % R !== 0 ? Math.max(0, Math.ceil((n - R) / R)) : Math.ceil(n / R);
          for (const s of shards) expect(s.length).toBe(expected);
          const all = shards.flat();
          if (dropLast) expect(new Set(all).size).toBe(all.length);
          else expect(new Set(all)).toEqual(new Set(range(n)));
        },
      ),
    );
  });
  it('validates rank and numReplicas', () => {
    expect(() => new DistributedSampler(data(4), { numReplicas: 2, rank: 2 })).toThrow(
      '`rank` must be in [0, numReplicas - 1] = [0, 1], got 2',
    );
    expect(() => new DistributedSampler(data(4), { numReplicas: 0, rank: 0 })).toThrow(
      '`numReplicas` must be a positive integer, got 0',
    );
  });
  it('reports a bad option along with a rank out of range', () => {
    expect(() => new DistributedSampler(data(4), { numReplicas: 2, rank: 2, shuffle: 1 as never })).toThrow(
      allOf('`shuffle` must be a boolean, got 1', '`rank` must be in [0, numReplicas - 1] = [0, 1], got 2'),
    );
  });
});
