import { describe, expect, it } from 'vitest';
import { BinaryDataset, ConfigError, FileError } from '../src/index.ts';
import { rewrite, tempFiles } from './fixtures/files.ts';

const files = tempFiles('binary');
const bytes = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const tokens = (n: number): Uint16Array => Uint16Array.from({ length: n }, (_, i) => (i * 7) % 65_536);

describe('BinaryDataset', () => {
  it('gives fixed-size records with one read each', async () => {
    const data = tokens(40);
    const ds = await BinaryDataset.open(files.write('t.u16', bytes(data)), {
      dtype: 'uint16',
      sequenceLength: 8,
    });
    expect(ds.length).toBe(5);
    const item = await ds.get(3);
    expect(item).toBeInstanceOf(Uint16Array);
    expect([...item]).toEqual([...data.subarray(24, 32)]);
    expect(() => ds.get(5)).toThrow('index 5 is out of range for a dataset of length 5');
  });

  it('supports overlapping windows, a header and dropping the remainder (token shards)', async () => {
    const data = tokens(103);
    const file = files.write('shard.bin', new Uint8Array([...new Uint8Array(16).fill(9), ...bytes(data)]));
    const ds = await BinaryDataset.open(file, {
      dtype: 'uint16',
      sequenceLength: 11,
      stride: 10,
      headerBytes: 16,
      remainder: 'drop',
    });
    expect(ds.length).toBe(10); // windows start at 0, 10, …, 90; 90 + 11 ≤ 103
    expect([...(await ds.get(9))]).toEqual([...data.subarray(90, 101)]);
    expect([...(await ds.get(0))]).toEqual([...data.subarray(0, 11)]);
  });

  it('reads float32 and other types', async () => {
    const data = Float32Array.from({ length: 12 }, (_, i) => i / 4);
    const ds = await BinaryDataset.open(files.write('f.f32', bytes(data)), {
      dtype: 'float32',
      sequenceLength: 3,
    });
    expect(ds.get(2)).toEqual(Float32Array.of(1.5, 1.75, 2));
  });

  it('fails on a truncated file, naming the offset', async () => {
    const file = files.write('odd.u32', new Uint8Array(4 * 6 + 3));
    await expect(BinaryDataset.open(file, { dtype: 'uint32', sequenceLength: 2 })).rejects.toThrow(
      new FileError(
        `${file} is truncated: its 27 bytes after the header are not a whole number of uint32 elements (4 bytes each); the last element starts at byte 24`,
        { file, offset: 24 },
      ),
    );
    const partial = files.write('partial.u16', bytes(tokens(21)));
    const e = await BinaryDataset.open(partial, { dtype: 'uint16', sequenceLength: 4 }).catch((x) => x);
    expect(e).toBeInstanceOf(FileError);
    expect(e.message).toBe(
      `${partial} has 1 uint16 elements after its last whole item (at byte 40): a truncated file? Pass remainder: 'drop' to ignore them`,
    );
    expect([e.offset, e.row]).toEqual([40, 5]);
    const short = files.write('short.bin', new Uint8Array(3));
    await expect(
      BinaryDataset.open(short, { dtype: 'uint8', sequenceLength: 1, headerBytes: 8 }),
    ).rejects.toThrow(`${short} is truncated: it has 3 bytes, fewer than the 8-byte header`);
  });

  it('detects a file changed after opening', async () => {
    const file = files.write('changes.u16', bytes(tokens(16)));
    const ds = await BinaryDataset.open(file, { dtype: 'uint16', sequenceLength: 4 });
    expect((await ds.get(3)).length).toBe(4);
    rewrite(file, bytes(tokens(8)));
    // The descriptor is open already: the next periodic check, or the short read, finds it.
    let caught: unknown;
    for (let k = 0; k < 300 && caught === undefined; k++) {
      try {
        ds.get(k % 4);
      } catch (e) {
        caught = e;
      }
    }
    expect(caught).toBeInstanceOf(FileError);
    expect((caught as Error).message).toMatch(
      /changed after the dataset was opened \(size 32 → 16 bytes, modified .* → .*\); open the dataset again$/,
    );
    ds.close();
    expect(() => ds.get(0)).toThrow(`${file} changed after the dataset was opened (size 32 → 16 bytes`);
  });

  it('names a missing file and rejects bad options, every problem at once', async () => {
    const missing = files.path('nope.bin');
    await expect(BinaryDataset.open(missing, { dtype: 'uint8', sequenceLength: 1 })).rejects.toThrow(
      `cannot open ${missing}: no such file`,
    );
    const e = await BinaryDataset.open('', {
      dtype: 'u16',
      sequenceLength: 0,
      stride: 1.5,
      headerBytes: -1,
      remainder: 'keep',
    } as never).catch((x) => x);
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.issues).toEqual([
      '`path` must be a file path, a file: URL, or an http://, https:// or s3:// URL, got ""',
      "`dtype` must be one of 'uint8', 'int8', 'uint16', 'int16', 'uint32', 'int32', 'float32', 'float64', got \"u16\"",
      '`sequenceLength` must be a positive integer, got 0',
      '`stride` must be a positive integer, got 1.5',
      '`headerBytes` must be a non-negative integer, got -1',
      "`remainder` must be 'error' or 'drop', got \"keep\"",
    ]);
    await expect(BinaryDataset.open('a.bin', undefined as never)).rejects.toThrow(
      'invalid BinaryDataset options: `options` must be an object with `dtype` and `sequenceLength`, got undefined',
    );
  });
});
