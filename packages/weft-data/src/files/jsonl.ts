import { open } from 'node:fs/promises';
import { z } from 'zod';
import type { Dataset } from '../dataset.ts';
import { FileError } from '../errors.ts';
import { checkIndex, describe } from '../internal/checks.ts';
import { fail, zodIssues } from '../internal/validate.ts';
import { changedError, checkPath, type FileStamp, PositionalFile, stampFile } from './file.ts';
import { rebuildWith } from './recipe.ts';

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

/** Growable list of offsets, copied to shared memory at the end (Uint32 when the file is under 4 GiB). */
export class OffsetList {
  #data = new Float64Array(1024);
  length = 0;
  push(offset: number): void {
    if (this.length === this.#data.length) {
      const bigger = new Float64Array(this.#data.length * 2);
      bigger.set(this.#data);
      this.#data = bigger;
    }
    this.#data[this.length++] = offset;
  }
  /** The last offset pushed (0 if none). */
  last(): number {
    return this.length === 0 ? 0 : (this.#data[this.length - 1] as number);
  }
  /** The offsets in a `SharedArrayBuffer`, so workers read the same memory. */
  share(fileSize: number): LineOffsets {
    const out =
      fileSize < 2 ** 32
        ? new Uint32Array(new SharedArrayBuffer(this.length * 4))
        : new Float64Array(new SharedArrayBuffer(this.length * 8));
    out.set(this.#data.subarray(0, this.length));
    return out;
  }
}

/**
 * Streams `file` once, in chunks, and records where each line starts. A final line without a newline counts;
 * the newline that ends the file does not start an empty line. Throws if the file changes meanwhile.
 */
export async function indexLines(file: string, stamp: FileStamp): Promise<LineOffsets> {
  const list = new OffsetList();
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(CHUNK);
    if (stamp.size > 0) list.push(0);
    for (let pos = 0; pos < stamp.size; ) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(CHUNK, stamp.size - pos), pos);
      if (bytesRead === 0) break;
      const chunk = bytesRead === CHUNK ? buffer : buffer.subarray(0, bytesRead);
      for (let j = chunk.indexOf(NEWLINE); j !== -1; j = chunk.indexOf(NEWLINE, j + 1)) {
        const next = pos + j + 1;
        if (next < stamp.size) list.push(next);
      }
      pos += bytesRead;
    }
    const now = await handle.stat({ bigint: true });
    const after = { size: Number(now.size), mtimeNs: String(now.mtimeNs) };
    if (after.size !== stamp.size || after.mtimeNs !== stamp.mtimeNs) throw changedError(file, stamp, after);
  } finally {
    await handle.close();
  }
  list.push(stamp.size);
  return list.share(stamp.size);
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
    const issues: string[] = [];
    const file = checkPath(path, issues);
    if (typeof options !== 'object' || options === null) {
      issues.push(`\`options\` must be an object, got ${describe(options)}`);
    } else {
      const parsed = optionsSchema.safeParse(options);
      if (!parsed.success) issues.push(...zodIssues(parsed.error, options));
    }
    if (issues.length > 0) fail('JsonlDataset options', issues);
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
    rebuildWith(this, import.meta.url, 'jsonlFromState', state); // worker recipe glue (see recipe.ts)
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
