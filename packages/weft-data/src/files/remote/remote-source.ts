// A remote object read through the node-wide cache, in blocks: block b is bytes [b × blockBytes, (b + 1) ×
// blockBytes), an object up to blockBytes is one block, each fetched whole with one range request. A read
// whose blocks are all in the cache is synchronous (one positional read per block); otherwise it downloads
// (or waits for another thread's download of) the missing blocks and returns a promise.
import { createHash } from 'node:crypto';
import { FileError } from '../../core/errors.ts';
import { NodeCache, readEntry } from './cache.ts';
import { httpTransport } from './http.ts';
import type { ResolvedRemote } from './options.ts';
import { s3Transport } from './s3.ts';
import { AttemptError, type RemoteStat, remoteChanged, type Transport, withRetries } from './transport.ts';

/** What a worker reopens a remote object from. @internal */
export interface RemoteState {
  readonly location: string;
  readonly size: number;
  /** The version seen when opened (ETag, else Last-Modified). */
  readonly etag: string;
  readonly remote: ResolvedRemote;
}

/**
 * Prefetch downloads one thread runs at once, over every object of a cache: a shard format has one object
 * per shard, so a bound per object would bound nothing; several at once, since one response's bandwidth is
 * often below what a loader reads (S3 gives each connection its share).
 */
const PREFETCH_CONCURRENCY = 8;
/** Blocks one thread keeps queued or downloading ahead of the reads, over every object of a cache. */
const PREFETCH_AHEAD = 16;

/**
 * One thread's prefetch downloads into one cache, over all its objects: a queue run {@link
 * PREFETCH_CONCURRENCY} at a time, which takes blocks while fewer than {@link PREFETCH_AHEAD} (and at most half
 * the cache's budget) are queued or under way, so that what is fetched ahead never crowds out what
 * is being read.
 */
class Prefetcher {
  static readonly #of = new WeakMap<NodeCache, Prefetcher>();
  /** The prefetcher of `cache` (this thread's). */
  static of(cache: NodeCache): Prefetcher {
    let prefetcher = Prefetcher.#of.get(cache);
    if (prefetcher === undefined) {
      prefetcher = new Prefetcher(cache.budget);
      Prefetcher.#of.set(cache, prefetcher);
    }
    return prefetcher;
  }

  readonly #budget: number;
  readonly #queue: { name: string; bytes: number; run: () => Promise<void> }[] = [];
  /** Bytes of each block queued or under way, by entry name. */
  readonly #pending = new Map<string, number>();
  #bytes = 0;
  #running = 0;

  private constructor(budget: number) {
    this.#budget = budget;
  }

  /** Whether entry `name` is queued or under way. */
  has(name: string): boolean {
    return this.#pending.has(name);
  }

  /** Whether a block of `bytes` more fits among the downloads ahead. */
  room(bytes: number): boolean {
    return this.#pending.size < PREFETCH_AHEAD && this.#bytes + bytes <= this.#budget / 2;
  }

  /** Queues the download of entry `name` (`bytes` long) by `run`. */
  add(name: string, bytes: number, run: () => Promise<void>): void {
    this.#pending.set(name, bytes);
    this.#bytes += bytes;
    this.#queue.push({ name, bytes, run });
    this.#pump();
  }

  #pump(): void {
    while (this.#running < PREFETCH_CONCURRENCY && this.#queue.length > 0) {
      const { name, bytes, run } = this.#queue.shift() as {
        name: string;
        bytes: number;
        run: () => Promise<void>;
      };
      this.#running++;
      run()
        .catch(() => {
          // reported by the read that needs it (see RemoteSource.prefetch)
        })
        .finally(() => {
          this.#running--;
          this.#pending.delete(name);
          this.#bytes -= bytes;
          this.#pump();
        });
    }
  }
}

/**
 * Whether `location` is a URL that a remote source reads (`http://`, `https://`, `s3://`).
 *
 * @param location - a path or URL
 * @example
 * ```ts
 * isRemote('s3://bucket/train.jsonl'); // true
 * ```
 * @internal
 */
export const isRemote = (location: string): boolean => /^(https?|s3):\/\//i.test(location);

function transportOf(location: string, remote: ResolvedRemote): Transport {
  return location.toLowerCase().startsWith('s3://')
    ? s3Transport(location, remote.region, remote.endpoint)
    : httpTransport(location);
}

/**
 * A remote object read in blocks through the node-wide cache (see the module's note).
 *
 * @example
 * ```ts
 * const source = await RemoteSource.open('http://127.0.0.1:8080/train.bin', resolveRemote({}));
 * const bytes = await source.read(0, 16);
 * ```
 * @internal
 */
export class RemoteSource {
  readonly location: string;
  readonly size: number;
  readonly #state: RemoteState;
  readonly #stat: RemoteStat;
  readonly #key: string;
  readonly #block: number;
  #transport: Transport | undefined;
  #cache: NodeCache | undefined;
  #buffer = new Uint8Array(0);
  /** When each block was last found in the cache by `prefetch`. */
  readonly #present = new Map<number, number>();

  /**
   * Opens `location`: one request for its size and version (with retries).
   *
   * @param location - an http(s):// or s3:// URL
   * @param remote - the remote options, resolved
   */
  static async open(location: string, remote: ResolvedRemote): Promise<RemoteSource> {
    const transport = transportOf(location, remote);
    const stat = await withRetries(location, 'its size', remote, (signal) => transport.stat(signal));
    return new RemoteSource({ location, size: stat.size, etag: stat.etag, remote }, transport);
  }

  /**
   * @param state - what {@link RemoteSource.state} gave (in a worker)
   * @param transport - the requests, when already made
   */
  constructor(state: RemoteState, transport?: Transport) {
    this.#state = state;
    this.location = state.location;
    this.size = state.size;
    this.#stat = { size: state.size, etag: state.etag };
    this.#block = state.remote.blockBytes;
    this.#transport = transport;
    this.#key = createHash('sha256')
      .update(`${state.location}\n${state.etag}\n${state.size}`)
      .digest('hex')
      .slice(0, 32);
  }

  /** This thread's handle on the cache (made on first use). */
  get cache(): NodeCache {
    this.#cache ??= NodeCache.of(this.#state.remote.cacheDir, this.#state.remote.cacheBytes);
    return this.#cache;
  }

  /** The name of a cache entry of this object (`what`: a block, or an index's kind). */
  entry(what: string | number): string {
    return `${this.#key}.${what}`;
  }

  /** Block `block`'s entry, named with the block size too: opens with another `blockBytes` share nothing. */
  #blockEntry(block: number): string {
    return this.entry(`${this.#block}-${block}`);
  }

  #length(block: number): number {
    return Math.min(this.size, (block + 1) * this.#block) - block * this.#block;
  }

  /**
   * Bytes [offset, offset + length): synchronously when their blocks are in the cache (a view that the next
   * read overwrites), else a promise (of bytes of its own).
   *
   * @param offset - first byte
   * @param length - bytes to read
   */
  read(offset: number, length: number): Uint8Array | Promise<Uint8Array> {
    if (offset < 0 || length < 0 || offset + length > this.size) {
      throw new FileError(
        `${this.location}: bytes ${offset}–${offset + length} are outside the object (${this.size} bytes)`,
        { file: this.location, offset },
      );
    }
    return this.#readCached(offset, length) ?? this.#readSlow(offset, length);
  }

  /** The bytes if every block they span is in the cache (opened), else `undefined`. */
  #readCached(offset: number, length: number): Uint8Array | undefined {
    if (this.#buffer.length < length)
      this.#buffer = new Uint8Array(Math.max(length, this.#buffer.length * 2));
    const out = this.#buffer.subarray(0, length);
    const B = this.#block;
    for (let at = 0; at < length; ) {
      const block = Math.floor((offset + at) / B);
      const fd = this.cache.fdOf(this.#blockEntry(block), this.#length(block));
      if (fd === undefined) return undefined;
      const n = Math.min(length - at, (block + 1) * B - (offset + at));
      readEntry(fd, out, at, n, offset + at - block * B);
      at += n;
    }
    return out;
  }

  async #readSlow(offset: number, length: number): Promise<Uint8Array> {
    const B = this.#block;
    const last = length === 0 ? -1 : Math.floor((offset + length - 1) / B);
    for (let round = 1; ; round++) {
      const blocks: Promise<void>[] = [];
      for (let b = Math.floor(offset / B); b <= last; b++) blocks.push(this.#ensure(b));
      await Promise.all(blocks);
      // A block may be evicted between its download and this read (by another thread, or by this read's
      // other blocks when they exceed the budget): fetch again, a few times.
      const bytes = this.#readCached(offset, length);
      // A copy: other reads run before the caller resumes, and reuse the buffer.
      if (bytes !== undefined) return bytes.slice();
      if (round === 3) {
        throw new FileError(
          `${this.location}: bytes ${offset}–${offset + length - 1} span ${last - Math.floor(offset / B) + 1} blocks of ${B} bytes, which the cache (cacheBytes ${this.#state.remote.cacheBytes}) cannot hold at once beside what other readers use; raise cacheBytes`,
          { file: this.location, offset },
        );
      }
    }
  }

  /** Downloads block `block` into the cache if no one on the node has it. */
  #ensure(block: number): Promise<void> {
    const length = this.#length(block);
    return this.cache.ensure(this.#blockEntry(block), length, () => this.#download(block, length));
  }

  async #download(block: number, length: number): Promise<Uint8Array> {
    const start = block * this.#block;
    const end = start + length;
    this.#transport ??= transportOf(this.location, this.#state.remote);
    const transport = this.#transport;
    return withRetries(this.location, `bytes ${start}–${end - 1}`, this.#state.remote, async (signal) => {
      const got = await transport.range(start, end, signal);
      if (got.size !== this.#stat.size || got.etag !== this.#stat.etag)
        throw remoteChanged(this.location, this.#stat, got);
      if (got.bytes.length !== length) {
        throw new AttemptError(`the answer has ${got.bytes.length} bytes, ${length} were asked for`, true);
      }
      return got.bytes;
    });
  }

  /**
   * Starts downloading, in the background, the blocks of bytes [offset, offset + length) that the cache
   * lacks, through this thread's queue of downloads ahead (see {@link Prefetcher}): blocks beyond its room
   * are left for a later call (or the read). A failed prefetch is not reported here: the read that needs
   * the block downloads it again and reports what fails.
   *
   * @param offset - first byte
   * @param length - bytes
   * @returns whether the downloads ahead have room for more (the loader then reads further ahead)
   */
  prefetch(offset: number, length: number): boolean {
    const prefetcher = Prefetcher.of(this.cache);
    if (length <= 0) return prefetcher.room(0);
    const B = this.#block;
    for (let b = Math.floor(offset / B); b <= Math.floor((offset + length - 1) / B); b++) {
      const name = this.#blockEntry(b);
      if (prefetcher.has(name)) continue;
      // Items of one block come many times: look at the cache for it at most once a second.
      const now = Date.now();
      if (now - (this.#present.get(b) ?? Number.NEGATIVE_INFINITY) < 1000) continue;
      if (this.cache.has(name)) {
        this.#present.set(b, now);
        continue;
      }
      if (!prefetcher.room(this.#length(b))) return false;
      prefetcher.add(name, this.#length(b), () => this.#ensure(b));
    }
    return prefetcher.room(0);
  }

  /**
   * An index of this object saved in the cache by {@link RemoteSource.saveArrays} (keyed by its URL and
   * ETag, so a changed object never gets an old index), in new shared memory; `undefined` if none is saved.
   *
   * @param kind - which index (`lines`, `records`)
   */
  loadArrays(kind: string): (Uint32Array | Float64Array)[] | undefined {
    const bytes = this.cache.load(this.entry(kind));
    if (bytes === undefined || bytes.length < 4) return undefined;
    const head = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    const count = head.getUint32(0, true);
    let at = 8 * (count + 1);
    const out: (Uint32Array | Float64Array)[] = [];
    for (let k = 0; k < count; k++) {
      const wide = head.getUint32(8 * (k + 1), true) === 1;
      const length = head.getUint32(8 * (k + 1) + 4, true);
      const size = length * (wide ? 8 : 4);
      if (at + size > bytes.length) return undefined;
      const shared = new SharedArrayBuffer(size);
      new Uint8Array(shared).set(bytes.subarray(at, at + size));
      out.push(wide ? new Float64Array(shared) : new Uint32Array(shared));
      at += size + ((8 - (size % 8)) % 8);
    }
    return out;
  }

  /**
   * Saves an index of this object in the cache (within its budget, like a block), for the next `open` on
   * the node.
   *
   * @param kind - which index
   * @param arrays - its arrays
   */
  async saveArrays(kind: string, arrays: readonly (Uint32Array | Float64Array)[]): Promise<void> {
    const pad = (n: number) => n + ((8 - (n % 8)) % 8);
    const size = arrays.reduce((sum, a) => sum + pad(a.byteLength), 8 * (arrays.length + 1));
    const bytes = new Uint8Array(size);
    const head = new DataView(bytes.buffer);
    head.setUint32(0, arrays.length, true);
    let at = 8 * (arrays.length + 1);
    arrays.forEach((a, k) => {
      head.setUint32(8 * (k + 1), a instanceof Float64Array ? 1 : 0, true);
      head.setUint32(8 * (k + 1) + 4, a.length, true);
      bytes.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at);
      at += pad(a.byteLength);
    });
    await this.cache.store(this.entry(kind), bytes);
  }

  /** What a worker reopens this object from. */
  state(): RemoteState {
    return this.#state;
  }

  /** Nothing to release: the cache's descriptors are the thread's, shared by every object. */
  close(): void {}
}
