import { WeftError } from './errors.ts';

/**
 * Throws unless `condition` holds: for states the engine's own bookkeeping rules out, so that a broken
 * assumption fails loudly where it is broken instead of being cast away and surfacing later as wrong data.
 *
 * @param condition - what must hold
 * @param what - the broken assumption, for the message
 * @example
 * ```ts
 * const entry = this.#entries.get(seq);
 * invariant(entry !== undefined, `batch ${seq} is not in flight`);
 * ```
 */
export function invariant(condition: unknown, what: string): asserts condition {
  if (!condition) throw new WeftError(`weft internal error: ${what}; please report this`);
}
