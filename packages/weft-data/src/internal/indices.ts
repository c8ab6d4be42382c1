import { IndexError, WeftError } from '../errors.ts';
import type { Sampler } from '../samplers/sampler.ts';

// Arrays from `indices()` are cached by well-behaved samplers, so checking each array once keeps the range
// check off the hot path without trusting foreign samplers blindly.
const checked = new WeakMap<Uint32Array, number>();

/**
 * The current epoch's indices of `sampler` as one array, each checked to lie in [0, datasetLength).
 * An index out of range would otherwise be read from the neighbouring dataset of the concatenation.
 */
export function epochIndices(sampler: Sampler, datasetLength: number, what: string): Uint32Array {
  const length = sampler.length;
  let out: Uint32Array;
  if (typeof sampler.indices === 'function') {
    out = sampler.indices();
    if (checked.get(out) !== datasetLength) {
      for (let i = 0; i < out.length; i++) {
        if ((out[i] as number) >= datasetLength) throw outOfRange(what, out[i], datasetLength);
      }
      checked.set(out, datasetLength);
    }
  } else {
    out = new Uint32Array(length);
    let n = 0;
    for (const index of sampler) {
      if (n === length) throw new WeftError(`${what} yielded more indices than its length ${length}`);
      if (!Number.isInteger(index) || index < 0 || index >= datasetLength) {
        throw outOfRange(what, index, datasetLength);
      }
      out[n++] = index;
    }
    if (n !== length) {
      throw new WeftError(`${what} yielded ${n} indices, but its length is ${length}`);
    }
  }
  if (out.length !== length) {
    throw new WeftError(`${what} yielded ${out.length} indices, but its length is ${length}`);
  }
  return out;
}

function outOfRange(what: string, index: unknown, length: number): IndexError {
  return new IndexError(`${what} yielded index ${String(index)}, outside its dataset of length ${length}`);
}
