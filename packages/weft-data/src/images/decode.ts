// From an image file to its tensor: sharp decodes (and applies a leading `resize`), a per-thread cache keeps
// the decoded bytes, and the other transforms run on a view of them (pixels.ts) on every `get`.
import { readFile } from 'node:fs/promises';
import type { Tensor } from '../core/dtype.ts';
import { FileError } from '../core/errors.ts';
import type { Random } from '../core/random.ts';
import { affine, colorJitter } from './augment.ts';
import {
  fromRaw,
  lookupTable,
  type RawPixels,
  randomResizedCropBox,
  rawPixels,
  render,
  transformView,
  type View,
} from './pixels.ts';
import { loadSharp, type RawImage, type Sharp, type SharpPipeline } from './sharp.ts';
import type { Interpolation, Step } from './transforms.ts';

const KERNELS: Record<Interpolation, string> = {
  nearest: 'nearest',
  bilinear: 'linear',
  bicubic: 'cubic',
  lanczos: 'lanczos3',
};

type ResizeStep = Step & { op: 'resize' };
type ResizedCropStep = Step & { op: 'randomResizedCrop' };

/** What a {@link Decoder} makes of every image. */
export interface DecodeOptions {
  /** The planned transforms, in order. */
  readonly steps: readonly Step[];
  /** 1 decodes to grayscale, 3 to RGB. */
  readonly channels: 1 | 3;
  /**
   * `'float32'`: values scaled to [0, 1] (16-bit images by 65535, keeping their precision), then normalized;
   * `'uint8'`: bytes (16-bit images give their high byte).
   */
  readonly dtype: 'float32' | 'uint8';
  /** Axis order of the output. */
  readonly layout: 'chw' | 'hwc';
  /** Bytes of decoded images kept, least recently used dropped first; 0 keeps none. */
  readonly cacheBytes: number;
}

/**
 * Decodes image files and applies the transforms; one per {@link ImageFolder} and thread.
 *
 * @param options - the steps and the output; see {@link DecodeOptions}
 * @example
 * ```ts
 * const decoder = new Decoder({ steps: [], channels: 3, dtype: 'float32', layout: 'chw', cacheBytes: 0 });
 * const image = await decoder.load('cat/001.png', () => new Random(0, 0, 0)); // Float32Array, [3, H, W]
 * ```
 */
export class Decoder {
  readonly #options: DecodeOptions;
  readonly #cache: DecodedCache;
  /** Value → output float, per channel, for 8- and 16-bit sources (the latter made on the first one). */
  readonly #tables: { 8?: Float32Array; 16?: Float32Array } = {};

  constructor(options: DecodeOptions) {
    this.#options = options;
    this.#cache = new DecodedCache(options.cacheBytes);
  }

  /**
   * The image at `path`, decoded and transformed, in a new tensor.
   *
   * @param path - the image file
   * @param random - the sample's random stream, asked only by random transforms
   */
  async load(path: string, random: () => Random): Promise<Tensor<Float32Array | Uint8Array>> {
    const view = await this.#view(path, random);
    const { channels: C, height: H, width: W } = view;
    const { dtype, layout } = this.#options;
    const data = dtype === 'float32' ? new Float32Array(C * H * W) : new Uint8Array(C * H * W);
    render(view, layout, this.#table(view), data, 0);
    return { data, shape: layout === 'chw' ? [C, H, W] : [H, W, C] };
  }

  /**
   * Decodes and transforms the image at `path` straight into `out` from `offset`, exactly as {@link load}
   * would; only for transforms that fix the size (see `fixedSize`), so that the image fills its slot.
   *
   * @param path - the image file
   * @param random - the sample's random stream
   * @param out - the batch's flat array (`Float32Array` for `float32`, `Uint8Array` for `uint8`)
   * @param offset - where this image starts in `out`
   */
  async write(
    path: string,
    random: () => Random,
    out: Float32Array | Uint8Array,
    offset: number,
  ): Promise<void> {
    const view = await this.#view(path, random);
    render(view, this.#options.layout, this.#table(view), out, offset);
  }

  /** The table from decoded values to output values; undefined copies them (`uint8`, always 8-bit). */
  #table(view: View): Float32Array | undefined {
    const { dtype, channels, steps } = this.#options;
    if (dtype === 'uint8') return undefined;
    const bits = view.data instanceof Uint16Array ? 16 : 8;
    this.#tables[bits] ??= lookupTable(channels, steps, bits);
    return this.#tables[bits];
  }

  /** The image decoded and transformed up to the output pass: a view over its (cached or fresh) pixels. */
  async #view(path: string, random: () => Random): Promise<View> {
    const sharp = await loadSharp();
    const { steps, channels, dtype, cacheBytes } = this.#options;
    const first = steps[0];
    let k = first?.op === 'resize' ? 1 : 0;
    let decoded = this.#cache.get(path);
    if (decoded === undefined) {
      const bytes = await readImage(path);
      const { width, height, depth, format } =
        readHeader(bytes) ?? (await decodeStep(path, sharp(bytes).metadata()));
      // 16 bits are kept only where they count: `float32` output; `uint8` output gets the high byte.
      const deep = dtype === 'float32' && depth === 'ushort';
      let pipeline = colour(sharp(bytes, { failOn: 'error' }), channels, deep).removeAlpha();
      // A leading resize runs inside the decode, so that the cache keeps the (usually smaller) resized image;
      // a leading random resized crop too when nothing is cached, so that libvips decodes only what it needs.
      let cacheable = true;
      if (first?.op === 'resize') pipeline = resized(pipeline, first);
      else if (first?.op === 'randomResizedCrop' && cacheBytes === 0 && width && height) {
        pipeline = resizedCrop(pipeline, width, height, first, random(), format === 'jpeg');
        cacheable = false;
        k = 1;
      }
      decoded = toRaw(
        await decodeStep(path, pipeline.raw({ depth: deep ? 'ushort' : 'uchar' }).toBuffer(RAW)),
      );
      if (cacheable) this.#cache.set(path, decoded);
    }
    let view = fromRaw(decoded, channels);
    for (; k < steps.length; k++) {
      const step = steps[k] as Step;
      if (step.op === 'resize') view = await viaSharp(sharp, view, (p) => resized(p, step));
      else if (step.op === 'randomResizedCrop') {
        const r = random();
        const { width, height } = view;
        view = await viaSharp(sharp, view, (p) => resizedCrop(p, width, height, step, r, false));
      } else if (step.op === 'colorJitter') view = colorJitter(view, step, random());
      else if (step.op === 'affine') view = affine(view, step, random());
      else view = transformView(view, step, random, path);
    }
    return view;
  }
}

const RAW = { resolveWithObject: true } as const;

/** The file's bytes; a file that cannot be read is a {@link FileError} saying why (permission, missing). */
async function readImage(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    const reason =
      code === 'EACCES' || code === 'EPERM'
        ? 'permission denied'
        : code === 'ENOENT'
          ? 'no such file'
          : code === 'EISDIR'
            ? 'it is a folder'
            : (e as Error).message;
    throw new FileError(`cannot read image ${path}: ${reason}`, { file: path }, { cause: e });
  }
}

/** What the decode needs to know of a file before decoding it. @internal */
export interface Header {
  readonly format: string;
  readonly width: number;
  readonly height: number;
  /** libvips' name of the values' depth: `'uchar'`, or `'ushort'` for 16 bits. */
  readonly depth: string;
}

/**
 * The size and depth of a JPEG (its frame header) or a PNG (its IHDR chunk) read from the bytes in
 * JavaScript: a libvips call less per image than sharp's `metadata()`, which reads any other format.
 * The size is that of the raw decode, which weft does not turn by the EXIF orientation. Undefined for
 * anything else.
 *
 * @param b - the file's bytes
 * @example
 * ```ts
 * readHeader(await readFile('cat.jpg')); // { format: 'jpeg', width: 500, height: 375, depth: 'uchar' }
 * ```
 * @internal
 */
export function readHeader(b: Uint8Array): Header | undefined {
  const u16 = (k: number) => ((b[k] as number) << 8) | (b[k + 1] as number);
  const u32 = (k: number) => u16(k) * 65536 + u16(k + 2);
  if (b.length >= 26 && u32(0) === 0x89504e47 && u32(12) === 0x49484452) {
    return { format: 'png', width: u32(16), height: u32(20), depth: b[24] === 16 ? 'ushort' : 'uchar' };
  }
  if (b[0] !== 0xff || b[1] !== 0xd8) return undefined;
  // Segments up to the frame header (SOF0–SOF15 but DHT, JPG and DAC), each with its length.
  for (let k = 2; k + 9 < b.length; ) {
    if (b[k] !== 0xff) return undefined;
    const marker = b[k + 1] as number;
    if (marker === 0xff) {
      k++; // fill byte
      continue;
    }
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { format: 'jpeg', height: u16(k + 5), width: u16(k + 7), depth: 'uchar' };
    }
    k += 2 + u16(k + 2);
  }
  return undefined;
}

/** A libvips step whose failure is the file's: a {@link FileError} naming it with libvips' first line. */
async function decodeStep<T>(path: string, promise: Promise<T>): Promise<T> {
  try {
    return await promise;
  } catch (e) {
    const reason = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    throw new FileError(`cannot decode image ${path}: ${reason}`, { file: path }, { cause: e });
  }
}

/** sharp's output as pixels: 16-bit values as a `Uint16Array` over the same memory (copied if misaligned). */
function toRaw({ data, info }: RawImage): RawPixels {
  if (info.depth !== 'ushort') return { data, info };
  const aligned = data.byteOffset % 2 === 0 ? data : Buffer.from(data);
  return { data: new Uint16Array(aligned.buffer, aligned.byteOffset, aligned.byteLength >> 1), info };
}

/** Output in the folder's colours: grey or RGB, at 8 bits or (`deep`) 16. */
function colour(pipeline: SharpPipeline, channels: number, deep: boolean): SharpPipeline {
  if (channels === 1) return deep ? pipeline.toColourspace('grey16') : pipeline.grayscale();
  return pipeline.toColourspace(deep ? 'rgb16' : 'srgb');
}

function resized(pipeline: SharpPipeline, step: ResizeStep): SharpPipeline {
  return pipeline.resize({
    width: step.width,
    height: step.height,
    fit: step.mode === 'shorter' ? 'outside' : 'fill',
    kernel: KERNELS[step.interpolation],
  });
}

/**
 * The box of `step` drawn in a `width`×`height` image, resized to the output size, in one libvips pipeline:
 * cut out and resized, exactly torchvision's crop then resize. Except for a JPEG (`shrinkOnLoad`) whose box is
 * reduced at least twice: then the whole image is resized so that the box becomes the output size and
 * the box is then cut out: libvips computes only the pixels the box needs and, for a JPEG, decodes at 1/2,
 * 1/4 or 1/8 scale (sharp's shrink-on-load, which needs the resize to come first); the box edges then land
 * within half an output pixel of their exact place, as the resized image has whole pixels.
 */
function resizedCrop(
  pipeline: SharpPipeline,
  width: number,
  height: number,
  step: ResizedCropStep,
  random: Random,
  shrinkOnLoad: boolean,
): SharpPipeline {
  const box = randomResizedCropBox(width, height, step, random);
  const kernel = KERNELS[step.interpolation];
  const fx = step.width / box.width;
  const fy = step.height / box.height;
  if (!shrinkOnLoad || fx > 0.5 || fy > 0.5) {
    return pipeline
      .extract({ left: box.left, top: box.top, width: box.width, height: box.height })
      .resize({ width: step.width, height: step.height, fit: 'fill', kernel });
  }
  const W = Math.max(step.width, Math.round(width * fx));
  const H = Math.max(step.height, Math.round(height * fy));
  // The box's corner at the scale the whole pixels of the resized image give.
  const left = Math.min(W - step.width, Math.round((box.left * W) / width));
  const top = Math.min(H - step.height, Math.round((box.top * H) / height));
  return pipeline
    .resize({ width: W, height: H, fit: 'fill', kernel })
    .extract({ left, top, width: step.width, height: step.height });
}

/** A sharp operation on the view so far: its pixels go back through libvips, at their depth. */
async function viaSharp(sharp: Sharp, view: View, op: (p: SharpPipeline) => SharpPipeline): Promise<View> {
  const { data, info } = rawPixels(view);
  const deep = data instanceof Uint16Array;
  const out = await op(colour(sharp(data, { raw: info }), view.channels, deep))
    .raw({ depth: deep ? 'ushort' : 'uchar' })
    .toBuffer(RAW);
  return fromRaw(toRaw(out), view.channels);
}

/** Decoded images by path, least recently used first, within a budget of bytes (one per thread). */
class DecodedCache {
  readonly #entries = new Map<string, RawPixels>();
  #bytes = 0;
  constructor(readonly maxBytes: number) {}

  get(path: string): RawPixels | undefined {
    const hit = this.#entries.get(path);
    if (hit !== undefined) {
      // Map order is insertion order: re-inserting marks the entry as the most recently used.
      this.#entries.delete(path);
      this.#entries.set(path, hit);
    }
    return hit;
  }

  set(path: string, decoded: RawPixels): void {
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

/**
 * An encoded image (JPEG, PNG, WebP…, as stored in a shard) decoded by sharp to its pixels: `uint8`, height ×
 * width × channels, with the channels the image has (1 grey, 2 grey and alpha, 3 RGB, 4 RGBA), as
 * ImageFolder's `layout: 'hwc'` without transforms gives them. Undecodable bytes are a {@link FileError}
 * naming `where`.
 *
 * @param bytes - the encoded file's bytes
 * @param where - names the image in messages (`shard.00003.mds, sample 12, column jpg`)
 * @param file - the file the error names
 * @example
 * ```ts
 * const image = await decodeImage(pngBytes, 'sample 0, column png', '/data/shard.00000.mds');
 * image.shape; // [32, 32, 3]
 * ```
 */
export async function decodeImage(
  bytes: Uint8Array,
  where: string,
  file: string,
): Promise<Tensor<Uint8Array>> {
  const sharp = await loadSharp();
  let decoded: RawPixels;
  try {
    decoded = await sharp(bytes, { failOn: 'error' }).raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    const reason = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    throw new FileError(`cannot decode image ${where}: ${reason}`, { file }, { cause: e });
  }
  const { width, height, channels } = decoded.info;
  const data = new Uint8Array(decoded.data.buffer, decoded.data.byteOffset, decoded.data.byteLength);
  return { data, shape: [height, width, channels] };
}
