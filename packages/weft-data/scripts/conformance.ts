/**
 * Runs the interleaved-sampler conformance vectors (format: test/conformance-vectors/README.md) against the
 * public API. Usage: `npm run conformance [-- DIR]`; without DIR, the library's own copy of the vectors.
 * Last line: `N passed, M failed`; exit 1 on any failure, 2 when DIR holds no vectors.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  type Dataset,
  InterleavedSampler,
  InterleavedSamplerConfig,
  type InterleavedSamplerOptions,
  type Sampler,
  SamplerIntervalConfig,
  WeftError,
} from '../src/index.ts';

interface VectorSamplerSpec {
  length: number;
  orders: number[][];
}
interface Vector {
  id: string;
  main: VectorSamplerSpec;
  callbacks: (Record<string, number> & { sampler: VectorSamplerSpec })[];
  config: Record<string, number | boolean>;
  expect: { stream?: [number, number][]; error?: boolean };
}

/** A sampler that yields `orders[epoch % orders.length]`, as the vectors define it. */
class VectorSampler implements Sampler {
  readonly dataset: Dataset<number>;
  readonly length: number;
  #epoch = 0;
  constructor(readonly spec: VectorSamplerSpec) {
    this.dataset = { length: spec.length, get: (i) => i };
    this.length = spec.orders[0]?.length ?? 0;
  }
  setEpoch(epoch: number): void {
    this.#epoch = epoch;
  }
  [Symbol.iterator](): Iterator<number> {
    return (this.spec.orders[this.#epoch % this.spec.orders.length] ?? [])[Symbol.iterator]();
  }
}

const camel = (key: string): string => key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
const camelKeys = (obj: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(obj).map(([k, v]) => [camel(k), v]));

function build(v: Vector): InterleavedSampler {
  const callbackSamplers = v.callbacks.map(({ sampler, ...rest }) => {
    return new SamplerIntervalConfig({ ...camelKeys(rest), sampler: new VectorSampler(sampler) });
  });
  const config = new InterleavedSamplerConfig(camelKeys(v.config) as InterleavedSamplerOptions);
  return new InterleavedSampler({ trainSampler: new VectorSampler(v.main), config, callbackSamplers });
}

/** Checks one vector; returns undefined when it passes, else the first difference. */
export function check(v: Vector): string | undefined {
  let sampler: InterleavedSampler;
  try {
    sampler = build(v);
  } catch (e) {
    if (v.expect.error) return e instanceof WeftError ? undefined : `threw a foreign error: ${String(e)}`;
    return `construction threw: ${String(e)}`;
  }
  if (v.expect.error) return 'expected an error at construction, none was thrown';
  const expected = v.expect.stream ?? [];
  let i = 0;
  try {
    for (const [index, endsBatch] of sampler) {
      const want = expected[i];
      if (want === undefined)
        return `stream is longer than expected: extra item ${i} = [${+endsBatch}, ${index}]`;
      if (want[0] !== +endsBatch || want[1] !== index) {
        return `item ${i}: expected [${want[0]}, ${want[1]}], got [${+endsBatch}, ${index}]`;
      }
      i++;
    }
  } catch (e) {
    return `iteration threw at item ${i}: ${String(e)}`;
  }
  return i === expected.length ? undefined : `stream ended after ${i} items, expected ${expected.length}`;
}

/** Runs every vector of every `*.json` in `dir`; returns the counts and one line per failure. */
export function runConformance(dir: string): { passed: number; failed: number; failures: string[] } {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort();
  const failures: string[] = [];
  let passed = 0;
  for (const file of files) {
    const { vectors } = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { vectors: Vector[] };
    for (const v of vectors) {
      const diff = check(v);
      if (diff === undefined) passed++;
      else failures.push(`FAIL ${v.id}: ${diff}`);
    }
  }
  return { passed, failed: failures.length, failures };
}

/** The library's copy of the vectors generated from the Python implementation (noether's sampler). */
const OWN_VECTORS = fileURLToPath(new URL('../test/conformance-vectors', import.meta.url));

/** Why `dir` cannot be run (one line naming it and where vectors come from), or undefined if it can. */
function vectorDirProblem(dir: string, given: string): string | undefined {
  const fix = `run \`npm run conformance\` without DIR for the library's copy (${relative(process.cwd(), OWN_VECTORS)}), or give a folder of *.json vectors generated from the Python implementation`;
  if (!existsSync(dir)) return `no such directory ${given}: ${fix}`;
  if (!statSync(dir).isDirectory()) return `${given} is not a directory: ${fix}`;
  if (!readdirSync(dir).some((f) => f.endsWith('.json'))) return `${given} holds no *.json vectors: ${fix}`;
  return undefined;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const given = process.argv[2];
  // `npm run` starts scripts in the workspace root: a relative DIR is the caller's, from INIT_CWD.
  const dir = given === undefined ? OWN_VECTORS : resolve(process.env.INIT_CWD ?? process.cwd(), given);
  const problem = vectorDirProblem(dir, given ?? dir);
  if (problem !== undefined) {
    console.error(`conformance: ${problem}`);
    process.exit(2);
  }
  const { passed, failed, failures } = runConformance(dir);
  for (const line of failures) console.log(line);
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed === 0 ? 0 : 1;
}
