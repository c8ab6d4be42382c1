// The repository's copy of the interleaved sampler's spec (docs/spec/), kept in step with the shared original
// (../shared/spec/ beside the repository, as in CI). Without the shared folder only the copy is checked.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../../..');
const COPY = resolve(ROOT, 'docs/spec/interleaved-sampler.md');
const ORIGINAL = resolve(ROOT, '../shared/spec/interleaved-sampler.md');

describe('the spec', () => {
  it('is in the repository', () => {
    expect(existsSync(COPY)).toBe(true);
    expect(readFileSync(COPY, 'utf8').trim()).not.toBe('');
  });

  it.runIf(existsSync(ORIGINAL))('is the same as ../shared/spec/interleaved-sampler.md', () => {
    expect(readFileSync(COPY, 'utf8')).toBe(readFileSync(ORIGINAL, 'utf8'));
  });
});
