// What the demo shows while it trains. On a terminal: a training bar (epoch, update/total, rate, elapsed,
// ETA), an evaluation bar under it during each pass, removed when the pass ends, and every evaluation result as
// a permanent line above the bars. The terminal handling (redraws, clearing, cursor, truncation to the width)
// is cli-progress's; this module decides what the lines say, fitted to the terminal's width. Elsewhere (a
// pipe, a file, CI): plain lines without escape codes, one per epoch.
import { MultiBar, type SingleBar } from 'cli-progress';

/** The demo's view of progress; see {@link createProgress}. */
export interface Progress {
  /**
   * The run covers updates (from, total], starting in `epoch` (1-based) of `epochs`, after `elapsed` seconds
   * of earlier sessions (a resumed run).
   */
  start(from: number, total: number, epochs: number, epoch: number, elapsed?: number): void;
  /** A training update is done. */
  train(update: number, epoch: number): void;
  /** An evaluation pass of `batches` batches starts. */
  passStart(name: string, batches: number): void;
  /** `done` batches of the current pass are done. */
  passBatch(done: number): void;
  /** The current pass is over. */
  passEnd(): void;
  /**
   * A line that stays: above the bars on a terminal, on `out` otherwise. `detail` follows it when the
   * terminal is wide enough, so that a narrow one shows the line unbroken.
   */
  log(line: string, detail?: string): void;
  /** Draws the bars now (the library otherwise redraws on its own clock). */
  render(): void;
  /** Removes the bars; later lines go out plainly. */
  stop(): void;
}

/** A terminal-like stream: what cli-progress and the width rules read. */
export interface TerminalStream extends NodeJS.WritableStream {
  isTTY?: boolean;
  columns?: number;
}

/** When {@link Rate} starts to estimate, and over what. */
export interface RateOptions {
  /** Updates left out at the start: they wait for workers to start and decode, and are no guide. */
  skip: number;
  /** Updates, after the skipped ones, before there is an estimate. */
  minUpdates: number;
  /** Milliseconds, after the skipped updates, before there is an estimate. */
  minMs: number;
  /** The estimate covers the last this many milliseconds: long enough to average evaluation pauses. */
  windowMs: number;
}

/**
 * Updates per second for the ETA and the rate shown: nothing until the run has warmed up and a minimum of
 * updates has passed (a first estimate from a few slow updates promised a run many times too long), then
 * over a moving window of the last {@link RateOptions.windowMs}.
 */
export class Rate {
  readonly #times: number[] = [];
  readonly #values: number[] = [];
  #from: number | undefined;
  constructor(readonly options: RateOptions = { skip: 5, minUpdates: 30, minMs: 3000, windowMs: 30_000 }) {}

  add(now: number, value: number): void {
    this.#from ??= value;
    if (value - this.#from < this.options.skip) return;
    this.#times.push(now);
    this.#values.push(value);
    while (this.#times.length > 2 && now - (this.#times[1] as number) >= this.options.windowMs) {
      this.#times.shift();
      this.#values.shift();
    }
  }

  /** Updates per second, or undefined while estimating. */
  perSecond(): number | undefined {
    const n = this.#times.length;
    if (n < 2) return undefined;
    const dt = (this.#times[n - 1] as number) - (this.#times[0] as number);
    const du = (this.#values[n - 1] as number) - (this.#values[0] as number);
    return du >= this.options.minUpdates && dt >= this.options.minMs && dt > 0 ? (du * 1000) / dt : undefined;
  }
}

/** `m:ss`, or `h:mm:ss` from an hour up. */
export function clock(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '-:--';
  const s = Math.round(seconds);
  const hms = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  const pad = (x: number) => String(x).padStart(2, '0');
  return hms[0] ? `${hms[0]}:${pad(hms[1]!)}:${pad(hms[2]!)}` : `${hms[1]}:${pad(hms[2]!)}`;
}

/** A bar of `width` cells, `fraction` of them full. */
function bar(fraction: number, width: number): string {
  const w = Math.max(0, width);
  const full = Math.round(Math.min(1, Math.max(0, fraction)) * w);
  return '█'.repeat(full) + '░'.repeat(w - full);
}

/** The fields of a line, from the most to the least important; {@link fit} drops from the end to fit. */
export function fit(label: string, fraction: number, fields: readonly string[], columns: number): string {
  const width = Math.max(20, columns - 1); // the last column stays free: some terminals wrap on it
  for (let keep = fields.length; keep >= 0; keep--) {
    const text = fields.slice(0, keep).join('  ');
    const room = width - label.length - text.length - 2;
    if (room >= 10 || keep === 0) {
      return `${label} ${bar(fraction, Math.min(30, Math.max(room, 0)))} ${text}`.slice(0, width).trimEnd();
    }
  }
  return label;
}

/** `text` in lines of at most `width` characters, broken at spaces where possible. */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let rest = text;
  while (rest.length > width) {
    const space = rest.lastIndexOf(' ', width);
    const cut = space > 0 ? space : width;
    lines.push(rest.slice(0, cut));
    rest = rest.slice(cut).trimStart();
  }
  lines.push(rest);
  return lines;
}

/** Writes `lines` to `stream`, each broken at spaces to the width of the terminal, when it is one. */
export function printLines(stream: TerminalStream, lines: readonly string[]): void {
  const width = stream.isTTY ? (stream.columns ?? 80) - 1 : Number.POSITIVE_INFINITY;
  for (const line of lines) for (const part of wrap(line, width)) stream.write(`${part}\n`);
}

/**
 * A shell command indented by two, in lines of at most `width` characters where its pieces (quoted words
 * that stay together) allow: each broken line ends with ` \\` and the next is indented by four, so that
 * the lines pasted are the command.
 */
export function shellLines(pieces: readonly string[], width: number): string[] {
  const lines: string[] = [];
  let line = ' ';
  for (const word of pieces) {
    if (line.trim() !== '' && line.length + 1 + word.length + 2 > width) {
      lines.push(`${line} \\`);
      line = '   ';
    }
    line += ` ${word}`;
  }
  return [...lines, line];
}

interface TrainState {
  from: number;
  total: number;
  epochs: number;
  update: number;
  epoch: number;
  /** When this session started, less the seconds of earlier sessions: the elapsed time counts the whole run. */
  started: number;
  rate: Rate;
}

function trainFields(s: TrainState, now: number): string[] {
  const perSecond = s.rate.perSecond();
  return [
    `${s.update}/${s.total}`,
    perSecond ? `ETA ${clock((s.total - s.update) / perSecond)}` : 'ETA estimating…',
    `epoch ${s.epoch}/${s.epochs}`,
    perSecond === undefined ? '' : `${perSecond.toFixed(0)}/s`,
    `${clock((now - s.started) / 1000)} elapsed`,
  ].filter(Boolean);
}

/**
 * Progress for `stream` (stderr, usually): bars when it is a terminal, plain lines otherwise. `out` takes the
 * permanent lines when the stream is not a terminal (stdout, usually).
 */
export function createProgress(
  stream: TerminalStream,
  out: NodeJS.WritableStream,
  now: () => number = () => performance.now(),
  rate: Rate = new Rate(),
): Progress {
  const state: TrainState = {
    from: 0,
    total: 0,
    epochs: 0,
    update: 0,
    epoch: 0,
    started: now(),
    rate,
  };
  if (!stream.isTTY) {
    let lastEpoch = -1;
    return {
      start(from, total, epochs, epoch, elapsed = 0) {
        Object.assign(state, { from, total, epochs, epoch, update: from, started: now() - elapsed * 1000 });
        state.rate.add(now(), from);
      },
      train(update, epoch) {
        state.update = update;
        state.epoch = epoch;
        state.rate.add(now(), update);
        // One line per epoch (and the last update): enough to follow a run in a log file.
        const done = update === state.total;
        if (epoch !== lastEpoch || done) {
          if (lastEpoch >= 0 || done) stream.write(`train ${trainFields(state, now()).join(', ')}\n`);
          lastEpoch = epoch;
        }
      },
      passStart() {},
      passBatch() {},
      passEnd() {},
      log(line, detail) {
        out.write(`${detail === undefined ? line : `${line} ${detail}`}\n`);
      },
      render() {},
      stop() {},
    };
  }

  const columns = () => stream.columns ?? 80;
  const multibar = new MultiBar(
    {
      stream: stream as NodeJS.WritableStream,
      // Lines are fitted to the width here; cli-progress cuts whatever a resize leaves too long.
      linewrap: false,
      // No SIGINT handler of cli-progress's (it would keep Ctrl-C from ending the run), so no hidden cursor.
      gracefulExit: false,
      hideCursor: false,
      clearOnComplete: false,
      stopOnComplete: false,
      fps: 8,
      // A logged line takes the place of the bars, which must then be drawn again even when unchanged.
      forceRedraw: true,
      format: (_options, params, payload: { line: () => string }) => payload.line() || String(params.value),
    },
    undefined,
  );
  let trainBar: SingleBar | undefined;
  let pass: { bar: SingleBar; name: string; batches: number; done: number; started: number } | undefined;

  return {
    start(from, total, epochs, epoch, elapsed = 0) {
      Object.assign(state, { from, total, epochs, epoch, update: from, started: now() - elapsed * 1000 });
      state.rate.add(now(), from);
      trainBar = multibar.create(total, from, {
        line: () =>
          fit('train', state.update / Math.max(1, state.total), trainFields(state, now()), columns()),
      });
    },
    train(update, epoch) {
      state.update = update;
      state.epoch = epoch;
      state.rate.add(now(), update);
      trainBar?.update(update);
    },
    passStart(name, batches) {
      const p = { name, batches, done: 0, started: now() };
      const line = () =>
        fit(
          `  ${name}`.padEnd(7),
          p.done / Math.max(1, p.batches),
          [`${p.done}/${p.batches} batches`, `${clock((now() - p.started) / 1000)}`],
          columns(),
        );
      pass = Object.assign(p, { bar: multibar.create(batches, 0, { line }) });
    },
    passBatch(done) {
      if (!pass) return;
      pass.done = done;
      pass.bar.update(done);
    },
    passEnd() {
      if (!pass) return;
      multibar.remove(pass.bar);
      pass = undefined;
    },
    log(line, detail) {
      const full = detail === undefined ? line : `${line} ${detail}`;
      // Line wrapping is off while the bars are drawn, so a long line is wrapped here, at spaces.
      multibar.log(
        wrap(full.length <= columns() - 1 ? full : line, columns() - 1)
          .map((l) => `${l}\n`)
          .join(''),
      );
    },
    render() {
      multibar.update();
    },
    stop() {
      if (pass) multibar.remove(pass.bar);
      multibar.update();
      multibar.stop();
    },
  };
}
