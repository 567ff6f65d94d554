/**
 * `npm run sweep` (infra/local/sweep.ts) without a stack: its arguments, what it prints, and what it says when the
 * stack is not there or the sweeper failed. The fetch is a stand-in (no socket); test/security/faults.test.ts runs
 * the command for real against a running stack.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SweepReport } from '../../lambdas/sweeper/core';
import { formatSweepReport, parseSweepArgs, runSweep } from '../../infra/local/sweep';

const EMPTY: SweepReport = {
  poolClients: 3,
  credentialClients: 2,
  mapped: 1,
  deleted: [],
  tooYoung: [],
  marked: [],
  failed: [],
  revokedMappings: [],
  publishedEvents: [],
  unpublishedEvents: [],
  republishedEvents: [],
  unrepublishedRuns: [],
  provisionedUsers: [],
  youngUsers: 0,
  unprovisionedUsers: 0,
  markersCleared: 0,
  incomplete: false,
};

describe('parseSweepArgs', () => {
  it('takes the data directory from --data-dir, else DEVACCESS_DATA_DIR, else .local', () => {
    expect(parseSweepArgs(['--data-dir', '/tmp/x'], { DEVACCESS_DATA_DIR: '/env' })).toEqual({ dataDir: '/tmp/x', json: false });
    expect(parseSweepArgs(['--data-dir=/tmp/y', '--json'], {})).toEqual({ dataDir: '/tmp/y', json: true });
    expect(parseSweepArgs([], { DEVACCESS_DATA_DIR: '/env' }).dataDir).toBe('/env');
    expect(parseSweepArgs([], {}).dataDir).toBe('.local');
  });

  it('refuses an argument it does not know, with the usage', () => {
    expect(() => parseSweepArgs(['--force'], {})).toThrow(/Unknown argument: --force\nUsage: npm run sweep/);
  });
});

describe('formatSweepReport', () => {
  it('says what was deleted and revoked, client by client', () => {
    const text = formatSweepReport(
      {
        ...EMPTY,
        deleted: [{ clientId: 'abc', reason: 'unmapped' }],
        revokedMappings: [{ clientId: 'def', userId: 'u-1' }],
        tooYoung: ['young'],
        republishedEvents: [{ executionArn: 'arn:exec', eventId: 'e-1' }],
        unrepublishedRuns: ['arn:later'],
        provisionedUsers: ['u-2'],
        unprovisionedUsers: 1,
        incomplete: true,
      },
      'us-east-1_Pool',
    );
    expect(text).toContain('Swept user pool us-east-1_Pool: 3 app client(s), 2 credential client(s), 1 with an active mapping.');
    expect(text).toContain('Deleted 1 orphaned credential client(s):\n  abc (unmapped)');
    expect(text).toContain('Marked 1 active credential(s) whose app client is gone revoked:\n  def (user u-1)');
    expect(text).toContain('younger than the grace age: young');
    expect(text).toContain('Published 1 event(s) of credential changes whose run could not:\n  e-1 (arn:exec)');
    expect(text).toContain('Could not publish the event of 1 run(s) yet: arn:later');
    expect(text).toContain('Provisioned 1 confirmed user(s) the post-confirmation trigger did not: u-2');
    expect(text).toContain('Could not provision 1 confirmed user(s) yet');
    expect(text).toContain('the next run carries on');
  });

  it('keeps a run that changed nothing to its counts', () => {
    expect(formatSweepReport(EMPTY, 'p').split('\n')).toEqual([
      'Swept user pool p: 3 app client(s), 2 credential client(s), 1 with an active mapping.',
      'Deleted 0 orphaned credential client(s).',
      'Marked 0 active credential(s) whose app client is gone revoked.',
    ]);
  });
});

describe('runSweep', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'devaccess-sweep-'));
    writeFileSync(join(dataDir, 'endpoints.json'), JSON.stringify({ awsEndpoint: 'http://127.0.0.1:4567', userPoolId: 'p' }));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('invokes the sweeper function through the stack\'s Lambda Invoke route and returns its report', async () => {
    // Prepare
    const seen: { url: string; init?: RequestInit }[] = [];
    const fakeFetch = (async (url: string, init?: RequestInit) => {
      seen.push({ url, ...(init ? { init } : {}) });
      return new Response(JSON.stringify(EMPTY), { status: 200 });
    }) as unknown as typeof fetch;
    // Act
    const { report } = await runSweep(dataDir, fakeFetch);
    // Assess
    expect(report).toEqual(EMPTY);
    expect(seen[0]?.url).toBe('http://127.0.0.1:4567/2015-03-31/functions/devaccess-sweeper/invocations');
    expect(seen[0]?.init?.method).toBe('POST');
  });

  it('reports a failed sweeper with its error', async () => {
    const fakeFetch = (async () =>
      new Response(JSON.stringify({ errorType: 'AccessDeniedException', errorMessage: 'no' }), {
        status: 200,
        headers: { 'X-Amz-Function-Error': 'Unhandled' },
      })) as unknown as typeof fetch;
    await expect(runSweep(dataDir, fakeFetch)).rejects.toThrow('The sweeper failed: AccessDeniedException: no');
  });

  it('says when no stack answers', async () => {
    const fakeFetch = (async () => {
      throw new TypeError('fetch failed');
    }) as unknown as typeof fetch;
    await expect(runSweep(dataDir, fakeFetch)).rejects.toThrow(/No local stack answers at http:\/\/127\.0\.0\.1:4567.*is it running\?/);
  });

  it('says when the data directory holds no running stack\'s endpoints', async () => {
    rmSync(join(dataDir, 'endpoints.json'));
    await expect(runSweep(dataDir, fetch)).rejects.toThrow(/endpoints\.json .*start the local stack with npm start first/);
  });
});
