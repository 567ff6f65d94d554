/**
 * Input and output of the credential workflow (statemachines/credential-workflow.asl.json). The credentials API
 * handler builds the input and reads the output; the state machine definition uses these field names. No secret
 * is ever part of either: the CreateClient task returns only the new client id, and the API handler reads the
 * secret once, after the workflow succeeded, with DescribeUserPoolClient.
 */
export const CREDENTIAL_OPERATIONS = ['create', 'reset', 'revoke'] as const;
export type CredentialOperation = (typeof CREDENTIAL_OPERATIONS)[number];

export interface CredentialWorkflowInput {
  readonly operation: CredentialOperation;
  /** Unique id of this operation (a UUID); recorded in the new client's name. */
  readonly operationId: string;
  readonly userId: string;
  readonly username: string;
  /** The user item's `version` the API handler read; the workflow's first step only proceeds if it is unchanged. */
  readonly expectedVersion: number;
  /** ISO-8601 time until which this operation holds the per-user lock (crashed runs release it by expiry). */
  readonly lockExpiresAt: string;
  /** create/reset: the new credential's display name and full OAuth scopes (e.g. `devaccess/read`). */
  readonly name?: string;
  readonly scopes?: readonly string[];
  /** reset/revoke: the credential being replaced or revoked. */
  readonly clientId?: string;
  /** Creation time of the new credential (ISO-8601). */
  readonly requestedAt: string;
  /**
   * Requests with an Idempotency-Key only: a hash of the request (operation, target, normalized body) the key was
   * first used with. The workflow ignores it; the API compares it when the key comes back (a different request
   * with a used key is refused, not answered with the first request's result).
   */
  readonly requestHash?: string;
}

/** Output of a successful execution. */
export interface CredentialWorkflowOutput {
  readonly operation: CredentialOperation;
  readonly userId: string;
  /** The new client (create/reset) or the revoked one (revoke). */
  readonly clientId: string;
  readonly previousClientId?: string;
  readonly scopes?: readonly string[];
  readonly eventId: string;
}

/**
 * Error names the workflow fails with (the `Error` of its Fail states); the API handler maps them to HTTP
 * statuses. `Conflict` (409): another operation holds the lock or changed the user first, or the commit found the
 * user at maxCredentialsPerUser or the credential no longer active (the API checks both before it starts a run,
 * so inside the workflow they are races). `EventNotPublished`: the change IS committed (lock released, mapping written) and only its event is missing;
 * the API answers it as the success it is, and a repeated request never starts another run for it.
 * `Failed`: the change was not made (in the rare CommitUnconfirmed case: not known to be made; the sweeper
 * removes its client if it was not); the request may be retried.
 */
export const WORKFLOW_ERRORS = ['Conflict', 'EventNotPublished', 'Failed'] as const;
export type WorkflowError = (typeof WORKFLOW_ERRORS)[number];

/** Payload of the CreateClient task (a Lambda function: the SDK response holds the secret, so it never leaves it). */
export interface CreateClientTaskInput {
  readonly task: 'createClient';
  readonly userId: string;
  readonly operationId: string;
  readonly scopes: readonly string[];
}
export interface CreateClientTaskOutput {
  readonly clientId: string;
}
