import { afterAll, describe, expect, it } from 'vitest';
import {
  ConfigError,
  type Dataset,
  fromModule,
  type InterleavedBatch,
  type InterleavedLoader,
  InterleavedSampler,
  Random,
  RandomSampler,
  type ResumeState,
  SequentialSampler,
  type Tensor,
} from '../src/index.ts';
import { url } from './fixtures/loader-datasets.ts';

const train = await fromModule<Dataset<Float32Array>>(url, 'augmented', { n: 23, dim: 3 });
const test = await fromModule<Dataset<number>>(url, 'numbers', { n: 7 });

const sampler = new InterleavedSampler({
  trainSampler: new RandomSampler(train, { seed: 5 }),
  config: { batchSize: 4, maxEpochs: 3 },
  callbackSamplers: [
    { sampler: new SequentialSampler(test), everyNUpdates: 4, batchSize: 3, name: 'quick' },
    { sampler: new SequentialSampler(test), everyNEpochs: 1, name: 'full' },
  ],
});

/** A batch as plain data, to compare runs. */
function plain(b: InterleavedBatch): unknown {
  const data =
    b.source === 'train' ? [...(b.data as Tensor<Float32Array>).data] : [...(b.data as Float64Array)];
  const { indices, data: _, ...tags } = b;
  return { ...tags, indices: [...indices], data };
}

/** What a state of these loaders records besides the position: what fixes the order, the loader's seed. */
const order = { ...sampler.orderState, seed: 11 };

const open: InterleavedLoader[] = [];
function loader(numWorkers: number, resume?: ResumeState): InterleavedLoader {
  const l = sampler.getDataLoader({ numWorkers, seed: 11, ...(resume ? { resume } : {}) });
  open.push(l);
  return l;
}
afterAll(() => Promise.all(open.map((l) => l.close())));

async function run(l: InterleavedLoader, states?: ResumeState[]): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const b of l) {
    out.push(plain(b));
    states?.push(l.state());
  }
  return out;
}

describe('InterleavedLoader', () => {
  it('tags every batch and collates it with its own dataset’s collate', async () => {
    const l = loader(0);
    const seen: string[] = [];
    for await (const b of l) {
      if (b.source === 'train') {
        expect((b.data as Tensor).shape).toEqual([b.indices.length, 3]);
        seen.push(`t${b.position.update}${b.passesAfter.length ? `>${b.passesAfter.join('+')}` : ''}`);
      } else {
        expect(b.data).toBeInstanceOf(Float64Array);
        expect([...(b.data as Float64Array)]).toEqual(
          [...b.indices].map((i) => i - (sampler.indexOffsets[b.callback] as number)),
        );
        if (b.last) seen.push(`${b.name}#${b.pass}`);
      }
    }
    expect(seen.slice(0, 8)).toEqual(['t1', 't2', 't3', 't4>quick', 'quick#1', 't5>full', 'full#1', 't6']);
    expect(l.totalUpdates).toBe(15);
    expect(l.plan.callbacks.map((c) => c.passes)).toEqual([3, 3]);
  });

  it('gives the same batches, augmentations included, with 0 and 2 workers', async () => {
    const [a, b] = [await run(loader(0)), await run(loader(2))];
    expect(b).toEqual(a);
  });

  it('resumes exactly from a state saved after any batch, with a different number of workers', async () => {
    const states: ResumeState[] = [];
    const full = (await run(loader(0), states)) as InterleavedBatch[];
    const resumed = loader(2);
    // Cut points: inside a pass, right after an update with passes pending, the last batch, and random ones.
    const pick = new Random(2026);
    const cuts = [3, 4, 5, full.length - 1, ...Array.from({ length: 6 }, () => pick.int(full.length))];
    for (const k of cuts) {
      const state = JSON.parse(JSON.stringify(states[k])) as ResumeState;
      // The rest: everything after the last training batch, less the passes of that update already complete.
      let t = k;
      while (full[t]?.source !== 'train') t--;
      const done = new Set(
        full.slice(t + 1, k + 1).flatMap((b) => (b.source !== 'train' && b.last ? [b.name] : [])),
      );
      const expected = full
        .slice(t + 1)
        .filter((b) => !(b.source !== 'train' && b.afterUpdate === state.update && done.has(b.name)));
      const again = loader(k % 2 === 0 ? 1 : 2, state);
      expect(await run(again), `resumed after batch ${k}`).toEqual(expected);
    }
    await resumed.close();
  });

  it('keeps the replay in state() when a resumed loader is iterated again (issue 10, item 7)', async () => {
    // After update 4 the `quick` pass (3 batches) is pending: a loader resumed there replays it first.
    const resumed = loader(0, { epoch: 0, update: 4, sample: 16, replay: ['quick'], ...order });
    for (let round = 0; round < 2; round++) {
      const states: ResumeState[] = [];
      const tags: string[] = [];
      for await (const b of resumed) {
        states.push(resumed.state());
        tags.push(b.source === 'train' ? `t${b.position.update}` : `${b.name}:${b.batch}`);
        if (tags.length === 4) break;
      }
      expect(tags, `round ${round}`).toEqual(['quick:0', 'quick:1', 'quick:2', 't5']);
      expect(states, `round ${round}`).toEqual([
        { epoch: 0, update: 4, sample: 16, replay: ['quick'], ...order },
        { epoch: 0, update: 4, sample: 16, replay: ['quick'], ...order },
        { epoch: 0, update: 4, sample: 16, ...order },
        { epoch: 1, update: 5, sample: 20, replay: ['full'], ...order },
      ]);
    }
  });

  it('builds the loader of a long run at once (issue 10, item 4)', () => {
    const long = new InterleavedSampler({
      trainSampler: new RandomSampler(train, { seed: 5 }),
      config: { batchSize: 4, maxUpdates: 1e7 },
      callbackSamplers: [{ sampler: new SequentialSampler(test), everyNUpdates: 1000, name: 'quick' }],
    });
    const t0 = performance.now();
    const l = long.getDataLoader({ numWorkers: 0 });
    open.push(l);
    expect(performance.now() - t0).toBeLessThan(500);
    expect(l.totalUpdates).toBe(1e7);
    expect(l.plan.callbacks[0]?.passes).toBe(1e4);
  });

  it('rejects options that do not apply and states that do not fit', () => {
    expect(() => sampler.getDataLoader({ inOrder: false } as never)).toThrow(
      'invalid loader options: `inOrder` is not a known option (an interleaved run is always delivered in schedule order)',
    );
    const resume = { epoch: 0, update: 5, sample: 20, ...order };
    expect(() => sampler.getDataLoader({ seed: 11, resume })).toThrow(ConfigError);
    expect(() => sampler.getDataLoader({ seed: 11, resume })).toThrow(
      '`state` does not fit this sampler: update 5 is at epoch 1, sample 20 here, but the state says epoch 0, sample 20',
    );
    expect(() =>
      sampler.getDataLoader({ seed: 11, resume: { ...resume, epoch: 1, replay: ['nope'] } }),
    ).toThrow('`replay` names an unknown callback, got "nope"; callbacks are ["quick","full"]');
  });
});
