/**
 * TensorFlow.js adapter (`weft-data/tfjs`): batches as `tf.Tensor`s, and loaders as `tf.data.Dataset`s for
 * `model.fitDataset`. TensorFlow.js is an optional peer dependency: this module never imports it, the
 * caller passes its own `tf` namespace (from `@tensorflow/tfjs`, `@tensorflow/tfjs-node` or
 * `@tensorflow/tfjs-core`), so the tensors are made by the very engine and backend the model uses.
 */
import type * as tfc from '@tensorflow/tfjs-core';
import type * as tfd from '@tensorflow/tfjs-data';
import type { TypedArray, Tensor as WeftTensor } from './collate/collate.ts';
import { describe } from './core/checks.ts';
import { ConfigError, WeftError } from './core/errors.ts';
import type { DataLoader } from './engine/data-loader.ts';
import type { CallbackIndexBatch, TrainIndexBatch } from './interleaved/batches.ts';
import type { InterleavedLoader } from './interleaved/loader.ts';

/**
 * The part of TensorFlow.js that {@link toTensors} and {@link withTensors} use. The namespace of
 * `@tensorflow/tfjs`, `@tensorflow/tfjs-node` or `@tensorflow/tfjs-core` (with a backend registered) fits.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * const t: TfCore = tf;
 * ```
 */
export interface TfCore {
  /** `tf.tensor`. */
  tensor: typeof tfc.tensor;
  /** `tf.tidy`. */
  tidy: typeof tfc.tidy;
  /** `tf.Tensor`, to recognise tensors already in a batch. */
  Tensor: typeof tfc.Tensor;
}

/**
 * {@link TfCore} plus `tf.data.generator`, for {@link loaderDataset} and {@link interleavedDataset}: the
 * namespace of `@tensorflow/tfjs` or `@tensorflow/tfjs-node`, or `{ ...tfCore, data: tfData }`.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * const t: TfWithData = tf;
 * ```
 */
export interface TfWithData extends TfCore {
  /** `tf.data`, of which `generator` is used. */
  data: {
    /** `tf.data.generator`: turns the loader's batches into a `tf.data.Dataset`. */
    generator: typeof tfd.generator;
  };
}

/**
 * The dtypes a batch's typed arrays can become (TensorFlow.js has no float64, int64 or uint8).
 *
 * @example
 * ```ts
 * const dtypes: Record<string, TfDtype> = { label: 'int32', mask: 'bool' };
 * ```
 */
export type TfDtype = 'float32' | 'int32' | 'bool';

/**
 * How {@link toTensors} picks dtypes. Typed arrays keep their own dtype where TensorFlow.js has it
 * (`Float32Array` → float32, `Int32Array` → int32, other integer arrays → int32); these options decide
 * the rest, and `dtypes` overrides any field.
 *
 * @example
 * ```ts
 * const options: ToTensorsOptions = { float64: 'int32', uint8: 'bool', dtypes: { 'inputs.image': 'float32' } };
 * ```
 */
export interface ToTensorsOptions {
  /**
   * dtype of `Float64Array`s (what `defaultCollate` makes of numbers). `'int32'` requires every value to be
   * an integer in int32 range (a {@link TensorConversionError} names the first one that is not).
   * @default 'float32'
   */
  float64?: 'float32' | 'int32';
  /**
   * dtype of `Uint8Array`s and `Uint8ClampedArray`s (what `defaultCollate` makes of booleans; pixels).
   * `'bool'` makes every non-zero value `true`.
   * @default 'int32'
   */
  uint8?: 'int32' | 'bool';
  /**
   * dtype of single fields by path, overriding the rules: keys joined with `.` (`'label'`,
   * `'inputs.image'`, `'pair.0'` for a tuple's first element, `''` for a batch that is one array). Every
   * path must name a typed array or `{ data, shape }` of the batch.
   * @default {}
   */
  dtypes?: Readonly<Record<string, TfDtype>>;
}

/**
 * The type of a batch once converted by {@link toTensors}: typed arrays and `{ data, shape }` tensors
 * become `tf.Tensor`s, objects and arrays keep their structure, other values stay as they are.
 *
 * @example
 * ```ts
 * type T = Tensors<{ x: { data: Float32Array; shape: number[] }; y: Float64Array; id: string[] }>;
 * // { x: tf.Tensor; y: tf.Tensor; id: string[] }
 * ```
 */
export type Tensors<B> = B extends tfc.Tensor
  ? B
  : B extends ArrayBufferView
    ? tfc.Tensor
    : B extends WeftTensor
      ? tfc.Tensor
      : B extends readonly unknown[]
        ? { -readonly [K in keyof B]: Tensors<B[K]> }
        : B extends (...args: never[]) => unknown
          ? never
          : B extends object
            ? { [K in keyof B]: Tensors<B[K]> }
            : B;

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
  /** Path of the field that could not be converted. */
  readonly field: string;
  constructor(message: string, field: string, options?: ErrorOptions) {
    super(message, options);
    this.field = field;
  }
}

type AnyTypedArray = TypedArray;
type Converted = Float32Array | Int32Array | Uint8Array;

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const OPTION_KEYS = new Set(['float64', 'uint8', 'dtypes']);
const DTYPES: readonly string[] = ['float32', 'int32', 'bool'];

const fieldName = (path: string): string => (path === '' ? 'the batch' : `field \`${path}\``);
const join = (path: string, key: string | number): string => (path === '' ? `${key}` : `${path}.${key}`);
const typeName = (a: ArrayBufferView): string => (a.constructor as { name: string }).name;

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function isWeftTensor(v: object): v is WeftTensor {
  const { data, shape } = v as Partial<WeftTensor>;
  return ArrayBuffer.isView(data) && !(data instanceof DataView) && Array.isArray(shape);
}

/** Checks `tf` and returns it; `what` names the function for the message. */
function checkTf<T extends TfCore>(tf: unknown, what: string, needData: boolean): T {
  const t = tf as Partial<TfWithData> | null | undefined;
  const core =
    (typeof t === 'object' || typeof t === 'function') &&
    t !== null &&
    typeof t.tensor === 'function' &&
    typeof t.tidy === 'function' &&
    typeof t.Tensor === 'function';
  if (!core) {
    throw new ConfigError(
      `\`${what}\`: \`tf\` must be the TensorFlow.js namespace (\`import * as tf from '@tensorflow/tfjs'\`; ` +
        `install @tensorflow/tfjs, or @tensorflow/tfjs-core with a backend), got ${describe(tf)}`,
    );
  }
  if (needData && typeof t.data?.generator !== 'function') {
    throw new ConfigError(
      `\`${what}\`: \`tf.data.generator\` is missing: pass the namespace of @tensorflow/tfjs or ` +
        "@tensorflow/tfjs-node, or `{ ...tf, data }` with `import * as data from '@tensorflow/tfjs-data'`",
    );
  }
  return tf as T;
}

interface Resolved {
  float64: 'float32' | 'int32';
  uint8: 'int32' | 'bool';
  dtypes: ReadonlyMap<string, TfDtype>;
}

function resolveOptions(options: unknown, what: string, extra: readonly string[] = []): Resolved {
  if (options === undefined) return { float64: 'float32', uint8: 'int32', dtypes: new Map() };
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError(`\`${what}\` options must be an object, got ${describe(options)}`);
  }
  const o = options as Record<string, unknown>;
  const issues = Object.keys(o)
    .filter((k) => !OPTION_KEYS.has(k) && !extra.includes(k))
    .map((k) => `\`${k}\` is not a known option`);
  const { float64 = 'float32', uint8 = 'int32', dtypes = {} } = o;
  if (float64 !== 'float32' && float64 !== 'int32') {
    issues.push(`\`float64\` must be 'float32' or 'int32', got ${describe(float64)}`);
  }
  if (uint8 !== 'int32' && uint8 !== 'bool') {
    issues.push(`\`uint8\` must be 'int32' or 'bool', got ${describe(uint8)}`);
  }
  const map = new Map<string, TfDtype>();
  if (typeof dtypes !== 'object' || dtypes === null || Array.isArray(dtypes)) {
    issues.push(`\`dtypes\` must be an object of field paths to dtypes, got ${describe(dtypes)}`);
  } else {
    for (const [path, dtype] of Object.entries(dtypes)) {
      if (DTYPES.includes(dtype as string)) map.set(path, dtype as TfDtype);
      else
        issues.push(
          `\`dtypes[${JSON.stringify(path)}]\` must be 'float32', 'int32' or 'bool', got ${describe(dtype)}`,
        );
    }
  }
  if (issues.length > 0) throw new ConfigError(`invalid \`${what}\` options: ${issues.join('; ')}`, issues);
  return { float64: float64 as Resolved['float64'], uint8: uint8 as Resolved['uint8'], dtypes: map };
}

/** The dtype a typed array gets when `dtypes` does not name it. */
function defaultDtype(a: AnyTypedArray, o: Resolved): TfDtype {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return o.float64;
  if (a instanceof Uint8Array || a instanceof Uint8ClampedArray) return o.uint8;
  return 'int32';
}

/** `a`'s values as the storage TensorFlow.js uses for `dtype`, checked to fit; `a` itself when it does. */
function toStorage(a: AnyTypedArray, dtype: TfDtype, path: string): Converted {
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
  o: Resolved,
  made: tfc.Tensor[],
  used: Set<string>,
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
    const data = (ArrayBuffer.isView(value) ? value : value.data) as AnyTypedArray | DataView;
    if (data instanceof DataView) {
      throw new TensorConversionError(`${fieldName(path)} is a DataView, which has no tensor form`, path);
    }
    const shape = ArrayBuffer.isView(value) ? [data.length] : checkShape(value.shape, data.length, path);
    if (asked !== undefined) used.add(path);
    const dtype = asked ?? defaultDtype(data, o);
    const tensor = tf.tensor(toStorage(data, dtype, path), shape, dtype);
    made.push(tensor);
    return tensor;
  }
  if (asked !== undefined) {
    throw new TensorConversionError(
      `\`dtypes\` gives ${fieldName(path)} the dtype ${asked}, but it is ${describe(value)}, not a typed array or { data, shape }`,
      path,
    );
  }
  if (Array.isArray(value)) return value.map((v, i) => convert(tf, v, join(path, i), o, made, used));
  if (isPlainObject(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, convert(tf, v, join(path, k), o, made, used)]),
    );
  }
  throw new TensorConversionError(`${fieldName(path)} is ${describe(value)}, which has no tensor form`, path);
}

function convertBatch(tf: TfCore, batch: unknown, o: Resolved): unknown {
  const made: tfc.Tensor[] = [];
  const used = new Set<string>();
  try {
    const out = convert(tf, batch, '', o, made, used);
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

/**
 * Disposes every `tf.Tensor` in a value (a converted batch: tensors in objects and arrays, at any depth),
 * and returns how many it disposed. Tensors already disposed are skipped.
 *
 * @param value - a tensor, or objects and arrays holding tensors
 * @returns the number of tensors disposed
 * @example
 * ```ts
 * const tensors = toTensors(tf, batch);
 * try { await model.trainOnBatch(tensors.x, tensors.y); } finally { disposeTensors(tensors); }
 * ```
 */
export function disposeTensors(value: unknown): number {
  const seen = new Set<object>();
  let count = 0;
  const walk = (v: unknown): void => {
    if (typeof v !== 'object' || v === null || seen.has(v) || ArrayBuffer.isView(v)) return;
    seen.add(v);
    const t = v as Partial<tfc.Tensor>;
    if (typeof t.dispose === 'function' && typeof t.dataId === 'object' && typeof t.dtype === 'string') {
      if (!t.isDisposed) {
        t.dispose();
        count++;
      }
      return;
    }
    if (Array.isArray(v)) v.forEach(walk);
    else if (isPlainObject(v)) Object.values(v).forEach(walk);
  };
  walk(value);
  return count;
}

/**
 * Converts a batch with {@link toTensors}, runs `fn` on the tensors (awaited), then disposes them, also
 * when `fn` throws: the async counterpart of `tf.tidy`, for `await model.trainOnBatch(...)`. Tensors that
 * `fn` makes itself are its own to dispose (its result is returned as it is).
 *
 * @param tf - the TensorFlow.js namespace (see {@link TfCore})
 * @param batch - a collated batch
 * @param fn - receives the converted batch
 * @param options - dtype rules; see {@link ToTensorsOptions}
 * @returns what `fn` returns
 * @example
 * ```ts
 * for await (const batch of loader) {
 *   const loss = await withTensors(tf, batch, ({ x, y }) => model.trainOnBatch(x, y), { float64: 'int32' });
 * }
 * ```
 */
export async function withTensors<B, R>(
  tf: TfCore,
  batch: B,
  fn: (tensors: Tensors<B>) => R | Promise<R>,
  options?: ToTensorsOptions,
): Promise<R> {
  if (typeof fn !== 'function') {
    throw new ConfigError(`\`withTensors\`: \`fn\` must be a function, got ${describe(fn)}`);
  }
  const tensors = toTensors(tf, batch, options);
  try {
    return await fn(tensors);
  } finally {
    disposeTensors(tensors);
  }
}

/**
 * A `tf.data.Dataset` of converted elements: what {@link loaderDataset} and {@link interleavedDataset} return.
 *
 * @example
 * ```ts
 * const ds: TensorDataset<{ xs: tf.Tensor; ys: tf.Tensor }> = loaderDataset(tf, loader, (b) => ({ xs: b.x, ys: b.y }));
 * ```
 */
export type TensorDataset<M> = tfd.Dataset<Tensors<M> & tfc.TensorContainer>;

type Next<T> = Promise<IteratorResult<T, undefined>>;
const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

function checkMap(map: unknown, what: string): void {
  if (typeof map !== 'function') {
    throw new ConfigError(
      `\`${what}\`: \`map\` must be a function from a batch to the dataset's element ` +
        `(\`{ xs, ys }\` for fitDataset), got ${describe(map)}`,
    );
  }
}

const PLAIN: Resolved = { float64: 'float32', uint8: 'int32', dtypes: new Map() };

/**
 * One dataset element, inside `tf.tidy`: the batch converted, given to `map`, and what `map` returns
 * converted too (arrays it returns as they are); tensors made along the way and not returned are freed.
 */
function element<T>(
  tf: TfCore,
  o: Resolved,
  raw: unknown,
  map: (tensors: T) => unknown,
): tfc.TensorContainer {
  return tf.tidy(() => convertBatch(tf, map(convertBatch(tf, raw, o) as T), PLAIN) as tfc.TensorContainer);
}

/**
 * A `tf.data.Dataset` view of a {@link DataLoader} (or any async iterable that starts a new epoch each
 * time it is iterated), for `model.fitDataset` and `model.evaluateDataset`: each iteration of the dataset
 * (each epoch of `fitDataset`) iterates a new epoch of the loader, so it sees that epoch's order, loaded
 * by the loader's workers. Each batch is converted by {@link toTensors} and given to `map`, inside
 * `tf.tidy`: the tensors `map` returns are the element, the others are freed; `fitDataset` disposes the
 * elements after each step.
 *
 * The loader's epoch starts on the first element asked for (so that `fitDataset`'s extra up-front
 * iterator takes no epoch); a new iteration ends one left unfinished (`stopTraining`). Close the loader
 * when done with it (`await loader.close()`, or `await using`).
 *
 * @param tf - the TensorFlow.js namespace, with `tf.data` (see {@link TfWithData})
 * @param loader - the loader; each `[Symbol.asyncIterator]()` call is one epoch
 * @param map - the converted batch to the element: `{ xs, ys }` for `fitDataset` (tensors, or objects of them by input and output name)
 * @param options - dtype rules; see {@link ToTensorsOptions}
 * @returns a dataset of converted elements
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * const loader = new DataLoader({ dataset, batchSize: 32, shuffle: true, numWorkers: 2 });
 * const toElement = (b) => ({ xs: b.image, ys: tf.oneHot(b.label, 10) });
 * const ds = loaderDataset(tf, loader, toElement, { float64: 'int32' });
 * const validationData = loaderDataset(tf, testLoader, toElement, { float64: 'int32' });
 * await model.fitDataset(ds, { epochs: 5, validationData });
 * await loader.close();
 * ```
 */
export function loaderDataset<B, M>(
  tf: TfWithData,
  loader: AsyncIterable<B>,
  map: (batch: Tensors<B>) => M,
  options?: ToTensorsOptions,
): TensorDataset<M> {
  const t = checkTf<TfWithData>(tf, 'loaderDataset', true);
  if (typeof (loader as Partial<AsyncIterable<B>> | null)?.[Symbol.asyncIterator] !== 'function') {
    throw new ConfigError(`\`loaderDataset\`: \`loader\` must be a DataLoader, got ${describe(loader)}`);
  }
  if (typeof (loader as { state?: unknown }).state === 'function' && 'plan' in loader) {
    throw new ConfigError(
      '`loaderDataset`: an InterleavedLoader iterates its whole run at once; use `interleavedDataset`',
    );
  }
  checkMap(map, 'loaderDataset');
  const o = resolveOptions(options, 'loaderDataset');
  let open: AsyncIterator<B> | undefined;
  const iterator = (): AsyncIterator<tfc.TensorContainer, undefined> => {
    let it: AsyncIterator<B> | undefined;
    return {
      next: async (): Next<tfc.TensorContainer> => {
        if (it === undefined) {
          const previous = open;
          open = undefined;
          await previous?.return?.();
          it = open = loader[Symbol.asyncIterator]();
        }
        const r = await it.next();
        if (r.done) {
          if (open === it) open = undefined;
          return DONE;
        }
        try {
          return { done: false, value: element(t, o, r.value, map) };
        } catch (e) {
          if (open === it) open = undefined;
          await it.return?.();
          throw e;
        }
      },
    };
  };
  return t.data.generator(iterator as () => AsyncIterator<tfc.TensorContainer>) as TensorDataset<M>;
}

/**
 * A training batch of an {@link InterleavedLoader}: its tags and collated `data`.
 *
 * @example
 * ```ts
 * const map = (data: Tensors<B>, batch: InterleavedTrainBatch<B>) => ({ xs: data.x, ys: data.y }); // batch.epoch, batch.position
 * ```
 */
export type InterleavedTrainBatch<B> = TrainIndexBatch & {
  /** The batch's items, collated by the training collate (`trainCollate`). */
  readonly data: B;
};
/**
 * A callback (evaluation) batch of an {@link InterleavedLoader}: its tags and collated `data`.
 *
 * @example
 * ```ts
 * const onCallback = (batch: InterleavedCallbackBatch<B>) => { if (batch.last) console.log(batch.name, batch.pass); };
 * ```
 */
export type InterleavedCallbackBatch<B> = CallbackIndexBatch & {
  /** The batch's items, collated by the callback's `collate` (not converted to tensors). */
  readonly data: B;
};

/**
 * Options of {@link interleavedDataset}: the dtype rules, and what to do with callback batches.
 *
 * @example
 * ```ts
 * const options: InterleavedDatasetOptions<B> = { float64: 'int32', onCallback: (batch) => evaluate(batch) };
 * ```
 */
export interface InterleavedDatasetOptions<B> extends ToTensorsOptions {
  /**
   * Called (and awaited) with each callback batch met between training batches, in schedule order, before
   * the next training batch is read; the batch's `data` is not converted (see {@link withTensors}).
   * @default undefined (callback batches are skipped)
   */
  onCallback?: (batch: InterleavedCallbackBatch<B>) => unknown;
}

/**
 * What {@link interleavedDataset} needs of an {@link InterleavedLoader}: any async iterable of tagged
 * training and callback batches (an `InterleavedLoader<B>` is one; so is a test double).
 *
 * @example
 * ```ts
 * const run: InterleavedRun<MyBatch> = sampler.getDataLoader<MyBatch>({ numWorkers: 2 });
 * ```
 */
export type InterleavedRun<B> = AsyncIterable<InterleavedTrainBatch<B> | InterleavedCallbackBatch<B>>;

/**
 * A `tf.data.Dataset` view of an {@link InterleavedLoader}'s training batches, for `model.fitDataset`:
 * each iteration of the dataset (each epoch of `fitDataset`) reads the run's next training epoch — its
 * batches up to the first one of a later epoch — and hands the callback batches met on the way, including
 * those scheduled after the epoch's last update, to `onCallback`. Elements are made as in
 * {@link loaderDataset}: `map(tensors, batch)` inside `tf.tidy`, with `batch.data` converted.
 *
 * The run is read once, across iterations: an iteration left unfinished is taken up by the next one, and
 * once the run is over every iteration is empty. Give `fitDataset` as many epochs as the run has
 * (`loader.plan.epochs`, plus one for a final partial epoch), and close the loader when done.
 *
 * @param tf - the TensorFlow.js namespace, with `tf.data` (see {@link TfWithData})
 * @param loader - the interleaved loader (`sampler.getDataLoader(...)`)
 * @param map - a training batch's converted `data` (and its tags) to the element: `{ xs, ys }` for `fitDataset`
 * @param options - dtype rules and `onCallback`; see {@link InterleavedDatasetOptions}
 * @returns a dataset of converted training elements
 * @example
 * ```ts
 * await using loader = sampler.getDataLoader({ numWorkers: 2 });
 * const ds = interleavedDataset(tf, loader, (b) => ({ xs: b.x, ys: b.y }), {
 *   onCallback: (batch) => withTensors(tf, batch.data, ({ x, y }) => evaluate(batch.name, x, y, batch.last)),
 * });
 * await model.fitDataset(ds, { epochs: loader.plan.epochs });
 * ```
 */
export function interleavedDataset<B, M>(
  tf: TfWithData,
  loader: InterleavedRun<B>,
  map: (data: Tensors<B>, batch: InterleavedTrainBatch<B>) => M,
  options?: InterleavedDatasetOptions<B>,
): TensorDataset<M> {
  const t = checkTf<TfWithData>(tf, 'interleavedDataset', true);
  if (
    typeof (loader as Partial<InterleavedRun<B>> | null)?.[Symbol.asyncIterator] !== 'function' ||
    !('plan' in loader)
  ) {
    throw new ConfigError(
      `\`interleavedDataset\`: \`loader\` must be an InterleavedLoader (\`sampler.getDataLoader()\`), got ${describe(loader)}`,
    );
  }
  checkMap(map, 'interleavedDataset');
  const o = resolveOptions(options, 'interleavedDataset', ['onCallback']);
  const onCallback = options?.onCallback;
  if (onCallback !== undefined && typeof onCallback !== 'function') {
    throw new ConfigError(
      `\`interleavedDataset\`: \`onCallback\` must be a function, got ${describe(onCallback)}`,
    );
  }
  let run: AsyncIterator<InterleavedTrainBatch<B> | InterleavedCallbackBatch<B>> | undefined;
  let stashed: InterleavedTrainBatch<B> | undefined;
  let over = false;
  const iterator = (): AsyncIterator<tfc.TensorContainer, undefined> => {
    let epoch: number | undefined;
    return {
      next: async (): Next<tfc.TensorContainer> => {
        for (;;) {
          let batch = stashed;
          stashed = undefined;
          if (batch === undefined) {
            if (over) return DONE;
            run ??= loader[Symbol.asyncIterator]();
            const r = await run.next();
            if (r.done) {
              over = true;
              return DONE;
            }
            if (r.value.source === 'callback') {
              await onCallback?.(r.value);
              continue;
            }
            batch = r.value;
          }
          if (epoch === undefined) epoch = batch.epoch;
          else if (batch.epoch !== epoch) {
            stashed = batch;
            return DONE;
          }
          const b = batch;
          return { done: false, value: element(t, o, b.data, (x: Tensors<B>) => map(x, b)) };
        }
      },
    };
  };
  return t.data.generator(iterator as () => AsyncIterator<tfc.TensorContainer>) as TensorDataset<M>;
}
