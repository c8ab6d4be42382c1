// The training demo: MNIST digits read from PNG files through one interleaved loader — training images
// decoded and augmented in workers, a quick test on a subset every N updates and the full test set every
// epoch, checkpoints and exact resume.
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
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
  Random,
  RandomSampler,
  type ResumeState,
  SequentialSampler,
  Subset,
} from 'weft-data';
import { defaultCacheDir, ensureDigitFiles } from './digit-files.ts';
import { initBackend, Mlp, type SavedWeights } from './model.ts';
import { type LogRecord, render, trainingSpec } from './plot.ts';
import { createProgress } from './progress.ts';

/** Settings of a training run; all of them are saved in checkpoints. */
export interface TrainOptions {
  epochs: number;
  batchSize: number;
  workers: number;
  seed: number;
  out: string;
  quickEvery: number;
  quickSize: number;
  /** Training images to use, of the folder's (all when undefined). */
  trainSize: number | undefined;
  /** Test images to use, of the folder's (all when undefined). */
  testSize: number | undefined;
  /** An image folder with `train/` and `test/`; undefined: the shipped digits, cached as PNG files. */
  data: string | undefined;
  lr: number;
}

interface Checkpoint {
  options: TrainOptions;
  weights: SavedWeights;
  state: ResumeState;
  /** Lines of the JSONL log written up to this checkpoint (later ones are dropped on resume). */
  logLines: number;
}

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
 * Trains the network; with `resume`, continues from `out/checkpoint.json` exactly (its saved settings win,
 * except the number of workers). Returns the last full-test accuracy.
 */
export async function train(
  given: TrainOptions,
  resume: boolean,
): Promise<{ accuracy: number; updates: number }> {
  const checkpointPath = join(given.out, 'checkpoint.json');
  const logPath = join(given.out, 'log.jsonl');
  let checkpoint: Checkpoint | undefined;
  if (resume) {
    if (!existsSync(checkpointPath)) throw new Error(`--resume: no checkpoint at ${checkpointPath}`);
    checkpoint = JSON.parse(readFileSync(checkpointPath, 'utf8')) as Checkpoint;
  }
  const o: TrainOptions = checkpoint
    ? { ...checkpoint.options, workers: given.workers, out: given.out }
    : given;
  mkdirSync(o.out, { recursive: true });
  if (checkpoint) {
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
  console.log(checkpoint ? `resuming after update ${checkpoint.state.update}` : formatPlan(loader.plan));
  const progress = createProgress(process.stderr, process.stdout);
  const updatesPerEpoch = Math.floor(trainSet.length / o.batchSize);

  // Fault injection for the resume test: a crash right after the n-th checkpoint of this process.
  const crashAfterCheckpoint = Number(process.env.WEFT_MNIST_CRASH_AFTER_CHECKPOINT ?? 0);
  let checkpoints = 0;
  const started = performance.now();
  let evalLoss = 0;
  let correct = 0;
  let seen = 0;
  let accuracy = Number.NaN;
  let update = loader.sampler.start.update;
  progress.start(
    update,
    loader.totalUpdates,
    o.epochs,
    Math.min(o.epochs, Math.floor(update / updatesPerEpoch) + 1),
  );
  for await (const batch of loader) {
    const { image: x, label: y } = batch.data;
    if (batch.source === 'train') {
      const loss = model.train(x.data, y, o.lr);
      update = batch.position.update;
      log({ type: 'train', update, epoch: batch.epoch, loss });
      progress.train(update, batch.epoch + 1);
      continue;
    }
    if (batch.batch === 0)
      progress.passStart(batch.name, loader.plan.callbacks[batch.callback]?.batchesPerPass ?? 1);
    const r = model.evaluate(x.data, y);
    evalLoss += r.loss;
    correct += r.correct;
    seen += y.length;
    progress.passBatch(batch.batch + 1);
    if (!batch.last) continue;
    progress.passEnd();
    const result = {
      type: 'eval',
      name: batch.name,
      update: batch.afterUpdate,
      loss: evalLoss / seen,
      accuracy: correct / seen,
    };
    log(result);
    progress.log(
      `[${batch.name}] update ${batch.afterUpdate}: loss ${result.loss.toFixed(4)}, accuracy ${result.accuracy.toFixed(4)} (${seen} digits)`,
    );
    if (batch.name === 'test') {
      accuracy = result.accuracy;
      const saved: Checkpoint = { options: o, weights: model.save(), state: loader.state(), logLines };
      writeFileSync(`${checkpointPath}.tmp`, JSON.stringify(saved));
      renameSync(`${checkpointPath}.tmp`, checkpointPath); // never a half-written checkpoint
      progress.log(`checkpoint saved after update ${saved.state.update}`);
      if (++checkpoints === crashAfterCheckpoint) process.kill(process.pid, 'SIGKILL');
    }
    evalLoss = 0;
    correct = 0;
    seen = 0;
  }
  progress.stop();
  await writePlots(logPath, o.out, updatesPerEpoch);
  const seconds = (performance.now() - started) / 1000;
  console.log(`done: ${update} updates in ${seconds.toFixed(1)} s, test accuracy ${accuracy.toFixed(4)}`);
  return { accuracy, updates: update };
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
