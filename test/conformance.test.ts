import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { check, runConformance } from '../scripts/conformance.ts';

const dir = resolve(import.meta.dirname, '../../shared/conformance');

describe('conformance vectors', () => {
  it('finds the shared vectors beside the project', () => {
    expect(existsSync(dir)).toBe(true);
  });

  it('passes every vector of ../shared/conformance', () => {
    const { passed, failed, failures } = runConformance(dir);
    expect(failures).toEqual([]);
    expect(failed).toBe(0);
    expect(passed).toBe(650);
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
});
