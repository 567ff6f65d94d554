/**
 * Append-only JSON Lines files of the local EventBridge (archive, log groups): each line is written with one
 * append and fsynced before the append resolves, so a crash never leaves a half line followed by more lines.
 * (Its JSON state is replaced with infra/local/files.ts writeFileAtomic, fsynced.)
 */
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Appends lines to files, one writer chain per file so concurrent appends never interleave. */
export class LineAppender {
  private readonly handles = new Map<string, Promise<FileHandle>>();
  private readonly chains = new Map<string, Promise<void>>();
  private closed = false;

  append(path: string, line: string): Promise<void> {
    if (this.closed) return Promise.reject(new Error('The event files are closed'));
    const previous = this.chains.get(path) ?? Promise.resolve();
    const next = previous.then(async () => {
      const handle = await this.handle(path);
      await handle.appendFile(`${line}\n`, 'utf8');
      await handle.datasync();
    });
    // A failed append must not poison the appends queued behind it.
    this.chains.set(
      path,
      next.catch(() => undefined),
    );
    return next;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.chains.values());
    const handles = await Promise.allSettled(this.handles.values());
    await Promise.all(handles.map((h) => (h.status === 'fulfilled' ? h.value.close() : undefined)));
    this.handles.clear();
  }

  private handle(path: string): Promise<FileHandle> {
    let pending = this.handles.get(path);
    if (!pending) {
      pending = mkdir(dirname(path), { recursive: true }).then(() => open(path, 'a'));
      pending.catch(() => this.handles.delete(path));
      this.handles.set(path, pending);
    }
    return pending;
  }
}
