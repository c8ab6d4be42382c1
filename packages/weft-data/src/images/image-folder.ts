import { readdirSync, statSync } from 'node:fs';
import { extname, join, relative, resolve, sep } from 'node:path';
import { checkIndex, describe } from '../core/checks.ts';
import type { Dataset } from '../core/dataset.ts';
import type { Tensor } from '../core/dtype.ts';
import { FileError } from '../core/errors.ts';
import { Random } from '../core/random.ts';
import { withRecipe } from '../core/recipe.ts';
import { fail } from '../core/validate.ts';
import type { SampleContext } from '../core/worker-info.ts';
import { loadSharp, type Sharp, type SharpPipeline } from './sharp.ts';
import { type ImageTransform, type Interpolation, planTransforms, type Step } from './transforms.ts';

/** The typed array of each {@link ImageFolderOptions.dtype}. */
export interface ImageArrays {
  /** Values scaled to [0, 1] (then normalized, if asked). */
  float32: Float32Array;
  /** The decoded bytes, 0–255. */
  uint8: Uint8Array;
}

/** Options of {@link ImageFolder}. */
export interface ImageFolderOptions<D extends keyof ImageArrays = 'float32'> {
  /** Transforms applied in order to every image, written as data (see {@link ImageTransform}). @default [] */
  transforms?: readonly ImageTransform[];
  /** 1 decodes to grayscale, 3 to RGB; alpha is dropped either way. @default 3 */
  channels?: 1 | 3;
  /** `'float32'`: values in [0, 1] (torchvision's `ToTensor`), then `normalize`; `'uint8'`: raw bytes. @default 'float32' */
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
export interface ImageItem<A extends Float32Array | Uint8Array = Float32Array> {
  /** The pixels, shaped `[C, H, W]` (or `[H, W, C]` with `layout: 'hwc'`). */
  image: Tensor<A>;
  /** Index of the class in {@link ImageFolder.classes}. */
  label: number;
}

/** One image file and its class index. */
export interface ImageSample {
  /** Absolute path of the file. */
  readonly path: string;
  /** Index of its class in {@link ImageFolder.classes}. */
  readonly label: number;
}

const DEFAULT_EXTENSIONS = ['.png', '.jpg', '.jpeg'];
const OPTION_KEYS = ['transforms', 'channels', 'dtype', 'layout', 'extensions', 'cacheBytes'];
const KERNELS: Record<Interpolation, string> = {
  nearest: 'nearest',
  bilinear: 'linear',
  bicubic: 'cubic',
  lanczos: 'lanczos3',
};

/** What a scan of the folder found: the classes and, class by class, the files relative to the root. */
interface Listing {
  readonly classes: string[];
  readonly files: string[];
  /** Number of files of each class; the files are grouped by class, in class order. */
  readonly counts: number[];
}

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
 * missing, truncated or not an image is a {@link FileError} naming it.
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
  implements Dataset<ImageItem<ImageArrays[D]>>
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
  readonly #steps: Step[];
  readonly #channels: number;
  readonly #layout: 'chw' | 'hwc';
  /** Per channel, the output value of each byte; undefined for `uint8` output. */
  readonly #lut: Float32Array | undefined;
  readonly #cache: DecodedCache;

  constructor(root: string, options: ImageFolderOptions<D> = {}) {
    const issues: string[] = [];
    if (typeof options !== 'object' || options === null || Array.isArray(options)) {
      fail('ImageFolder', [`\`options\` must be an object, got ${describe(options)}`]);
    }
    const o = options as Record<string, unknown>;
    for (const key of Object.keys(o))
      if (!OPTION_KEYS.includes(key)) issues.push(`\`${key}\` is not a known option`);
    const channels = o.channels ?? 3;
    if (channels !== 1 && channels !== 3)
      issues.push(`\`channels\` must be 1 or 3, got ${describe(channels)}`);
    const dtype = o.dtype ?? 'float32';
    if (dtype !== 'float32' && dtype !== 'uint8') {
      issues.push(`\`dtype\` must be 'float32' or 'uint8', got ${describe(dtype)}`);
    }
    const layout = o.layout ?? 'chw';
    if (layout !== 'chw' && layout !== 'hwc')
      issues.push(`\`layout\` must be 'chw' or 'hwc', got ${describe(layout)}`);
    const extensions = o.extensions ?? DEFAULT_EXTENSIONS;
    const extensionsOk =
      Array.isArray(extensions) &&
      extensions.length > 0 &&
      extensions.every((e) => typeof e === 'string' && /^\.[^./\\]+$/.test(e));
    if (!extensionsOk) {
      issues.push(
        `\`extensions\` must be a non-empty array of extensions such as '.png', got ${describe(extensions)}`,
      );
    }
    const cacheBytes = o.cacheBytes ?? 0;
    if (typeof cacheBytes !== 'number' || !Number.isSafeInteger(cacheBytes) || cacheBytes < 0) {
      issues.push(`\`cacheBytes\` must be a non-negative integer, got ${describe(cacheBytes)}`);
    }
    const plan = planTransforms(o.transforms, channels === 1 ? 1 : 3, String(dtype));
    issues.push(...plan.issues);
    if (typeof root !== 'string' || root === '')
      issues.push(`\`root\` must be a non-empty string, got ${describe(root)}`);
    const listing =
      pendingListing ??
      (typeof root === 'string' && root !== '' && extensionsOk
        ? scan(resolve(root), extensions as string[], issues)
        : undefined);
    if (issues.length > 0 || listing === undefined) fail('ImageFolder', issues);

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
    this.#steps = plan.steps;
    this.#channels = channels as number;
    this.#layout = layout as 'chw' | 'hwc';
    this.#lut = dtype === 'float32' ? lookupTable(this.#channels, plan.steps) : undefined;
    this.#cache = new DecodedCache(cacheBytes as number);
    markForWorkers(this, this.root, options, listing);
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
    const image = await this.#load(path, random);
    return { image: image as Tensor<ImageArrays[D]>, label };
  }

  async #load(path: string, random: () => Random): Promise<Tensor<Float32Array | Uint8Array>> {
    const sharp = await loadSharp();
    const steps = this.#steps;
    let first = sharp(path, { failOn: 'error' });
    first = this.#channels === 1 ? first.grayscale() : first.toColourspace('srgb');
    first = first.removeAlpha();
    let k = 0;
    if (steps[0]?.op === 'resize') first = resized(first, steps[k++] as Step & { op: 'resize' });
    let decoded = this.#cache.get(path);
    if (decoded === undefined) {
      try {
        decoded = await first.raw().toBuffer({ resolveWithObject: true });
      } catch (e) {
        const reason = (e instanceof Error ? e.message : String(e)).split('\n')[0];
        throw new FileError(`cannot decode image ${path}: ${reason}`, { file: path }, { cause: e });
      }
      this.#cache.set(path, decoded);
    }
    let view = fromRaw(decoded, this.#channels);
    for (; k < steps.length; k++) view = await apply(sharp, view, steps[k] as Step, random, path);
    return render(view, this.#layout, this.#lut);
  }
}

type Decoded = Parameters<typeof fromRaw>[0];

/** Decoded images by path, least recently used first, within a budget of bytes (one per thread). */
class DecodedCache {
  readonly #entries = new Map<string, Decoded>();
  #bytes = 0;
  constructor(readonly maxBytes: number) {}

  get(path: string): Decoded | undefined {
    const hit = this.#entries.get(path);
    if (hit !== undefined) {
      // Map order is insertion order: re-inserting marks the entry as the most recently used.
      this.#entries.delete(path);
      this.#entries.set(path, hit);
    }
    return hit;
  }

  set(path: string, decoded: Decoded): void {
    const size = decoded.data.byteLength;
    if (size > this.maxBytes) return;
    this.#entries.set(path, decoded);
    this.#bytes += size;
    for (const [oldest, entry] of this.#entries) {
      if (this.#bytes <= this.maxBytes) break;
      this.#entries.delete(oldest);
      this.#bytes -= entry.data.byteLength;
    }
  }
}

/** The geometry of the image so far, without copying pixels: output (y, x) reads source (ty + y, tx + sx·x). */
interface View {
  readonly data: Uint8Array;
  readonly srcWidth: number;
  readonly srcHeight: number;
  readonly channels: number;
  height: number;
  width: number;
  ty: number;
  tx: number;
  sx: 1 | -1;
  /** Value of pixels outside the source (padding), once there is any. */
  fill: number | undefined;
}

function fromRaw(
  { data, info }: { data: Uint8Array; info: { width: number; height: number; channels: number } },
  channels: number,
): View {
  if (info.channels !== channels)
    throw new Error(`decoded to ${info.channels} channels, expected ${channels}`);
  return {
    data,
    srcWidth: info.width,
    srcHeight: info.height,
    channels,
    height: info.height,
    width: info.width,
    ty: 0,
    tx: 0,
    sx: 1,
    fill: undefined,
  };
}

function resized(pipeline: SharpPipeline, step: Step & { op: 'resize' }): SharpPipeline {
  return pipeline.resize({
    width: step.width,
    height: step.height,
    fit: step.mode === 'shorter' ? 'outside' : 'fill',
    kernel: KERNELS[step.interpolation],
  });
}

/**
 * Crops the view to `height`×`width` at (top, left) in its own coordinates. Where the window reaches past
 * the view it reads `fill` (padding); the view is rendered first unless it is exactly its source, so that
 * padding never shows source pixels that an earlier crop removed.
 */
function crop(view: View, top: number, left: number, height: number, width: number, fill: number): View {
  if (top < 0 || left < 0 || top + height > view.height || left + width > view.width) {
    const whole =
      view.fill === undefined &&
      view.ty === 0 &&
      view.height === view.srcHeight &&
      view.width === view.srcWidth &&
      view.tx === (view.sx === 1 ? 0 : view.srcWidth - 1);
    if (!whole) view = materialize(view);
    view.fill = fill;
  }
  view.ty += top;
  view.tx += view.sx * left;
  view.height = height;
  view.width = width;
  return view;
}

async function apply(
  sharp: Sharp,
  view: View,
  step: Step,
  random: () => Random,
  path: string,
): Promise<View> {
  switch (step.op) {
    case 'resize': {
      const { data } = render(view, 'hwc', undefined) as Tensor<Uint8Array>;
      const raw = { width: view.width, height: view.height, channels: view.channels };
      const out = await resized(sharp(data, { raw }), step).raw().toBuffer({ resolveWithObject: true });
      return fromRaw(out, view.channels);
    }
    case 'centerCrop': {
      const top = roundHalfEven((view.height - step.height) / 2);
      const left = roundHalfEven((view.width - step.width) / 2);
      return crop(view, top, left, step.height, step.width, 0);
    }
    case 'randomCrop': {
      const height = view.height + 2 * step.padding;
      const width = view.width + 2 * step.padding;
      if (height < step.height || width < step.width) {
        throw new FileError(
          `image ${path} is ${height}×${width} (height×width${step.padding > 0 ? ', padded' : ''}) at \`${step.where}\`, smaller than the crop ${step.height}×${step.width}; resize it first or add padding`,
          { file: path },
        );
      }
      const r = random();
      const top = r.int(height - step.height + 1);
      const left = r.int(width - step.width + 1);
      return crop(view, top - step.padding, left - step.padding, step.height, step.width, step.fill);
    }
    case 'flip':
      if (random().next() < step.p) {
        view.tx += view.sx * (view.width - 1);
        view.sx = view.sx === 1 ? -1 : 1;
      }
      return view;
    case 'normalize':
      return view; // folded into the lookup table of the output
  }
}

/** The view's pixels as a fresh HWC uint8 image. */
function materialize(view: View): View {
  const { data } = render(view, 'hwc', undefined) as Tensor<Uint8Array>;
  return fromRaw(
    { data, info: { width: view.width, height: view.height, channels: view.channels } },
    view.channels,
  );
}

/** Writes the view's pixels into a new tensor: bytes, or through `lut` (per channel, 256 values) as floats. */
function render(
  view: View,
  layout: 'chw' | 'hwc',
  lut: Float32Array | undefined,
): Tensor<Float32Array | Uint8Array> {
  const { data, srcWidth, srcHeight, channels: C, height: H, width: W, ty, tx, sx } = view;
  const chw = layout === 'chw';
  const out = lut === undefined ? new Uint8Array(C * H * W) : new Float32Array(C * H * W);
  const table = lut ?? IDENTITY;
  // Offsets of channel c of pixel (y, x) in the output: y·rowStride + x·pixelStride + c·channelStride.
  const rowStride = chw ? W : W * C;
  const pixelStride = chw ? 1 : C;
  const channelStride = chw ? H * W : 1;
  // Output columns [x0, x1) read inside the source; the others read the fill value.
  const x0 = Math.min(W, Math.max(0, sx === 1 ? -tx : tx - srcWidth + 1));
  const x1 = Math.max(x0, Math.min(W, sx === 1 ? srcWidth - tx : tx + 1));
  const step = sx * C;
  for (let c = 0; c < C; c++) {
    const base = c << 8;
    const fill = table[base + (view.fill ?? 0)] as number;
    for (let y = 0; y < H; y++) {
      const sy = ty + y;
      let to = y * rowStride + c * channelStride;
      if (sy < 0 || sy >= srcHeight) {
        for (let x = 0; x < W; x++, to += pixelStride) out[to] = fill;
        continue;
      }
      let x = 0;
      for (; x < x0; x++, to += pixelStride) out[to] = fill;
      let from = (sy * srcWidth + tx + sx * x0) * C + c;
      for (; x < x1; x++, to += pixelStride, from += step)
        out[to] = table[base + (data[from] as number)] as number;
      for (; x < W; x++, to += pixelStride) out[to] = fill;
    }
  }
  return { data: out, shape: chw ? [C, H, W] : [H, W, C] };
}

/** Byte → the same byte, per channel: the lookup table of `uint8` output. */
const IDENTITY = Float32Array.from({ length: 3 * 256 }, (_, k) => k & 255);

/** Per channel, byte → float: `v / 255`, then `(x - mean) / std` when the transforms normalize. */
function lookupTable(channels: number, steps: readonly Step[]): Float32Array {
  const normalize = steps.find((s) => s.op === 'normalize');
  const lut = new Float32Array(channels * 256);
  for (let c = 0; c < channels; c++) {
    const mean = normalize?.mean[c] ?? 0;
    const std = normalize?.std[c] ?? 1;
    for (let v = 0; v < 256; v++) lut[c * 256 + v] = (v / 255 - mean) / std;
  }
  return lut;
}

/** Rounds halves to even, as Python's `round` (torchvision's centre crop). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function lazyRandom(index: number): () => Random {
  let random: Random | undefined;
  return () => {
    random ??= new Random(0, 0, index);
    return random;
  };
}

/** Lists the class folders of `root` and the image files in each; problems go to `issues`. */
function scan(root: string, extensions: readonly string[], issues: string[]): Listing | undefined {
  let entries: string[];
  try {
    if (!statSync(root).isDirectory()) {
      issues.push(`\`root\` must be a folder, got the file ${describe(root)}`);
      return undefined;
    }
    entries = readdirSync(root);
  } catch (e) {
    issues.push(`\`root\` cannot be read: ${(e as Error).message}`);
    return undefined;
  }
  const wanted = new Set(extensions.map((e) => e.toLowerCase()));
  const classes = entries.filter((name) => !name.startsWith('.') && isFolder(join(root, name))).sort();
  if (classes.length === 0) {
    issues.push(`\`root\` ${describe(root)} has no class folders (one subfolder per class is expected)`);
    return undefined;
  }
  const files: string[] = [];
  const counts: number[] = [];
  for (const name of classes) {
    const found = walk(join(root, name), wanted).map((f) => relative(root, f).split(sep).join('/'));
    if (found.length === 0) {
      issues.push(
        `class folder ${describe(name)} of ${describe(root)} has no image files (${[...wanted].join(', ')})`,
      );
    }
    files.push(...found.sort());
    counts.push(found.length);
  }
  return { classes, files, counts };
}

/** Every file under `dir` (following links, skipping hidden names) whose extension is in `wanted`. */
function walk(dir: string, wanted: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    const folder = entry.isDirectory() || (entry.isSymbolicLink() && isFolder(path));
    if (folder) out.push(...walk(path, wanted));
    else if (wanted.has(extname(entry.name).toLowerCase())) out.push(path);
  }
  return out;
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------------------
// WORKER GLUE: how a loader's workers rebuild an ImageFolder. This is the only place that knows about the
// recipe mechanism (`withRecipe` today; a `Symbol.for('weft.toRecipe')` method returning { url, name, args }
// after the protocol change). A worker imports this module, calls `rebuildImageFolder(root, options,
// listing)` and gets the same folder without listing it again: the same files, in the same order.
// ---------------------------------------------------------------------------------------------------------

/** Set while a worker rebuilds a folder from its recipe, so that the constructor takes the listing as is. */
let pendingListing: Listing | undefined;

function markForWorkers(
  folder: ImageFolder<keyof ImageArrays>,
  root: string,
  options: object,
  listing: Listing,
): void {
  withRecipe(folder, {
    url: import.meta.url,
    name: 'rebuildImageFolder',
    args: [
      { label: 'root', value: root },
      { label: 'options', value: options },
      { label: 'listing', value: listing },
    ],
  });
}

/** Rebuilds an {@link ImageFolder} in a worker from its recipe. @internal */
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
