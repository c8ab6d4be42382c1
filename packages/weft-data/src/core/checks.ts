import { ConfigError, IndexError } from './errors.ts';

/** Throws {@link IndexError} unless `index` is an integer in [0, length). */
export function checkIndex(index: number, length: number, what = 'dataset'): void {
  if (!Number.isInteger(index) || index < 0 || index >= length) {
    throw new IndexError(`index ${String(index)} is out of range for a ${what} of length ${length}`);
  }
}

/** Throws {@link ConfigError} unless `value` is a non-negative safe integer. */
export function checkLength(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new ConfigError(`\`${what}\` must be a non-negative integer, got ${describe(value)}`);
  }
  return value;
}

/** Renders a value for an error message without dumping large objects. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) {
    return String(value);
  }
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  return `an object (${Object.prototype.toString.call(value).slice(8, -1)})`;
}

/** True for promises and other thenables, so sync datasets skip the microtask queue. */
export function isPromiseLike<T>(value: unknown): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/**
 * Throws one {@link ConfigError} carrying every issue: `invalid <what>: a; b`, or `a; b` without `what`
 * (a function's own arguments, where the issues already name them).
 *
 * @param what - names the options (`DataLoader options`), or `undefined`
 * @param issues - every problem found, each naming its field and the value given
 * @example
 * ```ts
 * if (issues.length > 0) fail('MySampler options', issues);
 * ```
 */
export function fail(what: string | undefined, issues: readonly string[]): never {
  const message = issues.join('; ');
  throw new ConfigError(what === undefined ? message : `invalid ${what}: ${message}`, issues);
}
