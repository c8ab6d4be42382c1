// The schedule of an interleaved run as pure arithmetic: a training config, the training sampler's length and
// each callback's length and interval give the stream of steps and the plan. It knows no datasets, samplers
// or loaders, so every rule of the spec that is about *when* lives here and nowhere else.
//
// Data-parallel runs (a world of R ranks, each training on its shard of the same length) count samples over
// all ranks: every update counts R times its batch. The sample arithmetic is linear in R, so the schedule
// counts in global units throughout (batch, epoch and last update sizes times R, updates per epoch unchanged)
// and converts only a step's `from`/`to` back to the rank's own positions.
import { ConfigError } from '../core/errors.ts';

/**
 * Where a run stands after an update: whole epochs, updates and samples done. In a data-parallel run
 * (a training sampler with `numReplicas`) `sample` counts the samples of all ranks together.
 */
export interface Position {
  /** Whole epochs done, from the run's beginning. */
  readonly epoch: number;
  /** Training updates (batches) done, from the run's beginning. */
  readonly update: number;
  /** Training samples done, from the run's beginning (over all ranks in a data-parallel run). */
  readonly sample: number;
}

/** What the schedule needs of the training config; an `InterleavedSamplerConfig` is one. */
export interface ScheduleConfig {
  readonly batchSize: number;
  readonly dropLast: boolean;
  readonly maxEpochs?: number | undefined;
  readonly maxUpdates?: number | undefined;
  readonly maxSamples?: number | undefined;
  readonly startEpoch?: number | undefined;
  readonly startUpdate?: number | undefined;
  readonly startSample?: number | undefined;
  /** True when no training runs (`evaluation`, or a limit of 0). */
  readonly isEvaluation: boolean;
}

/** What the schedule needs of one callback: its name, its sampler's length and when it runs. */
export interface ScheduleCallback {
  readonly name: string;
  /** Samples per pass on this rank (the callback sampler's length): its batches are cut from it. */
  readonly length: number;
  /**
   * Samples one pass evaluates over all ranks, padding excluded. @default length × the world size (for a
   * sharded sampler, pass its dataset's length)
   */
  readonly samplesPerPass?: number | undefined;
  readonly batchSize?: number | undefined;
  readonly everyNEpochs?: number | undefined;
  readonly everyNUpdates?: number | undefined;
  readonly everyNSamples?: number | undefined;
}

/**
 * One training update of the stream: samples `[from, to)` of its epoch's order on this rank (positions in
 * the rank's own sampler; its `position` counts all ranks).
 */
export interface TrainStep {
  readonly kind: 'train';
  readonly epoch: number;
  readonly from: number;
  readonly to: number;
  readonly position: Position;
  readonly endsEpoch: boolean;
  /** Names of the callbacks whose passes follow, those with at least one sample. */
  readonly passesAfter: readonly string[];
}

/** One complete callback pass of the stream. */
export interface PassStep {
  readonly kind: 'pass';
  readonly callback: number;
  readonly pass: number;
  readonly afterUpdate: number | undefined;
}

/** What a {@link Schedule} yields, in stream order. */
export type Step = TrainStep | PassStep;

/**
 * The training updates after which a callback's passes run: a lazy, read-only sequence, since a long run
 * has more of them than memory holds. Its `length` is known at once; its items are computed as they are read.
 *
 * @example
 * ```ts
 * const after = sampler.plan().callbacks[0]!.afterUpdates;
 * console.log(after.length, after.slice(0, 3), [...after].at(-1));
 * ```
 */
export interface UpdateList extends Iterable<number> {
  /** Number of passes (and of updates listed; a replayed pass lists its update again). */
  readonly length: number;
  /**
   * The items from `start` to `end` (exclusive) as an array, like `Array.prototype.slice` with
   * non-negative bounds; reads only as far as `end`.
   *
   * @param start - first position @default 0
   * @param end - position after the last one @default length
   */
  slice(start?: number, end?: number): number[];
}

/** One callback's share of a {@link Plan}. */
export interface CallbackPlan {
  /** Position of the callback in `callbackSamplers`. */
  readonly callback: number;
  /** The callback's `name`, or `callback<k>`. */
  readonly name: string;
  /** Effective batch size of its passes: its own `batchSize`, or the effective training batch size. */
  readonly batchSize: number;
  /**
   * Items one pass evaluates over all ranks, padding excluded: the dataset's length for a sharded sampler
   * (one with `numReplicas`), the sampler's length times the world size for any other.
   */
  readonly samplesPerPass: number;
  /** Batches of one pass on this rank (the same on every rank with padded shards). */
  readonly batchesPerPass: number;
  /** Number of passes in the run. */
  readonly passes: number;
  /** Batches of all its passes on this rank (`passes` × `batchesPerPass`). */
  readonly batches: number;
  /** Items all its passes evaluate over all ranks, padding excluded (`passes` × `samplesPerPass`). */
  readonly samples: number;
  /** The training updates after which a pass runs (empty in evaluation mode); lazy, see {@link UpdateList}. */
  readonly afterUpdates: UpdateList;
}

/**
 * The schedule of a run, computed in closed form without loading anything: its cost does not depend on the
 * run's length. Positions are exact (the schedule rejects runs whose positions leave the safe integers);
 * the batch and sample totals of callbacks are rounded above 2**53 - 1.
 */
export interface Plan {
  /** Number of ranks the training sampler is a shard of (1 outside a data-parallel run). */
  readonly worldSize: number;
  /** Where the run starts; its `sample`, like every training sample count here, counts all ranks. */
  readonly start: Position;
  /** Position after the last update. */
  readonly end: Position;
  /** Training updates (and batches) the run performs from its start; the same on every rank. */
  readonly updates: number;
  /** Training samples from the start to the end, over all ranks. */
  readonly samples: number;
  /** Epochs completed during the run. */
  readonly epochs: number;
  /** Training batches on this rank: one per update, so equal to `updates`. */
  readonly trainBatches: number;
  /** Callback batches on this rank: the sum of every callback's `batches`. */
  readonly evalBatches: number;
  /** Share of all batches that belong to callback passes, in [0, 1]. */
  readonly evaluationShare: number;
  /** Each callback's share of the run, in the order of `callbackSamplers`. */
  readonly callbacks: readonly CallbackPlan[];
}

const MAX = Number.MAX_SAFE_INTEGER;
const ZERO: Position = Object.freeze({ epoch: 0, update: 0, sample: 0 });

/** `floor(a / b)` for non-negative safe integers, exact where `Math.floor(a / b)` can round up near 2**53. */
const div = (a: number, b: number): number => (a - (a % b)) / b;

/**
 * `sum_{i=0}^{n-1} floor((a*i + b) / m)` in O(log) steps (a, b ≥ 0, m ≥ 1): the lattice points under a
 * line, counted by swapping the axes whenever the slope is below 1. BigInt because the partial sums pass 2**53.
 */
function floorSum(n: bigint, m: bigint, a: bigint, b: bigint): bigint {
  let total = 0n;
  for (;;) {
    if (a >= m) {
      total += ((n * (n - 1n)) / 2n) * (a / m);
      a %= m;
    }
    if (b >= m) {
      total += n * (b / m);
      b %= m;
    }
    const top = a * n + b;
    if (top < m) return total;
    n = top / m;
    b = top % m;
    [m, a] = [a, m];
  }
}

/**
 * A run's schedule: the steps of the stream and its plan, from the config and the lengths alone.
 * Construction checks what only the lengths reveal: a start or end beyond 2**53 - 1 updates or samples.
 *
 * @param config - the training config
 * @param trainLength - the training sampler's length
 * @param callbacks - per callback: name, length, interval, batch size
 * @param replay - callbacks (by position) whose passes run first, before training resumes @default []
 * @param worldSize - number of ranks, each training on a shard of `trainLength` (samples count them all) @default 1
 * @example
 * ```ts
 * const s = new Schedule({ batchSize: 2, dropLast: true, maxEpochs: 1, isEvaluation: false }, 4, []);
 * [...s.steps()].length; // 2 training updates
 * ```
 */
export class Schedule {
  /** Effective training batch size on each rank (the callbacks' default batch size). */
  readonly batchSize: number;
  /** Training sampler length (one rank's shard). */
  readonly trainLength: number;
  /** Number of ranks (1 outside a data-parallel run). */
  readonly worldSize: number;
  /** Samples per update over all ranks (`batchSize` × `worldSize`). */
  readonly globalBatchSize: number;
  /** Samples per epoch over all ranks. */
  readonly samplesPerEpoch: number;
  /** Updates per epoch. */
  readonly updatesPerEpoch: number;
  readonly start: Position;
  /** Position after the last update (the start when the run has no updates). */
  readonly end: Position;
  readonly config: ScheduleConfig;
  readonly callbacks: readonly ScheduleCallback[];
  readonly replay: readonly number[];
  readonly #shape: Shape;

  constructor(
    config: ScheduleConfig,
    trainLength: number,
    callbacks: readonly ScheduleCallback[],
    replay: readonly number[] = [],
    worldSize = 1,
  ) {
    this.config = config;
    this.trainLength = trainLength;
    this.callbacks = callbacks;
    this.replay = replay;
    const shape = new Shape(config, trainLength, worldSize);
    this.#shape = shape;
    this.batchSize = shape.localB;
    this.worldSize = shape.R;
    this.globalBatchSize = shape.B;
    this.samplesPerEpoch = shape.E;
    this.updatesPerEpoch = shape.U;
    if (config.isEvaluation) {
      this.start = ZERO;
      this.end = ZERO;
    } else {
      this.start = Schedule.startOf(config, trainLength, worldSize);
      this.end = this.#endOf();
    }
    Object.freeze(this);
  }

  /**
   * The start position a config asks for, given the training sampler's length (the spec's "start position").
   * Samples count all ranks: `startSample` and the returned `sample` are global.
   *
   * @param config - the training config (its `start*` field is used)
   * @param trainLength - the training sampler's length (one rank's shard)
   * @param worldSize - number of ranks, each with a shard of that length @default 1
   * @example
   * ```ts
   * Schedule.startOf({ batchSize: 4, dropLast: true, maxEpochs: 9, startUpdate: 5, isEvaluation: false }, 10);
   * // { epoch: 2, update: 5, sample: 20 }
   * ```
   */
  static startOf(config: ScheduleConfig, trainLength: number, worldSize = 1): Position {
    const s = new Shape(config, trainLength, worldSize);
    if (s.U === 0) {
      if (config.startEpoch || config.startUpdate || config.startSample) {
        throw new ConfigError('cannot resume inside an empty training sampler (length 0)');
      }
      return ZERO;
    }
    let start: Position = ZERO;
    let field = '';
    let value = 0;
    if (config.startEpoch !== undefined) {
      [field, value] = ['startEpoch', config.startEpoch];
      start = { epoch: value, update: value * s.U, sample: value * s.E };
    } else if (config.startUpdate !== undefined) {
      [field, value] = ['startUpdate', config.startUpdate];
      start = s.at(value);
    } else if (config.startSample !== undefined) {
      [field, value] = ['startSample', config.startSample];
      const epoch = div(value, s.E);
      const rest = value - epoch * s.E;
      if (rest % s.B !== 0) {
        const size =
          s.R === 1 ? `the batch size ${s.B}` : `the global batch size ${s.B} (${s.localB} × ${s.R} ranks)`;
        throw new ConfigError(
          `\`startSample\` must fall on an update boundary: ${value} is ${rest} samples into epoch ${epoch}, not a multiple of ${size}`,
        );
      }
      start = { epoch, update: epoch * s.U + rest / s.B, sample: value };
    }
    if (!Number.isSafeInteger(start.update) || !Number.isSafeInteger(start.sample)) {
      throw tooFar(field, value, field === 'startEpoch' ? div(MAX, s.E) : s.lastUpdate);
    }
    return Object.freeze(start);
  }

  /** The first update after which a limit is reached, in closed form. */
  #endOf(): Position {
    const s = this.#shape;
    const { maxEpochs, maxUpdates, maxSamples } = this.config;
    // Each limit stops the run at the first update where it holds; the earliest of them ends it. A candidate
    // beyond 2**53 is inexact but still larger than every safe one, so the minimum is exact when safe.
    const candidates: [field: string, value: number, update: number][] = [];
    if (maxUpdates !== undefined) candidates.push(['maxUpdates', maxUpdates, maxUpdates]);
    if (maxEpochs !== undefined) candidates.push(['maxEpochs', maxEpochs, maxEpochs * s.U]);
    if (maxSamples !== undefined) candidates.push(['maxSamples', maxSamples, s.firstReaching(maxSamples)]);
    if (candidates.length === 0) {
      throw new ConfigError('at least one of `maxEpochs`, `maxUpdates`, `maxSamples` must be set, got none');
    }
    const [field, value, update] = candidates.reduce((a, b) => (b[2] < a[2] ? b : a));
    const end = update <= this.start.update ? this.start : s.at(update);
    if (!Number.isSafeInteger(end.update) || !Number.isSafeInteger(end.sample)) {
      const limit =
        field === 'maxEpochs'
          ? div(MAX, s.E)
          : field === 'maxUpdates'
            ? s.lastUpdate
            : s.at(s.lastUpdate).sample;
      throw tooFar(field, value, limit);
    }
    return Object.freeze(end);
  }

  /**
   * The stream as steps: training updates and callback passes, walked as the spec states it.
   *
   * @example
   * ```ts
   * for (const step of schedule.steps()) if (step.kind === 'pass') console.log(step.callback, step.afterUpdate);
   * ```
   */
  *steps(): Generator<Step, void, undefined> {
    const callbacks = this.callbacks;
    if (this.config.isEvaluation) {
      for (let k = 0; k < callbacks.length; k++)
        yield { kind: 'pass', callback: k, pass: 0, afterUpdate: undefined };
      return;
    }
    // Counted in global units (every rank's samples); a step's `from`/`to` are this rank's, ÷ R.
    const { B, E, R } = this.#shape;
    let { epoch, update, sample } = this.start;
    for (const k of this.replay) {
      yield {
        kind: 'pass',
        callback: k,
        pass: this.#passNumber(k, epoch, update, sample),
        afterUpdate: update,
      };
    }
    if (this.#limitReached(epoch, update, sample)) return;
    let sampleAtLastUpdate = sample;
    let from = sample - epoch * E;
    for (;;) {
      const batchEpoch = epoch;
      for (; from < E; ) {
        const to = Math.min(from + B, E);
        sample += to - from;
        update++;
        const endsEpoch = to === E;
        if (endsEpoch) epoch++;
        const due: number[] = [];
        for (let k = 0; k < callbacks.length; k++) {
          if (this.#due(k, endsEpoch, epoch, update, sampleAtLastUpdate, sample)) due.push(k);
        }
        const passesAfter = due
          .filter((k) => (callbacks[k] as ScheduleCallback).length > 0)
          .map((k) => (callbacks[k] as ScheduleCallback).name);
        const position = { epoch, update, sample };
        yield {
          kind: 'train',
          epoch: batchEpoch,
          from: from / R,
          to: to / R,
          position,
          endsEpoch,
          passesAfter,
        };
        for (const k of due) {
          yield {
            kind: 'pass',
            callback: k,
            pass: this.#passNumber(k, epoch, update, sample),
            afterUpdate: update,
          };
        }
        sampleAtLastUpdate = sample;
        if (this.#limitReached(epoch, update, sample)) return;
        from = to;
      }
      from = 0;
    }
  }

  /**
   * The run's totals and each callback's passes, in closed form (no step is walked).
   *
   * @example
   * ```ts
   * const { updates, callbacks } = schedule.plan();
   * ```
   */
  plan(): Plan {
    const { start, end } = this;
    const evaluation = this.config.isEvaluation;
    const callbacks = this.callbacks.map((c, k): CallbackPlan => {
      const size = c.batchSize ?? this.batchSize;
      const replays = this.replay.filter((r) => r === k).length;
      const afterUpdates = evaluation ? new Updates(0, [], 0, () => 0) : this.#afterUpdates(k, replays);
      const passes = evaluation ? 1 : afterUpdates.length;
      const batchesPerPass = div(c.length + size - 1, size);
      const samplesPerPass = c.samplesPerPass ?? c.length * this.worldSize;
      return {
        callback: k,
        name: c.name,
        batchSize: size,
        samplesPerPass,
        batchesPerPass,
        passes,
        batches: passes * batchesPerPass,
        samples: passes * samplesPerPass,
        afterUpdates,
      };
    });
    const trainBatches = end.update - start.update;
    const evalBatches = callbacks.reduce((n, c) => n + c.batches, 0);
    const total = trainBatches + evalBatches;
    return {
      worldSize: this.worldSize,
      start,
      end,
      updates: trainBatches,
      samples: end.sample - start.sample,
      epochs: end.epoch - start.epoch,
      trainBatches,
      evalBatches,
      evaluationShare: total === 0 ? 0 : evalBatches / total,
      callbacks,
    };
  }

  /** The updates after which callback `k` runs: its replays at the start, then each due update. */
  #afterUpdates(k: number, replays: number): Updates {
    const c = this.callbacks[k] as ScheduleCallback;
    const s = this.#shape;
    const u0 = this.start.update;
    const u1 = this.end.update;
    const first = Array.from({ length: replays }, () => u0);
    const every = (step: number) =>
      new Updates(first.length + div(u1, step) - div(u0, step), first, u0, (u) => (div(u, step) + 1) * step);
    if (c.everyNUpdates !== undefined) return every(c.everyNUpdates);
    if (c.everyNEpochs !== undefined) {
      const step = c.everyNEpochs * s.U;
      // A period beyond 2**53 has no multiple in a run of safe updates.
      return Number.isSafeInteger(step) ? every(step) : new Updates(first.length, first, u0, () => MAX + 1);
    }
    const n = c.everyNSamples as number;
    // The update after `u` where a multiple of n is reached or crossed is the one that first reaches the next
    // multiple above the samples done at `u`.
    const next = (u: number) => s.firstReaching((div(s.at(u).sample, n) + 1) * n);
    return new Updates(first.length + s.samplesDue(n, u0, u1), first, u0, next);
  }

  #limitReached(epoch: number, update: number, sample: number): boolean {
    const c = this.config;
    return (
      (c.maxEpochs !== undefined && epoch >= c.maxEpochs) ||
      (c.maxUpdates !== undefined && update >= c.maxUpdates) ||
      (c.maxSamples !== undefined && sample >= c.maxSamples)
    );
  }

  /** Whether callback `k` is due after an update that moved the sample count from `before` to `sample`. */
  #due(
    k: number,
    endsEpoch: boolean,
    epoch: number,
    update: number,
    before: number,
    sample: number,
  ): boolean {
    const c = this.callbacks[k] as ScheduleCallback;
    if (c.everyNEpochs !== undefined) return endsEpoch && epoch % c.everyNEpochs === 0;
    if (c.everyNUpdates !== undefined) return update % c.everyNUpdates === 0;
    const n = c.everyNSamples as number;
    return div(before, n) < div(sample, n);
  }

  /** The interval number of callback `k` at a position (stable across resumes). */
  #passNumber(k: number, epoch: number, update: number, sample: number): number {
    const c = this.callbacks[k] as ScheduleCallback;
    if (c.everyNEpochs !== undefined) return div(epoch, c.everyNEpochs);
    if (c.everyNUpdates !== undefined) return div(update, c.everyNUpdates);
    return div(sample, c.everyNSamples as number);
  }
}

/**
 * The arithmetic of one epoch's updates, shared by the start, the end and the pass counts. Sample quantities
 * count all `R` ranks (each rank's own times `R`); updates per epoch are the same on every rank.
 */
class Shape {
  /** Ranks, and the effective batch size on each. */
  readonly R: number;
  readonly localB: number;
  /** Batch size, samples per epoch and size of an epoch's last update over all ranks; updates per epoch. */
  readonly B: number;
  readonly E: number;
  readonly U: number;
  readonly last: number;
  /** The last update whose position is a safe integer. */
  readonly lastUpdate: number;

  constructor(config: ScheduleConfig, L: number, R = 1) {
    // An empty training sampler only occurs in evaluation mode, where this size is the callbacks' default:
    // it must stay `batchSize`, or their passes would be batches of 0.
    const B = config.dropLast && L < config.batchSize && L > 0 ? L : config.batchSize;
    const E = config.dropLast ? div(L, B) * B : L;
    this.R = R;
    this.localB = B;
    this.U = config.dropLast ? E / B : div(L + B - 1, B);
    this.B = B * R;
    this.E = E * R;
    this.last = this.E - (this.U - 1) * this.B;
    this.lastUpdate = this.E === 0 ? 0 : this.firstReaching(MAX + 1) - 1;
  }

  /** The position after update `u`. */
  at(u: number): Position {
    const epoch = div(u, this.U);
    return { epoch, update: u, sample: epoch * this.E + (u - epoch * this.U) * this.B };
  }

  /** The first update after which at least `s` samples are done. */
  firstReaching(s: number): number {
    const epoch = div(s, this.E);
    const rest = s - epoch * this.E;
    return epoch * this.U + div(rest + this.B - 1, this.B);
  }

  /** Updates in (u0, u1] during which a multiple of `n` samples is reached or crossed. */
  samplesDue(n: number, u0: number, u1: number): number {
    const { B, E, U, last } = this;
    // An update of at least n samples always reaches a multiple; one of fewer reaches at most one, so those
    // are counted by the multiples themselves.
    if (n <= last) return u1 - u0;
    if (n > B) return div(this.at(u1).sample, n) - div(this.at(u0).sample, n);
    // Full updates (B ≥ n) always count; an epoch's short last update j·U (samples (jE − last, jE]) counts
    // when floor(jE/n) > floor((jE − last)/n).
    const j0 = div(u0, U);
    const j1 = div(u1, U);
    const reached = (j: number) =>
      floorSum(BigInt(j), BigInt(n), BigInt(E), BigInt(E)) -
      floorSum(BigInt(j), BigInt(n), BigInt(E), BigInt(E - last));
    return u1 - u0 - (j1 - j0) + Number(reached(j1) - reached(j0));
  }
}

/** A lazy {@link UpdateList}: fixed leading items, then `next` applied from `from`, `length` items in all. */
class Updates implements UpdateList {
  readonly length: number;
  readonly #leading: readonly number[];
  readonly #from: number;
  readonly #next: (u: number) => number;

  constructor(length: number, leading: readonly number[], from: number, next: (u: number) => number) {
    this.length = length;
    this.#leading = leading;
    this.#from = from;
    this.#next = next;
    Object.freeze(this);
  }

  *[Symbol.iterator](): Iterator<number> {
    yield* this.#leading;
    let u = this.#from;
    for (let i = this.#leading.length; i < this.length; i++) {
      u = this.#next(u);
      yield u;
    }
  }

  slice(start = 0, end = this.length): number[] {
    const out: number[] = [];
    let i = 0;
    for (const u of this) {
      if (i >= end) break;
      if (i >= start) out.push(u);
      i++;
    }
    return out;
  }
}

function tooFar(field: string, value: number, limit: number): ConfigError {
  return new ConfigError(
    `\`${field}\` must be at most ${limit} with these samplers (updates and samples must stay within 2**53 - 1), got ${value}`,
  );
}
