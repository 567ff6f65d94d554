/**
 * The caller resolver: the one function every protected handler goes through. It turns the claims of an access
 * token that API Gateway's Cognito authorizer (or the local gateway) already verified into the caller's internal
 * user id. It decides by `token_use` and by which claims are present, never by the shape of `sub`: in
 * client-credentials tokens `sub` equals `client_id`, so a `sub` can never be trusted to name a user.
 *
 * Both lookups are strongly consistent GetItems of base-table items, so a client revoked or reset a moment ago is
 * refused on the very next request (invariant I3).
 */
import type { IdentityLookup } from './identity-store';

/** What a handler learns about its caller, and nothing else. */
export interface Caller {
  readonly userId: string;
  readonly via: 'user' | 'client';
  readonly username?: string;
  readonly clientId?: string;
  readonly scopes: readonly string[];
}

/** Claims as API Gateway passes them (`requestContext.authorizer.claims`): values are usually strings. */
export type Claims = Readonly<Record<string, unknown>>;

export type ResolveDenial =
  | { readonly code: 'unauthorized'; readonly reason: ResolveDenialReason }
  | { readonly code: 'forbidden'; readonly reason: 'user_token_required' };

export type ResolveDenialReason =
  | 'no_claims'
  | 'not_access_token'
  | 'missing_identity'
  | 'unknown_user'
  | 'unknown_client'
  | 'revoked_client';

export type ResolveResult = { readonly ok: true; readonly caller: Caller } | { readonly ok: false; readonly denial: ResolveDenial };

// Cognito usernames: up to 128 characters of \p{L}\p{M}\p{S}\p{N}\p{P} (AWS API reference, UsernameType).
const USERNAME_PATTERN = /^[\p{L}\p{M}\p{S}\p{N}\p{P}]{1,128}$/u;
const CLIENT_ID_PATTERN = /^[\w+]{1,128}$/;

function claimString(claims: Claims, name: string): string | undefined {
  const value = claims[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** Parses the `scope` claim (space-separated per RFC 6749 §3.3; an array is accepted too). */
export function parseScopes(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((s): s is string => typeof s === 'string' && s.length > 0);
  if (typeof value !== 'string') return [];
  return value.split(/\s+/).filter((s) => s.length > 0);
}

/**
 * Resolves verified access-token claims to the caller.
 * @param options.userOnly the route manages credentials: client-credentials tokens get 403.
 */
export async function resolveCaller(
  claims: Claims | undefined | null,
  lookup: IdentityLookup,
  options: { userOnly?: boolean } = {},
): Promise<ResolveResult> {
  const deny = (reason: ResolveDenialReason): ResolveResult => ({ ok: false, denial: { code: 'unauthorized', reason } });
  if (!claims || typeof claims !== 'object') return deny('no_claims');
  if (claims['token_use'] !== 'access') return deny('not_access_token');

  const scopes = parseScopes(claims['scope']);
  const username = claimString(claims, 'username');
  const clientId = claimString(claims, 'client_id');

  if (username !== undefined) {
    // A user token (a signed-in user through some app client). The username, not `sub`, names the user.
    if (!USERNAME_PATTERN.test(username)) return deny('missing_identity');
    const userId = await lookup.userIdForUsername(username);
    if (userId === undefined) return deny('unknown_user');
    return { ok: true, caller: { userId, via: 'user', username, ...(clientId ? { clientId } : {}), scopes } };
  }

  if (clientId !== undefined) {
    // A client-credentials token: no username; the client must be mapped and active.
    if (!CLIENT_ID_PATTERN.test(clientId)) return deny('missing_identity');
    if (options.userOnly) return { ok: false, denial: { code: 'forbidden', reason: 'user_token_required' } };
    const mapping = await lookup.clientMapping(clientId);
    if (mapping === undefined) return deny('unknown_client');
    if (mapping.status !== 'active') return deny('revoked_client');
    return { ok: true, caller: { userId: mapping.userId, via: 'client', clientId, scopes } };
  }

  return deny('missing_identity');
}
