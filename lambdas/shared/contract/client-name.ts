/**
 * The name of the Cognito app client behind a credential, `devaccess-<userId>-<operationId>`: built by the
 * workflow's CreateClient step, read back by the reconciliation sweeper (and the invariant checks). One module
 * holds both directions so the format cannot drift between them.
 */
import { uuidv7Time } from '../uuidv7';
import { CREDENTIAL_CLIENT_NAME_PREFIX } from './names';

/**
 * The deterministic name of the client an operation creates: it records the user and the operation, so a client
 * left behind by a failed or retried run can be traced to both.
 */
export function credentialClientName(userId: string, operationId: string): string {
  return `${CREDENTIAL_CLIENT_NAME_PREFIX}${userId}-${operationId}`;
}

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const CREDENTIAL_NAME = new RegExp(`^${escapeRegExp(CREDENTIAL_CLIENT_NAME_PREFIX)}(${UUID})-(${UUID})$`);

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The user and operation a credential client's name records, and the time its operation id carries (a UUIDv7), or
 * `undefined` for any other client (the UI client `devaccess-ui` shares the prefix, so the whole shape is checked,
 * not just the prefix).
 */
export function parseCredentialClientName(
  name: string,
): { readonly userId: string; readonly operationId: string; readonly createdAtMs?: number } | undefined {
  const m = CREDENTIAL_NAME.exec(name);
  if (!m) return undefined;
  const userId = m[1] as string;
  const operationId = m[2] as string;
  const createdAtMs = uuidv7Time(operationId);
  return { userId, operationId, ...(createdAtMs === undefined ? {} : { createdAtMs }) };
}
