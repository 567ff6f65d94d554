/**
 * The reconciliation sweeper (invariant I4, both ways). Nothing here calls AWS: the pool and the table are ports
 * (./adapters.ts implements them with the SDK).
 *
 * 1. Credential clients nobody can use: a Cognito app client named `devaccess-<userId>-<operationId>` whose
 *    CLIENT# mapping is missing, revoked, or names another user. They come from a workflow that created the client
 *    and then failed to commit (a lost response, a crash, a compensation that itself failed) or from a reset/revoke
 *    whose delete of the old client was deferred. The resolver already refuses their tokens; deleting them stops
 *    them minting new ones and keeps the pool under its app-client quota. Only clients older than the grace age are
 *    deleted, so a workflow that is still running (it times out after 600 s) never loses the client it is about to
 *    commit. The age comes from the operation id in the name (a UUIDv7); a name without one gets a first-seen
 *    marker in the table and is deleted by a later run, once the marker is older than the grace age.
 * 2. Active mappings whose client no longer exists in the pool (deleted by hand, or a pool restored from backup):
 *    marked revoked, with the user's active count, in one conditional transaction, so the user's list says so and
 *    every API answer about the credential agrees. Like every credential state change, each such revocation is
 *    announced with a CredentialRevoked event (actor `{ type: 'system', name: 'sweeper' }`), published only after
 *    the transaction committed. Exactly-once is not on offer (the run can fail between the commit and PutEvents,
 *    or after PutEvents), so the event is at-least-once with a stable identity, as UserProvisioned is: its eventId
 *    is derived from the client id and its occurredAt is the recorded revocation time, and the mapping records the
 *    eventId only once PutEvents accepted it. A revocation without that record is published again by the next run,
 *    with the same eventId, so consumers drop the duplicate and no revocation goes unannounced.
 *
 * 3. Credential changes whose event never went out: a workflow run that committed its change and then could not
 *    publish (PutEvents failed past its retries) ends with the EventNotPublished error, and the API answers the
 *    caller with the success it is. The sweeper reads such runs of the last REPUBLISH_LOOKBACK_MS from Step
 *    Functions, takes the event their Publish step asked for from the execution history (the definition builds
 *    it; nothing here rebuilds it), publishes it with its original eventId, and records that in the table, so each
 *    goes out once more and no later run repeats it (the record is read before the history, so a published run
 *    costs one read). A consumer that did see the first attempt drops the duplicate by eventId.
 *
 * 4. Confirmed users nobody provisioned: Cognito confirms a user before it runs the post-confirmation trigger, and
 *    keeps them confirmed when the trigger fails, so such a user could sign in and be refused everywhere (no
 *    USERNAME# item). The sweeper lists the pool's confirmed users and provisions each one the table does not know,
 *    and each one whose UserProvisioned did not go out, with the trigger's own code (lambdas/shared/provisioning.ts:
 *    idempotent, one user id per username, the same eventId on every publication). A user Cognito changed within
 *    the grace age is left for a later run: their trigger may still be running.
 *
 * Safe to run concurrently with workflows: the active mappings are read BEFORE the pool is listed, and a client is
 * only ever deleted after its mapping has been revoked (reset/revoke commit first, then delete), so a mapping seen
 * active whose client is missing from the later listing really has lost its client. Idempotent: a second run
 * finds nothing left to do. Throttling-aware: deletes are paced below Cognito's ~5 client writes per second per
 * pool (shared with the workflow's creates), and a throttled delete backs off, then leaves the rest to the next
 * run. Logs ids and counts only; the pool listing holds no secrets.
 */
import type { Clock } from '../shared/clock';
import { type CredentialEventDetail, EVENT_CONTRACT_VERSION, type SystemActor } from '../shared/contract/events';
import { parseCredentialClientName } from '../shared/contract/client-name';
import type { CredentialStatus } from '../shared/contract/table';
import { isThrottlingError } from '../shared/aws-errors';
import type { EventPublisher, ProductEvent } from '../shared/events-publisher';
import { uuidV5 } from '../shared/uuidv5';

/** One app client as ListUserPoolClients lists it. */
export interface PoolClient {
  readonly clientId: string;
  readonly clientName: string;
}

export interface SweeperPool {
  /** Every app client of the pool, page by page. */
  listClients(): AsyncIterable<readonly PoolClient[]>;
  /** The pool's confirmed users, page by page. */
  confirmedUsers(): AsyncIterable<readonly ConfirmedUser[]>;
  /** Deletes an app client; `'gone'` when it no longer exists. Throws AWS errors (throttling included) as they are. */
  deleteClient(clientId: string): Promise<'deleted' | 'gone'>;
}

export interface ClientMapping {
  readonly clientId: string;
  readonly userId: string;
  readonly status: CredentialStatus;
  /** ISO-8601 creation time of the credential. */
  readonly createdAt?: string;
}

export interface SweepMarker {
  readonly clientId: string;
  readonly firstSeenAt: number;
}

/** A mapping the sweeper revoked (in this run or an earlier one) whose CredentialRevoked is not recorded as published. */
export interface UnannouncedRevocation {
  readonly clientId: string;
  readonly userId: string;
  /** ISO-8601 time the sweeper revoked it: the event's occurredAt, the same on every publication. */
  readonly revokedAt: string;
}

export interface SweeperStore {
  /** The owner and status of a client's CLIENT# mapping (strongly consistent), or `undefined`. */
  clientMapping(clientId: string): Promise<Pick<ClientMapping, 'userId' | 'status'> | undefined>;
  /**
   * One pass over the table: every active CLIENT# mapping, every sweep marker, and every mapping the sweeper
   * revoked whose event is not recorded as published.
   */
  scan(): Promise<{
    readonly activeMappings: readonly ClientMapping[];
    readonly markers: readonly SweepMarker[];
    readonly unannounced: readonly UnannouncedRevocation[];
    /** Every username with a USERNAME# item (a provisioned user). */
    readonly provisionedUsernames: ReadonlySet<string>;
    /** Usernames of provisioned users whose UserProvisioned is not recorded as published. */
    readonly unannouncedUsernames: ReadonlySet<string>;
  }>;
  /** Records that the sweeper first saw this client now, unless a marker exists; returns the marker in force. */
  markFirstSeen(clientId: string, nowMs: number): Promise<{ readonly firstSeenAt: number; readonly created: boolean }>;
  forget(clientId: string): Promise<void>;
  /**
   * Marks an active mapping revoked (CLIENT# and CRED# items, the user's active count) if it is still active and
   * still this user's; `'changed'` when a condition failed (someone else changed it first).
   */
  revokeMissingClient(mapping: ClientMapping, nowIso: string): Promise<'revoked' | 'changed'>;
  /** Records on a mapping the sweeper revoked that its CredentialRevoked event was published. */
  recordRevokedEvent(clientId: string, eventId: string): Promise<void>;
  /** Whether the sweeper already published the event of this workflow run (strongly consistent). */
  isRepublished(executionArn: string): Promise<boolean>;
  /** Records that the sweeper published the event of this workflow run. */
  recordRepublished(executionArn: string, eventId: string, nowIso: string): Promise<void>;
}

export interface SweeperWorkflows {
  /**
   * The execution ARNs of the credential workflow runs started at or after `sinceMs` that ended with the
   * EventNotPublished error, newest first. Ends early once `shouldStop()` says so (checked before each call).
   */
  unpublishedRuns(sinceMs: number, shouldStop: () => boolean): AsyncIterable<string>;
  /**
   * The event the run's Publish step asked PutEvents for, as its history records it; `undefined` when the history
   * holds no readable credential event (the run is reported, not guessed at).
   */
  requestedEvent(executionArn: string): Promise<ProductEvent | undefined>;
}

/** A confirmed user of the pool, as ListUsers lists them. */
export interface ConfirmedUser {
  readonly username: string;
  /** When Cognito last changed the user (confirming them is such a change), epoch milliseconds. */
  readonly lastModifiedMs?: number;
}

export interface SweeperSettings {
  /** Minimum age, in milliseconds, of an unmapped client before it is deleted. */
  readonly graceMs: number;
  /** Pace of deletes; Cognito allows about 5 client writes per second per pool, shared with the workflow. */
  readonly deletesPerSecond: number;
  /** Back-off waits after a throttled delete; when they run out, the rest waits for the next run. */
  readonly throttleBackoffMs: readonly number[];
}

export const DEFAULT_SWEEPER_SETTINGS: Omit<SweeperSettings, 'graceMs'> = {
  deletesPerSecond: 2,
  throttleBackoffMs: [1000, 2000, 4000],
};

/**
 * How far back the sweeper looks for runs whose event did not go out: a day, so a sweeper that cannot publish for
 * a while (the bus failing, the sweeper itself failing) still catches up on every run, 96 times over at one run
 * every 15 minutes. Step Functions keeps closed Standard executions for 90 days.
 */
export const REPUBLISH_LOOKBACK_MS = 24 * 60 * 60 * 1000;

/** A client time this far ahead of the sweeper's clock is not trusted as an age (the marker decides instead). */
export const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;

export interface SweeperLog {
  info(message: string, fields: Record<string, unknown>): void;
  warn(message: string, fields: Record<string, unknown>): void;
  error(message: string, fields: Record<string, unknown>): void;
}

export interface SweeperDeps {
  readonly pool: SweeperPool;
  readonly store: SweeperStore;
  readonly clock: Clock;
  readonly settings: SweeperSettings;
  readonly log: SweeperLog;
  /** Publishes CredentialRevoked for the mappings the sweeper revokes, and the events of runs that could not. */
  readonly events: EventPublisher;
  /** The credential workflow's runs (for the events they could not publish). */
  readonly workflows: SweeperWorkflows;
  /** Provisions a confirmed user, idempotently, as the post-confirmation trigger does (and announces it). */
  readonly provision: (username: string) => Promise<{ readonly userId: string; readonly created: boolean; readonly published: boolean }>;
  /** Milliseconds this run may still take (Lambda's remaining time); the sweep stops deleting close to it. */
  readonly remainingMs?: () => number;
}

/** Why a client was (or would be) deleted. */
export type OrphanReason = 'unmapped' | 'revoked' | 'other-owner';

export interface SweepReport {
  /** App clients in the pool (all of them, the UI client included). */
  readonly poolClients: number;
  /** Of those, the ones named like a credential client. */
  readonly credentialClients: number;
  /** Credential clients with an active mapping of the user their name names. */
  readonly mapped: number;
  readonly deleted: readonly { readonly clientId: string; readonly reason: OrphanReason }[];
  /** Unmapped, but younger than the grace age (a workflow may still commit them). */
  readonly tooYoung: readonly string[];
  /** Unmapped, name without a time: a first-seen marker was written; a later run deletes them. */
  readonly marked: readonly string[];
  /** Deletes that failed (or were not attempted because the run was throttled or out of time). */
  readonly failed: readonly string[];
  /** Active mappings whose client no longer exists, now marked revoked. */
  readonly revokedMappings: readonly { readonly clientId: string; readonly userId: string }[];
  /** CredentialRevoked events this run published: for its own revocations, and earlier ones whose event had failed. */
  readonly publishedEvents: readonly { readonly clientId: string; readonly eventId: string }[];
  /** Revocations whose CredentialRevoked could not be published; the next run publishes it, with the same eventId. */
  readonly unpublishedEvents: readonly string[];
  /** Events of workflow runs that committed but could not publish, published by this run with their own eventId. */
  readonly republishedEvents: readonly { readonly executionArn: string; readonly eventId: string }[];
  /**
   * Runs whose event this run could not publish (PutEvents failed, or no event in the history, or the one it
   * stopped at when out of time); the next run retries. Runs it never reached are not listed: `incomplete` says so.
   */
  readonly unrepublishedRuns: readonly string[];
  /** Confirmed users this run provisioned, or whose UserProvisioned it published (user ids). */
  readonly provisionedUsers: readonly string[];
  /** Unprovisioned confirmed users changed within the grace age, left to their trigger (a later run checks again). */
  readonly youngUsers: number;
  /**
   * Confirmed users this run could not provision (failed, or the one it stopped at when out of time); the next run
   * tries again. Users it never reached are not counted: `incomplete` says so.
   */
  readonly unprovisionedUsers: number;
  /** Markers removed because their client is gone or mapped again. */
  readonly markersCleared: number;
  /** The run stopped early (throttled beyond its back-off, or out of time); the next run carries on. */
  readonly incomplete: boolean;
}

/** Who revokes a mapping whose client disappeared, as the event says. */
export const SWEEPER_ACTOR: SystemActor = { type: 'system', name: 'sweeper' };

/** Namespace of the name-based eventIds of the sweeper's CredentialRevoked events (a fixed random UUID; never change it). */
const SWEEPER_REVOKED_NAMESPACE = 'c36ee815-6301-4ec7-aa02-7edefae252e7';

/**
 * The eventId of the CredentialRevoked the sweeper publishes for a client: the same on every publication. One per
 * client suffices: a client id maps to one user (I1) and a revoked mapping never becomes active again.
 */
export function sweeperRevokedEventId(clientId: string): string {
  return uuidV5(SWEEPER_REVOKED_NAMESPACE, `${clientId}:sweeper-revoked`);
}

/** The detail of the CredentialRevoked for a mapping the sweeper revoked (lambdas/shared/contract/schemas). */
export function sweeperRevokedDetail(revocation: UnannouncedRevocation): CredentialEventDetail {
  // No executionId: the sweeper runs in no Step Functions execution (the schema requires one for users only).
  return {
    eventId: sweeperRevokedEventId(revocation.clientId),
    version: EVENT_CONTRACT_VERSION,
    occurredAt: revocation.revokedAt,
    userId: revocation.userId,
    clientId: revocation.clientId,
    actor: SWEEPER_ACTOR,
  };
}

/** Runs one sweep. Never throws for one client's failure; throws only when the pool or the table cannot be read. */
export async function sweep(deps: SweeperDeps): Promise<SweepReport> {
  const { clock, settings, log } = deps;
  const startedAt = clock.now();

  // Order matters (see the module comment): mappings first, then the pool.
  const { activeMappings, markers, unannounced, provisionedUsernames, unannouncedUsernames } = await deps.store.scan();
  const poolClients: PoolClient[] = [];
  for await (const page of deps.pool.listClients()) poolClients.push(...page);
  const inPool = new Set(poolClients.map((c) => c.clientId));
  const markerOf = new Map(markers.map((m) => [m.clientId, m]));
  const activeMappingOf = new Map(activeMappings.map((m) => [m.clientId, m]));

  let credentialClients = 0;
  let mapped = 0;
  const candidates: { clientId: string; reason: OrphanReason }[] = [];
  const tooYoung: string[] = [];
  const marked: string[] = [];
  const keepMarkers = new Set<string>();

  for (const client of poolClients) {
    const parsed = parseCredentialClientName(client.clientName);
    if (!parsed) continue;
    credentialClients += 1;
    // The scan (read before the listing) already proves a mapping active for this user; a mapping is never
    // re-activated, so only the clients it does not vouch for need a fresh read (they may be committed meanwhile).
    if (activeMappingOf.get(client.clientId)?.userId === parsed.userId) {
      mapped += 1;
      continue;
    }
    const mapping = await deps.store.clientMapping(client.clientId);
    if (mapping?.status === 'active' && mapping.userId === parsed.userId) {
      mapped += 1;
      continue;
    }
    const reason: OrphanReason = !mapping ? 'unmapped' : mapping.status !== 'active' ? 'revoked' : 'other-owner';
    const now = clock.now();
    let bornAt = parsed.createdAtMs;
    if (bornAt === undefined || bornAt > now + MAX_CLOCK_SKEW_MS) {
      const marker = markerOf.get(client.clientId) ?? (await deps.store.markFirstSeen(client.clientId, now));
      keepMarkers.add(client.clientId);
      if ('created' in marker && marker.created) {
        marked.push(client.clientId);
        continue; // first sighting: its age is unknown until a later run
      }
      bornAt = marker.firstSeenAt;
    }
    if (now - bornAt < settings.graceMs) {
      tooYoung.push(client.clientId);
      continue;
    }
    candidates.push({ clientId: client.clientId, reason });
  }

  const deleted: { clientId: string; reason: OrphanReason }[] = [];
  const failed: string[] = [];
  let incomplete = false;
  const pauseMs = Math.ceil(1000 / Math.max(settings.deletesPerSecond, 0.01));
  for (const [index, candidate] of candidates.entries()) {
    if (incomplete || (deps.remainingMs !== undefined && deps.remainingMs() < 5000)) {
      incomplete = true;
      failed.push(candidate.clientId);
      continue;
    }
    if (index > 0) await clock.sleep(pauseMs);
    const outcome = await deleteWithBackoff(deps, candidate.clientId);
    if (outcome === 'throttled') {
      incomplete = true;
      failed.push(candidate.clientId);
      continue;
    }
    if (outcome === 'failed') {
      failed.push(candidate.clientId);
      continue;
    }
    deleted.push(candidate);
    inPool.delete(candidate.clientId);
    if (markerOf.has(candidate.clientId) || keepMarkers.has(candidate.clientId)) {
      await forgetQuietly(deps, candidate.clientId);
      keepMarkers.delete(candidate.clientId);
      markerOf.delete(candidate.clientId);
    }
  }

  // I4 the other way: an active mapping whose client is gone.
  const revokedMappings: { clientId: string; userId: string }[] = [];
  const publishedEvents: { clientId: string; eventId: string }[] = [];
  const unpublishedEvents: string[] = [];
  const announce = async (revocation: UnannouncedRevocation): Promise<void> => {
    const eventId = await announceRevocation(deps, revocation);
    if (eventId === undefined) unpublishedEvents.push(revocation.clientId);
    else publishedEvents.push({ clientId: revocation.clientId, eventId });
  };
  const nowIso = new Date(clock.now()).toISOString();
  for (const mapping of activeMappings) {
    if (inPool.has(mapping.clientId)) continue;
    const createdAt = mapping.createdAt === undefined ? Number.NaN : Date.parse(mapping.createdAt);
    // A mapping younger than the grace age is left for the next run (belt and braces on top of the ordering).
    if (Number.isFinite(createdAt) && startedAt - createdAt < settings.graceMs) continue;
    try {
      const result = await deps.store.revokeMissingClient(mapping, nowIso);
      if (result === 'revoked') {
        revokedMappings.push({ clientId: mapping.clientId, userId: mapping.userId });
        log.warn('active credential without an app client marked revoked', {
          clientId: mapping.clientId,
          userId: mapping.userId,
        });
        // Only now: a lost condition means someone else changed the credential, and that change has its own event.
        await announce({ clientId: mapping.clientId, userId: mapping.userId, revokedAt: nowIso });
      } else {
        log.info('credential without an app client changed meanwhile; left as it is', { clientId: mapping.clientId });
      }
    } catch (err) {
      log.error('could not mark a credential without an app client revoked', {
        clientId: mapping.clientId,
        userId: mapping.userId,
        errorName: (err as { name?: unknown }).name,
      });
    }
  }

  // Revocations of earlier runs whose event did not go out (PutEvents failed, or the run ended in between).
  for (const revocation of unannounced) {
    if (deps.remainingMs !== undefined && deps.remainingMs() < 5000) {
      incomplete = true;
      unpublishedEvents.push(revocation.clientId);
      continue;
    }
    await announce(revocation);
  }

  // Runs that committed a change and could not announce it. Out of time, the run stops pulling (each pull is a
  // Step Functions call) and the next run carries on.
  const outOfTime = () => deps.remainingMs !== undefined && deps.remainingMs() < 5000;
  const republishedEvents: { executionArn: string; eventId: string }[] = [];
  const unrepublishedRuns: string[] = [];
  try {
    for await (const executionArn of deps.workflows.unpublishedRuns(startedAt - REPUBLISH_LOOKBACK_MS, outOfTime)) {
      if (outOfTime()) {
        unrepublishedRuns.push(executionArn);
        break;
      }
      const eventId = await republish(deps, executionArn);
      if (eventId === 'failed') unrepublishedRuns.push(executionArn);
      else if (eventId !== 'already') republishedEvents.push({ executionArn, eventId });
    }
    // Out of time, the listing ended early: what it did not reach waits for the next run.
    if (outOfTime()) incomplete = true;
  } catch (err) {
    incomplete = true;
    log.error('could not read the credential workflow runs; their events wait for the next run', {
      errorName: (err as { name?: unknown }).name,
    });
  }

  // Confirmed users the post-confirmation trigger did not provision (or announce). A user changed within the
  // grace age is left alone: their trigger may still be running, and racing it could fail their confirmation.
  const provisionedUsers: string[] = [];
  let unprovisionedUsers = 0;
  let youngUsers = 0;
  try {
    // Checked before the listing starts and after each page, so no ListUsers call is made out of time.
    if (outOfTime()) incomplete = true;
    else pages: for await (const users of deps.pool.confirmedUsers()) {
      for (const { username, lastModifiedMs } of users) {
        if (provisionedUsernames.has(username) && !unannouncedUsernames.has(username)) continue;
        if (lastModifiedMs !== undefined && startedAt - lastModifiedMs < settings.graceMs) {
          youngUsers += 1;
          continue;
        }
        if (outOfTime()) {
          incomplete = true;
          unprovisionedUsers += 1;
          break pages;
        }
        try {
          const result = await deps.provision(username);
          // Neither: the trigger finished it between the scan and now.
          if (!result.created && !result.published) continue;
          provisionedUsers.push(result.userId);
          log.warn('provisioned a confirmed user the post-confirmation trigger did not', {
            userId: result.userId,
            created: result.created,
            published: result.published,
          });
        } catch (err) {
          unprovisionedUsers += 1;
          log.error('could not provision a confirmed user; the next run tries again', {
            errorName: (err as { name?: unknown }).name,
          });
        }
      }
      if (outOfTime()) {
        incomplete = true;
        break;
      }
    }
  } catch (err) {
    incomplete = true;
    log.error('could not list the user pool\'s confirmed users; the next run tries again', {
      errorName: (err as { name?: unknown }).name,
    });
  }

  // Markers whose client is gone (deleted by anyone) or mapped again are dropped.
  let markersCleared = 0;
  for (const marker of markerOf.values()) {
    if (keepMarkers.has(marker.clientId)) continue;
    if (await forgetQuietly(deps, marker.clientId)) markersCleared += 1;
  }

  const report: SweepReport = {
    poolClients: poolClients.length,
    credentialClients,
    mapped,
    deleted,
    tooYoung,
    marked,
    failed,
    revokedMappings,
    publishedEvents,
    unpublishedEvents,
    republishedEvents,
    unrepublishedRuns,
    provisionedUsers,
    youngUsers,
    unprovisionedUsers,
    markersCleared,
    incomplete,
  };
  log.info('sweep finished', {
    poolClients: report.poolClients,
    credentialClients,
    mapped,
    deleted: deleted.length,
    deletedClientIds: deleted.map((d) => d.clientId),
    tooYoung: tooYoung.length,
    marked: marked.length,
    failed: failed.length,
    revokedMappings: revokedMappings.length,
    publishedEvents: publishedEvents.length,
    unpublishedEvents: unpublishedEvents.length,
    republishedEvents: republishedEvents.length,
    unrepublishedRuns: unrepublishedRuns.length,
    provisionedUsers: provisionedUsers.length,
    youngUsers,
    unprovisionedUsers,
    markersCleared,
    incomplete,
    durationMs: clock.now() - startedAt,
  });
  return report;
}

async function deleteWithBackoff(deps: SweeperDeps, clientId: string): Promise<'deleted' | 'gone' | 'throttled' | 'failed'> {
  const waits = deps.settings.throttleBackoffMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await deps.pool.deleteClient(clientId);
    } catch (err) {
      const errorName = (err as { name?: unknown }).name;
      if (isThrottlingError(err)) {
        const wait = waits[attempt];
        if (wait === undefined) {
          deps.log.warn('sweeper throttled; the remaining clients wait for the next run', { clientId });
          return 'throttled';
        }
        await deps.clock.sleep(wait);
        continue;
      }
      deps.log.error('could not delete an orphaned credential client', { clientId, errorName });
      return 'failed';
    }
  }
}

/**
 * Publishes the CredentialRevoked of a mapping the sweeper revoked, then records that it went out. Returns its
 * eventId, or `undefined` when PutEvents failed (the mapping stays unannounced and the next run tries again).
 */
async function announceRevocation(deps: SweeperDeps, revocation: UnannouncedRevocation): Promise<string | undefined> {
  const detail = sweeperRevokedDetail(revocation);
  const ids = { clientId: revocation.clientId, userId: revocation.userId, eventId: detail.eventId };
  try {
    await deps.events.publish({ detailType: 'CredentialRevoked', detail: { ...detail } });
  } catch (err) {
    deps.log.error('could not publish CredentialRevoked; the next run publishes it again', {
      ...ids,
      errorName: (err as { name?: unknown }).name,
    });
    return undefined;
  }
  try {
    await deps.store.recordRevokedEvent(revocation.clientId, detail.eventId);
  } catch (err) {
    // The event went out; without the record the next run repeats it with the same eventId, which consumers drop.
    deps.log.warn('CredentialRevoked published but not recorded; the next run repeats it', {
      ...ids,
      errorName: (err as { name?: unknown }).name,
    });
  }
  deps.log.info('CredentialRevoked published for a credential without an app client', ids);
  return detail.eventId;
}

/**
 * Publishes the event of a run that ended EventNotPublished, unless an earlier sweep did, and records it. Returns
 * its eventId, `'already'` when an earlier sweep published it, or `'failed'` (the next run tries again). Never
 * throws: one run's trouble does not keep the others from going out.
 */
async function republish(deps: SweeperDeps, executionArn: string): Promise<string | 'already' | 'failed'> {
  let event: ProductEvent | undefined;
  try {
    if (await deps.store.isRepublished(executionArn)) return 'already';
    event = await deps.workflows.requestedEvent(executionArn);
  } catch (err) {
    deps.log.error('could not read a run whose event did not go out; the next run tries again', {
      executionArn,
      errorName: (err as { name?: unknown }).name,
    });
    return 'failed';
  }
  if (event === undefined) {
    deps.log.error('AUDIT EVENT MISSING: a run ended EventNotPublished and its history shows no credential event', {
      executionArn,
    });
    return 'failed';
  }
  const ids = { executionArn, eventId: event.detail.eventId, detailType: event.detailType };
  try {
    await deps.events.publish(event);
  } catch (err) {
    deps.log.error('could not publish the event of a committed credential change; the next run tries again', {
      ...ids,
      errorName: (err as { name?: unknown }).name,
    });
    return 'failed';
  }
  try {
    await deps.store.recordRepublished(executionArn, event.detail.eventId, new Date(deps.clock.now()).toISOString());
  } catch (err) {
    // The event went out; without the record a later run repeats it with the same eventId, which consumers drop.
    deps.log.warn('event of a committed credential change published but not recorded; a later run repeats it', {
      ...ids,
      errorName: (err as { name?: unknown }).name,
    });
  }
  deps.log.info('published the event of a committed credential change whose run could not', ids);
  return event.detail.eventId;
}

async function forgetQuietly(deps: SweeperDeps, clientId: string): Promise<boolean> {
  try {
    await deps.store.forget(clientId);
    return true;
  } catch (err) {
    deps.log.warn('could not remove a sweep marker', { clientId, errorName: (err as { name?: unknown }).name });
    return false;
  }
}
