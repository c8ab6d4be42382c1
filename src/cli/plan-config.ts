// `weft plan CONFIG`: the schedule of a run described by a JSON or YAML file, as a table and an SVG timeline.
import { readFileSync, writeFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import {
  ConfigError,
  formatPlan,
  InterleavedSampler,
  interleavedSamplerConfigSchema,
  SequentialSampler,
  samplerIntervalConfigSchema,
} from '../index.ts';
import { timelinePlot } from './plot.ts';

/** The config file: dataset sizes stand in for the datasets, since a plan loads no data. */
export const planConfigSchema = z
  .object({
    trainSize: z.int().min(1).describe('Number of training items.'),
    config: interleavedSamplerConfigSchema,
    callbacks: z
      .array(
        samplerIntervalConfigSchema.extend({
          size: z.int().min(0).describe('Number of items of this dataset.'),
        }),
      )
      .default([]),
  })
  .strict();

/** The JSON Schema of the config file, generated from the zod schemas. */
export const planConfigJsonSchema = (): unknown => z.toJSONSchema(planConfigSchema, { io: 'input' });

/** Reads, validates and plans `file`; prints the table and writes the timeline SVG to `svgPath`. */
export function planFile(file: string, svgPath: string): string {
  const text = readFileSync(file, 'utf8');
  const raw: unknown = /\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text);
  const parsed = planConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(top)'}: ${i.message}`);
    throw new ConfigError(`invalid plan config ${file}:\n${lines.join('\n')}`);
  }
  const { trainSize, config, callbacks } = parsed.data;
  const sized = (length: number) => ({ length, get: (i: number) => i });
  const sampler = new InterleavedSampler({
    trainSampler: new SequentialSampler(sized(trainSize)),
    config,
    callbackSamplers: callbacks.map(({ size, ...c }) => ({
      ...c,
      sampler: new SequentialSampler(sized(size)),
    })),
  });
  const plan = sampler.plan();
  writeFileSync(
    svgPath,
    timelinePlot(
      plan.end.update,
      plan.callbacks.map((c) => ({ name: c.name, at: c.afterUpdates })),
    ),
  );
  return formatPlan(plan);
}
