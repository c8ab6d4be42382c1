// The loading side of an interleaved run: the loader that runs a sampler's tagged batches through one worker
// pool. It knows the sampler only by what it loads (InterleavedLoaderSource), so that the sampler, whose
// `getDataLoader` makes one, is the only one of the two to import the other.
import type { Collate } from '../collate/collate.ts';
import { describe } from '../core/checks.ts';
import type { Dataset } from '../core/dataset.ts';
import { ConfigError } from '../core/errors.ts';
import { unknownOption } from '../core/suggest.ts';
import type { ConcatItem } from '../datasets/basic.ts';
import { ENGINE_FIELDS, type EngineBatch, type EngineInit, LoaderEngine } from '../engine/engine.ts';
import type { CallbackIndexBatch, IndexBatch, TrainIndexBatch } from './batches.ts';
import { type DistributedState, type OrderState, parseResumeState, type ResumeState } from './resume.ts';
import type { Plan, Position } from './schedule.ts';

/**
 * What an {@link InterleavedLoader} runs: the loading face of an {@link InterleavedSampler}, which is one.
 *
 * @example
 * ```ts
 * const source: InterleavedLoaderSource = sampler;
 * const loader = new InterleavedLoader(source, { numWorkers: 2 });
 * ```
 */
export interface InterleavedLoaderSource {
  /** Every dataset of the run laid end to end; see {@link InterleavedSampler.dataset}. */
  readonly dataset: Dataset<ConcatItem<unknown>>;
  /** Collates a batch with its own dataset's collate; see {@link InterleavedSampler.collator}. */
  readonly collator: Collate<ConcatItem<unknown>>;
  /** Where the stream starts; see {@link InterleavedSampler.start}. */
  readonly start: Position;
  /** Callbacks whose passes run first; see {@link InterleavedSampler.replay}. */
  readonly replay: readonly string[];
  /** What a saved state records of a data-parallel run; see {@link InterleavedSampler.distributedState}. */
  readonly distributedState: DistributedState | undefined;
  /** What fixes the order of the training samples; see {@link InterleavedSampler.orderState}. */
  readonly orderState: OrderState;
  /** The stream of tagged batches; see {@link InterleavedSampler.batches}. */
  batches(): Iterable<IndexBatch>;
  /** The schedule in closed form; see {@link InterleavedSampler.plan}. */
  plan(): Plan;
  /** The same run from a saved state; see {@link InterleavedSampler.resumeFrom}. */
  resumeFrom(state: ResumeState, options?: { readonly seed?: number }): this;
}

/**
 * A loaded batch of an interleaved run: its tags (see {@link TrainIndexBatch}, {@link CallbackIndexBatch})
 * and the collated `data`. Narrow on `source`: `if (batch.source === 'train') … else …`.
 *
 * @example
 * ```ts
 * for await (const batch of loader) {
 *   if (batch.source === 'train') train(batch.data);
 *   else evaluate(batch.name, batch.data, batch.real); // count only the `real` items
 * }
 * ```
 */
export type InterleavedBatch<B = unknown, C = B> =
  | (TrainIndexBatch & {
      /** The batch's items, collated by the training collate (`trainCollate`). */
      readonly data: B;
    })
  | (CallbackIndexBatch & {
      /** The batch's items, collated by its callback's `collate`. */
      readonly data: C;
    });

/** Options of {@link InterleavedLoader}: the loading options of `DataLoader`, less the sampling ones. */
export interface InterleavedLoaderOptions
  extends Partial<Omit<EngineInit<unknown>, 'dataset' | 'collate' | 'inOrder' | 'reuseBatches'>> {
  /** Start from a saved {@link InterleavedLoader.state} instead of the sampler's configured start. */
  resume?: ResumeState;
}

const KNOWN = new Set<string>([
  ...ENGINE_FIELDS.filter(
    (f) => f !== 'dataset' && f !== 'collate' && f !== 'inOrder' && f !== 'reuseBatches',
  ),
  'resume',
]);

/**
 * One loader for a whole interleaved run: training batches and every callback pass, through one
 * persistent worker pool, each batch tagged with what it is.
 *
 * Workers persist by default (the point of interleaving: the evaluation passes reuse the pool and are
 * prefetched while training still runs). Batches always arrive in schedule order.
 * Save {@link InterleavedLoader.state} (JSON) after any batch; a loader given it as `resume` continues
 * with exactly the rest of the run, whatever `numWorkers` either uses.
 *
 * @typeParam B - the training batches' `data`, what the training collate returns
 * @typeParam S - the sampler's type: {@link InterleavedSampler} when made by its `getDataLoader`
 * @typeParam C - the callback batches' `data`, what the callbacks' collates return
 * @param sampler - the interleaved sampler (its concatenated dataset and routing collate are used)
 * @param options - see {@link InterleavedLoaderOptions}
 * @example
 * ```ts
 * await using loader = sampler.getDataLoader({ numWorkers: 2 });
 * for await (const batch of loader) {
 *   if (batch.source === 'train') trainStep(batch.data);
 *   else evaluate(batch.name, batch.data, batch.last);
 * }
 * ```
 */
export class InterleavedLoader<
  B = unknown,
  S extends InterleavedLoaderSource = InterleavedLoaderSource,
  C = B,
> implements AsyncIterable<InterleavedBatch<B, C>>
{
  /** The sampler this loader runs (already moved to `resume`, if one was given). */
  readonly sampler: S;
  /** The schedule of the run, computed once without loading anything (totals for progress bars). */
  readonly plan: Plan;
  readonly #engine: LoaderEngine<IndexBatch, B | C>;
  /** The loader's seed, which a saved state records (a resume with another is refused). */
  readonly #seed: number | undefined;
  #state: ResumeState;

  constructor(sampler: S, options: InterleavedLoaderOptions = {}) {
    if (typeof options !== 'object' || options === null) {
      throw new ConfigError(`\`getDataLoader\` options must be an object, got ${describe(options)}`);
    }
    const unknown = Object.keys(options).filter((k) => !KNOWN.has(k));
    if (unknown.length > 0) {
      const why = unknown.includes('inOrder')
        ? ' (an interleaved run is always delivered in schedule order)'
        : '';
      throw new ConfigError(
        `invalid loader options: ${unknown.map((k) => unknownOption(k, KNOWN)).join('; ')}${why}`,
      );
    }
    const { resume, ...loading } = options;
    // An invalid seed is the engine's to report, with the other options.
    const seed = loading.seed ?? 0;
    this.#seed = Number.isSafeInteger(seed) && seed >= 0 ? seed : undefined;
    this.sampler =
      resume === undefined
        ? sampler
        : sampler.resumeFrom(parseResumeState(resume, 'resume.', 'loader options'), { seed: this.#seed });
    this.plan = this.sampler.plan();
    this.#engine = new LoaderEngine<IndexBatch, B | C>({
      persistentWorkers: (loading.numWorkers ?? 0) > 0,
      ...loading,
      dataset: this.sampler.dataset,
      collate: this.sampler.collator as (items: ConcatItem<unknown>[]) => B | C,
    } as EngineInit<B | C>);
    this.#state = { ...this.sampler.start, replay: this.sampler.replay };
  }

  /** Training updates from the start of the run to its end (for a progress bar's total). */
  get totalUpdates(): number {
    return this.plan.end.update;
  }

  /**
   * Where the run stands, to save in a checkpoint and pass back as `resume`: the position after the last
   * training batch consumed, and the callback passes after it not yet consumed in full (they are re-run);
   * what fixes the order of the training samples (the dataset's length, the training sampler's class and
   * `seed`, `shuffle`…; see {@link InterleavedSampler.orderState}) and the loader's `seed`, which a resume
   * must not change. In a data-parallel run, also the world size, global batch size and samples per epoch:
   * the same state on every rank, and resumable on another number of ranks with the same global batch.
   *
   * @example
   * ```ts
   * writeFileSync('loader.json', JSON.stringify(loader.state()));
   * ```
   */
  state(): ResumeState {
    const { epoch, update, sample, replay = [] } = this.#state;
    const position =
      replay.length > 0 ? { epoch, update, sample, replay: [...replay] } : { epoch, update, sample };
    // A data-parallel run also records its world size and shape, so that a resume on other ranks is checked.
    const seed = this.#seed === undefined ? {} : { seed: this.#seed };
    return { ...position, ...this.sampler.orderState, ...seed, ...this.sampler.distributedState };
  }

  /** The whole run, from the loader's start; the state moves on as batches are consumed. */
  async *[Symbol.asyncIterator](): AsyncGenerator<InterleavedBatch<B, C>, void, undefined> {
    const batches: Iterable<EngineBatch<IndexBatch>> = {
      [Symbol.iterator]: () => tagged(this.sampler.batches()),
    };
    // Every iteration replays the sampler's pending passes again, so the state starts from them too.
    this.#state = { ...this.sampler.start, replay: this.sampler.replay };
    for await (const { tag, data } of this.#engine.run(batches)) {
      if (tag.source === 'train') {
        this.#state = { ...tag.position, replay: tag.passesAfter };
      } else if (tag.last) {
        const replay = this.#state.replay ?? [];
        this.#state = { ...this.#state, replay: replay.filter((name) => name !== tag.name) };
      }
      yield { ...tag, data } as InterleavedBatch<B, C>;
    }
  }

  /** Terminates the workers. */
  close(): Promise<void> {
    return this.#engine.close();
  }

  /** Same as {@link InterleavedLoader.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Training batches draw their per-sample randomness from their epoch; callback batches from their pass. */
function* tagged(batches: Iterable<IndexBatch>): Generator<EngineBatch<IndexBatch>, void, undefined> {
  for (const b of batches)
    yield { indices: b.indices, epoch: b.source === 'train' ? b.epoch : b.pass, tag: b };
}
