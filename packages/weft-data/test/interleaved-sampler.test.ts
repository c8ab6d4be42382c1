import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ArrayDataset,
  type CallbackIndexBatch,
  CollateError,
  ConfigError,
  DistributedSampler,
  type IndexBatch,
  InterleavedSampler,
  InterleavedSamplerConfig,
  type InterleavedSamplerOptions,
  RandomSampler,
  type ResumeState,
  routeCollate,
  type Sampler,
  type SamplerIntervalOptions,
  SequentialSampler,
  WeftError,
} from '../src/index.ts';
import { OrderSampler, seq } from './fixtures/order-sampler.ts';

const stream = (s: InterleavedSampler) => [...s].map(([i, end]) => [end ? 1 : 0, i]);
const sources = (batches: IndexBatch[]) =>
  batches.map((b) => (b.source === 'train' ? `t${b.position.update}` : `${b.name}:${b.batch}`));

describe('InterleavedSampler', () => {
  it('lays datasets end to end and tags every batch', () => {
    const s = new InterleavedSampler({
      trainSampler: seq(5),
      config: { batchSize: 2, maxEpochs: 2 },
      callbackSamplers: [{ sampler: seq(3, 4), everyNEpochs: 1, name: 'test' }],
    });
    expect(s.indexOffsets).toEqual([5]);
    expect(s.dataset.length).toBe(9);
    expect(s.batchSize).toBe(2);
    const batches = [...s.batches()];
    expect(batches.map((b) => [...b.indices])).toEqual([
      [0, 1],
      [2, 3],
      [5, 6],
      [7],
      [0, 1],
      [2, 3],
      [5, 6],
      [7],
    ]);
    expect(sources(batches)).toEqual(['t1', 't2', 'test:0', 'test:1', 't3', 't4', 'test:0', 'test:1']);
    const second = batches[1];
    expect(second).toMatchObject({
      source: 'train',
      epoch: 0,
      endsEpoch: true,
      position: { epoch: 1, update: 2, sample: 4 },
    });
    const lastEval = batches[7] as CallbackIndexBatch;
    expect(lastEval).toMatchObject({
      callback: 0,
      dataset: 1,
      pass: 2,
      batch: 1,
      last: true,
      afterUpdate: 4,
    });
  });

  it('yields [index, endsBatch] pairs as the spec describes', () => {
    const s = new InterleavedSampler({
      trainSampler: seq(3),
      config: { batchSize: 2, dropLast: false, maxUpdates: 2 },
    });
    expect(stream(s)).toEqual([
      [0, 0],
      [1, 1],
      [1, 2],
    ]);
  });

  it('tells the training sampler each epoch and replays it from the middle on resume', () => {
    const orders = [
      [3, 1, 0, 2],
      [2, 0, 3, 1],
    ];
    const full = new OrderSampler(orders);
    const all = [
      ...new InterleavedSampler({ trainSampler: full, config: { batchSize: 1, maxEpochs: 3 } }).batches(),
    ];
    expect(full.epochsSet).toEqual([0, 1, 2]);
    const resumedSampler = new OrderSampler(orders);
    const resumed = [
      ...new InterleavedSampler({
        trainSampler: resumedSampler,
        config: { batchSize: 1, maxEpochs: 3, startUpdate: 6 },
      }).batches(),
    ];
    expect(resumedSampler.epochsSet).toEqual([1, 2]);
    expect(resumed).toEqual(all.slice(6));
  });

  it('computes start positions per the spec', () => {
    const cfg = (o: Partial<InterleavedSamplerOptions>) =>
      new InterleavedSamplerConfig({ batchSize: 4, maxEpochs: 9, ...o });
    expect(InterleavedSampler.calculateStart(cfg({ startUpdate: 5 }), 10)).toEqual({
      epoch: 2,
      update: 5,
      sample: 20,
    });
    expect(InterleavedSampler.calculateStart(cfg({ startEpoch: 2, dropLast: false }), 10)).toEqual({
      epoch: 2,
      update: 6,
      sample: 20,
    });
    expect(InterleavedSampler.calculateStart(cfg({ startUpdate: 4, dropLast: false }), 10)).toEqual({
      epoch: 1,
      update: 4,
      sample: 14,
    });
    expect(InterleavedSampler.calculateStart(cfg({ startSample: 8 }), 10)).toEqual({
      epoch: 1,
      update: 2,
      sample: 8,
    });
    expect(() => InterleavedSampler.calculateStart(cfg({ startSample: 12, dropLast: false }), 10)).toThrow(
      'must fall on an update boundary: 12 is 2 samples into epoch 1, not a multiple of the batch size 4',
    );
  });

  it('runs only the callback passes in evaluation mode', () => {
    const s = new InterleavedSampler({
      trainSampler: seq(0),
      config: { batchSize: 2, maxEpochs: 1, evaluation: true },
      callbackSamplers: [{ sampler: seq(3), everyNUpdates: 1, batchSize: 2 }],
    });
    const batches = [...s.batches()];
    expect(batches.map((b) => [...b.indices])).toEqual([[0, 1], [2]]);
    expect(batches[0]).toMatchObject({
      source: 'callback',
      name: 'callback0',
      pass: 0,
      afterUpdate: undefined,
    });
  });

  it('keeps `batchSize` for callbacks in evaluation mode with an empty training sampler (issue 10, item 1)', () => {
    // At most 10 batches: before the fix, this stream was empty batches for ever.
    const take = <T>(it: Iterable<T>, n: number) => {
      const out: T[] = [];
      for (const x of it) if (out.push(x) >= n) break;
      return out;
    };
    for (const config of [
      { batchSize: 2, maxEpochs: 1, evaluation: true },
      { batchSize: 2, maxUpdates: 0 },
    ]) {
      const s = new InterleavedSampler({
        trainSampler: seq(0),
        config,
        callbackSamplers: [{ sampler: seq(5), everyNEpochs: 1, name: 'test' }],
      });
      expect(s.batchSize).toBe(2);
      expect(take(s.batches(), 10).map((b) => [...b.indices])).toEqual([[0, 1], [2, 3], [4]]);
      expect(s.plan().callbacks[0]).toMatchObject({ batchSize: 2, batchesPerPass: 3, passes: 1, batches: 3 });
    }
  });

  it('fires everyNSamples once per update that reaches or crosses a multiple', () => {
    const s = new InterleavedSampler({
      trainSampler: seq(10),
      config: { batchSize: 3, maxUpdates: 3 },
      callbackSamplers: [{ sampler: seq(1), everyNSamples: 4, batchSize: 1 }],
    });
    expect(sources([...s.batches()])).toEqual(['t1', 't2', 'callback0:0', 't3', 'callback0:0']);
  });

  it('checks the indices of foreign samplers against their dataset', () => {
    const s = new InterleavedSampler({
      trainSampler: new OrderSampler([[0, 7]], 2),
      config: { batchSize: 1, maxEpochs: 1 },
    });
    expect(() => [...s]).toThrow('`trainSampler` yielded index 7, outside its dataset of length 2');
  });

  it('routes each batch to its own collate and rejects mixed batches', () => {
    const s = new InterleavedSampler({
      trainSampler: seq(2),
      trainCollate: (items) => ['train', items],
      config: { batchSize: 2, maxEpochs: 1 },
      callbackSamplers: [{ sampler: seq(2), everyNEpochs: 1, pipeline: (items) => ['eval', items] }],
    });
    const collate = s.collator;
    expect(collate([s.dataset.get(2) as never, s.dataset.get(3) as never])).toEqual(['eval', [0, 1]]);
    expect(collate([s.dataset.get(0) as never])).toEqual(['train', [0]]);
    expect(() => collate([s.dataset.get(1) as never, s.dataset.get(2) as never])).toThrow(CollateError);
    expect(() => routeCollate([])([])).toThrow('cannot collate an empty batch');
  });

  it('exposes the seed attributes read-only', () => {
    const s = new InterleavedSampler({ trainSampler: seq(4), config: { batchSize: 2, maxEpochs: 1 } });
    expect(s.config).toBeInstanceOf(InterleavedSamplerConfig);
    expect(s.mainSampler).toBeDefined();
    expect(s.extraSamplers).toEqual([]);
    expect(s.batchSampler.batchSize).toBe(2);
    expect(Object.isFrozen(s.config)).toBe(true);
    expect(() => {
      (s as { batchSize: number }).batchSize = 3;
    }).toThrow(TypeError);
    expect(() => {
      (s as { dataset: unknown }).dataset = null;
    }).toThrow(TypeError);
  });
});

/** A random configuration: training sampler orders, callbacks and config, all valid. */
const arbRun = fc
  .record({
    L: fc.integer({ min: 1, max: 12 }),
    epochsOrders: fc.integer({ min: 1, max: 3 }),
    seed: fc.integer(),
    batchSize: fc.integer({ min: 1, max: 6 }),
    dropLast: fc.boolean(),
    limits: fc.record(
      {
        maxEpochs: fc.integer({ min: 1, max: 4 }),
        maxUpdates: fc.integer({ min: 1, max: 15 }),
        maxSamples: fc.integer({ min: 1, max: 40 }),
      },
      { requiredKeys: [] },
    ),
    callbacks: fc.array(
      fc.record({
        length: fc.integer({ min: 0, max: 5 }),
        kind: fc.constantFrom('everyNEpochs', 'everyNUpdates', 'everyNSamples'),
        n: fc.integer({ min: 1, max: 7 }),
        batchSize: fc.integer({ min: 1, max: 4 }),
      }),
      { maxLength: 3 },
    ),
  })
  .filter((r) => Object.keys(r.limits).length > 0);

type Run = typeof arbRun extends fc.Arbitrary<infer R> ? R : never;

function permutations(r: Run): number[][] {
  let x = r.seed | 0;
  return Array.from({ length: r.epochsOrders }, () => {
    const a = Array.from({ length: r.L }, (_, i) => i);
    for (let i = a.length - 1; i > 0; i--) {
      x = (Math.imul(x, 1103515245) + 12345) | 0;
      const j = (x >>> 8) % (i + 1);
      [a[i], a[j]] = [a[j] as number, a[i] as number];
    }
    return a;
  });
}

function build(r: Run, start: Partial<InterleavedSamplerOptions> = {}): InterleavedSampler {
  const callbackSamplers: SamplerIntervalOptions[] = r.callbacks.map((c) => ({
    sampler: seq(c.length),
    [c.kind]: c.n,
    batchSize: c.batchSize,
  }));
  return new InterleavedSampler({
    trainSampler: new OrderSampler(permutations(r), r.L),
    config: { batchSize: r.batchSize, dropLast: r.dropLast, ...r.limits, ...start },
    callbackSamplers,
  });
}

describe('InterleavedSampler properties', () => {
  it('never ends mid-batch, and every batch comes from one dataset', () => {
    fc.assert(
      fc.property(arbRun, (r) => {
        const s = build(r);
        const offsets = s.dataset.offsets;
        let open = false;
        for (const [, end] of s) open = !end;
        expect(open).toBe(false);
        for (const b of s.batches()) {
          expect(b.indices.length).toBeGreaterThan(0);
          for (const i of b.indices) expect(s.dataset.locate(i).dataset).toBe(b.dataset);
          expect(b.indices[0]).toBeGreaterThanOrEqual(offsets[b.dataset] as number);
        }
      }),
    );
  });

  it('a run resumed after any update equals the rest of the uninterrupted run', () => {
    fc.assert(
      fc.property(
        arbRun,
        fc.nat(),
        fc.constantFrom('startUpdate', 'startSample', 'startEpoch'),
        (r, pick, field) => {
          const all = [...build(r).batches()];
          const trainAt = all.flatMap((b, k) => (b.source === 'train' ? [[k, b] as const] : []));
          if (trainAt.length === 0) return;
          const [k, b] = trainAt[pick % trainAt.length] as (typeof trainAt)[number];
          if (field === 'startEpoch' && !b.endsEpoch) return;
          if (field === 'startSample' && b.position.sample % r.batchSize !== 0) return;
          const value = {
            startUpdate: b.position.update,
            startSample: b.position.sample,
            startEpoch: b.position.epoch,
          }[field];
          let rest = k + 1;
          while (all[rest]?.source === 'callback') rest++;
          expect([...build(r, { [field]: value }).batches()]).toEqual(all.slice(rest));
        },
      ),
    );
  });

  it('plan() predicts exactly what batches() yields, without touching the samplers', () => {
    fc.assert(
      fc.property(arbRun, fc.nat({ max: 20 }), (r, startUpdate) => {
        const planned = build(r, { startUpdate });
        const trainSampler = planned.mainSampler as OrderSampler;
        const p = planned.plan();
        expect(trainSampler.epochsSet).toEqual([]);
        const batches = [...build(r, { startUpdate }).batches()];
        const train = batches.filter((b) => b.source === 'train');
        expect(p.trainBatches).toBe(train.length);
        expect(p.updates).toBe(train.length);
        expect(p.end).toEqual(train.at(-1)?.position ?? p.start);
        expect(p.samples).toBe(train.reduce((n, b) => n + b.indices.length, 0));
        p.callbacks.forEach((c, k) => {
          const mine = batches.filter(
            (b) => b.source === 'callback' && b.callback === k,
          ) as CallbackIndexBatch[];
          expect(c.batches).toBe(mine.length);
          expect(c.samples).toBe(mine.reduce((n, b) => n + b.indices.length, 0));
          // An empty callback sampler makes passes of no batches, which the stream cannot show.
          if (c.samplesPerPass === 0) return;
          expect(c.passes).toBe(mine.filter((b) => b.last).length);
          expect([...c.afterUpdates]).toEqual(mine.filter((b) => b.last).map((b) => b.afterUpdate));
        });
        expect(p.evalBatches + p.trainBatches).toBe(batches.length);
      }),
    );
  });

  it('rejects invalid input with the library error, never a foreign exception', () => {
    const anyValue = fc.oneof(
      fc.integer({ min: -3, max: 5 }),
      fc.double(),
      fc.string(),
      fc.constant(undefined),
      fc.constant(null),
      fc.boolean(),
    );
    fc.assert(
      fc.property(
        fc.record(
          {
            batchSize: anyValue,
            dropLast: anyValue,
            maxEpochs: anyValue,
            maxUpdates: anyValue,
            startUpdate: anyValue,
            startSample: anyValue,
          },
          { requiredKeys: [] },
        ),
        fc.array(
          fc.record(
            { everyNEpochs: anyValue, everyNSamples: anyValue, batchSize: anyValue },
            { requiredKeys: [] },
          ),
          { maxLength: 2 },
        ),
        fc.integer({ min: 0, max: 4 }),
        (config, callbacks, L) => {
          try {
            const s = new InterleavedSampler({
              trainSampler: seq(L),
              config: config as InterleavedSamplerOptions,
              callbackSamplers: callbacks.map((c) => ({ ...c, sampler: seq(2) }) as SamplerIntervalOptions),
            });
            let n = 0;
            for (const _ of s) if (++n > 10_000) throw new Error('stream did not end');
          } catch (e) {
            expect(e).toBeInstanceOf(WeftError);
          }
        },
      ),
    );
  });
});

describe('resume checks what fixes the order', () => {
  const items = (n: number) => new ArrayDataset(Array.from({ length: n }, (_, i) => i));
  const train = items(100);
  const build = (trainSampler: Sampler = new RandomSampler(train, { seed: 1 })) =>
    new InterleavedSampler({ trainSampler, config: { batchSize: 10, maxEpochs: 2 } });

  /** The training indices of a loader's run, and its state after update `at` (saved as JSON). */
  async function trained(loader: ReturnType<InterleavedSampler['getDataLoader']>, at = -1) {
    const seen: number[] = [];
    let state: ResumeState | undefined;
    for await (const b of loader) {
      if (b.source !== 'train') continue;
      seen.push(...b.indices);
      if (b.position.update === at) state = JSON.parse(JSON.stringify(loader.state()));
    }
    return { seen, state: state as ResumeState };
  }

  it('records the sampler and the seeds, and continues exactly when nothing changed', async () => {
    const full = await trained(build().getDataLoader({ seed: 11 }), 3);
    expect(full.state).toEqual({
      epoch: 0,
      update: 3,
      sample: 30,
      datasetLength: 100,
      trainSampler: { type: 'RandomSampler', seed: 1, replacement: false },
      seed: 11,
    });
    const rest = await trained(build().getDataLoader({ seed: 11, resume: full.state }));
    expect(rest.seen).toEqual(full.seen.slice(30));
  });

  it('refuses another sampler seed, loader seed, sampler, shuffle or dataset, naming old and new values', async () => {
    const { state } = await trained(build().getDataLoader({ seed: 11 }), 3);
    const refused = (sampler: InterleavedSampler, seed = 11) => {
      try {
        sampler.getDataLoader({ seed, resume: state });
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as ConfigError).message;
      }
      throw new Error('expected a ConfigError');
    };
    // The run: another sampler seed trained 20 of 100 samples twice in the interrupted epoch.
    expect(refused(build(new RandomSampler(train, { seed: 2 })))).toBe(
      '`state` cannot be continued exactly here: `trainSampler.seed` changed from 1 (in the state) to 2',
    );
    expect(refused(build(), 12)).toBe(
      "`state` cannot be continued exactly here: the loader's `seed` changed from 11 (in the state) to 12",
    );
    expect(refused(build(new RandomSampler(train, { seed: 2, replacement: true })), 12)).toBe(
      "`state` cannot be continued exactly here: `trainSampler.seed` changed from 1 (in the state) to 2; `trainSampler.replacement` changed from false (in the state) to true; the loader's `seed` changed from 11 (in the state) to 12",
    );
    expect(refused(build(new SequentialSampler(train)))).toBe(
      '`state` cannot be continued exactly here: `trainSampler` changed from a RandomSampler (in the state) to a SequentialSampler',
    );
    expect(refused(build(new RandomSampler(items(101), { seed: 1 })))).toBe(
      '`state` cannot be continued exactly here: the training dataset length changed: 100 in the state, 101 now',
    );
    const shard = (shuffle: boolean) =>
      build(new DistributedSampler(train, { numReplicas: 1, rank: 0, shuffle, seed: 1 }));
    const sharded = (await trained(shard(true).getDataLoader({ seed: 11 }), 3)).state;
    expect(() => shard(false).resumeFrom(sharded, { seed: 11 })).toThrow(
      '`state` cannot be continued exactly here: `trainSampler.shuffle` changed from true (in the state) to false',
    );
  });

  it('refuses a state that does not record them (a bare position, an older weft), saying what to add', async () => {
    const { state } = await trained(build().getDataLoader({ seed: 11 }), 3);
    const { epoch, update, sample } = state;
    expect(() => build().getDataLoader({ seed: 11, resume: { epoch, update, sample } })).toThrow(
      '`state` does not record `datasetLength`, `trainSampler`, `seed`, which fix the order of the run: it is a bare position, or was saved by an older weft, so a change would go unnoticed; resume from a loader\'s `state()`, or, if the state was saved with this run\'s settings, add them to it: "datasetLength": 100, "trainSampler": {"type":"RandomSampler","seed":1,"replacement":false}, "seed": 11',
    );
    // The sampler alone knows no loader seed: only what fixes the order is required.
    expect(() => build().resumeFrom({ epoch, update, sample, datasetLength: 100 })).toThrow(
      '`state` does not record `trainSampler`, which fixes the order of the run:',
    );
    expect(build().resumeFrom({ ...state, seed: undefined }).start).toEqual({ epoch, update, sample });
  });
});
