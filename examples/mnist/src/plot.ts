// Small hand-written SVG charts: no plotting dependency, and the output is readable text.

export interface Series {
  readonly name: string;
  readonly color: string;
  readonly points: readonly (readonly [number, number])[];
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** One panel: a title, x/y axes with min/max labels, one polyline per series. */
function panel(
  title: string,
  series: readonly Series[],
  x0: number,
  y0: number,
  w: number,
  h: number,
): string {
  const pts = series.flatMap((s) => s.points);
  if (pts.length === 0) return '';
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  const [xmin, xmax] = [Math.min(...xs), Math.max(...xs, Math.min(...xs) + 1)];
  const [ymin, ymax] = [Math.min(...ys), Math.max(...ys, Math.min(...ys) + 1e-9)];
  const px = (x: number) => x0 + ((x - xmin) / (xmax - xmin)) * w;
  const py = (y: number) => y0 + h - ((y - ymin) / (ymax - ymin)) * h;
  const lines = series
    .filter((s) => s.points.length > 0)
    .map((s) => {
      const d = s.points.map((p) => `${px(p[0]).toFixed(1)},${py(p[1]).toFixed(1)}`).join(' ');
      const dots =
        s.points.length < 60
          ? s.points
              .map(
                (p) =>
                  `<circle cx="${px(p[0]).toFixed(1)}" cy="${py(p[1]).toFixed(1)}" r="2.5" fill="${s.color}"/>`,
              )
              .join('')
          : '';
      return `<polyline fill="none" stroke="${s.color}" stroke-width="1.5" points="${d}"/>${dots}`;
    });
  const legend = series.map(
    (s, i) =>
      `<text x="${x0 + w - 150}" y="${y0 + 14 + 14 * i}" fill="${s.color}" font-size="12">${esc(s.name)}</text>`,
  );
  return [
    `<text x="${x0}" y="${y0 - 8}" font-size="14" font-weight="bold">${esc(title)}</text>`,
    `<rect x="${x0}" y="${y0}" width="${w}" height="${h}" fill="none" stroke="#999"/>`,
    `<text x="${x0 - 6}" y="${y0 + 10}" font-size="11" text-anchor="end">${ymax.toPrecision(3)}</text>`,
    `<text x="${x0 - 6}" y="${y0 + h}" font-size="11" text-anchor="end">${ymin.toPrecision(3)}</text>`,
    `<text x="${x0}" y="${y0 + h + 14}" font-size="11">${xmin}</text>`,
    `<text x="${x0 + w}" y="${y0 + h + 14}" font-size="11" text-anchor="end">${xmax} updates</text>`,
    ...lines,
    ...legend,
  ].join('\n');
}

/** Training loss (top) and evaluation accuracy (bottom) against updates. */
export function trainingPlot(loss: Series[], accuracy: Series[]): string {
  const body = [
    panel('training loss', loss, 60, 30, 620, 200),
    panel('test accuracy', accuracy, 60, 290, 620, 200),
  ];
  return `<svg xmlns="http://www.w3.org/2000/svg" width="720" height="520" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${body.join('\n')}\n</svg>\n`;
}
