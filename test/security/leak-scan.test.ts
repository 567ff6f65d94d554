/**
 * Invariant I5: a client secret appears in exactly one place we produce, the create/reset response. After a
 * representative workload (several users creating, resetting and revoking credentials, idempotent replays, token
 * calls in both client-authentication styles, notes, refused and failed requests), every secret ever issued is
 * searched for in every place the stack writes: data-directory files (Cognito state, DynamoDB, executions,
 * the event archive), console output, execution histories and both tables. A positive control plants a secret in
 * each kind of place and checks the scan reports it, so a clean result cannot come from a scan that looks nowhere.
 */
import { randomBytes } from 'node:crypto';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATE_MACHINES } from '../../lambdas/shared/contract/names';
import { type TestCredential, type TestStack, type TestUser, localAwsConfig } from '../support/local-stack';
import { expectRefusal, answerOf, startSecurityStack } from './support/stack';

/** The forms a secret could take on its way to a file or a log line, besides itself. */
function encodings(clientId: string, secret: string): string[] {
  return [
    encodeURIComponent(secret),
    Buffer.from(`${clientId}:${secret}`).toString('base64'),
    Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64'),
    Buffer.from(secret).toString('base64'),
    Buffer.from(secret).toString('base64url'),
    Buffer.from(secret).toString('hex'),
  ].filter((v, i, all) => v !== secret && all.indexOf(v) === i);
}

describe('category: leak-scan', () => {
  let ts: TestStack;
  const pairs: { clientId: string; clientSecret: string }[] = [];
  const record = (c: { clientId: string; clientSecret: string }) => {
    pairs.push({ clientId: c.clientId, clientSecret: c.clientSecret });
    ts.recordSecret(c.clientSecret);
  };

  beforeAll(async () => {
    ts = await startSecurityStack({ maxCredentialsPerUser: 2 });
  });

  afterAll(async () => {
    await ts?.close();
  });

  it('runs a representative workload, every step answering as it should', async () => {
    const users: TestUser[] = [];
    for (const name of ['leak-ana', 'leak-ben', 'leak-cyd']) users.push(await ts.createUser(name, { developer: true }));
    const outsider = await ts.createUser('leak-dee');

    for (const [i, user] of users.entries()) {
      // Create, with an Idempotency-Key, and replay it: the replay returns the same pair.
      const key = `create-${i}-${randomBytes(4).toString('hex')}`;
      const created = await ts.api('POST', '/credentials', user.token, { name: `cred ${i}` }, { 'Idempotency-Key': key });
      expect(created.status).toBe(201);
      record(created.body);
      const replayed = await ts.api('POST', '/credentials', user.token, { name: `cred ${i}` }, { 'Idempotency-Key': key });
      expect(replayed.status).toBe(201);
      expect(replayed.body.clientSecret).toBe(created.body.clientSecret);

      // Token calls: HTTP Basic and client_secret_post; then the API with the client token.
      const token = await ts.clientToken(created.body.clientId, created.body.clientSecret);
      const posted = await fetch(ts.stack.endpoints.tokenUrl, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: created.body.clientId,
          client_secret: created.body.clientSecret,
        }).toString(),
      });
      expect(posted.status).toBe(200);
      const wrong = await ts.tokenResponse(created.body.clientId, `${created.body.clientSecret}x`);
      expect(wrong.status).toBe(401);
      expect((await ts.api('GET', '/me', token)).body.via).toBe('client');
      expect((await ts.api('POST', '/notes', token, { text: `note of ${user.username}` })).status).toBe(201);
      expect((await ts.api('GET', '/notes', token)).status).toBe(200);

      // Reset, replayed; the old pair stops working at once.
      const resetKey = `reset-${i}-${randomBytes(4).toString('hex')}`;
      const reset = await ts.api('POST', `/credentials/${created.body.clientId}/reset`, user.token, {}, { 'Idempotency-Key': resetKey });
      expect(reset.status).toBe(200);
      record(reset.body);
      const resetAgain = await ts.api('POST', `/credentials/${created.body.clientId}/reset`, user.token, {}, { 'Idempotency-Key': resetKey });
      expect(resetAgain.status).toBe(200);
      expect(resetAgain.body.clientSecret).toBe(reset.body.clientSecret);
      expect((await ts.api('GET', '/me', token)).status).toBe(401);
      expect((await ts.tokenResponse(created.body.clientId, created.body.clientSecret)).status).toBe(401);
      const fresh = await ts.clientToken(reset.body.clientId, reset.body.clientSecret);
      expect((await ts.api('GET', '/notes', fresh)).status).toBe(200);

      // Failed requests: resetting the replaced pair, a body that names a secret, a second credential, then revoke.
      expectRefusal(answerOf(await ts.api('POST', `/credentials/${created.body.clientId}/reset`, user.token, {})), 404);
      expectRefusal(answerOf(await ts.api('POST', `/credentials/${reset.body.clientId}/reset`, user.token, { clientSecret: reset.body.clientSecret })), 400);
      const second: TestCredential = await ts.createCredential(user, ['read']);
      record(second);
      expectRefusal(answerOf(await ts.api('POST', '/credentials', user.token, {})), 409);
      expect((await ts.api('DELETE', `/credentials/${second.clientId}`, user.token)).status).toBe(204);
      expect((await ts.api('DELETE', `/credentials/${reset.body.clientId}`, user.token)).status).toBe(204);
      expect((await ts.tokenResponse(reset.body.clientId, reset.body.clientSecret)).status).toBe(401);
    }

    // Someone outside the developers group is refused before any workflow starts.
    expectRefusal(answerOf(await ts.api('POST', '/credentials', outsider.token, {})), 403);
    // The stack survives a restart with every (sealed) secret still usable.
    const last = await ts.createCredential(users[0] as TestUser);
    record(last);
    await ts.restart();
    expect((await ts.tokenResponse(last.clientId, last.clientSecret)).status).toBe(200);
    expect(pairs).toHaveLength(10);
  }, 90_000);

  it('finds no issued secret in files, output, events, executions or the table', async () => {
    // Act
    const hits = await ts.leakScan();

    // Assess
    expect(ts.secrets).toHaveLength(pairs.length);
    expect(hits).toEqual([]);
  });

  it('finds no secret in encoded form either (URL-encoded, base64, hex, HTTP Basic credentials)', async () => {
    // Prepare
    const places = await ts.leakPlaces();

    // Act
    const hits = pairs.flatMap(({ clientId, clientSecret }) =>
      encodings(clientId, clientSecret).flatMap((form) =>
        Object.entries(places)
          .filter(([, text]) => text.includes(form))
          .map(([where]) => ({ where, form: `${form.slice(0, 6)}…` })),
      ),
    );

    // Assess
    expect(hits).toEqual([]);
  });

  it('searches places that really hold the workload\'s traces', async () => {
    // Act
    const places = await ts.leakPlaces();
    const files = Object.keys(places).filter((p) => p.startsWith('file:'));

    // Assess: each place has content from the workload, so an empty scan is not an empty search.
    expect(places['executions']).toContain('CredentialReset');
    expect(places['table']).toContain(pairs[0]?.clientId);
    expect(places['output']).toContain('"message":"api request"');
    expect(files).toContain('file:cognito/state.json');
    expect(places['file:cognito/state.json']).toContain(pairs.at(-1)?.clientId);
    expect(files.some((f) => places[f]?.includes('CredentialRevoked'))).toBe(true);
  });

  it('reports a planted secret in every kind of place (positive control)', async () => {
    // Prepare: one fresh secret-shaped value, planted in a note (table), a log line (output), an execution's input
    // (executions) and an event (the archive file).
    const canary = randomBytes(32).toString('hex');
    ts.recordSecret(canary);
    const user = await ts.createUser('leak-canary');
    expect((await ts.api('POST', '/notes', user.token, { text: `planted ${canary}` })).status).toBe(201);
    process.stdout.write(`planted ${canary}\n`);
    const aws = localAwsConfig(ts.stack.endpoints);
    const sfn = new SFNClient(aws);
    const events = new EventBridgeClient(aws);
    try {
      await sfn.send(
        new StartExecutionCommand({
          stateMachineArn: ts.stack.endpoints.stateMachineArns[STATE_MACHINES.credential],
          input: JSON.stringify({ planted: canary }),
        }),
      );
      const put = await events.send(
        new PutEventsCommand({
          Entries: [{ EventBusName: ts.stack.endpoints.eventBusName, Source: 'leak.test', DetailType: 'Planted', Detail: JSON.stringify({ canary }) }],
        }),
      );
      expect(put.FailedEntryCount).toBe(0);

      // Act
      const hits = await ts.leakScan();

      // Assess
      const where = hits.filter((h) => h.secret === `${canary.slice(0, 4)}…`).map((h) => h.where);
      expect(where).toContain('table');
      expect(where).toContain('output');
      expect(where).toContain('executions');
      expect(where.some((w) => w.startsWith('file:'))).toBe(true);
      // Only the canary: the issued secrets are still nowhere.
      expect(hits.filter((h) => h.secret !== `${canary.slice(0, 4)}…`)).toEqual([]);
    } finally {
      sfn.destroy();
      events.destroy();
    }
  });
});
