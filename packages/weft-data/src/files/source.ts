// Where a dataset's bytes come from. Every file and shard format reads through a ByteSource, so a local path,
// an http(s):// URL and an s3:// URL open through the same call; the remote kinds (and their node-wide cache
// in `cacheDir`) plug in here. A source's state is plain data, so each worker reopens it from the state the
// dataset sends.
import { join } from 'node:path';
import { isPromiseLike } from '../core/checks.ts';
import { FileError, type FileLocation } from '../core/errors.ts';
import { cutRecord, type FileStamp, NEWLINE, PositionalFile, type RandomAccess, stampFile } from './file.ts';
import { type RemoteOptions, type ResolvedRemote, resolveRemote } from './remote/options.ts';
import { isRemote, RemoteSource } from './remote/remote-source.ts';

/**
 * Options of every source: the remote ones ({@link RemoteOptions}: `cacheDir`, `cacheBytes`, `blockBytes`,
 * `retries`, `timeoutMs`, `region`, `endpoint`), ignored for local files.
 *
 * @example
 * ```ts
 * const source = await openSource('s3://bucket/train.bin', { cacheDir: '/scratch/weft', endpoint: 'http://127.0.0.1:9000' });
 * ```
 */
export interface SourceOptions extends RemoteOptions {}

/** What a worker needs to reopen a source: plain, cloneable data. @internal */
export interface SourceState {
  /** The path or URL given, resolved (an absolute path for local files). */
  readonly location: string;
  /** Size in bytes when the source was opened. */
  readonly size: number;
  /** The local file's stamp, which later reads check. */
  readonly stamp?: FileStamp;
  /** A remote object's version when opened (its ETag, else its Last-Modified date). */
  readonly etag?: string;
  /** A remote object's options (the cache, retries, the S3 server), defaults applied. */
  readonly remote?: ResolvedRemote;
}

/**
 * The bytes of one object: a local file, or a remote object read through the cache.
 *
 * @example
 * ```ts
 * const head = await source.read(0, 16);
 * ```
 */
export interface ByteSource {
  /** The path or URL, for messages. */
  readonly location: string;
  /** Size in bytes. */
  readonly size: number;
  /**
   * Bytes [offset, offset + length), or a {@link FileError} (changed, truncated, unreachable). The result may
   * be a view that the next read overwrites: copy what you keep.
   */
  read(offset: number, length: number): Uint8Array | Promise<Uint8Array>;
  /**
   * Optional (remote sources): starts fetching bytes [offset, offset + length) into the cache in the
   * background, so that a later `read` of them is local. A dataset's `prefetch` calls it. Answers whether
   * this thread's downloads ahead have room for more.
   */
  prefetch?(offset: number, length: number): boolean;
  /** The state a worker reopens this source from ({@link sourceFromState}). */
  state(): SourceState;
  /** Releases descriptors; a later read opens again. */
  close(): void;
}

class LocalSource implements ByteSource {
  readonly #file: PositionalFile;
  #buffer = new Uint8Array(0);
  constructor(
    readonly location: string,
    readonly stamp: FileStamp,
  ) {
    this.#file = new PositionalFile(location, stamp);
  }
  get size(): number {
    return this.stamp.size;
  }
  read(offset: number, length: number): Uint8Array {
    if (offset < 0 || length < 0 || offset + length > this.size) {
      throw new FileError(
        `${this.location}: bytes ${offset}–${offset + length} are outside the file (${this.size} bytes)`,
        { file: this.location, offset },
      );
    }
    if (this.#buffer.length < length)
      this.#buffer = new Uint8Array(Math.max(length, this.#buffer.length * 2));
    this.#file.read(this.#buffer, offset, length);
    return this.#buffer.subarray(0, length);
  }
  state(): SourceState {
    return { location: this.location, size: this.size, stamp: this.stamp };
  }
  close(): void {
    this.#file.close();
  }
}

/**
 * Opens the object at `location`: an absolute path (stamped now), or an `http://`, `https://` or `s3://` URL
 * (one request for its size and ETag, with retries; its bytes are then read in blocks through the cache in
 * `options.cacheDir`). The options are taken as checked (a dataset's `open` checks them).
 *
 * @param location - an absolute file path or a URL
 * @param options - the source options @default {}
 * @returns the source
 * @example
 * ```ts
 * const source = await openSource('/data/train.bin');
 * const remote = await openSource('https://example.org/train.bin', { cacheDir: '/scratch/weft' });
 * ```
 */
export async function openSource(location: string, options: SourceOptions = {}): Promise<ByteSource> {
  if (isRemote(location)) return RemoteSource.open(location, resolveRemote(options));
  return new LocalSource(location, stampFile(location));
}

/**
 * The location of `name` beside or under `base`: a path joined to a directory path, or a URL resolved
 * against a URL's "directory" (for formats spread over several objects, such as an index and its shards).
 *
 * @param base - a directory path or a URL (a trailing `/` is optional)
 * @param name - a relative name, e.g. `shard.00000.mds`
 * @returns the joined location
 * @example
 * ```ts
 * joinLocation('s3://bucket/train', 'index.json'); // 's3://bucket/train/index.json'
 * ```
 */
export function joinLocation(base: string, name: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(base))
    return new URL(name, base.endsWith('/') ? base : `${base}/`).href;
  return join(base, name);
}

/**
 * Reopens a source in a worker from its state, checking later reads against the stamp taken at open.
 *
 * @param state - what {@link ByteSource.state} gave
 * @returns the source
 * @example
 * ```ts
 * const again = sourceFromState(source.state());
 * ```
 */
export function sourceFromState(state: SourceState): ByteSource {
  if (state.remote !== undefined && state.etag !== undefined) {
    return new RemoteSource({
      location: state.location,
      size: state.size,
      etag: state.etag,
      remote: state.remote,
    });
  }
  if (state.stamp === undefined)
    throw new FileError(`${state.location}: no stamp to reopen it by`, { file: state.location });
  return new LocalSource(state.location, state.stamp);
}

/**
 * The reader of a file dataset's bytes, from the source's state: a {@link PositionalFile} for a local file
 * (synchronous, as fast as ever), a {@link SourceFile} over the cache for a remote object.
 *
 * @param state - the dataset's source state
 * @returns this thread's reader
 * @example
 * ```ts
 * this.#file = readerOf(state.source);
 * ```
 * @internal
 */
export function readerOf(state: SourceState): RandomAccess {
  if (state.remote === undefined && state.stamp !== undefined)
    return new PositionalFile(state.location, state.stamp);
  return new SourceFile(sourceFromState(state));
}

/**
 * A {@link RandomAccess} over any {@link ByteSource}: what file datasets read remote objects with. Reads
 * are synchronous when the source's are (blocks in the cache), else promises.
 *
 * @example
 * ```ts
 * const file = new SourceFile(await openSource(url, options));
 * ```
 * @internal
 */
export class SourceFile implements RandomAccess {
  readonly source: ByteSource;
  constructor(source: ByteSource) {
    this.source = source;
  }
  get path(): string {
    return this.source.location;
  }
  get size(): number {
    return this.source.size;
  }
  read(
    target: Uint8Array,
    position: number,
    length: number,
    _where?: Omit<FileLocation, 'file'>,
    at = 0,
  ): void | Promise<void> {
    const bytes = this.source.read(position, length);
    if (isPromiseLike(bytes)) return bytes.then((b) => void target.set(b, at));
    target.set(bytes, at);
  }
  readRecord(
    start: number,
    end: number,
    last: boolean,
    where: { line: number; row: number },
    newline: number = NEWLINE,
  ): Uint8Array | Promise<Uint8Array> {
    const from = start > 0 ? start - 1 : 0;
    const cut = (bytes: Uint8Array) => cutRecord(bytes, this.path, start, last, where, () => {}, newline);
    const bytes = this.source.read(from, end - from);
    return isPromiseLike(bytes) ? bytes.then(cut) : cut(bytes);
  }
  prefetch(offset: number, length: number): boolean {
    return this.source.prefetch?.(offset, length) ?? false;
  }
  /** Remote objects are checked against their ETag and size on every download. */
  verify(): void {}
  close(): void {
    this.source.close();
  }
}
