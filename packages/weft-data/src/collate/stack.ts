// Stacking a batch's typed arrays, tensors and nested number arrays into one tensor with a leading batch
// dimension, converting to an asked-for dtype on the way; and the error every collate step throws.
import type { Tensor, TypedArray } from '../core/dtype.ts';
import { CollateError } from '../core/errors.ts';
import { type DTypeInfo, noDtype } from './dtypes.ts';

type TypedArrayConstructor = { new (length: number): TypedArray; name: string };

/** How deep an item may nest: deep enough for any real item, and a cyclic one reaches it quickly. */
export const MAX_DEPTH = 32;

/**
 * The error of a batch that cannot be collated, as `defaultCollate` words it.
 *
 * @param message - what went wrong, naming the path in the items
 * @example
 * ```ts
 * throw collateError('items[1].x is string, items[0].x is number');
 * ```
 */
export const collateError = (message: string): CollateError =>
  new CollateError(`\`defaultCollate\`: ${message}`);

/**
 * Whether `v` is a {@link Tensor}: `data` a typed array and `shape` an array.
 *
 * @param v - any value
 * @example
 * ```ts
 * isTensor({ data: new Float32Array(2), shape: [2] }); // true
 * ```
 */
export const isTensor = (v: unknown): v is Tensor =>
  typeof v === 'object' &&
  v !== null &&
  ArrayBuffer.isView((v as Tensor).data) &&
  !((v as Tensor).data instanceof DataView) &&
  Array.isArray((v as Tensor).shape);

/**
 * What `v` is, as collating tells values apart: `number`, `array`, `Float32Array`, `tensor`, `object`…
 *
 * @param v - any value
 * @example
 * ```ts
 * kindOf(new Int32Array(1)); // 'Int32Array'
 * ```
 */
export function kindOf(v: unknown): string {
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

/**
 * The error of a value that the asked-for dtype cannot hold.
 *
 * @param path - where the value is in the items
 * @param value - the value
 * @param dtype - the dtype asked for
 * @param field - the field as the options name it
 * @example
 * ```ts
 * throw cannotHold('items[1].y', 1.5, int32, 'y');
 * ```
 */
export function cannotHold(path: string, value: number, dtype: DTypeInfo, field: string): CollateError {
  return collateError(`${path} is ${value}, which ${dtype.name} cannot represent (\`dtypes.${field}\`)`);
}

/**
 * Dimensions of `v` if it is a rectangular nested array of numbers, every element checked; else undefined.
 *
 * @param v - any value
 * @example
 * ```ts
 * numericShape([[1, 2], [3, 4]]); // [2, 2]
 * ```
 */
export function numericShape(v: unknown): number[] | undefined {
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

/**
 * Writes the nested number array `v` of `shape` into `out` from `at`, row-major; returns where it stopped.
 *
 * @param v - the nested array
 * @param shape - its expected shape (the first item's)
 * @param depth - how deep `v` is in it
 * @param out - the batch's values
 * @param at - where `v` starts in `out`
 * @param path - where `v` is in the items, for messages
 * @param dtype - the dtype asked for, if any
 * @param field - the field as the options name it
 * @example
 * ```ts
 * flattenInto([[1, 2], [3, 4]], [2, 2], 0, out, 0, 'items[0].x', undefined, 'x'); // 4
 * ```
 */
export function flattenInto(
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
    if (typeof v !== 'number') throw collateError(`${path} is ${kindOf(v)}, expected number`);
    if (dtype !== undefined && !dtype.fits(v)) throw cannotHold(path, v, dtype, field);
    out[at] = v;
    return at + 1;
  }
  if (!Array.isArray(v) || v.length !== shape[depth]) {
    const got = Array.isArray(v) ? `has length ${v.length}` : `is ${kindOf(v)}`;
    throw collateError(`${path} ${got}, expected length ${shape[depth]} (a ragged array)`);
  }
  for (let i = 0; i < v.length; i++) {
    at = flattenInto(v[i], shape, depth + 1, out, at, `${path}[${i}]`, dtype, field);
  }
  return at;
}

/**
 * Stacks typed arrays of one type and length into a tensor of shape `[parts.length, ...shape]`.
 *
 * @param parts - the batch's arrays
 * @param shape - the shape of each
 * @param paths - where part i is in the items, for messages
 * @param dtype - the dtype asked for, if any
 * @param field - the field as the options name it
 * @example
 * ```ts
 * stack([a, b], [3], (i) => `items[${i}].x`, undefined, 'x'); // { data, shape: [2, 3] }
 * ```
 */
export function stack(
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
      throw collateError(
        `${paths(i)} is ${(p.constructor as TypedArrayConstructor).name}, ${paths(0)} is ${Ctor.name}`,
      );
    }
    if (p.length !== first.length) {
      throw collateError(`${paths(i)} has length ${p.length}, ${paths(0)} has ${first.length}`);
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

/**
 * Checks that the batch's tensors have one valid shape, each `data` of its size; returns that shape.
 *
 * @param tensors - the batch's tensors
 * @param at - where tensor i is in the items, for messages
 * @example
 * ```ts
 * checkTensors([t0, t1], (i) => `items[${i}].x`); // [2, 3]
 * ```
 */
export function checkTensors(tensors: Tensor[], at: (i: number) => string): number[] {
  const shape = (tensors[0] as Tensor).shape;
  let size = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw collateError(`${at(0)} has shape [${shape}], which is not a list of non-negative integers`);
    }
    size *= d;
  }
  tensors.forEach((t, i) => {
    if (t.shape.length !== shape.length || t.shape.some((d, k) => d !== shape[k])) {
      throw collateError(`${at(i)} has shape [${t.shape}], ${at(0)} has [${shape}]`);
    }
    if (t.data.length !== size) {
      throw collateError(
        `${at(i)} has ${t.data.length} elements in \`data\`, but its shape [${shape}] needs ${size}`,
      );
    }
  });
  return shape;
}
