/**
 * The Cognito user pool: who can sign up and sign in, the resource server whose scopes machine clients get,
 * the UI app client and the managed-login domain whose `/oauth2/token` endpoint issues client-credentials tokens.
 */
import { Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import {
  DEFAULT_DEVELOPERS_GROUP,
  RESOURCE_SCOPES,
  RESOURCE_SERVER_IDENTIFIER,
  RESOURCE_SERVER_NAME,
  TOKEN_PATH,
} from '../../../lambdas/shared/contract/names';
import {
  AUTO_VERIFIED_ATTRIBUTES,
  PASSWORD_POLICY,
  SIGN_IN_ALIASES,
  UI_CLIENT,
} from '../../../lambdas/shared/contract/user-pool';

export interface UserDirectoryProps {
  /** The post-confirmation trigger (FUNCTIONS.postConfirmation). It must not hold a grant on this pool: the pool
   * depends on the function, so a policy naming the pool would close a dependency cycle. */
  readonly postConfirmation: lambda.IFunction;
  /**
   * Name of the group whose members may create credentials.
   * @default DEFAULT_DEVELOPERS_GROUP
   */
  readonly developersGroup?: string;
  /**
   * Prefix of the Cognito domain `<prefix>.auth.<region>.amazoncognito.com` (unique per region; no `aws`,
   * `amazon` or `cognito` in it).
   * @default `devaccess-<account id>`
   */
  readonly domainPrefix?: string;
  /**
   * Where managed login may send users back to after sign-in (the UI client).
   * @default ['http://localhost:3000/callback']
   */
  readonly callbackUrls?: readonly string[];
  /**
   * Where managed login may send users after sign-out (the UI client).
   * @default ['http://localhost:3000/']
   */
  readonly logoutUrls?: readonly string[];
  /**
   * Whether MFA (TOTP) is optional or required for user sign-in.
   * @default 'optional'
   */
  readonly mfa?: 'optional' | 'required';
  /**
   * Plus feature plan with threat protection enforced (compromised credentials, adaptive authentication). It
   * costs more per monthly active user than the Essentials plan used otherwise.
   * @default false
   */
  readonly threatProtection?: boolean;
  /**
   * Identifier of the resource server whose `read` and `write` scopes machine clients get (`<identifier>/read`).
   * @default RESOURCE_SERVER_IDENTIFIER ('devaccess')
   */
  readonly resourceServerIdentifier?: string;
  /**
   * Send sign-up codes and other user-pool email through Amazon SES from this address (an identity verified in
   * SES, out of the SES sandbox for production). Cognito's own sender, used otherwise, sends about 50 emails a day
   * per account and is meant for testing.
   * @default Cognito's default email sender
   */
  readonly sesFromEmail?: string;
  /**
   * Region of the SES identity of `sesFromEmail`; required when the stack's region is not known at synth time.
   * @default the stack's region
   */
  readonly sesRegion?: string;
  /**
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Cognito deletion protection on the pool.
   * @default true
   */
  readonly deletionProtection?: boolean;
}

export class UserDirectory extends Construct {
  readonly userPool: cognito.UserPool;
  readonly uiClient: cognito.UserPoolClient;
  readonly domain: cognito.UserPoolDomain;
  readonly resourceServer: cognito.UserPoolResourceServer;
  readonly developersGroup: cognito.UserPoolGroup;
  /** Name of the developers group. */
  readonly developersGroupName: string;
  /** The OAuth 2.0 token endpoint machine clients call (`grant_type=client_credentials`). */
  readonly tokenUrl: string;

  constructor(scope: Construct, id: string, props: UserDirectoryProps) {
    super(scope, id);
    const mfaRequired = props.mfa === 'required';
    const threatProtection = props.threatProtection ?? false;

    if (props.sesFromEmail !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(props.sesFromEmail)) {
      throw new Error(`sesFromEmail must be an email address, got ${JSON.stringify(props.sesFromEmail)}`);
    }
    if (props.sesRegion !== undefined && props.sesFromEmail === undefined) {
      throw new Error('sesRegion is only used with sesFromEmail; set both, or neither');
    }
    if (props.sesFromEmail !== undefined && props.sesRegion === undefined && Token.isUnresolved(Stack.of(this).region)) {
      throw new Error('sesRegion is required with sesFromEmail when the stack has no explicit region (env.region)');
    }

    this.userPool = new cognito.UserPool(this, 'UserPool', {
      selfSignUpEnabled: true,
      signInAliases: { username: true, ...Object.fromEntries(SIGN_IN_ALIASES.map((alias) => [alias, true])) },
      signInCaseSensitive: false,
      autoVerify: Object.fromEntries(AUTO_VERIFIED_ATTRIBUTES.map((attribute) => [attribute, true])),
      keepOriginal: { email: true },
      standardAttributes: { email: { required: true, mutable: true } },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      ...(props.sesFromEmail === undefined
        ? {}
        : {
            email: cognito.UserPoolEmail.withSES({
              fromEmail: props.sesFromEmail,
              ...(props.sesRegion === undefined ? {} : { sesRegion: props.sesRegion }),
            }),
          }),
      passwordPolicy: {
        minLength: PASSWORD_POLICY.minLength,
        requireLowercase: PASSWORD_POLICY.requireLowercase,
        requireUppercase: PASSWORD_POLICY.requireUppercase,
        requireDigits: PASSWORD_POLICY.requireDigits,
        requireSymbols: PASSWORD_POLICY.requireSymbols,
        tempPasswordValidity: Duration.days(PASSWORD_POLICY.temporaryPasswordValidityDays),
      },
      mfa: mfaRequired ? cognito.Mfa.REQUIRED : cognito.Mfa.OPTIONAL,
      mfaSecondFactor: { otp: true, sms: false },
      featurePlan: threatProtection ? cognito.FeaturePlan.PLUS : cognito.FeaturePlan.ESSENTIALS,
      ...(threatProtection
        ? { standardThreatProtectionMode: cognito.StandardThreatProtectionMode.FULL_FUNCTION }
        : {}),
      lambdaTriggers: { postConfirmation: props.postConfirmation },
      deletionProtection: props.deletionProtection ?? true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });

    this.developersGroupName = props.developersGroup ?? DEFAULT_DEVELOPERS_GROUP;
    this.developersGroup = this.userPool.addGroup('DevelopersGroup', {
      groupName: this.developersGroupName,
      description: 'Members may create API credentials',
    });

    this.resourceServer = this.userPool.addResourceServer('ResourceServer', {
      identifier: props.resourceServerIdentifier ?? RESOURCE_SERVER_IDENTIFIER,
      userPoolResourceServerName: RESOURCE_SERVER_NAME,
      scopes: Object.entries(RESOURCE_SCOPES).map(
        ([scopeName, scopeDescription]) => new cognito.ResourceServerScope({ scopeName, scopeDescription }),
      ),
    });

    this.uiClient = this.userPool.addClient('UiClient', uiClientProps(props));

    this.domain = this.userPool.addDomain('Domain', {
      cognitoDomain: { domainPrefix: props.domainPrefix ?? `devaccess-${Stack.of(this).account}` },
      managedLoginVersion: cognito.ManagedLoginVersion.NEWER_MANAGED_LOGIN,
    });
    // Managed login (version 2) shows a page only for app clients that have a branding style.
    new cognito.CfnManagedLoginBranding(this, 'UiClientBranding', {
      userPoolId: this.userPool.userPoolId,
      clientId: this.uiClient.userPoolClientId,
      useCognitoProvidedValues: true,
    });

    this.tokenUrl = `${this.domain.baseUrl()}${TOKEN_PATH}`;

    if (!mfaRequired) {
      Validations.of(this.userPool).acknowledge({
        id: 'AwsSolutions-COG2',
        reason:
          'MFA (TOTP) is optional by configuration (context mfa=required enforces it); machine clients ' +
          'authenticate with client credentials, which MFA does not apply to.',
      });
    }
    if (!threatProtection) {
      Validations.of(this.userPool).acknowledge({
        id: 'AwsSolutions-COG8',
        reason:
          'The Essentials plan is the cost default; context threatProtection=true switches to the Plus plan ' +
          'with threat protection enforced.',
      });
    }
  }
}

const CDK_AUTH_FLOWS = {
  ALLOW_USER_PASSWORD_AUTH: 'userPassword',
  ALLOW_ADMIN_USER_PASSWORD_AUTH: 'adminUserPassword',
  ALLOW_CUSTOM_AUTH: 'custom',
  ALLOW_USER_SRP_AUTH: 'userSrp',
  ALLOW_USER_AUTH: 'user',
} as const satisfies Record<string, keyof cognito.AuthFlow>;

const CDK_OAUTH_FLOWS = {
  code: 'authorizationCodeGrant',
  implicit: 'implicitCodeGrant',
  client_credentials: 'clientCredentials',
} as const satisfies Record<string, keyof cognito.OAuthFlows>;

/**
 * UI_CLIENT (Cognito's field names, which the local bootstrap sends as is) as UserPoolClient props. A setting the
 * L2 construct cannot express fails the synth instead of silently deploying a different client.
 */
export function uiClientProps(props: Pick<UserDirectoryProps, 'callbackUrls' | 'logoutUrls'>): cognito.UserPoolClientOptions {
  const authFlows: cognito.AuthFlow = {};
  for (const flow of UI_CLIENT.ExplicitAuthFlows as readonly string[]) {
    if (flow === 'ALLOW_REFRESH_TOKEN_AUTH') continue;
    const key = CDK_AUTH_FLOWS[flow as keyof typeof CDK_AUTH_FLOWS];
    if (!key) throw new Error(`UI_CLIENT auth flow ${flow} has no UserPoolClient equivalent`);
    (authFlows as Record<string, boolean>)[key] = true;
  }
  // UserPoolClient adds ALLOW_REFRESH_TOKEN_AUTH to any non-empty flow list by itself and cannot leave it out.
  if (!(UI_CLIENT.ExplicitAuthFlows as readonly string[]).includes('ALLOW_REFRESH_TOKEN_AUTH')) {
    throw new Error('UI_CLIENT must allow ALLOW_REFRESH_TOKEN_AUTH: UserPoolClient always adds it');
  }
  const flows: cognito.OAuthFlows = {};
  for (const flow of UI_CLIENT.AllowedOAuthFlows as readonly string[]) {
    const key = CDK_OAUTH_FLOWS[flow as keyof typeof CDK_OAUTH_FLOWS];
    if (!key) throw new Error(`UI_CLIENT OAuth flow ${flow} has no UserPoolClient equivalent`);
    (flows as Record<string, boolean>)[key] = true;
  }
  if (!UI_CLIENT.AllowedOAuthFlowsUserPoolClient) throw new Error('UserPoolClient with OAuth settings always enables OAuth');
  return {
    userPoolClientName: UI_CLIENT.ClientName,
    generateSecret: UI_CLIENT.GenerateSecret,
    authFlows,
    oAuth: {
      flows,
      scopes: UI_CLIENT.AllowedOAuthScopes.map((scope) => cognito.OAuthScope.custom(scope)),
      callbackUrls: [...(props.callbackUrls ?? UI_CLIENT.CallbackURLs)],
      logoutUrls: [...(props.logoutUrls ?? UI_CLIENT.LogoutURLs)],
    },
    supportedIdentityProviders: (UI_CLIENT.SupportedIdentityProviders as readonly string[]).map((name) =>
      name === 'COGNITO'
        ? cognito.UserPoolClientIdentityProvider.COGNITO
        : cognito.UserPoolClientIdentityProvider.custom(name),
    ),
    preventUserExistenceErrors: UI_CLIENT.PreventUserExistenceErrors === 'ENABLED',
    enableTokenRevocation: UI_CLIENT.EnableTokenRevocation,
  };
}
