import type { FieldLayout, ItemLayout } from '../core/dataset.ts';
import { FileError } from '../core/errors.ts';
import { rebuildWith } from '../core/recipe.ts';
import {
  ChunkedDataset,
  type ChunkedFileState,
  type ChunkedLayout,
  openChunked,
  projectedLayout,
} from './chunked.ts';
import { importPeer, PositionalFile, type RandomAccess } from './file.ts';
import type { RemoteOptions } from './remote/options.ts';
import { readerOf } from './source.ts';

/** Options of {@link ArrowDataset.open}; the {@link RemoteOptions} apply to a URL. */
export interface ArrowOptions extends RemoteOptions {
  /** The columns to give (a projection). @default every column */
  columns?: string[];
  /** Record batches kept per thread (each worker has its own cache), least recently used evicted. @default 4 */
  cacheBlocks?: number;
}

// The parts of apache-arrow used here, typed locally so that weft's declarations never name the package.
/** A column of a record batch. @internal */
export interface ArrowColumn {
  get(index: number): unknown;
}
/** A record batch. @internal */
export interface ArrowBatch {
  readonly numRows: number;
  getChild(name: string): ArrowColumn | null;
}
/** A random-access reader of an Arrow IPC file. @internal */
export interface ArrowReader {
  isFile(): boolean;
  open(): Promise<ArrowReader>;
  readonly schema: { fields: { name: string; type: ArrowType }[] };
  readonly footer: {
    recordBatches(): Iterable<{
      offset: number | bigint;
      metaDataLength: number;
      bodyLength: number | bigint;
    }>;
  };
  readRecordBatch(index: number): Promise<ArrowBatch | null>;
}
/** A column's type, as much of it as tells its dtype. @internal */
export interface ArrowType {
  readonly typeId: number;
  readonly bitWidth?: number;
  readonly isSigned?: boolean;
  readonly precision?: number;
}
/** The apache-arrow module. @internal */
export interface ApacheArrow {
  Vector: abstract new (...args: never[]) => { toArray(): unknown };
  Type: { readonly Int: number; readonly Float: number; readonly Bool: number };
  Precision: { readonly SINGLE: number; readonly DOUBLE: number };
  RecordBatchReader: { from(source: unknown): Promise<ArrowReader> };
  Message: { decode(bytes: Uint8Array): { headerType: number; header(): { length: number | bigint } } };
}

const loadArrow = (): Promise<ApacheArrow> =>
  importPeer('apache-arrow', 'Arrow', () => import('apache-arrow') as unknown as Promise<ApacheArrow>);

/** Node's `FileHandle`, as much of it as apache-arrow uses, over a file's reader. */
function handleOf(file: RandomAccess): object {
  return {
    // apache-arrow recognises a file handle by a numeric `fd`; it reads only through `read`.
    get fd() {
      return file instanceof PositionalFile ? file.fd : -1;
    },
    stat: async () => ({ size: file.size }),
    read: async (buffer: Uint8Array, offset: number, length: number, position: number) => {
      await file.read(buffer.subarray(offset, offset + length), position, length, { offset: position });
      return { bytesRead: length, buffer };
    },
    close: async () => file.close(),
  };
}

function invalid(file: string, e: unknown): FileError {
  if (e instanceof FileError) return e;
  return new FileError(
    `${file} is not a valid Arrow IPC file: ${(e as Error).message}`,
    { file },
    { cause: e },
  );
}

const MAGIC = 'ARROW1';

/** Checks the magic bytes at both ends, so that a stream-format, foreign or truncated file gets a plain message. */
async function checkMagic(file: RandomAccess): Promise<void> {
  const size = file.size;
  const head = new Uint8Array(Math.min(8, size));
  await file.read(head, 0, head.length, { offset: 0 });
  const text = (bytes: Uint8Array) => String.fromCharCode(...bytes.subarray(0, 6));
  if (text(head) !== MAGIC) {
    const stream =
      head.length >= 4 && head[0] === 0xff && head[1] === 0xff && head[2] === 0xff && head[3] === 0xff;
    throw new FileError(
      stream
        ? `${file.path} is not an Arrow IPC file: it is in the stream format, which has no footer and allows no random access; write the file format`
        : `${file.path} is not an Arrow IPC file: it does not start with "${MAGIC}"`,
      { file: file.path, offset: 0 },
    );
  }
  const tail = new Uint8Array(6);
  if (size >= 14) await file.read(tail, size - 6, 6, { offset: size - 6 });
  if (text(tail) !== MAGIC) {
    throw new FileError(
      `${file.path} is truncated: an Arrow IPC file ends with "${MAGIC}", this one does not`,
      {
        file: file.path,
        offset: size,
      },
    );
  }
}

async function openReader(arrow: ApacheArrow, file: RandomAccess): Promise<ArrowReader> {
  await checkMagic(file);
  let reader: ArrowReader;
  try {
    reader = await arrow.RecordBatchReader.from(handleOf(file));
  } catch (e) {
    throw invalid(file.path, e);
  }
  if (!reader.isFile()) {
    throw new FileError(
      `${file.path} is not an Arrow IPC file: it has no file footer (the stream format has none, and allows no random access; write the file format)`,
      { file: file.path },
    );
  }
  try {
    return await reader.open();
  } catch (e) {
    throw invalid(file.path, e);
  }
}

/**
 * An Arrow IPC file (the random-access "file" format, `.arrow` / Feather v2) with random access by row,
 * read with apache-arrow (an optional peer dependency: install it to read Arrow). `get(i)` gives row i as an
 * object of the projected `columns`; list columns become typed arrays and structs plain objects.
 *
 * Rows are served from their record batch: each thread keeps the last `cacheBlocks` batches it read, and
 * {@link BlockShuffleSampler} keeps those caches hitting ({@link ArrowDataset.cacheStats} counts hits and
 * misses over every thread). {@link ArrowDataset.open} reads the footer and each batch's small header (for
 * its row count); each worker opens the file lazily and reads only the batches it needs. A file that is not
 * an Arrow IPC file, is corrupt or truncated, or changed since `open` (checked before every batch read) is a
 * {@link FileError}.
 *
 * @typeParam T - the row type (not checked)
 * @example
 * ```ts
 * const table = await ArrowDataset.open('train.arrow', { columns: ['pixels', 'label'] });
 * const loader = new DataLoader({ dataset: table, sampler: new BlockShuffleSampler(table), batchSize: 64, numWorkers: 2 });
 * ```
 */
export class ArrowDataset<T = Record<string, unknown>> extends ChunkedDataset<T, ArrowColumn[]> {
  readonly #file: RandomAccess;
  readonly #arrow: ApacheArrow;
  readonly #ranges: readonly number[] | undefined;
  #reader: Promise<ArrowReader> | undefined;
  /**
   * The dtype of each projected column of integers (up to 32 bits), floats or booleans, from the schema:
   * the default collate gives an `Int32` column an `Int32Array`, a `Float32` one a `Float32Array`.
   */
  readonly layout: ItemLayout | undefined;
  /** Batch reads run one at a time: the reader seeks, then reads. */
  #queue: Promise<unknown> = Promise.resolve();

  /**
   * Opens an Arrow IPC file: checks the options ({@link ConfigError}, every problem at once, including
   * columns the file does not have), loads apache-arrow, reads the footer and the batches' row counts.
   *
   * @param path - a file path, a `file:` URL, or an `http(s)://` or `s3://` URL (read through the cache, see {@link RemoteOptions})
   * @param options - see {@link ArrowOptions}
   * @example
   * ```ts
   * const ds = await ArrowDataset.open('data.arrow', { columns: ['text'] });
   * await ds.get(0); // { text: '…' } (a promise until its record batch is cached)
   * ```
   */
  static async open<T = Record<string, unknown>>(
    path: string | URL,
    options: ArrowOptions = {},
  ): Promise<ArrowDataset<T>> {
    const { state, peer, meta } = await openChunked('ArrowDataset', path, options, loadArrow, scan);
    return new ArrowDataset<T>(state, peer, meta);
  }

  /**
   * Rebuilds a dataset from its state (what workers do); use {@link ArrowDataset.open} instead.
   *
   * @param state - what an opened dataset recorded
   * @param arrow - the apache-arrow module
   * @param dtypes - each column's dtype, when the calling thread read the schema
   * @internal
   */
  constructor(state: ChunkedFileState, arrow: ApacheArrow, dtypes?: ItemLayout) {
    super(state);
    this.layout = dtypes && projectedLayout(dtypes, state.columns);
    this.#arrow = arrow;
    this.#file = readerOf(state.source);
    this.#ranges = state.blockRanges;
    rebuildWith(this, import.meta.url, 'arrowFromState', state); // rebuilt in workers (see core/recipe.ts)
  }

  /** Closes this thread's file descriptor; the next read reopens (and rechecks) the file. */
  close(): void {
    this.#file.close();
    this.#reader = undefined;
  }

  /** Fetches record batch `block`'s bytes into the node-wide cache (a remote file). @internal */
  protected override prefetchBlock(block: number): boolean {
    const start = this.#ranges?.[2 * block];
    if (start === undefined) return false;
    return this.#file.prefetch?.(start, (this.#ranges?.[2 * block + 1] as number) - start) ?? false;
  }

  /** Row `at` of a record batch, as an object of the projected columns (plain data, copied). @internal */
  protected itemOf(columns: ArrowColumn[], at: number): T {
    const out: Record<string, unknown> = {};
    this.columns.forEach((name, k) => {
      out[name] = plain((columns[k] as ArrowColumn).get(at), this.#arrow);
    });
    return out as T;
  }

  /** Record batch `block`'s projected columns, read after any batch read under way. @internal */
  protected readBlock(block: number): Promise<ArrowColumn[]> {
    const run = this.#queue.then(async () => {
      this.#file.verify();
      this.#reader ??= openReader(this.#arrow, this.#file);
      const reader = await this.#reader;
      let batch: ArrowBatch | null;
      try {
        batch = await reader.readRecordBatch(block);
      } catch (e) {
        throw this.decodeError('record batch', block, e);
      }
      const expected = (this.blockOffsets[block + 1] as number) - (this.blockOffsets[block] as number);
      if (batch === null || batch.numRows !== expected) {
        throw new FileError(
          `${this.path}, record batch ${block}: has ${batch?.numRows ?? 'no'} rows, the footer said ${expected}`,
          { file: this.path, row: this.blockOffsets[block] as number },
        );
      }
      return this.columns.map((name) => batch.getChild(name) as ArrowColumn);
    });
    this.#queue = run.catch(() => {});
    return run;
  }
}

/** The file's columns and each record batch's row count, from the footer and the batches' headers. */
async function scan(arrow: ApacheArrow, file: RandomAccess): Promise<ChunkedLayout<ItemLayout>> {
  const reader = await openReader(arrow, file);
  const blockSizes: number[] = [];
  const blockRanges: number[] = [];
  for (const block of reader.footer.recordBatches()) {
    blockSizes.push(await rowsOf(arrow, file, block));
    const start = Number(block.offset);
    blockRanges.push(start, start + block.metaDataLength + Number(block.bodyLength));
  }
  const dtypes: Record<string, FieldLayout> = {};
  for (const f of reader.schema.fields) {
    const dtype = dtypeOf(arrow, f.type);
    if (dtype !== undefined) dtypes[f.name] = { dtype, shape: [] };
  }
  return { names: reader.schema.fields.map((f) => f.name), blockSizes, meta: dtypes, blockRanges };
}

/** The dtype of the numbers an Arrow column gives (64-bit integers give bigints: none), or undefined. */
function dtypeOf(arrow: ApacheArrow, type: ArrowType): FieldLayout['dtype'] | undefined {
  if (type.typeId === arrow.Type.Bool) return 'bool';
  if (type.typeId === arrow.Type.Float) {
    return type.precision === arrow.Precision.SINGLE
      ? 'float32'
      : type.precision === arrow.Precision.DOUBLE
        ? 'float64'
        : undefined;
  }
  if (type.typeId !== arrow.Type.Int || type.bitWidth === undefined || type.bitWidth > 32) return undefined;
  return `${type.isSigned ? 'int' : 'uint'}${type.bitWidth}` as FieldLayout['dtype'];
}

/** The row count of the record batch at `block`, from its message header alone (the body is not read). */
async function rowsOf(
  arrow: ApacheArrow,
  file: RandomAccess,
  block: { offset: number | bigint; metaDataLength: number },
): Promise<number> {
  const bytes = new Uint8Array(block.metaDataLength);
  await file.read(bytes, Number(block.offset), bytes.length, { offset: Number(block.offset) });
  // An encapsulated message: 0xFFFFFFFF, then the metadata's length (older files omit the marker).
  const skip = new DataView(bytes.buffer).getInt32(0, true) === -1 ? 8 : 4;
  try {
    return Number(arrow.Message.decode(bytes.subarray(skip)).header().length);
  } catch (e) {
    throw invalid(file.path, e);
  }
}

/**
 * Arrow values as plain data that shares no memory with the cached batch: vectors (lists) become typed
 * arrays (copied) or arrays, structs and maps plain objects, all the way down; binary values are copied.
 */
function plain(value: unknown, arrow: ApacheArrow): unknown {
  if (typeof value !== 'object' || value === null) return value;
  // A copy: a view would share (and, sent to another thread, could detach) the cached batch's memory.
  if (ArrayBuffer.isView(value)) return (value as Uint8Array).slice();
  if (value instanceof arrow.Vector) {
    const array = value.toArray();
    return ArrayBuffer.isView(array)
      ? (array as Uint8Array).slice()
      : (array as unknown[]).map((v) => plain(v, arrow));
  }
  // Struct and map rows (before any toArray, which a struct row has too and gives its values without names).
  const row = value as { toJSON?: () => unknown };
  if (typeof row.toJSON === 'function') {
    const json = row.toJSON() as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(json)) out[key] = plain(json[key], arrow);
    return out;
  }
  return value;
}

// ── Worker recipe glue ──
/**
 * Rebuilds an {@link ArrowDataset} in a worker from its state, loading apache-arrow there.
 *
 * @param state - what the calling thread's dataset recorded
 * @internal
 */
export const arrowFromState = async (state: ChunkedFileState): Promise<ArrowDataset> =>
  new ArrowDataset(state, await loadArrow());
