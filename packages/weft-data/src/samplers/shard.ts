// What every sharding sampler (DistributedSampler, ShardedEvalSampler) checks of its shard
// `{ numReplicas, rank }`, so that both word it alike.
import { nonNegativeInt, positiveInt, type Relation } from '../core/validate.ts';

/**
 * The fields of a shard, for the sharding samplers' schemas: `numReplicas` and `rank`, checked with
 * {@link rankInRange}.
 *
 * @example
 * ```ts
 * const schema = z.object({ data: withLength, ...shardFields });
 * ```
 */
export const shardFields = { numReplicas: positiveInt, rank: nonNegativeInt };

/**
 * A shard's rank lies in [0, numReplicas), once both are integers of their own.
 *
 * @example
 * ```ts
 * parseArguments(schema, { data }, options, { relations: [rankInRange] });
 * ```
 */
export const rankInRange: Relation = ({ numReplicas, rank }) =>
  positiveInt.safeParse(numReplicas).success &&
  nonNegativeInt.safeParse(rank).success &&
  (rank as number) >= (numReplicas as number)
    ? [`\`rank\` must be in [0, numReplicas - 1] = [0, ${(numReplicas as number) - 1}], got ${rank}`]
    : [];
