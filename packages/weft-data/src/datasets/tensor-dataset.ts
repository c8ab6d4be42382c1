import type { Tensor } from '../collate/collate.ts';
import { checkIndex, describe } from '../core/checks.ts';
import type { Dataset } from '../core/dataset.ts';
import { withRecipe } from '../core/recipe.ts';
import { fail } from '../core/validate.ts';

/**
 * The element types of a {@link TensorDataset}'s numeric columns, named as in torch.
 *
 * @example
 * ```ts
 * const dtype: TensorDType = 'float32';
 * ```
 */
export type TensorDType =
  | 'float32'
  | 'float64'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'bigint64';

/**
 * A column's type: a numeric {@link TensorDType}, or `'string'` (UTF-8 text).
 *
 * @example
 * ```ts
 * TensorDataset.fromItems(rows, { caption: { dtype: 'string' satisfies ColumnDType } });
 * ```
 */
export type ColumnDType = TensorDType | 'string';

/**
 * The typed arrays a {@link TensorDataset} column can hold.
 *
 * @example
 * ```ts
 * const x: ColumnArray = dataset.columns.x.data; // e.g. a Float32Array on a SharedArrayBuffer
 * ```
 */
export type ColumnArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigInt64Array;

/**
 * One field of a {@link TensorDataset} item: a number or bigint (per-item shape `[]`), a typed-array view
 * (shape `[k]` or a ragged column), a {@link Tensor} whose `data` is a view (shape of two or more
 * dimensions), or a string.
 *
 * @example
 * ```ts
 * const v: TensorValue = dataset.get(0).x;
 * ```
 */
export type TensorValue = number | bigint | string | ColumnArray | Tensor<ColumnArray>;

/**
 * A {@link TensorDataset} item: one value per column.
 *
 * @example
 * ```ts
 * const item: TensorItem = dataset.get(0); // { x: Float32Array(784), y: 3 }
 * ```
 */
export type TensorItem = Record<string, TensorValue>;

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
 * How {@link TensorDataset.fromItems} stores one field of the items; whatever is left out is inferred.
 *
 * @example
 * ```ts
 * const spec: ColumnSpec = { dtype: 'float32', shape: [784] };
 * ```
 */
export interface ColumnSpec {
  /** @default inferred: `float64` for numbers, the typed array's own type, `bigint64`, `string` */
  readonly dtype?: ColumnDType;
  /** Shape of one item, `[]` for a scalar. @default inferred from the first item */
  readonly shape?: readonly number[];
  /** Items are 1-D arrays of different lengths (offsets + shared values). @default inferred */
  readonly ragged?: boolean;
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
  readonly dtype: ColumnDType;
  /** How items are laid out: fixed-size, variable-length (`offsets`), or UTF-8 strings (`offsets`). */
  readonly kind: 'fixed' | 'ragged' | 'string';
  /** Shape of one item of a fixed-size column (`[]` for scalars); `[]` for the other kinds. */
  readonly shape: readonly number[];
  /** All values, end to end (UTF-8 bytes for strings), on a `SharedArrayBuffer`. */
  readonly data: ColumnArray;
  /** Item i spans `data[offsets[i]..offsets[i + 1])` (ragged and string columns), on a `SharedArrayBuffer`. */
  readonly offsets?: Float64Array;
}

type ArrayCtor = { new (buffer: SharedArrayBuffer, byteOffset?: number, length?: number): ColumnArray } & {
  new (length: number): ColumnArray;
  readonly BYTES_PER_ELEMENT: number;
  readonly name: string;
};

const CTORS: Record<TensorDType, ArrayCtor> = {
  float32: Float32Array,
  float64: Float64Array,
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  uint8: Uint8Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  bigint64: BigInt64Array,
} as unknown as Record<TensorDType, ArrayCtor>;
const DTYPES = Object.keys(CTORS) as TensorDType[];
const DTYPE_LIST = [...DTYPES, 'string'].join(', ');
const CTOR_LIST = DTYPES.map((d) => CTORS[d].name).join(', ');
const INT_RANGE: Partial<Record<TensorDType, string>> = {
  int8: '[-128, 127]',
  int16: '[-32768, 32767]',
  int32: '[-2147483648, 2147483647]',
  uint8: '[0, 255]',
  uint16: '[0, 65535]',
  uint32: '[0, 4294967295]',
};

function dtypeOf(value: unknown): TensorDType | undefined {
  if (!ArrayBuffer.isView(value)) return undefined;
  return DTYPES.find((d) => value.constructor === CTORS[d]);
}

const isPositiveShape = (s: unknown): s is number[] =>
  Array.isArray(s) && s.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d > 0);
const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
const SHAPE_RULE = 'must be an array of positive integers (the shape of one item; [] for a scalar)';

/** Allocates a `SharedArrayBuffer`-backed array of `length` elements. */
function sharedArray(dtype: TensorDType, length: number): ColumnArray {
  const Ctor = CTORS[dtype];
  return new Ctor(new SharedArrayBuffer(length * Ctor.BYTES_PER_ELEMENT), 0, length);
}

/** `array` itself when it is already shared, otherwise a shared copy. */
function toShared(array: ColumnArray): ColumnArray {
  if (array.buffer instanceof SharedArrayBuffer) return array;
  const copy = sharedArray(dtypeOf(array) as TensorDType, array.length);
  (copy as Float64Array).set(array as Float64Array);
  return copy;
}

function sharedOffsets(offsets: ArrayLike<number>): Float64Array {
  if (offsets instanceof Float64Array && offsets.buffer instanceof SharedArrayBuffer) return offsets;
  const out = sharedArray('float64', offsets.length) as Float64Array;
  for (let i = 0; i < offsets.length; i++) out[i] = offsets[i] as number;
  return out;
}

function encodeStrings(strings: readonly string[]): { data: Uint8Array; offsets: Float64Array } {
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

const COLUMN_KEYS = new Set(['data', 'shape', 'offsets', 'dtype']);

/** Validates every column given as data and stores it in shared memory; throws with every problem. */
function fromData(columns: unknown): Record<string, ColumnInfo> {
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
      if (!COLUMN_KEYS.has(key)) issues.push(`\`${at}.${key}\` is not a known option`);
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
      const bad = (data as unknown[]).findIndex((s) => typeof s !== 'string');
      if (bad >= 0) {
        issues.push(`\`${at}.data[${bad}]\` must be a string, got ${describe((data as unknown[])[bad])}`);
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
      const issue = offsetsIssue(offsets, values.length, `${at}.offsets`);
      if (issue !== undefined) {
        issues.push(issue);
        continue;
      }
      const kind = dtype === 'string' ? 'string' : 'ragged';
      const o = sharedOffsets(offsets as ArrayLike<number>);
      out[name] = {
        dtype: dtype ?? (arrayType as TensorDType),
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
    out[name] = { dtype: arrayType as TensorDType, kind: 'fixed', shape: itemShape, data: toShared(values) };
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

/** How a field of the items will be stored, from its spec and the first item. */
interface Layout {
  dtype: ColumnDType;
  kind: ColumnInfo['kind'];
  shape: number[];
}

/** Dimensions of a rectangular nested number array, or undefined if it is not one. */
function nestedShape(v: unknown): number[] | undefined {
  if (typeof v === 'number') return [];
  if (!Array.isArray(v) || v.length === 0) return undefined;
  const inner = nestedShape(v[0]);
  return inner === undefined ? undefined : [v.length, ...inner];
}

const isTensorValue = (v: unknown): v is Tensor<ColumnArray> =>
  typeof v === 'object' &&
  v !== null &&
  !ArrayBuffer.isView(v) &&
  dtypeOf((v as Tensor).data) !== undefined &&
  isPositiveShape((v as Tensor).shape);

/** Length of a 1-D value (typed array or array), or undefined. */
const flatLength = (v: unknown): number | undefined =>
  ArrayBuffer.isView(v) || Array.isArray(v) ? (v as ArrayLike<unknown>).length : undefined;

function inferLayout(
  items: readonly Record<string, unknown>[],
  name: string,
  spec: ColumnSpec,
  issues: string[],
): Layout | undefined {
  const at = `columns.${name}`;
  const v0 = items[0]?.[name];
  const given = spec.dtype;
  if (given === 'string' || (given === undefined && typeof v0 === 'string')) {
    if (spec.shape !== undefined || spec.ragged === true) {
      issues.push(
        `\`${at}.${spec.shape !== undefined ? 'shape' : 'ragged'}\` must be left out for a string column, got ${describe(spec.shape ?? spec.ragged)}`,
      );
      return undefined;
    }
    return { dtype: 'string', kind: 'string', shape: [] };
  }
  let dtype = given as TensorDType | undefined;
  if (dtype === undefined) {
    if (items.length === 0) {
      issues.push(`\`${at}.dtype\` must be given when there are no items to infer it from, got undefined`);
      return undefined;
    }
    if (typeof v0 === 'number' || Array.isArray(v0)) dtype = 'float64';
    else if (typeof v0 === 'bigint') dtype = 'bigint64';
    else dtype = dtypeOf(v0) ?? (isTensorValue(v0) ? dtypeOf(v0.data) : undefined);
    if (dtype === undefined) {
      issues.push(
        `\`items[0].${name}\` must be a number, bigint, string, typed array (${CTOR_LIST}), nested array of numbers or { data, shape }, got ${describe(v0)}; or give \`${at}.dtype\``,
      );
      return undefined;
    }
  }
  if (spec.ragged === true) {
    if (spec.shape !== undefined) {
      issues.push(`\`${at}.shape\` must be left out for a ragged column, got ${describe(spec.shape)}`);
      return undefined;
    }
    return { dtype, kind: 'ragged', shape: [] };
  }
  if (spec.shape !== undefined) return { dtype, kind: 'fixed', shape: [...spec.shape] };
  if (items.length === 0) return { dtype, kind: 'fixed', shape: [] };
  if (isTensorValue(v0)) return { dtype, kind: 'fixed', shape: [...v0.shape] };
  const shape = ArrayBuffer.isView(v0)
    ? [(v0 as ColumnArray).length]
    : Array.isArray(v0)
      ? (nestedShape(v0) ?? [v0.length])
      : [];
  if (shape.length === 1 && spec.ragged === undefined) {
    // 1-D items of different lengths make a ragged column.
    const n = shape[0];
    if (items.some((item) => flatLength(item[name]) !== n)) return { dtype, kind: 'ragged', shape: [] };
  }
  if (shape.includes(0)) {
    issues.push(
      `\`items[0].${name}\` must not be empty (give \`${at}.ragged: true\` for variable-length items), got ${describe(v0)}`,
    );
    return undefined;
  }
  return { dtype, kind: 'fixed', shape };
}

/** Writes a nested array of `shape` from `at`; false when it is ragged or holds a value that does not fit. */
function writeNested(
  v: unknown,
  shape: readonly number[],
  depth: number,
  out: ColumnArray,
  at: number,
  check: (x: unknown, at: number) => boolean,
): number {
  if (depth === shape.length) {
    (out as Float64Array)[at] = v as number;
    return check(v, at) ? at + 1 : -1;
  }
  if (!Array.isArray(v) || v.length !== shape[depth]) return -1;
  for (const x of v) {
    at = writeNested(x, shape, depth + 1, out, at, check);
    if (at < 0) return -1;
  }
  return at;
}

/** Writes one value at `at` of `out`, returns false when it does not fit the column. */
function writeValue(v: unknown, layout: Layout, out: ColumnArray, at: number, size: number): boolean {
  const { dtype, shape } = layout;
  const element = dtype === 'bigint64' ? 'bigint' : 'number';
  const exact = dtype in INT_RANGE;
  const check = (x: unknown, k: number): boolean => typeof x === element && (!exact || out[k] === x);
  if (isTensorValue(v)) {
    if (v.shape.join() !== shape.join()) return false;
    v = v.data;
  }
  if (ArrayBuffer.isView(v)) {
    const source = v as ColumnArray;
    if (source.length !== size || (size > 0 && typeof source[0] !== element)) return false;
    if (source.constructor === out.constructor || !exact) {
      (out as Float64Array).set(source as Float64Array, at);
      return true;
    }
    for (let k = 0; k < size; k++) {
      (out as Float64Array)[at + k] = source[k] as number;
      if (!check(source[k], at + k)) return false;
    }
    return true;
  }
  // A flat array of the item's size is taken as row-major, like a flat typed array.
  const flat =
    layout.kind === 'ragged' || (Array.isArray(v) && v.length === size && typeof v[0] !== 'object');
  return writeNested(v, flat ? [size] : shape, 0, out, at, check) >= 0;
}

function expected(layout: Layout): string {
  const { dtype, kind, shape } = layout;
  const range = INT_RANGE[dtype as TensorDType];
  const element = dtype === 'bigint64' ? 'bigint' : range ? `integer in ${range}` : 'number';
  if (kind === 'ragged')
    return `a typed array or an array of ${dtype} values (each ${element.startsWith('i') ? 'an' : 'a'} ${element})`;
  if (shape.length === 0)
    return `${dtype.startsWith('i') ? 'an' : 'a'} ${dtype} value (${element.startsWith('i') ? 'an' : 'a'} ${element})`;
  return `${sizeOf(shape)} ${dtype} values of shape [${shape.join(', ')}] (a typed array, a flat or nested array, or { data, shape })`;
}

/** Stores one field of every item in shared memory; the first bad item is an issue. */
function fillColumn(
  items: readonly Record<string, unknown>[],
  name: string,
  layout: Layout,
  issues: string[],
): ColumnInfo | undefined {
  const bad = (i: number, rule: string): undefined => {
    issues.push(`\`items[${i}].${name}\` must be ${rule}, got ${describe(items[i]?.[name])}`);
    return undefined;
  };
  const n = items.length;
  if (layout.kind === 'string') {
    const strings: string[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const v = items[i]?.[name];
      if (typeof v !== 'string') return bad(i, 'a string');
      strings[i] = v;
    }
    return { dtype: 'string', kind: 'string', shape: [], ...encodeStrings(strings) };
  }
  const dtype = layout.dtype as TensorDType;
  if (layout.kind === 'ragged') {
    const offsets = sharedArray('float64', n + 1) as Float64Array;
    for (let i = 0; i < n; i++) {
      const len = flatLength(items[i]?.[name]);
      if (len === undefined) return bad(i, expected(layout));
      offsets[i + 1] = (offsets[i] as number) + len;
    }
    const data = sharedArray(dtype, offsets[n] as number);
    for (let i = 0; i < n; i++) {
      const at = offsets[i] as number;
      if (!writeValue(items[i]?.[name], layout, data, at, (offsets[i + 1] as number) - at)) {
        return bad(i, expected(layout));
      }
    }
    return { dtype, kind: 'ragged', shape: [], data, offsets };
  }
  const size = sizeOf(layout.shape);
  const data = sharedArray(dtype, n * size);
  for (let i = 0; i < n; i++) {
    if (!writeValue(items[i]?.[name], layout, data, i * size, size)) return bad(i, expected(layout));
  }
  return { dtype, kind: 'fixed', shape: layout.shape, data };
}

const SPEC_KEYS = new Set(['dtype', 'shape', 'ragged']);

function fromItems(items: unknown, specs: unknown): Record<string, ColumnInfo> {
  const issues: string[] = [];
  if (!Array.isArray(items)) issues.push(`\`items\` must be an array of objects, got ${describe(items)}`);
  if (typeof specs !== 'object' || specs === null || Array.isArray(specs)) {
    issues.push(
      `\`columns\` must be an object of column specs ({ x: { dtype, shape } }), got ${describe(specs)}`,
    );
  }
  if (issues.length > 0) fail('TensorDataset.fromItems', issues);
  const rows = items as readonly Record<string, unknown>[];
  const given = specs as Record<string, unknown>;
  const first = rows[0];
  if (
    rows.length > 0 &&
    (typeof first !== 'object' || first === null || Array.isArray(first) || ArrayBuffer.isView(first))
  ) {
    fail('TensorDataset.fromItems', [
      `\`items[0]\` must be an object of named fields ({ x, y }), got ${describe(first)}`,
    ]);
  }
  const names = rows.length > 0 ? Object.keys(first as object) : Object.keys(given);
  if (names.length === 0) issues.push('`items[0]` must have at least one field, got an empty object');
  for (const [name, spec] of Object.entries(given)) {
    const at = `columns.${name}`;
    if (!names.includes(name)) {
      issues.push(`\`${at}\` is not a field of \`items[0]\` (its fields: ${names.join(', ')})`);
    }
    if (typeof spec !== 'object' || spec === null) {
      issues.push(`\`${at}\` must be an object { dtype?, shape?, ragged? }, got ${describe(spec)}`);
      continue;
    }
    const s = spec as Record<string, unknown>;
    for (const key of Object.keys(s))
      if (!SPEC_KEYS.has(key)) issues.push(`\`${at}.${key}\` is not a known option`);
    if (s.dtype !== undefined && !(DTYPES as string[]).includes(s.dtype as string) && s.dtype !== 'string') {
      issues.push(`\`${at}.dtype\` must be one of ${DTYPE_LIST}, got ${describe(s.dtype)}`);
    }
    if (s.shape !== undefined && !isPositiveShape(s.shape))
      issues.push(`\`${at}.shape\` ${SHAPE_RULE}, got ${describe(s.shape)}`);
    if (s.ragged !== undefined && typeof s.ragged !== 'boolean') {
      issues.push(`\`${at}.ragged\` must be a boolean, got ${describe(s.ragged)}`);
    }
  }
  if (issues.length > 0) fail('TensorDataset.fromItems', issues);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    if (typeof row !== 'object' || row === null) {
      issues.push(
        `\`items[${i}]\` must be an object of named fields like \`items[0]\`, got ${describe(row)}`,
      );
      break;
    }
  }
  if (issues.length > 0) fail('TensorDataset.fromItems', issues);
  const out: Record<string, ColumnInfo> = {};
  for (const name of names) {
    const layout = inferLayout(rows, name, (given[name] ?? {}) as ColumnSpec, issues);
    const column = layout && fillColumn(rows, name, layout, issues);
    if (column !== undefined) out[name] = column;
  }
  if (issues.length > 0) fail('TensorDataset.fromItems', issues);
  return out;
}

const decoder = new TextDecoder();

type Reader = (index: number) => TensorValue;

function reader(column: ColumnInfo): Reader {
  const { data, offsets, shape } = column;
  if (column.kind === 'string') {
    const o = offsets as Float64Array;
    return (i) => decoder.decode((data as Uint8Array).subarray(o[i], o[i + 1]));
  }
  if (column.kind === 'ragged') {
    const o = offsets as Float64Array;
    return (i) => data.subarray(o[i] as number, o[i + 1] as number);
  }
  if (shape.length === 0) return (i) => data[i] as number | bigint;
  const size = sizeOf(shape);
  if (shape.length === 1) return (i) => data.subarray(i * size, (i + 1) * size);
  const frozen = Object.freeze([...shape]) as number[];
  return (i) => ({ data: data.subarray(i * size, (i + 1) * size), shape: frozen });
}

// Set only while a worker rebuilds a dataset from columns that were validated where they were made.
let trusted: Record<string, ColumnInfo> | undefined;

/**
 * A dataset of named typed columns held in `SharedArrayBuffer`s (torch's `TensorDataset`, with names).
 *
 * `get(i)` returns `{ column: value }` with views into the shared memory, never copies: a number or bigint
 * for items of shape `[]`, a typed-array view for shape `[k]` and for ragged columns, a {@link Tensor}
 * `{ data: view, shape }` for two or more dimensions, a decoded string for string columns. With
 * `numWorkers > 0` the workers receive the shared buffers themselves: nothing is copied or rebuilt, so the
 * memory is paid once whatever the number of workers, and workers start at once. `defaultCollate` stacks
 * these items exactly as it stacks the same values in an `ArrayDataset`.
 *
 * The views alias the table: writing into one changes the dataset, in every thread. Data that was already
 * in a `SharedArrayBuffer` is used in place, not copied. To build one from JavaScript items, see
 * {@link TensorDataset.fromItems}. Pass the dataset itself to a loader (or wrap it in `Subset`,
 * `ConcatDataset`, {@link randomSplit}); a `fromModule` factory that builds one would build it again in
 * every worker.
 *
 * @param columns - the columns by name, see {@link ColumnData}; all with the same number of items
 * @throws ConfigError listing every problem: unknown types, bad shapes or offsets, lengths that disagree
 * @example
 * ```ts
 * const ds = new TensorDataset({
 *   x: { data: new Float32Array(10 * 784), shape: [28, 28] },
 *   y: { data: Int32Array.from({ length: 10 }, (_, i) => i % 3) },
 *   name: { data: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'] },
 * });
 * ds.get(2); // { x: { data: Float32Array(784), shape: [28, 28] }, y: 2, name: 'c' }
 * ```
 */
export class TensorDataset<T = TensorItem> implements Dataset<T> {
  readonly #columns: Readonly<Record<string, ColumnInfo>>;
  readonly #readers: readonly (readonly [string, Reader])[];
  /** Number of items. */
  readonly length: number;

  constructor(columns: Readonly<Record<string, ColumnData>>) {
    const stored = trusted ?? fromData(columns);
    for (const c of Object.values(stored)) Object.freeze(Object.freeze(c).shape);
    this.#columns = Object.freeze(stored);
    this.#readers = Object.entries(stored).map(([name, c]) => [name, reader(c)] as const);
    const c = Object.values(stored)[0] as ColumnInfo;
    this.length = c.offsets ? c.offsets.length - 1 : c.data.length / sizeOf(c.shape);
    if (new.target === TensorDataset) shareWithWorkers(this, stored);
  }

  /**
   * Builds a dataset from an array of items in one call, copying each field into shared memory.
   *
   * Every field of `items[0]` becomes a column. Types and shapes are inferred from the items unless given:
   * numbers → `float64`, bigints → `bigint64`, strings → a string column, a typed array → its own type with
   * shape `[length]` (ragged when the lengths differ), a nested number array → `float64` of its shape,
   * `{ data, shape }` → that type and shape. Values are checked: an integer column rejects fractions and
   * values out of range.
   *
   * @param items - objects with the same fields
   * @param columns - optional `{ dtype, shape, ragged }` per field, see {@link ColumnSpec} @default {}
   * @throws ConfigError naming each column's first bad item, and any bad spec
   * @example
   * ```ts
   * const ds = TensorDataset.fromItems(rows, { x: { dtype: 'float32', shape: [784] }, y: { dtype: 'int32' } });
   * ```
   */
  static fromItems(
    items: readonly object[],
    columns: Readonly<Record<string, ColumnSpec>> = {},
  ): TensorDataset<TensorItem> {
    const stored = fromItems(items, columns);
    return rebuild(stored);
  }

  /** The columns as stored: type, layout and the shared arrays (for direct, whole-column access). */
  get columns(): Readonly<Record<string, ColumnInfo>> {
    return this.#columns;
  }

  /**
   * The item at `index`: one value per column, views into shared memory (see the class summary).
   *
   * @param index - 0 ≤ index < length
   */
  get(index: number): T {
    checkIndex(index, this.length);
    const out: Record<string, TensorValue> = {};
    for (const [name, read] of this.#readers) out[name] = read(index);
    return out as T;
  }
}

function rebuild(columns: Record<string, ColumnInfo>): TensorDataset {
  trusted = columns;
  try {
    return new TensorDataset({});
  } finally {
    trusted = undefined;
  }
}

// ---- Worker rebuild glue: the one place to change when switching to `Symbol.for('weft.toRecipe')`. -------
// A worker rebuilds the dataset by calling `tensorDatasetFromShared(columns)` from this module. `columns`
// holds the SharedArrayBuffer-backed arrays and travels as plain structured-clone data (a recipe argument
// without `ref`), so the buffers are shared with the worker, not copied.

/** Rebuilds a {@link TensorDataset} in a worker from shared columns, without copying. @internal */
export const tensorDatasetFromShared = (columns: Record<string, ColumnInfo>): TensorDataset =>
  rebuild(columns);

function shareWithWorkers(dataset: TensorDataset<unknown>, columns: Record<string, ColumnInfo>): void {
  withRecipe(dataset, {
    url: import.meta.url,
    name: 'tensorDatasetFromShared',
    args: [{ label: 'columns', value: columns }],
  });
}
