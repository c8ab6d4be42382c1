// RandomResizedCrop against a reference written here from torchvision's documented algorithm, 16-bit PNGs,
// unreadable files, and ImageFolder.writeItem against get for every combination of transforms.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultCollate } from '../src/collate/collate.ts';
import { CollateError, ConfigError } from '../src/core/errors.ts';
import { Random } from '../src/core/random.ts';
import { readHeader } from '../src/images/decode.ts';
import { ImageFolder } from '../src/images/image-folder.ts';
import { type Draws, randomResizedCropBox } from '../src/images/pixels.ts';
import { type ImageTransform, planTransforms, type Step } from '../src/images/transforms.ts';
import { contextOf, type Raw, tempDir, writeImage } from './fixtures/images.ts';

/** Python's round(): halves to even. */
const pyRound = (x: number): number => {
  const f = Math.floor(x);
  const d = x - f;
  return d > 0.5 ? f + 1 : d < 0.5 ? f : f % 2 === 0 ? f : f + 1;
};

/**
 * torchvision's `RandomResizedCrop.get_params`, from its documentation and source's algorithm: ten attempts
 * of `target_area = area · uniform(*scale)`, `aspect = exp(uniform(log r0, log r1))`,
 * `w = round(√(target·aspect))`, `h = round(√(target/aspect))`, accepted when 0 < w ≤ W and 0 < h ≤ H with
 * `i = randint(0, H − h)`, `j = randint(0, W − w)`; else the centre crop with the ratio clamped.
 */
function getParams(
  W: number,
  H: number,
  scale: [number, number],
  ratio: [number, number],
  uniform: (a: number, b: number) => number,
  randint: (lowInclusive: number, highInclusive: number) => number,
): [i: number, j: number, h: number, w: number] {
  const area = H * W;
  for (let k = 0; k < 10; k++) {
    const targetArea = area * uniform(scale[0], scale[1]);
    const aspect = Math.exp(uniform(Math.log(ratio[0]), Math.log(ratio[1])));
    const w = pyRound(Math.sqrt(targetArea * aspect));
    const h = pyRound(Math.sqrt(targetArea / aspect));
    if (w > 0 && w <= W && h > 0 && h <= H) {
      const i = randint(0, H - h);
      const j = randint(0, W - w);
      return [i, j, h, w];
    }
  }
  const inRatio = W / H;
  let w: number;
  let h: number;
  if (inRatio < Math.min(...ratio)) {
    w = W;
    h = pyRound(w / Math.min(...ratio));
  } else if (inRatio > Math.max(...ratio)) {
    h = H;
    w = pyRound(h * Math.max(...ratio));
  } else {
    w = W;
    h = H;
  }
  return [Math.floor((H - h) / 2), Math.floor((W - w) / 2), h, w];
}

/** Draws from a fixed list of numbers in [0, 1): the same list feeds the reference and weft. */
function fromList(us: readonly number[]): {
  draws: Draws;
  uniform: (a: number, b: number) => number;
  randint: (a: number, b: number) => number;
} {
  let k = 0;
  const u = () => us[k++ % us.length] as number;
  let m = 0;
  const v = () => us[m++ % us.length] as number;
  return {
    draws: { next: u, int: (n: number) => Math.floor(u() * n) },
    uniform: (a, b) => a + (b - a) * v(),
    randint: (a, b) => a + Math.floor(v() * (b - a + 1)),
  };
}

const rrcStep = (t: ImageTransform): Step & { op: 'randomResizedCrop' } => {
  const { steps, issues } = planTransforms([t], 3, 'float32');
  expect(issues).toEqual([]);
  return steps[0] as Step & { op: 'randomResizedCrop' };
};

describe('randomResizedCrop: the box', () => {
  it('is the box of torchvision get_params for the same draws, whatever the image size, ranges and draws', () => {
    const range = (lo: number, hi: number) =>
      fc
        .tuple(fc.double({ min: lo, max: hi, noNaN: true }), fc.double({ min: lo, max: hi, noNaN: true }))
        .map(([a, b]) => (a <= b ? [a, b] : [b, a]) as [number, number]);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 700 }),
        fc.integer({ min: 1, max: 700 }),
        fc.oneof(fc.constant<[number, number]>([0.08, 1]), range(0.01, 1.5)),
        fc.oneof(fc.constant<[number, number]>([3 / 4, 4 / 3]), range(0.1, 10)),
        fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), {
          minLength: 1,
          maxLength: 40,
        }),
        (W, H, scale, ratio, us) => {
          const step = rrcStep({ randomResizedCrop: { size: 224, scale, ratio } });
          const ours = fromList(us);
          const box = randomResizedCropBox(W, H, step, ours.draws);
          const ref = fromList(us);
          const [i, j, h, w] = getParams(W, H, scale, ratio, ref.uniform, ref.randint);
          expect([box.top, box.left, box.height, box.width]).toEqual([i, j, h, w]);
          expect(
            box.top >= 0 && box.left >= 0 && box.top + box.height <= H && box.left + box.width <= W,
          ).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('falls back to the centre crop clamped to the ratio when ten attempts fail', () => {
    // scale > 1 never fits: the fallback, for a tall, a wide and a square image.
    const step = rrcStep({ randomResizedCrop: { size: 8, scale: [2, 3], ratio: [0.5, 2] } });
    const r = new Random(1);
    expect(randomResizedCropBox(100, 400, step, r)).toEqual({ top: 100, left: 0, height: 200, width: 100 });
    expect(randomResizedCropBox(500, 100, step, r)).toEqual({ top: 0, left: 150, height: 100, width: 200 });
    expect(randomResizedCropBox(90, 60, step, r)).toEqual({ top: 0, left: 0, height: 60, width: 90 });
  });

  it('checks its options, naming each', () => {
    const { issues } = planTransforms(
      [
        { randomResizedCrop: { size: 0, scale: [0.5, 0.1], ratio: [1], interpolation: 'area' } },
        { randomResizedCrop: { size: 8, bogus: 1 } },
      ],
      3,
      'float32',
    );
    expect(issues).toEqual([
      '`transforms[0].randomResizedCrop.size` must be a positive integer or [height, width] of positive integers, got 0',
      '`transforms[0].randomResizedCrop.scale` must be [min, max] of positive numbers with min ≤ max (fractions of the image area), got an array of length 2',
      '`transforms[0].randomResizedCrop.ratio` must be [min, max] of positive numbers with min ≤ max (width / height), got an array of length 1',
      "`transforms[0].randomResizedCrop.interpolation` must be one of 'nearest', 'bilinear', 'bicubic', 'lanczos', got \"area\"",
      '`transforms[1].randomResizedCrop.bogus` is not a known option',
    ]);
  });
});

/** A smooth RGB image: waves `period` pixels long, different in each channel and direction. */
function smooth(height: number, width: number, period: number): Raw {
  const data = new Uint8Array(height * width * 3);
  const k = (2 * Math.PI) / period;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      for (let c = 0; c < 3; c++)
        data[(y * width + x) * 3 + c] = Math.round(
          127.5 + 127 * Math.sin((k * (x * (c + 1) + y * (3 - c))) / 3),
        );
  return { data, height, width, channels: 3 };
}

/**
 * Pillow's antialiased bilinear resize of the float box (left, top, w, h) of `img` to `outH`×`outW`: for each
 * output pixel a triangle filter centred on its source position, as wide as the reduction (at least 1).
 */
function resizeBox(
  img: Raw,
  box: { left: number; top: number; width: number; height: number },
  outH: number,
  outW: number,
): Float64Array {
  const weights = (inSize: number, start: number, length: number, out: number) => {
    const scale = length / out;
    const support = Math.max(1, scale);
    return Array.from({ length: out }, (_, o) => {
      const centre = start + (o + 0.5) * scale;
      const lo = Math.max(0, Math.floor(centre - support));
      const hi = Math.min(inSize, Math.ceil(centre + support));
      const taps: [number, number][] = [];
      let total = 0;
      for (let i = lo; i < hi; i++) {
        const w = Math.max(0, 1 - Math.abs((i + 0.5 - centre) / support));
        if (w > 0) taps.push([i, w]);
        total += w;
      }
      return taps.map(([i, w]) => [i, w / total] as [number, number]);
    });
  };
  const wx = weights(img.width, box.left, box.width, outW);
  const wy = weights(img.height, box.top, box.height, outH);
  const out = new Float64Array(outH * outW * 3);
  for (let y = 0; y < outH; y++)
    for (let x = 0; x < outW; x++)
      for (let c = 0; c < 3; c++) {
        let v = 0;
        for (const [sy, ky] of wy[y] as [number, number][])
          for (const [sx, kx] of wx[x] as [number, number][])
            v += ky * kx * (img.data[(sy * img.width + sx) * 3 + c] as number);
        out[(y * outW + x) * 3 + c] = v;
      }
  return out;
}

describe('randomResizedCrop: the pixels', () => {
  // Mean and largest absolute difference to the reference, in 0–255 levels, over every value.
  const compare = async (
    format: 'png' | 'jpeg',
    H: number,
    W: number,
    period: number,
    size: [number, number],
  ) => {
    const dir = tempDir('rrc');
    const raw = smooth(H, W, period);
    const file = join(dir, 'a', `x.${format === 'png' ? 'png' : 'jpg'}`);
    await writeImage(file, raw, format);
    // The reference resamples what a plain full decode gives (for a JPEG, its lossy pixels).
    const decoded = await sharp(file).raw().toBuffer({ resolveWithObject: true });
    const source: Raw = { data: decoded.data, height: H, width: W, channels: 3 };
    const folder = new ImageFolder(dir, {
      transforms: [{ randomResizedCrop: size }],
      dtype: 'uint8',
      layout: 'hwc',
    });
    const step = rrcStep({ randomResizedCrop: size });
    const stats = { mean: 0, max: 0 };
    for (let index = 0; index < 8; index++) {
      const context = contextOf(3, 1, index);
      const box = randomResizedCropBox(W, H, step, new Random(3, 1, index));
      const want = resizeBox(source, box, size[0], size[1]);
      const got = (await folder.get(0, context)).image;
      expect(got.shape).toEqual([...size, 3]);
      let sum = 0;
      for (let k = 0; k < want.length; k++) {
        const d = Math.abs((got.data[k] as number) - (want[k] as number));
        sum += d;
        stats.max = Math.max(stats.max, d);
      }
      stats.mean = Math.max(stats.mean, sum / want.length);
    }
    return stats;
  };

  it('is the drawn box resized as Pillow does, within 1 level on average and 8 at most (PNG)', async () => {
    // Measured: 0.56 on average, 5.1 at most (libvips' and Pillow's filters round differently).
    const { mean, max } = await compare('png', 150, 200, 40, [48, 40]);
    expect(mean).toBeLessThan(1);
    expect(max).toBeLessThan(8);
  });

  it('decodes a JPEG at reduced size when the box allows, within 4 levels on average and 12 at most', async () => {
    // Boxes of a 600×500 image reduced to 48×40 shrink by 2–10: libvips decodes at 1/2 to 1/8, and the box
    // edges land within half an output pixel of their place (measured: 2.8 on average, 6.2 at most; DCT scaling also filters otherwise than a full decode and a triangle filter).
    const { mean, max } = await compare('jpeg', 500, 600, 900, [48, 40]);
    expect(mean).toBeLessThan(4);
    expect(max).toBeLessThan(12);
  });
});

describe('the header read before decoding', () => {
  it("gives the size, format and depth sharp's metadata gives, for JPEGs (baseline, progressive, with EXIF) and PNGs (8 and 16 bits)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 300 }),
        fc.constantFrom('jpeg', 'progressive', 'exif', 'png', 'png16', 'grey16'),
        async (width, height, kind) => {
          const wide = kind === 'png16' || kind === 'grey16';
          const channels = kind === 'grey16' ? 1 : 3;
          const values = wide
            ? new Uint16Array(width * height * channels)
            : new Uint8Array(width * height * 3);
          let image = sharp(values, { raw: { width, height, channels } });
          if (kind === 'exif') image = image.withMetadata({ orientation: 6 });
          image = wide
            ? image.toColourspace(kind === 'grey16' ? 'grey16' : 'rgb16').png()
            : kind === 'png'
              ? image.png()
              : image.jpeg({ progressive: kind === 'progressive' });
          const bytes = await image.toBuffer();
          const meta = await sharp(bytes).metadata();
          expect(readHeader(bytes)).toEqual({
            format: meta.format,
            width: meta.width,
            height: meta.height,
            depth: meta.depth,
          });
        },
      ),
      { numRuns: 60 },
    );
    expect(readHeader(new TextEncoder().encode('GIF89a, not read here'))).toBeUndefined();
  });
});

describe('16-bit PNGs', () => {
  const write16 = async (
    file: string,
    values: Uint16Array,
    width: number,
    height: number,
    channels: 1 | 3,
  ) => {
    mkdirSync(dirname(file), { recursive: true });
    await sharp(values, { raw: { width, height, channels } })
      .toColourspace(channels === 1 ? 'grey16' : 'rgb16')
      .png()
      .toFile(file);
    const meta = await sharp(file).metadata();
    expect([meta.depth, meta.channels]).toEqual(['ushort', channels]);
  };

  it('decode a grey16 PNG to its values: /65535 as float32, the high byte as uint8', async () => {
    const dir = tempDir('grey16');
    const values = new Uint16Array(8).fill(0x8000, 0, 4).fill(0xffff, 4);
    await write16(join(dir, 'a', 'g.png'), values, 4, 2, 1);
    const uint8 = new ImageFolder(dir, { channels: 1, dtype: 'uint8' });
    expect(Array.from((await uint8.get(0)).image.data)).toEqual([128, 128, 128, 128, 255, 255, 255, 255]);
    const float = new ImageFolder(dir, { channels: 1 });
    expect(Array.from((await float.get(0)).image.data)).toEqual(
      Array.from(values, (v) => Math.fround(v / 65535)),
    );
  });

  it('keep 16 bits in RGB through crops, flips, a resize and normalize', async () => {
    const dir = tempDir('rgb16');
    const [W, H] = [6, 4];
    const values = Uint16Array.from({ length: W * H * 3 }, (_, k) => 1 + k * 2711);
    await write16(join(dir, 'a', 'c.png'), values, W, H, 3);
    const at = (y: number, x: number, c: number) => values[(y * W + x) * 3 + c] as number;
    const mean = [0.1, 0.2, 0.3];
    const std = [0.5, 0.25, 2];
    const folder = new ImageFolder(dir, {
      // The resize to its own size goes through libvips and back: the values must survive at 16 bits.
      transforms: [{ resize: [H, W] }, { centerCrop: [2, 4] }, { flip: 1 }, { normalize: { mean, std } }],
    });
    const { image } = await folder.get(0);
    const want: number[] = [];
    for (let c = 0; c < 3; c++)
      for (let y = 1; y < 3; y++)
        for (let x = 4; x >= 1; x--)
          want.push(Math.fround((at(y, x, c) / 65535 - (mean[c] as number)) / (std[c] as number)));
    expect(image.shape).toEqual([3, 2, 4]);
    expect(Array.from(image.data)).toEqual(want);
  });
});

describe('unreadable image files', () => {
  it('are a FileError saying permission denied, not "unsupported image format"', () => {
    // Tests run as root, whom chmod 000 does not stop: a child process drops to `nobody` (process.setuid,
    // after loading weft and sharp as root) and reads the folder; it checks first that it really is denied.
    const dir = tempDir('denied');
    const file = join(dir, 'a', 'locked.png');
    return writeImage(file, { data: new Uint8Array(12), height: 2, width: 2, channels: 3 }, 'png').then(
      () => {
        chmodSync(dir, 0o755);
        chmodSync(join(dir, 'a'), 0o755);
        chmodSync(file, 0o000);
        const src = fileURLToPath(new URL('../src/images/', import.meta.url));
        const child = join(dir, 'child.mjs');
        writeFileSync(
          child,
          `import { readFileSync } from 'node:fs';
        const { ImageFolder } = await import(${JSON.stringify(join(src, 'image-folder.ts'))});
        const { loadSharp } = await import(${JSON.stringify(join(src, 'sharp.ts'))});
        await loadSharp();
        process.setuid('nobody');
        let denied = false;
        try { readFileSync(${JSON.stringify(file)}); } catch (e) { denied = e.code === 'EACCES'; }
        const e = await new ImageFolder(${JSON.stringify(dir)}).get(0).catch((x) => x);
        console.log(JSON.stringify({ uid: process.getuid(), denied, name: e.name, message: e.message, file: e.file }));`,
        );
        const r = spawnSync(process.execPath, ['--import', 'tsx', child], { encoding: 'utf8' });
        expect(r.stderr).toBe('');
        expect(JSON.parse(r.stdout)).toEqual({
          uid: 65534,
          denied: true,
          name: 'FileError',
          message: `cannot read image ${file}: permission denied`,
          file,
        });
      },
    );
  });
});

describe('ImageFolder.layout and writeItem', () => {
  let dir: string;
  beforeAll(async () => {
    dir = tempDir('write-item');
    for (let k = 0; k < 4; k++)
      await writeImage(
        join(dir, k < 2 ? 'a' : 'b', `${k}.${k % 2 ? 'jpg' : 'png'}`),
        smooth(30 + 7 * k, 40 - 3 * k, 20 + k),
        k % 2 ? 'jpeg' : 'png',
      );
  });

  const crops: ImageTransform[][] = [
    [{ centerCrop: 24 }],
    [{ randomCrop: { size: [20, 26], padding: 3, fill: 9 } }],
    [{ randomResizedCrop: [16, 18] }],
    [{ resize: 28 }, { randomResizedCrop: { size: 20, scale: [0.5, 1] } }],
    [{ resize: [22, 30] }],
    [{ centerCrop: 26 }, { randomResizedCrop: 12 }],
    [
      { randomAffine: { degrees: 15, translate: [0.1, 0.1], fill: 7 } },
      { colorJitter: { brightness: 0.3, contrast: 0.3, saturation: 0.3, hue: 0.1 } },
      { randomRotation: 10 },
      { centerCrop: 20 },
    ],
  ];
  const combos = crops.flatMap((crop) =>
    [false, true].flatMap((flip) =>
      [false, true].map((normalize) => [
        ...crop,
        ...(flip ? [{ flip: 0.5 }] : []),
        ...(normalize ? [{ normalize: { mean: [0.4], std: [0.3] } }] : []),
      ]),
    ),
  );
  const cases = combos.flatMap((transforms) =>
    (['chw', 'hwc'] as const).flatMap((layout) =>
      ([1, 3] as const).flatMap((channels) =>
        (['float32', 'uint8'] as const)
          .filter((dtype) => dtype === 'float32' || !transforms.some((t) => 'normalize' in t))
          .flatMap((dtype) =>
            [0, 1 << 20].map((cacheBytes) => ({ transforms, layout, channels, dtype, cacheBytes })),
          ),
      ),
    ),
  );

  it(`writes exactly what get and the default collate give, for ${cases.length} combinations of transforms and options`, async () => {
    for (const options of cases) {
      const folder = new ImageFolder(dir, options);
      const shape = folder.layout.image?.shape as number[];
      expect(folder.layout).toEqual({
        image: { dtype: options.dtype, shape },
        label: { dtype: 'int32', shape: [] },
      });
      const items = await Promise.all([3, 0, 2, 1].map((i) => folder.get(i, contextOf(5, 2, i))));
      const collated = defaultCollate(items) as {
        image: { data: Float32Array | Uint8Array; shape: number[] };
        label: unknown;
      };
      expect(collated.image.shape).toEqual([4, ...shape]);
      const size = shape.reduce((a, b) => a * b, 1);
      const batch = {
        image:
          options.dtype === 'float32'
            ? new Float32Array(4 * size).fill(Number.NaN)
            : new Uint8Array(4 * size),
        label: new Int32Array(4).fill(-1),
      };
      await Promise.all([3, 0, 2, 1].map((i, row) => folder.writeItem(i, batch, row, contextOf(5, 2, i))));
      expect(batch.image, JSON.stringify(options)).toEqual(collated.image.data);
      expect(Array.from(batch.label)).toEqual([1, 0, 1, 0]);
    }
  }, 120_000);

  it('has no image shape when the size is left to each image, and writeItem says why it cannot write', async () => {
    const folder = new ImageFolder(dir, { transforms: [{ centerCrop: 20 }, { resize: 16 }] });
    expect(folder.layout).toEqual({ image: { dtype: 'float32' }, label: { dtype: 'int32', shape: [] } });
    const batch = { image: new Float32Array(3 * 16 * 16), label: new Int32Array(1) };
    await expect(folder.writeItem(0, batch, 0)).rejects.toThrow(
      new ConfigError(
        'ImageFolder.writeItem needs transforms that fix the image size (a crop, or a resize to [height, width]); these leave it to each image',
      ),
    );
  });

  it('refuses a batch of the wrong type or too short, naming both fields', async () => {
    const folder = new ImageFolder(dir, { transforms: [{ centerCrop: 2 }] });
    const e = await folder
      .writeItem(0, { image: new Uint8Array(12), label: new Float64Array(1) }, 1)
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CollateError);
    expect((e as CollateError).message).toBe(
      'ImageFolder.writeItem: `batch.image` must be a Float32Array of at least 24 values for row 1, got a Uint8Array of length 12; `batch.label` must be an Int32Array of at least 2 values for row 1, got a Float64Array of length 1',
    );
  });
});

describe('colorJitter, randomRotation and randomAffine', () => {
  let dir: string;
  let source: Raw;
  beforeAll(async () => {
    dir = tempDir('augment');
    source = smooth(23, 31, 17);
    for (let k = 0; k < source.data.length; k += 7) source.data[k] = (k * 37) & 255; // some saturated colour
    await writeImage(join(dir, 'a', 'x.png'), source);
  });
  const at = (img: Raw, y: number, x: number, c: number) => img.data[(y * img.width + x) * 3 + c] as number;

  /** torchvision's adjust_* on a uint8 HWC image, written from its documented formulas. */
  function jitterReference(img: Raw, order: number[], f: (number | undefined)[]): Uint8Array {
    let d = Float64Array.from(img.data);
    const n = d.length / 3;
    const gray = (p: number) =>
      Math.trunc(0.2989 * d[3 * p]! + 0.587 * d[3 * p + 1]! + 0.114 * d[3 * p + 2]!);
    const mix = (x: number, y: number, r: number) =>
      Math.trunc(Math.min(255, Math.max(0, r * x + (1 - r) * y)));
    for (const op of order) {
      const r = f[op];
      if (r === undefined) continue;
      const next = new Float64Array(d.length);
      if (op === 0) for (let k = 0; k < d.length; k++) next[k] = mix(d[k]!, 0, r);
      if (op === 1) {
        let m = 0;
        for (let p = 0; p < n; p++) m += gray(p);
        for (let k = 0; k < d.length; k++) next[k] = mix(d[k]!, m / n, r);
      }
      if (op === 2) for (let k = 0; k < d.length; k++) next[k] = mix(d[k]!, gray((k / 3) | 0), r);
      if (op === 3) {
        for (let p = 0; p < n; p++) {
          const [R, G, B] = [d[3 * p]! / 255, d[3 * p + 1]! / 255, d[3 * p + 2]! / 255];
          const V = Math.max(R, G, B);
          const chroma = V - Math.min(R, G, B);
          const S = V === 0 ? 0 : chroma / V;
          let H = 0;
          if (chroma > 0) {
            if (V === R) H = (G - B) / chroma / 6;
            else if (V === G) H = (2 + (B - R) / chroma) / 6;
            else H = (4 + (R - G) / chroma) / 6;
          }
          H = (((H + r) % 1) + 1) % 1;
          // The standard HSV → RGB through k = (n + 6H) mod 6.
          const ch = (m: number) => {
            const k = (m + H * 6) % 6;
            return V - V * S * Math.max(0, Math.min(k, 4 - k, 1));
          };
          for (const [c, m] of [
            [0, 5],
            [1, 3],
            [2, 1],
          ] as const)
            next[3 * p + c] = Math.trunc(ch(m) * 255);
        }
      }
      d = next;
    }
    return Uint8Array.from(d);
  }

  // One adjustment: within 1 level (torch computes in float32, weft and the reference in float64, and each
  // truncates: a value such as (k / 255) · 255 may land just under k); several: a level lost early is scaled
  // by the later factors, within 3. Equal: over 99% of values without hue, over 90% with (measured: 95%).
  it.each([
    [{ colorJitter: { brightness: [0.2, 0.3] } }, 1],
    [{ colorJitter: { contrast: [1.5, 2] } }, 1],
    [{ colorJitter: { saturation: 1 } }, 1],
    [{ colorJitter: { hue: 0.5 } }, 1],
    [{ colorJitter: { brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1 } }, 3],
    [{ colorJitter: { contrast: [1.5, 2], hue: [-0.5, -0.4] } }, 3],
  ] as [ImageTransform, number][])(
    '%j is torchvision ColorJitter for the same draws (the order drawn first), within %i level(s)',
    async (t, tolerance) => {
      const cases = [t];
      let equal = 0;
      let total = 0;
      for (const t of cases) {
        const folder = new ImageFolder(dir, { transforms: [t], dtype: 'uint8', layout: 'hwc' });
        const step = planTransforms([t], 3, 'uint8').steps[0] as Step & { op: 'colorJitter' };
        for (let index = 0; index < 10; index++) {
          const r = new Random(4, 0, index);
          const order = [0, 1, 2, 3];
          for (let k = 3; k > 0; k--) {
            const j = r.int(k + 1);
            [order[k], order[j]] = [order[j]!, order[k]!];
          }
          const draw = (range: readonly [number, number] | undefined) =>
            range && range[0] + (range[1] - range[0]) * r.next();
          const factors = [draw(step.brightness), draw(step.contrast), draw(step.saturation), draw(step.hue)];
          const want = jitterReference(source, order, factors);
          const got = (await folder.get(0, contextOf(4, 0, index))).image.data;
          for (let k = 0; k < want.length; k++) {
            expect(Math.abs(got[k]! - want[k]!)).toBeLessThanOrEqual(tolerance);
            equal += got[k] === want[k] ? 1 : 0;
            total++;
          }
        }
      }
      expect(equal / total).toBeGreaterThan('hue' in (t as { colorJitter: object }).colorJitter ? 0.9 : 0.99);
    },
  );

  it('randomRotation and randomAffine are torchvision RandomRotation and RandomAffine (nearest) for the same draws', async () => {
    const cases: [ImageTransform, boolean][] = [
      [{ randomRotation: 45 }, false],
      [{ randomRotation: { degrees: [80, 100], fill: 200 } }, false],
      [{ randomAffine: { degrees: 30, translate: [0.2, 0.1], scale: [0.7, 1.3], fill: 9 } }, true],
      [{ randomAffine: { degrees: [0, 0], scale: [2, 2] } }, true],
    ];
    for (const [t, clockwise] of cases) {
      const folder = new ImageFolder(dir, { transforms: [t], dtype: 'uint8', layout: 'hwc' });
      const step = planTransforms([t], 3, 'uint8').steps[0] as Step & { op: 'affine' };
      const { height: H, width: W } = source;
      for (let index = 0; index < 10; index++) {
        const r = new Random(6, 0, index);
        const u = ([a, b]: readonly [number, number]) => a + (b - a) * r.next();
        const angle = u(step.degrees);
        const [tx, ty] = step.translate
          ? [
              pyRound(u([-step.translate[0] * W, step.translate[0] * W])),
              pyRound(u([-step.translate[1] * H, step.translate[1] * H])),
            ]
          : [0, 0];
        const s = step.scale ? u(step.scale) : 1;
        // The forward map about the centre: F = s·R(a), R(a) = [[cos a, −sin a], [sin a, cos a]] (clockwise on
        // screen for RandomAffine; RandomRotation turns by −a); each output pixel centre is mapped back by F⁻¹.
        const a = ((clockwise ? angle : -angle) * Math.PI) / 180;
        const F = [s * Math.cos(a), -s * Math.sin(a), s * Math.sin(a), s * Math.cos(a)] as const;
        const det = F[0] * F[3] - F[1] * F[2];
        const want = new Uint8Array(H * W * 3);
        for (let y = 0; y < H; y++)
          for (let x = 0; x < W; x++) {
            const dx = x + 0.5 - W / 2 - tx;
            const dy = y + 0.5 - H / 2 - ty;
            const sx = pyRound((F[3] * dx - F[1] * dy) / det + W / 2 - 0.5);
            const sy = pyRound((-F[2] * dx + F[0] * dy) / det + H / 2 - 0.5);
            for (let c = 0; c < 3; c++)
              want[(y * W + x) * 3 + c] =
                sx >= 0 && sx < W && sy >= 0 && sy < H ? at(source, sy, sx, c) : step.fill;
          }
        const got = (await folder.get(0, contextOf(6, 0, index))).image.data;
        expect(got).toEqual(want);
      }
    }
  });

  it('check their options, naming each', () => {
    const { issues } = planTransforms(
      [
        { colorJitter: { brightness: -1, hue: 0.7, sharpness: 2 } },
        { randomRotation: { degrees: [5, 1], fill: 300 } },
        { randomAffine: { degrees: 10, translate: [2, 0], scale: [0, 1] } },
      ],
      3,
      'float32',
    );
    expect(issues).toEqual([
      '`transforms[0].colorJitter.sharpness` is not a known option',
      '`transforms[0].colorJitter.brightness` must be a number ≥ 0 or [min, max] with 0 ≤ min ≤ max, got -1',
      '`transforms[0].colorJitter.hue` must be a number in [0, 0.5] or [min, max] with −0.5 ≤ min ≤ max ≤ 0.5, got 0.7',
      '`transforms[1].randomRotation.degrees` must be a number ≥ 0 or [min, max] with min ≤ max, got an array of length 2',
      '`transforms[1].randomRotation.fill` must be an integer in [0, 255], got 300',
      '`transforms[2].randomAffine.translate` must be [a, b], fractions in [0, 1], got an array of length 2',
      '`transforms[2].randomAffine.scale` must be [min, max] of positive numbers with min ≤ max (zoom factors), got an array of length 2',
    ]);
  });
});
