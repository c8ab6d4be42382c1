// A 784-128-10 network in TensorFlow.js (wasm backend), initialised from weft's seeded Random and trained
// with plain SGD, so that a run and its resumed continuation compute exactly the same numbers.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { Random } from 'weft-data';

export async function initBackend(): Promise<void> {
  await tf.setBackend('wasm');
  await tf.ready();
}

/** Weights as plain arrays, exactly (base64 of the float32 bytes), for checkpoints. */
export type SavedWeights = Record<string, { shape: number[]; data: string }>;

export class Mlp {
  readonly vars: Record<string, tf.Variable>;
  constructor(seed: number) {
    const r = new Random(seed, 0x6d6c70);
    const glorot = (fanIn: number, fanOut: number) => {
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      return Float32Array.from({ length: fanIn * fanOut }, () => (r.next() * 2 - 1) * limit);
    };
    this.vars = {
      w1: tf.variable(tf.tensor2d(glorot(784, 128), [784, 128])),
      b1: tf.variable(tf.zeros([128])),
      w2: tf.variable(tf.tensor2d(glorot(128, 10), [128, 10])),
      b2: tf.variable(tf.zeros([10])),
    };
  }

  #logits(x: tf.Tensor2D): tf.Tensor2D {
    const { w1, b1, w2, b2 } = this.vars as Record<string, tf.Variable<tf.Rank.R2>>;
    return tf.relu(x.matMul(w1!).add(b1!)).matMul(w2!).add(b2!) as tf.Tensor2D;
  }

  /** One SGD step on a batch; returns the mean cross-entropy before the step. */
  train(x: Float32Array, y: Int32Array, lr: number): number {
    return tf.tidy(() => {
      const xs = tf.tensor2d(x, [y.length, 784]);
      const ys = tf.oneHot(tf.tensor1d(y, 'int32'), 10);
      const { value, grads } = tf.variableGrads(
        () => tf.losses.softmaxCrossEntropy(ys, this.#logits(xs)) as tf.Scalar,
      );
      // variableGrads keys gradients by tf's own variable names.
      for (const v of Object.values(this.vars)) v.assign(v.sub((grads[v.name] as tf.Tensor).mul(lr)));
      return value.dataSync()[0] as number;
    });
  }

  /** Summed loss and number correct over a batch. */
  evaluate(x: Float32Array, y: Int32Array): { loss: number; correct: number } {
    return tf.tidy(() => {
      const xs = tf.tensor2d(x, [y.length, 784]);
      const labels = tf.tensor1d(y, 'int32');
      const logits = this.#logits(xs);
      const loss = tf.losses.softmaxCrossEntropy(
        tf.oneHot(labels, 10),
        logits,
        undefined,
        undefined,
        tf.Reduction.SUM,
      );
      const correct = logits.argMax(1).equal(labels).sum();
      return { loss: loss.dataSync()[0] as number, correct: correct.dataSync()[0] as number };
    });
  }

  save(): SavedWeights {
    return Object.fromEntries(
      Object.entries(this.vars).map(([name, v]) => {
        const data = Buffer.from((v.dataSync() as Float32Array).buffer).toString('base64');
        return [name, { shape: v.shape, data }];
      }),
    );
  }

  load(saved: SavedWeights): void {
    for (const [name, v] of Object.entries(this.vars)) {
      const s = saved[name];
      if (s === undefined) throw new Error(`checkpoint has no weights \`${name}\``);
      const bytes = Buffer.from(s.data, 'base64');
      v.assign(tf.tensor(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4), s.shape));
    }
  }
}
