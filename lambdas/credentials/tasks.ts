/**
 * Lambda entry of the credential workflow's function tasks (FUNCTIONS.credentialTasks). Today one task:
 * `createClient` (see ./client-factory.ts for why it is a function and what it returns).
 */
import { cognitoClient } from '../shared/clients';
import { loadConfig } from '../shared/config';
import { FUNCTIONS } from '../shared/contract/functions';
import type { CreateClientTaskInput, CreateClientTaskOutput } from '../shared/contract/workflow';
import { type ClientFactoryDeps, createCredentialClient } from './client-factory';

// Cold start: a missing or invalid variable fails here, naming it, rather than in the middle of a workflow run.
const deps: ClientFactoryDeps = {
  cognito: cognitoClient(),
  config: loadConfig(FUNCTIONS.credentialTasks.config),
};

export const handler = async (event: CreateClientTaskInput): Promise<CreateClientTaskOutput> =>
  createCredentialClient(event, deps);
