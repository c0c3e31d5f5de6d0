/** SHA-256 helpers over node:crypto. Strings are hashed as their UTF-8 bytes. */
import * as nodeCrypto from 'node:crypto';

const { createHash } = nodeCrypto;
/* One-shot crypto.hash (Node >= 20.12) skips the Hash object: about twice as fast for small inputs. */
const oneShot = typeof nodeCrypto.hash === 'function' ? nodeCrypto.hash : undefined;

/** SHA-256 digest as a plain Uint8Array (not a Buffer, so deep equality with other Uint8Arrays holds). */
export function sha256(data: Uint8Array | string): Uint8Array {
  const h = createHash('sha256');
  if (typeof data === 'string') h.update(data, 'utf8');
  else h.update(data);
  return new Uint8Array(h.digest());
}

/** SHA-256 digest as 64 lowercase hex characters. */
export function sha256Hex(data: Uint8Array | string): string {
  if (oneShot) return oneShot('sha256', data, 'hex');
  const h = createHash('sha256');
  if (typeof data === 'string') h.update(data, 'utf8');
  else h.update(data);
  return h.digest('hex');
}
