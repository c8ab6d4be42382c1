import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The compiled demo, as `npm start` runs it (npm test builds first).
const bin = fileURLToPath(new URL('../dist/main.js', import.meta.url));
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

/** Runs the demo with extra environment variables. */
function weft(args: string[], env: Record<string, string> = {}): Promise<Result> {
  const child = spawn(process.execPath, [bin, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d;
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d;
  });
  return new Promise((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
}

const logOf = (dir: string) => readFileSync(join(dir, 'log.jsonl'), 'utf8').trim().split('\n');

describe('weft-mnist, the demo', () => {
  it('prints help and rejects bad flags with exit code 2', async () => {
    const help = await weft(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: weft-mnist [options]');
    const bad = await weft(['--epochs', 'x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('weft-mnist: --epochs must be an integer ≥ 1, got "x"\n');
    const unknown = await weft(['--nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("Unknown option '--nope'");
    const positional = await weft(['train']);
    expect(positional.stderr).toBe('weft-mnist: weft-mnist takes no positional arguments, got ["train"]\n');
  });

  it('resumes a run killed after a checkpoint to exactly the uninterrupted result', async () => {
    const full = mkdtempSync(join(tmpdir(), 'weft-full-'));
    const a = await weft([...small, '--workers', '2', '--out', full]);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toMatch(/test accuracy 0\.\d{4}/);

    const cut = mkdtempSync(join(tmpdir(), 'weft-cut-'));
    // The demo kills itself with SIGKILL right after its first checkpoint: a crash at a known point, with
    // no race between the child's output and a signal sent by the test.
    const killed = await weft([...small, '--workers', '2', '--out', cut], {
      WEFT_MNIST_CRASH_AFTER_CHECKPOINT: '1',
    });
    expect(killed.signal).toBe('SIGKILL');
    expect(killed.stdout).toMatch(/checkpoint saved after update 18\n$/);
    expect(existsSync(join(cut, 'checkpoint.json'))).toBe(true);
    const b = await weft(['--resume', '--workers', '1', '--out', cut]);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout).toContain('resuming after update 18');
    expect(logOf(cut)).toEqual(logOf(full));
    const summary = (s: string) => s.match(/test accuracy 0\.\d{4}/)?.[0];
    expect(summary(b.stdout)).toBe(summary(a.stdout));
  });
});
