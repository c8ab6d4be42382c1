import { readFileSync, writeFileSync } from 'node:fs';
import { Binary, Field, Float32, List, Struct, Table, tableToIPC, Utf8, vectorFromArray } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { ArrowDataset, BlockShuffleSampler, ConfigError, DataLoader, FileError } from '../src/index.ts';
import { rewrite, tempFiles } from './fixtures/files.ts';
import { row, writeArrow } from './fixtures/tables.ts';

const files = tempFiles('arrow');
const table = writeArrow(files.path('t.arrow'), 25, 10);
const quoteRe = (s: string) => s.replaceAll('.', '\\.');

describe('ArrowDataset', () => {
  it('gives rows by index from cached record batches, whose sizes come from the footer', async () => {
    const ds = await ArrowDataset.open(table);
    expect(ds.length).toBe(25);
    expect(ds.blockOffsets).toEqual([0, 10, 20, 25]);
    expect(ds.columns).toEqual(['id', 'x', 'name']);
    const first = ds.get(21);
    expect(first).toBeInstanceOf(Promise);
    expect(await first).toEqual(row(21));
    expect(ds.get(24)).toEqual(row(24));
    expect(await Promise.all([ds.get(3), ds.get(13), ds.get(4)])).toEqual([row(3), row(13), row(4)]);
    expect(ds.cacheStats).toEqual({ hits: 2, misses: 3, hitRate: 0.4 });
  });

  it('projects columns and turns lists into typed arrays', async () => {
    const only = await ArrowDataset.open<{ name: string }>(table, { columns: ['name'] });
    expect(await only.get(5)).toEqual({ name: 'n5' });
    const lists = new Table({
      v: vectorFromArray([[1, 2], [3], []], new List(new Field('item', new Float32()))),
    });
    const file = files.write('lists.arrow', tableToIPC(lists, 'file'));
    const ds = await ArrowDataset.open(file);
    expect(await ds.get(0)).toEqual({ v: Float32Array.of(1, 2) });
    expect(ds.get(2)).toEqual({ v: new Float32Array(0) });
  });

  it('gives rows the caller owns, structs as plain objects, binary values and lists copied', async () => {
    const nested = new Table({
      v: vectorFromArray([[1, 2], [3]], new List(new Field('item', new Float32()))),
      words: vectorFromArray([['a', 'b'], ['c']], new List(new Field('item', new Utf8()))),
      st: vectorFromArray(
        [
          { a: [1, 2], s: 'x' },
          { a: [3], s: 'y' },
        ],
        new Struct([new Field('a', new List(new Field('item', new Float32()))), new Field('s', new Utf8())]),
      ),
      bin: vectorFromArray([Uint8Array.of(7, 8), Uint8Array.of(9)], new Binary()),
    });
    const ds = await ArrowDataset.open<{
      v: Float32Array;
      words: string[];
      st: { a: Float32Array; s: string };
      bin: Uint8Array;
    }>(files.write('nested.arrow', tableToIPC(nested, 'file')));
    const expected = {
      v: Float32Array.of(1, 2),
      words: ['a', 'b'],
      st: { a: Float32Array.of(1, 2), s: 'x' },
      bin: Uint8Array.of(7, 8),
    };
    const first = await ds.get(0);
    expect(first).toEqual(expected);
    first.v[0] = 999;
    first.words[0] = 'z';
    first.st.a[0] = 999;
    first.st.s = 'changed';
    first.bin[0] = 99;
    expect(ds.get(0)).toEqual(expected);
  });

  it('gives a block-aware shuffle one miss per record batch', async () => {
    const many = writeArrow(files.path('many.arrow'), 200, 10);
    const ds = await ArrowDataset.open(many, { cacheBlocks: 2 });
    const loader = new DataLoader({
      dataset: ds,
      sampler: new BlockShuffleSampler(ds, { seed: 2 }),
      batchSize: 8,
    });
    for await (const _ of loader);
    expect(ds.cacheStats).toEqual({ hits: 180, misses: 20, hitRate: 0.9 });
  });

  it('refuses the stream format, other files, truncated files, naming them', async () => {
    const stream = writeArrow(files.path('s.arrows'), 10, 5, 'stream');
    await expect(ArrowDataset.open(stream)).rejects.toThrow(
      `${stream} is not an Arrow IPC file: it is in the stream format, which has no footer and allows no random access; write the file format`,
    );
    const text = files.write('text.arrow', 'not arrow at all, just some text\n'.repeat(4));
    await expect(ArrowDataset.open(text)).rejects.toThrow(
      `${text} is not an Arrow IPC file: it does not start with "ARROW1"`,
    );
    const bytes = readFileSync(table);
    const cut = files.write('cut.arrow', bytes.subarray(0, bytes.length - 40));
    const e = await ArrowDataset.open(cut).catch((x) => x);
    expect(e).toBeInstanceOf(FileError);
    expect(e.message).toBe(`${cut} is truncated: an Arrow IPC file ends with "ARROW1", this one does not`);
    const missing = files.path('missing.arrow');
    await expect(ArrowDataset.open(missing)).rejects.toThrow(`cannot open ${missing}: no such file`);
  });

  it('fails on a corrupt record batch, naming the file and rows', async () => {
    const bytes = Buffer.from(readFileSync(table));
    // The second batch's header starts at the offset the footer gives; garble its metadata.
    bytes.fill(0x7f, 470, 560);
    const bad = files.write('corrupt.arrow', bytes);
    const e = await (async () => {
      try {
        const ds = await ArrowDataset.open(bad);
        await ds.get(15);
      } catch (x) {
        return x as FileError;
      }
    })();
    expect(e).toBeInstanceOf(FileError);
    expect(e?.message).toBe(
      `${bad} is not a valid Arrow IPC file: Unrecognized Message type: { name: NONE, type: 0 }`,
    );
  });

  it('detects a file changed after opening', async () => {
    const file = writeArrow(files.path('changes.arrow'), 25, 10);
    const ds = await ArrowDataset.open(file);
    expect(await ds.get(0)).toEqual(row(0));
    rewrite(file, readFileSync(writeArrow(files.path('other.arrow'), 26, 10)));
    await expect(ds.get(12)).rejects.toThrow(
      new RegExp(
        `^${quoteRe(file)} changed after the dataset was opened \\(size \\d+ → \\d+ bytes, modified .*\\); open the dataset again$`,
      ),
    );
    writeFileSync(file, '');
  });

  it('rejects bad options all at once, and columns the file lacks', async () => {
    const e = await ArrowDataset.open(table, { columns: 'id', cacheBlocks: 1.5 } as never).catch((x) => x);
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.issues).toEqual([
      '`columns` must be an array of column names, got "id"',
      '`cacheBlocks` must be a positive integer, got 1.5',
    ]);
    await expect(ArrowDataset.open(table, { columns: ['label'] })).rejects.toThrow(
      `invalid ArrowDataset options: \`columns\` names "label", which is not a column of ${table}; its columns are "id", "x", "name"`,
    );
  });
});
