import { describe, expect, it } from 'vitest';
import { OffsetList } from '../src/files/lines.ts';
import { ConfigError, FileError, JsonlDataset } from '../src/index.ts';
import { mtimeIso, rewrite, tempFiles } from './fixtures/files.ts';

const files = tempFiles('jsonl');
const lines = (n: number): string =>
  Array.from({ length: n }, (_, i) => JSON.stringify({ i, text: `row ${i}` })).join('\n');

async function error(p: Promise<unknown> | (() => unknown)): Promise<FileError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    expect(e).toBeInstanceOf(FileError);
    return e as FileError;
  }
  throw new Error('expected a FileError');
}

describe('JsonlDataset', () => {
  it('gives each line parsed, by index, with or without a final newline, LF or CRLF, with a BOM', async () => {
    for (const [name, text] of [
      ['plain.jsonl', `${lines(5)}\n`],
      ['no-final-newline.jsonl', lines(5)],
      ['crlf.jsonl', `\ufeff${lines(5).replaceAll('\n', '\r\n')}\r\n`],
    ] as const) {
      const ds = await JsonlDataset.open(files.write(name, text));
      expect(ds.length, name).toBe(5);
      expect(
        [4, 0, 2].map((i) => ds.get(i)),
        name,
      ).toEqual([4, 0, 2].map((i) => ({ i, text: `row ${i}` })));
      ds.close();
    }
  });

  it('reads CR-only line endings (classic Mac OS), and refuses a file that mixes them with LF', async () => {
    for (const [name, text] of [
      ['cr.jsonl', `${lines(5).replaceAll('\n', '\r')}\r`],
      ['cr-no-final.jsonl', `\ufeff${lines(5).replaceAll('\n', '\r')}`],
    ] as const) {
      const ds = await JsonlDataset.open(files.write(name, text));
      expect(ds.length, name).toBe(5);
      expect([4, 0, 2].map((i) => ds.get(i))).toEqual([4, 0, 2].map((i) => ({ i, text: `row ${i}` })));
      ds.close();
    }
    const mixed = files.write('mixed.jsonl', '1\r2\r3\n4\r');
    const error = await JsonlDataset.open(mixed).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FileError);
    expect((error as FileError).message).toBe(
      `${mixed}: byte 5 is a line feed, but the file's lines end with a carriage return alone (classic Mac OS line endings): mixed line endings; convert the file to one kind`,
    );
    expect((error as FileError).offset).toBe(5);
  });

  it('handles an empty file, a file URL and lines of any length', async () => {
    expect((await JsonlDataset.open(files.write('empty.jsonl', ''))).length).toBe(0);
    const long = 'x'.repeat(100_000);
    const file = files.write('long.jsonl', `"a"\n"${long}"\n[1,2]\n`);
    const ds = await JsonlDataset.open(new URL(`file://${file}`));
    expect([ds.get(1), ds.get(0), ds.get(2)]).toEqual([long, 'a', [1, 2]]);
  });

  it('indexes a file larger than its read chunk (lines across chunk boundaries)', async () => {
    const n = 70_000;
    const text = Array.from({ length: n }, (_, i) => JSON.stringify({ i, pad: 'p'.repeat(i % 97) })).join(
      '\n',
    );
    expect(text.length).toBeGreaterThan(4 << 20);
    const ds = await JsonlDataset.open(files.write('big.jsonl', text));
    expect(ds.length).toBe(n);
    for (const i of [0, 1, 55_000, 55_001, n - 1]) expect((ds.get(i) as { i: number }).i).toBe(i);
  });

  it('fails on a malformed or empty line, naming file and line, and never skips it', async () => {
    const file = files.write('bad.jsonl', '{"a":1}\n{"a":2}\n{"a":\n\n{"a":5}\n');
    const ds = await JsonlDataset.open(file);
    expect(ds.length).toBe(5);
    expect(ds.get(4)).toEqual({ a: 5 });
    let parseMessage = '';
    try {
      JSON.parse('{"a":');
    } catch (e) {
      parseMessage = (e as Error).message;
    }
    const e = await error(() => ds.get(2));
    expect(e.message).toBe(`${file}, line 3: malformed JSON: ${parseMessage}`);
    expect([e.file, e.line, e.row]).toEqual([file, 3, 2]);
    expect((await error(() => ds.get(3))).message).toBe(
      `${file}, line 4: empty line (JSONL needs one JSON value per line)`,
    );
    // `validate` finds it while opening.
    expect((await error(JsonlDataset.open(file, { validate: true }))).message).toBe(
      `${file}, line 3: malformed JSON: ${parseMessage}`,
    );
  });

  it('rejects invalid UTF-8', async () => {
    const file = files.write('latin1.jsonl', Uint8Array.from([0x22, 0xe9, 0x22, 0x0a]));
    const ds = await JsonlDataset.open(file);
    expect((await error(() => ds.get(0))).message).toBe(`${file}, line 1: not valid UTF-8`);
  });

  it('names a missing file', async () => {
    const file = files.path('missing.jsonl');
    expect((await error(JsonlDataset.open(file))).message).toBe(`cannot open ${file}: no such file`);
  });

  it('detects a file changed after opening: on first read, and mid-use', async () => {
    const file = files.write('changes.jsonl', `${lines(4)}\n`);
    const ds = await JsonlDataset.open(file);
    const was = mtimeIso(file);
    rewrite(file, `${lines(4).replace('row 1', 'row X')}\n`); // same size, later mtime
    expect((await error(() => ds.get(0))).message).toBe(
      `${file} changed after the dataset was opened (modified ${was} → ${mtimeIso(file)}); open the dataset again`,
    );

    const again = await JsonlDataset.open(file);
    expect(again.get(0)).toEqual({ i: 0, text: 'row 0' });
    const size = `${lines(4)}\n`.length;
    rewrite(file, `[1]\n${lines(4)}\n`); // lines moved by 4 bytes
    const e = await error(() => again.get(2));
    expect(e.message).toMatch(
      new RegExp(
        `^${file.replaceAll('.', '\\.')} changed after the dataset was opened \\(size ${size} → ${size + 4} bytes, modified .* → .*\\); open the dataset again$`,
      ),
    );
  });

  it('detects a truncated file', async () => {
    const file = files.write('truncated.jsonl', `${lines(4)}\n`);
    const ds = await JsonlDataset.open(file);
    rewrite(file, lines(2));
    expect((await error(() => ds.get(3))).message).toContain(
      `${file} changed after the dataset was opened (size`,
    );
  });

  it('rejects bad arguments with every problem at once', async () => {
    const e = await JsonlDataset.open(42 as never, { validate: 'yes', extra: 1 } as never).catch((x) => x);
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).issues).toEqual([
      '`path` must be a file path, a file: URL, or an http://, https:// or s3:// URL, got 42',
      '`validate` must be a boolean, got "yes"',
      '`extra` is not a known option',
    ]);
    expect((e as Error).message).toBe(
      `invalid JsonlDataset options: ${(e as ConfigError).issues.join('; ')}`,
    );
    await expect(JsonlDataset.open('x.jsonl', null as never)).rejects.toThrow(
      'invalid JsonlDataset options: `options` must be an object, got null',
    );
    await expect(JsonlDataset.open(new URL('ftp://example.com/a.jsonl'))).rejects.toThrow(
      '`path` must be a file path, a file: URL, or an http://, https:// or s3:// URL, got ftp://example.com/a.jsonl',
    );
  });

  it('keeps its offsets in shared memory, growing past the reserve', () => {
    const list = new OffsetList(100, 4);
    for (let i = 0; i < 5000; i++) list.push(i * 3);
    const shared = list.share();
    expect(shared).toBeInstanceOf(Uint32Array);
    expect(shared.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(shared.length).toBe(5000);
    expect([shared[0], shared[4999]]).toEqual([0, 14_997]);
    expect(new OffsetList(2 ** 32).share()).toBeInstanceOf(Float64Array);
  });

  it('checks indices', async () => {
    const ds = await JsonlDataset.open(files.write('three.jsonl', '1\n2\n3\n'));
    expect(() => ds.get(3)).toThrow('index 3 is out of range for a dataset of length 3');
  });
});
