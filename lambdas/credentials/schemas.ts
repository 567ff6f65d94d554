/**
 * Request and response shapes of the credentials routes. The zod schemas validate requests at the edge and are
 * also the source of the OpenAPI document's schemas (lambdas/openapi/document.ts), so the document cannot drift
 * from what the handler accepts.
 */
import { z } from 'zod';
import { PATH_PARAM_PATTERNS } from '../shared/contract/routes';
import { CREDENTIAL_STATUSES } from '../shared/contract/table';
import { RESOURCE_SCOPE_NAMES, type ResourceScope } from '../shared/contract/names';

/** Display names: letters, marks, digits, punctuation, symbols and spaces; no control or format characters. */
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}\p{Zs}]+$/u;

export const DEFAULT_CREDENTIAL_NAME = 'API credential';
export const DEFAULT_CREDENTIAL_SCOPES: readonly ResourceScope[] = ['read', 'write'];

const scopeName = z.enum(RESOURCE_SCOPE_NAMES as [ResourceScope, ...ResourceScope[]]);

const credentialName = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(PRINTABLE, 'must contain printable characters only')
  .describe('Display name (1-64 printable characters, trimmed)');

/** Refuses a scope list naming a scope twice (the request bodies here, the CreateClient task's input). */
export function distinctScopes<S extends z.ZodArray<z.ZodType>>(list: S): S {
  return list.refine((items) => new Set(items).size === items.length, 'must not repeat a scope');
}

const scopeList = distinctScopes(z.array(scopeName).min(1))
  .meta({ uniqueItems: true })
  .describe('Resource-server scopes the credential\'s tokens get');

/** POST /credentials. Strict: a body naming any other field (a `userId`, say) is refused with that field named. */
export const CreateCredentialBody = z.strictObject({
  name: credentialName.optional(),
  scopes: scopeList.default([...DEFAULT_CREDENTIAL_SCOPES]),
});
export type CreateCredentialBody = z.infer<typeof CreateCredentialBody>;

/** POST /credentials/{clientId}/reset. Body optional; name and scopes default to the replaced credential's. */
export const ResetCredentialBody = z.strictObject({
  name: credentialName.optional(),
  scopes: scopeList.optional(),
});
export type ResetCredentialBody = z.infer<typeof ResetCredentialBody>;

/**
 * The `Idempotency-Key` request header: 1-255 visible ASCII characters. A repeated create/reset/revoke with the
 * same key returns the first request's result instead of doing it again.
 */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';
export const IdempotencyKey = z
  .string()
  .regex(/^[\x21-\x7e]{1,255}$/, 'must be 1-255 visible ASCII characters')
  .describe('Makes a retried request return the first request\'s result instead of running again');

const clientId = z.string().regex(PATH_PARAM_PATTERNS['clientId'] ?? /^$/).describe('Cognito app client id');
const isoTime = z.iso.datetime().describe('ISO-8601 time');

export const CredentialSummary = z.strictObject({
  clientId,
  name: z.string(),
  scopes: z.array(scopeName),
  status: z.enum(CREDENTIAL_STATUSES),
  createdAt: isoTime,
  revokedAt: isoTime.optional(),
});
export type CredentialSummary = z.infer<typeof CredentialSummary>;

export const CredentialList = z.strictObject({ credentials: z.array(CredentialSummary) });

/** The only response that carries a client secret (create); sent with `Cache-Control: no-store`. */
export const IssuedCredential = z.strictObject({
  clientId,
  clientSecret: z.string().min(1).describe('The client secret; shown only in this response'),
  name: z.string(),
  scopes: z.array(scopeName),
  tokenUrl: z.url().describe('OAuth 2.0 token endpoint for the client_credentials grant'),
  createdAt: isoTime,
});
export type IssuedCredential = z.infer<typeof IssuedCredential>;

/** Reset: the new pair plus the id of the pair it replaced (which no longer works). */
export const ReissuedCredential = IssuedCredential.extend({ previousClientId: clientId });
export type ReissuedCredential = z.infer<typeof ReissuedCredential>;
