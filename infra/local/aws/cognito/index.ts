/**
 * Local emulation of the Cognito user pools surface the product uses: the API (an AwsJsonService for the AWS
 * endpoint), the OAuth 2.0 endpoints and hosted sign-in page (an HttpRoute), and what the local API gateway needs
 * to verify tokens as API Gateway's Cognito authorizer does (the issuer of a pool and its public JWKS).
 *
 * State persists under `<dataDir>/cognito/` (state.json, signing-key.json and secret-key, written atomically), so
 * a restart keeps pools, users, groups, app clients (secrets sealed, see secret-box.ts), refresh tokens and the
 * signing key; tokens issued before a restart still verify after it. Authorization codes and
 * NEW_PASSWORD_REQUIRED sessions live in memory (minutes long).
 */
import { join } from 'node:path';
import type { AwsJsonService, HttpRoute } from '../types';
import { CognitoModel } from './model';
import { createOAuthRoutes } from './oauth';
import { createOutbox } from './outbox';
import { TokenBucket } from './rate-limit';
import { createCognitoService } from './service';
import { SecretBox, sealClearSecrets } from './secret-box';
import { type Jwks, SigningKey } from './signing';
import { StateStore } from './store';
import type { CognitoEmulatorOptions } from './types';

export type { CodeDelivery, CognitoEmulatorOptions, DeliverCode } from './types';
export type { Jwks, PublicJwk } from './signing';
export { createOutbox, outboxPath, readOutbox } from './outbox';

export interface CognitoEmulator {
  /** `AWSCognitoIdentityProviderService` (AWS JSON 1.1) for the AWS endpoint's `POST /`. */
  readonly service: AwsJsonService;
  /** `/oauth2/token`, `/oauth2/authorize`, `/login`, `/logout`, `/oauth2/userInfo`, `/<poolId>/.well-known/*`. */
  readonly http: HttpRoute;
  /** `https://cognito-idp.<region>.amazonaws.com/<userPoolId>`, the `iss` aws-jwt-verify's CognitoJwtVerifier expects. */
  issuer(userPoolId: string): string;
  /** The public JWKS every pool's tokens are signed with (what `/<poolId>/.well-known/jwks.json` serves). */
  jwks(): Jwks;
  /** Waits for pending state writes (call before shutting down). */
  flush(): Promise<void>;
}

export function issuerFor(region: string, userPoolId: string): string {
  return `https://cognito-idp.${region}.amazonaws.com/${userPoolId}`;
}

export async function createCognitoEmulator(opts: CognitoEmulatorOptions): Promise<CognitoEmulator> {
  const dir = join(opts.dataDir, 'cognito');
  const store = await StateStore.open(dir);
  const key = await SigningKey.loadOrCreate(dir);
  const secrets = await SecretBox.loadOrCreate(dir);
  // A state file written before secrets were sealed is rewritten now, not at the next change.
  if (sealClearSecrets(store.state, secrets) > 0) await store.persist();
  const model = new CognitoModel(
    {
      region: opts.region,
      accountId: opts.accountId,
      baseUrl: opts.baseUrl,
      invokeLambda: opts.invokeLambda,
      deliverCode: opts.deliverCode ?? createOutbox(opts.dataDir, opts.log),
      triggerTimeoutMs: opts.triggerTimeoutMs ?? 5000,
      now: opts.now ?? (() => new Date()),
    },
    store,
    key,
    secrets,
  );
  // Throttling is wall-clock based on AWS, so it ignores `now` (which tests move to expire tokens and codes).
  const bucket = new TokenBucket(opts.clientWriteRatePerSecond ?? 5, () => performance.now());
  return {
    service: createCognitoService(model, bucket, opts.maxClientsPerPool ?? 1000),
    http: createOAuthRoutes(model),
    issuer: (userPoolId) => model.issuer(userPoolId),
    jwks: () => key.jwks(),
    flush: () => store.flush(),
  };
}
