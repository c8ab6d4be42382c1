// The columns of a TensorDataset: their types, shared-memory allocation, UTF-8 string storage, and the
// validation of columns given as data (`new TensorDataset(columns)`).
import { isUtf8 } from 'node:buffer';
import { describe, fail } from '../../core/checks.ts';
import { DTYPE_ARRAYS, type DType, type DTypeArrays } from '../../core/dtype.ts';
import { unknownOption } from '../../core/suggest.ts';

/**
 * The typed arrays a {@link TensorDataset} column can hold: those of every {@link DType} but `bool`.
 *
 * @example
 * ```ts
 * const x: ColumnArray = dataset.columns.x.data; // e.g. a Float32Array on a SharedArrayBuffer
 * ```
 */
export type ColumnArray = DTypeArrays[Exclude<DType, 'bool'>];

/**
 * A column given as data, to `new TensorDataset(columns)`. Data that is not already in a
 * `SharedArrayBuffer` is copied into one, once; data that is, is used as it is (no copy).
 *
 * - fixed-size items: `{ data, shape }`, the items' values end to end (row-major), `data.length` a
 *   multiple of the item size;
 * - variable-length items: `{ data, offsets }`, item i is `data[offsets[i]..offsets[i + 1])`;
 * - strings: `{ data: string[] }`, or their UTF-8 bytes as `{ dtype: 'string', data: Uint8Array, offsets }`.
 *
 * @example
 * ```ts
 * const x: ColumnData = { data: new Float32Array(100 * 784), shape: [28, 28] };
 * const ids: ColumnData = { data: new Uint16Array([5, 9, 2]), offsets: [0, 2, 3] };
 * ```
 */
export interface ColumnData {
  /** The values of every item end to end, or the strings of a string column. */
  readonly data: ColumnArray | readonly string[];
  /** Shape of one item: `[]` for a scalar, `[28, 28]` for an image. @default [] */
  readonly shape?: readonly number[];
  /** For variable-length items: `length + 1` non-decreasing positions in `data`, from 0 to its length. */
  readonly offsets?: ArrayLike<number>;
  /** `'string'` marks UTF-8 bytes with `offsets` as a string column. */
  readonly dtype?: 'string';
}

/**
 * One column as a {@link TensorDataset} stores it: everything lives in `SharedArrayBuffer`s.
 *
 * @example
 * ```ts
 * const { data, shape } = dataset.columns.x; // all rows at once, e.g. to compute a mean
 * ```
 */
export interface ColumnInfo {
  /** The element type. */
  readonly dtype: Exclude<DType, 'bool'> | 'string';
  /** How items are laid out: fixed-size, variable-length (`offsets`), or UTF-8 strings (`offsets`). */
  readonly kind: 'fixed' | 'ragged' | 'string';
  /** Shape of one item of a fixed-size column (`[]` for scalars); `[]` for the other kinds. */
  readonly shape: readonly number[];
  /** All values, end to end (UTF-8 bytes for strings), on a `SharedArrayBuffer`. */
  readonly data: ColumnArray;
  /** Item i spans `data[offsets[i]..offsets[i + 1])` (ragged and string columns), on a `SharedArrayBuffer`. */
  readonly offsets?: Float64Array;
}

/** A numeric column's element type. */
export type NumericDType = Exclude<DType, 'bool'>;

/** The numeric column types, in the order messages list them. */
export const NUMERIC_DTYPES: readonly NumericDType[] = [
  'float32',
  'float64',
  'int8',
  'int16',
  'int32',
  'uint8',
  'uint16',
  'uint32',
  'bigint64',
];
/** The typed arrays of {@link NUMERIC_DTYPES}, by name, for messages. */
export const CTOR_LIST = NUMERIC_DTYPES.map((d) => DTYPE_ARRAYS[d].name).join(', ');

/**
 * The numeric column type of `value`'s typed array, or undefined if it is none.
 *
 * @param value - any value
 * @example
 * ```ts
 * dtypeOf(new Int32Array(2)); // 'int32'
 * ```
 */
export function dtypeOf(value: unknown): NumericDType | undefined {
  if (!ArrayBuffer.isView(value)) return undefined;
  return NUMERIC_DTYPES.find((d) => value.constructor === DTYPE_ARRAYS[d]);
}

/**
 * Whether `s` is an item shape: an array of positive integers.
 *
 * @param s - any value
 * @example
 * ```ts
 * isPositiveShape([28, 28]); // true
 * ```
 */
export const isPositiveShape = (s: unknown): s is number[] =>
  Array.isArray(s) && s.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d > 0);
/**
 * The number of elements of an item of `shape`.
 *
 * @param shape - the item shape
 * @example
 * ```ts
 * sizeOf([2, 3]); // 6
 * ```
 */
export const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
/** What a `shape` must be, as messages say it. */
export const SHAPE_RULE = 'must be an array of positive integers (the shape of one item; [] for a scalar)';

/**
 * Allocates a `SharedArrayBuffer`-backed array of `length` elements.
 *
 * @param dtype - the element type
 * @param length - the number of elements
 * @example
 * ```ts
 * const offsets = sharedArray('float64', n + 1) as Float64Array;
 * ```
 */
export function sharedArray(dtype: NumericDType, length: number): ColumnArray {
  const Ctor = DTYPE_ARRAYS[dtype];
  return new Ctor(new SharedArrayBuffer(length * Ctor.BYTES_PER_ELEMENT), 0, length);
}

/** `array` itself when it is already shared, otherwise a shared copy. */
function toShared(array: ColumnArray): ColumnArray {
  if (array.buffer instanceof SharedArrayBuffer) return array;
  const copy = sharedArray(dtypeOf(array) as NumericDType, array.length);
  (copy as Float64Array).set(array as Float64Array);
  return copy;
}

function sharedOffsets(offsets: ArrayLike<number>): Float64Array {
  if (offsets instanceof Float64Array && offsets.buffer instanceof SharedArrayBuffer) return offsets;
  const out = sharedArray('float64', offsets.length) as Float64Array;
  for (let i = 0; i < offsets.length; i++) out[i] = offsets[i] as number;
  return out;
}

/**
 * Stores strings as their UTF-8 bytes end to end in shared memory, with the offsets of each.
 *
 * @param strings - the strings
 * @example
 * ```ts
 * encodeStrings(['ab', 'c']); // { data: bytes of 'abc', offsets: [0, 2, 3] }
 * ```
 */
export function encodeStrings(strings: readonly string[]): { data: Uint8Array; offsets: Float64Array } {
  const offsets = sharedArray('float64', strings.length + 1) as Float64Array;
  let total = 0;
  for (let i = 0; i < strings.length; i++) {
    total += Buffer.byteLength(strings[i] as string, 'utf8');
    offsets[i + 1] = total;
  }
  const data = sharedArray('uint8', total) as Uint8Array;
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  for (let i = 0; i < strings.length; i++) bytes.write(strings[i] as string, offsets[i] as number, 'utf8');
  return { data, offsets };
}

/**
 * Whether `s` can be stored as UTF-8 as it is: no lone surrogate, which encoding would silently replace
 * with U+FFFD (`String.prototype.isWellFormed`, ES2024).
 *
 * @param s - a string
 * @example
 * ```ts
 * wellFormed('a\uD800'); // false
 * ```
 */
export const wellFormed = (s: string): boolean => (s as string & { isWellFormed(): boolean }).isWellFormed();

/** The first item of a string column whose bytes are not valid UTF-8, as an issue; decoding would hide it. */
function utf8Issue(bytes: Uint8Array, offsets: ArrayLike<number>, path: string): string | undefined {
  for (let i = 0; i + 1 < offsets.length; i++) {
    const from = offsets[i] as number;
    const to = offsets[i + 1] as number;
    if (!isUtf8(bytes.subarray(from, to))) {
      return `\`${path}\` item ${i} is not valid UTF-8 (bytes [${from}, ${to}) of \`${path}.data\`)`;
    }
  }
  return undefined;
}

/** Checks ragged or string offsets against `count` items and `dataLength` values; the first problem. */
function offsetsIssue(offsets: unknown, dataLength: number, path: string): string | undefined {
  if (
    typeof offsets !== 'object' ||
    offsets === null ||
    typeof (offsets as ArrayLike<number>).length !== 'number' ||
    (offsets as ArrayLike<number>).length < 1
  ) {
    return `\`${path}\` must be an array of item boundaries (one more than the number of items), got ${describe(offsets)}`;
  }
  const o = offsets as ArrayLike<number>;
  let previous = 0;
  for (let i = 0; i < o.length; i++) {
    const v = o[i];
    const last = i === o.length - 1;
    const first = i === 0 && v !== 0;
    const ok =
      !first &&
      (last
        ? v === dataLength
        : Number.isInteger(v) && (v as number) >= previous && (v as number) <= dataLength);
    if (!ok) {
      const rule = first
        ? 'must be 0'
        : last
          ? `must be the data's length ${dataLength}`
          : `must be an integer in [${previous}, ${dataLength}] (offsets never decrease)`;
      return `\`${path}[${i}]\` ${rule}, got ${describe(v)}`;
    }
    previous = v as number;
  }
  return undefined;
}

/** What a string must be to be stored, for messages. */
export const WELL_FORMED = 'well-formed Unicode (no lone surrogate, which UTF-8 cannot store)';

const COLUMN_KEYS = new Set(['data', 'shape', 'offsets', 'dtype']);

/**
 * Validates every column given as data and stores it in shared memory; throws with every problem.
 *
 * @param columns - as given to `new TensorDataset(columns)`
 * @example
 * ```ts
 * columnsFromData({ y: { data: new Int32Array([1, 2]) } }); // { y: { dtype: 'int32', kind: 'fixed', … } }
 * ```
 */
export function columnsFromData(columns: unknown): Record<string, ColumnInfo> {
  if (typeof columns !== 'object' || columns === null || Array.isArray(columns)) {
    fail('TensorDataset', [
      `\`columns\` must be an object of named columns ({ x: { data, shape } }), got ${describe(columns)}`,
    ]);
  }
  const issues: string[] = [];
  const entries = Object.entries(columns as Record<string, unknown>);
  if (entries.length === 0) issues.push('`columns` must name at least one column, got an empty object');
  const out: Record<string, ColumnInfo> = {};
  const counts: [string, number][] = [];
  for (const [name, column] of entries) {
    const at = `columns.${name}`;
    if (typeof column !== 'object' || column === null) {
      issues.push(
        `\`${at}\` must be an object { data, shape } or { data, offsets }, got ${describe(column)}`,
      );
      continue;
    }
    const c = column as Record<string, unknown>;
    for (const key of Object.keys(c)) {
      if (!COLUMN_KEYS.has(key)) issues.push(unknownOption(`${at}.${key}`, COLUMN_KEYS));
    }
    const { data, shape, offsets, dtype } = c;
    if (dtype !== undefined && dtype !== 'string') {
      issues.push(
        `\`${at}.dtype\` must be 'string' (with UTF-8 bytes and offsets) or left out: the typed array gives the type, got ${describe(dtype)}`,
      );
      continue;
    }
    const strings = Array.isArray(data);
    const arrayType = dtypeOf(data);
    if (strings) {
      const bad = (data as unknown[]).findIndex((s) => typeof s !== 'string' || !wellFormed(s));
      if (bad >= 0) {
        const rule = typeof (data as unknown[])[bad] === 'string' ? WELL_FORMED : 'a string';
        issues.push(`\`${at}.data[${bad}]\` must be ${rule}, got ${describe((data as unknown[])[bad])}`);
        continue;
      }
    } else if (arrayType === undefined) {
      issues.push(
        `\`${at}.data\` must be a typed array (${CTOR_LIST}) or an array of strings, got ${describe(data)}`,
      );
      continue;
    }
    if (shape !== undefined && !isPositiveShape(shape))
      issues.push(`\`${at}.shape\` ${SHAPE_RULE}, got ${describe(shape)}`);
    if (shape !== undefined && (offsets !== undefined || strings)) {
      issues.push(
        `\`${at}.shape\` must be left out for a ${strings ? 'string' : 'ragged'} column, got ${describe(shape)}`,
      );
      continue;
    }
    if (strings) {
      if (offsets !== undefined)
        issues.push(
          `\`${at}.offsets\` must be left out when \`data\` holds strings, got ${describe(offsets)}`,
        );
      else {
        out[name] = { dtype: 'string', kind: 'string', shape: [], ...encodeStrings(data as string[]) };
        counts.push([name, (data as string[]).length]);
      }
      continue;
    }
    const values = data as ColumnArray;
    if (dtype === 'string' && arrayType !== 'uint8') {
      issues.push(
        `\`${at}.data\` must be a Uint8Array of UTF-8 bytes for dtype 'string', got ${describe(data)}`,
      );
      continue;
    }
    if (offsets !== undefined || dtype === 'string') {
      const issue =
        offsetsIssue(offsets, values.length, `${at}.offsets`) ??
        (dtype === 'string' ? utf8Issue(values as Uint8Array, offsets as ArrayLike<number>, at) : undefined);
      if (issue !== undefined) {
        issues.push(issue);
        continue;
      }
      const kind = dtype === 'string' ? 'string' : 'ragged';
      const o = sharedOffsets(offsets as ArrayLike<number>);
      out[name] = {
        dtype: dtype ?? (arrayType as NumericDType),
        kind,
        shape: [],
        data: toShared(values),
        offsets: o,
      };
      counts.push([name, o.length - 1]);
      continue;
    }
    if (shape !== undefined && !isPositiveShape(shape)) continue;
    const itemShape = [...((shape as number[] | undefined) ?? [])];
    const size = sizeOf(itemShape);
    if (values.length % size !== 0) {
      issues.push(
        `\`${at}.data\` must have a length that is a multiple of ${size} (items of shape [${itemShape.join(', ')}]), got ${values.length}`,
      );
      continue;
    }
    out[name] = { dtype: arrayType as NumericDType, kind: 'fixed', shape: itemShape, data: toShared(values) };
    counts.push([name, values.length / size]);
  }
  const [first, n] = counts[0] ?? ['', 0];
  for (const [name, count] of counts.slice(1)) {
    if (count !== n) {
      issues.push(
        `\`columns.${name}\` must have ${n} items like \`columns.${first}\` (every column one entry per item), got ${count}`,
      );
    }
  }
  if (issues.length > 0) fail('TensorDataset', issues);
  return out;
}
