import { markPooled } from '../collate/in-place.ts';
import { LoaderTimeoutError, WorkerError } from '../core/errors.ts';
import { invariant } from '../core/invariant.ts';
import type { Answer, Pool, PoolClient } from './pool.ts';
import { deserializeError } from './protocol.ts';

/**
 * What a loader hands the engine: a batch of indices, its epoch and a tag the engine passes through.
 *
 * @example
 * ```ts
 * const batch: EngineBatch<string> = { indices: Uint32Array.of(0, 1), epoch: 0, tag: 'train' };
 * ```
 */
export interface EngineBatch<Tag> {
  /** Indices into the engine's dataset, already checked by the loader. */
  readonly indices: Uint32Array;
  /** The epoch (or pass) whose per-sample randomness the batch uses. */
  readonly epoch: number;
  /** Anything; handed back with the loaded batch. */
  readonly tag: Tag;
}

/**
 * A loaded batch with the tag of its indices.
 *
 * @example
 * ```ts
 * for await (const { tag, data } of engine.run(batches)) use(tag, data);
 * ```
 */
export interface EngineResult<Tag, B> {
  /** The tag of the {@link EngineBatch} this was loaded from. */
  readonly tag: Tag;
  /** The collated batch. */
  readonly data: B;
}

/**
 * How a run delivers and waits.
 *
 * @example
 * ```ts
 * const options: RunOptions = { inOrder: true, timeout: 0, window: 4 };
 * ```
 */
export interface RunOptions {
  /** Yield in sequence order; otherwise whichever batch is ready. @default true in the engine */
  readonly inOrder: boolean;
  /** Milliseconds a batch may take once its worker is ready; 0 waits forever. @default 0 in the engine */
  readonly timeout: number;
  /** Batches submitted and not yet taken, at most (numWorkers × prefetchFactor). */
  readonly window: number;
}

/** One batch in flight or loaded and not yet taken. */
interface Entry<Tag> {
  readonly tag: Tag;
  /** Its task id in the pool; meaningful only while `answer` is undefined. */
  readonly task: number;
  answer: Answer | undefined;
}

/**
 * One iteration's batches on a pool: submitted in sequence, taken in order (or as ready), with its own
 * failure. Its only collection maps each batch not yet taken to its task, tag and answer, so it holds at
 * most `window` entries however long the run (see protocol.ts, "Order and back-pressure").
 *
 * @param pool - the pool to load on; the run registers itself there at once
 * @param options - see {@link RunOptions}
 * @example
 * ```ts
 * const run = new Run<string, unknown>(pool, { inOrder: true, timeout: 0, window: 4 });
 * run.submit({ indices: Uint32Array.of(0, 1), epoch: 0, tag: 'a' });
 * const { tag, data } = await run.take();
 * run.close();
 * ```
 */
export class Run<Tag, B> implements PoolClient {
  readonly #pool: Pool;
  readonly #options: RunOptions;
  /** By sequence number, in submission order (Map keeps insertion order). */
  readonly #entries = new Map<number, Entry<Tag>>();
  /** Sequence number of the next batch submitted. */
  #submitted = 0;
  /** Sequence number of the next batch taken in order. */
  #taken = 0;
  #failure: { error: unknown } | undefined;
  #wedged: number | undefined;
  #wake: (() => void) | undefined;
  #closed = false;

  constructor(pool: Pool, options: RunOptions) {
    this.#pool = pool;
    this.#options = options;
    pool.open(this);
  }

  /** Batches submitted and not yet taken: never more than the window. */
  get size(): number {
    return this.#entries.size;
  }

  /** What ended the run, if it failed. */
  get failure(): unknown {
    return this.#failure?.error;
  }

  /** The worker that timed out, if the run ended that way: it is wedged and must be replaced. */
  get wedged(): number | undefined {
    return this.#wedged;
  }

  /**
   * Sends a batch to the pool; its sequence number is the count of batches submitted before it. `buffers`
   * go to the worker for reuse (see protocol.ts, "Batch memory").
   */
  submit({ indices, epoch, tag }: EngineBatch<Tag>, buffers?: readonly ArrayBuffer[]): void {
    invariant(!this.#closed, 'a batch was submitted to a closed run');
    invariant(this.#entries.size < this.#options.window, 'a run was given more batches than its window');
    const seq = this.#submitted++;
    const task = this.#pool.submit(this, seq, indices, epoch, buffers);
    this.#entries.set(seq, { tag, task, answer: undefined });
  }

  /**
   * The next batch (in order, or the first ready); rejects with the run's failure, the batch's WorkerError
   * or a LoaderTimeoutError. Only one `take` at a time, with at least one batch submitted and not taken.
   */
  async take(): Promise<EngineResult<Tag, B>> {
    invariant(this.#wake === undefined, 'two takes at once');
    invariant(this.#entries.size > 0, 'a take with nothing submitted');
    const { inOrder, timeout } = this.#options;
    const awaited: Entry<Tag>[] = [];
    let timer: NodeJS.Timeout | undefined;
    /** The thread (by its start count) the clock runs for; the awaited batch stays the same in one take. */
    let timing: number | undefined;
    try {
      for (;;) {
        if (this.#failure !== undefined) throw this.#failure.error;
        const seq = this.#ready();
        if (seq !== undefined) return this.#result(seq);
        if (awaited.length === 0) {
          // Waiting in order is for one batch; out of order, for any (none is answered yet).
          if (inOrder) awaited.push(this.#clocked()[1]);
          else awaited.push(...this.#entries.values());
          for (const entry of awaited) this.#pool.await(entry.task, true);
        }
        if (timeout > 0) {
          // The clock runs only while the awaited batch's worker is ready, and starts afresh for a new
          // thread: start-up, a replacement's included, is not late (see protocol.ts, "Timeout").
          const [seq, entry] = this.#clocked();
          const worker = this.#pool.workerOf(entry.task);
          if (timing !== undefined && (!worker.ready || timing !== worker.starts)) {
            clearTimeout(timer);
            timing = undefined;
          }
          if (worker.ready && timing === undefined) {
            timing = worker.starts;
            timer = setTimeout(() => this.#late(seq, worker.id), timeout);
          }
        }
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
        this.#wake = undefined;
      }
    } finally {
      clearTimeout(timer);
      if (!this.#closed) {
        for (const entry of awaited) if (entry.answer === undefined) this.#pool.await(entry.task, false);
      }
    }
  }

  /** Ends the run with `error` at the next (or current) `take`; the first failure wins. */
  fail(error: unknown): void {
    if (this.#failure !== undefined) return;
    this.#failure = { error };
    this.#wake?.();
  }

  /** Cancels the batches not yet answered and leaves the pool; answers that still come are dropped. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const entry of this.#entries.values()) {
      if (entry.answer === undefined) this.#pool.cancel(entry.task);
    }
    this.#entries.clear();
    this.#pool.close(this);
  }

  /** @internal PoolClient: stores the answer of batch `seq`. */
  answered(seq: number, answer: Answer): void {
    const entry = this.#entries.get(seq);
    invariant(entry !== undefined && entry.answer === undefined, `batch ${seq} was answered twice`);
    entry.answer = answer;
    this.#wake?.();
  }

  /** @internal PoolClient: the pool failed. */
  failed(reason: unknown): void {
    this.fail(reason);
  }

  /** @internal PoolClient: a worker started; a waiting `take` re-checks its clock. */
  workersChanged(): void {
    this.#wake?.();
  }

  /** The sequence number of a batch ready to take, if any. */
  #ready(): number | undefined {
    if (this.#options.inOrder) {
      const entry = this.#entries.get(this.#taken);
      invariant(entry !== undefined, `batch ${this.#taken} is taken but was never submitted`);
      return entry.answer === undefined ? undefined : this.#taken;
    }
    // At most `window` entries: a scan is cheaper than a second collection kept in step.
    for (const [seq, entry] of this.#entries) if (entry.answer !== undefined) return seq;
    return undefined;
  }

  /** The batch the timeout clock is for: the one awaited in order, else the oldest in flight. */
  #clocked(): [number, Entry<Tag>] {
    const seq = this.#options.inOrder ? this.#taken : (this.#entries.keys().next().value as number);
    const entry = this.#entries.get(seq);
    invariant(entry !== undefined, `batch ${seq} is awaited but not in flight`);
    return [seq, entry];
  }

  #result(seq: number): EngineResult<Tag, B> {
    const entry = this.#entries.get(seq);
    invariant(entry?.answer !== undefined, `batch ${seq} is taken before its answer`);
    this.#entries.delete(seq);
    if (this.#options.inOrder) this.#taken++;
    const { answer, tag } = entry;
    if (answer.type === 'error') {
      const error = workerError(answer, seq);
      this.fail(error);
      throw error;
    }
    if (answer.pooled) markPooled(answer.data as object);
    return { tag, data: answer.data as B };
  }

  #late(seq: number, worker: number): void {
    if (this.#failure !== undefined) return;
    this.#wedged = worker;
    this.fail(
      new LoaderTimeoutError(
        `batch ${seq} did not arrive within ${this.#options.timeout} ms (worker ${worker})`,
        seq,
      ),
    );
  }
}

function workerError(m: Extract<Answer, { type: 'error' }>, batch: number): WorkerError {
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
