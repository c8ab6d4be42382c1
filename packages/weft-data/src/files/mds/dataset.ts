import type { z } from 'zod';
import { describe } from '../../core/checks.ts';
import type { FieldLayout, ItemLayout } from '../../core/dataset.ts';
import type { DType } from '../../core/dtype.ts';
import { ConfigError, FileError } from '../../core/errors.ts';
import { rebuildWith } from '../../core/recipe.ts';
import { bool, fail, issuesOf } from '../../core/validate.ts';
import { decodeImage } from '../../images/decode.ts';
import {
  ChunkedDataset,
  type ChunkedState,
  checkColumns,
  chunkedOptions,
  newChunkedState,
  readCopy,
} from '../chunked.ts';
import { checkPath, importPeer } from '../file.ts';
import { type RemoteOptions, remoteRelation } from '../remote/options.ts';
import { type ByteSource, joinLocation, openSource, type SourceState, sourceFromState } from '../source.ts';
import {
  bytesOf,
  decodeArray,
  decompress,
  digest,
  type Encoding,
  type Fzstd,
  halfToNumber,
  indexSchema,
  type JsonValue,
  type MdsDType,
  type MdsTensor,
  NDARRAY_DTYPES,
  nodeHash,
  parseEncoding,
  READABLE_COMPRESSIONS,
  type ShardInfo,
  splitCompression,
} from './format.ts';

/** Options of {@link MdsDataset.open}. */
export interface MdsOptions extends RemoteOptions {
  /** The columns to give (a projection). @default every column */
  columns?: string[];
  /** Decoded shards kept per thread (each worker has its own cache), least recently used evicted. @default 4 */
  cacheBlocks?: number;
  /**
   * Check each shard against a hash of the index when a thread reads it: the first of the shard's hashes that
   * node:crypto computes (md5, sha1, sha2, sha3, blake2b, blake2s; Mosaic's xxHash ones are skipped).
   * @default true
   */
  verifyHashes?: boolean;
}

const optionsSchema = chunkedOptions.extend({ verifyHashes: bool.optional() }).strict();

/** One shard as a worker reads it. @internal */
export interface MdsShardState {
  /** The file the bytes come from (compressed or raw). */
  readonly source: SourceState;
  /** The file's name in the index. */
  readonly basename: string;
  readonly samples: number;
  /** `zstd`, `gz`, `br`, or undefined for a raw shard. */
  readonly compression: string | undefined;
  /** Bytes of the raw shard. */
  readonly rawBytes: number;
  /** The hash checked on read: Mosaic's name and the hex digest, if any. */
  readonly hash: { readonly algo: string; readonly hex: string } | undefined;
}

/** Everything a worker needs to reopen an {@link MdsDataset}. @internal */
export interface MdsState extends ChunkedState {
  /** Every column of the data, in shard order, and its encoding's name. */
  readonly names: readonly string[];
  readonly encodings: readonly string[];
  /** Each column's size in bytes, or null for a variable size (the index's `column_sizes`). */
  readonly sizes: readonly (number | null)[];
  readonly shards: readonly MdsShardState[];
}

/** A shard as the block cache keeps it: its raw (decompressed) bytes. @internal */
export interface DecodedShard {
  readonly block: number;
  readonly raw: Uint8Array;
}

/** What an MDS column gives: numbers, strings, bytes, JSON values, and tensors for arrays and images. */
export type MdsValue = number | string | Uint8Array | MdsTensor | JsonValue;

const loadZstd = (): Promise<Fzstd> => importPeer('fzstd', 'zstd-compressed MDS', () => import('fzstd'));

/** A ConfigError (pkl) or FileError (unknown) for a column whose encoding weft cannot read. */
function badEncoding(index: string, name: string, encoding: string, why: string): Error {
  if (why === 'pkl') {
    return new ConfigError(
      `${index}: column ${describe(name)} is encoded as \`pkl\` (Python pickle), which only Python can read; leave it out with the \`columns\` option, or write it as json, bytes or ndarray`,
    );
  }
  return new FileError(`${index}: column ${describe(name)} has the encoding ${describe(encoding)}: ${why}`, {
    file: index,
  });
}

/**
 * A Mosaic streaming dataset in the MDS format (`index.json` and its shards, as Mosaic's `MDSWriter` or
 * weft's {@link ShardWriter} write them), with random access by sample. `get(i)` gives sample i as an object
 * of the projected `columns`, each decoded by its encoding:
 *
 * | encoding | value |
 * | --- | --- |
 * | `int`, `int8`…`int64`, `uint8`…`uint64`, `float16/32/64` | a number (a 64-bit integer beyond 2^53 is a {@link FileError}) |
 * | `str`, `str_decimal` · `str_int`, `str_float` | a string · a number |
 * | `bytes` | a `Uint8Array` |
 * | `json` | the parsed value |
 * | `ndarray[:dtype[:shape]]` | a tensor `{ data, shape }`: float16 widened to a `Float32Array`, 64-bit integers as bigint arrays |
 * | `jpeg`, `png`, `pil` | the pixels as a `uint8` tensor, height × width × channels (decoded by sharp, an optional peer) |
 * | `pkl` | a {@link ConfigError}: pickles are Python-only (project the column away) |
 *
 * A shard is a block: read whole (and decompressed: zstd with `fzstd`, an optional peer, or gz and br with
 * node:zlib), checked against the index's size and hash, and kept in a per-thread cache of `cacheBlocks`
 * shards, so {@link BlockShuffleSampler} reads each shard once per window. Every read goes through a
 * `ByteSource`, opened once for every shard by `open` (which checks each shard's size against the
 * index) and reopened by each worker from its state.
 *
 * @typeParam T - the sample type (not checked)
 * @example
 * ```ts
 * const ds = await MdsDataset.open<{ x: number; label: number }>('data/mds', { columns: ['x', 'label'] });
 * const loader = new DataLoader({ dataset: ds, sampler: new BlockShuffleSampler(ds), batchSize: 64 });
 * ```
 */
export class MdsDataset<T = Record<string, MdsValue>> extends ChunkedDataset<T, DecodedShard> {
  /** Every column of the data, in the shards' order. */
  readonly names: readonly string[];
  /**
   * The dtype (and shape) of each projected column whose values are numbers or arrays of one of weft's
   * dtypes: scalars (`uint8`, `int32`, `float32`…; not the 64-bit integers, nor float16) and `ndarray`
   * columns of a fixed dtype (with their shape when fixed). The default collate gives those fields that dtype.
   */
  readonly layout: ItemLayout;
  readonly #state: MdsState;
  readonly #zstd: Fzstd | undefined;
  /** The encodings of the projected columns (others may be unknown to weft: only their sizes matter). */
  readonly #encodings: readonly (Encoding | undefined)[];
  /** Positions in `names` of the projected columns. */
  readonly #projected: readonly number[];
  readonly #sources: (ByteSource | undefined)[];
  readonly #verify: boolean;

  /**
   * Opens an MDS dataset: checks the options ({@link ConfigError}, every problem at once, including columns
   * the data does not have and `pkl` columns), reads `index.json` (a {@link FileError} when it is not an MDS
   * index), and opens every shard (a {@link FileError} for a missing one or one whose size differs from the
   * index).
   *
   * @param location - the dataset's directory (the one holding `index.json`)
   * @param options - see {@link MdsOptions}
   * @example
   * ```ts
   * const ds = await MdsDataset.open('data/mds');
   * await ds.get(0); // { id: 0, x: 0.5, name: 'item-0' }
   * ```
   */
  static async open<T = Record<string, MdsValue>>(
    location: string | URL,
    options: MdsOptions = {},
  ): Promise<MdsDataset<T>> {
    const issues: string[] = [];
    const dir = checkPath(location, issues);
    if (typeof options !== 'object' || options === null)
      issues.push(`\`options\` must be an object, got ${describe(options)}`);
    else
      issues.push(...issuesOf(optionsSchema, options), ...remoteRelation(options as Record<string, unknown>));
    if (issues.length > 0) fail('MdsDataset options', issues);
    // Every remote option (the S3 endpoint, the budget, retries…), not only the cache's folder.
    const sourceOptions: RemoteOptions = options;
    const indexLocation = joinLocation(dir, 'index.json');
    const indexSource = await openSource(indexLocation, sourceOptions);
    let index: z.output<typeof indexSchema>;
    try {
      const text = new TextDecoder().decode(await readCopy(indexSource, 0, indexSource.size));
      index = parseIndex(indexLocation, text);
    } finally {
      indexSource.close();
    }
    const first = index.shards[0];
    const names = first?.column_names ?? [];
    const encodings = first?.column_encodings ?? [];
    const sizes = first?.column_sizes ?? [];
    for (const [s, shard] of index.shards.entries()) checkShard(indexLocation, shard, s, first as ShardInfo);
    // The index's sizes say where each column is; a known encoding must agree with them.
    for (const [k, name] of names.entries()) {
      const encoding = parseEncoding(encodings[k] as string);
      if (typeof encoding !== 'string' && (encoding.size ?? null) !== sizes[k]) {
        throw new FileError(
          `${indexLocation}: column ${describe(name)} (${encoding.name}) has ${encoding.size === undefined ? 'a variable size' : `${encoding.size} bytes`}, but column_sizes says ${sizes[k]}`,
          { file: indexLocation },
        );
      }
    }
    const columns = checkColumns('MdsDataset', dir, options.columns, names);
    for (const column of columns) {
      const k = names.indexOf(column);
      const encoding = parseEncoding(encodings[k] as string);
      if (typeof encoding === 'string')
        throw badEncoding(indexLocation, column, encodings[k] as string, encoding);
      if (encoding.kind === 'pkl') throw badEncoding(indexLocation, column, 'pkl', 'pkl');
    }
    const compressions = new Set(index.shards.map((s) => (s.zip_data === null ? undefined : s.compression)));
    const zstd = [...compressions].some(
      (c) => c !== undefined && c !== null && splitCompression(c).algo === 'zstd',
    )
      ? await loadZstd()
      : undefined;
    const shards = await Promise.all(
      index.shards.map(async (shard): Promise<MdsShardState> => {
        const file = shard.zip_data ?? shard.raw_data;
        const source = await openSource(joinLocation(dir, file.basename), sourceOptions);
        const state = source.state();
        source.close();
        if (state.size !== file.bytes) {
          throw new FileError(
            `${state.location} has ${state.size} bytes, but ${indexLocation} says ${file.bytes}: a truncated or rewritten shard`,
            { file: state.location },
          );
        }
        const algo = shard.hashes.find((h) => nodeHash(h) !== undefined && file.hashes[h] !== undefined);
        return {
          source: state,
          basename: file.basename,
          samples: shard.samples,
          compression:
            shard.zip_data === null ? undefined : splitCompression(shard.compression as string).algo,
          rawBytes: shard.raw_data.bytes,
          hash: algo === undefined ? undefined : { algo, hex: file.hashes[algo] as string },
        };
      }),
    );
    const chunked = newChunkedState(
      dir,
      columns,
      shards.map((s) => s.samples),
      options.cacheBlocks,
    );
    const state: MdsState = { ...chunked, names, encodings, sizes, shards };
    return new MdsDataset<T>(state, zstd, options.verifyHashes ?? true);
  }

  /**
   * Rebuilds a dataset from its state (what workers do); use {@link MdsDataset.open} instead.
   *
   * @param state - what an opened dataset recorded
   * @param zstd - the fzstd module, when a shard is zstd-compressed
   * @param verify - whether shards are checked against their hashes
   * @internal
   */
  constructor(state: MdsState, zstd: Fzstd | undefined, verify: boolean) {
    super(state);
    this.#state = state;
    this.#zstd = zstd;
    this.#verify = verify;
    this.names = state.names;
    this.#encodings = state.encodings.map((e, k) =>
      state.columns.includes(state.names[k] as string) ? (parseEncoding(e) as Encoding) : undefined,
    );
    this.layout = layoutOf(state.columns, state.names, this.#encodings);
    this.#projected = state.columns.map((c) => state.names.indexOf(c));
    this.#sources = state.shards.map(() => undefined);
    rebuildWith(this, import.meta.url, 'mdsFromState', { state, verify }); // rebuilt in workers (see core/recipe.ts)
  }

  /** Closes this thread's shard files; the next read reopens (and rechecks) them. */
  close(): void {
    for (const source of this.#sources) source?.close();
  }

  /** Starts downloading shard `block` whole into the node-wide cache (remote shards only). @internal */
  protected override prefetchBlock(block: number): boolean {
    const shard = (this.#state.shards[block] as MdsShardState).source;
    if (shard.remote === undefined) return false;
    this.#sources[block] ??= sourceFromState(shard);
    return this.#sources[block].prefetch?.(0, shard.size) ?? false;
  }

  /** Shard `block`, read whole, checked and decompressed. @internal */
  protected async readBlock(block: number): Promise<DecodedShard> {
    const shard = this.#state.shards[block] as MdsShardState;
    const file = shard.source.location;
    try {
      this.#sources[block] ??= sourceFromState(shard.source);
      const source = this.#sources[block];
      const bytes = await readCopy(source, 0, source.size);
      if (this.#verify && shard.hash !== undefined) {
        const actual = digest(shard.hash.algo, bytes);
        if (actual !== shard.hash.hex) {
          throw new FileError(
            `${file} does not match its ${shard.hash.algo} hash in index.json (${shard.hash.hex}, the file's is ${actual}): a corrupt or rewritten shard`,
            { file },
          );
        }
      }
      const raw =
        shard.compression === undefined
          ? bytes
          : decompress(shard.compression, bytes, shard.rawBytes, this.#zstd);
      const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      const count = raw.byteLength >= 4 ? view.getUint32(0, true) : -1;
      if (count !== shard.samples || raw.byteLength !== shard.rawBytes) {
        throw new FileError(
          `${file} holds ${count < 0 ? 'no' : count} samples in ${raw.byteLength} bytes, but index.json says ${shard.samples} in ${shard.rawBytes}`,
          { file },
        );
      }
      return { block, raw };
    } catch (e) {
      throw this.decodeError('shard', block, e);
    }
  }

  /** Sample `at` of a shard, decoded column by column. @internal */
  protected itemOf({ block, raw }: DecodedShard, at: number): T | Promise<T> {
    const shard = this.#state.shards[block] as MdsShardState;
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const start = view.getUint32(4 + 4 * at, true);
    const end = view.getUint32(8 + 4 * at, true);
    const row = (this.blockOffsets[block] as number) + at;
    const where = `${shard.basename}, sample ${at}`;
    const file = shard.source.location;
    if (start > end || end > raw.byteLength) {
      throw new FileError(`${file}: sample ${at} spans bytes ${start}–${end}, outside the shard`, {
        file,
        row,
      });
    }
    // Where each column starts: the sizes of the variable-size columns come first.
    const sizes = this.#state.sizes;
    const variable = sizes.filter((size) => size === null).length;
    const starts: number[] = [];
    let pos = start + 4 * variable;
    let v = 0;
    for (const fixed of sizes) {
      const size = fixed ?? view.getUint32(start + 4 * v++, true);
      starts.push(pos, pos + size);
      pos += size;
    }
    if (pos !== end) {
      throw new FileError(`${file}: sample ${at} has ${end - start} bytes, its columns ${pos - start}`, {
        file,
        row,
      });
    }
    const out: Record<string, unknown> = {};
    const pending: Promise<void>[] = [];
    for (const k of this.#projected) {
      const name = this.names[k] as string;
      const bytes = raw.subarray(starts[2 * k], starts[2 * k + 1]);
      const value = decodeValue(
        this.#encodings[k] as Encoding,
        bytes,
        `${where}, column ${describe(name)}`,
        file,
        row,
      );
      if (value instanceof Promise)
        pending.push(
          value.then((d) => {
            out[name] = d;
          }),
        );
      else out[name] = value;
    }
    if (pending.length === 0) return out as T;
    return Promise.all(pending).then(() => out as T);
  }
}

const LAYOUT_DTYPES = new Set<string>([
  'uint8',
  'int8',
  'uint16',
  'int16',
  'uint32',
  'int32',
  'float32',
  'float64',
]);

/** The layout of the projected columns whose dtype weft has (see {@link MdsDataset.layout}). */
function layoutOf(
  columns: readonly string[],
  names: readonly string[],
  encodings: readonly (Encoding | undefined)[],
): ItemLayout {
  const out: Record<string, FieldLayout> = {};
  for (const column of columns) {
    const encoding = encodings[names.indexOf(column)] as Encoding;
    if (encoding.kind === 'scalar' && LAYOUT_DTYPES.has(encoding.dtype)) {
      out[column] = { dtype: encoding.dtype as DType, shape: [] };
    } else if (
      encoding.kind === 'ndarray' &&
      encoding.dtype !== undefined &&
      LAYOUT_DTYPES.has(encoding.dtype)
    ) {
      out[column] = {
        dtype: encoding.dtype as DType,
        ...(encoding.shape === undefined ? {} : { shape: [...encoding.shape] }),
      };
    }
  }
  return out;
}

function parseIndex(file: string, text: string): z.output<typeof indexSchema> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new FileError(`${file} is not JSON: ${(e as Error).message}`, { file }, { cause: e });
  }
  const issues = issuesOf(indexSchema, json);
  if (issues.length > 0) throw new FileError(`${file} is not an MDS index: ${issues.join('; ')}`, { file });
  return indexSchema.parse(json);
}

function checkShard(file: string, shard: ShardInfo, s: number, first: ShardInfo): void {
  const problems: string[] = [];
  const same = (a: readonly unknown[], b: readonly unknown[]) =>
    a.length === b.length && a.every((x, i) => x === b[i]);
  if (
    !same(shard.column_names, first.column_names) ||
    !same(shard.column_encodings, first.column_encodings) ||
    !same(shard.column_sizes, first.column_sizes)
  ) {
    problems.push('its columns differ from those of shard 0');
  }
  const n = shard.column_names.length;
  if (shard.column_encodings.length !== n || shard.column_sizes.length !== n) {
    problems.push('it has not one encoding and one size per column');
  }
  if (shard.zip_data !== null) {
    const algo = shard.compression === null ? 'none' : splitCompression(shard.compression).algo;
    if (!READABLE_COMPRESSIONS.includes(algo)) {
      problems.push(
        `its compression ${describe(shard.compression)} is not one weft reads (${READABLE_COMPRESSIONS.join(', ')})`,
      );
    }
  }
  if (problems.length > 0) {
    throw new FileError(`${file}, shard ${s} (${shard.raw_data.basename}): ${problems.join('; ')}`, { file });
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** One column's value from its bytes. */
function decodeValue(
  encoding: Encoding,
  bytes: Uint8Array,
  where: string,
  file: string,
  row: number,
): MdsValue | Promise<MdsValue> {
  const bad = (why: string, cause?: unknown) =>
    new FileError(`${file}: ${where} (${encoding.name}): ${why}`, { file, row }, { cause });
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = () => {
    try {
      return utf8.decode(bytes);
    } catch (e) {
      throw bad('not UTF-8', e);
    }
  };
  switch (encoding.kind) {
    case 'int':
      return safe(view.getBigInt64(0, true), bad);
    case 'scalar':
      return scalar(encoding.dtype, view, bad);
    case 'str':
    case 'str_decimal':
      return text();
    case 'str_int':
    case 'str_float': {
      const s = text();
      const n = Number(s);
      if (s.trim() === '' || (Number.isNaN(n) && s.trim() !== 'nan'))
        throw bad(`${describe(s)} is not a number`);
      return n;
    }
    case 'bytes':
      return bytes.slice();
    case 'json':
      try {
        return JSON.parse(text()) as JsonValue;
      } catch (e) {
        throw bad(`malformed JSON: ${(e as Error).message}`, e);
      }
    case 'ndarray':
      return ndarray(encoding, bytes, bad);
    case 'jpeg':
    case 'png':
      return decodeImage(bytes, where, file);
    case 'pil':
      return pil(bytes, bad);
    default:
      throw bad('not readable in JavaScript');
  }
}

type Bad = (why: string, cause?: unknown) => FileError;

function safe(value: bigint, bad: Bad): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n))
    throw bad(`${value} is beyond 2^53, which a JavaScript number cannot hold exactly`);
  return n;
}

function scalar(dtype: MdsDType, view: DataView, bad: Bad): number {
  switch (dtype) {
    case 'uint8':
      return view.getUint8(0);
    case 'int8':
      return view.getInt8(0);
    case 'uint16':
      return view.getUint16(0, true);
    case 'int16':
      return view.getInt16(0, true);
    case 'float16':
      return halfToNumber(view.getUint16(0, true));
    case 'uint32':
      return view.getUint32(0, true);
    case 'int32':
      return view.getInt32(0, true);
    case 'float32':
      return view.getFloat32(0, true);
    case 'uint64':
      return safe(view.getBigUint64(0, true), bad);
    case 'int64':
      return safe(view.getBigInt64(0, true), bad);
    case 'float64':
      return view.getFloat64(0, true);
  }
}

function ndarray(encoding: Encoding & { kind: 'ndarray' }, bytes: Uint8Array, bad: Bad): MdsTensor {
  let at = 0;
  let dtype = encoding.dtype;
  if (dtype === undefined) {
    dtype = NDARRAY_DTYPES[bytes[at++] as keyof typeof NDARRAY_DTYPES];
    if (dtype === undefined) throw bad(`unknown element type code ${bytes[0]}`);
  }
  let shape = encoding.shape === undefined ? undefined : [...encoding.shape];
  if (shape === undefined) {
    const head = bytes[at++];
    if (head === undefined) throw bad('no shape header');
    const ndim = head >> 2;
    const width = 2 ** (head & 3);
    const view = new DataView(
      bytes.buffer,
      bytes.byteOffset + at,
      Math.max(0, Math.min(ndim * width, bytes.length - at)),
    );
    if (view.byteLength < ndim * width) throw bad('truncated shape header');
    shape = Array.from({ length: ndim }, (_, d) =>
      width === 1
        ? view.getUint8(d)
        : width === 2
          ? view.getUint16(2 * d, true)
          : width === 4
            ? view.getUint32(4 * d, true)
            : Number(view.getBigUint64(8 * d, true)),
    );
    at += ndim * width;
  }
  const count = shape.reduce((a, b) => a * b, 1);
  if (bytes.length - at !== count * bytesOf(dtype)) {
    throw bad(`${bytes.length - at} bytes of ${dtype} values for the shape [${shape.join(', ')}]`);
  }
  return { data: decodeArray(dtype, bytes.subarray(at)), shape };
}

/** Mosaic's `pil`: width, height, the mode's length (uint32 each), the mode, raw pixels. */
function pil(bytes: Uint8Array, bad: Bad): MdsTensor {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 12) throw bad('truncated header');
  const width = view.getUint32(0, true);
  const height = view.getUint32(4, true);
  const modeSize = view.getUint32(8, true);
  const mode = new TextDecoder().decode(bytes.subarray(12, 12 + modeSize));
  const channels = ({ L: 1, LA: 2, RGB: 3, RGBA: 4 } as Record<string, number>)[mode];
  if (channels === undefined) throw bad(`the PIL mode ${describe(mode)} is not one of L, LA, RGB, RGBA`);
  const pixels = bytes.subarray(12 + modeSize);
  if (pixels.length !== width * height * channels)
    throw bad(`${pixels.length} bytes of pixels for ${width}×${height} ${mode}`);
  return { data: pixels.slice(), shape: [height, width, channels] };
}

// ── Worker recipe glue ──
/**
 * Rebuilds an {@link MdsDataset} in a worker from its state, loading fzstd there when a shard needs it.
 *
 * @param args - what the calling thread's dataset recorded
 * @internal
 */
export const mdsFromState = async (args: { state: MdsState; verify: boolean }): Promise<MdsDataset> => {
  const zstd = args.state.shards.some((s) => s.compression === 'zstd') ? await loadZstd() : undefined;
  return new MdsDataset(args.state, zstd, args.verify);
};
