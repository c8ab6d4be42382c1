import type { Collate } from '../collate/collate.ts';
import { describe } from '../core/checks.ts';
import type { Dataset } from '../core/dataset.ts';
import type { WorkerInfo } from '../core/worker-info.ts';

/*
 * The engine's options, their defaults and their checks, apart from the machinery so that loaders can
 * check them (and list every problem in one ConfigError) before anything starts.
 */

/**
 * The loading options shared by every loader, with defaults applied; see {@link engineOptions}.
 *
 * @example
 * ```ts
 * const options: EngineOptions<unknown> = engineOptions({ dataset, collate: defaultCollate }, []);
 * options.prefetchFactor; // 2
 * ```
 */
export interface EngineOptions<B> {
  /** The data; with workers it must be worker-loadable (see core/recipe.ts). */
  readonly dataset: Dataset<unknown>;
  /** Items → batch; with workers it must be worker-loadable. */
  readonly collate: Collate<unknown, B>;
  /** Worker threads; 0 loads in the calling thread. @default 0 */
  readonly numWorkers: number;
  /** Batches in flight per worker. @default 2 */
  readonly prefetchFactor: number;
  /** Keep the pool between runs, until `close()`. @default false */
  readonly persistentWorkers: boolean;
  /** Milliseconds to wait for a batch once its worker has started; 0 waits forever. @default 0 */
  readonly timeout: number;
  /** Called in each worker at start; must come from `fromModule`. @default undefined */
  readonly workerInit: ((info: WorkerInfo) => unknown) | undefined;
  /** Seed of the per-sample and per-worker random streams. @default 0 */
  readonly seed: number;
  /** Yield in submission order; `false` yields whichever batch is ready. @default true */
  readonly inOrder: boolean;
  /** Aborting fails the run with the signal's reason. @default undefined */
  readonly signal: AbortSignal | undefined;
  /** Worker crashes tolerated per run, counted over the whole pool, before giving up. @default 3 */
  readonly maxWorkerRestarts: number;
}

/**
 * {@link EngineOptions} as loaders give them: everything but the dataset and collate is optional.
 *
 * @example
 * ```ts
 * const init: EngineInit<unknown> = { dataset, collate: defaultCollate, numWorkers: 2 };
 * ```
 */
export type EngineInit<B> = Pick<EngineOptions<B>, 'dataset' | 'collate'> &
  Partial<Omit<EngineOptions<B>, 'dataset' | 'collate'>>;

/**
 * Names of the {@link EngineInit} fields, for loaders that reject unknown options.
 *
 * @example
 * ```ts
 * const known = new Set<string>([...OWN_FIELDS, ...ENGINE_FIELDS]);
 * ```
 */
export const ENGINE_FIELDS = [
  'dataset',
  'collate',
  'numWorkers',
  'prefetchFactor',
  'persistentWorkers',
  'timeout',
  'workerInit',
  'seed',
  'inOrder',
  'signal',
  'maxWorkerRestarts',
] as const;

/**
 * Applies the defaults to `init` and appends one message per invalid field to `issues`.
 *
 * Torch's rules: `prefetchFactor`, `persistentWorkers`, `timeout` and `workerInit` only mean something
 * with workers, so setting them with `numWorkers` 0 is an issue rather than silently ignored.
 *
 * @param init - the options as given; defaults as listed in {@link EngineOptions}
 * @param issues - receives one message per problem; the caller throws one ConfigError listing them all
 * @returns the options with defaults applied (meaningful only when no issue was added)
 * @example
 * ```ts
 * const issues: string[] = [];
 * const options = engineOptions({ dataset, collate, numWorkers: -1 }, issues);
 * if (issues.length > 0) throw new ConfigError(issues.join('; '), issues);
 * ```
 */
export function engineOptions<B>(init: EngineInit<B>, issues: string[]): EngineOptions<B> {
  const { dataset, collate, numWorkers = 0, persistentWorkers = false, timeout = 0 } = init;
  const { workerInit, seed = 0, inOrder = true, signal, maxWorkerRestarts = 3 } = init;
  const prefetchFactor = init.prefetchFactor ?? 2;
  if (typeof dataset !== 'object' || dataset === null || typeof dataset.get !== 'function') {
    issues.push(`\`dataset\` must be a dataset (with \`length\` and \`get\`), got ${describe(dataset)}`);
  } else if (!Number.isSafeInteger(dataset.length) || dataset.length < 0) {
    issues.push(`\`dataset.length\` must be a non-negative integer, got ${describe(dataset.length)}`);
  }
  if (typeof collate !== 'function') issues.push(`\`collate\` must be a function, got ${describe(collate)}`);
  const count = (name: string, value: number, min: number): void => {
    if (!Number.isSafeInteger(value) || value < min) {
      issues.push(
        `\`${name}\` must be a ${min > 0 ? 'positive' : 'non-negative'} integer, got ${describe(value)}`,
      );
    }
  };
  count('numWorkers', numWorkers, 0);
  count('prefetchFactor', prefetchFactor, 1);
  count('seed', seed, 0);
  count('maxWorkerRestarts', maxWorkerRestarts, 0);
  if (typeof timeout !== 'number' || !(timeout >= 0) || timeout === Number.POSITIVE_INFINITY) {
    issues.push(`\`timeout\` must be a non-negative number of milliseconds, got ${describe(timeout)}`);
  }
  for (const [name, value] of [
    ['persistentWorkers', persistentWorkers],
    ['inOrder', inOrder],
  ] as const) {
    if (typeof value !== 'boolean') issues.push(`\`${name}\` must be a boolean, got ${describe(value)}`);
  }
  if (workerInit !== undefined && typeof workerInit !== 'function') {
    issues.push(`\`workerInit\` must be a function from fromModule, got ${describe(workerInit)}`);
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    issues.push(`\`signal\` must be an AbortSignal, got ${describe(signal)}`);
  }
  if (numWorkers === 0) {
    const onlyWithWorkers = {
      prefetchFactor: init.prefetchFactor !== undefined,
      persistentWorkers: persistentWorkers === true,
      timeout: timeout !== 0,
      workerInit: workerInit !== undefined,
    };
    for (const [name, set] of Object.entries(onlyWithWorkers)) {
      if (set) issues.push(`\`${name}\` needs \`numWorkers\` > 0 (loading in-process), got numWorkers=0`);
    }
  }
  return {
    dataset,
    collate,
    numWorkers,
    prefetchFactor,
    persistentWorkers,
    timeout,
    workerInit,
    seed,
    inOrder,
    signal,
    maxWorkerRestarts,
  };
}
