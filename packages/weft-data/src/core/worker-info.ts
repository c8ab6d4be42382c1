import type { Random } from './random.ts';

/** Who is loading: the worker's id, the pool size and the worker's own seed. */
export interface WorkerInfo {
  /** Id of this worker, 0 ≤ id < numWorkers. A replacement for a crashed worker keeps the id. */
  readonly id: number;
  /** Number of workers in the pool. */
  readonly numWorkers: number;
  /** A seed for this worker, derived from the loader's `seed` and the worker id. */
  readonly seed: number;
}

/**
 * What a dataset's `get` receives besides the index: the epoch, the loader seed and a random source.
 *
 * Augmentations that draw from {@link SampleContext.random} depend only on (seed, epoch, index), so a
 * batch is the same whichever worker loads it and however many workers there are.
 *
 * @example
 * ```ts
 * const noisy: Dataset<number> = { length: 10, get: (i, ctx) => i + (ctx?.random().normal() ?? 0) };
 * ```
 */
export interface SampleContext {
  /** The epoch the sample is loaded for. */
  readonly epoch: number;
  /** The loader's seed. */
  readonly seed: number;
  /** `new Random(seed, epoch, index)`; created on the first call, the same generator afterwards. */
  random(): Random;
}

// On globalThis rather than in a module variable, so a dataset module that reached weft through another
// path (src vs dist, or a second copy) still sees the info the worker entry set.
const INFO = Symbol.for('weft.workerInfo');
type Holder = { [INFO]?: WorkerInfo };

/**
 * The current worker's id, pool size and seed; `undefined` in the main thread.
 *
 * Torch's `get_worker_info()`: use it in a dataset factory or `workerInit` to shard work between workers.
 *
 * @example
 * ```ts
 * const info = getWorkerInfo();
 * const shard = info ? files.filter((_, k) => k % info.numWorkers === info.id) : files;
 * ```
 */
export function getWorkerInfo(): WorkerInfo | undefined {
  return (globalThis as Holder)[INFO];
}

/** Sets the info {@link getWorkerInfo} returns; called once by the worker entry. @internal */
export function setWorkerInfo(info: WorkerInfo): void {
  (globalThis as Holder)[INFO] = Object.freeze({ ...info });
}
