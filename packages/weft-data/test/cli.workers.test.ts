// The `weft` command as a user runs it: the compiled bin (npm test builds first), one process per call.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fold } from '../src/cli/command.ts';
import { weft } from './fixtures/weft-cli.ts';

const planJson = fileURLToPath(new URL('../examples/plan.json', import.meta.url));

const dir = mkdtempSync(join(tmpdir(), 'weft-cli-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

describe('weft command line', () => {
  it('prints help with --help (exit 0) and, as an error, with no command (exit 2)', async () => {
    const help = await weft(['--help']);
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect(help.stdout).toContain('  weft plan CONFIG [--out DIR]\n');
    expect(help.stdout).toContain('  --version   print the version of weft-data\n');
    const bare = await weft([]);
    expect(bare).toMatchObject({ code: 2, stdout: '', stderr: help.stdout });
    const plan = await weft(['plan', '--help']);
    expect(plan).toMatchObject({ code: 0, stderr: '' });
    expect(plan.stdout).toMatch(/^Usage: weft plan CONFIG \[--out DIR\]\n/);
    expect(plan.stdout).toContain('  --out DIR   also draw the timeline as DIR/plan.svg');
  });

  it('prints the version of the package with --version', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
    expect(await weft(['--version'])).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('rejects unknown commands and flags with exit code 2 and one line naming them', async () => {
    const cases: [string[], string][] = [
      [['train'], 'unknown command "train"; see weft --help'],
      [['plna', planJson], 'unknown command "plna"; did you mean plan?'],
      [['--bogus'], 'unknown option --bogus; see weft --help'],
      [['--verison'], 'unknown option --verison; did you mean --version?'],
      [['-x'], 'unknown option -x; see weft --help'],
      [['plan', planJson, '--nope'], 'unknown option --nope for weft plan; see weft plan --help'],
      [['plan', planJson, '--outt', dir], 'unknown option --outt for weft plan; did you mean --out?'],
      [['plan', planJson, '--out'], '--out needs a value: weft plan … --out DIR'],
      [['plan', planJson, '--out', '--help'], '--out needs a value: weft plan … --out DIR'],
      [['plan', '--help=yes'], '--help takes no value, got "yes"'],
      [['--help', 'plan'], 'the command comes first: weft plan --help'],
      [['plan'], 'weft plan needs a CONFIG file; see weft plan --help'],
      [['plan', 'a.json', 'b.json'], 'weft plan takes one CONFIG file, got 2: a.json b.json'],
      [['schema', 'x'], 'weft schema takes no arguments, got ["x"]'],
    ];
    for (const [args, message] of cases) {
      expect(await weft(args), args.join(' ')).toEqual({ code: 2, stdout: '', stderr: `weft: ${message}\n` });
    }
  });

  it('folds long lines on a narrow terminal under their own column, keeping aligned spaces', () => {
    expect(fold('quick       15  40, 80, 120, 160', 27, 0, 18)).toBe(
      'quick       15  40, 80,\n                  120, 160\n',
    );
    expect(fold('  `a` must be a positive integer, got 0', 30, 2, 4)).toBe(
      '  `a` must be a positive\n    integer, got 0\n',
    );
    expect(fold('short  line', 30, 0)).toBe('short  line\n');
  });

  it('plans a run from a JSON file and writes the timeline', async () => {
    const out = join(dir, 'json');
    const r = await weft(['plan', planJson, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('test         5       20    10000  125, 250, 375, 500, 625');
    expect(readFileSync(join(out, 'plan.svg'), 'utf8')).toContain('<svg');
  });

  it('plans a run from a YAML file', async () => {
    const yaml = file(
      'plan.yaml',
      'trainSize: 10\nconfig: { batchSize: 5, maxEpochs: 2 }\ncallbacks:\n  - { name: eval, size: 3, everyNUpdates: 3 }\n',
    );
    const r = await weft(['plan', yaml, '--out', join(dir, 'yaml')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('eval         1        1        3  3');
  });

  it('reports an unreadable file in one line, exit code 2, no stack trace', async () => {
    const cases: [string, string][] = [
      [join(dir, 'missing.json'), `weft: ${join(dir, 'missing.json')}: no such file\n`],
      [
        file('plan.txt', '{}'),
        `weft: ${join(dir, 'plan.txt')}: unknown extension ".txt"; expected .json, .yaml or .yml\n`,
      ],
    ];
    for (const [path, message] of cases) {
      const r = await weft(['plan', path, '--out', join(dir, 'bad')]);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(message);
    }
    // The parsers' own wording varies between versions: one line after weft's prefix is what is promised.
    const json = await weft(['plan', file('broken.json', '{"trainSize": 1,'), '--out', join(dir, 'bad')]);
    expect(json.code).toBe(2);
    expect(json.stderr).toMatch(/^weft: .*broken\.json: invalid JSON: [^\n]+\n$/);
    const yaml = await weft(['plan', file('broken.yaml', 'config: [1,\n'), '--out', join(dir, 'bad')]);
    expect(yaml.code).toBe(2);
    expect(yaml.stderr).toMatch(/^weft: .*broken\.yaml: invalid YAML: [^\n]+\n$/);
  });

  it("names every invalid field by the file's own keys, with the value given", async () => {
    const path = file(
      'bad.json',
      JSON.stringify({
        trainSize: 0,
        config: { batchSize: 4, maxEpochs: 1, startEpoch: 1, startUpdate: 2 },
        callbacks: [{ name: 'test', size: -1, everyNEpochs: 1.5, every: 3 }],
      }),
    );
    const r = await weft(['plan', path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      [
        `weft: invalid plan config ${path}:`,
        '  `trainSize` must be a positive integer, got 0',
        '  `callbacks[0].everyNEpochs` must be a positive integer, got 1.5',
        '  `callbacks[0].size` must be a non-negative integer, got -1',
        '  `callbacks[0].every` is not a known option',
        '  at most one of `config.startEpoch`, `config.startUpdate`, `config.startSample` may be set, got startEpoch=1, startUpdate=2',
        '',
      ].join('\n'),
    );
  });

  it('plans a mixture: the schedule, then each source with its weight and samples per epoch', async () => {
    const path = file(
      'mixture.yaml',
      [
        'train:',
        '  sources:',
        '    - { name: books, size: 20000, weight: 3 }',
        '    - { name: web, size: 100000, weight: 1 }',
        '  numSamples: 40000',
        'config: { batchSize: 32, maxEpochs: 2 }',
        'callbacks:',
        '  - { name: test, size: 5000, everyNEpochs: 1 }',
        '',
      ].join('\n'),
    );
    const r = await weft(['plan', path]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toBe(
      [
        'source  passes  batches  samples  runs after updates',
        'train        -     2500    80000  2500 updates',
        'test         2      314    10000  1250, 2500',
        '',
        'epochs 2, updates 2500, samples 80000; evaluation batches 314 of 2814 (11.2%)',
        '',
        'mixture  weight    size  per epoch  × size',
        'books     75.0%   20000      30000    1.50',
        'web       25.0%  100000      10000    0.10',
        '',
        '40000 training samples per epoch from 2 sources, mixed per sample',
        '',
      ].join('\n'),
    );
    const badPath = file(
      'mixture-bad.json',
      JSON.stringify({ train: { sources: [] }, config: { batchSize: 4, maxEpochs: 1 } }),
    );
    const bad = await weft(['plan', badPath]);
    expect(bad).toMatchObject({ code: 2, stdout: '' });
    expect(bad.stderr).toBe(
      [
        `weft: invalid plan config ${badPath}:`,
        '  `train.sources` must be a list of { name, size, weight }, got an array of length 0',
        '',
      ].join('\n'),
    );
  });

  it('plans a run of 1e12 updates at once (issue 10, item 4)', async () => {
    const path = file(
      'long.json',
      JSON.stringify({
        trainSize: 1000,
        config: { batchSize: 10, maxUpdates: 1e12 },
        callbacks: [{ size: 10, everyNUpdates: 1000, name: 'val' }],
      }),
    );
    const out = mkdtempSync(join(tmpdir(), 'weft-cli-out-'));
    const r = await weft(['plan', path, '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(
      'val     1000000000     1000000000     10000000000  1000, 2000, 3000, 4000, 5000, 6000, … (1000000000 in all)',
    );
    expect(readFileSync(join(out, 'plan.svg'), 'utf8')).toContain('fill-opacity');
  }, 30_000);

  it('loads no worker_threads when only the sampler is imported (issue 10, structure)', async () => {
    // A module file rather than `-e`: workers inherit the process's flags, and `--input-type` fails in them.
    const threads = async (code: string) => {
      const child = spawn(process.execPath, [file('threads.mjs', code)], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => {
        stdout += d;
      });
      await new Promise((done) => child.on('close', done));
      return JSON.parse(stdout) as string[];
    };
    const dist = (module: string) => JSON.stringify(new URL(`../dist/${module}`, import.meta.url).href);
    const print = `console.log(JSON.stringify(process.moduleLoadList.filter((m) => m.endsWith(' worker_threads'))));`;
    const loaded = (module: string) => threads(`await import(${dist(module)}); ${print}`);
    expect(await loaded('interleaved/sampler.js')).toEqual([]);
    expect(await loaded('interleaved/schedule.js')).toEqual([]);
    // The sampler's getDataLoader is a plain method: its module, the loader's and the index load the engine,
    // whose threaded part is imported only when a run with workers starts.
    expect(await loaded('interleaved/loader.js')).toEqual([]);
    expect(await loaded('index.js')).toEqual([]);
    const start = (numWorkers: number) =>
      threads(
        `const w = await import(${dist('index.js')});
        const sampler = new w.InterleavedSampler({
          trainSampler: new w.SequentialSampler(new w.ArrayDataset([1, 2, 3, 4])),
          config: { batchSize: 2, maxUpdates: 1 },
        });
        const loader = sampler.getDataLoader({ numWorkers: ${numWorkers} });
        const batches = [];
        for await (const batch of loader) batches.push(batch);
        await loader.close();
        if (batches.length !== 1) throw new Error('expected one batch, got ' + batches.length);
        ${print}`,
      );
    expect(await start(0)).toEqual([]);
    // The check can see it: a loader with workers does load worker_threads.
    expect(await start(1)).toEqual(['NativeModule worker_threads']);
    expect(await loaded('engine/threads.js')).toEqual(['NativeModule worker_threads']);
  });

  it('prints the JSON Schema that the package ships', async () => {
    const r = await weft(['schema']);
    expect(r.code).toBe(0);
    const shipped = readFileSync(new URL('../schema/plan-config.schema.json', import.meta.url), 'utf8');
    expect(JSON.parse(r.stdout)).toEqual(JSON.parse(shipped));
  });
});
