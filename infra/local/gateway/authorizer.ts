/**
 * The local COGNITO_USER_POOLS authorizer: what API Gateway REST does before a protected method runs.
 *
 * - The token comes from the `Authorization` header only (the authorizer's identity source), never from the query
 *   string. API Gateway's Cognito authorizer takes the raw JWT and also `Bearer <jwt>` (any case of the scheme).
 * - The method has OAuth scopes, so API Gateway expects an access token and passes it when any one method scope is
 *   in its `scope` claim; everything else (an ID token, a missing scope, a bad signature, an expired token, ...) is
 *   401 UNAUTHORIZED. It is verified with aws-jwt-verify, as the brief and DESIGN.md require.
 * - The verifier never does network I/O: its JWKS cache fetches through a fetcher that serves the local pool's
 *   JWKS (the Cognito emulator's) and refuses every other URI, and a kid that is not in that JWKS puts the JWKS URI
 *   in a penalty box, so a flood of random kids costs at most one local JWKS read per wait period.
 */
import { CognitoJwtVerifier } from 'aws-jwt-verify';
import { JwtBaseError } from 'aws-jwt-verify/error';
import type { Fetcher } from 'aws-jwt-verify/https';
import { type Jwks, SimpleJwksCache, SimplePenaltyBox, assertIsJwks } from 'aws-jwt-verify/jwk';
import type { JwtPayload } from 'aws-jwt-verify/jwt-model';
import type { Json } from 'aws-jwt-verify/safe-json-parse';

/** A JSON Web Key Set as the Cognito emulator serves it at `/<userPoolId>/.well-known/jwks.json`. */
export interface JwksLike {
  readonly keys: readonly Readonly<Record<string, unknown>>[];
}

/** Claims as API Gateway REST hands them to the integration: every value a string. */
export type GatewayClaims = Record<string, string>;

export type AuthorizeResult =
  | { readonly ok: true; readonly claims: GatewayClaims }
  | { readonly ok: false; readonly reason: AuthorizeFailure };

export type AuthorizeFailure =
  | 'missing_token'
  | 'duplicate_header'
  | 'malformed_header'
  | 'token_too_long'
  /** The verifier refused the token; the suffix is the aws-jwt-verify error class (never the token). */
  | `invalid_token:${string}`;

export interface CognitoAuthorizerOptions {
  readonly region: string;
  readonly userPoolId: string;
  readonly jwks: () => JwksLike;
  /** How long an unknown kid blocks further JWKS reads. @default 10 (aws-jwt-verify's default) */
  readonly unknownKidWaitSeconds?: number;
}

export interface CognitoAuthorizer {
  /**
   * Checks the request's `Authorization` header(s) against the method scopes (any one passes).
   * @param authorizationValues every `Authorization` header value of the request, in order
   */
  authorize(authorizationValues: readonly string[], scopes: readonly string[]): Promise<AuthorizeResult>;
  /** How many times the verifier read the local JWKS through its fetcher (the priming read not counted). */
  readonly jwksFetches: () => number;
}

// API Gateway REST's quota for a header value is 10,240 bytes; a longer value never reaches the authorizer.
const MAX_AUTHORIZATION_LENGTH = 10_240;
// Compact JWS: three base64url parts; the signature may be empty (alg "none"), which the verifier then refuses.
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * The token in an `Authorization` header value: `Bearer <jwt>` (scheme case-insensitive, RFC 6750 §2.1 /
 * RFC 9110 §11.1) or the bare JWT, which is how API Gateway's Cognito authorizer has always accepted it.
 */
export function tokenFromAuthorization(value: string): string | undefined {
  const trimmed = value.trim();
  const bearer = /^bearer[ \t]+(\S+)$/i.exec(trimmed);
  const token = bearer ? bearer[1] : trimmed;
  return token !== undefined && COMPACT_JWS.test(token) ? token : undefined;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
// API Gateway renders the JWT NumericDate claims as java.util.Date#toString in UTC (`Fri Jul 29 18:52:53 UTC
// 2016`); other numbers, such as `auth_time`, stay plain decimal strings (`1469814773`).
const DATE_CLAIMS = new Set(['exp', 'iat', 'nbf']);

function javaDateString(epochSeconds: number): string {
  const d = new Date(epochSeconds * 1000);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${two(d.getUTCDate())} ${two(d.getUTCHours())}:${two(
    d.getUTCMinutes(),
  )}:${two(d.getUTCSeconds())} UTC ${d.getUTCFullYear()}`;
}

function claimValue(name: string, value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return DATE_CLAIMS.has(name) && Number.isFinite(value) ? javaDateString(value) : String(value);
  if (typeof value === 'boolean') return String(value);
  // Arrays such as `cognito:groups` arrive comma-joined (`developers,admins`).
  if (Array.isArray(value)) return value.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(',');
  return JSON.stringify(value);
}

/** The verified payload as API Gateway REST passes it in `requestContext.authorizer.claims`. */
export function renderClaims(payload: Readonly<Record<string, unknown>>): GatewayClaims {
  const claims: GatewayClaims = {};
  for (const [name, value] of Object.entries(payload)) {
    const rendered = claimValue(name, value);
    if (rendered !== undefined) claims[name] = rendered;
  }
  return claims;
}

export function createCognitoAuthorizer(options: CognitoAuthorizerOptions): CognitoAuthorizer {
  if (!options.userPoolId.startsWith(`${options.region}_`)) {
    throw new Error(`User pool id ${options.userPoolId} does not belong to region ${options.region}`);
  }
  // Both issuer spellings aws-jwt-verify accepts for a pool; their JWKS URIs are the only ones we serve.
  const localJwksUris = new Set(
    [undefined, `https://issuer-cognito-idp.${options.region}.amazonaws.com/${options.userPoolId}`].map(
      (issuer) => CognitoJwtVerifier.parseUserPoolId(options.userPoolId, issuer).jwksUri,
    ),
  );

  const currentJwks = (): Jwks => {
    const jwks = options.jwks() as unknown as Json;
    assertIsJwks(jwks);
    return jwks;
  };

  let fetches = 0;
  const localFetcher: Fetcher = {
    fetch: async (uri) => {
      if (!localJwksUris.has(uri)) throw new Error('The local gateway fetches no JWKS but its own user pool\'s');
      fetches += 1;
      const bytes = new TextEncoder().encode(JSON.stringify(currentJwks()));
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    },
  };

  // Created once, so the JWKS and the parsed public keys stay cached across requests (aws-jwt-verify README).
  const verifier = CognitoJwtVerifier.create(
    {
      userPoolId: options.userPoolId,
      tokenUse: 'access',
      clientId: null,
      customJwtCheck: ({ payload }: { payload: JwtPayload }) => {
        // Cognito always sets exp; a token without one would never expire (RFC 8725 §3.10 spirit: validate all).
        if (typeof payload.exp !== 'number') throw new Error('Token has no exp claim');
      },
    },
    {
      jwksCache: new SimpleJwksCache({
        fetcher: localFetcher,
        penaltyBox: new SimplePenaltyBox({ waitSeconds: options.unknownKidWaitSeconds ?? 10 }),
      }),
    },
  );

  let primed = false;
  const prime = () => {
    if (primed) return;
    try {
      verifier.cacheJwks(currentJwks());
      primed = true;
    } catch {
      // The emulator may not serve its keys yet; the local fetcher reads them at the first verification instead.
    }
  };

  return {
    jwksFetches: () => fetches,
    async authorize(authorizationValues, scopes) {
      if (authorizationValues.length === 0) return { ok: false, reason: 'missing_token' };
      // Two Authorization headers are ambiguous; no proxy on the way may pick the one it likes (RFC 9110 §5.3).
      if (authorizationValues.length > 1) return { ok: false, reason: 'duplicate_header' };
      const value = authorizationValues[0] as string;
      if (value.trim() === '') return { ok: false, reason: 'missing_token' };
      if (value.length > MAX_AUTHORIZATION_LENGTH) return { ok: false, reason: 'token_too_long' };
      const token = tokenFromAuthorization(value);
      if (token === undefined) return { ok: false, reason: 'malformed_header' };

      prime();
      try {
        const payload = await verifier.verify(token, { scope: [...scopes] });
        return { ok: true, claims: renderClaims(payload) };
      } catch (err) {
        const kind = err instanceof JwtBaseError ? err.constructor.name : 'UnexpectedError';
        return { ok: false, reason: `invalid_token:${kind}` };
      }
    },
  };
}
