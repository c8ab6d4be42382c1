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
  /** Always `'WeftError'`: stable across versions and bundlers, so it is safe to compare against. */
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
  /** Always `'ConfigError'`: stable across versions and bundlers, so it is safe to compare against. */
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
  /** Always `'IndexError'`: stable across versions and bundlers, so it is safe to compare against. */
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
  /** Always `'CollateError'`: stable across versions and bundlers, so it is safe to compare against. */
  override name = 'CollateError';
}

/** Where in a file a {@link FileError} happened: the file, and the line, row or byte offset when known. */
export interface FileLocation {
  /** Absolute path of the file. */
  readonly file: string;
  /** 1-based line number in a text file (JSONL, CSV). */
  readonly line?: number;
  /** 0-based row (item) number. */
  readonly row?: number;
  /** Byte offset in the file. */
  readonly offset?: number;
}

/**
 * A data file is missing, unreadable, corrupt, truncated, or changed since the dataset indexed it. The
 * message names the file and, when known, the line, row or byte offset; the same are fields.
 *
 * @param message - names the file and what is wrong with it
 * @param where - the file and the line, row or offset involved
 * @param options - `cause` is the underlying error (a parser's, the file system's)
 * @example
 * ```ts
 * // FileError: /data/train.jsonl, line 7: malformed JSON: Unexpected token } in JSON at position 12
 * try { await loader[Symbol.asyncIterator]().next(); } catch (e) { if (e instanceof FileError) console.error(e.file, e.line); }
 * ```
 */
export class FileError extends WeftError {
  /** Always `'FileError'`: stable across versions and bundlers, so it is safe to compare against. */
  override name = 'FileError';
  /** Absolute path of the file. */
  readonly file: string;
  /** 1-based line number, for text files. */
  readonly line: number | undefined;
  /** 0-based row (item) number. */
  readonly row: number | undefined;
  /** Byte offset in the file. */
  readonly offset: number | undefined;
  constructor(message: string, where: FileLocation, options?: ErrorOptions) {
    super(message, options);
    this.file = where.file;
    this.line = where.line;
    this.row = where.row;
    this.offset = where.offset;
  }
}

/**
 * A remote object (an `http(s)://` or `s3://` URL) could not be read: the server kept answering with an
 * error status, resetting the connection or not answering within `timeoutMs`, through every retry. A
 * {@link FileError} (its `file` is the URL), so code that handles unreadable files handles it too; a remote
 * object that changed since the dataset was opened is a plain FileError, as for a local file.
 *
 * @param message - names the URL, the HTTP status or network error, and the attempts made
 * @param where - the URL, its status (when the server answered) and the attempts
 * @param options - `cause` is the last network error, when there was one
 * @example
 * ```ts
 * // RemoteError: cannot read http://127.0.0.1:8080/train.jsonl (bytes 0–8388607): HTTP 503 Service Unavailable, after 4 attempts
 * try { await JsonlDataset.open('http://127.0.0.1:8080/train.jsonl'); } catch (e) { if (e instanceof RemoteError) console.error(e.status); }
 * ```
 */
export class RemoteError extends FileError {
  /** Always `'RemoteError'`: stable across versions and bundlers, so it is safe to compare against. */
  override name = 'RemoteError';
  /** The URL read. */
  readonly url: string;
  /** The last HTTP status, or `undefined` when the last attempt got no answer (a reset, a timeout). */
  readonly status: number | undefined;
  /** Requests made, the first included. */
  readonly attempts: number;
  constructor(
    message: string,
    where: { url: string; status?: number; attempts: number; offset?: number },
    options?: ErrorOptions,
  ) {
    super(message, { file: where.url, offset: where.offset }, options);
    this.url = where.url;
    this.status = where.status;
    this.attempts = where.attempts;
  }
}

/**
 * Loading a batch failed inside a worker: a dataset's `get`, the collate function, or sending the batch
 * back. The message names the sample, its dataset, the batch and the worker; `cause` is the original error
 * rebuilt from the plain data that crossed the thread: a weft error as its own class with its fields (a
 * {@link FileError} keeps `file`, `line`, `row`), any other as an `Error` with its name, message, stack and
 * fields; its own `cause` likewise.
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
  /** Always `'WorkerError'`: stable across versions and bundlers, so it is safe to compare against. */
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
  /** Always `'WorkerCrashError'`: stable across versions and bundlers, so it is safe to compare against. */
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
  /** Always `'LoaderTimeoutError'`: stable across versions and bundlers, so it is safe to compare against. */
  override name = 'LoaderTimeoutError';
  constructor(
    message: string,
    /** Number of the late batch in the iteration (from 0). */
    readonly batch: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * The loader was closed (`close()`, `await using`) while an iteration was still loading: the pending
 * `next()` rejects with this error, and the code after the loop runs as after any other error.
 *
 * @param message - says that the loader was closed
 * @example
 * ```ts
 * process.once('SIGINT', () => void loader.close());
 * try { for await (const b of loader) train(b); } catch (e) { if (!(e instanceof LoaderClosedError)) throw e; }
 * ```
 */
export class LoaderClosedError extends WeftError {
  /** Always `'LoaderClosedError'`: stable across versions and bundlers, so it is safe to compare against. */
  override name = 'LoaderClosedError';
}

/**
 * Every error class of weft by its `name`: how an error that crossed a thread as plain data is rebuilt as
 * its own class (see engine/protocol.ts). A new error class goes here too (a test checks that none is
 * missing).
 *
 * @example
 * ```ts
 * const Class = WEFT_ERRORS['FileError']; // FileError
 * ```
 * @internal
 */
export const WEFT_ERRORS: Readonly<Record<string, abstract new (...args: never[]) => WeftError>> =
  Object.freeze({
    WeftError,
    ConfigError,
    IndexError,
    CollateError,
    FileError,
    RemoteError,
    WorkerError,
    WorkerCrashError,
    LoaderTimeoutError,
    LoaderClosedError,
  });
