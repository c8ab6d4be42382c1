// The library as a user gets it: `npm pack`, the tarball installed into a fresh project (no workspace
// links), and there the README's programs in JavaScript and TypeScript, the `weft` command, and the size of
// what an install pulls in. Every code block of README.md must carry a `<!-- test: ... -->` marker saying
// what this test does with it:
//   run A [B]   write the block to each file and run it (`.mjs` with node; `.ts` type-checked, then run)
//   file NAME   write the block to NAME, for the programs that use it
//   sh          run the command in the project; the next block, marked `output`, is its exact stdout
//   same-as P   the block is the file P of the repository, verbatim (an example that another test runs)
//   fragment    not run (an excerpt, or a command for the repository itself)
import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

// TypeScript 5.9 checking zod's and weft's declarations three times, and npm installs, take minutes on a
// busy 2-core machine: hence the long timeouts of this file.
const SLOW = 600_000;
const pkg = fileURLToPath(new URL('..', import.meta.url));
const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
/** The production dependency tree of an install must stay small: the library needs only zod and yaml. */
const MAX_INSTALL_BYTES = 20 * 1024 * 1024;

interface Block {
  marker: string;
  lang: string;
  code: string;
  line: number;
}

/** Every fenced block of the README with the marker comment on the line before it. */
function readmeBlocks(text: string): Block[] {
  const lines = text.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i] as string);
    if (!open) continue;
    const end = lines.indexOf('```', i + 1);
    if (end < 0) throw new Error(`README.md:${i + 1}: unclosed code block`);
    const marker = /^<!-- test: (.+) -->$/.exec(lines[i - 1] ?? '')?.[1] ?? '';
    blocks.push({
      marker,
      lang: open[1] ?? '',
      code: `${lines.slice(i + 1, end).join('\n')}\n`,
      line: i + 1,
    });
    i = end;
  }
  return blocks;
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env } });
  if (r.status !== 0) {
    throw new Error(
      `${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal}:\n${r.stdout}\n${r.stderr}`,
    );
  }
  return r.stdout;
}

function treeBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += treeBytes(path);
    else if (entry.isFile()) total += statSync(path).size;
  }
  return total;
}

const blocks = readmeBlocks(readme);
let project = '';
let installBytes = 0;
let installed: string[] = [];

describe('the packed library in a fresh project', () => {
  beforeAll(() => {
    const work = mkdtempSync(join(tmpdir(), 'weft-consumer-'));
    // `npm pack` runs prepack: a fresh build of dist.
    const packed = JSON.parse(
      execFileSync(npm, ['pack', '--json', '--pack-destination', work], { cwd: pkg, encoding: 'utf8' }),
    ) as { filename: string; files: { path: string }[] }[];
    const tarball = join(work, packed[0]!.filename);
    writeFileSync(join(work, 'files.json'), JSON.stringify(packed[0]!.files.map((f) => f.path)));
    project = join(work, 'project');
    mkdirSync(project);
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2),
    );
    const quiet = ['--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'];
    run(npm, ['install', ...quiet, tarball], project);
    installBytes = treeBytes(join(project, 'node_modules'));
    console.log(`installed production tree: ${(installBytes / 2 ** 20).toFixed(2)} MiB`);
    installed = readdirSync(join(project, 'node_modules')).filter((d) => !d.startsWith('.'));
    // What a user adds for TypeScript; weft-data itself needs none of it (YAML plan files need nothing).
    run(npm, ['install', ...quiet, '--save-dev', 'typescript@~5.9.3', '@types/node@^20'], project);
    for (const b of blocks) {
      const [kind, ...names] = b.marker.split(' ');
      if (kind === 'run' || kind === 'file') {
        for (const name of names) writeFileSync(join(project, name), b.code);
      }
    }
  }, SLOW);

  it('ships the library and nothing of the demo', () => {
    const files = JSON.parse(readFileSync(join(project, '..', 'files.json'), 'utf8')) as string[];
    expect(files).toContain('dist/index.js');
    expect(files).toContain('dist/cli/main.js');
    expect(files).toContain('schema/plan-config.schema.json');
    expect(files).toContain('README.md');
    expect(files).toContain('LICENSE');
    expect(files).toContain('package.json');
    expect(files).toContain('cjs/index.cjs');
    expect(files.filter((f) => /mnist|tfjs-backend|model\.|train\./.test(f))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
  });

  it(`installs a production tree under ${MAX_INSTALL_BYTES / 2 ** 20} MiB with zod and yaml as the only dependencies`, () => {
    expect(installed.sort()).toEqual(['weft-data', 'yaml', 'zod']);
    expect(installBytes).toBeLessThan(MAX_INSTALL_BYTES);
  });

  it('ships a README of its own for npm users, a LICENSE and the repository', () => {
    const installedPkg = join(project, 'node_modules', 'weft-data');
    const files = JSON.parse(readFileSync(join(project, '..', 'files.json'), 'utf8')) as string[];
    const manifest = JSON.parse(readFileSync(join(installedPkg, 'package.json'), 'utf8'));
    expect(manifest.repository).toEqual({
      type: 'git',
      url: 'git+https://github.com/weft-ml/weft.git',
      directory: 'packages/weft-data',
    });
    expect(manifest.license).toBe('MIT');
    expect(readFileSync(join(installedPkg, 'LICENSE'), 'utf8')).toMatch(
      /^MIT License\n\nCopyright \(c\) \d{4} the weft authors\n/,
    );
    const text = readFileSync(join(installedPkg, 'README.md'), 'utf8');
    expect(text).toMatch(/^# weft-data\n/);
    expect(text).toContain('npm install weft-data');
    expect(text).not.toContain('npm start');
    // Links and images: absolute URLs of the repository, or files that are in the tarball.
    const targets = [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] as string);
    expect(targets.length).toBeGreaterThanOrEqual(3);
    const repository = 'https://github.com/weft-ml/weft';
    const broken = targets.filter(
      (t) => !(t.startsWith(`${repository}/`) || t.startsWith(`${repository}#`) || files.includes(t)),
    );
    expect(broken).toEqual([]);
    // Its programs run as written.
    const programs = [...text.matchAll(/^```js\n([\s\S]*?)^```$/gm)].map((m) => m[1] as string);
    expect(programs.length).toBeGreaterThanOrEqual(1);
    programs.forEach((code, i) => {
      writeFileSync(join(project, `package-readme-${i}.mjs`), code);
      expect(run(process.execPath, [`package-readme-${i}.mjs`], project)).toMatch(/after update \d+/);
    });
  });

  it('can be required from CommonJS, and says it is ESM-only where Node cannot require ES modules', () => {
    writeFileSync(
      join(project, 'require.cjs'),
      `const weft = require('weft-data');
const tfjs = require('weft-data/tfjs');
const sampler = new weft.InterleavedSampler({
  trainSampler: new weft.SequentialSampler(new weft.ArrayDataset([1, 2, 3, 4])),
  config: { batchSize: 2, maxEpochs: 1 },
});
import('weft-data').then((esm) => {
  console.log(JSON.stringify({
    updates: sampler.plan().updates,
    tfjs: typeof tfjs.loaderDataset,
    sameModule: esm === weft && esm.WeftError === weft.WeftError,
  }));
});
`,
    );
    const out = spawnSync(process.execPath, ['require.cjs'], { cwd: project, encoding: 'utf8' });
    expect(out.stderr).toBe(''); // no ExperimentalWarning either
    expect(JSON.parse(out.stdout)).toEqual({ updates: 2, tfjs: 'function', sameModule: true });
    // A Node.js that cannot require ES modules (as before 20.19): weft's message, not Node's advice.
    const old = spawnSync(process.execPath, ['--no-experimental-require-module', 'require.cjs'], {
      cwd: project,
      encoding: 'utf8',
    });
    expect(old.status).toBe(1);
    expect(old.stderr).toContain(
      `Error: weft-data is ESM-only and this Node.js (${process.version}) cannot require() ES modules: use \`import\` (from CommonJS: \`await import('weft-data')\`), or Node.js ≥ 20.19 or ≥ 22.12\n`,
    );
  });

  it('gives every README code block a test marker', () => {
    const unmarked = blocks.filter((b) => !/^(run|file|sh|output|fragment|same-as)\b/.test(b.marker));
    expect(unmarked.map((b) => `README.md:${b.line}`)).toEqual([]);
    for (const b of blocks.filter((b) => b.marker.startsWith('same-as '))) {
      const file = new URL(`../../../${b.marker.slice('same-as '.length)}`, import.meta.url);
      expect(b.code, `README.md:${b.line}`).toBe(readFileSync(file, 'utf8'));
    }
  });

  it("runs the README's JavaScript programs", () => {
    const programs = blocks.flatMap((b) =>
      b.marker.startsWith('run ') ? b.marker.split(' ').filter((n) => n.endsWith('.mjs')) : [],
    );
    expect(programs.length).toBeGreaterThanOrEqual(3);
    for (const name of programs) {
      const out = run(process.execPath, [name], project);
      expect(out.length, name).toBeGreaterThan(0);
      // Run again, a user's second try: the same output, nothing left behind that changes it (a
      // train-loop.mjs that left its loader.json would silently resume a finished run).
      expect(run(process.execPath, [name], project), `${name}, second run`).toBe(out);
    }
    expect(existsSync(join(project, 'loader.json'))).toBe(false);
  });

  it(
    "type-checks the README's TypeScript programs with and without @types/node, then runs them",
    () => {
      const programs = blocks.flatMap((b) =>
        b.marker.startsWith('run ') ? b.marker.split(' ').filter((n) => n.endsWith('.ts')) : [],
      );
      expect(programs.length).toBeGreaterThanOrEqual(2);
      const base = {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        skipLibCheck: false,
        outDir: 'out',
      };
      const tsconfig = (name: string, compilerOptions: object, files: string[]) => {
        writeFileSync(
          join(project, name),
          JSON.stringify({ compilerOptions: { ...base, ...compilerOptions }, files }),
        );
        return name;
      };
      const tsc = join(project, 'node_modules', 'typescript', 'bin', 'tsc');
      // With Node's types, as most projects have them.
      run(
        process.execPath,
        [tsc, '-p', tsconfig('tsconfig.node.json', { types: ['node'] }, programs)],
        project,
      );
      // Without them: `DOM` gives `console`, `URL` and `AbortSignal` (zod's types need `URL` too), and
      // `ESNext.Disposable` is needed only by programs that use `await using`.
      const portable = programs.filter(
        (p) => !readFileSync(join(project, p), 'utf8').includes("from 'node:"),
      );
      expect(portable.length).toBeGreaterThanOrEqual(2);
      const bare = { types: [], noEmit: true };
      run(
        process.execPath,
        [
          tsc,
          '-p',
          tsconfig('tsconfig.bare.json', { ...bare, lib: ['ES2022', 'DOM', 'ESNext.Disposable'] }, portable),
        ],
        project,
      );
      const noUsing = portable.filter((p) => !readFileSync(join(project, p), 'utf8').includes('await using'));
      expect(noUsing.length).toBeGreaterThanOrEqual(1);
      run(
        process.execPath,
        [tsc, '-p', tsconfig('tsconfig.dom.json', { ...bare, lib: ['ES2022', 'DOM'] }, noUsing)],
        project,
      );
      for (const p of programs) {
        const out = run(process.execPath, [join('out', p.replace(/\.ts$/, '.js'))], project);
        expect(out.length, p).toBeGreaterThan(0);
      }
    },
    SLOW,
  );

  it("runs the README's weft commands and prints exactly the output shown", () => {
    const sh = blocks.filter((b) => b.marker === 'sh');
    expect(sh.length).toBeGreaterThanOrEqual(1);
    for (const b of sh) {
      const next = blocks[blocks.indexOf(b) + 1];
      expect(next?.marker, `README.md:${b.line}: an sh block is followed by its output`).toBe('output');
      const [cmd, ...args] = b.code.trim().split(/\s+/);
      expect(cmd).toBe('npx');
      expect(run(npm, ['exec', '--', ...args], project)).toBe(next!.code);
    }
    const help = run(npm, ['exec', '--', 'weft', '--help'], project);
    expect(help).toContain('weft plan CONFIG [--out DIR]');
    const { version } = JSON.parse(
      readFileSync(join(project, 'node_modules/weft-data/package.json'), 'utf8'),
    );
    expect(run(npm, ['exec', '--', 'weft', '--version'], project)).toBe(`${version}\n`);
  });
});
