// `weft shard MODULE --out DIR`: writes the dataset a module exports as MDS shards (ShardWriter), loading
// the module as `fromModule` does, so the export may be a dataset or a factory that makes one.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { describe } from '../core/checks.ts';
import type { Dataset } from '../core/dataset.ts';
import { ConfigError } from '../core/errors.ts';
import { fromModule } from '../core/recipe.ts';
import { ShardWriter, type ShardWriterOptions } from '../files/shard-writer.ts';

/** The help of `weft shard`. */
export const SHARD_HELP = `weft shard MODULE --out DIR [options]
  write the dataset that MODULE exports as MDS shards (Mosaic's format), read
  back by MdsDataset and by Mosaic's StreamingDataset

  --export NAME       the export: a dataset, or a function that returns one
                      (called with --options) (default: default)
  --options JSON      the argument of that function
  --out DIR           the output directory (must not hold an index.json)
  --size-limit SIZE   the largest shard: bytes, or with a unit (KiB, MiB,
                      GiB; kb, mb, gb mean the same, as in Mosaic) (default: 64MiB)
  --columns SPEC      name=encoding pairs, comma-separated (x=float32,label=int);
                      default: inferred from the first item
  --compression C     gz or br, optionally with a level (gz:6)
  --hashes LIST       comma-separated hashes for the index (sha1,md5)
`;

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

/**
 * Runs `weft shard` with its arguments (after the command's name); prints what it wrote. A bad command
 * line is a {@link ConfigError} listing every problem.
 *
 * @param argv - e.g. `['data.mjs', '--export', 'train', '--out', 'mds']`
 * @example
 * ```ts
 * await shardCommand(['data.mjs', '--out', 'out/mds', '--size-limit', '16MiB']);
 * ```
 */
export async function shardCommand(argv: string[]): Promise<void> {
  let parsed: ReturnType<typeof parseShardArgs>;
  try {
    parsed = parseShardArgs(argv);
  } catch (e) {
    throw new ConfigError(`weft shard: ${(e as Error).message}`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(SHARD_HELP);
    return;
  }
  const issues: string[] = [];
  if (positionals.length !== 1) issues.push(`takes one MODULE, got ${positionals.length}`);
  if (values.out === undefined) issues.push('needs --out DIR');
  const sizeLimit = parseSize(values['size-limit'] ?? '64MiB');
  if (sizeLimit === undefined) {
    issues.push(
      `--size-limit must be a size such as 65536, 512KiB or 64MiB, got ${describe(values['size-limit'])}`,
    );
  }
  let options: unknown;
  if (values.options !== undefined) {
    try {
      options = JSON.parse(values.options);
    } catch (e) {
      issues.push(`--options must be JSON: ${(e as Error).message}`);
    }
  }
  let columns: Record<string, string> | undefined;
  if (values.columns !== undefined) {
    columns = {};
    for (const pair of values.columns.split(',')) {
      const [name, encoding] = pair.split('=');
      if (name === undefined || name === '' || encoding === undefined || encoding === '') {
        issues.push(`--columns must be name=encoding pairs separated by commas, got ${describe(pair)}`);
      } else columns[name.trim()] = encoding.trim();
    }
  }
  if (issues.length > 0) throw new ConfigError(`weft shard ${issues.join('; ')}`, issues);
  const url = pathToFileURL(resolve(positionals[0] as string));
  const dataset = await fromModule<Dataset<Record<string, unknown>>>(
    url,
    values.export ?? 'default',
    options,
  );
  if (
    typeof (dataset as Partial<Dataset<unknown>>).get !== 'function' ||
    !Number.isSafeInteger(dataset.length)
  ) {
    throw new ConfigError(
      `weft shard: export \`${values.export ?? 'default'}\` of ${url.href} gave ${describe(dataset)}, not a dataset (an object with \`length\` and \`get\`)`,
    );
  }
  const writerOptions: ShardWriterOptions = {
    out: values.out as string,
    sizeLimit: sizeLimit as number,
    ...(columns === undefined ? {} : { columns }),
    ...(values.compression === undefined ? {} : { compression: values.compression }),
    ...(values.hashes === undefined ? {} : { hashes: values.hashes.split(',').map((h) => h.trim()) }),
  };
  const summary = await ShardWriter.writeDataset(dataset, writerOptions);
  const encodings = Object.entries(summary.columns)
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');
  console.log(
    `wrote ${summary.samples} samples in ${summary.shards} shards to ${writerOptions.out} (${encodings})`,
  );
}

function parseShardArgs(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      export: { type: 'string' },
      options: { type: 'string' },
      out: { type: 'string' },
      'size-limit': { type: 'string' },
      columns: { type: 'string' },
      compression: { type: 'string' },
      hashes: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
