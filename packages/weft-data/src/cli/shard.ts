// `weft shard MODULE --out DIR`: writes the dataset a module exports as MDS shards (ShardWriter), loading
// the module as `fromModule` does, so the export may be a dataset or a factory that makes one.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe } from '../core/checks.ts';
import type { Dataset } from '../core/dataset.ts';
import { ConfigError } from '../core/errors.ts';
import type { ShardWriterOptions } from '../files/shard-writer.ts';
import type { Command } from './command.ts';

const UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 2 ** 10,
  m: 2 ** 20,
  g: 2 ** 30,
  t: 2 ** 40,
};

/**
 * A size in bytes from text: a number, optionally with a unit (`KiB`, `MiB`, `GiB`, `TiB`; `kb`, `mb`… mean
 * the same powers of 1024, as in Mosaic's `size_limit`).
 *
 * @param text - e.g. `64MiB`, `100kb`, `65536`
 * @returns the bytes, or undefined when `text` is not a size
 * @example
 * ```ts
 * parseSize('64MiB'); // 67108864
 * ```
 */
export function parseSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:([kmgt]?)(?:i?b)?)?\s*$/i.exec(text);
  if (m === null) return undefined;
  const bytes = Number(m[1]) * (UNITS[(m[2] ?? '').toLowerCase()] as number);
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined;
}

export const command: Command = {
  usage: 'MODULE --out DIR [options]',
  summary:
    "Write the dataset that MODULE exports as MDS shards (Mosaic's format), read back by MdsDataset and by Mosaic's StreamingDataset.",
  options: {
    export: {
      type: 'string',
      value: 'NAME',
      help: 'the export: a dataset, or a function that returns one (called with --options) (default: default)',
    },
    options: { type: 'string', value: 'JSON', help: 'the argument of that function' },
    out: { type: 'string', value: 'DIR', help: 'the output directory (must not hold an index.json)' },
    'size-limit': {
      type: 'string',
      value: 'SIZE',
      help: 'the largest shard: bytes, or with a unit (KiB, MiB, GiB; kb, mb, gb mean the same, as in Mosaic) (default: 64MiB)',
    },
    columns: {
      type: 'string',
      value: 'SPEC',
      help: 'name=encoding pairs, comma-separated (x=float32,label=int); default: inferred from the first item',
    },
    compression: { type: 'string', value: 'C', help: 'gz or br, optionally with a level (gz:6)' },
    hashes: { type: 'string', value: 'LIST', help: 'comma-separated hashes for the index (sha1,md5)' },
  },
  async run({ values, positionals }) {
    const text = (name: string): string | undefined => values[name] as string | undefined;
    const issues: string[] = [];
    if (positionals.length !== 1) issues.push(`takes one MODULE, got ${positionals.length}`);
    if (text('out') === undefined) issues.push('needs --out DIR');
    const sizeLimit = parseSize(text('size-limit') ?? '64MiB');
    if (sizeLimit === undefined) {
      issues.push(
        `--size-limit must be a size such as 65536, 512KiB or 64MiB, got ${describe(text('size-limit'))}`,
      );
    }
    let options: unknown;
    const json = text('options');
    if (json !== undefined) {
      try {
        options = JSON.parse(json);
      } catch (e) {
        issues.push(`--options must be JSON: ${(e as Error).message}`);
      }
    }
    let columns: Record<string, string> | undefined;
    const spec = text('columns');
    if (spec !== undefined) {
      columns = {};
      for (const pair of spec.split(',')) {
        const [name, encoding] = pair.split('=');
        if (name === undefined || name === '' || encoding === undefined || encoding === '') {
          issues.push(`--columns must be name=encoding pairs separated by commas, got ${describe(pair)}`);
        } else columns[name.trim()] = encoding.trim();
      }
    }
    if (issues.length > 0) throw new ConfigError(`weft shard ${issues.join('; ')}`, issues);
    const exported = text('export') ?? 'default';
    const url = pathToFileURL(resolve(positionals[0] as string));
    // The writer (and zod) only now: `weft --help` loads neither.
    const [{ fromModule }, { ShardWriter }] = await Promise.all([
      import('../core/recipe.ts'),
      import('../files/shard-writer.ts'),
    ]);
    const dataset = await fromModule<Dataset<Record<string, unknown>>>(url, exported, options);
    if (
      typeof (dataset as Partial<Dataset<unknown>>).get !== 'function' ||
      !Number.isSafeInteger(dataset.length)
    ) {
      throw new ConfigError(
        `weft shard: export \`${exported}\` of ${url.href} gave ${describe(dataset)}, not a dataset (an object with \`length\` and \`get\`)`,
      );
    }
    const compression = text('compression');
    const hashes = text('hashes');
    const writerOptions: ShardWriterOptions = {
      out: text('out') as string,
      sizeLimit: sizeLimit as number,
      ...(columns === undefined ? {} : { columns }),
      ...(compression === undefined ? {} : { compression }),
      ...(hashes === undefined ? {} : { hashes: hashes.split(',').map((h) => h.trim()) }),
    };
    const summary = await ShardWriter.writeDataset(dataset, writerOptions);
    const encodings = Object.entries(summary.columns)
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ');
    console.log(
      `wrote ${summary.samples} samples in ${summary.shards} shards to ${writerOptions.out} (${encodings})`,
    );
  },
};
