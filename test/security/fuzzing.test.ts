/**
 * Fuzzing (issue 4, item 8): property tests with fast-check on request bodies, path ids, headers and claims for every
 * route of the route table, in two layers.
 *
 * 1. The handler edge, in process: API-Gateway-shaped proxy events go to the real handler modules (their
 *    `create*Handler` factories, which the deployed `handler` exports wrap) over the in-memory AWS fakes of
 *    test/unit/support (DynamoDB, the user pool, a model of the credential workflow). Many runs.
 * 2. The local stack over HTTP: the same kind of requests, plus Authorization variants, duplicated and long headers
 *    and raw path segments, against the gateway and the deployed handlers with real tokens. Fewer runs.
 *
 * After every request: never a 5xx; a 4xx carries `{ error: { code, message } }` with a known code whose status is
 * the one answered; a refused caller is refused before anything else happens. And the stores hold exactly what the
 * successful calls wrote: the handler edge compares the stores before and after each request; the HTTP layer
 * compares a scan before and after each route's runs with a model built from the 2xx answers, and checks I1-I4.
 *
 * Seeds are fixed (fast-check prints the seed and path of a failure); FUZZ_SEED and FUZZ_RUNS_SCALE override them
 * for a longer exploration, e.g. `FUZZ_RUNS_SCALE=20 npx vitest run test/security/fuzzing.test.ts`.
 */
import { createHash, randomUUID } from 'node:crypto';
import { ListUserPoolClientsCommand } from '@aws-sdk/client-cognito-identity-provider';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createAnnouncementsHandler } from '../../lambdas/announcements/handler';
import { createCredentialsHandler } from '../../lambdas/credentials/handler';
import { createNotesHandler } from '../../lambdas/notes/handler';
import { DynamoNotesStore } from '../../lambdas/notes/store';
import { createOpenApiHandler } from '../../lambdas/openapi/handler';
import { createProfileHandler } from '../../lambdas/profile/handler';
import { API_STAGE, USER_ADMIN_SCOPE, fullScope } from '../../lambdas/shared/contract/names';
import {
  type ApiHandlerName,
  ROUTES,
  type RouteDef,
  pathParamNames,
  routeScopes,
  stagePath,
} from '../../lambdas/shared/contract/routes';
import { CRED_SK_PREFIX, SWEEP_PK_PREFIX, clientKey, credentialKey, userKey } from '../../lambdas/shared/contract/table';
import { ERROR_STATUS } from '../../lambdas/shared/errors';
import type { ProxyHandler } from '../../lambdas/shared/http';
import { createRouter } from '../../infra/local/gateway/routing';
import { send } from '../local/gateway-fixture';
import { checkInvariants } from '../support/invariants';
import { type TestStack, type TestUser, localAwsConfig, startTestStack } from '../support/local-stack';
import { apiEvent, clientClaims, userClaims } from '../unit/support/api';
import { CredentialWorld, IDENTITY_TABLE } from '../unit/support/credential-world';
import {
  type EncodedBody,
  type EntryMutation,
  type Entries,
  anyJson,
  anyText,
  bodyText,
  contentType,
  contentTypeName,
  encodedBody,
  entryMutation,
  extraHeaders,
  idempotencyKey,
  jsonContentType,
  mutateEntries,
  nearValidBodyText,
  objectText,
  pathValue,
  percentEncode,
  rawPathSegment,
  VALID_BODIES,
  validBody,
  wireHeaderName,
  wireHeaderValue,
} from './support/arbitraries';

// The token endpoint is on the Cognito domain; the document names it absolutely.
const openApiHandler = createOpenApiHandler(() => 'https://devaccess.auth.us-east-1.amazoncognito.com/oauth2/token');

const SEED = Number(process.env['FUZZ_SEED'] ?? 20261204);
const RUNS_SCALE = Number(process.env['FUZZ_RUNS_SCALE'] ?? 1);
/** Runs per route at the handler edge. */
const EDGE_RUNS = Math.round(250 * RUNS_SCALE);
/** Runs per route family (the routes one function serves) over HTTP, shared among its routes. */
const HTTP_RUNS_PER_FAMILY = Math.round(150 * RUNS_SCALE);

/** A fixed seed per route and layer, so a failure replays alone and adding a route does not reshuffle the others. */
function seedFor(layer: string, routeId: string): number {
  return (SEED ^ createHash('sha256').update(`${layer}:${routeId}`).digest().readInt32BE(0)) | 0;
}

/** How many routes each function serves: the HTTP runs of a family are shared among its routes. */
const FAMILY_SIZE = new Map<ApiHandlerName, number>();
for (const r of ROUTES) FAMILY_SIZE.set(r.handler, (FAMILY_SIZE.get(r.handler) ?? 0) + 1);
const httpRuns = (route: RouteDef) => Math.ceil(HTTP_RUNS_PER_FAMILY / (FAMILY_SIZE.get(route.handler) ?? 1));
const isSuccess = (status: number) => status >= 200 && status < 300;

// ---------------------------------------------------------------------------------------------------------------
// The response contract, common to both layers.

const ErrorBodySchema = z.strictObject({
  error: z.strictObject({
    code: z.enum(Object.keys(ERROR_STATUS) as [keyof typeof ERROR_STATUS, ...(keyof typeof ERROR_STATUS)[]]),
    message: z.string().min(1),
    field: z.string().optional(),
  }),
});

/** Never a 5xx; a 4xx is a JSON error body with a known code of exactly that status; a 2xx body is JSON. */
function expectResponseContract(status: number, text: string | undefined, contentTypeHeader: string | undefined): unknown {
  expect(status, text?.slice(0, 300)).toBeLessThan(500);
  if (text === undefined) return undefined;
  if (status >= 400) {
    expect(contentTypeHeader, `${status} ${text.slice(0, 300)}`).toMatch(/^application\/json/);
    const parsed = ErrorBodySchema.safeParse(JSON.parse(text));
    expect(parsed.success, `error body ${text.slice(0, 300)}`).toBe(true);
    if (parsed.success) expect(ERROR_STATUS[parsed.data.error.code]).toBe(status);
    return parsed.data;
  }
  if (status === 204) {
    expect(text).toBe('');
    return undefined;
  }
  expect(contentTypeHeader).toMatch(/^application\/json/);
  return JSON.parse(text) as unknown;
}

/** Status statistics per route, so each property can show it reached both success and refusal (is not vacuous). */
class Coverage {
  private readonly seen = new Map<string, Set<number>>();
  record(routeId: string, status: number): void {
    const set = this.seen.get(routeId) ?? new Set<number>();
    set.add(status);
    this.seen.set(routeId, set);
  }
  statuses(routeId: string): number[] {
    return [...(this.seen.get(routeId) ?? [])].sort();
  }
}

function expectReachedSuccessAndRefusal(coverage: Coverage, route: RouteDef): void {
  const statuses = coverage.statuses(route.id);
  expect(statuses, `${route.id} never succeeded`).toContain(route.status);
  expect(statuses.some((s) => s >= 400), `${route.id} never refused`).toBe(true);
  if (route.access !== 'public') expect(statuses, `${route.id} never refused a caller`).toContain(401);
  if (route.body || pathParamNames(route.path).length > 0) expect(statuses, `${route.id} never refused input`).toContain(400);
}

type Person = 'alice' | 'bob' | 'mallory';
/** Path ids by reference: alice's own (existing), bob's, or one of alice's that is revoked or deleted. */
type PathRef = 'own' | 'other' | 'gone';

describe('category: fuzzing', () => {
  // =============================================================================================================
  describe('at the handler edge (in process, over the in-memory AWS fakes)', () => {
    const NOTES_TABLE = 'devaccess-notes';
    const CAP = 10;
    let world: CredentialWorld;
    let handlers: Record<ApiHandlerName, ProxyHandler>;
    const people = {} as Record<Person, string>;
    const deletedNotes: string[] = [];
    const coverage = new Coverage();

    function seedNote(userId: string): string {
      const noteId = randomUUID();
      world.dynamo.seed(NOTES_TABLE, { userId, noteId, text: 'seeded', createdAt: '2026-11-30T00:00:00.000Z' });
      return noteId;
    }

    beforeAll(() => {
      world = new CredentialWorld();
      world.maxCredentials = CAP;
      world.dynamo.tables.set(NOTES_TABLE, { def: { partition: 'userId', sort: 'noteId' }, items: new Map() });
      people.alice = world.addUser('alice');
      people.bob = world.addUser('bob');
      people.mallory = world.addUser('mallory', { groups: ['beta'] });
      world.addCredential(people.alice, { name: 'ci' });
      world.addCredential(people.alice, { name: 'reader', scopes: [fullScope('read')] });
      world.addCredential(people.alice, { name: 'old', status: 'revoked' });
      world.addCredential(people.bob, { name: 'bob-ci' });
      for (let i = 0; i < 3; i++) seedNote(people.alice);
      for (let i = 0; i < 2; i++) seedNote(people.bob);

      const deps = world.deps();
      const notesDeps = {
        notes: new DynamoNotesStore(world.dynamo.client(), NOTES_TABLE),
        clock: world.clock,
        newId: randomUUID,
      };
      // Typed by ApiHandlerName: a new function in the route table does not compile until it is fuzzed here too.
      handlers = {
        credentials: createCredentialsHandler(() => deps, () => deps.store),
        profile: createProfileHandler(() => deps.store),
        notes: createNotesHandler(() => notesDeps, () => deps.store),
        announcements: createAnnouncementsHandler(() => deps.store),
        openapi: openApiHandler,
      };
    });

    afterAll(() => {
      world?.restore();
    });

    // --- the world, read directly ------------------------------------------------------------------------------

    interface Cred {
      readonly clientId: string;
      readonly userId: string;
      readonly status: string;
      readonly scopes: readonly string[];
    }

    function creds(): Cred[] {
      return world.dynamo
        .all(IDENTITY_TABLE)
        .filter((i) => String(i['sk']).startsWith(CRED_SK_PREFIX))
        .map((i) => ({
          clientId: String(i['clientId']),
          userId: String(i['userId']),
          status: String(i['status']),
          scopes: (i['scopes'] as string[] | undefined) ?? [],
        }));
    }

    function notesOf(userId: string): string[] {
      return world.dynamo
        .all(NOTES_TABLE)
        .filter((n) => n['userId'] === userId)
        .map((n) => String(n['noteId']));
    }

    /** An active credential of alice's; one is seeded when she has none left, so references stay meaningful. */
    function aliceActive(pick: number): Cred {
      let active = creds().filter((c) => c.userId === people.alice && c.status === 'active');
      if (active.length === 0) {
        world.addCredential(people.alice, { name: 'reseeded' });
        active = creds().filter((c) => c.userId === people.alice && c.status === 'active');
      }
      return active[pick % active.length] as Cred;
    }

    // --- claims -------------------------------------------------------------------------------------------------

    type ClaimsSpec =
      | { readonly kind: 'user'; readonly who: Person }
      | { readonly kind: 'client'; readonly pick: number; readonly scope: 'granted' | 'read' | 'write' | 'none' }
      | { readonly kind: 'revokedClient' }
      | { readonly kind: 'unknownUser'; readonly username: string }
      | { readonly kind: 'unknownClient'; readonly clientId: string }
      | { readonly kind: 'idToken' }
      | { readonly kind: 'userIdAsClientId' }
      | { readonly kind: 'none' }
      | { readonly kind: 'mutated'; readonly base: 'user' | 'client'; readonly mutation: EntryMutation }
      | { readonly kind: 'garbage'; readonly entries: Entries };

    const CLAIM_NAMES = ['sub', 'token_use', 'scope', 'username', 'client_id', 'iss', 'cognito:groups', 'aud', 'exp'];

    const claimsSpec: fc.Arbitrary<ClaimsSpec> = fc.oneof(
      {
        arbitrary: fc.record({
          kind: fc.constant('user' as const),
          who: fc.constantFrom<Person>('alice', 'alice', 'bob', 'mallory'),
        }),
        weight: 8,
      },
      {
        arbitrary: fc.record({
          kind: fc.constant('client' as const),
          pick: fc.nat(),
          scope: fc.constantFrom('granted' as const, 'granted' as const, 'read' as const, 'write' as const, 'none' as const),
        }),
        weight: 6,
      },
      { arbitrary: fc.constant({ kind: 'revokedClient' as const }), weight: 1 },
      {
        arbitrary: fc.record({
          kind: fc.constant('unknownUser' as const),
          username: fc.oneof(fc.constantFrom('nobody', 'Alice', 'alice '), anyText),
        }),
        weight: 1,
      },
      {
        arbitrary: fc.record({
          kind: fc.constant('unknownClient' as const),
          clientId: fc.oneof(fc.stringMatching(/^[a-z0-9]{26}$/), anyText),
        }),
        weight: 1,
      },
      { arbitrary: fc.constant({ kind: 'idToken' as const }), weight: 1 },
      { arbitrary: fc.constant({ kind: 'userIdAsClientId' as const }), weight: 1 },
      { arbitrary: fc.constant({ kind: 'none' as const }), weight: 1 },
      {
        arbitrary: fc.record({
          kind: fc.constant('mutated' as const),
          base: fc.constantFrom('user' as const, 'client' as const),
          mutation: entryMutation,
        }),
        weight: 3,
      },
      {
        arbitrary: fc.record({
          kind: fc.constant('garbage' as const),
          entries: fc.array(fc.tuple(fc.oneof(fc.constantFrom(...CLAIM_NAMES), anyText), anyJson), { maxLength: 6 }),
        }),
        weight: 1,
      },
    );

    function claimsFor(spec: ClaimsSpec): Record<string, unknown> | null {
      switch (spec.kind) {
        case 'user':
          return userClaims(spec.who);
        case 'client': {
          const cred = aliceActive(spec.pick);
          const scope =
            spec.scope === 'granted' ? cred.scopes.join(' ') : spec.scope === 'none' ? '' : fullScope(spec.scope);
          return clientClaims(cred.clientId, scope);
        }
        case 'revokedClient': {
          const revoked = creds().find((c) => c.status === 'revoked');
          return clientClaims(revoked?.clientId ?? 'neverissued00000000000000a');
        }
        case 'unknownUser':
          return userClaims(spec.username);
        case 'unknownClient':
          return clientClaims(spec.clientId);
        case 'idToken':
          return userClaims('alice', `openid ${USER_ADMIN_SCOPE}`, { token_use: 'id' });
        case 'userIdAsClientId':
          // A client-credentials token whose client_id is a real user's id (and sub): no crossover into that user.
          return clientClaims(people.alice);
        case 'none':
          return null;
        case 'mutated': {
          const base = spec.base === 'user' ? userClaims('alice') : clientClaims(aliceActive(0).clientId);
          return Object.fromEntries(mutateEntries(Object.entries(base), spec.mutation));
        }
        case 'garbage':
          return Object.fromEntries(spec.entries);
      }
    }

    /**
     * Who the caller must be taken for, from DESIGN.md's resolver rules (not from the implementation): an access
     * token with one of the route's scopes; a username names the user; otherwise an active mapped client names its
     * user, except on credential-management routes. `undefined`: the caller must be refused (401/403).
     */
    function principalOf(claims: Record<string, unknown> | null, route: RouteDef): string | undefined {
      if (!claims || claims['token_use'] !== 'access') return undefined;
      const raw = claims['scope'];
      const scopes = Array.isArray(raw)
        ? raw.filter((s) => typeof s === 'string')
        : typeof raw === 'string'
          ? raw.split(/\s+/)
          : [];
      if (!scopes.some((s) => routeScopes(route.access).includes(s))) return undefined;
      const username = claims['username'];
      if (typeof username === 'string' && username.length > 0) {
        const found = Object.entries(people).find(([name]) => name === username);
        return found?.[1];
      }
      const clientId = claims['client_id'];
      if (route.access === 'manage' || typeof clientId !== 'string' || clientId.length === 0) return undefined;
      const cred = creds().find((c) => c.clientId === clientId);
      return cred?.status === 'active' ? cred.userId : undefined;
    }

    // --- path ids -----------------------------------------------------------------------------------------------

    /** A literal value, or a reference to something that exists (alice's, bob's) or existed (revoked, deleted). */
    type PathSpec = { readonly literal: string } | { readonly ref: PathRef; readonly pick: number };

    const pathSpec = (name: string): fc.Arbitrary<PathSpec> =>
      fc.oneof(
        { arbitrary: pathValue(name).map((literal) => ({ literal })), weight: 3 },
        { arbitrary: fc.record({ ref: fc.constantFrom<PathRef>('own', 'other', 'gone'), pick: fc.nat() }), weight: 2 },
      );

    function resolvePath(name: string, spec: PathSpec): string {
      if ('literal' in spec) return spec.literal;
      const pick = <T>(list: readonly T[]): T | undefined => list[spec.pick % Math.max(list.length, 1)];
      if (name === 'clientId') {
        if (spec.ref === 'own') return aliceActive(spec.pick).clientId;
        const list = creds().filter((c) =>
          spec.ref === 'other'
            ? c.userId === people.bob && c.status === 'active'
            : c.userId === people.alice && c.status === 'revoked',
        );
        return pick(list)?.clientId ?? 'neverissued00000000000000a';
      }
      if (name === 'id') {
        if (spec.ref === 'gone') return pick(deletedNotes) ?? randomUUID();
        const owner = spec.ref === 'own' ? people.alice : people.bob;
        const notes = notesOf(owner);
        return pick(notes) ?? seedNote(owner);
      }
      throw new Error(`No reference resolver for path parameter ${name}: add one`);
    }

    // --- requests -----------------------------------------------------------------------------------------------

    type Envelope = 'asIs' | 'nullHeaders' | 'nullPathParameters' | 'extraPathParameter' | 'otherMethod' | 'foreignRoute';

    interface EdgeRequest {
      readonly claims: ClaimsSpec;
      readonly path: Readonly<Record<string, PathSpec>>;
      readonly body: EncodedBody;
      readonly contentType: readonly [string, string] | undefined;
      readonly idempotencyKey: string | undefined;
      readonly extraHeaders: Readonly<Record<string, string>>;
      readonly envelope: Envelope;
      readonly otherMethod: string;
    }

    /** Two thirds chaos, one third a well-behaved client's request one mistake away from valid (so writes happen). */
    function edgeRequest(route: RouteDef): fc.Arbitrary<EdgeRequest> {
      const params = pathParamNames(route.path);
      const paths = (spec: (name: string) => fc.Arbitrary<PathSpec>) =>
        fc.record(Object.fromEntries(params.map((p) => [p, spec(p)]))) as fc.Arbitrary<Record<string, PathSpec>>;
      const focused: fc.Arbitrary<EdgeRequest> = fc.record({
        claims: fc.oneof(
          fc.constant<ClaimsSpec>({ kind: 'user', who: 'alice' }),
          fc.constant<ClaimsSpec>({ kind: 'user', who: 'bob' }),
          fc.nat().map<ClaimsSpec>((pick) => ({ kind: 'client', pick, scope: 'granted' })),
        ),
        path: paths((p) =>
          fc.oneof(
            { arbitrary: fc.record({ ref: fc.constant('own' as const), pick: fc.nat() }), weight: 3 },
            { arbitrary: fc.record({ ref: fc.constantFrom('other' as const, 'gone' as const), pick: fc.nat() }), weight: 1 },
            { arbitrary: pathValue(p).map((literal) => ({ literal })), weight: 1 },
          ),
        ),
        body: nearValidBodyText(route).map((body) => ({ body, isBase64Encoded: false })),
        contentType: jsonContentType.map((v) => (v === undefined ? undefined : (['Content-Type', v] as const))),
        idempotencyKey: fc.option(fc.constantFrom('k1', 'k2', 'k3'), { nil: undefined }),
        extraHeaders: fc.constant({}),
        envelope: fc.constant('asIs' as const),
        otherMethod: fc.constant('PUT'),
      });
      const chaos: fc.Arbitrary<EdgeRequest> = fc.record({
        claims: claimsSpec,
        path: paths(pathSpec),
        body: encodedBody(bodyText(route)),
        contentType: fc.option(
          fc.tuple(contentTypeName, contentType).map(([n, v]) => (v === undefined ? undefined : ([n, v] as const))),
          { nil: undefined },
        ),
        idempotencyKey,
        extraHeaders,
        envelope: fc.oneof(
          { arbitrary: fc.constant('asIs' as const), weight: 30 },
          { arbitrary: fc.constantFrom<Envelope>('nullHeaders', 'nullPathParameters', 'extraPathParameter'), weight: 3 },
          { arbitrary: fc.constantFrom('otherMethod' as const, 'foreignRoute' as const), weight: 1 },
        ),
        // Methods no route has, and a lower-case spelling: API Gateway never sends those, a misrouted call might.
        otherMethod: fc.constantFrom('PUT', 'PATCH', 'HEAD', 'OPTIONS', 'get', 'post'),
      });
      return fc.oneof({ arbitrary: focused, weight: 1 }, { arbitrary: chaos, weight: 2 });
    }

    /** A request every route must accept: alice herself, valid ids of her own, a valid body as JSON. */
    function validEdgeRequest(route: RouteDef, body: Entries | null): EdgeRequest {
      return {
        claims: { kind: 'user', who: 'alice' },
        path: Object.fromEntries(pathParamNames(route.path).map((p) => [p, { ref: 'own', pick: 0 }])),
        body: { body: body === null ? null : objectText(body), isBase64Encoded: false },
        contentType: body === null ? undefined : ['Content-Type', 'application/json'],
        idempotencyKey: undefined,
        extraHeaders: {},
        envelope: 'asIs',
        otherMethod: 'PUT',
      };
    }

    function buildEvent(route: RouteDef, req: EdgeRequest, claims: Record<string, unknown> | null): APIGatewayProxyEvent {
      const pathParameters = Object.fromEntries(Object.entries(req.path).map(([name, spec]) => [name, resolvePath(name, spec)]));
      const base = apiEvent(route, { pathParameters });
      const headers: Record<string, string> = { ...req.extraHeaders };
      if (req.contentType) headers[req.contentType[0]] = req.contentType[1];
      if (req.idempotencyKey !== undefined) headers['Idempotency-Key'] = req.idempotencyKey;
      const foreign = ROUTES.find((r) => r.handler !== route.handler) as RouteDef;
      return {
        ...base,
        httpMethod:
          req.envelope === 'otherMethod' ? req.otherMethod : req.envelope === 'foreignRoute' ? foreign.method : route.method,
        resource: req.envelope === 'foreignRoute' ? foreign.path : route.path,
        headers: req.envelope === 'nullHeaders' ? (null as unknown as APIGatewayProxyEvent['headers']) : headers,
        pathParameters:
          req.envelope === 'nullPathParameters'
            ? null
            : req.envelope === 'extraPathParameter'
              ? { ...pathParameters, userId: people.bob, proxy: '../admin' }
              : base.pathParameters,
        body: req.body.body,
        isBase64Encoded: req.body.isBase64Encoded,
        requestContext: {
          ...base.requestContext,
          authorizer: claims === null ? null : { claims },
        } as APIGatewayProxyEvent['requestContext'],
      };
    }

    // --- the stores, before and after ---------------------------------------------------------------------------

    interface Snapshot {
      readonly identity: ReadonlyMap<string, string>;
      readonly notes: ReadonlyMap<string, string>;
      readonly pool: ReadonlySet<string>;
    }

    const identityKey = (key: { pk: string; sk: string }) => `${key.pk}|${key.sk}`;
    const noteKey = (userId: string, noteId: string) => `${userId}|${noteId}`;

    function snapshot(): Snapshot {
      return {
        identity: new Map(
          world.dynamo.all(IDENTITY_TABLE).map((i) => [`${String(i['pk'])}|${String(i['sk'])}`, JSON.stringify(i)]),
        ),
        notes: new Map(
          world.dynamo.all(NOTES_TABLE).map((n) => [noteKey(String(n['userId']), String(n['noteId'])), JSON.stringify(n)]),
        ),
        pool: new Set(world.poolClients.keys()),
      };
    }

    interface Delta {
      readonly added: string[];
      readonly removed: string[];
      readonly changed: string[];
    }

    function delta(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): Delta {
      const added = [...after.keys()].filter((k) => !before.has(k)).sort();
      const removed = [...before.keys()].filter((k) => !after.has(k)).sort();
      const changed = [...after.keys()].filter((k) => before.has(k) && before.get(k) !== after.get(k)).sort();
      return { added, removed, changed };
    }

    const NONE: Delta = { added: [], removed: [], changed: [] };
    const poolDelta = (before: Snapshot, after: Snapshot) => ({
      added: [...after.pool].filter((c) => !before.pool.has(c)).sort(),
      removed: [...before.pool].filter((c) => !after.pool.has(c)).sort(),
    });

    function item(s: Snapshot, key: string): Record<string, unknown> {
      const json = s.identity.get(key) ?? s.notes.get(key);
      expect(json, `no item ${key}`).toBeDefined();
      return JSON.parse(json as string) as Record<string, unknown>;
    }

    function expectUnchanged(before: Snapshot, after: Snapshot): void {
      expect(delta(before.identity, after.identity)).toEqual(NONE);
      expect(delta(before.notes, after.notes)).toEqual(NONE);
      expect(poolDelta(before, after)).toEqual({ added: [], removed: [] });
    }

    /** The one credential change a 2xx create/reset/revoke must have made, or (a keyed replay) none at all. */
    function expectCredentialWrite(
      op: 'create' | 'reset' | 'revoke',
      caller: string,
      newClientId: string | undefined,
      oldClientId: string | undefined,
      before: Snapshot,
      after: Snapshot,
      event: APIGatewayProxyEvent,
    ): void {
      expect(delta(before.notes, after.notes)).toEqual(NONE);
      const replay =
        op === 'revoke'
          ? item(before, identityKey(credentialKey(caller, oldClientId as string)))['status'] === 'revoked'
          : before.pool.has(newClientId as string);
      if (replay) {
        // Only a repeated Idempotency-Key may answer 2xx without doing anything, with the first request's result.
        expect(Object.keys(event.headers ?? {}).some((h) => h.toLowerCase() === 'idempotency-key')).toBe(true);
        expectUnchanged(before, after);
        return;
      }
      const added = newClientId === undefined ? [] : [newClientId];
      const removed = oldClientId === undefined ? [] : [oldClientId];
      expect(poolDelta(before, after)).toEqual({ added, removed: removed.sort() });
      const newKeys = added.flatMap((c) => [identityKey(clientKey(c)), identityKey(credentialKey(caller, c))]);
      const oldKeys = removed.flatMap((c) => [identityKey(clientKey(c)), identityKey(credentialKey(caller, c))]);
      expect(delta(before.identity, after.identity)).toEqual({
        added: newKeys.sort(),
        removed: [],
        changed: [identityKey(userKey(caller)), ...oldKeys].sort(),
      });
      for (const key of newKeys) expect(item(after, key)).toMatchObject({ userId: caller, status: 'active' });
      for (const key of oldKeys) expect(item(after, key)).toMatchObject({ userId: caller, status: 'revoked' });
      const delta_ = op === 'create' ? 1 : op === 'revoke' ? -1 : 0;
      expect(item(after, identityKey(userKey(caller)))['activeCredentials']).toBe(
        Number(item(before, identityKey(userKey(caller)))['activeCredentials']) + delta_,
      );
    }

    /** What a request may have written: nothing unless it succeeded, and then exactly its route's effect. */
    function expectEffects(
      route: RouteDef,
      event: APIGatewayProxyEvent,
      result: APIGatewayProxyResult,
      body: any,
      caller: string | undefined,
      before: Snapshot,
      after: Snapshot,
    ): void {
      if (!isSuccess(result.statusCode) || route.method === 'GET') {
        expectUnchanged(before, after);
        return;
      }
      expect(caller, 'a 2xx for a caller that should have been refused').toBeDefined();
      const who = caller as string;
      switch (route.id) {
        case 'createNote': {
          expect(delta(before.identity, after.identity)).toEqual(NONE);
          expect(delta(before.notes, after.notes)).toEqual({ added: [noteKey(who, body.id)], removed: [], changed: [] });
          expect(item(after, noteKey(who, body.id))).toEqual({
            userId: who,
            noteId: body.id,
            text: body.text,
            createdAt: body.createdAt,
          });
          const sent = event.isBase64Encoded ? Buffer.from(event.body ?? '', 'base64').toString('utf8') : (event.body ?? '');
          expect(body.text).toBe((JSON.parse(sent) as { text: unknown }).text);
          return;
        }
        case 'deleteNote': {
          const id = event.pathParameters?.['id'] as string;
          expect(delta(before.identity, after.identity)).toEqual(NONE);
          expect(delta(before.notes, after.notes)).toEqual({ added: [], removed: [noteKey(who, id)], changed: [] });
          deletedNotes.push(id);
          return;
        }
        case 'createCredential':
          expectCredentialWrite('create', who, body.clientId, undefined, before, after, event);
          return;
        case 'resetCredential':
          expect(body.previousClientId).toBe(event.pathParameters?.['clientId']);
          expectCredentialWrite('reset', who, body.clientId, body.previousClientId, before, after, event);
          return;
        case 'revokeCredential':
          expectCredentialWrite('revoke', who, undefined, event.pathParameters?.['clientId'], before, after, event);
          return;
        default:
          throw new Error(`No effect model for the write route ${route.id}: add one`);
      }
    }

    it('has a valid body sample for exactly the routes that take a body', () => {
      expect(Object.keys(VALID_BODIES).sort()).toEqual(ROUTES.filter((r) => r.body).map((r) => r.id).sort());
    });

    it.each(ROUTES.map((r) => [r.id, EDGE_RUNS, r] as const))(
      'keeps %s to its contract for any body, path id, header and claims (%i generated events)',
      async (_, runs, route) => {
        const startedExecutions = () => world.sfn.commandCalls(StartExecutionCommand).length;
        const property = fc.asyncProperty(edgeRequest(route), async (req) => {
          // Prepare
          const claims = claimsFor(req.claims);
          const event = buildEvent(route, req, claims);
          const caller = route.access === 'public' ? undefined : principalOf(claims, route);
          const before = snapshot();
          const executions = startedExecutions();
          // Act
          const result = await handlers[route.handler](event);
          // Assess
          const after = snapshot();
          coverage.record(route.id, result.statusCode);
          const headers = result.headers as Record<string, string> | undefined;
          const body = expectResponseContract(result.statusCode, result.body, headers?.['Content-Type']) as any;
          if (isSuccess(result.statusCode)) expect(result.statusCode).toBe(route.status);

          if (req.envelope === 'otherMethod' || req.envelope === 'foreignRoute') {
            expect(result.statusCode).toBe(404);
          } else if (route.access !== 'public') {
            // Refused callers learn nothing else (not even whether their input was valid); valid ones are never 401.
            if (caller === undefined) expect([401, 403]).toContain(result.statusCode);
            else expect(result.statusCode).not.toBe(401);
          }
          if ([400, 401, 403, 413, 415].includes(result.statusCode)) expect(startedExecutions()).toBe(executions);
          const secretRoute = route.id === 'createCredential' || route.id === 'resetCredential';
          if (!(secretRoute && isSuccess(result.statusCode))) {
            for (const secret of world.secrets()) expect(result.body).not.toContain(secret);
          }
          if (isSuccess(result.statusCode) && route.id === 'getMe') expect(body.userId).toBe(caller);
          if (isSuccess(result.statusCode) && secretRoute) {
            expect(world.groups.get(String(claims?.['username']))).toContain('developers');
          }
          expectEffects(route, event, result, body, caller, before, after);
        });
        const valid = fc.sample(validBody(route), { numRuns: 1, seed: SEED })[0] as Entries;
        await fc.assert(property, {
          seed: seedFor('edge', route.id),
          numRuns: runs,
          // Anchors: the valid request (so success is always exercised) and the same without any claims.
          examples: [
            [validEdgeRequest(route, route.body ? valid : null)],
            [{ ...validEdgeRequest(route, null), claims: { kind: 'none' } }],
          ],
        });
        expectReachedSuccessAndRefusal(coverage, route);
      },
    );
  });

  // =============================================================================================================
  describe('through the local stack over HTTP', () => {
    const HTTP_CAP = 2;
    /** Node's default limit on a request head (request line and headers). */
    const NODE_MAX_HEADER_BYTES = 16 * 1024;
    let t: TestStack;
    let users: Record<Person, TestUser>;
    let db: DynamoDBDocumentClient;
    const coverage = new Coverage();

    /** What the client side knows about each credential: owner, status, secret, tokens minted for it. */
    interface KnownCred {
      readonly clientId: string;
      readonly owner: string;
      status: 'active' | 'revoked';
      readonly secret: string;
      readonly tokens: Map<string, string>;
    }
    const known = new Map<string, KnownCred>();

    function remember(clientId: string, secret: string, owner: string): void {
      known.set(clientId, { clientId, owner, status: 'active', secret, tokens: new Map() });
    }

    /** A token minted for the credential (cached per scope); undefined when the token endpoint refuses the scope. */
    async function tokenOf(cred: KnownCred, scope?: string): Promise<string | undefined> {
      const key = scope ?? '';
      if (!cred.tokens.has(key)) {
        const res = await t.tokenResponse(cred.clientId, cred.secret, scope);
        if (res.status !== 200) return undefined;
        cred.tokens.set(key, res.body.access_token as string);
      }
      return cred.tokens.get(key);
    }

    beforeAll(async () => {
      t = await startTestStack({ clientWriteRatePerSecond: 0, retryIntervalMs: 10, maxCredentialsPerUser: HTTP_CAP });
      users = {
        alice: await t.createUser('alice', { developer: true }),
        bob: await t.createUser('bob', { developer: true }),
        mallory: await t.createUser('mallory'),
      };
      const aliceRw = await t.createCredential(users.alice);
      const aliceRo = await t.createCredential(users.alice, ['read']);
      const bobs = await t.createCredential(users.bob);
      remember(aliceRw.clientId, aliceRw.clientSecret, users.alice.userId);
      remember(aliceRo.clientId, aliceRo.clientSecret, users.alice.userId);
      remember(bobs.clientId, bobs.clientSecret, users.bob.userId);
      // A revoked credential whose token is still cryptographically valid: 'revokedClient' sends it, I3 probes it.
      const gone = await t.createCredential(users.bob, ['read']);
      remember(gone.clientId, gone.clientSecret, users.bob.userId);
      await tokenOf(known.get(gone.clientId) as KnownCred);
      const revoked = await t.api('DELETE', `/credentials/${gone.clientId}`, users.bob.token);
      if (revoked.status !== 204) throw new Error(`revoke: ${revoked.status} ${revoked.text}`);
      (known.get(gone.clientId) as KnownCred).status = 'revoked';
      for (const [user, text] of [[users.alice, 'a1'], [users.alice, 'a2'], [users.bob, 'b1']] as const) {
        const res = await t.api('POST', '/notes', user.token, { text });
        if (res.status !== 201) throw new Error(`seed note: ${res.status} ${res.text}`);
      }
      db = DynamoDBDocumentClient.from(new DynamoDBClient(localAwsConfig(t.stack.endpoints)));
    }, 60_000);

    afterAll(async () => {
      db?.destroy();
      await t?.close();
    });

    // --- the stores ----------------------------------------------------------------------------------------------

    async function scan(table: string): Promise<Record<string, unknown>[]> {
      const items: Record<string, unknown>[] = [];
      let ExclusiveStartKey: Record<string, unknown> | undefined;
      do {
        const page = await db.send(new ScanCommand({ TableName: table, ExclusiveStartKey, ConsistentRead: true }));
        items.push(...((page.Items ?? []) as Record<string, unknown>[]));
        ExclusiveStartKey = page.LastEvaluatedKey;
      } while (ExclusiveStartKey);
      return items;
    }

    function scopesOfToken(token: string): string[] {
      const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { scope?: unknown };
      return typeof payload.scope === 'string' ? payload.scope.split(' ') : [];
    }

    async function poolCredentialClients(): Promise<Set<string>> {
      const ids = new Set<string>();
      let NextToken: string | undefined;
      do {
        const page = await t.cognito.send(
          new ListUserPoolClientsCommand({ UserPoolId: t.stack.endpoints.userPoolId, MaxResults: 60, NextToken }),
        );
        for (const c of page.UserPoolClients ?? []) {
          if (c.ClientId && c.ClientId !== t.stack.endpoints.uiClientId) ids.add(c.ClientId);
        }
        NextToken = page.NextToken;
      } while (NextToken);
      return ids;
    }

    /** The model: credentials (client id -> owner, status) and notes (owner|noteId -> text), from the 2xx answers. */
    interface Model {
      readonly creds: Map<string, { userId: string; status: string }>;
      readonly notes: Map<string, string>;
    }

    interface Scan {
      readonly identity: Record<string, unknown>[];
      readonly notes: Record<string, unknown>[];
    }

    async function scanAll(): Promise<Scan> {
      await t.stack.stepFunctions.flush();
      const endpoints = t.stack.endpoints;
      return { identity: await scan(endpoints.tableName), notes: await scan(endpoints.notesTableName) };
    }

    function modelOf(s: Scan): Model {
      return {
        creds: new Map(
          s.identity
            .filter((i) => String(i['sk']).startsWith(CRED_SK_PREFIX))
            .map((i) => [String(i['clientId']), { userId: String(i['userId']), status: String(i['status']) }]),
        ),
        notes: new Map(s.notes.map((n) => [`${String(n['userId'])}|${String(n['noteId'])}`, String(n['text'])])),
      };
    }

    /** The scan after the runs must be exactly the model: nothing written that no 2xx reported, nothing lost. */
    async function expectStoresMatch(model: Model, before: Scan): Promise<void> {
      const after = await scanAll();
      const now = modelOf(after);
      expect(now.notes).toEqual(model.notes);
      expect(now.creds).toEqual(model.creds);
      // Users and usernames: the same items; only a user's version, lock and count may move. No other kind of item
      // appears (the sweeper's markers are its own bookkeeping, not something a request wrote).
      const stable = (items: Record<string, unknown>[]) =>
        items
          .filter((i) => i['sk'] === 'USER' || i['sk'] === 'USERNAME')
          .map(({ version: _v, lockOwner: _o, lockExpiresAt: _e, activeCredentials: _a, ...rest }) => JSON.stringify(rest))
          .sort();
      expect(stable(after.identity)).toEqual(stable(before.identity));
      const known_ = (i: Record<string, unknown>) =>
        ['USER', 'USERNAME', 'CLIENT'].includes(String(i['sk'])) ||
        String(i['sk']).startsWith(CRED_SK_PREFIX) ||
        String(i['pk']).startsWith(SWEEP_PK_PREFIX);
      expect(after.identity.filter((i) => !known_(i))).toEqual([]);
      // I4, exactly: the pool holds a client for the active credentials of the model and nothing else.
      const active = [...model.creds].filter(([, c]) => c.status === 'active').map(([id]) => id).sort();
      expect([...(await poolCredentialClients())].sort()).toEqual(active);
      // I1-I4 and released locks, with I3 probed by every token minted during the runs: refused (401) once its
      // client was revoked or reset, served as its user while active (tokens without the read scope cannot call /me).
      const probes = [...known.values()].flatMap((cred) =>
        [...cred.tokens.values()]
          .filter((token) => cred.status === 'revoked' || scopesOfToken(token).includes(fullScope('read')))
          .map((token) => ({ clientId: cred.clientId, token })),
      );
      expect(await checkInvariants(t, { maxCredentialsPerUser: HTTP_CAP, probes })).toEqual([]);
    }

    // --- requests -----------------------------------------------------------------------------------------------

    type AuthSpec =
      | 'alice'
      | 'bob'
      | 'mallory'
      | 'client'
      | 'readClient'
      | 'rawJwt'
      | 'lowercase'
      | 'extraSpaces'
      | 'revokedClient'
      | 'none'
      | 'duplicate'
      | 'garbage'
      | 'basic'
      | 'long'
      | 'query';

    /** Authorization variants that identify nobody: a protected route must never answer them 2xx. */
    const NOBODY: readonly AuthSpec[] = ['revokedClient', 'none', 'duplicate', 'garbage', 'basic', 'long', 'query'];

    type HttpPath = { readonly literal: string } | { readonly raw: string } | { readonly ref: PathRef; readonly pick: number };

    interface HttpRequestSpec {
      readonly auth: AuthSpec;
      readonly garbage: string;
      readonly path: Readonly<Record<string, HttpPath>>;
      readonly query: string | undefined;
      readonly body: string | null;
      readonly rawBytes: boolean;
      readonly contentType: readonly [string, string] | undefined;
      readonly secondContentType: string | undefined;
      readonly idempotencyKey: string | undefined;
      readonly extra: readonly (readonly [string, string])[];
      /** Another method than the route's (undefined: the route's own). */
      readonly method: string | undefined;
    }

    const wireSafe = (s: string) => /^[\t\x20-\x7e\x80-\xff]*$/.test(s);

    function httpRequest(route: RouteDef): fc.Arbitrary<HttpRequestSpec> {
      const params = pathParamNames(route.path);
      const httpPath = (name: string): fc.Arbitrary<HttpPath> =>
        fc.oneof(
          { arbitrary: pathValue(name).map((literal) => ({ literal })), weight: 4 },
          { arbitrary: rawPathSegment.map((raw) => ({ raw })), weight: 1 },
          { arbitrary: fc.record({ ref: fc.constantFrom<PathRef>('own', 'other', 'gone'), pick: fc.nat() }), weight: 3 },
        );
      const focused: fc.Arbitrary<HttpRequestSpec> = fc.record({
        auth:
          route.access === 'manage'
            ? fc.constantFrom<AuthSpec>('alice', 'alice', 'bob')
            : fc.constantFrom<AuthSpec>('alice', 'bob', 'client'),
        garbage: fc.constant(''),
        path: fc.record(
          Object.fromEntries(
            params.map((p) => [
              p,
              fc.oneof(
                { arbitrary: fc.record({ ref: fc.constant('own' as const), pick: fc.nat() }), weight: 3 },
                { arbitrary: fc.record({ ref: fc.constantFrom('other' as const, 'gone' as const), pick: fc.nat() }), weight: 1 },
                { arbitrary: pathValue(p).map((literal) => ({ literal })), weight: 1 },
              ),
            ]),
          ),
        ) as fc.Arbitrary<Record<string, HttpPath>>,
        query: fc.constant(undefined),
        body: nearValidBodyText(route),
        rawBytes: fc.constant(false),
        contentType: jsonContentType.map((v) => (v === undefined ? undefined : (['Content-Type', v] as const))),
        secondContentType: fc.constant(undefined),
        idempotencyKey: fc.option(fc.constantFrom('k1', 'k2', 'k3'), { nil: undefined }),
        extra: fc.constant([]),
        method: fc.constant(undefined),
      });
      const chaos: fc.Arbitrary<HttpRequestSpec> = fc.record({
        auth: fc.oneof(
          {
            arbitrary: fc.constantFrom<AuthSpec>(
              'alice',
              'alice',
              'bob',
              'mallory',
              'client',
              'client',
              'readClient',
              'rawJwt',
              'lowercase',
              'extraSpaces',
            ),
            weight: 4,
          },
          { arbitrary: fc.constantFrom<AuthSpec>(...NOBODY), weight: 1 },
        ),
        garbage: fc.oneof(wireHeaderValue, fc.constantFrom('eyJhbGciOiJub25lIn0.e30.', 'a.b.c', 'Bearer', 'null')),
        path: fc.record(Object.fromEntries(params.map((p) => [p, httpPath(p)]))) as fc.Arbitrary<Record<string, HttpPath>>,
        query: fc.option(
          fc.oneof(
            fc.tuple(fc.string(), fc.string()).map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`),
            fc.constantFrom('userId=someone', 'access_token=x', '__proto__[admin]=1', 'a=1&a=2', '%zz'),
          ),
          { nil: undefined },
        ),
        body: bodyText(route),
        rawBytes: fc.oneof({ arbitrary: fc.constant(false), weight: 19 }, { arbitrary: fc.constant(true), weight: 1 }),
        contentType: fc.option(
          fc
            .tuple(contentTypeName, contentType.filter((v) => v === undefined || wireSafe(v)))
            .map(([n, v]) => (v === undefined ? undefined : ([n, v] as const))),
          { nil: undefined },
        ),
        secondContentType: fc.oneof(
          { arbitrary: fc.constant(undefined), weight: 9 },
          { arbitrary: fc.constantFrom('text/plain', 'application/json'), weight: 1 },
        ),
        idempotencyKey: idempotencyKey.filter((k) => k === undefined || wireSafe(k)),
        extra: fc.array(fc.tuple(wireHeaderName, wireHeaderValue), { maxLength: 2 }),
        method: fc.oneof(
          { arbitrary: fc.constant(undefined), weight: 12 },
          { arbitrary: fc.constantFrom('GET', 'POST', 'DELETE', 'PUT', 'PATCH', 'OPTIONS', 'HEAD'), weight: 1 },
        ),
      });
      return fc.oneof({ arbitrary: focused, weight: 1 }, { arbitrary: chaos, weight: 1 });
    }

    /** The request every route must accept: alice, her own ids, a valid JSON body. */
    function validHttpRequest(route: RouteDef, body: Entries | null, auth: AuthSpec): HttpRequestSpec {
      return {
        auth,
        garbage: '',
        path: Object.fromEntries(pathParamNames(route.path).map((p) => [p, { ref: 'own', pick: 0 }])),
        query: undefined,
        body: body === null ? null : objectText(body),
        rawBytes: false,
        contentType: body === null ? undefined : ['Content-Type', 'application/json'],
        secondContentType: undefined,
        idempotencyKey: undefined,
        extra: [],
        method: undefined,
      };
    }

    const activeOf = (owner: string) => [...known.values()].filter((c) => c.owner === owner && c.status === 'active');

    /** The path segment for a parameter, percent-encoded (or raw, as the spec asks). */
    function resolveHttpPath(name: string, spec: HttpPath, model: Model): string {
      if ('raw' in spec) return spec.raw;
      const literal = (value: string) => percentEncode(value);
      if ('literal' in spec) return literal(spec.literal);
      const pick = <T>(list: readonly T[]): T | undefined => list[spec.pick % Math.max(list.length, 1)];
      if (name === 'clientId') {
        const owner = spec.ref === 'other' ? users.bob.userId : users.alice.userId;
        const list =
          spec.ref === 'gone'
            ? [...known.values()].filter((c) => c.owner === owner && c.status === 'revoked')
            : activeOf(owner);
        return literal(pick(list)?.clientId ?? 'neverissued00000000000000a');
      }
      if (name === 'id') {
        const owner = spec.ref === 'other' ? users.bob.userId : users.alice.userId;
        const ids = [...model.notes.keys()].filter((k) => k.startsWith(`${owner}|`)).map((k) => k.slice(owner.length + 1));
        return literal(spec.ref === 'gone' ? randomUUID() : (pick(ids) ?? randomUUID()));
      }
      throw new Error(`No reference resolver for path parameter ${name}: add one`);
    }

    interface Auth {
      readonly lines: [string, string][];
      readonly query?: string;
      /** The user the request is from, when the variant names one. */
      readonly principal?: string;
    }

    async function authHeaders(spec: HttpRequestSpec): Promise<Auth> {
      const bearer = (token: string): [string, string] => ['Authorization', `Bearer ${token}`];
      const aliceClient = async (scope?: string) => {
        const cred = activeOf(users.alice.userId)[0];
        return cred ? tokenOf(cred, scope) : undefined;
      };
      const asAlice = (token: string | undefined) =>
        token === undefined ? { lines: [] } : { lines: [bearer(token)], principal: users.alice.userId };
      switch (spec.auth) {
        case 'alice':
        case 'bob':
        case 'mallory':
          return { lines: [bearer(users[spec.auth].token)], principal: users[spec.auth].userId };
        case 'client':
          return asAlice(await aliceClient());
        case 'readClient':
          return asAlice(await aliceClient(fullScope('read')));
        case 'rawJwt':
          return { lines: [['Authorization', users.alice.token]], principal: users.alice.userId };
        case 'lowercase':
          return { lines: [['authorization', `bearer ${users.alice.token}`]], principal: users.alice.userId };
        case 'extraSpaces':
          return { lines: [['Authorization', `  Bearer \t ${users.bob.token}  `]], principal: users.bob.userId };
        case 'revokedClient': {
          const revoked = [...known.values()].find((c) => c.status === 'revoked' && c.tokens.size > 0);
          const token = revoked?.tokens.values().next().value;
          return { lines: token ? [bearer(token)] : [] };
        }
        case 'none':
          return { lines: [] };
        case 'duplicate':
          return { lines: [bearer(users.alice.token), bearer(users.bob.token)] };
        case 'garbage':
          return { lines: [['Authorization', `Bearer ${spec.garbage}`]] };
        case 'basic': {
          const cred = activeOf(users.alice.userId)[0];
          return { lines: [['Authorization', `Basic ${Buffer.from(`${cred?.clientId}:${cred?.secret}`).toString('base64')}`]] };
        }
        case 'long':
          return { lines: [bearer(`${users.alice.token}${'A'.repeat(10_300)}`)] };
        case 'query':
          return { lines: [], query: `access_token=${encodeURIComponent(users.alice.token)}` };
      }
    }

    /** Applies what a 2xx answer reports to the model (and learns secrets, so later requests can use them). */
    function applySuccess(
      route: RouteDef,
      status: number,
      body: any,
      principal: string | undefined,
      pathValues: Readonly<Record<string, string>>,
      model: Model,
    ): void {
      if (route.method === 'GET') return;
      expect(principal, `${route.id} answered ${status} to a caller who is nobody`).toBeDefined();
      const who = principal as string;
      switch (route.id) {
        case 'createNote':
          expect(model.notes.has(`${who}|${body.id}`)).toBe(false);
          model.notes.set(`${who}|${body.id}`, body.text);
          return;
        case 'deleteNote': {
          const key = `${who}|${pathValues['id']}`;
          expect(model.notes.has(key), 'deleted a note the caller does not own').toBe(true);
          model.notes.delete(key);
          return;
        }
        case 'createCredential':
        case 'resetCredential': {
          t.recordSecret(body.clientSecret);
          if (model.creds.has(body.clientId)) return; // a keyed replay: the first request's result, nothing new
          if (route.id === 'resetCredential') {
            const old = model.creds.get(body.previousClientId);
            expect(old, 'reset a credential that is not the caller\'s').toEqual({ userId: who, status: 'active' });
            model.creds.set(body.previousClientId, { userId: who, status: 'revoked' });
            const cred = known.get(body.previousClientId);
            if (cred) cred.status = 'revoked';
          }
          model.creds.set(body.clientId, { userId: who, status: 'active' });
          remember(body.clientId, body.clientSecret, who);
          return;
        }
        case 'revokeCredential': {
          const id = pathValues['clientId'] as string;
          const current = model.creds.get(id);
          expect(current?.userId, 'revoked a credential that is not the caller\'s').toBe(who);
          model.creds.set(id, { userId: who, status: 'revoked' });
          const cred = known.get(id);
          if (cred) cred.status = 'revoked';
          return;
        }
        default:
          throw new Error(`No effect model for the write route ${route.id}: add one`);
      }
    }

    const router = createRouter();

    it.each(ROUTES.map((r) => [r.id, httpRuns(r), r] as const))(
      'never answers %s with a 5xx nor writes what no 2xx reported (%i generated requests)',
      async (_, runs, route) => {
        const before = await scanAll();
        const model = modelOf(before);
        const property = fc.asyncProperty(httpRequest(route), async (spec) => {
          // Prepare
          const auth = await authHeaders(spec);
          let path = stagePath(route);
          for (const [name, p] of Object.entries(spec.path)) path = path.replace(`{${name}}`, resolveHttpPath(name, p, model));
          const query = [spec.query, auth.query].filter((q) => q !== undefined).join('&');
          const headers: [string, string][] = [...auth.lines, ...spec.extra.map(([n, v]) => [n, v] as [string, string])];
          if (spec.contentType) headers.push([spec.contentType[0], spec.contentType[1]]);
          if (spec.secondContentType) headers.push(['Content-Type', spec.secondContentType]);
          if (spec.idempotencyKey !== undefined) headers.push(['Idempotency-Key', spec.idempotencyKey]);
          const body = spec.body === null ? undefined : spec.rawBytes ? Buffer.from(spec.body, 'latin1') : spec.body;
          // Act
          const method = spec.method ?? route.method;
          // The route the request really reaches (an empty id or another method can lead elsewhere): its effects count.
          // The server resolves dot segments (`/v1/notes/./x`, `%2e%2e`) as URL parsing does, then routes.
          const normalized = new URL(path, 'http://127.0.0.1').pathname;
          const stage = `/${API_STAGE}`;
          const match =
            normalized === stage || normalized.startsWith(`${stage}/`)
              ? router(method, normalized.slice(stage.length))
              : ({ kind: 'not_found' } as const);
          if (query) path = `${path}?${query}`;
          const res = await send(t.stack.port, { method, path, headers, ...(body === undefined ? {} : { body }) });
          // Assess
          coverage.record(route.id, res.status);
          if (res.status === 431) {
            // Node's HTTP server refuses a request head over its limit before any of our code runs (API Gateway has
            // its own, smaller limits); only an oversized head may get this answer.
            const head = [`${method} ${path} HTTP/1.1`, ...headers.map(([n, v]) => `${n}: ${v}`)].join('\r\n');
            expect(Buffer.byteLength(head, 'utf8')).toBeGreaterThan(NODE_MAX_HEADER_BYTES - 512);
            return;
          }
          const contentTypeHeader = res.headers['content-type'];
          const contentTypeValue = Array.isArray(contentTypeHeader) ? contentTypeHeader[0] : contentTypeHeader;
          // A HEAD answer has no body by definition; its status and type still follow the contract.
          const parsed = expectResponseContract(res.status, method === 'HEAD' ? undefined : res.text, contentTypeValue) as any;
          if (match.kind === 'bad_path' || match.kind === 'not_found') {
            expect([400, 404]).toContain(res.status);
            return;
          }
          // Anything else that reaches no route (a CORS preflight) answers without a function, so it writes nothing.
          if (match.kind !== 'route') return;
          const reached = match.route;
          const principal = NOBODY.includes(spec.auth) ? undefined : auth.principal;
          if (reached.access !== 'public' && principal === undefined) {
            expect(isSuccess(res.status), `${spec.auth} got ${res.status}`).toBe(false);
          }
          if (isSuccess(res.status)) applySuccess(reached, res.status, parsed, principal, match.pathParameters ?? {}, model);
          if (!isSuccess(res.status) || !['createCredential', 'resetCredential'].includes(reached.id)) {
            for (const secret of t.secrets) expect(res.text).not.toContain(secret);
          }
        });
        const valid = route.body ? (fc.sample(validBody(route), { numRuns: 1, seed: SEED })[0] as Entries) : null;
        await fc.assert(property, {
          seed: seedFor('http', route.id),
          numRuns: runs,
          // Anchors: alice's valid request, bob's (who is under the cap, so a create succeeds), and no token at all.
          examples: [
            [validHttpRequest(route, valid, 'alice')],
            [validHttpRequest(route, valid, 'bob')],
            [validHttpRequest(route, valid, 'none')],
          ],
        });
        await expectStoresMatch(model, before);
        expectReachedSuccessAndRefusal(coverage, route);
      },
    );
  });
});
