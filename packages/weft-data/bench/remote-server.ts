// The object server of `bench:remote`, in a child process of its own: in the bench's process, its throttled
// bodies would wait on the main thread's decoding and the figures would measure that, not the network.
// Serves every file under the folder given (argv[2]) with the latency (argv[3], ms) and bandwidth (argv[4],
// bytes per second of each body) given, then sends its origin to the parent.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { startHttpServer } from '../test/servers/http.ts';

const [root, latency, rate] = process.argv.slice(2) as [string, string, string];
const objects: Record<string, Uint8Array> = {};
for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile()) continue;
  const path = join(entry.parentPath, entry.name);
  objects[relative(root, path)] = readFileSync(path);
}
const server = await startHttpServer({ latencyMs: Number(latency), bytesPerSecond: Number(rate) }, objects);
process.on('message', (m: { kind: string }) => {
  if (m.kind === 'requests') {
    const gets = server.requests.filter((r) => r.method === 'GET').length;
    process.send?.({ kind: 'requests', gets, heads: server.requests.length - gets });
  }
});
process.send?.({ kind: 'ready', origin: server.origin });
