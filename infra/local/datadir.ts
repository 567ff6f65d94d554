/**
 * The local stack's data directory: one folder holds everything (DynamoDB, user pool, executions, events), so a
 * restart keeps it all. One process at a time: a second instance on the same directory refuses to start instead of
 * corrupting it, and a lock left by a process that no longer runs (SIGKILL) is taken over.
 *
 * The lock is a numbered file, `.lock.<n>`, holding its owner's pid and a random token; whoever created the
 * highest number owns the directory while its process runs. Taking over a stale lock never deletes it: the taker
 * creates the next number exclusively, so of two starters that both found the same stale lock exactly one wins,
 * and the loser finds the winner alive. (Deleting a stale lock and re-creating it is racy: the slower of two
 * starters deletes the fresh lock of the faster one, and both run.) A created file only counts if nothing higher
 * exists afterwards, which settles a starter that read an older listing. Release leaves a tombstone rather than
 * deleting the file, so numbers only grow; the next owner removes the older files.
 */
import { randomUUID } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomicSync } from './files';

/** The data directory when neither `--data-dir` nor DEVACCESS_DATA_DIR names one. */
export const DEFAULT_DATA_DIR = '.local';
/** Where the running stack writes its endpoints (read by the CLIs that talk to it). */
export const ENDPOINTS_FILE = 'endpoints.json';
/** The EventBridge archive: one archived event envelope per line. */
export const ARCHIVE_FILE = 'events.jsonl';

/** The data directory a command uses: its flag, else DEVACCESS_DATA_DIR (an empty value counts as unset), else the default. */
export function resolveDataDir(flag: string | undefined, env: Record<string, string | undefined>): string {
  return flag ?? (env['DEVACCESS_DATA_DIR'] || DEFAULT_DATA_DIR);
}

export class DataDirInUseError extends Error {
  override readonly name = 'DataDirInUseError';
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(
      `The data directory ${dataDir} is in use by another local stack (pid ${pid}). Stop it first, or start this ` +
        'one with --data-dir <another directory>.',
    );
  }
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface DataDirLock {
  readonly dataDir: string;
  release(): void;
}

/** Seams for tests that play several processes in one. */
export interface LockDataDirOptions {
  /** The pid written into the lock. @default process.pid */
  readonly pid?: number;
  /** Whether a pid runs. @default `kill(pid, 0)` */
  readonly isAlive?: (pid: number) => boolean;
  /** Called after the current lock was judged free and before the next number is claimed. */
  readonly beforeClaim?: () => void;
}

interface LockFile {
  readonly generation: number;
  readonly path: string;
  /** The content, or undefined when the file vanished between listing and reading it. */
  readonly holder: Holder | undefined;
}

type Holder =
  | { readonly kind: 'held'; readonly pid: number; readonly token?: string }
  | { readonly kind: 'released' }
  /** Empty: a file created where hard links are unavailable, its content not written yet (or a stray file). */
  | { readonly kind: 'empty'; readonly ageMs: number }
  | { readonly kind: 'unreadable' };

const LOCK_NAME = /^\.lock\.(\d+)$/;
/** The lock file of versions before numbered locks (a bare pid); it counts as number 0. */
const LEGACY_NAME = '.lock';
const TEMP_PREFIX = '.lock-tmp.';
/** A tombstone's temporary file (writeFileAtomicSync), left behind if the process died before the rename. */
const TOMBSTONE_TEMP = /^\.lock\.\d+\..*\.tmp$/;
const MAX_ATTEMPTS = 50;
/** How long an empty lock file may be mid-creation before it counts as abandoned. */
const EMPTY_GRACE_MS = 2_000;

/** Tokens of the locks this process holds: a lock naming this process's pid is ours only if its token is here. */
const heldTokens = new Set<string>();

function parseHolder(text: string, ageMs: number): Holder {
  const trimmed = text.trim();
  if (trimmed === '') return { kind: 'empty', ageMs };
  if (/^\d+$/.test(trimmed)) return { kind: 'held', pid: Number(trimmed) };
  try {
    const value = JSON.parse(trimmed) as { pid?: unknown; token?: unknown; released?: unknown };
    if (value.released === true) return { kind: 'released' };
    if (Number.isInteger(value.pid) && (value.pid as number) > 0 && typeof value.token === 'string') {
      return { kind: 'held', pid: value.pid as number, token: value.token };
    }
  } catch {
    // Not ours: below.
  }
  return { kind: 'unreadable' };
}

/** The highest-numbered lock file, read; undefined when there is none. */
function newestLock(dataDir: string): LockFile | undefined {
  let newest: { generation: number; name: string } | undefined;
  for (const name of readdirSync(dataDir)) {
    const generation = name === LEGACY_NAME ? 0 : Number(LOCK_NAME.exec(name)?.[1] ?? Number.NaN);
    if (Number.isSafeInteger(generation) && (!newest || generation > newest.generation)) newest = { generation, name };
  }
  if (!newest) return undefined;
  const path = join(dataDir, newest.name);
  try {
    const ageMs = Date.now() - statSync(path).mtimeMs;
    return { generation: newest.generation, path, holder: parseHolder(readFileSync(path, 'utf8'), ageMs) };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { generation: newest.generation, path, holder: undefined };
    throw err;
  }
}

/** Creates `path` with `content` only if it does not exist, the content complete the moment the name appears. */
function createExclusive(dataDir: string, path: string, content: string): boolean {
  const temp = join(dataDir, `${TEMP_PREFIX}${randomUUID()}`);
  writeFileSync(temp, content, { flag: 'wx' });
  try {
    linkSync(temp, path);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw err;
    // No hard links on this file system: exclusive create, then write (readers wait out the empty moment).
    try {
      writeFileSync(path, content, { flag: 'wx' });
      return true;
    } catch (fallbackErr) {
      if ((fallbackErr as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw fallbackErr;
    }
  } finally {
    rmSync(temp, { force: true });
  }
}

/** Removes the lock files below `generation` and temporary files a crash left behind. */
function removeOlder(dataDir: string, generation: number): void {
  for (const name of readdirSync(dataDir)) {
    const number = name === LEGACY_NAME ? 0 : Number(LOCK_NAME.exec(name)?.[1] ?? Number.NaN);
    const path = join(dataDir, name);
    if (Number.isSafeInteger(number) && number < generation) {
      rmSync(path, { force: true });
    } else if (name.startsWith(TEMP_PREFIX) || TOMBSTONE_TEMP.test(name)) {
      try {
        if (Date.now() - statSync(path).mtimeMs > 60_000) rmSync(path, { force: true });
      } catch {
        // Gone already.
      }
    }
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Creates the data directory if needed and takes its lock; throws DataDirInUseError if a live process holds it. */
export function lockDataDir(dir: string, options: LockDataDirOptions = {}): DataDirLock {
  const dataDir = resolve(dir);
  mkdirSync(dataDir, { recursive: true });
  const pid = options.pid ?? process.pid;
  const isAlive = options.isAlive ?? processIsAlive;
  const token = randomUUID();

  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const current = newestLock(dataDir);
    if (current && current.holder === undefined) continue; // superseded while we looked
    const holder = current?.holder;
    if (holder?.kind === 'held') {
      // Our own pid: this process holds it (refuse), or a process before us had our pid (a container restart).
      const live = holder.pid === pid ? holder.token !== undefined && heldTokens.has(holder.token) : isAlive(holder.pid);
      if (live) throw new DataDirInUseError(dataDir, holder.pid);
    } else if (holder?.kind === 'empty' && holder.ageMs < EMPTY_GRACE_MS) {
      sleepSync(10);
      continue;
    }

    options.beforeClaim?.();
    const generation = (current?.generation ?? 0) + 1;
    const path = join(dataDir, `.lock.${generation}`);
    if (!createExclusive(dataDir, path, JSON.stringify({ pid, token }))) continue; // another starter got this number
    // A starter that read an older listing may have created a number that is no longer the newest: it loses.
    const newest = newestLock(dataDir);
    if (newest && newest.generation > generation) {
      rmSync(path, { force: true });
      continue;
    }

    heldTokens.add(token);
    removeOlder(dataDir, generation);
    let released = false;
    return {
      dataDir,
      release() {
        if (released) return;
        released = true;
        heldTokens.delete(token);
        // A tombstone, not a deletion: the numbers keep growing, so a starter with an old listing cannot reuse one.
        try {
          writeFileAtomicSync(path, JSON.stringify({ released: true }));
        } catch (err) {
          // The directory is gone (removed while the stack ran): nothing is left to release.
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        }
      },
    };
  }
  throw new Error(`Could not lock ${dataDir}: other local stacks kept taking it over`);
}
