/**
 * The walkthrough `npm start` prints must work when pasted: run it with bash (curl + node, as a developer would)
 * against a local stack on a free port, and check what it did.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../infra/local/stack';
import { walkthrough } from '../../infra/local/walkthrough';

const run = promisify(execFile);

describe('the printed walkthrough', () => {
  let dataDir: string;
  let stack: LocalStack;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'devaccess-walkthrough-'));
    stack = await startLocalStack({ port: 0, dataDir, log: () => {} });
  });

  afterAll(async () => {
    await stack?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('takes a new user from sign-up to an API call with a client-credentials token', async () => {
    // Everything up to step 8 (step 8 follows the events forever); `set -e` stops at the first failing command.
    const steps = walkthrough(stack.endpoints).split('# 8.')[0] as string;
    const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', steps], { timeout: 60_000 });

    const me = stdout.split('\n').find((line) => line.includes('"via":"client"'));
    expect(me).toBeDefined();
    const caller = JSON.parse(me as string);
    const provisioned = JSON.parse(readFileSync(join(dataDir, 'events.jsonl'), 'utf8').split('\n')[0] as string);
    expect(provisioned['detail-type']).toBe('UserProvisioned');
    expect(caller.userId).toBe(provisioned.detail.userId);
    expect(stdout).toMatch(/"text":"hello"/);
  });

  it('says why a step failed when pasted again, instead of passing undefined along', async () => {
    // Pasted a second time, sign-up fails (alice exists) and the credential cap refuses step 5.
    const steps = walkthrough(stack.endpoints).split('# 8.')[0] as string;
    const failure = await run('bash', ['-euo', 'pipefail', '-c', steps], { timeout: 60_000 }).then(
      () => undefined,
      (err: { code: number; stderr: string; stdout: string }) => err,
    );
    expect(failure?.code).not.toBe(0);
    expect(failure?.stdout).toContain('limit_exceeded');
    expect(failure?.stderr).toContain('limit_exceeded');
    expect(failure?.stdout).not.toContain('undefined');
  });
});
