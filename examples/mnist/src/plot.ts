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
}

const FONT = 'DejaVu Sans';
const require = createRequire(import.meta.url);

/**
 * The training report: loss (a running mean over 20 updates) on top, evaluation accuracy below, both against
 * updates, dashed rules at the epoch ends, the legend below the plot so that it never covers a curve.
 */
export function trainingSpec(records: readonly LogRecord[], updatesPerEpoch: number): object {
  const train = records.filter((r) => r.type === 'train');
  const window: number[] = [];
  let sum = 0;
  const loss = train.map((r) => {
    window.push(r.loss);
    sum += r.loss;
    if (window.length > 20) sum -= window.shift() as number;
    return { update: r.update, loss: sum / window.length };
  });
  const accuracy = records
    .filter((r) => r.type === 'eval')
    .map((r) => ({ update: r.update, accuracy: r.accuracy, set: `${r.name} set` }));
  const last = Math.max(1, ...records.map((r) => r.update));
  const epochs = Array.from({ length: Math.floor(last / updatesPerEpoch) }, (_, i) => ({
    update: (i + 1) * updatesPerEpoch,
  }));
  const x = {
    field: 'update',
    type: 'quantitative',
    scale: { domain: [0, last], nice: false, padding: 10 },
    axis: { title: 'update (dashed: end of an epoch)', grid: true, tickCount: 10 },
  };
  const epochRules = {
    data: { values: epochs },
    mark: { type: 'rule', color: '#999', strokeDash: [4, 4], strokeWidth: 1 },
    encoding: { x: { field: 'update', type: 'quantitative' } },
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    background: 'white',
    padding: 12,
    config: { font: FONT, view: { stroke: '#ccc' }, axis: { labelFontSize: 11, titleFontSize: 12 } },
    vconcat: [
      {
        title: 'Training loss (running mean over 20 updates)',
        width: 640,
        height: 200,
        layer: [
          epochRules,
          {
            data: { values: loss },
            mark: { type: 'line', color: '#2a7', strokeWidth: 1.5 },
            encoding: {
              x,
              y: { field: 'loss', type: 'quantitative', scale: { zero: false }, axis: { title: 'loss' } },
            },
          },
        ],
      },
      {
        title: 'Evaluation accuracy',
        width: 640,
        height: 200,
        layer: [
          epochRules,
          {
            data: { values: accuracy },
            mark: { type: 'line', point: { size: 18 }, strokeWidth: 1.5 },
            encoding: {
              x,
              y: {
                field: 'accuracy',
                type: 'quantitative',
                scale: { zero: false, nice: true },
                axis: { title: 'accuracy', format: '.2f' },
              },
              color: {
                field: 'set',
                type: 'nominal',
                scale: { range: ['#e83', '#36c'] },
                legend: { orient: 'bottom', title: null, symbolType: 'stroke', symbolStrokeWidth: 3 },
              },
            },
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
