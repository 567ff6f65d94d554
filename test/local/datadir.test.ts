/**
 * The data-directory lock: one local stack per directory, a live owner refused, a dead owner's lock taken over, and
 * of several starters that take over the same stale lock at once exactly one wins (interleaved in one process
 * through the `beforeClaim` seam, and as real processes racing).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DataDirInUseError, type DataDirLock, lockDataDir } from '../../infra/local/datadir';

const DATADIR_MODULE = fileURLToPath(new URL('../../infra/local/datadir.ts', import.meta.url));

let dir: string;
const held: DataDirLock[] = [];
const take = (options?: Parameters<typeof lockDataDir>[1]) => {
  const lock = lockDataDir(dir, options);
  held.push(lock);
  return lock;
};
const lockFiles = () => readdirSync(dir).filter((name) => name.startsWith('.lock')).sort();
const contentOf = (name: string) => JSON.parse(readFileSync(join(dir, name), 'utf8')) as Record<string, unknown>;

/** The pid of a process that has exited (a stale lock's owner). */
let deadPid: number;
beforeAll(async () => {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await new Promise((resolve) => child.on('exit', resolve));
  deadPid = child.pid as number;
});

afterEach(() => {
  for (const lock of held.splice(0)) lock.release();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const freshDir = () => {
  dir = mkdtempSync(join(tmpdir(), 'devaccess-datadir-'));
  return dir;
};

describe('lockDataDir', () => {
  it('creates the directory and takes the lock with this process id', () => {
    // Prepare
    const parent = freshDir();
    dir = join(parent, 'nested', 'data');

    // Act
    const lock = take();

    // Assess
    expect(lock.dataDir).toBe(dir);
    expect(lockFiles()).toEqual(['.lock.1']);
    expect(contentOf('.lock.1')).toMatchObject({ pid: process.pid, token: expect.any(String) });
    rmSync(parent, { recursive: true, force: true });
  });

  it('refuses a directory a live process holds, naming its pid', () => {
    // Prepare: the parent of this test worker is alive and is not us.
    freshDir();
    take({ pid: process.ppid });

    // Act
    const failure = (() => {
      try {
        lockDataDir(dir);
        return undefined;
      } catch (err) {
        return err;
      }
    })();

    // Assess
    expect(failure).toBeInstanceOf(DataDirInUseError);
    expect((failure as DataDirInUseError).pid).toBe(process.ppid);
    expect(lockFiles()).toEqual(['.lock.1']);
  });

  it('refuses a second lock from this same process', () => {
    freshDir();
    take();
    expect(() => lockDataDir(dir)).toThrow(DataDirInUseError);
  });

  it('takes over a lock with this pid that an earlier process left (a restarted container reuses pids)', () => {
    // Prepare
    freshDir();
    writeFileSync(join(dir, '.lock.3'), JSON.stringify({ pid: process.pid, token: 'from-an-earlier-process' }));

    // Act
    take();

    // Assess
    expect(lockFiles()).toEqual(['.lock.4']);
  });

  it('takes over a lock whose owner has exited, and removes it', () => {
    // Prepare
    freshDir();
    writeFileSync(join(dir, '.lock.7'), JSON.stringify({ pid: deadPid, token: 'crashed' }));

    // Act
    take();

    // Assess
    expect(lockFiles()).toEqual(['.lock.8']);
    expect(contentOf('.lock.8')['pid']).toBe(process.pid);
  });

  it.each([
    ['an empty file left long ago', ''],
    ['a file that is not a lock', 'not a lock'],
  ])('takes over %s', (_label, content) => {
    freshDir();
    writeFileSync(join(dir, '.lock.2'), content);
    // An empty lock may be mid-creation: only an old one counts as abandoned.
    const old = new Date(Date.now() - 60_000);
    utimesSync(join(dir, '.lock.2'), old, old);
    take();
    expect(lockFiles()).toEqual(['.lock.3']);
  });

  it('respects the single .lock file of earlier versions: refused while its owner lives, taken over after', () => {
    // Prepare
    freshDir();
    writeFileSync(join(dir, '.lock'), String(process.ppid));

    // Act + Assess
    expect(() => lockDataDir(dir)).toThrow(DataDirInUseError);
    writeFileSync(join(dir, '.lock'), String(deadPid));
    take();
    expect(lockFiles()).toEqual(['.lock.1']);
  });

  it('leaves a tombstone on release, so the next owner takes a higher number and cleans up', () => {
    // Prepare
    freshDir();
    const first = lockDataDir(dir);

    // Act
    first.release();
    first.release();
    const tombstone = contentOf('.lock.1');
    take();

    // Assess
    expect(tombstone).toEqual({ released: true });
    expect(lockFiles()).toEqual(['.lock.2']);
  });
});

describe('two starters taking over the same stale lock', () => {
  const alive = new Set<number>([101, 102, 103]);
  const isAlive = (pid: number) => alive.has(pid);

  it('lets exactly one win when the other claims in between (the other then finds the winner alive)', () => {
    // Prepare: a crashed owner's lock; A judges it stale, and before A acts, B runs its whole takeover.
    freshDir();
    writeFileSync(join(dir, '.lock.1'), JSON.stringify({ pid: 999_001, token: 'crashed' }));
    let b: DataDirLock | undefined;

    // Act
    const a = (() => {
      try {
        return take({
          pid: 101,
          isAlive,
          beforeClaim: () => {
            b ??= take({ pid: 102, isAlive });
          },
        });
      } catch (err) {
        return err;
      }
    })();

    // Assess
    expect(b).toBeDefined();
    expect(a).toBeInstanceOf(DataDirInUseError);
    expect((a as DataDirInUseError).pid).toBe(102);
    expect(lockFiles()).toEqual(['.lock.2']);
    expect(contentOf('.lock.2')['pid']).toBe(102);
  });

  it('lets a starter that read an old listing lose even when its number is free again', () => {
    // Prepare: A judges .lock.1 stale; meanwhile B takes over (.lock.2, removing .lock.1), releases, and C takes
    // over (.lock.3, removing .lock.2). Number 2 is free again when A claims it.
    freshDir();
    writeFileSync(join(dir, '.lock.1'), JSON.stringify({ pid: 999_001, token: 'crashed' }));
    let interleaved = false;

    // Act
    const a = (() => {
      try {
        return take({
          pid: 101,
          isAlive,
          beforeClaim: () => {
            if (interleaved) return;
            interleaved = true;
            lockDataDir(dir, { pid: 102, isAlive }).release();
            take({ pid: 103, isAlive });
          },
        });
      } catch (err) {
        return err;
      }
    })();

    // Assess
    expect(a).toBeInstanceOf(DataDirInUseError);
    expect((a as DataDirInUseError).pid).toBe(103);
    expect(lockFiles()).toEqual(['.lock.3']);
  });

  it('lets exactly one of several real processes win the race for a stale lock', async () => {
    // Prepare: a crashed owner's lock, and six processes that all start locking at the same instant. The winner
    // holds the lock until every process has answered, so a slow starter meets a held lock, never a released one.
    freshDir();
    writeFileSync(join(dir, '.lock.1'), JSON.stringify({ pid: deadPid, token: 'crashed' }));
    const script = `${dir}-child.mts`;
    writeFileSync(
      script,
      [
        `import { lockDataDir } from ${JSON.stringify(DATADIR_MODULE)};`,
        'const [dir, startAt] = process.argv.slice(2);',
        'while (Date.now() < Number(startAt)) {}',
        'try {',
        '  const lock = lockDataDir(dir);',
        "  console.log('acquired');",
        "  process.stdin.on('end', () => lock.release()).resume();",
        '} catch (err) {',
        "  console.log(err.name === 'DataDirInUseError' ? 'refused' : `failed ${err.message}`);",
        '  process.stdin.destroy();',
        '}',
      ].join('\n'),
    );
    const startAt = Date.now() + 1_000;
    const children = Array.from({ length: 6 }, () =>
      spawn(process.execPath, ['--import', 'tsx', script, dir, String(startAt)], { stdio: ['pipe', 'pipe', 'inherit'] }),
    );

    try {
      // Act
      const outcomes = await Promise.all(
        children.map(
          (child) =>
            new Promise<string>((resolve, reject) => {
              let out = '';
              child.stdout.on('data', (chunk: Buffer) => {
                out += chunk.toString();
                if (out.includes('\n')) resolve(out.trim());
              });
              child.on('error', reject);
              child.on('exit', (code) => reject(new Error(`child exited (${code}) before answering: ${out}`)));
            }),
        ),
      );

      // Assess
      expect(outcomes.filter((o) => o === 'acquired')).toHaveLength(1);
      expect(outcomes.filter((o) => o === 'refused')).toHaveLength(5);
    } finally {
      for (const child of children) child.stdin.end();
      await Promise.all(children.map((child) => (child.exitCode === null ? new Promise((r) => child.on('exit', r)) : null)));
      rmSync(script, { force: true });
    }
    expect(lockFiles()).toEqual(['.lock.2']);
    expect(contentOf('.lock.2')).toEqual({ released: true });
  }, 30_000);
});
