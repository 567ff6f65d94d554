/**
 * Options of the local Cognito user pools emulation and the shape of its persisted state. The state is plain
 * JSON (written to `<dataDir>/cognito/state.json`); it never holds a password, a refresh token, a confirmation
 * code or an app-client secret in clear: the first three are stored as scrypt or SHA-256 hashes; client secrets,
 * which DescribeUserPoolClient has to return (Cognito does the same), are sealed with AES-256-GCM
 * (secret-box.ts).
 */

/** A confirmation code or invitation as it would be sent by email or SMS. */
export interface CodeDelivery {
  readonly kind: 'confirmation' | 'invitation';
  /** Email address or phone number the message goes to. */
  readonly to: string;
  readonly medium: 'EMAIL' | 'SMS';
  readonly userPoolId: string;
  readonly username: string;
  /** The 6-digit confirmation code (kind `confirmation`). */
  readonly code?: string;
  /** The temporary password of an AdminCreateUser invitation (kind `invitation`). */
  readonly temporaryPassword?: string;
  /** ISO-8601. */
  readonly at: string;
}

export type DeliverCode = (message: CodeDelivery) => void | Promise<void>;

export interface CognitoEmulatorOptions {
  /** Persists under `<dataDir>/cognito/`; the default code outbox is `<dataDir>/outbox.jsonl`. */
  readonly dataDir: string;
  readonly region: string;
  readonly accountId: string;
  /** Public base URL of the local server, e.g. `http://127.0.0.1:4000` (hosted UI redirects, discovery document). */
  readonly baseUrl: () => string;
  /**
   * Invokes a Lambda trigger (PostConfirmation, ...) by function ARN with a Cognito-shaped event and returns its
   * result. It must throw (or reject) when the function fails; the emulation then answers
   * UserLambdaValidationException as Cognito does.
   */
  readonly invokeLambda: (functionArn: string, event: unknown) => Promise<unknown>;
  /** Where confirmation codes and invitations go. @default print + append to `<dataDir>/outbox.jsonl` */
  readonly deliverCode?: DeliverCode;
  /** App-client create/update/delete requests per second per pool; 0 disables the limit. @default 5 */
  readonly clientWriteRatePerSecond?: number;
  /** Cognito's quota of app clients per user pool. @default 1000 */
  readonly maxClientsPerPool?: number;
  /** How long Cognito waits for a Lambda trigger before failing the request. @default 5000 */
  readonly triggerTimeoutMs?: number;
  /** Where the default outbox prints a line per message. @default process.stdout */
  readonly log?: (line: string) => void;
  readonly now?: () => Date;
}

export type UserStatus = 'UNCONFIRMED' | 'CONFIRMED' | 'FORCE_CHANGE_PASSWORD';

export interface PendingCode {
  /** SHA-256 (hex) of the code. */
  readonly codeHash: string;
  /** Epoch milliseconds. */
  readonly expiresAt: number;
  /** The attribute the code verifies when it is confirmed (`email` or `phone_number`), if it was sent. */
  readonly verifies?: 'email' | 'phone_number';
  failedAttempts: number;
}

export interface UserRecord {
  /** The user name as Cognito reports it (the `sub` in pools that sign in with email or phone). */
  readonly username: string;
  readonly sub: string;
  /** Every attribute except `sub`, as strings (Cognito's representation). */
  attributes: Record<string, string>;
  /** `scrypt$<N>$<r>$<p>$<salt b64>$<hash b64>`. */
  passwordHash: string;
  status: UserStatus;
  enabled: boolean;
  /** Epoch milliseconds. */
  readonly createdAt: number;
  lastModifiedAt: number;
  /** Group names, in the order they were joined. */
  groups: string[];
  confirmation?: PendingCode;
  /** For FORCE_CHANGE_PASSWORD users: when the temporary password stops working (epoch milliseconds). */
  temporaryPasswordExpiresAt?: number;
}

export interface GroupRecord {
  readonly groupName: string;
  description?: string;
  roleArn?: string;
  precedence?: number;
  readonly createdAt: number;
  lastModifiedAt: number;
}

export interface ResourceServerRecord {
  readonly identifier: string;
  name: string;
  scopes: { ScopeName: string; ScopeDescription: string }[];
}

export type OAuthFlow = 'code' | 'implicit' | 'client_credentials';
export type TimeUnit = 'seconds' | 'minutes' | 'hours' | 'days';

export interface ClientRecord {
  readonly clientId: string;
  /** Creation order within the emulator; the ListUserPoolClients cursor. */
  readonly seq: number;
  clientName: string;
  /** The client secret sealed by SecretBox (bound to this client id); open it with CognitoModel.clientSecret. */
  sealedSecret?: string;
  readonly createdAt: number;
  lastModifiedAt: number;
  /** The settings as the API echoes them (everything except id, name, secret and dates). */
  settings: ClientSettings;
}

export interface ClientSettings {
  RefreshTokenValidity: number;
  AccessTokenValidity?: number;
  IdTokenValidity?: number;
  TokenValidityUnits?: { AccessToken?: TimeUnit; IdToken?: TimeUnit; RefreshToken?: TimeUnit };
  ReadAttributes?: string[];
  WriteAttributes?: string[];
  ExplicitAuthFlows: string[];
  SupportedIdentityProviders?: string[];
  CallbackURLs?: string[];
  LogoutURLs?: string[];
  DefaultRedirectURI?: string;
  AllowedOAuthFlows?: OAuthFlow[];
  AllowedOAuthScopes?: string[];
  AllowedOAuthFlowsUserPoolClient: boolean;
  PreventUserExistenceErrors: 'LEGACY' | 'ENABLED';
  EnableTokenRevocation: boolean;
  EnablePropagateAdditionalUserContextData: boolean;
  AuthSessionValidity: number;
}

export interface RefreshTokenRecord {
  readonly clientId: string;
  readonly username: string;
  /** Scopes of the original grant; refreshed access tokens carry the same ones. */
  readonly scopes: string[];
  readonly originJti: string;
  /** Epoch seconds of the original sign-in. */
  readonly authTime: number;
  /** Epoch milliseconds. */
  readonly expiresAt: number;
  /** Whether an ID token is issued on refresh (a hosted-UI grant without `openid` gets none). */
  readonly idToken: boolean;
}

export interface PasswordPolicy {
  MinimumLength: number;
  RequireUppercase: boolean;
  RequireLowercase: boolean;
  RequireNumbers: boolean;
  RequireSymbols: boolean;
  PasswordHistorySize?: number;
  TemporaryPasswordValidityDays: number;
}

export interface SchemaAttribute {
  readonly Name: string;
  readonly AttributeDataType: string;
  readonly DeveloperOnlyAttribute: boolean;
  readonly Mutable: boolean;
  readonly Required: boolean;
}

export interface PoolRecord {
  readonly id: string;
  name: string;
  readonly arn: string;
  readonly createdAt: number;
  lastModifiedAt: number;
  passwordPolicy: PasswordPolicy;
  /** Trigger ARNs by trigger name (`PostConfirmation`, ...), as given to CreateUserPool. */
  lambdaConfig: Record<string, unknown>;
  autoVerifiedAttributes: string[];
  usernameAttributes: string[];
  aliasAttributes: string[];
  caseSensitive: boolean;
  mfaConfiguration: string;
  deletionProtection: string;
  /** Schema entries given to CreateUserPool (standard attributes made required, custom attributes). */
  schema: SchemaAttribute[];
  /** Settings echoed by DescribeUserPool as given (templates, tags, schema additions, ...). */
  extra: Record<string, unknown>;
  domain?: string;
  /** Keyed by the canonical user name (lower-cased in case-insensitive pools). */
  users: Record<string, UserRecord>;
  groups: Record<string, GroupRecord>;
  clients: Record<string, ClientRecord>;
  resourceServers: Record<string, ResourceServerRecord>;
  /** Keyed by SHA-256 (hex) of the refresh token. */
  refreshTokens: Record<string, RefreshTokenRecord>;
}

export interface CognitoState {
  version: 1;
  /** Monotonic counter (client creation order). */
  seq: number;
  pools: Record<string, PoolRecord>;
  /** Hosted-UI domain prefix -> pool id. */
  domains: Record<string, string>;
}
