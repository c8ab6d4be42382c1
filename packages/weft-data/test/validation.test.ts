import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  InterleavedSampler,
  InterleavedSamplerConfig,
  type InterleavedSamplerOptions,
  SamplerIntervalConfig,
  type SamplerIntervalOptions,
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

  it('allows an empty training sampler in evaluation mode', () => {
    expect(
      () => new InterleavedSampler({ trainSampler: empty, config: { batchSize: 2, maxEpochs: 0 } }),
    ).not.toThrow();
  });
});
