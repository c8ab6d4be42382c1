#!/usr/bin/env node
// The `weft` command: `weft plan CONFIG` and `weft schema`. It loads no machine-learning framework, so it
// starts fast; the training demo is a package of its own (examples/mnist).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError } from '../core/errors.ts';

const HELP = `weft — data loading for training loops (weft-data)

Usage:
  weft plan CONFIG [--out DIR]
                 print the schedule of a run described by a JSON or YAML
                 file (.json, .yaml, .yml; YAML needs the package yaml);
                 with --out, also draw its timeline as DIR/plan.svg (needs
                 the packages vega and vega-lite)
  weft schema    print the JSON Schema of plan config files
                 (also in the package: schema/plan-config.schema.json)
  weft shard MODULE --out DIR [options]
                 write the dataset a module exports as MDS shards
                 (see weft shard --help)
  weft --help    this text

A plan config: { "trainSize": 60000, "config": { "batchSize": 32, "maxEpochs": 5 },
                 "callbacks": [{ "name": "test", "size": 10000, "everyNEpochs": 1 }] }
`;

/** A bad command line: exit code 2. */
class UsageError extends Error {}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === 'shard') return (await import('./shard.ts')).shardCommand(argv.slice(1)); // its own options
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help || command === undefined || command === 'help') {
    process.stdout.write(HELP);
    return;
  }
  if (command === 'plan') {
    if (rest.length !== 1) throw new UsageError(`weft plan takes one CONFIG file, got ${rest.length}`);
    const { planFile } = await import('./plan-config.ts'); // zod and the sampler only when needed
    const { plan, table } = await planFile(rest[0] as string);
    console.log(table);
    if (typeof values.out === 'string') {
      const { renderSvg, timelineSpec } = await import('./timeline.ts');
      const svg = await renderSvg(timelineSpec(plan));
      mkdirSync(values.out, { recursive: true });
      const svgPath = join(values.out, 'plan.svg');
      writeFileSync(svgPath, svg);
      console.log(`timeline written to ${svgPath}`);
    }
    return;
  }
  if (command === 'schema') {
    if (rest.length > 0) throw new UsageError(`weft schema takes no arguments, got ${JSON.stringify(rest)}`);
    const { planConfigJsonSchema } = await import('./plan-config.ts');
    console.log(JSON.stringify(planConfigJsonSchema(), null, 2));
    return;
  }
  throw new UsageError(`unknown command ${JSON.stringify(command)}; see weft --help`);
}

main(process.argv.slice(2)).catch((e: unknown) => {
  // A bad command line or config file is the user's to fix: one line (or one line per problem), exit 2.
  const name = (e as Error).name;
  if (
    e instanceof UsageError ||
    e instanceof ConfigError ||
    name === 'PlanFileError' ||
    name === 'MissingPackageError'
  ) {
    console.error(`weft: ${(e as Error).message}`);
    process.exitCode = 2;
    return;
  }
  console.error(e);
  process.exitCode = 1;
});
