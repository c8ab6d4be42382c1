#!/usr/bin/env node
// `weft-mnist` (`npm start` at the repository root): weft's demo, a small network trained on MNIST.
import { parseArgs } from 'node:util';
import { ConfigError } from 'weft-data';
import type { TrainOptions } from './train.ts';

const HELP = `weft-mnist — weft's demo: a 784-128-10 network trained on MNIST with interleaved evaluation

Usage: weft-mnist [options]     (npm start at the repository root)

Options:
  --epochs N         training epochs (default 30)
  --batch-size N     training batch size (default 32)
  --workers N        worker threads loading and augmenting data, 0 = in-process (default 2)
  --seed N           seed of the split, shuffles, augmentation and weights (default 1)
  --lr X             SGD learning rate (default 0.2)
  --train-size N     training digits, of the 10,000 shipped (default 8000)
  --test-size N      test digits (default 2000)
  --quick-every N    run the quick test every N updates (default 100)
  --quick-size N     digits in the quick test (default 500)
  --out DIR          output folder: log.jsonl, training.svg, checkpoint.json (default out)
  --resume           continue from DIR/checkpoint.json exactly
  -h, --help         this text
`;

const INTS = {
  epochs: [30, 1],
  'batch-size': [32, 1],
  workers: [2, 0],
  seed: [1, 0],
  'train-size': [8000, 1],
  'test-size': [2000, 1],
  'quick-every': [100, 1],
  'quick-size': [500, 1],
} as const;

/** A bad command line: exit code 2. */
class UsageError extends Error {}

function int(values: Record<string, unknown>, name: keyof typeof INTS): number {
  const [fallback, min] = INTS[name];
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(String(raw)) || n < min || !Number.isSafeInteger(n)) {
    throw new UsageError(`--${name} must be an integer ≥ ${min}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

async function main(argv: string[]): Promise<void> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        ...Object.fromEntries(Object.keys(INTS).map((k) => [k, { type: 'string' as const }])),
        lr: { type: 'string' },
        out: { type: 'string' },
        resume: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(HELP);
    return;
  }
  if (positionals.length > 0)
    throw new UsageError(`weft-mnist takes no positional arguments, got ${JSON.stringify(positionals)}`);
  const out = typeof values.out === 'string' ? values.out : 'out';
  const lr = values.lr === undefined ? 0.2 : Number(values.lr);
  if (!(lr > 0) || !Number.isFinite(lr))
    throw new UsageError(`--lr must be a positive number, got ${JSON.stringify(values.lr)}`);
  const options: TrainOptions = {
    epochs: int(values, 'epochs'),
    batchSize: int(values, 'batch-size'),
    workers: int(values, 'workers'),
    seed: int(values, 'seed'),
    trainSize: int(values, 'train-size'),
    testSize: int(values, 'test-size'),
    quickEvery: int(values, 'quick-every'),
    quickSize: int(values, 'quick-size'),
    lr,
    out,
  };
  if (options.trainSize + options.testSize > 10_000) {
    throw new UsageError(
      `--train-size + --test-size must be at most 10000 (the digits shipped), got ${options.trainSize + options.testSize}`,
    );
  }
  // TensorFlow.js takes seconds to load: say what is happening first.
  console.error(
    `weft-mnist: ${values.resume === true ? 'resuming' : 'training'} in ${options.out} (loading TensorFlow.js and the digits)`,
  );
  const { train } = await import('./train.ts');
  await train(options, values.resume === true);
}

main(process.argv.slice(2)).catch((e: unknown) => {
  if (e instanceof UsageError || e instanceof ConfigError) {
    console.error(`weft-mnist: ${(e as Error).message}`);
    process.exitCode = 2;
    return;
  }
  console.error(e);
  process.exitCode = 1;
});
