import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe } from './checks.ts';
import type { Dataset } from './dataset.ts';
import { ConfigError } from './errors.ts';

/*
 * The one protocol by which a value says how a worker rebuilds it. Functions cannot cross threads, so a
 * worker gets a recipe instead: "import `url`, take the export `name`, and if it is a function call it with
 * `args`". Anything that can be rebuilt has a method under {@link TO_RECIPE} returning its recipe: the
 * built-in datasets and collates define it on themselves, `fromModule` attaches one to what it loads, and a
 * new kind of dataset (file-backed, shared-memory) plugs in by defining the method, with no change to the
 * encoder. It lives on the ground floor (it imports only the error classes and checks), so that every module
 * defining a recipe can import it.
 */

// Symbol.for, so values made by another copy of weft (src and dist side by side) are still recognised.
/** The key of the method that gives a value's {@link Recipe}. */
export const TO_RECIPE: unique symbol = Symbol.for('weft.toRecipe');

/** One argument of a recipe: `ref` arguments must themselves be worker-loadable, others are plain data. */
export interface RecipeArg {
  /** Names the argument in error messages (`dataset.datasets[1]`). */
  readonly label: string;
  readonly value: unknown;
  readonly ref?: boolean;
}

/** How a worker rebuilds a value: import `url`, take export `name`, call it with `args` if a function. */
export interface Recipe {
  readonly url: string;
  readonly name: string;
  readonly args: readonly RecipeArg[];
}

/**
 * A value a worker can rebuild: the plug-in point for new kinds of datasets and collates. The method returns
 * `undefined` when this particular value cannot be rebuilt although its class can (a subclass that inherits
 * the method but overrides behaviour the recipe omits).
 *
 * @example
 * ```ts
 * export class FileDataset implements Dataset<Uint8Array>, Rebuildable {
 *   constructor(readonly path: string) {}
 *   // …length, get…
 *   [TO_RECIPE]() {
 *     return { url: import.meta.url, name: 'fileDataset', args: [{ label: 'path', value: this.path }] };
 *   }
 * }
 * export const fileDataset = (path: string) => new FileDataset(path);
 * ```
 */
export interface Rebuildable {
  [TO_RECIPE](): Recipe | undefined;
}

/**
 * The recipe of `value`, or `undefined` if it has none.
 *
 * @param value - anything; only objects and functions can have a recipe
 */
export function recipeOf(value: unknown): Recipe | undefined {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return undefined;
  const method = (value as Partial<Rebuildable>)[TO_RECIPE];
  return typeof method === 'function' ? method.call(value) : undefined;
}

/**
 * Gives `value` a fixed recipe (non-enumerable, so it does not show in the value's keys or clones).
 * Returns `value`, or `undefined` if it is frozen or sealed and cannot take one.
 *
 * @param value - the object or function to mark
 * @param recipe - how a worker rebuilds it
 */
export function attachRecipe<T extends object>(value: T, recipe: Recipe): T | undefined {
  if (!Object.isExtensible(value)) return undefined;
  Object.defineProperty(value, TO_RECIPE, { value: () => recipe, configurable: true });
  return value;
}

/*
 * Encoding for `workerData` and decoding in the worker, over the protocol above: encoding asks
 * each value for its recipe and checks that the plain-data arguments can be cloned; decoding imports and calls.
 */

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

/**
 * Gives `value` a fixed recipe, so a loader with workers can rebuild it there; {@link ConfigError} if frozen.
 *
 * @param value - the object or function to mark
 * @param recipe - how a worker rebuilds it
 */
export function withRecipe<T extends object>(value: T, recipe: Recipe): T {
  const marked = attachRecipe(value, recipe);
  if (marked === undefined) {
    throw new ConfigError(`cannot mark ${describe(value)} as worker-loadable: it is frozen or sealed`);
  }
  return marked;
}

/**
 * A module location as a URL string; relative specifiers would resolve from weft, not the caller.
 *
 * @param moduleUrl - a URL (anything with an `href`), a URL string or an absolute path
 */
export function moduleHref(moduleUrl: string | { readonly href: string }): string {
  if (typeof moduleUrl === 'string') {
    if (isAbsolute(moduleUrl)) return pathToFileURL(moduleUrl).href;
    if (URL.canParse(moduleUrl)) return moduleUrl;
  } else if (typeof moduleUrl === 'object' && moduleUrl !== null && typeof moduleUrl.href === 'string') {
    if (URL.canParse(moduleUrl.href)) return moduleUrl.href;
  }
  throw new ConfigError(
    `\`moduleUrl\` must be a URL or an absolute file path, got ${describe(moduleUrl)}; use new URL('./module.ts', import.meta.url)`,
  );
}

/**
 * Whether a module URL needs a TypeScript loader.
 *
 * @param url - an absolute URL
 */
export function isTypeScript(url: string): boolean {
  return /\.[mc]?tsx?$/.test(new URL(url).pathname);
}

/**
 * Imports `url`, takes export `name` and, if it is a function, calls it with `args` (a factory). A module that
 * cannot be imported is a {@link ConfigError} naming it and the export, with Node's error as `cause`; errors of
 * the factory itself are the user's and pass through.
 *
 * @param url - the module
 * @param name - the export
 * @param args - the factory's arguments
 */
export async function load(url: string, name: string, args: readonly unknown[]): Promise<unknown> {
  let module: Record<string, unknown>;
  try {
    module = (await import(url)) as Record<string, unknown>;
  } catch (e) {
    throw importError(url, name, e);
  }
  if (!(name in module)) throw new ConfigError(`module ${url} has no export \`${name}\``);
  const value = module[name];
  return typeof value === 'function' ? await value(...args) : value;
}

function importError(url: string, name: string, error: unknown): ConfigError {
  const code = (error as { code?: unknown } | null)?.code;
  let why: string;
  if (code === 'ERR_UNKNOWN_FILE_EXTENSION' && isTypeScript(url)) {
    why =
      'it is TypeScript and this thread has no TypeScript loader; run under tsx (node --import tsx, with tsx installed: npm install tsx) or use compiled .js modules';
  } else if (url.startsWith('file:') && !existsSync(new URL(url))) {
    why = 'the module does not exist';
  } else if (code === 'ERR_MODULE_NOT_FOUND') {
    why = `a module it imports was not found: ${(error as Error).message}`;
  } else {
    const what = error instanceof Error ? `${error.name}: ${error.message}` : describe(error);
    why = `it threw while being imported: ${what}`;
  }
  return new ConfigError(`cannot import module ${url} for its export \`${name}\`: ${why}`, undefined, {
    cause: error,
  });
}

/**
 * Rebuilds an encoded value in a worker.
 *
 * @param encoded - from {@link encode}, through `workerData`
 */
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
 * in a worker. With `ref`, the value (or each element of an array) must have a recipe; otherwise it may
 * also be structured-cloneable data.
 *
 * @param value - the dataset, collate or workerInit (or a recipe argument)
 * @param path - names the value in errors: `dataset.datasets[1]`
 * @param ref - whether the value must be rebuildable (else plain data will do)
 * @default ref true
 */
export function encode(value: unknown, path: string, ref = true): Encoded {
  const recipe = recipeOf(value);
  if (recipe !== undefined) {
    const args = recipe.args.map((a) => encode(a.value, `${path}.${a.label}`, a.ref ?? false));
    return { kind: 'module', url: recipe.url, name: recipe.name, args };
  }
  if (Array.isArray(value) && (ref || value.some(needsRecipe))) {
    return { kind: 'array', items: value.map((v, k) => encode(v, `${path}[${k}]`, ref)) };
  }
  if (!ref && typeof value !== 'function') {
    const problem = uncloneable(value);
    if (problem === undefined) return { kind: 'value', value };
    const where = problem.path === '' ? 'it' : `\`${path}${problem.path}\``;
    throw new ConfigError(`\`${path}\` cannot be sent to a worker: ${where} ${problem.why}`, undefined, {
      cause: problem.cause,
    });
  }
  throw new ConfigError(
    `\`${path}\` cannot be loaded in a worker: it is ${describe(value)}; create it with fromModule(url, exportName, options)`,
  );
}

/**
 * Every module URL an encoded value imports.
 *
 * @param encoded - from {@link encode}
 */
export function moduleUrls(encoded: Encoded): string[] {
  if (encoded.kind === 'value') return [];
  if (encoded.kind === 'array') return encoded.items.flatMap(moduleUrls);
  return [encoded.url, ...encoded.args.flatMap(moduleUrls)];
}

function needsRecipe(value: unknown): boolean {
  return typeof value === 'function' || recipeOf(value) !== undefined;
}

interface CloneProblem {
  /** Where in the value, relative to it (`.f`, `[3].g`); empty for the value itself. */
  readonly path: string;
  readonly why: string;
  readonly cause?: unknown;
}

// Deeper than any real item: past it the walk is likely going round a cycle, and hands over to structuredClone.
const WALK_DEPTH = 64;

/**
 * Why `value` cannot be structured-cloned, or undefined if it can. Walks the value instead of cloning it:
 * `workerData` is cloned once per worker anyway, and an ArrayDataset's items can be large. Only values whose
 * cloneability is not evident from their type (and cyclic or very deep ones) are test-cloned.
 */
function uncloneable(value: unknown): CloneProblem | undefined {
  let problem: { value: unknown; why: string; cause?: unknown } | undefined;
  const tryClone = (v: object): boolean => {
    try {
      structuredClone(v);
      return true;
    } catch (e) {
      problem = { value: v, why: `cannot be cloned: ${(e as Error).message}`, cause: e };
      return false;
    }
  };
  const walk = (v: unknown, depth: number): boolean => {
    if (typeof v !== 'object' || v === null) {
      if (typeof v !== 'function' && typeof v !== 'symbol') return true;
      problem = { value: v, why: `is ${kindName(v)}, which cannot be cloned` };
      return false;
    }
    if (ArrayBuffer.isView(v)) return true;
    if (depth === WALK_DEPTH) return tryClone(v);
    const proto = Object.getPrototypeOf(v);
    if (proto === Array.prototype) {
      const a = v as unknown[];
      for (let i = 0; i < a.length; i++) if (!walk(a[i], depth + 1)) return false;
      return true;
    }
    if (proto === Object.prototype) {
      const o = v as Record<string, unknown>;
      for (const k in o) if (!walk(o[k], depth + 1)) return false;
      return true;
    }
    if (v instanceof ArrayBuffer || v instanceof SharedArrayBuffer) return true;
    if (v instanceof Date || v instanceof RegExp || v instanceof Error) return true;
    if (v instanceof Map) {
      for (const [k, x] of v) if (!walk(k, depth + 1) || !walk(x, depth + 1)) return false;
      return true;
    }
    if (v instanceof Set) {
      for (const x of v) if (!walk(x, depth + 1)) return false;
      return true;
    }
    if (Object.prototype.toString.call(v) === '[object Object]') {
      // Class instances and null-prototype objects: cloned as their own enumerable properties.
      const o = v as Record<string, unknown>;
      for (const k in o) if (Object.hasOwn(o, k) && !walk(o[k], depth + 1)) return false;
      return true;
    }
    return tryClone(v);
  };
  if (walk(value, 0) || problem === undefined) return undefined;
  return { path: pathTo(value, problem.value), why: problem.why, cause: problem.cause };
}

const kindName = (v: unknown): string => (typeof v === 'symbol' ? `a symbol (${String(v)})` : describe(v));

/** The path from `root` to `target` (found again only for the error message, so the walk keeps no paths). */
function pathTo(root: unknown, target: unknown): string {
  const seen = new Set<object>();
  const search = (v: unknown, path: string): string | undefined => {
    if (v === target) return path;
    if (typeof v !== 'object' || v === null || seen.has(v) || ArrayBuffer.isView(v)) return undefined;
    seen.add(v);
    const entries: [string, unknown][] = Array.isArray(v)
      ? v.map((x, i) => [`[${i}]`, x])
      : v instanceof Map
        ? [...v].map(([k, x], i) => [`<map entry ${i}: ${describe(k)}>`, x])
        : v instanceof Set
          ? [...v].map((x, i) => [`<set element ${i}>`, x])
          : Object.entries(v).map(([k, x]) => [`.${k}`, x]);
    for (const [step, x] of entries) {
      const found = search(x, path + step);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  try {
    return search(root, '') ?? '';
  } catch {
    return ''; // nested too deep to search: the message names the whole value instead
  }
}

/**
 * What {@link fromModule} gives for an export of type `E`: a factory's result, awaited, or the export itself.
 *
 * @example
 * ```ts
 * type D = Loaded<(o: { n: number }) => Promise<ArrayDataset<number>>>; // ArrayDataset<number>
 * ```
 */
export type Loaded<E> = E extends (...args: never[]) => infer R ? Awaited<R> : E;

/**
 * The `options` {@link fromModule} passes to a factory export of type `E` (its first parameter); anything for
 * an export that is not a function, which is not called.
 *
 * @example
 * ```ts
 * type O = FactoryOptions<(o: { n: number }) => ArrayDataset<number>>; // { n: number }
 * ```
 */
export type FactoryOptions<E> = E extends (...args: infer A) => unknown ? A[0] : unknown;

/**
 * Loads a dataset, collate function or `workerInit` from a module, in a form a loader's workers can
 * rebuild: functions cannot be sent to a thread, so each worker imports the module and does the same.
 *
 * The module is imported here, in the calling thread, and `exportName` taken from it. If the export is a
 * function it is a factory and is called with `options` (awaited when it returns a promise); otherwise the
 * export itself is used. To share a plain function (a collate, a `workerInit`), export a factory that
 * returns it. The result carries a hidden recipe (url, export, options) that workers use.
 *
 * A module that does not exist, throws while being imported, or is TypeScript in a process without a
 * TypeScript loader is a {@link ConfigError} naming the module and the export, with Node's error as `cause`.
 * TypeScript modules work in the calling thread under tsx, and in workers when `tsx` is installed (an
 * optional peer dependency).
 *
 * Type it by the export: `fromModule<typeof import('./data.ts').makeImages>` gives the factory's result
 * (awaited) and checks `options` against its parameter; an export that is not a function gives itself.
 * Without a type argument the result is a `Dataset<unknown>`.
 *
 * @typeParam E - the type of the export (a factory, or the value itself) @default Dataset<unknown>
 * @param moduleUrl - a URL (anything with an `href`, such as `new URL('./data.ts', import.meta.url)`), a URL
 *   string, or an absolute file path; relative paths are rejected, since they would resolve from weft
 * @param exportName - the export to take
 * @param options - passed to the factory in every thread; must be structured-cloneable
 * @example
 * ```ts
 * // data.ts: export const makeImages = (o: { root: string }) => new ImageFolder(o.root);
 * const dataset = await fromModule<typeof import('./data.ts').makeImages>(
 *   new URL('./data.ts', import.meta.url), 'makeImages', { root },
 * ); // an ImageFolder
 * const loader = new DataLoader({ dataset, batchSize: 32, numWorkers: 2 });
 * ```
 */
export async function fromModule<E extends object = Dataset<unknown>>(
  moduleUrl: string | { readonly href: string },
  exportName: string,
  options?: FactoryOptions<E>,
): Promise<Loaded<E>> {
  const url = moduleHref(moduleUrl);
  if (typeof exportName !== 'string' || exportName === '') {
    throw new ConfigError(`\`exportName\` must be a non-empty string, got ${describe(exportName)}`);
  }
  const value = await load(url, exportName, [options]);
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) {
    throw new ConfigError(
      `export \`${exportName}\` of ${url} gave ${describe(value)}; fromModule needs an object or a function`,
    );
  }
  return withRecipe(value, {
    url,
    name: exportName,
    args: [{ label: 'options', value: options }],
  }) as Loaded<E>;
}

/**
 * Marks `dataset` as rebuilt in a worker by calling export `name` of module `url` with `state`.
 * `state` must be structured-cloneable; `SharedArrayBuffer`s in it are shared with the workers, not copied.
 */
export function rebuildWith(dataset: object, url: string, name: string, state: unknown): void {
  withRecipe(dataset, { url, name, args: [{ label: 'state', value: state }] });
}
