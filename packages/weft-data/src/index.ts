export type {
  Collate,
  CollateOptions,
  DefaultCollate,
  DType,
  Tensor,
  TypedArray,
} from './collate/collate.ts';
export { collectTransferables, defaultCollate, routeCollate } from './collate/collate.ts';
export type { Dataset, ItemOf, Sized } from './core/dataset.ts';
export type { DTypeArrays } from './core/dtype.ts';
export type { FileLocation } from './core/errors.ts';
export {
  CollateError,
  ConfigError,
  FileError,
  IndexError,
  LoaderClosedError,
  LoaderTimeoutError,
  WeftError,
  WorkerCrashError,
  WorkerError,
} from './core/errors.ts';
export type { Shuffleable } from './core/random.ts';
export { Random } from './core/random.ts';
export { fromModule } from './core/recipe.ts';
export type { Sampler } from './core/sampler.ts';
export { IndexSampler } from './core/sampler.ts';
export type { SampleContext, WorkerInfo } from './core/worker-info.ts';
export { getWorkerInfo } from './core/worker-info.ts';
export type { ConcatItem } from './datasets/basic.ts';
export { ArrayDataset, ConcatDataset, Subset } from './datasets/basic.ts';
export type { RandomSplitOptions } from './datasets/random-split.ts';
export { randomSplit } from './datasets/random-split.ts';
export type {
  ColumnArray,
  ColumnData,
  ColumnDType,
  ColumnInfo,
  ColumnSpec,
  TensorDType,
  TensorItem,
  TensorValue,
} from './datasets/tensor-dataset.ts';
export { TensorDataset } from './datasets/tensor-dataset.ts';
export type {
  DistributedEnv,
  DistributedOverrides,
  DistributedSamplersOptions,
  Env,
  Launcher,
  ShardedEvalSamplerOptions,
} from './distributed/distributed.ts';
export {
  distributedEnv,
  distributedSamplers,
  gatherInOrder,
  MAX_WORLD_SIZE,
  rankBatchSize,
  ShardedEvalSampler,
} from './distributed/distributed.ts';
export type { BatchSamplerLike, DataLoaderOptions } from './engine/data-loader.ts';
export { DataLoader } from './engine/data-loader.ts';
export type { ArrowOptions } from './files/arrow.ts';
export { ArrowDataset } from './files/arrow.ts';
export type { BinaryDtype, BinaryDtypes, BinaryOptions } from './files/binary.ts';
export { BinaryDataset } from './files/binary.ts';
export type { CacheStats } from './files/block-cache.ts';
export type { CsvColumns, CsvColumnType, CsvOptions, CsvRow } from './files/csv.ts';
export { CsvDataset } from './files/csv.ts';
export type { JsonlOptions } from './files/jsonl.ts';
export { JsonlDataset } from './files/jsonl.ts';
export type { ParquetOptions } from './files/parquet.ts';
export { ParquetDataset } from './files/parquet.ts';
export type { ImageArrays, ImageFolderOptions, ImageItem, ImageSample } from './images/image-folder.ts';
export { ImageFolder } from './images/image-folder.ts';
export type { ImageSize, ImageTransform, Interpolation } from './images/transforms.ts';
export type {
  InterleavedSamplerOptions,
  SamplerIntervalOptions,
} from './interleaved/config.ts';
export {
  InterleavedSamplerConfig,
  interleavedSamplerConfigSchema,
  SamplerIntervalConfig,
  samplerIntervalConfigSchema,
} from './interleaved/config.ts';
export type { InterleavedBatch, InterleavedLoaderOptions } from './interleaved/loader.ts';
export { InterleavedLoader } from './interleaved/loader.ts';
export { formatPlan } from './interleaved/plan.ts';
export type {
  CallbackIndexBatch,
  DistributedState,
  IndexBatch,
  InterleavedBatchSampler,
  InterleavedSamplerInit,
  ResumeState,
  TrainIndexBatch,
} from './interleaved/sampler.ts';
export { InterleavedSampler, resumeStateSchema } from './interleaved/sampler.ts';
export type { CallbackPlan, Plan, Position, UpdateList } from './interleaved/schedule.ts';
export type { BatchSamplerOptions } from './samplers/batch-sampler.ts';
export { BatchSampler } from './samplers/batch-sampler.ts';
export type { Blocked, BlockShuffleSamplerOptions } from './samplers/block-shuffle-sampler.ts';
export { BlockShuffleSampler } from './samplers/block-shuffle-sampler.ts';
export type { DistributedSamplerOptions } from './samplers/distributed-sampler.ts';
export { DistributedSampler } from './samplers/distributed-sampler.ts';
export type { RandomSamplerOptions } from './samplers/random-sampler.ts';
export { RandomSampler } from './samplers/random-sampler.ts';
export { SequentialSampler } from './samplers/sequential-sampler.ts';
export type { SubsetRandomSamplerOptions } from './samplers/subset-random-sampler.ts';
export { SubsetRandomSampler } from './samplers/subset-random-sampler.ts';
export type { WeightedRandomSamplerOptions } from './samplers/weighted-random-sampler.ts';
export { WeightedRandomSampler } from './samplers/weighted-random-sampler.ts';
