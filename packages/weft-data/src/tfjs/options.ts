// The adapter's arguments: the `tf` namespace it is handed, and the dtype rules of ToTensorsOptions,
// validated as every options object of weft is (a zod schema of the shared atoms, every problem at once).
import { z } from 'zod';
import { describe } from '../core/checks.ts';
import type { DType } from '../core/dtype.ts';
import { ConfigError } from '../core/errors.ts';
import { checkFields, fail, fn, issuesOf } from '../core/validate.ts';
import type { TfCore, TfWithData } from './types.ts';

/**
 * The dtypes a batch's typed arrays can become: the part of weft's `DType` that TensorFlow.js has (it has
 * no float64, int64 or uint8).
 *
 * @example
 * ```ts
 * const dtypes: Record<string, TfDType> = { label: 'int32', mask: 'bool' };
 * ```
 */
export type TfDType = Extract<DType, 'float32' | 'int32' | 'bool'>;

/**
 * How {@link toTensors} picks dtypes. Typed arrays keep their own dtype where TensorFlow.js has it
 * (`Float32Array` → float32, `Int32Array` → int32, other integer arrays → int32); these options decide
 * the rest, and `dtypes` overrides any field.
 *
 * @example
 * ```ts
 * const options: ToTensorsOptions = { float64: 'int32', uint8: 'bool', dtypes: { 'inputs.image': 'float32' } };
 * ```
 */
export interface ToTensorsOptions {
  /**
   * dtype of `Float64Array`s (what `defaultCollate` makes of numbers). `'int32'` requires every value to be
   * an integer in int32 range (a {@link TensorConversionError} names the first one that is not).
   * @default 'float32'
   */
  float64?: Extract<TfDType, 'float32' | 'int32'>;
  /**
   * dtype of `Uint8Array`s and `Uint8ClampedArray`s (what `defaultCollate` makes of booleans; pixels).
   * `'bool'` makes every non-zero value `true`.
   * @default 'int32'
   */
  uint8?: Extract<TfDType, 'int32' | 'bool'>;
  /**
   * dtype of single fields by path, overriding the rules: keys joined with `.` (`'label'`,
   * `'inputs.image'`, `'pair.0'` for a tuple's first element, `''` for a batch that is one array). Every
   * path must name a typed array or `{ data, shape }` of the batch.
   * @default {}
   */
  dtypes?: Readonly<Record<string, TfDType>>;
}

/** {@link ToTensorsOptions} with the defaults filled in and `dtypes` as a map. */
export interface ResolvedOptions {
  /** dtype of `Float64Array`s. */
  readonly float64: Extract<TfDType, 'float32' | 'int32'>;
  /** dtype of `Uint8Array`s and `Uint8ClampedArray`s. */
  readonly uint8: Extract<TfDType, 'int32' | 'bool'>;
  /** dtype of single fields, by path. */
  readonly dtypes: ReadonlyMap<string, TfDType>;
}

/** The rules when no options are given. */
export const DEFAULT_OPTIONS: ResolvedOptions = { float64: 'float32', uint8: 'int32', dtypes: new Map() };

/** `['a', 'b', 'c']` → `'a', 'b' or 'c'`. */
function oneOf(values: readonly string[]): string {
  const quoted = values.map((v) => `'${v}'`);
  return `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}`;
}
const dtypeOf = <const D extends readonly [TfDType, ...TfDType[]]>(dtypes: D) =>
  z.enum(dtypes, { error: `must be ${oneOf(dtypes)}` });

const tfDType = dtypeOf(['float32', 'int32', 'bool']);

/** The fields of {@link ToTensorsOptions}; each entry of `dtypes` is checked by {@link dtypeIssues}. */
export const TO_TENSORS = z.strictObject({
  float64: dtypeOf(['float32', 'int32']).optional(),
  uint8: dtypeOf(['int32', 'bool']).optional(),
  dtypes: z
    .custom<Record<string, unknown>>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), {
      error: 'must be an object of field paths to dtypes',
    })
    .optional(),
});

/** The fields of {@link InterleavedDatasetOptions}: the dtype rules and `onCallback`. */
export const INTERLEAVED_DATASET = TO_TENSORS.extend({ onCallback: fn.optional() });

/** Each entry of `dtypes` as its own field, named as the user wrote it: `dtypes["inputs.image"]`. */
function dtypeIssues(raw: Record<string, unknown>): string[] {
  const { dtypes } = raw;
  if (typeof dtypes !== 'object' || dtypes === null || Array.isArray(dtypes)) return [];
  return Object.entries(dtypes).flatMap(([path, dtype]) =>
    issuesOf(tfDType, dtype, [], `dtypes[${JSON.stringify(path)}]`),
  );
}

/**
 * Checks the options of `what` against `schema` (every problem at once) and resolves them.
 *
 * @param options - the options as given, or `undefined` for the defaults
 * @param what - the function, named in messages
 * @param schema - {@link TO_TENSORS}, or {@link INTERLEAVED_DATASET} @default TO_TENSORS
 * @example
 * ```ts
 * const o = resolveOptions({ float64: 'int32' }, 'toTensors'); // o.float64 === 'int32'
 * ```
 */
export function resolveOptions(
  options: unknown,
  what: string,
  schema: typeof TO_TENSORS | typeof INTERLEAVED_DATASET = TO_TENSORS,
): ResolvedOptions {
  if (options === undefined) return DEFAULT_OPTIONS;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new ConfigError(`\`${what}\` options must be an object, got ${describe(options)}`);
  }
  // checkFields lists unknown options first, as these messages always have.
  const { issues } = checkFields(schema, options);
  issues.push(...dtypeIssues(options as Record<string, unknown>));
  if (issues.length > 0) fail(`\`${what}\` options`, issues);
  const { float64 = 'float32', uint8 = 'int32', dtypes = {} } = options as ToTensorsOptions;
  return { float64, uint8, dtypes: new Map(Object.entries(dtypes)) };
}

/**
 * Checks that `tf` is a TensorFlow.js namespace (with `tf.data` when `needData`) and returns it.
 *
 * @param tf - what the caller passed as `tf`
 * @param what - the function, named in messages
 * @param needData - whether `tf.data.generator` is needed
 * @example
 * ```ts
 * const t = checkTf<TfWithData>(tf, 'loaderDataset', true);
 * ```
 */
export function checkTf<T extends TfCore>(tf: unknown, what: string, needData: boolean): T {
  const t = tf as Partial<TfWithData> | null | undefined;
  const core =
    (typeof t === 'object' || typeof t === 'function') &&
    t !== null &&
    typeof t.tensor === 'function' &&
    typeof t.tidy === 'function' &&
    typeof t.Tensor === 'function';
  if (!core) {
    throw new ConfigError(
      `\`${what}\`: \`tf\` must be the TensorFlow.js namespace (\`import * as tf from '@tensorflow/tfjs'\`; ` +
        `install @tensorflow/tfjs, or @tensorflow/tfjs-core with a backend), got ${describe(tf)}`,
    );
  }
  if (needData && typeof t.data?.generator !== 'function') {
    throw new ConfigError(
      `\`${what}\`: \`tf.data.generator\` is missing: pass the namespace of @tensorflow/tfjs or ` +
        "@tensorflow/tfjs-node, or `{ ...tf, data }` with `import * as data from '@tensorflow/tfjs-data'`",
    );
  }
  return tf as T;
}
