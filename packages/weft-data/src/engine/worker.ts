// Entry of a loader worker: rebuilds the dataset and collate, then answers fetch requests (see protocol.ts).
import { parentPort, workerData } from 'node:worker_threads';
import type { Collate } from '../collate/collate.ts';
import { FreeBuffers, isPooled } from '../collate/in-place.ts';
import { isPromiseLike } from '../core/checks.ts';
import type { Dataset } from '../core/dataset.ts';
import { decode } from '../core/recipe.ts';
import { getWorkerInfo, setWorkerInfo, type WorkerInfo } from '../core/worker-info.ts';
import { type FetchFailure, fetchBatch } from './fetch.ts';
import {
  datasetLengths,
  type FetchRequest,
  serializeError,
  type WorkerInit,
  type WorkerMessage,
} from './protocol.ts';
import { collectTransferables } from './transfer.ts';

const port = parentPort!;
const init = workerData as WorkerInit;
const post = (message: WorkerMessage, transfer?: ArrayBuffer[]): void => port.postMessage(message, transfer);

setWorkerInfo({ id: init.id, numWorkers: init.numWorkers, seed: init.workerSeed });
/** Memory the main thread sent back, which batches written in place reuse (see protocol.ts, "Batch memory"). */
const free = init.reuseBatches ? new FreeBuffers() : undefined;

try {
  const [dataset, collate, workerInit] = await Promise.all([
    decode(init.dataset) as Promise<Dataset<unknown>>,
    decode(init.collate) as Promise<Collate>,
    init.workerInit && (decode(init.workerInit) as Promise<(info: WorkerInfo) => unknown>),
  ]);
  await workerInit?.(getWorkerInfo() as WorkerInfo);
  port.on('message', (request: FetchRequest) => handle(dataset, collate, request));
  post({ type: 'ready', lengths: datasetLengths(dataset) });
} catch (e) {
  post({ type: 'init-error', error: serializeError(e) });
}

function handle(
  dataset: Dataset<unknown>,
  collate: Collate,
  { task, indices, epoch, buffers }: FetchRequest,
): void {
  if (buffers !== undefined) free?.give(buffers);
  const fail = (stage: 'get' | 'collate' | 'send', error: unknown, index?: number): void => {
    const source = sourceOf(dataset, index ?? indices[0]);
    post({
      type: 'error',
      task,
      worker: init.id,
      stage,
      index,
      dataset: source,
      error: serializeError(error),
    });
  };
  // fetchBatch throws only FetchFailures: with an index from a `get`, without one from collate.
  const failed = (e: unknown): void => {
    const { cause, index } = e as FetchFailure;
    fail(index === undefined ? 'collate' : 'get', cause, index);
  };
  const send = (data: unknown): void => {
    try {
      post({ type: 'batch', task, data, pooled: isPooled(data) }, collectTransferables(data));
    } catch (e) {
      fail('send', e);
    }
  };
  let data: unknown;
  try {
    data = fetchBatch(dataset, collate, indices, epoch, init.seed, free);
  } catch (e) {
    failed(e);
    return;
  }
  if (isPromiseLike(data)) Promise.resolve(data).then(send, failed);
  else send(data);
}

/** Which dataset of a concatenation (anything with `locate`) a sample comes from, for error messages. */
function sourceOf(dataset: Dataset<unknown>, index: number | undefined): number | undefined {
  const locate = (dataset as { locate?: (i: number) => { dataset: number } }).locate;
  if (index === undefined || typeof locate !== 'function') return undefined;
  try {
    return locate.call(dataset, index).dataset;
  } catch {
    return undefined;
  }
}
