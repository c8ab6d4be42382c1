// The format readers are optional peer dependencies: weft never imports them statically, and a missing one
// is a ConfigError that says what to install.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { importPeer } from '../src/files/file.ts';
import { ConfigError } from '../src/index.ts';

const src = fileURLToPath(new URL('../src', import.meta.url));
const PEERS = ['hyparquet', 'apache-arrow', 'csv-parse'];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

describe('optional format readers', () => {
  it('are imported only dynamically, when their format is opened', () => {
    const staticImports = sources(src).flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .filter((line) => /^\s*(import|export)\s/.test(line) && !/^\s*import type\s/.test(line))
        .filter((line) => PEERS.some((p) => line.includes(`'${p}`)))
        .map((line) => `${file}: ${line.trim()}`),
    );
    expect(staticImports).toEqual([]);
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    for (const p of PEERS) {
      expect(pkg.peerDependencies[p], p).toBeDefined();
      expect(pkg.peerDependenciesMeta[p], p).toEqual({ optional: true });
      expect(pkg.dependencies[p], p).toBeUndefined();
    }
  });

  it('when missing, give a ConfigError naming the package to install', async () => {
    const pkg = 'weft-no-such-package';
    const e = await importPeer(pkg, 'Parquet', () => import(pkg)).catch((x) => x);
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toBe(
      'reading Parquet files needs the package `weft-no-such-package`, which is not installed; install it with npm install weft-no-such-package',
    );
    // Other failures are not disguised as a missing package.
    await expect(importPeer('x', 'X', () => Promise.reject(new TypeError('boom')))).rejects.toThrow('boom');
  });
});
