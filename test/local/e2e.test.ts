/**
 * The whole story, end to end, against the local stack started in this process on a free port with a temporary
 * data directory: sign-up to API calls with both token kinds, reset, revoke, events, and a restart. Everything
 * goes through HTTP and the real AWS SDK, as a developer's program would.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AdminAddUserToGroupCommand, DescribeUserPoolClientCommand } from '@aws-sdk/client-cognito-identity-provider';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT_DETAIL_TYPES } from '../../lambdas/shared/contract/events';
import { GATEWAY_RESPONSES, gatewayResponseBody } from '../../lambdas/shared/contract/gateway-responses';
import { DEFAULT_CORS_ORIGINS, UI_CLIENT } from '../../lambdas/shared/contract/user-pool';
import { STATE_MACHINES } from '../../lambdas/shared/contract/names';
import { DataDirInUseError } from '../../infra/local/datadir';
import { startLocalStack } from '../../infra/local/stack';
import { type TestStack, localAwsConfig, startTestStack } from '../support/local-stack';

describe('the local stack, end to end', () => {
  let t: TestStack;
  let port: number;

  async function signUpAndConfirm(username: string): Promise<void> {
    const code = await t.signUpThroughOutbox(username);
    expect(code).toMatch(/^\d{6}$/);
  }

  async function joinDevelopers(username: string): Promise<void> {
    await t.cognito.send(
      new AdminAddUserToGroupCommand({
        UserPoolId: t.stack.endpoints.userPoolId,
        Username: username,
        GroupName: t.stack.endpoints.developersGroup,
      }),
    );
  }

  beforeAll(async () => {
    t = await startTestStack();
    port = t.stack.port;
  });

  afterAll(async () => {
    await t?.close();
  });

  // State shared by the steps of the story, in order.
  let aliceToken: string;
  let aliceUserId: string;
  let credential: { clientId: string; clientSecret: string };
  let oldClientToken: string;

  it('writes endpoints.json with every endpoint', () => {
    const written = JSON.parse(readFileSync(join(t.dataDir, 'endpoints.json'), 'utf8'));
    expect(written).toEqual(t.stack.endpoints);
    expect(written.apiUrl).toBe(`http://127.0.0.1:${port}/v1`);
    expect(written.stateMachineArns[STATE_MACHINES.credential]).toMatch(/^arn:aws:states:/);
    expect(written.issuer).toBe(`https://cognito-idp.us-east-1.amazonaws.com/${written.userPoolId}`);
  });

  it('provisions a user when they confirm their sign-up', async () => {
    await signUpAndConfirm('alice');
    const provisioned = t.archivedEvents().filter((e) => e['detail-type'] === 'UserProvisioned');
    expect(provisioned).toHaveLength(1);
    expect(provisioned[0]?.detail['username']).toBe('alice');
    aliceUserId = provisioned[0]?.detail['userId'];
    expect(aliceUserId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('serves /v1/me to a signed-in user with their internal user id', async () => {
    aliceToken = await t.signIn('alice');
    const me = await t.api('GET', '/me', aliceToken);
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ userId: aliceUserId, via: 'user', username: 'alice' });
  });

  it('creates the UI client UI_CLIENT describes, the one the CDK stack deploys', async () => {
    const { UserPoolClient: client } = await t.cognito.send(
      new DescribeUserPoolClientCommand({ UserPoolId: t.stack.endpoints.userPoolId, ClientId: t.stack.endpoints.uiClientId }),
    );
    const sorted = (v: unknown) => (Array.isArray(v) ? [...v].sort() : v);
    for (const [field, value] of Object.entries(UI_CLIENT)) {
      if (field === 'GenerateSecret') continue; // a request field: Describe shows it as the absence of a secret
      expect(sorted(client?.[field as keyof typeof client]), field).toEqual(sorted(value));
    }
    expect(client?.ClientSecret).toBeUndefined();
  });

  it('lets the browser front end on the default origin call the API (CORS)', async () => {
    // Prepare
    const origin = DEFAULT_CORS_ORIGINS[0] as string;

    // Act
    const preflight = await t.api('OPTIONS', '/notes', undefined, undefined, {
      Origin: origin,
      'Access-Control-Request-Method': 'POST',
      'Access-Control-Request-Headers': 'authorization',
    });
    const fromHandler = await t.api('GET', '/me', aliceToken, undefined, { Origin: origin });
    const fromGateway = await t.api('GET', '/me', undefined, undefined, { Origin: origin });
    const otherSite = await t.api('GET', '/me', aliceToken, undefined, { Origin: 'https://evil.example' });

    // Assess
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(origin);
    expect(preflight.headers.get('access-control-allow-headers')).toContain('Authorization');
    expect(fromHandler.status).toBe(200);
    expect(fromHandler.headers.get('access-control-allow-origin')).toBe(origin);
    expect(fromGateway.status).toBe(401);
    expect(fromGateway.headers.get('access-control-allow-origin')).toBe(origin);
    expect(otherSite.status).toBe(200);
    expect(otherSite.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers 413 for a body API Gateway takes (under 10 MB) but Lambda refuses (over 6 MB)', async () => {
    // Act
    const res = await t.api('POST', '/notes', aliceToken, { text: 'x'.repeat(7 * 1024 * 1024) });

    // Assess: the gateway's own 4xx body, not the handler's (the function never ran).
    expect(res.status).toBe(413);
    expect(JSON.parse(res.text)).toEqual(gatewayResponseBody(GATEWAY_RESPONSES.default4xx));
  });

  it('refuses to create a credential for a user outside the developers group', async () => {
    const res = await t.api('POST', '/credentials', aliceToken, {});
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('forbidden');
  });

  it('creates a credential once the user is a developer, and shows the secret once', async () => {
    await joinDevelopers('alice');
    const res = await t.api('POST', '/credentials', aliceToken, { name: 'ci script', scopes: ['read', 'write'] });
    expect(res.status).toBe(201);
    expect(res.body.clientId).toMatch(/^[a-z0-9]{26}$/);
    expect(typeof res.body.clientSecret).toBe('string');
    expect(res.body.tokenUrl).toBe(t.stack.endpoints.tokenUrl);
    credential = res.body;
    expect(t.secrets).toContain(credential.clientSecret);

    const list = await t.api('GET', '/credentials', aliceToken);
    expect(list.status).toBe(200);
    expect(list.body.credentials).toHaveLength(1);
    expect(JSON.stringify(list.body)).not.toContain(credential.clientSecret);
  });

  it('lets a program act as the user with a client-credentials token', async () => {
    const token = await t.tokenResponse(credential.clientId, credential.clientSecret);
    expect(token.status).toBe(200);
    expect(token.headers.get('cache-control')).toBe('no-store');
    oldClientToken = token.body.access_token;

    const me = await t.api('GET', '/me', oldClientToken);
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ userId: aliceUserId, via: 'client', clientId: credential.clientId });
  });

  it('scopes notes to the user, whichever token kind writes or reads them', async () => {
    const created = await t.api('POST', '/notes', oldClientToken, { text: 'from the script' });
    expect(created.status).toBe(201);
    const viaUser = await t.api('GET', `/notes/${created.body.id}`, aliceToken);
    expect(viaUser.status).toBe(200);
    expect(viaUser.body.text).toBe('from the script');
    const byUser = await t.api('POST', '/notes', aliceToken, { text: 'from the browser' });
    expect(byUser.status).toBe(201);
    const viaClient = await t.api('GET', '/notes', oldClientToken);
    expect(viaClient.body.notes.map((n: { text: string }) => n.text).sort()).toEqual([
      'from the browser',
      'from the script',
    ]);

    // Bob, with either kind of token, never sees alice's notes.
    await signUpAndConfirm('bob');
    await joinDevelopers('bob');
    const bobToken = await t.signIn('bob');
    const bobCredential = await t.api('POST', '/credentials', bobToken, { scopes: ['read'] });
    expect(bobCredential.status).toBe(201);
    const bobClient = await t.tokenResponse(bobCredential.body.clientId, bobCredential.body.clientSecret);
    for (const token of [bobToken, bobClient.body.access_token as string]) {
      const asBob = await t.api('GET', `/notes/${created.body.id}`, token);
      expect(asBob.status).toBe(404);
      const bobList = await t.api('GET', '/notes', token);
      expect(bobList.status).toBe(200);
      expect(bobList.body.notes).toEqual([]);
    }
  });

  it('refuses the old client at once after a reset, and accepts the new one', async () => {
    const reset = await t.api('POST', `/credentials/${credential.clientId}/reset`, aliceToken);
    expect(reset.status).toBe(200);
    expect(reset.body.previousClientId).toBe(credential.clientId);
    expect(reset.body.clientId).not.toBe(credential.clientId);

    // The old token is still a valid JWT; the mapping refuses it on the very next request.
    const old = await t.api('GET', '/me', oldClientToken);
    expect(old.status).toBe(401);
    const oldSecret = await t.tokenResponse(credential.clientId, credential.clientSecret);
    expect(oldSecret.status).toBe(401);
    expect(oldSecret.body.error).toBe('invalid_client');

    const fresh = await t.tokenResponse(reset.body.clientId, reset.body.clientSecret);
    const me = await t.api('GET', '/me', fresh.body.access_token);
    expect(me.status).toBe(200);
    expect(me.body.userId).toBe(aliceUserId);
    credential = reset.body;
    oldClientToken = fresh.body.access_token;
  });

  it('refuses a revoked client on the very next request', async () => {
    const revoked = await t.api('DELETE', `/credentials/${credential.clientId}`, aliceToken);
    expect(revoked.status).toBe(204);
    const after = await t.api('GET', '/me', oldClientToken);
    expect(after.status).toBe(401);
  });

  it('publishes the events in order, each valid against its schema', async () => {
    await t.stack.eventBridge.whenIdle();
    const events = t.archivedEvents();
    expect(events.map((e) => e['detail-type'])).toEqual([
      'UserProvisioned',
      'CredentialCreated',
      'UserProvisioned',
      'CredentialCreated',
      'CredentialReset',
      'CredentialRevoked',
    ]);
    const ajv = new Ajv2020({ strict: true, allErrors: true });
    addFormats(ajv);
    for (const type of EVENT_DETAIL_TYPES) {
      const schema = JSON.parse(
        readFileSync(new URL(`../../lambdas/shared/contract/schemas/${type}.schema.json`, import.meta.url), 'utf8'),
      );
      const validate = ajv.compile(schema);
      for (const event of events.filter((e) => e['detail-type'] === type)) {
        expect(validate(event.detail), JSON.stringify(validate.errors)).toBe(true);
      }
    }
    const reset = events.find((e) => e['detail-type'] === 'CredentialReset');
    expect(reset?.detail['userId']).toBe(aliceUserId);
    // The audit rule delivered every credential event to its log group.
    const audit = readFileSync(join(t.dataDir, 'logs', 'devaccess-credential-audit.jsonl'), 'utf8').trim().split('\n');
    expect(audit).toHaveLength(4);
  });

  /** Where each secret shows up among the places we produce; empty when none leaked. */
  async function secretLeaks(expectedExecutions: number): Promise<{ where: string; secret: string }[]> {
    const places = await t.leakPlaces();
    const sfn = new SFNClient(localAwsConfig(t.stack.endpoints));
    try {
      const executions = await sfn.send(
        new ListExecutionsCommand({ stateMachineArn: t.stack.endpoints.stateMachineArns[STATE_MACHINES.credential] }),
      );
      expect(executions.executions?.length).toBe(expectedExecutions);
    } finally {
      sfn.destroy();
    }
    expect(places['executions']).toContain('CredentialCreated'); // the histories were really read
    expect(places['output']).toContain('"service":"devaccess"'); // and so were the handlers' logs
    expect(places['file:events.jsonl']).toContain('CredentialRevoked'); // and the event archive
    return t.leakScan(places);
  }

  it('keeps every secret out of events, executions, logs and the table', async () => {
    expect(t.secrets).toHaveLength(3);
    expect(await secretLeaks(4)).toEqual([]);
  });

  it('refuses a second instance on the same data directory', async () => {
    await expect(startLocalStack({ port: 0, dataDir: t.dataDir, log: () => {} })).rejects.toBeInstanceOf(DataDirInUseError);
  });

  it('keeps users, credentials and notes across a restart', async () => {
    await t.restart();

    const token = await t.signIn('alice');
    const me = await t.api('GET', '/me', token);
    expect(me.body.userId).toBe(aliceUserId);
    const notes = await t.api('GET', '/notes', token);
    expect(notes.body.notes.map((n: { text: string }) => n.text).sort()).toEqual(['from the browser', 'from the script']);
    const creds = await t.api('GET', '/credentials', token);
    expect(creds.body.credentials.map((c: { status: string }) => c.status).sort()).toEqual(['revoked', 'revoked']);
    expect(t.archivedEvents()).toHaveLength(6);

    // And the restarted stack still runs the workflow, keeping the executions from before.
    const created = await t.api('POST', '/credentials', token, { scopes: ['read'] });
    expect(created.status).toBe(201);
    expect(t.secrets).toContain(created.body.clientSecret);
    expect(await secretLeaks(5)).toEqual([]);
  });
});
