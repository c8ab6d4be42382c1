// The options of remote sources, shared by every dataset that can open a URL: their zod fields (which each
// dataset's options schema spreads into its own), their defaults, and the relation between them.
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { describe } from '../../core/checks.ts';
import { nonNegativeInt, positiveInt, type Relation } from '../../core/validate.ts';

/**
 * How remote objects are read and cached: every dataset that opens a path also takes these, and ignores
 * them for a local path.
 *
 * @example
 * ```ts
 * const remote: RemoteOptions = { cacheDir: '/scratch/weft', cacheBytes: 20e9, retries: 5, timeoutMs: 10_000 };
 * ```
 */
export interface RemoteOptions {
  /** The node-wide cache of remote objects, shared by every thread and process that names it. @default `<os tmpdir>/weft-cache` */
  cacheDir?: string;
  /** The cache's budget in bytes: least recently used blocks are evicted to stay within it. @default 4 GiB */
  cacheBytes?: number;
  /** Size of the blocks a large object is read in; an object up to this size is one block. @default 8 MiB */
  blockBytes?: number;
  /** Further attempts after a failed request (5xx, 429, reset connection, timeout), backing off exponentially. @default 3 */
  retries?: number;
  /** Milliseconds one request may take, its body included, before it counts as failed. @default 30000 */
  timeoutMs?: number;
  /** S3's region. @default the AWS SDK's chain (`AWS_REGION`, `~/.aws/config`), or `us-east-1` with an `endpoint` */
  region?: string;
  /** An S3-compatible server's URL (MinIO, R2, a test server); addressed path-style (`<endpoint>/<bucket>/<key>`). @default AWS */
  endpoint?: string;
}

/** {@link RemoteOptions} with their defaults applied. @internal */
export type ResolvedRemote = Required<Omit<RemoteOptions, 'region' | 'endpoint'>> &
  Pick<RemoteOptions, 'region' | 'endpoint'>;

const url = z.string({ error: 'must be an http:// or https:// URL' }).refine(
  (v) => {
    try {
      return /^https?:$/.test(new URL(v).protocol);
    } catch {
      return false;
    }
  },
  { error: 'must be an http:// or https:// URL' },
);

/**
 * The zod fields of {@link RemoteOptions}, for a dataset's options schema: `z.object({ …own, ...remoteFields })`.
 *
 * @example
 * ```ts
 * const schema = z.object({ validate: bool.optional(), ...remoteFields }).strict();
 * ```
 * @internal
 */
export const remoteFields = {
  cacheDir: z
    .string({ error: 'must be a directory path' })
    .min(1, { error: 'must be a directory path' })
    .optional(),
  cacheBytes: positiveInt.optional(),
  blockBytes: positiveInt.optional(),
  retries: nonNegativeInt.optional(),
  timeoutMs: positiveInt.optional(),
  region: z.string({ error: 'must be a region name' }).min(1, { error: 'must be a region name' }).optional(),
  endpoint: url.optional(),
};

/** The default of `cacheBytes`. */
export const DEFAULT_CACHE_BYTES = 4 * 2 ** 30;
/** The default of `blockBytes`. */
export const DEFAULT_BLOCK_BYTES = 8 * 2 ** 20;

/**
 * The relation between the remote options: a block must fit in the cache.
 *
 * @example
 * ```ts
 * checkOpen('JsonlDataset', path, options, schema, { relations: [remoteRelation] });
 * ```
 * @internal
 */
export const remoteRelation: Relation = ({
  cacheBytes = DEFAULT_CACHE_BYTES,
  blockBytes = DEFAULT_BLOCK_BYTES,
}) =>
  typeof cacheBytes === 'number' && typeof blockBytes === 'number' && blockBytes > cacheBytes
    ? [`\`blockBytes\` must not exceed \`cacheBytes\` (${describe(cacheBytes)}), got ${describe(blockBytes)}`]
    : [];

/**
 * The remote options of a dataset's (checked) options, with their defaults; other fields are left out.
 *
 * @param options - a dataset's options
 * @returns every remote option, defaults applied
 * @example
 * ```ts
 * resolveRemote({ cacheBytes: 1e9 }).blockBytes; // 8388608
 * ```
 * @internal
 */
export function resolveRemote(options: RemoteOptions): ResolvedRemote {
  const out: ResolvedRemote = {
    cacheDir: resolve(options.cacheDir ?? join(tmpdir(), 'weft-cache')),
    cacheBytes: options.cacheBytes ?? DEFAULT_CACHE_BYTES,
    blockBytes: options.blockBytes ?? DEFAULT_BLOCK_BYTES,
    retries: options.retries ?? 3,
    timeoutMs: options.timeoutMs ?? 30_000,
  };
  if (options.region !== undefined) out.region = options.region;
  if (options.endpoint !== undefined) out.endpoint = options.endpoint;
  return out;
}
