// Building a TensorDataset's columns from JavaScript items (`TensorDataset.fromItems`): each field's type and
// shape, given or inferred from the items, then every value checked and copied into shared memory.
import { describe, fail } from '../../core/checks.ts';
import { type DType, INTEGER_RANGES, type Tensor } from '../../core/dtype.ts';
import { unknownOption } from '../../core/suggest.ts';
import {
  type ColumnArray,
  type ColumnInfo,
  CTOR_LIST,
  dtypeOf,
  encodeStrings,
  isPositiveShape,
  NUMERIC_DTYPES,
  type NumericDType,
  SHAPE_RULE,
  sharedArray,
  sizeOf,
  WELL_FORMED,
  wellFormed,
} from './columns.ts';

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
  readonly dtype?: Exclude<DType, 'bool'> | 'string';
  /** Shape of one item, `[]` for a scalar. @default inferred from the first item */
  readonly shape?: readonly number[];
  /** Items are 1-D arrays of different lengths (offsets + shared values). @default inferred */
  readonly ragged?: boolean;
}

const COLUMN_DTYPES: readonly string[] = [...NUMERIC_DTYPES, 'string'];

/** `[lo, hi]` of an integer column type, as messages write it; undefined for the others. */
function rangeText(dtype: string): string | undefined {
  if (!Object.hasOwn(INTEGER_RANGES, dtype)) return undefined;
  const [lo, hi] = INTEGER_RANGES[dtype as keyof typeof INTEGER_RANGES];
  return `[${lo}, ${hi}]`;
}

/** How a field of the items will be stored, from its spec and the first item. */
interface Layout {
  dtype: ColumnInfo['dtype'];
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
  let dtype = given as NumericDType | undefined;
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
  const exact = Object.hasOwn(INTEGER_RANGES, dtype);
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
  const range = rangeText(dtype);
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
      if (!wellFormed(v)) return bad(i, WELL_FORMED);
      strings[i] = v;
    }
    return { dtype: 'string', kind: 'string', shape: [], ...encodeStrings(strings) };
  }
  const dtype = layout.dtype as NumericDType;
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

/**
 * Validates the items and their specs and stores every field as a column; throws with every problem.
 *
 * @param items - as given to `TensorDataset.fromItems`
 * @param specs - the column specs given with them
 * @example
 * ```ts
 * columnsFromItems([{ y: 1 }, { y: 2 }], { y: { dtype: 'int32' } }); // { y: { dtype: 'int32', … } }
 * ```
 */
export function columnsFromItems(items: unknown, specs: unknown): Record<string, ColumnInfo> {
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
      if (!SPEC_KEYS.has(key)) issues.push(unknownOption(`${at}.${key}`, SPEC_KEYS));
    if (s.dtype !== undefined && !COLUMN_DTYPES.includes(s.dtype as string)) {
      issues.push(`\`${at}.dtype\` must be one of ${COLUMN_DTYPES.join(', ')}, got ${describe(s.dtype)}`);
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
