// `weft plan CONFIG`: the schedule of a run described by a JSON or YAML file.
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { z } from 'zod';
import { describe } from '../core/checks.ts';
import { ConfigError } from '../core/errors.ts';
import type { Sampler } from '../core/sampler.ts';
import { MAX_LENGTH, zodIssues } from '../core/validate.ts';
import { ConcatDataset } from '../datasets/basic.ts';
import { MAX_WORLD_SIZE } from '../distributed/distributed-env.ts';
import { distributedSamplers } from '../distributed/samplers.ts';
import {
  configRelations,
  interleavedSamplerConfigSchema,
  intervalRelations,
  samplerIntervalConfigSchema,
} from '../interleaved/config.ts';
import { formatPlan } from '../interleaved/plan.ts';
import { InterleavedSampler } from '../interleaved/sampler.ts';
import type { Plan } from '../interleaved/schedule.ts';
import { MixtureSampler } from '../samplers/mixture-sampler.ts';
import { SequentialSampler } from '../samplers/sequential-sampler.ts';

const size = (what: string) =>
  z
    .int({ error: 'must be a positive integer' })
    .min(1, { error: 'must be a positive integer' })
    .max(MAX_LENGTH, { error: `must be at most ${MAX_LENGTH}` })
    .describe(what);

/** A training set mixed from several datasets by weight, as a {@link MixtureSampler} draws it. */
const mixtureSchema = z
  .object(
    {
      sources: z
        .array(
          z
            .object({
              name: z
                .string({ error: 'must be a name' })
                .min(1, { error: 'must be a name' })
                .describe('Name of this dataset, as the plan prints it.'),
              size: size('Number of items of this dataset.'),
              weight: z
                .number({ error: 'must be a positive number' })
                .positive({ error: 'must be a positive number' })
                .describe("The dataset's share of every epoch, normalised by the sum of the weights."),
            })
            .strict(),
          { error: 'must be a list of { name, size, weight }' },
        )
        .min(1, { error: 'must be a list of { name, size, weight }' })
        .describe('The mixed datasets, in the order of their ConcatDataset.'),
      numSamples: size(
        'Samples per epoch over all ranks (default: the sizes summed, cut to whole batches with perSourceBatches).',
      ).optional(),
      perSourceBatches: z
        .boolean({ error: 'must be a boolean' })
        .optional()
        .describe(
          "Draw each update's batch from one source (MixtureSampler's batchSize: config.batchSize × worldSize).",
        ),
    },
    { error: 'must be a mixture { sources, numSamples?, perSourceBatches? }' },
  )
  .strict();

/** The config file: dataset sizes stand in for the datasets, since a plan loads no data. */
export const planConfigSchema = z
  .object({
    trainSize: size('Number of training items (or `train`, a mixture).').optional(),
    train: mixtureSchema
      .optional()
      .describe('A training set mixed from several datasets by weight, instead of `trainSize`.'),
    worldSize: z
      .int({ error: 'must be a positive integer' })
      .min(1, { error: 'must be a positive integer' })
      .max(MAX_WORLD_SIZE, { error: `must be at most ${MAX_WORLD_SIZE}` })
      .optional()
      .describe(
        'Number of ranks of a data-parallel run (default 1): datasets are sharded as distributedSamplers does, config.batchSize is per rank, sample counts are global.',
      ),
    config: interleavedSamplerConfigSchema,
    callbacks: z
      .array(
        samplerIntervalConfigSchema.extend({
          size: z
            .int({ error: 'must be a non-negative integer' })
            .min(0, { error: 'must be a non-negative integer' })
            .max(MAX_LENGTH, { error: `must be at most ${MAX_LENGTH}` })
            .describe('Number of items of this dataset.'),
        }),
        { error: 'must be a list of callbacks' },
      )
      .default([]),
  })
  .strict();

/** The JSON Schema of the config file, generated from the zod schemas. */
export const planConfigJsonSchema = (): unknown => z.toJSONSchema(planConfigSchema, { io: 'input' });

/** A config file that cannot be read or parsed: the CLI prints the message alone (exit code 2). */
export class PlanFileError extends Error {
  override name = 'PlanFileError';
}

/** Reads `file` as JSON or YAML (by its extension). */
async function readConfig(file: string): Promise<unknown> {
  const ext = extname(file).toLowerCase();
  if (!['.json', '.yaml', '.yml'].includes(ext)) {
    throw new PlanFileError(
      `${file}: unknown extension ${JSON.stringify(ext)}; expected .json, .yaml or .yml`,
    );
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new PlanFileError(
      code === 'ENOENT' ? `${file}: no such file` : `${file}: cannot read (${(e as Error).message})`,
    );
  }
  if (ext === '.json') {
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new PlanFileError(`${file}: invalid JSON: ${(e as Error).message}`);
    }
  }
  const yaml = await import('yaml'); // a dependency, loaded only for YAML files
  try {
    return yaml.parse(text, { prettyErrors: false });
  } catch (e) {
    throw new PlanFileError(`${file}: invalid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
}

/** Every problem of a parsed config file, each naming the file's own key and the value given. */
function planIssues(raw: unknown): string[] {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return [
      `the file must hold an object with \`trainSize\` (or \`train\`), \`config\` and \`callbacks\`, got ${describe(raw)}`,
    ];
  }
  const parsed = planConfigSchema.safeParse(raw);
  const issues = parsed.success ? [] : zodIssues(parsed.error, raw, '', planConfigSchema);
  const { config, callbacks, trainSize, train } = raw as Record<string, unknown>;
  if ((trainSize === undefined) === (train === undefined)) {
    issues.push(
      `exactly one of \`trainSize\`, \`train\` must be set, got ${trainSize === undefined ? 'none' : 'both'}`,
    );
  }
  const sources = (train as { sources?: unknown } | undefined)?.sources;
  if (Array.isArray(sources)) {
    const seen = sources.map((s: unknown) => (s as { name?: unknown } | null)?.name);
    const dup = seen.find((n, k) => typeof n === 'string' && seen.indexOf(n) !== k);
    if (dup !== undefined)
      issues.push(`\`train.sources\` names must be unique, got ${JSON.stringify(dup)} twice`);
  }
  if (typeof config === 'object' && config !== null) {
    issues.push(...configRelations(config as Record<string, unknown>, 'config.', parsed.success));
  }
  if (Array.isArray(callbacks)) {
    callbacks.forEach((c, i) => {
      if (typeof c === 'object' && c !== null) {
        issues.push(...intervalRelations(c as Record<string, unknown>, `callbacks[${i}].`));
      }
    });
  }
  return issues;
}

/**
 * Reads, validates and plans `file`; returns the plan and its table.
 * Throws {@link PlanFileError} for an unreadable file and {@link ConfigError} listing every invalid field.
 */
export async function planFile(file: string): Promise<{ plan: Plan; table: string }> {
  const raw = await readConfig(file);
  const issues = planIssues(raw);
  if (issues.length > 0) {
    throw new ConfigError(`invalid plan config ${file}:\n${issues.map((i) => `  ${i}`).join('\n')}`, issues);
  }
  const { trainSize, train, worldSize, config, callbacks } = planConfigSchema.parse(raw);
  const sized = (length: number) => ({ length, get: (i: number) => i });
  const mixture = train && mixtureSampler(file, train, config.batchSize, worldSize);
  const trainData = mixture?.dataset ?? sized(trainSize as number);
  // With a world size, rank 0's samplers: every rank has the same schedule and batch counts. A mixture
  // shards its own order, so distributedSamplers only shards the callbacks then (its training shard, unused,
  // pads rather than refuse a mixture of fewer items than ranks).
  // Planning loads nothing: the samplers' datasets are only lengths.
  const sampler = new InterleavedSampler<Sampler>(
    worldSize === undefined
      ? {
          trainSampler: mixture ?? new SequentialSampler(trainData),
          config,
          callbackSamplers: callbacks.map(({ size, ...c }) => ({
            ...c,
            sampler: new SequentialSampler(sized(size)),
          })),
        }
      : {
          ...distributedSamplers({
            train: trainData,
            env: { rank: 0, worldSize },
            shuffle: false,
            dropLast: mixture === undefined,
            callbacks: callbacks.map(({ size, ...c }) => ({ ...c, dataset: sized(size) })),
          }),
          ...(mixture && { trainSampler: mixture }),
          config,
        },
  );
  const plan = sampler.plan();
  const table = formatPlan(plan);
  return { plan, table: train && mixture ? `${table}\n\n${formatMixture(train, mixture)}` : table };
}

type Mixture = z.output<typeof mixtureSchema>;

/**
 * The training sampler a mixture describes, as rank 0 of `worldSize` builds it. Its own checks (what divides
 * over the ranks and the batches) are reported as problems of the file, saying which sampler option stands
 * for which key.
 */
function mixtureSampler(
  file: string,
  train: Mixture,
  batchSize: number,
  worldSize: number | undefined,
): MixtureSampler<ConcatDataset<number>> {
  const data = new ConcatDataset(train.sources.map(({ size }) => ({ length: size, get: (i: number) => i })));
  const R = worldSize ?? 1;
  const options = {
    weights: train.sources.map((s) => s.weight),
    ...(train.numSamples !== undefined && { numSamples: train.numSamples }),
    ...(train.perSourceBatches && { batchSize: batchSize * R }),
    ...(worldSize !== undefined && { numReplicas: worldSize, rank: 0 }),
  };
  try {
    return new MixtureSampler(data, options);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const names = [
      ...(worldSize === undefined ? [] : [`numReplicas = worldSize = ${R}`]),
      ...(train.perSourceBatches ? [`batchSize = config.batchSize × worldSize = ${batchSize * R}`] : []),
    ];
    const as = `\`train\` (a MixtureSampler${names.length ? ` with ${names.join(', ')}` : ''})`;
    const issues = e.issues.map((i) => `${as}: ${i}`);
    throw new ConfigError(`invalid plan config ${file}:\n${issues.map((i) => `  ${i}`).join('\n')}`, issues);
  }
}

/** The mixture under the plan: per source its weight, its size, and the samples it gives every epoch. */
function formatMixture(train: Mixture, sampler: MixtureSampler): string {
  const rows = [['mixture', 'weight', 'size', 'per epoch', '× size']];
  train.sources.forEach(({ name, size }, k) => {
    const samples = sampler.counts[k] as number;
    rows.push([
      name,
      `${((sampler.weights[k] as number) * 100).toFixed(1)}%`,
      String(size),
      String(samples),
      (samples / size).toFixed(2),
    ]);
  });
  const widths = (rows[0] as string[]).map((_, col) =>
    Math.max(...rows.map((r) => (r[col] as string).length)),
  );
  const line = (r: string[]) =>
    r
      .map((cell, col) =>
        col === 0 ? cell.padEnd(widths[col] as number) : cell.padStart(widths[col] as number),
      )
      .join('  ');
  const batches =
    sampler.batchSize === undefined ? 'mixed per sample' : `one source per batch of ${sampler.batchSize}`;
  return [
    ...rows.map(line),
    '',
    `${sampler.numSamples} training samples per epoch from ${train.sources.length} sources, ${batches}`,
  ].join('\n');
}
