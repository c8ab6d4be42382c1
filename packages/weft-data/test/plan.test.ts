import { describe, expect, it } from 'vitest';
import { formatPlan, InterleavedSampler } from '../src/index.ts';
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
});
