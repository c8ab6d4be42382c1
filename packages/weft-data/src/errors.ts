/**
 * Every error weft throws on purpose is a {@link WeftError}; the subclasses say which part failed.
 * `name` is stable (safe to compare), `cause` keeps the original error where there is one.
 */

/**
 * Base class of all errors weft throws on purpose.
 *
 * @param message - what went wrong, naming the option or value involved
 * @param options - standard `ErrorOptions`; `cause` is kept
 * @example
 * ```ts
 * try { new BatchSampler(sampler, { batchSize: 0 }); } catch (e) { if (e instanceof WeftError) console.error(e.message); }
 * ```
 */
export class WeftError extends Error {
  override name = 'WeftError';
}

/**
 * An option, config field or constructor argument is invalid. Thrown eagerly, at construction.
 *
 * @param message - names the field, what was expected, and the value given
 * @param issues - one line per problem found (all of them, not only the first)
 * @example
 * ```ts
 * // ConfigError: `batchSize` must be a positive integer, got 0
 * new BatchSampler(sampler, { batchSize: 0 });
 * ```
 */
export class ConfigError extends WeftError {
  override name = 'ConfigError';
  /** Every problem found, one message each. */
  readonly issues: readonly string[];
  constructor(message: string, issues: readonly string[] = [message], options?: ErrorOptions) {
    super(message, options);
    this.issues = issues;
  }
}

/**
 * An index is outside a dataset or sampler (negative, too large, or not an integer).
 *
 * @example
 * ```ts
 * new ArrayDataset([1, 2]).get(5); // IndexError: index 5 is out of range for a dataset of length 2
 * ```
 */
export class IndexError extends WeftError {
  override name = 'IndexError';
}

/**
 * Collating a batch failed: items of different shapes or keys, or items from more than one dataset.
 *
 * @example
 * ```ts
 * defaultCollate([{ a: 1 }, { b: 2 }]); // CollateError naming the keys
 * ```
 */
export class CollateError extends WeftError {
  override name = 'CollateError';
}

/**
 * Loading a batch failed inside a worker: a dataset's `get`, the collate function, or sending the batch
 * back. The message names the sample, its dataset, the batch and the worker; `cause` is the original error
 * rebuilt from its name, message and stack (errors cross threads as plain data).
 *
 * @param message - names where the failure happened
 * @param where - the worker, batch, sample index and source dataset involved
 * @param options - `cause` is the original error
 * @example
 * ```ts
 * try { for await (const b of loader) train(b); } catch (e) { if (e instanceof WorkerError) console.error(e.cause); }
 * ```
 */
export class WorkerError extends WeftError {
  override name = 'WorkerError';
  /** Id of the worker (0 ≤ id < numWorkers). */
  readonly worker: number;
  /** Number of the batch in the iteration (from 0), or `undefined` for a failure at start-up. */
  readonly batch: number | undefined;
  /** Index of the sample whose `get` failed, or `undefined` when collate or start-up failed. */
  readonly index: number | undefined;
  /** Position of the source dataset (a {@link ConcatDataset}'s `locate(index).dataset`), if known. */
  readonly dataset: number | undefined;
  constructor(
    message: string,
    where: { worker: number; batch?: number; index?: number; dataset?: number },
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.worker = where.worker;
    this.batch = where.batch;
    this.index = where.index;
    this.dataset = where.dataset;
  }
}

/**
 * A worker exited unexpectedly more often than the loader's restart limit allows.
 *
 * @param message - names the worker, its exit code and the batches it was loading
 * @example
 * ```ts
 * // WorkerCrashError: worker 1 exited with code 3 while loading batches 4, 6; gave up after 3 restarts
 * ```
 */
export class WorkerCrashError extends WeftError {
  override name = 'WorkerCrashError';
}

/**
 * A batch did not arrive within the loader's `timeout`.
 *
 * @param message - names the late batch and the timeout
 * @param batch - number of the late batch in the iteration (from 0)
 * @example
 * ```ts
 * // LoaderTimeoutError: batch 3 did not arrive within 5000 ms (worker 1)
 * ```
 */
export class LoaderTimeoutError extends WeftError {
  override name = 'LoaderTimeoutError';
  /** Number of the late batch in the iteration (from 0). */
  readonly batch: number;
  constructor(message: string, batch: number, options?: ErrorOptions) {
    super(message, options);
    this.batch = batch;
  }
}

/**
 * A data file is unreadable or corrupt: missing, truncated, not in the format its name says, or changed
 * since it was indexed. The message names the file; `cause` keeps the reader's own error.
 *
 * @param message - names the file and what is wrong with it
 * @param file - path of the file
 * @param options - `cause` is the reader's error
 * @example
 * ```ts
 * // DataError: cannot decode image /data/train/cat/12.jpg: VipsJpeg: premature end of JPEG image
 * try { await folder.get(12); } catch (e) { if (e instanceof DataError) console.error(e.file); }
 * ```
 */
export class DataError extends WeftError {
  /** Always `'DataError'`. */
  override name = 'DataError';
  /** Path of the unreadable file. */
  readonly file: string;
  constructor(message: string, file: string, options?: ErrorOptions) {
    super(message, options);
    this.file = file;
  }
}
