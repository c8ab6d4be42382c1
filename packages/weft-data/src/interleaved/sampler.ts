// The interleaved sampler: the run's options resolved once (init.ts), then the stream of tagged index batches,
// and the loading members of the seed's API (the concatenated dataset, the routing collate, the loader).
import type { Collate } from '../collate/collate.ts';
import type { BatchMadeBy, BatchOf, SamplerDataset } from '../collate/collated.ts';
import { layoutCollate } from '../collate/layout.ts';
import { describe } from '../core/checks.ts';
import type { Dataset, ItemOf } from '../core/dataset.ts';
import { ConfigError } from '../core/errors.ts';
import { epochIndices } from '../core/indices.ts';
import type { Sampler } from '../core/sampler.ts';
import { ConcatDataset, type ConcatItem } from '../datasets/basic.ts';
import type { CallbackIndexBatch, IndexBatch, InterleavedBatchSampler } from './batches.ts';
import type { InterleavedSamplerConfig, SamplerIntervalConfig } from './config.ts';
import {
  type AnyInit,
  type CallbackInput,
  type InterleavedSamplerInit,
  resumedParts,
  type SamplerParts,
  samplerParts,
} from './init.ts';
import { InterleavedLoader, type InterleavedLoaderOptions } from './loader.ts';
import {
  checkResume,
  type DistributedState,
  type OrderState,
  parseResumeState,
  type ResumeState,
  samplerRecord,
} from './resume.ts';
import { routeCollate } from './route-collate.ts';
import { type Plan, type Position, Schedule } from './schedule.ts';

/**
 * The `data` of a callback's batches, for a callback given as `C` (an element of `callbackSamplers`): what its
 * `collate` (or `pipeline`) returns, else the default collate's batch of its sampler's dataset.
 *
 * @example
 * ```ts
 * type B = CallbackBatchOf<{ sampler: SequentialSampler<ImageFolder>; everyNEpochs: 1 }>; // { image: …; label: Int32Array }
 * ```
 */
export type CallbackBatchOf<C> = C extends unknown
  ? BatchMadeBy<
      C extends {
        /** The callback's collate. */
        readonly collate: infer F;
      }
        ? F
        : C extends {
              /** The callback's collate, by its alias. */
              readonly pipeline: infer F;
            }
          ? F
          : undefined,
      SamplerDataset<
        C extends {
          /** The callback's sampler. */
          readonly sampler: infer S;
        }
          ? S
          : undefined
      >
    >
  : never;

// The parts of a resumed sampler, already checked (see resumeFrom), keyed by the options they stand for.
const resumed = new WeakMap<AnyInit, SamplerParts>();

/**
 * One stream of indices over the training dataset, paused at configured intervals for complete passes
 * over callback (evaluation) datasets; all datasets laid end to end in one index space.
 *
 * The TypeScript counterpart of ksuit/noether's `InterleavedSampler`; the behaviour is specified in
 * `docs/spec/interleaved-sampler.md`. Iterating it yields `[index, endsBatch]` pairs as the spec describes;
 * {@link InterleavedSampler.batchSampler} yields whole tagged batches and is what loaders consume. When the
 * steps fall is the business of the schedule (`interleaved/schedule.ts`); the options are checked in
 * `interleaved/init.ts`; {@link InterleavedSampler.getDataLoader} runs the whole stream through one
 * {@link InterleavedLoader} (whose workers load `node:worker_threads` only when a run with workers starts).
 *
 * The type parameters come from `init`: the training sampler's dataset (or `trainCollate`) types the training
 * batches of {@link InterleavedSampler.getDataLoader}, each callback's sampler (or collate) its batches.
 *
 * @typeParam S - the training sampler's type
 * @typeParam TB - the training batches: what `trainCollate` returns, else the default collate's batch
 * @typeParam CB - the callbacks' types, as given
 * @param init - the training sampler, config, training collate and callback configs
 * @example
 * ```ts
 * const sampler = new InterleavedSampler({
 *   trainSampler: new RandomSampler(trainSet, { seed: 1 }),
 *   config: { batchSize: 32, maxEpochs: 3 },
 *   callbackSamplers: [{ sampler: new SequentialSampler(testSet), everyNEpochs: 1, name: 'test' }],
 * });
 * for (const batch of sampler.batchSampler) console.log(batch.source, batch.indices.length);
 * ```
 */
export class InterleavedSampler<
  S extends Sampler = Sampler,
  TB = BatchOf<SamplerDataset<S>>,
  const CB extends readonly CallbackInput[] = readonly CallbackInput[],
> implements Iterable<[index: number, endsBatch: boolean]>
{
  /** The training config, validated (an {@link InterleavedSamplerConfig} even when plain options were given). */
  readonly config: InterleavedSamplerConfig;
  /** The training sampler: {@link InterleavedSamplerInit.trainSampler}. */
  readonly mainSampler: S;
  /**
   * The callbacks, in order, each as a {@link SamplerIntervalConfig}: from
   * {@link InterleavedSamplerInit.callbackSamplers}.
   */
  readonly extraSamplers: readonly SamplerIntervalConfig[];
  /** The main dataset followed by every callback dataset, in index-space order. */
  readonly datasets: readonly Dataset<unknown>[];
  /**
   * The collate of each of {@link InterleavedSampler.datasets} as given (`undefined`: the default collate,
   * with the dtypes of that dataset's `layout`).
   */
  readonly collates: readonly (Collate | undefined)[];
  /** Start of each callback dataset in the global index space (callback k at `indexOffsets[k]`). */
  readonly indexOffsets: readonly number[];
  /** Names of the callbacks whose passes run first, before training resumes. */
  readonly replay: readonly string[];
  /** Tagged index batches, the form a loader consumes. */
  readonly batchSampler: InterleavedBatchSampler;
  readonly #parts: SamplerParts;
  // Private fields stay writable in a frozen object: the loading parts are built on first use.
  #dataset: ConcatDataset<unknown> | undefined;
  #collator: Collate<ConcatItem<unknown>> | undefined;

  constructor(init: InterleavedSamplerInit<S, TB, CB>) {
    const parts = resumed.get(init) ?? samplerParts(init);
    const { config, trainSampler, callbacks, datasets } = parts;
    this.#parts = parts;
    this.config = config;
    this.mainSampler = trainSampler as S;
    this.extraSamplers = Object.freeze(callbacks);
    this.datasets = Object.freeze(datasets);
    this.collates = Object.freeze([
      parts.trainCollate,
      ...callbacks.map((c) => c.collate as Collate | undefined),
    ]);
    this.indexOffsets = Object.freeze(parts.offsets);
    this.replay = parts.replay;
    this.batchSampler = Object.freeze({
      batchSize: config.batchSize,
      [Symbol.iterator]: () => this.batches(),
    });
    Object.freeze(this);
  }

  /** The main dataset followed by every callback dataset, as one {@link ConcatDataset} (built on first use). */
  get dataset(): ConcatDataset<unknown> {
    this.#dataset ??= new ConcatDataset(this.datasets);
    return this.#dataset;
  }

  /**
   * Collates a batch of {@link ConcatItem}s with its own dataset's collate (a dataset without one: the
   * default collate with its layout's dtypes) and rejects mixed batches (built on first use; see
   * {@link routeCollate}).
   */
  get collator(): Collate<ConcatItem<unknown>> {
    const collator =
      this.#collator ?? routeCollate(this.collates.map((c, k) => c ?? layoutCollate(this.datasets[k])));
    this.#collator = collator;
    return collator;
  }

  /**
   * The loader of this run: the concatenated dataset, the tagged batch sampler and the routing collate,
   * with one persistent worker pool (the seed's `get_data_loader`; its `pin_memory` is accepted as
   * `pinMemory` and changes nothing, see `DataLoaderOptions.pinMemory`). Same as
   * `new InterleavedLoader(sampler, options)`. Training batches' `data` is typed by the training dataset
   * (or `trainCollate`), callback batches' by theirs: narrow on `batch.source`.
   *
   * @param options - `numWorkers`, `prefetchFactor`, `timeout`, `seed`, `resume`, `pinMemory`, … @default {}
   * @example
   * ```ts
   * const loader = sampler.getDataLoader({ numWorkers: 4, pinMemory: true }); // the seed's call, ported
   * ```
   */
  getDataLoader(
    options: InterleavedLoaderOptions = {},
  ): InterleavedLoader<TB, InterleavedSampler<S, TB, CB>, CallbackBatchOf<CB[number]>> {
    return new InterleavedLoader<TB, InterleavedSampler<S, TB, CB>, CallbackBatchOf<CB[number]>>(
      this,
      options,
    );
  }

  /** The effective training batch size: `batchSize`, or the sampler's length when `dropLast` and shorter. */
  get batchSize(): number {
    return this.#parts.schedule.batchSize;
  }

  /** The position the stream starts from (all zeros unless a `start*` field is set). */
  get start(): Position {
    return this.#parts.schedule.start;
  }

  /** Number of ranks the training sampler is a shard of (its `numReplicas`); 1 outside a data-parallel run. */
  get worldSize(): number {
    return this.#parts.schedule.worldSize;
  }

  /**
   * What a saved state records about a data-parallel run (`undefined` unless the training sampler has
   * `numReplicas`): a resume on another number of ranks checks it to continue exactly.
   */
  get distributedState(): DistributedState | undefined {
    if (this.mainSampler.numReplicas === undefined) return undefined;
    const s = this.#parts.schedule;
    return {
      worldSize: s.worldSize,
      globalBatchSize: s.globalBatchSize,
      datasetLength: (this.datasets[0] as Dataset<unknown>).length,
      epochSamples: s.samplesPerEpoch,
    };
  }

  /**
   * What fixes the order of the training samples, which a saved state records and a resume checks: the
   * training dataset's length and the training sampler's class, `seed`, `shuffle`… (see {@link OrderState}).
   */
  get orderState(): OrderState {
    return {
      datasetLength: (this.datasets[0] as Dataset<unknown>).length,
      trainSampler: samplerRecord(this.mainSampler),
    };
  }

  /**
   * The start position (epoch, update, sample) a config asks for, given the training sampler's length.
   * Samples count all ranks: `startSample` and the returned `sample` are global.
   *
   * @param config - the sampler config (its `start*` field is used)
   * @param samplerLength - length of the training sampler (one rank's shard)
   * @param worldSize - number of ranks, each with a shard of that length. @default 1
   * @example
   * ```ts
   * InterleavedSampler.calculateStart(new InterleavedSamplerConfig({ batchSize: 4, maxEpochs: 9, startUpdate: 5 }), 10);
   * // { epoch: 2, update: 5, sample: 20 } (dropLast: 2 updates of 4 per epoch)
   * ```
   */
  static calculateStart(config: InterleavedSamplerConfig, samplerLength: number, worldSize = 1): Position {
    return Schedule.startOf(config, samplerLength, worldSize);
  }

  /**
   * The same sampler, started from a saved {@link ResumeState} instead of its configured start. The state
   * must record what fixes the order ({@link InterleavedSampler.orderState}, as a loader's `state()` does),
   * unchanged here; and, with `seed`, the loader's seed. Anything that would not continue exactly is a
   * {@link ConfigError} naming it, with its value in the state and here.
   *
   * @param state - a position after an update with what fixes the order (a loader's `state()`)
   * @param options - `seed`: the seed of the loader that resumes, checked against the state's @default {}
   * @example
   * ```ts
   * const resumed = sampler.resumeFrom(JSON.parse(readFileSync('checkpoint.json', 'utf8')));
   * ```
   */
  resumeFrom(state: ResumeState, options: { readonly seed?: number } = {}): InterleavedSampler<S, TB, CB> {
    const valid = parseResumeState(state, 'state.', 'resume state');
    checkResume(valid, this.orderState, this.distributedState, this.config.batchSize, options.seed);
    const parts = resumedParts(this.#parts, valid);
    // The same training sampler and callbacks (as config objects), so the same types.
    const init: InterleavedSamplerInit<S, TB, CB> = {
      trainSampler: this.mainSampler,
      config: parts.config,
      trainCollate: parts.trainCollate as Collate<ItemOf<SamplerDataset<S>>, TB> | undefined,
      callbackSamplers: this.extraSamplers as readonly CallbackInput[] as CB,
      replay: parts.replay,
    };
    resumed.set(init, parts);
    const sampler = new InterleavedSampler<S, TB, CB>(init);
    const start = sampler.start;
    if (start.epoch !== valid.epoch || start.sample !== valid.sample) {
      throw new ConfigError(
        `\`state\` does not fit this sampler: update ${describe(valid.update)} is at epoch ${start.epoch}, sample ${start.sample} here, but the state says epoch ${describe(valid.epoch)}, sample ${describe(valid.sample)} (did the batch size or the dataset change?)`,
      );
    }
    return sampler;
  }

  /** Yields the stream as `[globalIndex, endsBatch]` pairs, as the spec describes it. */
  *[Symbol.iterator](): Iterator<[index: number, endsBatch: boolean]> {
    for (const { indices } of this.batches()) {
      const last = indices.length - 1;
      for (let i = 0; i <= last; i++) yield [indices[i] as number, i === last];
    }
  }

  /**
   * Yields the stream batch by batch, each tagged with its source and position.
   *
   * @example
   * ```ts
   * for (const b of sampler.batches()) if (b.source === 'train') console.log(b.position.update);
   * ```
   */
  *batches(): Generator<IndexBatch, void, undefined> {
    const mainLength = (this.datasets[0] as Dataset<unknown>).length;
    let order: Uint32Array = new Uint32Array(0);
    let orderEpoch = -1;
    for (const step of this.#parts.schedule.steps()) {
      if (step.kind === 'pass') {
        yield* this.#pass(step.callback, step.pass, step.afterUpdate);
        continue;
      }
      if (step.epoch !== orderEpoch) {
        this.mainSampler.setEpoch?.(step.epoch);
        order = epochIndices(this.mainSampler, mainLength, '`trainSampler`');
        orderEpoch = step.epoch;
      }
      const { epoch, position, endsEpoch, passesAfter } = step;
      const indices = order.slice(step.from, step.to);
      yield { source: 'train', dataset: 0, indices, epoch, position, endsEpoch, passesAfter };
    }
  }

  /**
   * The whole schedule in closed form, without touching any sampler or data and in time independent of the
   * run's length: totals, and for each callback its passes and the updates after which they run.
   *
   * @example
   * ```ts
   * const p = sampler.plan();
   * console.log(p.updates, p.callbacks.map((c) => c.passes), p.evaluationShare);
   * ```
   */
  plan(): Plan {
    return this.#parts.schedule.plan();
  }

  *#pass(
    k: number,
    pass: number,
    afterUpdate: number | undefined,
  ): Generator<CallbackIndexBatch, void, undefined> {
    const c = this.extraSamplers[k] as SamplerIntervalConfig;
    const offset = this.indexOffsets[k] as number;
    const order = epochIndices(
      c.sampler,
      (this.datasets[k + 1] as Dataset<unknown>).length,
      `\`callbackSamplers[${k}].sampler\``,
    );
    const size = c.batchSize ?? this.#parts.schedule.batchSize;
    const n = order.length;
    const name = this.#parts.names[k] as string;
    const realLength = (c.sampler.realLength ?? n) as number;
    for (let pos = 0, batch = 0; pos < n; pos += size, batch++) {
      const end = Math.min(pos + size, n);
      const indices = new Uint32Array(end - pos);
      for (let i = 0; i < indices.length; i++) indices[i] = (order[pos + i] as number) + offset;
      yield {
        source: 'callback',
        callback: k,
        name,
        dataset: k + 1,
        indices,
        pass,
        batch,
        last: end === n,
        real: Math.max(0, Math.min(end, realLength) - pos),
        afterUpdate,
      };
    }
  }
}
