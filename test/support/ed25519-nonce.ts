/**
 * Ed25519 signatures with a chosen nonce, for tests only. RFC 8032 signing is deterministic (the nonce is
 * derived from the key and the message), so the same key signs the same message to the same bytes; a
 * verifier cannot tell, though, and accepts any R = r·B with S = r + H(R ‖ A ‖ M)·a mod L. This lets a test
 * make a second, different, valid signature by the same key over the same message (a witness that "signs
 * twice"), which node:crypto alone cannot.
 *
 * BigInt arithmetic in extended twisted Edwards coordinates; slow (a few milliseconds a signature), fine
 * for a handful.
 */
import { createHash, randomBytes } from 'node:crypto';

const P = (1n << 255n) - 19n;
const L = (1n << 252n) + 27742317777372353535851937790883648493n;
const mod = (a: bigint, m: bigint = P): bigint => ((a % m) + m) % m;

function pow(b: bigint, e: bigint): bigint {
  let r = 1n;
  let x = mod(b);
  for (let k = e; k > 0n; k >>= 1n) {
    if (k & 1n) r = (r * x) % P;
    x = (x * x) % P;
  }
  return r;
}
const inv = (a: bigint): bigint => pow(a, P - 2n);
const D = mod(-121665n * inv(121666n));
const SQRT_M1 = pow(2n, (P - 1n) / 4n);

/** Extended coordinates (X, Y, Z, T) with x = X/Z, y = Y/Z, x·y = T/Z. */
type Ext = readonly [bigint, bigint, bigint, bigint];

function add([X1, Y1, Z1, T1]: Ext, [X2, Y2, Z2, T2]: Ext): Ext {
  const A = mod((Y1 - X1) * (Y2 - X2));
  const B = mod((Y1 + X1) * (Y2 + X2));
  const C = mod(2n * D * T1 * T2);
  const Dd = mod(2n * Z1 * Z2);
  const E = B - A;
  const F = Dd - C;
  const G = Dd + C;
  const H = B + A;
  return [mod(E * F), mod(G * H), mod(F * G), mod(E * H)];
}

function multiply(n: bigint, p: Ext): Ext {
  let r: Ext = [0n, 1n, 1n, 0n];
  let q = p;
  for (let k = n; k > 0n; k >>= 1n) {
    if (k & 1n) r = add(r, q);
    q = add(q, q);
  }
  return r;
}

const BASE: Ext = (() => {
  const y = mod(4n * inv(5n));
  const x2 = mod((y * y - 1n) * inv(D * y * y + 1n));
  let x = pow(x2, (P + 3n) / 8n);
  if (mod(x * x - x2) !== 0n) x = mod(x * SQRT_M1);
  if (x & 1n) x = mod(-x);
  return [x, y, 1n, mod(x * y)];
})();

function leToBig(b: Uint8Array): bigint {
  let n = 0n;
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i] ?? 0);
  return n;
}

function bigToLe(n: bigint, length = 32): Uint8Array {
  const out = new Uint8Array(length);
  let v = n;
  for (let i = 0; i < length; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

function encode([X, Y, Z]: Ext): Uint8Array {
  const zi = inv(Z);
  const x = mod(X * zi);
  const y = mod(Y * zi);
  const b = bigToLe(y);
  if (x & 1n) b[31] = (b[31] ?? 0) | 0x80;
  return b;
}

const sha512 = (...parts: Uint8Array[]): Uint8Array => {
  const h = createHash('sha512');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};

/**
 * A valid Ed25519 signature of `message` by the key of `seed` (32 bytes), made with the nonce `r`
 * (default: random), so it differs from the RFC 8032 (deterministic) one.
 */
export function signWithNonce(seed: Uint8Array, message: Uint8Array, r?: bigint): Uint8Array {
  if (seed.length !== 32) throw new Error('seed must be 32 bytes');
  const h = sha512(seed);
  const a = h.slice(0, 32);
  a[0] = (a[0] ?? 0) & 248;
  a[31] = ((a[31] ?? 0) & 127) | 64;
  const scalar = leToBig(a);
  const A = encode(multiply(scalar, BASE));
  const nonce = mod(r ?? leToBig(new Uint8Array(randomBytes(64))), L);
  const R = encode(multiply(nonce, BASE));
  const k = mod(leToBig(sha512(R, A, message)), L);
  const S = mod(nonce + k * scalar, L);
  const sig = new Uint8Array(64);
  sig.set(R, 0);
  sig.set(bigToLe(S), 32);
  return sig;
}

/** The public key of `seed` computed the same way (to check the arithmetic against node:crypto). */
export function publicKeyOfSeed(seed: Uint8Array): Uint8Array {
  const a = sha512(seed).slice(0, 32);
  a[0] = (a[0] ?? 0) & 248;
  a[31] = ((a[31] ?? 0) & 127) | 64;
  return encode(multiply(leToBig(a), BASE));
}
