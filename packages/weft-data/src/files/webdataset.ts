// WebDataset's tar shards with random access: `open` makes one pass over each shard's tar headers (no member
// is read) and keeps a member index — each sample's key, and each member's extension, offset and size — that
// goes to workers in shared memory; `get` then reads only the members of the sample asked for.
import { describe } from '../core/checks.ts';
import type { Tensor } from '../core/dtype.ts';
import { FileError } from '../core/errors.ts';
import { rebuildWith } from '../core/recipe.ts';
import { bool, fail, issuesOf } from '../core/validate.ts';
import { decodeImage } from '../images/decode.ts';
import {
  ChunkedDataset,
  type ChunkedState,
  checkColumns,
  chunkedOptions,
  newChunkedState,
  readCopy,
} from './chunked.ts';
import { checkPath } from './file.ts';
import { decodeArray, type JsonValue, type MdsDType, type MdsTensor } from './mds/format.ts';
import { type RemoteOptions, remoteRelation } from './remote/options.ts';
import { type ByteSource, openSource, type SourceState, sourceFromState } from './source.ts';

/** Options of {@link WebDataset.open}. */
export interface WebDatasetOptions extends RemoteOptions {
  /** The members to give, by extension (`['jpg', 'cls']`): the others are not read. @default every extension */
  columns?: string[];
  /** Shards kept open per thread. @default 4 */
  cacheBlocks?: number;
  /** Decode images (jpg, jpeg, png, webp, gif, tif, tiff, avif) to pixels with sharp; `false` gives their bytes. @default true */
  decodeImages?: boolean;
}

const optionsSchema = chunkedOptions.extend({ decodeImages: bool.optional() }).strict();

/** Everything a worker needs to reopen a {@link WebDataset}: the member index. @internal */
export interface WebDatasetState extends ChunkedState {
  readonly shards: readonly SourceState[];
  readonly decodeImages: boolean;
  /** Each sample's key. */
  readonly keys: readonly string[];
  /** Each sample's first member, then the number of members (shared memory). */
  readonly firstMember: Uint32Array;
  /** Every extension found, sorted. */
  readonly extensionNames: readonly string[];
  /** Each member's extension (a position in `extensionNames`), byte offset and size in its shard (shared memory). */
  readonly extensions: Uint32Array;
  readonly offsets: Float64Array;
  readonly sizes: Float64Array;
}

/**
 * A value of a WebDataset member: a string (`.txt`), a number (`.cls`), parsed JSON, a tensor (`.npy`, and
 * images as `uint8` height × width × channels), or the bytes.
 */
export type WebDatasetValue = string | number | Uint8Array | Tensor | JsonValue;

/**
 * The shard locations a pattern stands for: `{000..009}` is a numeric range (zero-padded as its first end
 * is), `{a,b}` a list; several braces multiply.
 *
 * @param pattern - e.g. `data/shard-{000000..000099}.tar`
 * @returns the locations, in order
 * @example
 * ```ts
 * expandBraces('s-{0..2}.tar'); // ['s-0.tar', 's-1.tar', 's-2.tar']
 * ```
 */
export function expandBraces(pattern: string): string[] {
  const m = /\{([^{}]*)\}/.exec(pattern);
  if (m === null) return [pattern];
  const before = pattern.slice(0, m.index);
  const after = pattern.slice(m.index + m[0].length);
  const range = /^(\d+)\.\.(\d+)$/.exec(m[1] as string);
  let parts: string[];
  if (range !== null) {
    const [from, to] = [Number(range[1]), Number(range[2])];
    const width = (range[1] as string).startsWith('0') ? (range[1] as string).length : 0;
    const step = from <= to ? 1 : -1;
    parts = Array.from({ length: Math.abs(to - from) + 1 }, (_, k) =>
      String(from + k * step).padStart(width, '0'),
    );
  } else parts = (m[1] as string).split(',');
  return parts.flatMap((p) => expandBraces(`${before}${p}${after}`));
}

/** A member of a tar file, as the header pass finds it. */
interface Member {
  readonly name: string;
  readonly offset: number;
  readonly size: number;
}

const BLOCK = 512;
const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8');

function field(header: Uint8Array, start: number, length: number, decoder = utf8): string {
  const bytes = header.subarray(start, start + length);
  const end = bytes.indexOf(0);
  return decoder.decode(end < 0 ? bytes : bytes.subarray(0, end));
}

/** An octal number field, or GNU's base-256 form (high bit set) for sizes of 8 GiB and more. */
function number(header: Uint8Array, start: number, length: number): number {
  if (((header[start] as number) & 0x80) !== 0) {
    let n = (header[start] as number) & 0x7f;
    for (let i = 1; i < length; i++) n = n * 256 + (header[start + i] as number);
    return n;
  }
  const text = field(header, start, length, latin1).trim();
  return text === '' ? 0 : Number.parseInt(text, 8);
}

/** The regular files of a tar (ustar, pax and GNU long names), by one pass over its headers. */
async function scanTar(source: ByteSource): Promise<Member[]> {
  const file = source.location;
  const members: Member[] = [];
  let offset = 0;
  let longName: string | undefined;
  let pax: Record<string, string> = {};
  while (offset + BLOCK <= source.size) {
    const header = await readCopy(source, offset, BLOCK);
    if (header.every((b) => b === 0)) return members;
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : (header[i] as number);
    if (sum !== number(header, 148, 8)) {
      throw new FileError(
        `${file} is not a tar file, or is corrupt: the header at byte ${offset} has a bad checksum`,
        {
          file,
          offset,
        },
      );
    }
    const type = String.fromCharCode(header[156] as number);
    let name = field(header, 0, 100);
    if (field(header, 257, 6, latin1) === 'ustar') {
      const prefix = field(header, 345, 155);
      if (prefix !== '') name = `${prefix}/${name}`;
    }
    const size = pax.size !== undefined ? Number(pax.size) : number(header, 124, 12);
    const data = offset + BLOCK;
    const next = data + Math.ceil(size / BLOCK) * BLOCK;
    if (data + size > source.size) {
      throw new FileError(
        `${file} is truncated: the member ${describe(name)} at byte ${offset} needs ${size} bytes, the file ends at ${source.size}`,
        { file, offset },
      );
    }
    const body = async () => readCopy(source, data, size);
    if (type === 'x') pax = parsePax(await body());
    else if (type === 'L') longName = field(await body(), 0, size);
    else if (type !== 'g' && type !== 'K') {
      if (type === '0' || type === '\0' || type === '7') {
        members.push({ name: pax.path ?? longName ?? name, offset: data, size });
      }
      longName = undefined;
      pax = {};
    }
    offset = next;
  }
  // The two zero blocks that end an archive were not found: a tar cut at a block boundary is complete
  // otherwise, so only a file that ends exactly after its last member (as some writers leave it) is whole.
  if (offset !== source.size) {
    throw new FileError(
      `${file} is truncated: it ends at byte ${source.size}, before the end-of-archive marker`,
      {
        file,
        offset: source.size,
      },
    );
  }
  return members;
}

/** The records of a pax extended header: `<length> <key>=<value>\n`. */
function parsePax(bytes: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  let at = 0;
  while (at < bytes.length) {
    const space = bytes.indexOf(32, at);
    if (space < 0) break;
    const length = Number(latin1.decode(bytes.subarray(at, space)));
    if (!Number.isSafeInteger(length) || length <= 0) break;
    const record = utf8.decode(bytes.subarray(space + 1, at + length - 1));
    const eq = record.indexOf('=');
    out[record.slice(0, eq)] = record.slice(eq + 1);
    at += length;
  }
  return out;
}

/** WebDataset's split of a member's path: the key is the path up to the first dot of the basename. */
const KEY_EXT = /^((?:.*\/|)[^./][^.]*)\.([^/]*)$/;

const IMAGES = new Set(['jpg', 'jpeg', 'png', 'webp', 'gif', 'tif', 'tiff', 'avif']);
const INTEGERS = new Set(['cls', 'cls2', 'class', 'count', 'index', 'inx', 'id']);

/**
 * WebDataset shards (tar files) with random access by sample. A sample is a run of consecutive members that
 * share a key — the member's path up to the first dot of its file name (`a/b.seg.png` is key `a/b`,
 * extension `seg.png`), as WebDataset groups them; members without an extension (and directories, links)
 * are skipped. `get(i)` gives `{ __key__, <extension>: value, … }`, each value decoded by its (last)
 * extension:
 *
 * | extension | value |
 * | --- | --- |
 * | `jpg` `jpeg` `png` `webp` `gif` `tif` `tiff` `avif` | pixels as a `uint8` tensor, height × width × channels (sharp, an optional peer), or the bytes with `decodeImages: false` |
 * | `json` | the parsed value |
 * | `txt` `text` | a string |
 * | `cls` `cls2` `class` `count` `index` `inx` `id` | an integer |
 * | `npy` | a tensor (numpy's header read: dtype, shape; Fortran order and big-endian are errors; float16 widened, bool as uint8) |
 * | anything else | the bytes |
 *
 * `open` reads every shard's headers once (not the members) and keeps the member index, which workers get
 * in shared memory; `get` reads only the sample's members. Shards are the blocks of
 * {@link BlockShuffleSampler}, so each worker keeps a window of shards open at a time. Bytes are read
 * through a `ByteSource`.
 *
 * @typeParam T - the sample type (not checked)
 * @example
 * ```ts
 * const ds = await WebDataset.open<{ __key__: string; jpg: Tensor<Uint8Array>; cls: number }>(
 *   'data/train-{000000..000009}.tar',
 * );
 * const loader = new DataLoader({ dataset: ds, sampler: new BlockShuffleSampler(ds), batchSize: 32, numWorkers: 2 });
 * ```
 */
export class WebDataset<T = Record<string, WebDatasetValue>> extends ChunkedDataset<T, ShardHandle> {
  /** The shard locations, in order. */
  readonly shards: readonly string[];
  readonly #state: WebDatasetState;
  readonly #open: ByteSource[] = [];
  /** The remote shards `prefetch` has asked for, each opened once (they hold their download queues). */
  readonly #prefetching = new Map<number, ByteSource>();
  readonly #wanted: ReadonlySet<string>;

  /**
   * Opens tar shards: checks the options ({@link ConfigError}, every problem at once), expands brace
   * patterns, and reads each shard's headers (a {@link FileError} for a missing, truncated or non-tar shard,
   * or a sample with two members of one extension).
   *
   * @param shards - a shard's path or URL, a brace pattern (`shard-{000..009}.tar`), or a list of them
   * @param options - see {@link WebDatasetOptions}
   * @example
   * ```ts
   * const ds = await WebDataset.open(['a.tar', 'b.tar'], { columns: ['txt', 'cls'] });
   * await ds.get(0); // { __key__: 'sample000', txt: 'hello', cls: 3 }
   * ```
   */
  static async open<T = Record<string, WebDatasetValue>>(
    shards: string | readonly string[],
    options: WebDatasetOptions = {},
  ): Promise<WebDataset<T>> {
    const issues: string[] = [];
    const patterns = typeof shards === 'string' ? [shards] : shards;
    if (
      !Array.isArray(patterns) ||
      patterns.length === 0 ||
      !patterns.every((p) => typeof p === 'string' && p !== '')
    ) {
      issues.push(
        `\`shards\` must be a path, a URL or a brace pattern, or a non-empty list of them, got ${describe(shards)}`,
      );
    }
    if (typeof options !== 'object' || options === null)
      issues.push(`\`options\` must be an object, got ${describe(options)}`);
    else
      issues.push(...issuesOf(optionsSchema, options), ...remoteRelation(options as Record<string, unknown>));
    if (issues.length > 0) fail('WebDataset options', issues);
    const locations = (patterns as string[]).flatMap(expandBraces).map((l) => checkPath(l, issues));
    // Every remote option (the S3 endpoint, the budget, retries…), not only the cache's folder.
    const sourceOptions: RemoteOptions = options;
    const states: SourceState[] = [];
    const keys: string[] = [];
    const firstMember: number[] = [];
    const extensions: string[] = [];
    const offsets: number[] = [];
    const sizes: number[] = [];
    const samplesPerShard: number[] = [];
    for (const location of locations) {
      const source = await openSource(location, sourceOptions);
      let members: Member[];
      try {
        members = await scanTar(source);
      } finally {
        source.close();
      }
      states.push(source.state());
      const before = keys.length;
      let seen = new Set<string>();
      for (const member of members) {
        const m = KEY_EXT.exec(member.name);
        if (m === null) continue;
        const [, key, ext] = m as unknown as [string, string, string];
        if (keys.length === before || keys[keys.length - 1] !== key) {
          keys.push(key);
          firstMember.push(extensions.length);
          seen = new Set();
        } else if (seen.has(ext)) {
          throw new FileError(
            `${location}: the sample ${describe(key)} has two members with the extension ${describe(ext)}`,
            {
              file: location,
              offset: member.offset - BLOCK,
            },
          );
        }
        seen.add(ext);
        extensions.push(ext);
        offsets.push(member.offset);
        sizes.push(member.size);
      }
      samplesPerShard.push(keys.length - before);
    }
    firstMember.push(extensions.length);
    const extensionNames = [...new Set(extensions)].sort();
    const code = new Map(extensionNames.map((e, k) => [e, k]));
    const columns = checkColumns('WebDataset', locations.join(', '), options.columns, extensionNames);
    const shared = <A extends Float64Array | Uint32Array>(
      Kind: new (buffer: SharedArrayBuffer) => A,
      values: readonly number[],
      bytes: number,
    ): A => {
      const array = new Kind(new SharedArrayBuffer(values.length * bytes));
      array.set(values);
      return array;
    };
    const state: WebDatasetState = {
      ...newChunkedState(locations.join(', '), columns, samplesPerShard, options.cacheBlocks),
      shards: states,
      decodeImages: options.decodeImages ?? true,
      keys,
      firstMember: shared(Uint32Array, firstMember, 4),
      extensionNames,
      extensions: shared(
        Uint32Array,
        extensions.map((e) => code.get(e) as number),
        4,
      ),
      offsets: shared(Float64Array, offsets, 8),
      sizes: shared(Float64Array, sizes, 8),
    };
    return new WebDataset<T>(state);
  }

  /**
   * Rebuilds a dataset from its state (what workers do); use {@link WebDataset.open} instead.
   *
   * @param state - what an opened dataset recorded
   * @internal
   */
  constructor(state: WebDatasetState) {
    super(state);
    this.#state = state;
    this.shards = state.shards.map((s) => s.location);
    this.#wanted = new Set(state.columns);
    rebuildWith(this, import.meta.url, 'webDatasetFromState', state); // rebuilt in workers (see core/recipe.ts)
  }

  /** Closes this thread's open shards; the next read reopens (and rechecks) them. */
  close(): void {
    for (const source of this.#open.splice(0)) source.close();
  }

  /** Starts downloading shard `block` whole into the node-wide cache (remote shards only). @internal */
  protected override prefetchBlock(block: number): boolean {
    const shard = this.#state.shards[block] as SourceState;
    if (shard.remote === undefined) return false;
    let source = this.#prefetching.get(block);
    if (source === undefined) {
      source = sourceFromState(shard);
      this.#prefetching.set(block, source);
    }
    return source.prefetch?.(0, shard.size) ?? false;
  }

  /** Shard `block`, opened (the oldest open shard beyond `cacheBlocks` is closed). @internal */
  protected async readBlock(block: number): Promise<ShardHandle> {
    const source = sourceFromState(this.#state.shards[block] as SourceState);
    this.#open.push(source);
    // A closed source reopens on its next read, so closing one the block cache still holds is safe.
    while (this.#open.length > this.#state.cacheBlocks) this.#open.shift()?.close();
    return { block, source };
  }

  /** Sample `at` of a shard: its members read and decoded. @internal */
  protected async itemOf({ block, source }: ShardHandle, at: number): Promise<T> {
    const state = this.#state;
    const sample = (this.blockOffsets[block] as number) + at;
    const out: Record<string, unknown> = { __key__: state.keys[sample] };
    const first = state.firstMember[sample] as number;
    const end = state.firstMember[sample + 1] as number;
    for (let m = first; m < end; m++) {
      const ext = state.extensionNames[state.extensions[m] as number] as string;
      if (!this.#wanted.has(ext)) continue;
      const bytes = await readCopy(source, state.offsets[m] as number, state.sizes[m] as number);
      out[ext] = await decodeMember(
        ext,
        bytes,
        `${state.keys[sample]}.${ext}`,
        source.location,
        state.decodeImages,
      );
    }
    return out as T;
  }
}

/** An open shard, as the block cache keeps it. @internal */
export interface ShardHandle {
  readonly block: number;
  readonly source: ByteSource;
}

function decodeMember(
  ext: string,
  bytes: Uint8Array,
  member: string,
  file: string,
  decodeImages: boolean,
): WebDatasetValue | Promise<WebDatasetValue> {
  const last = (ext.slice(ext.lastIndexOf('.') + 1) || ext).toLowerCase();
  const bad = (why: string, cause?: unknown) =>
    new FileError(`${file}: the member ${describe(member)} ${why}`, { file }, { cause });
  if (IMAGES.has(last)) return decodeImages ? decodeImage(bytes, `${file}: ${member}`, file) : bytes;
  if (last === 'json') {
    try {
      return JSON.parse(utf8.decode(bytes)) as JsonValue;
    } catch (e) {
      throw bad(`is not valid JSON: ${(e as Error).message}`, e);
    }
  }
  if (last === 'txt' || last === 'text') return utf8.decode(bytes);
  if (INTEGERS.has(last)) {
    const text = utf8.decode(bytes).trim();
    if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(Number(text)))
      throw bad(`is not an integer: ${describe(text)}`);
    return Number(text);
  }
  if (last === 'npy') return parseNpy(bytes, bad);
  return bytes;
}

const NPY_TYPES: Readonly<Record<string, MdsDType>> = {
  b1: 'uint8',
  u1: 'uint8',
  i1: 'int8',
  u2: 'uint16',
  i2: 'int16',
  f2: 'float16',
  u4: 'uint32',
  i4: 'int32',
  f4: 'float32',
  u8: 'uint64',
  i8: 'int64',
  f8: 'float64',
};

/** A `.npy` file (format 1.0–3.0): its header's dtype and shape, then the values, C order. */
function parseNpy(bytes: Uint8Array, bad: (why: string) => FileError): MdsTensor {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
  if (bytes.length < 10 || !magic.every((b, i) => bytes[i] === b))
    throw bad('is not an .npy file (no \\x93NUMPY magic)');
  const major = bytes[6] as number;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = latin1.decode(bytes.subarray(start, start + headerLength));
  const descr = /'descr':\s*'([<>|=])([a-z]\d+)'/.exec(header);
  const fortran = /'fortran_order':\s*(True|False)/.exec(header);
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (descr === null || fortran === null || shapeText === null)
    throw bad(`has an .npy header weft cannot read: ${header.trim()}`);
  const dtype = NPY_TYPES[descr[2] as string];
  if (dtype === undefined) throw bad(`holds the numpy dtype ${describe(descr[2])}, which weft does not read`);
  if (descr[1] === '>' && descr[2] !== 'u1' && descr[2] !== 'i1' && descr[2] !== 'b1') {
    throw bad("is big-endian; save it little-endian (numpy's default on x86 and ARM)");
  }
  if (fortran[1] === 'True') throw bad('is in Fortran order; save it with np.ascontiguousarray (C order)');
  const shape = (shapeText[1] as string)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const body = bytes.subarray(start + headerLength);
  const width = Number((descr[2] as string).slice(1));
  if (body.length !== count * width) {
    throw bad(
      `has ${body.length} bytes of values for the shape (${shape.join(', ')}) of ${descr[2]}: truncated?`,
    );
  }
  return { data: decodeArray(dtype, body), shape };
}

// ── Worker recipe glue ──
/**
 * Rebuilds a {@link WebDataset} in a worker from its state.
 *
 * @param state - what the calling thread's dataset recorded
 * @internal
 */
export const webDatasetFromState = (state: WebDatasetState): WebDataset => new WebDataset(state);
