import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/** Runs a fixture script under tsx; resolves with its exit code and output, whatever the code. */
function runFixture(
  name: string,
  args: string[] = [],
  flags: string[] = [],
): Promise<{ code: number | null; stdout: string }> {
  const script = fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...flags, '--import', 'tsx', script, ...args],
      { timeout: 60_000 },
      (error, stdout) => {
        resolve({ code: error === null ? 0 : ((error as { code?: number }).code ?? null), stdout });
      },
    );
  });
}

describe('process lifetime', () => {
  it.each([
    ['timer', 'tla'],
    ['timer', 'main'],
    ['signal', 'tla'],
    ['signal', 'main'],
  ])(
    'close() from a %s while the loop waits rejects the loop and the process goes on (%s)',
    async (how, style) => {
      const { code, stdout } = await runFixture('close-while-waiting.ts', [how, style]);
      const after = style === 'main' ? ['after main'] : [];
      expect({ code, lines: stdout.trim().split('\n') }).toEqual({
        code: 0,
        lines: [
          'batch 0,1',
          'caught LoaderClosedError: the loader was closed while loading',
          'after loop',
          ...after,
        ],
      });
    },
  );

  it('exits on its own when a consumer takes one batch and drops the iterator', async () => {
    const { code, stdout } = await runFixture('drop-iterator.ts');
    expect({ code, stdout: stdout.trim() }).toEqual({ code: 0, stdout: 'took 0,1,2,3\ntook 0,1,2,3' });
  });

  it('ends an iteration dropped without return() once it is garbage-collected', async () => {
    const { code, stdout } = await runFixture('dropped-run-gc.ts', [], ['--expose-gc']);
    expect({ code, stdout: stdout.trim() }).toEqual({
      code: 0,
      stdout: 'took 0 with 2 workers\n0 workers after collection',
    });
  });
});
