import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../bin/weft.mjs', import.meta.url));
const small = [
  '--epochs',
  '3',
  '--train-size',
  '600',
  '--test-size',
  '200',
  '--quick-size',
  '100',
  '--quick-every',
  '7',
];

interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI; `onLine` may kill it (synchronising on its output, never on time). */
function weft(args: string[], onLine?: (line: string, child: ChildProcess) => void): Promise<Result> {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let pending = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d;
    pending += d;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) onLine?.(line, child);
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d;
  });
  return new Promise((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
}

const logOf = (dir: string) => readFileSync(join(dir, 'log.jsonl'), 'utf8').trim().split('\n');

describe('weft command line', () => {
  it('prints help and rejects bad flags with exit code 2', async () => {
    const help = await weft(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('weft train [options]');
    const bad = await weft(['train', '--epochs', 'x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('weft: --epochs must be an integer ≥ 1, got "x"');
    const unknown = await weft(['train', '--nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("Unknown option '--nope'");
  });

  it('plans a run from a config file and rejects an invalid one', async () => {
    const out = mkdtempSync(join(tmpdir(), 'weft-plan-'));
    const ok = await weft([
      'plan',
      fileURLToPath(new URL('../examples/plan.json', import.meta.url)),
      '--out',
      out,
    ]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('test         5       20    10000  125, 250, 375, 500, 625');
    expect(readFileSync(join(out, 'plan.svg'), 'utf8')).toContain('<svg');
    const yamlFile = join(out, 'plan.yaml');
    writeFileSync(
      yamlFile,
      'trainSize: 10\nconfig: { batchSize: 5, maxEpochs: 2 }\ncallbacks:\n  - { name: eval, size: 3, everyNUpdates: 3 }\n',
    );
    const yaml = await weft(['plan', yamlFile, '--out', out]);
    expect(yaml.stdout).toContain('eval         1        1        3  3');
    const bad = await weft(['plan', fileURLToPath(new URL('../package.json', import.meta.url))]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('invalid plan config');
  });

  it('resumes a run killed after a checkpoint to exactly the uninterrupted result', async () => {
    const full = mkdtempSync(join(tmpdir(), 'weft-full-'));
    const a = await weft([...small, '--workers', '2', '--out', full]);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toMatch(/test accuracy 0\.\d{4}/);

    const cut = mkdtempSync(join(tmpdir(), 'weft-cut-'));
    const killed = await weft([...small, '--workers', '2', '--out', cut], (line, child) => {
      if (line.startsWith('checkpoint saved')) child.kill('SIGKILL');
    });
    expect(killed.signal).toBe('SIGKILL');
    expect(existsSync(join(cut, 'checkpoint.json'))).toBe(true);
    const b = await weft(['--resume', '--workers', '1', '--out', cut]);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout).toContain('resuming after update 18');
    expect(logOf(cut)).toEqual(logOf(full));
    const summary = (s: string) => s.match(/test accuracy 0\.\d{4}/)?.[0];
    expect(summary(b.stdout)).toBe(summary(a.stdout));
  }, 120_000);
});
