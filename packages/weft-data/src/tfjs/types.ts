// The one module that names TensorFlow.js, and only its types: TensorFlow.js is an optional peer dependency,
// so nothing here may load it. The caller passes its own `tf` namespace, typed by the interfaces below.
import type * as tfc from '@tensorflow/tfjs-core';
import type * as tfd from '@tensorflow/tfjs-data';
import type { Tensor as WeftTensor } from '../core/dtype.ts';

/**
 * The part of TensorFlow.js that {@link toTensors} and {@link withTensors} use. The namespace of
 * `@tensorflow/tfjs`, `@tensorflow/tfjs-node` or `@tensorflow/tfjs-core` (with a backend registered) fits.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * const t: TfCore = tf;
 * ```
 */
export interface TfCore {
  /** `tf.tensor`. */
  tensor: typeof tfc.tensor;
  /** `tf.tidy`. */
  tidy: typeof tfc.tidy;
  /** `tf.Tensor`, to recognise tensors already in a batch. */
  Tensor: typeof tfc.Tensor;
}

/**
 * {@link TfCore} plus `tf.data.generator`, for {@link loaderDataset} and {@link interleavedDataset}: the
 * namespace of `@tensorflow/tfjs` or `@tensorflow/tfjs-node`, or `{ ...tfCore, data: tfData }`.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * const t: TfWithData = tf;
 * ```
 */
export interface TfWithData extends TfCore {
  /** `tf.data`, of which `generator` is used. */
  data: {
    /** `tf.data.generator`: turns the loader's batches into a `tf.data.Dataset`. */
    generator: typeof tfd.generator;
  };
}

/**
 * A `tf.Tensor`, for the modules of the adapter (the public types name `tf.Tensor` itself).
 *
 * @example
 * ```ts
 * const made: TfTensor[] = [];
 * ```
 */
export type TfTensor = tfc.Tensor;

/**
 * What `tf.tidy` and `tf.data` accept as an element: tensors, and objects and arrays of them.
 *
 * @example
 * ```ts
 * const element: TfTensorContainer = { xs, ys };
 * ```
 */
export type TfTensorContainer = tfc.TensorContainer;

/**
 * The type of a batch once converted by {@link toTensors}: typed arrays and `{ data, shape }` tensors
 * become `tf.Tensor`s, objects and arrays keep their structure, other values stay as they are.
 *
 * @example
 * ```ts
 * type T = Tensors<{ x: { data: Float32Array; shape: number[] }; y: Float64Array; id: string[] }>;
 * // { x: tf.Tensor; y: tf.Tensor; id: string[] }
 * ```
 */
export type Tensors<B> = B extends tfc.Tensor
  ? B
  : B extends ArrayBufferView
    ? tfc.Tensor
    : B extends WeftTensor
      ? tfc.Tensor
      : B extends readonly unknown[]
        ? { -readonly [K in keyof B]: Tensors<B[K]> }
        : B extends (...args: never[]) => unknown
          ? never
          : B extends object
            ? { [K in keyof B]: Tensors<B[K]> }
            : B;

/**
 * A `tf.data.Dataset` of converted elements: what {@link loaderDataset} and {@link interleavedDataset}
 * return. (Not weft's `TensorDataset`, the table of typed columns.)
 *
 * @example
 * ```ts
 * const ds: TfDataset<{ xs: tf.Tensor; ys: tf.Tensor }> = loaderDataset(tf, loader, (b) => ({ xs: b.x, ys: b.y }));
 * ```
 */
export type TfDataset<M> = tfd.Dataset<Tensors<M> & tfc.TensorContainer>;
