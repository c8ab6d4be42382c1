// The one way weft reports invalid options: every problem at once, each naming the field (as the user wrote
// it, `callbacks[0].everyNEpochs`), what was expected, and the value given.
import type { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { describe } from './checks.ts';

/** `['callbacks', 0, 'everyNEpochs']` → `callbacks[0].everyNEpochs`. */
export function fieldPath(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' || out.endsWith('.') ? String(key) : `.${String(key)}`;
  }
  return out;
}

/** Turns zod issues into weft's messages: the field in backticks, what was expected, the value given. */
export function zodIssues(error: z.ZodError, input: unknown, prefix = ''): string[] {
  return error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((k) => `\`${fieldPath(prefix, [...issue.path, k])}\` is not a known option`);
    }
    const value = issue.path.reduce<unknown>(
      (v, k) => (v as Record<PropertyKey, unknown> | undefined)?.[k as PropertyKey],
      input,
    );
    return [`\`${fieldPath(prefix, issue.path)}\` ${issue.message}, got ${describe(value)}`];
  });
}

/** Throws one {@link ConfigError} carrying every issue. */
export function fail(what: string, issues: readonly string[]): never {
  throw new ConfigError(`invalid ${what}: ${issues.join('; ')}`, issues);
}
