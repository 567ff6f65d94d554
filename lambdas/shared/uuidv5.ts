/**
 * Name-based UUIDs (RFC 9562 §5.5, version 5): the same namespace and name always give the same id. Events whose
 * publication may be repeated (a retried trigger, a sweep that runs again) derive their eventId this way, so every
 * publication of one change carries one eventId and consumers drop the duplicates.
 */
import { createHash } from 'node:crypto';

/** RFC 9562 UUIDv5: SHA-1 of namespace + name, with the version and variant bits set. */
export function uuidV5(namespace: string, name: string): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  if (ns.length !== 16) throw new Error(`Not a UUID: ${namespace}`);
  const bytes = createHash('sha1').update(ns).update(name, 'utf8').digest().subarray(0, 16);
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
