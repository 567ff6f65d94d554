/**
 * The Cognito user pool: who can sign up and sign in, the resource server whose scopes machine clients get,
 * the UI app client and the managed-login domain whose `/oauth2/token` endpoint issues client-credentials tokens.
 */
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import {
  DEFAULT_DEVELOPERS_GROUP,
  RESOURCE_SCOPES,
  RESOURCE_SERVER_IDENTIFIER,
  RESOURCE_SERVER_NAME,
  UI_CLIENT_NAME,
} from '../../../lambdas/shared/contract/names';
import {
  AUTO_VERIFIED_ATTRIBUTES,
  DEFAULT_UI_CALLBACK_URLS,
  DEFAULT_UI_LOGOUT_URLS,
  PASSWORD_POLICY,
  SIGN_IN_ALIASES,
  UI_CLIENT_OAUTH_SCOPES,
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

    this.userPool = new cognito.UserPool(this, 'UserPool', {
      selfSignUpEnabled: true,
      signInAliases: { username: true, ...Object.fromEntries(SIGN_IN_ALIASES.map((alias) => [alias, true])) },
      signInCaseSensitive: false,
      autoVerify: Object.fromEntries(AUTO_VERIFIED_ATTRIBUTES.map((attribute) => [attribute, true])),
      keepOriginal: { email: true },
      standardAttributes: { email: { required: true, mutable: true } },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
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
      identifier: RESOURCE_SERVER_IDENTIFIER,
      userPoolResourceServerName: RESOURCE_SERVER_NAME,
      scopes: Object.entries(RESOURCE_SCOPES).map(
        ([scopeName, scopeDescription]) => new cognito.ResourceServerScope({ scopeName, scopeDescription }),
      ),
    });

    this.uiClient = this.userPool.addClient('UiClient', {
      userPoolClientName: UI_CLIENT_NAME,
      // A browser app cannot keep a secret; authorization code with PKCE protects the code instead.
      generateSecret: false,
      authFlows: { userPassword: true, userSrp: true },
      oAuth: {
        flows: { authorizationCodeGrant: true },
        scopes: UI_CLIENT_OAUTH_SCOPES.map((scope) => cognito.OAuthScope.custom(scope)),
        callbackUrls: [...(props.callbackUrls ?? DEFAULT_UI_CALLBACK_URLS)],
        logoutUrls: [...(props.logoutUrls ?? DEFAULT_UI_LOGOUT_URLS)],
      },
      supportedIdentityProviders: [cognito.UserPoolClientIdentityProvider.COGNITO],
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
    });

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

    this.tokenUrl = `${this.domain.baseUrl()}/oauth2/token`;

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
