// An HTTP object server on 127.0.0.1 for the tests (and the remote benchmark): objects in memory with ETags,
// HEAD and single-range GET, and injected faults (error statuses, reset connections, stalls, bodies cut
// halfway), latency and a bandwidth limit. Events let a test synchronise on what the server sees.
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One injected fault, used by the next request it matches. */
export type Fault =
  /** Answer with this status (and no body). */
  | { kind: 'status'; status: number }
  /** Destroy the connection before answering. */
  | { kind: 'reset' }
  /** Never answer (until the server closes). */
  | { kind: 'stall' }
  /** Send the headers and half the body, then destroy the connection. */
  | { kind: 'cut' }
  /** Send the headers and half the body, emit `halfway`, then stall. */
  | { kind: 'hang' };

/** Options of {@link startHttpServer}. */
export interface HttpServerOptions {
  /** Milliseconds before each answer. @default 0 */
  latencyMs?: number;
  /** Bytes per second of each body. @default unlimited */
  bytesPerSecond?: number;
  /** A port to listen on (to restart a server where it was). @default any free port */
  port?: number;
}

/** What a request asked for, as the `request` event reports it. */
export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly range: string | undefined;
}

/** A running test server. */
export interface HttpObjectServer {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  readonly port: number;
  /** The URL of object `name`. */
  url(name: string): string;
  /** Creates or replaces object `name` (a new ETag). */
  put(name: string, bytes: Uint8Array | string): void;
  /** The ETag of object `name`, as the server sends it. */
  etag(name: string): string | undefined;
  /** Queues faults for the next matching requests (`methods`: only these; default GET). */
  fault(fault: Fault, times?: number, methods?: readonly string[]): void;
  /** Every request so far. */
  readonly requests: SeenRequest[];
  /** `request` (a SeenRequest) and `halfway` (after a `hang` fault's half body). */
  readonly events: EventEmitter;
  /** Stops listening and destroys every connection. */
  close(): Promise<void>;
}

const etagOf = (bytes: Uint8Array): string =>
  `"${createHash('sha1').update(bytes).digest('hex').slice(0, 16)}"`;

/**
 * Starts an object server on 127.0.0.1.
 *
 * @param options - latency, bandwidth, port
 * @param objects - initial objects by name
 */
export async function startHttpServer(
  options: HttpServerOptions = {},
  objects: Record<string, Uint8Array | string> = {},
): Promise<HttpObjectServer> {
  const store = new Map<string, { bytes: Uint8Array; etag: string }>();
  const faults: { fault: Fault; methods: readonly string[] }[] = [];
  const requests: SeenRequest[] = [];
  const events = new EventEmitter();
  const sockets = new Set<Socket>();
  const put = (name: string, data: Uint8Array | string): void => {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    store.set(name, { bytes, etag: etagOf(bytes) });
  };
  for (const [name, bytes] of Object.entries(objects)) put(name, bytes);

  const send = async (res: ServerResponse, body: Uint8Array): Promise<void> => {
    const rate = options.bytesPerSecond;
    if (rate === undefined) {
      res.end(body);
      return;
    }
    const slice = Math.max(1, Math.floor(rate / 100)); // ten-millisecond slices
    for (let at = 0; at < body.length && !res.destroyed; at += slice) {
      res.write(body.subarray(at, at + slice));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    res.end();
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET';
    const path = decodeURIComponent((req.url ?? '/').slice(1).split('?')[0] as string);
    const seen = { method, path, range: req.headers.range };
    requests.push(seen);
    events.emit('request', seen);
    if (options.latencyMs) await new Promise((resolve) => setTimeout(resolve, options.latencyMs));
    const at = faults.findIndex((f) => f.methods.includes(method));
    const fault = at === -1 ? undefined : faults.splice(at, 1)[0]?.fault;
    if (fault?.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'stall') return;
    if (fault?.kind === 'status') {
      res.writeHead(fault.status, { 'content-length': 0 }).end();
      return;
    }
    const object = store.get(path);
    if (object === undefined) {
      res.writeHead(404, { 'content-length': 0 }).end();
      return;
    }
    const { bytes, etag } = object;
    const headers: Record<string, string | number> = { etag, 'accept-ranges': 'bytes' };
    let body = bytes;
    let status = 200;
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (range !== null) {
      const start = Number(range[1]);
      const end = range[2] === '' ? bytes.length - 1 : Math.min(Number(range[2]), bytes.length - 1);
      if (start >= bytes.length || end < start) {
        res.writeHead(416, { 'content-range': `bytes */${bytes.length}`, 'content-length': 0 }).end();
        return;
      }
      body = bytes.subarray(start, end + 1);
      status = 206;
      headers['content-range'] = `bytes ${start}-${end}/${bytes.length}`;
    }
    headers['content-length'] = method === 'HEAD' ? bytes.length : body.length;
    res.writeHead(status, headers);
    if (method === 'HEAD') {
      res.end();
      return;
    }
    if (fault?.kind === 'cut' || fault?.kind === 'hang') {
      res.write(body.subarray(0, Math.floor(body.length / 2)));
      if (fault.kind === 'cut') {
        res.once('drain', () => req.socket.destroy());
        setImmediate(() => req.socket.destroy());
      } else {
        events.emit('halfway', seen);
      }
      return;
    }
    await send(res, body);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e) => res.destroy(e as Error));
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    port,
    url: (name) => `${origin}/${name}`,
    put,
    etag: (name) => store.get(name)?.etag,
    fault(fault, times = 1, methods = ['GET']) {
      for (let k = 0; k < times; k++) faults.push({ fault, methods });
    },
    requests,
    events,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
