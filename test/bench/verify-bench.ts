/**
 * In-process micro-benchmark of the token verification layers, on one token and one JWKS taken from the running
 * local stack: how much of the authorizer's cost is the RSA signature itself, how much aws-jwt-verify adds
 * (base64url and JSON decoding, claim checks, the JWKS cache lookup), and how much the local gateway authorizer
 * adds on top (the `Authorization` header, the scope check, the claims rendered as API Gateway passes them).
 *
 * - raw: `crypto.verify` RS256 over the token's signing input, with the public key and the decoded signature
 *   prepared once: the floor no verifier can go under.
 * - verifySync / verify: aws-jwt-verify's CognitoJwtVerifier, created once with the JWKS cached, as the
 *   authorizer creates it (without the scope check and the custom check the authorizer adds).
 * - authorizer: the local gateway's `createCognitoAuthorizer(...).authorize`, exactly what a request goes through.
 *
 * Each layer runs alone on this thread, one operation after the other (an async layer awaits each call, as a
 * request does), in interleaved slices so the layers share whatever the machine does meanwhile.
 */
import { type JsonWebKey, type KeyObject, createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { CognitoJwtVerifier } from 'aws-jwt-verify';
import { type Jwks, assertIsJwks } from 'aws-jwt-verify/jwk';
import type { Json } from 'aws-jwt-verify/safe-json-parse';
import { routeScopes } from '../../lambdas/shared/contract/routes';
import { createCognitoAuthorizer } from '../../infra/local/gateway/authorizer';

export interface VerifyLayerResult {
  readonly id: 'raw' | 'verifySync' | 'verify' | 'authorizer';
  readonly label: string;
  readonly ops: number;
  readonly seconds: number;
  readonly opsPerSec: number;
  /** Operations per second of each slice, in slice order. */
  readonly sliceOpsPerSec: number[];
}

export interface VerifyBenchOptions {
  readonly token: string;
  readonly jwks: unknown;
  readonly region: string;
  readonly userPoolId: string;
  /** Interleaved slices per layer. @default 5 */
  readonly slices?: number;
  /** Length of one slice. @default 400 */
  readonly sliceMs?: number;
  /** Untimed run of each layer first, so every layer is measured with its code optimized. @default 300 */
  readonly warmupMs?: number;
}

interface Layer {
  readonly id: VerifyLayerResult['id'];
  readonly label: string;
  /** Runs operations until `deadline` (performance.now()) and returns how many it ran. */
  readonly runUntil: (deadline: number) => Promise<number>;
}

// Reading the clock costs about as much as a tenth of an RSA verification; read it every few operations.
const CLOCK_EVERY = 16;

function syncLoop(op: () => void): (deadline: number) => Promise<number> {
  return async (deadline) => {
    let n = 0;
    do {
      for (let i = 0; i < CLOCK_EVERY; i++) op();
      n += CLOCK_EVERY;
    } while (performance.now() < deadline);
    return n;
  };
}

function asyncLoop(op: () => Promise<void>): (deadline: number) => Promise<number> {
  return async (deadline) => {
    let n = 0;
    do {
      for (let i = 0; i < CLOCK_EVERY; i++) await op();
      n += CLOCK_EVERY;
    } while (performance.now() < deadline);
    return n;
  };
}

function rawLayer(token: string, jwks: Jwks): Layer {
  const [header, payload, signature] = token.split('.');
  if (header === undefined || payload === undefined || signature === undefined) throw new Error('the token is not a compact JWS');
  const { kid, alg } = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as { kid?: string; alg?: string };
  if (alg !== 'RS256') throw new Error(`the token is signed with ${alg}, not RS256`);
  const jwk = jwks.keys.find((k) => k.kid === kid);
  if (!jwk) throw new Error('the token\'s kid is not in the JWKS');
  const key: KeyObject = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
  const signingInput = Buffer.from(`${header}.${payload}`, 'ascii');
  const sig = Buffer.from(signature, 'base64url');
  const op = () => {
    // RS256 is RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3), node's default padding for an RSA key.
    if (!cryptoVerify('sha256', signingInput, key, sig)) throw new Error('raw RS256 verification failed');
  };
  op();
  return { id: 'raw', label: 'crypto.verify RS256 (raw)', runUntil: syncLoop(op) };
}

async function verifierLayers(token: string, jwks: Jwks, userPoolId: string): Promise<Layer[]> {
  const verifier = CognitoJwtVerifier.create({ userPoolId, tokenUse: 'access', clientId: null });
  verifier.cacheJwks(jwks);
  verifier.verifySync(token);
  await verifier.verify(token);
  return [
    { id: 'verifySync', label: 'aws-jwt-verify verifySync()', runUntil: syncLoop(() => void verifier.verifySync(token)) },
    {
      id: 'verify',
      label: 'aws-jwt-verify verify()',
      runUntil: asyncLoop(async () => {
        await verifier.verify(token);
      }),
    },
  ];
}

async function authorizerLayer(token: string, jwks: Jwks, region: string, userPoolId: string): Promise<Layer> {
  const authorizer = createCognitoAuthorizer({ region, userPoolId, jwks: () => jwks });
  const header = [`Bearer ${token}`];
  // The scopes of a read route (GET /me, /notes, /announcements): the ones the HTTP targets go through.
  const scopes = routeScopes('read');
  const once = async () => {
    const result = await authorizer.authorize(header, scopes);
    if (!result.ok) throw new Error(`the authorizer refused the token: ${result.reason}`);
  };
  await once();
  return { id: 'authorizer', label: 'local gateway authorizer', runUntil: asyncLoop(once) };
}

export async function runVerifyBench(options: VerifyBenchOptions): Promise<VerifyLayerResult[]> {
  const jwksValue = options.jwks as Json;
  assertIsJwks(jwksValue);
  const jwks: Jwks = jwksValue;
  const slices = options.slices ?? 5;
  const sliceMs = options.sliceMs ?? 400;
  const warmupMs = options.warmupMs ?? 300;
  const layers: Layer[] = [
    rawLayer(options.token, jwks),
    ...(await verifierLayers(options.token, jwks, options.userPoolId)),
    await authorizerLayer(options.token, jwks, options.region, options.userPoolId),
  ];

  for (const layer of layers) await layer.runUntil(performance.now() + warmupMs);

  const measured = layers.map(() => ({ ops: 0, ms: 0, slices: [] as number[] }));
  for (let s = 0; s < slices; s++) {
    const order = s % 2 === 0 ? layers.map((_, i) => i) : layers.map((_, i) => layers.length - 1 - i);
    for (const i of order) {
      const layer = layers[i] as Layer;
      const into = measured[i] as (typeof measured)[number];
      const start = performance.now();
      const ops = await layer.runUntil(start + sliceMs);
      const ms = performance.now() - start;
      into.ops += ops;
      into.ms += ms;
      into.slices.push((ops * 1000) / ms);
    }
  }

  return layers.map((layer, i) => {
    const m = measured[i] as (typeof measured)[number];
    return {
      id: layer.id,
      label: layer.label,
      ops: m.ops,
      seconds: m.ms / 1000,
      opsPerSec: (m.ops * 1000) / m.ms,
      sliceOpsPerSec: m.slices,
    };
  });
}
