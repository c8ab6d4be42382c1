export type { Collate, CollateWith, DefaultCollate } from './collate/collate.ts';
export { defaultCollate } from './collate/collate.ts';
export type {
  AnyCollate,
  BatchMadeBy,
  BatchOf,
  Collated,
  FieldDTypes,
  LayoutDTypes,
  LayoutOf,
  NoDTypes,
  SamplerDataset,
} from './collate/collated.ts';
export type { CollateOptions } from './collate/options.ts';
export type { Dataset, FieldLayout, ItemLayout, ItemOf, Sized } from './core/dataset.ts';
export type { DType, DTypeArrays, Tensor, TypedArray } from './core/dtype.ts';
export type { FileLocation } from './core/errors.ts';
export {
  CollateError,
  ConfigError,
  FileError,
  IndexError,
  LoaderClosedError,
  LoaderTimeoutError,
  RemoteError,
  WeftError,
  WorkerCrashError,
  WorkerError,
} from './core/errors.ts';
export type { Shuffleable } from './core/random.ts';
export { Random } from './core/random.ts';
export type { FactoryOptions, Loaded } from './core/recipe.ts';
export { fromModule } from './core/recipe.ts';
export type { Sampler } from './core/sampler.ts';
export { IndexSampler } from './core/sampler.ts';
export type { SampleContext, WorkerInfo } from './core/worker-info.ts';
export { getWorkerInfo } from './core/worker-info.ts';
export type { ConcatItem } from './datasets/basic.ts';
export { ArrayDataset, ConcatDataset, Subset } from './datasets/basic.ts';
export type { RandomSplitOptions } from './datasets/random-split.ts';
export { randomSplit } from './datasets/random-split.ts';
export type { ColumnArray, ColumnData, ColumnInfo } from './datasets/tensor/columns.ts';
export type { ColumnSpec } from './datasets/tensor/infer.ts';
export { TensorDataset } from './datasets/tensor/tensor-dataset.ts';
export type {
  ColumnSpecs,
  ColumnValue,
  ItemColumns,
  TensorColumns,
  TensorItem,
  TensorItemOf,
  TensorLayoutOf,
  TensorValue,
} from './datasets/tensor/types.ts';
export type { DistributedEnv, DistributedOverrides } from './distributed/distributed-env.ts';
export { distributedEnv, MAX_WORLD_SIZE } from './distributed/distributed-env.ts';
export { gatherInOrder } from './distributed/gather.ts';
export type { Env, Launcher } from './distributed/launchers.ts';
export type {
  DistributedCallback,
  DistributedSamplersOptions,
  ShardedCallback,
} from './distributed/samplers.ts';
export { distributedSamplers, rankBatchSize } from './distributed/samplers.ts';
export type { BatchSamplerLike, DataLoaderOptions } from './engine/data-loader.ts';
export { DataLoader } from './engine/data-loader.ts';
export { collectTransferables } from './engine/transfer.ts';
export type { ArrowOptions } from './files/arrow.ts';
export { ArrowDataset } from './files/arrow.ts';
export type { BinaryDType, BinaryLayout, BinaryOptions } from './files/binary.ts';
export { BinaryDataset } from './files/binary.ts';
export type { CacheStats } from './files/block-cache.ts';
export type { CsvColumns, CsvColumnType, CsvOptions, CsvRow } from './files/csv.ts';
export { CsvDataset } from './files/csv.ts';
export type { JsonlOptions } from './files/jsonl.ts';
export { JsonlDataset } from './files/jsonl.ts';
export type { MdsOptions, MdsValue } from './files/mds/dataset.ts';
export { MdsDataset } from './files/mds/dataset.ts';
export type { JsonValue, MdsArrays, MdsDType, MdsTensor } from './files/mds/format.ts';
export type { ParquetOptions } from './files/parquet.ts';
export { ParquetDataset } from './files/parquet.ts';
export type { RemoteOptions } from './files/remote/options.ts';
export type { ShardSummary, ShardWriterOptions } from './files/shard-writer.ts';
export { ShardWriter } from './files/shard-writer.ts';
export type { WebDatasetOptions, WebDatasetValue } from './files/webdataset.ts';
export { expandBraces, WebDataset } from './files/webdataset.ts';
export type {
  ImageArrays,
  ImageFolderOptions,
  ImageItem,
  ImageLayout,
  ImageSample,
} from './images/image-folder.ts';
export { ImageFolder } from './images/image-folder.ts';
export type { ImageSize, ImageTransform, Interpolation, Jitter } from './images/transforms.ts';
export type {
  CallbackIndexBatch,
  IndexBatch,
  InterleavedBatchSampler,
  TrainIndexBatch,
} from './interleaved/batches.ts';
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
export type { CallbackInput, InterleavedSamplerInit } from './interleaved/init.ts';
export type {
  InterleavedBatch,
  InterleavedLoaderOptions,
  InterleavedLoaderSource,
} from './interleaved/loader.ts';
export { InterleavedLoader } from './interleaved/loader.ts';
export { formatPlan } from './interleaved/plan.ts';
export type { DistributedState, OrderState, ResumeState, SamplerRecord } from './interleaved/resume.ts';
export { resumeStateSchema } from './interleaved/resume.ts';
export { routeCollate } from './interleaved/route-collate.ts';
export type { CallbackBatchOf } from './interleaved/sampler.ts';
export { InterleavedSampler } from './interleaved/sampler.ts';
export type { CallbackPlan, Plan, Position, UpdateList } from './interleaved/schedule.ts';
export type { BatchSamplerOptions } from './samplers/batch-sampler.ts';
export { BatchSampler } from './samplers/batch-sampler.ts';
export type { Blocked, BlockShuffleSamplerOptions } from './samplers/block-shuffle-sampler.ts';
export { BlockShuffleSampler } from './samplers/block-shuffle-sampler.ts';
export type { DistributedSamplerOptions } from './samplers/distributed-sampler.ts';
export { DistributedSampler } from './samplers/distributed-sampler.ts';
export type { Mixable, MixtureSamplerOptions } from './samplers/mixture-sampler.ts';
export { MixtureSampler } from './samplers/mixture-sampler.ts';
export type { RandomSamplerOptions } from './samplers/random-sampler.ts';
export { RandomSampler } from './samplers/random-sampler.ts';
export { SequentialSampler } from './samplers/sequential-sampler.ts';
export type { ShardedEvalSamplerOptions } from './samplers/sharded-eval-sampler.ts';
export { ShardedEvalSampler } from './samplers/sharded-eval-sampler.ts';
export type { SubsetRandomSamplerOptions } from './samplers/subset-random-sampler.ts';
export { SubsetRandomSampler } from './samplers/subset-random-sampler.ts';
export type { WeightedRandomSamplerOptions } from './samplers/weighted-random-sampler.ts';
export { WeightedRandomSampler } from './samplers/weighted-random-sampler.ts';
