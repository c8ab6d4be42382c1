// Who frees the tensors: disposeTensors walks a converted batch, withTensors frees one around an awaited
// step (tf.tidy cannot span an await).
import { describe } from '../core/checks.ts';
import { ConfigError } from '../core/errors.ts';
import { isPlainObject, toTensors } from './convert.ts';
import type { ToTensorsOptions } from './options.ts';
import type { Tensors, TfCore, TfTensor } from './types.ts';

/**
 * Disposes every `tf.Tensor` in a value (a converted batch: tensors in objects and arrays, at any depth),
 * and returns how many it disposed. Tensors already disposed are skipped.
 *
 * @param value - a tensor, or objects and arrays holding tensors
 * @returns the number of tensors disposed
 * @example
 * ```ts
 * const tensors = toTensors(tf, batch);
 * try { await model.trainOnBatch(tensors.x, tensors.y); } finally { disposeTensors(tensors); }
 * ```
 */
export function disposeTensors(value: unknown): number {
  const seen = new Set<object>();
  let count = 0;
  const walk = (v: unknown): void => {
    if (typeof v !== 'object' || v === null || seen.has(v) || ArrayBuffer.isView(v)) return;
    seen.add(v);
    const t = v as Partial<TfTensor>;
    if (typeof t.dispose === 'function' && typeof t.dataId === 'object' && typeof t.dtype === 'string') {
      if (!t.isDisposed) {
        t.dispose();
        count++;
      }
      return;
    }
    if (Array.isArray(v)) v.forEach(walk);
    else if (isPlainObject(v)) Object.values(v).forEach(walk);
  };
  walk(value);
  return count;
}

/**
 * Converts a batch with {@link toTensors}, runs `fn` on the tensors (awaited), then disposes them, also
 * when `fn` throws: the async counterpart of `tf.tidy`, for `await model.trainOnBatch(...)`. Tensors that
 * `fn` makes itself are its own to dispose (its result is returned as it is).
 *
 * @param tf - the TensorFlow.js namespace (see {@link TfCore})
 * @param batch - a collated batch
 * @param fn - receives the converted batch
 * @param options - dtype rules; see {@link ToTensorsOptions}
 * @returns what `fn` returns
 * @example
 * ```ts
 * for await (const batch of loader) {
 *   const loss = await withTensors(tf, batch, ({ x, y }) => model.trainOnBatch(x, y), { float64: 'int32' });
 * }
 * ```
 */
export async function withTensors<B, R>(
  tf: TfCore,
  batch: B,
  fn: (tensors: Tensors<B>) => R | Promise<R>,
  options?: ToTensorsOptions,
): Promise<R> {
  if (typeof fn !== 'function') {
    throw new ConfigError(`\`withTensors\`: \`fn\` must be a function, got ${describe(fn)}`);
  }
  const tensors = toTensors(tf, batch, options);
  try {
    return await fn(tensors);
  } finally {
    disposeTensors(tensors);
  }
}
