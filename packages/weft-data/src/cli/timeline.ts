// `weft plan --out DIR`: the plan's timeline as a Vega-Lite spec (plain data), rendered to SVG by Vega. Vega
// and Vega-Lite are optional peer dependencies, loaded only here, so that the library itself needs zod only.
import type { Plan } from '../interleaved/schedule.ts';

/** More passes than this in one row and the full view gets a second panel: a zoom on the run's start. */
const DENSE = 60;
/**
 * More passes than this in one row (a mark per pixel of the panel's width) and the whole run draws the row as
 * one translucent band: it would be solid anyway, and a long run's passes (`afterUpdates` is lazy, and may
 * hold a billion of them) are never all listed.
 */
const MAX_MARKS = 640;
// Training in green, then one colour per callback (cycled beyond six).
const COLORS = Array.from(
  { length: 64 },
  (_, i) => ['#e8772e', '#3465c4', '#9b4fb0', '#c4343a', '#2a9d8f', '#8a6d3b'][i % 6] as string,
);

interface Segment {
  row: string;
  from: number;
  to: number;
  series: string;
  /** A row too dense to draw pass by pass: one band over its passes, drawn translucent. */
  band?: true;
}

/** Width of a panel, in pixels. */
const WIDTH = 640;
/** A pass narrower than this many pixels is drawn as a tick at its start instead of its (invisible) rect. */
const THIN = 2;

/** `n` with thousands separators, as the axes write it: 5,000. */
const thousands = (n: number) => n.toLocaleString('en-US');

/** 1, 2 or 5 times a power of ten: the smallest such step that cuts `span` into at most `parts` parts. */
function niceStep(span: number, parts: number): number {
  const raw = Math.max(1, span / parts);
  const power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) as number;
}

/**
 * Tick values for `[from, to]`: multiples of a step of 1, 2 or 5 times a power of ten, as many as the labels'
 * width allows, and always `to` itself, so that the axis ends at the run's last update with a label there.
 */
export function tickValues(from: number, to: number): number[] {
  const labelPixels = 8 * thousands(to).length + 24;
  const step = niceStep(to - from, Math.max(1, Math.min(10, Math.floor(WIDTH / labelPixels))));
  const values: number[] = [];
  for (let v = Math.ceil(from / step) * step; v < to; v += step) values.push(v);
  // The last multiple gives way to `to` when their labels would touch.
  if (values.length > 0 && to - (values.at(-1) as number) < step / 2) values.pop();
  return [...values, to];
}

/**
 * Rows: training, then one per callback. The x axis counts loader steps in updates, and each pass is drawn
 * as wide as its batches (one batch, one step), so its length is visible next to the training it interrupts.
 * With `until`, only the passes up to that update (for a zoom); without, a row of more than
 * {@link MAX_MARKS} passes is one band.
 */
function segments(plan: Plan, until?: number): Segment[] {
  const out: Segment[] = [];
  if (plan.updates > 0) {
    out.push({
      row: 'train',
      from: plan.start.update,
      to: plan.end.update,
      series: seriesNames(plan)[0] as string,
    });
  }
  // Passes after the same update run one after the other, in callback order.
  const busyUntil = new Map<number, number>();
  plan.callbacks.forEach((c, k) => {
    const series = seriesNames(plan)[k + (plan.updates > 0 ? 1 : 0)] as string;
    // In evaluation mode a pass follows no update: it runs at the start.
    const at: Iterable<number> =
      c.afterUpdates.length > 0 ? c.afterUpdates : Array.from({ length: c.passes }, () => plan.start.update);
    if (until === undefined && c.passes > MAX_MARKS) {
      const first = c.afterUpdates.slice(0, 1)[0] ?? plan.start.update;
      out.push({ row: c.name, from: first, to: plan.end.update + c.batchesPerPass, series, band: true });
      return;
    }
    let marks = 0;
    for (const u of at) {
      if ((until !== undefined && u > until) || marks++ >= MAX_MARKS) break;
      const from = busyUntil.get(u) ?? u;
      busyUntil.set(u, from + c.batchesPerPass);
      out.push({ row: c.name, from, to: from + c.batchesPerPass, series });
    }
  });
  return out;
}

/** The legend's entries, in row order: what each row holds and how much of it. */
function seriesNames(plan: Plan): string[] {
  const plural = (n: number, one: string, many: string) => `${thousands(n)} ${n === 1 ? one : many}`;
  return [
    ...(plan.updates > 0 ? [`train: ${plural(plan.updates, 'update', 'updates')}`] : []),
    ...plan.callbacks.map(
      (c) =>
        `${c.name}: ${plural(c.passes, 'pass', 'passes')} of ${plural(c.batchesPerPass, 'batch', 'batches')}`,
    ),
  ];
}

/**
 * One panel of the timeline over `domain`. Each pass is one mark: its rect, or a tick at its start when the
 * rect would be narrower than {@link THIN} pixels (a pass of one batch in a run of thousands of updates).
 */
function panel(
  title: string | undefined,
  data: Segment[],
  rows: string[],
  domain: [number, number],
  lastTick: number,
  plan: Plan,
): object {
  const pixelsPerStep = WIDTH / Math.max(1, domain[1] - domain[0]);
  const axisTitle =
    plan.updates === 0
      ? 'evaluation batch'
      : 'update (a pass is drawn as wide as its batches, one step each)';
  const names = seriesNames(plan);
  return {
    ...(title === undefined
      ? {}
      : { title: { text: title, anchor: 'start', fontSize: 12, fontWeight: 'normal' } }),
    width: WIDTH,
    height: 26 * rows.length,
    data: {
      values: data
        .filter((d) => d.to >= domain[0] && d.from <= domain[1])
        .map((d) => ({ ...d, thin: d.row !== 'train' && !d.band && (d.to - d.from) * pixelsPerStep < THIN })),
    },
    layer: [
      {
        transform: [{ filter: '!datum.thin' }],
        mark: { type: 'rect', clip: true, height: { band: 0.7 } },
        encoding: { x2: { field: 'to' } },
      },
      {
        transform: [{ filter: 'datum.thin' }],
        mark: { type: 'tick', clip: true, thickness: 1.5, bandSize: 18 },
      },
    ],
    encoding: {
      // A dense row's band is translucent, so that it reads as "passes all along" rather than one long pass.
      ...(data.some((d) => d.band)
        ? { fillOpacity: { condition: { test: 'datum.band', value: 0.5 }, value: 1 } }
        : {}),
      y: { field: 'row', type: 'nominal', sort: rows, axis: { title: null } },
      x: {
        field: 'from',
        type: 'quantitative',
        scale: { domain, nice: false },
        axis: { title: axisTitle, grid: true, format: ',d', values: tickValues(domain[0], lastTick) },
      },
      color: {
        field: 'series',
        type: 'nominal',
        scale: {
          domain: names,
          range: [...(plan.updates > 0 ? ['#4a7'] : []), ...COLORS].slice(0, names.length),
        },
        legend: { orient: 'bottom', title: null, columns: 2, labelLimit: 0, columnPadding: 24 },
      },
    },
  };
}

/** The timeline of `plan` as a Vega-Lite spec: one row per source, a zoomed second panel for dense rows. */
export function timelineSpec(plan: Plan): object {
  const data = segments(plan);
  const rows = [...(plan.updates > 0 ? ['train'] : []), ...plan.callbacks.map((c) => c.name)];
  const end = Math.max(plan.end.update, ...data.map((d) => d.to), plan.start.update + 1);
  const share = `${(plan.evaluationShare * 100).toFixed(1)}%`;
  // The passes after the last update run past it: the axis goes on to them, its last label at the update.
  const lastTick = plan.updates === 0 ? end : plan.end.update;
  const dense = plan.callbacks.filter((c) => c.passes > DENSE && c.afterUpdates.length > 0);
  // A title for the whole run only beside a zoom: alone, it would repeat the chart's.
  const panels = [
    panel(dense.length > 0 ? 'whole run' : undefined, data, rows, [plan.start.update, end], lastTick, plan),
  ];
  if (dense.length > 0) {
    // The densest row's first dozen passes, with room to see each one (read lazily: only those).
    const densest = dense.reduce((a, b) => (b.passes > a.passes ? b : a));
    const until = densest.afterUpdates.slice(0, 12).at(-1) as number;
    const reach = until + densest.batchesPerPass + Math.ceil((until - plan.start.update) * 0.05);
    // Rounded up to a step of the axis, so that the zoom ends on a round number.
    const step = niceStep(reach - plan.start.update, 10);
    const to = plan.start.update + Math.ceil((reach - plan.start.update) / step) * step;
    // The zoom lists its passes one by one, however dense the whole run draws them.
    const zoomed = data.some((d) => d.band) ? segments(plan, to) : data;
    panels.push(
      panel(
        `zoom: updates ${thousands(plan.start.update)}–${thousands(to)}`,
        zoomed,
        rows,
        [plan.start.update, to],
        to,
        plan,
      ),
    );
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'Schedule of the run',
      subtitle:
        plan.updates === 0
          ? `evaluation only, no training: ${thousands(plan.evalBatches)} batches`
          : `${thousands(plan.epochs)} epochs, ${thousands(plan.updates)} updates, ${thousands(plan.samples)} samples; evaluation batches ${thousands(plan.evalBatches)} of ${thousands(plan.evalBatches + plan.trainBatches)} (${share})`,
      anchor: 'start',
    },
    background: 'white',
    padding: 12,
    config: { font: 'DejaVu Sans, Verdana, sans-serif', view: { stroke: '#ccc' } },
    vconcat: panels,
    resolve: { scale: { color: 'shared' } },
  };
}

/** A missing optional package: the CLI prints the message alone. */
export class MissingPackageError extends Error {
  override name = 'MissingPackageError';
}

/** Renders a Vega-Lite spec to SVG with the optional packages vega and vega-lite. */
export async function renderSvg(spec: object): Promise<string> {
  let vega: typeof import('vega');
  let vegaLite: typeof import('vega-lite');
  try {
    [vega, vegaLite] = await Promise.all([import('vega'), import('vega-lite')]);
  } catch {
    throw new MissingPackageError(
      'drawing the timeline needs the optional packages vega and vega-lite (npm install vega vega-lite)',
    );
  }
  const compiled = vegaLite.compile(spec as Parameters<typeof vegaLite.compile>[0]).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
