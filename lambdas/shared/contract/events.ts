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

export const EVENT_CONTRACT_VERSION = 1;

export interface EventActor {
  readonly type: 'user';
  readonly username: string;
}

export interface UserProvisionedDetail {
  readonly eventId: string;
  readonly version: 1;
  readonly occurredAt: string;
  readonly userId: string;
  readonly username: string;
  readonly actor: EventActor;
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
