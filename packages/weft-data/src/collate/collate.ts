import { describe } from '../core/checks.ts';
import { CollateError, ConfigError } from '../core/errors.ts';
import { attachRecipe, type Recipe } from '../core/recipe.ts';
import { fail as failOptions } from '../core/validate.ts';
import type { ConcatItem } from '../datasets/basic.ts';

// The recipe of a collate of this module: a worker calls the export `name` below with `args`.
function rebuild(name: string, args: Recipe['args']): Recipe {
  return { url: import.meta.url, name, args };
}

/** A collate function (torch's `collate_fn`): a batch of items to one batch value. */
export type Collate<T = unknown, B = unknown> = (items: T[]) => B;

/** Every typed-array type {@link defaultCollate} stacks. */
export type TypedArray =
  | Float64Array
  | Float32Array
  | Int32Array
  | Uint32Array
  | Int16Array
  | Uint16Array
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | BigInt64Array
  | BigUint64Array;

/**
 * A dense row-major array with its shape: what stacking typed arrays or nested number arrays gives.
 *
 * @example
 * ```ts
 * const t: Tensor<Float32Array> = { data: new Float32Array(6), shape: [2, 3] };
 * ```
 */
export interface Tensor<A extends TypedArray = TypedArray> {
  /** The elements, row-major (last dimension fastest); its length is the product of `shape`. */
  data: A;
  /** Size of each dimension, outermost first; for a collated batch the first is the batch size. */
  shape: number[];
}

type TypedArrayConstructor = { new (length: number): TypedArray; name: string };

/**
 * An element type {@link CollateOptions.dtypes} can ask for; `bool` is a `Uint8Array` of 0s and 1s.
 *
 * @example
 * ```ts
 * const label: DType = 'int32'; // collated as an Int32Array
 * ```
 */
export type DType =
  | 'float32'
  | 'float64'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'bool';

/**
 * Options of {@link DefaultCollate.with}.
 *
 * @example
 * ```ts
 * const options: CollateOptions = { dtypes: { image: 'float32', label: 'int32' } };
 * ```
 */
export interface CollateOptions {
  /**
   * The element type of named fields, instead of the defaults (`Float64Array` for numbers, `Uint8Array` for
   * booleans, the items' own type for typed arrays and tensors). A field is named by its path in an item, a dot
   * between levels and a position for a tuple element: `label`, `image.pixels`, `1`. Applies to numbers,
   * booleans, typed arrays, tensors and nested number arrays. A value the type cannot hold (1.5 as int32, 300
   * as uint8, 1e39 as float32) is a {@link CollateError}; float32 rounds like `Math.fround`.
   * @default {}
   */
  readonly dtypes?: Readonly<Record<string, DType>>;
}

interface DTypeInfo {
  readonly name: DType;
  readonly Array: TypedArrayConstructor;
  /** Whether the type holds `v` exactly (float32: up to rounding). */
  readonly fits: (v: number) => boolean;
}

const integer = (lo: number, hi: number) => (v: number) => Number.isInteger(v) && v >= lo && v <= hi;
const DTYPES: Readonly<Record<DType, Omit<DTypeInfo, 'name'>>> = {
  float64: { Array: Float64Array, fits: () => true },
  // NaN and ±Infinity are float32 values; a finite number that rounds to Infinity is not.
  float32: { Array: Float32Array, fits: (v) => !Number.isFinite(v) || Number.isFinite(Math.fround(v)) },
  int8: { Array: Int8Array, fits: integer(-0x80, 0x7f) },
  int16: { Array: Int16Array, fits: integer(-0x8000, 0x7fff) },
  int32: { Array: Int32Array, fits: integer(-0x80000000, 0x7fffffff) },
  uint8: { Array: Uint8Array, fits: integer(0, 0xff) },
  uint16: { Array: Uint16Array, fits: integer(0, 0xffff) },
  uint32: { Array: Uint32Array, fits: integer(0, 0xffffffff) },
  bool: { Array: Uint8Array, fits: (v) => v === 0 || v === 1 },
};

/** The dtypes asked for, by field path, and which of them this batch met (the others name no field). */
interface Context {
  readonly dtypes: ReadonlyMap<string, DTypeInfo>;
  readonly used: Set<string>;
}

// Deep enough for any real item; a cyclic item reaches it quickly instead of exhausting the stack.
const MAX_DEPTH = 32;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

const isTensor = (v: unknown): v is Tensor =>
  typeof v === 'object' &&
  v !== null &&
  ArrayBuffer.isView((v as Tensor).data) &&
  !((v as Tensor).data instanceof DataView) &&
  Array.isArray((v as Tensor).shape);

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (ArrayBuffer.isView(v))
    return v instanceof DataView ? 'DataView' : (v.constructor as TypedArrayConstructor).name;
  if (isTensor(v)) return 'tensor';
  if (typeof v === 'object') {
    const proto = Object.getPrototypeOf(v);
    return proto === Object.prototype || proto === null
      ? 'object'
      : `${proto.constructor?.name ?? 'unknown'} instance`;
  }
  return typeof v;
}

const fail = (message: string) => new CollateError(`\`defaultCollate\`: ${message}`);

function tooDeep(path: string): CollateError {
  // Cut at a step boundary, so the message shows whole keys and indices.
  const cut = Math.max(path.lastIndexOf('.', 60), path.lastIndexOf('[', 60));
  const shown = path.length > 60 && cut > 0 ? `${path.slice(0, cut)}…` : path;
  return fail(`${shown} is nested more than ${MAX_DEPTH} levels deep (is the item cyclic?)`);
}

function cannotHold(path: string, value: number, dtype: DTypeInfo, field: string): CollateError {
  return fail(`${path} is ${value}, which ${dtype.name} cannot represent (\`dtypes.${field}\`)`);
}

function noDtype(field: string, kind: string): ConfigError {
  return new ConfigError(
    `\`dtypes.${field}\` names a field of ${kind} values, which have no dtype; dtypes apply to numbers, booleans, typed arrays, tensors and nested number arrays`,
  );
}

/** Dimensions of `v` if it is a rectangular nested array of numbers, every element checked; else undefined. */
function numericShape(v: unknown): number[] | undefined {
  const shape: number[] = [];
  let probe = v;
  while (Array.isArray(probe)) {
    if (probe.length === 0 || shape.length === MAX_DEPTH) return undefined;
    shape.push(probe.length);
    probe = probe[0];
  }
  // The whole item, not only its first elements: `[0, 'cat']` starts like a vector but is a tuple.
  return typeof probe === 'number' && conforms(v, shape, 0) ? shape : undefined;
}

function conforms(v: unknown, shape: readonly number[], depth: number): boolean {
  if (depth === shape.length) return typeof v === 'number';
  if (!Array.isArray(v) || v.length !== shape[depth]) return false;
  for (let i = 0; i < v.length; i++) if (!conforms(v[i], shape, depth + 1)) return false;
  return true;
}

function flattenInto(
  v: unknown,
  shape: readonly number[],
  depth: number,
  out: TypedArray,
  at: number,
  path: string,
  dtype: DTypeInfo | undefined,
  field: string,
): number {
  if (depth === shape.length) {
    if (typeof v !== 'number') throw fail(`${path} is ${kindOf(v)}, expected number`);
    if (dtype !== undefined && !dtype.fits(v)) throw cannotHold(path, v, dtype, field);
    out[at] = v;
    return at + 1;
  }
  if (!Array.isArray(v) || v.length !== shape[depth]) {
    const got = Array.isArray(v) ? `has length ${v.length}` : `is ${kindOf(v)}`;
    throw fail(`${path} ${got}, expected length ${shape[depth]} (a ragged array)`);
  }
  for (let i = 0; i < v.length; i++) {
    at = flattenInto(v[i], shape, depth + 1, out, at, `${path}[${i}]`, dtype, field);
  }
  return at;
}

function stack(
  parts: TypedArray[],
  shape: number[],
  paths: (i: number) => string,
  dtype: DTypeInfo | undefined,
  field: string,
): Tensor {
  const first = parts[0] as TypedArray;
  const Ctor = first.constructor as TypedArrayConstructor;
  for (let i = 1; i < parts.length; i++) {
    const p = parts[i] as TypedArray;
    if (p.constructor !== Ctor) {
      throw fail(
        `${paths(i)} is ${(p.constructor as TypedArrayConstructor).name}, ${paths(0)} is ${Ctor.name}`,
      );
    }
    if (p.length !== first.length) {
      throw fail(`${paths(i)} has length ${p.length}, ${paths(0)} has ${first.length}`);
    }
  }
  const Out = dtype?.Array ?? Ctor;
  const out = new Out(first.length * parts.length);
  if (Out === Ctor && dtype?.name !== 'bool') {
    for (let i = 0; i < parts.length; i++)
      (out as Float64Array).set(parts[i] as Float64Array, i * first.length);
  } else {
    if (first instanceof BigInt64Array || first instanceof BigUint64Array) throw noDtype(field, Ctor.name);
    const fits = (dtype as DTypeInfo).fits;
    let k = 0;
    parts.forEach((p, i) => {
      for (let j = 0; j < p.length; j++) {
        const v = p[j] as number;
        if (!fits(v)) throw cannotHold(`${paths(i)}[${j}]`, v, dtype as DTypeInfo, field);
        out[k++] = v;
      }
    });
  }
  return { data: out, shape: [parts.length, ...shape] };
}

function checkTensors(tensors: Tensor[], at: (i: number) => string): number[] {
  const shape = (tensors[0] as Tensor).shape;
  let size = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw fail(`${at(0)} has shape [${shape}], which is not a list of non-negative integers`);
    }
    size *= d;
  }
  tensors.forEach((t, i) => {
    if (t.shape.length !== shape.length || t.shape.some((d, k) => d !== shape[k])) {
      throw fail(`${at(i)} has shape [${t.shape}], ${at(0)} has [${shape}]`);
    }
    if (t.data.length !== size) {
      throw fail(
        `${at(i)} has ${t.data.length} elements in \`data\`, but its shape [${shape}] needs ${size}`,
      );
    }
  });
  return shape;
}

/** Whether `o` has exactly `keys` as its own enumerable keys, in that order, without allocating. */
function sameKeys(o: object, keys: readonly string[]): boolean {
  let n = 0;
  // Only plain objects get here, so for-in sees own keys in Object.keys order (plus inherited enumerable
  // ones only if Object.prototype was polluted, which fails this test and falls back to the exact check).
  for (const k in o) {
    if (k !== keys[n]) return false;
    n++;
  }
  return n === keys.length;
}

function checkKeys(objects: object[], i: number, at: (i: number) => string): void {
  const theirs = Object.keys(objects[0] as object)
    .sort()
    .join(', ');
  const mine = Object.keys(objects[i] as object)
    .sort()
    .join(', ');
  // The same keys in another order collate the same (fields are read by name).
  if (mine !== theirs) throw fail(`${at(i)} has keys [${mine}], ${at(0)} has [${theirs}]`);
}

function collate(
  items: unknown[],
  path: string,
  field: string,
  depth: number,
  ctx: Context | undefined,
): unknown {
  const at = (i: number) => `items[${i}]${path}`;
  const kind = kindOf(items[0]);
  for (let i = 1; i < items.length; i++) {
    const k = kindOf(items[i]);
    if (k !== kind) throw fail(`${at(i)} is ${k}, ${at(0)} is ${kind}`);
  }
  const dtype = ctx?.dtypes.get(field);
  if (dtype !== undefined) ctx?.used.add(field);
  switch (kind) {
    case 'number': {
      if (dtype === undefined) return Float64Array.from(items as number[]);
      const out = new dtype.Array(items.length);
      for (let i = 0; i < items.length; i++) {
        const v = items[i] as number;
        if (!dtype.fits(v)) throw cannotHold(at(i), v, dtype, field);
        out[i] = v;
      }
      return out;
    }
    case 'boolean': {
      const out = new (dtype?.Array ?? Uint8Array)(items.length);
      for (let i = 0; i < items.length; i++) out[i] = items[i] ? 1 : 0;
      return out;
    }
    case 'bigint': {
      if (dtype !== undefined) throw noDtype(field, kind);
      (items as bigint[]).forEach((v, i) => {
        if (v < INT64_MIN || v > INT64_MAX) {
          throw fail(`${at(i)} is ${v}n, outside the range of a BigInt64Array [-2^63, 2^63 - 1]`);
        }
      });
      return BigInt64Array.from(items as bigint[]);
    }
    case 'string':
      if (dtype !== undefined) throw noDtype(field, kind);
      return [...(items as string[])];
    case 'tensor': {
      const tensors = items as Tensor[];
      const shape = checkTensors(tensors, at);
      return stack(
        tensors.map((t) => t.data),
        shape,
        (i) => `${at(i)}.data`,
        dtype,
        field,
      );
    }
    case 'array': {
      const shape = numericShape(items[0]);
      if (shape !== undefined) {
        const size = shape.reduce((a, b) => a * b, 1);
        const out = new (dtype?.Array ?? Float64Array)(size * items.length);
        items.forEach((v, i) => {
          flattenInto(v, shape, 0, out, i * size, at(i), dtype, field);
        });
        return { data: out, shape: [items.length, ...shape] } satisfies Tensor;
      }
      if (dtype !== undefined) throw noDtype(field, 'tuple');
      if (depth === MAX_DEPTH) throw tooDeep(at(0));
      const arrays = items as unknown[][];
      const n = (arrays[0] as unknown[]).length;
      arrays.forEach((a, i) => {
        if (a.length !== n) throw fail(`${at(i)} has length ${a.length}, ${at(0)} has ${n}`);
      });
      return Array.from({ length: n }, (_, j) =>
        collate(
          arrays.map((a) => a[j]),
          `${path}[${j}]`,
          field === '' ? String(j) : `${field}.${j}`,
          depth + 1,
          ctx,
        ),
      );
    }
    case 'object': {
      if (dtype !== undefined) throw noDtype(field, kind);
      if (depth === MAX_DEPTH) throw tooDeep(at(0));
      const objects = items as Record<string, unknown>[];
      const keys = Object.keys(objects[0] as object);
      for (let i = 1; i < objects.length; i++) {
        if (!sameKeys(objects[i] as object, keys)) checkKeys(objects, i, at);
      }
      return Object.fromEntries(
        keys.map((k) => [
          k,
          collate(
            objects.map((o) => o[k]),
            `${path}.${k}`,
            field === '' ? k : `${field}.${k}`,
            depth + 1,
            ctx,
          ),
        ]),
      );
    }
    default:
      if (kind.endsWith('Array')) {
        return stack(items as TypedArray[], [(items[0] as TypedArray).length], at, dtype, field);
      }
      throw fail(`cannot collate ${at(0)}: ${kind}`);
  }
}

function collateBatch(items: unknown[], ctx: Context | undefined): unknown {
  if (!Array.isArray(items) || items.length === 0) throw fail('cannot collate an empty batch');
  const out = collate(items, '', '', 0, ctx);
  if (ctx !== undefined && ctx.used.size !== ctx.dtypes.size) {
    const missing = [...ctx.dtypes.keys()].filter((f) => !ctx.used.has(f));
    failOptions(
      'collate options',
      missing.map((f) => `\`dtypes.${f}\` names no field of the items`),
    );
  }
  return out;
}

function checkOptions(options: CollateOptions): Map<string, DTypeInfo> {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError(`collate options must be an object, got ${describe(options)}`);
  }
  const issues = Object.keys(options)
    .filter((k) => k !== 'dtypes')
    .map((k) => `\`${k}\` is not a known option`);
  const dtypes = new Map<string, DTypeInfo>();
  const given: unknown = options.dtypes ?? {};
  if (typeof given !== 'object' || given === null || Array.isArray(given)) {
    issues.push(`\`dtypes\` must be an object of field → dtype, got ${describe(given)}`);
  } else {
    for (const [field, name] of Object.entries(given)) {
      if (field === '' || field.startsWith('.') || field.endsWith('.') || field.includes('..')) {
        issues.push(
          `\`dtypes\` has the field ${JSON.stringify(field)}, which is not a path like \`a\` or \`a.b\``,
        );
      } else if (typeof name !== 'string' || !Object.hasOwn(DTYPES, name)) {
        issues.push(
          `\`dtypes.${field}\` must be one of ${Object.keys(DTYPES).join(', ')}, got ${describe(name)}`,
        );
      } else {
        dtypes.set(field, { name: name as DType, ...DTYPES[name as DType] });
      }
    }
  }
  if (issues.length > 0) failOptions('collate options', issues);
  return dtypes;
}

/**
 * {@link defaultCollate}'s type: the collate function itself, and {@link DefaultCollate.with} to make one
 * with options.
 *
 * @example
 * ```ts
 * const collate: DefaultCollate = defaultCollate;
 * ```
 */
export interface DefaultCollate {
  /**
   * Collates a batch of items (see {@link defaultCollate}).
   *
   * @param items - the batch; must not be empty
   */
  <T>(items: T[]): unknown;
  /**
   * A collate like this one with options: per-field element types, so that labels arrive as an
   * `Int32Array` and images as a `Float32Array` without a cast. Options are checked here (an unknown dtype is
   * a {@link ConfigError}); a dtype naming no field of the items is a `ConfigError` at the first batch. The
   * result can be used with workers: they rebuild it from its options.
   *
   * @param options - see {@link CollateOptions}
   * @example
   * ```ts
   * const collate = defaultCollate.with({ dtypes: { x: 'float32', y: 'int32' } });
   * collate([{ x: [0.5, 1], y: 3 }, { x: [2, 0], y: 7 }]);
   * // { x: { data: Float32Array [0.5, 1, 2, 0], shape: [2, 2] }, y: Int32Array [3, 7] }
   * ```
   */
  with<T = unknown>(options: CollateOptions): Collate<T, unknown>;
}

const collateWith = <T>(options: CollateOptions): Collate<T, unknown> => {
  const dtypes = checkOptions(options);
  const fn: Collate<T, unknown> = (items) => collateBatch(items, { dtypes, used: new Set() });
  const plain = { dtypes: Object.fromEntries([...dtypes].map(([f, d]) => [f, d.name])) };
  attachRecipe(fn, rebuild('collateWithOptions', [{ label: 'options', value: plain }]));
  return fn;
};

/**
 * Collates a batch of items in the spirit of torch's `default_collate`.
 *
 * Numbers become a `Float64Array`, booleans a `Uint8Array`, bigints a `BigInt64Array` (one out of its range
 * is an error, not wrapped); typed arrays of one type and length, tensors of one shape, and rectangular nested
 * number arrays are stacked into a {@link Tensor} with a leading batch dimension; objects are collated key by
 * key and other arrays (tuples such as `[0, 'cat']`) position by position; strings stay a `string[]`. Anything
 * that does not line up, a tensor whose `data` does not fit its shape, or an item nested more than 32 levels
 * deep (a cycle) is a {@link CollateError} naming the path in the item and what differed.
 * `defaultCollate.with({ dtypes })` gives other element types per field (see {@link DefaultCollate.with}).
 *
 * @param items - the batch; must not be empty
 * @example
 * ```ts
 * defaultCollate([{ x: new Float32Array([1, 2]), y: 0 }, { x: new Float32Array([3, 4]), y: 1 }]);
 * // { x: { data: Float32Array [1, 2, 3, 4], shape: [2, 2] }, y: Float64Array [0, 1] }
 * ```
 */
export const defaultCollate: DefaultCollate = Object.assign(
  function defaultCollate<T>(items: T[]): unknown {
    return collateBatch(items, undefined);
  },
  { with: collateWith },
);
attachRecipe(defaultCollate, rebuild('builtinCollate', []));

/**
 * A collate for concatenated datasets: a batch of {@link ConcatItem}s goes to its own dataset's collate.
 *
 * @param collates - one collate per dataset, `undefined` for {@link defaultCollate}
 * @example
 * ```ts
 * const collate = routeCollate([undefined, (items) => items.length]);
 * collate([{ dataset: 1, index: 0, item: 'x' }]); // 1
 * ```
 */
export function routeCollate(collates: readonly (Collate | undefined)[]): Collate<ConcatItem<unknown>> {
  const fns = collates.map((c) => c ?? defaultCollate);
  const route: Collate<ConcatItem<unknown>> = (batch) => {
    const first = batch[0];
    if (first === undefined) throw new CollateError('cannot collate an empty batch');
    const items = batch.map((b, i) => {
      if (b.dataset !== first.dataset) {
        throw new CollateError(
          `a batch mixes datasets: item 0 is from dataset ${first.dataset}, item ${i} from dataset ${b.dataset}`,
        );
      }
      return b.item;
    });
    const fn = fns[first.dataset];
    if (fn === undefined) throw new CollateError(`no collate for dataset ${first.dataset}`);
    return fn(items);
  };
  attachRecipe(route, rebuild('routedCollate', [{ label: 'collates', value: fns, ref: true }]));
  return route;
}

// What a worker calls to rebuild the collates of this module (their recipes name this module and these exports).
/** Gives {@link defaultCollate} in a worker (a factory, since a function export would be called as one). @internal */
export const builtinCollate = (): Collate => defaultCollate;
/** Rebuilds `defaultCollate.with(options)` in a worker. @internal */
export const collateWithOptions = (options: CollateOptions): Collate => defaultCollate.with(options);
/** Rebuilds a {@link routeCollate} from its per-dataset collates in a worker. @internal */
export const routedCollate = (collates: Collate[]): Collate => routeCollate(collates) as Collate;
