/**
 * JSON files under one directory, written atomically (temp file + rename, so a crash leaves the old or the new
 * file, never half of one). Writes are coalesced per file: many changes in one turn of the event loop (an
 * execution appending several history events) become one write of the latest state.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileAtomic, writeFileAtomicSync } from '../../files';

interface Pending {
  /** A write or delete is queued and not yet started: later changes ride along with it. */
  queued: boolean;
  op: 'write' | 'delete';
  produce: () => unknown;
  chain: Promise<void>;
}

export class JsonStore {
  private readonly pending = new Map<string, Pending>();

  constructor(
    readonly root: string,
    private readonly onError: (err: unknown, path: string) => void,
  ) {
    mkdirSync(root, { recursive: true });
    this.removeTempFiles(root);
  }

  /** A crash between write and rename leaves a temp file; it never holds the only copy of anything. */
  private removeTempFiles(dir: string): void {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) this.removeTempFiles(path);
      else if (entry.name.endsWith('.tmp')) rmSync(path, { force: true });
    }
  }

  path(relative: string): string {
    return join(this.root, relative);
  }

  /** Reads a JSON file; undefined when it does not exist. Throws on unreadable JSON. */
  readSync(relative: string): unknown {
    try {
      return JSON.parse(readFileSync(this.path(relative), 'utf8')) as unknown;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** File names (not paths) of the `.json` files in a sub-directory. */
  listSync(subdir: string): string[] {
    const dir = this.path(subdir);
    mkdirSync(dir, { recursive: true });
    return readdirSync(dir).filter((name) => name.endsWith('.json'));
  }

  writeSync(relative: string, value: unknown): void {
    const path = this.path(relative);
    mkdirSync(dirname(path), { recursive: true });
    writeFileAtomicSync(path, JSON.stringify(value));
  }

  /** Queues an atomic write of `produce()` (called when the write happens, so it captures the latest state). */
  write(relative: string, produce: () => unknown): void {
    this.enqueue(relative, 'write', produce);
  }

  /**
   * Queues the write like `write`, and resolves once a write that started after this call has reached the disk
   * (writes to one file are serialized, so the one queued here, or one queued just before and not yet started,
   * captures the state as it is now).
   */
  async writeDurably(relative: string, produce: () => unknown): Promise<void> {
    this.enqueue(relative, 'write', produce);
    await this.pending.get(this.path(relative))?.chain;
  }

  delete(relative: string): void {
    this.enqueue(relative, 'delete', () => undefined);
  }

  private enqueue(relative: string, op: Pending['op'], produce: () => unknown): void {
    const path = this.path(relative);
    let entry = this.pending.get(path);
    if (!entry) {
      entry = { queued: false, op, produce, chain: Promise.resolve() };
      this.pending.set(path, entry);
    }
    entry.op = op;
    entry.produce = produce;
    if (entry.queued) return;
    entry.queued = true;
    const current = entry;
    current.chain = current.chain
      .then(() => new Promise<void>((resolve) => setImmediate(resolve)))
      .then(async () => {
        current.queued = false;
        if (current.op === 'delete') {
          await rm(path, { force: true });
          return;
        }
        await writeFileAtomic(path, JSON.stringify(current.produce()));
      })
      .catch((err: unknown) => this.onError(err, path))
      .finally(() => {
        if (!current.queued && this.pending.get(path) === current) this.pending.delete(path);
      });
  }

  /** Resolves when every queued write has reached the disk. */
  async flush(): Promise<void> {
    while (this.pending.size > 0) {
      await Promise.all([...this.pending.values()].map((p) => p.chain));
    }
  }
}
