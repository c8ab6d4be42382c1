import { WorkerCrashError, WorkerError } from '../core/errors.ts';
import { invariant } from '../core/invariant.ts';
import { deserializeError, type FetchRequest, type WorkerMessage } from './protocol.ts';
import type { Spawner, WorkerThread } from './spawn.ts';

/*
 * The pool knows workers and tasks by id; what a task means (its batch, tag, result) belongs to the client
 * that submitted it, which the pool only calls back. See protocol.ts for the rules applied here.
 */

/**
 * A worker's answer to one task: the batch, or the failure of user code as plain data.
 *
 * @example
 * ```ts
 * if (answer.type === 'batch') use(answer.data);
 * ```
 */
export type Answer = Extract<WorkerMessage, { type: 'batch' | 'error' }>;

/**
 * What a pool calls back: a run implements it.
 *
 * @example
 * ```ts
 * const client: PoolClient = { answered: (key, a) => {}, failed: (reason) => {}, workersChanged: () => {} };
 * ```
 */
export interface PoolClient {
  /** The answer to the task submitted with `key`; the task is then gone from the pool. */
  answered(key: number, answer: Answer): void;
  /** The pool can no longer serve this client: its tasks will not be answered. */
  failed(reason: unknown): void;
  /** A worker became ready or was replaced: a clock that depends on readiness must look again. */
  workersChanged(): void;
}

/**
 * What a client may know of the worker holding one of its tasks.
 *
 * @example
 * ```ts
 * const { id, ready } = pool.workerOf(task);
 * ```
 */
export interface WorkerView {
  /** The worker id (0 ≤ id < numWorkers), kept by replacements. */
  readonly id: number;
  /** Whether the current thread of that id has posted `ready`. */
  readonly ready: boolean;
  /** How many threads this id has had: a change means the thread was replaced. */
  readonly starts: number;
}

/** A request in flight, kept until answered so that it can be re-posted if its worker dies. */
interface Task {
  readonly id: number;
  readonly client: PoolClient;
  /** The client's name for the task (a batch number), used in crash messages. */
  readonly key: number;
  readonly indices: Uint32Array;
  readonly epoch: number;
  /** Reusable memory going to the worker with the first post (not again: it has moved there). */
  buffers: readonly ArrayBuffer[] | undefined;
  readonly slot: Slot;
  /** A consumer waits for this task: its worker must keep the process alive. */
  awaited: boolean;
}

/** A worker id and its current thread (replaced after a crash or a timeout). */
interface Slot extends WorkerView {
  worker: WorkerThread;
  ready: boolean;
  starts: number;
  /** Tasks posted to this thread and not yet answered or cancelled. */
  load: number;
  /** Of those, the ones a consumer waits for. */
  awaited: number;
  /** The uncaught exception that killed the thread, if any. */
  error: Error | undefined;
  exited: Promise<void>;
}

/**
 * A fixed number of worker threads and the tasks in flight on them, shared by the runs of one loader
 * (persistent) or owned by one run.
 *
 * @param spawner - starts the workers and checks what they report when ready
 * @param numWorkers - threads to keep (ids 0 … numWorkers − 1)
 * @param maxRestarts - crashes tolerated over the whole pool from the moment a run starts on it idle
 * @example
 * ```ts
 * const pool = new Pool(spawner(workerSetup(options)), 2, 3);
 * pool.open(run);
 * const task = pool.submit(run, 0, Uint32Array.of(0, 1), 0);
 * ```
 */
export class Pool {
  readonly #spawner: Spawner;
  readonly #slots: readonly Slot[];
  readonly #tasks = new Map<number, Task>();
  readonly #clients = new Set<PoolClient>();
  /** Replaced (wedged) threads still exiting, for `terminate` to wait for. */
  readonly #retired = new Map<WorkerThread, Promise<void>>();
  readonly #maxRestarts: number;
  #restarts = 0;
  #nextTask = 0;
  #nextSlot = 0;
  /** Why the pool is unusable (start-up failure, too many crashes, terminated). */
  #broken: { reason: unknown } | undefined;
  #terminated = false;

  constructor(spawner: Spawner, numWorkers: number, maxRestarts: number) {
    invariant(numWorkers > 0, 'a pool needs workers');
    this.#spawner = spawner;
    this.#maxRestarts = maxRestarts;
    this.#slots = Array.from({ length: numWorkers }, (_, id) => {
      const slot = { id, starts: 0, load: 0, awaited: 0 } as Slot;
      this.#start(slot);
      return slot;
    });
  }

  /** Threads not yet exited. */
  get live(): number {
    return this.#slots.filter((s) => s.worker.threadId !== -1).length;
  }

  /** False once the pool has failed or been terminated; it then only waits to be discarded. */
  get usable(): boolean {
    return this.#broken === undefined;
  }

  /** Registers a client; one registered on an unusable pool fails at once. */
  open(client: PoolClient): void {
    invariant(!this.#clients.has(client), 'a client opened a pool twice');
    // Restarts count per run: a run starting on an idle pool starts afresh.
    if (this.#clients.size === 0) this.#restarts = 0;
    this.#clients.add(client);
    if (this.#broken !== undefined) client.failed(this.#broken.reason);
  }

  /** Unregisters a client, which must have no task left (answered or cancelled). */
  close(client: PoolClient): void {
    invariant(this.#clients.delete(client), 'a client closed a pool it had not opened');
    for (const task of this.#tasks.values()) {
      invariant(task.client !== client, `task ${task.id} outlived its client`);
    }
  }

  /**
   * Posts a task to the least loaded worker (round robin among equals).
   *
   * @returns the task id, for {@link Pool.cancel}, {@link Pool.await} and {@link Pool.workerOf}
   */
  submit(
    client: PoolClient,
    key: number,
    indices: Uint32Array,
    epoch: number,
    buffers?: readonly ArrayBuffer[],
  ): number {
    invariant(this.#clients.has(client), 'a task was submitted by a client that did not open the pool');
    const n = this.#slots.length;
    let slot = this.#slots[this.#nextSlot] as Slot;
    for (let k = 1; k < n; k++) {
      const other = this.#slots[(this.#nextSlot + k) % n] as Slot;
      if (other.load < slot.load) slot = other;
    }
    this.#nextSlot = (slot.id + 1) % n;
    const task: Task = { id: this.#nextTask++, client, key, indices, epoch, buffers, slot, awaited: false };
    this.#tasks.set(task.id, task);
    slot.load++;
    this.#post(task);
    return task.id;
  }

  /** Forgets an unanswered task: its answer, if one comes, is dropped (the worker still computes it). */
  cancel(task: number): void {
    this.#forget(this.#task(task));
  }

  /** Marks whether a consumer waits for `task`; its worker keeps the process alive while one does. */
  await(task: number, waiting: boolean): void {
    const t = this.#task(task);
    if (t.awaited === waiting) return;
    t.awaited = waiting;
    t.slot.awaited += waiting ? 1 : -1;
    this.#reref(t.slot);
  }

  /** The worker holding `task` now. */
  workerOf(task: number): WorkerView {
    return this.#task(task).slot;
  }

  /**
   * Replaces worker `id`, which timed out (is wedged): terminates its thread and starts another that
   * receives its unanswered tasks. Not a crash: it does not count against `maxWorkerRestarts`.
   */
  replace(id: number): void {
    if (this.#broken !== undefined) return;
    const slot = this.#slots[id];
    invariant(slot !== undefined, `no worker ${id} to replace`);
    const { worker, exited } = slot;
    this.#retired.set(worker, exited);
    void exited.then(() => this.#retired.delete(worker));
    void worker.terminate();
    this.#restart(slot);
  }

  /** Terminates every worker and fails every client with `reason`; resolves once all threads exited. */
  async terminate(reason: unknown): Promise<void> {
    if (!this.#terminated) {
      this.#terminated = true;
      this.#break(reason);
      // Ref'd until their `exit`: someone awaits it, and an unref'd dying worker would let the process
      // exit first (see protocol.ts, "Keeping the process alive").
      for (const worker of [...this.#slots.map((s) => s.worker), ...this.#retired.keys()]) {
        worker.ref();
        void worker.terminate();
      }
    }
    await Promise.all([...this.#slots.map((s) => s.exited), ...this.#retired.values()]);
  }

  #task(id: number): Task {
    const task = this.#tasks.get(id);
    invariant(task !== undefined, `task ${id} is not in flight`);
    return task;
  }

  #forget(task: Task): void {
    this.#tasks.delete(task.id);
    task.slot.load--;
    if (task.awaited) {
      task.slot.awaited--;
      this.#reref(task.slot);
    }
  }

  #reref(slot: Slot): void {
    if (this.#terminated || slot.awaited > 0) slot.worker.ref();
    else slot.worker.unref();
  }

  #post(task: Task): void {
    const { buffers } = task;
    task.buffers = undefined;
    const request: FetchRequest = {
      type: 'fetch',
      task: task.id,
      indices: task.indices,
      epoch: task.epoch,
      buffers,
    };
    task.slot.worker.postMessage(request, buffers);
  }

  #start(slot: Slot): void {
    const worker = this.#spawner.start(slot.id);
    slot.worker = worker;
    slot.ready = false;
    slot.starts++;
    slot.error = undefined;
    // A replaced thread may still speak or exit: only the slot's current thread counts.
    slot.exited = new Promise((resolve) => {
      worker.on('exit', (code) => {
        resolve();
        if (slot.worker === worker) this.#exited(slot, code);
      });
    });
    worker.on('error', (e) => {
      if (slot.worker === worker) slot.error = e;
    });
    worker.on('message', (m: WorkerMessage) => {
      if (slot.worker === worker) this.#message(slot, m);
    });
    // Last: the first 'message' listener refs the worker's port again.
    this.#reref(slot);
  }

  /** Starts a new thread for `slot` and re-posts its unanswered tasks there. */
  #restart(slot: Slot): void {
    this.#start(slot);
    for (const task of this.#tasks.values()) if (task.slot === slot) this.#post(task);
    for (const client of [...this.#clients]) client.workersChanged();
  }

  #message(slot: Slot, m: WorkerMessage): void {
    if (m.type === 'ready') {
      slot.ready = true;
      const mismatch = this.#spawner.check(slot.id, m.lengths);
      if (mismatch !== undefined) this.#break(mismatch);
      else for (const client of [...this.#clients]) client.workersChanged();
    } else if (m.type === 'init-error') {
      this.#break(startFailure(slot.id, deserializeError(m.error)));
    } else {
      const task = this.#tasks.get(m.task);
      if (task === undefined) return; // cancelled: its client has moved on
      invariant(task.slot === slot, `task ${task.id} was answered by another worker than its own`);
      this.#forget(task);
      task.client.answered(task.key, m);
    }
  }

  /** A thread ended without being terminated: a start-up failure, or a crash to recover from. */
  #exited(slot: Slot, code: number): void {
    if (this.#terminated || this.#broken !== undefined) return;
    if (!slot.ready) {
      this.#break(startFailure(slot.id, slot.error ?? new Error(`the worker exited with code ${code}`)));
      return;
    }
    if (++this.#restarts <= this.#maxRestarts) {
      this.#restart(slot);
      return;
    }
    const why =
      slot.error === undefined
        ? `exited with code ${code}`
        : `crashed (${slot.error.name}: ${slot.error.message})`;
    const n = this.#slots.length;
    const limit = `gave up after ${this.#maxRestarts} restarts counted over the pool's ${n} worker${n === 1 ? '' : 's'} (maxWorkerRestarts)`;
    const lost = [...this.#tasks.values()].filter((t) => t.slot === slot);
    const crash = (tasks: readonly Task[]): WorkerCrashError => {
      const keys = tasks.map((t) => t.key).join(', ');
      const what =
        tasks.length === 0 ? 'while idle' : `while loading batch${tasks.length > 1 ? 'es' : ''} ${keys}`;
      return new WorkerCrashError(`worker ${slot.id} ${why} ${what}; ${limit}`, { cause: slot.error });
    };
    // Each client hears of its own batches: batch numbers mean nothing across runs.
    this.#break(crash(lost), (client) => crash(lost.filter((t) => t.client === client)));
  }

  /** Makes the pool unusable and fails every client, with `reasonFor(client)` when given. */
  #break(reason: unknown, reasonFor?: (client: PoolClient) => unknown): void {
    this.#broken ??= { reason };
    for (const client of [...this.#clients]) client.failed(reasonFor?.(client) ?? reason);
  }
}

function startFailure(worker: number, cause: Error): WorkerError {
  return new WorkerError(
    `worker ${worker} failed to start: ${cause.name}: ${cause.message}`,
    { worker },
    { cause },
  );
}
