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
import { type Series, trainingPlot } from './plot.ts';

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

/** A one-line progress bar on stderr, only when it is a terminal. */
function progress(label: string, done: number, total: number, started: number): void {
  if (!process.stderr.isTTY) return;
  const width = 30;
  const filled = Math.round((done / Math.max(1, total)) * width);
  const elapsed = (performance.now() - started) / 1000;
  const eta = done > 0 ? (elapsed / done) * (total - done) : 0;
  process.stderr.write(
    `\r${label.padEnd(6)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ETA ${eta.toFixed(0)}s `,
  );
  if (done === total) process.stderr.write('\n');
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

  // Fault injection for the resume test: a crash right after the n-th checkpoint of this process.
  const crashAfterCheckpoint = Number(process.env.WEFT_MNIST_CRASH_AFTER_CHECKPOINT ?? 0);
  let checkpoints = 0;
  const started = performance.now();
  let passStarted = started;
  let evalLoss = 0;
  let correct = 0;
  let seen = 0;
  let accuracy = Number.NaN;
  let update = loader.sampler.start.update;
  for await (const batch of loader) {
    const { x, y } = batch.data;
    if (batch.source === 'train') {
      const loss = model.train(x.data, y, o.lr);
      update = batch.position.update;
      log({ type: 'train', update, epoch: batch.epoch, loss });
      progress('train', update, loader.totalUpdates, started);
      continue;
    }
    if (batch.batch === 0) passStarted = performance.now();
    const r = model.evaluate(x.data, y);
    evalLoss += r.loss;
    correct += r.correct;
    seen += y.length;
    const batches = loader.plan.callbacks[batch.callback]?.batchesPerPass ?? 1;
    progress(batch.name, batch.batch + 1, batches, passStarted);
    if (!batch.last) continue;
    const result = {
      type: 'eval',
      name: batch.name,
      update: batch.afterUpdate,
      loss: evalLoss / seen,
      accuracy: correct / seen,
    };
    log(result);
    console.log(
      `[${batch.name}] update ${batch.afterUpdate}: loss ${result.loss.toFixed(4)}, accuracy ${result.accuracy.toFixed(4)} (${seen} digits)`,
    );
    if (batch.name === 'test') {
      accuracy = result.accuracy;
      const saved: Checkpoint = { options: o, weights: model.save(), state: loader.state(), logLines };
      writeFileSync(`${checkpointPath}.tmp`, JSON.stringify(saved));
      renameSync(`${checkpointPath}.tmp`, checkpointPath); // never a half-written checkpoint
      console.log(`checkpoint saved after update ${saved.state.update}`);
      if (++checkpoints === crashAfterCheckpoint) process.kill(process.pid, 'SIGKILL');
    }
    evalLoss = 0;
    correct = 0;
    seen = 0;
  }
  writePlot(logPath, join(o.out, 'training.svg'));
  const seconds = (performance.now() - started) / 1000;
  console.log(`done: ${update} updates in ${seconds.toFixed(1)} s, test accuracy ${accuracy.toFixed(4)}`);
  return { accuracy, updates: update };
}

function writePlot(logPath: string, svgPath: string): void {
  const records = readFileSync(logPath, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map(
      (l) =>
        JSON.parse(l) as { type: string; name?: string; update: number; loss: number; accuracy?: number },
    );
  const trainLoss = records.filter((r) => r.type === 'train');
  // A running mean over 20 updates: the raw per-batch loss is too noisy to read.
  const smooth = trainLoss.map((r, i) => {
    const window = trainLoss.slice(Math.max(0, i - 19), i + 1);
    return [r.update, window.reduce((s, w) => s + w.loss, 0) / window.length] as const;
  });
  const acc = (name: string, color: string): Series => ({
    name: `${name} set`,
    color,
    points: records
      .filter((r) => r.type === 'eval' && r.name === name)
      .map((r) => [r.update, r.accuracy ?? 0] as const),
  });
  const svg = trainingPlot(
    [{ name: 'loss (mean of 20)', color: '#2a6', points: smooth }],
    [acc('quick', '#e83'), acc('test', '#36c')],
  );
  writeFileSync(svgPath, svg);
}
