import { z } from 'zod';
import { checkIndex, isPromiseLike } from '../core/checks.ts';
import type { Dataset } from '../core/dataset.ts';
import { DTYPE_ARRAYS, type DType, type DTypeArrays, type TypedArray } from '../core/dtype.ts';
import { FileError } from '../core/errors.ts';
import { rebuildWith } from '../core/recipe.ts';
import { nonNegativeInt, positiveInt } from '../core/validate.ts';
import { checkOpen, type RandomAccess } from './file.ts';
import { type RemoteOptions, remoteFields, remoteRelation } from './remote/options.ts';
import { openSource, readerOf, type SourceState } from './source.ts';

/**
 * The element types of {@link BinaryDataset}: weft's element types (the keys of {@link DTypeArrays}) but
 * `bool` and `bigint64`, each read into its typed array.
 *
 * @example
 * ```ts
 * const dtype: BinaryDType = 'uint16'; // items are Uint16Arrays
 * ```
 */
export type BinaryDType = Exclude<DType, 'bool' | 'bigint64'>;

// Keyed by every BinaryDType (the compiler checks that none is missing or extra), in the order messages list them.
const BINARY_DTYPES = Object.keys({
  uint8: 0,
  int8: 0,
  uint16: 0,
  int16: 0,
  uint32: 0,
  int32: 0,
  float32: 0,
  float64: 0,
} satisfies Record<BinaryDType, 0>) as [BinaryDType, ...BinaryDType[]];

/**
 * The {@link BinaryDataset.layout}: an item is not an object but one typed array, described as the field `''`.
 *
 * @example
 * ```ts
 * const layout: BinaryLayout<'uint16'> = { '': { dtype: 'uint16', shape: [1025] } };
 * ```
 */
export type BinaryLayout<D extends BinaryDType = BinaryDType> = {
  /** The whole item: `sequenceLength` elements of the dataset's dtype. */
  readonly '': {
    /** The dataset's dtype. */
    readonly dtype: D;
    /** `[sequenceLength]`. */
    readonly shape: readonly [number];
  };
};

/** Options of {@link BinaryDataset.open}; the {@link RemoteOptions} apply to a URL. */
export interface BinaryOptions<D extends BinaryDType = BinaryDType> extends RemoteOptions {
  /** Element type; elements are little-endian, as numpy's `tofile` writes them on x86 and ARM. */
  dtype: D;
  /** Elements per item (tokens per sequence, floats per record). */
  sequenceLength: number;
  /** Elements from the start of one item to the next; less than `sequenceLength` overlaps items. @default sequenceLength */
  stride?: number;
  /** Bytes to skip at the start of the file (a shard header). @default 0 */
  headerBytes?: number;
  /**
   * What to do with elements after the last whole item: `'error'` (a {@link FileError}, as for a truncated
   * file of records) or `'drop'` (token shards, whose length is rarely a multiple). @default 'error'
   */
  remainder?: 'error' | 'drop';
}

const optionsSchema = z
  .object({
    dtype: z.enum(BINARY_DTYPES, {
      error: `must be one of ${BINARY_DTYPES.map((k) => `'${k}'`).join(', ')}`,
    }),
    sequenceLength: positiveInt,
    stride: positiveInt.optional(),
    headerBytes: nonNegativeInt.optional(),
    remainder: z.enum(['error', 'drop'], { error: "must be 'error' or 'drop'" }).optional(),
    ...remoteFields,
  })
  .strict();

/** Everything a worker needs to reopen a {@link BinaryDataset}. @internal */
export interface BinaryState {
  readonly path: string;
  readonly source: SourceState;
  readonly dtype: BinaryDType;
  readonly sequenceLength: number;
  readonly stride: number;
  readonly headerBytes: number;
  readonly length: number;
}

/**
 * Fixed-size records of one numeric type in a flat binary file, such as the token shards of language-model
 * training (a file of uint16 or uint32 token ids) or rows of float32 features: item `i` is the
 * `sequenceLength` elements starting at element `i × stride`, read with one positional read into a fresh
 * typed array. Nothing is indexed and nothing is read whole; every worker opens the file itself, lazily.
 *
 * A file whose size is not a whole number of elements is a truncated file, a {@link FileError} naming the
 * byte offset where it ends; so are elements after the last whole item, unless `remainder: 'drop'`. A file
 * that changed since `open` is a {@link FileError} when a worker opens it, and is checked every few hundred
 * reads and whenever a read comes up short.
 *
 * @typeParam D - the element type, which decides the typed array of each item
 * @example
 * ```ts
 * // 1025 tokens per sample (1024 inputs, shifted targets), windows 1024 tokens apart
 * const tokens = await BinaryDataset.open('shard_000.bin', {
 *   dtype: 'uint16', sequenceLength: 1025, stride: 1024, remainder: 'drop',
 * });
 * tokens.get(0); // Uint16Array(1025)
 * ```
 */
export class BinaryDataset<D extends BinaryDType = BinaryDType>
  implements Dataset<DTypeArrays[D], BinaryLayout<D>>
{
  /** Absolute path of the file. */
  readonly path: string;
  /** Element type. */
  readonly dtype: D;
  /** Elements per item. */
  readonly sequenceLength: number;
  /** Elements between the starts of consecutive items. */
  readonly stride: number;
  /** Bytes skipped at the start of the file. */
  readonly headerBytes: number;
  /** Number of items. */
  readonly length: number;
  /** Each item is one `sequenceLength` array of `dtype` (the whole item is the field `''`). */
  readonly layout: BinaryLayout<D>;
  /**
   * Reads item `index` straight into row `row` of a batch (field `''`), one positional read and no
   * allocation: what a loader's default collate uses (see {@link Dataset.writeItem}). `undefined` in a
   * subclass, which may override `get`.
   */
  readonly writeItem:
    | ((index: number, batch: Readonly<Record<string, TypedArray>>, row: number) => void | Promise<void>)
    | undefined;
  readonly #file: RandomAccess;
  readonly #bytesPer: number;
  #batch: [TypedArray, Uint8Array] | undefined;

  /**
   * Opens a binary file of fixed-size records: checks the options (every problem at once, a
   * {@link ConfigError}) and the file's size against them (a {@link FileError}).
   *
   * @param path - a file path, a `file:` URL, or an `http(s)://` or `s3://` URL (read through the cache, see {@link RemoteOptions})
   * @param options - see {@link BinaryOptions}
   * @example
   * ```ts
   * const rows = await BinaryDataset.open('features.f32', { dtype: 'float32', sequenceLength: 784 });
   * rows.get(3); // Float32Array(784)
   * ```
   */
  static async open<D extends BinaryDType>(
    path: string | URL,
    options: BinaryOptions<D>,
  ): Promise<BinaryDataset<D>> {
    const file = checkOpen('BinaryDataset', path, options, optionsSchema, {
      expected: 'an object with `dtype` and `sequenceLength`',
      relations: [remoteRelation],
    });
    const { dtype, sequenceLength, headerBytes = 0, remainder = 'error' } = options;
    const stride = options.stride ?? sequenceLength;
    const source = (await openSource(file, options)).state();
    const stamp = { size: source.size };
    const bytesPer = DTYPE_ARRAYS[dtype].BYTES_PER_ELEMENT;
    const body = stamp.size - headerBytes;
    if (body < 0) {
      throw new FileError(
        `${file} is truncated: it has ${stamp.size} bytes, fewer than the ${headerBytes}-byte header`,
        { file, offset: stamp.size },
      );
    }
    if (body % bytesPer !== 0) {
      throw new FileError(
        `${file} is truncated: its ${body} bytes after the header are not a whole number of ${dtype} elements (${bytesPer} bytes each); the last element starts at byte ${stamp.size - (body % bytesPer)}`,
        { file, offset: stamp.size - (body % bytesPer) },
      );
    }
    const elements = body / bytesPer;
    const length = elements < sequenceLength ? 0 : Math.floor((elements - sequenceLength) / stride) + 1;
    const covered = length === 0 ? 0 : (length - 1) * stride + sequenceLength;
    if (remainder === 'error' && covered < elements) {
      const offset = headerBytes + covered * bytesPer;
      throw new FileError(
        `${file} has ${elements - covered} ${dtype} elements after its last whole item (at byte ${offset}): a truncated file? Pass remainder: 'drop' to ignore them`,
        { file, offset, row: length },
      );
    }
    return new BinaryDataset<D>({ path: file, source, dtype, sequenceLength, stride, headerBytes, length });
  }

  /**
   * Rebuilds a dataset from its state (what workers do); use {@link BinaryDataset.open} instead.
   *
   * @param state - what an opened dataset recorded
   * @internal
   */
  constructor(state: BinaryState) {
    this.path = state.path;
    this.dtype = state.dtype as D;
    this.sequenceLength = state.sequenceLength;
    this.stride = state.stride;
    this.headerBytes = state.headerBytes;
    this.length = state.length;
    this.layout = Object.freeze({
      '': Object.freeze({
        dtype: this.dtype,
        shape: Object.freeze([state.sequenceLength]) as readonly [number],
      }),
    });
    this.#bytesPer = DTYPE_ARRAYS[state.dtype].BYTES_PER_ELEMENT;
    this.#file = readerOf(state.source);
    this.writeItem = new.target === BinaryDataset ? (i, batch, row) => this.#write(i, batch, row) : undefined;
    rebuildWith(this, import.meta.url, 'binaryFromState', state); // rebuilt in workers (see core/recipe.ts)
  }

  /**
   * Item `index`: `sequenceLength` elements, one positional read: synchronously from a local file, or from
   * a remote one whose block is cached; otherwise a promise.
   *
   * @param index - 0 ≤ index < length
   */
  get(index: number): DTypeArrays[D] | Promise<DTypeArrays[D]> {
    const item = new DTYPE_ARRAYS[this.dtype](this.sequenceLength) as DTypeArrays[D];
    const read = this.#read(index, new Uint8Array(item.buffer));
    return isPromiseLike(read) ? read.then(() => item) : item;
  }

  /**
   * Fetches the items of `indices` into the cache in the background (a remote file; nothing for a local
   * one): the loader calls it with the coming batches' indices.
   *
   * @param indices - items soon to be read
   */
  prefetch(indices: Uint32Array): void {
    const fetch = this.#file.prefetch;
    if (fetch === undefined) return;
    const step = this.stride * this.#bytesPer;
    for (const i of indices)
      fetch.call(this.#file, this.headerBytes + i * step, this.sequenceLength * this.#bytesPer);
  }

  #write(index: number, batch: Readonly<Record<string, TypedArray>>, row: number): void | Promise<void> {
    const out = batch[''] as TypedArray;
    // The bytes of the batch being written, made once per batch rather than once per item.
    if (this.#batch?.[0] !== out)
      this.#batch = [out, new Uint8Array(out.buffer, out.byteOffset, out.byteLength)];
    const bytes = this.sequenceLength * this.#bytesPer;
    return this.#read(index, this.#batch[1], row * bytes, bytes);
  }

  /** Item `index`'s bytes into `target` from byte `at`, one positional read. */
  #read(index: number, target: Uint8Array, at = 0, bytes = target.byteLength): void | Promise<void> {
    checkIndex(index, this.length);
    const offset = this.headerBytes + index * this.stride * this.#bytesPer;
    return this.#file.read(target, offset, bytes, { row: index }, at);
  }

  /** Closes this thread's file descriptor; the next `get` opens the file again (and checks it again). */
  close(): void {
    this.#file.close();
  }
}

// ── Worker recipe glue ──
/**
 * Rebuilds a {@link BinaryDataset} in a worker from its state.
 *
 * @param state - what the calling thread's dataset recorded
 * @internal
 */
export const binaryFromState = (state: BinaryState): BinaryDataset => new BinaryDataset(state);
