import { FreeBuffers, isPooled } from '../collate/in-place.ts';
import { isPromiseLike } from '../core/checks.ts';
import { LoaderClosedError, WeftError } from '../core/errors.ts';
import { type FetchFailure, fetchBatch } from './fetch.ts';
import { type EngineInit, type EngineOptions, engineOptions } from './options.ts';
import { Pool } from './pool.ts';
import { type EngineBatch, type EngineResult, Run } from './run.ts';
import { type WorkerSetup, workerSetup } from './spawn.ts';
import { reclaim } from './transfer.ts';

export { ENGINE_FIELDS, type EngineInit, type EngineOptions, engineOptions } from './options.ts';
export type { EngineBatch, EngineResult } from './run.ts';

/** The threaded part of the engine, loaded by the first run with workers (see threads.ts). */
let threads: typeof import('./threads.ts') | undefined;

/** What the finalizer of a dropped iteration needs: filled once the iteration has started. */
interface Lease<Tag, B> {
  pool?: Pool;
  run?: Run<Tag, B>;
}

/**
 * The loading machinery behind every loader: turns batches of indices into collated batches, in-process
 * (`numWorkers` 0) or in a pool of worker threads, and knows nothing of samplers. See protocol.ts for how
 * workers start, fail and stop.
 *
 * @param init - the options, checked and completed by {@link engineOptions} (a ConfigError listing every
 *   problem), or options it returned already, taken as they are. With `numWorkers` > 0, dataset, collate
 *   and workerInit must be worker-loadable, else a ConfigError naming the path.
 * @example
 * ```ts
 * const engine = new LoaderEngine<string, unknown>({ dataset, collate: defaultCollate, numWorkers: 2 });
 * for await (const { tag, data } of engine.run([{ indices: Uint32Array.of(0, 1), epoch: 0, tag: 'a' }])) use(tag, data);
 * await engine.close();
 * ```
 */
export class LoaderEngine<Tag, B> {
  /** The options with their defaults. */
  readonly options: EngineOptions<B>;
  readonly #workers: WorkerSetup | undefined;
  /** Counts the calls of `close`, for a run that starts across one (see `#withWorkers`). */
  #closes = 0;
  /** Every live pool: the persistent one, and one per running run without persistent workers. */
  readonly #pools = new Set<Pool>();
  #persistent: Pool | undefined;
  readonly #runs = new Set<Run<Tag, B>>();
  /** In-process, the memory of batches the consumer has moved past, where the next ones are written. */
  readonly #free = new FreeBuffers();
  /**
   * With workers, the buffers of each batch the consumer has moved past, waiting to go back with a request:
   * one batch's worth per request, so that every worker gets its share (see protocol.ts, "Batch memory").
   */
  readonly #returned: ArrayBuffer[][] = [];
  /** Ends the run of an iteration dropped without `return()` (see protocol.ts, "Keeping the process alive"). */
  readonly #dropped = new FinalizationRegistry<Lease<Tag, B>>((lease) => {
    if (lease.pool !== undefined && lease.run !== undefined) void this.#finish(lease.pool, lease.run);
  });

  constructor(init: EngineInit<B>) {
    // Options a loader has resolved already (DataLoader's) come back as they are: they are checked once.
    this.options = engineOptions(init);
    this.#workers = this.options.numWorkers > 0 ? workerSetup(this.options) : undefined;
  }

  /**
   * Loads `batches` in order (or as ready, without `inOrder`), at most numWorkers × prefetchFactor at
   * a time. Ending the iteration early (break, `return()`) stops the workers unless they are persistent.
   *
   * @param batches - the batches to load; iterated lazily, as the window frees up
   * @example
   * ```ts
   * for await (const { tag, data } of engine.run(batches)) use(tag, data);
   * ```
   */
  run(batches: Iterable<EngineBatch<Tag>>): AsyncGenerator<EngineResult<Tag, B>, void, undefined> {
    const { dataset } = this.options;
    if (dataset.prefetch !== undefined) batches = lookAhead(batches, dataset.prefetch.bind(dataset));
    if (this.#workers === undefined) return this.#inProcess(batches);
    const lease: Lease<Tag, B> = {};
    const iteration = this.#withWorkers(batches, this.#workers, lease);
    this.#dropped.register(iteration, lease);
    return iteration;
  }

  /**
   * Terminates every worker; a later `run` starts new ones. Iterations still loading reject with a
   * {@link LoaderClosedError}.
   *
   * @example
   * ```ts
   * process.once('SIGINT', () => void engine.close());
   * ```
   */
  async close(): Promise<void> {
    this.#closes++;
    const pools = [...this.#pools];
    this.#pools.clear();
    this.#persistent = undefined;
    await Promise.all(
      pools.map((p) => p.terminate(new LoaderClosedError('the loader was closed while loading'))),
    );
  }

  /** The number of worker threads alive now (for tests and diagnostics). */
  get liveWorkers(): number {
    let n = 0;
    for (const pool of this.#pools) n += pool.live;
    return n;
  }

  /**
   * Batches submitted to workers and not yet yielded, over every running iteration: at most
   * numWorkers × prefetchFactor per iteration, however long it runs (for tests and diagnostics).
   */
  get bufferedBatches(): number {
    let n = 0;
    for (const run of this.#runs) n += run.size;
    return n;
  }

  async *#inProcess(
    batches: Iterable<EngineBatch<Tag>>,
  ): AsyncGenerator<EngineResult<Tag, B>, void, undefined> {
    const { dataset, collate, seed, signal, reuseBatches } = this.options;
    const free = reuseBatches ? this.#free : undefined;
    let held: B | undefined;
    let turn = performance.now();
    try {
      for (const { indices, epoch, tag } of batches) {
        signal?.throwIfAborted();
        let data: B | Promise<B>;
        try {
          data = fetchBatch(dataset, collate, indices, epoch, seed, free);
          if (isPromiseLike(data)) data = await data;
        } catch (e) {
          // In-process, the dataset's own error surfaces untouched, as in torch.
          throw (e as FetchFailure).cause;
        }
        // Batches of cached items resolve in microtasks only, which starve I/O and timers: the downloads that
        // `prefetch` started in the background, a cache's lock heartbeats. Let them in every few ms.
        if (performance.now() - turn > TURN_MS) {
          await new Promise((resolve) => setImmediate(resolve));
          turn = performance.now();
        }
        held = data;
        yield { tag, data };
        held = this.#reclaim(held);
      }
    } finally {
      this.#reclaim(held);
    }
  }

  /**
   * The consumer has moved past `batch`: a batch written in place gives its memory back (see protocol.ts,
   * "Batch memory"). Returns `undefined`, what the caller then holds.
   */
  #reclaim(batch: B | undefined): undefined {
    if (!isPooled(batch)) return undefined;
    const buffers = reclaim(batch);
    if (this.#workers === undefined) this.#free.give(buffers);
    // At most a window of batches is in flight, so more than that many would never be used.
    else if (this.#returned.length < this.options.numWorkers * this.options.prefetchFactor) {
      this.#returned.push(buffers);
    }
    return undefined;
  }

  async *#withWorkers(
    batches: Iterable<EngineBatch<Tag>>,
    setup: WorkerSetup,
    lease: Lease<Tag, B>,
  ): AsyncGenerator<EngineResult<Tag, B>, void, undefined> {
    const { signal, persistentWorkers, numWorkers, prefetchFactor, inOrder, timeout } = this.options;
    if (threads === undefined) {
      // Only the very first run waits for the module; closing meanwhile fails it as if it were loading.
      const closes = this.#closes;
      threads = await import('./threads.ts');
      if (this.#closes !== closes) throw new LoaderClosedError('the loader was closed while loading');
    }
    signal?.throwIfAborted();
    let pool = this.#persistent;
    if (pool === undefined) {
      pool = new Pool(threads.spawner(setup), numWorkers, this.options.maxWorkerRestarts);
      this.#pools.add(pool);
      if (persistentWorkers) this.#persistent = pool;
    }
    const window = numWorkers * prefetchFactor;
    const run = new Run<Tag, B>(pool, { inOrder, timeout, window });
    this.#runs.add(run);
    lease.pool = pool;
    lease.run = run;
    const onAbort = (): void => run.fail(signal?.reason);
    signal?.addEventListener('abort', onAbort);
    const source = batches[Symbol.iterator]();
    const reuse = this.options.reuseBatches;
    let held: B | undefined;
    try {
      let exhausted = false;
      for (;;) {
        while (!exhausted && run.size < window) {
          const step = source.next();
          if (step.done) exhausted = true;
          else run.submit(step.value, reuse ? this.#returned.shift() : undefined);
        }
        if (run.size === 0) return;
        const result = await run.take();
        held = result.data;
        yield result;
        held = this.#reclaim(held);
      }
    } finally {
      this.#reclaim(held);
      source.return?.();
      signal?.removeEventListener('abort', onAbort);
      lease.run = undefined;
      await this.#finish(pool, run);
    }
  }

  /** Ends `run` and decides its pool's fate (see protocol.ts, "Shutdown"). */
  async #finish(pool: Pool, run: Run<Tag, B>): Promise<void> {
    run.close();
    this.#runs.delete(run);
    if (pool === this.#persistent && pool.usable) {
      if (run.wedged !== undefined) pool.replace(run.wedged);
      return;
    }
    this.#pools.delete(pool);
    if (this.#persistent === pool) this.#persistent = undefined;
    await pool.terminate(run.failure ?? new WeftError('the run ended'));
  }
}

/**
 * Batches read from the sampler this many ahead of the one being loaded (or submitted to workers), so that a
 * dataset with `prefetch` learns of them early: far enough for a remote block to arrive, short enough to stay
 * well within a cache's budget (the dataset bounds its downloads by its budget too).
 */
export const LOOKAHEAD_BATCHES = 16;

/** The longest (ms) an in-process loop runs batches without a turn of the event loop. */
const TURN_MS = 4;

/**
 * How far the loader reads ahead at most while a dataset's `prefetch` asks for more (returns `true`): a
 * shard or row group can hold hundreds of batches, and the block after it must be known before the reads
 * reach it. What it costs is the coming batches' indices.
 */
export const MAX_LOOKAHEAD_BATCHES = 1024;

/**
 * `batches` as they were, read {@link LOOKAHEAD_BATCHES} ahead, or further while `prefetch` answers `true`
 * (a distance then kept, up to {@link MAX_LOOKAHEAD_BATCHES}): each batch's indices go to `prefetch` when it
 * is read from `batches`, before it is yielded. Loaders track their state from the batches yielded back
 * to them, never from how far the sampler was read, so reading ahead changes no resume state.
 *
 * @param batches - the batches, in order
 * @param prefetch - the dataset's `prefetch`
 * @returns the same batches, in the same order
 * @example
 * ```ts
 * for (const batch of lookAhead(batches, (indices) => dataset.prefetch?.(indices))) submit(batch);
 * ```
 */
export function lookAhead<T extends { readonly indices: Uint32Array }>(
  batches: Iterable<T>,
  // biome-ignore lint/suspicious/noConfusingVoidType: a dataset's prefetch may answer nothing (see Dataset)
  prefetch: (indices: Uint32Array) => void | boolean,
): Iterable<T> {
  return {
    *[Symbol.iterator]() {
      const source = batches[Symbol.iterator]();
      const queue: T[] = [];
      let done = false;
      // A sampler's error read ahead waits its turn: the batches before it are loaded first, as without.
      let failure: { error: unknown } | undefined;
      // Beyond LOOKAHEAD_BATCHES: further while `prefetch` asks for more, and one batch for each yielded, so
      // that the distance reached is kept when the dataset has no room now (it may have later).
      let more = false;
      let keep = false;
      try {
        for (;;) {
          while (
            !done &&
            (queue.length <= LOOKAHEAD_BATCHES || ((more || keep) && queue.length < MAX_LOOKAHEAD_BATCHES))
          ) {
            keep = false;
            let step: IteratorResult<T>;
            try {
              step = source.next();
            } catch (error) {
              failure = { error };
              done = true;
              break;
            }
            if (step.done) done = true;
            else {
              queue.push(step.value);
              more = prefetch(step.value.indices) === true;
            }
          }
          const next = queue.shift();
          if (next === undefined) {
            if (failure !== undefined) throw failure.error;
            return;
          }
          keep = true;
          yield next;
        }
      } finally {
        source.return?.();
      }
    },
  };
}
