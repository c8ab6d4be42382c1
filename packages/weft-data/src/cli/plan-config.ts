// `weft plan CONFIG`: the schedule of a run described by a JSON or YAML file.
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { z } from 'zod';
import { describe } from '../core/checks.ts';
import { ConfigError } from '../core/errors.ts';
import type { Sampler } from '../core/sampler.ts';
import { zodIssues } from '../core/validate.ts';
import { MAX_WORLD_SIZE } from '../distributed/distributed-env.ts';
import { distributedSamplers } from '../distributed/samplers.ts';
import {
  configRelations,
  interleavedSamplerConfigSchema,
  intervalRelations,
  MAX_LENGTH,
  samplerIntervalConfigSchema,
} from '../interleaved/config.ts';
import { formatPlan } from '../interleaved/plan.ts';
import { InterleavedSampler } from '../interleaved/sampler.ts';
import type { Plan } from '../interleaved/schedule.ts';
import { SequentialSampler } from '../samplers/sequential-sampler.ts';

/** The config file: dataset sizes stand in for the datasets, since a plan loads no data. */
export const planConfigSchema = z
  .object({
    trainSize: z
      .int({ error: 'must be a positive integer' })
      .min(1, { error: 'must be a positive integer' })
      .max(MAX_LENGTH, { error: `must be at most ${MAX_LENGTH}` })
      .describe('Number of training items.'),
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
  let yaml: typeof import('yaml');
  try {
    yaml = await import('yaml');
  } catch {
    throw new PlanFileError(`${file}: reading YAML needs the optional package yaml (npm install yaml)`);
  }
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
      `the file must hold an object with \`trainSize\`, \`config\` and \`callbacks\`, got ${describe(raw)}`,
    ];
  }
  const parsed = planConfigSchema.safeParse(raw);
  const issues = parsed.success ? [] : zodIssues(parsed.error, raw);
  const { config, callbacks } = raw as { config?: unknown; callbacks?: unknown };
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
  const { trainSize, worldSize, config, callbacks } = planConfigSchema.parse(raw);
  const sized = (length: number) => ({ length, get: (i: number) => i });
  // With a world size, rank 0's samplers: every rank has the same schedule and batch counts.
  // Planning loads nothing: the samplers' datasets are only lengths.
  const sampler = new InterleavedSampler<Sampler>(
    worldSize === undefined
      ? {
          trainSampler: new SequentialSampler(sized(trainSize)),
          config,
          callbackSamplers: callbacks.map(({ size, ...c }) => ({
            ...c,
            sampler: new SequentialSampler(sized(size)),
          })),
        }
      : {
          ...distributedSamplers({
            train: sized(trainSize),
            env: { rank: 0, worldSize },
            shuffle: false,
            callbacks: callbacks.map(({ size, ...c }) => ({ ...c, dataset: sized(size) })),
          }),
          config,
        },
  );
  const plan = sampler.plan();
  return { plan, table: formatPlan(plan) };
}
