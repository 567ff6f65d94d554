/**
 * UUID version 7 (RFC 9562 §5.7): a 48-bit Unix time in milliseconds, then random bits. The credential
 * workflow's operation ids are v7 so that the time an operation started can be read back from the app-client
 * name it produced (`devaccess-<userId>-<operationId>`): ListUserPoolClients returns no creation date, and
 * DescribeUserPoolClient (which has one) also returns the secret, so the sweeper must not call it.
 */
import { randomBytes } from 'node:crypto';

const V7 = /^([0-9a-f]{8})-([0-9a-f]{4})-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const MAX_UNIX_MS = 2 ** 48 - 1;

/** A new UUIDv7 for the given time (milliseconds since the epoch). */
export function uuidv7(nowMs: number = Date.now(), random: (size: number) => Uint8Array = randomBytes): string {
  if (!Number.isInteger(nowMs) || nowMs < 0 || nowMs > MAX_UNIX_MS) throw new RangeError(`Not a 48-bit millisecond time: ${nowMs}`);
  const bytes = new Uint8Array(16);
  bytes.set(random(10).subarray(0, 10), 6);
  let t = nowMs;
  for (let i = 5; i >= 0; i--) {
    bytes[i] = t % 256;
    t = Math.floor(t / 256);
  }
  bytes[6] = 0x70 | ((bytes[6] as number) & 0x0f); // version 7
  bytes[8] = 0x80 | ((bytes[8] as number) & 0x3f); // RFC 9562 variant (10xx)
  const hex = Buffer.from(bytes).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The time (ms since the epoch) a UUIDv7 carries, or `undefined` for anything that is not a lowercase v7. */
export function uuidv7Time(id: string): number | undefined {
  const m = V7.exec(id);
  if (!m) return undefined;
  return Number.parseInt(`${m[1]}${m[2]}`, 16);
}
