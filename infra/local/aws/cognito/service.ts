/**
 * The Cognito user pools API (`AWSCognitoIdentityProviderService`, AWS JSON 1.1) for the actions the product and
 * the local stack use. Action names, members, output shapes, error names and messages follow the AWS API
 * reference; what is not emulated answers UnknownOperationException (the action) or InvalidParameterException
 * (an unsupported option) instead of pretending to work.
 */
import { randomUUID } from 'node:crypto';
import { USER_ADMIN_SCOPE } from '../../../../lambdas/shared/contract/names';
import { AwsServiceError, type AwsJsonService } from '../types';
import { newClientId, newClientSecret, newOpaqueToken, newUserPoolId, sha256Hex } from './ids';
import {
  BUILT_IN_SCOPES,
  type CognitoModel,
  MAX_CODE_ATTEMPTS,
  NO_CLIENT,
  STANDARD_ATTRIBUTES,
  looksLikeEmail,
  looksLikePhone,
} from './model';
import { DEFAULT_PASSWORD_POLICY, checkPasswordPolicy, hashPassword, temporaryPassword } from './passwords';
import type { TokenBucket } from './rate-limit';
import type {
  ClientRecord,
  ClientSettings,
  GroupRecord,
  OAuthFlow,
  PasswordPolicy,
  PoolRecord,
  ResourceServerRecord,
  TimeUnit,
  UserRecord,
} from './types';
import { InputReader, PATTERNS, invalidParameter } from './validation';

type Input = Record<string, unknown>;
type Handler = (input: InputReader) => Promise<unknown>;

const TIME_UNITS = ['seconds', 'minutes', 'hours', 'days'] as const;
const OAUTH_FLOWS = ['code', 'implicit', 'client_credentials'] as const;
const EXPLICIT_AUTH_FLOWS = [
  'ADMIN_NO_SRP_AUTH', 'CUSTOM_AUTH_FLOW_ONLY', 'USER_PASSWORD_AUTH', 'ALLOW_ADMIN_USER_PASSWORD_AUTH',
  'ALLOW_CUSTOM_AUTH', 'ALLOW_USER_PASSWORD_AUTH', 'ALLOW_USER_SRP_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH', 'ALLOW_USER_AUTH',
] as const;
const AUTH_FLOWS = [
  'USER_SRP_AUTH', 'REFRESH_TOKEN_AUTH', 'REFRESH_TOKEN', 'CUSTOM_AUTH', 'ADMIN_NO_SRP_AUTH', 'USER_PASSWORD_AUTH',
  'ADMIN_USER_PASSWORD_AUTH', 'USER_AUTH',
] as const;
/** Cognito's default when ExplicitAuthFlows is not given. */
const DEFAULT_EXPLICIT_AUTH_FLOWS = ['ALLOW_CUSTOM_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH', 'ALLOW_USER_SRP_AUTH'];
const TRIGGERS = [
  'PreSignUp', 'CustomMessage', 'PostConfirmation', 'PreAuthentication', 'PostAuthentication', 'DefineAuthChallenge',
  'CreateAuthChallenge', 'VerifyAuthChallengeResponse', 'PreTokenGeneration', 'UserMigration', 'KMSKeyID',
] as const;

function isStandard(name: string): boolean {
  return name === 'sub' || (STANDARD_ATTRIBUTES as readonly string[]).includes(name);
}

function customName(name: string): string {
  return name.startsWith('custom:') ? name : `custom:${name}`;
}

function seconds(ms: number): number {
  return ms / 1000;
}

function decodeToken(token: string | undefined): number {
  if (token === undefined) return 0;
  try {
    const n = Number(JSON.parse(Buffer.from(token, 'base64url').toString('utf8')).after);
    if (!Number.isInteger(n) || n < 0) throw new Error('bad token');
    return n;
  } catch {
    throw invalidParameter('Invalid pagination token.');
  }
}

function encodeToken(after: number): string {
  return Buffer.from(JSON.stringify({ after })).toString('base64url');
}

/** Pages `items` (already in a stable order) with an index cursor. */
function page<T>(items: readonly T[], limit: number | undefined, token: string | undefined, dflt = 60): { items: T[]; next?: string } {
  const start = decodeToken(token);
  const size = limit === undefined || limit === 0 ? dflt : limit;
  const slice = items.slice(start, start + size);
  return start + size < items.length ? { items: slice, next: encodeToken(start + size) } : { items: slice };
}

/**
 * ListUsers' Filter, `attribute = "value"` (exact) or `attribute ^= "value"` (prefix), over the attributes the API
 * reference lists as searchable; an empty filter matches everyone. `cognito:user_status` compares without case,
 * `status` is `Enabled` or `Disabled`.
 */
const FILTERABLE_ATTRIBUTES = new Set([
  'username',
  'email',
  'phone_number',
  'name',
  'given_name',
  'family_name',
  'preferred_username',
  'cognito:user_status',
  'status',
  'sub',
]);

function parseUserFilter(filter: string | undefined): (user: UserRecord) => boolean {
  if (filter === undefined || filter.trim() === '') return () => true;
  const parsed = /^\s*([\w:]+)\s*(\^?=)\s*"((?:[^"\\]|\\.)*)"\s*$/.exec(filter);
  if (!parsed) throw invalidParameter('Error while parsing filter.');
  const [, attribute = '', operator, quoted = ''] = parsed;
  if (!FILTERABLE_ATTRIBUTES.has(attribute)) throw invalidParameter(`Invalid search attribute: ${attribute}`);
  const wanted = quoted.replace(/\\(.)/g, '$1');
  const caseless = attribute === 'cognito:user_status';
  const valueOf = (u: UserRecord): string | undefined => {
    switch (attribute) {
      case 'username':
        return u.username;
      case 'sub':
        return u.sub;
      case 'cognito:user_status':
        return u.status;
      case 'status':
        return u.enabled ? 'Enabled' : 'Disabled';
      default:
        return u.attributes[attribute];
    }
  };
  return (u) => {
    const raw = valueOf(u);
    if (raw === undefined) return false;
    const [have, want] = caseless ? [raw.toUpperCase(), wanted.toUpperCase()] : [raw, wanted];
    return operator === '^=' ? have.startsWith(want) : have === want;
  };
}

interface ChallengeSession {
  readonly poolId: string;
  readonly clientId: string;
  readonly username: string;
  readonly expiresAt: number;
}

export function createCognitoService(model: CognitoModel, clientWrites: TokenBucket, maxClientsPerPool: number): AwsJsonService {
  /** NEW_PASSWORD_REQUIRED sessions (Cognito keeps them for AuthSessionValidity minutes). */
  const sessions = new Map<string, ChallengeSession>();

  const throttleClientWrite = (poolId: string): void => {
    if (!clientWrites.take(poolId)) throw new AwsServiceError('TooManyRequestsException', 'Too many requests');
  };

  // ---------------------------------------------------------------------------------------------- shapes

  const poolShape = (pool: PoolRecord): Record<string, unknown> => ({
    Id: pool.id,
    Name: pool.name,
    Arn: pool.arn,
    Policies: { PasswordPolicy: { ...pool.passwordPolicy } },
    DeletionProtection: pool.deletionProtection,
    LambdaConfig: { ...pool.lambdaConfig },
    LastModifiedDate: seconds(pool.lastModifiedAt),
    CreationDate: seconds(pool.createdAt),
    SchemaAttributes: schemaAttributes(pool),
    ...(pool.autoVerifiedAttributes.length > 0 ? { AutoVerifiedAttributes: [...pool.autoVerifiedAttributes] } : {}),
    ...(pool.usernameAttributes.length > 0 ? { UsernameAttributes: [...pool.usernameAttributes] } : {}),
    ...(pool.aliasAttributes.length > 0 ? { AliasAttributes: [...pool.aliasAttributes] } : {}),
    UsernameConfiguration: { CaseSensitive: pool.caseSensitive },
    MfaConfiguration: pool.mfaConfiguration,
    EstimatedNumberOfUsers: Object.keys(pool.users).length,
    ...(pool.domain !== undefined ? { Domain: pool.domain } : {}),
    ...pool.extra,
  });

  const schemaAttributes = (pool: PoolRecord): unknown[] => {
    const standard = ['sub', ...STANDARD_ATTRIBUTES].map((name) => ({
      Name: name,
      AttributeDataType: name.endsWith('_verified') ? 'Boolean' : name === 'updated_at' ? 'Number' : 'String',
      DeveloperOnlyAttribute: false,
      Mutable: name !== 'sub',
      Required: name === 'sub' || pool.schema.some((c) => c.Name === name && c.Required),
    }));
    const custom = pool.schema
      .filter((c) => !isStandard(c.Name))
      .map((c) => ({ ...c, Name: customName(c.Name) }));
    return [...standard, ...custom];
  };

  const groupShape = (poolId: string, g: GroupRecord): Record<string, unknown> => ({
    GroupName: g.groupName,
    UserPoolId: poolId,
    ...(g.description !== undefined ? { Description: g.description } : {}),
    ...(g.roleArn !== undefined ? { RoleArn: g.roleArn } : {}),
    ...(g.precedence !== undefined ? { Precedence: g.precedence } : {}),
    LastModifiedDate: seconds(g.lastModifiedAt),
    CreationDate: seconds(g.createdAt),
  });

  const clientShape = (poolId: string, c: ClientRecord): Record<string, unknown> => ({
    UserPoolId: poolId,
    ClientName: c.clientName,
    ClientId: c.clientId,
    ...(c.sealedSecret !== undefined ? { ClientSecret: model.clientSecret(c) } : {}),
    LastModifiedDate: seconds(c.lastModifiedAt),
    CreationDate: seconds(c.createdAt),
    ...structuredClone(c.settings),
  });

  const resourceServerShape = (poolId: string, rs: ResourceServerRecord): Record<string, unknown> => ({
    UserPoolId: poolId,
    Identifier: rs.identifier,
    Name: rs.name,
    Scopes: rs.scopes.map((s) => ({ ...s })),
  });

  const userShape = (u: UserRecord, attributesKey: 'Attributes' | 'UserAttributes'): Record<string, unknown> => ({
    Username: u.username,
    [attributesKey]: model.attributeList(u),
    UserCreateDate: seconds(u.createdAt),
    UserLastModifiedDate: seconds(u.lastModifiedAt),
    Enabled: u.enabled,
    UserStatus: u.status,
  });

  // -------------------------------------------------------------------------------------- shared readers

  const readPoolId = (r: InputReader): string =>
    r.string('UserPoolId', { required: true, min: 1, max: 55, pattern: PATTERNS.userPoolId });
  const readClientId = (r: InputReader): string =>
    r.string('ClientId', { required: true, min: 1, max: 128, pattern: PATTERNS.clientId, sensitive: true });
  const readUsername = (r: InputReader): string =>
    r.string('Username', { required: true, min: 1, max: 128, pattern: PATTERNS.username, sensitive: true });
  const readGroupName = (r: InputReader): string =>
    r.string('GroupName', { required: true, min: 1, max: 128, pattern: PATTERNS.groupName });
  const readSecretHash = (r: InputReader): string | undefined =>
    r.string('SecretHash', { min: 1, max: 128, pattern: PATTERNS.secretHash, sensitive: true });

  /**
   * Confirms a user (ConfirmSignUp, AdminConfirmSignUp): marks the verified attribute when a code verified one,
   * persists, then runs the post-confirmation trigger, as Cognito does (after the user is confirmed).
   */
  const confirm = async (
    pool: Parameters<typeof model.runPostConfirmation>[0],
    user: Parameters<typeof model.runPostConfirmation>[1],
    clientId: Parameters<typeof model.runPostConfirmation>[2],
    metadata: Parameters<typeof model.runPostConfirmation>[3],
    verifies?: 'email' | 'phone_number',
  ): Promise<Record<string, never>> => {
    user.status = 'CONFIRMED';
    if (verifies !== undefined) user.attributes[`${verifies}_verified`] = 'true';
    delete user.confirmation;
    user.lastModifiedAt = model.now().getTime();
    await model.persist();
    await model.runPostConfirmation(pool, user, clientId, metadata);
    return {};
  };

  /** AdminAddUserToGroup / AdminRemoveUserFromGroup: the user and an existing group of the pool. */
  const readMembership = (r: InputReader) => {
    const poolId = readPoolId(r);
    const username = readUsername(r);
    const groupName = readGroupName(r);
    r.done();
    const pool = model.pool(poolId);
    if (!pool.groups[groupName]) throw new AwsServiceError('ResourceNotFoundException', 'Group not found.');
    return { user: model.userOrThrow(pool, username), groupName };
  };

  /** AdminDisableUser / AdminEnableUser. */
  const setEnabled = async (r: InputReader, enabled: boolean): Promise<Record<string, never>> => {
    const poolId = readPoolId(r);
    const username = readUsername(r);
    r.done();
    const user = model.userOrThrow(model.pool(poolId), username);
    user.enabled = enabled;
    user.lastModifiedAt = model.now().getTime();
    await model.persist();
    return {};
  };

  /** Checks new-user attributes against the pool's schema (standard or declared custom) and returns them as a map. */
  const userAttributes = (
    pool: PoolRecord,
    list: { Name: string; Value: string }[] | undefined,
  ): Record<string, string> => {
    const attrs: Record<string, string> = {};
    const declared = pool.schema.filter((c) => !isStandard(c.Name)).map((c) => customName(c.Name));
    for (const { Name, Value } of list ?? []) {
      if (Name === 'sub') throw invalidParameter('Cannot modify the non-mutable attribute sub');
      const known = isStandard(Name) || declared.includes(Name);
      if (!known) throw invalidParameter(`Attributes did not conform to the schema: Type for attribute {${Name}} could not be determined`);
      attrs[Name] = Value;
    }
    if (attrs['email'] !== undefined && !looksLikeEmail(attrs['email'])) throw invalidParameter('Invalid email address format.');
    if (attrs['phone_number'] !== undefined && !looksLikePhone(attrs['phone_number'])) {
      throw invalidParameter('Invalid phone number format.');
    }
    return attrs;
  };

  const requireSchemaAttributes = (pool: PoolRecord, attrs: Record<string, string>): void => {
    const missing = pool.schema
      .filter((a) => a.Required && attrs[isStandard(a.Name) ? a.Name : customName(a.Name)] === undefined)
      .map((a) => a.Name);
    if (missing.length > 0) {
      throw invalidParameter(
        `Attributes did not conform to the schema: ${missing.map((m) => `${m}: The attribute ${m} is required`).join(', ')}`,
      );
    }
  };

  /**
   * Maps the Username of SignUp/AdminCreateUser to the stored user name: in pools that sign in with email or
   * phone number the user name is the `sub` and the Username becomes that attribute; alias pools refuse a
   * Username that looks like an alias.
   */
  const newUserIdentity = (pool: PoolRecord, username: string, attrs: Record<string, string>): { username: string; sub: string } => {
    const sub = randomUUID();
    if (pool.usernameAttributes.length > 0) {
      if (pool.usernameAttributes.includes('email') && looksLikeEmail(username)) {
        attrs['email'] = username;
      } else if (pool.usernameAttributes.includes('phone_number') && looksLikePhone(username)) {
        attrs['phone_number'] = username;
      } else {
        throw invalidParameter(
          pool.usernameAttributes.length === 2
            ? 'Username should be either an email or a phone number.'
            : pool.usernameAttributes.includes('email')
              ? 'Username should be an email.'
              : 'Username should be a phone number.',
        );
      }
      return { username: sub, sub };
    }
    if (pool.aliasAttributes.includes('email') && looksLikeEmail(username)) {
      throw invalidParameter('Username cannot be of email format, since user pool is configured for email alias.');
    }
    if (pool.aliasAttributes.includes('phone_number') && looksLikePhone(username)) {
      throw invalidParameter('Username cannot be of phone number format, since user pool is configured for phone number alias.');
    }
    return { username, sub };
  };

  /** UsernameExistsException if the name, or a username attribute, is taken. */
  const assertUserIsNew = (pool: PoolRecord, username: string, attrs: Record<string, string>, message: string): void => {
    if (pool.users[model.canonicalUsername(pool, username)]) throw new AwsServiceError('UsernameExistsException', message);
    for (const attr of pool.usernameAttributes) {
      const value = attrs[attr];
      if (value === undefined) continue;
      const taken = Object.values(pool.users).some((u) =>
        attr === 'email' ? u.attributes['email']?.toLowerCase() === value.toLowerCase() : u.attributes[attr] === value,
      );
      if (taken) throw new AwsServiceError('UsernameExistsException', `An account with the given ${attr} already exists.`);
    }
  };

  // ---------------------------------------------------------------------------------------------- pools

  const readPasswordPolicy = (r: InputReader | undefined): PasswordPolicy => {
    const p = r?.object('PasswordPolicy');
    if (!p) return { ...DEFAULT_PASSWORD_POLICY };
    const history = p.int('PasswordHistorySize', { min: 0, max: 24 });
    return {
      MinimumLength: p.int('MinimumLength', { min: 6, max: 99 }) ?? DEFAULT_PASSWORD_POLICY.MinimumLength,
      RequireUppercase: p.bool('RequireUppercase') ?? false,
      RequireLowercase: p.bool('RequireLowercase') ?? false,
      RequireNumbers: p.bool('RequireNumbers') ?? false,
      RequireSymbols: p.bool('RequireSymbols') ?? false,
      TemporaryPasswordValidityDays: p.int('TemporaryPasswordValidityDays', { min: 0, max: 365 }) ?? 7,
      ...(history !== undefined ? { PasswordHistorySize: history } : {}),
    };
  };

  const handlers: Record<string, Handler> = {
    async CreateUserPool(r) {
      const name = r.string('PoolName', { required: true, min: 1, max: 128, pattern: PATTERNS.poolName });
      const policy = readPasswordPolicy(r.object('Policies'));
      const lambda = r.object('LambdaConfig');
      const lambdaConfig: Record<string, unknown> = {};
      for (const t of TRIGGERS) {
        const arn = lambda?.string(t, { min: 20, max: 2048, pattern: PATTERNS.arn });
        if (arn !== undefined) lambdaConfig[t] = arn;
      }
      const autoVerified = r.stringList('AutoVerifiedAttributes', { item: { values: ['phone_number', 'email'] } }) ?? [];
      const usernameAttrs = r.stringList('UsernameAttributes', { item: { values: ['phone_number', 'email'] } }) ?? [];
      const aliasAttrs =
        r.stringList('AliasAttributes', { item: { values: ['phone_number', 'email', 'preferred_username'] } }) ?? [];
      const caseSensitive = r.object('UsernameConfiguration')?.bool('CaseSensitive') ?? true;
      const mfa = r.string('MfaConfiguration', { values: ['OFF', 'ON', 'OPTIONAL'] }) ?? 'OFF';
      const deletionProtection = r.string('DeletionProtection', { values: ['ACTIVE', 'INACTIVE'] }) ?? 'INACTIVE';
      const schema = r.objectList('Schema', { max: 50 });
      const schemaDefs = (schema ?? []).map((s) => ({
        Name: s.string('Name', { required: true, min: 1, max: 20, pattern: PATTERNS.attributeName }),
        AttributeDataType: s.string('AttributeDataType', { values: ['String', 'Number', 'DateTime', 'Boolean'] }) ?? 'String',
        DeveloperOnlyAttribute: s.bool('DeveloperOnlyAttribute') ?? false,
        Mutable: s.bool('Mutable') ?? true,
        Required: s.bool('Required') ?? false,
      }));
      r.done();
      if (usernameAttrs.length > 0 && aliasAttrs.length > 0) {
        throw invalidParameter('Only one of the aliasAttributes or usernameAttributes can be set in a User Pool.');
      }
      if (mfa !== 'OFF') throw invalidParameter('MFA is not supported by the local Cognito emulation; use MfaConfiguration OFF.');
      // Settings the emulation does not act on are kept and echoed, so DescribeUserPool shows what was created.
      const extra: Record<string, unknown> = {};
      for (const k of [
        'VerificationMessageTemplate', 'EmailVerificationMessage', 'EmailVerificationSubject', 'SmsAuthenticationMessage',
        'SmsVerificationMessage', 'UserAttributeUpdateSettings', 'DeviceConfiguration', 'EmailConfiguration',
        'SmsConfiguration', 'UserPoolTags', 'AdminCreateUserConfig', 'UserPoolAddOns', 'AccountRecoverySetting',
        'UserPoolTier',
      ]) {
        const v = r.raw_(k);
        if (v !== undefined) extra[k] = v;
      }
      extra['AdminCreateUserConfig'] ??= { AllowAdminCreateUserOnly: false, UnusedAccountValidityDays: policy.TemporaryPasswordValidityDays };
      extra['VerificationMessageTemplate'] ??= { DefaultEmailOption: 'CONFIRM_WITH_CODE' };
      extra['EmailConfiguration'] ??= { EmailSendingAccount: 'COGNITO_DEFAULT' };
      extra['UserPoolTier'] ??= 'ESSENTIALS';
      const region = model.opts.region;
      let id = newUserPoolId(region);
      while (model.state.pools[id]) id = newUserPoolId(region);
      const now = model.now().getTime();
      const pool: PoolRecord = {
        id,
        name,
        arn: `arn:aws:cognito-idp:${region}:${model.opts.accountId}:userpool/${id}`,
        createdAt: now,
        lastModifiedAt: now,
        passwordPolicy: policy,
        lambdaConfig,
        autoVerifiedAttributes: autoVerified,
        usernameAttributes: usernameAttrs,
        aliasAttributes: aliasAttrs,
        caseSensitive,
        mfaConfiguration: mfa,
        deletionProtection,
        schema: schemaDefs,
        extra,
        users: {},
        groups: {},
        clients: {},
        resourceServers: {},
        refreshTokens: {},
      };
      model.state.pools[id] = pool;
      await model.persist();
      return { UserPool: poolShape(pool) };
    },

    async DescribeUserPool(r) {
      const poolId = readPoolId(r);
      r.done();
      return { UserPool: poolShape(model.pool(poolId)) };
    },

    async ListUserPools(r) {
      const max = r.int('MaxResults', { required: true, min: 1, max: 60 });
      const token = r.string('NextToken', { min: 1, pattern: PATTERNS.paginationKey });
      r.done();
      const pools = Object.values(model.state.pools).sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
      const p = page(pools, max, token);
      return {
        UserPools: p.items.map((pool) => ({
          Id: pool.id,
          Name: pool.name,
          LambdaConfig: { ...pool.lambdaConfig },
          LastModifiedDate: seconds(pool.lastModifiedAt),
          CreationDate: seconds(pool.createdAt),
        })),
        ...(p.next !== undefined ? { NextToken: p.next } : {}),
      };
    },

    async DeleteUserPool(r) {
      const poolId = readPoolId(r);
      r.done();
      const pool = model.pool(poolId);
      if (pool.deletionProtection === 'ACTIVE') {
        throw invalidParameter('The user pool cannot be deleted because deletion protection is activated.');
      }
      if (pool.domain !== undefined) delete model.state.domains[pool.domain];
      delete model.state.pools[poolId];
      await model.persist();
      return {};
    },

    // ------------------------------------------------------------------------------------------- domain

    async CreateUserPoolDomain(r) {
      const domain = r.string('Domain', { required: true, min: 1, max: 63, pattern: PATTERNS.domain });
      const poolId = readPoolId(r);
      const custom = r.object('CustomDomainConfig');
      const version = r.int('ManagedLoginVersion', { min: 1, max: 2 });
      r.done();
      if (custom) throw invalidParameter('Custom domains are not supported by the local Cognito emulation.');
      const pool = model.pool(poolId);
      if (model.state.domains[domain] !== undefined) throw invalidParameter('Domain already associated with another user pool.');
      if (pool.domain !== undefined) throw invalidParameter(`User pool ${poolId} already has a domain configured.`);
      model.state.domains[domain] = poolId;
      pool.domain = domain;
      await model.persist();
      return { ManagedLoginVersion: version ?? 1 };
    },

    async DescribeUserPoolDomain(r) {
      const domain = r.string('Domain', { required: true, min: 1, max: 63, pattern: PATTERNS.domain });
      r.done();
      const poolId = model.state.domains[domain];
      if (poolId === undefined) return { DomainDescription: {} };
      return {
        DomainDescription: {
          UserPoolId: poolId,
          AWSAccountId: model.opts.accountId,
          Domain: domain,
          CloudFrontDistribution: new URL(model.opts.baseUrl()).host,
          Version: '1',
          Status: 'ACTIVE',
        },
      };
    },

    async DeleteUserPoolDomain(r) {
      const domain = r.string('Domain', { required: true, min: 1, max: 63, pattern: PATTERNS.domain });
      const poolId = readPoolId(r);
      r.done();
      const pool = model.pool(poolId);
      if (pool.domain !== domain) throw invalidParameter(`Domain ${domain} is not associated with user pool ${poolId}.`);
      delete model.state.domains[domain];
      delete pool.domain;
      await model.persist();
      return {};
    },

    // ------------------------------------------------------------------------------------------- groups

    async CreateGroup(r) {
      const groupName = readGroupName(r);
      const poolId = readPoolId(r);
      const description = r.string('Description', { max: 2048 });
      const roleArn = r.string('RoleArn', { min: 20, max: 2048, pattern: PATTERNS.arn });
      const precedence = r.int('Precedence', { min: 0 });
      r.done();
      const pool = model.pool(poolId);
      if (pool.groups[groupName]) throw new AwsServiceError('GroupExistsException', `A group with the name ${groupName} already exists.`);
      const now = model.now().getTime();
      const group: GroupRecord = {
        groupName,
        createdAt: now,
        lastModifiedAt: now,
        ...(description !== undefined ? { description } : {}),
        ...(roleArn !== undefined ? { roleArn } : {}),
        ...(precedence !== undefined ? { precedence } : {}),
      };
      pool.groups[groupName] = group;
      await model.persist();
      return { Group: groupShape(poolId, group) };
    },

    async GetGroup(r) {
      const groupName = readGroupName(r);
      const poolId = readPoolId(r);
      r.done();
      const group = model.pool(poolId).groups[groupName];
      if (!group) throw new AwsServiceError('ResourceNotFoundException', 'Group not found.');
      return { Group: groupShape(poolId, group) };
    },

    async ListGroups(r) {
      const poolId = readPoolId(r);
      const limit = r.int('Limit', { min: 0, max: 60 });
      const token = r.string('NextToken', { min: 1, pattern: PATTERNS.paginationKey });
      r.done();
      const groups = Object.values(model.pool(poolId).groups).sort((a, b) => a.createdAt - b.createdAt);
      const p = page(groups, limit, token);
      return { Groups: p.items.map((g) => groupShape(poolId, g)), ...(p.next !== undefined ? { NextToken: p.next } : {}) };
    },

    async DeleteGroup(r) {
      const groupName = readGroupName(r);
      const poolId = readPoolId(r);
      r.done();
      const pool = model.pool(poolId);
      if (!pool.groups[groupName]) throw new AwsServiceError('ResourceNotFoundException', 'Group not found.');
      delete pool.groups[groupName];
      for (const u of Object.values(pool.users)) u.groups = u.groups.filter((g) => g !== groupName);
      await model.persist();
      return {};
    },

    async AdminAddUserToGroup(r) {
      const { user, groupName } = readMembership(r);
      if (!user.groups.includes(groupName)) {
        user.groups.push(groupName);
        user.lastModifiedAt = model.now().getTime();
        await model.persist();
      }
      return {};
    },

    async AdminRemoveUserFromGroup(r) {
      const { user, groupName } = readMembership(r);
      if (user.groups.includes(groupName)) {
        user.groups = user.groups.filter((g) => g !== groupName);
        user.lastModifiedAt = model.now().getTime();
        await model.persist();
      }
      return {};
    },

    async AdminListGroupsForUser(r) {
      const username = readUsername(r);
      const poolId = readPoolId(r);
      const limit = r.int('Limit', { min: 0, max: 60 });
      const token = r.string('NextToken', { min: 1, pattern: PATTERNS.paginationKey });
      r.done();
      const pool = model.pool(poolId);
      const user = model.userOrThrow(pool, username);
      const groups = user.groups.map((g) => pool.groups[g]).filter((g): g is GroupRecord => g !== undefined);
      const p = page(groups, limit, token);
      return { Groups: p.items.map((g) => groupShape(poolId, g)), ...(p.next !== undefined ? { NextToken: p.next } : {}) };
    },

    // --------------------------------------------------------------------------------- resource servers

    async CreateResourceServer(r) {
      const poolId = readPoolId(r);
      const identifier = r.string('Identifier', { required: true, min: 1, max: 256, pattern: PATTERNS.resourceServerIdentifier });
      const name = r.string('Name', { required: true, min: 1, max: 256, pattern: PATTERNS.resourceServerName });
      const scopes = readScopes(r);
      r.done();
      const pool = model.pool(poolId);
      if (pool.resourceServers[identifier]) {
        throw invalidParameter(`${identifier} already exists in user pool ${poolId}.`);
      }
      const rs: ResourceServerRecord = { identifier, name, scopes };
      pool.resourceServers[identifier] = rs;
      await model.persist();
      return { ResourceServer: resourceServerShape(poolId, rs) };
    },

    async DescribeResourceServer(r) {
      const poolId = readPoolId(r);
      const identifier = r.string('Identifier', { required: true, min: 1, max: 256, pattern: PATTERNS.resourceServerIdentifier });
      r.done();
      const rs = model.pool(poolId).resourceServers[identifier];
      if (!rs) throw new AwsServiceError('ResourceNotFoundException', `Resource server ${identifier} does not exist.`);
      return { ResourceServer: resourceServerShape(poolId, rs) };
    },

    async ListResourceServers(r) {
      const poolId = readPoolId(r);
      const max = r.int('MaxResults', { min: 1, max: 50 });
      const token = r.string('NextToken', { min: 1, pattern: PATTERNS.paginationKey });
      r.done();
      const p = page(Object.values(model.pool(poolId).resourceServers), max, token, 50);
      return {
        ResourceServers: p.items.map((rs) => resourceServerShape(poolId, rs)),
        ...(p.next !== undefined ? { NextToken: p.next } : {}),
      };
    },

    async UpdateResourceServer(r) {
      const poolId = readPoolId(r);
      const identifier = r.string('Identifier', { required: true, min: 1, max: 256, pattern: PATTERNS.resourceServerIdentifier });
      const name = r.string('Name', { required: true, min: 1, max: 256, pattern: PATTERNS.resourceServerName });
      const scopes = readScopes(r);
      r.done();
      const rs = model.pool(poolId).resourceServers[identifier];
      if (!rs) throw new AwsServiceError('ResourceNotFoundException', `Resource server ${identifier} does not exist.`);
      rs.name = name;
      rs.scopes = scopes;
      await model.persist();
      return { ResourceServer: resourceServerShape(poolId, rs) };
    },

    async DeleteResourceServer(r) {
      const poolId = readPoolId(r);
      const identifier = r.string('Identifier', { required: true, min: 1, max: 256, pattern: PATTERNS.resourceServerIdentifier });
      r.done();
      const pool = model.pool(poolId);
      if (!pool.resourceServers[identifier]) {
        throw new AwsServiceError('ResourceNotFoundException', `Resource server ${identifier} does not exist.`);
      }
      delete pool.resourceServers[identifier];
      await model.persist();
      return {};
    },

    // -------------------------------------------------------------------------------------- app clients

    async CreateUserPoolClient(r) {
      const poolId = readPoolId(r);
      const clientName = r.string('ClientName', { required: true, min: 1, max: 128, pattern: PATTERNS.clientName });
      const generateSecret = r.bool('GenerateSecret') ?? false;
      const customSecret = r.string('ClientSecret', { min: 24, max: 64, pattern: PATTERNS.clientSecret, sensitive: true });
      const settings = readClientSettings(r);
      r.done();
      const pool = model.pool(poolId);
      if (generateSecret && customSecret !== undefined) {
        throw invalidParameter('You cannot specify both GenerateSecret as true and provide a ClientSecret value.');
      }
      const hasSecret = generateSecret || customSecret !== undefined;
      validateClientSettings(pool, settings, hasSecret);
      throttleClientWrite(poolId);
      if (Object.keys(pool.clients).length >= maxClientsPerPool) {
        throw new AwsServiceError('LimitExceededException', `The maximum number of app clients (${maxClientsPerPool}) for this user pool has been reached.`);
      }
      let clientId = newClientId();
      while (model.findClient(clientId)) clientId = newClientId();
      const now = model.now().getTime();
      model.state.seq += 1;
      const client: ClientRecord = {
        clientId,
        seq: model.state.seq,
        clientName,
        createdAt: now,
        lastModifiedAt: now,
        settings,
        ...(hasSecret ? { sealedSecret: model.sealClientSecret(clientId, customSecret ?? newClientSecret()) } : {}),
      };
      pool.clients[clientId] = client;
      await model.persist();
      return { UserPoolClient: clientShape(poolId, client) };
    },

    async DescribeUserPoolClient(r) {
      const poolId = readPoolId(r);
      const clientId = readClientId(r);
      r.done();
      const client = model.poolClient(model.pool(poolId), clientId);
      return { UserPoolClient: clientShape(poolId, client) };
    },

    async UpdateUserPoolClient(r) {
      const poolId = readPoolId(r);
      const clientId = readClientId(r);
      const clientName = r.string('ClientName', { min: 1, max: 128, pattern: PATTERNS.clientName });
      const settings = readClientSettings(r);
      r.done();
      const pool = model.pool(poolId);
      const client = model.poolClient(pool, clientId);
      validateClientSettings(pool, settings, client.sealedSecret !== undefined);
      throttleClientWrite(poolId);
      // UpdateUserPoolClient replaces every setting: what the request leaves out goes back to its default.
      client.settings = settings;
      if (clientName !== undefined) client.clientName = clientName;
      client.lastModifiedAt = model.now().getTime();
      await model.persist();
      return { UserPoolClient: clientShape(poolId, client) };
    },

    async DeleteUserPoolClient(r) {
      const poolId = readPoolId(r);
      const clientId = readClientId(r);
      r.done();
      const pool = model.pool(poolId);
      model.poolClient(pool, clientId);
      throttleClientWrite(poolId);
      delete pool.clients[clientId];
      for (const [hash, rec] of Object.entries(pool.refreshTokens)) if (rec.clientId === clientId) delete pool.refreshTokens[hash];
      await model.persist();
      return {};
    },

    async ListUserPoolClients(r) {
      const poolId = readPoolId(r);
      const max = r.int('MaxResults', { min: 1, max: 60 });
      const token = r.string('NextToken', { min: 1, pattern: PATTERNS.paginationKey });
      r.done();
      const pool = model.pool(poolId);
      // The cursor is the creation sequence number, so deletions between pages neither skip nor repeat clients.
      const after = decodeToken(token);
      const size = max ?? 60;
      const sorted = Object.values(pool.clients).filter((c) => c.seq > after).sort((a, b) => a.seq - b.seq);
      const items = sorted.slice(0, size);
      const last = items[items.length - 1];
      return {
        UserPoolClients: items.map((c) => ({ ClientId: c.clientId, UserPoolId: poolId, ClientName: c.clientName })),
        ...(sorted.length > size && last ? { NextToken: encodeToken(last.seq) } : {}),
      };
    },

    // ------------------------------------------------------------------------------------ users (admin)

    async AdminCreateUser(r) {
      const poolId = readPoolId(r);
      const usernameInput = readUsername(r);
      const attrList = r.attributes('UserAttributes');
      r.attributes('ValidationData');
      const tempInput = r.string('TemporaryPassword', { max: 256, pattern: PATTERNS.password, sensitive: true });
      r.bool('ForceAliasCreation');
      const action = r.string('MessageAction', { values: ['RESEND', 'SUPPRESS'] });
      const mediums = r.stringList('DesiredDeliveryMediums', { item: { values: ['SMS', 'EMAIL'] } }) ?? ['SMS'];
      r.stringMap('ClientMetadata');
      r.done();
      const pool = model.pool(poolId);
      const tempPassword = tempInput ?? temporaryPassword(pool.passwordPolicy);
      if (tempInput !== undefined) checkPasswordPolicy(tempInput, pool.passwordPolicy);
      const passwordHash = await hashPassword(tempPassword);
      const now = model.now().getTime();
      const expiresAt = now + pool.passwordPolicy.TemporaryPasswordValidityDays * 86400_000;

      let user: UserRecord;
      if (action === 'RESEND') {
        user = model.userOrThrow(pool, usernameInput);
        if (user.status !== 'FORCE_CHANGE_PASSWORD') {
          throw new AwsServiceError(
            'UnsupportedUserStateException',
            `Resend not possible. ${user.username} status is not FORCE_CHANGE_PASSWORD.`,
          );
        }
        user.passwordHash = passwordHash;
        user.temporaryPasswordExpiresAt = expiresAt;
        user.lastModifiedAt = now;
      } else {
        const attrs = userAttributes(pool, attrList);
        const identity = newUserIdentity(pool, usernameInput, attrs);
        requireSchemaAttributes(pool, attrs);
        assertUserIsNew(pool, identity.username, attrs, 'User account already exists');
        user = {
          username: identity.username,
          sub: identity.sub,
          attributes: attrs,
          passwordHash,
          status: 'FORCE_CHANGE_PASSWORD',
          enabled: true,
          createdAt: now,
          lastModifiedAt: now,
          groups: [],
          temporaryPasswordExpiresAt: expiresAt,
        };
        pool.users[model.canonicalUsername(pool, user.username)] = user;
      }
      await model.persist();
      if (action !== 'SUPPRESS') {
        const email = user.attributes['email'];
        const phone = user.attributes['phone_number'];
        const target = mediums.includes('EMAIL') && email ? { to: email, medium: 'EMAIL' as const } : phone && mediums.includes('SMS') ? { to: phone, medium: 'SMS' as const } : undefined;
        if (target) {
          await model.send({ kind: 'invitation', ...target, userPoolId: poolId, username: user.username, temporaryPassword: tempPassword });
        }
      }
      return { User: userShape(user, 'Attributes') };
    },

    async ListUsers(r) {
      const poolId = readPoolId(r);
      const attributesToGet = r.stringList('AttributesToGet', { item: { min: 1, max: 32 } });
      const limit = r.int('Limit', { min: 0, max: 60 });
      const token = r.string('PaginationToken', { min: 1, pattern: PATTERNS.paginationKey });
      const filter = r.string('Filter', { max: 256 });
      r.done();
      const pool = model.pool(poolId);
      const matches = parseUserFilter(filter);
      const users = Object.values(pool.users)
        .filter((u) => matches(u))
        .sort((a, b) => a.createdAt - b.createdAt || a.username.localeCompare(b.username));
      const p = page(users, limit, token);
      return {
        Users: p.items.map((u) => {
          const shaped = userShape(u, 'Attributes');
          if (attributesToGet === undefined) return shaped;
          const wanted = new Set(attributesToGet);
          return { ...shaped, Attributes: model.attributeList(u).filter((a) => wanted.has(a.Name)) };
        }),
        ...(p.next !== undefined ? { PaginationToken: p.next } : {}),
      };
    },

    async AdminGetUser(r) {
      const poolId = readPoolId(r);
      const username = readUsername(r);
      r.done();
      const user = model.userOrThrow(model.pool(poolId), username);
      return userShape(user, 'UserAttributes');
    },

    async AdminDeleteUser(r) {
      const poolId = readPoolId(r);
      const username = readUsername(r);
      r.done();
      const pool = model.pool(poolId);
      const user = model.userOrThrow(pool, username);
      delete pool.users[model.canonicalUsername(pool, user.username)];
      for (const [hash, rec] of Object.entries(pool.refreshTokens)) if (rec.username === user.username) delete pool.refreshTokens[hash];
      await model.persist();
      return {};
    },

    AdminDisableUser: (r) => setEnabled(r, false),

    AdminEnableUser: (r) => setEnabled(r, true),

    async AdminSetUserPassword(r) {
      const poolId = readPoolId(r);
      const username = readUsername(r);
      const password = r.string('Password', { required: true, max: 256, pattern: PATTERNS.password, sensitive: true });
      const permanent = r.bool('Permanent') ?? false;
      r.done();
      const pool = model.pool(poolId);
      model.userOrThrow(pool, username);
      checkPasswordPolicy(password, pool.passwordPolicy);
      const hash = await hashPassword(password);
      const user = model.userOrThrow(pool, username);
      user.passwordHash = hash;
      if (permanent) {
        user.status = 'CONFIRMED';
        delete user.temporaryPasswordExpiresAt;
        delete user.confirmation;
      } else {
        user.status = 'FORCE_CHANGE_PASSWORD';
        user.temporaryPasswordExpiresAt = model.now().getTime() + pool.passwordPolicy.TemporaryPasswordValidityDays * 86400_000;
      }
      user.lastModifiedAt = model.now().getTime();
      await model.persist();
      return {};
    },

    async AdminConfirmSignUp(r) {
      const poolId = readPoolId(r);
      const username = readUsername(r);
      const metadata = r.stringMap('ClientMetadata');
      r.done();
      const pool = model.pool(poolId);
      const user = model.userOrThrow(pool, username);
      if (user.status !== 'UNCONFIRMED') {
        throw new AwsServiceError('NotAuthorizedException', `User cannot be confirmed. Current status is ${user.status}`);
      }
      return confirm(pool, user, NO_CLIENT, metadata);
    },

    // ------------------------------------------------------------------------------- users (self-service)

    async SignUp(r) {
      const clientId = readClientId(r);
      const secretHash = readSecretHash(r);
      const username = readUsername(r);
      const password = r.string('Password', { required: true, max: 256, pattern: PATTERNS.password, sensitive: true });
      const attrList = r.attributes('UserAttributes');
      r.attributes('ValidationData');
      r.stringMap('ClientMetadata');
      r.done();
      const { pool, client } = model.clientOrThrow(clientId);
      model.checkSecretHash(client, [username], secretHash);
      const adminOnly = (pool.extra['AdminCreateUserConfig'] as { AllowAdminCreateUserOnly?: boolean } | undefined)
        ?.AllowAdminCreateUserOnly;
      if (adminOnly === true) throw new AwsServiceError('NotAuthorizedException', 'SignUp is not permitted for this user pool');
      const attrs = userAttributes(pool, attrList);
      const identity = newUserIdentity(pool, username, attrs);
      requireSchemaAttributes(pool, attrs);
      checkPasswordPolicy(password, pool.passwordPolicy);
      assertUserIsNew(pool, identity.username, attrs, 'User already exists');
      const passwordHash = await hashPassword(password);
      // Checked again after the await: a concurrent SignUp for the same name may have won meanwhile.
      assertUserIsNew(pool, identity.username, attrs, 'User already exists');
      const now = model.now().getTime();
      const user: UserRecord = {
        username: identity.username,
        sub: identity.sub,
        attributes: attrs,
        passwordHash,
        status: 'UNCONFIRMED',
        enabled: true,
        createdAt: now,
        lastModifiedAt: now,
        groups: [],
      };
      pool.users[model.canonicalUsername(pool, user.username)] = user;
      const confirmation = model.newConfirmation(pool, user);
      await model.persist();
      if (confirmation) {
        await model.send({
          kind: 'confirmation',
          to: confirmation.to,
          medium: confirmation.details.DeliveryMedium,
          userPoolId: pool.id,
          username: user.username,
          code: confirmation.code,
        });
      }
      return {
        UserConfirmed: false,
        ...(confirmation ? { CodeDeliveryDetails: confirmation.details } : {}),
        UserSub: user.sub,
      };
    },

    async ConfirmSignUp(r) {
      const clientId = readClientId(r);
      const secretHash = readSecretHash(r);
      const username = readUsername(r);
      const code = r.string('ConfirmationCode', { required: true, min: 1, max: 2048, pattern: PATTERNS.code, sensitive: true });
      const forceAlias = r.bool('ForceAliasCreation') ?? false;
      const metadata = r.stringMap('ClientMetadata');
      r.string('Session', { min: 20, max: 2048 });
      r.done();
      const { pool, client } = model.clientOrThrow(clientId);
      const user = model.findUser(pool, username);
      model.checkSecretHash(client, user ? [username, user.username] : [username], secretHash);
      if (!user) {
        if (client.settings.PreventUserExistenceErrors === 'ENABLED') {
          throw new AwsServiceError('CodeMismatchException', 'Invalid verification code provided, please try again.');
        }
        throw new AwsServiceError('UserNotFoundException', 'Username/client id combination not found.');
      }
      if (user.status !== 'UNCONFIRMED') {
        throw new AwsServiceError('NotAuthorizedException', `User cannot be confirmed. Current status is ${user.status}`);
      }
      const pending = user.confirmation;
      if (!pending) throw new AwsServiceError('CodeMismatchException', 'Invalid verification code provided, please try again.');
      if (pending.failedAttempts >= MAX_CODE_ATTEMPTS) {
        throw new AwsServiceError('LimitExceededException', 'Attempt limit exceeded, please try after some time.');
      }
      if (sha256Hex(code) !== pending.codeHash) {
        pending.failedAttempts += 1;
        await model.persist();
        throw new AwsServiceError('CodeMismatchException', 'Invalid verification code provided, please try again.');
      }
      if (model.now().getTime() > pending.expiresAt) {
        throw new AwsServiceError('ExpiredCodeException', 'Invalid code provided, please request a code again.');
      }
      const verifies = pending.verifies;
      if (verifies !== undefined && pool.aliasAttributes.includes(verifies)) {
        const value = user.attributes[verifies];
        const holder = Object.values(pool.users).find(
          (u) => u !== user && u.attributes[verifies] === value && u.attributes[`${verifies}_verified`] === 'true',
        );
        if (holder) {
          if (!forceAlias) {
            throw new AwsServiceError('AliasExistsException', `An account with the ${verifies === 'email' ? 'email' : 'phone number'} already exists.`);
          }
          holder.attributes[`${verifies}_verified`] = 'false';
        }
      }
      return confirm(pool, user, clientId, metadata, verifies);
    },

    async ResendConfirmationCode(r) {
      const clientId = readClientId(r);
      const secretHash = readSecretHash(r);
      const username = readUsername(r);
      r.stringMap('ClientMetadata');
      r.done();
      const { pool, client } = model.clientOrThrow(clientId);
      const user = model.findUser(pool, username);
      model.checkSecretHash(client, user ? [username, user.username] : [username], secretHash);
      if (!user) throw new AwsServiceError('UserNotFoundException', 'Username/client id combination not found.');
      if (user.status !== 'UNCONFIRMED') throw invalidParameter('User is already confirmed.');
      const confirmation = model.newConfirmation(pool, user);
      if (!confirmation) throw invalidParameter('Auto verification not turned on.');
      await model.persist();
      await model.send({
        kind: 'confirmation',
        to: confirmation.to,
        medium: confirmation.details.DeliveryMedium,
        userPoolId: pool.id,
        username: user.username,
        code: confirmation.code,
      });
      return { CodeDeliveryDetails: confirmation.details };
    },

    async InitiateAuth(r) {
      const flow = r.string('AuthFlow', { required: true, values: AUTH_FLOWS });
      const params = r.stringMap('AuthParameters', { sensitive: true }) ?? {};
      const clientId = readClientId(r);
      r.stringMap('ClientMetadata');
      r.string('Session', { min: 20, max: 2048 });
      r.done();
      const { pool, client } = model.clientOrThrow(clientId);
      const flows = client.settings.ExplicitAuthFlows;
      const legacy = !flows.some((f) => f.startsWith('ALLOW_'));
      const required = (name: string): string => {
        const v = params[name];
        if (v === undefined || v === '') throw invalidParameter(`Missing required parameter ${name}`);
        return v;
      };

      if (flow === 'USER_PASSWORD_AUTH') {
        if (!flows.includes('ALLOW_USER_PASSWORD_AUTH') && !flows.includes('USER_PASSWORD_AUTH')) {
          throw invalidParameter('USER_PASSWORD_AUTH flow not enabled for this client');
        }
        const username = required('USERNAME');
        const password = required('PASSWORD');
        const found = model.findUser(pool, username);
        model.checkSecretHash(client, found ? [username, found.username] : [username], params['SECRET_HASH']);
        const user = await model.signIn(pool, client, username, password);
        if (user.status === 'FORCE_CHANGE_PASSWORD') return newPasswordChallenge(pool, client, user);
        return authenticationResult(await model.issueUserTokens(pool, client, user, apiTokenOptions()));
      }

      if (flow === 'REFRESH_TOKEN_AUTH' || flow === 'REFRESH_TOKEN') {
        if (!legacy && !flows.includes('ALLOW_REFRESH_TOKEN_AUTH')) throw invalidParameter('Refresh Token Flow not enabled for this client');
        const token = required('REFRESH_TOKEN');
        const { record, user } = model.redeemRefreshToken(pool, client, token);
        model.checkSecretHash(client, [user.username, ...(params['USERNAME'] ? [params['USERNAME']] : [])], params['SECRET_HASH']);
        const issued = await model.issueUserTokens(pool, client, user, {
          scopes: record.scopes,
          idToken: record.idToken,
          refreshToken: false,
          authTime: record.authTime,
          originJti: record.originJti,
        });
        return authenticationResult(issued);
      }

      if (flow === 'ADMIN_NO_SRP_AUTH' || flow === 'ADMIN_USER_PASSWORD_AUTH') throw invalidParameter('Initiate Auth method not supported.');
      throw invalidParameter(`${flow} is not supported by the local Cognito emulation; use USER_PASSWORD_AUTH.`);
    },

    async RespondToAuthChallenge(r) {
      const clientId = readClientId(r);
      const challenge = r.string('ChallengeName', { required: true });
      const session = r.string('Session', { min: 20, max: 2048, sensitive: true });
      const responses = r.stringMap('ChallengeResponses', { sensitive: true }) ?? {};
      r.stringMap('ClientMetadata');
      r.done();
      const { pool, client } = model.clientOrThrow(clientId);
      if (challenge !== 'NEW_PASSWORD_REQUIRED') {
        throw invalidParameter(`${challenge} is not supported by the local Cognito emulation.`);
      }
      const s = session === undefined ? undefined : sessions.get(sha256Hex(session));
      if (!s || s.clientId !== clientId || s.poolId !== pool.id) {
        throw new AwsServiceError('NotAuthorizedException', 'Invalid session for the user.');
      }
      if (s.expiresAt < model.now().getTime()) {
        sessions.delete(sha256Hex(session as string));
        throw new AwsServiceError('NotAuthorizedException', 'Invalid session for the user, session is expired.');
      }
      const newPassword = responses['NEW_PASSWORD'];
      if (!newPassword) throw invalidParameter('Missing required parameter NEW_PASSWORD');
      const username = responses['USERNAME'];
      if (!username) throw invalidParameter('Missing required parameter USERNAME');
      const user = model.findUser(pool, username);
      if (!user || user.username !== s.username) throw new AwsServiceError('NotAuthorizedException', 'Invalid session for the user.');
      model.checkSecretHash(client, [username, user.username], responses['SECRET_HASH']);
      checkPasswordPolicy(newPassword, pool.passwordPolicy);
      const hash = await hashPassword(newPassword);
      if (user.status !== 'FORCE_CHANGE_PASSWORD') throw new AwsServiceError('NotAuthorizedException', 'Invalid session for the user.');
      sessions.delete(sha256Hex(session as string));
      user.passwordHash = hash;
      user.status = 'CONFIRMED';
      delete user.temporaryPasswordExpiresAt;
      for (const [k, v] of Object.entries(responses)) {
        if (k.startsWith('userAttributes.')) user.attributes[k.slice('userAttributes.'.length)] = v;
      }
      user.lastModifiedAt = model.now().getTime();
      await model.persist();
      return authenticationResult(await model.issueUserTokens(pool, client, user, apiTokenOptions()));
    },

    async GetUser(r) {
      const token = r.string('AccessToken', { required: true, pattern: PATTERNS.token, sensitive: true });
      r.done();
      const { user } = await model.userFromAccessToken(token);
      return { Username: user.username, UserAttributes: model.attributeList(user) };
    },
  };

  // ------------------------------------------------------------------------------------------- helpers

  function readScopes(r: InputReader): { ScopeName: string; ScopeDescription: string }[] {
    const list = r.objectList('Scopes', { max: 100 }) ?? [];
    const scopes = list.map((s) => ({
      ScopeName: s.string('ScopeName', { required: true, min: 1, max: 256, pattern: PATTERNS.scopeName }),
      ScopeDescription: s.string('ScopeDescription', { required: true, min: 1, max: 256 }),
    }));
    const names = scopes.map((s) => s.ScopeName);
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup !== undefined) throw invalidParameter(`Duplicate scope names are not allowed: ${dup}`);
    return scopes;
  }

  function readClientSettings(r: InputReader): ClientSettings {
    const units = r.object('TokenValidityUnits');
    let tokenUnits: ClientSettings['TokenValidityUnits'];
    if (units) {
      tokenUnits = {};
      for (const k of ['AccessToken', 'IdToken', 'RefreshToken'] as const) {
        const unit = units.string(k, { values: TIME_UNITS }) as TimeUnit | undefined;
        if (unit !== undefined) tokenUnits[k] = unit;
      }
    }
    const refresh = r.int('RefreshTokenValidity', { min: 0, max: 315360000 });
    const access = r.int('AccessTokenValidity', { min: 1, max: 86400 });
    const id = r.int('IdTokenValidity', { min: 1, max: 86400 });
    const read = r.stringList('ReadAttributes', { item: { min: 1, max: 2048 } });
    const write = r.stringList('WriteAttributes', { item: { min: 1, max: 2048 } });
    const explicit = r.stringList('ExplicitAuthFlows', { item: { values: EXPLICIT_AUTH_FLOWS } });
    const idps = r.stringList('SupportedIdentityProviders', { item: { min: 1, max: 32 } });
    const callbacks = r.stringList('CallbackURLs', { max: 100, item: { min: 1, max: 1024, pattern: PATTERNS.redirectUrl } });
    const logouts = r.stringList('LogoutURLs', { max: 100, item: { min: 1, max: 1024, pattern: PATTERNS.redirectUrl } });
    const defaultRedirect = r.string('DefaultRedirectURI', { min: 1, max: 1024, pattern: PATTERNS.redirectUrl });
    const oauthFlows = r.stringList('AllowedOAuthFlows', { max: 3, item: { values: OAUTH_FLOWS } }) as OAuthFlow[] | undefined;
    const oauthScopes = r.stringList('AllowedOAuthScopes', { max: 50, item: { min: 1, max: 256, pattern: PATTERNS.scope } });
    const oauthClient = r.bool('AllowedOAuthFlowsUserPoolClient') ?? false;
    const prevent = (r.string('PreventUserExistenceErrors', { values: ['LEGACY', 'ENABLED'] }) ?? 'LEGACY') as 'LEGACY' | 'ENABLED';
    const revocation = r.bool('EnableTokenRevocation') ?? true;
    const propagate = r.bool('EnablePropagateAdditionalUserContextData') ?? false;
    const session = r.int('AuthSessionValidity', { min: 3, max: 15 }) ?? 3;
    if (r.raw_('AnalyticsConfiguration') !== undefined) r.object('AnalyticsConfiguration');
    if (r.raw_('RefreshTokenRotation') !== undefined) r.object('RefreshTokenRotation');
    return {
      RefreshTokenValidity: refresh === undefined || refresh === 0 ? 30 : refresh,
      ...(access !== undefined ? { AccessTokenValidity: access } : {}),
      ...(id !== undefined ? { IdTokenValidity: id } : {}),
      ...(tokenUnits !== undefined ? { TokenValidityUnits: tokenUnits } : {}),
      ...(read !== undefined ? { ReadAttributes: read } : {}),
      ...(write !== undefined ? { WriteAttributes: write } : {}),
      ExplicitAuthFlows: explicit ?? [...DEFAULT_EXPLICIT_AUTH_FLOWS],
      ...(idps !== undefined ? { SupportedIdentityProviders: idps } : {}),
      ...(callbacks !== undefined ? { CallbackURLs: callbacks } : {}),
      ...(logouts !== undefined ? { LogoutURLs: logouts } : {}),
      ...(defaultRedirect !== undefined ? { DefaultRedirectURI: defaultRedirect } : {}),
      ...(oauthFlows !== undefined ? { AllowedOAuthFlows: oauthFlows } : {}),
      ...(oauthScopes !== undefined ? { AllowedOAuthScopes: oauthScopes } : {}),
      AllowedOAuthFlowsUserPoolClient: oauthClient,
      PreventUserExistenceErrors: prevent,
      EnableTokenRevocation: revocation,
      EnablePropagateAdditionalUserContextData: propagate,
      AuthSessionValidity: session,
    };
  }

  /** Cross-field rules of CreateUserPoolClient / UpdateUserPoolClient. */
  function validateClientSettings(pool: PoolRecord, s: ClientSettings, hasSecret: boolean): void {
    const range = (value: number | undefined, unit: TimeUnit | undefined, fallback: TimeUnit, min: number, max: number): void => {
      if (value === undefined) return;
      const secs = value * { seconds: 1, minutes: 60, hours: 3600, days: 86400 }[unit ?? fallback];
      if (secs < min || secs > max) throw invalidParameter('Invalid range for token validity.');
    };
    range(s.AccessTokenValidity, s.TokenValidityUnits?.AccessToken, 'hours', 300, 86400);
    range(s.IdTokenValidity, s.TokenValidityUnits?.IdToken, 'hours', 300, 86400);
    range(s.RefreshTokenValidity, s.TokenValidityUnits?.RefreshToken, 'days', 3600, 3650 * 86400);

    const flows = s.AllowedOAuthFlows ?? [];
    const scopes = s.AllowedOAuthScopes ?? [];
    if (s.AllowedOAuthFlowsUserPoolClient && (flows.length === 0 || scopes.length === 0)) {
      throw new AwsServiceError(
        'InvalidOAuthFlowException',
        'AllowedOAuthFlows and AllowedOAuthScopes are required if user pool client is allowed to use OAuth flows.',
      );
    }
    if (flows.includes('client_credentials')) {
      if (flows.includes('code') || flows.includes('implicit')) {
        throw new AwsServiceError('InvalidOAuthFlowException', 'client_credentials flow can not be selected along with code flow or implicit flow.');
      }
      if (!hasSecret) {
        throw new AwsServiceError('InvalidOAuthFlowException', 'client_credentials flow can not be selected if client does not have a client secret.');
      }
      const builtIn = scopes.find((sc) => (BUILT_IN_SCOPES as readonly string[]).includes(sc));
      if (builtIn !== undefined) throw invalidParameter(`${builtIn} is not supported with client_credentials flow.`);
    }
    for (const scope of scopes) {
      if ((BUILT_IN_SCOPES as readonly string[]).includes(scope)) continue;
      const slash = scope.lastIndexOf('/');
      const rs = slash > 0 ? pool.resourceServers[scope.slice(0, slash)] : undefined;
      if (!rs || !rs.scopes.some((x) => x.ScopeName === scope.slice(slash + 1))) {
        throw new AwsServiceError('ScopeDoesNotExistException', `Invalid scope requested: ${scope}`);
      }
    }
    for (const url of [...(s.CallbackURLs ?? []), ...(s.LogoutURLs ?? [])]) checkRedirectUrl(url);
    if ((flows.includes('code') || flows.includes('implicit')) && (s.CallbackURLs ?? []).length === 0) {
      throw invalidParameter('CallbackURLs can not be empty when code or implicit flows are enabled.');
    }
    if (s.DefaultRedirectURI !== undefined && !(s.CallbackURLs ?? []).includes(s.DefaultRedirectURI)) {
      throw invalidParameter('DefaultRedirectURI must be one of the CallbackURLs.');
    }
    for (const idp of s.SupportedIdentityProviders ?? []) {
      if (idp !== 'COGNITO') throw invalidParameter(`The provider ${idp} does not exist for User Pool ${pool.id}`);
    }
    const mixed = s.ExplicitAuthFlows.some((f) => f.startsWith('ALLOW_')) && s.ExplicitAuthFlows.some((f) => !f.startsWith('ALLOW_'));
    if (mixed) throw invalidParameter('Mixing legacy and new auth flows is not allowed.');
  }

  /** Absolute, no fragment, HTTPS except http://localhost (the rule the CreateUserPoolClient reference states). */
  function checkRedirectUrl(url: string): void {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw invalidParameter(`Invalid redirect URL ${url}: it must be an absolute URI.`);
    }
    if (parsed.hash !== '' || url.includes('#')) throw invalidParameter(`Invalid redirect URL ${url}: it must not include a fragment.`);
    if (parsed.protocol === 'http:' && parsed.hostname !== 'localhost') {
      throw invalidParameter(`Invalid redirect URL ${url}: HTTPS is required over HTTP except for http://localhost.`);
    }
  }

  function apiTokenOptions() {
    return { scopes: [USER_ADMIN_SCOPE], idToken: true, refreshToken: true } as const;
  }

  function authenticationResult(t: { accessToken: string; idToken?: string; refreshToken?: string; expiresIn: number }) {
    return {
      ChallengeParameters: {},
      AuthenticationResult: {
        AccessToken: t.accessToken,
        ExpiresIn: t.expiresIn,
        TokenType: 'Bearer',
        ...(t.refreshToken !== undefined ? { RefreshToken: t.refreshToken } : {}),
        ...(t.idToken !== undefined ? { IdToken: t.idToken } : {}),
      },
    };
  }

  function newPasswordChallenge(pool: PoolRecord, client: ClientRecord, user: UserRecord) {
    const session = newOpaqueToken(96);
    const now = model.now().getTime();
    for (const [k, s] of sessions) if (s.expiresAt < now) sessions.delete(k);
    sessions.set(sha256Hex(session), {
      poolId: pool.id,
      clientId: client.clientId,
      username: user.username,
      expiresAt: now + client.settings.AuthSessionValidity * 60_000,
    });
    const visible = Object.fromEntries(Object.entries(user.attributes).filter(([k]) => !k.endsWith('_verified')));
    return {
      ChallengeName: 'NEW_PASSWORD_REQUIRED',
      Session: session,
      ChallengeParameters: {
        USER_ID_FOR_SRP: user.username,
        requiredAttributes: '[]',
        userAttributes: JSON.stringify(visible),
      },
    };
  }

  return {
    targetPrefix: 'AWSCognitoIdentityProviderService',
    jsonVersion: '1.1',
    async handle(action: string, input: Input): Promise<unknown> {
      const handler = Object.prototype.hasOwnProperty.call(handlers, action) ? handlers[action] : undefined;
      if (!handler) {
        throw new AwsServiceError('UnknownOperationException', `${action} is not supported by the local Cognito emulation`);
      }
      if (input === null || typeof input !== 'object' || Array.isArray(input)) {
        throw new AwsServiceError('SerializationException', 'The request body must be a JSON object');
      }
      return handler(new InputReader(input));
    },
  };
}
