#!/usr/bin/env node
// `weft-mnist` (`npm start` at the repository root): weft's demo, a small network trained on MNIST.
import { parseArgs } from 'node:util';
import { ConfigError } from 'weft-data';
import {
  doneLine,
  type GivenFlags,
  isFinished,
  readCheckpoint,
  resumedOptions,
  type TrainOptions,
  UsageError,
} from './checkpoint.ts';
import { printLines, wrap } from './progress.ts';

const HELP = `weft-mnist — weft's demo: a 784-128-10 network trained on MNIST with interleaved evaluation

Usage: weft-mnist [options]     (npm start at the repository root)

Options:
  --epochs N         training epochs (default 20)
  --batch-size N     training batch size (default 32)
  --workers N        worker threads loading and augmenting data, 0 = in-process (default 2)
  --seed N           seed of the split, shuffles, augmentation and weights (default 1)
  --lr X             SGD learning rate (default 0.2)
  --data DIR         train on the image folder DIR/train, test on DIR/test (one
                     subfolder per class; images resized to 28×28 grey). Default:
                     the 10,000 digits of the mnist package, written once as PNG
                     files (8,000 train, 2,000 test) to a cache folder
  --train-size N     use N of the training images, a seeded choice (default all)
  --test-size N      use N of the test images (default all)
  --quick-every N    run the quick test every N updates (default 100)
  --quick-size N     digits in the quick test (default 500)
  --out DIR          output folder: log.jsonl, training.svg, checkpoint.json (default out)
  --resume           continue from DIR/checkpoint.json exactly; --workers may
                     change, --epochs may extend the run, other flags must
                     match the checkpoint's (or be left out)
  -h, --help         this text
`;

const INTS = {
  epochs: [20, 1],
  'batch-size': [32, 1],
  workers: [2, 0],
  seed: [1, 0],
  'quick-every': [100, 1],
  'quick-size': [500, 1],
} as const;

function int(values: Record<string, unknown>, name: keyof typeof INTS): number {
  const [fallback, min] = INTS[name];
  return optionalInt(values, name, min) ?? fallback;
}

/** The flag's value as an integer ≥ `min`, or undefined when the flag is absent. */
function optionalInt(values: Record<string, unknown>, name: string, min: number): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(String(raw)) || n < min || !Number.isSafeInteger(n)) {
    throw new UsageError([`--${name} must be an integer ≥ ${min}, got ${JSON.stringify(raw)}`]);
  }
  return n;
}

/**
 * The help as written when it fits the terminal; on a narrower one, each option's description (its lines
 * joined) broken at spaces and continued under itself.
 */
function printHelp(): void {
  const width = process.stdout.isTTY ? (process.stdout.columns ?? 80) - 1 : Number.POSITIVE_INFINITY;
  const lines = HELP.split('\n');
  if (lines.every((l) => l.length <= width)) {
    console.log(HELP);
    return;
  }
  // A line indented as far as the descriptions continues the one before it.
  const column = (HELP.match(/^ {2}--epochs N +/m)?.[0] ?? '').length;
  const entries: string[] = [];
  for (const line of lines) {
    const continued = column > 0 && line.startsWith(' '.repeat(column)) && entries.length > 0;
    if (continued) entries[entries.length - 1] += ` ${line.trim()}`;
    else entries.push(line);
  }
  for (const entry of entries) {
    const indent = ' '.repeat(entry.startsWith('  -') ? column : (entry.match(/^ */)?.[0].length ?? 0));
    const first = wrap(entry, width)[0] ?? '';
    const rest = entry.slice(first.length).trimStart();
    const more = rest === '' ? [] : wrap(rest, Math.max(10, width - indent.length));
    console.log([first, ...more.map((l) => indent + l)].join('\n'));
  }
}

async function main(argv: string[]): Promise<void> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        ...Object.fromEntries(
          [...Object.keys(INTS), 'train-size', 'test-size'].map((k) => [k, { type: 'string' as const }]),
        ),
        lr: { type: 'string' },
        out: { type: 'string' },
        data: { type: 'string' },
        resume: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new UsageError([(e as Error).message]);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    printHelp();
    return;
  }
  if (positionals.length > 0)
    throw new UsageError([`weft-mnist takes no positional arguments, got ${JSON.stringify(positionals)}`]);
  const out = typeof values.out === 'string' ? values.out : 'out';
  const lr = values.lr === undefined ? 0.2 : Number(values.lr);
  if (!(lr > 0) || !Number.isFinite(lr))
    throw new UsageError([`--lr must be a positive number, got ${JSON.stringify(values.lr)}`]);
  const options: TrainOptions = {
    epochs: int(values, 'epochs'),
    batchSize: int(values, 'batch-size'),
    workers: int(values, 'workers'),
    seed: int(values, 'seed'),
    trainSize: optionalInt(values, 'train-size', 1),
    testSize: optionalInt(values, 'test-size', 1),
    quickEvery: int(values, 'quick-every'),
    quickSize: int(values, 'quick-size'),
    lr,
    out,
    data: typeof values.data === 'string' ? values.data : undefined,
  };
  const resume = values.resume === true ? readCheckpoint(out) : undefined;
  let run = options;
  if (resume) {
    // Only the flags given count: a flag left out keeps the checkpoint's value.
    const given: GivenFlags = {
      epochs: values.epochs === undefined ? undefined : options.epochs,
      'batch-size': values['batch-size'] === undefined ? undefined : options.batchSize,
      seed: values.seed === undefined ? undefined : options.seed,
      lr: values.lr === undefined ? undefined : lr,
      data: options.data,
      'train-size': options.trainSize,
      'test-size': options.testSize,
      'quick-every': values['quick-every'] === undefined ? undefined : options.quickEvery,
      'quick-size': values['quick-size'] === undefined ? undefined : options.quickSize,
    };
    run = resumedOptions(resume, given, options.workers, out);
    if (isFinished(resume, run.epochs)) {
      printLines(process.stdout, [
        `weft-mnist: the run in ${out} is finished`,
        doneLine(resume.state.update, resume.elapsed, resume.accuracy),
        `to train it longer, add --epochs ${run.epochs + 1} (or more)`,
      ]);
      return;
    }
  }
  // TensorFlow.js takes seconds to load: say what is happening first.
  printLines(process.stderr, [
    `weft-mnist: ${resume ? 'resuming' : 'training'} in ${out} (loading TensorFlow.js and the digits)`,
  ]);
  const { train } = await import('./train.ts');
  await train(run, resume, typeof values.workers === 'string' ? values.workers : undefined);
}

main(process.argv.slice(2)).catch((e: unknown) => {
  if (e instanceof UsageError || e instanceof ConfigError) {
    const problems = e instanceof UsageError ? e.problems : [e.message];
    printLines(
      process.stderr,
      problems.map((p) => `weft-mnist: ${p}`),
    );
    process.exitCode = 2;
    return;
  }
  console.error(e);
  process.exitCode = 1;
});
