// The demo's progress display, read off a terminal emulator (xterm's headless core) of fixed width: every
// frame must fit the width, clear what it replaces, and keep the evaluation results above the bars.
import { Writable } from 'node:stream';
import xterm from '@xterm/headless';
import { describe, expect, it } from 'vitest';
import { createProgress } from '../src/progress.ts';

/** A stream that keeps what is written to it as strings. */
function collect(isTTY = false) {
  const chunks: string[] = [];
  const stream = Object.assign(
    new Writable({
      write(chunk, _encoding, done) {
        chunks.push(String(chunk));
        done();
      },
    }),
    { isTTY },
  );
  return { stream, chunks };
}

/** A terminal of `cols` columns, and the writable stream that feeds it as a TTY would. */
function terminal(cols: number) {
  // convertEol: a real TTY's line discipline turns \n into \r\n (onlcr).
  const term = new xterm.Terminal({ cols, rows: 24, allowProposedApi: true, convertEol: true });
  let pending = Promise.resolve();
  const stream = Object.assign(
    new Writable({
      write(chunk, _encoding, done) {
        pending = pending.then(() => new Promise<void>((resolve) => term.write(String(chunk), resolve)));
        done();
      },
    }),
    { isTTY: true, columns: cols },
  );
  const screen = async () => {
    await pending;
    const lines: string[] = [];
    for (let i = 0; i < term.rows; i++)
      lines.push(term.buffer.active.getLine(i)?.translateToString(true) ?? '');
    while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    return lines;
  };
  return { stream, screen };
}

describe.each([80, 50])('progress on a %i-column terminal', (cols) => {
  it('draws the training bar, a pass under it, and the result above both once the pass ends', async () => {
    const { stream, screen } = terminal(cols);
    let t = 0;
    const { stream: sink, chunks: out } = collect();
    const p = createProgress(stream, sink, () => t);
    p.start(0, 7500, 30, 1);
    for (let u = 1; u <= 250; u++) {
      t += 4; // 250 updates/s
      p.train(u, Math.floor(u / 250));
    }
    p.render();
    let lines = await screen();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^train [█░]+ 250\/7500 {2}ETA 0:29/);
    if (cols >= 80) expect(lines[0]).toContain('epoch 1/30  250/s  0:01 elapsed');

    p.passStart('test', 4);
    p.passBatch(1);
    p.render();
    lines = await screen();
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^ {2}test {2}[█░]+ 1\/4 batches/);

    p.passBatch(4);
    p.passEnd();
    p.log('[test] update 250: loss 0.1234, accuracy 0.9650 (2000 digits)');
    p.render();
    lines = await screen();
    const result = '[test] update 250: loss 0.1234, accuracy 0.9650 (2000 digits)';
    const resultLines =
      cols > result.length ? [result] : ['[test] update 250: loss 0.1234, accuracy 0.9650', '(2000 digits)'];
    expect(lines.slice(0, resultLines.length)).toEqual(resultLines);
    const bars = lines.slice(resultLines.length);
    expect(bars).toHaveLength(1);
    expect(bars[0]).toMatch(/^train /);
    expect(out).toEqual([]);

    for (const line of await screen()) expect(line.length).toBeLessThanOrEqual(cols);
    p.stop();
  });

  it('replaces a longer line without leaving its end behind', async () => {
    const { stream, screen } = terminal(cols);
    let t = 0;
    const p = createProgress(stream, new Writable({ write: (_c, _e, done) => done() }), () => t);
    p.start(0, 100_000, 300, 1);
    t += 1000;
    p.train(99_999, 299);
    p.render();
    const long = (await screen())[0] ?? '';
    t += 1;
    p.train(100_000, 300);
    p.render();
    const [short] = await screen();
    expect(short).toMatch(/^train █+ 100000\/100000/);
    expect(short!.length).toBeLessThanOrEqual(long.length + 1);
    expect(short).not.toMatch(/s elapsed.*elapsed/);
    p.stop();
  });
});

describe('progress when the output is not a terminal', () => {
  it('prints one plain line per epoch and the results, without escape codes', () => {
    const { stream, chunks: err } = collect();
    const { stream: sink, chunks: out } = collect();
    let t = 0;
    const p = createProgress(stream, sink, () => t);
    p.start(0, 30, 3, 1);
    for (let u = 1; u <= 30; u++) {
      t += 100;
      p.train(u, Math.floor((u - 1) / 10));
      if (u % 10 === 0) p.log(`[test] update ${u}`);
    }
    p.stop();
    expect(err.join('')).toBe(
      [
        'train 11/30, ETA 0:02, epoch 1/3, 10/s, 0:01 elapsed',
        'train 21/30, ETA 0:01, epoch 2/3, 10/s, 0:02 elapsed',
        'train 30/30, ETA 0:00, epoch 2/3, 10/s, 0:03 elapsed',
        '',
      ].join('\n'),
    );
    expect(out.join('')).toBe('[test] update 10\n[test] update 20\n[test] update 30\n');
    expect(err.join('') + out.join('')).not.toContain(String.fromCharCode(27)); // no escape codes
  });
});
