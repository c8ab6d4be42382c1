// The one place weft loads sharp (an optional peer dependency): lazily, on the first image decoded, so that
// importing weft never loads it. The types below are the small part of sharp's API weft uses, written here
// so that weft's declarations never mention sharp and type-check without it.
import { ConfigError } from '../core/errors.ts';

/** Raw pixels as sharp gives them. */
export interface RawImage {
  data: Buffer;
  info: { width: number; height: number; channels: number; depth?: string };
}

/** The part of a sharp pipeline weft uses. */
export interface SharpPipeline {
  grayscale(): SharpPipeline;
  toColourspace(space: string): SharpPipeline;
  removeAlpha(): SharpPipeline;
  resize(options: { width: number; height: number; fit: 'fill' | 'outside'; kernel: string }): SharpPipeline;
  extract(region: { left: number; top: number; width: number; height: number }): SharpPipeline;
  raw(options?: { depth: 'uchar' | 'ushort' }): SharpPipeline;
  toBuffer(options: { resolveWithObject: true }): Promise<RawImage>;
  metadata(): Promise<{ width?: number; height?: number; depth?: string; format?: string }>;
}

/** The part of sharp's module weft uses. */
export interface Sharp {
  (
    input: string | Uint8Array | Uint16Array,
    options?: { failOn?: string; raw?: { width: number; height: number; channels: number } },
  ): SharpPipeline;
  concurrency(threads?: number): number;
  cache(enabled: boolean): unknown;
}

let loading: Promise<Sharp> | undefined;

/**
 * sharp's default export, configured for loader threads: one libvips thread per image (the loader's
 * workers are the parallelism) and no operation cache (every image is decoded once per epoch, so caching
 * only holds memory). Both settings are process-wide in libvips. Throws {@link ConfigError} naming the
 * package when it is not installed.
 */
export function loadSharp(importer: () => Promise<unknown> = () => import('sharp')): Promise<Sharp> {
  loading ??= importer().then(
    (module) => {
      const sharp = ((module as { default?: Sharp }).default ?? module) as Sharp;
      sharp.concurrency(1);
      sharp.cache(false);
      return sharp;
    },
    (e: unknown) => {
      loading = undefined;
      throw sharpMissing(e);
    },
  );
  return loading;
}

/** Forgets the loaded module, so that tests can load it again through another importer. @internal */
export function resetSharp(): void {
  loading = undefined;
}

function sharpMissing(e: unknown): ConfigError {
  const code = (e as { code?: unknown } | null)?.code;
  const message = e instanceof Error ? e.message : String(e);
  if (code === 'ERR_MODULE_NOT_FOUND' && message.includes("'sharp'")) {
    return new ConfigError(
      'ImageFolder decodes images with the package `sharp`, an optional peer dependency of weft-data that is not installed: run `npm install sharp`',
      undefined,
      { cause: e },
    );
  }
  return new ConfigError(`the package \`sharp\` could not be loaded: ${message}`, undefined, { cause: e });
}
