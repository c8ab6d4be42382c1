// Every file format read from a path, an HTTP URL and an S3-compatible server gives the same items, through
// the node-wide cache (small blocks, so records span blocks); a second open reads the saved index and the
// cached blocks without a request.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JsonlDataset } from '../src/index.ts';
import { tempFiles } from './fixtures/files.ts';
import { FORMATS, itemsOf, openFormat, serveFormats, writeFormats } from './fixtures/remote-data.ts';
import type { HttpObjectServer } from './servers/http.ts';
import type { S3TestServer } from './servers/s3.ts';

const N = 37;
const data = writeFormats(N);
const cache = tempFiles('remote-cache');
let http: HttpObjectServer;
let s3: S3TestServer;

beforeAll(async () => {
  ({ http, s3 } = await serveFormats(data));
});
afterAll(async () => {
  await http?.close();
  await s3?.close();
});

describe.each(FORMATS)('%s', (name) => {
  it('reads the same items from a path, an HTTP URL and S3', async () => {
    const local = await itemsOf(await openFormat(name, data.path(name), {}));
    expect(local.length).toBe(N);
    const options = { cacheDir: cache.path(`c-${name}`), blockBytes: 200, cacheBytes: 1 << 20 };
    const fromHttp = await itemsOf(await openFormat(name, http.url(name), options));
    expect(fromHttp).toEqual(local);
    const fromS3 = await itemsOf(await openFormat(name, s3.url(name), { ...options, endpoint: s3.endpoint }));
    expect(fromS3).toEqual(local);
  });

  it('opens again from the cache alone: the index and every block are saved', async () => {
    const options = { cacheDir: cache.path(`again-${name}`), blockBytes: 200, cacheBytes: 1 << 20 };
    const first = await itemsOf(await openFormat(name, http.url(name), options));
    const before = http.requests.filter((r) => r.method === 'GET').length;
    const second = await openFormat(name, http.url(name), options);
    expect(await itemsOf(second)).toEqual(first);
    // Only the HEAD of the second open: no block is read again.
    expect(http.requests.filter((r) => r.method === 'GET').length).toBe(before);
  });
});

describe('S3 faults', () => {
  it('names a missing key, and detects an object replaced since open', async () => {
    const options = {
      cacheDir: cache.path('s3-faults'),
      blockBytes: 64,
      cacheBytes: 64,
      endpoint: s3.endpoint,
    };
    const missing = s3.url('missing.jsonl');
    await expect(JsonlDataset.open(missing, options)).rejects.toThrow(
      `cannot read ${missing} (its size): HTTP 404 Not Found (NotFound), after 1 attempt`,
    );
    const url = s3.url('changing.jsonl');
    const lines = Array.from({ length: 20 }, (_, i) => JSON.stringify({ i })).join('\n');
    await s3.put('changing.jsonl', lines);
    // A budget of one block: reading line 1 evicts the block of line 20, which must be downloaded again.
    const ds = await JsonlDataset.open(url, options);
    expect(await ds.get(0)).toEqual({ i: 0 });
    await s3.put('changing.jsonl', lines.replace('{"i":19}', '{"i":91}'));
    await expect(Promise.resolve(ds.get(19))).rejects.toThrow(
      new RegExp(
        `^${url} changed after the dataset was opened \\(ETag "\\w+" → "\\w+"\\); open the dataset again$`,
      ),
    );
  });
});
