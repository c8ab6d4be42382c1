// The shard formats read remotely: the three MDS datasets of Mosaic's MDSWriter (zstd included) and tar
// shards written by GNU tar, served over HTTP and by an S3-compatible server, decode to the values read from
// the path and give the local batches with 0 and 2 workers; an MDS shard is downloaded once, whole, however
// many threads read it; `prefetch` starts a shard's download before any read asks for it.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlockShuffleSampler, DataLoader, MdsDataset, type RemoteOptions, WebDataset } from '../src/index.ts';
import { tempFiles } from './fixtures/files.ts';
import { itemsOf, plain } from './fixtures/remote-data.ts';
import { npy, tarOf } from './fixtures/shards.ts';
import { type HttpObjectServer, type SeenRequest, startHttpServer } from './servers/http.ts';
import { type S3TestServer, startS3Server } from './servers/s3.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const FIXTURES =
  ['../shared/fixtures/mds', '../../shared/fixtures/mds'].map((p) => resolve(ROOT, p)).find(existsSync) ?? '';
const MDS = ['scalars', 'arrays', 'images'] as const;
const files = tempFiles('remote-shards');
const cache = tempFiles('remote-shards-cache');

// Six tar shards of ten samples, each with a class, an array and 3 KiB of bytes (several 1 KiB blocks).
const TARS = 6;
const tars = Array.from({ length: TARS }, (_, s) =>
  tarOf(
    files.path(`wds-${s}.tar`),
    Array.from({ length: 10 }, (_, k) => s * 10 + k).flatMap((i): [string, Uint8Array | string][] => [
      [`k${String(i).padStart(3, '0')}.cls`, `${i}`],
      [
        `k${String(i).padStart(3, '0')}.npy`,
        npy('<i4', [3], new Uint8Array(Int32Array.of(i, -i, 2 * i).buffer)),
      ],
      [`k${String(i).padStart(3, '0')}.bin`, new Uint8Array(3072).fill(i)],
    ]),
  ),
);

let http: HttpObjectServer;
let s3: S3TestServer;
const loaders: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  http = await startHttpServer();
  s3 = await startS3Server();
  const put = async (name: string, bytes: Uint8Array) => {
    http.put(name, bytes);
    await s3.put(name, bytes);
  };
  if (FIXTURES !== '') {
    for (const name of MDS) {
      for (const file of readdirSync(join(FIXTURES, name)))
        await put(`mds/${name}/${file}`, readFileSync(join(FIXTURES, name, file)));
    }
  }
  for (const [s, tar] of tars.entries()) await put(`wds-${s}.tar`, readFileSync(tar));
});
afterAll(async () => {
  await Promise.all(loaders.map((l) => l.close()));
  await http?.close();
  await s3?.close();
});

/** Where a dataset is: its path, its HTTP URL and its S3 URL, with the options each needs. */
function places(local: string, name: string, tag: string): [string, string, RemoteOptions][] {
  return [
    ['path', local, {}],
    ['http', http.url(name), { cacheDir: cache.path(`${tag}-http`) }],
    ['s3', s3.url(name), { cacheDir: cache.path(`${tag}-s3`), endpoint: s3.endpoint }],
  ];
}

async function batchesOf(dataset: MdsDataset | WebDataset, numWorkers: number): Promise<unknown[]> {
  const sampler = new BlockShuffleSampler(dataset, { seed: 11, window: 2 });
  const loader = new DataLoader({ dataset, sampler, batchSize: 7, numWorkers });
  loaders.push(loader);
  const out: unknown[] = [];
  for await (const batch of loader) out.push(plain(batch));
  return out;
}

const gets = (path: string): SeenRequest[] =>
  http.requests.filter((r) => r.method === 'GET' && r.path === path);

describe.runIf(FIXTURES !== '').each(MDS)('MDS fixture %s', (name) => {
  it('decodes to the values read from the path, over HTTP and from S3', async () => {
    const [[, local], ...remote] = places(join(FIXTURES, name), `mds/${name}`, `items-${name}`) as [
      [string, string, RemoteOptions],
      ...[string, string, RemoteOptions][],
    ];
    const expected = await itemsOf(await MdsDataset.open(local));
    expect(expected.length).toBeGreaterThan(0);
    for (const [kind, url, options] of remote)
      expect(await itemsOf(await MdsDataset.open(url, options)), kind).toEqual(expected);
  });
});

describe('batches with 0 and 2 workers, as from the path', () => {
  const kinds: [string, string, string, (l: string, o: RemoteOptions) => Promise<MdsDataset | WebDataset>][] =
    [
      [
        'webdataset',
        files.path('wds-{0..5}.tar'),
        'wds-{0..5}.tar',
        (l, o) => WebDataset.open(l, { ...o, columns: ['cls', 'npy'], cacheBlocks: 2 }),
      ],
    ];
  if (FIXTURES !== '') {
    kinds.push(
      [
        'mds scalars',
        join(FIXTURES, 'scalars'),
        'mds/scalars',
        (l, o) => MdsDataset.open(l, { ...o, cacheBlocks: 2 }),
      ],
      [
        'mds arrays (zstd)',
        join(FIXTURES, 'arrays'),
        'mds/arrays',
        (l, o) => MdsDataset.open(l, { ...o, columns: ['feat'], cacheBlocks: 2 }),
      ],
    );
  }
  it.each(kinds)('%s', async (kind, local, name, open) => {
    const expected = await batchesOf(await open(local, {}), 0);
    expect(expected.length).toBeGreaterThan(5);
    for (const [where, location, options] of places(local, name, `loader-${kind}`).slice(1)) {
      for (const numWorkers of [0, 2]) {
        const dataset = await open(location, { ...options, cacheDir: `${options.cacheDir}-${numWorkers}` });
        expect(await batchesOf(dataset, numWorkers), `${where}, ${numWorkers} workers`).toEqual(expected);
      }
    }
  });
});

describe.runIf(FIXTURES !== '')('MDS over HTTP with workers', () => {
  it('downloads each shard once, whole, however many threads read and prefetch it', async () => {
    http.requests.length = 0;
    const ds = await MdsDataset.open(http.url('mds/images'), { cacheDir: cache.path('once') });
    await batchesOf(ds, 2);
    const shards = readdirSync(join(FIXTURES, 'images')).filter((f) => f.endsWith('.mds'));
    expect(shards.length).toBe(8);
    for (const shard of shards) {
      const size = readFileSync(join(FIXTURES, 'images', shard)).length;
      expect(gets(`mds/images/${shard}`).map((r) => r.range)).toEqual([`bytes=0-${size - 1}`]);
    }
  });
});

describe('prefetch', () => {
  const cases: [string, () => Promise<MdsDataset | WebDataset>, (block: number) => string][] = [
    [
      'WebDataset',
      // Blocks of 1 KiB: the header pass reads the blocks of the headers, not those of every member.
      () =>
        WebDataset.open(http.url('wds-{0..5}.tar'), { cacheDir: cache.path('pre-wds'), blockBytes: 1024 }),
      (block) => `wds-${block}.tar`,
    ],
  ];
  if (FIXTURES !== '') {
    cases.push([
      'MdsDataset',
      () => MdsDataset.open(http.url('mds/scalars'), { cacheDir: cache.path('pre-mds') }),
      (block) => `mds/scalars/shard.0000${block}.mds`,
    ]);
  }
  it.each(cases)(
    "%s starts downloading a shard's blocks before any read, and reads reuse them",
    async (_, open, object) => {
      const ds = await open();
      const block = 3;
      const first = ds.blockOffsets[block] as number;
      const end = ds.blockOffsets[block + 1] as number;
      const before = gets(object(block)).length;
      const seen = new Promise<void>((resolve) => {
        const on = (r: SeenRequest) => {
          if (r.method === 'GET' && r.path === object(block)) {
            http.events.off('request', on);
            resolve();
          }
        };
        http.events.on('request', on);
      });
      ds.prefetch(Uint32Array.of(first, end - 1));
      await seen;
      await Promise.all(Array.from({ length: end - first }, (_, k) => ds.get(first + k)));
      const ranges = gets(object(block))
        .slice(before)
        .map((r) => r.range);
      expect(ranges.length).toBeGreaterThan(0);
      expect(new Set(ranges).size).toBe(ranges.length);
    },
  );
});

describe.runIf(FIXTURES !== '')('downloads ahead within the budget', () => {
  it('asks for more only while half the budget is free, and an epoch under a small budget gives the local batches', async () => {
    // A budget of 20,000 bytes: its half holds one shard of scalars (about 8,160 bytes), not two.
    const tight = { cacheDir: cache.path('tight'), cacheBytes: 20_000, blockBytes: 16_384 };
    const ds = await MdsDataset.open(http.url('mds/scalars'), tight);
    expect(ds.prefetch(Uint32Array.of(0))).toBe(true);
    expect(ds.prefetch(Uint32Array.of(1, 184))).toBe(false);
    const local = await MdsDataset.open(join(FIXTURES, 'scalars'));
    expect(local.prefetch(Uint32Array.of(0))).toBe(false);
    const expected = await batchesOf(local, 0);
    // Below the data's 47,000 bytes: shards are evicted and downloaded again, ahead of two workers.
    const options = { cacheDir: cache.path('small'), cacheBytes: 40_000, blockBytes: 16_384 };
    const small = await MdsDataset.open(http.url('mds/scalars'), { ...options, cacheBlocks: 2 });
    expect(await batchesOf(small, 2)).toEqual(expected);
    const entries = readdirSync(join(options.cacheDir, 'entries'));
    const bytes = entries.reduce((sum, e) => sum + statSync(join(options.cacheDir, 'entries', e)).size, 0);
    expect(bytes).toBeLessThanOrEqual(40_000);
  });
});
