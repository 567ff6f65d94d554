/**
 * The one loader of state machine definitions: reads `statemachines/<name>.asl.json` and fills its
 * `${Placeholder}` substitutions. The CDK stack (definition inline in the template) and the local stack both use
 * it. Every placeholder in a file must be substituted and every substitution must be used; anything else throws.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { STATE_MACHINES } from '../lambdas/shared/contract/names';

export type StateMachineName = (typeof STATE_MACHINES)[keyof typeof STATE_MACHINES];

/** The placeholders of the credential workflow and what each one stands for. */
export interface CredentialWorkflowSubstitutions {
  /** Identity table name. */
  readonly IdentityTableName: string;
  /** Cognito user pool id. */
  readonly UserPoolId: string;
  /** ARN of the function that runs the workflow's Lambda tasks (FUNCTIONS.credentialTasks). */
  readonly CredentialTasksFunctionArn: string;
  /** Custom event bus name. */
  readonly EventBusName: string;
  /** EventBridge source of product events. */
  readonly EventSource: string;
  /** maxCredentialsPerUser, as a decimal string (used in a DynamoDB condition). */
  readonly MaxCredentialsPerUser: string;
}

export const STATE_MACHINE_DIR = dirname(fileURLToPath(import.meta.url));

export function definitionPath(name: StateMachineName): string {
  return join(STATE_MACHINE_DIR, `${name}.asl.json`);
}

const PLACEHOLDER = /\$\{([A-Za-z][A-Za-z0-9]*)\}/g;

/** The placeholder names a definition text uses. */
export function placeholdersOf(text: string): string[] {
  return [...new Set([...text.matchAll(PLACEHOLDER)].map((m) => m[1] as string))].sort();
}

/** Fills the placeholders of a definition text; values are JSON-string escaped. */
export function substitute(text: string, substitutions: Readonly<Record<string, string>>): string {
  const used = placeholdersOf(text);
  const given = Object.keys(substitutions).sort();
  const missing = used.filter((p) => !given.includes(p));
  const unused = given.filter((p) => !used.includes(p));
  if (missing.length > 0 || unused.length > 0) {
    throw new Error(
      `State machine substitutions do not match: missing [${missing.join(', ')}], unused [${unused.join(', ')}]`,
    );
  }
  const filled = text.replace(PLACEHOLDER, (_m, name: string) => JSON.stringify(substitutions[name]).slice(1, -1));
  JSON.parse(filled); // a definition that is not JSON after substitution fails here, not at deploy time
  return filled;
}

/** Loads `statemachines/<name>.asl.json` with its placeholders filled. */
export function loadDefinition(
  name: typeof STATE_MACHINES.credential,
  substitutions: CredentialWorkflowSubstitutions,
): string {
  return substitute(readFileSync(definitionPath(name), 'utf8'), { ...substitutions });
}
