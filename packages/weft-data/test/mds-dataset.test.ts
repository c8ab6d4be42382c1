// MdsDataset against datasets written by Mosaic's own MDSWriter (../shared/fixtures/mds beside the
// repository, see its README.md; or two levels up, from a worktree in a folder beside it): every sample is
// compared with the values expected.json says it must decode to.
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BlockShuffleSampler, ConfigError, DataLoader, FileError, MdsDataset } from '../src/index.ts';
import { rewrite, tempFiles } from './fixtures/files.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const FIXTURES =
  ['../shared/fixtures/mds', '../../shared/fixtures/mds'].map((p) => resolve(ROOT, p)).find(existsSync) ?? '';
const files = tempFiles('mds');

interface Expected {
  scalars: { id: number; x: number; name: string; label: number }[];
  arrays: { feat: number[]; ragged: number[]; meta: unknown; raw_hex: string }[];
  images: { label: number; png_rgb_hwc: number[] }[];
}

/** A copy of a fixture folder, which a test may change. */
function copy(name: string): string {
  const dir = files.path(`${name}-${Math.random().toString(36).slice(2)}`);
  cpSync(join(FIXTURES, name), dir, { recursive: true });
  return dir;
}

const all = async <T>(ds: { length: number; get(i: number): T | Promise<T> }): Promise<T[]> =>
  Promise.all(Array.from({ length: ds.length }, (_, i) => ds.get(i)));

describe.runIf(FIXTURES !== '')('MdsDataset on MDSWriter fixtures', () => {
  const expected =
    FIXTURES === ''
      ? undefined
      : (JSON.parse(readFileSync(join(FIXTURES, 'expected.json'), 'utf8')) as Expected);

  it('decodes every sample of `scalars` (int, uint8, str, float32; raw shards)', async () => {
    const ds = await MdsDataset.open(join(FIXTURES, 'scalars'));
    expect(ds.length).toBe(1000);
    expect(ds.names).toEqual(['id', 'label', 'name', 'x']);
    expect(ds.blockOffsets).toEqual([0, 184, 360, 537, 713, 889, 1000]);
    expect(ds.layout).toEqual({ label: { dtype: 'uint8', shape: [] }, x: { dtype: 'float32', shape: [] } });
    const rows = await all(ds);
    expect(rows).toEqual(expected?.scalars.map(({ id, label, name, x }) => ({ id, label, name, x })));
  });

  it('decodes every sample of `arrays` (ndarray fixed and ragged, json, bytes; zstd shards, sha1 checked)', async () => {
    const ds = await MdsDataset.open(join(FIXTURES, 'arrays'));
    expect(ds.length).toBe(500);
    expect(ds.layout).toEqual({ feat: { dtype: 'float32', shape: [16] } });
    const rows = await all(ds);
    expect(rows).toEqual(
      expected?.arrays.map((e) => ({
        feat: { data: Float32Array.from(e.feat), shape: [16] },
        ragged: { data: Int32Array.from(e.ragged), shape: [e.ragged.length] },
        meta: e.meta,
        raw: Uint8Array.from(Buffer.from(e.raw_hex, 'hex')),
      })),
    );
  });

  it('decodes `images`: png pixels exactly, jpeg to the same size and near the png', async () => {
    const ds = await MdsDataset.open<{
      jpg: { data: Uint8Array; shape: number[] };
      png: { data: Uint8Array; shape: number[] };
      label: number;
    }>(join(FIXTURES, 'images'));
    expect(ds.length).toBe(64);
    for (const [i, e] of (expected?.images ?? []).entries()) {
      const row = await ds.get(i);
      expect(row.label).toBe(e.label);
      expect(row.png).toEqual({ data: Uint8Array.from(e.png_rgb_hwc), shape: [32, 32, 3] });
      expect(row.jpg.shape).toEqual([32, 32, 3]);
      const diff = row.jpg.data.reduce((sum, v, k) => sum + Math.abs(v - (row.png.data[k] as number)), 0);
      expect(diff / row.jpg.data.length).toBeLessThan(12);
    }
  });

  it('projects columns, and gives a typed row', async () => {
    const ds = await MdsDataset.open<{ name: string; x: number }>(join(FIXTURES, 'scalars'), {
      columns: ['name', 'x'],
    });
    const row = await ds.get(3);
    expect(row).toEqual({ name: expected?.scalars[3]?.name, x: expected?.scalars[3]?.x });
    expect(row.name.length).toBe(24);
  });

  it('reads each shard once per window under BlockShuffleSampler', async () => {
    const ds = await MdsDataset.open(join(FIXTURES, 'scalars'), { cacheBlocks: 2 });
    const loader = new DataLoader({
      dataset: ds,
      sampler: new BlockShuffleSampler(ds, { seed: 3 }),
      batchSize: 50,
    });
    const ids: number[] = [];
    for await (const batch of loader) ids.push(...(batch as { id: Float64Array }).id);
    expect(ids.sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(ds.cacheStats.misses).toBe(6);
  });

  it('rejects bad options and columns, all at once', async () => {
    await expect(
      MdsDataset.open(join(FIXTURES, 'scalars'), {
        columns: ['nope'],
        cacheBlocks: 0,
        verify: true,
      } as never),
    ).rejects.toThrow(
      'invalid MdsDataset options: `cacheBlocks` must be a positive integer, got 0; `verify` is not a known option',
    );
    await expect(MdsDataset.open(join(FIXTURES, 'scalars'), { cacheBlocks: 0 })).rejects.toBeInstanceOf(
      ConfigError,
    );
    await expect(MdsDataset.open(join(FIXTURES, 'scalars'), { columns: ['nope'] })).rejects.toThrow(
      `invalid MdsDataset options: \`columns\` names "nope", which is not a column of ${join(FIXTURES, 'scalars')}; its columns are "id", "label", "name", "x"`,
    );
  });

  it('reports a shard that does not match its sha1, a shard of the wrong size, a missing index', async () => {
    const dir = copy('arrays');
    const shard = join(dir, 'shard.00001.mds.zstd');
    const bytes = readFileSync(shard);
    bytes[100] = (bytes[100] as number) ^ 0xff;
    rewrite(shard, bytes);
    const ds = await MdsDataset.open(dir);
    await expect(ds.get(130)).rejects.toThrow(
      new FileError(
        `${shard} does not match its sha1 hash in index.json (65c350e5b943128d3e2a6759e2a68671a3042dc3, the file's is ${(await import('node:crypto')).createHash('sha1').update(bytes).digest('hex')}): a corrupt or rewritten shard`,
        { file: shard },
      ),
    );
    // Without the check, the damage reaches the values (zstd frames carry no checksum by default).
    const unchecked = await MdsDataset.open(dir, { verifyHashes: false });
    const good = await MdsDataset.open(join(FIXTURES, 'arrays'));
    const shard1 = (ds: MdsDataset) => Promise.all(Array.from({ length: 124 }, (_, i) => ds.get(125 + i)));
    expect(await shard1(unchecked)).not.toEqual(await shard1(good));

    writeFileSync(shard, bytes.subarray(0, 50));
    await expect(MdsDataset.open(dir)).rejects.toThrow(
      `${shard} has 50 bytes, but ${join(dir, 'index.json')} says 9666: a truncated or rewritten shard`,
    );
    await expect(MdsDataset.open(files.path('none'))).rejects.toThrow(
      `cannot open ${files.path('none/index.json')}: no such file`,
    );
  });

  it('notices a shard rewritten after open', async () => {
    const dir = copy('scalars');
    const ds = await MdsDataset.open(dir);
    const shard = join(dir, 'shard.00002.mds');
    rewrite(shard, readFileSync(shard));
    await expect(ds.get(400)).rejects.toThrow(/shard\.00002\.mds changed after the dataset was opened/);
  });
});

describe('MdsDataset on hand-made indexes', () => {
  /** A one-shard dataset whose index says the given columns. */
  function dataset(
    names: string[],
    encodings: string[],
    {
      shard = new Uint8Array([0, 0, 0, 0, 8, 0, 0, 0]),
      samples = 0,
      sizes = names.map((): number | null => null),
    } = {},
  ) {
    const dir = files.path(`hand-${Math.random().toString(36).slice(2)}`);
    const info = { basename: 'shard.00000.mds', bytes: shard.length, hashes: {} };
    const index = {
      version: 2,
      shards: [
        {
          column_encodings: encodings,
          column_names: names,
          column_sizes: sizes,
          compression: null,
          format: 'mds',
          hashes: [],
          raw_data: info,
          samples,
          size_limit: 1 << 26,
          version: 2,
          zip_data: null,
        },
      ],
    };
    mkdirSync(dir);
    writeFileSync(join(dir, 'index.json'), JSON.stringify(index));
    writeFileSync(join(dir, 'shard.00000.mds'), shard);
    return dir;
  }

  it('says pkl is Python-only, unless it is projected away', async () => {
    const dir = dataset(['obj', 'x'], ['pkl', 'str']);
    await expect(MdsDataset.open(dir)).rejects.toThrow(
      new ConfigError(
        `${join(dir, 'index.json')}: column "obj" is encoded as \`pkl\` (Python pickle), which only Python can read; leave it out with the \`columns\` option, or write it as json, bytes or ndarray`,
      ),
    );
    expect((await MdsDataset.open(dir, { columns: ['x'] })).length).toBe(0);
  });

  it('skips a column of an encoding it does not know by the size the index gives, when projected away', async () => {
    // One sample: its count, the offsets of its start and end, the sizes of its two variable-size columns,
    // then their bytes.
    const words = new Uint32Array([1, 12, 12 + 8 + 5, 3, 2]);
    const shard = new Uint8Array([...new Uint8Array(words.buffer), ...Buffer.from('abchi')]);
    const dir = dataset(['a', 'x'], ['complex128', 'str'], { shard, samples: 1 });
    expect(await (await MdsDataset.open(dir, { columns: ['x'] })).get(0)).toEqual({ x: 'hi' });
    const wrong = dataset(['x'], ['int'], { sizes: [4] });
    await expect(MdsDataset.open(wrong)).rejects.toThrow(
      `${join(wrong, 'index.json')}: column "x" (int) has 8 bytes, but column_sizes says 4`,
    );
  });

  it('rejects an unknown encoding and a file that is not an MDS index', async () => {
    const dir = dataset(['x'], ['complex128']);
    await expect(MdsDataset.open(dir)).rejects.toThrow(
      `${join(dir, 'index.json')}: column "x" has the encoding "complex128": it is not an MDS encoding`,
    );
    writeFileSync(join(dir, 'index.json'), '{"version": 1, "shards": [{"format": "jsonl"}]}');
    await expect(MdsDataset.open(dir)).rejects.toThrow(
      /index\.json is not an MDS index: `version` must be 2, got 1; `shards\[0\]\.format` must be "mds"/,
    );
  });
});
