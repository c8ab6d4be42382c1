// The demo's pictures: Vega-Lite specs (plain data), rendered to SVG by Vega and to PNG by resvg, with the
// DejaVu Sans font shipped in an npm package so that the PNG looks the same on any machine.
import { createRequire } from 'node:module';

/** One record of the demo's log (`out/log.jsonl`). */
export interface LogRecord {
  type: 'train' | 'eval';
  update: number;
  epoch?: number;
  loss: number;
  name?: string;
  accuracy?: number;
  /** Evaluation records: the digits the pass evaluated. */
  digits?: number;
}

const FONT = 'DejaVu Sans';
const require = createRequire(import.meta.url);
const GREEN = '#2a7';
const ORANGE = '#e8772e';
const BLUE = '#3465c4';
/** Updates in the running mean of the training loss. */
const SMOOTH = 20;

/** `n` with thousands separators: 2,000. */
const thousands = (n: number) => n.toLocaleString('en-US');

/** Epochs between two labelled ticks of the update axis: 1, 2, 5, 10, 20… so that at most six are labelled. */
export function epochStep(epochs: number): number {
  for (let power = 1; ; power *= 10) {
    for (const m of [1, 2, 5]) if (epochs / (m * power) <= 5) return m * power;
  }
}

/**
 * The training report, against updates: the loss on a log scale on top (training as a running mean, the
 * evaluation passes as points), the evaluation accuracy below with its sampling error (± one binomial
 * standard error, √(p(1−p)/n)) in a domain padded around the data. The update axis is labelled at epoch
 * ends, with the epoch under the update, instead of a rule per epoch; each panel's legend sits inside it,
 * where its curves are not.
 */
export function trainingSpec(records: readonly LogRecord[], updatesPerEpoch: number): object {
  const window: number[] = [];
  let sum = 0;
  const trainName = `training batches, running mean of ${SMOOTH} updates`;
  const loss = records
    .filter((r) => r.type === 'train')
    .map((r) => {
      window.push(r.loss);
      sum += r.loss;
      if (window.length > SMOOTH) sum -= window.shift() as number;
      return { update: r.update, loss: sum / window.length, series: trainName };
    });
  const evals = records.filter((r) => r.type === 'eval');
  const sizes = new Map(evals.map((r) => [r.name, r.digits ?? 0]));
  const firstQuick = evals.find((r) => r.name === 'quick')?.update;
  const nameOf = (name: string | undefined) =>
    name === 'quick'
      ? `quick test: a ${thousands(sizes.get(name) ?? 0)}-digit subset, every ${firstQuick} updates`
      : `full ${name} set: ${thousands(sizes.get(name) ?? 0)} digits, every epoch`;
  const evaluation = evals.map((r) => {
    const p = r.accuracy ?? 0;
    const se = r.digits ? Math.sqrt((p * (1 - p)) / r.digits) : 0;
    return { update: r.update, loss: r.loss, accuracy: p, low: p - se, high: p + se, series: nameOf(r.name) };
  });
  const names = [...new Set(evals.map((r) => r.name))];
  const series = [trainName, ...names.map(nameOf)];
  const colors = [GREEN, ...names.map((n) => (n === 'quick' ? ORANGE : BLUE))];
  const last = Math.max(1, ...records.map((r) => r.update));
  const epochs = Math.floor(last / updatesPerEpoch);
  const every = epochStep(epochs) * updatesPerEpoch;
  const ticks = Array.from({ length: Math.floor(last / every) + 1 }, (_, i) => i * every);
  const x = {
    field: 'update',
    type: 'quantitative',
    scale: { domain: [0, last], nice: false, padding: 10 },
    axis: {
      title: `update (${thousands(updatesPerEpoch)} an epoch)`,
      grid: true,
      values: ticks,
      labelExpr: `datum.value === 0 ? '0' : [format(datum.value, ','), 'epoch ' + format(datum.value / ${updatesPerEpoch}, 'd')]`,
    },
  };
  // The legend is given on one layer of a panel; the others leave it out, and Vega-Lite merges them.
  const color = (legend?: object) => ({
    field: 'series',
    type: 'nominal',
    scale: { domain: series, range: colors },
    ...(legend ? { legend } : {}),
  });
  const legend = (orient: string, values: string[]) => ({
    orient,
    title: null,
    values,
    labelLimit: 0,
    symbolType: 'stroke',
    // No frame or fill: without a canvas Vega can only estimate the labels' width, and would draw them too wide.
  });
  // A log axis rounded out to powers of ten would leave most of the panel empty: pad the data instead.
  const losses = [...loss.map((l) => l.loss), ...evaluation.map((e) => e.loss)].filter((l) => l > 0);
  const lossDomain = [Math.min(...losses) / 1.2, Math.max(...losses) * 1.2];
  const accuracies = evaluation.flatMap((e) => [e.low, e.high]);
  const low = Math.min(...accuracies);
  const high = Math.max(...accuracies);
  const pad = Math.max((high - low) * 0.08, 0.005);
  const accuracyDomain = [Math.max(0, low - pad), Math.min(1, high + pad)];
  const isQuick = `datum.series === ${JSON.stringify(nameOf('quick'))}`;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    background: 'white',
    padding: 12,
    config: {
      font: FONT,
      view: { stroke: '#ccc' },
      axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#e8e8e8' },
      legend: { labelFontSize: 11, symbolStrokeWidth: 2.5 },
      title: { fontSize: 13, anchor: 'start' },
    },
    resolve: { legend: { color: 'independent' } },
    vconcat: [
      {
        title: 'Loss (log scale)',
        width: 640,
        height: 220,
        layer: [
          {
            data: { values: loss },
            mark: { type: 'line', strokeWidth: 1.5, clip: true },
            encoding: {
              x,
              y: {
                field: 'loss',
                type: 'quantitative',
                scale: { type: 'log', domain: lossDomain, nice: false },
                axis: {
                  title: 'cross-entropy',
                  grid: true,
                  values: [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10],
                },
              },
              color: color(legend('top-right', series)),
            },
          },
          {
            data: { values: evaluation },
            mark: { type: 'point', filled: true, size: 22, opacity: 0.9 },
            encoding: { x, y: { field: 'loss', type: 'quantitative' }, color: color() },
          },
        ],
      },
      {
        title: 'Accuracy on held-out digits (bars: ± 1 standard error, √(p(1−p)/n))',
        width: 640,
        height: 220,
        data: { values: evaluation },
        layer: [
          {
            transform: [{ filter: `!(${isQuick})` }],
            mark: { type: 'line', strokeWidth: 1.5 },
            encoding: {
              x,
              y: {
                field: 'accuracy',
                type: 'quantitative',
                scale: { domain: accuracyDomain, nice: false, zero: false },
                axis: { title: 'accuracy', format: '.0%' },
              },
              color: color(legend('bottom-right', series.slice(1))),
            },
          },
          {
            mark: { type: 'rule', strokeWidth: 1.2 },
            encoding: { x, y: { field: 'low', type: 'quantitative' }, y2: { field: 'high' }, color: color() },
          },
          {
            mark: { type: 'point', filled: true, size: 22, opacity: 1 },
            encoding: { x, y: { field: 'accuracy', type: 'quantitative' }, color: color() },
          },
        ],
      },
    ],
  };
}

/** Renders a Vega-Lite spec to SVG and PNG (loading Vega only now: it takes a moment to import). */
export async function render(spec: object): Promise<{ svg: string; png: Buffer }> {
  const [vega, vegaLite] = await Promise.all([import('vega'), import('vega-lite')]);
  const compiled = vegaLite.compile(spec as Parameters<typeof vegaLite.compile>[0]).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return { svg, png: await svgToPng(svg) };
}

/** An SVG as a PNG at twice its size, its text in the shipped DejaVu Sans. */
export async function svgToPng(svg: string): Promise<Buffer> {
  const { Resvg } = await import('@resvg/resvg-js');
  return new Resvg(svg, {
    background: 'white',
    fitTo: { mode: 'zoom', value: 2 },
    font: {
      fontFiles: [require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans.ttf')],
      loadSystemFonts: false,
      defaultFontFamily: FONT,
    },
  })
    .render()
    .asPng();
}
