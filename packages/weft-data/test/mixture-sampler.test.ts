// MixtureSampler: exact proportions per epoch, an order that is a function of (seed, epoch) and not of the
// number of ranks, sources drawn without repeats until exhausted, per-source batches, and exact and elastic
// resume of an interleaved run that trains on it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ConcatDataset,
  ConfigError,
  InterleavedSampler,
  MixtureSampler,
  type MixtureSamplerOptions,
  type ResumeState,
  SequentialSampler,
  type TrainIndexBatch,
} from '../src/index.ts';

const sized = (length: number) => ({ length, get: (i: number) => i });
const concat = (lengths: readonly number[]) => new ConcatDataset(lengths.map(sized));
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** The source of each index of `order`, by the concatenation's offsets. */
const sourcesOf = (data: ConcatDataset<unknown>, order: Iterable<number>) =>
  [...order].map((i) => data.locate(i).dataset);
const countsOf = (data: ConcatDataset<unknown>, order: Iterable<number>) => {
  const counts = new Array<number>(data.datasets.length).fill(0);
  for (const s of sourcesOf(data, order)) counts[s] = (counts[s] as number) + 1;
  return counts;
};
const epochOrder = (s: MixtureSampler, epoch: number) => {
  s.setEpoch(epoch);
  return [...s.indices()];
};

function thrown(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
}

// Lengths, weights and a world size with a number of samples it divides; weights within a factor of 10 and
// at least 41 samples, so that every source's share is at least one sample (a source left none is refused).
const mixtures = fc
  .record({
    lengths: fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 5 }),
    weights: fc.array(fc.double({ min: 1, max: 10, noNaN: true }), { minLength: 5, maxLength: 5 }),
    R: fc.integer({ min: 1, max: 6 }),
    perRank: fc.integer({ min: 41, max: 80 }),
    seed: fc.nat(1000),
  })
  .map(({ lengths, weights, R, perRank, seed }) => ({
    lengths,
    R,
    options: { weights: weights.slice(0, lengths.length), numSamples: R * perRank, seed },
  }));

describe('MixtureSampler', () => {
  it('gives each source its share of every epoch exactly, by largest remainder', () => {
    const data = concat([50, 8]);
    const s = new MixtureSampler(data, { weights: [3, 1], numSamples: 400, seed: 2 });
    expect(s.counts).toEqual([300, 100]);
    expect(s.weights).toEqual([0.75, 0.25]);
    for (const e of range(4)) expect(countsOf(data, epochOrder(s, e))).toEqual([300, 100]);
    // The default epoch is the datasets' total length; 58 × [0.75, 0.25] = [43.5, 14.5]: the tie goes first.
    expect(new MixtureSampler(data, { weights: [3, 1] }).counts).toEqual([44, 14]);
    fc.assert(
      fc.property(mixtures, ({ lengths, options }) => {
        const mixed = concat(lengths);
        const m = new MixtureSampler(mixed, options);
        const total = options.weights.reduce((a, w) => a + w, 0);
        expect(m.counts.reduce((a, c) => a + c, 0)).toBe(options.numSamples);
        m.counts.forEach((c, k) => {
          expect(Math.abs(c - ((options.weights[k] as number) / total) * options.numSamples)).toBeLessThan(1);
        });
        expect(countsOf(mixed, epochOrder(m, 3))).toEqual(m.counts);
      }),
      { numRuns: 100 },
    );
  });

  it('is a function of (seed, epoch): the same order again, another for another epoch or seed', () => {
    const data = concat([30, 20, 10]);
    const options = { weights: [1, 2, 3], numSamples: 90, seed: 11 };
    const a = new MixtureSampler(data, options);
    const b = new MixtureSampler(data, options);
    expect(epochOrder(a, 5)).toEqual(epochOrder(b, 5));
    expect(a.indices()).toBe(a.indices()); // cached per epoch
    expect(epochOrder(a, 6)).not.toEqual(epochOrder(a, 5));
    expect(sourcesOf(data, epochOrder(a, 6))).not.toEqual(sourcesOf(data, epochOrder(a, 5)));
    expect(epochOrder(new MixtureSampler(data, { ...options, seed: 12 }), 5)).not.toEqual(epochOrder(a, 5));
    // Epochs in any order (a resume goes back) give what a fresh sampler gives for each.
    const visiting = new MixtureSampler(data, options);
    for (const e of [3, 0, 7, 1, 1, 6, 2]) {
      expect(epochOrder(visiting, e), `epoch ${e}`).toEqual(epochOrder(new MixtureSampler(data, options), e));
    }
    // The iterator yields what indices() holds.
    expect([...a]).toEqual([...a.indices()]);
  });

  it('repeats no item of a source until all of its items have come, within and across epochs', () => {
    fc.assert(
      fc.property(mixtures, ({ lengths, options }) => {
        const data = concat(lengths);
        const s = new MixtureSampler(data, options);
        // Each source's items in the order they come, epoch after epoch: whole permutations laid end to end.
        const streams = lengths.map(() => [] as number[]);
        for (const e of range(3)) {
          for (const i of epochOrder(s, e)) {
            const { dataset, index } = data.locate(i);
            streams[dataset]?.push(index);
          }
        }
        streams.forEach((stream, k) => {
          const n = lengths[k] as number;
          for (let from = 0; from < stream.length; from += n) {
            const chunk = stream.slice(from, from + n);
            expect(new Set(chunk).size).toBe(chunk.length);
          }
        });
      }),
      { numRuns: 100 },
    );
    // A source drawn at a tenth of its length per epoch covers all its items in ten epochs.
    const data = concat([100, 10]);
    const s = new MixtureSampler(data, { weights: [1, 1], numSamples: 20, seed: 3 });
    const seen = new Set(range(10).flatMap((e) => epochOrder(s, e).filter((i) => i < 100)));
    expect(seen.size).toBe(100);
  });

  it('with batchSize, draws whole batches from one source, on every rank', () => {
    const data = concat([40, 25, 7]);
    const options = { weights: [5, 3, 2], numSamples: 120, batchSize: 12, seed: 4 };
    const whole = new MixtureSampler(data, options);
    expect(whole.counts).toEqual([60, 36, 24]);
    const global = epochOrder(whole, 2);
    const sources = sourcesOf(data, global);
    for (let b = 0; b < 10; b++) expect(new Set(sources.slice(12 * b, 12 * b + 12)).size).toBe(1);
    expect(new Set(sources.filter((_, i) => i % 12 === 0))).toEqual(new Set([0, 1, 2]));
    for (const R of [2, 3, 4, 6, 12]) {
      for (const rank of range(R)) {
        const shard = new MixtureSampler(data, { ...options, numReplicas: R, rank });
        const mine = sourcesOf(data, epochOrder(shard, 2));
        const per = 12 / R;
        for (let b = 0; b < 10; b++) {
          expect(mine.slice(per * b, per * b + per)).toEqual(new Array(per).fill(sources[12 * b]));
        }
      }
    }
  });

  it('splits one global order over the ranks, whatever their number', () => {
    fc.assert(
      fc.property(mixtures, fc.nat(5), ({ lengths, R, options }, epoch) => {
        const data = concat(lengths);
        const global = epochOrder(new MixtureSampler(data, options), epoch);
        const shards = range(R).map((rank) => {
          const shard = new MixtureSampler(data, { ...options, numReplicas: R, rank });
          expect(shard.length).toBe(options.numSamples / R);
          return epochOrder(shard, epoch);
        });
        // Rank r holds positions r, r + R, …: interleaved, the shards are the global order.
        const interleaved = range(options.numSamples).map(
          (p) => (shards[p % R] as number[])[Math.floor(p / R)],
        );
        expect(interleaved).toEqual(global);
      }),
      { numRuns: 100 },
    );
  });

  it('reports every problem of its options at once', () => {
    const data = concat([10, 0, 6]);
    expect(thrown(() => new MixtureSampler(data, { weights: [1, 2], seeed: 1 } as never))).toBe(
      '`seeed` is not a known option (did you mean `seed`?); `weights` must have one weight per dataset of `data` (3), got 2',
    );
    expect(thrown(() => new MixtureSampler(data, { weights: [1, 0, -2, Number.NaN] }))).toBe(
      [
        '`weights[1]` must be a positive number, got 0',
        '`weights[2]` must be a positive number, got -2',
        '`weights[3]` must be a positive number, got NaN',
      ].join('; '),
    );
    expect(thrown(() => new MixtureSampler(data, { weights: [1, 2, 3] }))).toBe(
      '`weights[1]` is 2 but dataset 1 is empty: there is nothing to draw',
    );
    const two = concat([10, 6]);
    const bad = (options: Partial<MixtureSamplerOptions>) =>
      thrown(() => new MixtureSampler(two, { weights: [1, 1], ...options }));
    expect(bad({ numReplicas: 4, rank: 4, batchSize: 6, numSamples: 10 })).toBe(
      [
        "`batchSize` must be a multiple of `numReplicas` (4), got 6: it is the global batch, and each rank's part of it comes from one source",
        '`numSamples` must be a multiple of `batchSize` (6), got 10: each batch comes from one source',
        '`numSamples` must be a multiple of `numReplicas` (4), got 10: every rank takes an equal share of one order',
        '`rank` must be in [0, numReplicas - 1] = [0, 3], got 4',
      ].join('; '),
    );
    expect(bad({ numReplicas: 3, rank: 0 })).toBe(
      "`numSamples` (by default the datasets' total length, 16) must be a multiple of `numReplicas` (3), so that every rank takes an equal share of one order: give `numSamples: 15`",
    );
    expect(bad({ rank: 1, numSamples: 0, seed: -1 })).toBe(
      [
        '`numSamples` must be a positive integer, got 0',
        '`seed` must be a non-negative integer, got -1',
        '`numReplicas` and `rank` go together: give both in a data-parallel run, neither outside one',
      ].join('; '),
    );
    expect(bad({ batchSize: 32 })).toBe(
      'the datasets hold 16 items, less than one `batchSize` (32): give `numSamples`',
    );
    expect(thrown(() => new MixtureSampler(two, { weights: [1, 300], numSamples: 100 }))).toBe(
      '`weights[0]` gives dataset 0 no sample of an epoch of 100 samples (its share is 0.33): raise `numSamples` or its weight',
    );
    expect(thrown(() => new MixtureSampler(two, { weights: [9, 1], numSamples: 40, batchSize: 8 }))).toBe(
      '`weights[1]` gives dataset 1 no batch of an epoch of 5 batches of 8 (its share is 0.50): raise `numSamples` or its weight',
    );
    // The default epoch with batches is the total length cut to whole batches.
    expect(new MixtureSampler(two, { weights: [1, 1], batchSize: 5 }).numSamples).toBe(15);
    expect(thrown(() => new MixtureSampler(sized(4) as never, { weights: [1] }))).toBe(
      '`data` must be a ConcatDataset (an object whose `offsets` say where each dataset starts), got an object (Object)',
    );
    expect(thrown(() => new MixtureSampler(new ConcatDataset([]), { weights: [] }))).toBe(
      '`weights` must be an array of positive numbers, one per dataset, got an array of length 0',
    );
    expect(thrown(() => new MixtureSampler(two, null as never))).toBe(
      '`options` must be an object with `weights`, got null; `weights` must be an array of positive numbers, one per dataset, got undefined',
    );
  });
});

describe('MixtureSampler in an interleaved run', () => {
  const data = concat([37, 23, 11]);
  const mixture = { weights: [2, 1, 1], numSamples: 96, seed: 9 };

  /** The run's batches, as `[update, sorted indices]` per training batch, and the passes as text. */
  const stream = (sampler: InterleavedSampler) =>
    [...sampler.batches()].map((b) =>
      b.source === 'train'
        ? `${b.position.update}: ${[...b.indices].join(',')}`
        : `${b.name} pass ${b.pass} batch ${b.batch}`,
    );
  const build = (options: Partial<MixtureSamplerOptions> = {}, batchSize = 8) =>
    new InterleavedSampler({
      trainSampler: new MixtureSampler(data, { ...mixture, ...options }),
      config: { batchSize, maxEpochs: 3 },
      callbackSamplers: [{ sampler: new SequentialSampler(sized(5)), everyNUpdates: 5, name: 'val' }],
    });

  it('resumes exactly at any update: the rest of the stream is the uninterrupted run’s', () => {
    const full = stream(build());
    const train = [...build().batches()].filter((b): b is TrainIndexBatch => b.source === 'train');
    expect(train).toHaveLength(36); // 12 updates of 8 per epoch of 96
    for (const b of train) {
      // Saved once the update is done, before the passes that follow it: they run again first.
      const sampler = build();
      const state = JSON.parse(
        JSON.stringify({ ...b.position, ...sampler.orderState, replay: b.passesAfter }),
      ) as ResumeState;
      const rest = stream(sampler.resumeFrom(state));
      const cut = full.indexOf(`${b.position.update}: ${[...b.indices].join(',')}`) + 1;
      expect(rest, `resumed after update ${b.position.update}`).toEqual(full.slice(cut));
    }
  });

  it('refuses a resume whose weights, sample count or per-source batches changed: another order', () => {
    const first = [...build().batches()].find((b) => b.source === 'train') as TrainIndexBatch;
    const state = { ...first.position, ...build().orderState };
    expect(thrown(() => build({ weights: [1, 1, 2], numSamples: 72 }).resumeFrom(state))).toBe(
      '`state` cannot be continued exactly here: `trainSampler.numSamples` changed from 96 (in the state) to 72; `trainSampler.weights` changed from [0.5, 0.25, 0.25] (in the state) to [0.25, 0.25, 0.5]',
    );
  });

  it('refuses per-source batches that the updates would straddle', () => {
    expect(() => build({ batchSize: 16 }, 8)).not.toThrow(); // two updates per source run
    expect(thrown(() => build({ batchSize: 12 }, 8))).toBe(
      "invalid InterleavedSampler: `trainSampler.batchSize` (12, the samples drawn from one source in a row) must be a multiple of the global batch size 8 (`config.batchSize` 8), or an update's batch would mix two sources",
    );
    expect(thrown(() => build({ batchSize: 12, numReplicas: 2, rank: 1 }, 4))).toBe(
      "invalid InterleavedSampler: `trainSampler.batchSize` (12, the samples drawn from one source in a row) must be a multiple of the global batch size 8 (`config.batchSize` 4 × 2 ranks), or an update's batch would mix two sources",
    );
  });

  it('continues a 4-rank run on 3, 2 and 1 ranks: every later update covers the same samples', () => {
    const G = 12;
    /** Per update, the samples of all ranks together, and whether each rank's batch came from one source. */
    const run = (R: number, perSource: boolean, resume?: ResumeState) => {
      const updates = new Map<number, number[]>();
      let state: ResumeState | undefined;
      for (const rank of range(R)) {
        let sampler = build({ numReplicas: R, rank, ...(perSource ? { batchSize: G } : {}) }, G / R);
        if (resume) sampler = sampler.resumeFrom(resume);
        for (const b of sampler.batches()) {
          if (b.source !== 'train') continue;
          const u = b.position.update;
          updates.set(
            u,
            [...(updates.get(u) ?? []), ...b.indices].sort((x, y) => x - y),
          );
          if (perSource) expect(new Set(sourcesOf(data, b.indices)).size).toBe(1);
          if (u === 5) state = { ...b.position, ...sampler.orderState, ...sampler.distributedState };
        }
      }
      return { updates, state: state as ResumeState };
    };
    for (const perSource of [false, true]) {
      const full = run(4, perSource);
      expect(full.updates.size).toBe(24); // 8 updates of 12 per epoch of 96
      expect(full.state).toEqual({
        epoch: 0,
        update: 5,
        sample: 60,
        worldSize: 4,
        globalBatchSize: 12,
        datasetLength: 71,
        epochSamples: 96,
        trainSampler: expect.objectContaining({ type: 'MixtureSampler', seed: 9, numSamples: 96 }),
      });
      for (const R of [3, 2, 1]) {
        const resumed = run(R, perSource, full.state);
        const later = [...full.updates.keys()].filter((u) => u > 5);
        expect([...resumed.updates.keys()]).toEqual(later);
        for (const u of later)
          expect(resumed.updates.get(u), `update ${u}, 4 → ${R}`).toEqual(full.updates.get(u));
      }
      // A mixture that is no shard cannot continue it: give it `numReplicas: 1, rank: 0`, as above.
      expect(thrown(() => build({}, G).resumeFrom(full.state))).toBe(
        '`state` was saved by a data-parallel run (world size 4) but this training sampler is not a shard (no `numReplicas`): build it with distributedSamplers, or give a MixtureSampler `numReplicas` and `rank`',
      );
    }
  });
});
