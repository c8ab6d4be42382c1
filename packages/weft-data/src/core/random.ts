import { describe, fail } from './checks.ts';
import { ConfigError } from './errors.ts';

/**
 * The typed or plain arrays {@link Random.shuffle} can permute in place: anything with a length and writable
 * numeric indices.
 *
 * @example
 * ```ts
 * const a: Shuffleable = new Uint32Array([0, 1, 2]);
 * ```
 */
export type Shuffleable = {
  /** Number of elements; indices 0 to `length - 1` are permuted. */
  length: number;
  /** The element at each index, read and written in place. */
  [index: number]: unknown;
};

// murmur3's 32-bit finaliser: a full-avalanche mix, so nearby keys (epoch 1 vs 2) give unrelated states.
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const isKey = (v: number): boolean => Number.isSafeInteger(v) && v >= 0;

/**
 * Every bad number of a key, in the words of `randomKey` (core/validate.ts). A generator per sample is made on
 * the hot path, in every worker: it is checked here, as checks.ts checks indices, so that loading a worker
 * does not load zod.
 */
function checkKey(seed: number, stream: readonly number[]): void {
  const named: [string, number][] = [
    ['seed', seed],
    ...stream.map((v, i): [string, number] => [`stream[${i}]`, v]),
  ];
  const bad = named.filter(([, v]) => !isKey(v));
  if (bad.length > 0) {
    fail(
      undefined,
      bad.map(([name, v]) => `\`${name}\` must be a non-negative safe integer, got ${describe(v)}`),
    );
  }
}

/**
 * A small seeded random generator: xoshiro128** (Blackman & Vigna, 2018) with 32-bit words.
 *
 * Seeding: the key (seed, ...stream) is absorbed word by word (each number contributes its low and high
 * 32 bits) into a running hash with murmur3's fmix32; the four state words are then drawn SplitMix-style
 * as fmix32(hash + k·0x9e3779b9). So `new Random(seed, epoch, index)` is an independent, reproducible stream
 * per (seed, epoch, index), whichever thread computes it.
 *
 * @param seed - non-negative safe integer
 * @param stream - further non-negative safe integers that select an independent stream
 * @example
 * ```ts
 * const r = new Random(42, 0, 17); // seed 42, epoch 0, sample 17
 * r.next(); // a float in [0, 1)
 * r.int(10); // an integer in [0, 10)
 * ```
 */
export class Random {
  #a: number;
  #b: number;
  #c: number;
  #d: number;
  #spare: number | undefined;

  constructor(seed: number, ...stream: number[]) {
    let h = 0x243f6a88;
    const absorb = (word: number) => {
      h = fmix32((h ^ word) + 0x9e3779b9);
    };
    if (!isKey(seed) || !stream.every(isKey)) checkKey(seed, stream);
    for (const x of [seed, ...stream]) {
      absorb(x >>> 0);
      absorb(Math.floor(x / 0x100000000));
    }
    absorb(stream.length);
    this.#a = fmix32(h + 0x9e3779b9);
    this.#b = fmix32(h + 0x3c6ef372);
    this.#c = fmix32(h + 0xdaa66d2b);
    this.#d = fmix32(h + 0x78dde6e4);
    if ((this.#a | this.#b | this.#c | this.#d) === 0) this.#a = 1; // the all-zero state is a fixed point
  }

  /** The next 32 random bits as an unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.#b, 5), 7), 9) >>> 0;
    const t = this.#b << 9;
    this.#c ^= this.#a;
    this.#d ^= this.#b;
    this.#b ^= this.#c;
    this.#a ^= this.#d;
    this.#c ^= t;
    this.#d = rotl(this.#d, 11);
    return result;
  }

  /** A float in [0, 1) with 53 random bits (two draws). */
  next(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /**
   * An unbiased integer in [0, n), by rejection of the biased tail.
   *
   * @param n - positive integer ≤ 2^32
   */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 0x100000000) {
      throw new ConfigError(`\`n\` must be an integer in [1, 2^32], got ${describe(n)}`);
    }
    const limit = 0x100000000 - (0x100000000 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /**
   * A normally distributed number (Box–Muller; the second value of each pair is kept for the next call).
   *
   * @param mean - mean of the distribution (default 0)
   * @param std - standard deviation of the distribution (default 1)
   */
  normal(mean = 0, std = 1): number {
    let z = this.#spare;
    if (z === undefined) {
      const u = 1 - this.next();
      const v = this.next();
      const r = Math.sqrt(-2 * Math.log(u));
      z = r * Math.cos(2 * Math.PI * v);
      this.#spare = r * Math.sin(2 * Math.PI * v);
    } else {
      this.#spare = undefined;
    }
    return mean + std * z;
  }

  /**
   * Shuffles `array` in place (Fisher–Yates) and returns it.
   *
   * @param array - a plain or typed array; it is modified
   * @returns the same array, permuted
   */
  shuffle<A extends Shuffleable>(array: A): A {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = array[i];
      array[i] = array[j];
      array[j] = t;
    }
    return array;
  }

  /**
   * A random permutation of 0..n-1.
   *
   * @param n - number of elements (a non-negative integer)
   */
  permutation(n: number): Uint32Array {
    const out = new Uint32Array(n);
    for (let i = 0; i < n; i++) out[i] = i;
    return this.shuffle(out);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
