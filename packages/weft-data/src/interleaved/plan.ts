import type { Plan } from './schedule.ts';

/**
 * Renders a {@link Plan} as a plain-text table: the training totals, then one row per callback.
 *
 * @param plan - from {@link InterleavedSampler.plan}
 * @param maxUpdatesListed - how many "after update" values a row lists before eliding
 * @default maxUpdatesListed 6
 * @example
 * ```ts
 * console.log(formatPlan(sampler.plan()));
 * ```
 */
export function formatPlan(plan: Plan, maxUpdatesListed = 6): string {
  const rows: string[][] = [['source', 'passes', 'batches', 'samples', 'runs after updates']];
  const from = plan.start.update === 0 ? '' : ` (from update ${plan.start.update})`;
  rows.push([
    'train',
    '-',
    String(plan.trainBatches),
    String(plan.samples),
    `${plan.updates} updates${from}`,
  ]);
  for (const c of plan.callbacks) {
    const list = c.afterUpdates.slice(0, maxUpdatesListed).join(', ');
    const more = c.afterUpdates.length > maxUpdatesListed ? `, … (${c.afterUpdates.length} in all)` : '';
    rows.push([
      c.name,
      String(c.passes),
      String(c.batches),
      String(c.samples),
      c.afterUpdates.length ? list + more : '-',
    ]);
  }
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => r[col]!.length)));
  const line = (r: string[]) =>
    r
      .map((cell, col) =>
        col === 0 || col === r.length - 1 ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!),
      )
      .join('  ')
      .trimEnd();
  const share = `${(plan.evaluationShare * 100).toFixed(1)}%`;
  return [
    line(rows[0]!),
    ...rows.slice(1).map(line),
    '',
    `epochs ${plan.epochs}, updates ${plan.updates}, samples ${plan.samples}; evaluation batches ${plan.evalBatches} of ${plan.evalBatches + plan.trainBatches} (${share})`,
    ...(plan.worldSize > 1
      ? [
          `world size ${plan.worldSize}: samples count all ranks together; batches and updates are per rank, the same on every rank`,
        ]
      : []),
  ].join('\n');
}
