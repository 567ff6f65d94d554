/**
 * User pool settings both stacks apply: the CDK UserDirectory construct and the local stack's bootstrap build
 * the pool from these, so sign-up behaves the same on AWS and on one machine.
 */
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
export const UI_CLIENT_OAUTH_SCOPES = ['openid', 'email', 'profile', 'aws.cognito.signin.user.admin'] as const;

/** Default callback and sign-out URLs of the UI client (a front end on localhost:3000). */
export const DEFAULT_UI_CALLBACK_URLS = ['http://localhost:3000/callback'] as const;
export const DEFAULT_UI_LOGOUT_URLS = ['http://localhost:3000/'] as const;
