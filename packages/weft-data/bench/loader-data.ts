// Datasets of the loader benchmark, as factories so that workers can rebuild them (fromModule).
import type { Dataset } from '../src/core/dataset.ts';

/** A deterministic busy loop: `k` steps of an LCG seeded with `seed`. */
export function spin(k: number, seed: number): number {
  let x = seed | 0;
  for (let j = 0; j < k; j++) x = (Math.imul(x, 1664525) + 1013904223) | 0;
  return x;
}

/** Item i is i: nothing but the loader's own cost. */
export const trivial = ({ n }: { n: number }): Dataset<number> => ({ length: n, get: (i) => i });

/** Item i costs `k` busy-loop steps and is `dim` floats derived from the result. */
export const cpuBound = ({ n, k, dim }: { n: number; k: number; dim: number }): Dataset<Float32Array> => ({
  length: n,
  get: (i) => cpuItem(i, k, dim),
});

export function cpuItem(i: number, k: number, dim: number): Float32Array {
  const x = spin(k, i);
  const out = new Float32Array(dim);
  for (let d = 0; d < dim; d++) out[d] = ((x >>> d) & 255) / 255;
  return out;
}
