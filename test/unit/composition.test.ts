/**
 * The production entry points: each module's `handler` builds its dependencies from the environment at the first
 * request (never at import) and works end to end over the SDK clients (mocked here).
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { PostConfirmationTriggerEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as announcements } from '../../lambdas/announcements/handler';
import { handler as credentials } from '../../lambdas/credentials/handler';
import { handler as notes } from '../../lambdas/notes/handler';
import { handler as postConfirmation } from '../../lambdas/post-confirmation/handler';
import { handler as profile } from '../../lambdas/profile/handler';
import { FUNCTIONS } from '../../lambdas/shared/contract/functions';
import { usernameKey } from '../../lambdas/shared/contract/table';
import { apiEvent, bodyOf, captureLogs, clientClaims, userClaims } from './support/api';
import { CredentialWorld, IDENTITY_TABLE, STATE_MACHINE_ARN, TOKEN_URL, USER_POOL_ID } from './support/credential-world';

const NOTES_TABLE = 'devaccess-notes';
let world: CredentialWorld;
const mockEvents = () => mockClient(EventBridgeClient);
let events: ReturnType<typeof mockEvents>;
const saved = { ...process.env };

function restoreEnv(values: NodeJS.ProcessEnv): void {
  for (const key of Object.keys(process.env)) delete process.env[key];
  Object.assign(process.env, values);
}

beforeAll(() => {
  world = new CredentialWorld();
  world.dynamo.tables.set(NOTES_TABLE, { def: { partition: 'userId', sort: 'noteId' }, items: new Map() });
  events = mockEvents();
  events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: '1' }] });
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    IDENTITY_TABLE_NAME: IDENTITY_TABLE,
    NOTES_TABLE_NAME: NOTES_TABLE,
    USER_POOL_ID,
    EVENT_BUS_NAME: 'devaccess-bus',
    CREDENTIAL_STATE_MACHINE_ARN: STATE_MACHINE_ARN,
    TOKEN_URL,
    WORKFLOW_WAIT_MS: '1000',
  });
  world.addUser('carol');
});

afterAll(() => {
  world.restore();
  events.restore();
  restoreEnv(saved);
});

describe('production handlers', () => {
  it('provision a user and serve them through every function', async () => {
    // Prepare: the sign-up confirmation provisions bob
    await postConfirmation({
      version: '1',
      region: 'us-east-1',
      userPoolId: USER_POOL_ID,
      userName: 'bob',
      triggerSource: 'PostConfirmation_ConfirmSignUp',
      callerContext: { awsSdkVersion: 'x', clientId: 'ui' },
      request: { userAttributes: {} },
      response: {},
    } as PostConfirmationTriggerEvent);
    const bobId = world.dynamo.item(IDENTITY_TABLE, usernameKey('bob'))?.['userId'];
    world.groups.set('bob', ['developers']);
    expect(typeof bobId).toBe('string');

    // Act + Assess: create a credential, then use it on the data routes
    const created = await credentials(apiEvent('createCredential', { claims: userClaims('bob'), body: { name: 'cli' } }));
    expect(created.statusCode).toBe(201);
    const { clientId } = bodyOf(created);
    const asClient = clientClaims(clientId);
    const me = await profile(apiEvent('getMe', { claims: asClient }));
    expect(bodyOf(me)).toMatchObject({ userId: bobId, via: 'client', clientId });
    const note = await notes(apiEvent('createNote', { claims: asClient, body: { text: 'hello' } }));
    expect(note.statusCode).toBe(201);
    const listed = await notes(apiEvent('listNotes', { claims: userClaims('bob') }));
    expect(bodyOf(listed).notes).toHaveLength(1);
    expect((await announcements(apiEvent('listAnnouncements', { claims: asClient }))).statusCode).toBe(200);

    // The revoked client is refused on the very next request
    expect((await credentials(apiEvent('revokeCredential', { claims: userClaims('bob'), pathParameters: { clientId } }))).statusCode).toBe(204);
    expect((await notes(apiEvent('listNotes', { claims: asClient }))).statusCode).toBe(401);
  });

});

describe('the configuration each function declares', () => {
  it.each([
    ['profile', 'getMe'],
    ['notes', 'listNotes'],
    ['announcements', 'listAnnouncements'],
    ['credentials', 'listCredentials'],
  ] as const)('is all the %s function needs to serve a request', async (name, routeId) => {
    // Prepare: an environment with exactly the keys FUNCTIONS declares (what the CDK stack sets), fresh modules
    const { vi } = await import('vitest');
    vi.resetModules();
    const full = { ...process.env };
    for (const key of Object.keys(process.env)) if (/_(NAME|ID|ARN|URL|MS)$/.test(key)) delete process.env[key];
    for (const key of FUNCTIONS[name].config) {
      const value = full[key];
      if (value !== undefined) process.env[key] = value; // optional keys keep their defaults
    }
    try {
      // Act
      const fresh = (await import(`../../lambdas/${FUNCTIONS[name].entry.replace(/\.ts$/, '')}`)) as { handler: typeof profile };
      const result = await fresh.handler(apiEvent(routeId, { claims: userClaims('carol') }));
      // Assess
      expect(result.statusCode).toBe(200);
    } finally {
      restoreEnv(full);
    }
  });
});

describe('a function missing its configuration', () => {
  it('answers an opaque 500 and logs which variable is missing', async () => {
    // Fresh modules, so the composition root runs again under the broken environment.
    const { vi } = await import('vitest');
    vi.resetModules();
    const table = process.env['NOTES_TABLE_NAME'];
    delete process.env['NOTES_TABLE_NAME'];
    // The fresh modules bring a fresh logger, which takes its level from the environment.
    process.env['POWERTOOLS_LOG_LEVEL'] = 'DEBUG';
    const logs = captureLogs();
    try {
      const fresh = await import('../../lambdas/notes/handler');
      const result = await fresh.handler(apiEvent('listNotes', { claims: userClaims('carol') }));
      expect(result.statusCode).toBe(500);
      expect(result.body).not.toContain('NOTES_TABLE_NAME');
    } finally {
      logs.stop();
      process.env['NOTES_TABLE_NAME'] = table;
      process.env['POWERTOOLS_LOG_LEVEL'] = 'SILENT';
    }
    expect(logs.lines().join('\n')).toContain('NOTES_TABLE_NAME');
  });
});
