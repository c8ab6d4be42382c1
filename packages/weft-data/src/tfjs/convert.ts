// A collated batch to `tf.Tensor`s: the walk over its structure, and the dtype rules that decide what each
// typed array becomes (checking that its values fit, since TensorFlow.js would silently wrap them).

import { isPooled } from '../collate/in-place.ts';
import { describe } from '../core/checks.ts';
import type { TypedArray, Tensor as WeftTensor } from '../core/dtype.ts';
import { ConfigError, WeftError } from '../core/errors.ts';
import {
  checkTf,
  type ResolvedOptions,
  resolveOptions,
  type TfDType,
  type ToTensorsOptions,
} from './options.ts';
import type { Tensors, TfCore, TfTensor } from './types.ts';

/**
 * A batch field that cannot become a tensor: a value with no tensor form (a `Map`, a `DataView`, a
 * function), a `{ data, shape }` whose shape does not fit its data, or a value that does not fit the
 * dtype asked for (0.5 as int32). The message names the field and the value.
 *
 * @param message - names the field and the value
 * @param field - the field's path (keys joined with `.`; `''` for the batch itself)
 * @example
 * ```ts
 * // TensorConversionError: field `label` has 0.5 at [3], not an int32 (an integer in [-2147483648, 2147483647])
 * toTensors(tf, { label: Float64Array.of(0, 1, 2, 0.5) }, { float64: 'int32' });
 * ```
 */
export class TensorConversionError extends WeftError {
  /** Always `'TensorConversionError'`: stable across versions and bundlers, so safe to compare against. */
  override name = 'TensorConversionError';
  constructor(
    message: string,
    /** Path of the field that could not be converted. */
    readonly field: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

type Converted = Float32Array | Int32Array | Uint8Array;

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

const fieldName = (path: string): string => (path === '' ? 'the batch' : `field \`${path}\``);
const join = (path: string, key: string | number): string => (path === '' ? `${key}` : `${path}.${key}`);
const typeName = (a: ArrayBufferView): string => (a.constructor as { name: string }).name;

/**
 * Whether `v` is a plain object (`{}` or `Object.create(null)`): the objects whose fields a batch walk
 * enters, unlike class instances, which have no tensor form.
 *
 * @param v - any object
 * @example
 * ```ts
 * isPlainObject({ x: 1 }); // true; isPlainObject(new Map()) is false
 * ```
 */
export function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function isWeftTensor(v: object): v is WeftTensor {
  const { data, shape } = v as Partial<WeftTensor>;
  return ArrayBuffer.isView(data) && !(data instanceof DataView) && Array.isArray(shape);
}

/** The dtype a typed array gets when `dtypes` does not name it. */
function defaultDtype(a: TypedArray, o: ResolvedOptions): TfDType {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return o.float64;
  if (a instanceof Uint8Array || a instanceof Uint8ClampedArray) return o.uint8;
  return 'int32';
}

/** `a`'s values as the storage TensorFlow.js uses for `dtype`, checked to fit; `a` itself when it does. */
function toStorage(a: TypedArray, dtype: TfDType, path: string): Converted {
  const values = a as unknown as ArrayLike<number | bigint>;
  if (dtype === 'float32') {
    if (a instanceof Float32Array) return a;
    if (a instanceof BigInt64Array || a instanceof BigUint64Array) return Float32Array.from(a, Number);
    return new Float32Array(values as ArrayLike<number>);
  }
  if (dtype === 'bool') {
    const out = new Uint8Array(values.length);
    for (let i = 0; i < values.length; i++) out[i] = Number(values[i]) !== 0 ? 1 : 0;
    return out;
  }
  if (a instanceof Int32Array) return a;
  if (
    a instanceof Int16Array ||
    a instanceof Int8Array ||
    a instanceof Uint16Array ||
    a instanceof Uint8Array ||
    a instanceof Uint8ClampedArray
  ) {
    return new Int32Array(a);
  }
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = Number(values[i]);
    if (!Number.isInteger(v) || v < INT32_MIN || v > INT32_MAX) {
      const shown = typeof values[i] === 'bigint' ? `${values[i]}n` : describe(values[i]);
      throw new TensorConversionError(
        `${fieldName(path)} (${typeName(a)}) has ${shown} at [${i}], not an int32 ` +
          `(an integer in [${INT32_MIN}, ${INT32_MAX}])`,
        path,
      );
    }
    out[i] = v;
  }
  return out;
}

function checkShape(shape: unknown[], length: number, path: string): number[] {
  const ok = shape.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0);
  const size = ok ? (shape as number[]).reduce((a, b) => a * b, 1) : Number.NaN;
  if (size !== length) {
    const shown = shape.map((d) => (typeof d === 'number' ? String(d) : describe(d))).join(', ');
    throw new TensorConversionError(
      `${fieldName(path)} has shape [${shown}], which does not fit its data of length ${length}`,
      path,
    );
  }
  return shape as number[];
}

/** Converts one batch; every tensor made is pushed to `made` (for disposal if a later field fails). */
function convert(
  tf: TfCore,
  value: unknown,
  path: string,
  o: ResolvedOptions,
  made: TfTensor[],
  used: Set<string>,
  pooled: boolean,
): unknown {
  if (typeof value === 'function' || typeof value === 'symbol') {
    throw new TensorConversionError(
      `${fieldName(path)} is ${describe(value)}, which has no tensor form`,
      path,
    );
  }
  if (typeof value !== 'object' || value === null) return value;
  if (value instanceof tf.Tensor) return value;
  const asked = o.dtypes.get(path);
  if (ArrayBuffer.isView(value) || isWeftTensor(value)) {
    const data = (ArrayBuffer.isView(value) ? value : value.data) as TypedArray | DataView;
    if (data instanceof DataView) {
      throw new TensorConversionError(`${fieldName(path)} is a DataView, which has no tensor form`, path);
    }
    const shape = ArrayBuffer.isView(value) ? [data.length] : checkShape(value.shape, data.length, path);
    if (asked !== undefined) used.add(path);
    const dtype = asked ?? defaultDtype(data, o);
    const storage = toStorage(data, dtype, path);
    // A backend may keep the array it is given (the CPU one does): memory the loader takes back is copied.
    const tensor = tf.tensor(pooled && storage === data ? storage.slice() : storage, shape, dtype);
    made.push(tensor);
    return tensor;
  }
  if (asked !== undefined) {
    throw new TensorConversionError(
      `\`dtypes\` gives ${fieldName(path)} the dtype ${asked}, but it is ${describe(value)}, not a typed array or { data, shape }`,
      path,
    );
  }
  if (Array.isArray(value)) return value.map((v, i) => convert(tf, v, join(path, i), o, made, used, pooled));
  if (isPlainObject(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, convert(tf, v, join(path, k), o, made, used, pooled)]),
    );
  }
  throw new TensorConversionError(`${fieldName(path)} is ${describe(value)}, which has no tensor form`, path);
}

/**
 * Converts one batch by `o`'s rules. If a field fails, the tensors already made are disposed; a `dtypes`
 * path that names no array of the batch is a {@link ConfigError}.
 *
 * @param tf - a checked TensorFlow.js namespace
 * @param batch - a collated batch
 * @param o - resolved dtype rules
 * @example
 * ```ts
 * const tensors = convertBatch(tf, batch, DEFAULT_OPTIONS);
 * ```
 */
export function convertBatch(tf: TfCore, batch: unknown, o: ResolvedOptions): unknown {
  const made: TfTensor[] = [];
  const used = new Set<string>();
  try {
    const out = convert(tf, batch, '', o, made, used, isPooled(batch));
    const unused = [...o.dtypes.keys()].filter((p) => !used.has(p));
    if (unused.length > 0) {
      throw new ConfigError(
        `\`dtypes\` names ${unused.map((p) => `\`${p}\``).join(', ')}, which the batch does not have ` +
          `(its arrays: ${arrayPaths(batch).join(', ') || 'none'})`,
      );
    }
    return out;
  } catch (e) {
    for (const t of made) t.dispose();
    throw e;
  }
}

/** Paths of the typed arrays and `{ data, shape }` of a batch, for messages. */
function arrayPaths(value: unknown, path = ''): string[] {
  if (typeof value !== 'object' || value === null) return [];
  if (ArrayBuffer.isView(value) || isWeftTensor(value)) return [path === '' ? "''" : `\`${path}\``];
  if (Array.isArray(value)) return value.flatMap((v, i) => arrayPaths(v, join(path, i)));
  if (!isPlainObject(value)) return [];
  return Object.entries(value).flatMap(([k, v]) => arrayPaths(v, join(path, k)));
}

/**
 * Converts a batch to `tf.Tensor`s: typed arrays and `{ data, shape }` tensors become tensors of their
 * shape (a bare typed array is 1-D), with the structure of objects and arrays kept.
 *
 * dtypes: `Float32Array` → float32; `Int32Array`, `Int16Array`, `Int8Array`, `Uint16Array` → int32;
 * `Uint32Array`, `BigInt64Array`, `BigUint64Array` → int32 when every value fits; `Uint8Array`,
 * `Uint8ClampedArray` → `options.uint8`; `Float64Array` → `options.float64`; `options.dtypes` overrides
 * any field. Tensors already in the batch are kept as they are; numbers, strings, booleans, bigints,
 * `null` and `undefined` too (wrap a value in a typed array to get a tensor). Anything else (a `Map`, a
 * class instance, a `DataView`, a function) is a {@link TensorConversionError} naming the field.
 *
 * The caller owns the tensors: dispose them with {@link disposeTensors} or `tf.dispose`, convert inside
 * `tf.tidy`, or use {@link withTensors}. If a field fails, the tensors already made are disposed.
 *
 * @param tf - the TensorFlow.js namespace (see {@link TfCore})
 * @param batch - a collated batch
 * @param options - dtype rules; see {@link ToTensorsOptions}
 * @returns the batch with tensors in place of its arrays
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * for await (const batch of loader) {
 *   tf.tidy(() => {
 *     const { x, y } = toTensors(tf, batch, { float64: 'int32' }); // y: int32 labels
 *     optimizer.minimize(() => tf.losses.softmaxCrossEntropy(tf.oneHot(y, 10), model.apply(x)));
 *   });
 * }
 * ```
 */
export function toTensors<B>(tf: TfCore, batch: B, options?: ToTensorsOptions): Tensors<B> {
  const t = checkTf<TfCore>(tf, 'toTensors', false);
  return convertBatch(t, batch, resolveOptions(options, 'toTensors')) as Tensors<B>;
}
