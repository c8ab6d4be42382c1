// The default collate itself: walks a batch of items in step, field by field, and turns each field into one
// batch value (see `stack.ts` for typed arrays, tensors and nested arrays, `dtypes.ts` for `dtypes`). Free of
// zod, so that worker threads rebuild the collate without loading it: `collate.ts` adds the checked options.
import type { Tensor, TypedArray } from '../core/dtype.ts';
import type { CollateError } from '../core/errors.ts';
import { attachRecipe, type Recipe } from '../core/recipe.ts';
import { type Context, checkAllUsed, type DTypeInfo, dtypeInfo, type Name, noDtype } from './dtypes.ts';
import {
  cannotHold,
  checkTensors,
  collateError,
  flattenInto,
  kindOf,
  MAX_DEPTH,
  numericShape,
  stack,
} from './stack.ts';

// The recipe of a collate of this module: a worker calls the export `name` below with `args`.
function rebuild(name: string, args: Recipe['args']): Recipe {
  return { url: import.meta.url, name, args };
}

/** A collate function (torch's `collate_fn`): a batch of items to one batch value. */
export type Collate<T = unknown, B = unknown> = (items: T[]) => B;

// Deep-nesting errors cut the path at a step boundary, so the message shows whole keys and indices.
function tooDeep(path: string): CollateError {
  const cut = Math.max(path.lastIndexOf('.', 60), path.lastIndexOf('[', 60));
  const shown = path.length > 60 && cut > 0 ? `${path.slice(0, cut)}…` : path;
  return collateError(`${shown} is nested more than ${MAX_DEPTH} levels deep (is the item cyclic?)`);
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

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
  if (mine !== theirs) throw collateError(`${at(i)} has keys [${mine}], ${at(0)} has [${theirs}]`);
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
    if (k !== kind) throw collateError(`${at(i)} is ${k}, ${at(0)} is ${kind}`);
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
          throw collateError(`${at(i)} is ${v}n, outside the range of a BigInt64Array [-2^63, 2^63 - 1]`);
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
        if (a.length !== n) throw collateError(`${at(i)} has length ${a.length}, ${at(0)} has ${n}`);
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
      throw collateError(`cannot collate ${at(0)}: ${kind}`);
  }
}

function collateBatch(items: unknown[], ctx: Context | undefined): unknown {
  if (!Array.isArray(items) || items.length === 0) throw collateError('cannot collate an empty batch');
  const out = collate(items, '', '', 0, ctx);
  if (ctx !== undefined) checkAllUsed(ctx);
  return out;
}

/**
 * The default collate without its `with` (collate.ts adds it): the same function object as `defaultCollate`,
 * which is how loaders recognise it, in worker threads too. @internal
 */
export const plainCollate = function defaultCollate<T>(items: T[]): unknown {
  return collateBatch(items, undefined);
};
attachRecipe(plainCollate, rebuild('builtinCollate', []));

// The dtypes each default collate was made with, by field: what a batch written in place must match.
const dtypesOf = new WeakMap<object, Readonly<Record<string, Name>>>([[plainCollate, {}]]);

/**
 * The dtypes a default collate was made with (`{}` for the plain one), by field; `undefined` for any other
 * function. In worker threads too: the rebuilt collates register here as well. @internal
 *
 * @param collate - a loader's collate
 */
export function defaultCollateDtypes(collate: unknown): Readonly<Record<string, Name>> | undefined {
  return typeof collate === 'function' ? dtypesOf.get(collate) : undefined;
}

/**
 * A default collate with `dtypes` already checked, and its recipe. @internal
 *
 * @param dtypes - by field path
 */
export function collateWithDtypes<T>(dtypes: ReadonlyMap<string, DTypeInfo>): Collate<T, unknown> {
  const fn: Collate<T, unknown> = (items) => collateBatch(items, { dtypes, used: new Set() });
  const plain = { dtypes: Object.fromEntries([...dtypes].map(([f, d]) => [f, d.name])) };
  attachRecipe(fn, rebuild('collateWithOptions', [{ label: 'options', value: plain }]));
  dtypesOf.set(fn, plain.dtypes);
  return fn;
}

// What a worker calls to rebuild the collates of this module (their recipes name this module and these exports).
/** Gives the default collate in a worker (a factory, since a function export would be called as one). @internal */
export const builtinCollate = (): Collate => plainCollate;
/** Rebuilds `defaultCollate.with(options)` in a worker, from options checked in the calling thread. @internal */
export const collateWithOptions = (options: { dtypes: Record<string, Name> }): Collate =>
  collateWithDtypes(new Map(Object.entries(options.dtypes).map(([f, n]) => [f, dtypeInfo(n)])));
