/**
 * Passwords: scrypt with a random salt per password (never stored or logged in clear), the user pool's
 * password policy with Cognito's messages, and temporary passwords that satisfy the policy.
 */
import { randomBytes, randomInt, scrypt, timingSafeEqual } from 'node:crypto';
import { randomString } from './ids';
import type { PasswordPolicy } from './types';
import { AwsServiceError } from '../types';

const N = 16384;
const R = 8;
const P = 1;
const KEY_LENGTH = 32;

function scryptAsync(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEY_LENGTH, { N: n, r, p, maxmem: 64 * 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, N, R, P);
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !n || !r || !p || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = await scryptAsync(password, Buffer.from(salt, 'base64'), Number(n), Number(r), Number(p));
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** Cognito's default policy (CreateUserPool without Policies, and the CDK default). */
export const DEFAULT_PASSWORD_POLICY: PasswordPolicy = {
  MinimumLength: 8,
  RequireUppercase: true,
  RequireLowercase: true,
  RequireNumbers: true,
  RequireSymbols: true,
  TemporaryPasswordValidityDays: 7,
};

/** The special characters Cognito counts as symbols (plus a non-leading, non-trailing space). */
const SYMBOLS = '^$*.[]{}()?"!@#%&/\\,><\':;|_~`=+- ';

/** Throws InvalidPasswordException with Cognito's message for the first rule the password breaks. */
export function checkPasswordPolicy(password: string, policy: PasswordPolicy): void {
  const fail = (why: string): never => {
    throw new AwsServiceError('InvalidPasswordException', `Password did not conform with policy: ${why}`);
  };
  if (password.length < policy.MinimumLength) fail('Password not long enough');
  if (policy.RequireUppercase && !/[A-Z]/.test(password)) fail('Password must have uppercase characters');
  if (policy.RequireLowercase && !/[a-z]/.test(password)) fail('Password must have lowercase characters');
  if (policy.RequireNumbers && !/[0-9]/.test(password)) fail('Password must have numeric characters');
  if (policy.RequireSymbols && ![...password].some((c) => SYMBOLS.includes(c))) {
    fail('Password must have symbol characters');
  }
}

/** A random temporary password that satisfies `policy`. */
export function temporaryPassword(policy: PasswordPolicy): string {
  const parts = [
    randomString('ABCDEFGHJKLMNPQRSTUVWXYZ', 2),
    randomString('abcdefghijkmnopqrstuvwxyz', 6),
    randomString('23456789', 2),
    randomString('!#%&*+-=?@^_', 1),
  ];
  let pw = parts.join('');
  while (pw.length < Math.max(policy.MinimumLength, 12)) pw += randomString('abcdefghijkmnopqrstuvwxyz23456789', 1);
  // Shuffle (Fisher-Yates) so the character classes are not in a fixed order.
  const chars = [...pw];
  for (let i = chars.length - 1; i > 0; i -= 1) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j] as string, chars[i] as string];
  }
  return chars.join('');
}
