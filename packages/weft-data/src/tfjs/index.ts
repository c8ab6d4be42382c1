/**
 * TensorFlow.js adapter (`weft-data/tfjs`): batches as `tf.Tensor`s, and loaders as `tf.data.Dataset`s for
 * `model.fitDataset`. TensorFlow.js is an optional peer dependency: this entry never imports it, the
 * caller passes its own `tf` namespace (from `@tensorflow/tfjs`, `@tensorflow/tfjs-node` or
 * `@tensorflow/tfjs-core`), so the tensors are made by the very engine and backend the model uses.
 */
export { TensorConversionError, toTensors } from './convert.ts';
export {
  type InterleavedCallbackBatch,
  type InterleavedDatasetOptions,
  type InterleavedRun,
  type InterleavedTrainBatch,
  interleavedDataset,
  loaderDataset,
} from './datasets.ts';
export { disposeTensors, withTensors } from './dispose.ts';
export type { TfDType, ToTensorsOptions } from './options.ts';
export type { Tensors, TfCore, TfDataset, TfWithData } from './types.ts';
