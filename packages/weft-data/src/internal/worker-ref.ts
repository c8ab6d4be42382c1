import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Collate, defaultCollate, routeCollate, routes } from '../collate.ts';
import { ArrayDataset, ConcatDataset, type Dataset, Subset } from '../dataset.ts';
import { ConfigError } from '../errors.ts';
import { describe } from './checks.ts';

/*
 * Functions cannot cross threads, so a worker rebuilds the dataset, collate and workerInit from recipes:
 * "import `url`, take the export `name`, and if it is a function call it with `args`". `fromModule` attaches
 * a recipe to what it loads; the built-in datasets and `defaultCollate` get theirs here, from their parts.
 */

/** One argument of a recipe: `ref` arguments must themselves be worker-loadable, others are plain data. */
export interface RecipeArg {
  /** Names the argument in error messages (`dataset.datasets[1]`). */
  readonly label: string;
  readonly value: unknown;
  readonly ref?: boolean;
}

/** How a worker rebuilds a value. */
export interface Recipe {
  readonly url: string;
  readonly name: string;
  readonly args: readonly RecipeArg[];
}

/** A recipe with its arguments resolved to plain data: what `workerData` carries. */
export type Encoded =
  | { readonly kind: 'value'; readonly value: unknown }
  | { readonly kind: 'array'; readonly items: readonly Encoded[] }
  | {
      readonly kind: 'module';
      readonly url: string;
      readonly name: string;
      readonly args: readonly Encoded[];
    };

// Symbol.for, so values made by another copy of weft (src and dist side by side) are still recognised.
const RECIPE = Symbol.for('weft.recipe');

/** Attaches `recipe` to `value` (non-enumerable), so a loader with workers can rebuild it there. */
export function withRecipe<T extends object>(value: T, recipe: Recipe): T {
  if (!Object.isExtensible(value)) {
    throw new ConfigError(`cannot mark ${describe(value)} as worker-loadable: it is frozen or sealed`);
  }
  Object.defineProperty(value, RECIPE, { value: recipe, configurable: true });
  return value;
}

/** An absolute URL or file path as a URL string; relative specifiers would resolve from weft, not the caller. */
export function moduleHref(moduleUrl: string | URL): string {
  if (moduleUrl instanceof URL) return moduleUrl.href;
  if (typeof moduleUrl === 'string') {
    if (isAbsolute(moduleUrl)) return pathToFileURL(moduleUrl).href;
    if (URL.canParse(moduleUrl)) return moduleUrl;
  }
  throw new ConfigError(
    `\`moduleUrl\` must be a URL or an absolute file path, got ${describe(moduleUrl)}; use new URL('./module.ts', import.meta.url)`,
  );
}

/** Imports `url`, takes export `name` and, if it is a function, calls it with `args` (a factory). */
export async function load(url: string, name: string, args: readonly unknown[]): Promise<unknown> {
  const module = (await import(url)) as Record<string, unknown>;
  if (!(name in module)) throw new ConfigError(`module ${url} has no export \`${name}\``);
  const value = module[name];
  return typeof value === 'function' ? await value(...args) : value;
}

/** Rebuilds an encoded value in a worker. */
export async function decode(encoded: Encoded): Promise<unknown> {
  switch (encoded.kind) {
    case 'value':
      return encoded.value;
    case 'array':
      return Promise.all(encoded.items.map(decode));
    case 'module':
      return load(encoded.url, encoded.name, await Promise.all(encoded.args.map(decode)));
  }
}

/**
 * Encodes `value` for `workerData`, or throws {@link ConfigError} naming `path` when it cannot be rebuilt
 * in a worker. With `ref`, the value (or each element of an array) must carry a recipe; otherwise it may
 * also be structured-cloneable data.
 */
export function encode(value: unknown, path: string, ref = true): Encoded {
  const recipe = recipeOf(value);
  if (recipe !== undefined) {
    const args = recipe.args.map((a) => encode(a.value, `${path}.${a.label}`, a.ref ?? false));
    return { kind: 'module', url: recipe.url, name: recipe.name, args };
  }
  if (Array.isArray(value) && (ref || value.some(needsRef))) {
    return { kind: 'array', items: value.map((v, k) => encode(v, `${path}[${k}]`, ref)) };
  }
  if (!ref && typeof value !== 'function') {
    try {
      structuredClone(value);
      return { kind: 'value', value };
    } catch (e) {
      throw new ConfigError(`\`${path}\` cannot be sent to a worker: ${(e as Error).message}`, undefined, {
        cause: e,
      });
    }
  }
  throw new ConfigError(
    `\`${path}\` cannot be loaded in a worker: it is ${describe(value)}; create it with fromModule(url, exportName, options)`,
  );
}

/** Whether a module URL needs a TypeScript loader in the worker. */
export function isTypeScript(url: string): boolean {
  return /\.[mc]?tsx?$/.test(new URL(url).pathname);
}

/** Every module URL an encoded value imports. */
export function moduleUrls(encoded: Encoded): string[] {
  if (encoded.kind === 'value') return [];
  if (encoded.kind === 'array') return encoded.items.flatMap(moduleUrls);
  return [encoded.url, ...encoded.args.flatMap(moduleUrls)];
}

// The built-ins are rebuilt by these exports of this module; a worker imports them by name.

/** Rebuilds an {@link ArrayDataset} from its items. @internal */
export const arrayDataset = (items: unknown[]): Dataset<unknown> => new ArrayDataset(items);
/** Rebuilds a {@link Subset} from its dataset and indices. @internal */
export const subset = (dataset: Dataset<unknown>, indices: number[]): Dataset<unknown> =>
  new Subset(dataset, indices);
/** Rebuilds a {@link ConcatDataset} from its datasets. @internal */
export const concatDataset = (datasets: Dataset<unknown>[]): Dataset<unknown> => new ConcatDataset(datasets);
/** Rebuilds a {@link routeCollate} from its per-dataset collates. @internal */
export const routedCollate = (collates: Collate[]): Collate => routeCollate(collates) as Collate;
/** Gives {@link defaultCollate} (a factory, since a function export would be called as one). @internal */
export const builtinCollate = (): typeof defaultCollate => defaultCollate;

const SELF = import.meta.url;

function needsRef(value: unknown): boolean {
  if (typeof value === 'function') return true;
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return (
    RECIPE in value ||
    routes.has(value) ||
    proto === ArrayDataset.prototype ||
    proto === Subset.prototype ||
    proto === ConcatDataset.prototype
  );
}

// Exact prototypes only: a subclass may override `get`, and rebuilding it as its base class would be wrong.
function recipeOf(value: unknown): Recipe | undefined {
  if (value === defaultCollate) return { url: SELF, name: 'builtinCollate', args: [] };
  const routed = routes.get(value as object);
  if (routed !== undefined) {
    return { url: SELF, name: 'routedCollate', args: [{ label: 'collates', value: routed, ref: true }] };
  }
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return undefined;
  const own = (value as { [RECIPE]?: Recipe })[RECIPE];
  if (own !== undefined) return own;
  const proto = Object.getPrototypeOf(value);
  if (proto === ArrayDataset.prototype) {
    const dataset = value as ArrayDataset<unknown>;
    const items = Array.from({ length: dataset.length }, (_, i) => dataset.get(i));
    return { url: SELF, name: 'arrayDataset', args: [{ label: 'items', value: items }] };
  }
  if (proto === Subset.prototype) {
    const { dataset, indices } = value as Subset<unknown>;
    const args = [
      { label: 'dataset', value: dataset, ref: true },
      { label: 'indices', value: indices },
    ];
    return { url: SELF, name: 'subset', args };
  }
  if (proto === ConcatDataset.prototype) {
    const { datasets } = value as ConcatDataset<unknown>;
    return { url: SELF, name: 'concatDataset', args: [{ label: 'datasets', value: datasets, ref: true }] };
  }
  return undefined;
}
