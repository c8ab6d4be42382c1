// The training demo: MNIST through one interleaved loader — training batches augmented in workers, a quick
// test on a subset every N updates and the full test set every epoch, checkpoints and exact resume.
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type Dataset,
  formatPlan,
  fromModule,
  InterleavedSampler,
  RandomSampler,
  type ResumeState,
  SequentialSampler,
  Subset,
  type Tensor,
} from 'weft-data';
import type { Digit, MnistOptions } from './mnist-data.ts';
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
  trainSize: number;
  testSize: number;
  lr: number;
}

interface Checkpoint {
  options: TrainOptions;
  weights: SavedWeights;
  state: ResumeState;
  /** Lines of the JSONL log written up to this checkpoint (later ones are dropped on resume). */
  logLines: number;
}

type Batch = { x: Tensor<Float32Array>; y: Float64Array };

const dataModule = new URL('./mnist-data.js', import.meta.url);

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
  const data = (options: MnistOptions) => fromModule<Dataset<Digit>>(dataModule, 'mnistDigits', options);
  const trainSet = await data({ split: 'train', size: o.trainSize, seed: o.seed, augment: true });
  const testSet = await data({ split: 'test', size: o.testSize, seed: o.seed });
  const quickSet = new Subset(
    testSet,
    Array.from({ length: Math.min(o.quickSize, o.testSize) }, (_, i) => i),
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
  await using loader = sampler.getDataLoader<Batch>({
    numWorkers: o.workers,
    seed: o.seed,
    ...(checkpoint ? { resume: checkpoint.state } : {}),
  });
  console.log(checkpoint ? `resuming after update ${checkpoint.state.update}` : formatPlan(loader.plan));
  const progress = createProgress(process.stderr, process.stdout);
  const updatesPerEpoch = Math.floor(o.trainSize / o.batchSize);

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
    const { x, y } = batch.data;
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
