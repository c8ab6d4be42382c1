import { extname } from 'node:path';
import { ConfigError } from '../core/errors.ts';
import { Random } from '../core/random.ts';
import { encode, isTypeScript, moduleUrls } from '../core/recipe.ts';
import type { EngineOptions } from './options.ts';
import { type DatasetLength, datasetLengths, type WorkerInit } from './protocol.ts';

/**
 * What the pool uses of a `worker_threads` Worker. Declared here, structurally, because the declarations of
 * internal modules are reachable from the public ones, and weft's types must check without Node's.
 */
export interface WorkerThread {
  readonly threadId: number;
  postMessage(value: unknown, transferList?: readonly ArrayBuffer[]): void;
  terminate(): Promise<number>;
  ref(): void;
  unref(): void;
  on(event: string, listener: (...args: never[]) => void): unknown;
}

/**
 * How a pool starts its workers and checks what they report (see protocol.ts, "Start-up"); made by
 * threads.ts from a {@link WorkerSetup}.
 *
 * @example
 * ```ts
 * const spawn = spawner(workerSetup(options));
 * const worker = spawn.start(0);
 * ```
 */
export interface Spawner {
  /** Starts worker `id` with everything it needs to rebuild the dataset and collate. */
  readonly start: (id: number) => WorkerThread;
  /** The ConfigError for dataset lengths a ready worker reported that differ from this thread's, if any. */
  readonly check: (id: number, lengths: readonly DatasetLength[]) => ConfigError | undefined;
}

/**
 * What starting a worker takes, prepared when the loader is constructed: the checks that can fail (a value
 * that cannot be loaded in a worker, tsx missing) fail there, while `node:worker_threads` itself is only
 * loaded with threads.ts, on the first run with workers.
 */
export interface WorkerSetup {
  /** The worker's script: the entry module's URL, or code that registers tsx first (run with `eval`). */
  readonly script: URL | string;
  /** Whether {@link WorkerSetup.script} is code rather than a URL. */
  readonly eval: boolean;
  /** The `workerData` of worker `id`: everything it needs to rebuild the dataset and collate. */
  readonly workerData: (id: number) => WorkerInit;
  /** The ConfigError for dataset lengths a ready worker reported that differ from this thread's, if any. */
  readonly check: Spawner['check'];
}

/**
 * Checks that the dataset, collate and workerInit can be rebuilt in a worker and prepares how to start
 * one: compiled modules directly, TypeScript ones through tsx.
 *
 * @param options - the engine's options (`numWorkers` > 0)
 * @returns the setup; throws ConfigError naming the value that cannot be loaded in a worker, or when a
 *   TypeScript module needs tsx and tsx is not installed
 * @example
 * ```ts
 * const setup = workerSetup(engineOptions({ dataset, collate: defaultCollate, numWorkers: 2 }));
 * ```
 */
export function workerSetup(options: EngineOptions<unknown>): WorkerSetup {
  const dataset = encode(options.dataset, 'dataset');
  const collate = encode(options.collate, 'collate');
  const workerInit = options.workerInit === undefined ? undefined : encode(options.workerInit, 'workerInit');
  const entry = new URL(`./worker${extname(new URL(import.meta.url).pathname)}`, import.meta.url).href;
  const urls = [entry, ...[dataset, collate, workerInit].flatMap((e) => (e ? moduleUrls(e) : []))];
  const ts = urls.find(isTypeScript);
  let code: string | undefined;
  if (ts !== undefined) {
    // Node does not load .ts in a worker, even under tsx: the worker does not inherit the loader.
    let api: string;
    try {
      api = import.meta.resolve('tsx/esm/api');
    } catch (e) {
      throw new ConfigError(
        `workers need tsx to load the TypeScript module ${ts}, but tsx is not installed; install it (npm install tsx) or use compiled .js modules`,
        undefined,
        { cause: e },
      );
    }
    code = `import(${JSON.stringify(api)}).then((m) => m.register()).then(() => import(${JSON.stringify(entry)}));`;
  }
  // Taken once, like the encoded dataset the workers rebuild: both describe the loader as constructed.
  const expected = new Map(datasetLengths(options.dataset));
  const { numWorkers, seed, reuseBatches } = options;
  return {
    script: code ?? new URL(entry),
    eval: code !== undefined,
    workerData: (id) => ({
      id,
      numWorkers,
      workerSeed: new Random(seed, WORKER_SEED_STREAM, id).nextUint32(),
      seed,
      dataset,
      collate,
      workerInit,
      reuseBatches,
    }),
    check: (id, lengths) => {
      const differ = lengths.filter(([path, n]) => expected.has(path) && expected.get(path) !== n);
      // A part's mismatch also changes every dataset around it: name only the innermost ones.
      const innermost = differ.filter(([path]) => !differ.some(([other]) => other.startsWith(`${path}.`)));
      if (innermost.length === 0) return undefined;
      const issues = innermost.map(
        ([path, n]) =>
          `\`${path}\` has length ${n} in worker ${id} but ${expected.get(path)} in the calling thread`,
      );
      return new ConfigError(
        `${issues.join('; ')}; a dataset must have the same length in every thread`,
        issues,
      );
    },
  };
}

/** Stream of {@link Random} that per-worker seeds are drawn from, apart from the per-sample streams. */
const WORKER_SEED_STREAM = 0x5eed;
