// The demo's progress display, read off a terminal emulator (xterm's headless core) of fixed width: every
// frame must fit the width, clear what it replaces, and keep the evaluation results above the bars.
import { Writable } from 'node:stream';
import xterm from '@xterm/headless';
import { describe, expect, it } from 'vitest';
import { createProgress, Rate, shellLines } from '../src/progress.ts';

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
    // A resumed run: 60 s of earlier sessions count in the elapsed time.
    p.start(0, 7500, 30, 1, 60);
    p.train(1, 1);
    p.render();
    expect((await screen())[0]).toMatch(/^train [█░]+ 1\/7500 {2}ETA estimating…/);
    for (let u = 2; u <= 250; u++) {
      t += 20; // 50 updates/s
      p.train(u, Math.floor(u / 250) + 1);
    }
    p.render();
    let lines = await screen();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^train [█░]+ 250\/7500 {2}ETA 2:25/);
    if (cols >= 80) expect(lines[0]).toContain('epoch 2/30  50/s  1:05 elapsed');

    p.passStart('test', 4);
    p.passBatch(1);
    p.render();
    lines = await screen();
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^ {2}test {2}[█░]+ 1\/4 batches/);

    p.passBatch(4);
    p.passEnd();
    p.log('[test] update 250: loss 0.1234, accuracy 0.9650', '(2000 digits)');
    p.render();
    lines = await screen();
    // The detail goes where it does not fit, rather than wrap onto a line of its own.
    const result = '[test] update 250: loss 0.1234, accuracy 0.9650 (2000 digits)';
    const resultLines = cols > result.length ? [result] : ['[test] update 250: loss 0.1234, accuracy 0.9650'];
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
    // A rate from the first update on, as a short run needs to show one.
    const rate = new Rate({ skip: 0, minUpdates: 1, minMs: 0, windowMs: 5000 });
    const p = createProgress(stream, sink, () => t, rate);
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

describe('a shell command on a narrow terminal', () => {
  it('breaks between its pieces with a continuation, and not at all when it fits', () => {
    const pieces = ['node examples/mnist/dist/main.js', '--resume', "--out 'my runs/a'", '--workers 1'];
    expect(shellLines(pieces, 79)).toEqual([
      "  node examples/mnist/dist/main.js --resume --out 'my runs/a' --workers 1",
    ]);
    expect(shellLines(pieces, 49)).toEqual([
      '  node examples/mnist/dist/main.js --resume \\',
      "    --out 'my runs/a' --workers 1",
    ]);
    for (const line of shellLines(pieces, 49)) expect(line.length).toBeLessThanOrEqual(49);
  });
});

describe('the ETA', () => {
  /** Times (ms) after each update of a synthetic run: a slow start, then steady updates with evaluation pauses. */
  function run(total: number): number[] {
    const times = [0];
    let t = 0;
    for (let u = 1; u <= total; u++) {
      t += u === 1 ? 1500 : u <= 5 ? 80 : 10; // workers starting, then decoding ahead
      if (u % 100 === 0) t += 400; // a quick test
      if (u % 500 === 0) t += 1000; // a full test
      times.push(t);
    }
    return times;
  }

  it('says nothing until the run has warmed up, then predicts the end within 25% all along', () => {
    const total = 2000;
    const times = run(total);
    const end = times[total] as number;
    const rate = new Rate();
    rate.add(0, 0);
    let first: number | undefined;
    const misses: string[] = [];
    for (let u = 1; u <= total; u++) {
      const now = times[u] as number;
      rate.add(now, u);
      const perSecond = rate.perSecond();
      if (perSecond === undefined) {
        expect(first, `no estimate after update ${u}`).toBeUndefined();
        continue;
      }
      first ??= u;
      const predicted = now + ((total - u) / perSecond) * 1000;
      if (Math.abs(predicted - end) > 0.25 * end) misses.push(`update ${u}: ${predicted} for ${end}`);
    }
    // At least 30 updates and 3 s after the 5 skipped ones.
    expect(first).toBeGreaterThanOrEqual(35);
    expect((times[first as number] as number) - (times[5] as number)).toBeGreaterThanOrEqual(3000);
    expect(misses).toEqual([]);
  });

  it('is steady: read once a second, it never goes up by more than 15%', () => {
    const total = 5000;
    const times = run(total);
    const rate = new Rate();
    rate.add(0, 0);
    const shown: number[] = [];
    let nextRead = 0;
    for (let u = 1; u <= total; u++) {
      const now = times[u] as number;
      rate.add(now, u);
      const perSecond = rate.perSecond();
      if (perSecond === undefined || now < nextRead) continue;
      shown.push((total - u) / perSecond);
      nextRead = now + 1000;
    }
    expect(shown.length).toBeGreaterThan(40);
    // The largest rise: when the first full test (a pause the estimate has not seen yet) enters the window.
    const rises = shown.slice(1).map((eta, i) => eta / (shown[i] as number) - 1);
    expect(Math.max(...rises)).toBeLessThan(0.15);
  });
});
