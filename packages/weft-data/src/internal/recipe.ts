/*
 * The one protocol by which a value says how a worker rebuilds it. Functions cannot cross threads, so a
 * worker gets a recipe instead: "import `url`, take the export `name`, and if it is a function call it with
 * `args`". Anything that can be rebuilt has a method under {@link TO_RECIPE} returning its recipe: the
 * built-in datasets and collates define it on themselves, `fromModule` attaches one to what it loads, and a
 * new kind of dataset (file-backed, shared-memory) plugs in by defining the method, with no change to the
 * encoder. This module imports nothing of weft's values, so that every module defining a recipe can import it
 * without an import cycle.
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

// The built-ins' rebuilding factories live in builtins.ts, which imports the datasets and collates; naming it
// by URL here keeps those modules free of an import of it. Same extension as this file: .ts in src, .js in dist.
const BUILTINS = new URL(
  `./builtins${/\.[^./]+$/.exec(new URL(import.meta.url).pathname)?.[0] ?? '.js'}`,
  import.meta.url,
).href;

/**
 * A recipe calling the factory `name` of weft's builtins module.
 *
 * @param name - an export of builtins.ts
 * @param args - its arguments
 * @default args []
 */
export function builtinRecipe(name: string, args: readonly RecipeArg[] = []): Recipe {
  return { url: BUILTINS, name, args };
}
