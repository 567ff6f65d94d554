/**
 * The authorization matrix, generated from the route table against the whole local stack: a route added to
 * ROUTES gets its cases here without editing this file (a new path parameter needs a resource of user B below,
 * and the completeness check at the end fails until it has one).
 *
 * - BOLA: user A, with a user token and with a client token, against user B's real resources (a note, a
 *   credential): 404 for every route that names a resource, and no response ever carries B's data.
 * - Scopes: client tokens never reach credential management; a read-only credential never reaches a write route,
 *   a write-only credential never a read route (401 at the gateway, as API Gateway's scope check answers).
 * - The developers group: a user outside it (never in it, or removed since the token was issued) cannot create
 *   or reset a credential (403).
 * - Mass assignment: a body that tries to choose the user or widen scopes is 400 naming the field, and nothing at
 *   all is written (both tables and the pool's app clients are unchanged).
 */
import {
  AdminRemoveUserFromGroupCommand,
  ListUserPoolClientsCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { USER_ADMIN_SCOPE, fullScope } from '../../lambdas/shared/contract/names';
import { ROUTES, type RouteDef, pathParamNames } from '../../lambdas/shared/contract/routes';
import type { HttpResult, TestCredential, TestStack, TestUser } from '../support/local-stack';
import { answerOf, claimsOf, expectRefusal, gatewayLogOf, snapshotTables, startSecurityStack } from './support/stack';

const label = (r: RouteDef) => `${r.method} ${r.path}`;
const PROTECTED = ROUTES.filter((r) => r.access !== 'public');
const PUBLIC = ROUTES.filter((r) => r.access === 'public');
const MANAGE = ROUTES.filter((r) => r.access === 'manage');
const READ = ROUTES.filter((r) => r.access === 'read');
const WRITE = ROUTES.filter((r) => r.access === 'write');
const WITH_BODY = ROUTES.filter((r) => r.body);
/** Credential-management routes that issue a new pair (create, reset): the developers-group rule applies. */
const ISSUING = MANAGE.filter((r) => r.body);

/**
 * A valid body per route, so a request refused for an injected field would otherwise have succeeded. A new body
 * route without an entry still gets every case, with `{}` as its base and the field-name assertion relaxed.
 */
const VALID_BODIES: Readonly<Record<string, Record<string, unknown>>> = {
  createNote: { text: 'a note of A' },
  createCredential: { name: 'matrix', scopes: ['read'] },
  resetCredential: {},
};

/** What a body may try to set that the caller must not choose. */
const INJECTIONS: ReadonlyArray<readonly [string, (b: { userId: string }) => Record<string, unknown>]> = [
  ['userId', (b) => ({ userId: b.userId })],
  ['owner', (b) => ({ owner: b.userId })],
  ['sub', (b) => ({ sub: b.userId })],
  ['username', () => ({ username: 'authz-b' })],
  ['clientId', () => ({ clientId: 'a'.repeat(26) })],
  ['scopes', () => ({ scopes: ['admin'] })],
  ['scopes', () => ({ scopes: ['devaccess/admin'] })],
  ['scopes', () => ({ scopes: [fullScope('read')] })],
  ['scopes', () => ({ scopes: [USER_ADMIN_SCOPE] })],
  ['scopes', () => ({ scopes: ['read', 'admin'] })],
  ['scopes', () => ({ scopes: 'read write' })],
];

type TokenKind = 'user' | 'client';
const CREDENTIAL_KINDS = { client: 'read-write', readOnly: 'read-only', writeOnly: 'write-only' } as const;

describe('category: authorization', () => {
  let ts: TestStack;
  let a: TestUser;
  let b: TestUser;
  let aReadWrite: TestCredential;
  let aReadOnly: TestCredential;
  let aWriteOnly: TestCredential;
  let bCredential: TestCredential;
  const tokens = { user: '', client: '', readOnly: '', writeOnly: '', bClient: '' };
  /** B's resources by path parameter name. */
  const bResources: Record<string, string> = {};
  /** Strings that are B's and must never appear in a response to A. */
  const bMarkers: string[] = [];
  const exercised = new Set<string>();

  beforeAll(async () => {
    ts = await startSecurityStack({ maxCredentialsPerUser: 10 });
    a = await ts.createUser('authz-a', { developer: true });
    b = await ts.createUser('authz-b', { developer: true });
    aReadWrite = await ts.createCredential(a, ['read', 'write']);
    aReadOnly = await ts.createCredential(a, ['read']);
    aWriteOnly = await ts.createCredential(a, ['write']);
    bCredential = await ts.createCredential(b, ['read', 'write']);
    tokens.user = a.token;
    tokens.client = await ts.clientToken(aReadWrite.clientId, aReadWrite.clientSecret);
    tokens.readOnly = await ts.clientToken(aReadOnly.clientId, aReadOnly.clientSecret);
    tokens.writeOnly = await ts.clientToken(aWriteOnly.clientId, aWriteOnly.clientSecret);
    tokens.bClient = await ts.clientToken(bCredential.clientId, bCredential.clientSecret);
    const note = await ts.api('POST', '/notes', b.token, { text: 'B\'s private note' });
    expect(note.status).toBe(201);
    bResources['id'] = note.body.id;
    bResources['clientId'] = bCredential.clientId;
    bMarkers.push(b.userId, b.username, note.body.id, 'B\'s private note', bCredential.clientId, bCredential.clientSecret);
  });

  afterAll(async () => {
    await ts?.close();
  });

  function pathFor(route: RouteDef, params: Record<string, string>): string {
    let path = route.path;
    for (const name of pathParamNames(route.path)) {
      const value = params[name];
      if (value === undefined) throw new Error(`No resource of user B for path parameter '${name}' of ${label(route)}: add one`);
      path = path.replace(`{${name}}`, value);
    }
    return path;
  }

  function request(route: RouteDef, token: string | undefined, body?: unknown, params = bResources): Promise<HttpResult> {
    exercised.add(route.id);
    const payload = body !== undefined ? body : route.body ? (VALID_BODIES[route.id] ?? {}) : undefined;
    return ts.api(route.method, pathFor(route, params), token, payload);
  }

  function expectNoDataOfB(res: HttpResult): void {
    for (const marker of bMarkers) expect(res.text, `response carries B's ${marker.slice(0, 8)}…`).not.toContain(marker);
  }

  /** Refused by the gateway's authorizer (401, logged reason): the handler never ran. */
  function expectGatewayRefusal(res: HttpResult): void {
    expectRefusal(answerOf(res), 401);
    expect(gatewayLogOf(ts, res.headers.get('x-amzn-requestid'))?.['reason']).toEqual(expect.any(String));
  }

  /** Everything a request could have written: both tables and the pool's app clients. */
  async function everything(): Promise<string> {
    const clients: string[] = [];
    let NextToken: string | undefined;
    do {
      const page = await ts.cognito.send(
        new ListUserPoolClientsCommand({ UserPoolId: ts.stack.endpoints.userPoolId, MaxResults: 60, NextToken }),
      );
      clients.push(...(page.UserPoolClients ?? []).map((c) => c.ClientId as string));
      NextToken = page.NextToken;
    } while (NextToken);
    return `${await snapshotTables(ts)}\n${clients.sort().join(',')}`;
  }

  describe('BOLA: user A against user B\'s resources, on every route', () => {
    const cases = PROTECTED.flatMap((route) => (['user', 'client'] as TokenKind[]).map((kind) => [label(route), kind, route] as const));

    it.each(cases)('%s with A\'s %s token: never B\'s data', async (_label, kind, route) => {
      // Act
      const res = await request(route, tokens[kind]);

      // Assess
      expectNoDataOfB(res);
      expect(res.status).toBeLessThan(500);
      if (route.access === 'manage' && kind === 'client') {
        expectGatewayRefusal(res);
      } else if (pathParamNames(route.path).length > 0) {
        expect(expectRefusal(answerOf(res), 404)['error']).toMatchObject({ code: 'not_found' });
      } else if (!route.body || VALID_BODIES[route.id]) {
        expect(res.status).toBe(route.status);
      } else {
        expect([401, 403]).not.toContain(res.status);
      }
    });

    it.each(PUBLIC.map((r) => [label(r), r] as const))('%s answers anyone the same, with no user data', async (_label, route) => {
      // Act
      const anonymous = await request(route, undefined);
      const asA = await request(route, tokens.user);
      const asClient = await request(route, tokens.client);

      // Assess
      for (const res of [anonymous, asA, asClient]) {
        expect(res.status).toBe(route.status);
        expectNoDataOfB(res);
      }
      expect(asA.text).toBe(anonymous.text);
    });

    it('resolves A\'s every token kind to A, and B\'s client token to B', async () => {
      // Act
      const me = await Promise.all([tokens.user, tokens.client, tokens.readOnly, tokens.bClient].map((t) => ts.api('GET', '/me', t)));

      // Assess
      expect(me.map((m) => m.body.userId)).toEqual([a.userId, a.userId, a.userId, b.userId]);
    });

    it('leaves every resource of B as it was', async () => {
      // Act
      const note = await ts.api('GET', `/notes/${bResources['id']}`, b.token);
      const credentials = await ts.api('GET', '/credentials', b.token);
      const me = await ts.api('GET', '/me', tokens.bClient);

      // Assess
      expect(note.status).toBe(200);
      expect(note.body.text).toBe('B\'s private note');
      expect(credentials.body.credentials).toEqual([expect.objectContaining({ clientId: bCredential.clientId, status: 'active' })]);
      expect(me.body).toMatchObject({ userId: b.userId, via: 'client', clientId: bCredential.clientId });
    });
  });

  describe('scopes', () => {
    it.each(PROTECTED.map((r) => [label(r), r] as const))('%s refuses a request without a token', async (_label, route) => {
      // Act
      const res = await request(route, undefined);

      // Assess
      expectGatewayRefusal(res);
    });

    it.each(
      MANAGE.flatMap((r) =>
        (['client', 'readOnly', 'writeOnly'] as const).map((kind) => [label(r), CREDENTIAL_KINDS[kind], kind, r] as const),
      ),
    )('%s refuses a client token of A\'s %s credential at the gateway', async (_label, _kind, kind, route) => {
      // Prepare
      const before = await everything();

      // Act
      const res = await request(route, tokens[kind], undefined, { ...bResources, clientId: aReadWrite.clientId });

      // Assess: A's own credential, so only the token kind stands in the way.
      expectGatewayRefusal(res);
      expect(await everything()).toBe(before);
    });

    it.each(WRITE.map((r) => [label(r), r] as const))('%s refuses a read-only credential', async (_label, route) => {
      // Prepare
      const before = await everything();

      // Act
      const res = await request(route, tokens.readOnly);

      // Assess
      expectGatewayRefusal(res);
      expect(await everything()).toBe(before);
    });

    it.each(READ.map((r) => [label(r), r] as const))('%s refuses a write-only credential', async (_label, route) => {
      // Act
      const res = await request(route, tokens.writeOnly);

      // Assess
      expectGatewayRefusal(res);
    });

    it.each([
      ...READ.map((r) => [label(r), CREDENTIAL_KINDS.readOnly, 'readOnly', r] as const),
      ...WRITE.map((r) => [label(r), CREDENTIAL_KINDS.writeOnly, 'writeOnly', r] as const),
    ])('%s lets a %s credential through to the handler (control)', async (_label, _kind, kind, route) => {
      // Act
      const res = await request(route, tokens[kind]);

      // Assess: the handler answered (B's resources: 404 where the route names one), not the authorizer.
      expect([401, 403]).not.toContain(res.status);
      expect(res.status).toBeLessThan(500);
      expect(gatewayLogOf(ts, res.headers.get('x-amzn-requestid'))?.['reason']).toBeUndefined();
      expectNoDataOfB(res);
    });
  });

  describe('the developers group', () => {
    let outsider: TestUser;
    let removed: TestUser;
    let removedCredential: TestCredential;

    beforeAll(async () => {
      outsider = await ts.createUser('authz-c');
      removed = await ts.createUser('authz-e', { developer: true });
      removedCredential = await ts.createCredential(removed, ['read']);
      await ts.cognito.send(
        new AdminRemoveUserFromGroupCommand({
          UserPoolId: ts.stack.endpoints.userPoolId,
          Username: removed.username,
          GroupName: ts.stack.endpoints.developersGroup,
        }),
      );
    });

    it.each(ISSUING.map((r) => [label(r), r] as const))('%s refuses a user who was never a developer with 403', async (_label, route) => {
      // Prepare: the outsider owns no credential; the group is checked before any lookup of the one named.
      const before = await everything();

      // Act
      const res = await request(route, outsider.token, undefined, { ...bResources, clientId: removedCredential.clientId });

      // Assess
      expect(expectRefusal(answerOf(res), 403)['error']).toMatchObject({ code: 'forbidden' });
      expect(await everything()).toBe(before);
    });

    it.each(ISSUING.map((r) => [label(r), r] as const))(
      '%s refuses a user removed from the group since their token was issued, with 403',
      async (_label, route) => {
        // Prepare: the token still lists the group; membership is checked live.
        const before = await everything();

        // Act
        const res = await request(route, removed.token, undefined, { ...bResources, clientId: removedCredential.clientId });

        // Assess
        expect(claimsOf(removed.token)['cognito:groups']).toContain(ts.stack.endpoints.developersGroup);
        expect(expectRefusal(answerOf(res), 403)['error']).toMatchObject({ code: 'forbidden' });
        expect(await everything()).toBe(before);
      },
    );

    it('still lets a removed user revoke their own credential', async () => {
      // Act
      const res = await ts.api('DELETE', `/credentials/${removedCredential.clientId}`, removed.token);

      // Assess
      expect(res.status).toBe(204);
      expect((await ts.tokenResponse(removedCredential.clientId, removedCredential.clientSecret)).status).toBe(401);
    });
  });

  describe('bodies that try to choose the user or widen scopes', () => {
    const cases = WITH_BODY.flatMap((route) =>
      (route.access === 'manage' ? (['user'] as TokenKind[]) : (['user', 'client'] as TokenKind[])).flatMap((kind) =>
        INJECTIONS.map(([field, inject]) => [label(route), kind, JSON.stringify(inject({ userId: '<B>' })), route, field, inject] as const),
      ),
    );

    it.each(cases)('%s with A\'s %s token refuses %s with 400 naming the field, writing nothing', async (_l, kind, _b, route, field, inject) => {
      // Prepare: otherwise valid, on A's own credential, so without the injected field it would succeed.
      const before = await everything();
      const body = { ...(VALID_BODIES[route.id] ?? {}), ...inject({ userId: b.userId }) };

      // Act
      const res = await request(route, tokens[kind], body, { ...bResources, clientId: aReadWrite.clientId });

      // Assess
      const error = expectRefusal(answerOf(res), 400)['error'] as { field?: string };
      if (VALID_BODIES[route.id]) expect(error.field).toMatch(new RegExp(`^body\\.${field}(\\.|$)`));
      expect(await everything()).toBe(before);
      expectNoDataOfB(res);
    });

    it.each(WITH_BODY.map((r) => [label(r), r] as const))('%s refuses a __proto__ member, writing nothing', async (_label, route) => {
      // Prepare
      const before = await everything();
      const base = JSON.stringify(VALID_BODIES[route.id] ?? {});
      const raw = `{"__proto__":{"userId":"${b.userId}","scopes":["admin"]}${base === '{}' ? '}' : `,${base.slice(1)}`}`;

      // Act
      const res = await request(route, tokens.user, raw, { ...bResources, clientId: aReadWrite.clientId });

      // Assess
      expectRefusal(answerOf(res), 400);
      expect(await everything()).toBe(before);
    });

    it('keeps A\'s credential intact through every refused reset', async () => {
      // Act
      const list = await ts.api('GET', '/credentials', a.token);
      const me = await ts.api('GET', '/me', tokens.client);

      // Assess
      expect(list.body.credentials).toContainEqual(expect.objectContaining({ clientId: aReadWrite.clientId, status: 'active', scopes: ['read', 'write'] }));
      expect(me.body.userId).toBe(a.userId);
    });
  });

  it('has exercised every route in the route table', () => {
    // Assess
    expect([...exercised].sort()).toEqual(ROUTES.map((r) => r.id).sort());
  });
});
