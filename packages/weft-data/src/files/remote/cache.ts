// The node-wide cache of remote objects: one directory shared by every thread and process that names it.
//
//   entries/<name>            complete blocks and saved indexes: all the budget counts
//   tmp/<name>.<pid>-<id>     a block being written; renamed into entries/ when whole, so no reader sees it torn
//   locks/<name>              "<pid> <id>": who downloads <name> (created exclusively, so one downloader)
//   locks/.evict              held while making room and renaming into entries/, so the budget holds
//
// A lock's owner refreshes its modification time while it works. A lock whose process is dead, or that has
// not been refreshed for STALE_MS (a thread that died), is broken by the next thread that wants it, which
// also deletes the owner's temporary file; every cache opened on the directory first deletes the locks and
// temporary files of dead processes, so nothing is left behind by a SIGKILL. Least recently used means by
// modification time: a block's is refreshed when a thread opens it and, while in use, once a second.

import { randomUUID } from 'node:crypto';
import {
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * A lock not refreshed for this long is a dead thread's (a worker terminated mid-download, whose process
 * lives on), and is broken. A live owner waits on the network, so its timer keeps the lock fresh; one held
 * up longer by synchronous work costs at most a second download of the same block, never a torn one.
 */
const STALE_MS = 8_000;
/** How often an owner refreshes its lock. */
const HEARTBEAT_MS = 1_000;
/** Descriptors of entries each thread keeps open, least recently used closed first. */
const MAX_OPEN = 64;
/** The longest wait (ms) between two looks at a download another thread or process holds. */
const POLL_MS = 50;
/** How often (ms) an entry in use has its modification time refreshed, for least-recently-used eviction. */
const TOUCH_MS = 1_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether process `pid` is alive (EPERM: alive, someone else's). */
function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const quiet = (f: () => void): void => {
  try {
    f();
  } catch {
    // gone already: another thread cleaned it
  }
};

/** A lock this thread holds. */
interface Held {
  readonly path: string;
  readonly token: string;
  readonly timer: NodeJS.Timeout;
}

/**
 * One thread's handle on a cache directory ({@link NodeCache.of}): it opens complete entries, downloads
 * missing ones under their lock, and makes room within the budget.
 *
 * @example
 * ```ts
 * const cache = NodeCache.of('/scratch/weft', 4e9);
 * await cache.ensure('ab12.0', 8 << 20, () => download(0));
 * const fd = cache.fdOf('ab12.0', 8 << 20);
 * ```
 * @internal
 */
export class NodeCache {
  static readonly #caches = new Map<string, NodeCache>();

  /**
   * This thread's handle on `dir` with budget `budget` (made on first use, which also cleans what dead
   * processes left).
   *
   * @param dir - an absolute directory path (created if missing)
   * @param budget - bytes the entries may take
   */
  static of(dir: string, budget: number): NodeCache {
    const key = `${budget}\n${dir}`;
    let cache = NodeCache.#caches.get(key);
    if (cache === undefined) {
      cache = new NodeCache(dir, budget);
      NodeCache.#caches.set(key, cache);
    }
    return cache;
  }

  readonly dir: string;
  readonly budget: number;
  /** Open entries, least recently used first. */
  readonly #open = new Map<string, { fd: number; touched: number }>();
  /** Downloads under way in this thread, by entry name. */
  readonly #pending = new Map<string, Promise<void>>();

  private constructor(dir: string, budget: number) {
    this.dir = dir;
    this.budget = budget;
    this.#makeDirs();
    this.#cleanDead();
  }

  /** Makes the cache's folders: at first use, and again if someone deleted the cache while in use. */
  #makeDirs(): void {
    for (const sub of ['entries', 'tmp', 'locks']) mkdirSync(join(this.dir, sub), { recursive: true });
  }

  #entry(name: string): string {
    return join(this.dir, 'entries', name);
  }

  /** Deletes the locks and temporary files of processes that no longer run. */
  #cleanDead(): void {
    for (const name of readdirSync(join(this.dir, 'locks'))) {
      const path = join(this.dir, 'locks', name);
      let owner = '';
      quiet(() => {
        owner = readFileSync(path, 'utf8');
      });
      const pid = Number(owner.split(' ')[0]);
      if (owner !== '' && !alive(pid)) quiet(() => unlinkSync(path));
    }
    for (const name of readdirSync(join(this.dir, 'tmp'))) {
      const pid = Number(/\.(\d+)-[^.]*$/.exec(name)?.[1]);
      if (!Number.isNaN(pid) && !alive(pid)) quiet(() => unlinkSync(join(this.dir, 'tmp', name)));
    }
  }

  /**
   * The descriptor of entry `name` if it is in the cache whole (`size` bytes), else `undefined`; refreshes
   * its place in the least-recently-used order.
   *
   * @param name - the entry
   * @param size - its size in bytes
   */
  fdOf(name: string, size: number): number | undefined {
    const open = this.#open.get(name);
    if (open !== undefined) {
      const now = Date.now();
      if (now - open.touched > TOUCH_MS) {
        open.touched = now;
        this.#open.delete(name);
        this.#open.set(name, open);
        try {
          utimesSync(this.#entry(name), now / 1000, now / 1000);
        } catch {
          // Evicted by another thread or process: let go of it (and of its disk space), fetch it again.
          this.#forget(name);
          return undefined;
        }
      }
      return open.fd;
    }
    let fd: number;
    try {
      fd = openSync(this.#entry(name), 'r');
    } catch {
      return undefined;
    }
    if (fstatSync(fd).size !== size) {
      // Not this cache's doing (entries are renamed in whole): a foreign file, dropped and fetched again.
      closeSync(fd);
      quiet(() => unlinkSync(this.#entry(name)));
      return undefined;
    }
    const now = Date.now();
    quiet(() => utimesSync(this.#entry(name), now / 1000, now / 1000));
    this.#open.set(name, { fd, touched: now });
    if (this.#open.size > MAX_OPEN) {
      const [oldest, entry] = this.#open.entries().next().value as [string, { fd: number }];
      this.#open.delete(oldest);
      closeSync(entry.fd);
    }
    return fd;
  }

  /** Closes this thread's descriptor of entry `name`, if open (the entry was evicted). */
  #forget(name: string): void {
    const open = this.#open.get(name);
    if (open === undefined) return;
    this.#open.delete(name);
    closeSync(open.fd);
  }

  /** Whether entry `name` is in the cache (whole or not yet checked), without opening it. */
  has(name: string): boolean {
    if (this.#open.has(name) || this.#pending.has(name)) return true;
    try {
      statSync(this.#entry(name));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Makes sure entry `name` is in the cache, downloading it with `download` if no thread or process on the
   * node has it (under its lock: one download, whoever asks), or waiting for another's download under way.
   * Then {@link NodeCache.fdOf} opens it (unless evicted again meanwhile).
   *
   * @param name - the entry
   * @param size - its size in bytes (what `download` must give)
   * @param download - fetches its bytes (with retries); its errors reject the promise
   */
  ensure(name: string, size: number, download: () => Promise<Uint8Array>): Promise<void> {
    if (this.fdOf(name, size) !== undefined) return Promise.resolve();
    const joined = this.#pending.get(name);
    // A download joined under way may fail for reasons gone by now (it started before the server came
    // back): its failure is not this caller's answer, which downloads again itself.
    if (joined !== undefined) return joined.catch(() => this.ensure(name, size, download));
    const pending = this.#fetch(name, size, download).finally(() => this.#pending.delete(name));
    this.#pending.set(name, pending);
    return pending;
  }

  async #fetch(name: string, size: number, download: () => Promise<Uint8Array>): Promise<void> {
    // Polled: another process's download has no event to wait on. The interval stays short, since a
    // worker waiting for the main thread's prefetch is the common case.
    for (let wait = 5; ; wait = Math.min(POLL_MS, wait * 1.5)) {
      const held = this.#lock(name);
      if (held !== undefined) {
        try {
          if (this.fdOf(name, size) === undefined) await this.#put(name, await download(), held.token);
          return;
        } finally {
          this.#unlock(held);
        }
      }
      await sleep(wait);
      if (this.fdOf(name, size) !== undefined) return;
    }
  }

  /**
   * Stores `bytes` as entry `name` (a saved index) unless it is larger than the whole budget, and returns
   * whether it did.
   *
   * @param name - the entry
   * @param bytes - its content
   */
  async store(name: string, bytes: Uint8Array): Promise<boolean> {
    if (bytes.length > this.budget) return false;
    await this.#put(name, bytes, `${process.pid}-${randomUUID().slice(0, 8)}`);
    return true;
  }

  /** Entry `name` read whole, or `undefined` when it is not in the cache. */
  load(name: string): Uint8Array | undefined {
    try {
      return readFileSync(this.#entry(name));
    } catch {
      return undefined;
    }
  }

  /** Writes `bytes` to a temporary file, makes room and renames it into `entries/`. */
  async #put(name: string, bytes: Uint8Array, token: string): Promise<void> {
    const tmp = join(this.dir, 'tmp', `${name}.${token}`);
    try {
      await writeFile(tmp, bytes).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e;
        // The cache was deleted under this process: make it again.
        this.#makeDirs();
        return writeFile(tmp, bytes);
      });
      let evict = this.#lock('.evict');
      for (let wait = 2; evict === undefined; wait = Math.min(50, wait * 1.5)) {
        await sleep(wait);
        evict = this.#lock('.evict');
      }
      try {
        this.#makeRoom(bytes.length);
        renameSync(tmp, this.#entry(name));
      } finally {
        this.#unlock(evict);
      }
    } catch (e) {
      quiet(() => unlinkSync(tmp));
      throw e;
    }
  }

  /** Deletes the least recently used entries until `incoming` more bytes fit in the budget. */
  #makeRoom(incoming: number): void {
    const dir = join(this.dir, 'entries');
    const entries: { name: string; size: number; used: number }[] = [];
    let total = 0;
    for (const name of readdirSync(dir)) {
      try {
        const s = statSync(join(dir, name));
        entries.push({ name, size: s.size, used: s.mtimeMs });
        total += s.size;
      } catch {
        // deleted meanwhile
      }
    }
    if (total + incoming <= this.budget) return;
    entries.sort((a, b) => a.used - b.used);
    for (const { name, size } of entries) {
      if (total + incoming <= this.budget) break;
      quiet(() => unlinkSync(join(dir, name)));
      this.#forget(name);
      total -= size;
    }
  }

  /** Takes lock `name` if it is free or stale (breaking it), else `undefined`. */
  #lock(name: string): Held | undefined {
    const path = join(this.dir, 'locks', name);
    const token = `${process.pid}-${randomUUID().slice(0, 8)}`;
    for (let tries = 0; tries < 2; tries++) {
      try {
        try {
          writeFileSync(path, `${process.pid} ${token}`, { flag: 'wx' });
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
          // The cache was deleted under this process: make it again.
          this.#makeDirs();
          writeFileSync(path, `${process.pid} ${token}`, { flag: 'wx' });
        }
        const timer = setInterval(() => {
          const now = Date.now() / 1000;
          quiet(() => utimesSync(path, now, now));
        }, HEARTBEAT_MS);
        timer.unref();
        return { path, token, timer };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      if (!this.#breakStale(path, name)) return undefined;
    }
    return undefined;
  }

  /** Deletes lock `path` (and its owner's temporary file) if its owner is dead or silent; true if it did. */
  #breakStale(path: string, name: string): boolean {
    let owner: string;
    let modified: number;
    try {
      owner = readFileSync(path, 'utf8');
      modified = statSync(path).mtimeMs;
    } catch {
      return true; // released meanwhile
    }
    const [pid, token] = owner.split(' ');
    const dead = owner !== '' && !alive(Number(pid));
    if (!dead && Date.now() - modified < STALE_MS) return false;
    quiet(() => unlinkSync(path));
    if (token !== undefined) quiet(() => unlinkSync(join(this.dir, 'tmp', `${name}.${token}`)));
    return true;
  }

  #unlock(held: Held): void {
    clearInterval(held.timer);
    // Only our own: a lock broken as stale may be someone else's by now.
    quiet(() => {
      if (readFileSync(held.path, 'utf8').endsWith(` ${held.token}`)) unlinkSync(held.path);
    });
  }
}

/**
 * Reads `length` bytes at `position` of the open entry `fd` into `target` at `at` (an entry is whole, so a
 * short read means it was changed under the cache: an error).
 *
 * @param fd - an entry's descriptor
 * @param target - where the bytes go
 * @param at - offset in `target`
 * @param length - bytes to read
 * @param position - offset in the entry
 * @example
 * ```ts
 * readEntry(fd, buffer, 0, 4096, 0);
 * ```
 * @internal
 */
export function readEntry(
  fd: number,
  target: Uint8Array,
  at: number,
  length: number,
  position: number,
): void {
  let done = 0;
  while (done < length) {
    const n = readSync(fd, target, at + done, length - done, position + done);
    if (n === 0)
      throw new Error(`a cache entry ends at byte ${position + done}, ${length - done} bytes early`);
    done += n;
  }
}
