import { z } from 'zod';
import { describe } from '../core/checks.ts';
import type { Dataset, ItemLayout, Sized } from '../core/dataset.ts';
import { Random } from '../core/random.ts';
import { parse, type Relation, randomKey, withLength } from '../core/validate.ts';
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

const lengthError = 'must be a non-negative integer or a fraction in [0, 1]';
const lengthsSchema = z
  .array(
    z.number({ error: lengthError }).refine((v) => v >= 0 && (v <= 1 || Number.isInteger(v)), lengthError),
    { error: 'must be a non-empty array of lengths or fractions' },
  )
  .min(1, { error: 'must be a non-empty array of lengths or fractions' });
const argumentsSchema = z.object({
  dataset: withLength,
  options: z.object({ seed: randomKey.default(0) }, { error: 'must be an object ({ seed })' }).strict(),
  lengths: lengthsSchema,
});

// Lengths that sum to 1 (up to rounding) are fractions; any others are item counts.
const isFractions = (sum: number): boolean => Math.abs(sum - 1) <= 1e-9;
const sum = (lengths: readonly number[]): number => lengths.reduce((a, b) => a + b, 0);

// Counts must be whole and cover the dataset exactly; judged once the lengths and the dataset are sound.
const coversDataset: Relation = ({ dataset, lengths }) => {
  if (!lengthsSchema.safeParse(lengths).success || !withLength.safeParse(dataset).success) return [];
  const counts = lengths as number[];
  const total = sum(counts);
  if (isFractions(total)) return [];
  const bad = counts.findIndex((v) => !Number.isInteger(v));
  if (bad >= 0) {
    return [
      `\`lengths[${bad}]\` must be an integer when the lengths are not fractions summing to 1 (they sum to ${total}), got ${describe(counts[bad])}`,
    ];
  }
  const n = (dataset as Sized).length;
  return total === n
    ? []
    : [
        `\`lengths\` must sum to the dataset's length ${n} (or be fractions summing to 1), got a sum of ${total}`,
      ];
};

/**
 * Splits a dataset into non-overlapping random subsets of the given lengths, like torch's `random_split`.
 *
 * `lengths` are either item counts summing to the dataset's length, or fractions summing to 1: each subset
 * then gets `floor(length × fraction)` items and the items left over go one each to the subsets in turn,
 * from the first (torch's rule). The order is one permutation drawn from `new Random(seed)`, cut in turn,
 * so the split depends only on the seed and the lengths.
 *
 * @typeParam L - the dataset's layout type, which the subsets keep
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
export function randomSplit<T, L extends ItemLayout | undefined = ItemLayout | undefined>(
  dataset: Dataset<T, L>,
  lengths: readonly number[],
  options: RandomSplitOptions = {},
): Subset<T, L>[] {
  const { seed } = parse('randomSplit', argumentsSchema, { dataset, options, lengths }, [
    coversDataset,
  ]).options;
  const n = dataset.length;
  let sizes = [...lengths];
  if (isFractions(sum(lengths))) {
    sizes = lengths.map((f) => Math.floor(n * f));
    const remainder = n - sum(sizes);
    for (let i = 0; i < remainder; i++) sizes[i % sizes.length] = (sizes[i % sizes.length] as number) + 1;
  }
  const order = new Random(seed).permutation(n);
  let start = 0;
  return sizes.map((size) => {
    const subset = new Subset(dataset, order.subarray(start, start + size));
    start += size;
    return subset;
  });
}
