// The training report's spec, read as data: what each panel draws and on what scales.
import { describe, expect, it } from 'vitest';
import { epochStep, type LogRecord, trainingSpec } from '../src/plot.ts';

type Layer = {
  data?: { values: Record<string, number | string>[] };
  mark: { type: string };
  transform?: { filter: string }[];
  encoding: {
    x: { axis: { values: number[] } };
    y: { field: string; scale: { type?: string; domain: number[] }; axis?: object };
    color: { legend?: { orient: string; values: string[] } };
  };
};
type Panel = { title: string; data?: { values: Record<string, number>[] }; layer: Layer[] };

/** A run of 40 updates, 10 an epoch: training records, a quick test of 500 digits every 5 updates, a full test of 2,000 each epoch. */
function records(): LogRecord[] {
  const out: LogRecord[] = [];
  for (let u = 1; u <= 40; u++) {
    out.push({ type: 'train', update: u, epoch: Math.floor((u - 1) / 10), loss: 2 / u });
    if (u % 5 === 0)
      out.push({ type: 'eval', name: 'quick', update: u, loss: 1 / u, accuracy: 0.5 + u / 100, digits: 500 });
    if (u % 10 === 0)
      out.push({
        type: 'eval',
        name: 'test',
        update: u,
        loss: 1.1 / u,
        accuracy: 0.4 + u / 100,
        digits: 2000,
      });
  }
  return out;
}

describe('the training report', () => {
  const [loss, accuracy] = (trainingSpec(records(), 10) as { vconcat: Panel[] }).vconcat as [Panel, Panel];

  it('draws the loss on a log axis padded around the data, the evaluation loss as points beside the training curve', () => {
    const [curve, points] = loss.layer as [Layer, Layer];
    expect(curve.encoding.y.scale.type).toBe('log');
    const [low, high] = curve.encoding.y.scale.domain as [number, number];
    expect(low).toBeLessThan(1.1 / 40);
    expect(high).toBeGreaterThan(2);
    expect(points.mark.type).toBe('point');
    expect(points.data?.values.map((v) => v.loss)).toContain(1 / 5);
  });

  it('draws the accuracy with ± one binomial standard error in a domain that leaves room around the bars', () => {
    const values = (accuracy.data?.values ?? []) as {
      accuracy: number;
      low: number;
      high: number;
      update: number;
    }[];
    const quick5 = values.find((v) => v.update === 5) as { accuracy: number; low: number; high: number };
    const se = Math.sqrt((0.55 * 0.45) / 500);
    expect(quick5.low).toBeCloseTo(0.55 - se, 12);
    expect(quick5.high).toBeCloseTo(0.55 + se, 12);
    const [line, bars] = accuracy.layer as [Layer, Layer];
    expect(bars.mark.type).toBe('rule');
    // Only the full test is joined by a line; the quick test's points stand alone.
    expect(line.transform?.[0]?.filter).toContain('quick');
    const [low, high] = line.encoding.y.scale.domain as [number, number];
    expect(low).toBeLessThan(Math.min(...values.map((v) => v.low)));
    expect(high).toBeGreaterThan(Math.max(...values.map((v) => v.high)));
  });

  it('names each series with what it is, in a legend inside each panel', () => {
    const legend = (loss.layer[0] as Layer).encoding.color.legend;
    expect(legend?.orient).toBe('top-right');
    expect(legend?.values).toEqual([
      'training batches, running mean of 20 updates',
      'quick test: a 500-digit subset, every 5 updates',
      'full test set: 2,000 digits, every epoch',
    ]);
    expect((accuracy.layer[0] as Layer).encoding.color.legend?.orient).toBe('bottom-right');
  });

  it('marks epochs on the update axis, at most six of them, instead of a rule per epoch', () => {
    expect((loss.layer[0] as Layer).encoding.x.axis.values).toEqual([0, 10, 20, 30, 40]);
    expect(loss.layer.map((l) => l.mark.type)).toEqual(['line', 'point']);
    expect([1, 5, 6, 20, 30, 100].map(epochStep)).toEqual([1, 1, 2, 5, 10, 20]);
  });
});
