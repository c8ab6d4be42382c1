import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '../errors.ts';
import { describe } from './checks.ts';
import { attachRecipe, type Recipe, recipeOf } from './recipe.ts';

/*
 * Encoding for `workerData` and decoding in the worker, over the recipe protocol of recipe.ts: encoding asks
 * each value for its recipe and checks that the plain-data arguments can be cloned; decoding imports and calls.
 */

export type { Recipe, RecipeArg } from './recipe.ts';

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
