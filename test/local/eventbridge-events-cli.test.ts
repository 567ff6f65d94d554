/**
 * `npm run events`: its output for a sample archive, directly and as the child process a developer runs.
 */
import { spawn } from 'node:child_process';
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatEventLine, parseArgs, renderLines } from '../../infra/local/events';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const EXECUTION = 'arn:aws:states:us-east-1:000000000000:execution:devaccess-credential-workflow:op-42';

function envelope(detailType: string, detail: Record<string, unknown>, time: string): string {
  return JSON.stringify({
    version: '0',
    id: `id-${time}`,
    'detail-type': detailType,
    source: 'devaccess',
    account: '000000000000',
    time,
    region: 'us-east-1',
    resources: [],
    detail: { eventId: `e-${time}`, version: 1, occurredAt: time, actor: { type: 'user', username: 'ada' }, ...detail },
  });
}

const SAMPLE = [
  envelope('UserProvisioned', { userId: 'u-1', username: 'ada' }, '2026-12-04T10:00:00Z'),
  envelope('CredentialCreated', { userId: 'u-1', clientId: 'c-1', scopes: ['devaccess/read'], executionId: EXECUTION }, '2026-12-04T10:01:00Z'),
  envelope('CredentialReset', { userId: 'u-1', clientId: 'c-2', previousClientId: 'c-1', executionId: EXECUTION }, '2026-12-04T10:02:00Z'),
  envelope('CredentialRevoked', { userId: 'u-1', clientId: 'c-2' }, '2026-12-04T10:03:00Z'),
];

const EXPECTED_CREDENTIAL_LINES = [
  '2026-12-04T10:01:00Z CredentialCreated user=u-1 client=c-1 exec=op-42',
  '2026-12-04T10:02:00Z CredentialReset user=u-1 client=c-2 prev=c-1 exec=op-42',
  '2026-12-04T10:03:00Z CredentialRevoked user=u-1 client=c-2',
];

let dataDir: string;
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'devaccess-events-cli-'));
  await writeFile(join(dataDir, 'events.jsonl'), `${SAMPLE.join('\n')}\n`);
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe('events output', () => {
  it('prints one line per credential event, and only credential events by default', () => {
    // Act
    const lines = renderLines(SAMPLE, { json: false, all: false });

    // Assess
    expect(lines).toEqual(EXPECTED_CREDENTIAL_LINES);
  });

  it('prints every product event with --all', () => {
    // Act
    const lines = renderLines(SAMPLE, { json: false, all: true });

    // Assess
    expect(lines[0]).toBe('2026-12-04T10:00:00Z UserProvisioned user=u-1 username=ada');
    expect(lines.slice(1)).toEqual(EXPECTED_CREDENTIAL_LINES);
  });

  it('prints the raw archived lines with --json', () => {
    // Act
    const lines = renderLines(SAMPLE, { json: true, all: false });

    // Assess
    expect(lines).toEqual(SAMPLE.slice(1));
  });

  it('skips a line that is not JSON and says so', () => {
    // Prepare
    const warnings: string[] = [];

    // Act
    const lines = renderLines(['{broken', SAMPLE[3] as string], { json: false, all: false }, (w) => warnings.push(w));

    // Assess
    expect(lines).toEqual([EXPECTED_CREDENTIAL_LINES[2]]);
    expect(warnings).toHaveLength(1);
  });

  it('leaves out what an event does not carry', () => {
    // Assess
    expect(formatEventLine({ time: 't', 'detail-type': 'CredentialRevoked', detail: { userId: 'u' } })).toBe(
      't CredentialRevoked user=u',
    );
  });

  it('takes the data directory from --data-dir, else DEVACCESS_DATA_DIR, else .local', () => {
    // Assess
    expect(parseArgs([], {}).dataDir).toBe('.local');
    expect(parseArgs([], { DEVACCESS_DATA_DIR: '/data' }).dataDir).toBe('/data');
    expect(parseArgs(['--data-dir', '/x', '--follow', '--json', '--all'], { DEVACCESS_DATA_DIR: '/data' })).toEqual({
      dataDir: '/x',
      follow: true,
      json: true,
      all: true,
    });
    expect(() => parseArgs(['--nope'], {})).toThrow('Unknown argument: --nope');
  });
});

/** Runs the CLI as `npm run events` does (tsx), collecting stdout until `until` says it has seen enough. */
function runCli(args: string[], until?: (stdout: string) => boolean) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'infra/local/events.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, DEVACCESS_DATA_DIR: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  const seen = new Promise<void>((resolve) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      if (until?.(stdout)) resolve();
    });
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, seen, exited, stdout: () => stdout };
}

describe('events command', () => {
  it('prints the credential events of the archive and exits', async () => {
    // Act
    const run = runCli(['--data-dir', dataDir]);
    const code = await run.exited;

    // Assess
    expect(code).toBe(0);
    expect(run.stdout()).toBe(`${EXPECTED_CREDENTIAL_LINES.join('\n')}\n`);
  });

  it('keeps printing appended events with --follow and exits cleanly on Ctrl-C', async () => {
    // Prepare
    const followed = await mkdtemp(join(tmpdir(), 'devaccess-events-follow-'));
    await writeFile(join(followed, 'events.jsonl'), `${SAMPLE[1]}\n`);
    const appended = envelope('CredentialRevoked', { userId: 'u-7', clientId: 'c-7' }, '2026-12-04T11:00:00Z');

    // Act
    const run = runCli(['--follow', '--data-dir', followed], (out) => out.includes('u-7'));
    await new Promise<void>((resolve) => run.child.stdout.once('data', () => resolve()));
    await appendFile(join(followed, 'events.jsonl'), `${appended}\n`);
    await run.seen;
    run.child.kill('SIGINT');
    const code = await run.exited;
    await rm(followed, { recursive: true, force: true });

    // Assess
    expect(code).toBe(0);
    expect(run.stdout()).toBe(
      `${EXPECTED_CREDENTIAL_LINES[0]}\n2026-12-04T11:00:00Z CredentialRevoked user=u-7 client=c-7\n`,
    );
  });
});
