import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BlockShuffleSampler,
  ConfigError,
  type InterleavedBatch,
  InterleavedSampler,
  Random,
  type ResumeState,
} from '../src/index.ts';

const blocked = (sizes: number[]) => {
  const blockOffsets = [0];
  for (const s of sizes) blockOffsets.push((blockOffsets[blockOffsets.length - 1] as number) + s);
  return { length: blockOffsets[blockOffsets.length - 1] as number, blockOffsets };
};
const sorted = (xs: Iterable<number>) => [...xs].sort((a, b) => a - b);

describe('BlockShuffleSampler', () => {
  it('shuffles blocks, then items within each window of blocks', () => {
    const s = new BlockShuffleSampler(blocked([4, 4, 4, 4, 3]), { seed: 3, window: 2 });
    expect(s.blocks).toBe(5);
    const order = [...s];
    const blockOf = (i: number) => Math.min(4, Math.floor(i / 4));
    // Windows of two blocks: items 0–7 come from two blocks, so do the next eight (or seven), then one block.
    const first = new Set(order.slice(0, 8).map(blockOf));
    expect(first.size).toBe(2);
    expect(order.slice(0, 8).every((i) => first.has(blockOf(i)))).toBe(true);
    expect(sorted(order)).toEqual(Array.from({ length: 19 }, (_, i) => i));
    expect(order.slice(0, 8)).not.toEqual(sorted(order.slice(0, 8))); // shuffled inside the window
  });

  it('pins epoch orders (seed, epoch), the same in any instance, so runs resume exactly', () => {
    const s = new BlockShuffleSampler(blocked([3, 3, 3]), { seed: 7, window: 1 });
    expect([...s]).toEqual([5, 3, 4, 0, 1, 2, 8, 6, 7]);
    s.setEpoch(1);
    const e1 = [...s];
    expect(e1).toEqual([2, 1, 0, 3, 5, 4, 7, 6, 8]);
    const again = new BlockShuffleSampler(blocked([3, 3, 3]), { seed: 7, window: 1 });
    again.setEpoch(1);
    expect(again.indices()).toEqual(Uint32Array.from(e1));
    expect(again.indices()).toBe(again.indices());
  });

  it('is a permutation made of whole windows of blocks, for any blocks, window, seed and epoch', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 12 }),
        fc.integer({ min: 1, max: 4 }),
        fc.nat(),
        fc.nat({ max: 20 }),
        (sizes, window, seed, epoch) => {
          const data = blocked(sizes);
          const s = new BlockShuffleSampler(data, { seed, window });
          s.setEpoch(epoch);
          const order = [...s.indices()];
          expect(sorted(order)).toEqual(Array.from({ length: data.length }, (_, i) => i));
          // The documented construction: block order from Random(seed, epoch, 0), then window by window.
          const blockOrder = [...new Random(seed, epoch, 0).permutation(sizes.length)];
          let pos = 0;
          for (let w = 0; w * window < blockOrder.length; w++) {
            const items = blockOrder
              .slice(w * window, (w + 1) * window)
              .flatMap((b) => Array.from({ length: sizes[b]! }, (_, k) => data.blockOffsets[b]! + k));
            expect(sorted(order.slice(pos, pos + items.length))).toEqual(sorted(items));
            pos += items.length;
          }
        },
      ),
    );
  });

  it('uses blockSize for data without blocks, and checks its options all at once', () => {
    const s = new BlockShuffleSampler({ length: 10 }, { blockSize: 4, window: 1, seed: 1 });
    expect(s.blockOffsets).toEqual([0, 4, 8, 10]);
    const firstBlock = Math.floor(s.indices()[0]! / 4);
    const size = firstBlock === 2 ? 2 : 4;
    expect(sorted(s.indices().subarray(0, size)).map((i) => Math.floor(i / 4))).toEqual(
      Array(size).fill(firstBlock),
    );
    expect(() => new BlockShuffleSampler({ length: 10 })).toThrow(
      '`BlockShuffleSampler` needs blocks: `data` has no `blockOffsets`, and no `blockSize` was given',
    );
    expect(() => new BlockShuffleSampler({ length: 3, blockOffsets: [0, 2] } as never)).toThrow(
      "`data.blockOffsets` must rise from 0 to the dataset's length 3, got an array of length 2",
    );
    const e = (() => {
      try {
        new BlockShuffleSampler({ length: 3 }, {
          seed: -1,
          window: 0,
          blockSize: 1.5,
          shuffle: true,
        } as never);
      } catch (x) {
        return x as ConfigError;
      }
    })();
    expect(e).toBeInstanceOf(ConfigError);
    expect(e?.issues).toEqual([
      '`seed` must be a non-negative integer, got -1',
      '`window` must be a positive integer, got 0',
      '`blockSize` must be a positive integer, got 1.5',
      '`shuffle` is not a known option',
    ]);
    expect(new BlockShuffleSampler({ length: 0 }, { blockSize: 2 }).indices()).toEqual(new Uint32Array(0));
    // The data is checked with the options, in the same error.
    const issues = [
      '`data` must be a dataset (an object with a `length`), got 3',
      '`window` must be a positive integer, got 0',
    ];
    expect(() => new BlockShuffleSampler(3 as never, { window: 0 })).toThrow(
      new ConfigError(`invalid BlockShuffleSampler options: ${issues.join('; ')}`, issues),
    );
  });

  it('resumes an interleaved run exactly, as the train sampler', async () => {
    const data = { ...blocked([7, 7, 7, 7, 5]), get: (i: number) => i };
    const sampler = new InterleavedSampler({
      trainSampler: new BlockShuffleSampler(data, { seed: 4, window: 2 }),
      config: { batchSize: 5, maxEpochs: 3 },
    });
    const run = async (resume?: ResumeState, states?: ResumeState[]) => {
      const loader = sampler.getDataLoader(resume ? { resume } : {});
      const out: number[][] = [];
      for await (const b of loader as AsyncIterable<InterleavedBatch>) {
        out.push([...b.indices]);
        states?.push(loader.state());
      }
      return out;
    };
    const states: ResumeState[] = [];
    const full = await run(undefined, states);
    expect(full.length).toBe(18); // 6 updates of 5 (dropLast) per epoch of 33
    for (const k of [0, 5, 6, 11, 16]) {
      expect(await run(JSON.parse(JSON.stringify(states[k])) as ResumeState), `after batch ${k}`).toEqual(
        full.slice(k + 1),
      );
    }
  });
});
