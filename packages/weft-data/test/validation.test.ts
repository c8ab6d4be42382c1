import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ArrayDataset,
  BinaryDataset,
  ConcatDataset,
  ConfigError,
  DataLoader,
  InterleavedSampler,
  InterleavedSamplerConfig,
  type InterleavedSamplerOptions,
  SamplerIntervalConfig,
  type SamplerIntervalOptions,
  SequentialSampler,
  TensorDataset,
} from '../src/index.ts';
import { seq } from './fixtures/order-sampler.ts';

const cfg = (o: Record<string, unknown>) => () =>
  new InterleavedSamplerConfig(o as InterleavedSamplerOptions);
const interval = (o: Record<string, unknown>) => () =>
  new SamplerIntervalConfig({ sampler: seq(2), ...o } as SamplerIntervalOptions);

describe('InterleavedSamplerConfig validation', () => {
  it.each([
    [{ batchSize: 0, maxEpochs: 1 }, '`batchSize` must be a positive integer, got 0'],
    [{ batchSize: -3, maxEpochs: 1 }, '`batchSize` must be a positive integer, got -3'],
    [{ batchSize: 2.5, maxEpochs: 1 }, '`batchSize` must be a positive integer, got 2.5'],
    [{ batchSize: '4', maxEpochs: 1 }, '`batchSize` must be a positive integer, got "4"'],
    [{ maxEpochs: 1 }, '`batchSize` must be a positive integer, got undefined'],
    [{ batchSize: 4 }, 'at least one of `maxEpochs`, `maxUpdates`, `maxSamples` must be set, got none'],
    [{ batchSize: 4, maxSamples: -2 }, '`maxSamples` must be a non-negative integer, got -2'],
    [
      { batchSize: 8, maxUpdates: 4, startEpoch: 1, startUpdate: 8 },
      'at most one of `startEpoch`, `startUpdate`, `startSample` may be set, got startEpoch=1, startUpdate=8',
    ],
    [
      { batchSize: 6, maxEpochs: 3, startSample: 13 },
      '`startSample` must be a multiple of `batchSize` (6), got 13',
    ],
    [{ batchSize: 6, maxEpochs: 3, drop_last: true }, '`drop_last` is not a known option'],
    [{ batchSize: 6, maxEpochs: 3, dropLast: 1 }, '`dropLast` must be a boolean, got 1'],
    [{ batchSize: 6, maxEpochs: 3, evaluation: 'yes' }, '`evaluation` must be a boolean, got "yes"'],
  ])('%j', (options, message) => {
    expect(cfg(options)).toThrow(ConfigError);
    expect(cfg(options)).toThrow(`invalid InterleavedSamplerConfig: ${message}`);
  });

  it('reports every problem at once', () => {
    try {
      cfg({ batchSize: 0, maxEpochs: -1, startEpoch: 1, startUpdate: 1 })();
      expect.unreachable();
    } catch (e) {
      expect((e as ConfigError).issues).toEqual([
        '`batchSize` must be a positive integer, got 0',
        '`maxEpochs` must be a non-negative integer, got -1',
        'at most one of `startEpoch`, `startUpdate`, `startSample` may be set, got startEpoch=1, startUpdate=1',
      ]);
    }
  });

  it('rejects a non-object', () => {
    expect(cfg(null as never)).toThrow('`InterleavedSamplerConfig` options must be an object, got null');
  });

  it('applies the defaults', () => {
    const c = new InterleavedSamplerConfig({ batchSize: 2, maxUpdates: 0 });
    expect(c).toMatchObject({ dropLast: true, evaluation: false, isEvaluation: true });
  });
});

describe('SamplerIntervalConfig validation', () => {
  it.each([
    [{}, 'exactly one of `everyNEpochs`, `everyNUpdates`, `everyNSamples` must be set, got none'],
    [
      { everyNEpochs: 1, everyNSamples: 29, batchSize: 3 },
      'exactly one of `everyNEpochs`, `everyNUpdates`, `everyNSamples` must be set, got everyNEpochs=1, everyNSamples=29',
    ],
    [{ everyNSamples: -1, batchSize: 5 }, '`everyNSamples` must be a positive integer, got -1'],
    [{ everyNUpdates: 0 }, '`everyNUpdates` must be a positive integer, got 0'],
    [{ everyNEpochs: 1, batchSize: -2 }, '`batchSize` must be a positive integer, got -2'],
    [
      { everyNSamples: 4 },
      '`batchSize` is required with `everyNSamples`, got everyNSamples=4 and no batchSize',
    ],
    [
      { everyNEpochs: 1, sampler: 5 },
      '`sampler` must be a sampler (an iterable of indices with a numeric `length`), got 5',
    ],
    [{ everyNEpochs: 1, collate: 'x' }, '`collate` must be a function, got "x"'],
    [{ everyNEpochs: 1, name: '' }, '`name` must be a non-empty string, got ""'],
    [
      { everyNEpochs: 1, collate: () => 1, pipeline: () => 2 },
      '`collate` and its alias `pipeline` were both given, with different functions',
    ],
  ])('%j', (options, message) => {
    expect(interval(options)).toThrow(ConfigError);
    expect(interval(options)).toThrow(`invalid SamplerIntervalConfig: ${message}`);
  });

  it('accepts `pipeline` as the alias of `collate`', () => {
    const fn = (items: unknown[]) => items.length;
    const c = new SamplerIntervalConfig({ sampler: seq(1), everyNEpochs: 1, pipeline: fn });
    expect(c.collate).toBe(fn);
    expect(c.pipeline).toBe(fn);
  });
});

describe('InterleavedSampler validation', () => {
  const empty = seq(0);
  it.each([
    [
      { trainSampler: empty, config: { batchSize: 2, maxEpochs: 1 } },
      '`trainSampler` is empty (length 0): training would never reach a limit; use `evaluation: true` to only run the callbacks',
    ],
    [
      { trainSampler: { length: 1, *[Symbol.iterator]() {} }, config: { batchSize: 2, maxEpochs: 1 } },
      '`trainSampler.dataset` must be the dataset the sampler indexes (with `length` and `get`), got undefined; construct the sampler over its dataset',
    ],
    [
      { trainSampler: 3, config: { batchSize: 2, maxEpochs: 1 } },
      '`trainSampler` must be a sampler (an iterable of indices with a `length`), got 3',
    ],
    [
      {
        trainSampler: seq(2),
        config: { batchSize: 2, maxEpochs: 1 },
        callbackSamplers: [{ sampler: seq(1) }],
      },
      'invalid InterleavedSampler: exactly one of `callbackSamplers[0].everyNEpochs`, `callbackSamplers[0].everyNUpdates`, `callbackSamplers[0].everyNSamples` must be set, got none',
    ],
    [
      {
        trainSampler: seq(2),
        config: { batchSize: 2, maxEpochs: 1 },
        callbackSamplers: [
          { sampler: seq(1), everyNEpochs: 1, name: 'a' },
          { sampler: seq(1), everyNEpochs: 2, name: 'a' },
        ],
      },
      'callback names must be unique, got "a" twice',
    ],
    [
      { trainSampler: seq(2), config: { batchSize: 2, maxEpochs: 1 }, trainCollate: 1 },
      '`trainCollate` must be a function, got 1',
    ],
    [
      { trainSampler: seq(2), config: { batchSize: 2, maxEpochs: 1 }, callbackSamplers: {} },
      '`callbackSamplers` must be an array, got an object (Object)',
    ],
  ])('%#', (init, message) => {
    const make = () => new InterleavedSampler(init as never);
    expect(make).toThrow(ConfigError);
    expect(make).toThrow(message);
  });

  // Issue 10, items 10 and 11: every problem is a ConfigError at construction, naming the option, what was
  // expected and the value given.
  const sampler = (length: number, datasetLength = length) => ({
    length,
    dataset: { length: datasetLength, get: (i: number) => i },
    *[Symbol.iterator]() {},
  });
  const base = { trainSampler: seq(4), config: { batchSize: 2, maxEpochs: 1 } };
  it.each<[object, string]>([
    [{ ...base, callbackSampler: [] }, '`callbackSampler` is not a known option'],
    [{ ...base, replay: 'test' }, '`replay` must be an array of callback names, got "test"'],
    ...[-1, Number.NaN, 1.5, 2 ** 32].map((length): [object, string] => [
      { ...base, callbackSamplers: [{ sampler: sampler(length, 3), everyNEpochs: 1 }] },
      `\`callbackSamplers[0].sampler.length\` must be an integer in [0, 4294967295], got ${length}`,
    ]),
    [
      { ...base, trainSampler: sampler(4, 2 ** 32) },
      '`trainSampler.dataset.length` must be an integer in [0, 4294967295], got 4294967296',
    ],
    [
      { ...base, trainSampler: sampler(2 ** 32, 4) },
      '`trainSampler.length` must be an integer in [0, 4294967295], got 4294967296',
    ],
    [
      {
        ...base,
        callbackSamplers: [{ sampler: sampler(2, 2 ** 32 - 1), everyNEpochs: 1 }],
      },
      'the datasets together must hold at most 4294967296 items (global indices are 32-bit), got 4294967299',
    ],
    [
      { ...base, config: { batchSize: 2, maxEpochs: 2 ** 53 - 1, startEpoch: 2 ** 52 } },
      '`startEpoch` must be at most 2251799813685247 with these samplers (updates and samples must stay within 2**53 - 1), got 4503599627370496',
    ],
    [
      { ...base, config: { batchSize: 2, maxEpochs: 2 ** 53 } },
      '`config.maxEpochs` must be a safe integer (at most 2**53 - 1), got 9007199254740992',
    ],
    // Data-parallel shards: the world size a training sampler declares, the real part of a padded shard.
    [
      { ...base, trainSampler: { ...sampler(4), numReplicas: 0 } },
      '`trainSampler.numReplicas` must be a positive integer, got 0',
    ],
    [
      { ...base, callbackSamplers: [{ sampler: { ...sampler(2, 8), realLength: 3 }, everyNEpochs: 1 }] },
      '`callbackSamplers[0].sampler.realLength` must be an integer in [0, 2], got 3',
    ],
    [
      { ...base, callbackSamplers: [{ sampler: { ...sampler(2, 8), numReplicas: 1.5 }, everyNEpochs: 1 }] },
      '`callbackSamplers[0].sampler.numReplicas` must be a positive integer, got 1.5',
    ],
    [
      { ...base, config: { batchSize: 2, maxUpdates: 2 ** 53 - 1 } },
      '`maxUpdates` must be at most 4503599627370495 with these samplers (updates and samples must stay within 2**53 - 1), got 9007199254740991',
    ],
  ])('%#: rejects at construction', (init, message) => {
    const make = () => new InterleavedSampler(init as never);
    expect(make).toThrow(ConfigError);
    expect(make).toThrow(`invalid InterleavedSampler: ${message}`);
  });

  it('reports every problem of the options at once', () => {
    try {
      new InterleavedSampler({
        trainSampler: seq(4),
        config: { batchSize: 0, maxEpochs: 1 },
        callbackSamplers: [{ sampler: sampler(-1, 2), everyNEpochs: 0 }],
        callbackSampler: [],
      } as never);
      expect.unreachable();
    } catch (e) {
      expect((e as ConfigError).issues).toEqual([
        '`callbackSampler` is not a known option (did you mean `callbackSamplers`?)',
        '`config.batchSize` must be a positive integer, got 0',
        '`callbackSamplers[0].everyNEpochs` must be a positive integer, got 0',
        '`callbackSamplers[0].sampler.length` must be an integer in [0, 4294967295], got -1',
      ]);
    }
  });

  it('rejects a resume state whose `replay` is not a list of names', () => {
    const s = new InterleavedSampler({
      ...base,
      callbackSamplers: [{ sampler: seq(2), everyNEpochs: 1, name: 'test' }],
    });
    const state = { epoch: 0, update: 1, sample: 2, replay: 'test' } as never;
    expect(() => s.resumeFrom(state)).toThrow(
      'invalid resume state: `state.replay` must be an array of callback names, got "test"',
    );
    expect(() => s.getDataLoader({ resume: state })).toThrow(ConfigError);
    expect(() => s.getDataLoader({ resume: state })).toThrow(
      'invalid loader options: `resume.replay` must be an array of callback names, got "test"',
    );
    expect(() =>
      s.getDataLoader({ resume: { epoch: 0, update: 1, sample: 2, replays: [] } as never }),
    ).toThrow('invalid loader options: `resume.replays` is not a known option');
    // What a data-parallel state records is checked like the rest.
    expect(() =>
      s.resumeFrom({ epoch: 0, update: 1, sample: 2, worldSize: 0, globalBatchSize: 2.5 } as never),
    ).toThrow(
      'invalid resume state: `state.worldSize` must be a positive integer, got 0; `state.globalBatchSize` must be a positive integer, got 2.5',
    );
  });

  it('rejects a callback sampler of a bad length in SamplerIntervalConfig too', () => {
    expect(() => new SamplerIntervalConfig({ sampler: sampler(1.5, 2), everyNEpochs: 1 })).toThrow(
      'invalid SamplerIntervalConfig: `sampler.length` must be an integer in [0, 4294967295], got 1.5',
    );
  });

  it('names unsafe integers as such in the config', () => {
    expect(cfg({ batchSize: 2, maxEpochs: 3, startEpoch: 2 ** 53 })).toThrow(
      'invalid InterleavedSamplerConfig: `startEpoch` must be a safe integer (at most 2**53 - 1), got 9007199254740992',
    );
  });

  it('allows an empty training sampler in evaluation mode', () => {
    expect(
      () => new InterleavedSampler({ trainSampler: empty, config: { batchSize: 2, maxEpochs: 0 } }),
    ).not.toThrow();
  });
});

describe('built-in dataset validation', () => {
  it("reports every problem of a ConcatDataset's datasets at once", () => {
    const issues = [
      '`datasets[1].length` must be a non-negative integer, got -1',
      '`datasets[1]` must have a `get(index)` method, got an object (Object)',
      '`datasets[2]` must be a dataset (an object with a `length`), got null',
    ];
    expect(() => new ConcatDataset([new ArrayDataset([1]), { length: -1 }, null] as never)).toThrow(
      new ConfigError(issues.join('; '), issues),
    );
  });
});

describe('unknown options', () => {
  const dataset = new ArrayDataset([1, 2, 3]);

  it('name the option most likely meant: camelCase of snake_case, another case, a typo', () => {
    const options = { dataset, batch_size: 2, shufle: true, numworkers: 1, pin_memory: true, colour: 1 };
    expect(() => new DataLoader(options as never)).toThrow(
      'invalid DataLoader options: `batch_size` is not a known option (did you mean `batchSize`?); `shufle` is not a known option (did you mean `shuffle`?); `numworkers` is not a known option (did you mean `numWorkers`?); `pin_memory` is not a known option (did you mean `pinMemory`?); `colour` is not a known option',
    );
  });

  it('name it at its place, in nested options and in every way options are checked', () => {
    const train = new SequentialSampler(dataset);
    expect(
      () =>
        new InterleavedSampler({
          trainSampler: train,
          config: { batchSize: 2, max_epochs: 1 } as never,
          callbackSamplers: [{ sampler: train, every_n_epochs: 1 } as never],
        }),
    ).toThrow(
      'invalid InterleavedSampler: `config.max_epochs` is not a known option (did you mean `config.maxEpochs`?); at least one of `config.maxEpochs`, `config.maxUpdates`, `config.maxSamples` must be set, got none; `callbackSamplers[0].every_n_epochs` is not a known option (did you mean `callbackSamplers[0].everyNEpochs`?); exactly one of `callbackSamplers[0].everyNEpochs`, `callbackSamplers[0].everyNUpdates`, `callbackSamplers[0].everyNSamples` must be set, got none',
    );
    const sampler = new InterleavedSampler({ trainSampler: train, config: { batchSize: 2, maxEpochs: 1 } });
    expect(() => sampler.getDataLoader({ num_workers: 2 } as never)).toThrow(
      'invalid loader options: `num_workers` is not a known option (did you mean `numWorkers`?)',
    );
    expect(() => new TensorDataset({ x: { data: new Float32Array(2), shpe: [1] } as never })).toThrow(
      'invalid TensorDataset: `columns.x.shpe` is not a known option (did you mean `columns.x.shape`?)',
    );
    expect(() => TensorDataset.fromItems([{ x: 1 }], { x: { Dtype: 'int32' } } as never)).toThrow(
      'invalid TensorDataset.fromItems: `columns.x.Dtype` is not a known option (did you mean `columns.x.dtype`?)',
    );
  });
});

describe('pinMemory', () => {
  it("is accepted by DataLoader and getDataLoader, so the seed's call ports as is", async () => {
    const dataset = new ArrayDataset([1, 2, 3, 4]);
    const loader = new DataLoader({ dataset, batchSize: 2, pinMemory: true });
    const batches: unknown[] = [];
    for await (const batch of loader) batches.push(batch);
    expect(batches).toEqual([Float64Array.of(1, 2), Float64Array.of(3, 4)]);
    const sampler = new InterleavedSampler({
      trainSampler: new SequentialSampler(dataset),
      config: { batchSize: 2, maxEpochs: 1 },
    });
    await sampler.getDataLoader({ numWorkers: 4, pinMemory: true }).close();
    expect(() => new DataLoader({ dataset, pinMemory: 'yes' as never })).toThrow(
      'invalid DataLoader options: `pinMemory` must be a boolean, got "yes"',
    );
  });
});

describe('loader length limit', () => {
  it('refuses a dataset longer than 2**32 - 1 at construction, naming the length and the limit', () => {
    const huge = { length: 2 ** 32, get: (i: number) => i };
    expect(() => new DataLoader({ dataset: huge, batchSize: 4 })).toThrow(ConfigError);
    expect(() => new DataLoader({ dataset: huge, batchSize: 4 })).toThrow(
      'invalid DataLoader options: `dataset.length` must be an integer in [0, 4294967295], got 4294967296',
    );
  });

  it('refuses a BinaryDataset over a 5 GiB file (a sparse file)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-huge-'));
    try {
      const file = join(dir, 'huge.bin');
      writeFileSync(file, '');
      truncateSync(file, 5 * 2 ** 30);
      const tokens = await BinaryDataset.open(file, { dtype: 'uint8', sequenceLength: 1 });
      expect(tokens.length).toBe(5 * 2 ** 30);
      expect(() => new DataLoader({ dataset: tokens, batchSize: 8 })).toThrow(
        'invalid DataLoader options: `dataset.length` must be an integer in [0, 4294967295], got 5368709120',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
