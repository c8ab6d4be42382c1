// Which buffers a worker hands over with a batch instead of copying them: what decides how cheap a batch's
// trip to the main thread is.

/**
 * The distinct `ArrayBuffer`s behind every typed array in a collated batch, for a `postMessage` transfer
 * list. A view that covers only part of its buffer is skipped: transferring would detach memory that
 * belongs to someone else (a dataset's storage, say), so it is copied instead.
 *
 * @param value - a collated batch
 * @example
 * ```ts
 * port.postMessage(batch, collectTransferables(batch));
 * ```
 */
export function collectTransferables(value: unknown): ArrayBuffer[] {
  const found = new Set<ArrayBuffer>();
  const seen = new Set<object>();
  const walk = (v: unknown): void => {
    if (typeof v !== 'object' || v === null || seen.has(v)) return;
    seen.add(v);
    if (ArrayBuffer.isView(v)) {
      if (v.buffer instanceof ArrayBuffer && v.byteOffset === 0 && v.byteLength === v.buffer.byteLength) {
        found.add(v.buffer);
      }
      return;
    }
    for (const child of Array.isArray(v) ? v : Object.values(v)) walk(child);
  };
  walk(value);
  return [...found];
}

/**
 * Takes the buffers of a batch away from every view of them, without copying: the views become detached
 * (length 0; their methods and iteration throw a TypeError), and the returned buffers, over the same memory,
 * are the loader's to write the next batches into (see protocol.ts, "Batch memory").
 *
 * @param batch - a batch written in place, which the consumer has moved past
 * @example
 * ```ts
 * free.give(reclaim(batch));
 * ```
 */
export function reclaim(batch: unknown): ArrayBuffer[] {
  // A buffer the consumer transferred away itself is already detached (empty): there is nothing to take.
  const buffers = collectTransferables(batch).filter((b) => b.byteLength > 0);
  return structuredClone(buffers, { transfer: buffers });
}
