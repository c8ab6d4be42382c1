#!/usr/bin/env node
// The `weft` command: `weft COMMAND …`, one module per command (command.ts says what a command is). It loads
// no machine-learning framework, and each command loads its own dependencies only when it runs, so it
// starts fast; the training demo is a package of its own (examples/mnist).
import { readFileSync } from 'node:fs';
import { ConfigError } from '../core/errors.ts';
import { closest } from '../core/suggest.ts';
import { type Command, type CommandOption, fold, parseCommandLine, UsageError } from './command.ts';

/** The subcommands by name. A new command is a module of this folder exporting `command`, and one line here. */
const COMMANDS: Readonly<Record<string, () => Promise<{ command: Command }>>> = {
  plan: () => import('./plan.ts'),
  schema: () => import('./schema.ts'),
  shard: () => import('./shard.ts'),
};

const HELP_OPTION: CommandOption = { type: 'boolean', short: 'h', help: 'print this help' };
const GLOBAL_OPTIONS: Readonly<Record<string, CommandOption>> = {
  help: HELP_OPTION,
  version: { type: 'boolean', help: 'print the version of weft-data' },
};

const version = (): string =>
  (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string })
    .version;

/** The help's width: the terminal's less one column, at most 79 and at least 40. */
const WIDTH = Math.max(40, Math.min(79, (process.stdout.columns ?? process.stderr.columns ?? 80) - 1));

const wrap = (text: string, indent: number): string => fold(text, WIDTH, indent);

/** The options of a help text: name and value, then what it does, aligned (or below, when narrow). */
function optionsHelp(options: Readonly<Record<string, CommandOption>>): string {
  const names = Object.entries(options).map(
    ([name, o]) =>
      `${o.short ? `-${o.short}, ` : ''}--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`,
  );
  const column = Math.max(...names.map((n) => n.length)) + 4;
  return Object.values(options)
    .map((o, i) => {
      const name = names[i] as string;
      if (WIDTH - column < 30) return `  ${name}\n${wrap(o.help, 6)}`;
      return `  ${name.padEnd(column - 2)}${wrap(o.help, column).trimStart()}`;
    })
    .join('');
}

async function mainHelp(): Promise<string> {
  let text = `${wrap(`weft ${version()}: data loading for training loops (weft-data)`, 0)}\nUsage: weft COMMAND [OPTIONS]\n\nCommands:\n`;
  for (const [name, load] of Object.entries(COMMANDS)) {
    const { command } = await load();
    text += `  ${['weft', name, command.usage].filter(Boolean).join(' ')}\n${wrap(command.summary, 6)}`;
  }
  return `${text}\nOptions:\n${optionsHelp(GLOBAL_OPTIONS)}\nweft COMMAND --help: the options of a command.\n`;
}

function commandHelp(name: string, command: Command): string {
  const example = command.example === undefined ? '' : `\n${command.example}`;
  return `Usage: ${['weft', name, command.usage].filter(Boolean).join(' ')}\n\n${wrap(command.summary, 0)}\nOptions:\n${optionsHelp(
    {
      ...command.options,
      help: HELP_OPTION,
    },
  )}${example}`;
}

async function main(argv: readonly string[]): Promise<void> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    // A bare `weft` did not do what was asked of it: the help, but as an error.
    process.stderr.write(await mainHelp());
    process.exitCode = 2;
    return;
  }
  if (first.startsWith('-')) {
    const { values, positionals } = parseCommandLine('weft', argv, GLOBAL_OPTIONS);
    if (positionals.length > 0) {
      throw new UsageError(
        `the command comes first: weft ${positionals[0]} ${argv.filter((a) => a !== positionals[0]).join(' ')}`,
      );
    }
    if (values.help) process.stdout.write(await mainHelp());
    else if (values.version) process.stdout.write(`${version()}\n`);
    return;
  }
  const load = Object.hasOwn(COMMANDS, first) ? COMMANDS[first] : undefined;
  if (load === undefined) {
    const near = closest(first, Object.keys(COMMANDS));
    const hint = near === undefined ? 'see weft --help' : `did you mean ${near}?`;
    throw new UsageError(`unknown command ${JSON.stringify(first)}; ${hint}`);
  }
  const { command } = await load();
  const { values, positionals } = parseCommandLine(`weft ${first}`, rest, {
    ...command.options,
    help: HELP_OPTION,
  });
  if (values.help) {
    process.stdout.write(commandHelp(first, command));
    return;
  }
  await command.run({ values, positionals });
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
    const message = `weft: ${(e as Error).message}`;
    // On a terminal, long lines fold under their own text instead of at the edge; piped, they stay whole.
    const columns = process.stderr.isTTY ? process.stderr.columns : undefined;
    process.stderr.write(
      columns === undefined
        ? `${message}\n`
        : message
            .split('\n')
            .map((line, i) => {
              const indent = line.length - line.trimStart().length;
              return fold(line, columns - 1, indent, i === 0 ? 6 : indent + 2);
            })
            .join(''),
    );
    process.exitCode = 2;
    return;
  }
  console.error(e);
  process.exitCode = 1;
});
