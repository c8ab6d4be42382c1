import type { ConcatItem } from './dataset.ts';
import { CollateError } from './errors.ts';

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
  data: A;
  shape: number[];
}

type TypedArrayConstructor = { new (length: number): TypedArray; name: string };

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

/** Dimensions of a rectangular nested number array, or undefined if it is not one. */
function numericShape(v: unknown): number[] | undefined {
  if (typeof v === 'number') return [];
  if (!Array.isArray(v) || v.length === 0) return undefined;
  const inner = numericShape(v[0]);
  return inner === undefined ? undefined : [v.length, ...inner];
}

function flattenInto(
  v: unknown,
  shape: number[],
  depth: number,
  out: Float64Array,
  at: number,
  path: string,
): number {
  if (depth === shape.length) {
    if (typeof v !== 'number')
      throw new CollateError(`\`defaultCollate\`: ${path} is ${kindOf(v)}, expected number`);
    out[at] = v;
    return at + 1;
  }
  if (!Array.isArray(v) || v.length !== shape[depth]) {
    const got = Array.isArray(v) ? `has length ${v.length}` : `is ${kindOf(v)}`;
    throw new CollateError(
      `\`defaultCollate\`: ${path} ${got}, expected length ${shape[depth]} (a ragged array)`,
    );
  }
  for (let i = 0; i < v.length; i++) at = flattenInto(v[i], shape, depth + 1, out, at, `${path}[${i}]`);
  return at;
}

function stack(parts: TypedArray[], shape: number[], paths: (i: number) => string): Tensor {
  const first = parts[0] as TypedArray;
  const Ctor = first.constructor as TypedArrayConstructor;
  const out = new Ctor(first.length * parts.length);
  parts.forEach((p, i) => {
    if (p.constructor !== Ctor) {
      throw new CollateError(
        `\`defaultCollate\`: ${paths(i)} is ${(p.constructor as TypedArrayConstructor).name}, ${paths(0)} is ${Ctor.name}`,
      );
    }
    if (p.length !== first.length) {
      throw new CollateError(
        `\`defaultCollate\`: ${paths(i)} has length ${p.length}, ${paths(0)} has ${first.length}`,
      );
    }
    (out as Float64Array).set(p as Float64Array, i * first.length);
  });
  return { data: out, shape: [parts.length, ...shape] };
}

function collate(items: unknown[], path: string): unknown {
  const at = (i: number) => `items[${i}]${path}`;
  const kind = kindOf(items[0]);
  items.forEach((v, i) => {
    const k = kindOf(v);
    if (k !== kind) throw new CollateError(`\`defaultCollate\`: ${at(i)} is ${k}, ${at(0)} is ${kind}`);
  });
  switch (kind) {
    case 'number':
      return Float64Array.from(items as number[]);
    case 'boolean':
      return Uint8Array.from(items as boolean[], (b) => (b ? 1 : 0));
    case 'bigint':
      return BigInt64Array.from(items as bigint[]);
    case 'string':
      return [...(items as string[])];
    case 'tensor': {
      const tensors = items as Tensor[];
      const shape = (tensors[0] as Tensor).shape;
      tensors.forEach((t, i) => {
        if (t.shape.join() !== shape.join()) {
          throw new CollateError(
            `\`defaultCollate\`: ${at(i)} has shape [${t.shape}], ${at(0)} has [${shape}]`,
          );
        }
      });
      return stack(
        tensors.map((t) => t.data),
        shape,
        (i) => `${at(i)}.data`,
      );
    }
    case 'array': {
      const shape = numericShape(items[0]);
      if (shape !== undefined) {
        const size = shape.reduce((a, b) => a * b, 1);
        const out = new Float64Array(size * items.length);
        items.forEach((v, i) => {
          flattenInto(v, shape, 0, out, i * size, at(i));
        });
        return { data: out, shape: [items.length, ...shape] } satisfies Tensor;
      }
      const arrays = items as unknown[][];
      const n = (arrays[0] as unknown[]).length;
      arrays.forEach((a, i) => {
        if (a.length !== n)
          throw new CollateError(`\`defaultCollate\`: ${at(i)} has length ${a.length}, ${at(0)} has ${n}`);
      });
      return Array.from({ length: n }, (_, j) =>
        collate(
          arrays.map((a) => a[j]),
          `${path}[${j}]`,
        ),
      );
    }
    case 'object': {
      const objects = items as Record<string, unknown>[];
      const keys = Object.keys(objects[0] as object);
      const sorted = [...keys].sort().join(', ');
      objects.forEach((o, i) => {
        const mine = Object.keys(o).sort().join(', ');
        if (mine !== sorted) {
          throw new CollateError(`\`defaultCollate\`: ${at(i)} has keys [${mine}], ${at(0)} has [${sorted}]`);
        }
      });
      return Object.fromEntries(
        keys.map((k) => [
          k,
          collate(
            objects.map((o) => o[k]),
            `${path}.${k}`,
          ),
        ]),
      );
    }
    default:
      if (kind.endsWith('Array')) {
        return stack(items as TypedArray[], [(items[0] as TypedArray).length], at);
      }
      throw new CollateError(`\`defaultCollate\`: cannot collate ${at(0)}: ${kind}`);
  }
}

/**
 * Collates a batch of items in the spirit of torch's `default_collate`.
 *
 * Numbers become a `Float64Array`, booleans a `Uint8Array`, bigints a `BigInt64Array`; typed arrays of one
 * type and length, tensors of one shape, and rectangular nested number arrays are stacked into a
 * {@link Tensor} with a leading batch dimension; objects are collated key by key and non-numeric arrays
 * (tuples) position by position; strings stay a `string[]`. Anything that does not line up is a
 * {@link CollateError} naming the path in the item and what differed.
 *
 * @param items - the batch; must not be empty
 * @example
 * ```ts
 * defaultCollate([{ x: new Float32Array([1, 2]), y: 0 }, { x: new Float32Array([3, 4]), y: 1 }]);
 * // { x: { data: Float32Array [1, 2, 3, 4], shape: [2, 2] }, y: Float64Array [0, 1] }
 * ```
 */
export function defaultCollate<T>(items: T[]): unknown {
  if (!Array.isArray(items) || items.length === 0) {
    throw new CollateError('`defaultCollate`: cannot collate an empty batch');
  }
  return collate(items, '');
}

/**
 * The distinct `ArrayBuffer`s behind every typed array in a collated batch, for a `postMessage` transfer
 * list. A view that covers only part of its buffer is skipped: transferring would detach memory that
 * belongs to someone else (a dataset's storage, say), so it is copied instead.
 *
 * @param value - a collated batch
 * @example
 * ```ts
 * port.postMessage(batch, collectTransferables(batch));
 * ```
 */
export function collectTransferables(value: unknown): ArrayBuffer[] {
  const found = new Set<ArrayBuffer>();
  const seen = new Set<object>();
  const walk = (v: unknown): void => {
    if (typeof v !== 'object' || v === null || seen.has(v)) return;
    seen.add(v);
    if (ArrayBuffer.isView(v)) {
      if (v.buffer instanceof ArrayBuffer && v.byteOffset === 0 && v.byteLength === v.buffer.byteLength) {
        found.add(v.buffer);
      }
      return;
    }
    for (const child of Array.isArray(v) ? v : Object.values(v)) walk(child);
  };
  walk(value);
  return [...found];
}

/** The parts of every collate made by {@link routeCollate}, so that workers can rebuild it from them. */
export const routes = new WeakMap<object, readonly Collate[]>();

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
  routes.set(route, fns);
  return route;
}
