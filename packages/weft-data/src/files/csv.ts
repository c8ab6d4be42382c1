import { z } from 'zod';
import { checkIndex, describe, isPromiseLike } from '../core/checks.ts';
import type { Dataset } from '../core/dataset.ts';
import { FileError } from '../core/errors.ts';
import { rebuildWith } from '../core/recipe.ts';
import { fail } from '../core/validate.ts';
import { checkOpen, importPeer, type RandomAccess } from './file.ts';
import { decodeUtf8, indexRecords, type LineOffsets } from './lines.ts';
import { type RemoteOptions, remoteFields, remoteRelation } from './remote/options.ts';
import { openSource, readerOf, type SourceState } from './source.ts';

/** Column types of {@link CsvDataset}: numbers are checked and rounded to the type (`float32` with `Math.fround`). */
export type CsvColumnType = 'string' | 'float32' | 'float64' | 'int32' | 'boolean';

/** The columns to read and their types, by header name: `{ x: 'float32', label: 'int32', name: 'string' }`. */
export type CsvColumns = Record<string, CsvColumnType>;

/** The item of a {@link CsvDataset} with typed `columns`: each named column, converted. */
export type CsvRow<C extends CsvColumns> = {
  -readonly [K in keyof C]: C[K] extends 'string' ? string : C[K] extends 'boolean' ? boolean : number;
};

/** Options of {@link CsvDataset.open}; the {@link RemoteOptions} apply to a URL. */
export interface CsvOptions<C extends CsvColumns = CsvColumns> extends RemoteOptions {
  /**
   * The columns to read (a projection) and how to convert each; without it every column is read as a string.
   * @default every column, as strings
   */
  columns?: C;
  /** Field delimiter, one character. @default ',' */
  delimiter?: string;
  /** Quote character, one character; doubled inside a quoted field to stand for itself. @default '"' */
  quote?: string;
}

const TYPES = ['string', 'float32', 'float64', 'int32', 'boolean'] as const;
const oneChar = z
  .string({ error: 'must be a single character' })
  .length(1, { error: 'must be a single character' })
  .refine((c) => c !== '\n' && c !== '\r', { error: 'must be a single character other than a line break' });
const optionsSchema = z
  .object({
    columns: z
      .record(
        z.string(),
        z.enum(TYPES, { error: `must be one of ${TYPES.map((t) => `'${t}'`).join(', ')}` }),
        { error: "must be an object of column types, such as { x: 'float32', label: 'int32' }" },
      )
      .optional(),
    delimiter: oneChar.optional(),
    quote: oneChar.optional(),
    ...remoteFields,
  })
  .strict();

/** Everything a worker needs to reopen a {@link CsvDataset}. @internal */
export interface CsvState {
  readonly path: string;
  readonly source: SourceState;
  readonly header: readonly string[];
  readonly columns: CsvColumns | undefined;
  readonly delimiter: string;
  readonly quote: string;
  /** `offsets[i]` is where data record i starts (after the header); `offsets[length]` is the file's end. */
  readonly offsets: LineOffsets;
  /** `lines[i]` is the 1-based line on which data record i starts. */
  readonly lines: Uint32Array;
  /** The byte that ends lines (see `indexLines`). */
  readonly newline: number;
}

type ParseCsv = (input: string, options: object) => string[][];

async function loadParser(): Promise<ParseCsv> {
  const m = await importPeer('csv-parse', 'CSV', () => import('csv-parse/sync'));
  return m.parse as ParseCsv;
}

/**
 * A CSV file with a header line, with random access: `get(i)` reads data record i (the header is not an
 * item) and gives an object keyed by column name, either every column as a string or the `columns` you
 * name, converted to their types (a projection).
 *
 * {@link CsvDataset.open} streams the file once in the calling thread and records where every record starts,
 * honouring quotes (a quoted field may contain delimiters, doubled quotes and line breaks), in shared memory
 * that the loader's workers use as is; each worker opens the file lazily and reads one record per `get` with
 * one positional read. Records with quotes are parsed by `csv-parse` (an optional peer dependency: install
 * it to read CSV); records without are split at the delimiter. A record with the wrong number of fields, a
 * value that is not of its column's type, an unclosed quote or a file changed since `open` is a
 * {@link FileError} naming the file and line.
 *
 * @typeParam T - the item type: `Record<string, string>`, or {@link CsvRow} of the `columns` given
 * @example
 * ```ts
 * const iris = await CsvDataset.open('iris.csv', {
 *   columns: { sepal_length: 'float32', petal_length: 'float32', species: 'string' },
 * });
 * iris.get(0); // { sepal_length: 5.099999904632568, petal_length: 1.399999976158142, species: 'setosa' }
 * ```
 */
export class CsvDataset<T = Record<string, string>> implements Dataset<T, undefined> {
  /** Absolute path of the file. */
  readonly path: string;
  /** The column names, from the header line. */
  readonly header: readonly string[];
  /** The columns read and their types (`undefined`: every column, as strings). */
  readonly columns: Readonly<CsvColumns> | undefined;
  readonly #state: CsvState;
  readonly #file: RandomAccess;
  readonly #parse: ParseCsv;
  readonly #pick: { name: string; at: number; type: CsvColumnType }[];

  /**
   * Opens a CSV file: checks the options ({@link ConfigError}, every problem at once), loads `csv-parse`,
   * indexes the records (streamed, in this thread) and reads the header.
   *
   * @param path - a file path, a `file:` URL, or an `http(s)://` or `s3://` URL (read through the cache, see {@link RemoteOptions})
   * @param options - see {@link CsvOptions}
   * @example
   * ```ts
   * const rows = await CsvDataset.open('people.csv'); // rows.get(0): { name: 'Ada', born: '1815' }
   * const typed = await CsvDataset.open('people.csv', { columns: { born: 'int32' } }); // { born: 1815 }
   * ```
   */
  static async open<C extends CsvColumns>(
    path: string | URL,
    options: CsvOptions<C> & { columns: C },
  ): Promise<CsvDataset<CsvRow<C>>>;
  static async open(path: string | URL, options?: CsvOptions): Promise<CsvDataset<Record<string, string>>>;
  static async open(path: string | URL, options: CsvOptions = {}): Promise<CsvDataset<unknown>> {
    const file = checkOpen('CsvDataset', path, options, optionsSchema, {
      relations: [
        ({ delimiter = ',', quote = '"' }) =>
          delimiter === quote
            ? [`\`quote\` must differ from \`delimiter\`, both are ${describe(quote)}`]
            : [],
        remoteRelation,
      ],
    });
    const { delimiter = ',', quote = '"', columns } = options;
    const parse = await loadParser();
    const source = await openSource(file, options);
    const { offsets, lines, newline } = await indexRecords(source, quote.charCodeAt(0));
    if (offsets.length < 2)
      throw new FileError(`${file} has no header line: the file is empty`, { file, line: 1 });
    const reader = readerOf(source.state());
    let header: string[];
    try {
      const where = { line: 1, row: -1 };
      const bytes = await reader.readRecord(0, offsets[1] as number, offsets.length === 2, where, newline);
      header = parseRecord(parse, decodeUtf8(bytes, file, { line: 1 }), delimiter, quote, file, 1);
    } finally {
      reader.close();
    }
    if (header[0]?.charCodeAt(0) === 0xfeff) header[0] = header[0].slice(1);
    const seen = new Set<string>();
    for (const name of header) {
      if (seen.has(name)) {
        throw new FileError(`${file}, line 1: the header names column ${describe(name)} twice`, {
          file,
          line: 1,
        });
      }
      seen.add(name);
    }
    if (columns !== undefined) {
      const missing = Object.keys(columns).filter((c) => !seen.has(c));
      if (missing.length > 0) {
        fail(
          'CsvDataset options',
          missing.map(
            (c) =>
              `\`columns.${c}\` is not a column of ${file}; its columns are ${header.map((h) => describe(h)).join(', ')}`,
          ),
        );
      }
    }
    return new CsvDataset(
      {
        path: file,
        source: source.state(),
        header,
        columns: columns === undefined ? undefined : { ...columns },
        delimiter,
        quote,
        offsets: offsets.subarray(1),
        lines: lines.subarray(1),
        newline,
      },
      parse,
    );
  }

  /**
   * Rebuilds a dataset from its state (what workers do); use {@link CsvDataset.open} instead.
   *
   * @param state - what an opened dataset recorded
   * @param parse - `csv-parse`'s synchronous `parse`
   * @internal
   */
  constructor(state: CsvState, parse: ParseCsv) {
    this.path = state.path;
    this.header = state.header;
    this.columns = state.columns;
    this.#state = state;
    this.#parse = parse;
    this.#file = readerOf(state.source);
    const at = new Map(state.header.map((name, k) => [name, k]));
    this.#pick =
      state.columns === undefined
        ? state.header.map((name, k) => ({ name, at: k, type: 'string' as const }))
        : Object.entries(state.columns).map(([name, type]) => ({ name, at: at.get(name) as number, type }));
    rebuildWith(this, import.meta.url, 'csvFromState', state); // rebuilt in workers (see core/recipe.ts)
  }

  /** Number of data records (lines after the header, counting a quoted line break as part of its record). */
  get length(): number {
    return this.#state.offsets.length - 1;
  }

  /**
   * Data record `index`, as an object keyed by column name: synchronously from a local file, or from a
   * remote one whose block is cached; otherwise a promise.
   *
   * @param index - 0 ≤ index < length
   */
  get(index: number): T | Promise<T> {
    checkIndex(index, this.length);
    const { offsets, lines, newline } = this.#state;
    const line = lines[index] as number;
    const last = index === this.length - 1;
    const where = { line, row: index };
    const record = this.#file.readRecord(
      offsets[index] as number,
      offsets[index + 1] as number,
      last,
      where,
      newline,
    );
    return isPromiseLike(record) ? record.then((bytes) => this.#row(bytes, index)) : this.#row(record, index);
  }

  /**
   * Fetches the records of `indices` into the cache in the background (a remote file; nothing for a local
   * one): the loader calls it with the coming batches' indices.
   *
   * @param indices - items soon to be read
   */
  prefetch(indices: Uint32Array): void {
    const fetch = this.#file.prefetch;
    if (fetch === undefined) return;
    const { offsets } = this.#state;
    for (const i of indices) {
      const start = offsets[i] as number;
      fetch.call(this.#file, start, (offsets[i + 1] as number) - start);
    }
  }

  #row(bytes: Uint8Array, index: number): T {
    const { lines, delimiter, quote, header } = this.#state;
    const line = lines[index] as number;
    const fields = parseRecord(
      this.#parse,
      decodeUtf8(bytes, this.path, { line }),
      delimiter,
      quote,
      this.path,
      line,
    );
    if (fields.length !== header.length) {
      throw new FileError(
        `${this.path}, line ${line}: ${fields.length} field${fields.length === 1 ? '' : 's'}, but the header has ${header.length}`,
        { file: this.path, line, row: index },
      );
    }
    const out: Record<string, unknown> = {};
    for (const { name, at, type } of this.#pick) {
      out[name] = convert(fields[at] as string, type, name, this.path, line, index);
    }
    return out as T;
  }

  /** Closes this thread's file descriptor; the next `get` opens the file again (and checks it again). */
  close(): void {
    this.#file.close();
  }
}

/** One record's fields: split at the delimiter when it has no quote, else parsed by csv-parse. */
function parseRecord(
  parse: ParseCsv,
  text: string,
  delimiter: string,
  quote: string,
  file: string,
  line: number,
): string[] {
  if (!text.includes(quote)) return text.split(delimiter);
  let records: string[][];
  try {
    records = parse(text, { delimiter, quote, escape: quote, relax_column_count: true, bom: line === 1 });
  } catch (e) {
    throw new FileError(`${file}, line ${line}: ${(e as Error).message}`, { file, line }, { cause: e });
  }
  if (records.length !== 1) {
    throw new FileError(`${file}, line ${line}: expected one record, found ${records.length}`, {
      file,
      line,
    });
  }
  return records[0] as string[];
}

const INT = /^[+-]?\d+$/;

function convert(
  raw: string,
  type: CsvColumnType,
  name: string,
  file: string,
  line: number,
  row: number,
): unknown {
  let value: unknown;
  switch (type) {
    case 'string':
      return raw;
    case 'int32': {
      const n = INT.test(raw.trim()) ? Number(raw) : Number.NaN;
      if (n >= -0x80000000 && n <= 0x7fffffff) value = n;
      break;
    }
    case 'float32':
    case 'float64': {
      const t = raw.trim();
      const n = t === '' ? Number.NaN : Number(t);
      if (!Number.isNaN(n) || /^[+-]?nan$/i.test(t)) value = type === 'float32' ? Math.fround(n) : n;
      break;
    }
    case 'boolean': {
      const t = raw.trim().toLowerCase();
      if (t === 'true' || t === '1') value = true;
      else if (t === 'false' || t === '0') value = false;
      break;
    }
  }
  if (value === undefined) {
    throw new FileError(
      `${file}, line ${line}: \`${name}\` must be ${type === 'int32' ? 'an' : 'a'} ${type}, got ${describe(raw)}`,
      {
        file,
        line,
        row,
      },
    );
  }
  return value;
}

// ── Worker recipe glue ──
/**
 * Rebuilds a {@link CsvDataset} in a worker from its state, loading `csv-parse` there.
 *
 * @param state - what the calling thread's dataset recorded
 * @internal
 */
export const csvFromState = async (state: CsvState): Promise<CsvDataset<unknown>> =>
  new CsvDataset(state, await loadParser());
