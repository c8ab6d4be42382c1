// Mosaic's MDS format, shared by the reader (MdsDataset) and the writer (ShardWriter): the column encodings
// (what bytes each one is), the index.json schema, the shard hashes node:crypto can check, and the
// compressions. A shard is: the sample count (uint32), the byte offset of every sample and of the end
// (uint32 each, from the shard's start), a JSON copy of the writer's settings, then the samples; a sample
// holds the byte sizes (uint32) of its variable-size columns, then every column's bytes in column order.
// Numbers are little-endian, as numpy writes them on the machines Mosaic runs on.
import { createHash, getHashes } from 'node:crypto';
import { brotliCompressSync, brotliDecompressSync, constants, gunzipSync, gzipSync } from 'node:zlib';
import { z } from 'zod';
import { describe } from '../../core/checks.ts';
import type { Tensor, TypedArray } from '../../core/dtype.ts';
import { ConfigError } from '../../core/errors.ts';

/** The numeric element types of Mosaic's `ndarray` encoding, by the code its header stores. */
export const NDARRAY_DTYPES = {
  8: 'uint8',
  9: 'int8',
  16: 'uint16',
  17: 'int16',
  18: 'float16',
  32: 'uint32',
  33: 'int32',
  34: 'float32',
  64: 'uint64',
  65: 'int64',
  66: 'float64',
} as const satisfies Record<number, MdsDType>;

/**
 * An element type of MDS scalars and `ndarray` columns (numpy's names).
 *
 * @example
 * ```ts
 * const dtype: MdsDType = 'float16'; // read into a Float32Array
 * ```
 */
export type MdsDType =
  | 'uint8'
  | 'int8'
  | 'uint16'
  | 'int16'
  | 'float16'
  | 'uint32'
  | 'int32'
  | 'float32'
  | 'uint64'
  | 'int64'
  | 'float64';

const DTYPE_CODES = Object.fromEntries(
  Object.entries(NDARRAY_DTYPES).map(([k, v]) => [v, Number(k)]),
) as Record<MdsDType, number>;
const BYTES: Record<MdsDType, number> = {
  uint8: 1,
  int8: 1,
  uint16: 2,
  int16: 2,
  float16: 2,
  uint32: 4,
  int32: 4,
  float32: 4,
  uint64: 8,
  int64: 8,
  float64: 8,
};

/**
 * The typed array an `ndarray` column of each {@link MdsDType} is read into: float16 widens to float32
 * (Node 20 has no Float16Array), 64-bit integers are bigints.
 */
export interface MdsArrays {
  /** Unsigned bytes. */
  uint8: Uint8Array;
  /** Signed bytes. */
  int8: Int8Array;
  /** 16-bit unsigned integers. */
  uint16: Uint16Array;
  /** 16-bit signed integers. */
  int16: Int16Array;
  /** Half floats, widened to 32 bits. */
  float16: Float32Array;
  /** 32-bit unsigned integers. */
  uint32: Uint32Array;
  /** 32-bit signed integers. */
  int32: Int32Array;
  /** 32-bit floats. */
  float32: Float32Array;
  /** 64-bit unsigned integers, as bigints. */
  uint64: BigUint64Array;
  /** 64-bit signed integers, as bigints. */
  int64: BigInt64Array;
  /** 64-bit floats. */
  float64: Float64Array;
}

const ARRAYS: { [D in MdsDType]: new (buffer: ArrayBuffer) => MdsArrays[D] } = {
  uint8: Uint8Array,
  int8: Int8Array,
  uint16: Uint16Array,
  int16: Int16Array,
  float16: Uint16Array as unknown as new (buffer: ArrayBuffer) => Float32Array, // widened in decodeArray
  uint32: Uint32Array,
  int32: Int32Array,
  float32: Float32Array,
  uint64: BigUint64Array,
  int64: BigInt64Array,
  float64: Float64Array,
};

/** One column's encoding, parsed from its name in the index (`ndarray:float32:16`, `jpeg:90`). */
export type Encoding =
  | { readonly kind: 'scalar'; readonly name: string; readonly dtype: MdsDType; readonly size: number }
  | { readonly kind: 'int'; readonly name: string; readonly size: 8 }
  | {
      readonly kind: 'ndarray';
      readonly name: string;
      readonly dtype: MdsDType | undefined;
      readonly shape: readonly number[] | undefined;
      readonly size: number | undefined;
    }
  | {
      readonly kind:
        | 'str'
        | 'bytes'
        | 'json'
        | 'jpeg'
        | 'png'
        | 'pil'
        | 'str_int'
        | 'str_float'
        | 'str_decimal';
      readonly name: string;
      readonly size: undefined;
    }
  | { readonly kind: 'pkl'; readonly name: string; readonly size: undefined };

const SCALARS = new Set<string>(Object.keys(BYTES));
const VARIABLE = new Set([
  'str',
  'bytes',
  'json',
  'jpeg',
  'png',
  'pil',
  'str_int',
  'str_float',
  'str_decimal',
  'pkl',
]);

/**
 * Parses an encoding's name, or gives why it is not one (the caller names the column and the file).
 *
 * @param name - as the index writes it: `int`, `uint8`, `str`, `ndarray:int32`, `ndarray:float32:3,4`, `jpeg:90`
 * @returns the encoding, or a reason
 */
export function parseEncoding(name: string): Encoding | string {
  const [head = '', ...args] = name.split(':');
  if (head === 'int' && args.length === 0) return { kind: 'int', name, size: 8 };
  if (SCALARS.has(head) && args.length === 0) {
    const dtype = head as MdsDType;
    return { kind: 'scalar', name, dtype, size: BYTES[dtype] };
  }
  if (head === 'ndarray' && args.length <= 2) {
    const dtype = args[0];
    if (dtype !== undefined && !SCALARS.has(dtype))
      return `\`ndarray\` has no element type ${describe(dtype)}`;
    let shape: number[] | undefined;
    if (args[1] !== undefined) {
      shape = args[1].split(',').map(Number);
      if (!shape.every((d) => Number.isSafeInteger(d) && d >= 1))
        return `the shape ${describe(args[1])} is not a list of positive integers`;
    }
    const size =
      dtype !== undefined && shape !== undefined
        ? shape.reduce((a, b) => a * b, 1) * BYTES[dtype as MdsDType]
        : undefined;
    return { kind: 'ndarray', name, dtype: dtype as MdsDType | undefined, shape, size };
  }
  if (head === 'jpeg' && args.length <= 1) return { kind: 'jpeg', name, size: undefined };
  if (VARIABLE.has(head) && args.length === 0) {
    return { kind: head as 'str', name, size: undefined };
  }
  return 'it is not an MDS encoding';
}

/**
 * JSON as Python's `json.dumps` writes it (`, ` and `: `, non-ASCII escaped; keys sorted with `sortKeys`),
 * so that an index, a shard's header and `json` columns come out as Mosaic's writer makes them. Numbers are
 * JavaScript's (`1`, where Python writes `1.0` for a float), which every JSON reader reads back the same.
 */
export function pythonJson(value: unknown, sortKeys = false): string {
  if (value === null || typeof value !== 'object') {
    const text = JSON.stringify(value) as string | undefined;
    if (text === undefined) throw new TypeError(`${describe(value)} is not JSON`);
    return text.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  }
  if (ArrayBuffer.isView(value)) throw new TypeError(`${describe(value)} is not JSON`);
  if (Array.isArray(value)) return `[${value.map((v) => pythonJson(v, sortKeys)).join(', ')}]`;
  const keys = Object.keys(value).filter((k) => (value as Record<string, unknown>)[k] !== undefined);
  if (sortKeys) keys.sort();
  const entries = keys.map(
    (k) => `${pythonJson(k)}: ${pythonJson((value as Record<string, unknown>)[k], sortKeys)}`,
  );
  return `{${entries.join(', ')}}`;
}

// ── The index ──

const fileInfo = z
  .object({
    basename: z.string().min(1),
    bytes: z.int().min(0),
    hashes: z.record(z.string(), z.string()),
  })
  .loose();

/** A shard's entry in index.json (the fields weft reads; others are allowed). */
export const shardSchema = z
  .object({
    format: z.literal('mds', { error: 'must be "mds" (other Mosaic formats, csv/tsv/jsonl, are not read)' }),
    version: z.literal(2, { error: 'must be 2' }),
    samples: z.int().min(0),
    column_names: z.array(z.string()),
    column_encodings: z.array(z.string()),
    column_sizes: z.array(z.int().min(0).nullable()),
    compression: z.string().nullable(),
    hashes: z.array(z.string()),
    size_limit: z.int().nullable(),
    raw_data: fileInfo,
    zip_data: fileInfo.nullable(),
  })
  .loose();

/** A shard's entry in index.json. */
export type ShardInfo = z.output<typeof shardSchema>;

/** index.json: the version and the shards in order. */
export const indexSchema = z
  .object({ version: z.literal(2, { error: 'must be 2' }), shards: z.array(shardSchema) })
  .loose();

// ── Hashes ──

/** Mosaic's hash names with the name node:crypto knows them by; xxHash (xxh32, xxh64, xxh3_*) is not in node. */
const NODE_HASHES: Readonly<Record<string, string>> = {
  md5: 'md5',
  sha1: 'sha1',
  sha224: 'sha224',
  sha256: 'sha256',
  sha384: 'sha384',
  sha512: 'sha512',
  sha3_224: 'sha3-224',
  sha3_256: 'sha3-256',
  sha3_384: 'sha3-384',
  sha3_512: 'sha3-512',
  blake2b: 'blake2b512',
  blake2s: 'blake2s256',
};

/** The node:crypto name of a Mosaic hash, or undefined when node cannot compute it. */
export function nodeHash(algo: string): string | undefined {
  const name = NODE_HASHES[algo];
  return name !== undefined && getHashes().includes(name) ? name : undefined;
}

/** The hex digest of `bytes` by a Mosaic hash that {@link nodeHash} knows. */
export function digest(algo: string, bytes: Uint8Array): string {
  return createHash(nodeHash(algo) as string)
    .update(bytes)
    .digest('hex');
}

/** The Mosaic hashes weft can write and check, sorted as Mosaic wants them. */
export const WRITABLE_HASHES = Object.keys(NODE_HASHES).sort();

// ── Compression ──

/** A compression by its Mosaic name (`zstd:7` → `zstd`, level 7). */
export function splitCompression(text: string): { algo: string; level: number | undefined } {
  const [algo = '', level] = text.split(':');
  return { algo, level: level === undefined ? undefined : Number(level) };
}

/** The zstd decoder (fzstd), loaded by the reader with `importPeer`. */
export interface Fzstd {
  decompress(data: Uint8Array, out?: Uint8Array): Uint8Array;
}

/**
 * Decompresses a shard: zstd (with fzstd), gz and br (with node:zlib). `zstd` is undefined when no shard
 * needs it.
 */
export function decompress(
  algo: string,
  data: Uint8Array,
  rawBytes: number,
  zstd: Fzstd | undefined,
): Uint8Array {
  if (algo === 'zstd') return (zstd as Fzstd).decompress(data, new Uint8Array(rawBytes));
  // node:zlib gives Buffers, whose `slice` is a view: the decoders want plain arrays.
  const plain = (b: Buffer) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  if (algo === 'gz') return plain(gunzipSync(data));
  if (algo === 'br') return plain(brotliDecompressSync(data));
  throw new ConfigError(`the compression ${describe(algo)} is not supported`);
}

/** Compressions the reader decompresses. */
export const READABLE_COMPRESSIONS = ['zstd', 'gz', 'br'];

/** Compresses a shard with a compression node:zlib has (gz, br), at Mosaic's default levels when none is given. */
export function compress(algo: 'gz' | 'br', level: number | undefined, data: Uint8Array): Uint8Array {
  if (algo === 'gz') return gzipSync(data, { level: level ?? 9 });
  return brotliCompressSync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: level ?? 11 } });
}

// ── Values ──

/** IEEE half precision to a number. */
export function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** A number to IEEE half precision (round to nearest even), as numpy's float16 conversion does. */
export function numberToHalf(x: number): number {
  const f32 = new Float32Array([x]);
  const bits = new Uint32Array(f32.buffer)[0] as number;
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  let mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let m = mant >> shift;
    const rest = mant & ((1 << shift) - 1);
    if (rest > half || (rest === half && m & 1)) m++;
    return sign | m;
  }
  let m = mant >> 13;
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && m & 1)) {
    m++;
    if (m === 0x400) {
      m = 0;
      e++;
      if (e >= 31) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | m;
}

/**
 * The elements of an `ndarray` value from its bytes (copied, so aligned and owned): float16 widened to
 * float32.
 */
export function decodeArray<D extends MdsDType>(dtype: D, bytes: Uint8Array): MdsArrays[D] {
  const copy = bytes.slice().buffer;
  if (dtype === 'float16') {
    const halves = new Uint16Array(copy);
    const out = new Float32Array(halves.length);
    for (let i = 0; i < halves.length; i++) out[i] = halfToNumber(halves[i] as number);
    return out as MdsArrays[D];
  }
  return new ARRAYS[dtype](copy);
}

/** The {@link MdsDType} of a typed array, or undefined (Uint8ClampedArray is uint8). */
export function dtypeOfArray(array: TypedArray): MdsDType {
  if (array instanceof Float32Array) return 'float32';
  if (array instanceof Float64Array) return 'float64';
  if (array instanceof Int8Array) return 'int8';
  if (array instanceof Int16Array) return 'int16';
  if (array instanceof Int32Array) return 'int32';
  if (array instanceof Uint16Array) return 'uint16';
  if (array instanceof Uint32Array) return 'uint32';
  if (array instanceof BigInt64Array) return 'int64';
  if (array instanceof BigUint64Array) return 'uint64';
  return 'uint8';
}

/** The byte size of one element of `dtype`. */
export const bytesOf = (dtype: MdsDType): number => BYTES[dtype];

/** The code of `dtype` in an `ndarray` header. */
export const dtypeCode = (dtype: MdsDType): number => DTYPE_CODES[dtype];

/**
 * A parsed JSON value (an MDS `json` column, a WebDataset `.json` member).
 *
 * @example
 * ```ts
 * const meta: JsonValue = { tags: ['a', 'b'], width: 32 };
 * ```
 */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A value of an `ndarray` column: its elements and shape. */
export type MdsTensor = Tensor<MdsArrays[MdsDType]>;
