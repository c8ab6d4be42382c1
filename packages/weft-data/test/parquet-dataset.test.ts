import { readFileSync, writeFileSync } from 'node:fs';
import { parquetWriteFile } from 'hyparquet-writer';
import { describe, expect, it } from 'vitest';
import { BlockShuffleSampler, ConfigError, DataLoader, FileError, ParquetDataset } from '../src/index.ts';
import { rewrite, tempFiles } from './fixtures/files.ts';
import { row, writeParquet } from './fixtures/tables.ts';

const files = tempFiles('parquet');
const table = writeParquet(files.path('t.parquet'), 50, 10);

describe('ParquetDataset', () => {
  it('gives rows by index, from row groups decoded once and cached', async () => {
    const ds = await ParquetDataset.open(table);
    expect(ds.length).toBe(50);
    expect(ds.blocks).toBe(5);
    expect(ds.blockOffsets).toEqual([0, 10, 20, 30, 40, 50]);
    expect(ds.columns).toEqual(['id', 'x', 'name']);
    const first = ds.get(23);
    expect(first).toBeInstanceOf(Promise); // row group 2 is not decoded yet
    expect(await first).toEqual(row(23));
    expect(ds.get(29)).toEqual(row(29)); // now it is: synchronous
    expect(await ds.get(49)).toEqual(row(49));
    expect(ds.cacheStats).toEqual({ hits: 1, misses: 2, hitRate: 1 / 3 });
    ds.resetCacheStats();
    expect(ds.cacheStats).toEqual({ hits: 0, misses: 0, hitRate: 0 });
  });

  it('gives rows the caller owns: changing one changes no later get, lists and structs included', async () => {
    const filename = files.path('nested.parquet');
    parquetWriteFile({
      filename,
      columnData: [
        { name: 'id', data: Int32Array.of(0, 1), type: 'INT32' },
        { name: 'tags', data: [[1, 2], [3]] },
        {
          name: 'meta',
          data: [
            { a: [1, 2], s: 'x' },
            { a: [3], s: 'y' },
          ],
        },
      ],
    });
    const ds = await ParquetDataset.open<{ id: number; tags: number[]; meta: { a: number[]; s: string } }>(
      filename,
    );
    const first = await ds.get(0);
    expect(first).toEqual({ id: 0, tags: [1, 2], meta: { a: [1, 2], s: 'x' } });
    first.tags[0] = 999;
    first.meta.a[0] = 999;
    first.meta.s = 'changed';
    const again = ds.get(0); // from the cached row group: synchronous
    expect(again).toEqual({ id: 0, tags: [1, 2], meta: { a: [1, 2], s: 'x' } });
    expect(ds.cacheStats).toEqual({ hits: 1, misses: 1, hitRate: 0.5 });
  });

  it('reads only the projected columns', async () => {
    const ds = await ParquetDataset.open<{ name: string; id: number }>(table, { columns: ['name', 'id'] });
    expect(await ds.get(7)).toEqual({ name: 'n7', id: 7 });
  });

  it('shares one load between concurrent gets and evicts the least recently used row group', async () => {
    const ds = await ParquetDataset.open(table, { cacheBlocks: 2 });
    await Promise.all([ds.get(0), ds.get(1), ds.get(2)]); // one miss, two hits on the pending load
    expect(ds.cacheStats).toMatchObject({ hits: 2, misses: 1 });
    await ds.get(10); // group 1
    ds.get(3); // group 0 again: a hit, now the most recent
    await ds.get(20); // group 2 evicts group 1
    expect(ds.get(4)).toEqual(row(4));
    expect(ds.get(11)).toBeInstanceOf(Promise);
    expect(ds.cacheStats).toMatchObject({ hits: 4, misses: 4 });
  });

  it('gives a block-aware shuffle a high hit rate where a full shuffle misses', async () => {
    const many = writeParquet(files.path('many.parquet'), 400, 20); // 20 row groups
    const epoch = async (shuffle: 'full' | 'blocks') => {
      const ds = await ParquetDataset.open(many, { cacheBlocks: 3 });
      const loader =
        shuffle === 'full'
          ? new DataLoader({ dataset: ds, batchSize: 16, shuffle: true, seed: 5 })
          : new DataLoader({
              dataset: ds,
              batchSize: 16,
              sampler: new BlockShuffleSampler(ds, { seed: 5, window: 2 }),
            });
      for await (const _ of loader);
      return ds.cacheStats;
    };
    const blocks = await epoch('blocks');
    expect(blocks.misses).toBe(20); // each row group decoded once
    expect(blocks.hitRate).toBe(380 / 400);
    expect((await epoch('full')).hitRate).toBeLessThan(0.5);
  });

  it('fails on a file that is not Parquet, or truncated, naming it', async () => {
    const text = files.write('not.parquet', 'id,x\n1,2\n');
    await expect(ParquetDataset.open(text)).rejects.toThrow(
      new RegExp(`^${text.replaceAll('.', '\\.')} is not a valid Parquet file: `),
    );
    const bytes = readFileSync(table);
    const cut = files.write('cut.parquet', bytes.subarray(0, bytes.length - 30));
    const e = await ParquetDataset.open(cut).catch((x) => x);
    expect(e).toBeInstanceOf(FileError);
    expect(e.file).toBe(cut);
    expect(e.message).toMatch(new RegExp(`^${cut.replaceAll('.', '\\.')} is not a valid Parquet file: `));
    const missing = files.path('missing.parquet');
    await expect(ParquetDataset.open(missing)).rejects.toThrow(`cannot open ${missing}: no such file`);
  });

  it('fails on a corrupt row group, naming the file and rows', async () => {
    const bytes = Buffer.from(readFileSync(table));
    // Overwrite the middle of the data (row groups start after the 4-byte magic) with garbage.
    bytes.fill(0xff, 200, 400);
    const bad = files.write('corrupt.parquet', bytes);
    const ds = await ParquetDataset.open(bad);
    const errors: string[] = [];
    for (let g = 0; g < 5; g++) {
      try {
        await ds.get(g * 10);
      } catch (e) {
        expect(e).toBeInstanceOf(FileError);
        errors.push((e as Error).message);
      }
    }
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]).toMatch(
      new RegExp(`^${bad.replaceAll('.', '\\.')}, row group \\d \\(rows \\d+–\\d+\\): cannot decode: `),
    );
  });

  it('detects a file changed after opening, before reading a row group', async () => {
    const file = writeParquet(files.path('changes.parquet'), 30, 10);
    const ds = await ParquetDataset.open(file);
    expect(await ds.get(0)).toEqual(row(0));
    const before = readFileSync(file);
    writeParquet(files.path('other.parquet'), 31, 10);
    rewrite(file, readFileSync(files.path('other.parquet')));
    await expect(ds.get(15)).rejects.toThrow(
      new RegExp(
        `^${file.replaceAll('.', '\\.')} changed after the dataset was opened \\(size ${before.length} → \\d+ bytes, modified .*\\); open the dataset again$`,
      ),
    );
    expect(ds.get(1)).toEqual(row(1)); // what is cached stays readable
    writeFileSync(file, before);
  });

  it('rejects bad options all at once, and columns the file lacks', async () => {
    const e = await ParquetDataset.open(table, { columns: [], cacheBlocks: 0, rows: 3 } as never).catch(
      (x) => x,
    );
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.issues).toEqual([
      '`columns` must name at least one column, got an array of length 0',
      '`cacheBlocks` must be a positive integer, got 0',
      '`rows` is not a known option',
    ]);
    await expect(ParquetDataset.open(table, { columns: ['id', 'label'] })).rejects.toThrow(
      `invalid ParquetDataset options: \`columns\` names "label", which is not a column of ${table}; its columns are "id", "x", "name"`,
    );
  });
});
