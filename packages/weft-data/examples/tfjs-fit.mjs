// The README's TensorFlow.js example, kept runnable (and run by test/tfjs.workers.test.ts):
//   npm run build && node packages/weft-data/examples/tfjs-fit.mjs
import * as tf from '@tensorflow/tfjs';
import { ArrayDataset, DataLoader, Random } from 'weft-data';
import { loaderDataset } from 'weft-data/tfjs';

// Three classes of points in the plane, scattered around three centres.
const centres = [
  [0, 2],
  [-2, -1],
  [2, -1],
];
function points(n, seed) {
  const random = new Random(seed);
  return Array.from({ length: n }, (_, i) => {
    const [cx, cy] = centres[i % 3];
    return { x: Float32Array.of(random.normal(cx, 0.8), random.normal(cy, 0.8)), label: i % 3 };
  });
}

// Batches load in 2 worker threads; defaultCollate stacks `x` into { data, shape: [32, 2] } and makes
// `label` a Float64Array, which `float64: 'int32'` turns into an int32 tensor for tf.oneHot.
const train = new DataLoader({
  dataset: new ArrayDataset(points(900, 1)),
  batchSize: 32,
  shuffle: true,
  numWorkers: 2,
});
const test = new DataLoader({ dataset: new ArrayDataset(points(300, 2)), batchSize: 100 });
const toElement = (batch) => ({ xs: batch.x, ys: tf.oneHot(batch.label, 3) });
const options = { float64: 'int32' };

const model = tf.sequential({
  layers: [
    tf.layers.dense({ inputShape: [2], units: 16, activation: 'relu' }),
    tf.layers.dense({ units: 3, activation: 'softmax' }),
  ],
});
model.compile({ optimizer: tf.train.adam(0.05), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });

try {
  // Each epoch of fitDataset reads a new, reshuffled epoch of the loader.
  await model.fitDataset(loaderDataset(tf, train, toElement, options), {
    epochs: 4,
    verbose: 0,
    validationData: loaderDataset(tf, test, toElement, options),
    callbacks: {
      onEpochEnd: (epoch, logs) =>
        console.log(
          `epoch ${epoch + 1}: loss ${logs.loss.toFixed(3)}, test accuracy ${logs.val_acc.toFixed(3)}`,
        ),
    },
  });
} finally {
  await train.close();
  await test.close();
}
