// The one module of the engine that loads `node:worker_threads` (besides the worker's own entry). The engine
// imports it dynamically, on its first run with workers, so that importing any other module (the sampler, a
// loader, the package's entry) never loads worker_threads, whatever the import order.
import { Worker } from 'node:worker_threads';
import type { Spawner, WorkerSetup } from './spawn.ts';

/**
 * The spawner of a pool: starts workers as `setup` describes them.
 *
 * @param setup - what the engine prepared at construction (see {@link WorkerSetup})
 * @example
 * ```ts
 * const { spawner } = await import('./threads.ts');
 * const pool = new Pool(spawner(workerSetup(options)), 2, 3);
 * ```
 */
export function spawner(setup: WorkerSetup): Spawner {
  return {
    start: (id) => new Worker(setup.script, { eval: setup.eval, workerData: setup.workerData(id) }),
    check: setup.check,
  };
}
