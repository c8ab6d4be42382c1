// Faults of remote data: retries with backoff on 5xx, resets, cut bodies and timeouts, then a RemoteError
// naming the URL, the status and the attempts; an object changed since open; a server that goes away
// mid-run fails the loop within the timeout and a resume continues exactly once it is back; the cache stays
// within its budget; the engine tells a dataset the coming batches' indices.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_LOOKAHEAD_BATCHES } from '../src/engine/engine.ts';
import {
  ArrayDataset,
  BinaryDataset,
  ConcatDataset,
  ConfigError,
  DataLoader,
  type Dataset,
  FileError,
  InterleavedSampler,
  JsonlDataset,
  RandomSampler,
  RemoteError,
  type ResumeState,
  Subset,
} from '../src/index.ts';
import { tempFiles } from './fixtures/files.ts';
import { plain } from './fixtures/remote-data.ts';
import { type HttpObjectServer, startHttpServer } from './servers/http.ts';

const cache = tempFiles('remote-faults');
const lines = Array.from({ length: 20 }, (_, i) => JSON.stringify({ i })).join('\n');
const tokens = new Uint8Array(Uint16Array.from({ length: 600 }, (_, i) => i).buffer);
let http: HttpObjectServer;
let dirs = 0;
/** Options with a fresh cache, small blocks and quick retries. */
const fresh = (more: object = {}) => ({ cacheDir: cache.path(`c${dirs++}`), blockBytes: 64, ...more });

beforeAll(async () => {
  http = await startHttpServer({}, { 'a.jsonl': lines, 'tokens.u16': tokens });
});
afterAll(() => http?.close());

const item = (i: number) => Array.from({ length: 10 }, (_, k) => i * 10 + k);
const tokensAt = (url: string, options: object) =>
  BinaryDataset.open(url, { dtype: 'uint16', sequenceLength: 10, ...options });
const gets = () => http.requests.filter((r) => r.method === 'GET').length;

describe('retries', () => {
  it('retries 5xx, 429, resets, cut bodies and stalls, then reads right', async () => {
    const ds = await tokensAt(http.url('tokens.u16'), fresh({ retries: 4, timeoutMs: 2000 }));
    http.fault({ kind: 'status', status: 503 });
    http.fault({ kind: 'status', status: 429 });
    http.fault({ kind: 'reset' });
    http.fault({ kind: 'cut' });
    const before = gets();
    expect(Array.from(await ds.get(0))).toEqual(item(0));
    expect(gets() - before).toBe(5);
    http.fault({ kind: 'stall' });
    expect(Array.from(await ds.get(59))).toEqual(item(59));
  });

  it('ends in a RemoteError naming the URL, the range, the status and the attempts', async () => {
    const url = http.url('tokens.u16');
    const ds = await tokensAt(url, fresh({ retries: 2 }));
    http.fault({ kind: 'status', status: 503 }, 3);
    const e = (await Promise.resolve(ds.get(0)).catch((x) => x)) as RemoteError;
    expect(e).toBeInstanceOf(RemoteError);
    expect(e).toBeInstanceOf(FileError);
    expect(e.message).toBe(`cannot read ${url} (bytes 0–63): HTTP 503 Service Unavailable, after 3 attempts`);
    expect([e.name, e.url, e.file, e.status, e.attempts]).toEqual(['RemoteError', url, url, 503, 3]);
    // The failure is not cached: the next read succeeds.
    expect(Array.from(await ds.get(0))).toEqual(item(0));
  });

  it('does not retry a 404, and names a timeout and a reset', async () => {
    const missing = http.url('missing.jsonl');
    await expect(JsonlDataset.open(missing, fresh())).rejects.toThrow(
      new RemoteError(`cannot read ${missing} (its size): HTTP 404 Not Found, after 1 attempt`, {
        url: missing,
        status: 404,
        attempts: 1,
      }),
    );
    const url = http.url('a.jsonl');
    http.fault({ kind: 'stall' }, 2, ['HEAD']);
    await expect(JsonlDataset.open(url, fresh({ retries: 1, timeoutMs: 300 }))).rejects.toThrow(
      `cannot read ${url} (its size): no answer within 300 ms, after 2 attempts`,
    );
    http.fault({ kind: 'reset' }, 1, ['HEAD']);
    const e = (await JsonlDataset.open(url, fresh({ retries: 0 })).catch((x) => x)) as RemoteError;
    expect(e.message).toBe(
      `cannot read ${url} (its size): UND_ERR_SOCKET (other side closed), after 1 attempt`,
    );
    expect(e.status).toBeUndefined();
  });

  it('asks for the first byte when the server refuses HEAD', async () => {
    http.fault({ kind: 'status', status: 405 }, 1, ['HEAD']);
    const ds = await tokensAt(http.url('tokens.u16'), fresh());
    expect(ds.length).toBe(60);
    expect(Array.from(await ds.get(7))).toEqual(item(7));
  });

  it('checks the remote options with every problem at once', async () => {
    const e = await JsonlDataset.open(http.url('a.jsonl'), {
      retries: -1,
      timeoutMs: 0,
      cacheBytes: 10,
      blockBytes: 20,
      endpoint: 'ftp://x',
      cacheDir: '',
    }).catch((x) => x);
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).issues).toEqual([
      '`cacheDir` must be a directory path, got ""',
      '`retries` must be a non-negative integer, got -1',
      '`timeoutMs` must be a positive integer, got 0',
      '`endpoint` must be an http:// or https:// URL, got "ftp://x"',
      '`blockBytes` must not exceed `cacheBytes` (10), got 20',
    ]);
  });
});

describe('a changed object', () => {
  it('is a FileError naming the old and new ETag at the next download, never mixed data', async () => {
    const url = http.url('changing.jsonl');
    http.put('changing.jsonl', lines);
    const was = http.etag('changing.jsonl');
    // A budget of one block: opening streams every block, reading line 1 evicts the one of line 20.
    const ds = await JsonlDataset.open(url, fresh({ cacheBytes: 64 }));
    expect(await ds.get(0)).toEqual({ i: 0 });
    http.put('changing.jsonl', lines.replace('{"i":19}', '{"i":91}'));
    const now = http.etag('changing.jsonl');
    await expect(Promise.resolve(ds.get(19))).rejects.toThrow(
      new FileError(
        `${url} changed after the dataset was opened (ETag ${was} → ${now}); open the dataset again`,
        {
          file: url,
        },
      ),
    );
    // Opened again, the new content and a new index (keyed by the new ETag).
    expect(await (await JsonlDataset.open(url, fresh())).get(19)).toEqual({ i: 91 });
  });
});

describe('a server that goes away mid-run', () => {
  it('fails the loop within the timeout, and a resume continues exactly once it is back', async () => {
    const server = await startHttpServer({}, { 'tokens.u16': tokens });
    const port = server.port;
    const open = (location: string) =>
      BinaryDataset.open(location, {
        dtype: 'uint16',
        sequenceLength: 10,
        // A budget of four blocks, so that later batches need downloads.
        cacheDir: cache.path('gone'),
        blockBytes: 64,
        cacheBytes: 256,
        retries: 1,
        timeoutMs: 2000,
      });
    const sampler = (dataset: Dataset<unknown>) =>
      new InterleavedSampler({
        trainSampler: new RandomSampler(dataset, { seed: 2 }),
        config: { batchSize: 6, maxEpochs: 2 },
      });
    const reference: unknown[] = [];
    const whole = sampler(await open(server.url('tokens.u16'))).getDataLoader({ seed: 1 });
    for await (const b of whole) reference.push(plain(b));
    expect(reference.length).toBe(20);

    const run = sampler(await open(server.url('tokens.u16')));
    const loader = run.getDataLoader({ seed: 1 });
    const got: unknown[] = [];
    let state: ResumeState | undefined;
    const failure = await (async () => {
      for await (const b of loader) {
        got.push(plain(b));
        state = loader.state();
        if (got.length === 3) await server.close();
      }
    })().catch((e) => e);
    expect(failure).toBeInstanceOf(RemoteError);
    expect((failure as RemoteError).message).toMatch(/ECONNREFUSED.*after 2 attempts$/);
    expect(got).toEqual(reference.slice(0, got.length));

    const back = await startHttpServer({ port }, { 'tokens.u16': tokens });
    try {
      const resumed = run.getDataLoader({ seed: 1, resume: state });
      for await (const b of resumed) got.push(plain(b));
      expect(got).toEqual(reference);
    } finally {
      await back.close();
    }
  });
});

describe('the budget', () => {
  it('is never exceeded, however much is read', async () => {
    const cacheDir = cache.path('budget');
    const ds = await BinaryDataset.open(http.url('tokens.u16'), {
      dtype: 'uint16',
      sequenceLength: 30,
      cacheDir,
      blockBytes: 100,
      cacheBytes: 350,
    });
    const used = () =>
      readdirSync(join(cacheDir, 'entries')).reduce(
        (sum, f) => sum + statSync(join(cacheDir, 'entries', f)).size,
        0,
      );
    for (const i of [0, 19, 5, 12, 11, 18, 1, 3, 15, 7]) {
      expect(Array.from(await ds.get(i))).toEqual(Array.from({ length: 30 }, (_, k) => i * 30 + k));
      expect(used()).toBeLessThanOrEqual(350);
    }
    expect(used()).toBe(300);
  });
});

describe('prefetch from the known order', () => {
  it('gets the coming batches, in order, a bounded look-ahead before they load', async () => {
    const calls: number[][] = [];
    const dataset = {
      length: 100,
      get: (i: number) => i,
      prefetch: (indices: Uint32Array) => {
        calls.push(Array.from(indices));
      },
    };
    const loader = new DataLoader({ dataset, batchSize: 2 });
    let seen = 0;
    for await (const batch of loader) {
      seen++;
      // When batch k is yielded, the batches up to k + 16 have been announced, and no further.
      expect(calls.length).toBe(Math.min(50, seen + 16));
      expect(Array.from(batch as ArrayLike<number>)).toEqual(calls[seen - 1]);
    }
    expect(calls.flat()).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('lets I/O and timers in while an in-process loop runs on synchronous items', async () => {
    // Background downloads move only on turns of the event loop; items read synchronously (a warm cache)
    // would otherwise starve them for a whole epoch.
    const busy = {
      length: 40,
      get: (i: number) => {
        const until = performance.now() + 2;
        while (performance.now() < until);
        return i;
      },
    };
    let firedAt: number | undefined;
    let seen = 0;
    setTimeout(() => {
      firedAt = seen;
    }, 0);
    for await (const _ of new DataLoader({ dataset: busy, batchSize: 1 })) seen++;
    expect(firedAt).toBeDefined();
    expect(firedAt).toBeLessThan(40);
  });

  it('reads further ahead while prefetch answers true, keeps that distance, up to MAX_LOOKAHEAD_BATCHES', async () => {
    // Room for 40 batches ahead, then none: 40 are announced at once, then one for each batch yielded.
    const calls: number[] = [];
    const dataset = {
      length: 100,
      get: (i: number) => i,
      prefetch: (indices: Uint32Array) => calls.push(indices[0] as number) < 40,
    };
    let seen = 0;
    for await (const _ of new DataLoader({ dataset, batchSize: 1 })) {
      seen++;
      expect(calls.length).toBe(Math.min(100, seen + 39));
    }
    expect(calls).toEqual(Array.from({ length: 100 }, (_, i) => i));
    // Always room: the look-ahead stops at its bound.
    let announced = 0;
    const eager = { length: 5000, get: (i: number) => i, prefetch: () => ++announced > 0 };
    for await (const _ of new DataLoader({ dataset: eager, batchSize: 1 })) break;
    expect(announced).toBe(MAX_LOOKAHEAD_BATCHES);
  });

  it('reaches the datasets inside a ConcatDataset and a Subset, as their own indices', () => {
    const seen: [string, number[]][] = [];
    const spy = (name: string, length: number) => ({
      length,
      get: (i: number) => i,
      prefetch: (indices: Uint32Array) => {
        seen.push([name, Array.from(indices)]);
      },
    });
    const all = new ConcatDataset([spy('a', 3), new Subset(spy('b', 10), [9, 7, 5]), new ArrayDataset([0])]);
    all.prefetch(Uint32Array.of(4, 0, 6, 3, 2));
    expect(seen).toEqual([
      ['a', [0, 2]],
      ['b', [7, 9]],
    ]);
  });
});
