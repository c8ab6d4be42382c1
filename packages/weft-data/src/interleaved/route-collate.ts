// The collate of an interleaved run: each batch comes from one dataset of the concatenation and goes to that
// dataset's own collate.
import { type Collate, defaultCollate } from '../collate/collate.ts';
import { CollateError } from '../core/errors.ts';
import { attachRecipe } from '../core/recipe.ts';
import type { ConcatItem } from '../datasets/basic.ts';

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
  attachRecipe(route, {
    url: import.meta.url,
    name: 'routedCollate',
    args: [{ label: 'collates', value: fns, ref: true }],
  });
  return route;
}

/** Rebuilds a {@link routeCollate} from its per-dataset collates in a worker (its recipe names it). @internal */
export const routedCollate = (collates: Collate[]): Collate => routeCollate(collates) as Collate;
