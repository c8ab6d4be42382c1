import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { defaultCollate } from '../src/collate/collate.ts';
import type { BatchOf } from '../src/collate/collated.ts';
import type { Dataset } from '../src/core/dataset.ts';
import { ConfigError, WorkerError } from '../src/core/errors.ts';
import { type Encoded, encode, type FactoryOptions, fromModule } from '../src/core/recipe.ts';
import { ArrayDataset, ConcatDataset, Subset } from '../src/datasets/basic.ts';
import { DataLoader, type DataLoaderOptions } from '../src/engine/data-loader.ts';
import { engineOptions, LoaderEngine } from '../src/engine/engine.ts';
import { missingDependency, throwsAtImport } from './fixtures/broken-modules.ts';
import { RangeDataset, url } from './fixtures/loader-datasets.ts';

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
// Typed by the fixture module's exports: the export name, the factory's options and what it makes.
type Fixtures = typeof import('./fixtures/loader-datasets.ts');
const load = <K extends keyof Fixtures & string>(name: K, options?: FactoryOptions<Fixtures[K]>) =>
  fromModule<Fixtures[K]>(url, name, options);

async function collect<B>(loader: AsyncIterable<B>): Promise<B[]> {
  const out: B[] = [];
  for await (const batch of loader) out.push(batch);
  return out;
}

async function epoch<D extends Dataset<unknown>, B = BatchOf<D>>(
  options: ConstructorParameters<typeof DataLoader<D, B>>[0],
): Promise<B[]> {
  await using loader = new DataLoader<D, B>(options);
  return await collect(loader);
}

const asLists = (batches: unknown[]): number[][] => batches.map((b) => Array.from(b as Float64Array));

describe('DataLoader with workers', () => {
  it('yields the same batches as in-process, in order', async () => {
    const dataset = new ArrayDataset(range(23));
    const expected = asLists(await epoch({ dataset, batchSize: 4 }));
    expect(asLists(await epoch({ dataset, batchSize: 4, numWorkers: 2 }))).toEqual(expected);
    expect(asLists(await epoch({ dataset, batchSize: 4, numWorkers: 3, prefetchFactor: 1 }))).toEqual(
      expected,
    );
  });

  it('spreads batches over the workers, which know who they are', async () => {
    const dataset = await load('whoLoads', { n: 16 });
    const batches = (await epoch({ dataset, batchSize: 2, numWorkers: 2 })) as {
      index: Float64Array;
      worker: Float64Array;
    }[];
    expect(batches.flatMap((b) => Array.from(b.index))).toEqual(range(16));
    expect(new Set(batches.flatMap((b) => Array.from(b.worker)))).toEqual(new Set([0, 1]));
  });

  it('gives identical batches for 0, 1, 2 and 4 workers with random augmentation', async () => {
    const dataset = await load('augmented', { n: 40, dim: 3 });
    const run = async (numWorkers: number) => {
      await using loader = new DataLoader({ dataset, batchSize: 6, shuffle: true, seed: 3, numWorkers });
      const epochs = [await collect(loader), await collect(loader)];
      return epochs.map((batches) => batches.map((b) => Array.from((b as { data: Float32Array }).data)));
    };
    const inProcess = await run(0);
    expect(inProcess[0]).not.toEqual(inProcess[1]);
    for (const n of [1, 2, 4]) expect(await run(n)).toEqual(inProcess);
  });

  it('yields batches as they are ready with inOrder: false', async () => {
    const gate = new SharedArrayBuffer(4);
    const dataset = await load('gated', { n: 6, gateAt: 0, gate });
    await using loader = new DataLoader({ dataset, numWorkers: 2, prefetchFactor: 1, inOrder: false });
    const seen: number[] = [];
    for await (const batch of loader) {
      seen.push((batch as Float64Array)[0] as number);
      // Batch 0 waits in its worker until the first batch to arrive has been yielded.
      Atomics.store(new Int32Array(gate), 0, 1);
      Atomics.notify(new Int32Array(gate), 0);
    }
    expect(seen[0]).not.toBe(0);
    expect([...seen].sort()).toEqual(range(6));
  });

  it('transfers collated buffers instead of copying them', async () => {
    const dataset = new ArrayDataset(range(6));
    const collate = await load('detachProbe');
    const batches = (await epoch({ dataset, batchSize: 2, collate, numWorkers: 1 })) as {
      data: Float64Array;
      previousDetached: boolean | null;
    }[];
    expect(batches.map((b) => b.previousDetached)).toEqual([null, true, true]);
    expect(batches.map((b) => Array.from(b.data))).toEqual([
      [0, 1],
      [2, 3],
      [4, 5],
    ]);
  });

  it('keeps persistent workers between epochs, and replaces them otherwise', async () => {
    const dataset = await load('threads', { n: 8 });
    const threadsOf = (batches: unknown[]) => new Set(batches.flatMap((b) => Array.from(b as Float64Array)));
    await using persistent = new DataLoader({
      dataset,
      batchSize: 2,
      numWorkers: 2,
      persistentWorkers: true,
    });
    const first = threadsOf(await collect(persistent));
    expect(threadsOf(await collect(persistent))).toEqual(first);
    await using fresh = new DataLoader({ dataset, batchSize: 2, numWorkers: 2 });
    const a = threadsOf(await collect(fresh));
    const b = threadsOf(await collect(fresh));
    expect([...a].some((t) => b.has(t))).toBe(false);
  });

  it('calls workerInit in each worker with its info', async () => {
    const dataset = await load('stamped', { n: 8 });
    const workerInit = await load('stampInit');
    const collate = await load('listCollate');
    const batches = await epoch({ dataset, batchSize: 1, numWorkers: 2, collate, workerInit });
    expect(new Set(batches.flat())).toEqual(new Set(['init 0/2', 'init 1/2']));
  });

  it('loads async datasets and built-in compositions in workers', async () => {
    const asyncNumbers = await load('asyncNumbers', { n: 5 });
    const dataset = new ConcatDataset<unknown>([
      new Subset(asyncNumbers, [4, 3]),
      new ArrayDataset([{ x: 1 }, { x: 2 }]),
    ]);
    const batches = await epoch({
      dataset,
      batchSampler: [
        [0, 1],
        [2, 3],
      ],
      numWorkers: 2,
      collate: await load('listCollate'),
    });
    expect(batches).toEqual([
      [
        { dataset: 0, index: 0, item: 4 },
        { dataset: 0, index: 1, item: 3 },
      ],
      [
        { dataset: 1, index: 0, item: { x: 1 } },
        { dataset: 1, index: 1, item: { x: 2 } },
      ],
    ]);
  });

  it('terminates every worker when the consumer breaks, and after each epoch', async () => {
    const engine = new LoaderEngine<number, unknown>({
      dataset: new ArrayDataset(range(40)),
      collate: defaultCollate,
      numWorkers: 3,
    });
    const batches = range(10).map((k) => ({ indices: Uint32Array.of(k * 4, k * 4 + 1), epoch: 0, tag: k }));
    const tags: number[] = [];
    for await (const { tag } of engine.run(batches)) {
      expect(engine.liveWorkers).toBe(3);
      tags.push(tag);
      if (tag === 2) break;
    }
    expect(tags).toEqual([0, 1, 2]);
    expect(engine.liveWorkers).toBe(0);
    for await (const _ of engine.run(batches));
    expect(engine.liveWorkers).toBe(0);
  });

  it('lets the process exit after break, and with an idle persistent pool, without close()', async () => {
    const script = fileURLToPath(new URL('./fixtures/exit-after-break.ts', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script], {
      timeout: 30_000,
    });
    expect(stdout.trim()).toBe('done 16');
  });
});

describe('LoaderEngine', () => {
  it('checks its options like the DataLoader', () => {
    expect(
      () =>
        new LoaderEngine({
          dataset: new ArrayDataset([1]),
          collate: defaultCollate,
          numWorkers: 0,
          timeout: 5,
        }),
    ).toThrow(
      'invalid loader options: `timeout` needs `numWorkers` > 0 (loading in-process), got numWorkers=0',
    );
  });

  it('takes options resolved once as they are', () => {
    const options = engineOptions({ dataset: new ArrayDataset([1]), collate: defaultCollate });
    expect(options).toMatchObject({ numWorkers: 0, prefetchFactor: 2, timeout: 0, maxWorkerRestarts: 3 });
    expect(Object.isFrozen(options)).toBe(true);
    expect(engineOptions(options)).toBe(options);
    expect(new LoaderEngine(options).options).toBe(options);
  });

  it('passes tags through, in order', async () => {
    const engine = new LoaderEngine<string, unknown>({
      dataset: new ArrayDataset(range(4)),
      collate: (xs) => xs,
    });
    const batches = ['a', 'b'].map((tag, k) => ({
      indices: Uint32Array.of(2 * k, 2 * k + 1),
      epoch: 0,
      tag,
    }));
    const out: unknown[] = [];
    for await (const result of engine.run(batches)) out.push(result);
    expect(out).toEqual([
      { tag: 'a', data: [0, 1] },
      { tag: 'b', data: [2, 3] },
    ]);
  });
  it('keeps its bookkeeping bounded over a long run, in order or not', async () => {
    for (const inOrder of [true, false]) {
      const engine = new LoaderEngine<number, unknown>({
        dataset: new ArrayDataset(range(4)),
        collate: defaultCollate,
        numWorkers: 2,
        prefetchFactor: 2,
        inOrder,
      });
      function* batches() {
        for (let k = 0; k < 2000; k++) yield { indices: Uint32Array.of(k % 4), epoch: 0, tag: k };
      }
      let count = 0;
      let most = 0;
      for await (const _ of engine.run(batches())) {
        count++;
        most = Math.max(most, engine.bufferedBatches);
      }
      expect({ count, most, after: engine.bufferedBatches }).toEqual({ count: 2000, most: 3, after: 0 });
    }
  });
});

describe('worker-loadable values', () => {
  it('names what cannot be loaded in a worker', () => {
    const plain: Dataset<number> = { length: 1, get: () => 1 };
    const make = (options: Partial<DataLoaderOptions<Dataset<unknown>, unknown>>) => () =>
      new DataLoader({ dataset: new ArrayDataset([1]), numWorkers: 1, ...options } as DataLoaderOptions<
        Dataset<unknown>,
        unknown
      >);
    expect(make({ dataset: new ConcatDataset([new ArrayDataset([1]), plain]) })).toThrow(
      new ConfigError(
        '`dataset.datasets[1]` cannot be loaded in a worker: it is an object (Object); create it with fromModule(url, exportName, options)',
      ),
    );
    expect(make({ dataset: new Subset(plain, [0]) })).toThrow(
      '`dataset.dataset` cannot be loaded in a worker: it is an object (Object)',
    );
    expect(
      make({
        collate: function mine(items: unknown[]) {
          return items;
        },
      }),
    ).toThrow(
      '`collate` cannot be loaded in a worker: it is function mine; create it with fromModule(url, exportName, options)',
    );
    expect(make({ dataset: new ArrayDataset([() => 1]) })).toThrow(
      '`dataset.items[0]` cannot be loaded in a worker: it is function (anonymous)',
    );
    class Mine extends ArrayDataset<number> {}
    expect(make({ dataset: new Mine([1]) })).toThrow(
      '`dataset` cannot be loaded in a worker: it is an object (Object)',
    );
  });

  it('checks fromModule arguments', async () => {
    await expect(fromModule('./fixtures/loader-datasets.ts', 'numbers')).rejects.toThrow(
      '`moduleUrl` must be a URL or an absolute file path, got "./fixtures/loader-datasets.ts"',
    );
    await expect(fromModule(url, 'nope')).rejects.toThrow(`module ${url.href} has no export \`nope\``);
    await expect(load('url')).resolves.toBeInstanceOf(URL);
    await expect(fromModule(fileURLToPath(url), 'numbers', { n: 2 })).resolves.toMatchObject({ length: 2 });
  });

  it('wraps a module that cannot be imported in a ConfigError naming it, the original as cause', async () => {
    const cases: [URL, string, string][] = [
      [new URL('./gone.ts', url), 'numbers', 'the module does not exist'],
      [throwsAtImport, 'dataset', 'it threw while being imported: Error: DATA_ROOT is not set'],
      [
        missingDependency,
        'dataset',
        `a module it imports was not found: Cannot find package 'weft-no-such-package' imported from ${fileURLToPath(missingDependency)}`,
      ],
    ];
    for (const [where, name, why] of cases) {
      const error = await fromModule(where, name).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(error).toBeInstanceOf(ConfigError);
      expect(error?.message).toBe(`cannot import module ${where.href} for its export \`${name}\`: ${why}`);
      expect(error?.cause).toBeInstanceOf(Error);
    }
  });

  it('takes anything with an href as the module URL', async () => {
    await expect(fromModule({ href: url.href }, 'numbers', { n: 3 })).resolves.toMatchObject({ length: 3 });
    await expect(fromModule({ href: 'not a url' }, 'numbers')).rejects.toThrow(
      '`moduleUrl` must be a URL or an absolute file path, got an object (Object)',
    );
  });

  it('gives the same message for a TypeScript module in a process without tsx (npm test builds dist first)', async () => {
    const dist = new URL('../dist/index.js', import.meta.url).href;
    const script = `import { fromModule } from ${JSON.stringify(dist)};
      try { await fromModule(new URL(${JSON.stringify(url.href)}), 'numbers', { n: 1 }); console.log('loaded'); }
      catch (e) { console.log(e.name + ': ' + e.message + ' | ' + e.cause?.code); }`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      timeout: 30_000,
    });
    expect(stdout.trim()).toBe(
      `ConfigError: cannot import module ${url.href} for its export \`numbers\`: it is TypeScript and this thread has no TypeScript loader; run under tsx (node --import tsx, with tsx installed: npm install tsx) or use compiled .js modules | ERR_UNKNOWN_FILE_EXTENSION`,
    );
  });

  it('rebuilds any value that gives a recipe: a dataset kind of its own, a collate with dtypes', async () => {
    const dataset = new ConcatDataset([new RangeDataset(10, 6), new ArrayDataset(range(2))]);
    const collate = defaultCollate.with({ dtypes: { item: 'int32', index: 'uint8' } });
    const batches = (await epoch({ dataset, batchSize: 4, numWorkers: 2, collate })) as {
      item: Int32Array;
      index: Uint8Array;
    }[];
    expect(batches.map((b) => b.item)).toEqual([Int32Array.of(10, 11, 12, 13), Int32Array.of(14, 15, 0, 1)]);
    expect(batches[1]?.index).toEqual(Uint8Array.of(4, 5, 0, 1));
    const tooBig = new ConcatDataset([new RangeDataset(254, 4)]);
    const uint8 = defaultCollate.with({ dtypes: { item: 'uint8' } });
    const error = await epoch({ dataset: tooBig, batchSize: 4, numWorkers: 1, collate: uint8 }).catch(
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(WorkerError);
    expect((error as Error).cause).toMatchObject({
      message: '`defaultCollate`: items[2].item is 256, which uint8 cannot represent (`dtypes.item`)',
    });
  });

  it("sends an ArrayDataset's items as they are, and names what cannot be cloned", () => {
    const items = [{ x: 1 }, { x: 2 }];
    const encoded = encode(new ArrayDataset(items), 'dataset');
    expect(encoded).toMatchObject({ kind: 'module', name: 'arrayDataset' });
    const [arg] = (encoded as Extract<Encoded, { kind: 'module' }>).args;
    expect(arg?.kind === 'value' && arg.value).toBe(items);
    const bad = new ArrayDataset([{ x: 1 }, { x: 2, f: function f() {} }]);
    expect(() => new DataLoader({ dataset: bad, numWorkers: 1 })).toThrow(
      new ConfigError(
        '`dataset.items` cannot be sent to a worker: `dataset.items[1].f` is function f, which cannot be cloned',
      ),
    );
    const cyclic: { n: number; self?: unknown } = { n: 1 };
    cyclic.self = cyclic;
    expect(encode(new ArrayDataset([cyclic, new Map([[1, new Date(0)]])]), 'dataset')).toMatchObject({
      kind: 'module',
    });
    const promise = new ArrayDataset([new Map([['p', Promise.resolve(1)]])]);
    expect(() => new DataLoader({ dataset: promise, numWorkers: 1 })).toThrow(
      /^`dataset.items` cannot be sent to a worker: `dataset.items\[0\]<map entry 0: "p">` cannot be cloned: /,
    );
  });

  it('rejects options that cannot be sent', async () => {
    const dataset = await load('numbers', { n: 2, f: () => 0 } as { n: number });
    expect(() => new DataLoader({ dataset, numWorkers: 1 })).toThrow(
      '`dataset.options` cannot be sent to a worker:',
    );
  });
});
