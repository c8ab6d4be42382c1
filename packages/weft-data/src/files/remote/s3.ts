// s3:// objects, read with the AWS SDK (`@aws-sdk/client-s3`, an optional peer loaded on first use): HEAD for
// the size and ETag, then GET with a Range for each block. Credentials come from the SDK's usual chain; an
// `endpoint` (any S3-compatible server) is addressed path-style. The SDK's own retries are off: the retry
// loop of transport.ts is the one for every protocol.
import { STATUS_CODES } from 'node:http';
import { importPeer } from '../file.ts';
import { AttemptError, type RemoteRange, type RemoteStat, type Transport } from './transport.ts';

// The parts of the SDK used here, typed locally so that weft's declarations never name the package.
interface S3Answer {
  ContentLength?: number;
  ContentRange?: string;
  ETag?: string;
  LastModified?: Date;
  Body?: { transformToByteArray(): Promise<Uint8Array> };
}
interface S3Client {
  send(command: object, options: { abortSignal: AbortSignal }): Promise<S3Answer>;
}
interface ClientS3 {
  S3Client: new (config: object) => S3Client;
  HeadObjectCommand: new (input: object) => object;
  GetObjectCommand: new (input: object) => object;
}

const loadS3 = (): Promise<ClientS3> =>
  importPeer('@aws-sdk/client-s3', 'S3', () => import('@aws-sdk/client-s3') as unknown as Promise<ClientS3>);

/** One client per region and endpoint in each thread: it keeps its connections alive between requests. */
const clients = new Map<string, Promise<S3Client>>();

function clientFor(region: string | undefined, endpoint: string | undefined): Promise<S3Client> {
  const key = `${region ?? ''}\n${endpoint ?? ''}`;
  let client = clients.get(key);
  if (client === undefined) {
    client = loadS3().then(
      (s3) =>
        new s3.S3Client({
          region: region ?? (endpoint === undefined ? undefined : 'us-east-1'),
          maxAttempts: 1,
          ...(endpoint === undefined ? {} : { endpoint, forcePathStyle: true }),
        }),
    );
    clients.set(key, client);
    client.catch(() => clients.delete(key));
  }
  return client;
}

/**
 * The bucket and key of an `s3://bucket/key` URL.
 *
 * @param url - an s3:// URL
 * @returns its bucket and key (URL-decoded)
 * @example
 * ```ts
 * parseS3('s3://data/train/part-0.parquet'); // { bucket: 'data', key: 'train/part-0.parquet' }
 * ```
 * @internal
 */
export function parseS3(url: string): { bucket: string; key: string } {
  const parsed = new URL(url);
  return { bucket: parsed.hostname, key: decodeURIComponent(parsed.pathname.slice(1)) };
}

/** An SDK error as an attempt's failure: a status when the server answered, else a network error. */
function failure(e: unknown): AttemptError {
  const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (status === undefined) {
    const code = (e as NodeJS.ErrnoException).code;
    const { name, message } = e as Error;
    // No answer: a network error (a system error code, a timeout) may pass; the SDK's own (no region, no
    // credentials) will not.
    const network = code !== undefined || /timeout|abort/i.test(name);
    return new AttemptError(code === undefined ? message : `${code} (${message})`, network, undefined, {
      cause: e,
    });
  }
  const name = (e as Error).name;
  const text = `HTTP ${status} ${STATUS_CODES[status] ?? ''}`.trimEnd();
  return new AttemptError(
    name && !/^\d+$/.test(name) ? `${text} (${name})` : text,
    status >= 500 || status === 429,
    status,
    {
      cause: e,
    },
  );
}

const versionOf = (a: S3Answer): string => a.ETag ?? a.LastModified?.toUTCString() ?? '';

/**
 * The requests of one s3:// object.
 *
 * @param url - `s3://bucket/key`
 * @param region - the `region` option
 * @param endpoint - the `endpoint` option
 * @returns its transport
 * @example
 * ```ts
 * const t = s3Transport('s3://data/train.jsonl', undefined, 'http://127.0.0.1:9000');
 * ```
 * @internal
 */
export function s3Transport(
  url: string,
  region: string | undefined,
  endpoint: string | undefined,
): Transport {
  const { bucket, key } = parseS3(url);
  const send = async (
    command: 'HeadObjectCommand' | 'GetObjectCommand',
    input: object,
    signal: AbortSignal,
  ) => {
    const [s3, client] = await Promise.all([loadS3(), clientFor(region, endpoint)]);
    try {
      return await client.send(new s3[command]({ Bucket: bucket, Key: key, ...input }), {
        abortSignal: signal,
      });
    } catch (e) {
      throw failure(e);
    }
  };
  return {
    async stat(signal: AbortSignal): Promise<RemoteStat> {
      const answer = await send('HeadObjectCommand', {}, signal);
      return { size: answer.ContentLength ?? 0, etag: versionOf(answer) };
    },
    async range(start: number, end: number, signal: AbortSignal): Promise<RemoteRange> {
      const answer = await send('GetObjectCommand', { Range: `bytes=${start}-${end - 1}` }, signal);
      let bytes: Uint8Array;
      try {
        bytes = (await answer.Body?.transformToByteArray()) ?? new Uint8Array(0);
      } catch (e) {
        throw failure(e);
      }
      const total = /\/(\d+)$/.exec(answer.ContentRange ?? '');
      return { bytes, size: total === null ? bytes.length : Number(total[1]), etag: versionOf(answer) };
    },
  };
}
