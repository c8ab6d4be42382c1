// The one line-offset scanner of the line-based formats (JSONL, CSV): the file is streamed once, in the
// calling thread, and where each line (or record) starts goes straight into shared memory, which the loader's
// workers then use as is. A format reads its records with `PositionalFile.readRecord` from these offsets.
import { open } from 'node:fs/promises';
import { isPromiseLike } from '../core/checks.ts';
import { FileError } from '../core/errors.ts';
import { CR, changedError, NEWLINE } from './file.ts';
import { RemoteSource } from './remote/remote-source.ts';
import type { ByteSource } from './source.ts';

/**
 * Byte offsets of every line start plus the file's end, in shared memory.
 *
 * @example
 * ```ts
 * const offsets: LineOffsets = await indexLines(source); // line i is bytes [offsets[i], offsets[i + 1])
 * ```
 * @internal
 */
export type LineOffsets = Uint32Array | Float64Array;

/** ES2024's growable `SharedArrayBuffer` (Node ≥ 20), which the ES2023 lib weft compiles against lacks. */
interface Growable {
  readonly byteLength: number;
  readonly maxByteLength: number;
  grow(byteLength: number): void;
}
const growable = (bytes: number, max: number): SharedArrayBuffer =>
  new (SharedArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => SharedArrayBuffer)(
    bytes,
    { maxByteLength: max },
  );

/**
 * A growable list of offsets written straight into shared memory (a growable `SharedArrayBuffer`, so that
 * growing neither copies nor touches more memory than the offsets need): Uint32 entries for files under
 * 4 GiB, Float64 beyond. Only the memory in use is committed; the reserve is address space.
 *
 * @example
 * ```ts
 * const list = new OffsetList(stamp.size);
 * list.push(0);
 * const offsets = list.share(); // a Uint32Array over shared memory
 * ```
 * @internal
 */
export class OffsetList {
  // Plain fields, not #private ones: the indexing loops read them, and transpilers may lower #private.
  data: Uint32Array | Float64Array;
  length = 0;
  readonly wide: boolean;
  #buffer: SharedArrayBuffer;

  /**
   * @param fileSize - size of the file indexed: decides the entry type
   * @param reserve - entries to reserve address space for (more are possible, at the cost of one copy)
   *   @default 65536
   */
  constructor(fileSize: number, reserve = 1 << 16) {
    this.wide = fileSize >= 2 ** 32;
    const bytesPer = this.wide ? 8 : 4;
    this.#buffer = growable(1024 * bytesPer, Math.max(1024, reserve) * bytesPer);
    this.data = this.#view(1024);
  }
  #view(entries: number): Uint32Array | Float64Array {
    return this.wide ? new Float64Array(this.#buffer, 0, entries) : new Uint32Array(this.#buffer, 0, entries);
  }
  /** Appends `offset`, growing the list when it is full. */
  push(offset: number): void {
    if (this.length === this.data.length) this.grow();
    this.data[this.length++] = offset;
  }
  /** Doubles the capacity: in place within the reserve, else into a new buffer with twice the reserve. */
  grow(): void {
    const bytesPer = this.wide ? 8 : 4;
    const entries = this.data.length * 2;
    const buffer = this.#buffer as unknown as Growable;
    if (entries * bytesPer <= buffer.maxByteLength) {
      buffer.grow(entries * bytesPer);
    } else {
      const old = this.data;
      this.#buffer = growable(entries * bytesPer, buffer.maxByteLength * 2);
      this.data = this.#view(entries);
      this.data.set(old);
      return;
    }
    this.data = this.#view(entries);
  }
  /** The last offset pushed (0 if none). */
  last(): number {
    return this.length === 0 ? 0 : (this.data[this.length - 1] as number);
  }
  /** The offsets pushed, a view of the shared memory (no copy), which workers can share. */
  share(): LineOffsets {
    return this.data.subarray(0, this.length);
  }
}

const CHUNK = 4 << 20;

/**
 * The byte that ends the lines of `source`, from its first line break: {@link NEWLINE} for `\n` and `\r\n`
 * (and for a file without any), {@link CR} for a `\r` alone (classic Mac OS, and some spreadsheet exports).
 */
async function newlineOf(source: ByteSource): Promise<number> {
  // A remote object is read a block at a time, so that a small cache budget still holds each read.
  const step = Math.min(1 << 16, source.state().remote?.blockBytes ?? CHUNK);
  for (let pos = 0; pos < source.size; ) {
    const read = source.read(pos, Math.min(step, source.size - pos));
    const chunk = isPromiseLike(read) ? await read : read;
    const lf = chunk.indexOf(NEWLINE);
    const cr = chunk.indexOf(CR);
    if (cr === -1 || (lf !== -1 && lf < cr)) {
      if (lf !== -1) return NEWLINE;
    } else if (cr + 1 < chunk.length || pos + chunk.length === source.size) {
      return chunk[cr + 1] === NEWLINE ? NEWLINE : CR;
    } else {
      // A `\r` at the end of this read: the next byte decides, read from there.
      pos += cr > 0 ? cr : chunk.length;
      continue;
    }
    pos += chunk.length;
  }
  return NEWLINE;
}

/** The error for a `\n` in a file whose lines end with `\r` alone: its lines cannot be told apart safely. */
function mixedError(file: string, offset: number): FileError {
  return new FileError(
    `${file}: byte ${offset} is a line feed, but the file's lines end with a carriage return alone (classic Mac OS line endings): mixed line endings; convert the file to one kind`,
    { file, offset },
  );
}

// Room for lines of 8 bytes on average (address space only; longer lines use less).
const reserveFor = (size: number): number => Math.min(2 ** 27, Math.ceil(size / 8) + 2);

/**
 * Streams `source` once, in chunks, handing each to `scan` with its position in the file; throws the
 * {@link changedError} if the file changes meanwhile.
 */
async function streamFile(source: ByteSource, scan: (chunk: Buffer, pos: number) => void): Promise<void> {
  const { location: file, stamp, size } = source.state();
  if (stamp === undefined) {
    // A remote object: read through its cache, one block at a time (each checked against its ETag).
    const step = source.state().remote?.blockBytes ?? CHUNK;
    for (let pos = 0; pos < size; pos += step) {
      const read = source.read(pos, Math.min(step, size - pos));
      const bytes = isPromiseLike(read) ? await read : read;
      scan(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length), pos);
    }
    return;
  }
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(CHUNK);
    for (let pos = 0; pos < stamp.size; ) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(CHUNK, stamp.size - pos), pos);
      if (bytesRead === 0) break;
      scan(bytesRead === CHUNK ? buffer : buffer.subarray(0, bytesRead), pos);
      pos += bytesRead;
    }
    const now = await handle.stat({ bigint: true });
    const after = { size: Number(now.size), mtimeNs: String(now.mtimeNs) };
    if (after.size !== stamp.size || after.mtimeNs !== stamp.mtimeNs) throw changedError(file, stamp, after);
  } finally {
    await handle.close();
  }
}

/**
 * Streams `file` once and records where each line starts. A final line without a newline counts; the
 * newline that ends the file does not start an empty line. Lines end with `\n` or `\r\n`, or, in a file
 * whose first line ends with `\r` alone, with `\r` (a `\n` anywhere in such a file is a {@link FileError}).
 * Throws if the file changes meanwhile.
 *
 * @param source - the file (checked against its stamp), or a remote object (whose index is saved in its
 *   cache, keyed by URL and ETag)
 * @returns every line's first byte, then the file's size; and the byte that ends lines, for `readRecord`
 * @example
 * ```ts
 * const { offsets, newline } = await indexLines(await openSource(file)); // offsets.length - 1 lines
 * ```
 */
export async function indexLines(source: ByteSource): Promise<{ offsets: LineOffsets; newline: number }> {
  const newline = await newlineOf(source);
  const [offsets] = await savedIndex(source, 'lines', async () => [await scanLines(source, newline)]);
  return { offsets: offsets as LineOffsets, newline };
}

/**
 * A remote object's index saved in its cache, or `build` run and its result saved; a local file's is always
 * built (a pass over a local file is cheap next to keeping a copy).
 */
async function savedIndex(
  file: ByteSource,
  kind: string,
  build: () => Promise<LineOffsets[]>,
): Promise<LineOffsets[]> {
  if (!(file instanceof RemoteSource)) return build();
  const saved = file.loadArrays(kind);
  if (saved !== undefined) return saved;
  const built = await build();
  await file.saveArrays(kind, built);
  return built;
}

async function scanLines(source: ByteSource, newline: number): Promise<LineOffsets> {
  const stamp = { size: source.size };
  const list = new OffsetList(stamp.size, reserveFor(stamp.size));
  if (stamp.size > 0) list.push(0);
  await streamFile(source, (chunk, pos) => {
    if (newline === CR) {
      const lf = chunk.indexOf(NEWLINE);
      if (lf !== -1) throw mixedError(source.location, pos + lf);
    }
    // Hot loop: locals only (about 2 ns per line besides indexOf's scan).
    let data = list.data;
    let n = list.length;
    const last = stamp.size - pos - 1;
    const nl = newline;
    for (let j = chunk.indexOf(nl); j !== -1 && j < last; j = chunk.indexOf(nl, j + 1)) {
      if (n === data.length) {
        list.length = n;
        list.grow();
        data = list.data;
      }
      data[n++] = pos + j + 1;
    }
    list.length = n;
  });
  list.push(stamp.size);
  return list.share();
}

/**
 * Where each record of a file with quoted fields starts (a record ends at a newline outside quotes, so a
 * quoted field may span lines), and on which line.
 *
 * @internal
 */
export interface RecordOffsets {
  /** Every record's first byte, then the file's size. */
  readonly offsets: LineOffsets;
  /** The 1-based line on which each record starts. */
  readonly lines: Uint32Array;
  /** The byte that ends lines ({@link NEWLINE}, or {@link CR} in a file of CR-only line endings). */
  readonly newline: number;
}

/**
 * Streams `file` once and records where each record starts: a record ends at a newline outside `quote`s.
 * Newlines are those of {@link indexLines}. Throws a {@link FileError} on a quote left open at the end of
 * the file, or if the file changes meanwhile.
 *
 * @param source - the file (checked against its stamp), or a remote object (whose index is saved in its
 *   cache, keyed by URL and ETag)
 * @param quote - the quote character's code (a doubled quote toggles twice, so it needs no special case)
 * @example
 * ```ts
 * const { offsets, lines } = await indexRecords(await openSource(file), '"'.charCodeAt(0));
 * ```
 */
export async function indexRecords(source: ByteSource, quote: number): Promise<RecordOffsets> {
  const newline = await newlineOf(source);
  const [offsets, lines] = await savedIndex(source, `records-${quote}`, async () => {
    const found = await scanRecords(source, quote, newline);
    return [found.offsets, found.lines];
  });
  return { offsets: offsets as LineOffsets, lines: lines as Uint32Array, newline };
}

async function scanRecords(
  source: ByteSource,
  quote: number,
  newline: number,
): Promise<Omit<RecordOffsets, 'newline'>> {
  const stamp = { size: source.size };
  // In a file of CR-only line endings a `\n` is an error; elsewhere no byte is (-1 matches none).
  const stray = newline === CR ? NEWLINE : -1;
  const reserve = reserveFor(stamp.size);
  const starts = new OffsetList(stamp.size, reserve);
  const lines = new OffsetList(0, reserve);
  if (stamp.size > 0) {
    starts.push(0);
    lines.push(1);
  }
  let inQuotes = false;
  let line = 1;
  await streamFile(source, (chunk, pos) => {
    for (let j = 0; j < chunk.length; j++) {
      const c = chunk[j];
      if (c === quote) inQuotes = !inQuotes;
      else if (c === stray) throw mixedError(source.location, pos + j);
      else if (c === newline) {
        line++;
        const next = pos + j + 1;
        if (!inQuotes && next < stamp.size) {
          starts.push(next);
          lines.push(line);
        }
      }
    }
  });
  if (inQuotes) {
    const opened = lines.length === 0 ? 1 : lines.last();
    const name = source.location;
    throw new FileError(
      `${name}, line ${opened}: a quoted field is still open at the end of the file (a truncated file?)`,
      { file: name, line: opened, offset: stamp.size },
    );
  }
  starts.push(stamp.size);
  return { offsets: starts.share(), lines: lines.share() as Uint32Array };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A record's bytes as text, or a {@link FileError} naming the file and line when they are not valid UTF-8.
 *
 * @param bytes - the record, without its line ending
 * @param file - the file's path, for the message
 * @param where - the record's line (and row, when it has one), for the message and the error's location
 * @example
 * ```ts
 * const text = decodeUtf8(file.readRecord(start, end, last, where), file.path, where);
 * ```
 */
export function decodeUtf8(bytes: Uint8Array, file: string, where: { line: number; row?: number }): string {
  try {
    return utf8.decode(bytes);
  } catch (e) {
    throw new FileError(`${file}, line ${where.line}: not valid UTF-8`, { file, ...where }, { cause: e });
  }
}
