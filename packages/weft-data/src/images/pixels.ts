// The pixel side of the transforms: crops and flips move a view over the decoded bytes instead of copying
// them, and the one copy, `render`, writes the output tensor with `normalize` folded into a lookup table.
import type { Tensor } from '../core/dtype.ts';
import { FileError } from '../core/errors.ts';
import type { Random } from '../core/random.ts';
import type { Step } from './transforms.ts';

/** Decoded pixels, interleaved (HWC) bytes, as sharp gives them. */
export interface RawPixels {
  /** `height · width · channels` bytes. */
  readonly data: Uint8Array;
  /** The geometry of `data`. */
  readonly info: { readonly width: number; readonly height: number; readonly channels: number };
}

/**
 * The geometry of the image so far, without copying pixels: output (y, x) reads source (ty + y, tx + sx·x).
 *
 * @example
 * ```ts
 * const view = fromRaw(decoded, 3); // the whole image; crops and flips only move ty, tx and sx
 * ```
 */
export interface View {
  /** The source bytes, HWC. */
  readonly data: Uint8Array;
  /** Width of the source. */
  readonly srcWidth: number;
  /** Height of the source. */
  readonly srcHeight: number;
  /** Channels of the source and the output. */
  readonly channels: number;
  /** Height of the output. */
  height: number;
  /** Width of the output. */
  width: number;
  /** Source row of output row 0. */
  ty: number;
  /** Source column of output column 0. */
  tx: number;
  /** Source columns per output column: -1 once flipped. */
  sx: 1 | -1;
  /** Value of pixels outside the source (padding), once there is any. */
  fill: number | undefined;
}

/** The transforms that only move the view; `resize` needs sharp (see decode.ts). */
export type PixelStep = Exclude<Step, { op: 'resize' }>;

/**
 * A view of the whole of `raw`, which must have `channels` channels.
 *
 * @param raw - decoded pixels
 * @param channels - the channels expected (sharp was asked for them)
 * @example
 * ```ts
 * const view = fromRaw(await pipeline.raw().toBuffer({ resolveWithObject: true }), 3);
 * ```
 */
export function fromRaw({ data, info }: RawPixels, channels: number): View {
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

/**
 * Applies `step` to `view` (in place, or on a rendered copy when padding needs one).
 *
 * @param view - the image so far
 * @param step - a crop, a flip or `normalize` (which the lookup table applies: see {@link lookupTable})
 * @param random - the sample's random stream, asked only by random steps, in order
 * @param path - the image file, named when it is too small for a random crop
 * @example
 * ```ts
 * view = transformView(view, { op: 'flip', where: 'transforms[0].flip', p: 0.5 }, random, path);
 * ```
 */
export function transformView(view: View, step: PixelStep, random: () => Random, path: string): View {
  switch (step.op) {
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
    if (!whole) view = fromRaw(rawPixels(view), view.channels);
    view.fill = fill;
  }
  view.ty += top;
  view.tx += view.sx * left;
  view.height = height;
  view.width = width;
  return view;
}

/**
 * The view's pixels as fresh HWC bytes, as sharp takes them.
 *
 * @param view - the image so far
 * @example
 * ```ts
 * const { data, info } = rawPixels(view);
 * sharp(data, { raw: info });
 * ```
 */
export function rawPixels(view: View): RawPixels {
  const { data } = render(view, 'hwc', undefined);
  return {
    data: data as Uint8Array,
    info: { width: view.width, height: view.height, channels: view.channels },
  };
}

/**
 * Writes the view's pixels into a new tensor: bytes, or through `lut` (per channel, 256 values) as floats.
 *
 * @param view - the image so far
 * @param layout - `'chw'` or `'hwc'`
 * @param lut - from {@link lookupTable}; undefined writes the bytes as they are (`uint8` output)
 * @example
 * ```ts
 * const image = render(view, 'chw', lookupTable(3, steps)); // Float32Array, [3, H, W]
 * ```
 */
export function render(
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

/**
 * Per channel, byte → float: `v / 255`, then `(x - mean) / std` when the transforms normalize.
 *
 * @param channels - channels of the images
 * @param steps - the planned transforms; only `normalize` matters here
 * @example
 * ```ts
 * lookupTable(1, [])[255]; // 1
 * ```
 */
export function lookupTable(channels: number, steps: readonly Step[]): Float32Array {
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
