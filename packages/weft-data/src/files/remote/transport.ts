// Requests to a remote object, whatever the protocol: what one attempt returns, which failures are worth
// another attempt, and the retry loop with exponential backoff that ends in a RemoteError.
import { FileError, RemoteError, WeftError } from '../../core/errors.ts';

/** What a remote object is when opened: its size and a version that changes when it does. @internal */
export interface RemoteStat {
  readonly size: number;
  /** The ETag (or, failing that, the last-modified date); `''` when the server gives neither. */
  readonly etag: string;
}

/** Bytes [start, end) of the object, and the version and size the server reported with them. @internal */
export interface RemoteRange extends RemoteStat {
  readonly bytes: Uint8Array;
}

/**
 * One attempt failed: `status` when the server answered, `retry` when another attempt may succeed (5xx, 429,
 * a reset connection, a timeout), `why` for the message.
 *
 * @internal
 */
export class AttemptError extends Error {
  constructor(
    readonly why: string,
    readonly retry: boolean,
    readonly status?: number,
    options?: ErrorOptions,
  ) {
    super(why, options);
  }
}

/** One protocol's requests (`http.ts`, `s3.ts`); each call is one attempt, failing with an {@link AttemptError}. @internal */
export interface Transport {
  stat(signal: AbortSignal): Promise<RemoteStat>;
  range(start: number, end: number, signal: AbortSignal): Promise<RemoteRange>;
}

/** The first backoff; each retry waits twice as long as the one before, up to {@link MAX_BACKOFF_MS}. */
const BASE_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5000;

/**
 * Runs `attempt` with a fresh `timeoutMs` signal until it succeeds, fails for good, or has failed
 * `retries + 1` times; then a {@link RemoteError} naming `url`, `what` was read, the last status or error and
 * the attempts. A weft error (the object changed, a missing peer package) ends the loop at once.
 *
 * @param url - the object's URL, for the message
 * @param what - what was read, for the message (`bytes 0–1023`, `its size`)
 * @param options - `retries` and `timeoutMs`
 * @param attempt - one request
 * @returns what the successful attempt returned
 * @example
 * ```ts
 * const stat = await withRetries(url, 'its size', options, (signal) => transport.stat(signal));
 * ```
 * @internal
 */
export async function withRetries<T>(
  url: string,
  what: string,
  { retries, timeoutMs }: { retries: number; timeoutMs: number },
  attempt: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  for (let n = 1; ; n++) {
    const signal = AbortSignal.timeout(timeoutMs);
    let failure: AttemptError;
    try {
      return await attempt(signal);
    } catch (e) {
      // The object changed, or a peer package is missing: no retry helps.
      if (e instanceof WeftError) throw e;
      failure = signal.aborted ? new AttemptError(`no answer within ${timeoutMs} ms`, true) : asAttempt(e);
    }
    if (!failure.retry || n > retries) {
      throw new RemoteError(
        `cannot read ${url} (${what}): ${failure.why}, after ${n} attempt${n === 1 ? '' : 's'}`,
        failure.status === undefined ? { url, attempts: n } : { url, status: failure.status, attempts: n },
        { cause: failure.cause ?? failure },
      );
    }
    await new Promise((resolve) =>
      setTimeout(resolve, Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** (n - 1))),
    );
  }
}

/** Any error of an attempt as an {@link AttemptError}: a network error (reset, refused, DNS) is worth a retry. */
function asAttempt(e: unknown): AttemptError {
  if (e instanceof AttemptError) return e;
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code ?? (e as NodeJS.ErrnoException).code;
  const message = cause?.message ?? (e as Error).message;
  return new AttemptError(code === undefined ? message : `${code} (${message})`, true, undefined, {
    cause: e,
  });
}

/**
 * The {@link FileError} for an object whose size or version differs from the one seen when it was opened.
 *
 * @param url - the object's URL
 * @param was - what it was when opened
 * @param now - what the server reports now
 * @returns the error
 * @example
 * ```ts
 * if (got.etag !== stat.etag) throw remoteChanged(url, stat, got);
 * ```
 * @internal
 */
export function remoteChanged(url: string, was: RemoteStat, now: RemoteStat): FileError {
  const parts: string[] = [];
  if (was.size !== now.size) parts.push(`size ${was.size} → ${now.size} bytes`);
  if (was.etag !== now.etag) parts.push(`ETag ${was.etag} → ${now.etag}`);
  return new FileError(
    `${url} changed after the dataset was opened (${parts.join(', ')}); open the dataset again`,
    {
      file: url,
    },
  );
}
