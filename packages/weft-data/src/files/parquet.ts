import type { FieldLayout, ItemLayout } from '../core/dataset.ts';
import { FileError } from '../core/errors.ts';
import { rebuildWith } from '../core/recipe.ts';
import {
  ChunkedDataset,
  type ChunkedFileState,
  type ChunkedLayout,
  openChunked,
  ownedCopy,
  projectedLayout,
} from './chunked.ts';
import { importPeer, type RandomAccess } from './file.ts';
import type { RemoteOptions } from './remote/options.ts';
import { readerOf } from './source.ts';

/** Options of {@link ParquetDataset.open}; the {@link RemoteOptions} apply to a URL. */
export interface ParquetOptions extends RemoteOptions {
  /** The columns to read (a projection: the others are never read or decoded). @default every column */
  columns?: string[];
  /** Decoded row groups kept per thread (each worker has its own cache), least recently used evicted. @default 4 */
  cacheBlocks?: number;
}

/** The parts of hyparquet used here, typed locally so that weft's declarations never name the package. @internal */
export interface Hyparquet {
  parquetMetadataAsync(file: ByteSource): Promise<ParquetMetadata>;
  parquetSchema(metadata: ParquetMetadata): { children: { element: ParquetElement }[] };
  parquetReadObjects(options: {
    file: ByteSource;
    metadata: ParquetMetadata;
    columns: string[];
    rowStart: number;
    rowEnd: number;
  }): Promise<Record<string, unknown>[]>;
}
/** A decoded row group: its rows, and the columns in which some row holds an object (a list, a struct). @internal */
export interface ParquetBlock {
  readonly rows: Record<string, unknown>[];
  readonly nested: readonly string[];
}
/** hyparquet's `SchemaElement`, as much of it as tells a column's dtype. @internal */
export interface ParquetElement {
  readonly name: string;
  readonly type?: string;
  readonly repetition_type?: string;
  readonly num_children?: number;
  readonly converted_type?: string;
  readonly logical_type?: { readonly type: string; readonly bitWidth?: number; readonly isSigned?: boolean };
}
/** hyparquet's `AsyncBuffer`. @internal */
export interface ByteSource {
  byteLength: number;
  slice(start: number, end?: number): ArrayBuffer | Promise<ArrayBuffer>;
}
/** The part of hyparquet's `FileMetaData` used here. @internal */
export interface ParquetMetadata {
  row_groups: {
    num_rows: bigint | number;
    columns: {
      meta_data?: {
        data_page_offset: bigint | number;
        dictionary_page_offset?: bigint | number;
        total_compressed_size: bigint | number;
      };
    }[];
  }[];
}

const loadHyparquet = (): Promise<Hyparquet> =>
  importPeer('hyparquet', 'Parquet', () => import('hyparquet') as unknown as Promise<Hyparquet>);

/** hyparquet's file interface over a file's reader: each slice is one positional read. */
function byteSource(file: RandomAccess): ByteSource {
  return {
    byteLength: file.size,
    slice(start, end = file.size) {
      const bytes = new Uint8Array(Math.max(0, end - start));
      const read = file.read(bytes, start, bytes.length, { offset: start });
      return read === undefined ? bytes.buffer : read.then(() => bytes.buffer);
    },
  };
}

async function readMetadata(hp: Hyparquet, file: RandomAccess): Promise<ParquetMetadata> {
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
export class ParquetDataset<T = Record<string, unknown>> extends ChunkedDataset<T, ParquetBlock> {
  /**
   * The dtype of each projected column of integers (up to 32 bits), floats or booleans, from the schema:
   * the default collate gives an `INT32` column an `Int32Array`, a `FLOAT` one a `Float32Array`.
   */
  readonly layout: ItemLayout | undefined;
  readonly #file: RandomAccess;
  readonly #hp: Hyparquet;
  readonly #ranges: readonly number[] | undefined;
  #metadata: ParquetMetadata | Promise<ParquetMetadata> | undefined;

  /**
   * Opens a Parquet file: checks the options ({@link ConfigError}, every problem at once, including columns
   * the file does not have), loads hyparquet and reads the footer.
   *
   * @param path - a file path, a `file:` URL, or an `http(s)://` or `s3://` URL (read through the cache, see {@link RemoteOptions})
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
    const { state, peer, meta } = await openChunked('ParquetDataset', path, options, loadHyparquet, scan);
    return new ParquetDataset<T>(state, peer, meta);
  }

  /**
   * Rebuilds a dataset from its state (what workers do); use {@link ParquetDataset.open} instead.
   *
   * @param state - what an opened dataset recorded
   * @param hp - the hyparquet module
   * @param metadata - the footer, when already read
   * @internal
   */
  constructor(state: ChunkedFileState, hp: Hyparquet, metadata?: ParquetMetadata) {
    super(state);
    this.#hp = hp;
    this.#metadata = metadata;
    this.layout = metadata && projectedLayout(parquetDTypes(hp, metadata), state.columns);
    this.#file = readerOf(state.source);
    this.#ranges = state.blockRanges;
    rebuildWith(this, import.meta.url, 'parquetFromState', state); // rebuilt in workers (see core/recipe.ts)
  }

  /** Closes this thread's file descriptor and drops nothing else; the next read reopens (and rechecks) it. */
  close(): void {
    this.#file.close();
  }

  /** Fetches row group `block`'s bytes into the node-wide cache (a remote file). @internal */
  protected override prefetchBlock(block: number): boolean {
    const start = this.#ranges?.[2 * block];
    if (start === undefined) return false;
    return this.#file.prefetch?.(start, (this.#ranges?.[2 * block + 1] as number) - start) ?? false;
  }

  /**
   * Row `at` of a decoded row group, a copy down to its lists and structs: the cached row must not change
   * if a caller modifies the item.
   * @internal
   */
  protected itemOf(block: ParquetBlock, at: number): T {
    // A spread (the engine's fast object clone), then the lists and structs replaced by copies: only in
    // the columns that hold any, found once per row group, so a row of scalars pays nothing more.
    const out: Record<string, unknown> = { ...block.rows[at] };
    for (const key of block.nested) {
      const value = out[key];
      if (typeof value === 'object' && value !== null) out[key] = ownedCopy(value);
    }
    return out as T;
  }

  /** Row group `block`, its projected columns decoded into rows. @internal */
  protected async readBlock(block: number): Promise<ParquetBlock> {
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
      const nested = this.columns.filter((key) =>
        rows.some((row) => typeof row[key] === 'object' && row[key] !== null),
      );
      return { rows, nested };
    } catch (e) {
      throw this.decodeError('row group', block, e);
    }
  }
}

/** The file's columns and each row group's row count, from the footer (kept for the calling thread). */
async function scan(hp: Hyparquet, file: RandomAccess): Promise<ChunkedLayout<ParquetMetadata>> {
  const metadata = await readMetadata(hp, file);
  return {
    names: hp.parquetSchema(metadata).children.map((c) => c.element.name),
    blockSizes: metadata.row_groups.map((group) => Number(group.num_rows)),
    meta: metadata,
    blockRanges: metadata.row_groups.flatMap((group) => {
      let start = Number.POSITIVE_INFINITY;
      let end = 0;
      for (const { meta_data: m } of group.columns) {
        if (m === undefined) continue;
        // A dictionary page, when there is one, comes first; some writers put 0 for none.
        const dictionary = Number(m.dictionary_page_offset ?? 0);
        const first = dictionary > 0 ? dictionary : Number(m.data_page_offset);
        start = Math.min(start, first);
        end = Math.max(end, first + Number(m.total_compressed_size));
      }
      return start < end ? [start, end] : [0, 0];
    }),
  };
}

/** Each top-level column's dtype, for the columns whose values are numbers or booleans of one. */
function parquetDTypes(hp: Hyparquet, metadata: ParquetMetadata): ItemLayout {
  const dtypes: Record<string, FieldLayout> = {};
  for (const { element: e } of hp.parquetSchema(metadata).children) {
    const dtype = e.num_children || e.repetition_type === 'REPEATED' ? undefined : dtypeOf(e);
    if (dtype !== undefined) dtypes[e.name] = { dtype, shape: [] };
  }
  return dtypes;
}

// Integers annotated as such; others (dates, decimals, times) are not plain numbers of their type.
const CONVERTED: Record<string, FieldLayout['dtype']> = {
  INT_8: 'int8',
  INT_16: 'int16',
  INT_32: 'int32',
  UINT_8: 'uint8',
  UINT_16: 'uint16',
  UINT_32: 'uint32',
};

function dtypeOf(e: ParquetElement): FieldLayout['dtype'] | undefined {
  const logical = e.logical_type;
  if (logical !== undefined) {
    if (logical.type !== 'INTEGER' || logical.bitWidth === undefined || logical.bitWidth > 32)
      return undefined;
    return `${logical.isSigned ? 'int' : 'uint'}${logical.bitWidth}` as FieldLayout['dtype'];
  }
  if (e.converted_type !== undefined) return CONVERTED[e.converted_type];
  return e.type === 'INT32'
    ? 'int32'
    : e.type === 'FLOAT'
      ? 'float32'
      : e.type === 'DOUBLE'
        ? 'float64'
        : e.type === 'BOOLEAN'
          ? 'bool'
          : undefined;
}

// ── Worker recipe glue ──
/**
 * Rebuilds a {@link ParquetDataset} in a worker from its state, loading hyparquet there.
 *
 * @param state - what the calling thread's dataset recorded
 * @internal
 */
export const parquetFromState = async (state: ChunkedFileState): Promise<ParquetDataset> =>
  new ParquetDataset(state, await loadHyparquet());
