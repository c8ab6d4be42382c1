// The node-wide cache across processes: children SIGKILLed mid-download leave no torn entry and nothing
// that the next user does not clean (their locks and temporary files); processes reading the same object at
// once download each block once; the budget holds with workers reading.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BinaryDataset, DataLoader } from '../src/index.ts';
import { tempFiles } from './fixtures/files.ts';
import { type HttpObjectServer, startHttpServer } from './servers/http.ts';

const CHILD = fileURLToPath(new URL('./fixtures/remote-child.ts', import.meta.url));
const cache = tempFiles('remote-cache');
const tokens = new Uint8Array(Uint16Array.from({ length: 6000 }, (_, i) => i % 65536).buffer);
const SUM = Array.from({ length: 6000 }, (_, i) => i).reduce((a, b) => a + b, 0);
let http: HttpObjectServer;
const children: ChildProcess[] = [];

beforeAll(async () => {
  http = await startHttpServer({}, { 'tokens.u16': tokens });
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await http?.close();
});

function child(cacheDir: string, blockBytes: number): ChildProcess {
  const c = spawn(
    process.execPath,
    ['--import', 'tsx', CHILD, http.url('tokens.u16'), cacheDir, String(blockBytes)],
    {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  children.push(c);
  return c;
}

/** The next message of `c` that has `key`. */
async function message<K extends string>(c: ChildProcess, key: K): Promise<Record<K, number>> {
  for (;;) {
    const [m] = (await once(c, 'message')) as [Record<string, number>];
    if (key in m) return m as Record<K, number>;
  }
}

const list = (dir: string, sub: string) => readdirSync(join(dir, sub));

describe('SIGKILL mid-download', () => {
  it('leaves no torn entry, and the next user cleans up and reads right', async () => {
    const cacheDir = cache.path('killed');
    const blockBytes = 4096;
    let lastPid = 0;
    for (let round = 0; round < 3; round++) {
      http.fault({ kind: 'hang' });
      const halfway = once(http.events, 'halfway');
      const c = child(cacheDir, blockBytes);
      const { opened: pid } = await message(c, 'opened');
      await halfway;
      // The child holds the block's download lock, under its pid, while the body is half sent.
      const locks = list(cacheDir, 'locks').map((f) => readFileSync(join(cacheDir, 'locks', f), 'utf8'));
      expect(locks.some((owner) => owner.startsWith(`${pid} `))).toBe(true);
      c.kill('SIGKILL');
      await once(c, 'exit');
      lastPid = pid;
      expect(list(cacheDir, 'entries')).toEqual([]);
    }
    // What a process killed between writing a block and renaming it would leave: its temporary file.
    writeFileSync(join(cacheDir, 'tmp', `block.${lastPid}-0badc0de`), 'half a block');
    const before = http.requests.length;
    const dataset = await BinaryDataset.open(http.url('tokens.u16'), {
      dtype: 'uint16',
      sequenceLength: 10,
      cacheDir,
      blockBytes,
    });
    let sum = 0;
    for (let i = 0; i < dataset.length; i++) for (const v of await dataset.get(i)) sum += v;
    expect(sum).toBe(SUM);
    // One HEAD, then each block once: the dead children's locks were broken at once, not waited out.
    expect(http.requests.length - before).toBe(1 + Math.ceil(tokens.length / blockBytes));
    expect(list(cacheDir, 'locks')).toEqual([]);
    expect(list(cacheDir, 'tmp')).toEqual([]);
    const sizes = list(cacheDir, 'entries').map((f) => statSync(join(cacheDir, 'entries', f)).size);
    expect(sizes.sort((a, b) => a - b)).toEqual([tokens.length % blockBytes, blockBytes, blockBytes]);
  });
});

describe('processes sharing the cache', () => {
  it('download each block once, whoever reads it first', async () => {
    const cacheDir = cache.path('shared');
    const blockBytes = 1024;
    http.requests.length = 0;
    const readers = [child(cacheDir, blockBytes), child(cacheDir, blockBytes), child(cacheDir, blockBytes)];
    const sums = await Promise.all(readers.map((c) => message(c, 'sum')));
    expect(sums.map((m) => m.sum)).toEqual([SUM, SUM, SUM]);
    const ranges = http.requests.filter((r) => r.method === 'GET').map((r) => r.range);
    expect(ranges.length).toBe(Math.ceil(tokens.length / blockBytes));
    expect(new Set(ranges).size).toBe(ranges.length);
  });
});

describe('the budget with workers', () => {
  it('holds while two workers and the main thread read and prefetch', async () => {
    const cacheDir = cache.path('budget');
    const dataset = await BinaryDataset.open(http.url('tokens.u16'), {
      dtype: 'uint16',
      sequenceLength: 10,
      cacheDir,
      blockBytes: 500,
      cacheBytes: 2000,
    });
    // An entry evicted between the listing and its stat no longer counts.
    const used = () =>
      list(cacheDir, 'entries').reduce(
        (sum, f) => sum + (statSync(join(cacheDir, 'entries', f), { throwIfNoEntry: false })?.size ?? 0),
        0,
      );
    const loader = new DataLoader({ dataset, batchSize: 20, shuffle: true, seed: 1, numWorkers: 2 });
    let sum = 0;
    try {
      for await (const batch of loader) {
        for (const v of (batch as { data: Uint16Array }).data) sum += v;
        expect(used()).toBeLessThanOrEqual(2000);
      }
    } finally {
      await loader.close();
    }
    expect(sum).toBe(SUM);
  });
});

describe('a cache deleted while in use', () => {
  it('is made again by the next download, in process and in workers', async () => {
    const cacheDir = cache.path('deleted');
    // An object not yet read for each pass: blocks already open in this thread are read from their descriptors.
    const sum = async (name: string, numWorkers: number) => {
      http.put(name, tokens);
      const dataset = await BinaryDataset.open(http.url(name), {
        dtype: 'uint16',
        sequenceLength: 100,
        cacheDir,
        blockBytes: 1000,
      });
      const loader = new DataLoader({ dataset, batchSize: 10, numWorkers });
      let total = 0;
      try {
        for await (const batch of loader) for (const v of (batch as { data: Uint16Array }).data) total += v;
      } finally {
        await loader.close();
      }
      return total;
    };
    expect(await sum('a.u16', 0)).toBe(SUM);
    rmSync(cacheDir, { recursive: true, force: true });
    expect(await sum('b.u16', 0)).toBe(SUM);
    rmSync(cacheDir, { recursive: true, force: true });
    expect(await sum('c.u16', 2)).toBe(SUM);
    expect(readdirSync(join(cacheDir, 'entries')).length).toBeGreaterThan(0);
  });
});
