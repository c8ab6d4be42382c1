// ShardWriter: the shards it writes are Mosaic's byte for byte (checked against MDSWriter's own fixtures in
// ../shared/fixtures/mds), and MdsDataset reads back exactly what was written (a fast-check property).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { decompress } from 'fzstd';
import { describe, expect, it } from 'vitest';
import { ArrayDataset, ConfigError, MdsDataset, ShardWriter } from '../src/index.ts';
import { tempFiles } from './fixtures/files.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const FIXTURES =
  ['../shared/fixtures/mds', '../../shared/fixtures/mds'].map((p) => resolve(ROOT, p)).find(existsSync) ?? '';
const files = tempFiles('shard-writer');
let made = 0;
const fresh = () => files.path(`out-${made++}`);

describe.runIf(FIXTURES !== '')('ShardWriter against MDSWriter', () => {
  it('writes `scalars` back as the same shards and index.json, byte for byte', async () => {
    const source = await MdsDataset.open(join(FIXTURES, 'scalars'));
    const out = fresh();
    const summary = await ShardWriter.writeDataset(source as never, {
      out,
      columns: { id: 'int', x: 'float32', name: 'str', label: 'uint8' },
      sizeLimit: 8192,
    });
    expect(summary).toEqual({
      shards: 6,
      samples: 1000,
      columns: { id: 'int', label: 'uint8', name: 'str', x: 'float32' },
    });
    const names = readdirSync(join(FIXTURES, 'scalars')).sort();
    expect(readdirSync(out).sort()).toEqual(names);
    for (const name of names)
      expect(readFileSync(join(out, name))).toEqual(readFileSync(join(FIXTURES, 'scalars', name)));
  });

  it('writes `arrays` (ndarray, json, bytes) with the same samples, byte for byte', async () => {
    const source = await MdsDataset.open(join(FIXTURES, 'arrays'));
    const out = fresh();
    await ShardWriter.writeDataset(source as never, {
      out,
      columns: { feat: 'ndarray:float32:16', ragged: 'ndarray', meta: 'json', raw: 'bytes' },
      sizeLimit: 16384,
      hashes: ['sha1'],
    });
    // Their shards are zstd-compressed and ours raw, so the headers differ by the `compression` named in
    // them; the samples after the header are the same bytes.
    const samples = (raw: Uint8Array) =>
      raw.subarray(new DataView(raw.buffer, raw.byteOffset).getUint32(4, true));
    for (let s = 0; s < 5; s++) {
      const base = `shard.${String(s).padStart(5, '0')}.mds`;
      const theirs = decompress(readFileSync(join(FIXTURES, 'arrays', `${base}.zstd`)));
      expect(samples(new Uint8Array(readFileSync(join(out, base))))).toEqual(samples(theirs));
    }
  });
});

describe('ShardWriter', () => {
  it('round-trips any rows of the writable encodings through MdsDataset', async () => {
    const row = fc.record({
      i: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
      big: fc.maxSafeInteger(),
      u8: fc.integer({ min: 0, max: 255 }),
      f64: fc.double({ noNaN: true }),
      f32: fc.float({ noNaN: true }),
      half: fc.integer({ min: -2048, max: 2048 }).map((k) => k / 4),
      s: fc.string({ unit: 'grapheme' }),
      b: fc.uint8Array({ maxLength: 20 }),
      j: fc.jsonValue().map((v) => JSON.parse(JSON.stringify(v)) as unknown),
      a: fc.float32Array({ minLength: 1, maxLength: 9 }).filter((a) => a.every((v) => !Number.isNaN(v))),
      t: fc
        .tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 300 }))
        .chain(([h, w]) =>
          fc.int32Array({ minLength: h * w, maxLength: h * w }).map((data) => ({ data, shape: [h, w] })),
        ),
    });
    const columns = {
      i: 'int32',
      big: 'int',
      u8: 'uint8',
      f64: 'float64',
      f32: 'float32',
      half: 'float16',
      s: 'str',
      b: 'bytes',
      j: 'json',
      a: 'ndarray:float32',
      t: 'ndarray',
    };
    await fc.assert(
      fc.asyncProperty(
        fc.array(row, { maxLength: 40 }),
        fc.integer({ min: 64, max: 4096 }),
        async (rows, sizeLimit) => {
          const out = fresh();
          const summary = await ShardWriter.writeDataset(new ArrayDataset(rows), { out, columns, sizeLimit });
          const ds = await MdsDataset.open(out);
          expect(ds.length).toBe(rows.length);
          expect(summary.shards).toBe(ds.blocks);
          for (const [k, r] of rows.entries()) {
            const back = (await ds.get(k)) as Record<string, unknown>;
            expect(back).toEqual({ ...r, a: { data: r.a, shape: [r.a.length] } });
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('infers the columns from the first item, and keeps shards within the size limit', async () => {
    const rows = Array.from({ length: 50 }, (_, k) => ({
      x: k / 3,
      name: `n${k}`,
      v: Float32Array.of(k, k + 1),
      tags: { k, odd: k % 2 === 1 },
    }));
    const out = fresh();
    const summary = await ShardWriter.writeDataset(new ArrayDataset(rows), {
      out,
      sizeLimit: 1024,
      compression: 'gz',
    });
    expect(summary.columns).toEqual({ name: 'str', tags: 'json', v: 'ndarray:float32', x: 'float64' });
    const index = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8')) as {
      shards: { raw_data: { bytes: number }; zip_data: { basename: string } }[];
    };
    expect(index.shards.length).toBe(summary.shards);
    expect(summary.shards).toBeGreaterThan(2);
    for (const s of index.shards) expect(s.raw_data.bytes).toBeLessThanOrEqual(1024);
    expect(index.shards[0]?.zip_data.basename).toBe('shard.00000.mds.gz');
    const ds = await MdsDataset.open(out);
    expect(await ds.get(49)).toEqual({ ...rows[49], v: { data: rows[49]?.v, shape: [2] } });
  });

  it('names the item, the column and the value that does not fit', async () => {
    const out = fresh();
    const writer = new ShardWriter({ out, columns: { label: 'uint8' } });
    writer.write({ label: 3 });
    expect(() => writer.write({ label: 300 })).toThrow(
      new ConfigError(
        'ShardWriter: item 1, column "label" (uint8): must be an integer from 0 to 255, got 300',
      ),
    );
    expect(() => writer.write({ other: 1 })).toThrow(
      'ShardWriter: item 1 has no column "label"; its keys are "other"',
    );
    expect(writer.finish()).toEqual({ shards: 1, samples: 1, columns: { label: 'uint8' } });
    const arrays = new ShardWriter({ out: fresh(), columns: { v: 'ndarray:int32:2' } });
    expect(() => arrays.write({ v: { data: Int32Array.of(1, 2, 3), shape: [2] } })).toThrow(
      'ShardWriter: item 0, column "v" (ndarray:int32:2): has 3 elements, which do not fit its shape [2]',
    );
    expect(() => arrays.write({ v: Float32Array.of(1, 2) })).toThrow(
      'ShardWriter: item 0, column "v" (ndarray:int32:2): must hold int32 values, got a Float32Array',
    );
  });

  it('rejects bad options all at once, pkl and zstd among them', () => {
    expect(
      () =>
        new ShardWriter({
          out: fresh(),
          columns: { a: 'pkl', b: 'complex' },
          sizeLimit: 0,
          compression: 'zstd',
          hashes: ['xxh64'],
        } as never),
    ).toThrow(
      "invalid ShardWriter options: `sizeLimit` must be a positive integer, got 0; `compression` must be 'gz', 'br' or one with a level ('gz:0'…'gz:9', 'br:0'…'br:11'); zstd cannot be written, got \"zstd\"; `hashes[0]` must be one of blake2b, blake2s, md5, sha1, sha224, sha256, sha384, sha3_224, sha3_256, sha3_384, sha3_512, sha512, got \"xxh64\"",
    );
    expect(() => new ShardWriter({ out: fresh(), columns: { a: 'pkl', b: 'complex' } })).toThrow(
      'invalid ShardWriter options: `columns.a` is "pkl": Python pickles cannot be written from JavaScript; `columns.b` is "complex": it is not an MDS encoding',
    );
  });
});
