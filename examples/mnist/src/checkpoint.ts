// The demo's checkpoint (`out/checkpoint.json`) and what `--resume` may do with it. Read before TensorFlow.js
// loads, so that a missing checkpoint, a changed flag or a finished run is a `weft-mnist:` line at once.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import type { ResumeState } from 'weft-data';
// Type only: model.ts loads TensorFlow.js, which this module must not.
import type { SavedWeights } from './model.ts';

/** Settings of a training run; all of them are saved in checkpoints. */
export interface TrainOptions {
  epochs: number;
  batchSize: number;
  workers: number;
  seed: number;
  out: string;
  quickEvery: number;
  quickSize: number;
  /** Training images to use, of the folder's (all when undefined). */
  trainSize: number | undefined;
  /** Test images to use, of the folder's (all when undefined). */
  testSize: number | undefined;
  /** An image folder with `train/` and `test/`; undefined: the shipped digits, cached as PNG files. */
  data: string | undefined;
  lr: number;
}

/** What `out/checkpoint.json` holds. */
export interface Checkpoint {
  options: TrainOptions;
  weights: SavedWeights;
  state: ResumeState;
  /** Lines of the JSONL log written up to this checkpoint (later ones are dropped on resume). */
  logLines: number;
  /** Training updates in an epoch, so that a resume can tell where the run stands before loading anything. */
  updatesPerEpoch: number;
  /** Seconds of training up to this checkpoint, over every session of the run. */
  elapsed: number;
  /** The last full-test accuracy, or null before the first full test. */
  accuracy: number | null;
}

/** A bad command line or a checkpoint that cannot be continued: exit code 2, one `weft-mnist:` line each. */
export class UsageError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
  }
}

/** The flags `--resume` compares with the checkpoint, and the option each sets. */
const FIXED = {
  'batch-size': 'batchSize',
  seed: 'seed',
  lr: 'lr',
  data: 'data',
  'train-size': 'trainSize',
  'test-size': 'testSize',
  'quick-every': 'quickEvery',
  'quick-size': 'quickSize',
} as const satisfies Record<string, keyof TrainOptions>;

/** A flag as the user gave it: the option's value, as the flag would be typed. */
export type GivenFlags = Partial<Record<keyof typeof FIXED | 'epochs', string | number>>;

export function checkpointPath(out: string): string {
  return join(out, 'checkpoint.json');
}

/** The checkpoint in `out`, or a {@link UsageError} saying there is none (or none this demo can read). */
export function readCheckpoint(out: string): Checkpoint {
  const path = checkpointPath(out);
  if (!existsSync(path)) {
    throw new UsageError([`--resume: no checkpoint at ${path} (start a run without --resume)`]);
  }
  let checkpoint: Partial<Checkpoint>;
  try {
    checkpoint = JSON.parse(readFileSync(path, 'utf8')) as Partial<Checkpoint>;
  } catch (e) {
    throw new UsageError([`--resume: ${path} is not JSON (${(e as Error).message})`]);
  }
  const missing = (['options', 'weights', 'state', 'logLines', 'updatesPerEpoch', 'elapsed'] as const).filter(
    (k) => checkpoint[k] === undefined,
  );
  if (missing.length > 0) {
    throw new UsageError([
      `--resume: ${path} has no ${missing.join(', ')} (written by another version of weft-mnist?): start a new run`,
    ]);
  }
  return checkpoint as Checkpoint;
}

/** Writes `checkpoint` to `out` whole: a crash leaves the previous one, never half of this one. */
export function writeCheckpoint(out: string, checkpoint: Checkpoint): void {
  const path = checkpointPath(out);
  writeFileSync(`${path}.tmp`, JSON.stringify(checkpoint));
  renameSync(`${path}.tmp`, path);
}

/**
 * The options of the resumed run: the checkpoint's, with this session's `workers` and `out`, and `--epochs`
 * when given (a run can be extended, or shortened down to where it stands). Any other flag given with a
 * value other than the checkpoint's is refused: the run would not continue as it started.
 */
export function resumedOptions(checkpoint: Checkpoint, given: GivenFlags, workers: number, out: string) {
  const saved = checkpoint.options;
  const problems: string[] = [];
  for (const [flag, key] of Object.entries(FIXED) as [keyof typeof FIXED, keyof TrainOptions][]) {
    const value = given[flag];
    if (value !== undefined && value !== saved[key]) {
      const was = saved[key] === undefined ? 'the default' : String(saved[key]);
      problems.push(`cannot resume with --${flag} ${value}: the run in ${out} used ${was}`);
    }
  }
  const epochs = typeof given.epochs === 'number' ? given.epochs : saved.epochs;
  const at = checkpoint.state.update;
  if (epochs * checkpoint.updatesPerEpoch < at) {
    problems.push(
      `cannot resume with --epochs ${epochs}: the run in ${out} ${at % checkpoint.updatesPerEpoch === 0 ? `has done ${at / checkpoint.updatesPerEpoch} epochs` : `is in epoch ${Math.floor(at / checkpoint.updatesPerEpoch) + 1}`}`,
    );
  }
  if (problems.length > 0) throw new UsageError(problems);
  return { ...saved, epochs, workers, out };
}

/** Whether the run saved in `checkpoint` is over for `epochs` epochs: every update and every pass done. */
export function isFinished(checkpoint: Checkpoint, epochs: number): boolean {
  const { update, replay = [] } = checkpoint.state;
  return update >= epochs * checkpoint.updatesPerEpoch && replay.length === 0;
}

/** The last line of a run, and what a finished run's resume repeats. */
export function doneLine(updates: number, seconds: number, accuracy: number | null): string {
  const test =
    accuracy === null || Number.isNaN(accuracy) ? 'no full test yet' : `test accuracy ${accuracy.toFixed(4)}`;
  return `done: ${updates} updates in ${seconds.toFixed(1)} s, ${test}`;
}

/** A shell word: as it is when it is safe, else in single quotes. */
function quote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * The command that continues the run in `out`, as this process was started (`npm start -- …` under npm, else
 * `node <script> …` with the script relative to the working directory when it is below it), in pieces a
 * line may break between: the program, then each flag with its value. Each word is quoted for the shell.
 */
export function continueCommand(out: string, workers: string | undefined): string[] {
  const script = process.argv[1] ?? 'main.js';
  const below = relative(process.cwd(), script);
  const start =
    process.env.npm_lifecycle_event === 'start'
      ? ['npm', 'start', '--']
      : ['node', below.startsWith('..') || isAbsolute(below) ? script : below];
  const flags = [['--resume'], ['--out', out], ...(workers === undefined ? [] : [['--workers', workers]])];
  return [start, ...flags].map((words) => words.map(quote).join(' '));
}
