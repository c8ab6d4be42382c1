import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { defaultCollate } from '../src/collate/collate.ts';
import type { BatchOf } from '../src/collate/collated.ts';
import type { Dataset } from '../src/core/dataset.ts';
import * as errors from '../src/core/errors.ts';
import {
  CollateError,
  ConfigError,
  FileError,
  IndexError,
  LoaderTimeoutError,
  WeftError,
  WorkerCrashError,
  WorkerError,
} from '../src/core/errors.ts';
import { type FactoryOptions, fromModule, withRecipe } from '../src/core/recipe.ts';
import { ArrayDataset, ConcatDataset } from '../src/datasets/basic.ts';
import { DataLoader } from '../src/engine/data-loader.ts';
import { LoaderEngine } from '../src/engine/engine.ts';
import { JsonlDataset } from '../src/files/jsonl.ts';
import { InterleavedSampler } from '../src/interleaved/sampler.ts';
import { SequentialSampler } from '../src/samplers/sequential-sampler.ts';
import { url } from './fixtures/loader-datasets.ts';

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
// Typed by the fixture module's exports: the export name, the factory's options and what it makes.
type Fixtures = typeof import('./fixtures/loader-datasets.ts');
const load = <K extends keyof Fixtures & string>(name: K, options?: FactoryOptions<Fixtures[K]>) =>
  fromModule<Fixtures[K]>(url, name, options);
const marker = (): string => join(mkdtempSync(join(tmpdir(), 'weft-')), 'crashed');

async function epoch<D extends Dataset<unknown>, B = BatchOf<D>>(
  options: ConstructorParameters<typeof DataLoader<D, B>>[0],
): Promise<unknown[]> {
  await using loader = new DataLoader<D, B>(options);
  const out: unknown[] = [];
  for await (const batch of loader) out.push(Array.from(batch as Float64Array));
  return out;
}

// Node 20 has Atomics.waitAsync; the project's TypeScript lib (ES2022) does not declare it.
const { waitAsync } = Atomics as unknown as {
  waitAsync: (a: Int32Array, index: number, value: number) => { async: boolean; value: unknown };
};

/** The rejection of `promise`, which must reject. */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

describe('worker faults', () => {
  it('reports a dataset error with its dataset, index and worker, the original as cause', async () => {
    const failing = await load('failing', { n: 4, failAt: 2 });
    const dataset = new ConcatDataset([new ArrayDataset(range(5)), failing]);
    const error = await rejection(epoch({ dataset, batchSize: 2, numWorkers: 2 }));
    expect(error).toBeInstanceOf(WorkerError);
    expect(error.message).toMatch(
      /^worker [01] failed to load index 7 of dataset 1 \(batch 3\): TypeError: cannot decode item 2$/,
    );
    expect(error).toMatchObject({ index: 7, dataset: 1, batch: 3 });
    const cause = error.cause as Error;
    expect(cause).toMatchObject({ name: 'TypeError', message: 'cannot decode item 2' });
    expect(cause.stack).toContain('loader-datasets.ts');
  });

  it('yields the batches before a failure, then rejects, in stream order', async () => {
    const dataset = await load('failing', { n: 12, failAt: 9 });
    const seen: number[][] = [];
    const error = await rejection(
      (async () => {
        await using loader = new DataLoader({ dataset, batchSize: 2, numWorkers: 2, inOrder: true });
        for await (const b of loader) seen.push(Array.from(b as Float64Array));
      })(),
    );
    expect(seen).toEqual([
      [0, 1],
      [2, 3],
      [4, 5],
      [6, 7],
    ]);
    expect(error.message).toMatch(/failed to load index 9 \(batch 4\)/);
  });

  it('reports a collate error', async () => {
    const collate = await load('badCollate');
    const error = await rejection(
      epoch({ dataset: new ArrayDataset(range(4)), batchSize: 2, collate, numWorkers: 1 }),
    );
    expect(error).toBeInstanceOf(WorkerError);
    expect(error.message).toBe('worker 0 failed to collate batch 0: Error: shapes differ');
    expect((error.cause as Error).message).toBe('shapes differ');
  });

  it.each(['exit', 'throw'] as const)(
    'replaces a worker that dies (%s) and reloads its batches',
    async (how) => {
      const dataset = await load('crashing', { n: 12, crashAt: 5, how, marker: marker() });
      expect(await epoch({ dataset, batchSize: 2, numWorkers: 2 })).toEqual([
        [0, 1],
        [2, 3],
        [4, 5],
        [6, 7],
        [8, 9],
        [10, 11],
      ]);
    },
  );

  it('gives up on a worker that keeps dying', async () => {
    const dataset = await load('crashing', { n: 8, crashAt: 3, how: 'exit' });
    const error = await rejection(
      epoch({ dataset, batchSize: 2, numWorkers: 2, prefetchFactor: 1, maxWorkerRestarts: 2 }),
    );
    expect(error).toBeInstanceOf(WorkerCrashError);
    expect(error.message).toMatch(
      /^worker [01] exited with code 3 while loading batch 1; gave up after 2 restarts counted over the pool's 2 workers \(maxWorkerRestarts\)$/,
    );
  });

  it('names an uncaught exception that kills a worker', async () => {
    const dataset = await load('crashing', { n: 4, crashAt: 0, how: 'throw' });
    const error = await rejection(
      epoch({ dataset, batchSize: 2, numWorkers: 1, prefetchFactor: 1, maxWorkerRestarts: 0 }),
    );
    expect(error.message).toBe(
      "worker 0 crashed (RangeError: uncaught in worker) while loading batch 0; gave up after 0 restarts counted over the pool's 1 worker (maxWorkerRestarts)",
    );
    expect((error.cause as Error).message).toBe('uncaught in worker');
  });

  it('times out on a late batch, naming it', async () => {
    const dataset = await load('blocking', { n: 8, blockAt: 5 });
    const error = await rejection(epoch({ dataset, batchSize: 2, numWorkers: 2, timeout: 200 }));
    expect(error).toBeInstanceOf(LoaderTimeoutError);
    expect(error.message).toMatch(/^batch 2 did not arrive within 200 ms \(worker [01]\)$/);
    expect((error as LoaderTimeoutError).batch).toBe(2);
  });

  it('reports a worker that fails at start-up once, without restarting it', async () => {
    const dataset = await load('failsInWorker', { n: 4 });
    const error = await rejection(epoch({ dataset, numWorkers: 2 }));
    expect(error).toBeInstanceOf(WorkerError);
    expect(error.message).toMatch(/^worker [01] failed to start: Error: no such file: \/data\/train.bin$/);
  });

  it('reports a failing workerInit and a missing module at start-up', async () => {
    const workerInit = await load('badInit');
    const dataset = new ArrayDataset(range(4));
    expect((await rejection(epoch({ dataset, numWorkers: 1, workerInit }))).message).toBe(
      'worker 0 failed to start: Error: init failed in worker 0',
    );
    const gone = withRecipe(
      { length: 4, get: (i: number) => i },
      { url: new URL('./gone.ts', url).href, name: 'x', args: [] },
    );
    const error = await rejection(epoch({ dataset: gone, numWorkers: 1 }));
    expect(error.message).toBe(
      `worker 0 failed to start: ConfigError: cannot import module ${new URL('./gone.ts', url).href} for its export \`x\`: the module does not exist`,
    );
  });

  it('terminates the workers on abort and rejects with the reason', async () => {
    const controller = new AbortController();
    const dataset = await load('blocking', { n: 8, blockAt: 5 });
    const engine = new LoaderEngine<number, unknown>({
      dataset,
      collate: defaultCollate,
      numWorkers: 2,
      signal: controller.signal,
    });
    const batches = range(4).map((k) => ({ indices: Uint32Array.of(k * 2, k * 2 + 1), epoch: 0, tag: k }));
    const reason = new Error('stop');
    const it = engine.run(batches);
    expect((await it.next()).value?.tag).toBe(0);
    expect((await it.next()).value?.tag).toBe(1);
    const waiting = it.next(); // batch 2 holds index 5, which never arrives
    controller.abort(reason);
    expect(await rejection(waiting)).toBe(reason);
    expect(engine.liveWorkers).toBe(0);
    await expect(rejection(epoch({ dataset, numWorkers: 1, signal: controller.signal }))).resolves.toBe(
      reason,
    );
  });

  it('terminates the workers when the iteration is returned early', async () => {
    const engine = new LoaderEngine<number, unknown>({
      dataset: new ArrayDataset(range(8)),
      collate: defaultCollate,
      numWorkers: 2,
      persistentWorkers: false,
    });
    const it = engine.run(range(4).map((k) => ({ indices: Uint32Array.of(k), epoch: 0, tag: k })));
    expect((await it.next()).value?.tag).toBe(0);
    await it.return();
    expect(engine.liveWorkers).toBe(0);
  });
  it('keeps a persistent pool after a dataset error: other runs and later epochs use the same workers', async () => {
    const dataset = await load('threadsFailing', { n: 8, failAt: 5, failEpoch: 0 });
    await using loader = new DataLoader({ dataset, batchSize: 2, numWorkers: 2, persistentWorkers: true });
    const threads = new Set<number>();
    const note = (batch: unknown): void => {
      for (const t of batch as Float64Array) threads.add(t);
    };
    const failing = loader[Symbol.asyncIterator](); // epoch 0: index 5 (batch 2) throws
    const other = loader[Symbol.asyncIterator](); // epoch 1, on the same pool at the same time
    note((await failing.next()).value);
    note((await other.next()).value);
    const error = await rejection(
      (async () => {
        for (let step = await failing.next(); !step.done; step = await failing.next()) note(step.value);
      })(),
    );
    expect(error.message).toMatch(
      /^worker [01] failed to load index 5 \(batch 2\): TypeError: cannot decode item 5$/,
    );
    let rest = 0;
    for (let step = await other.next(); !step.done; step = await other.next()) {
      note(step.value);
      rest++;
    }
    expect(rest).toBe(3);
    for await (const batch of loader) note(batch);
    expect(threads.size).toBe(2);
  });

  it('replaces only the wedged worker of a persistent pool after a timeout', async () => {
    const gate = new SharedArrayBuffer(4);
    const dataset = await load('threadsGated', { n: 4, gateAt: 1, gate });
    await using loader = new DataLoader({
      dataset,
      numWorkers: 2,
      prefetchFactor: 1,
      persistentWorkers: true,
      timeout: 300,
    });
    const it = loader[Symbol.asyncIterator]();
    const kept = ((await it.next()).value as Float64Array)[0] as number;
    const error = await rejection(it.next()); // batch 1 blocks worker 1
    expect(error.message).toBe('batch 1 did not arrive within 300 ms (worker 1)');
    Atomics.store(new Int32Array(gate), 0, 1);
    Atomics.notify(new Int32Array(gate), 0);
    const threads = new Set<number>();
    for await (const batch of loader) threads.add((batch as Float64Array)[0] as number);
    expect(threads.has(kept)).toBe(true);
    expect(threads.size).toBe(2);
  });

  it('does not run the timeout clock while a crashed worker’s replacement starts', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const gate = new SharedArrayBuffer(8);
      const flags = new Int32Array(gate);
      const dataset = await load('crashThenSlowStart', {
        n: 4,
        crashAt: 2,
        marker: marker(),
        gate,
      });
      await using loader = new DataLoader({
        dataset,
        batchSize: 2,
        numWorkers: 1,
        prefetchFactor: 1,
        timeout: 1000,
      });
      const it = loader[Symbol.asyncIterator]();
      expect(Array.from((await it.next()).value as Float64Array)).toEqual([0, 1]);
      const waiting = it.next(); // batch 1 crashes the worker; its replacement waits in its factory
      const starting = waitAsync(flags, 1, 0);
      if (starting.async) await starting.value;
      vi.advanceTimersByTime(10_000); // far beyond the timeout, all of it during the replacement's start-up
      Atomics.store(flags, 0, 1);
      Atomics.notify(flags, 0);
      expect(Array.from((await waiting).value as Float64Array)).toEqual([2, 3]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('rejects a dataset whose length differs in the workers, naming it and both lengths', async () => {
    const changed = await load('workerLength', { n: 4, inWorker: 5 });
    const dataset = new ConcatDataset([new ArrayDataset(range(3)), changed]);
    const error = await rejection(epoch({ dataset, batchSize: 2, numWorkers: 1 }));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe(
      '`dataset.datasets[1]` has length 5 in worker 0 but 4 in the calling thread; a dataset must have the same length in every thread',
    );
    const sampler = new InterleavedSampler({
      trainSampler: new SequentialSampler(new ArrayDataset(range(6))),
      config: { batchSize: 2, maxEpochs: 1 },
      callbackSamplers: [{ sampler: new SequentialSampler(changed), everyNEpochs: 1, name: 'test' }],
    });
    const interleaved = sampler.getDataLoader({ numWorkers: 1 });
    try {
      const e = await rejection(
        (async () => {
          for await (const _ of interleaved);
        })(),
      );
      expect(e).toBeInstanceOf(ConfigError);
      expect(e.message).toBe(
        '`dataset.datasets[1]` has length 5 in worker 0 but 4 in the calling thread; a dataset must have the same length in every thread',
      );
    } finally {
      await interleaved.close();
    }
  });
});

describe('the cause of a WorkerError', () => {
  it('is rebuilt as its own class with its fields: a FileError keeps `file`, `line`, `row` and its cause', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-causes-'));
    const file = join(dir, 'rows.jsonl');
    writeFileSync(file, '{"a":1}\n{"a":2}\n{"a":\n');
    const dataset = await JsonlDataset.open(file);
    const error = await rejection(epoch({ dataset, batchSize: 3, numWorkers: 1 }));
    expect(error).toBeInstanceOf(WorkerError);
    const cause = error.cause as FileError;
    expect(cause).toBeInstanceOf(FileError);
    expect(cause).toBeInstanceOf(WeftError);
    expect(cause).toMatchObject({ name: 'FileError', file, line: 3, row: 2, offset: undefined });
    expect(cause.message).toMatch(new RegExp(`^${file.replaceAll('.', '\\.')}, line 3: malformed JSON: `));
    expect(cause.cause).toBeInstanceOf(Error);
    expect((cause.cause as Error).name).toBe('SyntaxError');
    expect(cause.stack).toContain('jsonl');
  });

  it.each([
    ['config', ConfigError, { message: 'invalid shard options: a; b', issues: ['a', 'b'] }],
    ['index', IndexError, { message: 'index 5 is out of range for a dataset of length 3' }],
    ['collate', CollateError, { message: 'items[1] is string, items[0] is number' }],
  ] as const)('is a %s error of its class, fields included', async (kind, Class, fields) => {
    const dataset = await load('throwsKind', { n: 8, failAt: 5, kind });
    const error = await rejection(epoch({ dataset, batchSize: 4, numWorkers: 1 }));
    expect(error.cause).toBeInstanceOf(Class);
    expect(error.cause).toMatchObject({ name: Class.name, ...fields });
  });

  it("keeps a user's own error's name, message, stack, fields and cause", async () => {
    const dataset = await load('throwsKind', { n: 8, failAt: 5, kind: 'quota' });
    const error = await rejection(epoch({ dataset, batchSize: 4, numWorkers: 1 }));
    expect(error.message).toBe('worker 0 failed to load index 5 (batch 1): QuotaError: over quota');
    const cause = error.cause as Error & { code: string };
    expect(cause).toBeInstanceOf(Error);
    expect(cause).toMatchObject({ name: 'QuotaError', message: 'over quota', code: 'E_QUOTA' });
    expect(cause.cause).toEqual({ bytes: 42 });
    expect(cause.stack).toContain('loader-datasets.ts');
  });

  it('knows every error class of weft by name', () => {
    const classes = Object.values(errors as Record<string, unknown>).filter(
      (v): v is new (...args: never[]) => Error => typeof v === 'function' && v.prototype instanceof Error,
    );
    expect(classes.length).toBeGreaterThan(8);
    for (const Class of classes) expect(errors.WEFT_ERRORS[Class.name]).toBe(Class);
  });
});

describe('an undefined item', () => {
  const holeAt = 13;
  const message = `dataset.get(${holeAt}) returned undefined, which cannot be collated`;

  it('is named by its dataset index, loading in-process', async () => {
    const dataset = { length: 20, get: (i: number) => (i === holeAt ? undefined : i) };
    const error = await rejection(epoch({ dataset, batchSize: 4, shuffle: true, seed: 3 }));
    expect(error).toBeInstanceOf(CollateError);
    expect(error.message).toMatch(
      new RegExp(`^${message.replace(/[().]/g, '\\$&')} \\(items\\[[0-3]\\] of the batch\\)$`),
    );
    // The collate's own error, which can only say where in the batch.
    expect(error.cause).toBeInstanceOf(CollateError);
    expect((error.cause as Error).message).toContain('undefined');
  });

  it('is named by its dataset index, loading in workers', async () => {
    const dataset = await load('holey', { n: 20, holeAt });
    const error = await rejection(epoch({ dataset, batchSize: 4, shuffle: true, seed: 3, numWorkers: 2 }));
    expect(error).toBeInstanceOf(WorkerError);
    expect(error).toMatchObject({ index: holeAt });
    expect(error.message).toMatch(
      new RegExp(
        `^worker [01] failed to load index ${holeAt} \\(batch \\d\\): CollateError: ${message.replace(/[().]/g, '\\$&')} \\(items\\[[0-3]\\] of the batch\\)$`,
      ),
    );
    expect(error.cause).toBeInstanceOf(CollateError);
  });
});
