/**
 * The event contract: what the product publishes on its EventBridge bus. Source `devaccess`; one detail type per
 * change; `detail.version` is the contract version; `detail.eventId` lets consumers drop duplicates (EventBridge
 * delivers at least once). Each detail type has a JSON schema in ./schemas, tested against emitted events.
 * No event ever carries a secret or a token.
 */
import { EVENT_SOURCE } from './names';

export const EVENT_DETAIL_TYPES = [
  'UserProvisioned',
  'CredentialCreated',
  'CredentialReset',
  'CredentialRevoked',
] as const;
export type EventDetailType = (typeof EVENT_DETAIL_TYPES)[number];

export const CREDENTIAL_EVENT_TYPES: readonly EventDetailType[] = [
  'CredentialCreated',
  'CredentialReset',
  'CredentialRevoked',
];

/**
 * Still 1 after the system actor (see EventActor) was added, because that change is additive: every detail that was
 * valid before is valid now and means the same, and no field was renamed, retyped or dropped. A new version is for
 * a change that invalidates or reinterprets events already published (EventBridge archives and replays them).
 * Consumers should switch on `actor.type` rather than assume `actor.username`: a CredentialRevoked may now come
 * from the system, without a username.
 */
export const EVENT_CONTRACT_VERSION = 1;

/** A signed-in user made the change (through the API, hence the credential workflow). */
export interface UserActor {
  readonly type: 'user';
  readonly username: string;
}

/**
 * The product made the change on its own: the reconciliation sweeper revoked an active credential whose Cognito app
 * client no longer exists (deleted out of band). Only CredentialRevoked carries it.
 */
export interface SystemActor {
  readonly type: 'system';
  readonly name: 'sweeper';
}

export type EventActor = UserActor | SystemActor;

export interface UserProvisionedDetail {
  readonly eventId: string;
  readonly version: 1;
  readonly occurredAt: string;
  readonly userId: string;
  readonly username: string;
  readonly actor: UserActor;
}

export interface CredentialEventDetail {
  readonly eventId: string;
  readonly version: 1;
  readonly occurredAt: string;
  readonly userId: string;
  readonly clientId: string;
  readonly previousClientId?: string;
  readonly scopes?: readonly string[];
  readonly actor: EventActor;
  /**
   * The Step Functions execution that made the change; present whenever one did (every user-initiated change).
   * Absent only when the system acted outside a workflow (the sweeper, a Lambda function on a schedule).
   */
  readonly executionId?: string;
}

/** The event pattern that selects every credential event (the audit rule and `npm run events` use it). */
export const CREDENTIAL_EVENTS_PATTERN = {
  source: [EVENT_SOURCE],
  'detail-type': [...CREDENTIAL_EVENT_TYPES],
} as const;

/** The event pattern that selects every event the product publishes. */
export const ALL_EVENTS_PATTERN = {
  source: [EVENT_SOURCE],
} as const;

/** File name of the JSON schema of a detail type, in lambdas/shared/contract/schemas/. */
export function eventSchemaFile(detailType: EventDetailType): string {
  return `${detailType}.schema.json`;
}
