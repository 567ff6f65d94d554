/**
 * The reconciliation sweeper's rules (lambdas/sweeper/core.ts) over in-memory fakes of the pool and the table, with
 * a clock the test moves: what is deleted and why, what is left alone, the grace age, first-seen markers, pacing
 * and throttling, the other direction of I4 (an active mapping whose client is gone), and the CredentialRevoked
 * event that announces such a revocation (validated against its JSON schema).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Clock } from '../../lambdas/shared/clock';
import { eventSchemaFile } from '../../lambdas/shared/contract/events';
import type { EventPublisher, ProductEvent } from '../../lambdas/shared/events-publisher';
import {
  type ClientMapping,
  type ConfirmedUser,
  type PoolClient,
  type SweepMarker,
  type SweeperDeps,
  type SweeperStore,
  type SweeperPool,
  type SweeperWorkflows,
  type UnannouncedRevocation,
  MAX_CLOCK_SKEW_MS,
  REPUBLISH_LOOKBACK_MS,
  sweep,
  sweeperRevokedEventId,
} from '../../lambdas/sweeper/core';
import { parseCredentialClientName } from '../../lambdas/shared/contract/client-name';
import { uuidv7 } from '../../lambdas/shared/uuidv7';

const MINUTE = 60_000;
const GRACE = 15 * MINUTE;
const T0 = Date.parse('2026-12-01T12:00:00.000Z');

class FakeClock implements Clock {
  readonly sleeps: number[] = [];
  constructor(public nowMs: number) {}
  now(): number {
    return this.nowMs;
  }
  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.nowMs += ms;
  }
}

class FakePool implements SweeperPool {
  readonly clients = new Map<string, string>();
  readonly deletes: string[] = [];
  /** Errors the next deletes throw, in order. */
  readonly failures: unknown[] = [];
  pageSize = 2;
  constructor(private readonly calls: string[]) {}

  add(name: string, clientId = randomUUID().replaceAll('-', '').slice(0, 26)): string {
    this.clients.set(clientId, name);
    return clientId;
  }

  async *listClients(): AsyncIterable<readonly PoolClient[]> {
    this.calls.push('listClients');
    const all = [...this.clients].map(([clientId, clientName]) => ({ clientId, clientName }));
    for (let i = 0; i < all.length; i += this.pageSize) yield all.slice(i, i + this.pageSize);
  }

  /** The pool's confirmed users (confirmed an hour before T0 unless told). */
  readonly confirmed: ConfirmedUser[] = [];
  confirmedFailure: unknown;
  /** Pages of users the sweep pulled. */
  userPagesPulled = 0;

  confirm(...usernames: string[]): void {
    for (const username of usernames) this.confirmed.push({ username, lastModifiedMs: T0 - 60 * MINUTE });
  }

  async *confirmedUsers(): AsyncIterable<readonly ConfirmedUser[]> {
    if (this.confirmedFailure !== undefined) throw this.confirmedFailure;
    for (let i = 0; i < this.confirmed.length; i += this.pageSize) {
      this.userPagesPulled += 1;
      yield this.confirmed.slice(i, i + this.pageSize);
    }
  }

  async deleteClient(clientId: string): Promise<'deleted' | 'gone'> {
    this.deletes.push(clientId);
    const failure = this.failures.shift();
    if (failure !== undefined) throw failure;
    return this.clients.delete(clientId) ? 'deleted' : 'gone';
  }
}

class FakeStore implements SweeperStore {
  readonly mappings = new Map<string, ClientMapping>();
  readonly markers = new Map<string, number>();
  readonly revoked: string[] = [];
  readonly activeCounts = new Map<string, number>();
  /** What the sweeper's revoke wrote on top of the status: revokedAt, and revokedEventId once recorded. */
  readonly sweeperRevocations = new Map<string, { userId: string; revokedAt: string; eventId?: string }>();
  /** Errors the next recordRevokedEvent calls throw, in order. */
  readonly recordFailures: unknown[] = [];
  /** Runs inside revokeMissingClient before its condition is checked: another writer getting there first. */
  beforeRevoke?: (mapping: ClientMapping) => void;
  constructor(private readonly calls: string[]) {}

  map(clientId: string, userId: string, status: 'active' | 'revoked' = 'active', createdAt = new Date(T0 - 60 * MINUTE).toISOString()) {
    this.mappings.set(clientId, { clientId, userId, status, createdAt });
    if (status === 'active') this.activeCounts.set(userId, (this.activeCounts.get(userId) ?? 0) + 1);
  }

  /** Client ids whose mapping the sweep read one by one (after its scan). */
  readonly mappingReads: string[] = [];

  async clientMapping(clientId: string) {
    this.mappingReads.push(clientId);
    return this.mappings.get(clientId);
  }

  /** Username -> user id of provisioned users, and the ones whose UserProvisioned went out. */
  readonly usernames = new Map<string, string>();
  readonly announcedUsers = new Set<string>();

  async scan() {
    this.calls.push('scan');
    return {
      provisionedUsernames: new Set(this.usernames.keys()),
      unannouncedUsernames: new Set([...this.usernames.keys()].filter((u) => !this.announcedUsers.has(u))),
      activeMappings: [...this.mappings.values()].filter((m) => m.status === 'active'),
      markers: [...this.markers].map(([clientId, firstSeenAt]): SweepMarker => ({ clientId, firstSeenAt })),
      unannounced: [...this.sweeperRevocations]
        .filter(([, r]) => r.eventId === undefined)
        .map(([clientId, r]): UnannouncedRevocation => ({ clientId, userId: r.userId, revokedAt: r.revokedAt })),
    };
  }

  async markFirstSeen(clientId: string, nowMs: number) {
    const existing = this.markers.get(clientId);
    if (existing !== undefined) return { firstSeenAt: existing, created: false };
    this.markers.set(clientId, nowMs);
    return { firstSeenAt: nowMs, created: true };
  }

  async forget(clientId: string) {
    this.markers.delete(clientId);
  }

  async revokeMissingClient(mapping: ClientMapping, nowIso: string) {
    this.beforeRevoke?.(mapping);
    const current = this.mappings.get(mapping.clientId);
    if (current?.status !== 'active' || current.userId !== mapping.userId) return 'changed' as const;
    this.mappings.set(mapping.clientId, { ...current, status: 'revoked' });
    this.activeCounts.set(mapping.userId, (this.activeCounts.get(mapping.userId) ?? 0) - 1);
    this.revoked.push(mapping.clientId);
    this.sweeperRevocations.set(mapping.clientId, { userId: mapping.userId, revokedAt: nowIso });
    return 'revoked' as const;
  }

  /** Runs whose event the sweeper published, by execution ARN: the eventId. */
  readonly republished = new Map<string, string>();
  /** Errors the next recordRepublished calls throw, in order. */
  readonly republishRecordFailures: unknown[] = [];

  async isRepublished(executionArn: string) {
    return this.republished.has(executionArn);
  }

  async recordRepublished(executionArn: string, eventId: string) {
    const failure = this.republishRecordFailures.shift();
    if (failure !== undefined) throw failure;
    this.republished.set(executionArn, eventId);
  }

  async recordRevokedEvent(clientId: string, eventId: string) {
    const failure = this.recordFailures.shift();
    if (failure !== undefined) throw failure;
    const revocation = this.sweeperRevocations.get(clientId);
    if (revocation) revocation.eventId = eventId;
  }
}

class FakePublisher implements EventPublisher {
  /** Every event PutEvents accepted, in order. */
  readonly published: ProductEvent[] = [];
  /** Errors the next publishes throw, in order (the event does not go out). */
  readonly failures: unknown[] = [];
  attempts = 0;

  async publish(event: ProductEvent): Promise<void> {
    this.attempts += 1;
    const failure = this.failures.shift();
    if (failure !== undefined) throw failure;
    // A copy, as PutEvents serializes the detail: later changes to the object must not show here.
    this.published.push(JSON.parse(JSON.stringify(event)) as ProductEvent);
  }
}

/** Credential workflow runs that ended EventNotPublished, with the time each started. */
class FakeWorkflows implements SweeperWorkflows {
  readonly runs: { executionArn: string; event: ProductEvent | undefined; startedAt: number }[] = [];
  /** The window start of each listing. */
  readonly listedSince: number[] = [];
  /** Runs the sweep pulled from the listing, and runs whose history it read. */
  readonly pulled: string[] = [];
  readonly historiesRead: string[] = [];
  failure: unknown;
  /** Errors the next history reads throw, in order. */
  readonly historyFailures: unknown[] = [];

  async *unpublishedRuns(sinceMs: number, shouldStop: () => boolean): AsyncIterable<string> {
    this.listedSince.push(sinceMs);
    if (this.failure !== undefined) throw this.failure;
    for (const run of this.runs) {
      if (run.startedAt < sinceMs) continue;
      // As the adapter does before each DescribeExecution.
      if (shouldStop()) return;
      this.pulled.push(run.executionArn);
      yield run.executionArn;
    }
  }

  async requestedEvent(executionArn: string): Promise<ProductEvent | undefined> {
    this.historiesRead.push(executionArn);
    const failure = this.historyFailures.shift();
    if (failure !== undefined) throw failure;
    return this.runs.find((r) => r.executionArn === executionArn)?.event;
  }
}

const throttled = () => Object.assign(new Error('Too many requests'), { name: 'TooManyRequestsException' });

let calls: string[];
let clock: FakeClock;
let pool: FakePool;
let store: FakeStore;
let publisher: FakePublisher;
let workflows: FakeWorkflows;
/** Usernames the sweep provisioned, in order; errors the next provisions throw. */
let provisioned: string[];
let provisionFailures: unknown[];
let logs: { level: string; message: string; fields: Record<string, unknown> }[];

function deps(overrides: Partial<SweeperDeps> = {}): SweeperDeps {
  const log = (level: string) => (message: string, fields: Record<string, unknown>) => logs.push({ level, message, fields });
  return {
    pool,
    store,
    clock,
    settings: { graceMs: GRACE, deletesPerSecond: 2, throttleBackoffMs: [1000, 2000] },
    log: { info: log('info'), warn: log('warn'), error: log('error') },
    events: publisher,
    workflows,
    // As lambdas/shared/provisioning.ts does against the table: one id per username, announced once.
    provision: async (username: string) => {
      provisioned.push(username);
      const failure = provisionFailures.shift();
      if (failure !== undefined) throw failure;
      const existing = store.usernames.get(username);
      const userId = existing ?? randomUUID();
      store.usernames.set(username, userId);
      const published = !store.announcedUsers.has(username);
      store.announcedUsers.add(username);
      return { userId, created: existing === undefined, published };
    },
    ...overrides,
  };
}

/** A credential client's name for a user, made at `madeAt` (a v7 operation id carries the time). */
const nameAt = (userId: string, madeAt: number) => `devaccess-${userId}-${uuidv7(madeAt)}`;

beforeEach(() => {
  calls = [];
  clock = new FakeClock(T0);
  pool = new FakePool(calls);
  store = new FakeStore(calls);
  publisher = new FakePublisher();
  workflows = new FakeWorkflows();
  provisioned = [];
  provisionFailures = [];
  logs = [];
});

describe('parseCredentialClientName', () => {
  it('reads the user, the operation and the time of a credential client name', () => {
    const userId = randomUUID();
    const operationId = uuidv7(T0);
    expect(parseCredentialClientName(`devaccess-${userId}-${operationId}`)).toEqual({ userId, operationId, createdAtMs: T0 });
  });

  it('reads no time from a name whose operation id is not a UUIDv7', () => {
    const parsed = parseCredentialClientName(`devaccess-${randomUUID()}-${randomUUID()}`);
    expect(parsed).toBeDefined();
    expect(parsed?.createdAtMs).toBeUndefined();
  });

  it.each([
    ['the UI client', 'devaccess-ui'],
    ['a name with one id', `devaccess-${randomUUID()}`],
    ['another prefix', `other-${randomUUID()}-${randomUUID()}`],
    ['upper-case ids', `devaccess-${randomUUID().toUpperCase()}-${randomUUID()}`],
    ['a suffix', `devaccess-${randomUUID()}-${randomUUID()}-copy`],
  ])('refuses %s', (_what, name) => {
    expect(parseCredentialClientName(name)).toBeUndefined();
  });
});

describe('sweep: orphaned credential clients', () => {
  it('deletes a client no mapping names once it is older than the grace age', async () => {
    // Prepare
    const orphan = pool.add(nameAt(randomUUID(), T0 - GRACE - 1));
    // Act
    const report = await sweep(deps());
    // Assess
    expect(report.deleted).toEqual([{ clientId: orphan, reason: 'unmapped' }]);
    expect(pool.clients.has(orphan)).toBe(false);
  });

  it('deletes a client whose mapping is revoked, and one whose mapping names another user', async () => {
    // Prepare
    const userId = randomUUID();
    const revoked = pool.add(nameAt(userId, T0 - GRACE - 1));
    store.map(revoked, userId, 'revoked');
    const foreign = pool.add(nameAt(userId, T0 - GRACE - 1));
    store.map(foreign, randomUUID());
    // Act
    const report = await sweep(deps());
    // Assess
    expect(report.deleted).toEqual([
      { clientId: revoked, reason: 'revoked' },
      { clientId: foreign, reason: 'other-owner' },
    ]);
  });

  it('keeps a client with an active mapping of the user its name names, however old', async () => {
    // Prepare
    const userId = randomUUID();
    const live = pool.add(nameAt(userId, T0 - 365 * 24 * 60 * MINUTE));
    store.map(live, userId);
    // Act
    const report = await sweep(deps());
    // Assess
    expect(report).toMatchObject({ credentialClients: 1, mapped: 1, deleted: [] });
    expect(pool.deletes).toEqual([]);
  });

  it('reads no mapping again for a client its scan found active for the user its name names', async () => {
    // Prepare
    const userId = randomUUID();
    const live = pool.add(nameAt(userId, T0 - GRACE - 1));
    store.map(live, userId);
    const foreign = pool.add(nameAt(userId, T0 - GRACE - 1));
    store.map(foreign, randomUUID());
    const orphan = pool.add(nameAt(userId, T0 - GRACE - 1));
    // Act
    const report = await sweep(deps());
    // Assess
    expect(report.mapped).toBe(1);
    expect(store.mappingReads).toEqual([foreign, orphan]);
  });

  it('keeps a client whose mapping was committed after its scan, found by a fresh read', async () => {
    // Prepare
    const userId = randomUUID();
    const committedLate = pool.add(nameAt(userId, T0 - GRACE - 1));
    const scan = store.scan.bind(store);
    store.scan = async () => {
      const result = await scan();
      store.map(committedLate, userId);
      return result;
    };
    // Act
    const report = await sweep(deps());
    // Assess
    expect(report).toMatchObject({ credentialClients: 1, mapped: 1, deleted: [] });
    expect(store.mappingReads).toEqual([committedLate]);
  });

  it('leaves an unmapped client younger than the grace age: its workflow may still commit it', async () => {
    // Prepare
    const young = pool.add(nameAt(randomUUID(), T0 - GRACE + MINUTE));
    // Act
    const report = await sweep(deps());
    // Assess
    expect(report.tooYoung).toEqual([young]);
    expect(pool.deletes).toEqual([]);
  });

  it('never touches the UI client or clients named otherwise', async () => {
    // Prepare
    pool.add('devaccess-ui');
    pool.add('partner-integration');
    pool.add(`devaccess-${randomUUID()}`);
    // Act
    const report = await sweep(deps());
    // Assess
    expect(report).toMatchObject({ poolClients: 3, credentialClients: 0, deleted: [] });
    expect(pool.deletes).toEqual([]);
  });

  it('reads the mappings before it lists the pool, so a client committed meanwhile is never taken for gone', async () => {
    // Act
    await sweep(deps());
    // Assess
    expect(calls).toEqual(['scan', 'listClients']);
  });

  it('finds nothing to do on a second run', async () => {
    // Prepare
    pool.add(nameAt(randomUUID(), T0 - GRACE - 1));
    await sweep(deps());
    // Act
    const second = await sweep(deps());
    // Assess
    expect(second).toMatchObject({ deleted: [], failed: [], marked: [], revokedMappings: [], incomplete: false });
  });
});

describe('sweep: names without a time', () => {
  const legacyName = () => `devaccess-${randomUUID()}-${randomUUID()}`;

  it('marks an unmapped client the first time it sees it and deletes nothing', async () => {
    // Prepare
    const client = pool.add(legacyName());
    // Act
    const report = await sweep(deps());
    // Assess
    expect(report.marked).toEqual([client]);
    expect(store.markers.get(client)).toBe(T0);
    expect(pool.deletes).toEqual([]);
  });

  it('deletes it on a later run once the marker is older than the grace age, and drops the marker', async () => {
    // Prepare
    const client = pool.add(legacyName());
    await sweep(deps());
    clock.nowMs = T0 + GRACE - 1;
    const early = await sweep(deps());
    clock.nowMs = T0 + GRACE;
    // Act
    const late = await sweep(deps());
    // Assess
    expect(early.tooYoung).toEqual([client]);
    expect(late.deleted).toEqual([{ clientId: client, reason: 'unmapped' }]);
    expect(store.markers.has(client)).toBe(false);
  });

  it('does not delete on the first sighting even with a grace age of 0', async () => {
    // Prepare
    const client = pool.add(legacyName());
    // Act
    const first = await sweep(deps({ settings: { graceMs: 0, deletesPerSecond: 2, throttleBackoffMs: [] } }));
    const second = await sweep(deps({ settings: { graceMs: 0, deletesPerSecond: 2, throttleBackoffMs: [] } }));
    // Assess
    expect(first.deleted).toEqual([]);
    expect(second.deleted).toEqual([{ clientId: client, reason: 'unmapped' }]);
  });

  it('does not trust a time in the future: such a client is aged by its marker instead', async () => {
    // Prepare
    const client = pool.add(nameAt(randomUUID(), T0 + MAX_CLOCK_SKEW_MS + MINUTE));
    // Act
    const report = await sweep(deps());
    // Assess
    expect(report.marked).toEqual([client]);
    expect(pool.deletes).toEqual([]);
  });

  it('drops the marker of a client that was mapped or deleted since', async () => {
    // Prepare
    const userId = randomUUID();
    const mappedSince = pool.add(`devaccess-${userId}-${randomUUID()}`);
    store.markers.set(mappedSince, T0 - MINUTE);
    store.map(mappedSince, userId);
    store.markers.set('gone0000000000000000000000', T0 - MINUTE);
    // Act
    const report = await sweep(deps());
    // Assess
    expect(report.markersCleared).toBe(2);
    expect(store.markers.size).toBe(0);
  });
});

describe('sweep: pacing and throttling', () => {
  it('paces deletes below Cognito\'s client-write quota', async () => {
    // Prepare
    for (let i = 0; i < 3; i++) pool.add(nameAt(randomUUID(), T0 - GRACE - 1));
    // Act
    const report = await sweep(deps());
    // Assess: 2 per second, no wait before the first
    expect(report.deleted).toHaveLength(3);
    expect(clock.sleeps).toEqual([500, 500]);
  });

  it('backs off after a throttled delete and carries on', async () => {
    // Prepare
    const orphan = pool.add(nameAt(randomUUID(), T0 - GRACE - 1));
    pool.failures.push(throttled(), throttled());
    // Act
    const report = await sweep(deps());
    // Assess
    expect(clock.sleeps).toEqual([1000, 2000]);
    expect(report.deleted).toEqual([{ clientId: orphan, reason: 'unmapped' }]);
    expect(report.incomplete).toBe(false);
  });

  it('leaves the rest for the next run when throttling outlasts its back-off', async () => {
    // Prepare
    const first = pool.add(nameAt(randomUUID(), T0 - GRACE - 1));
    const second = pool.add(nameAt(randomUUID(), T0 - GRACE - 1));
    pool.failures.push(throttled(), throttled(), throttled());
    // Act
    const report = await sweep(deps());
    // Assess
    expect(report).toMatchObject({ deleted: [], failed: [first, second], incomplete: true });
    expect(pool.deletes).toEqual([first, first, first]);
  });

  it('reports a client it cannot delete and goes on with the next', async () => {
    // Prepare
    const broken = pool.add(nameAt(randomUUID(), T0 - GRACE - 1));
    const fine = pool.add(nameAt(randomUUID(), T0 - GRACE - 1));
    pool.failures.push(Object.assign(new Error('denied'), { name: 'NotAuthorizedException' }));
    // Act
    const report = await sweep(deps());
    // Assess
    expect(report.failed).toEqual([broken]);
    expect(report.deleted).toEqual([{ clientId: fine, reason: 'unmapped' }]);
    expect(logs.find((l) => l.level === 'error')?.fields).toEqual({ clientId: broken, errorName: 'NotAuthorizedException' });
  });

  it('stops deleting when the invocation is about to time out', async () => {
    // Prepare
    const orphan = pool.add(nameAt(randomUUID(), T0 - GRACE - 1));
    // Act
    const report = await sweep(deps({ remainingMs: () => 4000 }));
    // Assess
    expect(report).toMatchObject({ deleted: [], failed: [orphan], incomplete: true });
    expect(pool.deletes).toEqual([]);
  });
});

describe('sweep: active mappings whose client is gone', () => {
  it('marks such a mapping revoked and reports it', async () => {
    // Prepare
    const userId = randomUUID();
    store.map('lostclient000000000000000000', userId);
    // Act
    const report = await sweep(deps());
    // Assess
    expect(report.revokedMappings).toEqual([{ clientId: 'lostclient000000000000000000', userId }]);
    expect(store.mappings.get('lostclient000000000000000000')?.status).toBe('revoked');
    expect(store.activeCounts.get(userId)).toBe(0);
    expect(logs.find((l) => l.level === 'warn')?.fields).toEqual({ clientId: 'lostclient000000000000000000', userId });
  });

  it('leaves a mapping younger than the grace age for the next run', async () => {
    // Prepare
    store.map('newclient0000000000000000000', randomUUID(), 'active', new Date(T0 - MINUTE).toISOString());
    // Act
    const report = await sweep(deps());
    // Assess
    expect(report.revokedMappings).toEqual([]);
    expect(store.revoked).toEqual([]);
  });

  it('revokes the mapping of a client it just deleted as another user\'s, so no mapping outlives its client', async () => {
    // Prepare
    const named = randomUUID();
    const mappedTo = randomUUID();
    const client = pool.add(nameAt(named, T0 - GRACE - 1));
    store.map(client, mappedTo);
    // Act
    const report = await sweep(deps());
    // Assess
    expect(report.deleted).toEqual([{ clientId: client, reason: 'other-owner' }]);
    expect(report.revokedMappings).toEqual([{ clientId: client, userId: mappedTo }]);
  });

  it('keeps every active mapping whose client is in the pool', async () => {
    // Prepare
    const userId = randomUUID();
    const client = pool.add(nameAt(userId, T0 - GRACE - 1));
    store.map(client, userId);
    // Act
    const report = await sweep(deps());
    // Assess
    expect(report.revokedMappings).toEqual([]);
    expect(store.mappings.get(client)?.status).toBe('active');
  });
});

const SCHEMA_DIR = fileURLToPath(new URL('../../lambdas/shared/contract/schemas/', import.meta.url));
const ajv = new Ajv2020({ allErrors: true, strict: true });
addFormats(ajv);
const validateRevoked = ajv.compile(
  JSON.parse(readFileSync(`${SCHEMA_DIR}${eventSchemaFile('CredentialRevoked')}`, 'utf8')) as object,
);
const unavailable = () => Object.assign(new Error('unavailable'), { name: 'InternalException' });

describe('sweep: the CredentialRevoked event of a mapping whose client is gone', () => {
  const LOST = 'lostclient000000000000000000';

  it('publishes CredentialRevoked once, with the sweeper as actor, valid against its schema', async () => {
    // Prepare
    const userId = randomUUID();
    store.map(LOST, userId);
    // Act
    const report = await sweep(deps());
    clock.nowMs += GRACE;
    const again = await sweep(deps());
    // Assess
    expect(publisher.published).toHaveLength(1);
    const [event] = publisher.published;
    expect(event?.detailType).toBe('CredentialRevoked');
    expect(event?.detail).toEqual({
      eventId: sweeperRevokedEventId(LOST),
      version: 1,
      occurredAt: new Date(T0).toISOString(),
      userId,
      clientId: LOST,
      actor: { type: 'system', name: 'sweeper' },
    });
    expect(validateRevoked(event?.detail), JSON.stringify(validateRevoked.errors)).toBe(true);
    expect(report.publishedEvents).toEqual([{ clientId: LOST, eventId: sweeperRevokedEventId(LOST) }]);
    expect(store.sweeperRevocations.get(LOST)?.eventId).toBe(sweeperRevokedEventId(LOST));
    expect(again).toMatchObject({ revokedMappings: [], publishedEvents: [], unpublishedEvents: [] });
  });

  it('publishes only after the revoke committed', async () => {
    // Prepare
    store.map(LOST, randomUUID());
    let publishedBeforeRevoke: number | undefined;
    store.beforeRevoke = () => {
      publishedBeforeRevoke = publisher.attempts;
    };
    // Act
    await sweep(deps());
    // Assess
    expect(publishedBeforeRevoke).toBe(0);
    expect(publisher.published).toHaveLength(1);
  });

  it('publishes nothing when the conditional revoke lost to another change', async () => {
    // Prepare: the user revokes it through the API (the workflow publishes that event) just before the sweeper
    const userId = randomUUID();
    store.map(LOST, userId);
    store.beforeRevoke = (mapping) => store.mappings.set(mapping.clientId, { ...mapping, status: 'revoked' });
    // Act
    const report = await sweep(deps());
    const next = await sweep(deps());
    // Assess
    expect(report).toMatchObject({ revokedMappings: [], publishedEvents: [], unpublishedEvents: [] });
    expect(next).toMatchObject({ publishedEvents: [], unpublishedEvents: [] });
    expect(publisher.attempts).toBe(0);
  });

  it('publishes the event again on the next run, with the same eventId and time, when PutEvents failed', async () => {
    // Prepare
    const userId = randomUUID();
    store.map(LOST, userId);
    publisher.failures.push(unavailable());
    // Act
    const first = await sweep(deps());
    clock.nowMs += 15 * MINUTE;
    const second = await sweep(deps());
    const third = await sweep(deps());
    // Assess: revoked at once, announced by the next run as if on time, then never again
    expect(first).toMatchObject({ revokedMappings: [{ clientId: LOST, userId }], publishedEvents: [], unpublishedEvents: [LOST] });
    expect(store.mappings.get(LOST)?.status).toBe('revoked');
    expect(logs.find((l) => l.level === 'error')?.fields).toEqual({
      clientId: LOST,
      userId,
      eventId: sweeperRevokedEventId(LOST),
      errorName: 'InternalException',
    });
    expect(second).toMatchObject({ revokedMappings: [], publishedEvents: [{ clientId: LOST, eventId: sweeperRevokedEventId(LOST) }] });
    expect(publisher.published.map((e) => e.detail)).toEqual([
      expect.objectContaining({ eventId: sweeperRevokedEventId(LOST), occurredAt: new Date(T0).toISOString() }),
    ]);
    expect(third).toMatchObject({ publishedEvents: [], unpublishedEvents: [] });
  });

  it('repeats the same eventId when a retried sweep publishes an event that went out but was not recorded', async () => {
    // Prepare: PutEvents accepts the event, then the run fails to record it
    store.map(LOST, randomUUID());
    store.recordFailures.push(unavailable());
    // Act
    const first = await sweep(deps());
    const retry = await sweep(deps());
    const after = await sweep(deps());
    // Assess: two publications of one revocation, one eventId, so consumers drop the second
    expect(first.publishedEvents).toEqual([{ clientId: LOST, eventId: sweeperRevokedEventId(LOST) }]);
    expect(retry.publishedEvents).toEqual(first.publishedEvents);
    expect(publisher.published).toHaveLength(2);
    expect(publisher.published[1]).toEqual(publisher.published[0]);
    expect(after.publishedEvents).toEqual([]);
  });

  it('leaves an earlier run\'s unpublished event for the next run when the invocation is about to time out', async () => {
    // Prepare
    store.sweeperRevocations.set(LOST, { userId: randomUUID(), revokedAt: new Date(T0 - MINUTE).toISOString() });
    // Act
    const report = await sweep(deps({ remainingMs: () => 4000 }));
    // Assess
    expect(report).toMatchObject({ publishedEvents: [], unpublishedEvents: [LOST], incomplete: true });
    expect(publisher.attempts).toBe(0);
  });

  it('derives one eventId per client, a UUIDv5', () => {
    expect(sweeperRevokedEventId(LOST)).toBe(sweeperRevokedEventId(LOST));
    expect(sweeperRevokedEventId(LOST)).not.toBe(sweeperRevokedEventId('otherclient00000000000000000'));
    expect(sweeperRevokedEventId(LOST)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('keeps the schema strict: a user\'s revocation still names its execution, and the system actor is the sweeper', () => {
    const base = { eventId: randomUUID(), version: 1, occurredAt: new Date(T0).toISOString(), userId: randomUUID(), clientId: 'abc' };
    const execution = 'arn:aws:states:us-east-1:000000000000:execution:devaccess-credential-workflow:op';
    expect(validateRevoked({ ...base, actor: { type: 'user', username: 'ada' }, executionId: execution })).toBe(true);
    expect(validateRevoked({ ...base, actor: { type: 'user', username: 'ada' } })).toBe(false);
    expect(validateRevoked({ ...base, actor: { type: 'system', name: 'cron' } })).toBe(false);
    expect(validateRevoked({ ...base, actor: { type: 'system', name: 'sweeper', username: 'ada' } })).toBe(false);
    expect(validateRevoked({ ...base, actor: { type: 'user', name: 'sweeper' }, executionId: execution })).toBe(false);
  });
});

describe('sweep: the event of a workflow run that committed but could not publish', () => {
  const EXECUTION = 'arn:aws:states:us-east-1:000000000000:execution:devaccess-credential-workflow:reset-op';
  /** The run of a reset `ago` ms before the sweep, whose CredentialReset never went out. */
  function unpublishedReset(ago: number, executionArn = EXECUTION): ProductEvent {
    const event: ProductEvent = {
      detailType: 'CredentialReset',
      detail: {
        eventId: randomUUID(),
        version: 1,
        occurredAt: new Date(T0 - ago).toISOString(),
        userId: randomUUID(),
        clientId: 'newclient',
        previousClientId: 'oldclient',
        scopes: ['devaccess/read'],
        actor: { type: 'user', username: 'ada' },
        executionId: executionArn,
      },
    };
    workflows.runs.push({ executionArn, event, startedAt: T0 - ago });
    return event;
  }

  it('publishes the event the run asked for, as it was, and records it', async () => {
    // Prepare
    const event = unpublishedReset(MINUTE);
    // Act
    const report = await sweep(deps());
    // Assess
    expect(publisher.published).toEqual([event]);
    expect(store.republished.get(EXECUTION)).toBe(event.detail.eventId);
    expect(report.republishedEvents).toEqual([{ executionArn: EXECUTION, eventId: event.detail.eventId }]);
    expect(report.unrepublishedRuns).toEqual([]);
  });

  it('publishes it once: a later run finds the record and leaves it, without reading its history again', async () => {
    // Prepare
    unpublishedReset(MINUTE);
    await sweep(deps());
    // Act
    const second = await sweep(deps());
    // Assess
    expect(publisher.published).toHaveLength(1);
    expect(workflows.historiesRead).toEqual([EXECUTION]);
    expect(second.republishedEvents).toEqual([]);
    expect(second.unrepublishedRuns).toEqual([]);
  });

  it('goes on with the other runs when one run\'s history cannot be read', async () => {
    // Prepare
    unpublishedReset(MINUTE, `${EXECUTION}-a`);
    const other = unpublishedReset(2 * MINUTE, `${EXECUTION}-b`);
    workflows.historyFailures.push(throttled());
    // Act
    const report = await sweep(deps());
    // Assess
    expect(report.unrepublishedRuns).toEqual([`${EXECUTION}-a`]);
    expect(report.republishedEvents).toEqual([{ executionArn: `${EXECUTION}-b`, eventId: other.detail.eventId }]);
  });

  it('stops pulling runs once the invocation is about to time out', async () => {
    // Prepare
    for (const name of ['a', 'b', 'c', 'd']) unpublishedReset(MINUTE, `${EXECUTION}-${name}`);
    let left = 60_000;
    // Act: each publish takes 30 s of the invocation's time
    const report = await sweep(
      deps({ remainingMs: () => left, events: { publish: async (e) => { left -= 30_000; await publisher.publish(e); } } }),
    );
    // Assess: two runs fit; the listing asks for no third
    expect(publisher.published).toHaveLength(2);
    expect(workflows.pulled).toEqual([`${EXECUTION}-a`, `${EXECUTION}-b`]);
    expect(report.incomplete).toBe(true);
  });

  it('looks back REPUBLISH_LOOKBACK_MS from the start of the run', async () => {
    // Prepare
    unpublishedReset(REPUBLISH_LOOKBACK_MS + MINUTE, `${EXECUTION}-old`);
    const recent = unpublishedReset(REPUBLISH_LOOKBACK_MS - MINUTE);
    // Act
    await sweep(deps());
    // Assess
    expect(workflows.listedSince).toEqual([T0 - REPUBLISH_LOOKBACK_MS]);
    expect(publisher.published).toEqual([recent]);
  });

  it('tries again on the next run, with the same eventId, when PutEvents fails', async () => {
    // Prepare
    const event = unpublishedReset(MINUTE);
    publisher.failures.push(throttled());
    // Act
    const first = await sweep(deps());
    const second = await sweep(deps());
    // Assess
    expect(first.unrepublishedRuns).toEqual([EXECUTION]);
    expect(first.republishedEvents).toEqual([]);
    expect(second.republishedEvents).toEqual([{ executionArn: EXECUTION, eventId: event.detail.eventId }]);
    expect(publisher.published).toEqual([event]);
  });

  it('repeats the same event when it went out but the record failed; consumers drop it by eventId', async () => {
    // Prepare
    const event = unpublishedReset(MINUTE);
    store.republishRecordFailures.push(throttled());
    // Act
    await sweep(deps());
    await sweep(deps());
    // Assess
    expect(publisher.published).toEqual([event, event]);
    expect(logs.some((l) => l.level === 'warn' && l.message.includes('not recorded'))).toBe(true);
  });

  it('reports a run whose history shows no credential event, loudly, and publishes nothing for it', async () => {
    // Prepare
    workflows.runs.push({ executionArn: EXECUTION, event: undefined, startedAt: T0 - MINUTE });
    // Act
    const report = await sweep(deps());
    // Assess
    expect(report.unrepublishedRuns).toEqual([EXECUTION]);
    expect(publisher.attempts).toBe(0);
    expect(logs.find((l) => l.level === 'error')?.message).toMatch(/^AUDIT EVENT MISSING/);
  });

  it('finishes the rest of the sweep when the runs cannot be read, and says it is incomplete', async () => {
    // Prepare
    const userId = randomUUID();
    pool.add(nameAt(userId, T0 - GRACE - 1));
    workflows.failure = Object.assign(new Error('denied'), { name: 'AccessDeniedException' });
    // Act
    const report = await sweep(deps());
    // Assess
    expect(report.deleted).toHaveLength(1);
    expect(report.incomplete).toBe(true);
    expect(logs.find((l) => l.level === 'error')?.fields).toEqual({ errorName: 'AccessDeniedException' });
  });

  it('leaves the runs for the next invocation when this one is about to time out', async () => {
    // Prepare
    unpublishedReset(MINUTE);
    // Act
    const report = await sweep(deps({ remainingMs: () => 1000 }));
    // Assess: not even listed (each listed run costs a DescribeExecution)
    expect(workflows.pulled).toEqual([]);
    expect(report.incomplete).toBe(true);
    expect(publisher.attempts).toBe(0);
  });
});

describe('sweep: confirmed users the post-confirmation trigger did not provision', () => {
  it('provisions a confirmed user the table does not know, and reports the new user id', async () => {
    // Prepare
    pool.confirm('ada', 'bob', 'cy');
    store.usernames.set('ada', randomUUID());
    store.announcedUsers.add('ada');
    store.usernames.set('cy', randomUUID());
    store.announcedUsers.add('cy');
    // Act
    const report = await sweep(deps());
    // Assess
    expect(provisioned).toEqual(['bob']);
    expect(report.provisionedUsers).toEqual([store.usernames.get('bob')]);
    expect(report.unprovisionedUsers).toBe(0);
    expect(JSON.stringify(logs)).not.toContain('bob');
  });

  it('announces a provisioned user whose UserProvisioned did not go out', async () => {
    // Prepare
    pool.confirm('ada');
    store.usernames.set('ada', 'the-id-of-ada');
    // Act
    const report = await sweep(deps());
    // Assess
    expect(provisioned).toEqual(['ada']);
    expect(report.provisionedUsers).toEqual(['the-id-of-ada']);
  });

  it('leaves a user Cognito changed within the grace age: their trigger may still be running', async () => {
    // Prepare
    pool.confirmed.push({ username: 'fresh', lastModifiedMs: T0 - GRACE + 1 }, { username: 'old', lastModifiedMs: T0 - GRACE });
    // Act
    const report = await sweep(deps());
    // Assess
    expect(provisioned).toEqual(['old']);
    expect(report.provisionedUsers).toHaveLength(1);
    expect(report.youngUsers).toBe(1);
  });

  it('stops pulling pages of users once the invocation is about to time out', async () => {
    // Prepare: pages of 2, every user known
    for (let i = 0; i < 8; i++) {
      pool.confirm(`u${i}`);
      store.usernames.set(`u${i}`, randomUUID());
      store.announcedUsers.add(`u${i}`);
    }
    let left = 12_000;
    const pages = pool.confirmedUsers.bind(pool);
    // Each page takes 4 s to fetch.
    pool.confirmedUsers = async function* () {
      for await (const page of pages()) {
        left -= 4_000;
        yield page;
      }
    };
    // Act
    const report = await sweep(deps({ remainingMs: () => left }));
    // Assess: 8 s left after the first page, 4 s after the second: no third page is asked for
    expect(pool.userPagesPulled).toBe(2);
    expect(report.incomplete).toBe(true);
  });

  it('stops provisioning when the invocation is about to time out, counting the user it stopped at', async () => {
    // Prepare: three users nobody provisioned; each provisioning takes 12 s of 16
    pool.confirm('u1', 'u2', 'u3');
    let left = 16_000;
    const provision = deps().provision;
    // Act
    const report = await sweep(
      deps({
        remainingMs: () => left,
        provision: async (username) => {
          left -= 12_000;
          return provision(username);
        },
      }),
    );
    // Assess
    expect(provisioned).toEqual(['u1']);
    expect(report.unprovisionedUsers).toBe(1);
    expect(report.incomplete).toBe(true);
  });

  it('asks Cognito for no user at all when the invocation is already about to time out', async () => {
    pool.confirm('u1');
    const report = await sweep(deps({ remainingMs: () => 4_000 }));
    expect(pool.userPagesPulled).toBe(0);
    expect(report.incomplete).toBe(true);
  });

  it('does nothing on a second run', async () => {
    // Prepare
    pool.confirm('bob');
    await sweep(deps());
    // Act
    const second = await sweep(deps());
    // Assess
    expect(provisioned).toEqual(['bob']);
    expect(second.provisionedUsers).toEqual([]);
  });

  it('counts a user it could not provision, goes on with the others, and the next run tries again', async () => {
    // Prepare
    pool.confirm('bob', 'cy');
    provisionFailures.push(Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' }));
    // Act
    const first = await sweep(deps());
    const second = await sweep(deps());
    // Assess
    expect(first.unprovisionedUsers).toBe(1);
    expect(first.provisionedUsers).toEqual([store.usernames.get('cy')]);
    expect(second.provisionedUsers).toEqual([store.usernames.get('bob')]);
    expect(logs.find((l) => l.level === 'error')?.fields).toEqual({ errorName: 'ProvisionedThroughputExceededException' });
  });

  it('reports nothing for a user the trigger finished between the scan and the listing', async () => {
    // Prepare: the scan sees no username item; by the time the sweep provisions, the trigger had done it all.
    pool.confirm('dee');
    const report = await sweep(
      deps({ provision: async (username) => ({ userId: `id-${username}`, created: false, published: false }) }),
    );
    // Assess
    expect(report.provisionedUsers).toEqual([]);
    expect(logs.filter((l) => l.level !== 'info')).toEqual([]);
  });

  it('finishes the rest of the sweep when the users cannot be listed, and says it is incomplete', async () => {
    // Prepare
    pool.confirmedFailure = Object.assign(new Error('denied'), { name: 'AccessDeniedException' });
    // Act
    const report = await sweep(deps());
    // Assess
    expect(report.incomplete).toBe(true);
    expect(logs.find((l) => l.level === 'error')?.fields).toEqual({ errorName: 'AccessDeniedException' });
  });
});

describe('sweep: what it logs', () => {
  it('logs counts and client ids, never a client name', async () => {
    // Prepare
    const userId = randomUUID();
    pool.add(nameAt(userId, T0 - GRACE - 1));
    // Act
    await sweep(deps());
    // Assess
    const summary = logs.find((l) => l.message === 'sweep finished');
    expect(summary?.fields).toMatchObject({ poolClients: 1, credentialClients: 1, deleted: 1 });
    expect(JSON.stringify(logs)).not.toContain(`devaccess-${userId}`);
  });
});
