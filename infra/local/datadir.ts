/**
 * The local stack's data directory: one folder holds everything (DynamoDB, user pool, executions, events), so a
 * restart keeps it all. One process at a time: a lock file with the owner's pid makes a second instance on the same
 * directory refuse to start instead of corrupting it. A lock left by a process that no longer runs (SIGKILL) is
 * taken over.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';

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

/** Creates the data directory if needed and takes its lock; throws DataDirInUseError if a live process holds it. */
export function lockDataDir(dir: string): DataDirLock {
  const dataDir = resolve(dir);
  mkdirSync(dataDir, { recursive: true });
  const lockPath = join(dataDir, '.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      let released = false;
      return {
        dataDir,
        release() {
          if (released) return;
          released = true;
          rmSync(lockPath, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number.parseInt(readFileSync(lockPath, 'utf8').trim(), 10);
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processIsAlive(pid)) {
        throw new DataDirInUseError(dataDir, pid);
      }
      if (pid === process.pid) throw new DataDirInUseError(dataDir, pid);
      rmSync(lockPath, { force: true }); // stale: its owner is gone
    }
  }
  throw new Error(`Could not lock ${dataDir}`);
}
