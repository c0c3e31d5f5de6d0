/** SHA-256 helpers over node:crypto. Strings are hashed as their UTF-8 bytes. */
import { createHash } from 'node:crypto';

/** SHA-256 digest as a plain Uint8Array (not a Buffer, so deep equality with other Uint8Arrays holds). */
export function sha256(data: Uint8Array | string): Uint8Array {
  const h = createHash('sha256');
  if (typeof data === 'string') h.update(data, 'utf8');
  else h.update(data);
  return new Uint8Array(h.digest());
}

/** SHA-256 digest as 64 lowercase hex characters. */
export function sha256Hex(data: Uint8Array | string): string {
  const h = createHash('sha256');
  if (typeof data === 'string') h.update(data, 'utf8');
  else h.update(data);
  return h.digest('hex');
}
