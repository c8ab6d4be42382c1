import { DATASET_PARTS, type Dataset } from '../core/dataset.ts';
import { WEFT_ERRORS } from '../core/errors.ts';
import type { Encoded } from '../core/recipe.ts';

/*
 * The worker protocol: start-up, work, errors and shutdown. Other files cite this block ("see protocol.ts").
 * Who does what: options.ts checks the options, spawn.ts prepares (and checks) what workers start with,
 * threads.ts starts them (the one module that loads worker_threads, imported on the first run with workers),
 * pool.ts keeps the workers and the tasks in flight (by task id only), run.ts keeps one iteration's batches
 * (by sequence number), and engine.ts ties a run to a pool and decides when a pool ends.
 *
 * Start-up. The main thread spawns each worker with a `WorkerInit` as `workerData`: the dataset, collate
 * and `workerInit` as encoded references (see core/recipe.ts), never as functions. The worker rebuilds them,
 * calls `workerInit(info)` and posts `ready` with the length of the dataset and of every part of it
 * (see `datasetLengths`). If any of that fails it posts `init-error` and waits to be terminated. A length
 * that differs from the main thread's is a ConfigError naming the part: indices are computed in the main
 * thread, so with another length they would silently land on other items (in a ConcatDataset, in the
 * neighbouring dataset). Both are start-up failures: reported once, never retried, because a fresh worker
 * would fail the same way; the pool is then unusable and discarded. Requests posted before `ready` wait in
 * the port's queue.
 *
 * Work. The main thread posts `fetch` requests, each with a task id unique in the pool. A worker answers
 * every request exactly once: `batch` with the collated data, its ArrayBuffers transferred (not copied), or
 * `error` with the failure as plain data (a SerializedError: name, message, stack, the error's own fields
 * that structured cloning can carry, and its cause, the same way) and where it happened (sample index,
 * source dataset, worker). A worker never exits on its own. The main thread rebuilds a weft error (by
 * name, see WEFT_ERRORS in core/errors.ts) as its own class with its fields, so that `instanceof
 * FileError` and `.file`/`.line` hold across the thread; any other error (a user's own class included)
 * as an Error with its name, message, stack and fields.
 *
 * Batch memory. With the default collate and a dataset that writes its items in place (a `layout` whose
 * every field has a shape, and `writeItem`), a batch is one flat typed array per field, each on a whole
 * ArrayBuffer of its own (collate/in-place.ts), which `writeItem` fills row by row. With `reuseBatches`
 * those buffers are the loader's: a batch is the consumer's until it asks for the next one (`next()`) or
 * ends the iteration; then the engine takes the buffers back with a transfer (engine/transfer.ts,
 * `reclaim`), which detaches every view the consumer may still hold (length 0; methods and iteration throw
 * a TypeError), so a kept batch is never overwritten with other data. In-process the next batches are
 * written into them; with workers they wait in the main thread and go back with the next `fetch` requests,
 * one batch's buffers per request (`buffers`, transferred) so that every worker gets its share, and the
 * worker writes its next batches into them; a `batch` answer says
 * `pooled` when it was written into such memory, so that the main thread takes it back in turn. A worker
 * keeps a few free buffers per size and lets the others go; buffers of a request lost to a crash are just
 * memory allocated again. Batches of any other collate are never taken back.
 *
 * Order and back-pressure. Each batch of a run has a sequence number. Results are buffered and yielded in
 * sequence order (`inOrder`) or whichever is ready first; at most numWorkers × prefetchFactor batches are
 * issued and not yet yielded, and a run's books (one entry per such batch) never hold more, however long
 * the run.
 *
 * Errors in user code. An exception from the dataset's `get`, the collate function or posting the batch is
 * an answer like any other: the worker caught it and is healthy. The run rethrows it when its turn comes,
 * as a WorkerError whose `cause` is the rebuilt original, and ends; the pool is kept. Requests of the
 * failed run still queued in the workers are answered and the answers dropped by task id, so a persistent
 * pool goes on serving its other runs and later ones (as torch keeps its workers after a batch fails).
 *
 * Crashes. A worker that exits without being told to (process.exit, an uncaught exception) after `ready` is
 * replaced by a new worker with the same id, which receives the unanswered requests again. Restarts are
 * counted over the whole pool, from the moment a run starts on an idle pool: more than
 * `maxWorkerRestarts` end every run on it with a WorkerCrashError, whose message names the worker that
 * crashed last and says that the count is the pool's. Exiting before `ready` is a start-up failure (above).
 *
 * Timeout. A consumer waiting longer than `timeout` ms for a batch gets a LoaderTimeoutError naming that
 * batch and its worker. The clock runs only while the batch's worker is ready: start-up is not late, so
 * the clock stops while a crashed worker's replacement starts and starts afresh once it is ready. A
 * worker that timed out is wedged (a blocked thread, a promise that never settles): it is the one worker
 * terminated and replaced, and its unanswered requests of other runs go to the replacement.
 *
 * Shutdown. Only the main thread ends workers, always with `terminate()`: a pool without
 * `persistentWorkers` when its run ends (however it ends); a persistent pool on `close()` or once it is
 * unusable (start-up failure, too many crashes); a single wedged worker after a timeout. Abort and
 * user-code errors end the run, not the pool. The run's `finally` awaits the termination, so once `break`
 * or `return()` has settled every worker of its pool has exited.
 *
 * Keeping the process alive. A worker is `ref()`ed only while a consumer waits for a batch in flight on
 * it (piscina's rule) and while it is being terminated; otherwise it is `unref()`ed. So an idle persistent
 * pool, or a consumer that took a batch and dropped the iterator without `return()`, never keeps the
 * process alive; and `close()` from a timer or a signal handler while a loop waits cannot let the process
 * exit before the loop has rejected (a terminated, unref'ed worker would). A dropped iterator's run is
 * also ended when it is garbage-collected (a FinalizationRegistry), freeing a non-persistent pool.
 */

/** An error as plain data: what crosses the thread boundary. */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly stack: string | undefined;
  /** The error's own enumerable fields that structured cloning carries (a FileError's `file`, a Node error's `code`). */
  readonly fields: Readonly<Record<string, unknown>>;
  /** Its `cause`: an error, serialized the same way, or any other value that can be cloned. */
  readonly cause?: { readonly error: SerializedError } | { readonly value: unknown };
}

/** Causes followed at most this deep: a cycle of causes must not recurse forever. */
const MAX_CAUSES = 8;

/** `value` if structured cloning can carry it, else `undefined` (a function, a socket, a class instance's methods). */
function cloneable(value: unknown): { value: unknown } | undefined {
  try {
    structuredClone(value);
    return { value };
  } catch {
    return undefined;
  }
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
  /** Whether batches written in place take their memory from the buffers that requests bring back. */
  readonly reuseBatches: boolean;
}

/** Main thread → worker. */
export interface FetchRequest {
  readonly type: 'fetch';
  readonly task: number;
  readonly indices: Uint32Array;
  readonly epoch: number;
  /** Memory of batches the consumer has moved past, transferred back for the worker to reuse. */
  readonly buffers: readonly ArrayBuffer[] | undefined;
}

/** Worker → main thread. */
export type WorkerMessage =
  | { readonly type: 'ready'; readonly lengths: readonly DatasetLength[] }
  | { readonly type: 'init-error'; readonly error: SerializedError }
  | {
      readonly type: 'batch';
      readonly task: number;
      readonly data: unknown;
      /** The batch was written in place into reusable memory: the main thread takes it back later. */
      readonly pooled: boolean;
    }
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

/**
 * Any thrown value as plain data: name, message, stack, the own fields that can be cloned, the cause.
 *
 * @param e - what was thrown
 * @param depth - causes already followed @default 0
 */
export function serializeError(e: unknown, depth = 0): SerializedError {
  if (!(e instanceof Error)) return { name: 'Error', message: String(e), stack: undefined, fields: {} };
  const fields: Record<string, unknown> = {};
  for (const key of Object.keys(e)) {
    if (key === 'name' || key === 'message' || key === 'stack' || key === 'cause') continue;
    const kept = cloneable((e as unknown as Record<string, unknown>)[key]);
    if (kept !== undefined) fields[key] = kept.value;
  }
  const out = { name: e.name, message: e.message, stack: e.stack, fields };
  if (!('cause' in e) || depth >= MAX_CAUSES) return out;
  if (e.cause instanceof Error) return { ...out, cause: { error: serializeError(e.cause, depth + 1) } };
  const cause = cloneable(e.cause);
  return cause === undefined ? out : { ...out, cause };
}

/**
 * The error a {@link SerializedError} describes: a weft error as its own class (by name), any other as an
 * Error; with its name, message, stack, fields and cause.
 *
 * @param s - the error as it crossed the thread
 */
export function deserializeError(s: SerializedError): Error {
  const cause =
    s.cause === undefined
      ? undefined
      : { cause: 'error' in s.cause ? deserializeError(s.cause.error) : s.cause.value };
  // The class's constructor is not run (each takes other arguments): the fields come from the worker's.
  const Class = Object.hasOwn(WEFT_ERRORS, s.name) ? WEFT_ERRORS[s.name] : undefined;
  const e: Error =
    Class === undefined ? new Error(s.message, cause) : Reflect.construct(Error, [s.message, cause], Class);
  e.name = s.name;
  Object.assign(e, s.fields);
  e.stack = s.stack ?? `${s.name}: ${s.message}`;
  return e;
}

/** A dataset's path from the loader's `dataset` (as in error messages) and its length. */
export type DatasetLength = readonly [path: string, length: number];

/**
 * The length of `dataset` and of every dataset inside it (the parts of a ConcatDataset, the dataset under a
 * Subset), outermost first: what a worker reports when ready, to compare with the main thread's.
 *
 * @param dataset - the loader's dataset
 * @param path - its name in messages
 * @default path 'dataset'
 * @example
 * ```ts
 * datasetLengths(new ConcatDataset([a, b])); // [['dataset', 7], ['dataset.datasets[0]', 3], ['dataset.datasets[1]', 4]]
 * ```
 */
export function datasetLengths(dataset: Dataset<unknown>, path = 'dataset'): DatasetLength[] {
  const out: DatasetLength[] = [[path, dataset.length]];
  // Read through the parts' symbol rather than `instanceof`, so that a worker need not load datasets/basic.ts.
  const parts = (dataset as { [DATASET_PARTS]?: () => [string, Dataset<unknown>][] })[DATASET_PARTS];
  if (typeof parts === 'function') {
    for (const [suffix, part] of parts.call(dataset)) out.push(...datasetLengths(part, `${path}${suffix}`));
  }
  return out;
}
