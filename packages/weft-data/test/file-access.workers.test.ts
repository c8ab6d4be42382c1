// Files the process may not read: every format's `open` fails with a FileError naming the file, in the
// calling thread, rather than with Node's raw EACCES or at the first read in a worker.
//
// Tests often run as root, for whom `chmod 000` denies nothing. So the opens run in a child process that,
// when it is root, drops to the user `nobody` (process.setuid) after loading the library; it first checks
// that the file is really unreadable to it (fs.readFileSync fails with EACCES), so the test cannot pass
// without exercising the path.
import { spawn } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { tempFiles } from './fixtures/files.ts';
import { writeParquet } from './fixtures/tables.ts';

const files = tempFiles('access');
const here = dirname(fileURLToPath(import.meta.url));

interface Outcome {
  readonly name: string;
  readonly message?: string;
  readonly fileError?: boolean;
  readonly file?: string;
  readonly readFile?: string;
}

function runAsNobody(code: string): Promise<Outcome[]> {
  const script = files.write('child.mts', code);
  chmodSync(dirname(script), 0o755); // `nobody` must reach the files, only not read them
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: join(here, '..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(err))));
  });
}

it('refuses an unreadable file at open with a FileError naming it: JSONL, CSV, binary, Parquet', async () => {
  const jsonl = files.write('rows.jsonl', '{"a":1}\n');
  const csv = files.write('rows.csv', 'a,b\n1,2\n');
  const bin = files.write('tokens.bin', new Uint8Array(8));
  const parquet = writeParquet(files.path('rows.parquet'), 4, 2);
  for (const f of [jsonl, csv, bin, parquet]) chmodSync(f, 0o000);
  const src = join(here, '..', 'src', 'index.ts');
  const outcomes = await runAsNobody(`
    import { readFileSync } from 'node:fs';
    const { BinaryDataset, CsvDataset, FileError, JsonlDataset, ParquetDataset } = await import(${JSON.stringify(src)});
    if (process.getuid?.() === 0) process.setuid('nobody');
    const opens = {
      jsonl: () => JsonlDataset.open(${JSON.stringify(jsonl)}),
      csv: () => CsvDataset.open(${JSON.stringify(csv)}),
      binary: () => BinaryDataset.open(${JSON.stringify(bin)}, { dtype: 'uint8', sequenceLength: 4 }),
      parquet: () => ParquetDataset.open(${JSON.stringify(parquet)}),
    };
    const files = { jsonl: ${JSON.stringify(jsonl)}, csv: ${JSON.stringify(csv)}, binary: ${JSON.stringify(bin)}, parquet: ${JSON.stringify(parquet)} };
    const out = [];
    for (const [name, open] of Object.entries(opens)) {
      let readFile = 'readable';
      try { readFileSync(files[name]); } catch (e) { readFile = e.code; }
      try {
        await open();
        out.push({ name, readFile });
      } catch (e) {
        out.push({ name, readFile, message: e.message, fileError: e instanceof FileError, file: e.file });
      }
    }
    console.log(JSON.stringify(out));
  `);
  expect(outcomes).toEqual(
    [
      ['jsonl', jsonl],
      ['csv', csv],
      ['binary', bin],
      ['parquet', parquet],
    ].map(([name, file]) => ({
      name,
      readFile: 'EACCES',
      message: `cannot open ${file}: permission denied`,
      fileError: true,
      file,
    })),
  );
});
