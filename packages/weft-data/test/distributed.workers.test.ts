import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  distributedEnv,
  distributedSamplers,
  gatherInOrder,
  ShardedEvalSampler,
  WeftError,
} from '../src/index.ts';

const sized = (length: number) => ({ length, get: (i: number) => i });

describe('distributedEnv', () => {
  it('reads each launcher, in order of precedence', () => {
    expect(distributedEnv({})).toEqual({ rank: 0, worldSize: 1, localRank: 0, source: 'none' });
    expect(distributedEnv({ RANK: '2', WORLD_SIZE: '4', LOCAL_RANK: '0' })).toEqual({
      rank: 2,
      worldSize: 4,
      localRank: 0,
      source: 'torchrun',
    });
    expect(distributedEnv({ SLURM_PROCID: '5', SLURM_NTASKS: '8', SLURM_LOCALID: '1' })).toMatchObject({
      rank: 5,
      source: 'slurm',
    });
    expect(distributedEnv({ OMPI_COMM_WORLD_RANK: '1', OMPI_COMM_WORLD_SIZE: '2' })).toMatchObject({
      rank: 1,
      localRank: 1,
      source: 'openmpi',
    });
    const both = { RANK: '1', WORLD_SIZE: '2', SLURM_PROCID: '0', SLURM_NTASKS: '1' };
    expect(distributedEnv(both).source).toBe('torchrun');
    expect(distributedEnv(both, { rank: 0 })).toEqual({
      rank: 0,
      worldSize: 2,
      localRank: 1,
      source: 'override',
    });
  });

  it.each([
    [{ RANK: 'abc', WORLD_SIZE: '2' }, {}, '`RANK` must be a non-negative integer, got "abc"'],
    [{ RANK: '2', WORLD_SIZE: '2' }, {}, 'the rank must be below the world size, got rank 2 of 2 (torchrun)'],
    [{ SLURM_PROCID: '0', SLURM_NTASKS: '0' }, {}, 'the world size must be at least 1, got 0 (slurm)'],
    [{ RANK: '0' }, {}, '`RANK` is set but `WORLD_SIZE` is not: torchrun sets both'],
    [{}, { worldSize: 0 }, '`worldSize` must be a positive integer, got 0'],
    [{}, { rank: 3, worldSize: 2 }, 'the rank must be below the world size, got rank 3 of 2 (override)'],
  ])('rejects %j %j', (env, overrides, message) => {
    expect(() => distributedEnv(env, overrides)).toThrow(ConfigError);
    expect(() => distributedEnv(env, overrides)).toThrow(message);
  });
});

describe('ShardedEvalSampler and gatherInOrder', () => {
  it('shards without duplicates, sizes within one', () => {
    fc.assert(
      fc.property(fc.nat({ max: 100 }), fc.integer({ min: 1, max: 8 }), (n, R) => {
        const shards = Array.from({ length: R }, (_, rank) => [
          ...new ShardedEvalSampler(sized(n), { numReplicas: R, rank }),
        ]);
        const sizes = shards.map((s) => s.length);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
        expect(shards.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
        const gathered = gatherInOrder(
          shards.map((indices) => ({ indices, values: indices.map((i) => `v${i}`) })),
          n,
        );
        expect(gathered).toEqual(Array.from({ length: n }, (_, i) => `v${i}`));
      }),
    );
  });

  it('names what is wrong', () => {
    expect(() => new ShardedEvalSampler(sized(3), { numReplicas: 2, rank: 2 })).toThrow(
      '`rank` must be in [0, numReplicas - 1] = [0, 1], got 2',
    );
    expect(() => gatherInOrder([{ indices: [0, 0], values: [1, 2] }], 2)).toThrow(
      new WeftError('index 0 was evaluated twice (again in parts[0])'),
    );
    expect(() => gatherInOrder([{ indices: [1], values: [1] }], 2)).toThrow(
      'index 0 was not evaluated by any rank',
    );
    expect(() => gatherInOrder([{ indices: [5], values: [1] }], 2)).toThrow(
      'parts[0] has index 5, outside the dataset of length 2',
    );
    expect(() => gatherInOrder([{ indices: [0], values: [] }], 1)).toThrow(
      'parts[0] has 1 indices but 0 values',
    );
  });

  it('builds samplers that give every rank the same number of updates', () => {
    const plans = [0, 1, 2].map((rank) => {
      const { trainSampler } = distributedSamplers({ train: sized(50), env: { rank, worldSize: 3 } });
      return trainSampler.length;
    });
    expect(plans).toEqual([16, 16, 16]);
  });
});

interface RankReport {
  env: { rank: number };
  train: number[][];
  schedule: string[];
  evaluated: number[];
}

function runRank(rank: number): Promise<RankReport> {
  const script = fileURLToPath(new URL('./fixtures/ddp-worker.ts', import.meta.url));
  const env = { ...process.env, RANK: String(rank), WORLD_SIZE: '3', LOCAL_RANK: String(rank) };
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out) as RankReport) : reject(new Error(`rank ${rank} exited ${code}`)),
    );
  });
}

describe('three processes with torchrun-style variables', () => {
  it('shard training disjointly, share one schedule, and evaluate each test item once', async () => {
    const ranks = await Promise.all([0, 1, 2].map(runRank));
    expect(ranks.map((r) => r.env.rank)).toEqual([0, 1, 2]);
    for (let epoch = 0; epoch < 3; epoch++) {
      const shards = ranks.map((r) => r.train[epoch] ?? []);
      const all = shards.flat();
      expect(new Set(all).size).toBe(all.length); // disjoint
      expect(all.length).toBe(48); // 50 items, 3 ranks, dropLast: the 2-item tail is dropped
    }
    expect(ranks[1]?.schedule).toEqual(ranks[0]?.schedule);
    expect(ranks[2]?.schedule).toEqual(ranks[0]?.schedule);
    expect(ranks[0]?.schedule.filter((s) => s.startsWith('test'))).toEqual([
      'test pass 1 after 4',
      'test pass 2 after 8',
      'test pass 3 after 12',
    ]);
    const gathered = gatherInOrder(
      ranks.map((r) => ({ indices: r.evaluated, values: r.evaluated })),
      17,
    );
    expect(gathered).toEqual(Array.from({ length: 17 }, (_, i) => i));
  });
});
