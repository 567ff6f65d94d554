/**
 * Identifiers shaped like Cognito's, from the CSPRNG: code that parses or validates ids (the route table's
 * `clientId` pattern, the config's USER_POOL_ID pattern) sees locally exactly what it sees on AWS.
 */
import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

const LOWER_ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';
const MIXED_ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Uniformly random string over `alphabet` (randomInt rejects biased draws). */
export function randomString(alphabet: string, length: number): string {
  let out = '';
  for (let i = 0; i < length; i += 1) out += alphabet[randomInt(alphabet.length)];
  return out;
}

/** `us-east-1_AbC12dEfG`: region, underscore, 9 alphanumerics. */
export function newUserPoolId(region: string): string {
  return `${region}_${randomString(MIXED_ALNUM, 9)}`;
}

/** 26 lower-case alphanumerics, like Cognito app client ids. */
export function newClientId(): string {
  return randomString(LOWER_ALNUM, 26);
}

/** 51 characters of base36, like the secrets Cognito generates (about 263 bits). */
export function newClientSecret(): string {
  return randomString(LOWER_ALNUM, 51);
}

/** A 6-digit code, zero-padded (Cognito's default confirmation codes). */
export function newConfirmationCode(): string {
  return String(randomInt(1_000_000)).padStart(6, '0');
}

/** An opaque, URL-safe random token (refresh tokens, authorization codes, CSRF tokens). */
export function newOpaqueToken(bytes = 48): string {
  return randomBytes(bytes).toString('base64url');
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** Constant-time string comparison that does not leak the length either (both sides are hashed first). */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb);
}

/** How Cognito shows a delivery destination: `j***@e***` for an email, `+*******1234` for a phone number. */
export function maskDestination(value: string, medium: 'EMAIL' | 'SMS'): string {
  if (medium === 'SMS') return `+${'*'.repeat(Math.max(0, value.length - 5))}${value.slice(-4)}`;
  const at = value.indexOf('@');
  if (at <= 0) return '***';
  return `${value[0]}***@${value[at + 1] ?? ''}***`;
}
