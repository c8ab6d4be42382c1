// The demo trains from files, as a real run would: on first use, the 10,000 digits shipped in the `mnist`
// package are written as an image folder (PNG, one subfolder per class, `train/` and `test/`), kept in a
// cache folder; later runs read it as it is. `--data DIR` points the demo at any such folder instead.
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Random } from 'weft-data';

interface MnistDigit {
  length: number;
  get(i: number): number[];
}

/** Digits of the shipped 10,000 that go to the test folder; the rest train. */
export const TEST_DIGITS = 2000;
/** Seed of the fixed train/test split of the shipped digits. */
const SPLIT_SEED = 1;

/** Where the shipped digits are cached as PNG files: `$XDG_CACHE_HOME/weft-mnist`, else `~/.cache/weft-mnist`. */
export function defaultCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'weft-mnist', 'mnist-png-v1');
}

/**
 * Makes sure `dir` holds the shipped digits as `train/<digit>/<n>.png` and `test/<digit>/<n>.png`. Writes
 * them into a temporary folder first and renames it into place, so an interrupted write leaves nothing
 * half-done and two processes writing at once both end up with the same complete folder.
 *
 * @returns whether the folder had to be written now
 */
export async function ensureDigitFiles(dir: string): Promise<boolean> {
  if (existsSync(join(dir, 'train')) && existsSync(join(dir, 'test'))) return false;
  const { default: sharp } = await import('sharp');
  const mnist = createRequire(import.meta.url)('mnist') as Record<number, MnistDigit>;
  const digits: { pixels: number[]; label: number }[] = [];
  for (let d = 0; d < 10; d++) {
    for (let i = 0; i < (mnist[d] as MnistDigit).length; i++) {
      digits.push({ pixels: (mnist[d] as MnistDigit).get(i), label: d });
    }
  }
  const order = new Random(SPLIT_SEED).permutation(digits.length);
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  for (const split of ['train', 'test']) {
    for (let d = 0; d < 10; d++) mkdirSync(join(tmp, split, String(d)), { recursive: true });
  }
  const jobs: (() => Promise<unknown>)[] = [];
  order.forEach((k, n) => {
    const { pixels, label } = digits[k] as { pixels: number[]; label: number };
    const split = n < digits.length - TEST_DIGITS ? 'train' : 'test';
    const bytes = Buffer.from(pixels.map((v) => Math.round(v * 255)));
    const file = join(tmp, split, String(label), `${String(n).padStart(5, '0')}.png`);
    jobs.push(() =>
      sharp(bytes, { raw: { width: 28, height: 28, channels: 1 } })
        .png()
        .toFile(file),
    );
  });
  for (let i = 0; i < jobs.length; i += 64) await Promise.all(jobs.slice(i, i + 64).map((job) => job()));
  mkdirSync(join(dir, '..'), { recursive: true });
  try {
    renameSync(tmp, dir);
  } catch (e) {
    // Another process finished first: its folder is the same.
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(join(dir, 'train'))) throw e;
  }
  return true;
}
