// `npm run pictures` at the repository root: regenerates the README's pictures from what the demo and the
// `weft` command write — docs/training.png from a default demo run, docs/plan.png from the demo's schedule.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { svgToPng } from './plot.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const out = join(root, 'out', 'readme');
const docs = join(root, 'docs');
mkdirSync(out, { recursive: true });
mkdirSync(docs, { recursive: true });

const node = (args: string[]) => execFileSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
node([fileURLToPath(new URL('./main.js', import.meta.url)), '--out', out]);
copyFileSync(join(out, 'training.png'), join(docs, 'training.png'));

// The demo's schedule with its default settings, as a plan config for `weft plan`.
const plan = {
  trainSize: 8000,
  config: { batchSize: 32, maxEpochs: 20 },
  callbacks: [
    { name: 'quick', size: 500, everyNUpdates: 100, batchSize: 500 },
    { name: 'test', size: 2000, everyNEpochs: 1, batchSize: 500 },
  ],
};
const planFile = join(out, 'plan.json');
writeFileSync(planFile, JSON.stringify(plan, null, 2));
const weft = createRequire(import.meta.url).resolve('weft-data/package.json');
node([join(dirname(weft), 'dist', 'cli', 'main.js'), 'plan', planFile, '--out', out]);
writeFileSync(join(docs, 'plan.png'), await svgToPng(readFileSync(join(out, 'plan.svg'), 'utf8')));
console.log(`written: ${join(docs, 'training.png')}, ${join(docs, 'plan.png')}`);
