// http:// and https:// objects, read with Node's built-in fetch: HEAD for the size and ETag, then GET with a
// Range header for each block.
import { STATUS_CODES } from 'node:http';
import { AttemptError, type RemoteRange, type RemoteStat, type Transport } from './transport.ts';

/** A status as the message shows it: `HTTP 503 Service Unavailable`. */
const statusText = (status: number): string => `HTTP ${status} ${STATUS_CODES[status] ?? ''}`.trimEnd();

/** The failure of an answer with status `status`: worth a retry for 5xx and 429 only. */
const statusError = (status: number): AttemptError =>
  new AttemptError(statusText(status), status >= 500 || status === 429, status);

/** Statuses of a HEAD that a GET may not get: not allowed, not implemented, or forbidden (a URL signed for GET). */
const NO_HEAD = new Set([403, 405, 501]);

/** The version of an answer: its ETag, else its Last-Modified date. */
const versionOf = (headers: Headers): string => headers.get('etag') ?? headers.get('last-modified') ?? '';

/**
 * The requests of one http(s) object.
 *
 * @param url - the object's URL
 * @returns its transport
 * @example
 * ```ts
 * const stat = await withRetries(url, 'its size', options, (signal) => httpTransport(url).stat(signal));
 * ```
 * @internal
 */
export function httpTransport(url: string): Transport {
  return {
    async stat(signal: AbortSignal): Promise<RemoteStat> {
      const res = await fetch(url, { method: 'HEAD', signal });
      if (NO_HEAD.has(res.status)) {
        // A server (or a URL signed for GET only) that refuses HEAD: the first byte tells the size too.
        const { size, etag } = await this.range(0, 1, signal);
        return { size, etag };
      }
      if (!res.ok) throw statusError(res.status);
      const length = res.headers.get('content-length');
      if (length === null || !/^\d+$/.test(length)) {
        throw new AttemptError(
          'the server gives no Content-Length, so the size is unknown',
          false,
          res.status,
        );
      }
      return { size: Number(length), etag: versionOf(res.headers) };
    },
    async range(start: number, end: number, signal: AbortSignal): Promise<RemoteRange> {
      const res = await fetch(url, { headers: { range: `bytes=${start}-${end - 1}` }, signal });
      if (res.status !== 206 && res.status !== 200) {
        await res.body?.cancel();
        throw statusError(res.status);
      }
      let size: number;
      if (res.status === 206) {
        const total = /\/(\d+)$/.exec(res.headers.get('content-range') ?? '');
        if (total === null) throw new AttemptError('a 206 answer without a Content-Range size', false, 206);
        size = Number(total[1]);
      } else {
        // A server that ignores Range sends the whole object: usable only when that is what was asked for.
        size = Number(res.headers.get('content-length') ?? Number.NaN);
        if (start !== 0 || end !== size) {
          await res.body?.cancel();
          throw new AttemptError('the server ignores range requests (it answered 200, not 206)', false, 200);
        }
      }
      const bytes = new Uint8Array(await res.arrayBuffer());
      return { bytes, size, etag: versionOf(res.headers) };
    },
  };
}
