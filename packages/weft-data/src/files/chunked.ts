// What every chunked format shares. A chunked dataset keeps its items in blocks that are read and decoded
// whole: Parquet row groups and Arrow record batches today; MDS shards, WebDataset tar shards and byte ranges
// of a remote object are meant to plug in the same way. Shared here: the options (`columns`, `cacheBlocks`,
// extended by a format with its own), the state sent to workers, the per-thread cache of decoded blocks with
// counters summed across threads, and the path of `get` (index → block → cached block → item).
//
// A format supplies only what is its own: how to lay the data out when it is opened (a `scan` for one local
// file, given to `openChunked`; a format spread over several files or read remotely builds its state with
// `checkColumns` and `newChunkedState` instead), and, in a subclass of `ChunkedDataset`, how to read and
// decode a block (`readBlock`) and take one item from it (`itemOf`).
import { z } from 'zod';
import { checkIndex, describe, isPromiseLike } from '../core/checks.ts';
import type { Dataset, ItemLayout } from '../core/dataset.ts';
import { FileError } from '../core/errors.ts';
import { fail, positiveInt } from '../core/validate.ts';
import {
  BlockCache,
  blockOf,
  type CacheStats,
  readCounters,
  resetCounters,
  sharedCounters,
} from './block-cache.ts';
import { checkOpen, type RandomAccess } from './file.ts';
import { type RemoteOptions, remoteFields, remoteRelation } from './remote/options.ts';
import { type ByteSource, openSource, readerOf, type SourceState } from './source.ts';

/**
 * The options every chunked format takes; a format with more `.extend`s it (and stays strict).
 *
 * @example
 * ```ts
 * const schema = chunkedOptions.extend({ shuffleShards: bool.optional() }).strict();
 * ```
 */
export const chunkedOptions = z
  .object({
    columns: z
      .array(z.string({ error: 'must be a column name' }), { error: 'must be an array of column names' })
      .min(1, { error: 'must name at least one column' })
      .optional(),
    cacheBlocks: positiveInt.optional(),
    ...remoteFields,
  })
  .strict();

/**
 * A copy of decoded data that shares nothing with it: arrays, typed arrays, plain objects and dates are
 * copied all the way down; primitives are returned as they are. What a format's `itemOf` gives for a value
 * taken from a cached block, so that a caller changing its item cannot change the block (and every later
 * `get` of its items).
 *
 * @param value - a decoded value (a field of a row)
 * @example
 * ```ts
 * const tags = ownedCopy(row.tags); // a new array, whatever the caller does to it
 * ```
 */
export function ownedCopy(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    // A list of numbers or strings (the common case) is one native copy, then a test per element.
    const out = value.slice();
    for (let i = 0; i < out.length; i++) {
      const v = out[i];
      if (typeof v === 'object' && v !== null) out[i] = ownedCopy(v);
    }
    return out;
  }
  if (ArrayBuffer.isView(value))
    return value instanceof DataView ? structuredClone(value) : (value as Uint8Array).slice();
  if (value instanceof Date) return new Date(value.getTime());
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return structuredClone(value);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) out[key] = ownedCopy((value as Record<string, unknown>)[key]);
  return out;
}

/** The decoded blocks each thread keeps when `cacheBlocks` is not given. */
const DEFAULT_CACHE_BLOCKS = 4;

/**
 * Everything a worker needs to reopen a chunked dataset: plain data and shared memory. A format adds what it
 * needs to find its bytes again ({@link ChunkedFileState} for one local file).
 *
 * @internal
 */
export interface ChunkedState {
  /** Where the data is: an absolute file path (a directory of shards or a URL, for formats to come). */
  readonly path: string;
  /** The columns given (the projection). */
  readonly columns: readonly string[];
  /** Decoded blocks kept per thread. */
  readonly cacheBlocks: number;
  /** First item of each block, then the number of items. */
  readonly blockOffsets: readonly number[];
  /** Shared [hits, misses] of every thread's cache. */
  readonly counters: BigInt64Array;
}

/**
 * The state of a chunked dataset in one file (local, checked against its stamp, or remote), with each
 * block's byte range when the format knows it (for `prefetch`).
 *
 * @internal
 */
export interface ChunkedFileState extends ChunkedState {
  readonly source: SourceState;
  /** Block b's bytes are [blockRanges[2b], blockRanges[2b + 1]). */
  readonly blockRanges?: readonly number[];
}

/**
 * The projection asked for, or a {@link ConfigError} listing every column the data does not have.
 *
 * @param what - names the dataset in the message (`ParquetDataset`)
 * @param path - where the data is, for the message
 * @param asked - the `columns` option @default every column
 * @param names - every column of the data, in order
 * @returns the columns to give
 * @example
 * ```ts
 * const columns = checkColumns('ParquetDataset', file, options.columns, ['id', 'x']);
 * ```
 */
export function checkColumns(
  what: string,
  path: string,
  asked: readonly string[] | undefined,
  names: readonly string[],
): string[] {
  const columns = [...(asked ?? names)];
  const missing = columns.filter((c) => !names.includes(c));
  if (missing.length > 0) {
    fail(
      `${what} options`,
      missing.map(
        (c) =>
          `\`columns\` names ${describe(c)}, which is not a column of ${path}; its columns are ${names.map((n) => describe(n)).join(', ')}`,
      ),
    );
  }
  return columns;
}

/**
 * The state of a chunked dataset, from its blocks' sizes and the checked options.
 *
 * @param path - where the data is
 * @param columns - the projection (see {@link checkColumns})
 * @param blockSizes - items in each block, in order
 * @param cacheBlocks - the `cacheBlocks` option @default 4
 * @example
 * ```ts
 * const state = newChunkedState(file, columns, [5000, 5000, 1200], options.cacheBlocks);
 * ```
 */
export function newChunkedState(
  path: string,
  columns: readonly string[],
  blockSizes: Iterable<number>,
  cacheBlocks = DEFAULT_CACHE_BLOCKS,
): ChunkedState {
  const blockOffsets = [0];
  for (const size of blockSizes) blockOffsets.push((blockOffsets[blockOffsets.length - 1] as number) + size);
  return { path, columns: [...columns], cacheBlocks, blockOffsets, counters: sharedCounters() };
}

/**
 * What a format's `scan` of one local file finds: the columns and the blocks, and whatever else it read that
 * the calling thread may keep (`meta`: Parquet's footer).
 *
 * @internal
 */
export interface ChunkedLayout<M> {
  /** Every column of the file, in order. */
  readonly names: readonly string[];
  /** Items in each block, in order. */
  readonly blockSizes: Iterable<number>;
  /** Anything else the scan read, handed back by {@link openChunked}. */
  readonly meta: M;
  /** Each block's byte range, [start, end) pairs, if the format knows them (for `prefetch`). */
  readonly blockRanges?: readonly number[];
}

/**
 * Opens a chunked format in one local file, in the order every such `open` follows: the path and options
 * (one {@link ConfigError} listing every problem), the format's peer package, the file's stamp, the `scan` of
 * its layout (the file is closed after it), then the projection against the file's columns.
 *
 * @param what - names the dataset in messages (`ArrowDataset`)
 * @param path - the path given: a string, a `file:` URL, or an `http(s)://` or `s3://` URL
 * @param options - the options given, checked against {@link chunkedOptions}
 * @param loadPeer - imports the format's peer package (see `importPeer`)
 * @param scan - reads the layout (columns, blocks) from the open file
 * @returns the state for the dataset's constructor, the peer module and the scan's `meta`
 * @example
 * ```ts
 * const { state, peer } = await openChunked('ArrowDataset', path, options, loadArrow, scanArrow);
 * return new ArrowDataset(state, peer);
 * ```
 */
export async function openChunked<P, M>(
  what: string,
  path: unknown,
  options: { readonly columns?: readonly string[]; readonly cacheBlocks?: number } & RemoteOptions,
  loadPeer: () => Promise<P>,
  scan: (peer: P, file: RandomAccess) => Promise<ChunkedLayout<M>>,
): Promise<{ state: ChunkedFileState; peer: P; meta: M }> {
  const file = checkOpen(what, path, options, chunkedOptions, { relations: [remoteRelation] });
  const peer = await loadPeer();
  const source = (await openSource(file, options)).state();
  const reader = readerOf(source);
  let layout: ChunkedLayout<M>;
  try {
    layout = await scan(peer, reader);
  } finally {
    reader.close();
  }
  const columns = checkColumns(what, file, options.columns, layout.names);
  const state = newChunkedState(file, columns, layout.blockSizes, options.cacheBlocks);
  const ranges = layout.blockRanges === undefined ? {} : { blockRanges: layout.blockRanges };
  return { state: { ...state, source, ...ranges }, peer, meta: layout.meta };
}

/**
 * A dataset whose items live in blocks decoded whole, with random access by item: `get(i)` finds item i's
 * block, takes it from this thread's cache of the last `cacheBlocks` blocks (reading and decoding it on a
 * miss) and gives the item. A subclass is one format: it reads and decodes a block ({@link
 * ChunkedDataset.readBlock}), takes an item from it ({@link ChunkedDataset.itemOf}), closes what it opened,
 * and registers how workers rebuild it from its state (`rebuildWith`).
 *
 * @typeParam T - the item type
 * @typeParam B - a decoded block, as the cache keeps it
 * @example
 * ```ts
 * class Shards extends ChunkedDataset<Sample, Sample[]> {
 *   readonly #shards: ShardFiles;
 *   constructor(state: ShardsState) {
 *     super(state);
 *     this.#shards = new ShardFiles(state.shards);
 *     rebuildWith(this, import.meta.url, 'shardsFromState', state);
 *   }
 *   protected readBlock(block: number) { return this.#shards.decode(block); }
 *   protected itemOf(samples: Sample[], at: number) { return ownedCopy(samples[at]) as Sample; }
 *   close() { this.#shards.close(); }
 * }
 * ```
 */
export abstract class ChunkedDataset<T, B> implements Dataset<T> {
  /** Absolute path of the file. */
  readonly path: string;
  /** The columns given. */
  readonly columns: readonly string[];
  /** First item of each block, then the number of items: what {@link BlockShuffleSampler} reads. */
  readonly blockOffsets: readonly number[];
  readonly #counters: BigInt64Array;
  readonly #cache: BlockCache<B>;
  readonly #read = (block: number): Promise<B> => this.readBlock(block);

  /** @param state - what the dataset was opened with @internal */
  protected constructor(state: ChunkedState) {
    this.path = state.path;
    this.columns = state.columns;
    this.blockOffsets = state.blockOffsets;
    this.#counters = state.counters;
    this.#cache = new BlockCache(state.cacheBlocks, state.counters);
  }

  /** Number of items (rows). */
  get length(): number {
    return this.blockOffsets[this.blockOffsets.length - 1] as number;
  }

  /** Number of blocks (Parquet row groups, Arrow record batches). */
  get blocks(): number {
    return this.blockOffsets.length - 1;
  }

  /**
   * Item `index` (a row: an object of the projected columns): synchronously when its block is cached in this
   * thread, else a promise.
   *
   * @param index - 0 ≤ index < length
   */
  get(index: number): T | Promise<T> {
    checkIndex(index, this.length);
    const block = blockOf(this.blockOffsets, index);
    const at = index - (this.blockOffsets[block] as number);
    const decoded = this.#cache.get(block, this.#read);
    if (isPromiseLike(decoded)) return decoded.then((d) => this.itemOf(d, at));
    return this.itemOf(decoded, at);
  }

  /**
   * Fetches the blocks of `indices` into the node-wide cache in the background, one
   * `prefetchBlock` per block (remote data; nothing for local files): the loader calls it
   * with the coming batches' indices, and reads further ahead while this answers `true` (the downloads ahead
   * have room: a block holds many batches, and the next must be asked for before the reads reach it).
   *
   * @param indices - items soon to be read
   */
  prefetch(indices: Uint32Array): boolean {
    let previous = -1;
    let more = false;
    for (const i of indices) {
      const block = blockOf(this.blockOffsets, i);
      if (block !== previous) more = this.prefetchBlock(block);
      previous = block;
    }
    return more;
  }

  /**
   * Starts fetching block `block`'s bytes into the node-wide cache, in the background, and answers whether
   * the downloads ahead have room for more; a format over remote data overrides it (the default does
   * nothing, and asks for nothing more).
   *
   * @param _block - 0 ≤ block < blocks
   * @internal
   */
  protected prefetchBlock(_block: number): boolean {
    return false;
  }

  /** Hits and misses of the block caches (one per thread), summed over this thread and every worker. */
  get cacheStats(): CacheStats {
    return readCounters(this.#counters);
  }

  /** Sets `cacheStats` back to zero (for every thread). */
  resetCacheStats(): void {
    resetCounters(this.#counters);
  }

  /** Closes this thread's file descriptor; the next read reopens (and rechecks) the file. */
  abstract close(): void;

  /**
   * Reads and decodes block `block` (once per miss; a failed read is not cached).
   *
   * @param block - 0 ≤ block < blocks
   * @internal
   */
  protected abstract readBlock(block: number): Promise<B>;

  /**
   * Item `at` of a decoded block, as a value the caller may change without changing the cached block
   * (see {@link ownedCopy}); a promise when decoding it is asynchronous (images).
   *
   * @param decoded - what {@link ChunkedDataset.readBlock} gave
   * @param at - the item's position in its block
   * @internal
   */
  protected abstract itemOf(decoded: B, at: number): T | Promise<T>;

  /**
   * The error for a block that cannot be decoded, naming the block (`unit`: "row group") and its items; a
   * {@link FileError} (the file changed, or is truncated) is given as is.
   *
   * @param unit - what the format calls a block
   * @param block - the block
   * @param e - what decoding threw
   * @internal
   */
  protected decodeError(unit: string, block: number, e: unknown): FileError {
    if (e instanceof FileError) return e;
    const first = this.blockOffsets[block] as number;
    const end = this.blockOffsets[block + 1] as number;
    return new FileError(
      `${this.path}, ${unit} ${block} (rows ${first}–${end - 1}): cannot decode: ${(e as Error).message}`,
      { file: this.path, row: first },
      { cause: e },
    );
  }
}

/**
 * Bytes [offset, offset + length) of a source as a plain `Uint8Array` of their own, copied as soon as the
 * source gives them: a source may hand out a view (even a Buffer, whose `slice` is no copy) that its next
 * read overwrites, and a read made by a concurrent `get` can come before an `await` resumes.
 *
 * @param source - the shard or file
 * @param offset - the first byte
 * @param length - how many bytes
 * @example
 * ```ts
 * const header = await readCopy(source, 0, 512);
 * ```
 */
export function readCopy(
  source: ByteSource,
  offset: number,
  length: number,
): Uint8Array | Promise<Uint8Array> {
  const bytes = source.read(offset, length);
  return isPromiseLike<Uint8Array>(bytes)
    ? Promise.resolve(bytes).then((b) => new Uint8Array(b))
    : new Uint8Array(bytes);
}

/**
 * The layout of the projected `columns` that have a dtype in `dtypes` (a format's dtypes of every column).
 *
 * @param dtypes - by column, from the file's schema
 * @param columns - the projection
 * @example
 * ```ts
 * projectedLayout({ id: { dtype: 'int32', shape: [] } }, ['id', 'name']); // { id: { dtype: 'int32', shape: [] } }
 * ```
 */
export function projectedLayout(dtypes: ItemLayout, columns: readonly string[]): ItemLayout {
  return Object.freeze(Object.fromEntries(columns.flatMap((c) => (dtypes[c] ? [[c, dtypes[c]]] : []))));
}
