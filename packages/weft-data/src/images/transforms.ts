// Image transforms as plain data: validated here, planned into steps, and applied by image-folder.ts. Plain
// data so that a loader's workers receive them in the dataset's recipe and apply the same steps.
import { describe } from '../core/checks.ts';

/** A size: one number (a square, or for `resize` the shorter side) or `[height, width]`. */
export type ImageSize = number | readonly [height: number, width: number];

/** How `resize` interpolates. @default 'bilinear' */
export type Interpolation = 'nearest' | 'bilinear' | 'bicubic' | 'lanczos';

/**
 * One image transform, written as data: an object with exactly one key. Transforms run in the order
 * given, as torchvision's `Compose` would run them, with these meanings:
 *
 * - `{ resize: 32 }`: the shorter side becomes 32, the aspect ratio is kept; `{ resize: [32, 48] }`: exactly
 *   32 high and 48 wide; `{ resize: { size, interpolation } }` picks the filter (default `'bilinear'`).
 * - `{ centerCrop: 28 }` or `[h, w]`: the centred window; a crop larger than the image pads with zeros.
 * - `{ randomCrop: 28 }` or `[h, w]`, or `{ randomCrop: { size, padding, fill } }`: pads every side by
 *   `padding` pixels of value `fill` (0–255, default 0) first, then takes a window at a random position.
 * - `{ randomHorizontalFlip: p }` (or the short `{ flip: p }`): mirrors left–right with probability p.
 * - `{ normalize: { mean, std } }`: per channel `(x - mean) / std` on values scaled to [0, 1]; one number
 *   per channel, or one for all. Must be last, and needs `dtype: 'float32'`.
 *
 * Random transforms draw from the sample's `context.random()` in the order they are listed, so a batch is
 * the same whichever worker loads it.
 *
 * @example
 * ```ts
 * const transforms: ImageTransform[] = [
 *   { resize: 32 },
 *   { randomCrop: { size: 28, padding: 2 } },
 *   { flip: 0.5 },
 *   { normalize: { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] } },
 * ];
 * ```
 */
export type ImageTransform =
  | {
      /** Shorter side (a number) or exact `[height, width]`; the object form also picks the filter. */
      readonly resize:
        | ImageSize
        | {
            /** Shorter side, or exact `[height, width]`. */
            readonly size: ImageSize;
            /** The filter. @default 'bilinear' */
            readonly interpolation?: Interpolation;
          };
    }
  | {
      /** Size of the centred window; larger than the image pads with zeros. */
      readonly centerCrop: ImageSize;
    }
  | {
      /** Size of the window at a random position; the object form pads first. */
      readonly randomCrop:
        | ImageSize
        | {
            /** Size of the window. */
            readonly size: ImageSize;
            /** Pixels added on every side before cropping. @default 0 */
            readonly padding?: number;
            /** Byte value (0–255) of the added pixels, in every channel. @default 0 */
            readonly fill?: number;
          };
    }
  | {
      /** Probability of mirroring left–right. */
      readonly randomHorizontalFlip: number;
    }
  | {
      /** Short for `randomHorizontalFlip`: probability of mirroring left–right. */
      readonly flip: number;
    }
  | {
      /** Per-channel `(x - mean) / std` on values in [0, 1]; must be last. */
      readonly normalize: {
        /** One number per channel, or one for all. */
        readonly mean: readonly number[];
        /** One positive number per channel, or one for all. */
        readonly std: readonly number[];
      };
    };

/** A transform as the decoder applies it. @internal */
export type Step =
  | {
      readonly op: 'resize';
      readonly where: string;
      /** `shorter`: the shorter side becomes `height` (= `width`); `exact`: both sides given. */
      readonly mode: 'shorter' | 'exact';
      readonly height: number;
      readonly width: number;
      readonly interpolation: Interpolation;
    }
  | { readonly op: 'centerCrop'; readonly where: string; readonly height: number; readonly width: number }
  | {
      readonly op: 'randomCrop';
      readonly where: string;
      readonly height: number;
      readonly width: number;
      readonly padding: number;
      readonly fill: number;
    }
  | { readonly op: 'flip'; readonly where: string; readonly p: number }
  | { readonly op: 'normalize'; readonly where: string; readonly mean: number[]; readonly std: number[] };

const KEYS = ['resize', 'centerCrop', 'randomCrop', 'randomHorizontalFlip', 'flip', 'normalize'] as const;
const INTERPOLATIONS: readonly Interpolation[] = ['nearest', 'bilinear', 'bicubic', 'lanczos'];
const SIZE = 'a positive integer or [height, width] of positive integers';

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isPositiveInt = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;

/** `[height, width]` of a valid size, or undefined. */
function size(v: unknown): [number, number] | undefined {
  if (isPositiveInt(v)) return [v, v];
  if (Array.isArray(v) && v.length === 2 && v.every(isPositiveInt)) return [v[0] as number, v[1] as number];
  return undefined;
}

/**
 * Checks `transforms` (every problem, each naming its field as `transforms[1].randomCrop`) and plans them
 * into steps for images of `channels` channels decoded to `dtype`.
 */
export function planTransforms(
  transforms: unknown,
  channels: number,
  dtype: string,
): { steps: Step[]; issues: string[] } {
  const steps: Step[] = [];
  const issues: string[] = [];
  if (transforms === undefined) return { steps, issues };
  if (!Array.isArray(transforms)) {
    issues.push(
      `\`transforms\` must be an array of transforms such as { resize: 32 }, got ${describe(transforms)}`,
    );
    return { steps, issues };
  }
  transforms.forEach((t: unknown, k: number) => {
    const at = `transforms[${k}]`;
    const keys = isRecord(t) ? Object.keys(t) : [];
    const key = keys[0] as (typeof KEYS)[number];
    if (!isRecord(t) || keys.length !== 1 || !KEYS.includes(key)) {
      const got = isRecord(t) ? `an object with keys [${keys.join(', ')}]` : describe(t);
      issues.push(`\`${at}\` must be an object with one key: ${KEYS.join(', ')}, got ${got}`);
      return;
    }
    const where = `${at}.${key}`;
    const value = t[key];
    const bad = (field: string, what: string, v: unknown) =>
      issues.push(`\`${field}\` must be ${what}, got ${describe(v)}`);
    switch (key) {
      case 'resize': {
        const spec = isRecord(value) ? value : { size: value };
        const extra = isRecord(value)
          ? Object.keys(value).filter((n) => n !== 'size' && n !== 'interpolation')
          : [];
        for (const n of extra) issues.push(`\`${where}.${n}\` is not a known option`);
        const hw = size(spec.size);
        const interpolation = spec.interpolation ?? 'bilinear';
        if (hw === undefined) bad(isRecord(value) ? `${where}.size` : where, SIZE, spec.size);
        if (!INTERPOLATIONS.includes(interpolation as Interpolation)) {
          bad(
            `${where}.interpolation`,
            `one of ${INTERPOLATIONS.map((s) => `'${s}'`).join(', ')}`,
            interpolation,
          );
        }
        if (hw !== undefined) {
          const mode = typeof spec.size === 'number' ? 'shorter' : 'exact';
          steps.push({
            op: 'resize',
            where,
            mode,
            height: hw[0],
            width: hw[1],
            interpolation: interpolation as Interpolation,
          });
        }
        return;
      }
      case 'centerCrop': {
        const hw = size(value);
        if (hw === undefined) bad(where, SIZE, value);
        else steps.push({ op: 'centerCrop', where, height: hw[0], width: hw[1] });
        return;
      }
      case 'randomCrop': {
        const spec = isRecord(value) ? value : { size: value };
        const extra = isRecord(value)
          ? Object.keys(value).filter((n) => !['size', 'padding', 'fill'].includes(n))
          : [];
        for (const n of extra) issues.push(`\`${where}.${n}\` is not a known option`);
        const hw = size(spec.size);
        const padding = spec.padding ?? 0;
        const fill = spec.fill ?? 0;
        if (hw === undefined) bad(isRecord(value) ? `${where}.size` : where, SIZE, spec.size);
        const paddingOk = Number.isSafeInteger(padding) && (padding as number) >= 0;
        if (!paddingOk) bad(`${where}.padding`, 'a non-negative integer', padding);
        const fillOk = Number.isInteger(fill) && (fill as number) >= 0 && (fill as number) <= 255;
        if (!fillOk) bad(`${where}.fill`, 'an integer in [0, 255]', fill);
        if (hw !== undefined && paddingOk && fillOk) {
          steps.push({
            op: 'randomCrop',
            where,
            height: hw[0],
            width: hw[1],
            padding: padding as number,
            fill: fill as number,
          });
        }
        return;
      }
      case 'randomHorizontalFlip':
      case 'flip': {
        if (typeof value !== 'number' || !(value >= 0 && value <= 1))
          bad(where, 'a probability in [0, 1]', value);
        else steps.push({ op: 'flip', where, p: value });
        return;
      }
      case 'normalize': {
        if (!isRecord(value)) {
          bad(where, 'an object { mean, std } of numbers per channel', value);
          return;
        }
        for (const n of Object.keys(value).filter((n) => n !== 'mean' && n !== 'std')) {
          issues.push(`\`${where}.${n}\` is not a known option`);
        }
        const counts = channels === 1 ? '1 number' : `1 or ${channels} numbers (one per channel)`;
        const list = (
          field: 'mean' | 'std',
          ok: (x: number) => boolean,
          what: string,
        ): number[] | undefined => {
          const v = value[field];
          if (
            !Array.isArray(v) ||
            (v.length !== 1 && v.length !== channels) ||
            !v.every((x) => typeof x === 'number' && ok(x))
          ) {
            bad(`${where}.${field}`, `an array of ${counts}, ${what}`, v);
            return undefined;
          }
          return Array.from({ length: channels }, (_, c) => v[v.length === 1 ? 0 : c] as number);
        };
        const mean = list('mean', Number.isFinite, 'each finite');
        const std = list('std', (x) => Number.isFinite(x) && x > 0, 'each positive');
        if (dtype === 'uint8') {
          issues.push(`\`${where}\` needs \`dtype: 'float32'\`, got dtype ${describe(dtype)}`);
        }
        if (k !== transforms.length - 1) {
          issues.push(
            `\`${where}\` must be the last transform, got it at position ${k} of ${transforms.length}`,
          );
        }
        if (mean !== undefined && std !== undefined) steps.push({ op: 'normalize', where, mean, std });
        return;
      }
    }
  });
  return { steps, issues };
}
