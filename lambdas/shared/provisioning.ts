/**
 * Provisioning a confirmed user: a new internal user id bound to the Cognito username, announced once with a
 * UserProvisioned event.
 *
 * Exactly-once is not on offer (the trigger can fail between the table write and PutEvents, or after PutEvents),
 * so the event is at-least-once with a stable identity:
 * - The eventId is derived from the user id (a name-based UUID), so every publication for one user carries the
 *   same eventId and consumers drop the duplicates (they dedupe on eventId, see contract/events.ts).
 * - `provisionedEventId` is recorded on the user item only after PutEvents accepted the event. A run that finds
 *   the user already provisioned but the marker missing (an earlier run failed in between) publishes again; a run
 *   that finds the marker does nothing. A failed PutEvents throws, so Cognito reports the failure and the next
 *   trigger for this user (a retry, or a later ConfirmForgotPassword) finishes the job.
 */
import { type Clock, isoTime } from './clock';
import { EVENT_CONTRACT_VERSION, type UserProvisionedDetail } from './contract/events';
import type { EventPublisher } from './events-publisher';
import type { UserRecord } from './identity-store';
import { logger } from './logger';
import { uuidV5 } from './uuidv5';

/** The identity-store operations provisioning needs (IdentityStore implements them). */
export interface ProvisioningStore {
  provisionUser(username: string, newUserId: string, createdAt: string): Promise<{ userId: string; created: boolean }>;
  getUser(userId: string): Promise<UserRecord | undefined>;
  recordProvisionedEvent(userId: string, eventId: string): Promise<void>;
}

export interface ProvisioningDeps {
  readonly store: ProvisioningStore;
  readonly events: EventPublisher;
  readonly clock: Clock;
  readonly newId: () => string;
}

export interface ProvisioningResult {
  readonly userId: string;
  /** This run created the user id. */
  readonly created: boolean;
  /** This run published UserProvisioned. */
  readonly published: boolean;
}

/** Namespace of the name-based UUIDs of UserProvisioned events (a fixed random UUID; never change it). */
const USER_PROVISIONED_NAMESPACE = '6f1d9d3c-2b8e-4a51-9c47-0e5b8f7a2d10';

/** The eventId of a user's UserProvisioned event: the same on every publication for that user. */
export function userProvisionedEventId(userId: string): string {
  return uuidV5(USER_PROVISIONED_NAMESPACE, `UserProvisioned:${userId}`);
}

export async function provisionConfirmedUser(deps: ProvisioningDeps, username: string): Promise<ProvisioningResult> {
  const now = isoTime(deps.clock);
  const { userId, created } = await deps.store.provisionUser(username, deps.newId(), now);

  let occurredAt = now;
  if (!created) {
    const user = await deps.store.getUser(userId);
    if (user?.provisionedEventId !== undefined) {
      logger.info('user already provisioned', { userId });
      return { userId, created, published: false };
    }
    // The event tells when the user was provisioned, however late it goes out.
    occurredAt = user?.createdAt ?? now;
  }

  const detail: UserProvisionedDetail = {
    eventId: userProvisionedEventId(userId),
    version: EVENT_CONTRACT_VERSION,
    occurredAt,
    userId,
    username,
    actor: { type: 'user', username },
  };
  await deps.events.publish({ detailType: 'UserProvisioned', detail: { ...detail } });
  await deps.store.recordProvisionedEvent(userId, detail.eventId);
  logger.info('user provisioned', { userId, created, eventId: detail.eventId });
  return { userId, created, published: true };
}
