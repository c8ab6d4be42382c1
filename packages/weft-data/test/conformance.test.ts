import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { check, runConformance } from '../scripts/conformance.ts';

// The project's own copy of the vectors generated from the Python implementation (../shared/conformance at
// the time of copying), so that the suite is hermetic; `npm run conformance -- DIR` runs any other folder.
const dir = resolve(import.meta.dirname, 'conformance-vectors');
const vectorCount = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .reduce(
    (n, f) => n + (JSON.parse(readFileSync(join(dir, f), 'utf8')) as { vectors: unknown[] }).vectors.length,
    0,
  );

describe('conformance vectors', () => {
  it('passes every vector of the project copy', () => {
    expect(vectorCount).toBeGreaterThanOrEqual(650);
    const { passed, failed, failures } = runConformance(dir);
    expect(failures).toEqual([]);
    expect(failed).toBe(0);
    expect(passed).toBe(vectorCount);
  });

  it('reports the first difference of a wrong expectation', () => {
    const v = {
      id: 'x',
      main: { length: 3, orders: [[0, 1, 2]] },
      callbacks: [],
      config: { batch_size: 2, drop_last: true, max_updates: 1 },
      expect: { stream: [[0, 0] as [number, number], [1, 2] as [number, number]] },
    };
    expect(check(v)).toBe('item 1: expected [1, 2], got [1, 1]');
    expect(check({ ...v, expect: { error: true } })).toBe(
      'expected an error at construction, none was thrown',
    );
  });

  it('runs the own copy without DIR, and names a missing DIR in one line (exit 2) instead of a stack', () => {
    const root = resolve(import.meta.dirname, '../../..');
    const script = resolve(import.meta.dirname, '../scripts/conformance.ts');
    const conformance = (...args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', script, ...args], {
        cwd: root,
        encoding: 'utf8',
        env: { ...process.env, INIT_CWD: root },
      });
    const own = conformance();
    expect(own.status).toBe(0);
    expect(own.stdout).toBe(`${vectorCount} passed, 0 failed\n`);
    const fix =
      "run `npm run conformance` without DIR for the library's copy (packages/weft-data/test/conformance-vectors), or give a folder of *.json vectors generated from the Python implementation";
    const empty = mkdtempSync(join(tmpdir(), 'weft-vectors-'));
    for (const [dir, problem] of [
      ['../no-such-vectors', 'no such directory ../no-such-vectors'],
      ['README.md', 'README.md is not a directory'],
      [empty, `${empty} holds no *.json vectors`],
    ]) {
      const r = conformance(dir as string);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(`conformance: ${problem}: ${fix}\n`);
    }
  });
});
