// The README's quick start, kept runnable: `npm run example`.
import { ArrayDataset, InterleavedSampler, RandomSampler, SequentialSampler } from 'weft-data';

const train = new ArrayDataset(Array.from({ length: 100 }, (_, i) => ({ x: i, y: i % 2 })));
const test = new ArrayDataset(Array.from({ length: 10 }, (_, i) => ({ x: -i, y: i % 2 })));

const sampler = new InterleavedSampler({
  trainSampler: new RandomSampler(train, { seed: 42 }),
  config: { batchSize: 16, maxEpochs: 2 },
  callbackSamplers: [{ sampler: new SequentialSampler(test), everyNEpochs: 1, name: 'test' }],
});

console.log(sampler.plan().updates); // 12 updates: 6 per epoch (dropLast), and 2 test passes
for (const batch of sampler.batchSampler) {
  if (batch.source === 'train') console.log('train', batch.position, batch.indices.length);
  else console.log(batch.name, 'pass', batch.pass, 'batch', batch.batch, batch.last ? '(last)' : '');
}
