// The collate a loader uses when none is given: `defaultCollate` with the dtypes the dataset's `layout`
// declares, so that a dtype given once (a TensorDataset column, ImageFolder's labels) reaches the batch.
import { describe } from '../core/checks.ts';
import type { FieldLayout } from '../core/dataset.ts';
import { DTYPE_ARRAYS } from '../core/dtype.ts';
import { fail } from '../core/validate.ts';
import { type Collate, defaultCollate } from './collate.ts';
import type { FieldDTypes } from './collated.ts';

/**
 * The default collate of a loader over `dataset`: {@link defaultCollate}, given the dtype of each field of
 * the dataset's `layout` as `defaultCollate.with({ dtypes })` would be, or `defaultCollate` itself when the
 * dataset declares none. `bigint64` fields and the whole-item field `''` are left as they are (bigints and
 * typed arrays keep their own type). A layout that is not one is a {@link ConfigError}.
 *
 * @param dataset - the loader's dataset (anything: a non-dataset is the loader's own error to report)
 * @example
 * ```ts
 * layoutCollate(TensorDataset.fromItems(rows, { y: { dtype: 'int32' } })); // labels collate to Int32Array
 * ```
 */
export function layoutCollate(dataset: unknown): Collate {
  const layout =
    typeof dataset === 'object' && dataset !== null ? (dataset as { layout?: unknown }).layout : undefined;
  if (layout === undefined) return defaultCollate;
  if (typeof layout !== 'object' || layout === null || Array.isArray(layout)) {
    fail('dataset layout', [
      `\`layout\` must be an object of field → { dtype, shape }, got ${describe(layout)}`,
    ]);
  }
  const dtypes: Record<string, FieldDTypes[string]> = {};
  const issues: string[] = [];
  for (const [field, f] of Object.entries(layout as Record<string, Partial<FieldLayout> | null>)) {
    const dtype = f?.dtype;
    if (typeof dtype !== 'string' || !Object.hasOwn(DTYPE_ARRAYS, dtype)) {
      issues.push(
        `\`layout.${field}.dtype\` must be one of ${Object.keys(DTYPE_ARRAYS).join(', ')}, got ${describe(dtype)}`,
      );
    } else if (field !== '' && dtype !== 'bigint64') dtypes[field] = dtype;
  }
  if (issues.length > 0) fail('dataset layout', issues);
  return Object.keys(dtypes).length === 0 ? defaultCollate : defaultCollate.with({ dtypes });
}
