import { z } from 'zod';
import { checkIndex, isPromiseLike } from '../core/checks.ts';
import type { Dataset } from '../core/dataset.ts';
import { FileError } from '../core/errors.ts';
import { rebuildWith } from '../core/recipe.ts';
import { bool } from '../core/validate.ts';
import { checkOpen, type RandomAccess } from './file.ts';
import { decodeUtf8, indexLines, type LineOffsets } from './lines.ts';
import { type RemoteOptions, remoteFields, remoteRelation } from './remote/options.ts';
import { openSource, readerOf, type SourceState } from './source.ts';

/** Options of {@link JsonlDataset.open}; the {@link RemoteOptions} apply to a URL. */
export interface JsonlOptions extends RemoteOptions {
  /** Parse every line while opening, so a malformed line fails `open` rather than a later `get`. @default false */
  validate?: boolean;
}

const optionsSchema = z.object({ validate: bool.optional(), ...remoteFields }).strict();

/** Everything a worker needs to reopen a {@link JsonlDataset}: plain data and shared memory. @internal */
export interface JsonlState {
  readonly path: string;
  readonly source: SourceState;
  /** `offsets[i]` is where line i starts; `offsets[length]` is the end of the file. */
  readonly offsets: LineOffsets;
  /** The byte that ends lines (see `indexLines`). */
  readonly newline: number;
}

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
export class JsonlDataset<T = unknown> implements Dataset<T, undefined> {
  /** Absolute path of the file. */
  readonly path: string;
  readonly #offsets: LineOffsets;
  readonly #newline: number;
  readonly #file: RandomAccess;

  /**
   * Opens a JSONL file: checks the options, indexes the lines (streamed, in this thread) and returns the
   * dataset. Throws {@link ConfigError} for bad options and {@link FileError} for a missing or unreadable
   * file (or, with `validate`, a malformed line).
   *
   * @param path - a file path (relative to the working directory), a `file:` URL, or an `http(s)://` or `s3://` URL (read through the cache, see {@link RemoteOptions})
   * @param options - see {@link JsonlOptions}
   * @example
   * ```ts
   * const ds = await JsonlDataset.open(new URL('./train.jsonl', import.meta.url));
   * ds.get(0); // the first line, parsed
   * ```
   */
  static async open<T = unknown>(path: string | URL, options: JsonlOptions = {}): Promise<JsonlDataset<T>> {
    const file = checkOpen('JsonlDataset', path, options, optionsSchema, { relations: [remoteRelation] });
    const source = await openSource(file, options);
    const dataset = new JsonlDataset<T>({
      path: file,
      source: source.state(),
      ...(await indexLines(source)),
    });
    if (options.validate) {
      for (let i = 0; i < dataset.length; i++) {
        const item = dataset.get(i);
        if (isPromiseLike(item)) await item;
      }
    }
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
    this.#newline = state.newline;
    this.#file = readerOf(state.source);
    rebuildWith(this, import.meta.url, 'jsonlFromState', state); // rebuilt in workers (see core/recipe.ts)
  }

  /** Number of lines. */
  get length(): number {
    return this.#offsets.length - 1;
  }

  /**
   * Line `index + 1`, parsed: synchronously from a local file, or from a remote one whose block is cached;
   * otherwise a promise.
   *
   * @param index - 0 ≤ index < length
   */
  get(index: number): T | Promise<T> {
    checkIndex(index, this.length);
    const start = this.#offsets[index] as number;
    const end = this.#offsets[index + 1] as number;
    const record = this.#file.readRecord(
      start,
      end,
      index === this.length - 1,
      { line: index + 1, row: index },
      this.#newline,
    );
    return isPromiseLike(record)
      ? record.then((bytes) => this.#parse(bytes, index))
      : this.#parse(record, index);
  }

  /**
   * Fetches the lines of `indices` into the cache in the background (a remote file; nothing for a local
   * one): the loader calls it with the coming batches' indices.
   *
   * @param indices - items soon to be read
   */
  prefetch(indices: Uint32Array): void {
    const fetch = this.#file.prefetch;
    if (fetch === undefined) return;
    for (const i of indices) {
      const start = this.#offsets[i] as number;
      fetch.call(this.#file, start, (this.#offsets[i + 1] as number) - start);
    }
  }

  #parse(bytes: Uint8Array, index: number): T {
    const line = index + 1;
    let text = decodeUtf8(bytes, this.path, { line, row: index });
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
