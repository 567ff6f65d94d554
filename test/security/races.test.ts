/**
 * Races (issue item 3, invariant I6): concurrent create/reset/revoke against the local stack, through HTTP, the
 * gateway, the handlers and the credential workflow, with Cognito's client-write throttle (5/s) on. Afterwards the
 * invariants I1-I4 hold (test/support/invariants.ts), losers got 409, and no orphan client is left once the
 * sweeper has run.
 *
 * Where a race must really overlap, the winner is held inside the workflow (a `hang` fault on its
 * CreateUserPoolClient or its commit) until every other request has been answered: without the hold a "concurrent"
 * request can arrive after the winner committed, which is no race at all (and is answered 404: the credential it
 * names is no longer active). One burst without a hold is kept too, since that is what clients really do.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { configSchema } from '../../lambdas/shared/config';
import { uuidv7Time } from '../../lambdas/shared/uuidv7';
import type { Fault } from '../../infra/local/faults';
import { type ClientTokenProbe, checkInvariants, checkRound, credentialClientsInPool } from '../support/invariants';
import { type HttpResult, type TestCredential, type TestStack, type TestUser, startTestStack } from '../support/local-stack';

/** Sweeps on demand only (deterministic), grace 0 (every unmapped client is fair game once the races are over). */
const STACK_OPTIONS = { sweepIntervalSeconds: 0, sweepGraceSeconds: 0, retryIntervalMs: 20 } as const;

const holdCreateClient = (t: TestStack): Fault =>
  t.stack.faults.add({
    label: 'hold the winner in CreateClient',
    match: { service: 'cognito-idp', action: 'CreateUserPoolClient' },
    effect: { kind: 'hang' },
  });

/** The credential workflow's commit (TransactWriteItems is the workflow's alone once users exist). */
const holdCommit = (t: TestStack): Fault =>
  t.stack.faults.add({
    label: 'hold the winner in its commit',
    match: { service: 'dynamodb', action: 'TransactWriteItems' },
    effect: { kind: 'hang' },
  });

/**
 * Sends `requests` at once while `hold` keeps the winner inside the workflow; once the winner is held and every
 * other request has its answer, lets the winner go on. Returns all answers, in request order.
 */
async function roundWithHeldWinner(hold: Fault, requests: readonly (() => Promise<HttpResult>)[]): Promise<HttpResult[]> {
  let answered = 0;
  const pending = requests.map((send) =>
    send().then((r) => {
      answered += 1;
      return r;
    }),
  );
  // If no request reaches the hold (all refused early), there is nothing to release.
  await Promise.race([hold.reached, Promise.allSettled(pending)]);
  const deadline = Date.now() + 40_000;
  while (answered < requests.length - 1 && Date.now() < deadline) await sleep(10);
  hold.release();
  return Promise.all(pending);
}

async function probeFor(t: TestStack, credential: TestCredential): Promise<ClientTokenProbe> {
  return { clientId: credential.clientId, token: await t.clientToken(credential.clientId, credential.clientSecret) };
}

describe('category: races', () => {
  describe('with one active credential per user (the default cap)', () => {
    let t: TestStack;
    /** Every client token minted in these races: I3 is checked for all of them at every step. */
    const probes: ClientTokenProbe[] = [];
    let userCount = 0;
    const newDeveloper = () => t.createUser(`racer${++userCount}`, { developer: true });

    beforeAll(async () => {
      t = await startTestStack(STACK_OPTIONS);
    });
    afterAll(async () => {
      await t?.close();
    });

    async function settledInvariants(cap = 1): Promise<string[]> {
      await t.stack.sweep();
      return checkInvariants(t, { maxCredentialsPerUser: cap, probes });
    }

    it.each([2, 10, 50])('lets exactly one of %i concurrent resets of one credential win; the others get 409', async (k) => {
      // Prepare
      const user = await newDeveloper();
      const old = await t.createCredential(user);
      probes.push(await probeFor(t, old));
      const hold = holdCreateClient(t);
      // Act
      const results = await roundWithHeldWinner(
        hold,
        Array.from({ length: k }, () => () => t.api('POST', `/credentials/${old.clientId}/reset`, user.token, {})),
      );
      hold.remove();
      // Assess
      expect(checkRound(results, 200, ['conflict']).violations).toEqual([]);
      const winner = results.find((r) => r.status === 200) as HttpResult;
      expect(winner.body.previousClientId).toBe(old.clientId);
      expect(winner.body.clientId).not.toBe(old.clientId);
      probes.push(await probeFor(t, { clientId: winner.body.clientId, clientSecret: winner.body.clientSecret, scopes: [] }));
      expect(await settledInvariants()).toEqual([]);
      // One round, one new client: nothing to sweep, the old client deleted by the winner itself.
      const clients = (await credentialClientsInPool(t)).filter((c) => c.userId === user.userId);
      expect(clients.map((c) => c.clientId)).toEqual([winner.body.clientId]);
    }, 60_000);

    it('lets one of a burst of 10 resets win when nothing holds it; a late one finds the credential replaced', async () => {
      // Prepare
      const user = await newDeveloper();
      const old = await t.createCredential(user);
      probes.push(await probeFor(t, old));
      // Act
      const results = await Promise.all(
        Array.from({ length: 10 }, () => t.api('POST', `/credentials/${old.clientId}/reset`, user.token, {})),
      );
      // Assess: a request that read the user after the winner's commit is not concurrent with it; it gets 404.
      expect(checkRound(results, 200, ['conflict', 'not_found']).violations).toEqual([]);
      for (const r of results.filter((x) => x.status === 404)) expect(r.body.error.code).toBe('not_found');
      const winner = results.find((r) => r.status === 200) as HttpResult;
      probes.push(await probeFor(t, { clientId: winner.body.clientId, clientSecret: winner.body.clientSecret, scopes: [] }));
      expect(await settledInvariants()).toEqual([]);
    });

    it('lets exactly one of 10 concurrent creates win at the cap of 1, then refuses every further create', async () => {
      // Prepare
      const user = await newDeveloper();
      const hold = holdCreateClient(t);
      // Act
      const first = await roundWithHeldWinner(
        hold,
        Array.from({ length: 10 }, () => () => t.api('POST', '/credentials', user.token, { scopes: ['read'] })),
      );
      hold.remove();
      const second = await Promise.all(
        Array.from({ length: 10 }, () => t.api('POST', '/credentials', user.token, { scopes: ['read'] })),
      );
      // Assess
      expect(checkRound(first, 201).violations).toEqual([]);
      expect(second.map((r) => `${r.status} ${r.body?.error?.code}`)).toEqual(Array(10).fill('409 limit_exceeded'));
      const winner = first.find((r) => r.status === 201) as HttpResult;
      probes.push(await probeFor(t, { clientId: winner.body.clientId, clientSecret: winner.body.clientSecret, scopes: [] }));
      expect(await settledInvariants()).toEqual([]);
      const listed = await t.api('GET', '/credentials', user.token);
      expect(listed.body.credentials.map((c: { clientId: string }) => c.clientId)).toEqual([winner.body.clientId]);
    });

    it('refuses a revoke sent while a reset of the same credential runs; the reset completes', async () => {
      // Prepare
      const user = await newDeveloper();
      const old = await t.createCredential(user);
      probes.push(await probeFor(t, old));
      const hold = holdCreateClient(t);
      // Act
      const reset = t.api('POST', `/credentials/${old.clientId}/reset`, user.token, {});
      await hold.reached;
      const revoke = await t.api('DELETE', `/credentials/${old.clientId}`, user.token);
      hold.release();
      hold.remove();
      const resetResult = await reset;
      // Assess
      expect(revoke.status).toBe(409);
      expect(revoke.body.error.code).toBe('conflict');
      expect(resetResult.status).toBe(200);
      probes.push(
        await probeFor(t, { clientId: resetResult.body.clientId, clientSecret: resetResult.body.clientSecret, scopes: [] }),
      );
      expect(await settledInvariants()).toEqual([]);
    });

    it('refuses a reset sent while a revoke of the same credential commits; the credential ends revoked', async () => {
      // Prepare
      const user = await newDeveloper();
      const old = await t.createCredential(user);
      probes.push(await probeFor(t, old));
      const hold = holdCommit(t);
      // Act
      const revoke = t.api('DELETE', `/credentials/${old.clientId}`, user.token);
      await hold.reached;
      const reset = await t.api('POST', `/credentials/${old.clientId}/reset`, user.token, {});
      hold.release();
      hold.remove();
      const revokeResult = await revoke;
      // Assess
      expect(reset.status).toBe(409);
      expect(reset.body.error.code).toBe('conflict');
      expect(revokeResult.status).toBe(204);
      expect(await t.api('GET', '/me', probes.at(-1)?.token)).toMatchObject({ status: 401 });
      const listed = await t.api('GET', '/credentials', user.token);
      expect(listed.body.credentials).toEqual([expect.objectContaining({ clientId: old.clientId, status: 'revoked' })]);
      expect(await settledInvariants()).toEqual([]);
    });

    it('creates one client for the same Idempotency-Key sent twice at once, and both answers agree', async () => {
      // Prepare
      const user = await newDeveloper();
      const headers = { 'Idempotency-Key': `create-${user.userId}` };
      // Act
      const [a, b] = await Promise.all([
        t.api('POST', '/credentials', user.token, { name: 'twice' }, headers),
        t.api('POST', '/credentials', user.token, { name: 'twice' }, headers),
      ]);
      const replay = await t.api('POST', '/credentials', user.token, { name: 'twice' }, headers);
      // Assess
      expect([a?.status, b?.status, replay.status]).toEqual([201, 201, 201]);
      expect(b?.body).toEqual(a?.body);
      expect(replay.body).toEqual(a?.body);
      const clients = (await credentialClientsInPool(t)).filter((c) => c.userId === user.userId);
      expect(clients.map((c) => c.clientId)).toEqual([a?.body.clientId]);
      probes.push(await probeFor(t, { clientId: a?.body.clientId, clientSecret: a?.body.clientSecret, scopes: [] }));
      expect(await settledInvariants()).toEqual([]);
    });

    it('resets the same Idempotency-Key sent twice at once only once', async () => {
      // Prepare
      const user = await newDeveloper();
      const old = await t.createCredential(user);
      probes.push(await probeFor(t, old));
      const headers = { 'Idempotency-Key': 'one-reset' };
      // Act
      const [a, b] = await Promise.all([
        t.api('POST', `/credentials/${old.clientId}/reset`, user.token, {}, headers),
        t.api('POST', `/credentials/${old.clientId}/reset`, user.token, {}, headers),
      ]);
      // Assess
      expect([a?.status, b?.status]).toEqual([200, 200]);
      expect(b?.body).toEqual(a?.body);
      const listed = await t.api('GET', '/credentials', user.token);
      expect(listed.body.credentials.map((c: { status: string }) => c.status)).toEqual(['revoked', 'active']);
      probes.push(await probeFor(t, { clientId: a?.body.clientId, clientSecret: a?.body.clientSecret, scopes: [] }));
      expect(await settledInvariants()).toEqual([]);
    });

    it('rides out Cognito throttling when 10 users reset at once (20 client writes at 5 per second)', async () => {
      // Prepare
      const users: TestUser[] = await Promise.all(Array.from({ length: 10 }, () => newDeveloper()));
      const olds: TestCredential[] = await Promise.all(users.map((user) => t.createCredential(user)));
      probes.push(...(await Promise.all(olds.map((old) => probeFor(t, old)))));
      await sleep(1100); // a full write bucket, so the throttle is what the burst meets
      // Act
      const startedAt = Date.now();
      const results = await Promise.all(
        users.map((user, i) => t.api('POST', `/credentials/${olds[i]?.clientId}/reset`, user.token, {})),
      );
      const tookMs = Date.now() - startedAt;
      // Assess: every reset succeeds, through the workflow's retries; 20 writes cannot pass 5/s in under 3 s.
      expect(results.map((r) => r.status)).toEqual(Array(10).fill(200));
      expect(tookMs).toBeGreaterThan(2500);
      for (const r of results) {
        probes.push(await probeFor(t, { clientId: r.body.clientId, clientSecret: r.body.clientSecret, scopes: [] }));
      }
      expect(await settledInvariants()).toEqual([]);
    }, 60_000);

    it('names every credential client with a time-ordered operation id from the time it was made', async () => {
      // Prepare
      const before = Date.now();
      const user = await newDeveloper();
      // Act
      const credential = await t.createCredential(user);
      // Assess
      const client = (await credentialClientsInPool(t)).find((c) => c.clientId === credential.clientId);
      const madeAt = uuidv7Time(client?.operationId ?? '');
      expect(madeAt).toBeGreaterThanOrEqual(before);
      expect(madeAt).toBeLessThanOrEqual(Date.now());
      probes.push(await probeFor(t, credential));
    });

    it('leaves no client secret anywhere but the responses after the races', async () => {
      expect(t.secrets.length).toBeGreaterThan(20);
      expect(await t.leakScan()).toEqual([]);
    });
  });

  describe('with three active credentials per user', () => {
    let t: TestStack;
    const saved = { ...process.env };

    beforeAll(async () => {
      // The first stack of this file configured the functions of this process (the local Lambda runs them all in
      // one process, with module-level composition roots): a stack with another cap needs fresh modules and an
      // environment without the first stack's configuration.
      vi.resetModules();
      for (const key of Object.keys(configSchema.shape)) delete process.env[key];
      t = await startTestStack({ ...STACK_OPTIONS, maxCredentialsPerUser: 3 });
    });
    afterAll(async () => {
      await t?.close();
      for (const key of Object.keys(configSchema.shape)) {
        if (saved[key] === undefined) delete process.env[key];
        else process.env[key] = saved[key];
      }
    });

    it('lets exactly one of 5 concurrent creates win per round up to the cap, then refuses them all', async () => {
      // Prepare
      const user = await t.createUser('collector', { developer: true });
      const probes: ClientTokenProbe[] = [];
      const winners: string[] = [];
      // Act: three rounds that each may add one credential, then one at the cap
      for (let round = 0; round < 3; round++) {
        const hold = holdCreateClient(t);
        const results = await roundWithHeldWinner(
          hold,
          Array.from({ length: 5 }, () => () => t.api('POST', '/credentials', user.token, { scopes: ['read'] })),
        );
        hold.remove();
        // Assess each round
        expect(checkRound(results, 201).violations).toEqual([]);
        const winner = results.find((r) => r.status === 201) as HttpResult;
        winners.push(winner.body.clientId);
        probes.push({ clientId: winner.body.clientId, token: await t.clientToken(winner.body.clientId, winner.body.clientSecret) });
      }
      const atCap = await Promise.all(
        Array.from({ length: 5 }, () => t.api('POST', '/credentials', user.token, { scopes: ['read'] })),
      );
      // Assess
      expect(atCap.map((r) => `${r.status} ${r.body?.error?.code}`)).toEqual(Array(5).fill('409 limit_exceeded'));
      expect(new Set(winners).size).toBe(3);
      const listed = await t.api('GET', '/credentials', user.token);
      expect(listed.body.credentials.map((c: { clientId: string }) => c.clientId).sort()).toEqual([...winners].sort());
      await t.stack.sweep();
      expect(await checkInvariants(t, { maxCredentialsPerUser: 3, probes })).toEqual([]);
    });

    it('keeps the cap when a create and a revoke arrive while a reset at the cap runs', async () => {
      // Prepare
      const user = await t.createUser('juggler', { developer: true });
      const held: TestCredential[] = [];
      for (let i = 0; i < 3; i++) held.push(await t.createCredential(user, ['read']));
      const hold = holdCreateClient(t);
      // Act
      const reset = t.api('POST', `/credentials/${held[0]?.clientId}/reset`, user.token, {});
      await hold.reached;
      const [create, revoke] = await Promise.all([
        t.api('POST', '/credentials', user.token, { scopes: ['read'] }),
        t.api('DELETE', `/credentials/${held[1]?.clientId}`, user.token),
      ]);
      hold.release();
      hold.remove();
      // Assess: the create is refused before it starts (the cap); the revoke loses to the reset's lock.
      expect(`${create?.status} ${create?.body?.error?.code}`).toBe('409 limit_exceeded');
      expect(`${revoke?.status} ${revoke?.body?.error?.code}`).toBe('409 conflict');
      expect((await reset).status).toBe(200);
      const listed = await t.api('GET', '/credentials', user.token);
      expect(listed.body.credentials.filter((c: { status: string }) => c.status === 'active')).toHaveLength(3);
      await t.stack.sweep();
      expect(await checkInvariants(t, { maxCredentialsPerUser: 3 })).toEqual([]);
    });
  });
});
