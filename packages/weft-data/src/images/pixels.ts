// The pixel side of the transforms: crops and flips move a view over the decoded bytes instead of copying
// them, and the one copy, `render`, writes the output tensor with `normalize` folded into a lookup table.
import { FileError } from '../core/errors.ts';
import type { Random } from '../core/random.ts';
import type { Step } from './transforms.ts';

/** Decoded pixels, interleaved (HWC), as sharp gives them: 8 bits per value, or 16 (PNG, TIFF) as `Uint16Array`. */
export interface RawPixels {
  /** `height · width · channels` values. */
  readonly data: Uint8Array | Uint16Array;
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
  /** The source values, HWC. */
  readonly data: Uint8Array | Uint16Array;
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
  /** Value of pixels outside the source (padding), once there is any, as a byte (0–255). */
  fill: number | undefined;
}

/** The transforms that only move the view; `resize` and `randomResizedCrop` need sharp (see decode.ts), the others new pixels (augment.ts). */
export type PixelStep = Exclude<Step, { op: 'resize' | 'randomResizedCrop' | 'colorJitter' | 'affine' }>;

/** What a box is drawn with: torchvision's `uniform` is `min + (max - min) · next()`, its `randint(0, n)` is `int(n)`. */
export type Draws = Pick<Random, 'next' | 'int'>;

/** A box in an image: top row, left column, height, width. */
export interface Box {
  /** Top row. */
  readonly top: number;
  /** Left column. */
  readonly left: number;
  /** Rows. */
  readonly height: number;
  /** Columns. */
  readonly width: number;
}

/**
 * The box torchvision's `RandomResizedCrop.get_params` draws in a `width`×`height` image: up to ten attempts
 * at a box of area `scale` × the image's (uniform) and aspect ratio `ratio` (log-uniform) that fits, then
 * the centre box, as wide as the image allows within `ratio`. Draws per attempt: area, ratio, and for the
 * box that fits, top and left.
 *
 * @param width - image width
 * @param height - image height
 * @param step - the planned `randomResizedCrop`
 * @param r - the sample's random stream
 * @example
 * ```ts
 * randomResizedCropBox(400, 300, step, new Random(0, 0, 7)); // { top, left, height, width }
 * ```
 */
export function randomResizedCropBox(
  width: number,
  height: number,
  step: Step & { op: 'randomResizedCrop' },
  r: Draws,
): Box {
  const area = width * height;
  const [s0, s1] = step.scale;
  const l0 = Math.log(step.ratio[0]);
  const l1 = Math.log(step.ratio[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * (s0 + (s1 - s0) * r.next());
    const aspect = Math.exp(l0 + (l1 - l0) * r.next());
    const w = roundHalfEven(Math.sqrt(target * aspect));
    const h = roundHalfEven(Math.sqrt(target / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height)
      return { top: r.int(height - h + 1), left: r.int(width - w + 1), height: h, width: w };
  }
  const inRatio = width / height;
  let w = width;
  let h = height;
  if (inRatio < step.ratio[0]) h = roundHalfEven(w / step.ratio[0]);
  else if (inRatio > step.ratio[1]) w = roundHalfEven(h * step.ratio[1]);
  return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), height: h, width: w };
}

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
 * The view's pixels as fresh HWC values of the source's depth, as sharp takes them.
 *
 * @param view - the image so far
 * @example
 * ```ts
 * const { data, info } = rawPixels(view);
 * sharp(data, { raw: info });
 * ```
 */
export function rawPixels(view: View): RawPixels {
  const { height, width, channels } = view;
  const size = height * width * channels;
  const data = view.data instanceof Uint16Array ? new Uint16Array(size) : new Uint8Array(size);
  render(view, 'hwc', undefined, data, 0);
  return { data, info: { width, height, channels } };
}

/**
 * Writes the view's pixels into `out` from `offset`: the values as they are (`table` undefined), or each
 * through `table` (per channel, one entry per possible value: see {@link lookupTable}). The one pass over the
 * output, whether a new tensor (`get`) or a row of a batch (`writeItem`).
 *
 * @param view - the image so far
 * @param layout - `'chw'` or `'hwc'`
 * @param table - from {@link lookupTable}, with 2^bits entries per channel for `bits`-bit sources
 * @param out - receives `channels · height · width` values from `offset`
 * @param offset - where the image starts in `out`
 * @example
 * ```ts
 * const image = new Float32Array(3 * view.height * view.width);
 * render(view, 'chw', lookupTable(3, steps, 8), image, 0); // [3, H, W]
 * ```
 */
export function render(
  view: View,
  layout: 'chw' | 'hwc',
  table: Float32Array | undefined,
  out: Float32Array | Uint8Array | Uint16Array,
  offset: number,
): void {
  const { data, srcWidth, srcHeight, channels: C, height: H, width: W, ty, tx, sx } = view;
  const chw = layout === 'chw';
  const bits = data instanceof Uint16Array ? 16 : 8;
  // Offsets of channel c of pixel (y, x) in the output: y·rowStride + x·pixelStride + c·channelStride.
  const rowStride = chw ? W : W * C;
  const pixelStride = chw ? 1 : C;
  const channelStride = chw ? H * W : 1;
  // Output columns [x0, x1) read inside the source; the others read the fill value.
  const x0 = Math.min(W, Math.max(0, sx === 1 ? -tx : tx - srcWidth + 1));
  const x1 = Math.max(x0, Math.min(W, sx === 1 ? srcWidth - tx : tx + 1));
  const step = sx * C;
  // A fill byte at the source's depth: 255 is 65535 in 16 bits.
  const fillValue = (view.fill ?? 0) * (bits === 16 ? 257 : 1);
  if (C === 3 && table !== undefined && x0 === 0 && x1 === W && ty >= 0 && ty + H <= srcHeight) {
    // The common case (every pixel inside the source, RGB, through the table): each source row read once,
    // in order, its three channels written to their three places.
    const t1 = 1 << bits;
    const t2 = 2 << bits;
    for (let y = 0; y < H; y++) {
      let to = offset + y * rowStride;
      let from = ((ty + y) * srcWidth + tx) * 3;
      for (let x = 0; x < W; x++, to += pixelStride, from += step) {
        out[to] = table[data[from] as number] as number;
        out[to + channelStride] = table[t1 + (data[from + 1] as number)] as number;
        out[to + 2 * channelStride] = table[t2 + (data[from + 2] as number)] as number;
      }
    }
    return;
  }
  for (let c = 0; c < C; c++) {
    const base = c << bits;
    const fill = table === undefined ? fillValue : (table[base + fillValue] as number);
    for (let y = 0; y < H; y++) {
      const sy = ty + y;
      let to = offset + y * rowStride + c * channelStride;
      if (sy < 0 || sy >= srcHeight) {
        for (let x = 0; x < W; x++, to += pixelStride) out[to] = fill;
        continue;
      }
      let x = 0;
      for (; x < x0; x++, to += pixelStride) out[to] = fill;
      let from = (sy * srcWidth + tx + sx * x0) * C + c;
      if (table === undefined) {
        for (; x < x1; x++, to += pixelStride, from += step) out[to] = data[from] as number;
      } else {
        for (; x < x1; x++, to += pixelStride, from += step)
          out[to] = table[base + (data[from] as number)] as number;
      }
      for (; x < W; x++, to += pixelStride) out[to] = fill;
    }
  }
}

/**
 * Per channel, value → float: `v / (2^bits - 1)` (255 for bytes, 65535 for 16-bit PNGs), then
 * `(x - mean) / std` when the transforms normalize.
 *
 * @param channels - channels of the images
 * @param steps - the planned transforms; only `normalize` matters here
 * @param bits - 8 or 16, the depth of the decoded values
 * @example
 * ```ts
 * lookupTable(1, [], 8)[255]; // 1
 * ```
 */
export function lookupTable(channels: number, steps: readonly Step[], bits: 8 | 16): Float32Array {
  const normalize = steps.find((s) => s.op === 'normalize');
  const levels = 1 << bits;
  const lut = new Float32Array(channels * levels);
  for (let c = 0; c < channels; c++) {
    const mean = normalize?.mean[c] ?? 0;
    const std = normalize?.std[c] ?? 1;
    for (let v = 0; v < levels; v++) lut[c * levels + v] = (v / (levels - 1) - mean) / std;
  }
  return lut;
}

/** Rounds halves to even, as Python's `round` (torchvision's centre crop). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
