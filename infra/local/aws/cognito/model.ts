/**
 * The user-pool model shared by the API actions (service.ts) and the OAuth endpoints (oauth.ts): lookups with
 * Cognito's error names and messages, user sign-in, token issuing, confirmation codes and Lambda triggers.
 *
 * Concurrency rule: every check-then-change runs without an `await` between the check and the change (password
 * hashing and verification happen before or after, never in between), so two concurrent requests cannot both
 * pass a uniqueness or status check.
 */
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { USER_ADMIN_SCOPE } from '../../../../lambdas/shared/contract/names';
import { AwsServiceError } from '../types';
import { maskDestination, newConfirmationCode, newOpaqueToken, safeEqual, sha256Hex } from './ids';
import { verifyPassword } from './passwords';
import type { SecretBox } from './secret-box';
import type { SigningKey } from './signing';
import type { StateStore } from './store';
import type {
  ClientRecord,
  CodeDelivery,
  DeliverCode,
  PoolRecord,
  RefreshTokenRecord,
  TimeUnit,
  UserRecord,
} from './types';

/** Confirmation codes expire after 24 hours (Cognito). */
export const CONFIRMATION_CODE_TTL_MS = 24 * 60 * 60 * 1000;
/** Wrong codes allowed before ConfirmSignUp answers LimitExceededException for that code. */
export const MAX_CODE_ATTEMPTS = 5;
/** `callerContext.clientId` of triggers run by admin APIs. */
export const NO_CLIENT = 'CLIENT_ID_NOT_APPLICABLE';

/** OIDC scopes Cognito knows without a resource server. */
export const BUILT_IN_SCOPES = ['phone', 'email', 'openid', 'profile', USER_ADMIN_SCOPE] as const;

/** Standard user-pool attributes (Cognito's schema); anything else must be `custom:` or declared. */
export const STANDARD_ATTRIBUTES = [
  'address', 'birthdate', 'email', 'email_verified', 'family_name', 'gender', 'given_name', 'locale',
  'middle_name', 'name', 'nickname', 'phone_number', 'phone_number_verified', 'picture', 'preferred_username',
  'profile', 'updated_at', 'website', 'zoneinfo',
] as const;

export interface ResolvedOptions {
  readonly region: string;
  readonly accountId: string;
  readonly baseUrl: () => string;
  readonly invokeLambda: (functionArn: string, event: unknown) => Promise<unknown>;
  readonly deliverCode: DeliverCode;
  readonly triggerTimeoutMs: number;
  readonly now: () => Date;
}

export interface CodeDeliveryDetails {
  Destination: string;
  DeliveryMedium: 'EMAIL' | 'SMS';
  AttributeName: 'email' | 'phone_number';
}

export interface IssuedUserTokens {
  readonly accessToken: string;
  readonly idToken?: string;
  readonly refreshToken?: string;
  readonly expiresIn: number;
}

export interface UserTokenOptions {
  /** Access-token scopes. */
  readonly scopes: readonly string[];
  /** Issue an ID token (API sign-in always; hosted UI only with `openid`). */
  readonly idToken: boolean;
  /** Issue and store a new refresh token. */
  readonly refreshToken: boolean;
  /** Kept from the original sign-in when refreshing. */
  readonly authTime?: number;
  readonly originJti?: string;
  readonly nonce?: string;
}

const UNIT_SECONDS: Record<TimeUnit, number> = { seconds: 1, minutes: 60, hours: 3600, days: 86400 };

export function validitySeconds(value: number | undefined, unit: TimeUnit | undefined, fallback: TimeUnit, dflt: number): number {
  if (value === undefined || value === 0) return dflt;
  return value * UNIT_SECONDS[unit ?? fallback];
}

function epochSeconds(d: Date): number {
  return Math.floor(d.getTime() / 1000);
}

export function looksLikeEmail(value: string): boolean {
  return /^[^\s@]+@[^\s@]+$/.test(value);
}

export function looksLikePhone(value: string): boolean {
  return /^\+[0-9]{4,17}$/.test(value);
}

export class CognitoModel {
  constructor(
    readonly opts: ResolvedOptions,
    readonly store: StateStore,
    readonly key: SigningKey,
    private readonly secrets: SecretBox,
  ) {}

  /** The client's secret in clear, for the moment it is needed (DescribeUserPoolClient, client authentication). */
  clientSecret(client: ClientRecord): string | undefined {
    return client.sealedSecret === undefined ? undefined : this.secrets.open(client.sealedSecret, client.clientId);
  }

  /** Seals a new client's secret for its record; state.json only ever sees this form. */
  sealClientSecret(clientId: string, secret: string): string {
    return this.secrets.seal(secret, clientId);
  }

  get state() {
    return this.store.state;
  }

  now(): Date {
    return this.opts.now();
  }

  persist(): Promise<void> {
    return this.store.persist();
  }

  /** `https://cognito-idp.<region>.amazonaws.com/<poolId>`: the region is the pool id's prefix, as on AWS. */
  issuer(poolId: string): string {
    const region = poolId.slice(0, poolId.indexOf('_'));
    return `https://cognito-idp.${region}.amazonaws.com/${poolId}`;
  }

  pool(poolId: string): PoolRecord {
    const pool = this.state.pools[poolId];
    if (!pool) throw new AwsServiceError('ResourceNotFoundException', `User pool ${poolId} does not exist.`);
    return pool;
  }

  /** Finds an app client in any pool (client ids are globally unique, as on AWS). */
  findClient(clientId: string): { pool: PoolRecord; client: ClientRecord } | undefined {
    for (const pool of Object.values(this.state.pools)) {
      const client = pool.clients[clientId];
      if (client) return { pool, client };
    }
    return undefined;
  }

  clientOrThrow(clientId: string): { pool: PoolRecord; client: ClientRecord } {
    const found = this.findClient(clientId);
    if (!found) throw new AwsServiceError('ResourceNotFoundException', `User pool client ${clientId} does not exist.`);
    return found;
  }

  poolClient(pool: PoolRecord, clientId: string): ClientRecord {
    const client = pool.clients[clientId];
    if (!client) throw new AwsServiceError('ResourceNotFoundException', `User pool client ${clientId} does not exist.`);
    return client;
  }

  canonicalUsername(pool: PoolRecord, username: string): string {
    return pool.caseSensitive ? username : username.toLowerCase();
  }

  /**
   * Resolves what a caller typed as "username": the user name itself, the `sub`, or an email/phone number
   * where the pool signs in with them (username attributes) or accepts them as verified aliases.
   */
  findUser(pool: PoolRecord, input: string): UserRecord | undefined {
    const direct = pool.users[this.canonicalUsername(pool, input)];
    if (direct) return direct;
    const users = Object.values(pool.users);
    const bySub = users.find((u) => u.sub === input);
    if (bySub) return bySub;
    const lower = input.toLowerCase();
    if (pool.usernameAttributes.includes('email') && looksLikeEmail(input)) {
      return users.find((u) => u.attributes['email']?.toLowerCase() === lower);
    }
    if (pool.usernameAttributes.includes('phone_number') && looksLikePhone(input)) {
      return users.find((u) => u.attributes['phone_number'] === input);
    }
    if (pool.aliasAttributes.includes('email') && looksLikeEmail(input)) {
      return users.find((u) => u.attributes['email']?.toLowerCase() === lower && u.attributes['email_verified'] === 'true');
    }
    if (pool.aliasAttributes.includes('phone_number') && looksLikePhone(input)) {
      return users.find((u) => u.attributes['phone_number'] === input && u.attributes['phone_number_verified'] === 'true');
    }
    if (pool.aliasAttributes.includes('preferred_username')) {
      return users.find((u) => u.attributes['preferred_username']?.toLowerCase() === lower);
    }
    return undefined;
  }

  /** The user for admin APIs, or UserNotFoundException. */
  userOrThrow(pool: PoolRecord, username: string): UserRecord {
    const user = this.findUser(pool, username);
    if (!user) throw new AwsServiceError('UserNotFoundException', 'User does not exist.');
    return user;
  }

  /** Cognito's SECRET_HASH: Base64(HMAC-SHA256(key = client secret, message = username + client id)). */
  checkSecretHash(client: ClientRecord, usernames: readonly string[], secretHash: string | undefined): void {
    const secret = this.clientSecret(client);
    if (secret === undefined) return;
    if (secretHash === undefined || secretHash === '') {
      throw new AwsServiceError(
        'NotAuthorizedException',
        `Client ${client.clientId} is configured for secret but secret was not received`,
      );
    }
    const ok = usernames.some((u) =>
      safeEqual(createHmac('sha256', secret).update(u + client.clientId).digest('base64'), secretHash),
    );
    if (!ok) throw new AwsServiceError('NotAuthorizedException', `Unable to verify secret hash for client ${client.clientId}`);
  }

  /** Attribute list as the API returns it: `sub` first, then the rest. */
  attributeList(user: UserRecord): { Name: string; Value: string }[] {
    return [{ Name: 'sub', Value: user.sub }, ...Object.entries(user.attributes).map(([Name, Value]) => ({ Name, Value }))];
  }

  /**
   * Password sign-in (USER_PASSWORD_AUTH, the hosted UI). Returns the user when the password is right; the
   * caller handles FORCE_CHANGE_PASSWORD. Errors as Cognito answers them.
   */
  async signIn(pool: PoolRecord, client: ClientRecord, usernameInput: string, password: string): Promise<UserRecord> {
    const user = this.findUser(pool, usernameInput);
    if (!user) {
      if (client.settings.PreventUserExistenceErrors === 'ENABLED') {
        throw new AwsServiceError('NotAuthorizedException', 'Incorrect username or password.');
      }
      throw new AwsServiceError('UserNotFoundException', 'User does not exist.');
    }
    if (!(await verifyPassword(password, user.passwordHash))) {
      throw new AwsServiceError('NotAuthorizedException', 'Incorrect username or password.');
    }
    if (!user.enabled) throw new AwsServiceError('NotAuthorizedException', 'User is disabled.');
    if (user.status === 'UNCONFIRMED') throw new AwsServiceError('UserNotConfirmedException', 'User is not confirmed.');
    if (
      user.status === 'FORCE_CHANGE_PASSWORD' &&
      user.temporaryPasswordExpiresAt !== undefined &&
      this.now().getTime() > user.temporaryPasswordExpiresAt
    ) {
      throw new AwsServiceError(
        'NotAuthorizedException',
        'Temporary password has expired and must be reset by an administrator.',
      );
    }
    return user;
  }

  /** Group names for `cognito:groups`: by precedence (lowest first; none last), then in joining order. */
  userGroups(pool: PoolRecord, user: UserRecord): string[] {
    return user.groups
      .filter((g) => pool.groups[g] !== undefined)
      .map((g, i) => ({ g, i, p: pool.groups[g]?.precedence ?? Number.POSITIVE_INFINITY }))
      .sort((a, b) => a.p - b.p || a.i - b.i)
      .map((x) => x.g);
  }

  /** Issues user tokens with Cognito's claims; stores the refresh token hashed. */
  async issueUserTokens(pool: PoolRecord, client: ClientRecord, user: UserRecord, o: UserTokenOptions): Promise<IssuedUserTokens> {
    const now = this.now();
    const iat = epochSeconds(now);
    const authTime = o.authTime ?? iat;
    const originJti = o.originJti ?? randomUUID();
    const eventId = randomUUID();
    const s = client.settings;
    const accessTtl = validitySeconds(s.AccessTokenValidity, s.TokenValidityUnits?.AccessToken, 'hours', 3600);
    const idTtl = validitySeconds(s.IdTokenValidity, s.TokenValidityUnits?.IdToken, 'hours', 3600);
    const refreshTtl = validitySeconds(s.RefreshTokenValidity, s.TokenValidityUnits?.RefreshToken, 'days', 30 * 86400);
    const groups = this.userGroups(pool, user);
    const iss = this.issuer(pool.id);

    const access: Record<string, unknown> = { sub: user.sub };
    if (groups.length > 0) access['cognito:groups'] = groups;
    Object.assign(access, {
      iss,
      version: 2,
      client_id: client.clientId,
      origin_jti: originJti,
      event_id: eventId,
      token_use: 'access',
      scope: o.scopes.join(' '),
      auth_time: authTime,
      exp: iat + accessTtl,
      iat,
      jti: randomUUID(),
      username: user.username,
    });
    const accessToken = await this.key.sign(access);

    let idToken: string | undefined;
    if (o.idToken) {
      const claims: Record<string, unknown> = { sub: user.sub };
      if (groups.length > 0) {
        claims['cognito:groups'] = groups;
        const roles = groups.map((g) => pool.groups[g]?.roleArn).filter((r): r is string => r !== undefined);
        if (roles.length > 0) {
          claims['cognito:roles'] = roles;
          claims['cognito:preferred_role'] = roles[0];
        }
      }
      const readable = s.ReadAttributes;
      for (const [name, value] of Object.entries(user.attributes)) {
        if (readable !== undefined && !readable.includes(name)) continue;
        claims[name] = name.endsWith('_verified') ? value === 'true' : value;
      }
      Object.assign(claims, {
        iss,
        'cognito:username': user.username,
        origin_jti: originJti,
        aud: client.clientId,
        event_id: eventId,
        token_use: 'id',
        auth_time: authTime,
        exp: iat + idTtl,
        iat,
        jti: randomUUID(),
      });
      if (o.nonce !== undefined) claims['nonce'] = o.nonce;
      // OIDC Core 3.1.3.6: at_hash is the left half of SHA-256 of the access token, base64url.
      claims['at_hash'] = createHash('sha256').update(accessToken).digest().subarray(0, 16).toString('base64url');
      idToken = await this.key.sign(claims);
    }

    let refreshToken: string | undefined;
    if (o.refreshToken) {
      refreshToken = newOpaqueToken(96);
      const record: RefreshTokenRecord = {
        clientId: client.clientId,
        username: user.username,
        scopes: [...o.scopes],
        originJti,
        authTime,
        expiresAt: now.getTime() + refreshTtl * 1000,
        idToken: o.idToken,
      };
      pool.refreshTokens[sha256Hex(refreshToken)] = record;
      this.pruneRefreshTokens(pool);
      await this.persist();
    }
    return {
      accessToken,
      ...(idToken !== undefined ? { idToken } : {}),
      ...(refreshToken !== undefined ? { refreshToken } : {}),
      expiresIn: accessTtl,
    };
  }

  private pruneRefreshTokens(pool: PoolRecord): void {
    const now = this.now().getTime();
    for (const [hash, rec] of Object.entries(pool.refreshTokens)) if (rec.expiresAt < now) delete pool.refreshTokens[hash];
  }

  /**
   * Looks up a refresh token for `client`. Errors are NotAuthorizedException as Cognito's: a token of another
   * client, an unknown one, or one whose user was deleted or disabled never yields tokens.
   */
  redeemRefreshToken(pool: PoolRecord, client: ClientRecord, token: string): { record: RefreshTokenRecord; user: UserRecord } {
    const record = pool.refreshTokens[sha256Hex(token)];
    if (!record || record.clientId !== client.clientId) {
      throw new AwsServiceError('NotAuthorizedException', 'Invalid Refresh Token');
    }
    if (record.expiresAt < this.now().getTime()) {
      throw new AwsServiceError('NotAuthorizedException', 'Refresh Token has expired');
    }
    const user = pool.users[this.canonicalUsername(pool, record.username)];
    if (!user) throw new AwsServiceError('NotAuthorizedException', 'Refresh Token has been revoked');
    if (!user.enabled) throw new AwsServiceError('NotAuthorizedException', 'User is disabled.');
    return { record, user };
  }

  /** Client-credentials access token: `sub` = `client_id`, no `username`, no `aud` (as Cognito issues them). */
  async issueClientToken(pool: PoolRecord, client: ClientRecord, scopes: readonly string[]): Promise<{ token: string; expiresIn: number }> {
    const iat = epochSeconds(this.now());
    const s = client.settings;
    const ttl = validitySeconds(s.AccessTokenValidity, s.TokenValidityUnits?.AccessToken, 'hours', 3600);
    const token = await this.key.sign({
      sub: client.clientId,
      token_use: 'access',
      scope: scopes.join(' '),
      auth_time: iat,
      iss: this.issuer(pool.id),
      exp: iat + ttl,
      iat,
      version: 2,
      jti: randomUUID(),
      client_id: client.clientId,
    });
    return { token, expiresIn: ttl };
  }

  /**
   * Creates a confirmation code for `user` when the pool auto-verifies an attribute the user has (email first,
   * then phone), and records it hashed. The caller persists and then calls `sendCode`.
   */
  newConfirmation(pool: PoolRecord, user: UserRecord): { code: string; details: CodeDeliveryDetails; to: string } | undefined {
    const target = this.deliveryTarget(pool, user);
    if (!target) return undefined;
    const code = newConfirmationCode();
    user.confirmation = {
      codeHash: sha256Hex(code),
      expiresAt: this.now().getTime() + CONFIRMATION_CODE_TTL_MS,
      verifies: target.attribute,
      failedAttempts: 0,
    };
    return {
      code,
      to: target.to,
      details: {
        Destination: maskDestination(target.to, target.medium),
        DeliveryMedium: target.medium,
        AttributeName: target.attribute,
      },
    };
  }

  deliveryTarget(
    pool: PoolRecord,
    user: UserRecord,
  ): { attribute: 'email' | 'phone_number'; medium: 'EMAIL' | 'SMS'; to: string } | undefined {
    const email = user.attributes['email'];
    if (pool.autoVerifiedAttributes.includes('email') && email) return { attribute: 'email', medium: 'EMAIL', to: email };
    const phone = user.attributes['phone_number'];
    if (pool.autoVerifiedAttributes.includes('phone_number') && phone) {
      return { attribute: 'phone_number', medium: 'SMS', to: phone };
    }
    return undefined;
  }

  async send(message: Omit<CodeDelivery, 'at'>): Promise<void> {
    await this.opts.deliverCode({ ...message, at: this.now().toISOString() });
  }

  /**
   * Runs the pool's PostConfirmation trigger, if any. A failure is UserLambdaValidationException; the caller has
   * already confirmed the user, which stays confirmed (as on AWS).
   */
  async runPostConfirmation(pool: PoolRecord, user: UserRecord, clientId: string, clientMetadata?: Record<string, string>): Promise<void> {
    const arn = pool.lambdaConfig['PostConfirmation'];
    if (typeof arn !== 'string') return;
    const userAttributes: Record<string, string> = { sub: user.sub, ...user.attributes };
    userAttributes['cognito:user_status'] = user.status;
    for (const alias of ['email', 'phone_number'] as const) {
      const value = user.attributes[alias];
      const aliased = pool.aliasAttributes.includes(alias) || pool.usernameAttributes.includes(alias);
      if (value && aliased && user.attributes[`${alias}_verified`] === 'true') userAttributes[`cognito:${alias}_alias`] = value;
    }
    const event = {
      version: '1',
      region: pool.id.slice(0, pool.id.indexOf('_')),
      userPoolId: pool.id,
      userName: user.username,
      callerContext: { awsSdkVersion: 'aws-sdk-unknown-unknown', clientId },
      triggerSource: 'PostConfirmation_ConfirmSignUp',
      request: { userAttributes, ...(clientMetadata ? { clientMetadata } : {}) },
      response: {},
    };
    await this.invokeTrigger('PostConfirmation', arn, event);
  }

  /**
   * The user behind a user access token (GetUser, userInfo): signature, expiry, issuer, `token_use` and the
   * `aws.cognito.signin.user.admin` scope are checked as Cognito does.
   */
  async userFromAccessToken(
    token: string,
    anyOfScopes: readonly string[] = [USER_ADMIN_SCOPE],
  ): Promise<{ pool: PoolRecord; user: UserRecord; scopes: string[] }> {
    const verified = await this.key.verify(token, this.now());
    if ('error' in verified) {
      throw new AwsServiceError('NotAuthorizedException', verified.error === 'expired' ? 'Access Token has expired' : 'Invalid Access Token');
    }
    const claims = verified.claims;
    const poolId = typeof claims.iss === 'string' ? claims.iss.slice(claims.iss.lastIndexOf('/') + 1) : '';
    const pool = this.state.pools[poolId];
    if (!pool || claims.iss !== this.issuer(poolId) || claims['token_use'] !== 'access' || typeof claims['username'] !== 'string') {
      throw new AwsServiceError('NotAuthorizedException', 'Invalid Access Token');
    }
    const scopes = typeof claims['scope'] === 'string' ? claims['scope'].split(' ') : [];
    if (!anyOfScopes.some((s) => scopes.includes(s))) {
      throw new AwsServiceError('NotAuthorizedException', 'Access Token does not have required scopes');
    }
    const user = pool.users[this.canonicalUsername(pool, claims['username'])];
    if (!user) throw new AwsServiceError('UserNotFoundException', 'User does not exist.');
    if (!user.enabled) throw new AwsServiceError('NotAuthorizedException', 'User is disabled.');
    return { pool, user, scopes };
  }

  private async invokeTrigger(trigger: string, arn: string, event: unknown): Promise<unknown> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new AwsServiceError(
              'UserLambdaValidationException',
              `${trigger} invocation failed due to error Socket timeout while invoking Lambda function.`,
            ),
          ),
        this.opts.triggerTimeoutMs,
      );
    });
    try {
      const result = await Promise.race([this.opts.invokeLambda(arn, event), timeout]);
      // A Node.js trigger must return the event; Cognito rejects anything that is not an object.
      if (result === null || typeof result !== 'object') {
        throw new AwsServiceError('UserLambdaValidationException', `${trigger} failed with error Unrecognizable lambda output.`);
      }
      return result;
    } catch (err) {
      if (err instanceof AwsServiceError) throw err;
      const message = err instanceof Error ? err.message : String(err);
      throw new AwsServiceError('UserLambdaValidationException', `${trigger} failed with error ${message}.`);
    } finally {
      clearTimeout(timer);
    }
  }
}
