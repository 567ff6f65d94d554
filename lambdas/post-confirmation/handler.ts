/**
 * Cognito post-confirmation trigger. Cognito invokes it on ConfirmSignUp, AdminConfirmSignUp and
 * ConfirmForgotPassword; the latter provisions users who never were (confirmed before this trigger existed, or
 * whose first run failed). Provisioning is idempotent, so any number of runs leaves one user id per username.
 * The event goes back to Cognito unchanged; a thrown error fails the confirmation call.
 */
import { randomUUID } from 'node:crypto';
import type { PostConfirmationTriggerEvent } from 'aws-lambda';
import { systemClock } from '../shared/clock';
import { dynamoDocumentClient, eventBridgeClient } from '../shared/clients';
import { loadConfig } from '../shared/config';
import { FUNCTIONS } from '../shared/contract/functions';
import { EventBridgePublisher } from '../shared/events-publisher';
import { IdentityStore } from '../shared/identity-store';
import { type ProvisioningDeps, provisionConfirmedUser } from '../shared/provisioning';

export const PROVISIONING_TRIGGERS: readonly string[] = [
  'PostConfirmation_ConfirmSignUp',
  'PostConfirmation_ConfirmForgotPassword',
];

export type PostConfirmationHandler = (event: PostConfirmationTriggerEvent) => Promise<PostConfirmationTriggerEvent>;

export function createPostConfirmationHandler(deps: () => ProvisioningDeps): PostConfirmationHandler {
  return async (event) => {
    if (!PROVISIONING_TRIGGERS.includes(event.triggerSource)) return event;
    await provisionConfirmedUser(deps(), event.userName);
    return event;
  };
}

let built: ProvisioningDeps | undefined;

/** Composition root: built at the first invocation, so importing this module needs no environment. */
function productionDeps(): ProvisioningDeps {
  if (!built) {
    const config = loadConfig(FUNCTIONS.postConfirmation.config);
    built = {
      store: new IdentityStore(dynamoDocumentClient(), config.IDENTITY_TABLE_NAME),
      events: new EventBridgePublisher(eventBridgeClient(), config.EVENT_BUS_NAME),
      clock: systemClock,
      newId: randomUUID,
    };
  }
  return built;
}

export const handler: PostConfirmationHandler = createPostConfirmationHandler(productionDeps);
