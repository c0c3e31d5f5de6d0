/**
 * The one passphrase KDF of the home's secret files (keystore, identities, witness keys): scrypt, r = 8,
 * p = 1. In shared/ because the extension unseals identity and witness key files itself.
 */
import { scrypt as scryptCb } from 'node:crypto';
import { promisify } from 'node:util';

const scrypt = promisify(scryptCb) as (
  password: string,
  salt: Uint8Array,
  keylen: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>;

/** A 32-byte key from a passphrase with cost N = 2^logN; memory is sized for that N. */
export async function deriveKey(passphrase: string, salt: Uint8Array, logN: number): Promise<Buffer> {
  const N = 2 ** logN;
  return scrypt(passphrase, salt, 32, { N, r: 8, p: 1, maxmem: 256 * N * 8 + 1024 * 1024 });
}
