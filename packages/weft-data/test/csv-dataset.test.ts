import { describe, expect, it } from 'vitest';
import { ConfigError, CsvDataset, FileError } from '../src/index.ts';
import { rewrite, tempFiles } from './fixtures/files.ts';

const files = tempFiles('csv');

const people = [
  'name,born,score,note',
  'Ada,1815,9.5,"wrote the first program, ""Note G"""',
  'Alan,1912,9.25,"a note',
  'on two lines"',
  'Grace,1906,8.75,',
  '',
].join('\n');

describe('CsvDataset', () => {
  it('gives records as strings by default, with quoted fields spanning lines', async () => {
    const ds = await CsvDataset.open(files.write('people.csv', people));
    expect(ds.header).toEqual(['name', 'born', 'score', 'note']);
    expect(ds.length).toBe(3);
    expect(ds.get(1)).toEqual({ name: 'Alan', born: '1912', score: '9.25', note: 'a note\non two lines' });
    expect(ds.get(0)).toEqual({
      name: 'Ada',
      born: '1815',
      score: '9.5',
      note: 'wrote the first program, "Note G"',
    });
    expect(ds.get(2)).toEqual({ name: 'Grace', born: '1906', score: '8.75', note: '' });
  });

  it('reads CR-only line endings (classic Mac OS, some spreadsheet exports), quoted line breaks too', async () => {
    const ds = await CsvDataset.open(files.write('people-cr.csv', people.replaceAll('\n', '\r')), {
      columns: { name: 'string', born: 'int32', note: 'string' },
    });
    expect(ds.header).toEqual(['name', 'born', 'score', 'note']);
    expect(ds.length).toBe(3);
    expect([0, 1, 2].map((i) => ds.get(i))).toEqual([
      { name: 'Ada', born: 1815, note: 'wrote the first program, "Note G"' },
      { name: 'Alan', born: 1912, note: 'a note\ron two lines' },
      { name: 'Grace', born: 1906, note: '' },
    ]);
    const bad = files.write('bad-cr.csv', 'a,b\r1,x\r');
    const typed = await CsvDataset.open(bad, { columns: { b: 'int32' } });
    expect(() => typed.get(0)).toThrow(`${bad}, line 2: \`b\` must be an int32, got "x"`);
    const mixed = files.write('mixed.csv', 'a,b\r1,2\n3,4\r');
    await expect(CsvDataset.open(mixed)).rejects.toThrow(
      `${mixed}: byte 7 is a line feed, but the file's lines end with a carriage return alone (classic Mac OS line endings): mixed line endings; convert the file to one kind`,
    );
  });

  it('reads typed columns (a projection), CRLF, a BOM, other delimiters and quotes', async () => {
    const text = `\ufeffx;label;name;flag\r\n0.1;3;'a;b';true\r\n-2.5e3;-7;c;0\r\n`;
    const ds = await CsvDataset.open(files.write('typed.csv', text), {
      columns: { label: 'int32', x: 'float32', name: 'string', flag: 'boolean' },
      delimiter: ';',
      quote: "'",
    });
    expect(ds.get(0)).toEqual({ label: 3, x: Math.fround(0.1), name: 'a;b', flag: true });
    expect(ds.get(1)).toEqual({ label: -7, x: -2500, name: 'c', flag: false });
    const x: number = (await ds.get(0)).x; // typed from `columns`
    expect(x).toBeCloseTo(0.1);
    const only = await CsvDataset.open(files.path('typed.csv'), {
      columns: { x: 'float64' },
      delimiter: ';',
      quote: "'",
    });
    expect(only.get(1)).toEqual({ x: -2500 });
  });

  it('fails on values of the wrong type, wrong field counts and bad quotes, naming file and line', async () => {
    const file = files.write('bad.csv', 'a,b\n1,2\n"x\n3",four\n5\n6,"7"x\n1,2\n');
    // Line 3 opens a quote closed on line 4: one record over two lines.
    const ds = await CsvDataset.open(file, { columns: { a: 'int32', b: 'int32' } });
    expect(ds.length).toBe(5);
    expect(() => ds.get(1)).toThrow(`${file}, line 3: \`a\` must be an int32, got "x\\n3"`);
    const e = (() => {
      try {
        ds.get(2);
      } catch (x) {
        return x as FileError;
      }
    })();
    expect(e?.message).toBe(`${file}, line 5: 1 field, but the header has 2`);
    expect([e?.line, e?.row]).toEqual([5, 2]);
    expect(() => ds.get(3)).toThrow(
      `${file}, line 6: Invalid Closing Quote: got "x" at line 1 instead of delimiter, record delimiter, trimable character (if activated) or comment`,
    );
    expect(ds.get(4)).toEqual({ a: 1, b: 2 });
    const typed = await CsvDataset.open(files.write('types.csv', 'a,b\n1.5,x\n'), {
      columns: { a: 'int32', b: 'float32' },
    });
    expect(() => typed.get(0)).toThrow(
      `${files.path('types.csv')}, line 2: \`a\` must be an int32, got "1.5"`,
    );
    const floats = await CsvDataset.open(files.path('types.csv'), { columns: { b: 'float32' } });
    expect(() => floats.get(0)).toThrow(
      `${files.path('types.csv')}, line 2: \`b\` must be a float32, got "x"`,
    );
  });

  it('fails on a quote left open at the end (a truncated file), an empty file, a repeated column', async () => {
    const cut = files.write('cut.csv', 'a,b\n1,"two\nlines');
    await expect(CsvDataset.open(cut)).rejects.toThrow(
      new FileError(
        `${cut}, line 2: a quoted field is still open at the end of the file (a truncated file?)`,
        {
          file: cut,
          line: 2,
          offset: 16,
        },
      ),
    );
    const empty = files.write('empty.csv', '');
    await expect(CsvDataset.open(empty)).rejects.toThrow(`${empty} has no header line: the file is empty`);
    const twice = files.write('twice.csv', 'a,b,a\n1,2,3\n');
    await expect(CsvDataset.open(twice)).rejects.toThrow(
      `${twice}, line 1: the header names column "a" twice`,
    );
    const missing = files.path('missing.csv');
    await expect(CsvDataset.open(missing)).rejects.toThrow(`cannot open ${missing}: no such file`);
  });

  it('detects a file changed after opening', async () => {
    const file = files.write('changes.csv', people);
    const ds = await CsvDataset.open(file);
    expect((await ds.get(0)).name).toBe('Ada');
    rewrite(file, people.replace('Ada', 'Adah'));
    expect(() => ds.get(2)).toThrow(
      new RegExp(
        `^${file.replaceAll('.', '\\.')} changed after the dataset was opened \\(size 126 → 127 bytes, modified .* → .*\\); open the dataset again$`,
      ),
    );
  });

  it('rejects bad options with every problem at once, and columns the header lacks', async () => {
    const e = await CsvDataset.open(
      7 as never,
      {
        columns: { x: 'float16' },
        delimiter: ';;',
        quote: '\n',
        header: false,
      } as never,
    ).catch((x) => x);
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.issues).toEqual([
      '`path` must be a file path, a file: URL, or an http://, https:// or s3:// URL, got 7',
      "`columns.x` must be one of 'string', 'float32', 'float64', 'int32', 'boolean', got \"float16\"",
      '`delimiter` must be a single character, got ";;"',
      '`quote` must be a single character other than a line break, got "\\n"',
      '`header` is not a known option',
    ]);
    await expect(CsvDataset.open('a.csv', { delimiter: '|', quote: '|' })).rejects.toThrow(
      'invalid CsvDataset options: `quote` must differ from `delimiter`, both are "|"',
    );
    const file = files.write('cols.csv', 'a,b\n1,2\n');
    await expect(CsvDataset.open(file, { columns: { a: 'int32', c: 'int32', d: 'string' } })).rejects.toThrow(
      `invalid CsvDataset options: \`columns.c\` is not a column of ${file}; its columns are "a", "b"; \`columns.d\` is not a column of ${file}; its columns are "a", "b"`,
    );
  });
});
