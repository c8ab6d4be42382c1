import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  InterleavedSampler,
  type InterleavedSamplerOptions,
  type SamplerIntervalOptions,
} from '../src/index.ts';
import { seq } from './fixtures/order-sampler.ts';

type Kind = 'everyNEpochs' | 'everyNUpdates' | 'everyNSamples';
interface Run {
  /** The training sampler's length: one rank's shard when `R` > 1. */
  L: number;
  /** World size: `R` ranks, each with a shard of length `L`; every sample counts `R` times. */
  R: number;
  /** Whether the training sampler declares `numReplicas` (always when `R` > 1; optional with one rank). */
  sharded: boolean;
  batchSize: number;
  dropLast: boolean;
  limits: { maxEpochs?: number; maxUpdates?: number; maxSamples?: number };
  start: { startEpoch?: number; startUpdate?: number; startSample?: number };
  /** `datasetLength` set: a sharded callback sampler (`numReplicas`) of that dataset, `length` its shard. */
  callbacks: { length: number; kind: Kind; n: number; batchSize?: number; datasetLength?: number }[];
  replay: number[];
}

/**
 * The spec's walk, written out again independently of the library: every update in turn, the limits checked
 * after each. What the closed form must agree with. In a world of R ranks each rank walks its own shard
 * (local positions) while the sample count takes every rank's batch (R times this rank's).
 */
function walk(r: Run) {
  const R = r.R;
  const B = r.dropLast && r.L < r.batchSize ? r.L : r.batchSize;
  const E = r.dropLast ? Math.floor(r.L / B) * B : r.L;
  const U = r.dropLast ? E / B : Math.ceil(r.L / B);
  let epoch = 0;
  let update = 0;
  let sample = 0;
  if (r.start.startEpoch !== undefined)
    [epoch, update, sample] = [r.start.startEpoch, r.start.startEpoch * U, r.start.startEpoch * E * R];
  if (r.start.startUpdate !== undefined) {
    epoch = Math.floor(r.start.startUpdate / U);
    update = r.start.startUpdate;
    sample = (epoch * E + (update - epoch * U) * B) * R;
  }
  if (r.start.startSample !== undefined) {
    epoch = Math.floor(r.start.startSample / (E * R));
    sample = r.start.startSample;
    update = epoch * U + (sample - epoch * E * R) / (B * R);
  }
  const start = { epoch, update, sample };
  const after: number[][] = r.callbacks.map(() => []);
  for (const k of r.replay) after[k]?.push(update);
  const { maxEpochs = Infinity, maxUpdates = Infinity, maxSamples = Infinity } = r.limits;
  const done = () => epoch >= maxEpochs || update >= maxUpdates || sample >= maxSamples;
  let inEpoch = sample / R - epoch * E;
  /** Each update: the position after it and the local positions [from, to) of its epoch's order. */
  const train: { position: { epoch: number; update: number; sample: number }; from: number; to: number }[] =
    [];
  while (!done()) {
    const before = sample;
    const size = Math.min(B, E - inEpoch);
    const from = inEpoch;
    sample += size * R;
    inEpoch += size;
    update++;
    const endsEpoch = inEpoch === E;
    if (endsEpoch) {
      epoch++;
      inEpoch = 0;
    }
    r.callbacks.forEach((c, k) => {
      const due =
        c.kind === 'everyNEpochs'
          ? endsEpoch && epoch % c.n === 0
          : c.kind === 'everyNUpdates'
            ? update % c.n === 0
            : Math.floor(before / c.n) < Math.floor(sample / c.n);
      if (due) after[k]?.push(update);
    });
    train.push({ position: { epoch, update, sample }, from, to: endsEpoch ? E : inEpoch });
  }
  const end = { epoch, update, sample };
  return {
    train,
    start,
    end,
    updates: end.update - start.update,
    samples: end.sample - start.sample,
    epochs: end.epoch - start.epoch,
    callbacks: r.callbacks.map((c, k) => {
      const size = c.batchSize ?? B;
      const passes = (after[k] as number[]).length;
      // Over all ranks: a sharded sampler's whole dataset, any other's items on every rank.
      const perPass = c.datasetLength ?? c.length * R;
      return {
        passes,
        batches: passes * Math.ceil(c.length / size),
        samples: passes * perPass,
        after: after[k] as number[],
      };
    }),
  };
}

/** `seq(n)` declaring itself one of `R` shards of a dataset of `datasetLength` items. */
const shard = (n: number, R: number, datasetLength = n) =>
  Object.assign(seq(n, datasetLength), { numReplicas: R });

function build(r: Run): InterleavedSampler {
  const callbackSamplers: SamplerIntervalOptions[] = r.callbacks.map((c) => ({
    sampler: c.datasetLength === undefined ? seq(c.length) : shard(c.length, r.R, c.datasetLength),
    name: `c${r.callbacks.indexOf(c)}`,
    [c.kind]: c.n,
    ...(c.batchSize === undefined ? {} : { batchSize: c.batchSize }),
  }));
  return new InterleavedSampler({
    trainSampler: r.sharded ? shard(r.L, r.R) : seq(r.L),
    config: {
      batchSize: r.batchSize,
      dropLast: r.dropLast,
      ...r.limits,
      ...r.start,
    } as InterleavedSamplerOptions,
    callbackSamplers,
    replay: r.replay.map((k) => `c${k}`),
  });
}

// Small enough to walk, varied enough to reach every branch of the closed form: epochs with a short last
// update (no dropLast), sample intervals below, between and above the two update sizes, resumes, replays.
const arbRun: fc.Arbitrary<Run> = fc
  .record({
    L: fc.integer({ min: 1, max: 13 }),
    R: fc.integer({ min: 1, max: 5 }),
    shardedAlone: fc.boolean(),
    batchSize: fc.integer({ min: 1, max: 7 }),
    dropLast: fc.boolean(),
    limits: fc.record(
      {
        maxEpochs: fc.integer({ min: 1, max: 9 }),
        maxUpdates: fc.integer({ min: 1, max: 60 }),
        maxSamples: fc.integer({ min: 1, max: 600 }),
      },
      { requiredKeys: [] },
    ),
    startPick: fc.nat({ max: 40 }),
    startKind: fc.constantFrom('none', 'startEpoch', 'startUpdate', 'startSample'),
    callbacks: fc.array(
      fc.record(
        {
          length: fc.integer({ min: 0, max: 9 }),
          kind: fc.constantFrom<Kind>('everyNEpochs', 'everyNUpdates', 'everyNSamples'),
          n: fc.integer({ min: 1, max: 9 }),
          batchSize: fc.integer({ min: 1, max: 4 }),
          shardedPick: fc.nat({ max: 9 }),
        },
        { requiredKeys: ['length', 'kind', 'n'] },
      ),
      { maxLength: 3 },
    ),
    replayPicks: fc.array(fc.nat(), { maxLength: 2 }),
  })
  .filter((r) => Object.keys(r.limits).length > 0)
  .map((r): Run => {
    const callbacks = r.callbacks.map(({ shardedPick, ...c }) => {
      const withSize = c.kind === 'everyNSamples' && c.batchSize === undefined ? { ...c, batchSize: 1 } : c;
      // Some callback samplers are shards of a dataset a little shorter than R full shards (padding).
      return shardedPick === undefined
        ? withSize
        : { ...withSize, datasetLength: Math.max(c.length, c.length * r.R - (shardedPick % r.R)) };
    });
    const B = r.dropLast && r.L < r.batchSize ? r.L : r.batchSize;
    const E = r.dropLast ? Math.floor(r.L / B) * B : r.L;
    const U = r.dropLast ? E / B : Math.ceil(r.L / B);
    const u = r.startPick % 30;
    const start =
      r.startKind === 'startEpoch'
        ? { startEpoch: r.startPick % 8 }
        : r.startKind === 'startUpdate'
          ? { startUpdate: u }
          : r.startKind === 'startSample'
            ? { startSample: (Math.floor(u / U) * E + (u % U) * B) * r.R }
            : {};
    const replay = callbacks.length === 0 ? [] : r.replayPicks.map((p) => p % callbacks.length);
    return {
      L: r.L,
      R: r.R,
      sharded: r.R > 1 || r.shardedAlone,
      batchSize: r.batchSize,
      dropLast: r.dropLast,
      limits: r.limits,
      start,
      callbacks,
      replay,
    };
  })
  // startSample must also be a multiple of the configured batch size (a config rule, not the schedule's).
  .filter((r) => r.start.startSample === undefined || r.start.startSample % r.batchSize === 0);

describe('the closed-form plan', () => {
  it('agrees with a step-by-step walk of the spec and with the stream on many small runs, on 1 to 5 ranks', () => {
    fc.assert(
      fc.property(arbRun, (r) => {
        const want = walk(r);
        const sampler = build(r);
        const p = sampler.plan();
        expect(p).toMatchObject({
          worldSize: r.R,
          start: want.start,
          end: want.end,
          updates: want.updates,
          trainBatches: want.updates,
          samples: want.samples,
          epochs: want.epochs,
        });
        p.callbacks.forEach((c, k) => {
          const w = want.callbacks[k] as (typeof want.callbacks)[number];
          expect({ passes: c.passes, batches: c.batches, samples: c.samples }).toEqual({
            passes: w.passes,
            batches: w.batches,
            samples: w.samples,
          });
          expect([...c.afterUpdates]).toEqual(w.after);
          expect(c.afterUpdates.length).toBe(w.after.length);
          expect(c.afterUpdates.slice(1, 3)).toEqual(w.after.slice(1, 3));
        });
        // The step stream: every training batch at the walk's position, cut from this rank's order at the
        // walk's local positions (the order is 0..L-1), and each non-empty pass after the walk's update.
        const batches = [...sampler.batches()];
        const train = batches.filter((b) => b.source === 'train');
        expect(train.map((b) => b.position)).toEqual(want.train.map((t) => t.position));
        expect(train.map((b) => [...b.indices])).toEqual(
          want.train.map((t) => Array.from({ length: t.to - t.from }, (_, i) => t.from + i)),
        );
        r.callbacks.forEach((c, k) => {
          if (c.length === 0) return; // a pass of no batches does not show in the stream
          const ends = batches.filter((b) => b.source === 'callback' && b.callback === k && b.last);
          expect(ends.map((b) => (b.source === 'callback' ? b.afterUpdate : -1))).toEqual(
            want.callbacks[k]?.after,
          );
        });
      }),
      { numRuns: 3000 },
    );
  });

  it('takes the same time for a run of 1e7 updates as for one of 2**53 - 1', () => {
    const sampler = (limits: Partial<InterleavedSamplerOptions>, batchSize = 1) =>
      new InterleavedSampler({
        trainSampler: seq(7),
        config: { batchSize, dropLast: false, ...limits },
        callbackSamplers: [
          { sampler: seq(5), everyNUpdates: 1000, name: 'u' },
          { sampler: seq(5), everyNEpochs: 3, name: 'e' },
          { sampler: seq(5), everyNSamples: 5, batchSize: 2, name: 's' },
        ],
      });
    // Timed one at a time, so that a walk of the whole schedule fails here rather than never returning.
    let t0 = performance.now();
    const long = sampler({ maxUpdates: 1e7 }, 4).plan();
    expect(performance.now() - t0).toBeLessThan(250);
    expect(long).toMatchObject({ updates: 1e7, end: { epoch: 5e6, update: 1e7, sample: 3.5e7 } });
    expect(long.callbacks.map((c) => c.passes)).toEqual([1e4, 1666666, 7e6]);
    t0 = performance.now();
    const longest = sampler({ maxUpdates: 2 ** 53 - 1 }).plan();
    expect(performance.now() - t0).toBeLessThan(250);
    expect(longest).toMatchObject({ updates: 2 ** 53 - 1, samples: 2 ** 53 - 1 });
    expect(longest.callbacks[0]?.afterUpdates.slice(0, 3)).toEqual([1000, 2000, 3000]);
    expect(longest.callbacks[1]?.afterUpdates.slice(0, 2)).toEqual([21, 42]);
    expect(longest.callbacks[2]?.afterUpdates.slice(0, 3)).toEqual([5, 10, 15]);
    expect(longest.callbacks[0]?.passes).toBe(Math.floor((2 ** 53 - 1) / 1000));
  });

  it('counts everyNSamples passes between the short and the full update size in closed form', () => {
    // 10 items in batches of 4 (no dropLast): updates of 4, 4, 2; every 3 samples is due after every full
    // update, and after a short one only when it reaches a multiple of 3: (8, 10] and (28, 30] do, (18, 20] not.
    const s = new InterleavedSampler({
      trainSampler: seq(10),
      config: { batchSize: 4, dropLast: false, maxEpochs: 3e12 },
      callbackSamplers: [{ sampler: seq(1), everyNSamples: 3, batchSize: 1 }],
    });
    const p = s.plan();
    expect([...p.callbacks[0]!.afterUpdates.slice(0, 9)]).toEqual([1, 2, 3, 4, 5, 7, 8, 9, 10]);
    expect(p.updates).toBe(9e12);
    // Per 3 epochs: 6 full updates and 2 of the 3 short ones.
    expect(p.callbacks[0]?.passes).toBe(8e12);
  });
});
