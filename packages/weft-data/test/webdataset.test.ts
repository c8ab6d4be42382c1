// WebDataset on tar shards written by GNU tar (ustar, pax and GNU formats), with members decoded by extension.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  BlockShuffleSampler,
  ConfigError,
  DataLoader,
  expandBraces,
  FileError,
  WebDataset,
} from '../src/index.ts';
import { tempFiles } from './fixtures/files.ts';
import { npy, png, tarOf } from './fixtures/shards.ts';

const files = tempFiles('wds');
const f32 = (...v: number[]) => new Uint8Array(Float32Array.from(v).buffer);

/** Shard s holds samples s*10 … s*10+9: txt, cls, json, npy, png and an unknown `.bin`. */
async function shard(s: number, format: 'ustar' | 'pax' | 'gnu' = 'ustar'): Promise<string> {
  const members: [string, Uint8Array | string][] = [];
  for (let k = s * 10; k < s * 10 + 10; k++) {
    const key = `sample${String(k).padStart(4, '0')}`;
    members.push(
      [`${key}.txt`, `text ${k}`],
      [`${key}.cls`, `${k % 7}\n`],
      [`${key}.json`, JSON.stringify({ k, even: k % 2 === 0 })],
      [`${key}.npy`, npy('<f4', [2, 2], f32(k, k + 0.5, -k, 1))],
      [`${key}.png`, await png(4, 3, k)],
      [`${key}.bin`, Uint8Array.of(k, 255)],
    );
  }
  return tarOf(files.path(`shard-${String(s).padStart(3, '0')}.tar`), members, format);
}

const expected = (k: number) => ({
  __key__: `sample${String(k).padStart(4, '0')}`,
  txt: `text ${k}`,
  cls: k % 7,
  json: { k, even: k % 2 === 0 },
  npy: { data: Float32Array.of(k, k + 0.5, -k, 1), shape: [2, 2] },
  png: {
    data: Uint8Array.from({ length: 36 }, (_, i) => {
      const [p, c] = [Math.floor(i / 3), i % 3];
      return [k + (p % 4), k + Math.floor(p / 4), k][c] as number;
    }),
    shape: [3, 4, 3],
  },
  bin: Uint8Array.of(k, 255),
});

const shards = await Promise.all([0, 1, 2].map((s) => shard(s)));

describe('WebDataset', () => {
  it('groups members into samples by key and decodes them by extension, over a brace pattern', async () => {
    const ds = await WebDataset.open(files.path('shard-{000..002}.tar'));
    expect(ds.shards).toEqual(shards);
    expect(ds.length).toBe(30);
    expect(ds.blockOffsets).toEqual([0, 10, 20, 30]);
    expect(ds.columns).toEqual(['bin', 'cls', 'json', 'npy', 'png', 'txt']);
    for (const k of [0, 9, 10, 29, 17]) expect(await ds.get(k)).toEqual(expected(k));
    // Concurrent gets, as a loader makes them: each sample's members are its own.
    const all = Array.from({ length: 30 }, (_, k) => k);
    expect(await Promise.all(all.map((k) => ds.get(k)))).toEqual(all.map(expected));
  });

  it('reads only the projected members, and gives image bytes with decodeImages: false', async () => {
    const ds = await WebDataset.open(shards, { columns: ['cls', 'png'], decodeImages: false });
    const sample = (await ds.get(12)) as { png: Uint8Array };
    expect(Object.keys(sample)).toEqual(['__key__', 'cls', 'png']);
    expect(sample.png.subarray(0, 4)).toEqual(Uint8Array.of(0x89, 0x50, 0x4e, 0x47));
  });

  it('reads pax and GNU long names, keys with folders and extensions with dots', async () => {
    const deep = `${'d'.repeat(60)}/${'e'.repeat(60)}/item`;
    for (const format of ['pax', 'gnu'] as const) {
      const tar = tarOf(
        files.path(`long-${format}.tar`),
        [
          [`${deep}.seg.png`, await png(2, 2, 9)],
          [`${deep}.txt`, 'deep'],
          ['top/other.txt', 'other'],
          ['noextension', 'skipped'],
        ],
        format,
      );
      const ds = await WebDataset.open(tar, { decodeImages: false });
      expect(ds.length).toBe(2);
      expect(await ds.get(0)).toEqual({
        __key__: deep,
        'seg.png': new Uint8Array(await png(2, 2, 9)),
        txt: 'deep',
      });
      expect(await ds.get(1)).toEqual({ __key__: 'top/other', txt: 'other' });
    }
  });

  it('reads shards one window at a time under BlockShuffleSampler, each opened once', async () => {
    const ds = await WebDataset.open(shards, { columns: ['cls'], cacheBlocks: 2 });
    const loader = new DataLoader({
      dataset: ds,
      sampler: new BlockShuffleSampler(ds, { seed: 5 }),
      batchSize: 4,
    });
    let n = 0;
    for await (const batch of loader) n += (batch as { cls: Float64Array }).cls.length;
    expect(n).toBe(30);
    expect(ds.cacheStats).toEqual({ hits: 27, misses: 3, hitRate: 0.9 });
  });

  it('reports npy files it cannot read as they are', async () => {
    const tar = tarOf(files.path('npy.tar'), [
      ['a.npy', npy('<f4', [2, 2], f32(1, 2, 3, 4), true)],
      ['b.npy', npy('>i4', [1], Uint8Array.of(0, 0, 0, 1))],
      ['c.npy', npy('<i2', [3], Uint8Array.of(1, 0, 2))],
      ['d.npy', npy('<u1', [], Uint8Array.of(7))],
    ]);
    const ds = await WebDataset.open(tar);
    await expect(ds.get(0)).rejects.toThrow(
      new FileError(
        `${tar}: the member "a.npy" is in Fortran order; save it with np.ascontiguousarray (C order)`,
        {
          file: tar,
        },
      ),
    );
    await expect(ds.get(1)).rejects.toThrow(
      `${tar}: the member "b.npy" is big-endian; save it little-endian (numpy's default on x86 and ARM)`,
    );
    await expect(ds.get(2)).rejects.toThrow(
      `${tar}: the member "c.npy" has 3 bytes of values for the shape (3) of i2: truncated?`,
    );
    expect(await ds.get(3)).toEqual({ __key__: 'd', npy: { data: Uint8Array.of(7), shape: [] } });
  });

  it('reports a file that is not a tar, a truncated tar, a repeated member and a bad class label', async () => {
    const notTar = files.write('not.tar', new Uint8Array(1024).fill(65));
    await expect(WebDataset.open(notTar)).rejects.toThrow(
      `${notTar} is not a tar file, or is corrupt: the header at byte 0 has a bad checksum`,
    );
    const bytes = readFileSync(shards[0] as string);
    const cut = files.write('cut.tar', bytes.subarray(0, 515));
    await expect(WebDataset.open(cut)).rejects.toThrow(
      `${cut} is truncated: the member "sample0000.txt" at byte 0 needs 6 bytes, the file ends at 515`,
    );
    const short = files.write('short.tar', bytes.subarray(0, 1100));
    await expect(WebDataset.open(short)).rejects.toThrow(
      `${short} is truncated: it ends at byte 1100, before the end-of-archive marker`,
    );
    const twice = tarOf(files.path('twice.tar'), [['x.txt', 'one']]);
    execFileSync('tar', ['-rf', twice, '-C', `${twice}.members`, 'x.txt']);
    await expect(WebDataset.open(twice)).rejects.toThrow(
      `${twice}: the sample "x" has two members with the extension "txt"`,
    );
    const label = tarOf(files.path('label.tar'), [['y.cls', 'cat']]);
    await expect((await WebDataset.open(label)).get(0)).rejects.toThrow(
      `${label}: the member "y.cls" is not an integer: "cat"`,
    );
  });

  it('rejects bad arguments all at once', async () => {
    const bad = WebDataset.open([] as never, { cacheBlocks: -1, nope: 1 } as never);
    await expect(bad).rejects.toBeInstanceOf(ConfigError);
    await expect(bad).rejects.toThrow(
      'invalid WebDataset options: `shards` must be a path, a URL or a brace pattern, or a non-empty list of them, got an array of length 0; `cacheBlocks` must be a positive integer, got -1; `nope` is not a known option',
    );
    await expect(WebDataset.open(files.path('missing.tar'))).rejects.toThrow(
      `cannot open ${files.path('missing.tar')}: no such file`,
    );
  });
});

describe('expandBraces', () => {
  it('expands zero-padded ranges and lists, several braces multiplying', () => {
    expect(expandBraces('s-{08..11}.tar')).toEqual(['s-08.tar', 's-09.tar', 's-10.tar', 's-11.tar']);
    expect(expandBraces('{a,b}/{1..2}')).toEqual(['a/1', 'a/2', 'b/1', 'b/2']);
    expect(expandBraces('plain.tar')).toEqual(['plain.tar']);
  });
});
