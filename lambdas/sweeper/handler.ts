/**
 * Lambda entry of the reconciliation sweeper (FUNCTIONS.sweeper). On AWS a scheduled EventBridge rule invokes it
 * every SWEEP_SCHEDULE_MINUTES; locally the stack invokes it on an interval and `npm run sweep` once. The event
 * carries nothing the sweep uses: everything it acts on is read from the pool and the table, and its settings
 * come from configuration only, so whoever may invoke it cannot make it delete younger clients.
 */
import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { systemClock } from '../shared/clock';
import { cognitoClient, dynamoDocumentClient, eventBridgeClient, stepFunctionsClient } from '../shared/clients';
import { loadConfig } from '../shared/config';
import { FUNCTIONS } from '../shared/contract/functions';
import { EventBridgePublisher } from '../shared/events-publisher';
import { IdentityStore } from '../shared/identity-store';
import { logger } from '../shared/logger';
import { provisionConfirmedUser } from '../shared/provisioning';
import { CognitoPool, DynamoSweeperStore, StepFunctionsWorkflows } from './adapters';
import { DEFAULT_SWEEPER_SETTINGS, type SweepReport, type SweeperDeps, sweep } from './core';

type ProductionDeps = Omit<SweeperDeps, 'remainingMs'>;
let built: ProductionDeps | undefined;

/** Composition root, built on the first invocation. */
function productionDeps(): ProductionDeps {
  if (built) return built;
  const config = loadConfig(FUNCTIONS.sweeper.config);
  const events = new EventBridgePublisher(eventBridgeClient(), config.EVENT_BUS_NAME);
  const identities = new IdentityStore(dynamoDocumentClient(), config.IDENTITY_TABLE_NAME);
  const deps: ProductionDeps = {
    pool: new CognitoPool(cognitoClient(), config.USER_POOL_ID),
    store: new DynamoSweeperStore(dynamoDocumentClient(), config.IDENTITY_TABLE_NAME),
    clock: systemClock,
    settings: { ...DEFAULT_SWEEPER_SETTINGS, graceMs: config.SWEEPER_GRACE_SECONDS * 1000 },
    log: logger,
    events,
    // The post-confirmation trigger's own provisioning, for confirmed users it did not provision.
    provision: (username) => provisionConfirmedUser({ store: identities, events, clock: systemClock, newId: randomUUID }, username),
    workflows: new StepFunctionsWorkflows(stepFunctionsClient(), config.CREDENTIAL_STATE_MACHINE_ARN),
  };
  built = deps;
  return deps;
}

export const handler = async (_event: unknown, context?: Pick<Context, 'getRemainingTimeInMillis'>): Promise<SweepReport> => {
  const deps = productionDeps();
  return sweep(
    context?.getRemainingTimeInMillis ? { ...deps, remainingMs: () => context.getRemainingTimeInMillis() } : deps,
  );
};
