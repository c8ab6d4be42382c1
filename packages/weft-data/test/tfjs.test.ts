// The TensorFlow.js adapter in one thread, on tfjs-core with the CPU backend: conversion, dtypes,
// disposal, bad input, and the tf.data views' epochs (the workers file trains with fitDataset).
import { readdirSync, readFileSync } from 'node:fs';
import * as tfc from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as data from '@tensorflow/tfjs-data';
import { beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { defaultCollate } from '../src/collate/collate.ts';
import type { Dataset } from '../src/core/dataset.ts';
import { ConfigError, WeftError } from '../src/core/errors.ts';
import { ArrayDataset } from '../src/datasets/basic.ts';
import { DataLoader } from '../src/engine/data-loader.ts';
import { InterleavedSampler } from '../src/interleaved/sampler.ts';
import { RandomSampler } from '../src/samplers/random-sampler.ts';
import { SequentialSampler } from '../src/samplers/sequential-sampler.ts';
import {
  disposeTensors,
  interleavedDataset,
  loaderDataset,
  TensorConversionError,
  type Tensors,
  toTensors,
  withTensors,
} from '../src/tfjs/index.ts';

const tf = { ...tfc, data };

beforeAll(async () => {
  await tfc.setBackend('cpu');
});

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const values = (t: unknown): number[] => Array.from((t as tfc.Tensor).dataSync());

/** Runs `fn` and checks that it left no tensor behind. */
async function noLeak(fn: () => unknown): Promise<void> {
  const before = tfc.memory().numTensors;
  await fn();
  expect(tfc.memory().numTensors).toBe(before);
}

function conversionError(fn: () => unknown): TensorConversionError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(TensorConversionError);
    expect(e).toBeInstanceOf(WeftError);
    return e as TensorConversionError;
  }
  throw new Error('expected a TensorConversionError');
}

describe('toTensors', () => {
  it('keeps the structure, with each typed array its own dtype and each { data, shape } its shape', async () => {
    await noLeak(() => {
      const batch = {
        x: { data: Float32Array.of(1, 2, 3, 4, 5, 6), shape: [2, 3] },
        y: Float64Array.of(0.5, 1.5),
        mask: Uint8Array.of(0, 1),
        pair: [Int32Array.of(-1, 7), { data: Int16Array.of(1, 2, 3, 4), shape: [2, 2, 1] }],
        wide: Uint32Array.of(1, 2),
        big: BigInt64Array.of(-3n, 4n),
        meta: { name: ['a', 'b'], count: 2, flag: true, none: null, absent: undefined },
      };
      const t = toTensors(tf, batch);
      expect(t.x.dtype).toBe('float32');
      expect(t.x.shape).toEqual([2, 3]);
      expect(values(t.x)).toEqual([1, 2, 3, 4, 5, 6]);
      expect([t.y.dtype, t.y.shape, values(t.y)]).toEqual(['float32', [2], [0.5, 1.5]]);
      expect([t.mask.dtype, values(t.mask)]).toEqual(['int32', [0, 1]]);
      expect([t.pair[0]!.dtype, values(t.pair[0])]).toEqual(['int32', [-1, 7]]);
      expect([t.pair[1]!.dtype, t.pair[1]!.shape]).toEqual(['int32', [2, 2, 1]]);
      expect([t.wide.dtype, values(t.wide)]).toEqual(['int32', [1, 2]]);
      expect([t.big.dtype, values(t.big)]).toEqual(['int32', [-3, 4]]);
      expect(t.meta).toEqual(batch.meta);
      expect(disposeTensors(t)).toBe(7);
    });
  });

  it('converts defaultCollate batches: float64 and uint8 by option, per-field dtypes by path', async () => {
    const items = range(4).map((i) => ({
      image: Float32Array.from(range(6), (k) => i + k / 10),
      label: i % 3,
      ok: i % 2 === 0,
      weight: i / 2,
    }));
    const batch = defaultCollate(items) as {
      image: { data: Float32Array; shape: number[] };
      label: Float64Array;
      ok: Uint8Array;
      weight: Float64Array;
    };
    await noLeak(() => {
      const t = toTensors(tf, batch, { float64: 'float32' });
      expect([t.image.dtype, t.image.shape, t.label.dtype, t.ok.dtype]).toEqual([
        'float32',
        [4, 6],
        'float32',
        'int32',
      ]);
      disposeTensors(t);
      const u = toTensors(tf, batch, { uint8: 'bool', dtypes: { label: 'int32', image: 'float32' } });
      expect([u.label.dtype, values(u.label)]).toEqual(['int32', [0, 1, 2, 0]]);
      expect([u.weight.dtype, values(u.weight)]).toEqual(['float32', [0, 0.5, 1, 1.5]]);
      expect([u.ok.dtype, values(u.ok)]).toEqual(['bool', [1, 0, 1, 0]]);
      disposeTensors(u);
    });
  });

  it("respects a collate's own dtypes (labels already Int32Array) and any field's override", async () => {
    await noLeak(() => {
      const t = toTensors(
        tf,
        { x: Float32Array.of(0, 2), label: Int32Array.of(3, 4), pair: [Uint8Array.of(0, 9)] },
        { dtypes: { x: 'bool', label: 'float32', 'pair.0': 'bool' } },
      );
      expect([t.x.dtype, values(t.x)]).toEqual(['bool', [0, 1]]);
      expect([t.label.dtype, values(t.label)]).toEqual(['float32', [3, 4]]);
      expect([t.pair[0]!.dtype, values(t.pair[0])]).toEqual(['bool', [0, 1]]);
      disposeTensors(t);
      const root = toTensors(tf, Float64Array.of(1, 2), { dtypes: { '': 'int32' } });
      expect(root.dtype).toBe('int32');
      root.dispose();
    });
  });

  it('makes int32 only of integers in range, naming the field, the value and where it is', async () => {
    await noLeak(() => {
      const batch = { x: Float32Array.of(1), inner: { label: Float64Array.of(0, 1, 2, 0.5) } };
      const e = conversionError(() => toTensors(tf, batch, { float64: 'int32' }));
      expect(e.field).toBe('inner.label');
      expect(e.message).toBe(
        'field `inner.label` (Float64Array) has 0.5 at [3], not an int32 (an integer in [-2147483648, 2147483647])',
      );
      expect(conversionError(() => toTensors(tf, { n: Uint32Array.of(1, 2 ** 31) })).message).toContain(
        'has 2147483648 at [1]',
      );
      expect(conversionError(() => toTensors(tf, { n: BigInt64Array.of(2n ** 40n) })).message).toContain(
        'has 1099511627776n at [0]',
      );
      expect(
        conversionError(() => toTensors(tf, Float64Array.of(Number.NaN), { float64: 'int32' })).message,
      ).toContain('the batch (Float64Array) has NaN at [0]');
    });
  });

  it('refuses values with no tensor form, naming the field', () => {
    const cases: [unknown, string][] = [
      [{ a: new Map() }, 'field `a` is an object (Map), which has no tensor form'],
      [{ a: [1, new Date(0)] }, 'field `a.1` is an object (Date), which has no tensor form'],
      [{ v: new DataView(new ArrayBuffer(4)) }, 'field `v` is a DataView, which has no tensor form'],
      [{ f: () => 1 }, 'field `f` is function f, which has no tensor form'],
      [{ s: Symbol('s') }, 'field `s` is an object (Symbol), which has no tensor form'],
      [{ c: new (class Box {})() }, 'field `c` is an object (Object), which has no tensor form'],
      [
        { t: { data: Float32Array.of(1, 2, 3), shape: [2, 2] } },
        'field `t` has shape [2, 2], which does not fit its data of length 3',
      ],
      [
        { t: { data: Float32Array.of(1, 2), shape: [2, '1'] } },
        'field `t` has shape [2, "1"], which does not fit its data of length 2',
      ],
    ];
    for (const [batch, message] of cases) {
      expect(conversionError(() => toTensors(tf, batch)).message).toBe(message);
    }
  });

  it('passes tensors already in the batch through', async () => {
    const x = tfc.tensor([1, 2]);
    const t = toTensors(tf, { x, y: 3 });
    expect(t.x).toBe(x);
    expect(t.y).toBe(3);
    expect(disposeTensors(t)).toBe(1);
    expect(x.isDisposed).toBe(true);
  });

  it('checks its arguments: tf, the options, and dtypes paths against the batch', () => {
    for (const bad of [undefined, null, {}, { tensor: () => 0 }, 'tf']) {
      expect(() => toTensors(bad as never, Float32Array.of(1))).toThrow(ConfigError);
    }
    expect(() => toTensors(undefined as never, 1)).toThrow(
      "`toTensors`: `tf` must be the TensorFlow.js namespace (`import * as tf from '@tensorflow/tfjs'`; install @tensorflow/tfjs, or @tensorflow/tfjs-core with a backend), got undefined",
    );
    let err: ConfigError | undefined;
    try {
      toTensors(tf, 1, { float64: 'int64', uint8: 'uint8', dtypes: { y: 'float64' }, foo: 1 } as never);
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(err?.issues).toEqual([
      '`foo` is not a known option',
      "`float64` must be 'float32' or 'int32', got \"int64\"",
      "`uint8` must be 'int32' or 'bool', got \"uint8\"",
      "`dtypes[\"y\"]` must be 'float32', 'int32' or 'bool', got \"float64\"",
    ]);
    expect(() => toTensors(tf, 1, 'int32' as never)).toThrow(
      '`toTensors` options must be an object, got "int32"',
    );
    expect(() => toTensors(tf, 1, { dtypes: [] as never })).toThrow('`dtypes` must be an object');
    expect(() =>
      toTensors(
        tf,
        { x: { data: Float32Array.of(1), shape: [1] }, y: Float64Array.of(1) },
        { dtypes: { lable: 'int32' } },
      ),
    ).toThrow('`dtypes` names `lable`, which the batch does not have (its arrays: `x`, `y`)');
    expect(conversionError(() => toTensors(tf, { name: ['a'] }, { dtypes: { name: 'int32' } })).message).toBe(
      '`dtypes` gives field `name` the dtype int32, but it is an array of length 1, not a typed array or { data, shape }',
    );
  });

  it('types the converted batch', () => {
    type B = { x: { data: Float32Array; shape: number[] }; y: Float64Array; ids: string[]; n: number };
    expectTypeOf<Tensors<B>>().toEqualTypeOf<{ x: tfc.Tensor; y: tfc.Tensor; ids: string[]; n: number }>();
    expectTypeOf<Tensors<[Int32Array, string]>>().toEqualTypeOf<[tfc.Tensor, string]>();
  });
});

describe('disposal', () => {
  const loader = () =>
    new DataLoader({
      dataset: new ArrayDataset(range(10).map((i) => ({ x: Float32Array.of(i, -i), y: i % 2 }))),
      batchSize: 4,
    });

  it('disposeTensors frees every tensor of a batch in a loop, and skips disposed ones', async () => {
    await noLeak(async () => {
      let disposed = 0;
      for await (const batch of loader()) {
        const t = toTensors(tf, batch);
        disposed += disposeTensors(t);
        expect(disposeTensors(t)).toBe(0);
      }
      expect(disposed).toBe(6);
    });
  });

  it('converting inside tf.tidy frees the batch with the step', async () => {
    const w = tfc.variable(tfc.ones([2, 1]));
    const losses: number[] = [];
    await noLeak(async () => {
      for await (const batch of loader()) {
        tfc.tidy(() => {
          const { x, y } = toTensors(
            tf,
            batch as { x: { data: Float32Array; shape: number[] }; y: Float64Array },
          );
          const loss = tfc.losses.meanSquaredError(tfc.reshape(y, [-1, 1]), tfc.matMul(x, w));
          losses.push(loss.dataSync()[0] as number);
        });
      }
    });
    expect(losses).toEqual([0.5, 0.5, 0.5]); // x·w = i - i = 0, y is 0 or 1
    w.dispose();
  });

  it('withTensors disposes after an async step, also when it throws', async () => {
    await noLeak(async () => {
      const sums: number[] = [];
      for await (const batch of loader()) {
        const sum = await withTensors(tf, batch, async ({ y }) => {
          const s = tfc.sum(y);
          const [v] = await s.data();
          s.dispose();
          return v;
        });
        sums.push(sum as number);
      }
      expect(sums).toEqual([2, 2, 1]);
      await expect(
        withTensors(tf, { y: Float64Array.of(1) }, () => {
          throw new Error('step failed');
        }),
      ).rejects.toThrow('step failed');
      await expect(withTensors(tf, { y: Float64Array.of(1) }, 'fn' as never)).rejects.toThrow(ConfigError);
    });
  });
});

describe('loaderDataset', () => {
  const make = () =>
    new DataLoader({
      dataset: new ArrayDataset(range(10).map((i) => ({ index: i, x: Float32Array.of(i) }))),
      batchSize: 3,
      shuffle: true,
      seed: 5,
    });
  type Item = { index: Float64Array; x: { data: Float32Array; shape: number[] } };

  async function epochs(loader: AsyncIterable<unknown>, n: number): Promise<number[][]> {
    const out: number[][] = [];
    for (let e = 0; e < n; e++) {
      const order: number[] = [];
      for await (const b of loader) order.push(...(b as Item).index);
      out.push(order);
    }
    return out;
  }

  it("iterates a new epoch of the loader each time, in that epoch's order, freeing what map drops", async () => {
    const expected = await epochs(make(), 3);
    const ds = loaderDataset(
      tf,
      make() as DataLoader<Dataset<unknown>, Item>,
      (b) => ({ xs: b.x, ys: b.index }),
      {
        float64: 'int32',
      },
    );
    await noLeak(async () => {
      for (const order of expected) {
        const seen: number[] = [];
        await ds.forEachAsync((e) => {
          expect(e.xs.shape).toEqual([e.ys.shape[0], 1]);
          expect(e.ys.dtype).toBe('int32');
          seen.push(...values(e.ys));
          disposeTensors(e);
        });
        expect(seen).toEqual(order);
      }
    });
  });

  it('starts an epoch on the first element asked for, and ends one left unfinished', async () => {
    const expected = await epochs(make(), 2);
    const loader = make();
    const ds = loaderDataset(tf, loader as DataLoader<Dataset<unknown>, Item>, (b) => ({ ys: b.index }));
    await ds.iterator(); // fitDataset makes one iterator it never reads
    const first = await ds.iterator();
    const e0 = (await first.next()).value as { ys: tfc.Tensor };
    expect(values(e0.ys)).toEqual(expected[0]?.slice(0, 3));
    disposeTensors(e0);
    const second = await ds.iterator();
    const seen: number[] = [];
    for (let r = await second.next(); !r.done; r = await second.next()) {
      seen.push(...values((r.value as { ys: tfc.Tensor }).ys));
      disposeTensors(r.value);
    }
    expect(seen).toEqual(expected[1]);
  });

  it('frees what it made when map or a conversion fails, naming the field', async () => {
    const loader = new DataLoader({
      dataset: new ArrayDataset([{ x: Float32Array.of(1), y: 0.5 }]),
      collate: (items) => ({ x: defaultCollate(items.map((i) => i.x)), y: new Map() }),
    });
    const ds = loaderDataset(tf, loader, (b) => ({ xs: b.x, ys: b.y }));
    await noLeak(async () => {
      await expect(ds.toArray()).rejects.toThrow('field `y` is an object (Map), which has no tensor form');
    });
    const ds2 = loaderDataset(tf, make() as DataLoader<Dataset<unknown>, Item>, () => {
      throw new Error('map failed');
    });
    await noLeak(async () => {
      await expect(ds2.toArray()).rejects.toThrow('map failed');
    });
  });

  it('checks its arguments', () => {
    const loader = make();
    const map = (b: unknown) => b;
    expect(() => loaderDataset(tfc as never, loader, map)).toThrow(
      "`loaderDataset`: `tf.data.generator` is missing: pass the namespace of @tensorflow/tfjs or @tensorflow/tfjs-node, or `{ ...tf, data }` with `import * as data from '@tensorflow/tfjs-data'`",
    );
    expect(() => loaderDataset(tf, [1, 2] as never, map)).toThrow(
      '`loaderDataset`: `loader` must be a DataLoader, got an array of length 2',
    );
    expect(() => loaderDataset(tf, loader, undefined as never)).toThrow(
      "`loaderDataset`: `map` must be a function from a batch to the dataset's element (`{ xs, ys }` for fitDataset), got undefined",
    );
    expect(() => loaderDataset(tf, loader, map, { onCallback: () => {} } as never)).toThrow(
      '`onCallback` is not a known option',
    );
    const interleaved = new InterleavedSampler({
      trainSampler: new SequentialSampler(new ArrayDataset(range(4))),
      config: { batchSize: 2, maxEpochs: 1 },
    }).getDataLoader();
    expect(() => loaderDataset(tf, interleaved, map)).toThrow('use `interleavedDataset`');
    expect(() => interleavedDataset(tf, loader as never, map)).toThrow(
      '`interleavedDataset`: `loader` must be an InterleavedLoader',
    );
    expect(() => interleavedDataset(tf, interleaved, map, { onCallback: 3 as never })).toThrow(
      '`onCallback` must be a function, got 3',
    );
  });
});

describe('interleavedDataset', () => {
  it('reads the run one training epoch per iteration, handing callback batches to onCallback', async () => {
    const train = new ArrayDataset(range(10).map((i) => ({ index: i, x: Float32Array.of(i) })));
    const test = new ArrayDataset(range(3).map((i) => ({ index: 100 + i, x: Float32Array.of(-i) })));
    const sampler = new InterleavedSampler({
      trainSampler: new RandomSampler(train, { seed: 3 }),
      config: { batchSize: 4, maxEpochs: 3 },
      callbackSamplers: [
        { sampler: new SequentialSampler(test), everyNEpochs: 1, name: 'test', batchSize: 2 },
      ],
    });
    const expected: number[][] = [];
    for (const b of sampler.batchSampler) {
      if (b.source === 'train') expected[b.epoch] = [...(expected[b.epoch] ?? []), ...b.indices];
    }
    const loader = sampler.getDataLoader();
    const events: string[] = [];
    const ds = interleavedDataset(
      tf,
      loader,
      (b, batch) => {
        events.push(`train ${batch.epoch}`);
        return { xs: b.x, ys: b.index };
      },
      {
        float64: 'int32',
        onCallback: async (batch) => {
          await Promise.resolve();
          events.push(`${batch.name} ${batch.pass} ${[...batch.data.index]}`);
        },
      },
    );
    expect(loader.plan.epochs).toBe(3);
    await noLeak(async () => {
      await ds.iterator(); // never read
      for (const order of [...expected, []]) {
        const seen: number[] = [];
        await ds.forEachAsync((e) => {
          seen.push(...values(e.ys));
          disposeTensors(e);
        });
        expect(seen).toEqual(order);
        if (order.length > 0) expect(events.at(-1)).toMatch(/^test \d 102$/);
      }
    });
    // Epoch e: its 3 updates (dropLast), then the test pass of 2 batches, before the next epoch begins.
    const epochEvents = (e: number) => [
      `train ${e}`,
      `train ${e}`,
      `test ${e + 1} 100,101`,
      `test ${e + 1} 102`,
    ];
    expect(events).toEqual([0, 1, 2].flatMap(epochEvents));
  });
});

describe('packaging', () => {
  it('keeps TensorFlow.js out of the main entry: only src/tfjs/ names it, and imports only its types', () => {
    const src = new URL('../src/', import.meta.url);
    const files = readdirSync(src, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    const naming = files.filter((f) => readFileSync(new URL(f, src), 'utf8').includes('@tensorflow'));
    expect(naming).toContain('tfjs/types.ts');
    expect(naming.filter((f) => !f.startsWith('tfjs/'))).toEqual([]);
    for (const f of naming) {
      const imports = readFileSync(new URL(f, src), 'utf8').match(/^import .*$/gm) ?? [];
      for (const line of imports.filter((l) => l.includes('@tensorflow')))
        expect(line).toMatch(/^import type /);
    }
    const outside = files.filter((f) => !f.startsWith('tfjs/'));
    expect(
      outside.filter((f) => /from '\.[^']*\/tfjs\//.test(readFileSync(new URL(f, src), 'utf8'))),
    ).toEqual([]);
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    expect(pkg.exports['./tfjs']).toEqual({
      types: './dist/tfjs/index.d.ts',
      import: './dist/tfjs/index.js',
      require: './cjs/tfjs.cjs',
    });
    expect(pkg.peerDependenciesMeta['@tensorflow/tfjs-core']).toEqual({ optional: true });
    expect(Object.keys(pkg.dependencies)).toEqual(['yaml', 'zod']);
  });
});
