export type { ConcatItem, Dataset, ItemOf, Sized } from './dataset.ts';
export { ArrayDataset, ConcatDataset, Subset } from './dataset.ts';
export { CollateError, ConfigError, IndexError, WeftError } from './errors.ts';
export type { Sampler } from './samplers/sampler.ts';
export { IndexSampler } from './samplers/sampler.ts';
