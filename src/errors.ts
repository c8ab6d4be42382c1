/**
 * Every error weft throws on purpose is a {@link WeftError}; the subclasses say which part failed.
 * `name` is stable (safe to compare), `cause` keeps the original error where there is one.
 */

/**
 * Base class of all errors weft throws on purpose.
 *
 * @param message - what went wrong, naming the option or value involved
 * @param options - standard `ErrorOptions`; `cause` is kept
 * @example
 * ```ts
 * try { new BatchSampler(sampler, { batchSize: 0 }); } catch (e) { if (e instanceof WeftError) console.error(e.message); }
 * ```
 */
export class WeftError extends Error {
  override name = 'WeftError';
}

/**
 * An option, config field or constructor argument is invalid. Thrown eagerly, at construction.
 *
 * @param message - names the field, what was expected, and the value given
 * @param issues - one line per problem found (all of them, not only the first)
 * @example
 * ```ts
 * // ConfigError: `batchSize` must be a positive integer, got 0
 * new BatchSampler(sampler, { batchSize: 0 });
 * ```
 */
export class ConfigError extends WeftError {
  override name = 'ConfigError';
  /** Every problem found, one message each. */
  readonly issues: readonly string[];
  constructor(message: string, issues: readonly string[] = [message], options?: ErrorOptions) {
    super(message, options);
    this.issues = issues;
  }
}

/**
 * An index is outside a dataset or sampler (negative, too large, or not an integer).
 *
 * @example
 * ```ts
 * new ArrayDataset([1, 2]).get(5); // IndexError: index 5 is out of range for a dataset of length 2
 * ```
 */
export class IndexError extends WeftError {
  override name = 'IndexError';
}

/**
 * Collating a batch failed: items of different shapes or keys, or items from more than one dataset.
 *
 * @example
 * ```ts
 * defaultCollate([{ a: 1 }, { b: 2 }]); // CollateError naming the keys
 * ```
 */
export class CollateError extends WeftError {
  override name = 'CollateError';
}
