// The plan's timeline as SVG: readable text, no plotting dependency.

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

// Beyond one mark per pixel a row is solid anyway; drawing it as a band keeps a long run's plot instant.
const MAX_MARKS = 620;

/** A schedule timeline: training along the updates, one row per callback with a mark at each pass. */
export function timelinePlot(
  updates: number,
  rows: readonly { name: string; at: Iterable<number> & { readonly length: number } }[],
): string {
  const w = 620;
  const x = (u: number) => 120 + (updates === 0 ? 0 : (u / updates) * w);
  const parts = [
    `<text x="10" y="34" font-size="12">train</text><rect x="120" y="24" width="${w}" height="12" fill="#4a7"/>`,
    `<text x="120" y="${54 + rows.length * 24}" font-size="11">0</text><text x="${120 + w}" y="${54 + rows.length * 24}" font-size="11" text-anchor="end">${updates} updates</text>`,
    ...rows.map((r, i) => {
      const y = 52 + i * 24;
      const marks =
        r.at.length > MAX_MARKS
          ? `<rect x="120" y="${y}" width="${w}" height="12" fill="#c44" fill-opacity="0.6"/>`
          : Array.from(
              r.at,
              (u) => `<rect x="${(x(u) - 1).toFixed(1)}" y="${y}" width="2" height="12" fill="#c44"/>`,
            ).join('');
      return `<text x="10" y="${y + 10}" font-size="12">${esc(r.name)}</text>${marks}`;
    }),
  ];
  return `<svg xmlns="http://www.w3.org/2000/svg" width="760" height="${70 + rows.length * 24}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${parts.join('\n')}\n</svg>\n`;
}
