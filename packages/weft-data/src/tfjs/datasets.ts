// The tf.data views of weft's loaders, for model.fitDataset: each element is made inside tf.tidy from a
// converted batch. A DataLoader starts an epoch per iteration; an interleaved run is read once, one
// training epoch per iteration.
import { describe } from '../core/checks.ts';
import { ConfigError } from '../core/errors.ts';
import type { DataLoader } from '../engine/data-loader.ts';
import type { CallbackIndexBatch, TrainIndexBatch } from '../interleaved/batches.ts';
import type { InterleavedLoader } from '../interleaved/loader.ts';
import { convertBatch } from './convert.ts';
import {
  checkTf,
  DEFAULT_OPTIONS,
  INTERLEAVED_DATASET,
  type ResolvedOptions,
  resolveOptions,
  type ToTensorsOptions,
} from './options.ts';
import type { Tensors, TfCore, TfDataset, TfTensorContainer, TfWithData } from './types.ts';

type Next<T> = Promise<IteratorResult<T, undefined>>;
const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

function checkMap(map: unknown, what: string): void {
  if (typeof map !== 'function') {
    throw new ConfigError(
      `\`${what}\`: \`map\` must be a function from a batch to the dataset's element ` +
        `(\`{ xs, ys }\` for fitDataset), got ${describe(map)}`,
    );
  }
}

/**
 * One dataset element, inside `tf.tidy`: the batch converted, given to `map`, and what `map` returns
 * converted too (arrays it returns as they are); tensors made along the way and not returned are freed.
 */
function element<T>(
  tf: TfCore,
  o: ResolvedOptions,
  raw: unknown,
  map: (tensors: T) => unknown,
): TfTensorContainer {
  return tf.tidy(
    () => convertBatch(tf, map(convertBatch(tf, raw, o) as T), DEFAULT_OPTIONS) as TfTensorContainer,
  );
}

/**
 * A `tf.data.Dataset` view of a {@link DataLoader} (or any async iterable that starts a new epoch each
 * time it is iterated), for `model.fitDataset` and `model.evaluateDataset`: each iteration of the dataset
 * (each epoch of `fitDataset`) iterates a new epoch of the loader, so it sees that epoch's order, loaded
 * by the loader's workers. Each batch is converted by {@link toTensors} and given to `map`, inside
 * `tf.tidy`: the tensors `map` returns are the element, the others are freed; `fitDataset` disposes the
 * elements after each step.
 *
 * The loader's epoch starts on the first element asked for (so that `fitDataset`'s extra up-front
 * iterator takes no epoch); a new iteration ends one left unfinished (`stopTraining`). Close the loader
 * when done with it (`await loader.close()`, or `await using`).
 *
 * @param tf - the TensorFlow.js namespace, with `tf.data` (see {@link TfWithData})
 * @param loader - the loader; each `[Symbol.asyncIterator]()` call is one epoch
 * @param map - the converted batch to the element: `{ xs, ys }` for `fitDataset` (tensors, or objects of them by input and output name)
 * @param options - dtype rules; see {@link ToTensorsOptions}
 * @returns a dataset of converted elements
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * const loader = new DataLoader({ dataset, batchSize: 32, shuffle: true, numWorkers: 2 });
 * const toElement = (b) => ({ xs: b.image, ys: tf.oneHot(b.label, 10) });
 * const ds = loaderDataset(tf, loader, toElement, { float64: 'int32' });
 * const validationData = loaderDataset(tf, testLoader, toElement, { float64: 'int32' });
 * await model.fitDataset(ds, { epochs: 5, validationData });
 * await loader.close();
 * ```
 */
export function loaderDataset<B, M>(
  tf: TfWithData,
  loader: AsyncIterable<B>,
  map: (batch: Tensors<B>) => M,
  options?: ToTensorsOptions,
): TfDataset<M> {
  const t = checkTf<TfWithData>(tf, 'loaderDataset', true);
  if (typeof (loader as Partial<AsyncIterable<B>> | null)?.[Symbol.asyncIterator] !== 'function') {
    throw new ConfigError(`\`loaderDataset\`: \`loader\` must be a DataLoader, got ${describe(loader)}`);
  }
  if (typeof (loader as { state?: unknown }).state === 'function' && 'plan' in loader) {
    throw new ConfigError(
      '`loaderDataset`: an InterleavedLoader iterates its whole run at once; use `interleavedDataset`',
    );
  }
  checkMap(map, 'loaderDataset');
  const o = resolveOptions(options, 'loaderDataset');
  let open: AsyncIterator<B> | undefined;
  const iterator = (): AsyncIterator<TfTensorContainer, undefined> => {
    let it: AsyncIterator<B> | undefined;
    return {
      next: async (): Next<TfTensorContainer> => {
        if (it === undefined) {
          const previous = open;
          open = undefined;
          await previous?.return?.();
          it = open = loader[Symbol.asyncIterator]();
        }
        const r = await it.next();
        if (r.done) {
          if (open === it) open = undefined;
          return DONE;
        }
        try {
          return { done: false, value: element(t, o, r.value, map) };
        } catch (e) {
          if (open === it) open = undefined;
          await it.return?.();
          throw e;
        }
      },
    };
  };
  return t.data.generator(iterator as () => AsyncIterator<TfTensorContainer>) as TfDataset<M>;
}

/**
 * A training batch of an {@link InterleavedLoader}: its tags and collated `data`.
 *
 * @example
 * ```ts
 * const map = (data: Tensors<B>, batch: InterleavedTrainBatch<B>) => ({ xs: data.x, ys: data.y }); // batch.epoch, batch.position
 * ```
 */
export type InterleavedTrainBatch<B> = TrainIndexBatch & {
  /** The batch's items, collated by the training collate (`trainCollate`). */
  readonly data: B;
};
/**
 * A callback (evaluation) batch of an {@link InterleavedLoader}: its tags and collated `data`.
 *
 * @example
 * ```ts
 * const onCallback = (batch: InterleavedCallbackBatch<B>) => { if (batch.last) console.log(batch.name, batch.pass); };
 * ```
 */
export type InterleavedCallbackBatch<B> = CallbackIndexBatch & {
  /** The batch's items, collated by the callback's `collate` (not converted to tensors). */
  readonly data: B;
};

/**
 * Options of {@link interleavedDataset}: the dtype rules, and what to do with callback batches.
 *
 * @example
 * ```ts
 * const options: InterleavedDatasetOptions<C> = { float64: 'int32', onCallback: (batch) => evaluate(batch) };
 * ```
 *
 * @typeParam C - the callback batches' `data`
 */
export interface InterleavedDatasetOptions<C> extends ToTensorsOptions {
  /**
   * Called (and awaited) with each callback batch met between training batches, in schedule order, before
   * the next training batch is read; the batch's `data` is not converted (see {@link withTensors}).
   * @default undefined (callback batches are skipped)
   */
  onCallback?: (batch: InterleavedCallbackBatch<C>) => unknown;
}

/**
 * What {@link interleavedDataset} needs of an {@link InterleavedLoader}: any async iterable of tagged
 * training and callback batches (an {@link InterleavedLoader} is one; so is a test double).
 *
 * @typeParam B - the training batches' `data`
 * @typeParam C - the callback batches' `data` @default B
 * @example
 * ```ts
 * const run: InterleavedRun<TrainBatch, TestBatch> = sampler.getDataLoader({ numWorkers: 2 });
 * ```
 */
export type InterleavedRun<B, C = B> = AsyncIterable<InterleavedTrainBatch<B> | InterleavedCallbackBatch<C>>;

/**
 * A `tf.data.Dataset` view of an {@link InterleavedLoader}'s training batches, for `model.fitDataset`:
 * each iteration of the dataset (each epoch of `fitDataset`) reads the run's next training epoch — its
 * batches up to the first one of a later epoch — and hands the callback batches met on the way, including
 * those scheduled after the epoch's last update, to `onCallback`. Elements are made as in
 * {@link loaderDataset}: `map(tensors, batch)` inside `tf.tidy`, with `batch.data` converted.
 *
 * The run is read once, across iterations: an iteration left unfinished is taken up by the next one, and
 * once the run is over every iteration is empty. Give `fitDataset` as many epochs as the run has
 * (`loader.plan.epochs`, plus one for a final partial epoch), and close the loader when done.
 *
 * @param tf - the TensorFlow.js namespace, with `tf.data` (see {@link TfWithData})
 * @param loader - the interleaved loader (`sampler.getDataLoader(...)`)
 * @param map - a training batch's converted `data` (and its tags) to the element: `{ xs, ys }` for `fitDataset`
 * @param options - dtype rules and `onCallback`; see {@link InterleavedDatasetOptions}
 * @returns a dataset of converted training elements
 * @example
 * ```ts
 * await using loader = sampler.getDataLoader({ numWorkers: 2 });
 * const ds = interleavedDataset(tf, loader, (b) => ({ xs: b.x, ys: b.y }), {
 *   onCallback: (batch) => withTensors(tf, batch.data, ({ x, y }) => evaluate(batch.name, x, y, batch.last)),
 * });
 * await model.fitDataset(ds, { epochs: loader.plan.epochs });
 * ```
 */
export function interleavedDataset<B, C, M>(
  tf: TfWithData,
  loader: InterleavedRun<B, C>,
  map: (data: Tensors<B>, batch: InterleavedTrainBatch<B>) => M,
  options?: InterleavedDatasetOptions<C>,
): TfDataset<M> {
  const t = checkTf<TfWithData>(tf, 'interleavedDataset', true);
  if (
    typeof (loader as Partial<InterleavedRun<B, C>> | null)?.[Symbol.asyncIterator] !== 'function' ||
    !('plan' in loader)
  ) {
    throw new ConfigError(
      `\`interleavedDataset\`: \`loader\` must be an InterleavedLoader (\`sampler.getDataLoader()\`), got ${describe(loader)}`,
    );
  }
  checkMap(map, 'interleavedDataset');
  const o = resolveOptions(options, 'interleavedDataset', INTERLEAVED_DATASET);
  const onCallback = options?.onCallback;
  let run: AsyncIterator<InterleavedTrainBatch<B> | InterleavedCallbackBatch<C>> | undefined;
  let stashed: InterleavedTrainBatch<B> | undefined;
  let over = false;
  const iterator = (): AsyncIterator<TfTensorContainer, undefined> => {
    let epoch: number | undefined;
    return {
      next: async (): Next<TfTensorContainer> => {
        for (;;) {
          let batch = stashed;
          stashed = undefined;
          if (batch === undefined) {
            if (over) return DONE;
            run ??= loader[Symbol.asyncIterator]();
            const r = await run.next();
            if (r.done) {
              over = true;
              return DONE;
            }
            if (r.value.source === 'callback') {
              await onCallback?.(r.value);
              continue;
            }
            batch = r.value;
          }
          if (epoch === undefined) epoch = batch.epoch;
          else if (batch.epoch !== epoch) {
            stashed = batch;
            return DONE;
          }
          const b = batch;
          return { done: false, value: element(t, o, b.data, (x: Tensors<B>) => map(x, b)) };
        }
      },
    };
  };
  return t.data.generator(iterator as () => AsyncIterator<TfTensorContainer>) as TfDataset<M>;
}
