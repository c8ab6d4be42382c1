// What workers import to rebuild weft's own datasets and collates (see recipe.ts): one factory per kind,
// each taking the parts its value's recipe lists. Nothing imports this module statically but the tests.
import { type Collate, type CollateOptions, defaultCollate, routeCollate } from '../collate.ts';
import { ArrayDataset, ConcatDataset, type Dataset, Subset } from '../dataset.ts';

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
export const builtinCollate = (): Collate => defaultCollate;
/** Rebuilds `defaultCollate.with(options)`. @internal */
export const collateWith = (options: CollateOptions): Collate => defaultCollate.with(options);
