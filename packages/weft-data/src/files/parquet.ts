import { z } from 'zod';
import { checkIndex, describe, isPromiseLike } from '../core/checks.ts';
import type { Dataset } from '../core/dataset.ts';
import { FileError } from '../core/errors.ts';
import { rebuildWith } from '../core/recipe.ts';
import { fail } from '../core/validate.ts';
import {
  BlockCache,
  blockOf,
  type CacheStats,
  readCounters,
  resetCounters,
  sharedCounters,
} from './block-cache.ts';
import { checkOpen, type FileStamp, importPeer, PositionalFile, stampFile } from './file.ts';

/** Options of {@link ParquetDataset.open}. */
export interface ParquetOptions {
  /** The columns to read (a projection: the others are never read or decoded). @default every column */
  columns?: string[];
  /** Decoded row groups kept per thread (each worker has its own cache), least recently used evicted. @default 4 */
  cacheBlocks?: number;
}

const optionsSchema = z
  .object({
    columns: z
      .array(z.string({ error: 'must be a column name' }), { error: 'must be an array of column names' })
      .min(1, { error: 'must name at least one column' })
      .optional(),
    cacheBlocks: z
      .int({ error: 'must be a positive integer' })
      .min(1, { error: 'must be a positive integer' })
      .optional(),
  })
  .strict();

/** Everything a worker needs to reopen a {@link ParquetDataset}. @internal */
export interface ParquetState {
  readonly path: string;
  readonly stamp: FileStamp;
  readonly columns: readonly string[];
  readonly cacheBlocks: number;
  readonly blockOffsets: readonly number[];
  /** Shared [hits, misses] of every thread's cache. */
  readonly counters: BigInt64Array;
}

/** The parts of hyparquet used here, typed locally so that weft's declarations never name the package. @internal */
export interface Hyparquet {
  parquetMetadataAsync(file: ByteSource): Promise<ParquetMetadata>;
  parquetSchema(metadata: ParquetMetadata): { children: { element: { name: string } }[] };
  parquetReadObjects(options: {
    file: ByteSource;
    metadata: ParquetMetadata;
    columns: string[];
    rowStart: number;
    rowEnd: number;
  }): Promise<Record<string, unknown>[]>;
}
/** hyparquet's `AsyncBuffer`. @internal */
export interface ByteSource {
  byteLength: number;
  slice(start: number, end?: number): ArrayBuffer;
}
/** The part of hyparquet's `FileMetaData` used here. @internal */
export interface ParquetMetadata {
  row_groups: { num_rows: bigint | number }[];
}

const loadHyparquet = (): Promise<Hyparquet> =>
  importPeer('hyparquet', 'Parquet', () => import('hyparquet') as unknown as Promise<Hyparquet>);

/** hyparquet's file interface over a {@link PositionalFile}: each slice is one positional read. */
function byteSource(file: PositionalFile): ByteSource {
  return {
    byteLength: file.stamp.size,
    slice(start, end = file.stamp.size) {
      const bytes = new Uint8Array(Math.max(0, end - start));
      file.read(bytes, start, bytes.length, { offset: start });
      return bytes.buffer;
    },
  };
}

async function readMetadata(hp: Hyparquet, file: PositionalFile): Promise<ParquetMetadata> {
  try {
    return await hp.parquetMetadataAsync(byteSource(file));
  } catch (e) {
    if (e instanceof FileError) throw e;
    throw new FileError(
      `${file.path} is not a valid Parquet file: ${(e as Error).message}`,
      { file: file.path },
      {
        cause: e,
      },
    );
  }
}

/**
 * A Parquet file with random access by row, read with hyparquet (pure JavaScript; an optional peer
 * dependency: install it to read Parquet). `get(i)` gives row i as an object of the projected `columns`.
 *
 * Parquet is stored in row groups, so a row is served from its decoded row group: each thread (each
 * worker, and the calling thread when loading in-process) keeps the last `cacheBlocks` row groups it
 * decoded. Random access over the whole file decodes a row group for most items; pair the dataset with a
 * {@link BlockShuffleSampler}, which shuffles row groups and then rows within a few of them, so that the
 * caches hit ({@link ParquetDataset.cacheStats} counts hits and misses over every thread).
 *
 * {@link ParquetDataset.open} reads only the footer. Each worker opens the file lazily and reads the footer
 * again (a few kilobytes), then only the row groups and columns it needs. A file that is not Parquet, is
 * truncated, or changed since `open` (checked before every row group read) is a {@link FileError}.
 *
 * @typeParam T - the row type (not checked)
 * @example
 * ```ts
 * const table = await ParquetDataset.open('train.parquet', { columns: ['features', 'label'], cacheBlocks: 4 });
 * const sampler = new BlockShuffleSampler(table, { seed: 0 });
 * const loader = new DataLoader({ dataset: table, sampler, batchSize: 128, numWorkers: 2 });
 * ```
 */
export class ParquetDataset<T = Record<string, unknown>> implements Dataset<T> {
  /** Absolute path of the file. */
  readonly path: string;
  /** The columns read. */
  readonly columns: readonly string[];
  /** First row of each row group, then the number of rows: what {@link BlockShuffleSampler} reads. */
  readonly blockOffsets: readonly number[];
  readonly #state: ParquetState;
  readonly #file: PositionalFile;
  readonly #hp: Hyparquet;
  readonly #cache: BlockCache<Record<string, unknown>[]>;
  #metadata: ParquetMetadata | Promise<ParquetMetadata> | undefined;

  /**
   * Opens a Parquet file: checks the options ({@link ConfigError}, every problem at once, including columns
   * the file does not have), loads hyparquet and reads the footer.
   *
   * @param path - a file path or a `file:` URL
   * @param options - see {@link ParquetOptions}
   * @example
   * ```ts
   * const ds = await ParquetDataset.open('data.parquet', { columns: ['text'] });
   * await ds.get(0); // { text: '…' } (a promise until its row group is cached)
   * ```
   */
  static async open<T = Record<string, unknown>>(
    path: string | URL,
    options: ParquetOptions = {},
  ): Promise<ParquetDataset<T>> {
    const file = checkOpen('ParquetDataset', path, options, optionsSchema);
    const hp = await loadHyparquet();
    const reader = new PositionalFile(file, stampFile(file));
    let metadata: ParquetMetadata;
    try {
      metadata = await readMetadata(hp, reader);
    } finally {
      reader.close();
    }
    const names = hp.parquetSchema(metadata).children.map((c) => c.element.name);
    const columns = options.columns ?? names;
    const missing = columns.filter((c) => !names.includes(c));
    if (missing.length > 0) {
      fail(
        'ParquetDataset options',
        missing.map(
          (c) =>
            `\`columns\` names ${describe(c)}, which is not a column of ${file}; its columns are ${names.map((n) => describe(n)).join(', ')}`,
        ),
      );
    }
    const blockOffsets = [0];
    for (const group of metadata.row_groups) {
      blockOffsets.push((blockOffsets[blockOffsets.length - 1] as number) + Number(group.num_rows));
    }
    const state: ParquetState = {
      path: file,
      stamp: reader.stamp,
      columns: [...columns],
      cacheBlocks: options.cacheBlocks ?? 4,
      blockOffsets,
      counters: sharedCounters(),
    };
    return new ParquetDataset<T>(state, hp, metadata);
  }

  /**
   * Rebuilds a dataset from its state (what workers do); use {@link ParquetDataset.open} instead.
   *
   * @param state - what an opened dataset recorded
   * @param hp - the hyparquet module
   * @param metadata - the footer, when already read
   * @internal
   */
  constructor(state: ParquetState, hp: Hyparquet, metadata?: ParquetMetadata) {
    this.path = state.path;
    this.columns = state.columns;
    this.blockOffsets = state.blockOffsets;
    this.#state = state;
    this.#hp = hp;
    this.#metadata = metadata;
    this.#file = new PositionalFile(state.path, state.stamp);
    this.#cache = new BlockCache(state.cacheBlocks, state.counters);
    rebuildWith(this, import.meta.url, 'parquetFromState', state); // rebuilt in workers (see core/recipe.ts)
  }

  /** Number of rows. */
  get length(): number {
    return this.blockOffsets[this.blockOffsets.length - 1] as number;
  }

  /** Number of row groups. */
  get blocks(): number {
    return this.blockOffsets.length - 1;
  }

  /**
   * Row `index` as an object of the projected columns: synchronously when its row group is cached in this
   * thread, else a promise.
   *
   * @param index - 0 ≤ index < length
   */
  get(index: number): T | Promise<T> {
    checkIndex(index, this.length);
    const block = blockOf(this.blockOffsets, index);
    const at = index - (this.blockOffsets[block] as number);
    const rows = this.#cache.get(block, (b) => this.#load(b));
    // A copy: the cached row must not change if a caller modifies the item.
    if (isPromiseLike(rows)) return rows.then((r) => ({ ...r[at] }) as T);
    return { ...rows[at] } as T;
  }

  /** Hits and misses of the row-group caches, summed over this thread and every worker. */
  get cacheStats(): CacheStats {
    return readCounters(this.#state.counters);
  }

  /** Sets {@link ParquetDataset.cacheStats} back to zero (for every thread). */
  resetCacheStats(): void {
    resetCounters(this.#state.counters);
  }

  /** Closes this thread's file descriptor and drops nothing else; the next read reopens (and rechecks) it. */
  close(): void {
    this.#file.close();
  }

  async #load(block: number): Promise<Record<string, unknown>[]> {
    this.#file.verify();
    this.#metadata ??= readMetadata(this.#hp, this.#file);
    const metadata = await this.#metadata;
    const rowStart = this.blockOffsets[block] as number;
    const rowEnd = this.blockOffsets[block + 1] as number;
    try {
      const rows = await this.#hp.parquetReadObjects({
        file: byteSource(this.#file),
        metadata,
        columns: [...this.columns],
        rowStart,
        rowEnd,
      });
      if (rows.length !== rowEnd - rowStart) {
        throw new Error(`decoded ${rows.length} rows, the footer says ${rowEnd - rowStart}`);
      }
      return rows;
    } catch (e) {
      if (e instanceof FileError) throw e;
      throw new FileError(
        `${this.path}, row group ${block} (rows ${rowStart}–${rowEnd - 1}): cannot decode: ${(e as Error).message}`,
        { file: this.path, row: rowStart },
        { cause: e },
      );
    }
  }
}

// ── Worker recipe glue ──
/**
 * Rebuilds a {@link ParquetDataset} in a worker from its state, loading hyparquet there.
 *
 * @param state - what the calling thread's dataset recorded
 * @internal
 */
export const parquetFromState = async (state: ParquetState): Promise<ParquetDataset> =>
  new ParquetDataset(state, await loadHyparquet());
