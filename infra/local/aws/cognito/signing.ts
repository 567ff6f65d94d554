/**
 * The emulation's token-signing key: one RSA-2048 key pair generated on first start and kept in
 * `<dataDir>/cognito/signing-key.json` (mode 0600), so tokens issued before a restart still verify after it.
 * Tokens are RS256 JWTs with a `kid` header, the way Cognito signs them; the public half is served as a JWKS.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type CryptoKey,
  type JWK,
  type JWTPayload,
  SignJWT,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
} from 'jose';
import { writeFileAtomic } from '../../files';

/**
 * A public JWK as Cognito publishes it. Type aliases (not interfaces) so they are assignable to aws-jwt-verify's
 * JSON-object `Jwks` type: `verifier.cacheJwks(emulator.jwks())` needs no cast.
 */
export type PublicJwk = {
  readonly kty: 'RSA';
  readonly n: string;
  readonly e: string;
  readonly kid: string;
  readonly alg: 'RS256';
  readonly use: 'sig';
};

export type Jwks = {
  readonly keys: PublicJwk[];
};

export class SigningKey {
  private constructor(
    readonly kid: string,
    private readonly privateKey: CryptoKey,
    private readonly publicKey: CryptoKey,
    readonly publicJwk: PublicJwk,
  ) {}

  static async loadOrCreate(dir: string): Promise<SigningKey> {
    const file = join(dir, 'signing-key.json');
    let jwk: JWK;
    try {
      jwk = JSON.parse(await readFile(file, 'utf8')) as JWK;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      const pair = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
      jwk = await exportJWK(pair.privateKey);
      jwk.kid = await calculateJwkThumbprint(jwk);
      jwk.alg = 'RS256';
      jwk.use = 'sig';
      await writeFileAtomic(file, JSON.stringify(jwk), { mode: 0o600 });
    }
    if (jwk.kty !== 'RSA' || typeof jwk.n !== 'string' || typeof jwk.e !== 'string' || typeof jwk.kid !== 'string') {
      throw new Error(`${file} does not hold an RSA private JWK with a kid`);
    }
    const publicJwk: PublicJwk = { kty: 'RSA', n: jwk.n, e: jwk.e, kid: jwk.kid, alg: 'RS256', use: 'sig' };
    const privateKey = (await importJWK(jwk, 'RS256')) as CryptoKey;
    const publicKey = (await importJWK(publicJwk, 'RS256')) as CryptoKey;
    return new SigningKey(jwk.kid, privateKey, publicKey, publicJwk);
  }

  jwks(): Jwks {
    return { keys: [{ ...this.publicJwk }] };
  }

  /** Signs claims as they are (the caller sets iat/exp; Cognito puts no `typ` in the header). */
  sign(claims: JWTPayload): Promise<string> {
    return new SignJWT(claims).setProtectedHeader({ kid: this.kid, alg: 'RS256' }).sign(this.privateKey);
  }

  /** Verifies signature, algorithm and expiry. */
  async verify(token: string, now: Date): Promise<{ claims: JWTPayload } | { error: 'expired' | 'invalid' }> {
    try {
      const { payload } = await jwtVerify(token, this.publicKey, { algorithms: ['RS256'], currentDate: now });
      return { claims: payload };
    } catch (err) {
      return { error: (err as { code?: string }).code === 'ERR_JWT_EXPIRED' ? 'expired' : 'invalid' };
    }
  }
}
