// The module structure, checked on the import graph of the sources: the floors of the layout (nothing imports
// a higher floor, the ground floor imports only node builtins and zod), no import cycle of any kind, and the
// interleaved run's own shape (the schedule is pure arithmetic; the sampler does not reach the loader nor
// worker_threads). cli.workers.test.ts checks the runtime side of the same on the compiled modules.
import { readdirSync, readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

/**
 * The floors of the layout, bottom to top, by the first segment of a path under `src/` (a folder, or a
 * file without `.ts`). A module imports its own floor and those below, never one above (see
 * docs/architecture.md).
 */
const FLOORS: Readonly<Record<string, number>> = {
  core: 0,
  samplers: 1,
  collate: 1,
  datasets: 1,
  files: 1,
  images: 1,
  engine: 2,
  interleaved: 3,
  distributed: 3,
  tfjs: 4,
  cli: 4,
  index: 4,
};

/**
 * How an import reaches its module. `runtime`: loaded with the importer. `type`: erased by the compiler
 * (`import type`, `export type … from`). `dynamic`: `import('…')`, loaded when called, or a type if
 * written `typeof import('…')`. `import { type A }` is `runtime`: with verbatimModuleSyntax it stays an
 * import of the module.
 */
type Kind = 'runtime' | 'type' | 'dynamic';

/** One import of a source file: relative specifiers resolved to absolute paths, bare ones as written. */
interface Link {
  target: string;
  kind: Kind;
}

const STATEMENT =
  /^(?:import|export)\s+(type\s+)?[^;'"]*?\sfrom\s+(['"])([^'"]+)\2|^import\s+(['"])([^'"]+)\4/gm;
const DYNAMIC = /\bimport\(\s*(['"])([^'"]+)\1\s*\)/g;

/** Every import of a source file: statements at the start of a line, and `import('…')` outside comments. */
function links(file: string): Link[] {
  const text = readFileSync(file, 'utf8');
  const target = (spec: string) => (spec.startsWith('.') ? resolve(dirname(file), spec) : spec);
  const out: Link[] = [];
  for (const m of text.matchAll(STATEMENT)) {
    out.push({ target: target((m[3] ?? m[5]) as string), kind: m[1] === undefined ? 'runtime' : 'type' });
  }
  for (const m of text.matchAll(DYNAMIC)) {
    const line = text.slice(text.lastIndexOf('\n', m.index) + 1, m.index).trimStart();
    if (!line.startsWith('//') && !line.startsWith('*'))
      out.push({ target: target(m[2] as string), kind: 'dynamic' });
  }
  return out;
}

/** The modules a source file loads when it is loaded (`runtime` links only). */
function runtimeImports(file: string): string[] {
  return links(file)
    .filter((l) => l.kind === 'runtime')
    .map((l) => l.target);
}

/** Every module a source file names in an import of any kind. */
const allImports = (file: string): string[] => links(file).map((l) => l.target);

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
const name = (f: string) => (f.startsWith('/') ? relative(SRC, f) : f);
const names = (files: Iterable<string>) => [...files].map(name).sort();
const sources = readdirSync(SRC, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.ts'))
  .map((f) => join(SRC, f))
  .sort();

/** The cycles of the graph that `next` draws over the sources, each as `a -> b -> … -> a`. */
function cycles(next: (file: string) => string[]): string[] {
  const found: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (f: string) => {
    if (state.get(f) === 'done') return;
    if (state.get(f) === 'open') {
      found.push([...stack.slice(stack.indexOf(f)), f].map(name).join(' -> '));
      return;
    }
    state.set(f, 'open');
    stack.push(f);
    for (const g of next(f)) if (g.startsWith('/')) visit(g);
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of sources) visit(f);
  return found;
}

/** The floor of a path under `src/`, undefined for a path outside src or a folder missing from the table. */
function floorOf(file: string): number | undefined {
  const path = relative(SRC, file);
  if (path.startsWith('..')) return undefined;
  return FLOORS[(path.split(sep)[0] as string).replace(/\.ts$/, '')];
}

/** Each import of every source file that `bad` rejects, as `file -> import`. */
const violations = (bad: (file: string, link: Link) => boolean, files = sources): string[] =>
  files.flatMap((f) => links(f).flatMap((l) => (bad(f, l) ? [`${name(f)} -> ${name(l.target)}`] : [])));

describe('module structure', () => {
  it('keeps the schedule pure: it loads nothing but the error classes', () => {
    expect(names(reachable(src('interleaved/schedule.ts')))).toEqual([
      'core/errors.ts',
      'interleaved/schedule.ts',
    ]);
  });

  it('loads worker_threads only when a run with workers starts', () => {
    // The sampler has its loader as a plain method, so no import order can lose it; what keeps worker_threads
    // out is the engine, which imports its threaded part dynamically, on the first run with workers.
    const sampler = names(reachable(src('interleaved/sampler.ts')));
    expect(sampler).toContain('interleaved/loader.ts');
    expect(sampler).toContain('interleaved/schedule.ts');
    for (const entry of ['interleaved/sampler.ts', 'interleaved/loader.ts', 'index.ts']) {
      const loaded = names(reachable(src(entry)));
      expect(loaded, entry).not.toContain('node:worker_threads');
      expect(loaded, entry).not.toContain('engine/threads.ts');
    }
    expect(names(reachable(src('engine/threads.ts')))).toContain('node:worker_threads');
    expect(readFileSync(src('engine/engine.ts'), 'utf8')).toContain("await import('./threads.ts')");
  });

  it('keeps zod out of a worker that rebuilds a TensorDataset and the default collate', () => {
    // Each worker is an isolate of its own: every module it loads costs memory once per worker (zod about
    // 4 MiB of heap). Validation happens in the calling thread; workers rebuild values already checked.
    for (const rebuilt of ['datasets/tensor/tensor-dataset.ts', 'collate/default.ts']) {
      const loaded = names([...reachable(src('engine/worker.ts')), ...reachable(src(rebuilt))]);
      expect(loaded, rebuilt).not.toContain('zod');
      expect(loaded, rebuilt).not.toContain('core/validate.ts');
    }
  });

  it('has no runtime import cycle', () => {
    expect(cycles(runtimeImports)).toEqual([]);
  });

  it('has no import cycle at all: type-only, re-export and dynamic links included', () => {
    expect(cycles(allImports)).toEqual([]);
  });

  it('puts every source file on a floor', () => {
    expect(names(sources.filter((f) => floorOf(f) === undefined))).toEqual([]);
  });

  it('never imports upward: every import stays on its floor or below', () => {
    const upward = violations((f, l) => {
      if (!l.target.startsWith('/')) return false;
      const to = floorOf(l.target);
      return to === undefined || to > (floorOf(f) as number);
    });
    expect(upward).toEqual([]);
  });

  it('keeps core on the ground: it imports only core, node builtins and zod', () => {
    const core = sources.filter((f) => floorOf(f) === 0);
    expect(core.length).toBeGreaterThan(0);
    const outside = violations((_, l) => {
      if (l.target.startsWith('/')) return floorOf(l.target) !== 0;
      return !isBuiltin(l.target) && l.target !== 'zod' && !l.target.startsWith('zod/');
    }, core);
    expect(outside).toEqual([]);
  });
});
