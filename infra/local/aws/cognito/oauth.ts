/**
 * The user pool's OAuth 2.0 / OIDC endpoints (on AWS they live on the pool's domain):
 * - `POST /oauth2/token`: client_credentials, authorization_code (with PKCE S256) and refresh_token grants.
 *   Errors per RFC 6749 §5.2 as `{ error, error_description }`; client authentication per §2.3.1.
 * - `GET /oauth2/authorize` -> `302 /login?...`: a minimal sign-in page (CSRF-protected form) that redirects to
 *   the registered `redirect_uri` with `code` and `state`.
 * - `GET /logout`, `GET|POST /oauth2/userInfo`.
 * - `GET /<userPoolId>/.well-known/jwks.json` and `/.well-known/openid-configuration`.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TOKEN_PATH, USER_ADMIN_SCOPE } from '../../../../lambdas/shared/contract/names';
import { AwsServiceError, type HttpRoute } from '../types';
import { newOpaqueToken, safeEqual, sha256Hex } from './ids';
import type { CognitoModel } from './model';
import type { ClientRecord, PoolRecord } from './types';

/** Authorization codes live 5 minutes and work once (Cognito). */
export const AUTHORIZATION_CODE_TTL_MS = 5 * 60 * 1000;
const MAX_FORM_BYTES = 16 * 1024;
const CSRF_COOKIE = 'XSRF-TOKEN';

interface AuthorizationCode {
  readonly poolId: string;
  readonly clientId: string;
  readonly username: string;
  readonly redirectUri: string;
  readonly scopes: string[];
  readonly codeChallenge?: string;
  readonly nonce?: string;
  readonly expiresAt: number;
}

type OAuthError =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope';

class TokenError extends Error {
  constructor(
    readonly error: OAuthError,
    readonly description: string,
  ) {
    super(description);
  }
}

class BodyError extends Error {}

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > limit) throw new BodyError(`request body larger than ${limit} bytes`);
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

/** Parses a form body; RFC 6749 §3.1/§3.2: parameters must not be repeated. */
function parseForm(body: string): Map<string, string> | { duplicate: string } {
  const params = new Map<string, string>();
  for (const [k, v] of new URLSearchParams(body)) {
    if (params.has(k)) return { duplicate: k };
    params.set(k, v);
  }
  return params;
}

function headerCount(req: IncomingMessage, name: string): number {
  let n = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i]?.toLowerCase() === name) n += 1;
  return n;
}

/** RFC 6749 §2.3.1: id and secret are form-urlencoded before they are joined and base64-encoded. */
function formDecode(value: string): string {
  return decodeURIComponent(value.replace(/\+/g, ' '));
}

function cookies(req: IncomingMessage): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return out;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json;charset=UTF-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    Pragma: 'no-cache',
    ...headers,
  });
  res.end(text);
}

function redirect(res: ServerResponse, location: string, headers: Record<string, string> = {}): void {
  res.writeHead(302, { Location: location, 'Cache-Control': 'no-store', 'Content-Length': 0, ...headers });
  res.end();
}

const PAGE_HEADERS = {
  'Content-Type': 'text/html; charset=utf-8',
  'Cache-Control': 'no-store',
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
};

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:22rem;margin:4rem auto;padding:0 1rem}
label,input,button{display:block;width:100%;box-sizing:border-box;margin:.4rem 0}input,button{padding:.5rem}
.error{color:#b00020}small{color:#666}</style></head>
<body>${body}</body></html>`;
}

function sendPage(res: ServerResponse, status: number, html: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...PAGE_HEADERS, 'Content-Length': Buffer.byteLength(html), ...headers });
  res.end(html);
}

function errorPage(res: ServerResponse, status: number, error: string, description: string): void {
  sendPage(
    res,
    status,
    page('Sign-in error', `<h1>Sign-in error</h1><p class="error">${escapeHtml(error)}</p><p>${escapeHtml(description)}</p>`),
  );
}

/** Valid authorization request, or what to answer: an error page (bad client/redirect URI) or an error redirect. */
type AuthorizeCheck =
  | {
      readonly ok: true;
      readonly pool: PoolRecord;
      readonly client: ClientRecord;
      readonly redirectUri: string;
      readonly scopes: string[];
      readonly state?: string;
      readonly codeChallenge?: string;
      readonly nonce?: string;
    }
  | { readonly ok: false; readonly page: { error: string; description: string } }
  | { readonly ok: false; readonly redirect: string };

export function createOAuthRoutes(model: CognitoModel): HttpRoute {
  const codes = new Map<string, AuthorizationCode>();

  const checkAuthorize = (q: URLSearchParams): AuthorizeCheck => {
    for (const k of new Set(q.keys())) {
      if (q.getAll(k).length > 1) return { ok: false, page: { error: 'invalid_request', description: `Duplicated parameter: ${k}` } };
    }
    const clientId = q.get('client_id');
    if (!clientId) return { ok: false, page: { error: 'invalid_request', description: 'Missing client_id.' } };
    const found = model.findClient(clientId);
    if (!found) return { ok: false, page: { error: 'invalid_request', description: 'Client does not exist.' } };
    const { pool, client } = found;
    // RFC 6749 §4.1.2.1: with an unregistered redirect URI the error is shown here, never redirected to it.
    const redirectUri = q.get('redirect_uri');
    if (!redirectUri || !(client.settings.CallbackURLs ?? []).includes(redirectUri)) {
      return { ok: false, page: { error: 'redirect_mismatch', description: 'redirect_uri is not a registered callback URL of this client.' } };
    }
    const state = q.get('state') ?? undefined;
    const fail = (error: string, description: string): AuthorizeCheck => {
      const url = new URL(redirectUri);
      url.searchParams.set('error', error);
      url.searchParams.set('error_description', description);
      if (state !== undefined) url.searchParams.set('state', state);
      return { ok: false, redirect: url.toString() };
    };
    const responseType = q.get('response_type');
    if (!responseType) return fail('invalid_request', 'Missing response_type.');
    if (responseType !== 'code') return fail('unsupported_response_type', 'Only response_type=code is emulated locally.');
    const s = client.settings;
    if (!s.AllowedOAuthFlowsUserPoolClient || !(s.AllowedOAuthFlows ?? []).includes('code')) {
      return fail('unauthorized_client', 'The client is not allowed the authorization code grant.');
    }
    if (!(s.SupportedIdentityProviders ?? []).includes('COGNITO')) {
      return fail('unauthorized_client', 'The client does not support sign-in with the user pool (COGNITO).');
    }
    const allowed = s.AllowedOAuthScopes ?? [];
    const requested = q.get('scope');
    const scopes = requested === null ? [...allowed] : [...new Set(requested.split(' ').filter((x) => x !== ''))];
    if (scopes.length === 0 || scopes.some((x) => !allowed.includes(x))) return fail('invalid_scope', 'A requested scope is not allowed for this client.');
    const challenge = q.get('code_challenge') ?? undefined;
    const method = q.get('code_challenge_method') ?? undefined;
    if (challenge !== undefined || method !== undefined) {
      if (method !== 'S256') return fail('invalid_request', 'code_challenge_method must be S256.');
      if (challenge === undefined || !/^[A-Za-z0-9_-]{43,128}$/.test(challenge)) {
        return fail('invalid_request', 'code_challenge must be a base64url-encoded SHA-256 hash.');
      }
    }
    const nonce = q.get('nonce') ?? undefined;
    return {
      ok: true,
      pool,
      client,
      redirectUri,
      scopes,
      ...(state !== undefined ? { state } : {}),
      ...(challenge !== undefined ? { codeChallenge: challenge } : {}),
      ...(nonce !== undefined ? { nonce } : {}),
    };
  };

  const loginForm = (query: string, csrf: string, username: string, message?: string): string =>
    page(
      'Sign in',
      `<h1>Sign in</h1>${message ? `<p class="error" role="alert">${escapeHtml(message)}</p>` : ''}
<form method="post" action="/login?${escapeHtml(query)}">
<input type="hidden" name="_csrf" value="${escapeHtml(csrf)}">
<label for="username">Username</label><input id="username" name="username" autocomplete="username" required value="${escapeHtml(username)}">
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button></form>
<p><small>Local Cognito emulation: no email is sent; confirmation codes are in the outbox file.</small></p>`,
    );

  const showLogin = (res: ServerResponse, url: URL, status = 200, username = '', message?: string): void => {
    const csrf = newOpaqueToken(24);
    sendPage(res, status, loginForm(url.searchParams.toString(), csrf, username, message), {
      'Set-Cookie': `${CSRF_COOKIE}=${csrf}; Path=/; HttpOnly; SameSite=Lax`,
    });
  };

  const authorize = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    if (req.method !== 'GET') return errorPage(res, 405, 'invalid_request', 'Use GET.');
    const check = checkAuthorize(url.searchParams);
    if (!check.ok) return 'page' in check ? errorPage(res, 400, check.page.error, check.page.description) : redirect(res, check.redirect);
    // Cognito's managed login: /oauth2/authorize sends the browser to /login with the same parameters.
    redirect(res, `/login?${url.searchParams.toString()}`);
  };

  const login = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const check = checkAuthorize(url.searchParams);
    if (!check.ok) return 'page' in check ? errorPage(res, 400, check.page.error, check.page.description) : redirect(res, check.redirect);
    if (req.method === 'GET') return showLogin(res, url);
    if (req.method !== 'POST') return errorPage(res, 405, 'invalid_request', 'Use GET or POST.');
    if (mediaType(req) !== 'application/x-www-form-urlencoded') return errorPage(res, 415, 'invalid_request', 'Expected a form.');
    let form: Map<string, string> | { duplicate: string };
    try {
      form = parseForm(await readBody(req, MAX_FORM_BYTES));
    } catch {
      return errorPage(res, 413, 'invalid_request', 'The form is too large.');
    }
    if (!(form instanceof Map)) return errorPage(res, 400, 'invalid_request', `Duplicated field: ${form.duplicate}`);
    const cookie = cookies(req).get(CSRF_COOKIE);
    const csrf = form.get('_csrf');
    if (!cookie || !csrf || !safeEqual(cookie, csrf)) {
      return errorPage(res, 403, 'invalid_request', 'The sign-in form expired or was not sent from this page. Start again.');
    }
    const username = form.get('username') ?? '';
    const password = form.get('password') ?? '';
    if (username === '' || password === '') return showLogin(res, url, 400, username, 'Enter your username and password.');
    let user;
    try {
      user = await model.signIn(check.pool, check.client, username, password);
    } catch (err) {
      if (!(err instanceof AwsServiceError)) throw err;
      // Managed login does not reveal whether a user exists.
      const message =
        err.type === 'UserNotConfirmedException'
          ? 'User is not confirmed.'
          : err.type === 'NotAuthorizedException' && err.message !== 'Incorrect username or password.'
            ? err.message
            : 'Incorrect username or password.';
      return showLogin(res, url, 400, username, message);
    }
    if (user.status === 'FORCE_CHANGE_PASSWORD') {
      return showLogin(res, url, 400, username, 'A new password is required before signing in here (RespondToAuthChallenge).');
    }
    const code = randomUUID();
    const now = model.now().getTime();
    for (const [k, c] of codes) if (c.expiresAt < now) codes.delete(k);
    codes.set(sha256Hex(code), {
      poolId: check.pool.id,
      clientId: check.client.clientId,
      username: user.username,
      redirectUri: check.redirectUri,
      scopes: check.scopes,
      expiresAt: now + AUTHORIZATION_CODE_TTL_MS,
      ...(check.codeChallenge !== undefined ? { codeChallenge: check.codeChallenge } : {}),
      ...(check.nonce !== undefined ? { nonce: check.nonce } : {}),
    });
    const target = new URL(check.redirectUri);
    target.searchParams.set('code', code);
    if (check.state !== undefined) target.searchParams.set('state', check.state);
    redirect(res, target.toString(), { 'Set-Cookie': `${CSRF_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0` });
  };

  const logout = async (res: ServerResponse, url: URL): Promise<void> => {
    const clientId = url.searchParams.get('client_id');
    const logoutUri = url.searchParams.get('logout_uri');
    const found = clientId ? model.findClient(clientId) : undefined;
    if (!found) return errorPage(res, 400, 'invalid_request', 'Unknown client_id.');
    if (!logoutUri || !(found.client.settings.LogoutURLs ?? []).includes(logoutUri)) {
      return errorPage(res, 400, 'invalid_request', 'logout_uri is not a registered sign-out URL of this client.');
    }
    redirect(res, logoutUri);
  };

  // ----------------------------------------------------------------------------------- token endpoint

  /** RFC 6749 §2.3.1 client authentication: HTTP Basic or client_id/client_secret in the body, never both. */
  const authenticateClient = (req: IncomingMessage, form: Map<string, string>): { pool: PoolRecord; client: ClientRecord } => {
    const header = req.headers.authorization;
    let id: string | undefined;
    let secret: string | undefined;
    if (headerCount(req, 'authorization') > 1) throw new TokenError('invalid_request', 'Duplicated Authorization header.');
    if (header !== undefined) {
      const m = /^Basic +([A-Za-z0-9+/]+={0,2})$/i.exec(header.trim());
      if (!m) throw new TokenError('invalid_client', 'Client authentication must use the Basic scheme.');
      const decoded = Buffer.from(m[1] as string, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) throw new TokenError('invalid_client', 'Malformed Basic credentials.');
      try {
        id = formDecode(decoded.slice(0, colon));
        secret = formDecode(decoded.slice(colon + 1));
      } catch {
        throw new TokenError('invalid_client', 'Malformed Basic credentials.');
      }
      if (form.has('client_secret')) {
        throw new TokenError('invalid_request', 'Use one client authentication method: the Authorization header or the body.');
      }
      const bodyId = form.get('client_id');
      if (bodyId !== undefined && bodyId !== id) throw new TokenError('invalid_request', 'client_id does not match the authenticated client.');
    } else {
      id = form.get('client_id');
      secret = form.get('client_secret');
    }
    if (!id) throw new TokenError('invalid_client', 'Client authentication failed.');
    const found = model.findClient(id);
    if (!found) throw new TokenError('invalid_client', 'Client authentication failed.');
    const expected = model.clientSecret(found.client);
    // Public clients (no secret) authenticate by id alone; presenting a secret to one, or a wrong secret, fails.
    if (expected === undefined ? secret !== undefined && secret !== '' : secret === undefined || !safeEqual(secret, expected)) {
      throw new TokenError('invalid_client', 'Client authentication failed.');
    }
    return found;
  };

  const tokenResponse = (res: ServerResponse, body: Record<string, unknown>): void => sendJson(res, 200, body);

  const clientCredentials = async (res: ServerResponse, pool: PoolRecord, client: ClientRecord, form: Map<string, string>) => {
    const s = client.settings;
    if (!s.AllowedOAuthFlowsUserPoolClient || !(s.AllowedOAuthFlows ?? []).includes('client_credentials')) {
      throw new TokenError('unauthorized_client', 'The client is not allowed the client_credentials grant.');
    }
    const allowed = s.AllowedOAuthScopes ?? [];
    const requested = form.get('scope');
    let scopes: string[];
    if (requested === undefined) {
      scopes = [...allowed];
    } else {
      const wanted = new Set(requested.split(' ').filter((x) => x !== ''));
      if (wanted.size === 0) throw new TokenError('invalid_scope', 'The scope parameter is empty.');
      const bad = [...wanted].find((x) => !allowed.includes(x));
      if (bad !== undefined) throw new TokenError('invalid_scope', `Scope ${bad} is not allowed for this client.`);
      scopes = allowed.filter((x) => wanted.has(x));
    }
    // A scope whose resource server (or scope) was deleted after the client was created is not granted.
    const stale = scopes.find((x) => {
      const slash = x.lastIndexOf('/');
      const rs = pool.resourceServers[x.slice(0, slash)];
      return !rs || !rs.scopes.some((y) => y.ScopeName === x.slice(slash + 1));
    });
    if (stale !== undefined) throw new TokenError('invalid_scope', `Scope ${stale} does not exist.`);
    const { token, expiresIn } = await model.issueClientToken(pool, client, scopes);
    tokenResponse(res, { access_token: token, expires_in: expiresIn, token_type: 'Bearer' });
  };

  const authorizationCode = async (res: ServerResponse, pool: PoolRecord, client: ClientRecord, form: Map<string, string>) => {
    const s = client.settings;
    if (!s.AllowedOAuthFlowsUserPoolClient || !(s.AllowedOAuthFlows ?? []).includes('code')) {
      throw new TokenError('unauthorized_client', 'The client is not allowed the authorization_code grant.');
    }
    const code = form.get('code');
    const redirectUri = form.get('redirect_uri');
    if (!code) throw new TokenError('invalid_request', 'Missing code.');
    if (!redirectUri) throw new TokenError('invalid_request', 'Missing redirect_uri.');
    const key = sha256Hex(code);
    const grant = codes.get(key);
    // One attempt per code, successful or not (RFC 6749 §4.1.2: a code is used once).
    codes.delete(key);
    if (!grant || grant.clientId !== client.clientId || grant.poolId !== pool.id || grant.expiresAt < model.now().getTime()) {
      throw new TokenError('invalid_grant', 'The authorization code is invalid or expired.');
    }
    if (grant.redirectUri !== redirectUri) throw new TokenError('invalid_grant', 'redirect_uri does not match the authorization request.');
    if (grant.codeChallenge !== undefined) {
      const verifier = form.get('code_verifier');
      if (!verifier || !/^[A-Za-z0-9\-._~]{43,128}$/.test(verifier)) throw new TokenError('invalid_grant', 'Missing or malformed code_verifier.');
      const computed = createHash('sha256').update(verifier).digest('base64url');
      if (!safeEqual(computed, grant.codeChallenge)) throw new TokenError('invalid_grant', 'code_verifier does not match the code_challenge.');
    }
    const user = pool.users[model.canonicalUsername(pool, grant.username)];
    if (!user || !user.enabled || user.status !== 'CONFIRMED') throw new TokenError('invalid_grant', 'The user can no longer sign in.');
    const issued = await model.issueUserTokens(pool, client, user, {
      scopes: grant.scopes,
      idToken: grant.scopes.includes('openid'),
      refreshToken: true,
      ...(grant.nonce !== undefined ? { nonce: grant.nonce } : {}),
    });
    tokenResponse(res, {
      ...(issued.idToken !== undefined ? { id_token: issued.idToken } : {}),
      access_token: issued.accessToken,
      refresh_token: issued.refreshToken,
      expires_in: issued.expiresIn,
      token_type: 'Bearer',
    });
  };

  const refreshToken = async (res: ServerResponse, pool: PoolRecord, client: ClientRecord, form: Map<string, string>) => {
    const flows = client.settings.ExplicitAuthFlows;
    if (flows.some((f) => f.startsWith('ALLOW_')) && !flows.includes('ALLOW_REFRESH_TOKEN_AUTH')) {
      throw new TokenError('unauthorized_client', 'The client is not allowed to refresh tokens.');
    }
    const token = form.get('refresh_token');
    if (!token) throw new TokenError('invalid_request', 'Missing refresh_token.');
    let redeemed;
    try {
      redeemed = model.redeemRefreshToken(pool, client, token);
    } catch (err) {
      if (err instanceof AwsServiceError) throw new TokenError('invalid_grant', err.message);
      throw err;
    }
    const issued = await model.issueUserTokens(pool, client, redeemed.user, {
      scopes: redeemed.record.scopes,
      idToken: redeemed.record.idToken,
      refreshToken: false,
      authTime: redeemed.record.authTime,
      originJti: redeemed.record.originJti,
    });
    tokenResponse(res, {
      ...(issued.idToken !== undefined ? { id_token: issued.idToken } : {}),
      access_token: issued.accessToken,
      expires_in: issued.expiresIn,
      token_type: 'Bearer',
    });
  };

  const token = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      if (req.method !== 'POST') {
        return sendJson(res, 405, { error: 'invalid_request', error_description: 'Use POST.' }, { Allow: 'POST' });
      }
      if (mediaType(req) !== 'application/x-www-form-urlencoded') {
        throw new TokenError('invalid_request', 'Content-Type must be application/x-www-form-urlencoded.');
      }
      let body: string;
      try {
        body = await readBody(req, MAX_FORM_BYTES);
      } catch (err) {
        if (err instanceof BodyError) throw new TokenError('invalid_request', err.message);
        throw err;
      }
      const form = parseForm(body);
      if (!(form instanceof Map)) throw new TokenError('invalid_request', `Duplicated parameter: ${form.duplicate}`);
      const grantType = form.get('grant_type');
      if (!grantType) throw new TokenError('invalid_request', 'Missing grant_type.');
      const { pool, client } = authenticateClient(req, form);
      switch (grantType) {
        case 'client_credentials':
          return await clientCredentials(res, pool, client, form);
        case 'authorization_code':
          return await authorizationCode(res, pool, client, form);
        case 'refresh_token':
          return await refreshToken(res, pool, client, form);
        default:
          throw new TokenError('unsupported_grant_type', `grant_type ${grantType} is not supported.`);
      }
    } catch (err) {
      if (!(err instanceof TokenError)) throw err;
      // RFC 6749 §5.2: invalid_client is 401 with a WWW-Authenticate challenge; every other error is 400.
      if (err.error === 'invalid_client') {
        return sendJson(res, 401, { error: err.error, error_description: err.description }, {
          'WWW-Authenticate': 'Basic realm="cognito-idp", charset="UTF-8"',
        });
      }
      return sendJson(res, 400, { error: err.error, error_description: err.description });
    }
  };

  // ------------------------------------------------------------------------------------------ userInfo

  const userInfo = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // RFC 6750 §3: a missing or bad bearer token is 401 with a Bearer challenge.
    const deny = (description: string) =>
      sendJson(res, 401, { error: 'invalid_token', error_description: description }, {
        'WWW-Authenticate': `Bearer error="invalid_token", error_description="${description.replace(/"/g, "'")}"`,
      });
    if (req.method !== 'GET' && req.method !== 'POST') return sendJson(res, 405, { error: 'invalid_request' }, { Allow: 'GET, POST' });
    const m = /^Bearer +(\S+)$/i.exec(req.headers.authorization ?? '');
    if (!m) return deny('Access token is missing.');
    let found;
    try {
      found = await model.userFromAccessToken(m[1] as string, ['openid', USER_ADMIN_SCOPE]);
    } catch (err) {
      if (err instanceof AwsServiceError) return deny(err.message);
      throw err;
    }
    const { user, scopes } = found;
    const all = scopes.includes(USER_ADMIN_SCOPE) || scopes.includes('profile');
    const claims: Record<string, string> = { sub: user.sub };
    for (const [k, v] of Object.entries(user.attributes)) {
      const byScope =
        ((k === 'email' || k === 'email_verified') && scopes.includes('email')) ||
        ((k === 'phone_number' || k === 'phone_number_verified') && scopes.includes('phone'));
      if (all || byScope) claims[k] = v;
    }
    claims['username'] = user.username;
    sendJson(res, 200, claims);
  };

  // ----------------------------------------------------------------------------------------- discovery

  const wellKnown = (res: ServerResponse, poolId: string, doc: string): void => {
    if (!model.state.pools[poolId]) return sendJson(res, 404, { message: `User pool ${poolId} not found.` });
    if (doc === 'jwks.json') return sendJson(res, 200, model.key.jwks(), { 'Cache-Control': 'public, max-age=3600' });
    const base = model.opts.baseUrl().replace(/\/$/, '');
    sendJson(res, 200, {
      issuer: model.issuer(poolId),
      authorization_endpoint: `${base}/oauth2/authorize`,
      token_endpoint: `${base}${TOKEN_PATH}`,
      userinfo_endpoint: `${base}/oauth2/userInfo`,
      end_session_endpoint: `${base}/logout`,
      jwks_uri: `${base}/${poolId}/.well-known/jwks.json`,
      response_types_supported: ['code'],
      grant_types_supported: ['authorization_code', 'client_credentials', 'refresh_token'],
      code_challenge_methods_supported: ['S256'],
      scopes_supported: ['openid', 'email', 'phone', 'profile'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    });
  };

  return async (req, res, url) => {
    const path = url.pathname;
    if (path === TOKEN_PATH) {
      await token(req, res);
      return true;
    }
    if (path === '/oauth2/authorize') {
      await authorize(req, res, url);
      return true;
    }
    if (path === '/login') {
      await login(req, res, url);
      return true;
    }
    if (path === '/logout') {
      await logout(res, url);
      return true;
    }
    if (path === '/oauth2/userInfo') {
      await userInfo(req, res);
      return true;
    }
    const wk = /^\/([\w-]+_[0-9a-zA-Z]+)\/\.well-known\/(jwks\.json|openid-configuration)$/.exec(path);
    if (wk && req.method === 'GET') {
      wellKnown(res, wk[1] as string, wk[2] as string);
      return true;
    }
    return false;
  };
}
