/**
 * Ed25519 (RFC 8032, pure EdDSA) on node:crypto, with strict key and signature rules on top.
 *
 * OpenSSL does the actual signing and verifying (it is about 14x faster than a JavaScript implementation).
 * OpenSSL already rejects a non-canonical S (S >= L) and compares R byte-for-byte with the canonical
 * encoding it recomputes, so a non-canonical R can never verify. What it does NOT do is refuse weak public
 * keys: with a small-order public key such as the identity point, the signature (R = identity, S = 0)
 * verifies for every message. So before a public key is handed to OpenSSL we check, once per key, that:
 *
 *  - it is exactly 32 bytes;
 *  - its encoding is canonical: y < p, and x = 0 is not encoded with the sign bit set;
 *  - it decompresses to a point on the curve (x² = (y² − 1) / (d·y² + 1) has a square root mod p);
 *  - it is not one of the 8 small-order points (the 8-torsion subgroup: identity, one point of order 2,
 *    two of order 4, four of order 8). Only their canonical encodings need listing, because every
 *    non-canonical encoding (of these or of any other point) is already refused by the rule above.
 *
 * Keys with a torsion component but large order ("mixed-order" keys) are accepted, as RFC 8032 allows; they
 * cannot be used to forge a signature that verifies for arbitrary messages.
 *
 * In `verify` we also refuse, before calling OpenSSL, a signature whose S is >= L (OpenSSL would too; we do
 * it explicitly so the rule does not depend on the OpenSSL version) and a signature whose R is one of the 8
 * small-order points. An honest signer never produces such an R (R = r·B with r uniformly random mod L, so
 * R is never small-order), so this costs nothing and closes off the degenerate R forms used in forgery
 * tricks against weak verifiers. It only needs the canonical encodings: a non-canonical R never verifies.
 *
 * The BigInt decompression is slow (tens of microseconds), so checked public keys are cached as node
 * KeyObjects in a small bounded Map keyed by hex; verify on a known key is close to raw node:crypto speed.
 */
import {
  createPrivateKey,
  createPublicKey,
  randomBytes,
  sign as nodeSign,
  verify as nodeVerify,
} from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { toHex } from './bytes.js';
import { sha256 } from './hash.js';
import { SigilError } from './errors.js';

export const PUBLIC_KEY_LENGTH = 32;
export const SEED_LENGTH = 32;
export const SIGNATURE_LENGTH = 64;

export interface Ed25519KeyPair {
  /** 32-byte raw public key (RFC 8032 encoding). */
  readonly publicKey: Uint8Array;
  /** 32-byte private seed (the RFC 8032 "secret key"). */
  readonly seed: Uint8Array;
}

/** DER prefix of a SubjectPublicKeyInfo holding a raw Ed25519 public key (RFC 8410). */
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
/** DER prefix of a PKCS#8 PrivateKeyInfo holding a raw Ed25519 seed (RFC 8410). */
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

// ---------------------------------------------------------------------------------------------------------
// Curve arithmetic (BigInt, only what decompression needs)

/** p = 2^255 − 19 */
const P = (1n << 255n) - 19n;
/** L = 2^252 + 27742317777372353535851937790883648493, the prime order of the base point. */
const L = (1n << 252n) + 27742317777372353535851937790883648493n;

function mod(a: bigint): bigint {
  const r = a % P;
  return r < 0n ? r + P : r;
}

function powMod(base: bigint, exp: bigint): bigint {
  let result = 1n;
  let b = mod(base);
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % P;
    b = (b * b) % P;
    e >>= 1n;
  }
  return result;
}

/** d = −121665 / 121666 mod p */
const D = mod(-121665n * powMod(121666n, P - 2n));
/** A square root of −1 mod p: 2^((p−1)/4). */
const SQRT_M1 = powMod(2n, (P - 1n) / 4n);

/** Little-endian bytes → bigint. */
function bytesToBigIntLE(b: Uint8Array): bigint {
  let n = 0n;
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i] ?? 0);
  return n;
}

/**
 * RFC 8032 §5.1.3 decoding, without building the point: returns null if the 32 bytes are the canonical
 * encoding of a point on the curve, else the reason.
 */
function decodeProblem(enc: Uint8Array): string | null {
  const last = enc[31] ?? 0;
  const sign = (last & 0x80) !== 0;
  const copy = Uint8Array.from(enc);
  copy[31] = last & 0x7f;
  const y = bytesToBigIntLE(copy);
  if (y >= P) return 'non-canonical encoding (y >= p)';
  const y2 = (y * y) % P;
  const u = mod(y2 - 1n); // numerator y² − 1
  const v = mod(D * y2 + 1n); // denominator d·y² + 1 (never 0: −1/d is not a square)
  // Candidate root x = u·v³·(u·v⁷)^((p−5)/8), RFC 8032 §5.1.3 step 2.
  const v3 = (v * v * v) % P;
  const v7 = (v3 * v3 * v) % P;
  let x = (u * v3 * powMod(u * v7, (P - 5n) / 8n)) % P;
  const vx2 = (v * x * x) % P;
  if (vx2 === u) {
    // x is a root
  } else if (vx2 === mod(-u)) {
    x = (x * SQRT_M1) % P;
  } else {
    return 'not a point on the curve';
  }
  if (x === 0n && sign) return 'non-canonical encoding (x = 0 with the sign bit set)';
  return null;
}

/**
 * Canonical encodings of the 8 points of small order (the 8-torsion subgroup), with their orders.
 * Computed from the curve equation (the test suite re-derives them: each one decodes, they are distinct,
 * and 8·P is the identity for each, so they are the whole 8-element subgroup).
 */
const SMALL_ORDER_POINTS: readonly (readonly [string, number])[] = [
  ['0100000000000000000000000000000000000000000000000000000000000000', 1], // identity (0, 1)
  ['ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', 2], // (0, −1)
  ['0000000000000000000000000000000000000000000000000000000000000000', 4], // (±√−1, 0)
  ['0000000000000000000000000000000000000000000000000000000000000080', 4],
  ['26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', 8],
  ['26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85', 8],
  ['c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', 8],
  ['c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa', 8],
];
const SMALL_ORDER_BYTES: readonly Buffer[] = SMALL_ORDER_POINTS.map(([hex]) => Buffer.from(hex, 'hex'));
const SMALL_ORDER_BY_HEX: ReadonlyMap<string, number> = new Map(SMALL_ORDER_POINTS);

/** True if the 32 bytes at `b[offset..offset+32]` are the canonical encoding of a small-order point. */
function isSmallOrderEncoding(b: Uint8Array, offset: number): boolean {
  const first = b[offset];
  for (const s of SMALL_ORDER_BYTES) {
    if (s[0] !== first) continue; // cheap pre-filter: first bytes are 01, ec, 00, 26, c7
    let same = true;
    for (let i = 1; i < 32; i++) {
      if (s[i] !== b[offset + i]) {
        same = false;
        break;
      }
    }
    if (same) return true;
  }
  return false;
}

/** L as 32 little-endian bytes, for the S < L check. */
const L_BYTES: Uint8Array = (() => {
  const out = new Uint8Array(32);
  let n = L;
  for (let i = 0; i < 32; i++) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
})();

/** True if S (little-endian, `sig[32..64]`) is < L. */
function scalarIsCanonical(sig: Uint8Array): boolean {
  // Compare from the most significant byte down; almost always decided by the top byte (L's is 0x10).
  for (let i = 31; i >= 0; i--) {
    const s = sig[32 + i] ?? 0;
    const l = L_BYTES[i] ?? 0;
    if (s < l) return true;
    if (s > l) return false;
  }
  return false; // S == L
}

// ---------------------------------------------------------------------------------------------------------
// Public-key checks and the KeyObject cache

const KEY_CACHE_MAX = 256;
const REJECT_CACHE_MAX = 64;
/** Public keys that passed checkPublicKey, as node KeyObjects, keyed by hex. Insertion-ordered, FIFO. */
const keyCache = new Map<string, KeyObject>();
/** Recently refused public keys and why, so repeated bad input does not repeat the BigInt work. */
const rejectCache = new Map<string, string>();

function remember<V>(cache: Map<string, V>, max: number, key: string, value: V): void {
  if (cache.size >= max) {
    const oldest = cache.keys().next();
    if (!oldest.done) cache.delete(oldest.value);
  }
  cache.set(key, value);
}

function checkEncoding(publicKey: Uint8Array): string | null {
  const problem = decodeProblem(publicKey);
  if (problem !== null) return problem;
  const order = SMALL_ORDER_BY_HEX.get(toHex(publicKey));
  if (order !== undefined) return `small-order point (order ${order})`;
  return null;
}

/**
 * The cached KeyObject for a 32-byte public key, or the reason the key is refused. Does the full check
 * (and the KeyObject import) only the first time a key is seen.
 */
function publicKeyObject(publicKey: Uint8Array): KeyObject | string {
  const hex = toHex(publicKey);
  const cached = keyCache.get(hex);
  if (cached !== undefined) return cached;
  const refused = rejectCache.get(hex);
  if (refused !== undefined) return refused;
  let problem = checkEncoding(publicKey);
  if (problem === null) {
    try {
      const key = createPublicKey({
        key: Buffer.concat([SPKI_PREFIX, publicKey]),
        format: 'der',
        type: 'spki',
      });
      remember(keyCache, KEY_CACHE_MAX, hex, key);
      return key;
    } catch (e) {
      problem = `not accepted by node:crypto (${e instanceof Error ? e.message : String(e)})`;
    }
  }
  remember(rejectCache, REJECT_CACHE_MAX, hex, problem);
  return problem;
}

function lengthProblem(value: unknown, expected: number): string | null {
  if (!(value instanceof Uint8Array)) return 'must be a Uint8Array';
  if (value.length !== expected) return `must be ${expected} bytes, got ${value.length}`;
  return null;
}

/** null if the public key is acceptable, else the reason in words. */
export function checkPublicKey(publicKey: Uint8Array): string | null {
  const bad = lengthProblem(publicKey, PUBLIC_KEY_LENGTH);
  if (bad !== null) return `public key ${bad}`;
  const key = publicKeyObject(publicKey);
  return typeof key === 'string' ? key : null;
}

/** Throws SigilError('KEY_INVALID', `${what}: <reason>`) unless checkPublicKey accepts the key. */
export function assertValidPublicKey(publicKey: Uint8Array, what: string): void {
  const problem = checkPublicKey(publicKey);
  if (problem !== null) throw new SigilError('KEY_INVALID', `${what}: ${problem}`);
}

// ---------------------------------------------------------------------------------------------------------
// Keys and signing

function assertSeed(seed: Uint8Array): void {
  const bad = lengthProblem(seed, SEED_LENGTH);
  if (bad !== null) throw new SigilError('KEY_INVALID', `Ed25519 seed ${bad}`);
}

function privateKeyObject(seed: Uint8Array): KeyObject {
  assertSeed(seed);
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

function rawPublicKey(privateKey: KeyObject): Uint8Array {
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  if (
    spki.length !== SPKI_PREFIX.length + PUBLIC_KEY_LENGTH ||
    !spki.subarray(0, SPKI_PREFIX.length).equals(SPKI_PREFIX)
  ) {
    throw new SigilError('INTERNAL', 'unexpected SPKI encoding of an Ed25519 public key from node:crypto');
  }
  return new Uint8Array(spki.subarray(SPKI_PREFIX.length));
}

/** A view of a Buffer as a plain Uint8Array (no copy). */
function plain(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** A fresh key pair from the system CSPRNG. */
export function generateKeyPair(): Ed25519KeyPair {
  const seed = new Uint8Array(randomBytes(SEED_LENGTH));
  return { publicKey: publicKeyFromSeed(seed), seed };
}

/** The raw 32-byte public key of a 32-byte seed. Throws KEY_INVALID on a wrong-length seed. */
export function publicKeyFromSeed(seed: Uint8Array): Uint8Array {
  return rawPublicKey(privateKeyObject(seed));
}

/**
 * The key id: lowercase hex of the first 16 bytes of SHA-256(publicKey), 32 hex chars.
 * Throws KEY_INVALID if the key is not 32 bytes (it does not check the point itself).
 */
export function keyId(publicKey: Uint8Array): string {
  const bad = lengthProblem(publicKey, PUBLIC_KEY_LENGTH);
  if (bad !== null) throw new SigilError('KEY_INVALID', `public key ${bad}`);
  return toHex(sha256(publicKey).subarray(0, 16));
}

/**
 * Signs with one seed many times: the node KeyObject is built once. The seed itself is not kept (only the
 * KeyObject, which holds it inside OpenSSL).
 */
export class Ed25519Signer {
  readonly publicKey: Uint8Array;
  readonly keyId: string;
  readonly #key: KeyObject;

  constructor(seed: Uint8Array) {
    this.#key = privateKeyObject(seed);
    this.publicKey = rawPublicKey(this.#key);
    this.keyId = keyId(this.publicKey);
  }

  /** The 64-byte signature R ‖ S of `message`. */
  sign(message: Uint8Array): Uint8Array {
    return plain(nodeSign(null, message, this.#key));
  }

  /**
   * The private KeyObject, to hand to a worker thread of this process (KeyObjects survive postMessage).
   * It never leaves the process.
   */
  keyObjectForWorker(): KeyObject {
    return this.#key;
  }
}

/** One-off signature with a seed (builds the KeyObject each time; use Ed25519Signer for repeated signing). */
export function sign(seed: Uint8Array, message: Uint8Array): Uint8Array {
  return plain(nodeSign(null, message, privateKeyObject(seed)));
}

// ---------------------------------------------------------------------------------------------------------
// Verification

/**
 * Strict verification. False (never an exception) for: wrong types or lengths, a public key refused by
 * checkPublicKey, S >= L, R a small-order point, or a signature OpenSSL does not accept.
 */
export function verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_LENGTH) return false;
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_LENGTH) return false;
  if (!(message instanceof Uint8Array)) return false;
  if (!scalarIsCanonical(signature)) return false;
  if (isSmallOrderEncoding(signature, 0)) return false;
  const key = publicKeyObject(publicKey);
  if (typeof key === 'string') return false;
  try {
    return nodeVerify(null, message, key, signature);
  } catch {
    return false;
  }
}

/** Why a signature does not verify (slow path, only for error messages). */
function verifyFailureReason(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): string {
  const keyProblem = checkPublicKey(publicKey);
  if (keyProblem !== null) return keyProblem;
  if (!(message instanceof Uint8Array)) return 'message must be a Uint8Array';
  const sigProblem = lengthProblem(signature, SIGNATURE_LENGTH);
  if (sigProblem !== null) return `signature ${sigProblem}`;
  if (!scalarIsCanonical(signature)) return 'signature S is not reduced (S >= L)';
  if (isSmallOrderEncoding(signature, 0)) return 'signature R is a small-order point';
  return 'signature does not verify';
}

/** Throws SigilError('SIGNATURE_INVALID', `${what}: <reason>`) unless verify() is true. */
export function verifyOrThrow(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
  what: string,
): void {
  if (verify(publicKey, message, signature)) return;
  const details =
    publicKey instanceof Uint8Array && publicKey.length === PUBLIC_KEY_LENGTH
      ? { keyId: keyId(publicKey) }
      : undefined;
  throw new SigilError(
    'SIGNATURE_INVALID',
    `${what}: ${verifyFailureReason(publicKey, message, signature)}`,
    details,
  );
}
