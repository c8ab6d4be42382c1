// Image transforms as plain data: validated and planned into steps here, applied by pixels.ts (and by
// decode.ts for `resize`). Plain data so that a loader's workers receive them in the dataset's recipe and
// apply the same steps.
import { z } from 'zod';
import { describe } from '../core/checks.ts';
import { checkFields, nonNegativeInt, positiveInt, whole } from '../core/validate.ts';

/** A size: one number (a square, or for `resize` the shorter side) or `[height, width]`. */
export type ImageSize = number | readonly [height: number, width: number];

/** A jitter amount: a number v (a range around the neutral value) or an explicit `[min, max]`. */
export type Jitter = number | readonly [min: number, max: number];

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
 * - `{ randomResizedCrop: 224 }` or `[h, w]`, or `{ randomResizedCrop: { size, scale, ratio, interpolation } }`:
 *   torchvision's `RandomResizedCrop`: a box of a random area (a fraction in `scale` of the image's, default
 *   `[0.08, 1]`) and aspect ratio (log-uniform in `ratio`, default `[3/4, 4/3]`), ten attempts before the
 *   centre crop clamped to `ratio`, resized to `size` (default `'bilinear'`, antialiased as Pillow's). As the
 *   first transform of a JPEG, libvips decodes at 1/2, 1/4 or 1/8 scale when the box allows (shrink-on-load).
 * - `{ colorJitter: { brightness, contrast, saturation, hue } }`: torchvision's `ColorJitter`, each optional;
 *   a number v means the factor range [max(0, 1 − v), 1 + v] (hue: [−v, v], v ≤ 0.5), or give `[min, max]`.
 *   The four run in a random order, with torchvision's arithmetic on bytes.
 * - `{ randomRotation: 30 }` (degrees in [−30, 30]) or `{ randomRotation: { degrees, fill } }`, and
 *   `{ randomAffine: { degrees, translate, scale, fill } }`: torchvision's, about the centre, nearest
 *   neighbour, the output the size of the input, uncovered pixels `fill` (0–255, default 0); `translate`
 *   `[a, b]` moves by up to a·width and b·height, `scale` `[min, max]` zooms.
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
      /** Output size of torchvision's `RandomResizedCrop`; the object form sets its ranges and filter. */
      readonly randomResizedCrop:
        | ImageSize
        | {
            /** Output size. */
            readonly size: ImageSize;
            /** Range of the box's area as a fraction of the image's. @default [0.08, 1] */
            readonly scale?: readonly [min: number, max: number];
            /** Range of the box's aspect ratio, width / height, drawn log-uniformly. @default [0.75, 1.3333333333333333] */
            readonly ratio?: readonly [min: number, max: number];
            /** The filter. @default 'bilinear' */
            readonly interpolation?: Interpolation;
          };
    }
  | {
      /** torchvision's `ColorJitter`: each factor a number v (range [max(0, 1 − v), 1 + v]) or `[min, max]`. */
      readonly colorJitter: {
        /** Brightness factor range. @default 0 (unchanged) */
        readonly brightness?: Jitter;
        /** Contrast factor range. @default 0 (unchanged) */
        readonly contrast?: Jitter;
        /** Saturation factor range. @default 0 (unchanged) */
        readonly saturation?: Jitter;
        /** Hue shift, as a fraction of the hue circle: h gives [−h, h], h ≤ 0.5. @default 0 (unchanged) */
        readonly hue?: Jitter;
      };
    }
  | {
      /** Degrees d (a rotation in [−d, d]) or `[min, max]`; the object form sets the fill too. */
      readonly randomRotation:
        | Jitter
        | {
            /** Degrees d, for [−d, d], or `[min, max]`. */
            readonly degrees: Jitter;
            /** Byte value (0–255) of the pixels the rotation uncovers. @default 0 */
            readonly fill?: number;
          };
    }
  | {
      /** torchvision's `RandomAffine` without shear. */
      readonly randomAffine: {
        /** Degrees d, for a rotation in [−d, d], or `[min, max]`. */
        readonly degrees: Jitter;
        /** Largest shift as fractions `[of width, of height]`. @default no shift */
        readonly translate?: readonly [number, number];
        /** Zoom range `[min, max]`. @default no zoom */
        readonly scale?: readonly [min: number, max: number];
        /** Byte value (0–255) of the pixels the transform uncovers. @default 0 */
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
  | {
      readonly op: 'randomResizedCrop';
      readonly where: string;
      readonly height: number;
      readonly width: number;
      readonly scale: readonly [number, number];
      readonly ratio: readonly [number, number];
      readonly interpolation: Interpolation;
    }
  | {
      readonly op: 'colorJitter';
      readonly where: string;
      /** Factor ranges, undefined where unchanged (torchvision's `None`). */
      readonly brightness: readonly [number, number] | undefined;
      readonly contrast: readonly [number, number] | undefined;
      readonly saturation: readonly [number, number] | undefined;
      readonly hue: readonly [number, number] | undefined;
    }
  | {
      readonly op: 'affine';
      readonly where: string;
      /** RandomAffine's angle turns clockwise, RandomRotation's anticlockwise. */
      readonly clockwise: boolean;
      readonly degrees: readonly [number, number];
      readonly translate: readonly [number, number] | undefined;
      readonly scale: readonly [number, number] | undefined;
      readonly fill: number;
    }
  | { readonly op: 'flip'; readonly where: string; readonly p: number }
  | { readonly op: 'normalize'; readonly where: string; readonly mean: number[]; readonly std: number[] };

/** A step before it knows where it was written. */
type Planned<S = Step> = S extends Step ? Omit<S, 'where'> : never;

const KEYS = [
  'resize',
  'centerCrop',
  'randomCrop',
  'randomResizedCrop',
  'colorJitter',
  'randomRotation',
  'randomAffine',
  'randomHorizontalFlip',
  'flip',
  'normalize',
] as const;
const INTERPOLATIONS = ['nearest', 'bilinear', 'bicubic', 'lanczos'] as const satisfies Interpolation[];

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const SIZE = whole(
  z.union([positiveInt, z.tuple([positiveInt, positiveInt])]),
  'must be a positive integer or [height, width] of positive integers',
);
const BYTE = whole(z.int().min(0).max(255), 'must be an integer in [0, 255]');
const PROBABILITY = whole(z.number().min(0).max(1), 'must be a probability in [0, 1]');
const INTERPOLATION = z
  .enum(INTERPOLATIONS, { error: `must be one of ${INTERPOLATIONS.map((s) => `'${s}'`).join(', ')}` })
  .default('bilinear');

const hw = (size: ImageSize) =>
  typeof size === 'number' ? { height: size, width: size } : { height: size[0], width: size[1] };

/** A bare size given for the object form `{ size }`, its problems named at the transform itself. */
const bare = (long: z.ZodType<Planned>) => SIZE.transform((size) => long.parse({ size }));

const RESIZE = z
  .strictObject({
    size: SIZE,
    interpolation: INTERPOLATION,
  })
  .transform(
    ({ size, interpolation }): Planned => ({
      op: 'resize',
      mode: typeof size === 'number' ? 'shorter' : 'exact',
      ...hw(size),
      interpolation,
    }),
  );
const CENTER_CROP = SIZE.transform((size): Planned => ({ op: 'centerCrop', ...hw(size) }));
const RANDOM_CROP = z
  .strictObject({ size: SIZE, padding: nonNegativeInt.default(0), fill: BYTE.default(0) })
  .transform(({ size, padding, fill }): Planned => ({ op: 'randomCrop', ...hw(size), padding, fill }));
/** A `[min, max]` range of positive numbers, min ≤ max. */
const range = (what: string) =>
  whole(
    z.tuple([z.number().positive(), z.number().positive()]).refine(([a, b]) => a <= b),
    `must be [min, max] of positive numbers with min ≤ max (${what})`,
  );
const RANDOM_RESIZED_CROP = z
  .strictObject({
    size: SIZE,
    scale: range('fractions of the image area').default([0.08, 1]),
    ratio: range('width / height').default([3 / 4, 4 / 3]),
    interpolation: INTERPOLATION,
  })
  .transform(
    ({ size, scale, ratio, interpolation }): Planned => ({
      op: 'randomResizedCrop',
      ...hw(size),
      scale,
      ratio,
      interpolation,
    }),
  );
/** A jitter amount: v ≥ 0 gives [center − v, center + v] (floored at `floor`), or `[min, max]` within bounds. */
function jitter(center: number, floor: number, low: number, high: number, what: string) {
  const amount = z.union([
    z
      .number()
      .min(0)
      .max(high - center),
    z.tuple([z.number().min(low).max(high), z.number().min(low).max(high)]).refine(([a, b]) => a <= b),
  ]);
  return whole(amount, what).transform((v): [number, number] =>
    typeof v === 'number' ? [Math.max(floor, center - v), center + v] : [v[0], v[1]],
  );
}
const FACTOR = jitter(1, 0, 0, Number.MAX_VALUE, 'must be a number ≥ 0 or [min, max] with 0 ≤ min ≤ max');
const HUE = jitter(
  0,
  -0.5,
  -0.5,
  0.5,
  'must be a number in [0, 0.5] or [min, max] with −0.5 ≤ min ≤ max ≤ 0.5',
);
const DEGREES = jitter(
  0,
  -Infinity,
  -Infinity,
  Infinity,
  'must be a number ≥ 0 or [min, max] with min ≤ max',
);
const COLOR_JITTER = z
  .strictObject({
    brightness: FACTOR.optional(),
    contrast: FACTOR.optional(),
    saturation: FACTOR.optional(),
    hue: HUE.optional(),
  })
  .transform(
    (j): Planned => ({
      op: 'colorJitter',
      // torchvision skips a factor whose range is the neutral value alone.
      brightness: j.brightness?.[0] === 1 && j.brightness[1] === 1 ? undefined : j.brightness,
      contrast: j.contrast?.[0] === 1 && j.contrast[1] === 1 ? undefined : j.contrast,
      saturation: j.saturation?.[0] === 1 && j.saturation[1] === 1 ? undefined : j.saturation,
      hue: j.hue?.[0] === 0 && j.hue[1] === 0 ? undefined : j.hue,
    }),
  );
const FRACTION = z.number().min(0).max(1);
const RANDOM_AFFINE = z
  .strictObject({
    degrees: DEGREES,
    translate: whole(z.tuple([FRACTION, FRACTION]), 'must be [a, b], fractions in [0, 1]').optional(),
    scale: range('zoom factors').optional(),
    fill: BYTE.default(0),
  })
  .transform(
    ({ degrees, translate, scale, fill }): Planned => ({
      op: 'affine',
      clockwise: true,
      degrees,
      translate,
      scale,
      fill,
    }),
  );
const RANDOM_ROTATION = z.strictObject({ degrees: DEGREES, fill: BYTE.default(0) }).transform(
  ({ degrees, fill }): Planned => ({
    op: 'affine',
    clockwise: false,
    degrees,
    translate: undefined,
    scale: undefined,
    fill,
  }),
);
const FLIP = PROBABILITY.transform((p): Planned => ({ op: 'flip', p }));

/** `normalize` for images of `channels` channels: one number per channel, or one for all. */
function normalizeSchema(channels: 1 | 3) {
  const counts = channels === 1 ? '1 number' : `1 or ${channels} numbers (one per channel)`;
  const perChannel = (each: z.ZodNumber, what: string) =>
    whole(
      z.array(each).refine((v) => v.length === 1 || v.length === channels),
      `must be an array of ${counts}, ${what}`,
    ).transform((v) => Array.from({ length: channels }, (_, c) => v[v.length === 1 ? 0 : c] as number));
  return z
    .strictObject(
      {
        mean: perChannel(z.number(), 'each finite'),
        std: perChannel(z.number().positive(), 'each positive'),
      },
      { error: 'must be an object { mean, std } of numbers per channel' },
    )
    .transform(({ mean, std }): Planned => ({ op: 'normalize', mean, std }));
}

/** Each transform's schema for a value written as an object (`long`) and as anything else (`short`). */
function formsFor(
  channels: 1 | 3,
): Record<(typeof KEYS)[number], { short: z.ZodType<Planned>; long: z.ZodType<Planned> }> {
  const normalize = normalizeSchema(channels);
  return {
    resize: { short: bare(RESIZE), long: RESIZE },
    centerCrop: { short: CENTER_CROP, long: CENTER_CROP },
    randomCrop: { short: bare(RANDOM_CROP), long: RANDOM_CROP },
    randomResizedCrop: { short: bare(RANDOM_RESIZED_CROP), long: RANDOM_RESIZED_CROP },
    colorJitter: { short: COLOR_JITTER, long: COLOR_JITTER },
    randomRotation: {
      short: DEGREES.transform((degrees) => RANDOM_ROTATION.parse({ degrees })),
      long: RANDOM_ROTATION,
    },
    randomAffine: { short: RANDOM_AFFINE, long: RANDOM_AFFINE },
    randomHorizontalFlip: { short: FLIP, long: FLIP },
    flip: { short: FLIP, long: FLIP },
    normalize: { short: normalize, long: normalize },
  };
}
const FORMS = { 1: formsFor(1), 3: formsFor(3) };

/** `normalize` across fields: it needs float output and must come last (it is folded into the output). */
function normalizeRelations(where: string, k: number, count: number, dtype: unknown): string[] {
  const issues: string[] = [];
  if (dtype === 'uint8') issues.push(`\`${where}\` needs \`dtype: 'float32'\`, got dtype ${describe(dtype)}`);
  if (k !== count - 1)
    issues.push(`\`${where}\` must be the last transform, got it at position ${k} of ${count}`);
  return issues;
}

/**
 * Checks `transforms` (every problem, each naming its field as `transforms[1].randomCrop`) and plans them
 * into steps for images of `channels` channels decoded to `dtype`.
 *
 * @param transforms - the `transforms` option, already known to be an array
 * @param channels - channels of the decoded images
 * @param dtype - the `dtype` option as given (`normalize` needs `'float32'`)
 * @example
 * ```ts
 * planTransforms([{ resize: 32 }, { flip: 0.5 }], 3, 'float32').steps[1]; // { op: 'flip', p: 0.5, where: 'transforms[1].flip' }
 * ```
 */
export function planTransforms(
  transforms: readonly unknown[],
  channels: 1 | 3,
  dtype: unknown,
): { steps: Step[]; issues: string[] } {
  const steps: Step[] = [];
  const issues: string[] = [];
  transforms.forEach((t, k) => {
    const keys = isRecord(t) ? Object.keys(t) : [];
    const key = keys[0] as (typeof KEYS)[number];
    if (!isRecord(t) || keys.length !== 1 || !KEYS.includes(key)) {
      const got = isRecord(t) ? `an object with keys [${keys.join(', ')}]` : describe(t);
      issues.push(`\`transforms[${k}]\` must be an object with one key: ${KEYS.join(', ')}, got ${got}`);
      return;
    }
    const where = `transforms[${k}].${key}`;
    const value = t[key];
    const form = FORMS[channels][key];
    const { value: planned, issues: own } = checkFields(
      isRecord(value) ? form.long : form.short,
      value,
      where,
    );
    issues.push(...own);
    if (key === 'normalize' && isRecord(value))
      issues.push(...normalizeRelations(where, k, transforms.length, dtype));
    if (planned !== undefined) steps.push({ ...planned, where } as Step);
  });
  return { steps, issues };
}

/**
 * The size every output has when the transforms fix it: the last crop, or the last `resize` to an exact
 * `[height, width]`; undefined when no step fixes it (or a later `resize` of the shorter side undoes it).
 *
 * @param steps - the planned transforms
 * @example
 * ```ts
 * fixedSize(planTransforms([{ randomResizedCrop: 224 }], 3, 'float32').steps); // { height: 224, width: 224 }
 * ```
 */
export function fixedSize(steps: readonly Step[]): { height: number; width: number } | undefined {
  let size: { height: number; width: number } | undefined;
  for (const s of steps) {
    if (s.op === 'resize') size = s.mode === 'exact' ? { height: s.height, width: s.width } : undefined;
    else if (s.op === 'centerCrop' || s.op === 'randomCrop' || s.op === 'randomResizedCrop')
      size = { height: s.height, width: s.width };
  }
  return size;
}
