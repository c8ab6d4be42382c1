import { checkLength, describe } from '../core/checks.ts';
import type { Dataset } from '../core/dataset.ts';
import { Random } from '../core/random.ts';
import { fail } from '../core/validate.ts';
import { Subset } from './basic.ts';

/**
 * Options of {@link randomSplit}.
 *
 * @example
 * ```ts
 * randomSplit(dataset, [0.8, 0.2], { seed: 1 } satisfies RandomSplitOptions);
 * ```
 */
export interface RandomSplitOptions {
  /** Seed of the permutation: the same seed always gives the same split. @default 0 */
  seed?: number;
}

/**
 * Splits a dataset into non-overlapping random subsets of the given lengths, like torch's `random_split`.
 *
 * `lengths` are either item counts summing to the dataset's length, or fractions summing to 1: each subset
 * then gets `floor(length × fraction)` items and the items left over go one each to the subsets in turn,
 * from the first (torch's rule). The order is one permutation drawn from `new Random(seed)`, cut in turn,
 * so the split depends only on the seed and the lengths.
 *
 * @param dataset - the dataset to split (its items are not touched, only its length is read)
 * @param lengths - item counts, or fractions summing to 1
 * @param options - `seed` @default `{ seed: 0 }`
 * @returns one {@link Subset} per entry of `lengths`
 * @throws ConfigError when a length is negative or fractional without being a fraction, or the sum is wrong
 * @example
 * ```ts
 * const [train, val] = randomSplit(dataset, [0.9, 0.1], { seed: 42 });
 * ```
 */
export function randomSplit<T>(
  dataset: Dataset<T>,
  lengths: readonly number[],
  options: RandomSplitOptions = {},
): Subset<T>[] {
  const issues: string[] = [];
  let n = 0;
  try {
    n = checkLength((dataset as { length?: unknown } | null)?.length, 'dataset.length');
  } catch (e) {
    issues.push((e as Error).message);
  }
  if (typeof options !== 'object' || options === null) {
    issues.push(`\`options\` must be an object ({ seed }), got ${describe(options)}`);
  } else {
    const { seed = 0 } = options;
    if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0) {
      issues.push(`\`options.seed\` must be a non-negative safe integer, got ${describe(seed)}`);
    }
    for (const key of Object.keys(options))
      if (key !== 'seed') issues.push(`\`options.${key}\` is not a known option`);
  }
  if (!Array.isArray(lengths) || lengths.length === 0) {
    issues.push(`\`lengths\` must be a non-empty array of lengths or fractions, got ${describe(lengths)}`);
  } else {
    lengths.forEach((v, k) => {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (v > 1 && !Number.isInteger(v))) {
        issues.push(
          `\`lengths[${k}]\` must be a non-negative integer or a fraction in [0, 1], got ${describe(v)}`,
        );
      }
    });
  }
  if (issues.length > 0) fail('randomSplit', issues);
  const sum = lengths.reduce((a, b) => a + b, 0);
  let sizes = [...lengths];
  if (Math.abs(sum - 1) <= 1e-9) {
    sizes = lengths.map((f) => Math.floor(n * f));
    const remainder = n - sizes.reduce((a, b) => a + b, 0);
    for (let i = 0; i < remainder; i++) sizes[i % sizes.length] = (sizes[i % sizes.length] as number) + 1;
  } else {
    const bad = lengths.findIndex((v) => !Number.isInteger(v));
    if (bad >= 0) {
      fail('randomSplit', [
        `\`lengths[${bad}]\` must be an integer when the lengths are not fractions summing to 1 (they sum to ${sum}), got ${describe(lengths[bad])}`,
      ]);
    }
    if (sum !== n) {
      fail('randomSplit', [
        `\`lengths\` must sum to the dataset's length ${n} (or be fractions summing to 1), got a sum of ${sum}`,
      ]);
    }
  }
  const order = new Random(options.seed ?? 0).permutation(n);
  let start = 0;
  return sizes.map((size) => {
    const subset = new Subset(dataset, order.subarray(start, start + size));
    start += size;
    return subset;
  });
}
