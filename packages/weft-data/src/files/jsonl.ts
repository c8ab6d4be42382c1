import { open } from 'node:fs/promises';
import { z } from 'zod';
import { checkIndex } from '../core/checks.ts';
import type { Dataset } from '../core/dataset.ts';
import { FileError } from '../core/errors.ts';
import { rebuildWith } from '../core/recipe.ts';
import { changedError, checkOpen, type FileStamp, PositionalFile, stampFile } from './file.ts';

/** Options of {@link JsonlDataset.open}. */
export interface JsonlOptions {
  /** Parse every line while opening, so a malformed line fails `open` rather than a later `get`. @default false */
  validate?: boolean;
}

const optionsSchema = z.object({ validate: z.boolean({ error: 'must be a boolean' }).optional() }).strict();

/** Byte offsets of every line start plus the file's end, in shared memory. @internal */
export type LineOffsets = Uint32Array | Float64Array;

/** Everything a worker needs to reopen a {@link JsonlDataset}: plain data and shared memory. @internal */
export interface JsonlState {
  readonly path: string;
  readonly stamp: FileStamp;
  /** `offsets[i]` is where line i starts; `offsets[length]` is the end of the file. */
  readonly offsets: LineOffsets;
}

const NEWLINE = 10;
const CHUNK = 4 << 20;

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

/**
 * Streams `file` once, in chunks, and records where each line starts. A final line without a newline counts;
 * the newline that ends the file does not start an empty line. Throws if the file changes meanwhile.
 */
export async function indexLines(file: string, stamp: FileStamp): Promise<LineOffsets> {
  // Reserve room for lines of 8 bytes on average (address space only; longer lines use less).
  const list = new OffsetList(stamp.size, Math.min(2 ** 27, Math.ceil(stamp.size / 8) + 2));
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(CHUNK);
    if (stamp.size > 0) list.push(0);
    for (let pos = 0; pos < stamp.size; ) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(CHUNK, stamp.size - pos), pos);
      if (bytesRead === 0) break;
      const chunk = bytesRead === CHUNK ? buffer : buffer.subarray(0, bytesRead);
      // Hot loop: locals only (about 2 ns per line besides indexOf's scan).
      let data = list.data;
      let n = list.length;
      const last = stamp.size - pos - 1;
      for (let j = chunk.indexOf(NEWLINE); j !== -1 && j < last; j = chunk.indexOf(NEWLINE, j + 1)) {
        if (n === data.length) {
          list.length = n;
          list.grow();
          data = list.data;
        }
        data[n++] = pos + j + 1;
      }
      list.length = n;
      pos += bytesRead;
    }
    const now = await handle.stat({ bigint: true });
    const after = { size: Number(now.size), mtimeNs: String(now.mtimeNs) };
    if (after.size !== stamp.size || after.mtimeNs !== stamp.mtimeNs) throw changedError(file, stamp, after);
  } finally {
    await handle.close();
  }
  list.push(stamp.size);
  return list.share();
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A JSON Lines file (one JSON value per line) with random access: `get(i)` parses line i + 1.
 *
 * {@link JsonlDataset.open} streams the file once in the calling thread and records where every line starts,
 * in a `SharedArrayBuffer` that the loader's workers share (8 MB per million lines at most). Each worker then
 * opens the file itself, lazily, and reads only the lines it is asked for, with one positional read each;
 * the file is never read whole. A malformed or empty line is a {@link FileError} naming the file and the
 * line, never skipped. A file that changed since `open` (size or modification time, checked when a worker
 * opens it and every few hundred reads, and whatever a read finds out of place) is a {@link FileError} too.
 *
 * @typeParam T - the type of a parsed line (not checked)
 * @example
 * ```ts
 * const train = await JsonlDataset.open<{ text: string; label: number }>('data/train.jsonl');
 * const loader = new DataLoader({ dataset: train, batchSize: 32, shuffle: true, numWorkers: 2 });
 * ```
 */
export class JsonlDataset<T = unknown> implements Dataset<T> {
  /** Absolute path of the file. */
  readonly path: string;
  readonly #offsets: LineOffsets;
  readonly #file: PositionalFile;

  /**
   * Opens a JSONL file: checks the options, indexes the lines (streamed, in this thread) and returns the
   * dataset. Throws {@link ConfigError} for bad options and {@link FileError} for a missing or unreadable
   * file (or, with `validate`, a malformed line).
   *
   * @param path - a file path (relative to the working directory) or a `file:` URL
   * @param options - see {@link JsonlOptions}
   * @example
   * ```ts
   * const ds = await JsonlDataset.open(new URL('./train.jsonl', import.meta.url));
   * ds.get(0); // the first line, parsed
   * ```
   */
  static async open<T = unknown>(path: string | URL, options: JsonlOptions = {}): Promise<JsonlDataset<T>> {
    const file = checkOpen('JsonlDataset', path, options, optionsSchema);
    const stamp = stampFile(file);
    const dataset = new JsonlDataset<T>({ path: file, stamp, offsets: await indexLines(file, stamp) });
    if (options.validate) for (let i = 0; i < dataset.length; i++) dataset.get(i);
    return dataset;
  }

  /**
   * Rebuilds a dataset from its state (what workers do); use {@link JsonlDataset.open} instead.
   *
   * @param state - path, stamp and line offsets from an opened dataset
   * @internal
   */
  constructor(state: JsonlState) {
    this.path = state.path;
    this.#offsets = state.offsets;
    this.#file = new PositionalFile(state.path, state.stamp);
    rebuildWith(this, import.meta.url, 'jsonlFromState', state); // rebuilt in workers (see core/recipe.ts)
  }

  /** Number of lines. */
  get length(): number {
    return this.#offsets.length - 1;
  }

  /**
   * Line `index + 1`, parsed.
   *
   * @param index - 0 ≤ index < length
   */
  get(index: number): T {
    checkIndex(index, this.length);
    const start = this.#offsets[index] as number;
    const end = this.#offsets[index + 1] as number;
    const line = index + 1;
    const bytes = this.#file.readRecord(start, end, index === this.length - 1, { line, row: index });
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch (e) {
      throw new FileError(
        `${this.path}, line ${line}: not valid UTF-8`,
        { file: this.path, line, row: index },
        {
          cause: e,
        },
      );
    }
    if (index === 0 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (text.trim() === '') {
      throw new FileError(`${this.path}, line ${line}: empty line (JSONL needs one JSON value per line)`, {
        file: this.path,
        line,
        row: index,
      });
    }
    try {
      return JSON.parse(text) as T;
    } catch (e) {
      throw new FileError(
        `${this.path}, line ${line}: malformed JSON: ${(e as Error).message}`,
        { file: this.path, line, row: index },
        { cause: e },
      );
    }
  }

  /** Closes this thread's file descriptor; the next `get` opens the file again (and checks it again). */
  close(): void {
    this.#file.close();
  }
}

// ── Worker recipe glue ──
/**
 * Rebuilds a {@link JsonlDataset} in a worker from its state.
 *
 * @param state - what the calling thread's dataset recorded
 * @internal
 */
export const jsonlFromState = (state: JsonlState): JsonlDataset => new JsonlDataset(state);
