// "Did you mean …?" for a name that is not known: the closest known name, when it is close enough to be a
// typo (a swapped, missing or extra letter, another case, `_` for camelCase) rather than another word.

/** Edit distance (insertions, deletions, substitutions, adjacent swaps) between two short names. */
function distance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = rows[i] as number[];
      const above = rows[i - 1] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((above[j] as number) + 1, (row[j - 1] as number) + 1, (above[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, ((rows[i - 2] as number[])[j - 2] as number) + 1);
      }
      row[j] = d;
    }
  }
  return (rows[a.length] as number[])[b.length] as number;
}

/** The comparable form of a name: case and `_`/`-` separators do not count. */
const fold = (name: string) => name.toLowerCase().replace(/[-_]/g, '');

/**
 * The known name closest to `name`, if it is within a typo of it (at most one edit for names of up to 4
 * letters, two up to 8, three beyond, after folding case and separators); otherwise `undefined`.
 *
 * @param name - the name given
 * @param known - the names that would have been accepted
 * @returns the suggestion, or `undefined` when no known name is close
 * @example
 * ```ts
 * closest('batch_size', ['batchSize', 'shuffle']); // 'batchSize'
 * ```
 */
export function closest(name: string, known: readonly string[]): string | undefined {
  const folded = fold(name);
  const limit = folded.length <= 4 ? 1 : folded.length <= 8 ? 2 : 3;
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of known) {
    const d = distance(folded, fold(candidate));
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/**
 * The message for an option nobody knows, with the likeliest one meant when there is one: the same name in
 * camelCase (`batch_size` → `batchSize`, `num-workers` → `numWorkers`), in another case, or a typo at a
 * small edit distance (`shufle` → `shuffle`).
 *
 * @param field - the unknown option as the user wrote it, with its place (`callbacks[0].every_n_epochs`)
 * @param known - the options known at that place
 * @example
 * ```ts
 * unknownOption('batch_size', ['batchSize', 'shuffle']); // '`batch_size` is not a known option (did you mean `batchSize`?)'
 * ```
 */
export function unknownOption(field: string, known: Iterable<string>): string {
  const cut = Math.max(field.lastIndexOf('.'), field.lastIndexOf(']'));
  const meant = closest(field.slice(cut + 1), [...known]);
  const hint = meant === undefined ? '' : ` (did you mean \`${field.slice(0, cut + 1)}${meant}\`?)`;
  return `\`${field}\` is not a known option${hint}`;
}
