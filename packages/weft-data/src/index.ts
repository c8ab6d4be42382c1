export type { BatchSamplerOptions } from './batch-sampler.ts';
export { BatchSampler } from './batch-sampler.ts';
export type { Collate, Tensor, TypedArray } from './collate.ts';
export { collectTransferables, defaultCollate, routeCollate } from './collate.ts';
export type { BatchSamplerLike, DataLoaderOptions } from './data-loader.ts';
export { DataLoader } from './data-loader.ts';
export type { ConcatItem, Dataset, ItemOf, Sized } from './dataset.ts';
export { ArrayDataset, ConcatDataset, Subset } from './dataset.ts';
export type { DistributedEnv, DistributedSamplersOptions } from './distributed.ts';
export { distributedEnv, distributedSamplers, gatherInOrder, ShardedEvalSampler } from './distributed.ts';
export {
  CollateError,
  ConfigError,
  DataError,
  IndexError,
  LoaderTimeoutError,
  WeftError,
  WorkerCrashError,
  WorkerError,
} from './errors.ts';
export type { ImageArrays, ImageFolderOptions, ImageItem, ImageSample } from './image-folder.ts';
export { ImageFolder } from './image-folder.ts';
export type { ImageSize, ImageTransform, Interpolation } from './image-transforms.ts';
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
export type { InterleavedBatch, InterleavedLoaderOptions } from './interleaved-loader.ts';
export { InterleavedLoader } from './interleaved-loader.ts';
export type {
  CallbackIndexBatch,
  CallbackPlan,
  IndexBatch,
  InterleavedBatchSampler,
  InterleavedSamplerInit,
  Plan,
  Position,
  ResumeState,
  TrainIndexBatch,
} from './interleaved-sampler.ts';
export { InterleavedSampler } from './interleaved-sampler.ts';
export { formatPlan } from './plan.ts';
export type { Shuffleable } from './random.ts';
export { Random } from './random.ts';
export type { DistributedSamplerOptions } from './samplers/distributed-sampler.ts';
export { DistributedSampler } from './samplers/distributed-sampler.ts';
export type { RandomSamplerOptions } from './samplers/random-sampler.ts';
export { RandomSampler } from './samplers/random-sampler.ts';
export type { Sampler } from './samplers/sampler.ts';
export { IndexSampler } from './samplers/sampler.ts';
export { SequentialSampler } from './samplers/sequential-sampler.ts';
export type { SubsetRandomSamplerOptions } from './samplers/subset-random-sampler.ts';
export { SubsetRandomSampler } from './samplers/subset-random-sampler.ts';
export type { WeightedRandomSamplerOptions } from './samplers/weighted-random-sampler.ts';
export { WeightedRandomSampler } from './samplers/weighted-random-sampler.ts';
export type { SampleContext, WorkerInfo } from './worker-info.ts';
export { getWorkerInfo } from './worker-info.ts';
export { fromModule } from './worker-ref.ts';
