import { describe, expect, it } from 'vitest';
import { tickValues, timelineSpec } from '../src/cli/timeline.ts';
import type { Dataset } from '../src/core/dataset.ts';
import { InterleavedSampler } from '../src/interleaved/sampler.ts';
import { SequentialSampler } from '../src/samplers/sequential-sampler.ts';

const sized = (length: number) => {
  const dataset: Dataset<number> = { length, get: (i) => i };
  return new SequentialSampler(dataset);
};

type Panel = {
  title?: { text: string };
  data: { values: { row: string; from: number; to: number; thin: boolean }[] };
  layer: { transform?: { filter: string }[] }[];
  encoding: { x: { axis: object } };
};
const panels = (spec: object) => (spec as { vconcat: Panel[] }).vconcat;
const subtitle = (spec: object) => (spec as { title: { subtitle: string } }).title.subtitle;

describe('the plan timeline', () => {
  it('ends the axis on the last update, with a tick there and round steps before it', () => {
    expect(tickValues(0, 5000)).toEqual([0, 500, 1000, 1500, 2000, 2500, 3000, 3500, 4000, 4500, 5000]);
    // A multiple of the step that would crowd the end gives way (4,500 before 4,700); one that would not stays.
    expect(tickValues(0, 4830).slice(-3)).toEqual([4000, 4500, 4830]);
    expect(tickValues(0, 4700).slice(-3)).toEqual([3500, 4000, 4700]);
    expect(tickValues(200, 1000)).toEqual([200, 300, 400, 500, 600, 700, 800, 900, 1000]);
    // Long labels: fewer ticks, the last still at the end.
    const long = tickValues(0, 1e12);
    expect(long.at(-1)).toBe(1e12);
    expect(long.length).toBeLessThanOrEqual(6);
  });

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
    // One panel: no title of its own to repeat the chart's.
    expect(whole!.title).toBeUndefined();
    expect(subtitle(timelineSpec(plan))).toBe('evaluation only, no training: 14 batches');
    expect(whole!.data.values).toEqual([
      { row: 'test', from: 0, to: 4, series: 'test: 1 pass of 4 batches', thin: false },
      { row: 'val', from: 4, to: 14, series: 'val: 1 pass of 10 batches', thin: false },
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
    expect(whole!.data.values[0]).toEqual({
      row: 'train',
      from: 0,
      to: 1000,
      series: 'train: 1,000 updates',
      thin: false,
    });
    // After update 100 the quick pass (2 batches) runs first, then the test pass (3 batches). In the whole
    // run (1,005 steps over 640 pixels) the quick pass is a tick, the test pass (1.9 pixels) too.
    const at100 = whole!.data.values.filter((d) => d.from >= 100 && d.from < 105 && d.row !== 'train');
    expect(at100).toEqual([
      { row: 'quick', from: 100, to: 102, series: 'quick: 100 passes of 2 batches', thin: true },
      { row: 'test', from: 102, to: 105, series: 'test: 10 passes of 3 batches', thin: true },
    ]);
    // The zoom (up to update 128, rounded up to the axis step of 20) draws every pass as its rect.
    expect(whole!.title!.text).toBe('whole run');
    expect(zoom!.title!.text).toBe('zoom: updates 0–140');
    expect(zoom!.data.values.filter((d) => d.thin)).toEqual([]);
    // One mark per pass: a rect, or a tick when the rect would be too thin to see, never both.
    const filters = whole!.layer.map((l) => l.transform?.[0]?.filter);
    expect(filters).toEqual(['!datum.thin', 'datum.thin']);
    // The axis ends with a tick at the last update, labelled with thousands separators.
    expect(whole!.encoding.x.axis).toMatchObject({
      format: ',d',
      values: [0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000],
    });
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
      {
        row: 'val',
        from: 1000,
        to: 1e12 + 1,
        series: 'val: 1,000,000,000 passes of 1 batch',
        band: true,
        thin: false,
      },
    ]);
    const zoomed = zoom!.data.values.filter((d) => d.row === 'val');
    expect(zoomed.slice(0, 2)).toEqual([
      { row: 'val', from: 1000, to: 1001, series: 'val: 1,000,000,000 passes of 1 batch', thin: true },
      { row: 'val', from: 2000, to: 2001, series: 'val: 1,000,000,000 passes of 1 batch', thin: true },
    ]);
    expect(zoomed.length).toBeGreaterThanOrEqual(12);
    expect(zoomed.length).toBeLessThan(20);
  });
});
