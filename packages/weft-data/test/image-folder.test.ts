import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultCollate } from '../src/collate/collate.ts';
import { ConfigError, FileError } from '../src/core/errors.ts';
import { ImageFolder } from '../src/images/image-folder.ts';
import { loadSharp, resetSharp } from '../src/images/sharp.ts';
import type { ImageTransform } from '../src/images/transforms.ts';
import {
  contextOf,
  pattern,
  type Raw,
  type RefStep,
  reference,
  smallFolder,
  tempDir,
  writeImage,
  writeText,
} from './fixtures/images.ts';

let root: string;
let raws: Raw[];
beforeAll(async () => {
  ({ root, raws } = await smallFolder());
});

/** The ConfigError `fn` throws, with its issues. */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

const floats = (a: ArrayLike<number>): number[] => Array.from(a, (v) => Math.round(v * 1e5) / 1e5);

describe('ImageFolder: the listing', () => {
  it('has one class per subfolder, sorted, and the samples class by class', () => {
    const folder = new ImageFolder(root);
    expect(folder.root).toBe(root);
    expect(folder.classes).toEqual(['cat', 'dog']);
    expect(folder.classToIdx).toEqual({ cat: 0, dog: 1 });
    expect(folder.length).toBe(5);
    expect(folder.samples.map((s) => [s.path.slice(root.length + 1), s.label])).toEqual([
      ['cat/0.png', 0],
      ['cat/1.png', 0],
      ['cat/2.png', 0],
      ['dog/0.png', 1],
      ['dog/1.png', 1],
    ]);
    expect(folder.targets).toEqual([0, 0, 0, 1, 1]);
  });

  it('ignores files that are not images, hidden names and files beside the class folders; finds nested files', async () => {
    const dir = tempDir('listing');
    await writeImage(join(dir, 'b', 'x.PNG'), pattern(0, 4, 4));
    await writeImage(join(dir, 'b', 'deep', 'y.jpeg'), pattern(1, 4, 4), 'jpeg');
    await writeImage(join(dir, 'a', 'z.jpg'), pattern(2, 4, 4), 'jpeg');
    writeText(join(dir, 'a', 'notes.txt'), 'not an image');
    writeText(join(dir, 'a', '.hidden.png'), 'hidden');
    writeText(join(dir, '.ipynb_checkpoints', 'w.png'), 'hidden folder');
    writeText(join(dir, 'README.png'), 'beside the classes');
    mkdirSync(join(dir, 'linked'));
    symlinkSync(join(dir, 'a'), join(dir, 'linked', 'to-a'));
    const folder = new ImageFolder(dir);
    expect(folder.classes).toEqual(['a', 'b', 'linked']);
    expect(folder.samples.map((s) => s.path.slice(dir.length + 1))).toEqual([
      'a/z.jpg',
      'b/deep/y.jpeg',
      'b/x.PNG',
      'linked/to-a/z.jpg',
    ]);
    expect(new ImageFolder(dir, { extensions: ['.JPG', '.jpeg'] }).targets).toEqual([0, 1, 2]);
  });

  it('reports a missing root, a file as root, no classes and every empty class folder at construction', async () => {
    const dir = tempDir('empty');
    expect(configError(() => new ImageFolder(join(dir, 'nope'))).message).toMatch(
      /^invalid ImageFolder: `root` cannot be read: ENOENT: no such file or directory, stat '.*nope'$/,
    );
    writeText(join(dir, 'file.png'), 'x');
    expect(configError(() => new ImageFolder(join(dir, 'file.png'))).message).toBe(
      `invalid ImageFolder: \`root\` must be a folder, got the file ${JSON.stringify(join(dir, 'file.png'))}`,
    );
    expect(configError(() => new ImageFolder(dir)).message).toBe(
      `invalid ImageFolder: \`root\` ${JSON.stringify(dir)} has no class folders (one subfolder per class is expected)`,
    );
    await writeImage(join(dir, 'full', 'a.png'), pattern(0, 2, 2));
    writeText(join(dir, 'texts', 'a.txt'), 'x');
    mkdirSync(join(dir, 'void'));
    const e = configError(() => new ImageFolder(dir));
    expect(e.issues).toEqual([
      `class folder "texts" of ${JSON.stringify(dir)} has no image files (.png, .jpg, .jpeg)`,
      `class folder "void" of ${JSON.stringify(dir)} has no image files (.png, .jpg, .jpeg)`,
    ]);
  });
});

describe('ImageFolder: options', () => {
  it('reports every invalid option at once, each naming its field', () => {
    const e = configError(
      () =>
        new ImageFolder(root, {
          channels: 2,
          dtype: 'float16',
          layout: 'nchw',
          extensions: ['png'],
          colour: true,
          transforms: [
            { resize: 0 },
            { randomCrop: { size: 28, padding: -1, fill: 300, pad: 1 } },
            { flip: 2 },
            { normalize: { mean: [0.5, 0.5], std: [0] } },
            { blur: 3 },
            { resize: 8, centerCrop: 4 },
            { centerCrop: [4, 0] },
            { resize: { size: [4, 4], interpolation: 'area' } },
            'flip',
          ],
        } as never),
    );
    expect(e.issues).toEqual([
      '`colour` is not a known option',
      '`channels` must be 1 or 3, got 2',
      "`dtype` must be 'float32' or 'uint8', got \"float16\"",
      "`layout` must be 'chw' or 'hwc', got \"nchw\"",
      "`extensions` must be a non-empty array of extensions such as '.png', got an array of length 1",
      '`transforms[0].resize` must be a positive integer or [height, width] of positive integers, got 0',
      '`transforms[1].randomCrop.pad` is not a known option',
      '`transforms[1].randomCrop.padding` must be a non-negative integer, got -1',
      '`transforms[1].randomCrop.fill` must be an integer in [0, 255], got 300',
      '`transforms[2].flip` must be a probability in [0, 1], got 2',
      '`transforms[3].normalize.mean` must be an array of 1 or 3 numbers (one per channel), each finite, got an array of length 2',
      '`transforms[3].normalize.std` must be an array of 1 or 3 numbers (one per channel), each positive, got an array of length 1',
      '`transforms[3].normalize` must be the last transform, got it at position 3 of 9',
      '`transforms[4]` must be an object with one key: resize, centerCrop, randomCrop, randomResizedCrop, colorJitter, randomRotation, randomAffine, randomHorizontalFlip, flip, normalize, got an object with keys [blur]',
      '`transforms[5]` must be an object with one key: resize, centerCrop, randomCrop, randomResizedCrop, colorJitter, randomRotation, randomAffine, randomHorizontalFlip, flip, normalize, got an object with keys [resize, centerCrop]',
      '`transforms[6].centerCrop` must be a positive integer or [height, width] of positive integers, got an array of length 2',
      "`transforms[7].resize.interpolation` must be one of 'nearest', 'bilinear', 'bicubic', 'lanczos', got \"area\"",
      '`transforms[8]` must be an object with one key: resize, centerCrop, randomCrop, randomResizedCrop, colorJitter, randomRotation, randomAffine, randomHorizontalFlip, flip, normalize, got "flip"',
    ]);
    expect(e.message).toBe(`invalid ImageFolder: ${e.issues.join('; ')}`);
  });

  it('rejects normalize with uint8 output, and a transforms value that is not an array', () => {
    expect(
      configError(
        () => new ImageFolder(root, { dtype: 'uint8', transforms: [{ normalize: { mean: [0], std: [1] } }] }),
      ).issues,
    ).toEqual(['`transforms[0].normalize` needs `dtype: \'float32\'`, got dtype "uint8"']);
    expect(configError(() => new ImageFolder(root, { transforms: { resize: 3 } } as never)).issues).toEqual([
      '`transforms` must be an array of transforms such as { resize: 32 }, got an object (Object)',
    ]);
    expect(
      configError(
        () =>
          new ImageFolder(root, { channels: 1, transforms: [{ normalize: { mean: [0, 0, 0], std: [1] } }] }),
      ).issues,
    ).toEqual([
      '`transforms[0].normalize.mean` must be an array of 1 number, each finite, got an array of length 3',
    ]);
  });
});

describe('ImageFolder: decoding', () => {
  it('gives float32 CHW tensors in [0, 1] and the label', async () => {
    const folder = new ImageFolder(root);
    for (const i of [0, 4]) {
      const item = await folder.get(i);
      expect(item.label).toBe(i < 3 ? 0 : 1);
      expect(item.image.shape).toEqual([3, 20, 24]);
      expect(item.image.data).toBeInstanceOf(Float32Array);
      expect(floats(item.image.data)).toEqual(
        floats(reference(raws[i] as Raw, [], contextOf(0, 0, i).random()).data),
      );
    }
  });

  it('gives the bytes as they are with dtype uint8 and layout hwc', async () => {
    const item = await new ImageFolder(root, { dtype: 'uint8', layout: 'hwc' }).get(2);
    expect(item.image.shape).toEqual([20, 24, 3]);
    expect(item.image.data).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(item.image.data).equals(Buffer.from((raws[2] as Raw).data))).toBe(true);
  });

  it('decodes to one channel with channels: 1, as sharp’s grayscale', async () => {
    const item = await new ImageFolder(root, { channels: 1, dtype: 'uint8' }).get(1);
    expect(item.image.shape).toEqual([1, 20, 24]);
    const grey = await sharp(join(root, 'cat', '1.png'))
      .grayscale()
      .raw()
      .toBuffer();
    expect(Buffer.from(item.image.data).equals(grey)).toBe(true);
  });

  it('decodes JPEG, grayscale PNG as RGB, and drops alpha', async () => {
    const dir = tempDir('formats');
    await writeImage(join(dir, 'a', 'photo.jpg'), pattern(3, 16, 16), 'jpeg');
    await writeImage(join(dir, 'a', 'grey.png'), pattern(4, 5, 6, 1));
    await writeImage(join(dir, 'a', 'rgba.png'), pattern(5, 5, 6, 4));
    const folder = new ImageFolder(dir, { dtype: 'uint8', layout: 'hwc' });
    const [grey, photo, rgba] = await Promise.all([0, 1, 2].map((i) => folder.get(i)));
    expect(photo?.image.shape).toEqual([16, 16, 3]);
    const decoded = await sharp(join(dir, 'a', 'photo.jpg'))
      .raw()
      .toBuffer();
    expect(Buffer.from(photo?.image.data ?? []).equals(decoded)).toBe(true);
    expect(grey?.image.shape).toEqual([5, 6, 3]);
    const g = pattern(4, 5, 6, 1).data;
    expect(Array.from(grey?.image.data ?? []).filter((_, k) => k % 3 === 1)).toEqual(Array.from(g));
    expect(rgba?.image.shape).toEqual([5, 6, 3]);
    const p = pattern(5, 5, 6, 4).data;
    expect(Array.from(rgba?.image.data ?? [])).toEqual(Array.from(p).filter((_, k) => k % 4 !== 3));
  });

  it('collates into [N, C, H, W] and labels', async () => {
    const folder = new ImageFolder(root, { transforms: [{ centerCrop: 8 }] });
    const batch = defaultCollate(await Promise.all([0, 3, 4].map((i) => folder.get(i)))) as {
      image: { data: Float32Array; shape: number[] };
      label: Float64Array;
    };
    expect(batch.image.shape).toEqual([3, 3, 8, 8]);
    expect([...batch.label]).toEqual([0, 1, 1]);
  });
});

describe('ImageFolder: transforms', () => {
  const chains: [string, ImageTransform[], RefStep[]][] = [
    [
      'random crop with padding, flip, normalize',
      [
        { randomCrop: { size: [10, 12], padding: 3, fill: 9 } },
        { randomHorizontalFlip: 0.5 },
        { normalize: { mean: [0.5, 0.4, 0.3], std: [0.2, 0.3, 0.25] } },
      ],
      [
        { randomCrop: { size: [10, 12], padding: 3, fill: 9 } },
        { flip: 0.5 },
        { normalize: { mean: [0.5, 0.4, 0.3], std: [0.2, 0.3, 0.25] } },
      ],
    ],
    [
      'flip first, crops after, a centre crop larger than the image and a second padding',
      [
        { flip: 0.5 },
        { randomCrop: { size: 13, padding: 2, fill: 200 } },
        { centerCrop: [15, 16] },
        { flip: 0.7 },
        { randomCrop: { size: [11, 17], padding: 1, fill: 50 } },
        { normalize: { mean: [0.5], std: [0.5] } },
      ],
      [
        { flip: 0.5 },
        { randomCrop: { size: [13, 13], padding: 2, fill: 200 } },
        { centerCrop: [15, 16] },
        { flip: 0.7 },
        { randomCrop: { size: [11, 17], padding: 1, fill: 50 } },
        { normalize: { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] } },
      ],
    ],
    [
      'centre crops of odd and even differences (halves round to even, as torchvision)',
      [{ centerCrop: [17, 21] }, { centerCrop: [14, 18] }],
      [{ centerCrop: [17, 21] }, { centerCrop: [14, 18] }],
    ],
  ];
  for (const [name, transforms, steps] of chains) {
    it(`match a step-by-step reference: ${name}`, async () => {
      const folder = new ImageFolder(root, { transforms });
      for (let index = 0; index < folder.length; index++) {
        for (const epoch of [0, 1, 2]) {
          const item = await folder.get(index, contextOf(3, epoch, index));
          const want = reference(raws[index] as Raw, steps, contextOf(3, epoch, index).random());
          expect(item.image.shape).toEqual(want.shape);
          expect(floats(item.image.data)).toEqual(floats(want.data));
        }
      }
    });
  }

  it('draws only from the context: the same context gives the same image, another epoch another one', async () => {
    const folder = new ImageFolder(root, { transforms: [{ randomCrop: 12 }, { flip: 0.5 }] });
    const a = await folder.get(1, contextOf(5, 0, 1));
    const b = await folder.get(1, contextOf(5, 0, 1));
    expect(b).toEqual(a);
    const others = await Promise.all([1, 2, 3, 4].map((e) => folder.get(1, contextOf(5, e, 1))));
    expect(others.some((o) => floats(o.image.data).join() !== floats(a.image.data).join())).toBe(true);
    // Without a context: `new Random(0, 0, index)`, as a loader with seed 0 gives in epoch 0.
    expect(await folder.get(1)).toEqual(await folder.get(1, contextOf(0, 0, 1)));
  });

  it('resizes the shorter side or to an exact size, as sharp does, first or after other transforms', async () => {
    const file = join(root, 'dog', '0.png');
    const shorter = await new ImageFolder(root, {
      dtype: 'uint8',
      layout: 'hwc',
      transforms: [{ resize: 10 }],
    }).get(3);
    expect(shorter.image.shape).toEqual([10, 12, 3]);
    const want = await sharp(file)
      .resize({ width: 10, height: 10, fit: 'outside', kernel: 'linear' })
      .raw()
      .toBuffer();
    expect(Buffer.from(shorter.image.data).equals(want)).toBe(true);

    const exact = await new ImageFolder(root, {
      transforms: [{ resize: { size: [7, 9], interpolation: 'nearest' } }],
    }).get(3);
    expect(exact.image.shape).toEqual([3, 7, 9]);

    // After a crop, resize works on the cropped pixels.
    const later = await new ImageFolder(root, {
      dtype: 'uint8',
      layout: 'hwc',
      transforms: [{ centerCrop: [16, 20] }, { resize: [8, 10] }],
    }).get(3);
    const cropped = await sharp(file).extract({ top: 2, left: 2, height: 16, width: 20 }).raw().toBuffer();
    const resized = await sharp(cropped, { raw: { width: 20, height: 16, channels: 3 } })
      .resize({ width: 10, height: 8, fit: 'fill', kernel: 'linear' })
      .raw()
      .toBuffer();
    expect(later.image.shape).toEqual([8, 10, 3]);
    expect(Buffer.from(later.image.data).equals(resized)).toBe(true);
  });

  it('reports a random crop larger than the image as a FileError naming the file', async () => {
    const folder = new ImageFolder(root, {
      transforms: [{ flip: 0.5 }, { randomCrop: { size: [30, 20], padding: 2 } }],
    });
    const file = join(root, 'cat', '0.png');
    await expect(folder.get(0)).rejects.toThrow(
      new FileError(
        `image ${file} is 24×28 (height×width, padded) at \`transforms[1].randomCrop\`, smaller than the crop 30×20; resize it first or add padding`,
        { file },
      ),
    );
  });
});

describe('ImageFolder: unreadable files', () => {
  it('reports missing, truncated and mislabelled files as FileErrors naming the file', async () => {
    const dir = tempDir('corrupt');
    await writeImage(join(dir, 'a', 'good.png'), pattern(0, 8, 8));
    await writeImage(join(dir, 'a', 'truncated.jpg'), pattern(1, 32, 32), 'jpeg');
    await writeImage(join(dir, 'a', 'truncated.png'), pattern(2, 8, 8));
    await writeImage(join(dir, 'a', 'vanishes.png'), pattern(3, 8, 8));
    writeText(join(dir, 'a', 'words.png'), 'this is not a picture');
    for (const name of ['truncated.jpg', 'truncated.png']) {
      const bytes = readFileSync(join(dir, 'a', name));
      writeFileSync(join(dir, 'a', name), bytes.subarray(0, bytes.length >> 1));
    }
    const folder = new ImageFolder(dir);
    rmSync(join(dir, 'a', 'vanishes.png'));
    const names = folder.samples.map((s) => s.path.slice(dir.length + 3));
    expect(names).toEqual(['good.png', 'truncated.jpg', 'truncated.png', 'vanishes.png', 'words.png']);
    // One at a time: libvips keeps one error buffer, so the reasons of concurrent failures can mix up
    // (the file named is always right).
    const errors: unknown[] = [];
    for (let i = 0; i < folder.length; i++)
      errors.push(
        await folder.get(i).then(
          () => undefined,
          (e: unknown) => e,
        ),
      );
    expect(errors[0]).toBeUndefined();
    const reasons = errors.slice(1).map((e, k) => {
      const file = join(dir, 'a', names[k + 1] as string);
      expect(e).toBeInstanceOf(FileError);
      expect((e as FileError).file).toBe(file);
      expect((e as FileError).cause).toBeInstanceOf(Error);
      return (e as FileError).message;
    });
    const at = (name: string) => join(dir, 'a', name);
    expect(reasons).toEqual([
      `cannot decode image ${at('truncated.jpg')}: VipsJpeg: premature end of JPEG image`,
      `cannot decode image ${at('truncated.png')}: vipspng: libpng read error`,
      `cannot read image ${at('vanishes.png')}: no such file`,
      `cannot decode image ${at('words.png')}: Input buffer contains unsupported image format`,
    ]);
  });
});

describe('sharp, the optional peer dependency', () => {
  it('is a ConfigError naming the package and how to install it when missing', async () => {
    resetSharp();
    const missing = Object.assign(new Error("Cannot find package 'sharp' imported from /app/weft.js"), {
      code: 'ERR_MODULE_NOT_FOUND',
    });
    const e = await loadSharp(() => Promise.reject(missing)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).message).toBe(
      'ImageFolder decodes images with the package `sharp`, an optional peer dependency of weft-data that is not installed: run `npm install sharp`',
    );
    expect((e as ConfigError).cause).toBe(missing);
    const broken = await loadSharp(() =>
      Promise.reject(new Error('no prebuilt binary for this platform')),
    ).catch((x: unknown) => x);
    expect((broken as ConfigError).message).toBe(
      'the package `sharp` could not be loaded: no prebuilt binary for this platform',
    );
    // A failed load is not remembered: the next one tries again.
    expect(typeof (await loadSharp())).toBe('function');
  });

  it('is not loaded by importing weft, nor by constructing an ImageFolder; the first get loads it', () => {
    const index = fileURLToPath(new URL('../src/index.ts', import.meta.url));
    const script = (body: string) => `
      const weft = await import(${JSON.stringify(index)});
      const vips = () => process.report.getReport().sharedObjects.some((s) => /libvips/.test(s));
      ${body}`;
    const run = (body: string): string => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script(body)], {
        encoding: 'utf8',
      });
      expect(r.stderr).toBe('');
      return r.stdout.trim();
    };
    expect(
      run(`
        const folder = new weft.ImageFolder(${JSON.stringify(root)});
        console.log(vips());
        await folder.get(0);
        console.log(vips());`),
    ).toBe('false\ntrue');
  });
});

describe('ImageFolder: the decoded-image cache', () => {
  it('decodes an image once per thread with cacheBytes, and gives the same items', async () => {
    const dir = tempDir('cache');
    await writeImage(join(dir, 'a', '0.png'), pattern(0, 8, 8));
    await writeImage(join(dir, 'a', '1.png'), pattern(1, 8, 8));
    const transforms: ImageTransform[] = [{ randomCrop: { size: 6, padding: 1 } }, { flip: 0.5 }];
    const plain = new ImageFolder(dir, { transforms });
    const cached = new ImageFolder(dir, { transforms, cacheBytes: 1024 });
    for (let epoch = 0; epoch < 2; epoch++) {
      for (const i of [0, 1]) {
        const context = contextOf(1, epoch, i);
        expect(floats((await cached.get(i, context)).image.data)).toEqual(
          floats((await plain.get(i, contextOf(1, epoch, i))).image.data),
        );
      }
    }
    // Both images (8 × 8 × 3 bytes each) are in the cache: the files are no longer read.
    rmSync(join(dir, 'a', '0.png'));
    await expect(cached.get(0, contextOf(1, 2, 0))).resolves.toMatchObject({ label: 0 });
    await expect(plain.get(0, contextOf(1, 2, 0))).rejects.toThrow(FileError);
  });

  it('drops the least recently used image beyond cacheBytes', async () => {
    const dir = tempDir('cache');
    for (const i of [0, 1, 2]) await writeImage(join(dir, 'a', `${i}.png`), pattern(i, 8, 8));
    const cached = new ImageFolder(dir, { cacheBytes: 2 * 8 * 8 * 3 });
    for (const i of [0, 1, 0, 2]) await cached.get(i); // 1 is now the least recently used
    rmSync(join(dir, 'a', '0.png'));
    rmSync(join(dir, 'a', '1.png'));
    await expect(cached.get(0)).resolves.toMatchObject({ label: 0 });
    await expect(cached.get(1)).rejects.toThrow(FileError);
  });

  it('rejects a cacheBytes that is not a non-negative integer', () => {
    expect(configError(() => new ImageFolder(root, { cacheBytes: -1 })).issues).toEqual([
      '`cacheBytes` must be a non-negative integer, got -1',
    ]);
  });
});
