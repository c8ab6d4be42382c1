// What every sharding sampler (DistributedSampler, ShardedEvalSampler) checks: the data, the shard
// `{ numReplicas, rank }` and the sampler's own fields, every problem at once.
import { z } from 'zod';
import { describe } from '../core/checks.ts';
import { issuesOf, nonNegativeInt, positiveInt, sized } from '../core/validate.ts';

/** `rank` in [0, numReplicas), once both are valid on their own. */
function rankInRange({ numReplicas, rank }: Record<string, unknown>): string[] {
  const valid = (v: unknown, min: number) => Number.isSafeInteger(v) && (v as number) >= min;
  if (!valid(numReplicas, 1) || !valid(rank, 0) || (rank as number) < (numReplicas as number)) return [];
  return [`\`rank\` must be in [0, numReplicas - 1] = [0, ${(numReplicas as number) - 1}], got ${rank}`];
}

/**
 * The problems of a sharding sampler's arguments: `data` (a dataset), `options` (an object with
 * `numReplicas`, `rank` below it, and the sampler's own `fields`). Unknown options are let through.
 *
 * @param data - the dataset argument
 * @param options - the options argument
 * @param fields - the sampler's other options, built from the atoms of `core/validate.ts` @default {}
 * @returns one message per problem, empty when the arguments are valid
 * @example
 * ```ts
 * const issues = shardIssues(data, options, { pad: bool.optional() });
 * if (issues.length > 0) throw new ConfigError(issues.join('; '), issues);
 * ```
 */
export function shardIssues(data: unknown, options: unknown, fields: z.ZodRawShape = {}): string[] {
  const issues = issuesOf(sized, data, [], 'data');
  if (typeof options !== 'object' || options === null) {
    issues.push(`\`options\` must be an object with \`numReplicas\` and \`rank\`, got ${describe(options)}`);
    return issues;
  }
  const schema = z.object({ numReplicas: positiveInt, rank: nonNegativeInt, ...fields });
  return [...issues, ...issuesOf(schema, options, [rankInRange])];
}
