// From an image file to its tensor: sharp decodes (and applies a leading `resize`), a per-thread cache keeps
// the decoded bytes, and the other transforms run on a view of them (pixels.ts) on every `get`.
import type { Tensor } from '../core/dtype.ts';
import { FileError } from '../core/errors.ts';
import type { Random } from '../core/random.ts';
import { fromRaw, type RawPixels, rawPixels, render, transformView, type View } from './pixels.ts';
import { loadSharp, type Sharp, type SharpPipeline } from './sharp.ts';
import type { Interpolation, Step } from './transforms.ts';

const KERNELS: Record<Interpolation, string> = {
  nearest: 'nearest',
  bilinear: 'linear',
  bicubic: 'cubic',
  lanczos: 'lanczos3',
};

type ResizeStep = Step & { op: 'resize' };

/** What a {@link Decoder} makes of every image. */
export interface DecodeOptions {
  /** The planned transforms, in order. */
  readonly steps: readonly Step[];
  /** 1 decodes to grayscale, 3 to RGB. */
  readonly channels: 1 | 3;
  /**
   * Per channel, the output value of each byte (pixels.ts's `lookupTable`): the output is `float32`; undefined
   * writes the bytes themselves (`uint8`).
   */
  readonly lut: Float32Array | undefined;
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
 * const decoder = new Decoder({ steps: [], channels: 3, layout: 'chw', lut: lookupTable(3, []), cacheBytes: 0 });
 * const image = await decoder.load('cat/001.png', () => new Random(0, 0, 0)); // Float32Array, [3, H, W]
 * ```
 */
export class Decoder {
  readonly #options: DecodeOptions;
  readonly #cache: DecodedCache;

  constructor(options: DecodeOptions) {
    this.#options = options;
    this.#cache = new DecodedCache(options.cacheBytes);
  }

  /**
   * The image at `path`, decoded and transformed.
   *
   * @param path - the image file
   * @param random - the sample's random stream, asked only by random transforms
   */
  async load(path: string, random: () => Random): Promise<Tensor<Float32Array | Uint8Array>> {
    const sharp = await loadSharp();
    const { steps, channels, layout, lut } = this.#options;
    // A leading resize runs inside the decode, so that the cache keeps the (usually smaller) resized image.
    const leading = steps[0]?.op === 'resize' ? steps[0] : undefined;
    let decoded = this.#cache.get(path);
    if (decoded === undefined) {
      let pipeline = sharp(path, { failOn: 'error' });
      pipeline = channels === 1 ? pipeline.grayscale() : pipeline.toColourspace('srgb');
      pipeline = pipeline.removeAlpha();
      if (leading !== undefined) pipeline = resized(pipeline, leading);
      try {
        decoded = await pipeline.raw().toBuffer({ resolveWithObject: true });
      } catch (e) {
        const reason = (e instanceof Error ? e.message : String(e)).split('\n')[0];
        throw new FileError(`cannot decode image ${path}: ${reason}`, { file: path }, { cause: e });
      }
      this.#cache.set(path, decoded);
    }
    let view = fromRaw(decoded, channels);
    for (let k = leading === undefined ? 0 : 1; k < steps.length; k++) {
      const step = steps[k] as Step;
      view =
        step.op === 'resize' ? await resizeView(sharp, view, step) : transformView(view, step, random, path);
    }
    return render(view, layout, lut);
  }
}

function resized(pipeline: SharpPipeline, step: ResizeStep): SharpPipeline {
  return pipeline.resize({
    width: step.width,
    height: step.height,
    fit: step.mode === 'shorter' ? 'outside' : 'fill',
    kernel: KERNELS[step.interpolation],
  });
}

/** A resize after other transforms: the view so far goes back through sharp. */
async function resizeView(sharp: Sharp, view: View, step: ResizeStep): Promise<View> {
  const { data, info } = rawPixels(view);
  const out = await resized(sharp(data, { raw: info }), step)
    .raw()
    .toBuffer({ resolveWithObject: true });
  return fromRaw(out, view.channels);
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
