// The ImageFolder dataset: its options, checked here all at once; the listing (scan.ts) and the decoding
// (decode.ts, pixels.ts) live beside it. Workers rebuild it from its recipe without listing the folder again.
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { checkIndex, describe } from '../core/checks.ts';
import type { Dataset } from '../core/dataset.ts';
import type { DTypeArrays, Tensor, TypedArray } from '../core/dtype.ts';
import { CollateError, ConfigError } from '../core/errors.ts';
import { Random } from '../core/random.ts';
import { type Recipe, TO_RECIPE } from '../core/recipe.ts';
import { checkFields, fail, nonNegativeInt, whole } from '../core/validate.ts';
import type { SampleContext } from '../core/worker-info.ts';
import { Decoder } from './decode.ts';
import { type Listing, scan } from './scan.ts';
import { fixedSize, type ImageTransform, planTransforms } from './transforms.ts';

/**
 * The typed array of each {@link ImageFolderOptions.dtype}: `float32` holds values scaled to [0, 1] (then
 * normalized, if asked), `uint8` the decoded bytes, 0–255.
 *
 * @example
 * ```ts
 * type Pixels = ImageArrays['uint8']; // Uint8Array
 * ```
 */
export type ImageArrays = Pick<DTypeArrays, 'float32' | 'uint8'>;
const IMAGE_DTYPES = ['float32', 'uint8'] as const satisfies readonly (keyof ImageArrays)[];

/** Options of {@link ImageFolder}. */
export interface ImageFolderOptions<D extends keyof ImageArrays = 'float32'> {
  /** Transforms applied in order to every image, written as data (see {@link ImageTransform}). @default [] */
  transforms?: readonly ImageTransform[];
  /** 1 decodes to grayscale, 3 to RGB; alpha is dropped either way. @default 3 */
  channels?: 1 | 3;
  /**
   * `'float32'`: values in [0, 1] (torchvision's `ToTensor`; 16-bit PNGs divided by 65535, keeping their
   * precision), then `normalize`; `'uint8'`: raw bytes (of a 16-bit PNG, the high byte of each value).
   * @default 'float32'
   */
  dtype?: D;
  /** `'chw'`: `[channels, height, width]` (torch); `'hwc'`: `[height, width, channels]` (TensorFlow.js). @default 'chw' */
  layout?: 'chw' | 'hwc';
  /** File extensions that count as images, case-insensitive; other files are ignored. @default ['.png', '.jpg', '.jpeg'] */
  extensions?: readonly string[];
  /**
   * Bytes of decoded images each thread keeps, least recently used dropped first: decoding (and a leading
   * `resize`) happens once per image and thread, the other transforms, random ones included, on every `get`.
   * Worth it when the decoded folder fits (MNIST's 60,000 digits: 47 MB); 0 decodes every time.
   * @default 0
   */
  cacheBytes?: number;
}

/** An item of {@link ImageFolder}: the decoded, transformed image and its class index. */
export interface ImageItem<A extends ImageArrays[keyof ImageArrays] = Float32Array> {
  /** The pixels, shaped `[C, H, W]` (or `[H, W, C]` with `layout: 'hwc'`). */
  image: Tensor<A>;
  /** Index of the class in {@link ImageFolder.classes}. */
  label: number;
}

/**
 * The {@link ImageFolder.layout} of a folder decoded to `D`: the image's dtype (and its shape when the
 * transforms fix it), and `int32` class indices, the labels TensorFlow.js's `oneHot` and sparse losses take.
 *
 * @example
 * ```ts
 * const layout: ImageLayout<'uint8'> = { image: { dtype: 'uint8', shape: [1, 28, 28] }, label: { dtype: 'int32', shape: [] } };
 * ```
 */
export type ImageLayout<D extends keyof ImageArrays = keyof ImageArrays> = {
  /** The pixels: the folder's `dtype`; `shape` when the last resizing or cropping transform fixes the size. */
  readonly image: {
    /** The folder's `dtype`. */
    readonly dtype: D;
    /** `[C, H, W]` (or `[H, W, C]`), when the transforms fix the size. */
    readonly shape?: readonly number[];
  };
  /** The class index, a scalar. */
  readonly label: {
    /** Class indices are integers. */
    readonly dtype: 'int32';
    /** A scalar. */
    readonly shape: readonly [];
  };
};

/** One image file and its class index. */
export interface ImageSample {
  /** Absolute path of the file. */
  readonly path: string;
  /** Index of its class in {@link ImageFolder.classes}. */
  readonly label: number;
}

const DEFAULT_EXTENSIONS = ['.png', '.jpg', '.jpeg'];

const OPTIONS = z.strictObject({
  channels: z.literal([1, 3], { error: 'must be 1 or 3' }).default(3),
  dtype: z
    .enum(IMAGE_DTYPES, { error: `must be ${IMAGE_DTYPES.map((d) => `'${d}'`).join(' or ')}` })
    .default('float32'),
  layout: z.enum(['chw', 'hwc'], { error: "must be 'chw' or 'hwc'" }).default('chw'),
  extensions: whole(
    z.array(z.string().regex(/^\.[^./\\]+$/)).min(1),
    "must be a non-empty array of extensions such as '.png'",
  ).default(DEFAULT_EXTENSIONS),
  cacheBytes: nonNegativeInt.default(0),
  // Each transform is checked by planTransforms, which needs the channels and the dtype.
  transforms: z
    .array(z.unknown(), { error: 'must be an array of transforms such as { resize: 32 }' })
    .default([]),
});
const ROOT = z
  .string({ error: 'must be a non-empty string' })
  .min(1, { error: 'must be a non-empty string' });

/** Set while a worker rebuilds a folder from its recipe, so that the constructor takes the listing as is. */
let pendingListing: Listing | undefined;

/**
 * A dataset of images stored one subfolder per class, like torchvision's `ImageFolder`:
 * `root/cat/001.png`, `root/dog/xyz.jpg`. Classes are the subfolder names, sorted; an item is
 * `{ image, label }`, the image a `{ data, shape }` tensor (`[C, H, W]` by default, `Float32Array` in [0, 1])
 * that {@link defaultCollate} stacks into `[N, C, H, W]`, the label the class index.
 *
 * The folder is listed once, here: files are found in each class folder and its subfolders, sorted;
 * only files with an image extension count (others are ignored), and hidden files and folders (names
 * starting with `.`) are skipped. A missing root, no class folders, or a class folder with no images is a
 * {@link ConfigError}, as is any invalid option (all problems at once).
 *
 * Images are decoded by `sharp` (an optional peer dependency: `npm install sharp`), loaded on the first
 * `get`, never on import. With a {@link DataLoader}'s workers each worker opens the folder from a plain
 * recipe (the root, the options and the listing) and decodes its own samples; random transforms draw from
 * the sample's `context.random()`, so batches do not depend on the number of workers. A file that is
 * missing, unreadable (permission denied), truncated or not an image is a {@link FileError} naming it
 * and saying why.
 *
 * @param root - the folder holding one subfolder per class; relative paths resolve from the current directory
 * @param options - transforms, channels, dtype, layout and extensions; see {@link ImageFolderOptions}
 * @example
 * ```ts
 * const train = new ImageFolder('data/train', {
 *   transforms: [{ randomCrop: { size: 28, padding: 2 } }, { normalize: { mean: [0.13], std: [0.31] } }],
 *   channels: 1,
 * });
 * train.classes; // ['0', '1', ..., '9']
 * const loader = new DataLoader({ dataset: train, batchSize: 64, shuffle: true, numWorkers: 2 });
 * for await (const { image, label } of loader) {
 *   image.shape; // [64, 1, 28, 28]
 * }
 * ```
 */
export class ImageFolder<D extends keyof ImageArrays = 'float32'>
  implements Dataset<ImageItem<ImageArrays[D]>, ImageLayout<D>>
{
  /** The folder, as an absolute path. */
  readonly root: string;
  /** Class names (the subfolder names), sorted. */
  readonly classes: readonly string[];
  /** Class name → index in {@link ImageFolder.classes}. */
  readonly classToIdx: Readonly<Record<string, number>>;
  /** Every image file with its class, in index order. */
  readonly samples: readonly ImageSample[];
  /** The class index of every sample, in index order (for weighted sampling). */
  readonly targets: readonly number[];
  /** The options as given and the listing: what a worker needs to open the same folder. */
  readonly #recipe: { options: ImageFolderOptions<D>; listing: Listing };
  readonly #decoder: Decoder;
  /**
   * The item's fields: `image` of the folder's `dtype`, with its shape when the transforms fix the size (a
   * crop, or a resize to `[height, width]`); `label` an `int32` scalar. With every shape known, a loader's
   * default collate can let {@link ImageFolder.writeItem} render each image straight into its batch.
   */
  readonly layout: ImageLayout<D>;

  constructor(root: string, options: ImageFolderOptions<D> = {}) {
    if (typeof options !== 'object' || options === null || Array.isArray(options)) {
      fail('ImageFolder', [`\`options\` must be an object, got ${describe(options)}`]);
    }
    const raw = options as Record<string, unknown>;
    const { value: o, issues } = checkFields(OPTIONS, raw);
    const transforms = Array.isArray(raw.transforms) ? raw.transforms : [];
    const plan = planTransforms(transforms, raw.channels === 1 ? 1 : 3, raw.dtype);
    issues.push(...plan.issues);
    const rootOk = checkFields(ROOT, root, 'root');
    issues.push(...rootOk.issues);
    // The folder is listed even when options are wrong, so that its problems come in the same error.
    const extensions = OPTIONS.shape.extensions.safeParse(raw.extensions);
    let listing = pendingListing;
    if (listing === undefined && rootOk.value !== undefined && extensions.success) {
      const found = scan(resolve(root), extensions.data);
      issues.push(...found.issues);
      listing = found.listing;
    }
    if (issues.length > 0 || o === undefined || listing === undefined) fail('ImageFolder', issues);

    this.root = resolve(root);
    this.classes = listing.classes;
    this.classToIdx = Object.fromEntries(listing.classes.map((c, k) => [c, k]));
    const samples: ImageSample[] = [];
    const targets: number[] = [];
    let next = 0;
    listing.counts.forEach((count, label) => {
      for (let i = 0; i < count; i++) {
        samples.push({ path: join(this.root, listing.files[next++] as string), label });
        targets.push(label);
      }
    });
    this.samples = samples;
    this.targets = targets;
    this.#recipe = { options, listing };
    const { channels, dtype, layout, cacheBytes } = o;
    this.#decoder = new Decoder({ steps: plan.steps, channels, dtype, layout, cacheBytes });
    const size = fixedSize(plan.steps);
    const shape =
      size === undefined
        ? undefined
        : layout === 'chw'
          ? [channels, size.height, size.width]
          : [size.height, size.width, channels];
    this.layout = Object.freeze({
      image: Object.freeze({ dtype: dtype as D, ...(shape && { shape: Object.freeze(shape) }) }),
      label: Object.freeze({ dtype: 'int32', shape: Object.freeze([]) as readonly [] }),
    });
  }

  /** Number of images. */
  get length(): number {
    return this.samples.length;
  }

  /**
   * Decodes image `index` and applies the transforms.
   *
   * @param index - 0 ≤ index < length
   * @param context - the loader's sample context; without one, random transforms use `new Random(0, 0, index)`
   */
  async get(index: number, context?: SampleContext): Promise<ImageItem<ImageArrays[D]>> {
    checkIndex(index, this.samples.length);
    const { path, label } = this.samples[index] as ImageSample;
    const random = context ? () => context.random() : lazyRandom(index);
    const image = await this.#decoder.load(path, random);
    return { image: image as Tensor<ImageArrays[D]>, label };
  }

  /**
   * Renders image `index` straight into row `row` of a batch, with no per-item array: crop, flip and
   * normalize happen in the one pass that writes `batch.image`; the label goes to `batch.label[row]`. Gives
   * exactly what {@link ImageFolder.get} followed by the default collate gives. Only for transforms that fix
   * the size (see {@link ImageFolder.layout}).
   *
   * @param index - 0 ≤ index < length
   * @param batch - `image`: the batch's flat array of the folder's dtype; `label`: an `Int32Array`
   * @param row - the item's row in the batch
   * @param context - the loader's sample context, as for {@link ImageFolder.get}
   * @example
   * ```ts
   * const folder = new ImageFolder('data/train', { transforms: [{ randomResizedCrop: 224 }] });
   * const batch = { image: new Float32Array(64 * 3 * 224 * 224), label: new Int32Array(64) };
   * await folder.writeItem(17, batch, 0); // row 0 holds image 17
   * ```
   */
  async writeItem(
    index: number,
    batch: Readonly<Record<string, TypedArray>>,
    row: number,
    context?: SampleContext,
  ): Promise<void> {
    checkIndex(index, this.samples.length);
    const { dtype, shape } = this.layout.image as { dtype: keyof ImageArrays; shape?: readonly number[] };
    if (shape === undefined) {
      throw new ConfigError(
        'ImageFolder.writeItem needs transforms that fix the image size (a crop, or a resize to [height, width]); these leave it to each image',
      );
    }
    const size = shape.reduce((a, b) => a * b, 1);
    const { image, label } = batch;
    const wanted = dtype === 'float32' ? Float32Array : Uint8Array;
    const problems: string[] = [];
    if (!(image instanceof wanted) || image.length < (row + 1) * size)
      problems.push(
        `\`batch.image\` must be a ${wanted.name} of at least ${(row + 1) * size} values for row ${row}, got ${describeArray(image)}`,
      );
    if (!(label instanceof Int32Array) || label.length <= row)
      problems.push(
        `\`batch.label\` must be an Int32Array of at least ${row + 1} values for row ${row}, got ${describeArray(label)}`,
      );
    if (problems.length > 0) throw new CollateError(`ImageFolder.writeItem: ${problems.join('; ')}`);
    const sample = this.samples[index] as ImageSample;
    const random = context ? () => context.random() : lazyRandom(index);
    await this.#decoder.write(sample.path, random, image as Float32Array | Uint8Array, row * size);
    (label as Int32Array)[row] = sample.label;
  }

  /** How a worker rebuilds this folder: from the root, the options and the listing, not listed again. @internal */
  [TO_RECIPE](): Recipe {
    return {
      url: import.meta.url,
      name: 'rebuildImageFolder',
      args: [
        { label: 'root', value: this.root },
        { label: 'options', value: this.#recipe.options },
        { label: 'listing', value: this.#recipe.listing },
      ],
    };
  }
}

/** A typed array by its class and length (what a batch's field is checked for), anything else as usual. */
const describeArray = (v: unknown): string =>
  ArrayBuffer.isView(v) && 'length' in v ? `a ${v.constructor.name} of length ${v.length}` : describe(v);

function lazyRandom(index: number): () => Random {
  let random: Random | undefined;
  return () => {
    random ??= new Random(0, 0, index);
    return random;
  };
}

/**
 * Rebuilds an {@link ImageFolder} in a worker from its recipe: the same files, in the same order.
 *
 * @param root - the folder, absolute
 * @param options - the options as given to the constructor
 * @param listing - the listing made by the constructor
 * @internal
 */
export function rebuildImageFolder(
  root: string,
  options: ImageFolderOptions<keyof ImageArrays>,
  listing: Listing,
): ImageFolder<keyof ImageArrays> {
  pendingListing = listing;
  try {
    return new ImageFolder(root, options);
  } finally {
    pendingListing = undefined;
  }
}
