// `weft shard` as a user runs it: the compiled bin writes a module's dataset as MDS shards, which MdsDataset
// reads back.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MdsDataset } from '../src/index.ts';
import { tempFiles } from './fixtures/files.ts';
import { weft } from './fixtures/weft-cli.ts';

const files = tempFiles('shard-cli');

const module = files.write(
  'data.mjs',
  `export default { length: 40, get: (i) => ({ id: i, x: i / 2, name: 'item ' + i }) };
export const make = ({ n }) => ({ length: n, get: async (i) => ({ label: i % 3, v: Float32Array.of(i, -i) }) });
export const notData = 42;
`,
);

describe('weft shard', () => {
  it('writes a module export as MDS shards of the size limit, read back by MdsDataset', async () => {
    const out = files.path('default');
    const r = await weft(['shard', module, '--out', out, '--size-limit', '1KiB', '--hashes', 'sha1']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const index = JSON.parse(readFileSync(`${out}/index.json`, 'utf8')) as {
      shards: { size_limit: number }[];
    };
    expect(r.stdout).toBe(
      `wrote 40 samples in ${index.shards.length} shards to ${out} (id: float64, name: str, x: float64)\n`,
    );
    expect(index.shards.length).toBeGreaterThan(1);
    expect(index.shards[0]?.size_limit).toBe(1024);
    const ds = await MdsDataset.open(out);
    expect(await ds.get(39)).toEqual({ id: 39, x: 19.5, name: 'item 39' });
  });

  it('calls a factory export with --options, and takes --columns', async () => {
    const out = files.path('factory');
    const r = await weft([
      'shard',
      module,
      '--export',
      'make',
      '--options',
      '{"n": 7}',
      '--columns',
      'label=uint8,v=ndarray:float32:2',
      '--out',
      out,
      '--compression',
      'br',
    ]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`wrote 7 samples in 1 shards to ${out} (label: uint8, v: ndarray:float32:2)\n`);
    expect(await (await MdsDataset.open(out)).get(5)).toEqual({
      label: 2,
      v: { data: Float32Array.of(5, -5), shape: [2] },
    });
  });

  it('prints its help, and is listed in the main help', async () => {
    const help = await weft(['shard', '--help']);
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect(help.stdout).toContain('  --size-limit SIZE  the largest shard: bytes, or with a unit');
    expect((await weft(['--help'])).stdout).toContain('weft shard MODULE --out DIR [options]');
  });

  it('reports a bad command line, a bad export and a bad value with exit code 2', async () => {
    const usage = await weft(['shard', '--size-limit', 'lots', '--columns', 'x']);
    expect(usage).toMatchObject({ code: 2, stdout: '' });
    expect(usage.stderr).toBe(
      'weft: weft shard takes one MODULE, got 0; needs --out DIR; --size-limit must be a size such as 65536, 512KiB or 64MiB, got "lots"; --columns must be name=encoding pairs separated by commas, got "x"\n',
    );
    const notData = await weft(['shard', module, '--export', 'notData', '--out', files.path('x')]);
    expect(notData.stderr).toMatch(
      /^weft: export `notData` of file:\/\/.*data\.mjs gave 42; fromModule needs an object or a function\n$/,
    );
    const bad = await weft(['shard', module, '--columns', 'name=int', '--out', files.path('y')]);
    expect(bad).toMatchObject({ code: 2 });
    expect(bad.stderr).toBe(
      'weft: ShardWriter: item 0, column "name" (int): must be an integer (a safe one, or a bigint), got "item 0"\n',
    );
  });
});
