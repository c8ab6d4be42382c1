// Running bench/torch_bench.py, the PyTorch side of the benchmarks, when torch is importable: Python from
// WEFT_PYTHON (default python3), torch from WEFT_TORCH_PYTHONPATH, else PYTHONPATH.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('./torch_bench.py', import.meta.url));
const python = process.env.WEFT_PYTHON ?? 'python3';
const pythonPath = process.env.WEFT_TORCH_PYTHONPATH ?? process.env.PYTHONPATH;
let importable: boolean | undefined;

/**
 * The JSON that `torch_bench.py ARGS` prints, or why the comparison is skipped.
 *
 * @param args - the mode and its arguments
 */
export function torchJson<T>(args: string[]): { result: T } | { skip: string } {
  const env = { ...process.env, ...(pythonPath === undefined ? {} : { PYTHONPATH: pythonPath }) };
  importable ??= spawnSync(python, ['-c', 'import torch'], { env, stdio: 'ignore' }).status === 0;
  if (!importable) return { skip: 'torch not importable, skipping the comparison' };
  const r = spawnSync(python, [script, ...args], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`torch_bench.py ${args.join(' ')} failed: ${r.stderr}`);
  return { result: JSON.parse(r.stdout) as T };
}
