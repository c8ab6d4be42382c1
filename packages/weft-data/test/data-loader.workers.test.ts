import { describe, expect, it } from 'vitest';
import { defaultCollate } from '../src/collate/collate.ts';
import type { Dataset } from '../src/core/dataset.ts';
import { ConfigError, IndexError } from '../src/core/errors.ts';
import { Random } from '../src/core/random.ts';
import type { SampleContext } from '../src/core/worker-info.ts';
import { getWorkerInfo } from '../src/core/worker-info.ts';
import { ArrayDataset, ConcatDataset, Subset } from '../src/datasets/basic.ts';
import { DataLoader, type DataLoaderOptions } from '../src/engine/data-loader.ts';
import { OrderSampler } from './fixtures/order-sampler.ts';

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

async function collect<B>(loader: AsyncIterable<B>): Promise<B[]> {
  const out: B[] = [];
  for await (const batch of loader) out.push(batch);
  return out;
}

const asLists = (batches: unknown[]): number[][] => batches.map((b) => Array.from(b as Float64Array));

describe('DataLoader in-process', () => {
  it('yields collated batches in order, the last one short', async () => {
    const loader = new DataLoader({ dataset: new ArrayDataset(range(10)), batchSize: 4 });
    expect(loader.length).toBe(3);
    const batches = await collect(loader);
    expect(batches[0]).toBeInstanceOf(Float64Array);
    expect(asLists(batches)).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9],
    ]);
  });

  it('defaults to batches of one', async () => {
    const loader = new DataLoader({ dataset: new ArrayDataset([5, 6]) });
    expect(asLists(await collect(loader))).toEqual([[5], [6]]);
  });

  it('drops the short last batch with dropLast', async () => {
    const loader = new DataLoader({ dataset: new ArrayDataset(range(10)), batchSize: 4, dropLast: true });
    expect(loader.length).toBe(2);
    expect(asLists(await collect(loader))).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
    ]);
  });

  it('uses a custom collate', async () => {
    const loader = new DataLoader({
      dataset: new ArrayDataset(['a', 'b', 'c']),
      batchSize: 2,
      collate: (items) => items.join(''),
    });
    expect(await collect(loader)).toEqual(['ab', 'c']);
  });

  it('shuffles with the seed, differently each epoch, and replays an epoch with setEpoch', async () => {
    const make = (seed: number) =>
      new DataLoader({ dataset: new ArrayDataset(range(20)), batchSize: 5, shuffle: true, seed });
    const loader = make(7);
    const epoch0 = asLists(await collect(loader)).flat();
    const epoch1 = asLists(await collect(loader)).flat();
    expect([...epoch0].sort((a, b) => a - b)).toEqual(range(20));
    expect(epoch0).not.toEqual(range(20));
    expect(epoch1).not.toEqual(epoch0);
    expect(asLists(await collect(make(7))).flat()).toEqual(epoch0);
    expect(asLists(await collect(make(8))).flat()).not.toEqual(epoch0);
    const resumed = make(7);
    resumed.setEpoch(1);
    expect(asLists(await collect(resumed)).flat()).toEqual(epoch1);
  });

  it('tells the sampler each epoch, counting on from setEpoch', async () => {
    const sampler = new OrderSampler([
      [0, 1, 2],
      [2, 1, 0],
    ]);
    const loader = new DataLoader({ dataset: new ArrayDataset([10, 11, 12]), sampler, batchSize: 3 });
    expect(asLists(await collect(loader))).toEqual([[10, 11, 12]]);
    expect(asLists(await collect(loader))).toEqual([[12, 11, 10]]);
    loader.setEpoch(4);
    await collect(loader);
    await collect(loader);
    expect(sampler.epochsSet).toEqual([0, 1, 4, 5]);
  });

  it('takes a batch sampler of plain arrays and checks its indices', async () => {
    const epochs: number[] = [];
    const batchSampler = {
      length: 2,
      setEpoch: (e: number) => epochs.push(e),
      *[Symbol.iterator]() {
        yield [2, 0];
        yield [1];
      },
    };
    const loader = new DataLoader({ dataset: new ArrayDataset([10, 11, 12]), batchSampler });
    expect(loader.length).toBe(2);
    expect(asLists(await collect(loader))).toEqual([[12, 10], [11]]);
    expect(epochs).toEqual([0]);
    const bad = new DataLoader({
      dataset: new ArrayDataset([1]),
      batchSampler: {
        length: 1,
        *[Symbol.iterator]() {
          yield [-1];
        },
      },
    });
    await expect(collect(bad)).rejects.toThrow(
      new IndexError('`batchSampler` yielded index -1, outside its dataset of length 1'),
    );
  });

  it("checks a sampler's indices against the dataset, so none land in a neighbouring dataset", async () => {
    // Dataset 0 has 3 items; index 3 would be dataset 1's first item.
    const dataset = new ConcatDataset([new ArrayDataset([0, 1, 2]), new ArrayDataset([100])]);
    const offBy1 = {
      length: 3,
      dataset: { length: 3 },
      indices: () => Uint32Array.of(1, 2, 3),
      *[Symbol.iterator]() {
        yield* [1, 2, 3];
      },
    };
    const loader = new DataLoader({ dataset: new Subset(dataset, [0, 1, 2]), sampler: offBy1, batchSize: 2 });
    await expect(collect(loader)).rejects.toThrow(
      new IndexError('`sampler` yielded index 3, outside its dataset of length 3'),
    );
    const plain: Dataset<number> = { length: 4, get: (i) => i };
    const negative = { length: 2, indices: () => [0, -1] as unknown as Uint32Array, *[Symbol.iterator]() {} };
    await expect(collect(new DataLoader({ dataset: plain, sampler: negative }))).rejects.toThrow(
      new IndexError('`sampler` yielded index -1, outside its dataset of length 4'),
    );
    const beyond = new OrderSampler([[0, 4]], 10);
    await expect(collect(new DataLoader({ dataset: plain, sampler: beyond }))).rejects.toThrow(
      new IndexError('`sampler` (OrderSampler) yielded index 4, outside its dataset of length 4'),
    );
  });

  it('gives two iterators created back to back their own epochs', async () => {
    const dataset = new ArrayDataset(range(12));
    const epochs = async (loader: DataLoader<Dataset<number>, unknown>) => {
      const [a, b] = [loader[Symbol.asyncIterator](), loader[Symbol.asyncIterator]()];
      return [
        asLists(await collect({ [Symbol.asyncIterator]: () => a })),
        asLists(await collect({ [Symbol.asyncIterator]: () => b })),
      ];
    };
    const one = new DataLoader({ dataset, batchSize: 4, shuffle: true, seed: 5 });
    const expected = [asLists(await collect(one)), asLists(await collect(one))];
    expect(expected[0]).not.toEqual(expected[1]);
    expect(await epochs(new DataLoader({ dataset, batchSize: 4, shuffle: true, seed: 5 }))).toEqual(expected);
    // A batch sampler that reads its epoch lazily, at the first next(), as a generator does.
    let epoch = 0;
    const lazy = {
      length: 1,
      setEpoch: (e: number) => {
        epoch = e;
      },
      *[Symbol.iterator]() {
        yield [epoch];
      },
    };
    expect(await epochs(new DataLoader({ dataset, batchSampler: lazy }))).toEqual([[[0]], [[1]]]);
  });

  it('loads async datasets', async () => {
    const dataset: Dataset<number> = { length: 5, get: async (i) => i * 10 };
    expect(asLists(await collect(new DataLoader({ dataset, batchSize: 2 })))).toEqual([
      [0, 10],
      [20, 30],
      [40],
    ]);
  });

  it('does not spend a microtask per item of a sync dataset', async () => {
    let ticks = 0;
    const seen: number[] = [];
    const dataset: Dataset<number> = {
      length: 8,
      get: (i) => {
        seen.push(ticks);
        queueMicrotask(() => ticks++);
        return i;
      },
    };
    await collect(new DataLoader({ dataset, batchSize: 4 }));
    expect(seen.slice(0, 4).every((t) => t === seen[0])).toBe(true);
    expect(seen.slice(4).every((t) => t === seen[4])).toBe(true);
  });

  it('gives each sample a context whose random() depends only on (seed, epoch, index)', async () => {
    const contexts: { index: number; epoch: number; seed: number; draw: number; again: number }[] = [];
    const dataset: Dataset<number> = {
      length: 3,
      get: (index, context?: SampleContext) => {
        const draw = context!.random().next();
        contexts.push({
          index,
          epoch: context!.epoch,
          seed: context!.seed,
          draw,
          again: context!.random().next(),
        });
        return index;
      },
    };
    const loader = new DataLoader({ dataset, batchSize: 3, seed: 9 });
    await collect(loader);
    await collect(loader);
    for (const c of contexts) {
      const expected = new Random(9, c.epoch, c.index);
      expect(c.seed).toBe(9);
      expect(c.draw).toBe(expected.next());
      expect(c.again).toBe(expected.next()); // the same generator, continued
    }
    expect(contexts.map((c) => c.epoch)).toEqual([0, 0, 0, 1, 1, 1]);
  });

  it('passes the context through Subset and ConcatDataset', async () => {
    const seen: (number | undefined)[] = [];
    const inner: Dataset<number> = {
      length: 4,
      get: (i, ctx) => {
        seen.push(ctx?.seed);
        return i;
      },
    };
    const dataset = new ConcatDataset([new Subset(inner, [3, 2]), new ArrayDataset([7])]);
    const loader = new DataLoader({ dataset, batchSize: 3, seed: 5, collate: (items) => items });
    expect(await collect(loader)).toEqual([
      [
        { dataset: 0, index: 0, item: 3 },
        { dataset: 0, index: 1, item: 2 },
        { dataset: 1, index: 0, item: 7 },
      ],
    ]);
    expect(seen).toEqual([5, 5]);
  });

  it('rethrows a dataset error untouched and can be iterated again', async () => {
    const boom = new Error('boom');
    let fail = true;
    const dataset: Dataset<number> = {
      length: 4,
      get: (i) => {
        if (i === 2 && fail) throw boom;
        return i;
      },
    };
    const loader = new DataLoader({ dataset, batchSize: 2 });
    await expect(collect(loader)).rejects.toBe(boom);
    fail = false;
    expect(asLists(await collect(loader))).toEqual([
      [0, 1],
      [2, 3],
    ]);
  });

  it('rethrows an async dataset error untouched', async () => {
    const boom = new Error('late boom');
    const dataset: Dataset<number> = {
      length: 2,
      get: (i) => (i === 1 ? Promise.reject(boom) : Promise.resolve(i)),
    };
    await expect(collect(new DataLoader({ dataset, batchSize: 2 }))).rejects.toBe(boom);
  });

  it('stops at an abort with its reason', async () => {
    const controller = new AbortController();
    const loader = new DataLoader({
      dataset: new ArrayDataset(range(6)),
      batchSize: 2,
      signal: controller.signal,
    });
    const seen: number[][] = [];
    const reason = new Error('stop');
    await expect(
      (async () => {
        for await (const b of loader) {
          seen.push(Array.from(b as Float64Array));
          controller.abort(reason);
        }
      })(),
    ).rejects.toBe(reason);
    expect(seen).toEqual([[0, 1]]);
  });

  it('can break and start a fresh epoch', async () => {
    const loader = new DataLoader({ dataset: new ArrayDataset(range(6)), batchSize: 2 });
    for await (const _ of loader) break;
    expect(asLists(await collect(loader))).toHaveLength(3);
    await loader.close();
    await loader[Symbol.asyncDispose]();
  });

  it('runs no worker and reports no worker info in-process', async () => {
    const dataset: Dataset<string> = { length: 1, get: () => String(getWorkerInfo()) };
    expect(await collect(new DataLoader({ dataset, collate: (x) => x }))).toEqual([['undefined']]);
  });
});

describe('DataLoader validation', () => {
  const dataset = new ArrayDataset(range(4));
  const make = (options: Partial<DataLoaderOptions<Dataset<number>, unknown>>) => () =>
    new DataLoader({ dataset, ...options } as DataLoaderOptions<Dataset<number>, unknown>);
  const sampler = new OrderSampler([[0, 1]]);
  const batchSampler = {
    length: 1,
    *[Symbol.iterator]() {
      yield [0];
    },
  };

  it.each<[Partial<DataLoaderOptions<Dataset<number>, unknown>>, string]>([
    [{ batchSize: 0 }, '`batchSize` must be a positive integer, got 0'],
    [{ batchSize: 1.5 }, '`batchSize` must be a positive integer, got 1.5'],
    [{ shuffle: 'yes' as never }, '`shuffle` must be a boolean, got "yes"'],
    [{ dropLast: 1 as never }, '`dropLast` must be a boolean, got 1'],
    [{ sampler, shuffle: true }, '`sampler` is mutually exclusive with `shuffle`'],
    [
      { sampler: {} as never },
      '`sampler` must be an iterable of indices with a `length`, got an object (Object)',
    ],
    [{ batchSampler, batchSize: 2 }, '`batchSampler` is mutually exclusive with `batchSize`'],
    [{ batchSampler, shuffle: true }, '`batchSampler` is mutually exclusive with `shuffle`'],
    [{ batchSampler, sampler }, '`batchSampler` is mutually exclusive with `sampler`'],
    [{ batchSampler, dropLast: true }, '`batchSampler` is mutually exclusive with `dropLast`'],
    [
      { batchSampler: 5 as never },
      '`batchSampler` must be an iterable of index batches with a `length`, got 5',
    ],
    [{ collate: 3 as never }, '`collate` must be a function, got 3'],
    [{ numWorkers: -1 }, '`numWorkers` must be a non-negative integer, got -1'],
    [{ numWorkers: 1, prefetchFactor: 0 }, '`prefetchFactor` must be a positive integer, got 0'],
    [{ prefetchFactor: 2 }, '`prefetchFactor` needs `numWorkers` > 0 (loading in-process), got numWorkers=0'],
    [
      { persistentWorkers: true },
      '`persistentWorkers` needs `numWorkers` > 0 (loading in-process), got numWorkers=0',
    ],
    [{ timeout: 100 }, '`timeout` needs `numWorkers` > 0 (loading in-process), got numWorkers=0'],
    [{ numWorkers: 1, timeout: -1 }, '`timeout` must be a non-negative number of milliseconds, got -1'],
    [{ seed: -3 }, '`seed` must be a non-negative integer, got -3'],
    [{ inOrder: 0 as never }, '`inOrder` must be a boolean, got 0'],
    [{ signal: {} as never }, '`signal` must be an AbortSignal, got an object (Object)'],
    [{ batch_size: 2 } as never, '`batch_size` is not a known option'],
  ])('%j', (options, message) => {
    expect(make(options)).toThrow(ConfigError);
    expect(make(options)).toThrow(`invalid DataLoader options: ${message}`);
  });

  it('allows torch defaults next to a batch sampler', () => {
    expect(make({ batchSampler, batchSize: 1, shuffle: false, dropLast: false })).not.toThrow();
    expect(make({ sampler, shuffle: false })).not.toThrow();
  });

  it('reports every problem at once', () => {
    try {
      make({ batchSize: 0, numWorkers: 0, persistentWorkers: true, dataset: { length: -1, get: () => 0 } })();
      expect.unreachable();
    } catch (e) {
      expect((e as ConfigError).issues).toEqual([
        '`batchSize` must be a positive integer, got 0',
        '`dataset.length` must be an integer in [0, 4294967295], got -1',
        '`persistentWorkers` needs `numWorkers` > 0 (loading in-process), got numWorkers=0',
      ]);
    }
  });

  it('checks the fields a batch sampler excludes, along with the exclusion', () => {
    const issues = [
      '`shuffle` must be a boolean, got "yes"',
      '`batchSampler` is mutually exclusive with `shuffle`',
    ];
    expect(make({ batchSampler, shuffle: 'yes' as never })).toThrow(
      new ConfigError(`invalid DataLoader options: ${issues.join('; ')}`, issues),
    );
  });

  it('rejects a non-object and a missing dataset', () => {
    expect(() => new DataLoader(null as never)).toThrow('`DataLoader` options must be an object, got null');
    expect(make({ dataset: undefined })).toThrow(
      '`dataset` must be a dataset (with `length` and `get`), got undefined',
    );
  });

  it('checks setEpoch', () => {
    expect(() => make({})().setEpoch(-1)).toThrow('`epoch` must be a non-negative integer, got -1');
  });

  it('uses defaultCollate by default', async () => {
    const [batch] = await collect(
      new DataLoader({ dataset: new ArrayDataset([[1, 2]].map((a) => Float32Array.from(a))) }),
    );
    expect(batch).toEqual(defaultCollate([Float32Array.from([1, 2])]));
  });
});
