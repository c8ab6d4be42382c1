// After an evaluation pass: the per-rank results, gathered by the user's framework, back in dataset order.
import { z } from 'zod';
import { describe } from '../core/checks.ts';
import { WeftError } from '../core/errors.ts';
import { fail, issuesOf, nonNegativeInt } from '../core/validate.ts';

const isArrayLike = (v: unknown) =>
  typeof (v as { length?: unknown } | null | undefined)?.length === 'number';
const part = z.custom<unknown>(
  (p) =>
    isArrayLike((p as { indices?: unknown } | null)?.indices) &&
    isArrayLike((p as { values?: unknown } | null)?.values),
  { error: 'must be { indices, values } (two arrays)' },
);
const argumentsSchema = z.object({
  parts: z.array(part, { error: 'must be an array' }),
  length: nonNegativeInt,
});

/**
 * Puts per-rank evaluation results back in dataset order, checking that every index comes exactly once.
 *
 * weft does not communicate between processes: after a pass, all-gather each rank's `{ indices, values }`
 * with your framework (an all-gather of the tensors, an MPI binding, or files on a shared disk), then call
 * this on every rank (or only on rank 0). `indices` are dataset indices (an {@link InterleavedSampler}'s
 * batch indices less `indexOffsets[k]`) of the real items only (the first `real` of each batch).
 *
 * @param parts - one entry per rank: the dataset indices it evaluated and a value for each, in the same order
 * @param length - the dataset's length: every index in [0, length) must appear exactly once
 * @returns the values in dataset order (`result[i]` belongs to index i)
 * @example
 * ```ts
 * gatherInOrder([{ indices: [0, 2], values: ['a', 'c'] }, { indices: [1], values: ['b'] }], 3); // ['a', 'b', 'c']
 * ```
 */
export function gatherInOrder<T>(
  parts: readonly { readonly indices: ArrayLike<number>; readonly values: ArrayLike<T> }[],
  length: number,
): T[] {
  const issues = issuesOf(argumentsSchema, { parts, length });
  if (issues.length > 0) fail(undefined, issues);
  const out = new Array<T>(length);
  const owner = new Int32Array(length).fill(-1);
  parts.forEach(({ indices, values }, r) => {
    if (indices.length !== values.length) {
      throw new WeftError(`\`parts[${r}]\` has ${indices.length} indices but ${values.length} values`);
    }
    for (let i = 0; i < indices.length; i++) {
      const index = indices[i] as number;
      if (!Number.isInteger(index) || index < 0 || index >= length) {
        throw new WeftError(
          `\`parts[${r}].indices[${i}]\` must be an index in [0, ${length - 1}] (length ${length}), got ${describe(index)}`,
        );
      }
      const first = owner[index] as number;
      if (first >= 0) {
        throw new WeftError(`index ${index} was evaluated twice: in parts[${first}] and in parts[${r}]`);
      }
      owner[index] = r;
      out[index] = values[i] as T;
    }
  });
  const missing: number[] = [];
  for (let i = 0; i < length; i++) if (owner[i] === -1) missing.push(i);
  if (missing.length === 1) throw new WeftError(`index ${missing[0]} was not evaluated by any rank`);
  if (missing.length > 1) {
    const shown = missing.slice(0, 10).join(', ') + (missing.length > 10 ? ', …' : '');
    throw new WeftError(`${missing.length} indices were not evaluated by any rank: ${shown}`);
  }
  return out;
}
