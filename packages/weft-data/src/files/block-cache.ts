import { isPromiseLike } from '../core/checks.ts';

/** Counters of a block cache, summed over every thread that uses the dataset. */
export interface CacheStats {
  /** Items served from a block already decoded (or being decoded) in their thread. */
  readonly hits: number;
  /** Items whose block had to be read and decoded first. */
  readonly misses: number;
  /** hits / (hits + misses), or 0 before any access. */
  readonly hitRate: number;
}

/** Shared counters [hits, misses]: every worker adds to the same memory, so the calling thread sees the sum. */
export function sharedCounters(): BigInt64Array {
  return new BigInt64Array(new SharedArrayBuffer(16));
}

/** Reads shared counters made by {@link sharedCounters}. */
export function readCounters(counters: BigInt64Array): CacheStats {
  const hits = Number(Atomics.load(counters, 0));
  const misses = Number(Atomics.load(counters, 1));
  return { hits, misses, hitRate: hits + misses === 0 ? 0 : hits / (hits + misses) };
}

/** Sets shared counters to zero. */
export function resetCounters(counters: BigInt64Array): void {
  Atomics.store(counters, 0, 0n);
  Atomics.store(counters, 1, 0n);
}

/**
 * The decoded blocks (row groups, record batches) of one thread, least recently used evicted first, at most
 * `capacity` of them. A block being decoded counts as cached: concurrent `get`s of one batch share the load.
 */
export class BlockCache<V> {
  readonly capacity: number;
  readonly #entries = new Map<number, V | Promise<V>>();
  readonly #counters: BigInt64Array;

  constructor(capacity: number, counters: BigInt64Array) {
    this.capacity = capacity;
    this.#counters = counters;
  }

  /** Block `block`, from the cache or from `load` (whose result is cached; a failed load is not). */
  get(block: number, load: (block: number) => V | Promise<V>): V | Promise<V> {
    const entries = this.#entries;
    const cached = entries.get(block);
    if (cached !== undefined) {
      Atomics.add(this.#counters, 0, 1n);
      entries.delete(block);
      entries.set(block, cached);
      return cached;
    }
    Atomics.add(this.#counters, 1, 1n);
    const value = load(block);
    if (isPromiseLike(value)) {
      const pending = Promise.resolve(value).then(
        (v) => {
          if (entries.get(block) === pending) entries.set(block, v);
          return v;
        },
        (e: unknown) => {
          if (entries.get(block) === pending) entries.delete(block);
          throw e;
        },
      );
      this.#put(block, pending);
      return pending;
    }
    this.#put(block, value);
    return value;
  }

  /** Number of blocks held now. */
  get size(): number {
    return this.#entries.size;
  }

  #put(block: number, value: V | Promise<V>): void {
    this.#entries.set(block, value);
    while (this.#entries.size > this.capacity) {
      this.#entries.delete(this.#entries.keys().next().value as number);
    }
  }
}

/** The block that item `index` falls in: `offsets` holds each block's first item, then the total. */
export function blockOf(offsets: ArrayLike<number>, index: number): number {
  let lo = 0;
  let hi = offsets.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if ((offsets[mid] as number) <= index) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
