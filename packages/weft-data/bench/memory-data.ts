// The dataset of `bench:memory`'s first-touch figure, as a factory so that workers can rebuild it
// (fromModule): ImageNet-sized items written in place.
import type { Dataset } from '../src/core/dataset.ts';
import type { Tensor } from '../src/core/dtype.ts';

/** Floats of one 3 × 224 × 224 image. */
export const IMAGE = 3 * 224 * 224;

/**
 * `n` items `{ image: 3 × 224 × 224 float32, label }`; `writeItem` fills the image's row with one value
 * (a cheap stand-in for decoding, so that the memory the batch lands in is what is measured).
 */
export const images = ({ n }: { n: number }): Dataset<{ image: Tensor<Float32Array>; label: number }> => ({
  length: n,
  layout: { image: { dtype: 'float32', shape: [3, 224, 224] }, label: { dtype: 'int32', shape: [] } },
  get: (i) => ({ image: { data: new Float32Array(IMAGE).fill(i % 7), shape: [3, 224, 224] }, label: i % 10 }),
  writeItem(i, batch, row) {
    (batch.image as Float32Array).fill(i % 7, row * IMAGE, (row + 1) * IMAGE);
    (batch.label as Int32Array)[row] = i % 10;
  },
});
