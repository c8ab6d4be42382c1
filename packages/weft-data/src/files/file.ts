// What every file-backed dataset shares: resolving and stamping the file when the dataset is opened, and a
// positional reader that opens it lazily in each thread and notices when it changed since.
import { closeSync, fstatSync, openSync, readSync, type Stats, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import { describe } from '../core/checks.ts';
import { ConfigError, FileError, type FileLocation } from '../core/errors.ts';
import { fail, issuesOf } from '../core/validate.ts';

/** Size and modification time of a file when a dataset opened it: how later reads detect a change. */
export interface FileStamp {
  readonly size: number;
  /** Modification time in nanoseconds since the epoch, as a decimal string (exact, and cloneable). */
  readonly mtimeNs: string;
}

/**
 * The checks every file dataset's `open` starts with, all problems at once in one ConfigError: the path,
 * then the options against their schema and `relations` (the rules between options), as {@link issuesOf}
 * finds them.
 *
 * @param what - names the dataset in the message (`CsvDataset` gives `invalid CsvDataset options: …`)
 * @param path - the path given: a string or a `file:` URL
 * @param options - the options given
 * @param schema - the options' fields, built from the atoms of `core/validate.ts`
 * @param expected - what `options` must be, when it is not an object @default 'an object'
 * @param relations - checks across options, on the raw object @default []
 * @returns the file's absolute path
 * @example
 * ```ts
 * const file = checkOpen('JsonlDataset', path, options, z.object({ validate: bool.optional() }).strict());
 * ```
 */
export function checkOpen(
  what: string,
  path: unknown,
  options: unknown,
  schema: z.ZodType,
  {
    expected = 'an object',
    relations = [],
  }: { expected?: string; relations?: readonly ((raw: Record<string, unknown>) => string[])[] } = {},
): string {
  const issues: string[] = [];
  const file = checkPath(path, issues);
  if (typeof options !== 'object' || options === null) {
    issues.push(`\`options\` must be ${expected}, got ${describe(options)}`);
  } else {
    issues.push(...issuesOf(schema, options, relations));
  }
  if (issues.length > 0) fail(`${what} options`, issues);
  return file;
}

const PATH_EXPECTED = 'a file path, a file: URL, or an http://, https:// or s3:// URL';
const REMOTE = /^(https?|s3):\/\//i;

/** A path or `file:` URL as an absolute path, an http(s):// or s3:// URL as it is, or an issue message. */
export function checkPath(path: unknown, issues: string[]): string {
  if (path instanceof URL) {
    if (path.protocol === 'file:') return fileURLToPath(path);
    if (REMOTE.test(path.href)) return path.href;
    issues.push(`\`path\` must be ${PATH_EXPECTED}, got ${path.href}`);
    return '';
  }
  if (typeof path !== 'string' || path === '') {
    issues.push(`\`path\` must be ${PATH_EXPECTED}, got ${describe(path)}`);
    return '';
  }
  return REMOTE.test(path) ? path : resolve(path);
}

function stampFrom(stats: Stats | import('node:fs').BigIntStats): FileStamp {
  const big = stats as import('node:fs').BigIntStats;
  return { size: Number(big.size), mtimeNs: String(big.mtimeNs) };
}

/**
 * The file's stamp, or a {@link FileError} when it is missing, not a file, or unreadable. The file is
 * opened for reading once, so that a permission problem fails `open`, in the calling thread, rather than a
 * later read in a worker (`stat` needs no read permission).
 */
export function stampFile(file: string): FileStamp {
  let stats: import('node:fs').BigIntStats;
  try {
    stats = statSync(file, { bigint: true });
  } catch (e) {
    throw openError(file, e);
  }
  // Checked before opening: opening a FIFO for reading would wait for a writer.
  if (!stats.isFile()) throw new FileError(`cannot open ${file}: it is not a regular file`, { file });
  try {
    closeSync(openSync(file, 'r'));
  } catch (e) {
    throw openError(file, e);
  }
  return stampFrom(stats);
}

function openError(file: string, e: unknown): FileError {
  const code = (e as NodeJS.ErrnoException).code;
  const why =
    code === 'ENOENT'
      ? 'no such file'
      : code === 'EACCES'
        ? 'permission denied'
        : code === 'EISDIR'
          ? 'it is not a regular file'
          : (e as Error).message;
  return new FileError(`cannot open ${file}: ${why}`, { file }, { cause: e });
}

const iso = (ns: string): string => {
  const n = BigInt(ns);
  const ms = Number(n / 1_000_000n);
  return `${new Date(ms).toISOString().slice(0, -1)}${String(n % 1_000_000n).padStart(6, '0')}Z`;
};

/** The error for a file whose stamp differs from the one taken when the dataset was opened. */
export function changedError(file: string, was: FileStamp, now: FileStamp): FileError {
  const parts: string[] = [];
  if (was.size !== now.size) parts.push(`size ${was.size} → ${now.size} bytes`);
  if (was.mtimeNs !== now.mtimeNs) parts.push(`modified ${iso(was.mtimeNs)} → ${iso(now.mtimeNs)}`);
  return new FileError(
    `${file} changed after the dataset was opened (${parts.join(', ')}); open the dataset again`,
    { file },
  );
}

/** The byte that ends a line (`\n`); a `\r` before it is part of the line ending too. */
export const NEWLINE = 10;
/** The byte that ends a line in a file whose lines end with a carriage return alone (classic Mac OS). */
export const CR = 13;

/** How many positional reads may pass between two `fstat` checks of the file (each costs a system call). */
export const STAT_EVERY = 256;

/**
 * What a file dataset reads its bytes with: a local file ({@link PositionalFile}, synchronous) or a remote
 * object read through the cache (whose reads return a promise until their blocks are cached).
 *
 * @example
 * ```ts
 * const record = reader.readRecord(start, end, last, { line, row });
 * const bytes = isPromiseLike(record) ? await record : record;
 * ```
 * @internal
 */
export interface RandomAccess {
  /** The path or URL, for messages. */
  readonly path: string;
  /** Size in bytes when opened. */
  readonly size: number;
  /** Reads `length` bytes at `position` into `target`; see {@link PositionalFile.read}. */
  read(
    target: Uint8Array,
    position: number,
    length: number,
    where?: Omit<FileLocation, 'file'>,
    at?: number,
  ): void | Promise<void>;
  /** The record in bytes [start, end), its delimiters checked; see {@link PositionalFile.readRecord}. */
  readRecord(
    start: number,
    end: number,
    last: boolean,
    where: { line: number; row: number },
    newline?: number,
  ): Uint8Array | Promise<Uint8Array>;
  /**
   * Optional (remote objects): fetches bytes [offset, offset + length) into the cache in the background;
   * answers whether this thread's downloads ahead have room for more.
   */
  prefetch?(offset: number, length: number): boolean;
  /** Throws a {@link FileError} if the object changed since it was opened (remote objects: checked per download). */
  verify(): void;
  /** Releases what this thread opened. */
  close(): void;
}

/**
 * The record of `bytes` (read from the byte before `start` to the record's end): checks both delimiters and
 * returns the record without its line ending. On a misplaced delimiter, `verify` runs first (a changed file
 * says so), then a {@link FileError}.
 *
 * @param bytes - bytes [start - 1, end) (from 0 when `start` is 0)
 * @param path - for messages
 * @param start - the record's first byte in the file
 * @param last - whether it is the file's last record (which may lack a newline)
 * @param where - its line and row, for messages
 * @param verify - checks the file against its stamp
 * @param newline - the byte that ends lines: {@link NEWLINE} (a `\r` before it is dropped too), or {@link CR}
 * @returns a view of `bytes`
 * @example
 * ```ts
 * const record = cutRecord(bytes, file, start, false, { line: 3, row: 2 }, () => {});
 * ```
 * @internal
 */
export function cutRecord(
  bytes: Uint8Array,
  path: string,
  start: number,
  last: boolean,
  where: { line: number; row: number },
  verify: () => void,
  newline: number = NEWLINE,
): Uint8Array {
  const head = start > 0 ? 1 : 0;
  let b = bytes.length;
  const endsLine = bytes[b - 1] === newline;
  if ((head === 1 && bytes[0] !== newline) || (!endsLine && !last)) {
    verify();
    throw new FileError(
      `${path}, line ${where.line}: the record is not where the index says (byte ${start})`,
      {
        file: path,
        offset: start,
        ...where,
      },
    );
  }
  if (endsLine) b--;
  if (newline === NEWLINE && b > head && bytes[b - 1] === CR) b--;
  return bytes.subarray(head, b);
}

/**
 * A file read at positions, opened lazily (once per thread) and checked against its stamp: on open, on
 * every {@link STAT_EVERY}-th read, whenever a caller asks ({@link PositionalFile.verify}), and before a
 * short read is reported as truncation.
 */
export class PositionalFile implements RandomAccess {
  readonly path: string;
  readonly stamp: FileStamp;
  #fd: number | undefined;
  #reads = 0;
  #scratch = new Uint8Array(4096);

  constructor(path: string, stamp: FileStamp) {
    this.path = path;
    this.stamp = stamp;
  }

  /** Size in bytes when the dataset was opened. */
  get size(): number {
    return this.stamp.size;
  }

  /** The descriptor, opening the file (and checking its stamp) on first use. */
  get fd(): number {
    if (this.#fd === undefined) {
      let fd: number;
      try {
        fd = openSync(this.path, 'r');
      } catch (e) {
        throw openError(this.path, e);
      }
      this.#fd = fd;
      try {
        this.verify();
      } catch (e) {
        this.close();
        throw e;
      }
    }
    return this.#fd;
  }

  /** Throws a {@link FileError} if the file's size or modification time differs from the stamp. */
  verify(): void {
    const now = stampFrom(fstatSync(this.fd, { bigint: true }));
    if (now.size !== this.stamp.size || now.mtimeNs !== this.stamp.mtimeNs) {
      throw changedError(this.path, this.stamp, now);
    }
  }

  /**
   * Reads `length` bytes at `position` into `target` (from its start), or throws a {@link FileError}: the
   * file changed, or (unchanged yet short) it is truncated. `where` adds the line, row or offset to errors;
   * `at` is where in `target` the bytes go (a row of a batch).
   */
  read(
    target: Uint8Array,
    position: number,
    length: number,
    where: Omit<FileLocation, 'file'> = {},
    at = 0,
  ): void {
    const fd = this.fd;
    if (++this.#reads % STAT_EVERY === 0) this.verify();
    let done = 0;
    while (done < length) {
      const n = readSync(fd, target, at + done, length - done, position + done);
      if (n === 0) break;
      done += n;
    }
    if (done < length) {
      this.verify();
      const at =
        where.line !== undefined
          ? `line ${where.line}`
          : where.row !== undefined
            ? `row ${where.row}`
            : 'a read';
      throw new FileError(
        `${this.path} is truncated: ${at} needs bytes ${position}–${position + length} but the file ends at ${position + done}`,
        { file: this.path, offset: position, ...where },
      );
    }
  }

  /**
   * Reads the newline-terminated record that spans bytes [start, end) (its newline included, except for a
   * last record without one), checking both delimiters (the newline before `start` and the one ending the
   * record), so a file rewritten in place is noticed even between stat checks. Returns the record without
   * its line ending, as a view that the next read overwrites. `newline` is the byte that ends lines:
   * {@link NEWLINE} (a `\r` before it is dropped too), or {@link CR} in a file of CR-only line endings.
   */
  readRecord(
    start: number,
    end: number,
    last: boolean,
    where: { line: number; row: number },
    newline: number = NEWLINE,
  ): Uint8Array {
    const from = start > 0 ? start - 1 : 0;
    const size = end - from;
    if (this.#scratch.length < size) this.#scratch = new Uint8Array(Math.max(size, this.#scratch.length * 2));
    const bytes = this.#scratch;
    this.read(bytes, from, size, where);
    return cutRecord(bytes.subarray(0, size), this.path, start, last, where, () => this.verify(), newline);
  }

  /** Closes the descriptor; a later read opens the file again (and checks it again). */
  close(): void {
    if (this.#fd !== undefined) {
      try {
        closeSync(this.#fd);
      } catch {
        // already closed
      }
      this.#fd = undefined;
    }
  }
}

/** A `ConfigError` for a format whose optional peer package is not installed. */
export function missingPeer(pkg: string, format: string, cause: unknown): ConfigError {
  return new ConfigError(
    `reading ${format} files needs the package \`${pkg}\`, which is not installed; install it with npm install ${pkg}`,
    undefined,
    { cause },
  );
}

/** Imports an optional peer package, or throws {@link missingPeer}. */
export async function importPeer<M>(pkg: string, format: string, load: () => Promise<M>): Promise<M> {
  try {
    return await load();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const notFound = code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
    // Only the package itself: a dependency missing inside it is its own problem, reported as is.
    if (notFound && (e as Error).message.includes(`'${pkg}'`)) throw missingPeer(pkg, format, e);
    throw e;
  }
}
