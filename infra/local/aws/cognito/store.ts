/**
 * The emulation's state on disk: one JSON document, rewritten whole after each change with temp file + rename so
 * a crash leaves either the old or the new document, never half of one. Writes are serialized and coalesced: a
 * change made while a write is under way is picked up by the next write, and a stale snapshot never overwrites a
 * newer one.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../files';
import type { CognitoState } from './types';

export class StateStore {
  private writing: Promise<void> | undefined;
  private dirty = false;
  private waiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];

  private constructor(
    readonly dir: string,
    readonly state: CognitoState,
  ) {}

  static async open(dir: string): Promise<StateStore> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    let state: CognitoState;
    try {
      state = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as CognitoState;
      if (state.version !== 1) throw new Error(`unsupported Cognito state version ${String(state.version)}`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      state = { version: 1, seq: 0, pools: {}, domains: {} };
    }
    return new StateStore(dir, state);
  }

  /** Resolves once the state as it is now (or newer) is on disk. */
  persist(): Promise<void> {
    this.dirty = true;
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (this.writing === undefined) this.writing = this.drain();
    return done;
  }

  private async drain(): Promise<void> {
    try {
      while (this.dirty) {
        this.dirty = false;
        const waiters = this.waiters;
        this.waiters = [];
        // Serialized synchronously: the snapshot is the state at this instant, never a torn mix of two changes.
        const data = JSON.stringify(this.state);
        try {
          await writeFileAtomic(join(this.dir, 'state.json'), data, { mode: 0o600 });
          waiters.forEach((w) => w.resolve());
        } catch (err) {
          waiters.forEach((w) => w.reject(err));
        }
      }
    } finally {
      this.writing = undefined;
    }
  }

  /** Waits for any write under way (used before shutdown). */
  async flush(): Promise<void> {
    while (this.writing !== undefined) await this.writing;
  }
}
