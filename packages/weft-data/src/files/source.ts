// Where a dataset's bytes come from. Every file and shard format reads through a ByteSource, so a local path,
// an http(s):// URL and an s3:// URL open through the same call; the remote kinds (and their node-wide cache
// in `cacheDir`) plug in here. A source's state is plain data, so each worker reopens it from the state the
// dataset sends.
import { join } from 'node:path';
import { FileError } from '../core/errors.ts';
import { type FileStamp, PositionalFile, stampFile } from './file.ts';

/**
 * Options of every source. Remote sources add theirs (`cacheDir`, `cacheBytes`, `region`, `endpoint`, …).
 *
 * @example
 * ```ts
 * const source = await openSource('data/train.bin', {});
 * ```
 */
export interface SourceOptions {
  /** The node-wide cache of remote objects (unused for local files). */
  cacheDir?: string;
}

/** What a worker needs to reopen a source: plain, cloneable data. @internal */
export interface SourceState {
  /** The path or URL given, resolved (an absolute path for local files). */
  readonly location: string;
  /** Size in bytes when the source was opened. */
  readonly size: number;
  /** The local file's stamp, which later reads check. */
  readonly stamp?: FileStamp;
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
 * Opens the object at `location` (an absolute path here; `http(s)://` and `s3://` URLs are the remote kinds).
 *
 * @param location - an absolute file path or a URL
 * @param _options - the source options @default {}
 * @returns the source
 * @example
 * ```ts
 * const source = await openSource('/data/train.bin');
 * ```
 */
export async function openSource(location: string, _options: SourceOptions = {}): Promise<ByteSource> {
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
  if (state.stamp === undefined)
    throw new FileError(`${state.location}: no stamp to reopen it by`, { file: state.location });
  return new LocalSource(state.location, state.stamp);
}
