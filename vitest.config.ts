// Every package's tests, from the repository root. Timeouts are sized for a busy 2-core machine (the suite
// must pass with two CPU-burning processes beside it); they catch hangs, not slowness. Files that start
// worker threads or processes (`*.workers.test.ts`) run one at a time, after the others, so that they
// never compete with each other for the two cores.
import { defineConfig } from 'vitest/config';

const WORKERS = '**/*.workers.test.ts';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['packages/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts'],
          exclude: [WORKERS, '**/node_modules/**'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'workers',
          include: [`packages/*/test/${WORKERS}`, `examples/*/test/${WORKERS}`],
          exclude: ['**/node_modules/**'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
