// The training demo: MNIST digits read from PNG files through one interleaved loader — training images
// decoded and augmented in workers, a quick test on a subset every N updates and the full test set every
// epoch, checkpoints and exact resume.
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ConfigError,
  type Dataset,
  formatPlan,
  ImageFolder,
  type ImageItem,
  type ImageLayout,
  type ImageTransform,
  InterleavedSampler,
  type ItemLayout,
  type Plan,
  Random,
  RandomSampler,
  SequentialSampler,
  Subset,
} from 'weft-data';
import {
  type Checkpoint,
  continueCommand,
  doneLine,
  type TrainOptions,
  writeCheckpoint,
} from './checkpoint.ts';
import { defaultCacheDir, ensureDigitFiles } from './digit-files.ts';
import { initBackend, Mlp } from './model.ts';
import { type LogRecord, render, trainingSpec } from './plot.ts';
import { createProgress, printLines, shellLines } from './progress.ts';

/** A seeded choice of `n` of `dataset`'s items (all of them, in order, when `n` is undefined or all). */
function choose<T, L extends ItemLayout>(
  dataset: Dataset<T, L>,
  n: number | undefined,
  seed: number,
  what: string,
): Dataset<T, L> {
  if (n === undefined || n === dataset.length) return dataset;
  if (n > dataset.length) {
    throw new ConfigError(
      `--${what}-size must be at most ${dataset.length} (the images in the folder), got ${n}`,
    );
  }
  return new Subset(
    dataset,
    Array.from(new Random(seed, what.length).permutation(dataset.length).subarray(0, n)),
  );
}

/**
 * The training and test images, read from files and decoded in the workers: the training digits shifted by up
 * to 2 pixels (a random crop of the image padded by 2), drawn from each sample's `context.random()`.
 */
type Digits = Dataset<ImageItem, ImageLayout<'float32'>>;

async function openDigits(o: TrainOptions): Promise<{ train: Digits; test: Digits }> {
  const dir = o.data ?? defaultCacheDir();
  if (o.data === undefined && (await ensureDigitFiles(dir))) {
    console.error(`weft-mnist: wrote the shipped digits as PNG files to ${dir}`);
  }
  // Another folder's images may be of any size: bring them to the network's 28×28.
  const resize: ImageTransform[] = o.data === undefined ? [] : [{ resize: [28, 28] }];
  // Each worker keeps the decoded digits (784 bytes each): the files are decoded in the first epoch, the
  // random crops drawn fresh every epoch.
  const cacheBytes = 64 * 2 ** 20;
  const train = new ImageFolder(join(dir, 'train'), {
    channels: 1,
    transforms: [...resize, { randomCrop: { size: 28, padding: 2 } }],
    cacheBytes,
  });
  const test = new ImageFolder(join(dir, 'test'), { channels: 1, transforms: resize, cacheBytes });
  return {
    train: choose(train, o.trainSize, o.seed, 'train'),
    test: choose(test, o.testSize, o.seed, 'test'),
  };
}

/**
 * Trains the network; with `checkpoint`, continues the run saved in it exactly (`o` is then the checkpoint's
 * settings as main.ts checked them). On SIGINT, saves a checkpoint after the batch at hand and prints the
 * command that continues the run. Returns the last full-test accuracy.
 *
 * @param workersFlag - `--workers` as given, repeated in the command that continues an interrupted run
 */
export async function train(
  o: TrainOptions,
  checkpoint: Checkpoint | undefined,
  workersFlag?: string,
): Promise<{ accuracy: number; updates: number }> {
  const logPath = join(o.out, 'log.jsonl');
  mkdirSync(o.out, { recursive: true });
  if (checkpoint && existsSync(logPath)) {
    const kept = readFileSync(logPath, 'utf8').split('\n').filter(Boolean).slice(0, checkpoint.logLines);
    writeFileSync(logPath, kept.map((l) => `${l}\n`).join(''));
  } else {
    writeFileSync(logPath, '');
  }
  let logLines = checkpoint?.logLines ?? 0;
  const log = (record: object) => {
    appendFileSync(logPath, `${JSON.stringify(record)}\n`);
    logLines++;
  };

  await initBackend();
  const { train: trainSet, test: testSet } = await openDigits(o);
  const quickSet = new Subset(
    testSet,
    Array.from({ length: Math.min(o.quickSize, testSet.length) }, (_, i) => i),
  );
  const sampler = new InterleavedSampler({
    trainSampler: new RandomSampler(trainSet, { seed: o.seed }),
    config: { batchSize: o.batchSize, maxEpochs: o.epochs },
    callbackSamplers: [
      {
        sampler: new SequentialSampler(quickSet),
        everyNUpdates: o.quickEvery,
        batchSize: 500,
        name: 'quick',
      },
      { sampler: new SequentialSampler(testSet), everyNEpochs: 1, batchSize: 500, name: 'test' },
    ],
  });
  const model = new Mlp(o.seed);
  if (checkpoint) model.load(checkpoint.weights);
  await using loader = sampler.getDataLoader({
    numWorkers: o.workers,
    seed: o.seed,
    ...(checkpoint ? { resume: checkpoint.state } : {}),
  });
  printLines(
    process.stdout,
    checkpoint ? [`resuming after update ${checkpoint.state.update}`] : plan(loader.plan),
  );
  const progress = createProgress(process.stderr, process.stdout);
  const updatesPerEpoch = Math.floor(trainSet.length / o.batchSize);

  // Fault injection for the resume test: a crash right after the n-th checkpoint of this process.
  const crashAfterCheckpoint = Number(process.env.WEFT_MNIST_CRASH_AFTER_CHECKPOINT ?? 0);
  let checkpoints = 0;
  // Time counts over the whole run: the sessions before this one, as saved, and this one from here.
  const elapsedBefore = checkpoint?.elapsed ?? 0;
  const started = performance.now();
  const elapsed = () => elapsedBefore + (performance.now() - started) / 1000;
  let accuracy = checkpoint?.accuracy ?? Number.NaN;
  const save = () => {
    const saved: Checkpoint = {
      options: o,
      weights: model.save(),
      state: loader.state(),
      logLines,
      updatesPerEpoch,
      elapsed: elapsed(),
      accuracy: Number.isNaN(accuracy) ? null : accuracy,
    };
    writeCheckpoint(o.out, saved);
    return saved;
  };
  // Ctrl-C: the batch at hand is finished, then saved; a second Ctrl-C ends the process at once.
  let interrupted = false;
  const onSigint = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
  };
  process.on('SIGINT', onSigint);
  let evalLoss = 0;
  let correct = 0;
  let seen = 0;
  let update = loader.sampler.start.update;
  progress.start(
    update,
    loader.totalUpdates,
    o.epochs,
    Math.min(o.epochs, Math.floor(update / updatesPerEpoch) + 1),
    elapsedBefore,
  );
  try {
    for await (const batch of loader) {
      if (batch.source === 'train') {
        const { image: x, label: y } = batch.data;
        const loss = model.train(x.data, y, o.lr);
        update = batch.position.update;
        log({ type: 'train', update, epoch: batch.epoch, loss });
        progress.train(update, batch.epoch + 1);
      } else {
        evaluate(batch);
      }
      if (interrupted) break;
    }
  } finally {
    process.off('SIGINT', onSigint);
  }
  progress.stop();
  if (interrupted) {
    const saved = save();
    printLines(process.stdout, [
      `interrupted: checkpoint saved after update ${saved.state.update}`,
      'to continue the run:',
    ]);
    // The command on lines of its own, broken only between words with a shell continuation: copied whole.
    const width = process.stdout.isTTY ? (process.stdout.columns ?? 80) - 1 : Number.POSITIVE_INFINITY;
    for (const line of shellLines(continueCommand(o.out, workersFlag), width)) console.log(line);
    process.exitCode = 130;
    return { accuracy, updates: update };
  }
  // Saved once more at the end, so that a resume of the finished run repeats this very line.
  const final = save();
  await writePlots(logPath, o.out, updatesPerEpoch);
  printLines(process.stdout, [doneLine(update, final.elapsed, final.accuracy)]);
  return { accuracy, updates: update };

  type LoaderBatch = typeof loader extends AsyncIterable<infer B> ? B : never;
  function evaluate(batch: Extract<LoaderBatch, { source: 'callback' }>) {
    const { image: x, label: y } = batch.data;
    if (batch.batch === 0)
      progress.passStart(batch.name, loader.plan.callbacks[batch.callback]?.batchesPerPass ?? 1);
    const r = model.evaluate(x.data, y);
    evalLoss += r.loss;
    correct += r.correct;
    seen += y.length;
    progress.passBatch(batch.batch + 1);
    if (!batch.last) return;
    progress.passEnd();
    const result = {
      type: 'eval',
      name: batch.name,
      update: batch.afterUpdate,
      loss: evalLoss / seen,
      accuracy: correct / seen,
      digits: seen,
    };
    log(result);
    progress.log(
      `[${batch.name}] update ${batch.afterUpdate}: loss ${result.loss.toFixed(4)}, accuracy ${result.accuracy.toFixed(4)}`,
      `(${seen} digits)`,
    );
    if (batch.name === 'test') {
      accuracy = result.accuracy;
      const saved = save();
      progress.log(`checkpoint saved after update ${saved.state.update}`);
      if (++checkpoints === crashAfterCheckpoint) process.kill(process.pid, 'SIGKILL');
    }
    evalLoss = 0;
    correct = 0;
    seen = 0;
  }
}

/**
 * The plan's table, listing as many updates as the terminal's width shows unbroken; on a terminal too narrow
 * for even one, without the column of updates.
 */
function plan(p: Plan): string[] {
  const width = process.stdout.isTTY ? (process.stdout.columns ?? 80) - 1 : Number.POSITIVE_INFINITY;
  const fits = (t: string[]) => t.every((l) => l.length <= width);
  const tables = [6, 5, 4, 3, 2, 1].map((k) => formatPlan(p, k).split('\n'));
  const table = tables.find(fits) ?? (tables.at(-1) as string[]);
  if (fits(table)) return table;
  const column = (table[0] as string).indexOf('runs after updates');
  const rows = table.indexOf('');
  return table.map((l, i) => (i < rows ? l.slice(0, column).trimEnd() : l));
}

/** Writes training.svg and training.png from the log. */
async function writePlots(logPath: string, out: string, updatesPerEpoch: number): Promise<void> {
  const records = readFileSync(logPath, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as LogRecord);
  const { svg, png } = await render(trainingSpec(records, updatesPerEpoch));
  writeFileSync(join(out, 'training.svg'), svg);
  writeFileSync(join(out, 'training.png'), png);
}
