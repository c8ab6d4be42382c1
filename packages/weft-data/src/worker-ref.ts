import { ConfigError } from './errors.ts';
import { describe } from './internal/checks.ts';
import { load, moduleHref, withRecipe } from './internal/worker-ref.ts';

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
 * @param moduleUrl - a URL (anything with an `href`, such as `new URL('./data.ts', import.meta.url)`), a URL
 *   string, or an absolute file path; relative paths are rejected, since they would resolve from weft
 * @param exportName - the export to take
 * @param options - passed to the factory in every thread; must be structured-cloneable
 * @example
 * ```ts
 * // data.ts: export const makeImages = (o: { root: string }) => new ImageFolder(o.root);
 * const dataset = await fromModule<Dataset<Image>>(new URL('./data.ts', import.meta.url), 'makeImages', { root });
 * const loader = new DataLoader({ dataset, batchSize: 32, numWorkers: 2 });
 * ```
 */
export async function fromModule<T extends object = object>(
  moduleUrl: string | { readonly href: string },
  exportName: string,
  options?: unknown,
): Promise<T> {
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
  return withRecipe(value as T, { url, name: exportName, args: [{ label: 'options', value: options }] });
}
