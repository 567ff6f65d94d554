/**
 * Atomic file replacement for every durable file of the local stack: the content goes to a temporary file next to
 * the target, then a rename puts it in place, so a reader (or a restart after a crash) sees the old content or the
 * new, never half of one. The temporary name is unique per call, so two writes to one file never share (and
 * truncate) one temporary file; each ends in `.tmp`, which is how stores recognise a crash's leftovers.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';

export interface WriteFileAtomicOptions {
  /** Permissions of a newly created file. @default 0o666 (less the umask) */
  readonly mode?: number;
  /** Flush the content to the disk before the rename, so the new name never points at unwritten data. */
  readonly fsync?: boolean;
}

function temporaryPath(path: string): string {
  return `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
}

/** Replaces `path` with `data` atomically. The parent directory must exist. */
export async function writeFileAtomic(path: string, data: string, options: WriteFileAtomicOptions = {}): Promise<void> {
  const temporary = temporaryPath(path);
  try {
    const handle = await open(temporary, 'wx', options.mode ?? 0o666);
    try {
      await handle.writeFile(data, 'utf8');
      if (options.fsync) await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } catch (err) {
    await rm(temporary, { force: true });
    throw err;
  }
}

/** The synchronous twin of writeFileAtomic, for callers that cannot wait (process exit, lock release). */
export function writeFileAtomicSync(path: string, data: string, options: WriteFileAtomicOptions = {}): void {
  const temporary = temporaryPath(path);
  try {
    const fd = openSync(temporary, 'wx', options.mode ?? 0o666);
    try {
      writeFileSync(fd, data, 'utf8');
      if (options.fsync) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path);
  } catch (err) {
    rmSync(temporary, { force: true });
    throw err;
  }
}
