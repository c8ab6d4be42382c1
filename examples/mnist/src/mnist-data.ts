// MNIST digits from the `mnist` package (10,000 digits shipped inside it), as weft datasets that workers
// rebuild through fromModule. Items: { x: 784 pixels in [0, 1], y: the digit }.
import { createRequire } from 'node:module';
import { type Dataset, Random, type SampleContext } from 'weft-data';

interface MnistDigit {
  length: number;
  get(i: number): number[];
}
const mnist = createRequire(import.meta.url)('mnist') as Record<number, MnistDigit>;

/** One MNIST digit. */
export interface Digit {
  readonly x: Float32Array;
  readonly y: number;
}

let all: Digit[] | undefined;

/** Every shipped digit, in a fixed order (the package's own `set()` shuffles with Math.random). */
function allDigits(): Digit[] {
  if (all === undefined) {
    all = [];
    for (let d = 0; d < 10; d++) {
      for (let i = 0; i < mnist[d]!.length; i++) all.push({ x: Float32Array.from(mnist[d]!.get(i)), y: d });
    }
  }
  return all;
}

/** Options of {@link mnistDigits}; plain JSON so workers can rebuild the dataset. */
export interface MnistOptions {
  split: 'train' | 'test';
  /** Digits in this split. */
  size: number;
  /** Seed of the train/test split. */
  seed: number;
  /** Random shifts (±2 pixels) and noise from each sample's `context.random()`. */
  augment?: boolean;
}

/** The train or test split: a seeded permutation of all digits, training from the front, test from the back. */
export function mnistDigits({ split, size, seed, augment = false }: MnistOptions): Dataset<Digit> {
  const digits = allDigits();
  if (size > digits.length)
    throw new Error(`only ${digits.length} MNIST digits are shipped, asked for ${size}`);
  const order = new Random(seed).permutation(digits.length);
  const start = split === 'train' ? 0 : digits.length - size;
  return {
    length: size,
    get(index: number, context?: SampleContext): Digit {
      const digit = digits[order[start + index] as number] as Digit;
      return augment && context ? shifted(digit, context.random()) : digit;
    },
  };
}

function shifted({ x, y }: Digit, random: Random): Digit {
  const dx = random.int(5) - 2;
  const dy = random.int(5) - 2;
  const out = new Float32Array(784);
  for (let r = 0; r < 28; r++) {
    const from = r - dy;
    if (from < 0 || from >= 28) continue;
    for (let c = 0; c < 28; c++) {
      const fc = c - dx;
      const v = fc < 0 || fc >= 28 ? 0 : (x[from * 28 + fc] as number);
      out[r * 28 + c] = Math.min(1, Math.max(0, v + 0.05 * random.normal()));
    }
  }
  return { x: out, y };
}
