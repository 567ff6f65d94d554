/**
 * User pool settings both stacks apply: the CDK UserDirectory construct and the local stack's bootstrap build
 * the pool from these, so sign-up behaves the same on AWS and on one machine.
 */
import { UI_CLIENT_NAME, USER_ADMIN_SCOPE } from './names';

export const USER_POOL_NAME = 'devaccess';

/** Users sign in with their username or their (verified) email address. */
export const SIGN_IN_ALIASES = ['email'] as const;
export const AUTO_VERIFIED_ATTRIBUTES = ['email'] as const;

export const PASSWORD_POLICY = {
  minLength: 12,
  requireLowercase: true,
  requireUppercase: true,
  requireDigits: true,
  requireSymbols: true,
  temporaryPasswordValidityDays: 3,
} as const;

/** Scopes the UI app client may request at the managed login (authorization code + PKCE). */
export const UI_CLIENT_OAUTH_SCOPES = ['openid', 'email', 'profile', USER_ADMIN_SCOPE] as const;

/** Default callback and sign-out URLs of the UI client (a front end on localhost:3000). */
export const DEFAULT_UI_CALLBACK_URLS = ['http://localhost:3000/callback'] as const;
export const DEFAULT_UI_LOGOUT_URLS = ['http://localhost:3000/'] as const;

/** The origin (`scheme://host[:port]`) of an http(s) URL; throws for anything else. */
export function originOf(url: string): string {
  const parsed = new URL(url);
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new Error(`Not an http(s) URL: ${url}`);
  return parsed.origin;
}

/**
 * The browser origins of a UI client's callback URLs: the front end that signs users in there is the one that calls
 * the API with their token. URLs with another scheme (a native app's `myapp://callback`) have no origin to allow.
 */
export function corsOriginsFor(callbackUrls: readonly string[]): string[] {
  return [...new Set(callbackUrls.filter((url) => /^https?:\/\//i.test(url)).map(originOf))];
}

/** Browser origins allowed to call the API (CORS) by default: those of the default callback URLs. */
export const DEFAULT_CORS_ORIGINS: readonly string[] = corsOriginsFor(DEFAULT_UI_CALLBACK_URLS);

/**
 * The UI app client, in the field names of Cognito's CreateUserPoolClient (CloudFormation's
 * AWS::Cognito::UserPoolClient uses the same ones). The local bootstrap sends it as is; the CDK UserDirectory maps
 * it onto UserPoolClient props; the infra tests compare the synthesized client with it field by field.
 * `CallbackURLs`/`LogoutURLs` are the defaults; a deployment may set its own.
 */
export const UI_CLIENT = {
  ClientName: UI_CLIENT_NAME,
  // A browser app cannot keep a secret; authorization code with PKCE protects the code instead.
  GenerateSecret: false,
  ExplicitAuthFlows: ['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_USER_SRP_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'],
  AllowedOAuthFlows: ['code'],
  AllowedOAuthFlowsUserPoolClient: true,
  AllowedOAuthScopes: UI_CLIENT_OAUTH_SCOPES,
  CallbackURLs: DEFAULT_UI_CALLBACK_URLS,
  LogoutURLs: DEFAULT_UI_LOGOUT_URLS,
  SupportedIdentityProviders: ['COGNITO'],
  // Sign-in and recovery answer alike for unknown and known users, so the UI cannot be used to probe accounts.
  PreventUserExistenceErrors: 'ENABLED',
  EnableTokenRevocation: true,
} as const;
