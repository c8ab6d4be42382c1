// The TensorFlow.js adapter for real: models trained with fitDataset on weft loaders whose data loads in
// 2 worker threads, and the README's example (examples/tfjs-fit.mjs) run as a user runs it.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tfc from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as data from '@tensorflow/tfjs-data';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { fromModule } from '../src/core/recipe.ts';
import { DataLoader } from '../src/engine/data-loader.ts';
import { InterleavedSampler } from '../src/interleaved/sampler.ts';
import { RandomSampler } from '../src/samplers/random-sampler.ts';
import { SequentialSampler } from '../src/samplers/sequential-sampler.ts';
import { interleavedDataset, loaderDataset } from '../src/tfjs/index.ts';
import type { linear } from './fixtures/tfjs-data.ts';

const tf = { ...tfc, data };
const fixture = new URL('./fixtures/tfjs-data.ts', import.meta.url);
const example = fileURLToPath(new URL('../examples/tfjs-fit.mjs', import.meta.url));

/** What defaultCollate makes of a batch of `LinearItem`s. */
type LinearBatch = {
  index: Float64Array;
  x: { data: Float32Array; shape: number[] };
  y: { data: Float32Array; shape: number[] };
};

beforeAll(async () => {
  await tfc.setBackend('cpu');
});

function linearModel(): tfl.Sequential {
  const model = tfl.sequential({ layers: [tfl.layers.dense({ units: 1, inputShape: [4] })] });
  model.compile({ optimizer: tfc.train.sgd(0.1), loss: 'meanSquaredError' });
  return model;
}

/** The index order of each of the loader's first `n` epochs, read in this thread. */
async function epochOrders(loader: AsyncIterable<LinearBatch>, n: number): Promise<number[][]> {
  const orders: number[][] = [];
  for (let e = 0; e < n; e++) {
    const order: number[] = [];
    for await (const b of loader) order.push(...b.index);
    orders.push(order);
  }
  return orders;
}

describe('fitDataset on weft loaders in workers', () => {
  it("trains for 2 epochs, each reading that epoch's order from 2 workers; no tensor left behind", async () => {
    const dataset = await fromModule<typeof linear>(fixture, 'linear', { n: 96 });
    const options = { dataset, batchSize: 16, shuffle: true, seed: 11 };
    const expected = await epochOrders(new DataLoader(options), 3);
    await using loader = new DataLoader({ ...options, numWorkers: 2 });
    await using validation = new DataLoader({
      dataset,
      batchSize: 32,
      numWorkers: 2,
    });
    const seen: number[][] = [];
    const ds = loaderDataset(tf, loader, (b) => {
      seen.push(Array.from(b.index.dataSync()));
      return { xs: b.x, ys: b.y };
    });
    const model = linearModel();
    const epochs: number[] = [];
    const history = await model.fitDataset(ds, {
      epochs: 2,
      verbose: 0,
      validationData: loaderDataset(tf, validation, (b) => ({ xs: b.x, ys: b.y })),
      callbacks: { onEpochEnd: async (epoch) => void epochs.push(epoch) },
    });
    expect(epochs).toEqual([0, 1]);
    expect(seen.length).toBe(12);
    expect([seen.slice(0, 6).flat(), seen.slice(6).flat()]).toEqual(expected.slice(0, 2));
    const loss = history.history.loss as number[];
    const valLoss = history.history.val_loss as number[];
    expect(loss).toHaveLength(2);
    expect(valLoss).toHaveLength(2);
    expect(loss[1]).toBeLessThan((loss[0] as number) * 0.8);
    expect(valLoss[1]).toBeLessThan(valLoss[0] as number);

    // A further epoch (the loader's third) leaves as many tensors as it found: the optimizer and the
    // weights exist already, and every batch, element and intermediate was freed.
    const before = tfc.memory().numTensors;
    seen.length = 0;
    await model.fitDataset(ds, { epochs: 1, verbose: 0 });
    expect(seen.flat()).toEqual(expected[2]);
    expect(tfc.memory().numTensors).toBe(before);
    model.dispose();
  });

  it("trains on an InterleavedLoader's training epochs, its evaluation passes handed to onCallback", async () => {
    const train = await fromModule<typeof linear>(fixture, 'linear', { n: 64 });
    const test = await fromModule<typeof linear>(fixture, 'linear', { n: 20 });
    const sampler = new InterleavedSampler({
      trainSampler: new RandomSampler(train, { seed: 2 }),
      config: { batchSize: 16, maxEpochs: 2 },
      callbackSamplers: [
        { sampler: new SequentialSampler(test), everyNEpochs: 1, name: 'test', batchSize: 8 },
      ],
    });
    const expected: number[][] = [[], []];
    for (const b of sampler.batchSampler) if (b.source === 'train') expected[b.epoch]?.push(...b.indices);
    await using loader = sampler.getDataLoader({ numWorkers: 2 });
    const model = linearModel();
    const seen: number[][] = [[], []];
    const evaluations: string[] = [];
    let squaredError = 0;
    const ds = interleavedDataset(
      tf,
      loader,
      (b, batch) => {
        seen[batch.epoch]?.push(...b.index.dataSync());
        return { xs: b.x, ys: b.y };
      },
      {
        onCallback: (batch) => {
          const x = tfc.tensor(batch.data.x.data, batch.data.x.shape);
          const y = tfc.tensor(batch.data.y.data, batch.data.y.shape);
          const err = tfc.tidy(() => tfc.sum(tfc.square(tfc.sub(model.predict(x) as tfc.Tensor, y))));
          squaredError += err.dataSync()[0] as number;
          tfc.dispose([x, y, err]);
          if (batch.last) {
            evaluations.push(`${batch.name} ${batch.pass}: ${(squaredError / 20).toFixed(4)}`);
            squaredError = 0;
          }
        },
      },
    );
    const history = await model.fitDataset(ds, { epochs: loader.plan.epochs, verbose: 0 });
    expect(seen).toEqual(expected);
    expect(evaluations).toHaveLength(2);
    expect(evaluations.map((e) => e.split(':')[0])).toEqual(['test 1', 'test 2']);
    const mse = evaluations.map((e) => Number(e.split(': ')[1]));
    expect(mse[1]).toBeLessThan(mse[0] as number);
    const loss = history.history.loss as number[];
    expect(loss[1]).toBeLessThan(loss[0] as number);
    model.dispose();
  });
});

describe('the README example', () => {
  it("is the README's TensorFlow.js example, verbatim", () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## TensorFlow.js'));
    expect(section).toContain(`\`\`\`js\n${readFileSync(example, 'utf8')}\`\`\`\n`);
  });

  it('runs (examples/tfjs-fit.mjs, against the built package)', async () => {
    const child = spawn(process.execPath, [example], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
    });
    const code = await new Promise((resolve) => child.on('close', resolve));
    // tfjs's own banner (install tfjs-node for speed) is the only thing allowed on stderr.
    const banner = /\n?=+\nHi, looks like you are running TensorFlow\.js in Node\.js\.[^\n]*\n=+\n/;
    expect({ code, stderr: stderr.replace(banner, '') }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toMatch(/^epoch 1: loss \d\.\d{3}, test accuracy \d\.\d{3}\n/);
    const lines = stdout.trim().split('\n');
    const accuracy = Number(lines.at(-1)?.match(/test accuracy (\S+)/)?.[1]);
    expect(accuracy).toBeGreaterThan(0.9);
  });
});
