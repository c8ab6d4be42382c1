// A complete data-parallel program: linear regression (y = 3x + 1) trained with SGD on every rank, the
// gradients summed over the ranks after every update, the test set evaluated in shards after every epoch
// and the per-item errors gathered in dataset order. weft does not communicate between processes, so this
// program all-gathers through files in a shared directory; a real one would use its framework's collectives.
//
//   npm run build -w weft-data
//   mpirun -n 4 node packages/weft-data/examples/distributed.mjs --out /tmp/ddp
//   (as root: mpirun --allow-run-as-root --oversubscribe -n 4 …; also under torchrun or srun)
//
// It is the README's distributed example and what test/distributed-mpirun.workers.test.ts runs under a real
// mpirun. Each rank writes what it saw to OUT/report.rank<r>.json for that test.
import { existsSync, mkdirSync, readFileSync, renameSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  ArrayDataset,
  distributedEnv,
  distributedSamplers,
  gatherInOrder,
  InterleavedSampler,
  rankBatchSize,
} from 'weft-data';

const { values: args } = parseArgs({
  options: {
    out: { type: 'string', default: 'ddp-out' },
    train: { type: 'string', default: '96' },
    test: { type: 'string', default: '17' },
    epochs: { type: 'string', default: '3' },
    'global-batch': { type: 'string', default: '12' },
    workers: { type: 'string', default: '1' },
  },
});
const out = args.out;
mkdirSync(out, { recursive: true });

// Where this process stands: under mpirun the OMPI_COMM_WORLD_* variables (an sbatch environment around it
// is ignored), under torchrun RANK/WORLD_SIZE, under srun SLURM_PROCID/SLURM_NTASKS.
const env = distributedEnv();
const { rank, worldSize } = env;
const log = (...line) => console.log(`[rank ${rank}/${worldSize}]`, ...line);

// The same full datasets on every rank; each rank loads only its shard of them.
const point = (x) => ({ x, y: 3 * x + 1 });
const train = new ArrayDataset(Array.from({ length: Number(args.train) }, (_, i) => point((i % 10) / 10)));
const test = new ArrayDataset(
  Array.from({ length: Number(args.test) }, (_, i) => point(i / Number(args.test))),
);

const { trainSampler, callbackSamplers } = distributedSamplers({
  train,
  env,
  seed: 1, // the same on every rank: one shuffle, split in disjoint shards
  callbacks: [{ dataset: test, everyNEpochs: 1, name: 'test', batchSize: 4 }],
});
const sampler = new InterleavedSampler({
  trainSampler,
  callbackSamplers,
  // The global batch stays fixed whatever the number of ranks, so a checkpoint resumes on any of them.
  config: {
    batchSize: rankBatchSize(Number(args['global-batch']), worldSize),
    maxEpochs: Number(args.epochs),
  },
});

// Every rank computes the same plan: updates, passes, and batches per pass.
if (rank === 0) log(`plan: ${sampler.plan().updates} updates, global batch ${sampler.batchSize * worldSize}`);

/**
 * All-gather through files: each rank writes its value under `key`, then waits until every rank's is there.
 * It never hangs silently: after `timeoutMs` it throws naming the ranks that did not arrive.
 */
async function allGather(key, value, timeoutMs = 60_000) {
  const file = (r) => join(out, `${key}.rank${r}.json`);
  writeFileSync(`${file(rank)}.tmp`, JSON.stringify(value));
  renameSync(`${file(rank)}.tmp`, file(rank)); // atomic: readers never see half a file
  const missing = () => Array.from({ length: worldSize }, (_, r) => r).filter((r) => !existsSync(file(r)));
  if (missing().length > 0) {
    await new Promise((resolve, reject) => {
      const watcher = watch(out, () => {
        if (missing().length === 0) done(resolve);
      });
      const poll = setInterval(() => missing().length === 0 && done(resolve), 250); // shared disks: no inotify
      const timer = setTimeout(
        () => done(() => reject(new Error(`all-gather ${key}: ranks ${missing()} never arrived`))),
        timeoutMs,
      );
      function done(settle) {
        watcher.close();
        clearInterval(poll);
        clearTimeout(timer);
        settle();
      }
      if (missing().length === 0) done(resolve);
    });
  }
  return Array.from({ length: worldSize }, (_, r) => JSON.parse(readFileSync(file(r), 'utf8')));
}
const allReduceSum = async (key, numbers) =>
  (await allGather(key, numbers)).reduce(
    (acc, part) => acc.map((a, i) => a + part[i]),
    numbers.map(() => 0),
  );

let w = 0;
let b = 0;
const lr = 0.5;
const report = { env, train: [], schedule: [], passes: {} };
let pass = { indices: [], values: [] };

const loader = sampler.getDataLoader({ numWorkers: Number(args.workers), seed: 1 });
try {
  for await (const batch of loader) {
    if (batch.source === 'train') {
      // This rank's gradient sums; all-reduced, every rank applies the same step (data parallelism).
      const { x, y } = batch.data;
      let gw = 0;
      let gb = 0;
      for (let i = 0; i < x.length; i++) {
        const err = w * x[i] + b - y[i];
        gw += err * x[i];
        gb += err;
      }
      const [sw, sb, n] = await allReduceSum(`update-${batch.position.update}`, [gw, gb, x.length]);
      w -= (lr * sw) / n;
      b -= (lr * sb) / n;
      report.train[batch.epoch] = [...(report.train[batch.epoch] ?? []), ...batch.indices];
      // position.sample counts all ranks: after update k it is k × the global batch.
      report.schedule.push(
        `update ${batch.position.update} sample ${batch.position.sample} then [${batch.passesAfter}]`,
      );
      continue;
    }
    // An evaluation batch: the first `batch.real` items are this rank's; the rest is padding (a rank with
    // fewer test items, or none, still runs every batch of the pass, so collectives inside it line up).
    const offset = sampler.indexOffsets[batch.callback];
    const { x, y } = batch.data;
    let sse = 0;
    for (let i = 0; i < batch.real; i++) {
      const err = w * x[i] + b - y[i];
      sse += err * err;
      pass.indices.push(batch.indices[i] - offset);
      pass.values.push(err * err);
    }
    const key = `${batch.name}-${batch.pass}`;
    const [sum, count] = await allReduceSum(`${key}-batch-${batch.batch}`, [sse, batch.real]); // per-batch collective
    const tally = report.passes[key] ?? { batches: 0, real: 0, globalReal: 0 };
    report.passes[key] = tally;
    tally.batches++;
    tally.real += batch.real;
    tally.globalReal += count;
    if (batch.last) {
      // Every rank reaches this after the same update: gather the per-item errors, in dataset order.
      const parts = await allGather(`${key}-gather`, pass);
      const errors = gatherInOrder(parts, test.length); // throws if an item is missing or counted twice
      const mse = errors.reduce((s, e) => s + e, 0) / errors.length;
      report.schedule.push(`${key} after update ${batch.afterUpdate}: ${tally.batches} batches`);
      if (rank === 0) {
        log(`${key} after update ${batch.afterUpdate}: mse ${mse.toFixed(4)} over ${errors.length} items`);
        writeFileSync(join(out, `${key}.gathered.json`), JSON.stringify({ mse, sum, items: errors.length }));
        // Checkpoint from rank 0: the loader state is the same on every rank.
        writeFileSync(join(out, 'checkpoint.json'), JSON.stringify({ w, b, state: loader.state() }));
      }
      pass = { indices: [], values: [] };
    }
  }
} finally {
  await loader.close(); // Node 20 has no `await using`
}
writeFileSync(join(out, `report.rank${rank}.json`), JSON.stringify({ ...report, w, b }));
if (rank === 0) log(`done: w ${w.toFixed(3)}, b ${b.toFixed(3)} (target 3, 1)`);
