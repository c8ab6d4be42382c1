import { z } from 'zod';
import type { Collate } from '../collate/collate.ts';
import type { BatchOf } from '../collate/collated.ts';
import { layoutCollate } from '../collate/layout.ts';
import { checkLength, describe } from '../core/checks.ts';
import type { Dataset, ItemOf } from '../core/dataset.ts';
import { ConfigError } from '../core/errors.ts';
import { toIndices } from '../core/indices.ts';
import type { Sampler } from '../core/sampler.ts';
import { bool, issuesOf, positiveInt, type Relation } from '../core/validate.ts';
import type { WorkerInfo } from '../core/worker-info.ts';
import { BatchSampler } from '../samplers/batch-sampler.ts';
import { RandomSampler } from '../samplers/random-sampler.ts';
import { SequentialSampler } from '../samplers/sequential-sampler.ts';
import { ENGINE_FIELDS, type EngineBatch, engineOptions, LoaderEngine } from './engine.ts';

// The declarations must type-check without @types/node and without TypeScript's ESNext.Disposable lib, where
// `Symbol.asyncDispose` is unknown. This is the declaration both of those make, and it merges with theirs
// (@types/node does the same).
declare global {
  interface SymbolConstructor {
    readonly asyncDispose: unique symbol;
  }
}

/**
 * A batch type other than the default collate's needs the `collate` that makes it: a type argument alone
 * would be an unchecked assertion. (A wider type, such as `unknown`, needs none.)
 */
type CollateFor<D extends Dataset<unknown>, B> = [BatchOf<D>] extends [B]
  ? unknown
  : { collate: Collate<ItemOf<D>, B> };

/** What {@link DataLoader} accepts as `batchSampler`: batches of indices, a length, optionally epochs. */
export interface BatchSamplerLike extends Iterable<ArrayLike<number>> {
  /** Number of batches per epoch. */
  readonly length: number;
  /** Selects the epoch whose batches the next iteration yields. */
  setEpoch?(epoch: number): void;
}

/**
 * Options of {@link DataLoader}: torch's `DataLoader` arguments in camelCase.
 *
 * @typeParam D - the dataset's type
 * @typeParam B - the batch: what `collate` returns, {@link BatchOf} `D` without one
 */
export interface DataLoaderOptions<D extends Dataset<unknown> = Dataset<unknown>, B = BatchOf<D>> {
  /** The data; with `numWorkers` > 0 it must be worker-loadable (built-in datasets or `fromModule`). */
  dataset: D;
  /** Samples per batch. Excludes `batchSampler`. @default 1 */
  batchSize?: number;
  /** Reshuffle every epoch (a seeded {@link RandomSampler}). Excludes `sampler`, `batchSampler`. @default false */
  shuffle?: boolean;
  /** The order of indices. Excludes `shuffle`, `batchSampler`. @default SequentialSampler or RandomSampler */
  sampler?: Sampler;
  /** Whole batches of indices. Excludes `batchSize`, `shuffle`, `sampler`, `dropLast`. */
  batchSampler?: BatchSamplerLike;
  /** Drop the last batch when it is short. Excludes `batchSampler`. @default false */
  dropLast?: boolean;
  /**
   * Items → batch. With workers it must be {@link defaultCollate} (or `defaultCollate.with`) or come from
   * `fromModule`. Without one, `defaultCollate` is given the dtypes of the dataset's `layout`, as
   * `defaultCollate.with({ dtypes })` would be.
   * @default defaultCollate with the dataset's layout dtypes
   */
  collate?: Collate<ItemOf<D>, B>;
  /** Worker threads; 0 loads in the calling thread. @default 0 */
  numWorkers?: number;
  /** Batches loaded ahead per worker. Needs `numWorkers` > 0. @default 2 */
  prefetchFactor?: number;
  /** Keep the workers between epochs (until `close()`). Needs `numWorkers` > 0. @default false */
  persistentWorkers?: boolean;
  /** Milliseconds to wait for a batch once its worker has started; 0 waits forever. Needs `numWorkers` > 0. @default 0 */
  timeout?: number;
  /** Called in each worker at start with its {@link WorkerInfo}; must come from `fromModule`. */
  workerInit?: (info: WorkerInfo) => unknown;
  /** Seed of the shuffle and of every sample's `context.random()`. @default 0 */
  seed?: number;
  /** Yield batches in sampler order; `false` yields each as soon as it is loaded. @default true */
  inOrder?: boolean;
  /** Aborting stops loading: workers are terminated and the iteration rejects with the abort reason. */
  signal?: AbortSignal;
  /** Worker crashes tolerated per epoch; crashed workers are replaced and their batches reloaded. @default 3 */
  maxWorkerRestarts?: number;
  /**
   * Torch's `pin_memory`, accepted so that a ported call runs as is; in Node it changes nothing. Torch pins
   * batches in page-locked host memory for faster copies to a CUDA device; Node has no such memory, and
   * batches from workers already arrive without a copy (their ArrayBuffers are transferred, not cloned).
   * @default false
   */
  pinMemory?: boolean;
  /**
   * Write batches into memory taken back from earlier ones, FFCV's and DALI's rule: a batch written in
   * place (a dataset with `layout` and `writeItem`, the default collate) is valid until the next batch is
   * asked for or the loop ends; its memory is then detached from it (a kept batch reads as empty and its
   * methods throw, never other data) and reused. Without it every batch stays valid, torch's rule.
   * See the README's "Batch memory". @default false
   */
  reuseBatches?: boolean;
}

const iterableWithLength = <T>(error: string) =>
  z
    .custom<T>(
      (v) =>
        typeof (v as Partial<Iterable<unknown>> | null | undefined)?.[Symbol.iterator] === 'function' &&
        Number.isSafeInteger((v as { length?: unknown }).length),
      { error },
    )
    .optional();
// The loader's own fields; the engine's are only names here, checked once by engineOptions.
const optionsSchema = z
  .object({
    batchSize: positiveInt.default(1),
    shuffle: bool.default(false),
    sampler: iterableWithLength<Sampler>('must be an iterable of indices with a `length`'),
    batchSampler: iterableWithLength<BatchSamplerLike>(
      'must be an iterable of index batches with a `length`',
    ),
    dropLast: bool.default(false),
    ...(Object.fromEntries(ENGINE_FIELDS.map((name) => [name, z.unknown().optional()])) as Record<
      (typeof ENGINE_FIELDS)[number],
      z.ZodOptional<z.ZodUnknown>
    >),
  })
  .strict();

// Torch's rule: a batch sampler does the sampling alone, and only values other than the defaults conflict.
const batchSamplerAlone: Relation = ({ batchSampler, batchSize, shuffle, sampler, dropLast }) => {
  if (batchSampler === undefined) return [];
  const conflicts = {
    batchSize: batchSize !== undefined && batchSize !== 1,
    shuffle: Boolean(shuffle),
    sampler: sampler !== undefined,
    dropLast: Boolean(dropLast),
  };
  return Object.entries(conflicts)
    .filter(([, set]) => set)
    .map(([name]) => `\`batchSampler\` is mutually exclusive with \`${name}\``);
};
const samplerOrShuffle: Relation = ({ batchSampler, sampler, shuffle }) =>
  batchSampler === undefined && sampler !== undefined && shuffle === true
    ? ['`sampler` is mutually exclusive with `shuffle`']
    : [];

/**
 * Batches of a dataset for a training loop, like torch's `DataLoader`: a sampler picks indices, the
 * dataset's `get` loads items, `collate` makes a batch; in the calling thread or in worker threads.
 *
 * Iterate it once per epoch with `for await`; iteration k calls the sampler's `setEpoch(k)`, so shuffles
 * differ per epoch yet replay exactly ({@link DataLoader.setEpoch} picks the epoch when resuming).
 * Options are checked eagerly, all at once, with torch's mutual exclusions.
 *
 * Torch's `pin_memory` is accepted as `pinMemory` and changes nothing: Node has no CUDA page-locked host
 * memory to pin, and batches from workers already arrive without a copy (their ArrayBuffers are transferred).
 *
 * With workers, functions cannot be sent to threads: the dataset, `collate` and `workerInit` must be
 * built-ins ({@link ArrayDataset} of cloneable items, {@link Subset}, {@link ConcatDataset},
 * {@link defaultCollate}) or loaded with `fromModule`, which workers repeat. `for await` ending early
 * (`break`, an error) terminates the workers unless `persistentWorkers`; call {@link DataLoader.close}
 * (or use `await using`) to end persistent ones.
 *
 * Batches are typed by the dataset: {@link BatchOf} it (what `defaultCollate` makes of its items, with its
 * layout's dtypes), or what the `collate` given returns.
 *
 * @typeParam D - the dataset's type
 * @typeParam B - the batches' type, inferred: {@link BatchOf} `D`, or the return type of `collate`
 * @param options - see {@link DataLoaderOptions}
 * @example
 * ```ts
 * const dataset = await fromModule<typeof import('./data.ts').makeData>(new URL('./data.ts', import.meta.url), 'makeData');
 * await using loader = new DataLoader({ dataset, batchSize: 64, shuffle: true, numWorkers: 2 });
 * for (let epoch = 0; epoch < 10; epoch++) {
 *   for await (const batch of loader) step(batch);
 * }
 * ```
 */
export class DataLoader<D extends Dataset<unknown> = Dataset<unknown>, B = BatchOf<D>>
  implements AsyncIterable<B>
{
  /** The data being loaded. */
  readonly dataset: D;
  /** Where batches of indices come from: `batchSampler`, or one built from `sampler`/`shuffle`, `batchSize`, `dropLast`. */
  readonly batchSampler: BatchSamplerLike;
  readonly #engine: LoaderEngine<undefined, B>;
  readonly #checked: boolean;
  #epoch = 0;

  constructor(options: DataLoaderOptions<D, B> & CollateFor<D, B>) {
    if (typeof options !== 'object' || options === null) {
      throw new ConfigError(`\`DataLoader\` options must be an object, got ${describe(options)}`);
    }
    const issues = issuesOf(optionsSchema, options, [batchSamplerAlone, samplerOrShuffle]);
    // The engine's options are resolved here, once: their problems join the sampling ones in one ConfigError,
    // and the engine takes them as they are.
    const collate = (options.collate ?? layoutCollate(options.dataset)) as Collate<unknown, B>;
    const resolved = engineOptions({ ...options, collate }, 'DataLoader options', issues);
    const { batchSize, shuffle, sampler, batchSampler, dropLast } = optionsSchema.parse(options);
    this.dataset = options.dataset;
    this.batchSampler =
      batchSampler ??
      new BatchSampler(
        sampler ??
          (shuffle
            ? new RandomSampler(this.dataset, { seed: resolved.seed })
            : new SequentialSampler(this.dataset)),
        { batchSize, dropLast, dataset: this.dataset },
      );
    // Batches of a BatchSampler built here were checked against this dataset, once per epoch.
    this.#checked = batchSampler === undefined;
    this.#engine = new LoaderEngine(resolved);
  }

  /** Number of batches per epoch. */
  get length(): number {
    return this.batchSampler.length;
  }

  /**
   * Sets the epoch of the next iteration (later ones count on from it), to resume a run mid-way.
   *
   * @param epoch - a non-negative integer
   * @example
   * ```ts
   * loader.setEpoch(checkpoint.epoch);
   * for await (const batch of loader) step(batch); // the resumed epoch's order
   * ```
   */
  setEpoch(epoch: number): void {
    this.#epoch = checkLength(epoch, 'epoch');
  }

  /**
   * One epoch of collated batches; each call starts the next epoch. The epoch's order is taken when the
   * iterator is created, so iterators created back to back yield their own epochs.
   */
  [Symbol.asyncIterator](): AsyncGenerator<B, void, undefined> {
    const epoch = this.#epoch++;
    this.batchSampler.setEpoch?.(epoch);
    // A batch sampler may compute its order lazily, at the first `next()` (a generator does): by then a later
    // epoch may have been set. Taking the first step now fixes this epoch's order; a failure is reported by
    // the iteration, as any other.
    let first: IteratorResult<ArrayLike<number>> | { error: unknown };
    let source: Iterator<ArrayLike<number>> | undefined;
    try {
      source = this.batchSampler[Symbol.iterator]();
      first = source.next();
    } catch (error) {
      first = { error };
    }
    return this.#load(source, first, epoch);
  }

  /**
   * Terminates the workers (persistent or loading); a later iteration starts new ones.
   *
   * @example
   * ```ts
   * await loader.close();
   * ```
   */
  close(): Promise<void> {
    return this.#engine.close();
  }

  /** Same as {@link DataLoader.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async *#load(
    source: Iterator<ArrayLike<number>> | undefined,
    first: IteratorResult<ArrayLike<number>> | { error: unknown },
    epoch: number,
  ): AsyncGenerator<B, void, undefined> {
    if ('error' in first) throw first.error;
    const length = this.dataset.length;
    const checked = this.#checked;
    const batches: Iterable<EngineBatch<undefined>> = {
      *[Symbol.iterator]() {
        for (let step = first; !step.done; step = (source as Iterator<ArrayLike<number>>).next()) {
          const indices = checked
            ? (step.value as Uint32Array)
            : toIndices(step.value, length, '`batchSampler`');
          yield { indices, epoch, tag: undefined };
        }
      },
    };
    for await (const { data } of this.#engine.run(batches)) yield data;
  }
}
