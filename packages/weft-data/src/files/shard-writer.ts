// Writing MDS shards from JavaScript values, byte for byte as Mosaic's MDSWriter lays them out (see
// mds/format.ts), so that Node users can prepare data for Mosaic's reader, weft's MdsDataset or remote storage.
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { isTensor } from '../collate/stack.ts';
import { describe } from '../core/checks.ts';
import type { Dataset } from '../core/dataset.ts';
import type { TypedArray } from '../core/dtype.ts';
import { ConfigError } from '../core/errors.ts';
import { fail, issuesOf, positiveInt } from '../core/validate.ts';
import { checkPath } from './file.ts';
import {
  bytesOf,
  compress,
  digest,
  dtypeCode,
  dtypeOfArray,
  type Encoding,
  type MdsDType,
  numberToHalf,
  parseEncoding,
  pythonJson,
  splitCompression,
  WRITABLE_HASHES,
} from './mds/format.ts';

/** Options of {@link ShardWriter}. */
export interface ShardWriterOptions {
  /** The directory to write `index.json` and the shards to (created; it must not hold an `index.json`). */
  out: string;
  /**
   * Column name → MDS encoding (`int`, `uint8`…`uint64`, `int8`…`int64`, `float16/32/64`, `str`, `bytes`,
   * `json`, `ndarray[:dtype[:shape]]`, `jpeg`/`png` for encoded image bytes, `pil`, `str_int`, `str_float`,
   * `str_decimal`). Keys of an item that are not columns are left out.
   * @default inferred from the first item: numbers `float64` (exact for every JavaScript number; declare
   * `int` or `uint8` for labels), bigints `int64`, strings `str`, `Uint8Array`s `bytes`, other typed arrays
   * and tensors `ndarray:<dtype>`, anything else (booleans, null, arrays, objects) `json`
   */
  columns?: Record<string, string>;
  /** A shard is closed before a sample would take it past this many bytes (a lone larger sample gets its own). @default 67108864 (64 MiB) */
  sizeLimit?: number;
  /**
   * Compression of the shards: `gz` or `br`, optionally with a level (`gz:6`). zstd cannot be written: the
   * zstd package weft reads with (fzstd) only decompresses. @default none
   */
  compression?: string;
  /** Hashes of every shard file to put in the index, e.g. `['sha1']` (md5, sha1, sha2, sha3, blake2b, blake2s). @default [] */
  hashes?: string[];
}

const optionsSchema = z
  .object({
    out: z.string({ error: 'must be a directory path' }).min(1, { error: 'must be a directory path' }),
    columns: z.record(z.string(), z.string(), { error: 'must map column names to MDS encodings' }).optional(),
    sizeLimit: positiveInt.optional(),
    compression: z
      .string()
      .regex(/^(gz(:[0-9])?|br(:([0-9]|1[01]))?)$/, {
        error:
          "must be 'gz', 'br' or one with a level ('gz:0'…'gz:9', 'br:0'…'br:11'); zstd cannot be written",
      })
      .optional(),
    hashes: z
      .array(
        z.enum(WRITABLE_HASHES as [string, ...string[]], {
          error: `must be one of ${WRITABLE_HASHES.join(', ')}`,
        }),
      )
      .optional(),
  })
  .strict();

/** Where a shard writer has got to: what {@link ShardWriter.finish} gives. */
export interface ShardSummary {
  /** Shards written. */
  readonly shards: number;
  /** Samples written. */
  readonly samples: number;
  /** The columns and their encodings, in the shards' (sorted) order. */
  readonly columns: Readonly<Record<string, string>>;
}

interface Column {
  readonly name: string;
  readonly encoding: Encoding;
}

const utf8 = new TextEncoder();

/**
 * Writes items (objects of columns) as an MDS dataset: shards of at most `sizeLimit` bytes and an
 * `index.json`, laid out as Mosaic's `MDSWriter` writes them (columns sorted by name, the same header and
 * index), so Mosaic's `StreamingDataset` and weft's {@link MdsDataset} read them. Shards are written as they
 * fill; `index.json` last (atomically), so a dataset without one is unfinished. A value that does not fit
 * its column's encoding is a {@link ConfigError} naming the item, the column and the value.
 *
 * @param options - see {@link ShardWriterOptions}
 * @example
 * ```ts
 * const writer = new ShardWriter({ out: 'data/mds', columns: { x: 'float32', label: 'int' }, sizeLimit: 1 << 20 });
 * for (const item of items) writer.write(item);
 * writer.finish(); // { shards: 3, samples: 10000, columns: { label: 'int', x: 'float32' } }
 * ```
 */
export class ShardWriter {
  /** The output directory (absolute). */
  readonly out: string;
  readonly #sizeLimit: number;
  readonly #compression: { algo: 'gz' | 'br'; level: number | undefined; text: string } | undefined;
  readonly #hashes: readonly string[];
  #columns: Column[] | undefined;
  #config = new Uint8Array(0);
  #configObject: Record<string, unknown> = {};
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #samples = 0;
  #finished = false;
  readonly #shards: Record<string, unknown>[] = [];

  constructor(options: ShardWriterOptions) {
    const issues =
      typeof options === 'object' && options !== null
        ? issuesOf(optionsSchema, options)
        : [`\`options\` must be an object with \`out\`, got ${describe(options)}`];
    if (issues.length === 0 && options.columns !== undefined) issues.push(...encodingIssues(options.columns));
    const out = issues.length === 0 ? checkPath(options.out, issues) : '';
    if (issues.length === 0 && existsSync(join(out, 'index.json'))) {
      issues.push(
        `\`out\` already holds a dataset (${join(out, 'index.json')}); remove it or choose another directory`,
      );
    }
    if (issues.length > 0) fail('ShardWriter options', issues);
    this.out = out;
    this.#sizeLimit = options.sizeLimit ?? 1 << 26;
    if (options.compression !== undefined) {
      const { algo, level } = splitCompression(options.compression);
      this.#compression = { algo: algo as 'gz' | 'br', level, text: options.compression };
    }
    this.#hashes = [...(options.hashes ?? [])].sort();
    if (options.columns !== undefined) this.#setColumns(options.columns);
    mkdirSync(out, { recursive: true });
  }

  /**
   * Adds an item; writes the shard under way first when the item would take it past `sizeLimit`.
   *
   * @param item - an object with a value for every column
   */
  write(item: Readonly<Record<string, unknown>>): void {
    if (this.#finished) throw new ConfigError('ShardWriter: `write` after `finish`');
    if (typeof item !== 'object' || item === null || Array.isArray(item) || ArrayBuffer.isView(item)) {
      throw new ConfigError(
        `ShardWriter: item ${this.#samples} must be an object of columns, got ${describe(item)}`,
      );
    }
    if (this.#columns === undefined) this.#setColumns(inferColumns(item));
    const sample = this.#encode(item);
    const size = sample.length + 4; // and its offset
    if (this.#pending.length > 0 && this.#sizeLimit < this.#pendingBytes + size) this.#flush();
    this.#pending.push(sample);
    this.#pendingBytes += size;
    this.#samples++;
  }

  /**
   * Writes the last shard and `index.json`. A writer that got no item writes an index of no shards.
   *
   * @returns how many shards and samples were written, and the columns
   */
  finish(): ShardSummary {
    if (this.#finished) throw new ConfigError('ShardWriter: `finish` called twice');
    if (this.#pending.length > 0) this.#flush();
    this.#finished = true;
    const index = join(this.out, 'index.json');
    writeFileSync(`${index}.tmp`, pythonJson({ shards: this.#shards, version: 2 }, true));
    renameSync(`${index}.tmp`, index);
    const columns = Object.fromEntries((this.#columns ?? []).map((c) => [c.name, c.encoding.name]));
    return { shards: this.#shards.length, samples: this.#samples, columns };
  }

  /**
   * Writes every item of a dataset, in order, and finishes.
   *
   * @param dataset - any weft dataset of objects (items may be promises)
   * @param options - see {@link ShardWriterOptions}
   * @returns what {@link ShardWriter.finish} gives
   * @example
   * ```ts
   * await ShardWriter.writeDataset(new ArrayDataset(rows), { out: 'data/mds', sizeLimit: 1 << 20 });
   * ```
   */
  static async writeDataset(
    dataset: Dataset<Readonly<Record<string, unknown>>>,
    options: ShardWriterOptions,
  ): Promise<ShardSummary> {
    const writer = new ShardWriter(options);
    for (let i = 0; i < dataset.length; i++) writer.write(await dataset.get(i));
    return writer.finish();
  }

  #setColumns(columns: Record<string, string>): void {
    const names = Object.keys(columns).sort();
    this.#columns = names.map((name) => ({
      name,
      encoding: parseEncoding(columns[name] as string) as Encoding,
    }));
    this.#configObject = {
      column_encodings: names.map((n) => columns[n]),
      column_names: names,
      column_sizes: this.#columns.map((c) => c.encoding.size ?? null),
      compression: this.#compression?.text ?? null,
      format: 'mds',
      hashes: this.#hashes,
      size_limit: this.#sizeLimit,
      version: 2,
    };
    this.#config = utf8.encode(pythonJson(this.#configObject, true));
    this.#pendingBytes = 8 + this.#config.length;
  }

  #encode(item: Readonly<Record<string, unknown>>): Uint8Array {
    const columns = this.#columns as Column[];
    const parts: Uint8Array[] = [];
    const sizes: number[] = [];
    for (const { name, encoding } of columns) {
      if (!(name in item)) {
        throw new ConfigError(
          `ShardWriter: item ${this.#samples} has no column ${describe(name)}; its keys are ${Object.keys(
            item,
          )
            .map((k) => describe(k))
            .join(', ')}`,
        );
      }
      let bytes: Uint8Array;
      try {
        bytes = encodeValue(encoding, item[name]);
      } catch (e) {
        throw new ConfigError(
          `ShardWriter: item ${this.#samples}, column ${describe(name)} (${encoding.name}): ${(e as Error).message}`,
          undefined,
          { cause: e },
        );
      }
      if (encoding.size === undefined) sizes.push(bytes.length);
      parts.push(bytes);
    }
    const head = new Uint8Array(new Uint32Array(sizes).buffer);
    return concat([head, ...parts]);
  }

  #flush(): void {
    const n = this.#pending.length;
    const offsets = new Uint32Array(n + 1);
    let at = 4 + 4 * (n + 1) + this.#config.length;
    for (let i = 0; i < n; i++) {
      offsets[i] = at;
      at += (this.#pending[i] as Uint8Array).length;
    }
    offsets[n] = at;
    const raw = concat([
      new Uint8Array(new Uint32Array([n]).buffer),
      new Uint8Array(offsets.buffer),
      this.#config,
      ...this.#pending,
    ]);
    const shard = this.#shards.length;
    const rawName = `shard.${String(shard).padStart(5, '0')}.mds`;
    const info = (bytes: Uint8Array, basename: string) => ({
      basename,
      bytes: bytes.length,
      hashes: Object.fromEntries(this.#hashes.map((h) => [h, digest(h, bytes)])),
    });
    let zip: Record<string, unknown> | null = null;
    let file = rawName;
    let data = raw;
    if (this.#compression !== undefined) {
      file = `${rawName}.${this.#compression.algo}`;
      data = compress(this.#compression.algo, this.#compression.level, raw);
      zip = info(data, file);
    }
    writeFileSync(join(this.out, file), data);
    this.#shards.push({ ...this.#configObject, raw_data: info(raw, rawName), samples: n, zip_data: zip });
    this.#pending = [];
    this.#pendingBytes = 8 + this.#config.length;
  }
}

function encodingIssues(columns: Record<string, string>): string[] {
  return Object.entries(columns).flatMap(([name, text]) => {
    const encoding = parseEncoding(text);
    if (typeof encoding === 'string') return [`\`columns.${name}\` is ${describe(text)}: ${encoding}`];
    if (encoding.kind === 'pkl')
      return [`\`columns.${name}\` is "pkl": Python pickles cannot be written from JavaScript`];
    if (encoding.kind === 'ndarray' && encoding.dtype === 'float16') {
      return [
        `\`columns.${name}\` is ${describe(text)}: JavaScript has no float16 arrays to write; use float32`,
      ];
    }
    return [];
  });
}

/** The encodings of the first item's keys (see {@link ShardWriterOptions.columns}). */
function inferColumns(item: Readonly<Record<string, unknown>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(item)) {
    if (typeof value === 'number') out[name] = 'float64';
    else if (typeof value === 'bigint') out[name] = 'int64';
    else if (typeof value === 'string') out[name] = 'str';
    else if (value instanceof Uint8Array) out[name] = 'bytes';
    else if (ArrayBuffer.isView(value) && !(value instanceof DataView))
      out[name] = `ndarray:${dtypeOfArray(value as TypedArray)}`;
    else if (isTensor(value)) out[name] = `ndarray:${dtypeOfArray(value.data)}`;
    else out[name] = 'json';
  }
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

const INT_RANGES: Partial<Record<MdsDType, readonly [bigint, bigint]>> = {
  uint8: [0n, 255n],
  int8: [-128n, 127n],
  uint16: [0n, 65535n],
  int16: [-32768n, 32767n],
  uint32: [0n, 4294967295n],
  int32: [-2147483648n, 2147483647n],
  uint64: [0n, 2n ** 64n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
};

/** A scalar's bytes, or a TypeError saying why the value does not fit. */
function encodeScalar(dtype: MdsDType, value: unknown): Uint8Array {
  const out = new Uint8Array(bytesOf(dtype));
  const view = new DataView(out.buffer);
  const range = INT_RANGES[dtype];
  if (range !== undefined) {
    const ok = typeof value === 'bigint' || (typeof value === 'number' && Number.isSafeInteger(value));
    if (!ok) throw new TypeError(`must be an integer (a safe one, or a bigint), got ${describe(value)}`);
    const big = BigInt(value as number | bigint);
    if (big < range[0] || big > range[1]) {
      throw new TypeError(`must be an integer from ${range[0]} to ${range[1]}, got ${describe(value)}`);
    }
    if (dtype === 'uint64') view.setBigUint64(0, big, true);
    else if (dtype === 'int64') view.setBigInt64(0, big, true);
    else if (dtype === 'uint32') view.setUint32(0, Number(big), true);
    else if (dtype === 'int32') view.setInt32(0, Number(big), true);
    else if (dtype === 'uint16') view.setUint16(0, Number(big), true);
    else if (dtype === 'int16') view.setInt16(0, Number(big), true);
    else if (dtype === 'int8') view.setInt8(0, Number(big));
    else view.setUint8(0, Number(big));
    return out;
  }
  if (typeof value !== 'number') throw new TypeError(`must be a number, got ${describe(value)}`);
  if (dtype === 'float16') view.setUint16(0, numberToHalf(value), true);
  else if (dtype === 'float32') view.setFloat32(0, value, true);
  else view.setFloat64(0, value, true);
  return out;
}

const JPEG_MAGIC = [0xff, 0xd8, 0xff];
const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** A value's bytes under its column's encoding, or a TypeError saying why it does not fit. */
function encodeValue(encoding: Encoding, value: unknown): Uint8Array {
  switch (encoding.kind) {
    case 'int':
      return encodeScalar('int64', value);
    case 'scalar':
      return encodeScalar(encoding.dtype, value);
    case 'str':
    case 'str_decimal':
      if (typeof value !== 'string') throw new TypeError(`must be a string, got ${describe(value)}`);
      return utf8.encode(value);
    case 'str_int':
      if (!Number.isSafeInteger(value)) throw new TypeError(`must be a safe integer, got ${describe(value)}`);
      return utf8.encode(String(value));
    case 'str_float':
      if (typeof value !== 'number') throw new TypeError(`must be a number, got ${describe(value)}`);
      return utf8.encode(String(value));
    case 'bytes':
      if (!(value instanceof Uint8Array)) throw new TypeError(`must be a Uint8Array, got ${describe(value)}`);
      return value;
    case 'jpeg':
    case 'png': {
      const magic = encoding.kind === 'jpeg' ? JPEG_MAGIC : PNG_MAGIC;
      if (!(value instanceof Uint8Array) || !magic.every((b, i) => value[i] === b)) {
        throw new TypeError(
          `must be the bytes of a ${encoding.kind.toUpperCase()} file, got ${describe(value)}`,
        );
      }
      return value;
    }
    case 'json':
      try {
        return utf8.encode(pythonJson(value));
      } catch (e) {
        throw new TypeError(`must be JSON data: ${(e as Error).message}`);
      }
    case 'ndarray':
      return encodeArray(encoding, value);
    case 'pil':
      return encodePil(value);
    default:
      throw new TypeError('cannot be written from JavaScript');
  }
}

function encodeArray(encoding: Encoding & { kind: 'ndarray' }, value: unknown): Uint8Array {
  let data: TypedArray;
  let shape: number[];
  if (isTensor(value)) ({ data, shape } = value);
  else if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    data = value as TypedArray;
    shape = [data.length];
  } else throw new TypeError(`must be a typed array or a tensor { data, shape }, got ${describe(value)}`);
  const dtype = dtypeOfArray(data);
  if (encoding.dtype !== undefined && encoding.dtype !== dtype) {
    throw new TypeError(`must hold ${encoding.dtype} values, got a ${data.constructor.name}`);
  }
  if (shape.length === 0 || data.length === 0 || shape.some((d) => d < 1)) {
    throw new TypeError(
      `must have at least one dimension and one element (as Mosaic requires), got shape [${shape.join(', ')}]`,
    );
  }
  if (shape.reduce((a, b) => a * b, 1) !== data.length) {
    throw new TypeError(`has ${data.length} elements, which do not fit its shape [${shape.join(', ')}]`);
  }
  if (encoding.shape !== undefined && encoding.shape.join(',') !== shape.join(',')) {
    throw new TypeError(`must have the shape [${encoding.shape.join(', ')}], got [${shape.join(', ')}]`);
  }
  const values = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const parts: Uint8Array[] = [];
  if (encoding.dtype === undefined) parts.push(Uint8Array.of(dtypeCode(dtype)));
  if (encoding.shape === undefined) {
    if (shape.length >= 64) throw new TypeError(`must have at most 63 dimensions, got ${shape.length}`);
    const max = Math.max(...shape);
    const width = max < 2 ** 8 ? 0 : max < 2 ** 16 ? 1 : max < 2 ** 32 ? 2 : 3;
    const dims =
      width === 0
        ? Uint8Array.from(shape)
        : width === 1
          ? Uint16Array.from(shape)
          : width === 2
            ? Uint32Array.from(shape)
            : BigUint64Array.from(shape.map(BigInt));
    parts.push(Uint8Array.of((shape.length << 2) | width), new Uint8Array(dims.buffer));
  }
  parts.push(values);
  return concat(parts);
}

/** Mosaic's `pil`: a uint8 tensor [height, width, channels] with 1 (L), 2 (LA), 3 (RGB) or 4 (RGBA) channels. */
function encodePil(value: unknown): Uint8Array {
  const modes = ['', 'L', 'LA', 'RGB', 'RGBA'];
  if (
    !isTensor(value) ||
    !(value.data instanceof Uint8Array) ||
    value.shape.length !== 3 ||
    !((value.shape[2] as number) in modes) ||
    value.shape[2] === 0
  ) {
    throw new TypeError(
      `must be a uint8 tensor of shape [height, width, 1–4 channels], got ${describe(value)}`,
    );
  }
  const [height, width, channels] = value.shape as [number, number, number];
  const mode = utf8.encode(modes[channels] as string);
  return concat([new Uint8Array(new Uint32Array([width, height, mode.length]).buffer), mode, value.data]);
}
