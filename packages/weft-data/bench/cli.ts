/**
 * `npm run bench:cli`: start-up time of the compiled `weft` command (`npm run build` first), against a bare
 * `node -e ''` measured in the same rounds. Each round runs the three commands one after the other; REPS
 * rounds. Last lines: `cli_help_ms: N`, `cli_plan_ms: N` (medians; target: under 300 ms).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const REPS = Number(process.env.REPS ?? 21);
const bin = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const plan = fileURLToPath(new URL('../examples/plan.json', import.meta.url));
if (!existsSync(bin)) throw new Error(`${bin} is missing: run npm run build first`);

const commands: Record<string, string[]> = {
  node_baseline: ['-e', ''],
  cli_help: [bin, '--help'],
  cli_plan: [bin, 'plan', plan, '--out', fileURLToPath(new URL('../../../out', import.meta.url))],
};

function ms(args: string[]): number {
  const t = performance.now();
  const r = spawnSync(process.execPath, args, { stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited with ${r.status}`);
  return performance.now() - t;
}

const times: Record<string, number[]> = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
for (let rep = 0; rep < REPS; rep++) {
  for (const [name, args] of Object.entries(commands)) times[name]!.push(ms(args));
}
const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[s.length >> 1]!, min: s[0]!, max: s[s.length - 1]! };
};
console.log(`${REPS} rounds; wall-clock ms per process, median (min–max)`);
for (const name of Object.keys(commands)) {
  const { median, min, max } = stats(times[name]!);
  console.log(`${name.padEnd(14)} ${median.toFixed(0).padStart(5)}  (${min.toFixed(0)}–${max.toFixed(0)})`);
}
const base = stats(times.node_baseline!).median;
for (const name of ['cli_help', 'cli_plan']) {
  console.log(`${name}_over_node_baseline_ms: ${(stats(times[name]!).median - base).toFixed(0)}`);
}
console.log(`cli_help_ms: ${stats(times.cli_help!).median.toFixed(0)}`);
console.log(`cli_plan_ms: ${stats(times.cli_plan!).median.toFixed(0)}`);
