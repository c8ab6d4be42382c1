export type { ConcatItem, Dataset, ItemOf, Sized } from './dataset.ts';
export { ArrayDataset, ConcatDataset, Subset } from './dataset.ts';
export { CollateError, ConfigError, IndexError, WeftError } from './errors.ts';
export type { Sampler } from './samplers/sampler.ts';
export { IndexSampler } from './samplers/sampler.ts';
export type { Collate } from './collate.ts';
export type {
  InterleavedSamplerOptions,
  SamplerIntervalOptions,
} from './interleaved-config.ts';
export {
  InterleavedSamplerConfig,
  interleavedSamplerConfigSchema,
  SamplerIntervalConfig,
  samplerIntervalConfigSchema,
} from './interleaved-config.ts';
export type {
  CallbackIndexBatch,
  CallbackPlan,
  IndexBatch,
  InterleavedBatchSampler,
  InterleavedSamplerInit,
  Plan,
  Position,
  TrainIndexBatch,
} from './interleaved-sampler.ts';
export { InterleavedSampler, routeCollate } from './interleaved-sampler.ts';
export { formatPlan } from './plan.ts';
