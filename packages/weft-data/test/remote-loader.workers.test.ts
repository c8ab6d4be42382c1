// Remote datasets in a DataLoader: every format from HTTP and S3 gives the batches of the local file with 0
// and 2 workers; the workers reopen the object from its state and share the node-wide cache (and the blocks
// the main thread prefetches from the known order) without downloading a block twice.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BinaryDataset,
  DataLoader,
  type Dataset,
  InterleavedSampler,
  RandomSampler,
  type ResumeState,
  WorkerError,
} from '../src/index.ts';
import { tempFiles } from './fixtures/files.ts';
import {
  FORMATS,
  type Format,
  openFormat,
  plain,
  serveFormats,
  writeFormats,
} from './fixtures/remote-data.ts';
import { type HttpObjectServer, startHttpServer } from './servers/http.ts';
import type { S3TestServer } from './servers/s3.ts';

const N = 37;
const data = writeFormats(N);
const cache = tempFiles('remote-loader');
let http: HttpObjectServer;
let s3: S3TestServer;
const loaders: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  ({ http, s3 } = await serveFormats(data));
});
afterAll(async () => {
  await Promise.all(loaders.map((l) => l.close()));
  await http?.close();
  await s3?.close();
});

async function batchesOf(dataset: Dataset<unknown>, numWorkers: number): Promise<unknown[]> {
  const loader = new DataLoader({ dataset, batchSize: 4, shuffle: true, seed: 5, numWorkers });
  loaders.push(loader);
  const out: unknown[] = [];
  for await (const batch of loader) out.push(plain(batch));
  return out;
}

describe.each(FORMATS)('%s', (name: Format) => {
  it('gives the batches of the local file from HTTP and S3, with 0 and 2 workers', async () => {
    const expected = await batchesOf(await openFormat(name, data.path(name), {}), 0);
    expect(expected.length).toBe(10);
    for (const [kind, url, extra] of [
      ['http', http.url(name), {}],
      ['s3', s3.url(name), { endpoint: s3.endpoint }],
    ] as const) {
      for (const numWorkers of [0, 2]) {
        const options = { cacheDir: cache.path(`${kind}-${numWorkers}-${name}`), blockBytes: 256, ...extra };
        const dataset = await openFormat(name, url, options);
        expect(await batchesOf(dataset, numWorkers), `${kind}, ${numWorkers} workers`).toEqual(expected);
      }
    }
  });
});

describe('prefetch with workers', () => {
  it("is called on the main thread with every batch's indices, in the loader's order", async () => {
    const dataset = (await openFormat('rows.u32', http.url('rows.u32'), {
      cacheDir: cache.path('spy'),
    })) as Dataset<unknown> & { prefetch(indices: Uint32Array): void };
    const calls: number[][] = [];
    const prefetch = dataset.prefetch.bind(dataset);
    dataset.prefetch = (indices) => {
      calls.push(Array.from(indices));
      prefetch(indices);
    };
    const loader = new DataLoader({ dataset, batchSize: 4, shuffle: true, seed: 5, numWorkers: 2 });
    loaders.push(loader);
    const order: number[] = [];
    for await (const batch of loader)
      order.push(
        ...Array.from(
          (batch as { data: Uint32Array }).data.filter((_, k) => k % 5 === 0),
          (v) => v / 15,
        ),
      );
    expect(calls.flat()).toEqual(order);
  });
});

describe('the cache shared by the workers and the main thread', () => {
  it('downloads each block once, however many threads read and prefetch it', async () => {
    http.requests.length = 0;
    const options = { cacheDir: cache.path('once'), blockBytes: 128 };
    const dataset = await openFormat('rows.u32', http.url('rows.u32'), options);
    await batchesOf(dataset, 2);
    const ranges = http.requests.filter((r) => r.method === 'GET').map((r) => r.range);
    expect(ranges.length).toBe(Math.ceil(data.bytes('rows.u32').length / 128));
    expect(new Set(ranges).size).toBe(ranges.length);
  });
});

describe('a server that goes away, with workers', () => {
  it('fails the loop with the RemoteError of a worker, and a resume continues exactly once it is back', async () => {
    const tokens = new Uint8Array(Uint16Array.from({ length: 600 }, (_, i) => i).buffer);
    const server = await startHttpServer({}, { 'tokens.u16': tokens });
    const port = server.port;
    const dataset = await BinaryDataset.open(server.url('tokens.u16'), {
      dtype: 'uint16',
      sequenceLength: 10,
      cacheDir: cache.path('gone'),
      blockBytes: 64,
      // Below the object's 1,200 bytes, so blocks are evicted; room for the blocks that two workers and the
      // main thread's prefetch hold at once, however the busy machine interleaves them.
      cacheBytes: 1024,
      retries: 1,
      timeoutMs: 2000,
    });
    const sampler = new InterleavedSampler({
      trainSampler: new RandomSampler(dataset, { seed: 2 }),
      config: { batchSize: 6, maxEpochs: 2 },
    });
    const reference: unknown[] = [];
    for await (const b of sampler.getDataLoader({ seed: 1 })) reference.push(plain(b));
    expect(reference.length).toBe(20);

    const loader = sampler.getDataLoader({ seed: 1, numWorkers: 2 });
    const got: unknown[] = [];
    let state: ResumeState | undefined;
    const failure = await (async () => {
      for await (const b of loader) {
        got.push(plain(b));
        state = loader.state();
        if (got.length === 3) await server.close();
      }
    })().catch((e) => e);
    await loader.close();
    expect(failure).toBeInstanceOf(WorkerError);
    expect((failure as WorkerError).cause).toMatchObject({ name: 'RemoteError' });
    expect((failure as { cause: Error }).cause.message).toMatch(/ECONNREFUSED.*after 2 attempts$/);
    expect(got).toEqual(reference.slice(0, got.length));

    const back = await startHttpServer({ port }, { 'tokens.u16': tokens });
    const resumed = sampler.getDataLoader({ seed: 1, numWorkers: 2, resume: state });
    try {
      for await (const b of resumed) got.push(plain(b));
      expect(got).toEqual(reference);
    } finally {
      await resumed.close();
      await back.close();
    }
  });
});
