import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planFile } from '../src/cli/plan-config.ts';
import { ConfigError, formatPlan, InterleavedSampler } from '../src/index.ts';
import { seq } from './fixtures/order-sampler.ts';

describe('plan', () => {
  const sampler = (start = {}) =>
    new InterleavedSampler({
      trainSampler: seq(100),
      config: { batchSize: 16, maxEpochs: 3, ...start },
      callbackSamplers: [
        { sampler: seq(10), everyNEpochs: 1, name: 'test' },
        { sampler: seq(5), everyNUpdates: 2, name: 'quick' },
      ],
    });

  it('computes the schedule as data', () => {
    const p = sampler().plan();
    expect(p).toMatchObject({ updates: 18, epochs: 3, samples: 288, trainBatches: 18, evalBatches: 12 });
    expect(p.evaluationShare).toBeCloseTo(12 / 30);
    expect(p.callbacks[0]).toMatchObject({ name: 'test', passes: 3, batches: 3, samples: 30 });
    expect([...(p.callbacks[0]?.afterUpdates ?? [])]).toEqual([6, 12, 18]);
    expect([...(p.callbacks[1]?.afterUpdates ?? [])]).toEqual([2, 4, 6, 8, 10, 12, 14, 16, 18]);
  });

  it('counts only what is left after a resume', () => {
    const p = sampler({ startUpdate: 7 }).plan();
    expect(p).toMatchObject({ start: { epoch: 1, update: 7, sample: 112 }, updates: 11, epochs: 2 });
    expect([...(p.callbacks[0]?.afterUpdates ?? [])]).toEqual([12, 18]);
  });

  it('prints a readable table', () => {
    expect(formatPlan(sampler().plan())).toBe(
      [
        'source  passes  batches  samples  runs after updates',
        'train        -       18      288  18 updates',
        'test         3        3       30  6, 12, 18',
        'quick        9        9       45  2, 4, 6, 8, 10, 12, … (9 in all)',
        '',
        'epochs 3, updates 18, samples 288; evaluation batches 12 of 30 (40.0%)',
      ].join('\n'),
    );
  });

  describe('of a mixture', () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-plan-mixture-'));
    const plan = (name: string, content: object) => {
      const file = join(dir, name);
      writeFileSync(file, JSON.stringify(content));
      return planFile(file);
    };
    const books = { name: 'books', size: 200, weight: 3 };
    const web = { name: 'web', size: 1000, weight: 1 };

    it('shows each source, its weight and the samples it gives every epoch', async () => {
      const { table, plan: p } = await plan('mixture.json', {
        train: { sources: [books, web], numSamples: 400 },
        config: { batchSize: 16, maxEpochs: 2 },
      });
      expect(p).toMatchObject({ epochs: 2, updates: 50, samples: 800 });
      expect(table.split('\n\n').at(-2)).toBe(
        [
          'mixture  weight  size  per epoch  × size',
          'books     75.0%   200        300    1.50',
          'web       25.0%  1000        100    0.10',
        ].join('\n'),
      );
      expect(table.split('\n').at(-1)).toBe(
        '400 training samples per epoch from 2 sources, mixed per sample',
      );
    });

    it('shares whole global batches out with perSourceBatches, on every rank alike', async () => {
      // 2 ranks of 4: batches of 8, 50 per epoch, split 37.5 : 12.5, the tie going to the first source.
      const { table, plan: p } = await plan('batches.json', {
        worldSize: 2,
        train: { sources: [books, web], numSamples: 400, perSourceBatches: true },
        config: { batchSize: 4, maxEpochs: 1 },
      });
      expect(p).toMatchObject({ worldSize: 2, updates: 50, samples: 400 });
      expect(table).toContain(
        'books     75.0%   200        304    1.52\nweb       25.0%  1000         96    0.10',
      );
      expect(table).toContain('400 training samples per epoch from 2 sources, one source per batch of 8');
    });

    it('names every problem by the file’s keys, and what the sampler’s options stand for', async () => {
      const messages = async (name: string, content: object) => {
        const e = await plan(name, content).catch((error: unknown) => error);
        expect(e).toBeInstanceOf(ConfigError);
        return (e as ConfigError).issues;
      };
      const config = { batchSize: 4, maxEpochs: 1 };
      expect(
        await messages('fields.json', {
          trainSize: 5,
          train: {
            sources: [
              { ...books, size: 0, wieght: 2 },
              { ...web, name: 'books' },
            ],
            extra: 1,
          },
          config,
        }),
      ).toEqual([
        '`train.sources[0].size` must be a positive integer, got 0',
        '`train.sources[0].wieght` is not a known option (did you mean `train.sources[0].weight`?)',
        '`train.extra` is not a known option',
        'exactly one of `trainSize`, `train` must be set, got both',
        '`train.sources` names must be unique, got "books" twice',
      ]);
      expect(await messages('none.json', { config })).toEqual([
        'exactly one of `trainSize`, `train` must be set, got none',
      ]);
      expect(
        await messages('ranks.json', {
          worldSize: 3,
          train: { sources: [books, web], numSamples: 100 },
          config,
        }),
      ).toEqual([
        '`train` (a MixtureSampler with numReplicas = worldSize = 3): `numSamples` must be a multiple of `numReplicas` (3), got 100: every rank takes an equal share of one order',
      ]);
    });
  });
});
