// The one conversion of "indices from a sampler" (a sampler's epoch, a batch sampler's batch, a constructor's
// index list) to a checked Uint32Array. An index outside its dataset is never harmless: in a concatenation it
// is read from the neighbouring dataset, so every path into the loaders goes through here.

import { describe } from './checks.ts';
import { ConfigError, IndexError } from './errors.ts';
import type { Sampler } from './sampler.ts';

/** One past the largest index a Uint32Array holds: the bound when the dataset's length is unknown. */
export const NO_BOUND = 0x100000000;

/**
 * Where indices come from, for error messages: a sampler "yielded index 7, outside its dataset of length 5";
 * an argument "`indices[1]` must be an integer in [0, 5), got 7".
 */
export type IndexSource = 'sampler' | 'argument';

// Arrays from `indices()` are cached by well-behaved samplers, so checking each array once (per bound) keeps
// the range check off the hot path without trusting foreign samplers blindly.
const checked = new WeakMap<Uint32Array, number>();

/**
 * `values` as a Uint32Array, each checked to be an integer in [0, bound); {@link IndexError} naming `what`
 * and the first bad value otherwise. A Uint32Array is returned as it is (callers copy if they keep slices);
 * anything else is copied. With `source` 'argument', a `values` that is not array-like is a ConfigError.
 *
 * @param values - the indices
 * @param bound - the dataset's length, or {@link NO_BOUND}
 * @param what - names the source in errors
 * @param source - how errors are phrased
 * @default source 'sampler'
 * @example
 * ```ts
 * toIndices([2, 0], 3, '`batchSampler`'); // Uint32Array [2, 0]
 * ```
 */
export function toIndices(
  values: ArrayLike<number>,
  bound: number,
  what: string,
  source: IndexSource = 'sampler',
): Uint32Array {
  if (typeof values !== 'object' || values === null || !Number.isSafeInteger(values.length)) {
    const message =
      source === 'argument'
        ? `\`${what}\` must be an array of indices, got ${describe(values)}`
        : `${what} gave ${describe(values)}, not an array of indices`;
    throw source === 'argument' ? new ConfigError(message) : new IndexError(message);
  }
  if (values instanceof Uint32Array) {
    if (bound < NO_BOUND && checked.get(values) !== bound) {
      for (let i = 0; i < values.length; i++) {
        if ((values[i] as number) >= bound) throw badIndex(what, source, i, values[i], bound);
      }
      checked.set(values, bound);
    }
    return values;
  }
  const out = new Uint32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isInteger(v) || (v as number) < 0 || (v as number) >= bound) {
      throw badIndex(what, source, i, v, bound);
    }
    out[i] = v as number;
  }
  return out;
}

/**
 * The current epoch's indices of `sampler` as one checked array (see {@link toIndices}), through its
 * `indices()` fast path when it has one, and of exactly `sampler.length` indices.
 *
 * @param bound - the length of the sampler's dataset, or {@link NO_BOUND} when it is unknown
 * @param what - names the sampler in errors: `` `sampler` (MySampler) ``
 */
export function epochIndices(sampler: Sampler, bound: number, what: string): Uint32Array {
  const length = sampler.length;
  let out: Uint32Array;
  if (typeof sampler.indices === 'function') {
    out = toIndices(sampler.indices(), bound, what);
  } else {
    out = new Uint32Array(length);
    let n = 0;
    for (const index of sampler) {
      if (n === length) throw new IndexError(`${what} yielded more indices than its length ${length}`);
      if (!Number.isInteger(index) || index < 0 || index >= bound) {
        throw badIndex(what, 'sampler', n, index, bound);
      }
      out[n++] = index;
    }
    if (n !== length) throw new IndexError(`${what} yielded ${n} indices, but its length is ${length}`);
  }
  if (out.length !== length) {
    throw new IndexError(`${what} yielded ${out.length} indices, but its length is ${length}`);
  }
  return out;
}

/**
 * `` `sampler` (MySampler) ``: the option name, and the class when it says more than "an object".
 *
 * @param option - the option the sampler was given as
 * @param sampler - the sampler
 */
export function samplerName(option: string, sampler: unknown): string {
  const name = (sampler as { constructor?: { name?: unknown } } | null)?.constructor?.name;
  return typeof name === 'string' && name !== '' && name !== 'Object'
    ? `\`${option}\` (${name})`
    : `\`${option}\``;
}

function badIndex(what: string, source: IndexSource, i: number, v: unknown, bound: number): IndexError {
  if (source === 'argument') {
    return new IndexError(`\`${what}[${i}]\` must be an integer in [0, ${bound}), got ${describe(v)}`);
  }
  if (bound >= NO_BOUND) {
    return new IndexError(`${what} yielded ${describe(v)}, which is not an index (an integer in [0, 2^32))`);
  }
  return new IndexError(`${what} yielded index ${String(v)}, outside its dataset of length ${bound}`);
}
