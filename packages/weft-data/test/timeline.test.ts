import { describe, expect, it } from 'vitest';
import { timelineSpec } from '../src/cli/timeline.ts';
import type { Dataset } from '../src/core/dataset.ts';
import { InterleavedSampler } from '../src/interleaved/sampler.ts';
import { SequentialSampler } from '../src/samplers/sequential-sampler.ts';

const sized = (length: number) => {
  const dataset: Dataset<number> = { length, get: (i) => i };
  return new SequentialSampler(dataset);
};

type Panel = { title: { text: string }; data: { values: { row: string; from: number; to: number }[] } };
const panels = (spec: object) => (spec as { vconcat: Panel[] }).vconcat;

describe('the plan timeline', () => {
  it('draws an evaluation-only plan as its passes one after the other, with no training row', () => {
    const plan = new InterleavedSampler({
      trainSampler: sized(100),
      config: { batchSize: 10, maxEpochs: 0 },
      callbackSamplers: [
        { sampler: sized(40), everyNEpochs: 1, name: 'test' },
        { sampler: sized(100), everyNEpochs: 1, name: 'val' },
      ],
    }).plan();
    const [whole, ...more] = panels(timelineSpec(plan));
    expect(more).toEqual([]);
    expect(whole!.title.text).toBe('whole run: evaluation only, no training');
    expect(whole!.data.values).toEqual([
      { row: 'test', from: 0, to: 4, series: 'test: 1 pass of 4 batches' },
      { row: 'val', from: 4, to: 14, series: 'val: 1 pass of 10 batches' },
    ]);
  });

  it('adds a zoom on the start when a row has many passes, and draws passes as wide as their batches', () => {
    const plan = new InterleavedSampler({
      trainSampler: sized(1000),
      config: { batchSize: 10, maxEpochs: 10 },
      callbackSamplers: [
        { sampler: sized(20), everyNUpdates: 10, name: 'quick' },
        { sampler: sized(30), everyNEpochs: 1, name: 'test' },
      ],
    }).plan();
    const [whole, zoom] = panels(timelineSpec(plan));
    expect(plan.callbacks[0]!.passes).toBe(100);
    expect(whole!.data.values[0]).toEqual({ row: 'train', from: 0, to: 1000, series: 'train: 1000 updates' });
    // After update 100 the quick pass (2 batches) runs first, then the test pass (3 batches).
    const at100 = whole!.data.values.filter((d) => d.from >= 100 && d.from < 105 && d.row !== 'train');
    expect(at100).toEqual([
      { row: 'quick', from: 100, to: 102, series: 'quick: 100 passes of 2 batches' },
      { row: 'test', from: 102, to: 105, series: 'test: 10 passes of 3 batches' },
    ]);
    expect(zoom!.title.text).toBe('zoom: updates 0–128');
  });

  it('draws a row of a billion passes as one band, and its zoom pass by pass, without listing them all', () => {
    const plan = new InterleavedSampler({
      trainSampler: sized(1000),
      config: { batchSize: 10, maxUpdates: 1e12 },
      callbackSamplers: [{ sampler: sized(10), everyNUpdates: 1000, name: 'val' }],
    }).plan();
    expect(plan.callbacks[0]!.passes).toBe(1e9);
    const t0 = performance.now();
    const [whole, zoom] = panels(timelineSpec(plan));
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(whole!.data.values.filter((d) => d.row === 'val')).toEqual([
      { row: 'val', from: 1000, to: 1e12 + 1, series: 'val: 1000000000 passes of 1 batch', band: true },
    ]);
    const zoomed = zoom!.data.values.filter((d) => d.row === 'val');
    expect(zoomed.slice(0, 2)).toEqual([
      { row: 'val', from: 1000, to: 1001, series: 'val: 1000000000 passes of 1 batch' },
      { row: 'val', from: 2000, to: 2001, series: 'val: 1000000000 passes of 1 batch' },
    ]);
    expect(zoomed.length).toBeGreaterThanOrEqual(12);
    expect(zoomed.length).toBeLessThan(20);
  });
});
