// "Did you mean …?": the closest known name for a typo, and nothing for another word.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { closest } from '../src/core/suggest.ts';

describe('closest', () => {
  it('suggests the known name for typos, case and separators, and nothing for other words', () => {
    const known = ['batchSize', 'shuffle', 'numWorkers', 'seed', '--out', '--version'];
    expect(closest('batch_size', known)).toBe('batchSize');
    expect(closest('BatchSize', known)).toBe('batchSize');
    expect(closest('num_workers', known)).toBe('numWorkers');
    expect(closest('shufle', known)).toBe('shuffle');
    expect(closest('sede', known)).toBe('seed');
    expect(closest('--verison', known)).toBe('--version');
    expect(closest('--outt', known)).toBe('--out');
    expect(closest('pinMemory', known)).toBeUndefined();
    expect(closest('--bogus', known)).toBeUndefined();
    expect(closest('x', [])).toBeUndefined();
  });

  it('returns a name itself, and only ever a known name', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 1 }),
        fc.string(),
        (known, name) => {
          expect(closest(known[0] as string, known)).toBeDefined();
          const suggestion = closest(name, known);
          if (suggestion !== undefined) expect(known).toContain(suggestion);
        },
      ),
    );
  });
});
