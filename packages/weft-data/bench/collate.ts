/**
 * `npm run bench:collate`: microseconds per `defaultCollate` call on a batch of 256 items, for the item
 * shapes a training loop meets (plain numbers, objects of a few fields, tuples, typed arrays).
 * Prints the median, minimum and maximum over the repetitions, one line per case.
 */
import { defaultCollate } from '../src/index.ts';

const REPS = Number(process.env.REPS ?? 15);
const BATCH = 256;
// Calls per repetition: enough for each repetition to take tens of milliseconds.
const CALLS = Number(process.env.CALLS ?? 400);

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

const cases: Record<string, unknown[]> = {
  numbers: range(BATCH),
  'objects, 4 fields': range(BATCH).map((i) => ({
    x: new Float32Array([i, i + 1, i + 2, i + 3]),
    y: i % 10,
    weight: 1,
    name: `item ${i}`,
  })),
  'tuples [number, string]': range(BATCH).map((i) => [i, `item ${i}`]),
  'Float32Array(784)': range(BATCH).map(() => new Float32Array(784)),
};

let sink = 0;

function timeOne(items: unknown[]): number {
  const start = process.hrtime.bigint();
  for (let c = 0; c < CALLS; c++) {
    const out = defaultCollate(items);
    if (out !== null) sink++;
  }
  return Number(process.hrtime.bigint() - start) / 1000 / CALLS;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1] as number;
};

for (const [name, items] of Object.entries(cases)) {
  try {
    timeOne(items); // warm-up: let the JIT see this shape before timing it
    const times = Array.from({ length: REPS }, () => timeOne(items));
    const [lo, mid, hi] = [Math.min(...times), median(times), Math.max(...times)];
    console.log(
      `${name.padEnd(26)} median ${mid.toFixed(1).padStart(7)} µs/batch  (min ${lo.toFixed(1)}, max ${hi.toFixed(1)})`,
    );
  } catch (e) {
    console.log(`${name.padEnd(26)} fails: ${(e as Error).message}`);
  }
}
if (sink === 0) console.log('');
