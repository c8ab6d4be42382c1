// A complete data-parallel program: linear regression (y = 3x + 1) trained with SGD on every rank, the
// gradients summed over the ranks after every update, the test set evaluated in shards after every epoch
// and the per-item errors gathered in dataset order. weft does not communicate between processes, so this
// program all-gathers through files in a shared directory, in a folder of its own run (the launcher's job
// id), so that an earlier run's files in the same OUT are never read; a real program would use its
// framework's collectives.
//
//   npm run build -w weft-data
//   mpirun -n 4 node packages/weft-data/examples/distributed.mjs --out /tmp/ddp
//   (as root: mpirun --allow-run-as-root --oversubscribe -n 4 …; also under torchrun --standalone or srun)
//
// It is the README's distributed example and what test/distributed.workers.test.ts runs under a real
// mpirun. Each rank writes what it saw to OUT/report.rank<r>.json for that test.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, watch, writeFileSync } from 'node:fs';
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
    'run-id': { type: 'string' }, // where the launcher gives none: the same new value on every rank
  },
});
const out = args.out;
mkdirSync(out, { recursive: true });

// Where this process stands: under mpirun the OMPI_COMM_WORLD_* variables (an sbatch environment around it
// is ignored), under torchrun RANK/WORLD_SIZE, under srun SLURM_PROCID/SLURM_NTASKS.
const env = distributedEnv();
const { rank, worldSize } = env;
const log = (...line) => console.log(`[rank ${rank}/${worldSize}]`, ...line);
const ranks = Array.from({ length: worldSize }, (_, r) => r);

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

// This run's key, the same on every rank and new for every launch: the launcher's job id (torchrun's run id
// and restart, Open MPI's or PMIx's namespace, Slurm's job step), or --run-id.
const vars = process.env;
const runId =
  args['run-id'] ??
  (vars.TORCHELASTIC_RUN_ID && vars.TORCHELASTIC_RUN_ID !== 'none'
    ? `${vars.TORCHELASTIC_RUN_ID}-${vars.TORCHELASTIC_RESTART_COUNT ?? 0}`
    : undefined) ??
  vars.PMIX_NAMESPACE ??
  vars.OMPI_MCA_ess_base_jobid ??
  (vars.SLURM_JOB_ID && vars.SLURM_STEP_ID ? `${vars.SLURM_JOB_ID}.${vars.SLURM_STEP_ID}` : undefined) ??
  (worldSize === 1 ? `pid${process.pid}` : undefined);
if (runId === undefined) {
  throw new Error(
    'the launcher gives no job id to tell this run from earlier ones: pass every rank the same new --run-id',
  );
}
const runDir = join(out, `gather-${runId.replace(/[^\w.-]/g, '_')}`);
if (rank === 0) {
  try {
    mkdirSync(runDir); // not recursive: fails if the folder is there
  } catch (error) {
    if (error.code !== 'EEXIST') throw error;
    throw new Error(
      `${runDir} is left from an earlier run with the same run id (it stopped before the end, or --run-id was reused): delete it, or pass a new --run-id`,
    );
  }
}

/**
 * Waits until `ready()` holds, watching the folder `dir` (and polling: shared disks may not notify). It never
 * hangs silently: after `timeoutMs` it throws `what()`, which names what is missing.
 */
function waitUntil(dir, ready, what, timeoutMs = 60_000) {
  if (ready()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const check = () => ready() && done(resolve);
    const watcher = watch(dir, check);
    const poll = setInterval(check, 250);
    const timer = setTimeout(() => done(() => reject(new Error(what()))), timeoutMs);
    function done(settle) {
      watcher.close();
      clearInterval(poll);
      clearTimeout(timer);
      settle();
    }
    check();
  });
}

/** All-gather through files: each rank writes its value under `key`, then waits for every rank's. */
async function allGather(key, value) {
  const file = (r) => join(runDir, `${key}.rank${r}.json`);
  const missing = () => ranks.filter((r) => !existsSync(file(r)));
  await waitUntil(
    out,
    () => existsSync(runDir),
    () => `rank 0 never created ${runDir}`,
  );
  writeFileSync(`${file(rank)}.tmp`, JSON.stringify(value));
  renameSync(`${file(rank)}.tmp`, file(rank)); // atomic: readers never see half a file
  await waitUntil(
    runDir,
    () => missing().length === 0,
    () => `all-gather ${key}: ranks ${missing()} never arrived`,
  );
  return ranks.map((r) => JSON.parse(readFileSync(file(r), 'utf8')));
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
        const gathered = { mse, sum, items: errors.length, ranks: parts.length };
        writeFileSync(join(out, `${key}.gathered.json`), JSON.stringify(gathered));
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
// The run's files are of no use after it: each rank says it is done with them, and rank 0 removes them.
writeFileSync(join(runDir, `left.rank${rank}`), '');
if (rank === 0) {
  const left = () => ranks.filter((r) => !existsSync(join(runDir, `left.rank${r}`)));
  await waitUntil(
    runDir,
    () => left().length === 0,
    () => `ranks ${left()} never finished`,
  );
  rmSync(runDir, { recursive: true });
  log(`done: w ${w.toFixed(3)}, b ${b.toFixed(3)} (target 3, 1)`);
}
