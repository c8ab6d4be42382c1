// The transforms that change pixel values or move them other than by whole rows and columns: ColorJitter
// and the affine ones (RandomRotation, RandomAffine). Each takes the view so far and gives new pixels at the
// same depth, with torchvision's arithmetic for tensors of bytes (values truncated to whole levels after
// every operation, as `.to(torch.uint8)` does).
import type { Random } from '../core/random.ts';
import { fromRaw, rawPixels, type View } from './pixels.ts';
import type { Step } from './transforms.ts';

type JitterStep = Step & { op: 'colorJitter' };
type AffineStep = Step & { op: 'affine' };

const uniform = (r: Random, [a, b]: readonly [number, number]): number => a + (b - a) * r.next();

/**
 * torchvision's `ColorJitter` on `view`: the four adjustments in a random order (a permutation drawn first),
 * then each factor drawn in the order brightness, contrast, saturation, hue (those configured only).
 *
 * @param view - the image so far
 * @param step - the planned `colorJitter`
 * @param r - the sample's random stream
 * @example
 * ```ts
 * view = colorJitter(view, step, context.random());
 * ```
 */
export function colorJitter(view: View, step: JitterStep, r: Random): View {
  const order = [0, 1, 2, 3];
  for (let k = 3; k > 0; k--) {
    const j = r.int(k + 1);
    [order[k], order[j]] = [order[j] as number, order[k] as number];
  }
  const b = step.brightness && uniform(r, step.brightness);
  const c = step.contrast && uniform(r, step.contrast);
  const s = step.saturation && uniform(r, step.saturation);
  const h = step.hue && uniform(r, step.hue);
  const { data, info } = rawPixels(view);
  const max = data instanceof Uint16Array ? 65535 : 255;
  const rgb = info.channels === 3;
  for (const op of order) {
    if (op === 0 && b !== undefined) blend(data, b, 0, 1, max);
    else if (op === 1 && c !== undefined) {
      let sum = 0;
      if (rgb) for (let p = 0; p < data.length; p += 3) sum += grey(data, p, max);
      else for (let p = 0; p < data.length; p++) sum += data[p] as number;
      blend(data, c, sum / (data.length / info.channels), 1, max);
    } else if (op === 2 && s !== undefined && rgb) {
      // Against each pixel's grey, taken before any of its channels changes.
      const greys = new Float64Array(data.length / 3);
      for (let p = 0; p < greys.length; p++) greys[p] = grey(data, 3 * p, max);
      blend(data, s, greys, 3, max);
    } else if (op === 3 && h !== undefined && rgb) shiftHue(data, h, max);
  }
  return fromRaw({ data, info }, view.channels);
}

/** torchvision's `rgb_to_grayscale` of the pixel at `p`, truncated to a level. */
function grey(data: Uint8Array | Uint16Array, p: number, max: number): number {
  const v = 0.2989 * (data[p] as number) + 0.587 * (data[p + 1] as number) + 0.114 * (data[p + 2] as number);
  return Math.min(max, Math.trunc(v));
}

/**
 * torchvision's `_blend`: `factor · x + (1 − factor) · other`, clamped, truncated; in place. `other` is one
 * number, or one per pixel of `channels` values.
 */
function blend(
  data: Uint8Array | Uint16Array,
  factor: number,
  other: number | Float64Array,
  channels: number,
  max: number,
): void {
  for (let p = 0; p < data.length; p++) {
    const o = typeof other === 'number' ? other : (other[(p / channels) | 0] as number);
    const v = factor * (data[p] as number) + (1 - factor) * o;
    data[p] = Math.trunc(Math.min(max, Math.max(0, v)));
  }
}

/** torchvision's `adjust_hue`: to HSV, hue + `shift` (mod 1), back to RGB; in place. */
function shiftHue(data: Uint8Array | Uint16Array, shift: number, max: number): void {
  for (let p = 0; p < data.length; p += 3) {
    const r = (data[p] as number) / max;
    const g = (data[p + 1] as number) / max;
    const b = (data[p + 2] as number) / max;
    const hi = Math.max(r, g, b);
    const lo = Math.min(r, g, b);
    const span = hi - lo;
    const s = span / (hi === lo ? 1 : hi);
    const d = hi === lo ? 1 : span;
    const rc = (hi - r) / d;
    const gc = (hi - g) / d;
    const bc = (hi - b) / d;
    const h6 = hi === r ? bc - gc : hi === g ? 2 + rc - bc : 4 + gc - rc;
    const h = (((((h6 / 6 + 1) % 1) + shift) % 1) + 1) % 1;
    const i = Math.floor(h * 6);
    const f = h * 6 - i;
    const clamp = (x: number) => Math.min(1, Math.max(0, x));
    const v = hi;
    const pp = clamp(v * (1 - s));
    const q = clamp(v * (1 - s * f));
    const t = clamp(v * (1 - s * (1 - f)));
    const sector = i % 6;
    const out =
      sector === 0
        ? [v, t, pp]
        : sector === 1
          ? [q, v, pp]
          : sector === 2
            ? [pp, v, t]
            : sector === 3
              ? [pp, q, v]
              : sector === 4
                ? [t, pp, v]
                : [v, pp, q];
    for (let c = 0; c < 3; c++) data[p + c] = Math.trunc((out[c] as number) * max);
  }
}

/**
 * torchvision's `RandomAffine` (and `RandomRotation`) without shear: draws the angle, then the shift (whole
 * pixels, rounded half to even) and the zoom when configured; each output pixel takes the nearest source
 * pixel of the inverse transform about the image centre, or `fill` outside.
 *
 * @param view - the image so far
 * @param step - the planned affine step
 * @param r - the sample's random stream
 * @example
 * ```ts
 * view = affine(view, step, context.random());
 * ```
 */
export function affine(view: View, step: AffineStep, r: Random): View {
  const { height: H, width: W, channels: C } = view;
  // RandomAffine turns clockwise by its angle, RandomRotation anticlockwise (torchvision's F.affine, F.rotate).
  const angle = uniform(r, step.degrees) * (step.clockwise ? 1 : -1);
  let tx = 0;
  let ty = 0;
  if (step.translate !== undefined) {
    const dx = step.translate[0] * W;
    const dy = step.translate[1] * H;
    tx = roundHalfEven(uniform(r, [-dx, dx]));
    ty = roundHalfEven(uniform(r, [-dy, dy]));
  }
  const scale = step.scale === undefined ? 1 : uniform(r, step.scale);
  const { data: src } = rawPixels(view);
  const deep = src instanceof Uint16Array;
  const out = deep ? new Uint16Array(src.length) : new Uint8Array(src.length);
  const fill = step.fill * (deep ? 257 : 1);
  // torchvision's inverse map, in coordinates centred on the image (y down):
  // source = [[cos, sin], [−sin, cos]] · (output − t) / scale.
  const rad = (angle * Math.PI) / 180;
  const cos = Math.cos(rad) / scale;
  const sin = Math.sin(rad) / scale;
  for (let y = 0; y < H; y++) {
    const yc = y + 0.5 - H / 2 - ty;
    for (let x = 0; x < W; x++) {
      const xc = x + 0.5 - W / 2 - tx;
      const sx = roundHalfEven(cos * xc + sin * yc + W / 2 - 0.5);
      const sy = roundHalfEven(-sin * xc + cos * yc + H / 2 - 0.5);
      const to = (y * W + x) * C;
      const inside = sx >= 0 && sx < W && sy >= 0 && sy < H;
      const from = (sy * W + sx) * C;
      for (let c = 0; c < C; c++) out[to + c] = inside ? (src[from + c] as number) : fill;
    }
  }
  return fromRaw({ data: out, info: { width: W, height: H, channels: C } }, C);
}

function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  return d > 0.5 ? f + 1 : d < 0.5 ? f : f % 2 === 0 ? f : f + 1;
}
