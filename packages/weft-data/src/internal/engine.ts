import { extname } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Collate } from '../collate.ts';
import type { Dataset } from '../dataset.ts';
import { ConfigError, LoaderTimeoutError, WeftError, WorkerCrashError, WorkerError } from '../errors.ts';
import { Random } from '../random.ts';
import type { WorkerInfo } from '../worker-info.ts';
import { describe, isPromiseLike } from './checks.ts';
import { type FetchFailure, fetchBatch } from './fetch.ts';
import { deserializeError, type FetchRequest, type WorkerInit, type WorkerMessage } from './protocol.ts';
import { encode, isTypeScript, moduleUrls } from './worker-ref.ts';

/** What a loader hands the engine: a batch of indices, its epoch and a tag the engine passes through. */
export interface EngineBatch<Tag> {
  readonly indices: Uint32Array;
  readonly epoch: number;
  readonly tag: Tag;
}

/** A loaded batch with the tag of its indices. */
export interface EngineResult<Tag, B> {
  readonly tag: Tag;
  readonly data: B;
}

/** The loading options shared by every loader; see {@link engineOptions} for defaults and checks. */
export interface EngineOptions<B> {
  readonly dataset: Dataset<unknown>;
  readonly collate: Collate<unknown, B>;
  readonly numWorkers: number;
  readonly prefetchFactor: number;
  readonly persistentWorkers: boolean;
  /** Milliseconds to wait for a batch once its worker has started; 0 waits forever. */
  readonly timeout: number;
  /** Called in each worker at start; must come from `fromModule`. */
  readonly workerInit: ((info: WorkerInfo) => unknown) | undefined;
  readonly seed: number;
  readonly inOrder: boolean;
  readonly signal: AbortSignal | undefined;
  /** Worker crashes tolerated per run before giving up. */
  readonly maxWorkerRestarts: number;
}

/** {@link EngineOptions} as loaders give them: everything but the dataset and collate is optional. */
export type EngineInit<B> = Pick<EngineOptions<B>, 'dataset' | 'collate'> &
  Partial<Omit<EngineOptions<B>, 'dataset' | 'collate'>>;

/** Names of the {@link EngineInit} fields, for loaders that reject unknown options. */
export const ENGINE_FIELDS = [
  'dataset',
  'collate',
  'numWorkers',
  'prefetchFactor',
  'persistentWorkers',
  'timeout',
  'workerInit',
  'seed',
  'inOrder',
  'signal',
  'maxWorkerRestarts',
] as const;

/**
 * Applies the defaults to `init` and appends one message per invalid field to `issues`, torch's rules:
 * `prefetchFactor`, `persistentWorkers`, `timeout` and `workerInit` only mean something with workers.
 */
export function engineOptions<B>(init: EngineInit<B>, issues: string[]): EngineOptions<B> {
  const { dataset, collate, numWorkers = 0, persistentWorkers = false, timeout = 0 } = init;
  const { workerInit, seed = 0, inOrder = true, signal, maxWorkerRestarts = 3 } = init;
  const prefetchFactor = init.prefetchFactor ?? 2;
  if (typeof dataset !== 'object' || dataset === null || typeof dataset.get !== 'function') {
    issues.push(`\`dataset\` must be a dataset (with \`length\` and \`get\`), got ${describe(dataset)}`);
  } else if (!Number.isSafeInteger(dataset.length) || dataset.length < 0) {
    issues.push(`\`dataset.length\` must be a non-negative integer, got ${describe(dataset.length)}`);
  }
  if (typeof collate !== 'function') issues.push(`\`collate\` must be a function, got ${describe(collate)}`);
  const count = (name: string, value: number, min: number): void => {
    if (!Number.isSafeInteger(value) || value < min) {
      issues.push(
        `\`${name}\` must be a ${min > 0 ? 'positive' : 'non-negative'} integer, got ${describe(value)}`,
      );
    }
  };
  count('numWorkers', numWorkers, 0);
  count('prefetchFactor', prefetchFactor, 1);
  count('seed', seed, 0);
  count('maxWorkerRestarts', maxWorkerRestarts, 0);
  if (typeof timeout !== 'number' || !(timeout >= 0) || timeout === Number.POSITIVE_INFINITY) {
    issues.push(`\`timeout\` must be a non-negative number of milliseconds, got ${describe(timeout)}`);
  }
  for (const [name, value] of [
    ['persistentWorkers', persistentWorkers],
    ['inOrder', inOrder],
  ] as const) {
    if (typeof value !== 'boolean') issues.push(`\`${name}\` must be a boolean, got ${describe(value)}`);
  }
  if (workerInit !== undefined && typeof workerInit !== 'function') {
    issues.push(`\`workerInit\` must be a function from fromModule, got ${describe(workerInit)}`);
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    issues.push(`\`signal\` must be an AbortSignal, got ${describe(signal)}`);
  }
  if (numWorkers === 0) {
    const onlyWithWorkers = {
      prefetchFactor: init.prefetchFactor !== undefined,
      persistentWorkers: persistentWorkers === true,
      timeout: timeout !== 0,
      workerInit: workerInit !== undefined,
    };
    for (const [name, set] of Object.entries(onlyWithWorkers)) {
      if (set) issues.push(`\`${name}\` needs \`numWorkers\` > 0 (loading in-process), got numWorkers=0`);
    }
  }
  return {
    dataset,
    collate,
    numWorkers,
    prefetchFactor,
    persistentWorkers,
    timeout,
    workerInit,
    seed,
    inOrder,
    signal,
    maxWorkerRestarts,
  };
}

/** Starts worker `id` with everything it needs to rebuild the dataset and collate. */
interface Spawner {
  readonly start: (id: number) => Worker;
}

/**
 * The loading machinery behind every loader: turns batches of indices into collated batches, in-process
 * (`numWorkers` 0) or in a pool of worker threads, and knows nothing of samplers. See protocol.ts for how
 * workers start, fail and stop.
 *
 * @param init - the options; defaults and checks as in {@link engineOptions} ({@link ConfigError} listing
 *   every problem). With `numWorkers` > 0, dataset, collate and workerInit must be worker-loadable, else a
 *   ConfigError naming the path.
 * @example
 * ```ts
 * const engine = new LoaderEngine<string, unknown>({ dataset, collate: defaultCollate, numWorkers: 2 });
 * for await (const { tag, data } of engine.run([{ indices: Uint32Array.of(0, 1), epoch: 0, tag: 'a' }])) use(tag, data);
 * await engine.close();
 * ```
 */
export class LoaderEngine<Tag, B> {
  readonly options: EngineOptions<B>;
  readonly #spawner: Spawner | undefined;
  /** Every live pool: the persistent one, and one per running run without persistent workers. */
  readonly #pools = new Set<Pool>();
  #persistent: Pool | undefined;

  constructor(init: EngineInit<B>) {
    const issues: string[] = [];
    const options = engineOptions(init, issues);
    if (issues.length > 0) throw new ConfigError(`invalid loader options: ${issues.join('; ')}`, issues);
    this.options = options;
    this.#spawner = options.numWorkers > 0 ? spawner(options) : undefined;
  }

  /**
   * Loads `batches` in order (or as ready, without `inOrder`), at most numWorkers × prefetchFactor at
   * a time. Ending the iteration early (break, `return()`) stops the workers unless they are persistent.
   */
  run(batches: Iterable<EngineBatch<Tag>>): AsyncGenerator<EngineResult<Tag, B>, void, undefined> {
    return this.#spawner === undefined ? this.#inProcess(batches) : this.#withWorkers(batches, this.#spawner);
  }

  /** Terminates every worker; a later `run` starts new ones. In-flight runs reject. */
  async close(): Promise<void> {
    const pools = [...this.#pools];
    this.#pools.clear();
    this.#persistent = undefined;
    await Promise.all(pools.map((p) => p.terminate(new WeftError('the loader was closed while loading'))));
  }

  /** The number of worker threads alive now (for tests and diagnostics). */
  get liveWorkers(): number {
    let n = 0;
    for (const pool of this.#pools) n += pool.live;
    return n;
  }

  async *#inProcess(
    batches: Iterable<EngineBatch<Tag>>,
  ): AsyncGenerator<EngineResult<Tag, B>, void, undefined> {
    const { dataset, collate, seed, signal } = this.options;
    for (const { indices, epoch, tag } of batches) {
      signal?.throwIfAborted();
      let data: B | Promise<B>;
      try {
        data = fetchBatch(dataset, collate, indices, epoch, seed);
        if (isPromiseLike(data)) data = await data;
      } catch (e) {
        // In-process, the dataset's own error surfaces untouched, as in torch.
        throw (e as FetchFailure).cause;
      }
      yield { tag, data };
    }
  }

  async *#withWorkers(
    batches: Iterable<EngineBatch<Tag>>,
    spawner: Spawner,
  ): AsyncGenerator<EngineResult<Tag, B>, void, undefined> {
    const { signal, persistentWorkers, numWorkers, prefetchFactor, inOrder, timeout } = this.options;
    signal?.throwIfAborted();
    let pool = this.#persistent;
    if (pool === undefined) {
      pool = new Pool(spawner, numWorkers, this.options.maxWorkerRestarts);
      this.#pools.add(pool);
      if (persistentWorkers) this.#persistent = pool;
    }
    const run = new Run(timeout);
    const onAbort = (): void => run.fail(signal?.reason);
    signal?.addEventListener('abort', onAbort);
    pool.open(run);
    const tags = new Map<number, Tag>();
    const source = batches[Symbol.iterator]();
    let issued = 0;
    let exhausted = false;
    let failed = false;
    try {
      for (let next = 0; ; next++) {
        while (!exhausted && issued - next < numWorkers * prefetchFactor) {
          const step = source.next();
          if (step.done) exhausted = true;
          else {
            tags.set(issued, step.value.tag);
            pool.submit(run, issued++, step.value.indices, step.value.epoch);
          }
        }
        if (next === issued) break;
        const [seq, data] = await run.take(inOrder ? next : undefined);
        const tag = tags.get(seq) as Tag;
        tags.delete(seq);
        yield { tag, data: data as B };
      }
    } catch (e) {
      failed = true;
      throw e;
    } finally {
      source.return?.();
      signal?.removeEventListener('abort', onAbort);
      pool.release(run);
      // A failed run leaves work queued in its workers that nobody will read: never reuse them.
      if (failed || !persistentWorkers) {
        this.#pools.delete(pool);
        if (this.#persistent === pool) this.#persistent = undefined;
        await pool.terminate(run.failure ?? new WeftError('the run ended'));
      }
    }
  }
}

/** Checks that everything can be rebuilt in a worker and prepares how to start one. */
function spawner(options: EngineOptions<unknown>): Spawner {
  const dataset = encode(options.dataset, 'dataset');
  const collate = encode(options.collate, 'collate');
  const workerInit = options.workerInit === undefined ? undefined : encode(options.workerInit, 'workerInit');
  const entry = new URL(`./worker${extname(new URL(import.meta.url).pathname)}`, import.meta.url).href;
  const urls = [entry, ...[dataset, collate, workerInit].flatMap((e) => (e ? moduleUrls(e) : []))];
  const ts = urls.find(isTypeScript);
  let code: string | undefined;
  if (ts !== undefined) {
    // Node does not load .ts in a worker, even under tsx: the worker does not inherit the loader.
    let api: string;
    try {
      api = import.meta.resolve('tsx/esm/api');
    } catch (e) {
      throw new ConfigError(
        `workers need tsx to load the TypeScript module ${ts}, but tsx is not installed; install it (npm install tsx) or use compiled .js modules`,
        undefined,
        { cause: e },
      );
    }
    code = `import(${JSON.stringify(api)}).then((m) => m.register()).then(() => import(${JSON.stringify(entry)}));`;
  }
  const { numWorkers, seed } = options;
  return {
    start: (id) => {
      const workerData: WorkerInit = {
        id,
        numWorkers,
        workerSeed: new Random(seed, WORKER_SEED_STREAM, id).nextUint32(),
        seed,
        dataset,
        collate,
        workerInit,
      };
      return code === undefined
        ? new Worker(new URL(entry), { workerData })
        : new Worker(code, { eval: true, workerData });
    },
  };
}

/** Stream of {@link Random} that per-worker seeds are drawn from, apart from the per-sample streams. */
const WORKER_SEED_STREAM = 0x5eed;

type Outcome = Extract<WorkerMessage, { type: 'batch' | 'error' }>;

/** One iteration's share of a pool: its answers by sequence number, and how it ended if it failed. */
class Run {
  readonly pending = new Map<number, Task>();
  readonly #answers = new Map<number, Outcome>();
  readonly #arrivals: number[] = [];
  readonly #timeout: number;
  #wake: (() => void) | undefined;
  failure: unknown;
  #failed = false;

  constructor(timeout: number) {
    this.#timeout = timeout;
  }

  deliver(seq: number, outcome: Outcome): void {
    this.pending.delete(seq);
    this.#answers.set(seq, outcome);
    this.#arrivals.push(seq);
    this.#wake?.();
  }

  /** Ends the run with `error` at the next (or current) wait; the first failure wins. */
  fail(error: unknown): void {
    if (this.#failed) return;
    this.#failed = true;
    this.failure = error;
    this.#wake?.();
  }

  /** The data of batch `seq`, or of the first batch to arrive when `seq` is undefined. */
  async take(seq: number | undefined): Promise<[number, unknown]> {
    let timer: NodeJS.Timeout | undefined;
    try {
      for (;;) {
        if (this.#failed) throw this.failure;
        const ready = seq ?? this.#arrivals[0];
        const answer = ready === undefined ? undefined : this.#answers.get(ready);
        if (ready !== undefined && answer !== undefined) {
          this.#answers.delete(ready);
          if (seq === undefined) this.#arrivals.shift();
          if (answer.type === 'error') throw workerError(answer, ready);
          return [ready, answer.data];
        }
        // The clock starts once the batch's worker is running: start-up (imports, factories) is not late.
        if (this.#timeout > 0 && timer === undefined && this.#awaited(seq)?.slot.ready !== false) {
          timer = setTimeout(() => this.fail(this.#late(seq)), this.#timeout);
        }
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
        this.#wake = undefined;
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Wakes a waiting `take` to look again (a worker has started). */
  poke(): void {
    this.#wake?.();
  }

  /** The task a `take(seq)` waits for: batch `seq`, or the oldest pending one. */
  #awaited(seq: number | undefined): Task | undefined {
    return this.pending.get(seq ?? Math.min(...this.pending.keys()));
  }

  #late(seq: number | undefined): LoaderTimeoutError {
    const task = this.#awaited(seq) as Task;
    return new LoaderTimeoutError(
      `batch ${task.seq} did not arrive within ${this.#timeout} ms (worker ${task.slot.id})`,
      task.seq,
    );
  }
}

function workerError(m: Extract<Outcome, { type: 'error' }>, batch: number): WorkerError {
  const cause = deserializeError(m.error);
  const from = m.dataset === undefined ? '' : ` of dataset ${m.dataset}`;
  const what = {
    get: `load index ${m.index}${from} (batch ${batch})`,
    collate: `collate batch ${batch}${from}`,
    send: `send batch ${batch}`,
  }[m.stage];
  return new WorkerError(
    `worker ${m.worker} failed to ${what}: ${cause.name}: ${cause.message}`,
    { worker: m.worker, batch, index: m.index, dataset: m.dataset },
    { cause },
  );
}

/** A request in flight, kept until answered so that it can be re-issued if its worker dies. */
interface Task {
  readonly id: number;
  readonly run: Run;
  readonly seq: number;
  readonly indices: Uint32Array;
  readonly epoch: number;
  slot: Slot;
}

/** A worker id and its current thread (replaced after a crash). */
interface Slot {
  readonly id: number;
  worker: Worker;
  ready: boolean;
  /** Live tasks assigned to this worker. */
  load: number;
  /** The uncaught exception that killed the thread, if any. */
  error: Error | undefined;
  exited: Promise<void>;
}

/** A pool of workers shared by the runs of one loader (persistent) or owned by one run. */
class Pool {
  readonly #spawner: Spawner;
  readonly #slots: Slot[];
  readonly #tasks = new Map<number, Task>();
  readonly #runs = new Set<Run>();
  readonly #maxRestarts: number;
  #restarts = 0;
  #nextTask = 0;
  #nextSlot = 0;
  /** Why the pool is unusable (start-up failure, too many crashes, terminated). */
  #broken: unknown;
  #terminated = false;

  constructor(spawner: Spawner, numWorkers: number, maxRestarts: number) {
    this.#spawner = spawner;
    this.#maxRestarts = maxRestarts;
    this.#slots = Array.from({ length: numWorkers }, (_, id) => {
      const slot = { id, load: 0 } as Slot;
      this.#start(slot);
      return slot;
    });
  }

  /** Threads not yet exited. */
  get live(): number {
    return this.#slots.filter((s) => s.worker.threadId !== -1).length;
  }

  /** Registers a run; a pool with a run keeps the process alive, an idle one does not. */
  open(run: Run): void {
    if (this.#broken !== undefined) run.fail(this.#broken);
    if (this.#runs.size === 0) {
      this.#restarts = 0;
      for (const s of this.#slots) s.worker.ref();
    }
    this.#runs.add(run);
  }

  /** Forgets a finished run: answers to its remaining tasks will be dropped. */
  release(run: Run): void {
    for (const task of run.pending.values()) {
      this.#tasks.delete(task.id);
      task.slot.load--;
    }
    run.pending.clear();
    this.#runs.delete(run);
    if (this.#runs.size === 0) for (const s of this.#slots) s.worker.unref();
  }

  /** Sends batch `seq` of `run` to the least loaded worker (round robin among equals). */
  submit(run: Run, seq: number, indices: Uint32Array, epoch: number): void {
    let slot = this.#slots[this.#nextSlot] as Slot;
    for (let k = 1; k < this.#slots.length; k++) {
      const other = this.#slots[(this.#nextSlot + k) % this.#slots.length] as Slot;
      if (other.load < slot.load) slot = other;
    }
    this.#nextSlot = (slot.id + 1) % this.#slots.length;
    const task: Task = { id: this.#nextTask++, run, seq, indices, epoch, slot };
    this.#tasks.set(task.id, task);
    run.pending.set(seq, task);
    slot.load++;
    this.#post(task);
  }

  /** Terminates every worker and fails the runs still using the pool with `reason`. */
  async terminate(reason: unknown): Promise<void> {
    if (!this.#terminated) {
      this.#terminated = true;
      this.#break(reason);
      for (const s of this.#slots) void s.worker.terminate();
    }
    await Promise.all(this.#slots.map((s) => s.exited));
  }

  #post(task: Task): void {
    const request: FetchRequest = { type: 'fetch', task: task.id, indices: task.indices, epoch: task.epoch };
    task.slot.worker.postMessage(request);
  }

  #start(slot: Slot): void {
    const worker = this.#spawner.start(slot.id);
    if (this.#runs.size === 0) worker.unref();
    slot.worker = worker;
    slot.ready = false;
    slot.error = undefined;
    slot.exited = new Promise((resolve) => {
      worker.on('exit', (code) => {
        resolve();
        if (slot.worker === worker) this.#exited(slot, code);
      });
    });
    worker.on('error', (e) => {
      slot.error = e;
    });
    worker.on('message', (m: WorkerMessage) => this.#message(slot, m));
  }

  #message(slot: Slot, m: WorkerMessage): void {
    if (m.type === 'ready') {
      slot.ready = true;
      for (const run of this.#runs) run.poke();
    } else if (m.type === 'init-error') {
      this.#break(startFailure(slot.id, deserializeError(m.error)));
    } else {
      const task = this.#tasks.get(m.task);
      if (task === undefined) return; // for a run that has ended
      this.#tasks.delete(m.task);
      slot.load--;
      task.run.deliver(task.seq, m);
    }
  }

  /** A thread ended without being terminated: a start-up failure, or a crash to recover from. */
  #exited(slot: Slot, code: number): void {
    if (this.#terminated || this.#broken !== undefined) return;
    if (!slot.ready) {
      this.#break(startFailure(slot.id, slot.error ?? new Error(`the worker exited with code ${code}`)));
      return;
    }
    const lost = [...this.#tasks.values()].filter((t) => t.slot === slot);
    const seqs = lost.map((t) => t.seq).join(', ');
    const batches =
      lost.length === 0 ? 'while idle' : `while loading batch${lost.length > 1 ? 'es' : ''} ${seqs}`;
    const why =
      slot.error === undefined
        ? `exited with code ${code}`
        : `crashed (${slot.error.name}: ${slot.error.message})`;
    if (++this.#restarts > this.#maxRestarts) {
      this.#break(
        new WorkerCrashError(
          `worker ${slot.id} ${why} ${batches}; gave up after ${this.#maxRestarts} restarts (maxWorkerRestarts)`,
          { cause: slot.error },
        ),
      );
      return;
    }
    this.#start(slot);
    for (const task of lost) this.#post(task);
  }

  #break(reason: unknown): void {
    this.#broken ??= reason;
    for (const run of this.#runs) run.fail(reason);
  }
}

function startFailure(worker: number, cause: Error): WorkerError {
  return new WorkerError(
    `worker ${worker} failed to start: ${cause.name}: ${cause.message}`,
    { worker },
    { cause },
  );
}
