import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BatchSampler,
  ConfigError,
  IndexError,
  IndexSampler,
  RandomSampler,
  type Sampler,
  SequentialSampler,
} from '../src/index.ts';

const data = (length: number) => ({ length, get: (i: number) => i });

describe('BatchSampler', () => {
  it('groups indices into owned batches', () => {
    const b = new BatchSampler(new SequentialSampler(data(10)), { batchSize: 4 });
    const batches = [...b];
    expect(batches.map((x) => [...x])).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9],
    ]);
    expect(b.length).toBe(3);
    batches[0]?.fill(99);
    expect([...b][0]).toEqual(new Uint32Array([0, 1, 2, 3]));
  });

  it('concatenates to the sampler order, with torch lengths', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 50 }),
        fc.integer({ min: 1, max: 9 }),
        fc.boolean(),
        (n, batchSize, dropLast) => {
          const sampler = new RandomSampler(data(n), { seed: 1 });
          const b = new BatchSampler(sampler, { batchSize, dropLast });
          const batches = [...b];
          expect(batches.length).toBe(b.length);
          const flat = batches.flatMap((x) => [...x]);
          const keep = dropLast ? n - (n % batchSize) : n;
          expect(flat).toEqual([...sampler].slice(0, keep));
        },
      ),
    );
  });

  it('forwards setEpoch and reads foreign samplers through their iterator', () => {
    const foreign = {
      length: 3,
      *[Symbol.iterator]() {
        yield* [2, 1, 0];
      },
    };
    expect([...new BatchSampler(foreign, { batchSize: 2 })].map((x) => [...x])).toEqual([[2, 1], [0]]);
    const s = new RandomSampler(data(5), { seed: 2 });
    const b = new BatchSampler(s, { batchSize: 5 });
    b.setEpoch(3);
    expect([...b][0]).toEqual(s.indices());
  });

  it('validates', () => {
    const s = new SequentialSampler(data(2));
    expect(() => new BatchSampler(s, { batchSize: 0 })).toThrow(
      new ConfigError('`batchSize` must be a positive integer, got 0'),
    );
    expect(() => new BatchSampler(s, { batchSize: 1, dropLast: 1 as never })).toThrow(
      '`dropLast` must be a boolean, got 1',
    );
    expect(() => new BatchSampler(null as never, { batchSize: 1 })).toThrow('`sampler` must be a sampler');
    const issues = [
      '`sampler` must be a sampler (an iterable of indices with a `length`), got null',
      '`batchSize` must be a positive integer, got 0',
      '`dropLast` must be a boolean, got 1',
    ];
    expect(() => new BatchSampler(null as never, { batchSize: 0, dropLast: 1 as never })).toThrow(
      new ConfigError(issues.join('; '), issues),
    );
    const bad = {
      length: 1,
      *[Symbol.iterator]() {
        yield -1;
      },
    };
    expect(() => [...new BatchSampler(bad, { batchSize: 1 })]).toThrow(
      '`sampler` yielded -1, which is not an index (an integer in [0, 2^32))',
    );
  });

  it("checks each epoch's indices against the dataset once, naming the sampler and the value", () => {
    /** A sampler whose `indices()` returns whatever it is given (a buggy sampler, or one for other data). */
    class FixedSampler extends IndexSampler {
      constructor(
        readonly order: ArrayLike<number>,
        readonly dataset = data(10),
      ) {
        super();
      }
      get length() {
        return this.order.length;
      }
      indices() {
        return this.order as Uint32Array;
      }
    }
    const fails = (sampler: Sampler, message: string) => {
      const b = new BatchSampler(sampler, { batchSize: 2 });
      expect(() => b[Symbol.iterator]()).toThrow(IndexError);
      expect(() => b[Symbol.iterator]()).toThrow(message);
    };
    fails(
      new FixedSampler(Uint32Array.of(0, 10)),
      '`sampler` (FixedSampler) yielded index 10, outside its dataset of length 10',
    );
    fails(
      new FixedSampler([3, -1]),
      '`sampler` (FixedSampler) yielded index -1, outside its dataset of length 10',
    );
    fails(
      new FixedSampler([NaN]),
      '`sampler` (FixedSampler) yielded index NaN, outside its dataset of length 10',
    );
    fails(
      new FixedSampler([1.5]),
      '`sampler` (FixedSampler) yielded index 1.5, outside its dataset of length 10',
    );
    // The dataset given to the batch sampler wins over the sampler's own.
    const other = new BatchSampler(new FixedSampler(Uint32Array.of(7)), { batchSize: 1, dataset: data(5) });
    expect(() => [...other]).toThrow(
      '`sampler` (FixedSampler) yielded index 7, outside its dataset of length 5',
    );
    const wrongLength = {
      length: 3,
      *[Symbol.iterator]() {
        yield* [0, 1];
      },
    };
    fails(wrongLength, '`sampler` yielded 2 indices, but its length is 3');
    const good = new FixedSampler([2, 0, 1]);
    expect([...new BatchSampler(good, { batchSize: 2 })].map((x) => [...x])).toEqual([[2, 0], [1]]);
  });

  it('takes the order when the iterator is created', () => {
    const b = new BatchSampler(new RandomSampler(data(10), { seed: 1 }), { batchSize: 10 });
    b.setEpoch(0);
    const first = b[Symbol.iterator]();
    b.setEpoch(1);
    const second = b[Symbol.iterator]();
    b.setEpoch(0);
    const epoch0 = [...b][0];
    b.setEpoch(1);
    const epoch1 = [...b][0];
    expect(epoch0).not.toEqual(epoch1);
    expect(first.next().value).toEqual(epoch0);
    expect(second.next().value).toEqual(epoch1);
  });
});
