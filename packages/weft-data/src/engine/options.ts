import { z } from 'zod';
import type { Collate } from '../collate/collate.ts';
import type { Dataset } from '../core/dataset.ts';
import {
  bool,
  fail,
  fn,
  indexLength,
  issuesOf,
  nonNegativeInt,
  positiveInt,
  type Relation,
  seedOption,
  sizedAs,
} from '../core/validate.ts';
import type { WorkerInfo } from '../core/worker-info.ts';

/*
 * The engine's options, their defaults and their checks, apart from the machinery so that loaders can
 * check them with their own (every problem in one ConfigError) before anything starts, and only once: the
 * engine takes options resolved here as they are.
 */

/**
 * The loading options shared by every loader, with defaults applied; see {@link engineOptions}.
 *
 * @example
 * ```ts
 * const options: EngineOptions<unknown> = engineOptions({ dataset, collate: defaultCollate });
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
  /** Torch's `pin_memory`, accepted so that ported calls run; it changes nothing (see `DataLoaderOptions.pinMemory`). @default false */
  readonly pinMemory: boolean;
  /**
   * Take back the memory of a batch written in place once the consumer asks for the next one, and write
   * later batches into it (see protocol.ts, "Batch memory"). @default false
   */
  readonly reuseBatches: boolean;
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

// In the order of EngineOptions; defaults as documented there.
const engineSchema = z.object({
  dataset: sizedAs<Dataset<unknown>>(
    (v) => typeof v === 'object' && v !== null && typeof (v as Partial<Dataset<unknown>>).get === 'function',
    'must be a dataset (with `length` and `get`)',
    indexLength, // a batch's indices are a Uint32Array
  ),
  collate: fn,
  numWorkers: nonNegativeInt.default(0),
  prefetchFactor: positiveInt.default(2),
  persistentWorkers: bool.default(false),
  timeout: z
    .number({ error: 'must be a non-negative number of milliseconds' })
    .min(0, { error: 'must be a non-negative number of milliseconds' })
    .default(0),
  workerInit: z
    .custom<(info: WorkerInfo) => unknown>((v) => typeof v === 'function', {
      error: 'must be a function from fromModule',
    })
    .optional(),
  seed: seedOption,
  inOrder: bool.default(true),
  signal: z.instanceof(AbortSignal, { error: 'must be an AbortSignal' }).optional(),
  maxWorkerRestarts: nonNegativeInt.default(3),
  pinMemory: bool.default(false),
  reuseBatches: bool.default(false),
});

/**
 * Names of the {@link EngineInit} fields, for loaders that reject unknown options.
 *
 * @example
 * ```ts
 * const known = new Set<string>([...OWN_FIELDS, ...ENGINE_FIELDS]);
 * ```
 */
export const ENGINE_FIELDS = engineSchema.keyof().options;

// Torch's rule: the options that only mean something with workers are mistakes without them, not ignored.
const onlyWithWorkers: Relation = (init) => {
  if (init.numWorkers !== undefined && init.numWorkers !== 0) return [];
  const set = {
    prefetchFactor: init.prefetchFactor !== undefined,
    persistentWorkers: init.persistentWorkers === true,
    timeout: init.timeout !== undefined && init.timeout !== 0,
    workerInit: init.workerInit !== undefined,
  };
  return Object.entries(set)
    .filter(([, isSet]) => isSet)
    .map(([name]) => `\`${name}\` needs \`numWorkers\` > 0 (loading in-process), got numWorkers=0`);
};

// Options resolved here, frozen: a loader that resolved them passes them to the engine, which takes them
// as they are rather than checking them a second time.
const resolved = new WeakSet<object>();

/**
 * Checks `init` and applies the defaults, or throws one {@link ConfigError} listing every problem, after
 * those the caller found in its own options (`invalid <what>: …`). Options this function returned are
 * returned as they are: a loader resolves them once and hands them to the engine.
 *
 * Torch's rules: `prefetchFactor`, `persistentWorkers`, `timeout` and `workerInit` only mean something
 * with workers, so setting them with `numWorkers` 0 is an issue rather than silently ignored.
 *
 * @param init - the options as given; defaults as listed in {@link EngineOptions}
 * @param what - names the options in the message @default 'loader options'
 * @param issues - problems the caller found in its own options, listed first @default []
 * @returns the options with defaults applied, frozen
 * @example
 * ```ts
 * const options = engineOptions({ dataset, collate, numWorkers: 2 }, 'DataLoader options');
 * options.prefetchFactor; // 2
 * ```
 */
export function engineOptions<B>(
  init: EngineInit<B>,
  what = 'loader options',
  issues: readonly string[] = [],
): EngineOptions<B> {
  if (resolved.has(init) && issues.length === 0) return init as EngineOptions<B>;
  const all = [...issues, ...issuesOf(engineSchema, init, [onlyWithWorkers])];
  if (all.length > 0) fail(what, all);
  const options = Object.freeze(engineSchema.parse(init)) as EngineOptions<B>;
  resolved.add(options);
  return options;
}
