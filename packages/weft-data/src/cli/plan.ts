// `weft plan CONFIG [--out DIR]`: the schedule of a run described by a JSON or YAML file.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Command, fold, UsageError } from './command.ts';

export const command: Command = {
  usage: 'CONFIG [--out DIR]',
  summary:
    'Print the schedule of a run described by a JSON or YAML file (.json, .yaml, .yml): updates, evaluation passes and when they run. Its format is what weft schema prints.',
  options: {
    out: {
      type: 'string',
      value: 'DIR',
      help: 'also draw the timeline as DIR/plan.svg (needs the packages vega and vega-lite)',
    },
  },
  example: `Example (plan.yaml):
  trainSize: 60000
  config: { batchSize: 32, maxEpochs: 5 }
  callbacks:
    - { name: test, size: 10000, everyNEpochs: 1 }
`,
  async run({ values, positionals }) {
    if (positionals.length === 0) throw new UsageError('weft plan needs a CONFIG file; see weft plan --help');
    if (positionals.length > 1) {
      throw new UsageError(
        `weft plan takes one CONFIG file, got ${positionals.length}: ${positionals.join(' ')}`,
      );
    }
    // zod, the sampler, and vega only when needed: `weft --help` loads none of them.
    const { planFile } = await import('./plan-config.ts');
    const { plan, table } = await planFile(positionals[0] as string);
    printTable(table);
    if (typeof values.out === 'string') {
      const { renderSvg, timelineSpec } = await import('./timeline.ts');
      const svg = await renderSvg(timelineSpec(plan));
      mkdirSync(values.out, { recursive: true });
      const svgPath = join(values.out, 'plan.svg');
      writeFileSync(svgPath, svg);
      console.log(`timeline written to ${svgPath}`);
    }
  },
};

/**
 * The plan's table; on a terminal narrower than a line, a row's last cell folds under its column and the
 * summary under itself, instead of breaking words at the edge.
 */
function printTable(table: string): void {
  const columns = process.stdout.isTTY ? process.stdout.columns : undefined;
  if (columns === undefined) {
    console.log(table);
    return;
  }
  const lastColumn = table.indexOf('runs after updates');
  const lines = table.split('\n');
  const rows = lines.indexOf('');
  const hang = (i: number) => (i < rows && lastColumn > 0 && lastColumn <= columns - 16 ? lastColumn : 2);
  process.stdout.write(lines.map((line, i) => fold(line, columns - 1, 0, hang(i))).join(''));
}
