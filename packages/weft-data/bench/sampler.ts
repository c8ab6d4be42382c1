/**
 * `npm run bench:sampler`: throughput of the interleaved batch sampler on the standard configuration
 * (issue: core), against a bare loop that writes the same indices into typed arrays.
 * Prints the minimum, median and maximum over the repetitions (a busy machine spreads them widely).
 * Last line: `indices_per_second: N` (the median).
 */
import { InterleavedSampler, SequentialSampler } from '../src/index.ts';

const REPS = Number(process.env.REPS ?? 15);
const sized = (length: number) => ({ length, get: (i: number) => i });

function makeSampler(): InterleavedSampler {
  return new InterleavedSampler({
    trainSampler: new SequentialSampler(sized(1_000_000)),
    config: { batchSize: 256, dropLast: true, maxEpochs: 2 },
    callbackSamplers: [
      { sampler: new SequentialSampler(sized(10_000)), everyNUpdates: 100 },
      { sampler: new SequentialSampler(sized(50_000)), everyNEpochs: 1, batchSize: 512 },
    ],
  });
}

/** Consumes every batch of indices; returns the number of indices and a checksum (so nothing is elided). */
function consumeWeft(): [number, number] {
  let n = 0;
  let sum = 0;
  for (const batch of makeSampler().batchSampler) {
    n += batch.indices.length;
    sum += batch.indices[batch.indices.length - 1] as number;
  }
  return [n, sum];
}

/**
 * The floor: the same batches, written index by index into fresh typed arrays by a loop that knows the
 * schedule in advance (no sampler, no tags, no generator).
 */
function consumeBareLoop(): [number, number] {
  let n = 0;
  let sum = 0;
  const emit = (start: number, count: number, offset: number) => {
    const a = new Uint32Array(count);
    for (let i = 0; i < count; i++) a[i] = start + i + offset;
    n += count;
    sum += a[count - 1] as number;
  };
  const pass = (length: number, size: number, offset: number) => {
    for (let p = 0; p < length; p += size) emit(p, Math.min(size, length - p), offset);
  };
  let update = 0;
  for (let epoch = 0; epoch < 2; epoch++) {
    for (let p = 0; p + 256 <= 1_000_000; p += 256) {
      emit(p, 256, 0);
      update++;
      if (update % 100 === 0) pass(10_000, 256, 1_000_000);
    }
    pass(50_000, 512, 1_010_000);
  }
  return [n, sum];
}

function measure(fn: () => [number, number]): { perSecond: number[]; n: number; sum: number } {
  const perSecond: number[] = [];
  let n = 0;
  let sum = 0;
  for (let r = 0; r < REPS; r++) {
    const t0 = process.hrtime.bigint();
    [n, sum] = fn();
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    perSecond.push(n / seconds);
  }
  return { perSecond, n, sum };
}

/** Minimum, median and maximum of `xs`. */
const spread = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0] as number, median: s[Math.floor(s.length / 2)] as number, max: s.at(-1) as number };
};
const millions = (x: number) => `${(x / 1e6).toFixed(1)} M/s`;
const range = ({ min, median, max }: ReturnType<typeof spread>) =>
  `min ${millions(min)}, median ${millions(median)}, max ${millions(max)}`;

// Warm up both paths so the JIT has compiled them before timing, then interleave nothing: each is timed
// over REPS back-to-back runs in this same process.
consumeWeft();
consumeBareLoop();
const weft = measure(consumeWeft);
const bare = measure(consumeBareLoop);
if (weft.n !== bare.n || weft.sum !== bare.sum) {
  throw new Error(`weft and the bare loop disagree: ${weft.n}/${weft.sum} vs ${bare.n}/${bare.sum}`);
}
const w = spread(weft.perSecond);
const b = spread(bare.perSecond);
console.log(`indices per run: ${weft.n}, repetitions: ${REPS}`);
console.log(`bare loop: ${range(b)}`);
console.log(`weft:      ${range(w)}`);
console.log(`bare_loop_indices_per_second: ${Math.round(b.median)}`);
console.log(`weft_over_bare_loop: ${(w.median / b.median).toFixed(2)}`);
console.log(`indices_per_second_min: ${Math.round(w.min)}`);
console.log(`indices_per_second_max: ${Math.round(w.max)}`);
console.log(`indices_per_second: ${Math.round(w.median)}`);
