// What a `weft` subcommand is, and the one parser of its command line. A subcommand is a module of this
// folder exporting `command` (keep its top level light: import what `run` needs inside `run`, so that
// `weft --help` stays fast), registered by one line in main.ts's COMMANDS.
import { parseArgs } from 'node:util';
import { closest } from '../core/suggest.ts';

/** One option of a subcommand: `--name VALUE` (`string`) or a flag (`boolean`). */
export interface CommandOption {
  type: 'string' | 'boolean';
  /** What the value is, for the help and for "needs a value" (`DIR`, `N`); string options only. */
  value?: string;
  /** One letter, for `-x`. */
  short?: string;
  /** What it does, for the help. */
  help: string;
}

/** A `weft` subcommand. */
export interface Command {
  /** The arguments after the command's name, e.g. `CONFIG [--out DIR]`. */
  usage: string;
  /** What the command does, in a sentence or two; the help wraps it to the terminal. */
  summary: string;
  /** Printed verbatim at the end of the command's help (an example file, say); optional. */
  example?: string;
  /** The options it takes, by name without dashes (`--help` is added to every command). */
  options: Readonly<Record<string, CommandOption>>;
  /** Runs it; throw {@link UsageError} for a bad command line (exit code 2). */
  run(args: {
    values: Readonly<Record<string, string | boolean | undefined>>;
    positionals: readonly string[];
  }): Promise<void>;
}

/** A bad command line: the CLI prints `weft: MESSAGE` and exits with code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * Parses `args` against `options`: every option is known (else a {@link UsageError} naming it, with the
 * closest known one), string options have a value and flags have none. `who` is the command as typed
 * (`weft` or `weft plan`), for the messages.
 */
export function parseCommandLine(
  who: string,
  args: readonly string[],
  options: Readonly<Record<string, CommandOption>>,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  // Node's strict mode would throw its own advice about positionals and quotes: parse leniently, then judge.
  const { tokens } = parseArgs({
    args: [...args],
    options: Object.fromEntries(
      Object.entries(options).map(([name, { type, short }]) => [name, short ? { type, short } : { type }]),
    ),
    allowPositionals: true,
    strict: false,
    tokens: true,
  });
  const values: Record<string, string | boolean | undefined> = {};
  const positionals: string[] = [];
  for (const token of tokens) {
    if (token.kind === 'positional') positionals.push(token.value);
    if (token.kind !== 'option') continue;
    const option = options[token.name];
    if (option === undefined) {
      const near = closest(
        token.rawName.replace(/^-+/, '--'),
        Object.keys(options).map((name) => `--${name}`),
      );
      const where = who === 'weft' ? '' : ` for ${who}`;
      const hint = near === undefined ? `see ${who} --help` : `did you mean ${near}?`;
      throw new UsageError(`unknown option ${token.rawName}${where}; ${hint}`);
    }
    if (option.type === 'string') {
      if (token.value === undefined || (!token.inlineValue && token.value.startsWith('-'))) {
        throw new UsageError(
          `${token.rawName} needs a value: ${who} … ${token.rawName} ${option.value ?? 'VALUE'}`,
        );
      }
      values[token.name] = token.value;
    } else {
      if (token.inlineValue) {
        throw new UsageError(`${token.rawName} takes no value, got ${JSON.stringify(token.value)}`);
      }
      values[token.name] = true;
    }
  }
  return { values, positionals };
}

/**
 * `text` (one line) folded at spaces into lines of at most `width` columns where it is longer: the first
 * indented by `indent`, the others by `hang` (so that a continuation stands under its column). Spaces
 * inside a line are kept, so that aligned columns stay aligned.
 */
export function fold(text: string, width: number, indent: number, hang = indent): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.trimStart().match(/\S+ */g) ?? []) {
    const margin = lines.length === 0 ? indent : hang;
    if (line !== '' && margin + line.length + word.trimEnd().length > width) {
      lines.push(' '.repeat(margin) + line.trimEnd());
      line = word;
    } else line += word;
  }
  lines.push(' '.repeat(lines.length === 0 ? indent : hang) + line.trimEnd());
  return `${lines.join('\n')}\n`;
}
