// ── Worker recipe glue of the file-backed datasets ──────────────────────────────────────────────────────────
// A loader's workers cannot receive a dataset object, so each file dataset is rebuilt in every worker from
// plain state (its path, stamp, options, and index in shared memory): "import `url`, call export `name` with
// the state". This is the only place that knows how such a recipe is attached today (the internal
// `withRecipe` of `fromModule`); when weft moves to the `Symbol.for('weft.toRecipe')` protocol, only this
// function changes (to define that method, returning the same `{ url, name, args }`).
import { withRecipe } from '../internal/worker-ref.ts';

/**
 * Marks `dataset` as rebuilt in a worker by calling export `name` of module `url` with `state`.
 * `state` must be structured-cloneable; `SharedArrayBuffer`s in it are shared with the workers, not copied.
 */
export function rebuildWith(dataset: object, url: string, name: string, state: unknown): void {
  withRecipe(dataset, { url, name, args: [{ label: 'state', value: state }] });
}
