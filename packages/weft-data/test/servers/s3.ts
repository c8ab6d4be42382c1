// An S3-compatible server on 127.0.0.1 for the tests: s3rver, in a temp directory, with one bucket, filled
// through the real AWS SDK client (the same one weft reads with).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';

// s3rver accepts these credentials; the SDK reads them from the environment (worker threads inherit it).
// The SDK warns once per process about Node 20 support; the tests run on Node 20 on purpose.
process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

/** A running s3rver with one bucket. */
export interface S3TestServer {
  /** `http://127.0.0.1:<port>`: the `endpoint` option. */
  readonly endpoint: string;
  readonly bucket: string;
  /** `s3://<bucket>/<key>` */
  url(key: string): string;
  /** Uploads an object with the SDK. */
  put(key: string, bytes: Uint8Array | string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts s3rver on a free port of 127.0.0.1 with bucket `bucket`.
 *
 * @param bucket - the bucket's name (at least 3 characters) @default 'weft-test'
 */
export async function startS3Server(bucket = 'weft-test'): Promise<S3TestServer> {
  const directory = mkdtempSync(join(tmpdir(), 'weft-s3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket }],
  });
  const { port } = (await server.run()) as { port: number };
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true });
  return {
    endpoint,
    bucket,
    url: (key) => `s3://${bucket}/${key}`,
    async put(key, bytes) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes }));
    },
    async close() {
      client.destroy();
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
