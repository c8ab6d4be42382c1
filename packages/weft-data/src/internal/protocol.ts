import type { Encoded } from './worker-ref.ts';

/*
 * The worker protocol: start-up, work, errors and shutdown. Other files cite this block ("see protocol.ts").
 *
 * Start-up. The main thread spawns each worker with a `WorkerInit` as `workerData`: the dataset, collate
 * and `workerInit` as encoded references (see worker-ref.ts), never as functions. The worker rebuilds them,
 * calls `workerInit(info)` and posts `ready`. If any of that fails it posts `init-error` and waits to be
 * terminated: a start-up failure is reported once as a WorkerError and never retried, because a fresh
 * worker would fail the same way. Requests posted before `ready` wait in the port's queue.
 *
 * Work. The main thread posts `fetch` requests, each with a task id unique in the pool. A worker answers
 * every request exactly once: `batch` with the collated data, its ArrayBuffers transferred (not copied), or
 * `error` with the failure as plain data (name, message, stack) and where it happened (sample index,
 * source dataset, worker). A worker never exits on its own.
 *
 * Order and back-pressure. Each batch of a run has a sequence number. Results are buffered and yielded in
 * sequence order (`inOrder`) or as they arrive; at most numWorkers × prefetchFactor batches are issued
 * and not yet yielded. A batch `error` is rethrown when its turn comes, as a WorkerError whose `cause` is
 * the rebuilt original.
 *
 * Crashes. A worker that exits without being told to (process.exit, an uncaught exception) after `ready` is
 * replaced by a new worker with the same id, which receives the unanswered requests again. More than
 * `maxWorkerRestarts` replacements in one run end the run with a WorkerCrashError. Exiting before `ready`
 * is a start-up failure (above).
 *
 * Timeout. A consumer waiting longer than `timeout` ms for the next batch gets a LoaderTimeoutError naming
 * that batch.
 *
 * Shutdown. Only the main thread ends workers, always with `terminate()`: when a run ends without
 * `persistentWorkers`, when a run fails in any way (its workers' queues hold work nobody will read, so
 * they are never reused), on abort, and on `close()`. The run's `finally` awaits the termination, so once
 * `break` or `return()` has settled every worker has exited. A persistent pool is `unref()`ed between
 * runs, so an idle pool never keeps the process alive; answers to requests of a finished run are dropped
 * by task id.
 */

/** An error as plain data: what crosses the thread boundary. */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly stack: string | undefined;
}

/** `workerData` of every worker. */
export interface WorkerInit {
  readonly id: number;
  readonly numWorkers: number;
  /** The worker's own seed, for {@link getWorkerInfo}. */
  readonly workerSeed: number;
  /** The loader's seed, for each sample's context. */
  readonly seed: number;
  readonly dataset: Encoded;
  readonly collate: Encoded;
  readonly workerInit: Encoded | undefined;
}

/** Main thread → worker. */
export interface FetchRequest {
  readonly type: 'fetch';
  readonly task: number;
  readonly indices: Uint32Array;
  readonly epoch: number;
}

/** Worker → main thread. */
export type WorkerMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'init-error'; readonly error: SerializedError }
  | { readonly type: 'batch'; readonly task: number; readonly data: unknown }
  | {
      readonly type: 'error';
      readonly task: number;
      readonly worker: number;
      /** What failed: a sample's `get`, the collate function, or posting the batch. */
      readonly stage: 'get' | 'collate' | 'send';
      /** The global sample index (for `get`). */
      readonly index: number | undefined;
      /** The source dataset, from the dataset's `locate(index)` when it has one. */
      readonly dataset: number | undefined;
      readonly error: SerializedError;
    };

/** Any thrown value as plain data. */
export function serializeError(e: unknown): SerializedError {
  if (e instanceof Error) return { name: e.name, message: e.message, stack: e.stack };
  return { name: 'Error', message: String(e), stack: undefined };
}

/** The error a {@link SerializedError} describes, with its original name and stack. */
export function deserializeError(s: SerializedError): Error {
  const e = new Error(s.message);
  e.name = s.name;
  e.stack = s.stack ?? `${s.name}: ${s.message}`;
  return e;
}
