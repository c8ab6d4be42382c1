// The one way weft reports invalid options: every problem at once, each naming the field (as the user wrote
// it, `callbacks[0].everyNEpochs`), what was expected, and the value given.
import { z } from 'zod';
import { describe, fail } from './checks.ts';
import { ConfigError } from './errors.ts';
import { unknownOption } from './suggest.ts';

// Kept zod-free in checks.ts (what worker threads load), and offered here beside the rest of the style.
export { fail };

/**
 * A check across fields: run on the raw input (fields possibly invalid, so it checks what it relies on), it
 * returns one message per problem it finds.
 *
 * @example
 * ```ts
 * const inRange: Relation = (o) => (o.rank >= o.numReplicas ? ['`rank` must be below `numReplicas`'] : []);
 * ```
 */
export type Relation = (raw: Record<string, unknown>) => string[];

/** `['callbacks', 0, 'everyNEpochs']` → `callbacks[0].everyNEpochs`. */
function fieldPath(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' || out.endsWith('.') ? String(key) : `.${String(key)}`;
  }
  return out;
}

/** What zod keeps of a schema: its definition, whose `type` says how to walk into it. */
interface SchemaDef {
  readonly type: string;
  readonly [key: string]: unknown;
}
const defOf = (schema: unknown): SchemaDef | undefined =>
  (schema as { _zod?: { def?: SchemaDef } } | undefined)?._zod?.def;

/** The keys an object schema knows at `path` inside `schema` (through optional, default, array…). */
function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let def = defOf(schema);
  let i = 0;
  while (def !== undefined) {
    if ('innerType' in def) def = defOf(def.innerType);
    else if (def.type === 'pipe') def = defOf(def.in);
    else if (i === path.length) return def.type === 'object' ? Object.keys(def.shape as object) : [];
    else {
      const key = path[i++] as PropertyKey;
      if (def.type === 'object') def = defOf((def.shape as Record<PropertyKey, unknown>)[key]);
      else if (def.type === 'array') def = defOf(def.element);
      else if (def.type === 'tuple') def = defOf((def.items as unknown[])[key as number]);
      else if (def.type === 'record') def = defOf(def.valueType);
      else return [];
    }
  }
  return [];
}

/**
 * Turns zod issues into weft's messages: the field in backticks, what was expected, the value given. With
 * the `schema` that found them, an unknown option also names the known one it most likely stands for.
 */
export function zodIssues(error: z.ZodError, input: unknown, prefix: string, schema: z.ZodType): string[] {
  return error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      const known = keysAt(schema, issue.path);
      return issue.keys.map((k) => unknownOption(fieldPath(prefix, [...issue.path, k]), known));
    }
    const value = issue.path.reduce<unknown>(
      (v, k) => (v as Record<PropertyKey, unknown> | undefined)?.[k as PropertyKey],
      input,
    );
    return [`\`${fieldPath(prefix, issue.path)}\` ${issue.message}, got ${describe(value)}`];
  });
}

/**
 * The issues of `input` against `schema` (each prefixed with `prefix`), followed by those of `relations`
 * (checks across fields, run on the raw input so that every problem is reported at once).
 *
 * @param schema - the fields, built from the atoms below
 * @param input - the options as given
 * @param relations - checks across fields; each returns the issues it finds @default []
 * @param prefix - where the options sit in a larger object (`config.`) @default ''
 * @example
 * ```ts
 * const issues = issuesOf(schema, options, [(o) => (o.a > o.b ? ['`a` must not exceed `b`'] : [])]);
 * if (issues.length > 0) fail('MySampler options', issues);
 * ```
 */
export function issuesOf<S extends z.ZodType>(
  schema: S,
  input: unknown,
  relations: readonly Relation[] = [],
  prefix = '',
): string[] {
  const parsed = schema.safeParse(input);
  const issues = parsed.success ? [] : zodIssues(parsed.error, input, prefix, schema);
  if (typeof input === 'object' && input !== null) {
    for (const relation of relations) issues.push(...relation(input as Record<string, unknown>));
  }
  return issues;
}

/**
 * Parses `input` with `schema`, or throws one {@link ConfigError} listing every problem (fields and
 * `relations`) as `invalid <what>: …`.
 *
 * @param what - names the options in the message (`BlockShuffleSampler options`)
 * @param schema - the fields, built from the atoms below
 * @param input - the options as given
 * @param relations - checks across fields @default []
 * @example
 * ```ts
 * const { seed, window } = parse('BlockShuffleSampler options', optionsSchema, options ?? {});
 * ```
 */
export function parse<S extends z.ZodType>(
  what: string,
  schema: S,
  input: unknown,
  relations: readonly Relation[] = [],
): z.output<S> {
  const issues = issuesOf(schema, input, relations);
  if (issues.length > 0) fail(what, issues);
  return schema.parse(input) as z.output<S>;
}

/** How {@link parseArguments} reports: the relations it runs, and how it names the options. */
export interface ArgumentChecks {
  /** Checks across arguments and options, on the raw values. @default [] */
  readonly relations?: readonly Relation[];
  /** What the options argument must be, for its message (`an object with \`batchSize\``). @default 'an object' */
  readonly expected?: string;
  /** Names the call in the message (`invalid <what>: …`). @default none: the message is the issues themselves */
  readonly what?: string;
}

/**
 * Parses a constructor's (or function's) arguments in one pass: the positional ones, named as in its
 * signature (`data`), and the fields of its options argument, named as users write them (`seed`, not
 * `options.seed`). Throws one {@link ConfigError} listing every problem; options that are not an object are
 * one more problem, named `options`. Without `what`, the message is the issues themselves: a constructor's
 * one bad argument reads "`batchSize` must be a positive integer, got 0".
 *
 * @param schema - the arguments and the options' fields as one object, built from the atoms below
 * @param args - the positional arguments by name; they win over options' fields of the same name
 * @param options - the options argument as given
 * @param checks - relations, what `options` must be, the name of the call @default {}
 * @returns the parsed arguments and options, defaults applied
 * @example
 * ```ts
 * const { data, seed } = parseArguments(z.object({ data: withLength, seed: nonNegativeInt.default(0) }), { data }, options);
 * ```
 */
export function parseArguments<S extends z.ZodType>(
  schema: S,
  args: Record<string, unknown>,
  options: unknown,
  checks: ArgumentChecks = {},
): z.output<S> {
  const { relations = [], expected = 'an object', what } = checks;
  const isObject = typeof options === 'object' && options !== null;
  const input = { ...(isObject ? options : {}), ...args };
  const issues = isObject ? [] : [`\`options\` must be ${expected}, got ${describe(options)}`];
  issues.push(...issuesOf(schema, input, relations));
  if (issues.length > 0) fail(what, issues);
  return schema.parse(input) as z.output<S>;
}

// ── Shared atoms: every options schema is built from these, so one kind of field reads the same everywhere.
// zod's integers are the safe ones: a larger integer is named as such rather than as "not an integer".
const intError = (what: string) => (issue: { code: string }) =>
  issue.code === 'too_big' ? 'must be a safe integer (at most 2**53 - 1)' : what;

/** A positive safe integer: "must be a positive integer". */
export const positiveInt = z
  .int({ error: intError('must be a positive integer') })
  .min(1, { error: 'must be a positive integer' });
/** A non-negative safe integer: "must be a non-negative integer". */
export const nonNegativeInt = z
  .int({ error: intError('must be a non-negative integer') })
  .min(0, { error: 'must be a non-negative integer' });
/** The largest length a dataset or sampler may have: its indices are stored as `Uint32Array`. */
export const MAX_LENGTH = 0xffffffff;

/**
 * Whether `n` is a length weft can index: an integer in [0, 2**32 - 1].
 *
 * @param n - the value to check
 * @example
 * ```ts
 * isLength(2 ** 32); // false
 * ```
 */
export const isLength = (n: unknown): n is number =>
  typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= MAX_LENGTH;

/** The message for a length that {@link isLength} rejects. */
export const LENGTH_EXPECTED = `must be an integer in [0, ${MAX_LENGTH}]`;

/** A dataset's or sampler's length that weft can index (see {@link isLength}): "must be an integer in [0, 4294967295]". */
export const indexLength = z
  .int({ error: LENGTH_EXPECTED })
  .min(0, { error: LENGTH_EXPECTED })
  .max(MAX_LENGTH, { error: LENGTH_EXPECTED });
/** A `seed` option (of a sampler, a loader): a non-negative integer, 0 when not given. */
export const seedOption = nonNegativeInt.default(0);
/** A boolean: "must be a boolean". */
export const bool = z.boolean({ error: 'must be a boolean' });
/** A function: "must be a function". */
export const fn = z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', {
  error: 'must be a function',
});
/** Anything with a non-negative integer `length` (a dataset or sampler). */
export const sized = z.custom<{ readonly length: number }>(
  (v) =>
    typeof v === 'object' &&
    v !== null &&
    Number.isSafeInteger((v as { length?: unknown }).length) &&
    ((v as { length: number }).length ?? -1) >= 0,
  { error: 'must be a dataset (an object with a non-negative integer `length`)' },
);
/**
 * A key of a `Random` stream (a seed, an epoch, an index): "must be a non-negative safe integer", a bound
 * the message names since every key is absorbed as two 32-bit words.
 */
export const randomKey = z
  .int({ error: 'must be a non-negative safe integer' })
  .min(0, { error: 'must be a non-negative safe integer' });

/**
 * A dataset or sampler checked in two steps, so that the message says which part is wrong: not `is`, it
 * gets `error`; then its `length`, named `<field>.length`, gets that of `length`.
 *
 * @param is - what the value must be before its length means anything
 * @param error - the message when it is not
 * @param length - what the length must be: {@link indexLength} for data a loader indexes @default nonNegativeInt
 * @returns a schema whose output is the value itself (a dataset is not copied)
 * @example
 * ```ts
 * const dataset = sizedAs((v) => typeof (v as Dataset<unknown>)?.get === 'function', 'must be a dataset');
 * ```
 */
// `{ length }` spelled out, not `Sized`: core/dataset.ts leads back here through worker-info and random.
export function sizedAs<T extends { readonly length: number } = { readonly length: number }>(
  is: (value: unknown) => boolean,
  error: string,
  length: z.ZodType<number> = nonNegativeInt,
) {
  return z.custom<T>(is, { error, abort: true }).check((ctx) => {
    const checked = length.safeParse((ctx.value as { length?: unknown }).length);
    for (const issue of checked.error?.issues ?? []) {
      ctx.issues.push({
        code: 'custom',
        message: issue.message,
        path: ['length'],
        input: ctx.value,
        continue: true, // later checks (a dataset's `get`) still run
      });
    }
  });
}

/**
 * An object with a non-negative integer `length` (a dataset or sampler): "must be a dataset (an object with
 * a `length`)", then "`data.length` must be a non-negative integer". {@link sized} says both in one message.
 */
export const withLength = sizedAs(
  (v) => typeof v === 'object' && v !== null,
  'must be a dataset (an object with a `length`)',
);

/**
 * `schema`, reported as one field whatever is wrong inside it: `transforms[6].centerCrop` rather than
 * `transforms[6].centerCrop[1]`, so that the message can say what the whole field must be.
 *
 * @param schema - the shape of the field
 * @param error - the message, "must be …"
 * @example
 * ```ts
 * const size = whole(z.tuple([positiveInt, positiveInt]), 'must be [height, width] of positive integers');
 * ```
 */
export function whole<S extends z.ZodType>(schema: S, error: string): z.ZodType<z.output<S>> {
  return z.custom<z.output<S>>((v) => schema.safeParse(v).success, { error });
}

/**
 * The value of `input` parsed by `schema`, or the issues (each prefixed with `prefix`), unknown keys first:
 * zod lists them after the fields, and ImageFolder's messages have always named them first.
 *
 * @param schema - the fields, built from the atoms above
 * @param input - the options as given
 * @param prefix - where `input` sits (`transforms[1].randomCrop`) @default ''
 * @example
 * ```ts
 * const { value, issues } = checkFields(z.strictObject({ size: positiveInt }), { size: 0, pad: 1 });
 * issues; // ['`pad` is not a known option', '`size` must be a positive integer, got 0']
 * ```
 */
export function checkFields<S extends z.ZodType>(
  schema: S,
  input: unknown,
  prefix = '',
): { value: z.output<S> | undefined; issues: string[] } {
  const parsed = schema.safeParse(input);
  if (parsed.success) return { value: parsed.data, issues: [] };
  const unknown = parsed.error.issues.filter((i) => i.code === 'unrecognized_keys');
  const fields = parsed.error.issues.filter((i) => i.code !== 'unrecognized_keys');
  return {
    value: undefined,
    issues: zodIssues(new z.ZodError([...unknown, ...fields]), input, prefix, schema),
  };
}
