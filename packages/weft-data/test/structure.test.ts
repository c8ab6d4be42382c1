// The module structure of the interleaved run, checked on the import graph of the sources: the schedule is
// pure arithmetic, the sampler does not reach the loader (nor worker_threads), and no runtime import cycle
// exists anywhere. (cli.workers.test.ts checks the same of the compiled modules at run time.)
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

/**
 * The modules a source file loads when it runs. `import type` is erased; `import { type A }` is not (with
 * verbatimModuleSyntax it stays as an import of the module), so it counts.
 */
function runtimeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  const statement = /^(?:import|export)\s+(type\s+)?[^;'"]*?\sfrom\s+'([^']+)'|^import\s+'([^']+)'/gm;
  for (const m of text.matchAll(statement)) {
    if (m[1] !== undefined) continue;
    const spec = (m[2] ?? m[3]) as string;
    out.push(spec.startsWith('.') ? resolve(dirname(file), spec) : spec);
  }
  return out;
}

function reachable(file: string): Set<string> {
  const seen = new Set<string>();
  const visit = (f: string) => {
    if (seen.has(f)) return;
    seen.add(f);
    if (f.startsWith('/')) for (const g of runtimeImports(f)) visit(g);
  };
  visit(file);
  return seen;
}

const src = (name: string) => join(SRC, name);
const names = (files: Iterable<string>) =>
  [...files].map((f) => (f.startsWith('/') ? relative(SRC, f) : f)).sort();

describe('module structure', () => {
  it('keeps the schedule pure: it loads nothing but the error classes', () => {
    expect(names(reachable(src('interleaved/schedule.ts')))).toEqual([
      'core/errors.ts',
      'interleaved/schedule.ts',
    ]);
  });

  it('keeps the loader and worker_threads out of the sampler', () => {
    const loaded = names(reachable(src('interleaved/sampler.ts')));
    expect(loaded).not.toContain('interleaved/loader.ts');
    expect(loaded.filter((m) => /worker|engine/.test(m))).toEqual([]);
    expect(loaded).toContain('interleaved/schedule.ts');
    expect(names(reachable(src('interleaved/loader.ts')))).toContain('node:worker_threads');
  });

  it('has no runtime import cycle', () => {
    const files = readdirSync(SRC, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .map((f) => join(SRC, f));
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const visit = (f: string) => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'open') {
        cycles.push(names(stack.slice(stack.indexOf(f))).join(' -> '));
        return;
      }
      state.set(f, 'open');
      stack.push(f);
      for (const g of runtimeImports(f)) if (g.startsWith('/')) visit(g);
      stack.pop();
      state.set(f, 'done');
    };
    for (const f of files) visit(f);
    expect(cycles).toEqual([]);
  });
});
