import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
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

// The working directory of every run, so that the command the demo prints to continue is known exactly.
const root = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * Runs the demo with extra environment variables; `onStdout` sees the output as it comes (with the child, to
 * signal it at a point the output shows).
 */
function weft(
  args: string[],
  env: Record<string, string> = {},
  onStdout?: (stdout: string, child: ReturnType<typeof spawn>) => void,
): Promise<Result> {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env, npm_lifecycle_event: '' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d;
    onStdout?.(stdout, child);
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d;
  });
  return new Promise((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
}

const logOf = (dir: string) => readFileSync(join(dir, 'log.jsonl'), 'utf8').trim().split('\n');
const summary = (s: string) => s.match(/test accuracy 0\.\d{4}/)?.[0];

/** A finished run of `small` (3 epochs of 18 updates), made once and copied by the tests that need one. */
let finished: Promise<{ dir: string; result: Result }> | undefined;
function finishedRun() {
  finished ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-finished-'));
    const result = await weft([...small, '--workers', '2', '--out', dir]);
    expect(result.code, result.stderr).toBe(0);
    return { dir, result };
  })();
  return finished;
}
const copyOf = (dir: string) => {
  const copy = mkdtempSync(join(tmpdir(), 'weft-copy-'));
  cpSync(dir, copy, { recursive: true });
  return copy;
};

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
    const { dir: full, result: a } = await finishedRun();
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
    expect(summary(b.stdout)).toBe(summary(a.stdout));
  });

  it('refuses --resume without a checkpoint with one line and exit code 2, before loading TensorFlow.js', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'weft-empty-'));
    const r = await weft(['--resume', '--out', empty]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `weft-mnist: --resume: no checkpoint at ${join(empty, 'checkpoint.json')} (start a run without --resume)\n`,
    );
    expect(r.stdout).toBe('');
  });

  it('refuses a resume with flags that would not continue the run, naming each with both values', async () => {
    const { dir } = await finishedRun();
    const r = await weft(['--resume', '--out', dir, '--batch-size', '64', '--lr', '0.1', '--epochs', '2']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      [
        `weft-mnist: cannot resume with --batch-size 64: the run in ${dir} used 32`,
        `weft-mnist: cannot resume with --lr 0.1: the run in ${dir} used 0.2`,
        `weft-mnist: cannot resume with --epochs 2: the run in ${dir} has done 3 epochs`,
        '',
      ].join('\n'),
    );
    // The same values as the checkpoint's are no change.
    const same = await weft(['--resume', '--out', dir, '--batch-size', '32', '--train-size', '600']);
    expect(same.code, same.stderr).toBe(0);
  });

  it('says a finished run is finished, with its figures, and extends it exactly with a larger --epochs', async () => {
    const { dir, result } = await finishedRun();
    const seconds = (JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8')) as { elapsed: number })
      .elapsed;
    const again = await weft(['--resume', '--out', dir]);
    expect(again.code, again.stderr).toBe(0);
    const done = `done: 54 updates in ${seconds.toFixed(1)} s, ${summary(result.stdout)}`;
    expect(result.stdout.trimEnd().split('\n').at(-1)).toBe(done);
    expect(again.stdout).toBe(
      [
        `weft-mnist: the run in ${dir} is finished`,
        done,
        'to train it longer, add --epochs 4 (or more)',
        '',
      ].join('\n'),
    );
    expect(again.stderr).toBe('');

    const longer = copyOf(dir);
    const extended = await weft(['--resume', '--epochs', '4', '--out', longer]);
    expect(extended.code, extended.stderr).toBe(0);
    const fresh = mkdtempSync(join(tmpdir(), 'weft-4-'));
    const four = await weft([...small, '--epochs', '4', '--out', fresh]);
    expect(four.code, four.stderr).toBe(0);
    expect(logOf(longer)).toEqual(logOf(fresh));
    expect(summary(extended.stdout)).toBe(summary(four.stdout));
  });

  it('counts the elapsed time of the whole run across a resume', async () => {
    const { dir } = await finishedRun();
    const resumed = copyOf(dir);
    // The run as if its sessions so far had taken 1000 s: a resume must add to them.
    const path = join(resumed, 'checkpoint.json');
    const saved3 = JSON.parse(readFileSync(path, 'utf8')) as { elapsed: number; state: { update: number } };
    expect(saved3.state.update).toBe(54);
    writeFileSync(path, JSON.stringify({ ...saved3, elapsed: 1000 }));
    const started = performance.now();
    const r = await weft(['--resume', '--epochs', '4', '--out', resumed]);
    const wall = (performance.now() - started) / 1000;
    expect(r.code, r.stderr).toBe(0);
    const seconds = Number(r.stdout.match(/done: 72 updates in ([\d.]+) s/)?.[1]);
    expect(seconds).toBeGreaterThan(1000);
    expect(seconds).toBeLessThan(1000 + wall);
    const saved = JSON.parse(readFileSync(path, 'utf8')) as { elapsed: number };
    expect(saved.elapsed).toBeGreaterThan(1000);
  });

  it('on Ctrl-C saves a checkpoint and prints the command that continues the run, which then ends exactly', async () => {
    const { dir: full, result: a } = await finishedRun();
    const out = mkdtempSync(join(tmpdir(), 'weft-int-'));
    let signalled = false;
    // SIGINT as soon as the first result is out: training is under way, the handler installed.
    const r = await weft([...small, '--out', out], {}, (stdout, child) => {
      if (!signalled && stdout.includes('[quick] update 7')) {
        signalled = true;
        child.kill('SIGINT');
      }
    });
    expect(r.code).toBe(130);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.at(-3)).toMatch(/^interrupted: checkpoint saved after update \d+$/);
    expect(lines.at(-2)).toBe('to continue the run:');
    const command = `node examples/mnist/dist/main.js --resume --out ${out}`;
    expect(lines.at(-1)).toBe(`  ${command}`);
    const [, ...args] = command.split(' ').slice(1);
    const b = await weft(args);
    expect(b.code, b.stderr).toBe(0);
    expect(logOf(out)).toEqual(logOf(full));
    expect(summary(b.stdout)).toBe(summary(a.stdout));
  });
});
