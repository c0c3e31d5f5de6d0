/**
 * Identity files (governance): a licence chain plus the private Ed25519 seed of its leaf's subject key.
 *
 * An identity is what proves possession of a licence: the chain says what the subject may do, the seed signs
 * its requests (see `signRequest` in shared/src/license.ts; a `LoadedIdentity` can be passed to it as is).
 * The CLI keeps identities in files (server/src/governance/identity.ts reads and writes them); the extension
 * keeps the same document in SecretStorage and reads or writes files itself (client/src/keyFiles.ts). This
 * module is the format — parsing, validation, sealing and unsealing — with no file I/O, so both sides share
 * one definition and the client needs nothing from server/.
 *
 * File format (JSON, written pretty-printed, UTF-8, at most 64 KiB):
 *
 *     { "type": "sigil.identity", "version": 1, "subject": <the leaf's subject>,
 *       "chain": <LicenseChain, root-issued first>,
 *       "key": { "alg": "ed25519", "protection": "none",
 *                "public_key": <base64 of the 32-byte key = the leaf's subject_key>,
 *                "seed": <base64 of the 32-byte seed> } }
 *
 * or, with a passphrase, `key` is
 *
 *     { "alg": "ed25519", "protection": "scrypt-aes-256-gcm", "public_key": …,
 *       "kdf": { "alg": "scrypt", "log_n": 10..22, "r": 8, "p": 1 },
 *       "salt": <base64, 16 bytes>, "nonce": <base64, 12 bytes>,
 *       "ciphertext": <base64, 48 bytes: AES-256-GCM of the seed (32) ‖ tag (16)> }
 *
 * The AES key is scrypt(passphrase, salt); the associated data is "sigil-identity/v1\n" + public_key, so an
 * encrypted seed cannot be moved under another public key. Files are created 0600 and never overwritten; a
 * file readable or writable by group or others is refused at read time, like the keystore
 * (`checkIdentityFileStat`).
 *
 * Reading checks structure strictly (exactly these fields, canonical base64, the chain through
 * `parseLicenseChain`) and that the key belongs to the licence: `public_key` must be the leaf's subject_key
 * and the seed must produce it. It does NOT verify the chain's signatures, expiry or revocation — that needs
 * the store's pinned root key, audience and clock, and is the verifier's job (`verifyLicenseChain`).
 *
 * Errors: BAD_INPUT (malformed: names the field by JSON Pointer in the message and in `details.path`),
 * KEY_INVALID (permissions, or a key that is not the licence's), PASSPHRASE_REQUIRED, PASSPHRASE_WRONG (wrong
 * passphrase or tampered ciphertext), HOME_EXISTS (`identityExistsError`, for writers refusing to overwrite).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { bytesEqual, fromBase64, toBase64 } from './bytes.js';
import { Ed25519Signer, SEED_LENGTH, keyId, publicKeyFromSeed } from './ed25519.js';
import { SigilError } from './errors.js';
import { parseStrictJson } from './jcs.js';
import { deriveKey } from './kdf.js';
import { parseLicenseChain } from './license.js';
import type { LicenseChain, SignedLicense } from './license.js';

// ---------------------------------------------------------------------------------------------------------
// Types and constants

export const IDENTITY_TYPE = 'sigil.identity';
export const PUBLIC_IDENTITY_TYPE = 'sigil.public-identity';
export const IDENTITY_VERSION = 1;
/** Largest identity file read (a 4-link chain is at most 16 KiB of canonical JSON; pretty-printing adds some). */
export const MAX_IDENTITY_FILE_BYTES = 64 * 1024;
/** scrypt cost accepted when reading (the keystore's range). */
export const MIN_READ_SCRYPT_LOG_N = 10;
export const MAX_READ_SCRYPT_LOG_N = 22;
/** scrypt cost accepted when creating (`keystore.scrypt_log_n`'s range in sigil.toml). */
export const MIN_SCRYPT_LOG_N = 14;
export const MAX_SCRYPT_LOG_N = 20;
export const DEFAULT_SCRYPT_LOG_N = 15;
export const MIN_PASSPHRASE_LENGTH = 8;

const SALT_LENGTH = 16;
const NONCE_LENGTH = 12;
const TAG_LENGTH = 16;
const CIPHERTEXT_LENGTH = SEED_LENGTH + TAG_LENGTH;
const AAD_PREFIX = 'sigil-identity/v1\n';

export type KeyProtection = 'none' | 'scrypt-aes-256-gcm';

export interface ScryptParams {
  readonly alg: 'scrypt';
  readonly log_n: number;
  readonly r: 8;
  readonly p: 1;
}

export interface PlainIdentityKey {
  readonly alg: 'ed25519';
  readonly protection: 'none';
  /** Standard padded base64 of the 32-byte public key (equal to the leaf licence's subject_key). */
  readonly public_key: string;
  /** Standard padded base64 of the 32-byte seed. */
  readonly seed: string;
}

export interface EncryptedIdentityKey {
  readonly alg: 'ed25519';
  readonly protection: 'scrypt-aes-256-gcm';
  readonly public_key: string;
  readonly kdf: ScryptParams;
  /** base64, 16 bytes. */
  readonly salt: string;
  /** base64, 12 bytes. */
  readonly nonce: string;
  /** base64, 48 bytes: the AES-256-GCM ciphertext of the seed followed by the 16-byte tag. */
  readonly ciphertext: string;
}

export type IdentityKey = PlainIdentityKey | EncryptedIdentityKey;

/** The identity document (the file's JSON, or what the extension keeps in SecretStorage). */
export interface IdentityFile {
  readonly type: typeof IDENTITY_TYPE;
  readonly version: typeof IDENTITY_VERSION;
  /** The leaf licence's subject. */
  readonly subject: string;
  readonly chain: LicenseChain;
  readonly key: IdentityKey;
}

/** The shareable form: the licence chain and the public key, no secret. */
export interface PublicIdentity {
  readonly type: typeof PUBLIC_IDENTITY_TYPE;
  readonly version: typeof IDENTITY_VERSION;
  readonly subject: string;
  /** The leaf licence's id. */
  readonly license_id: string;
  /** Key id (hex, 32 chars) of the subject key. */
  readonly key_id: string;
  /** base64 of the subject key (the leaf's subject_key). */
  readonly public_key: string;
  readonly chain: LicenseChain;
}

/** An identity ready to sign: fits the `Identity` type of shared/src/license.ts (`signRequest`). */
export interface LoadedIdentity {
  readonly chain: LicenseChain;
  readonly signer: Ed25519Signer;
  readonly subject: string;
  /** The leaf licence's id. */
  readonly licenseId: string;
  readonly keyId: string;
  readonly publicKey: Uint8Array;
  /** True if the seed was stored encrypted. */
  readonly encrypted: boolean;
}

export interface CreateIdentityOptions {
  /** Encrypts the seed (at least 8 characters); undefined stores it in clear ("protection": "none"). */
  readonly passphrase?: string | undefined;
  /** scrypt cost log2(N), 14..20 (default 15); used only with a passphrase. */
  readonly scryptLogN?: number;
}

export interface ReadIdentityOptions {
  /** Called only when the seed is encrypted; undefined when no passphrase can be had. */
  readonly passphrase?: () => Promise<string | undefined>;
  /** Named in the PASSPHRASE_REQUIRED message (default SIGIL_PASSPHRASE). */
  readonly passphraseEnv?: string;
}

// ---------------------------------------------------------------------------------------------------------
// Strict parsing

const TOP_FIELDS = ['type', 'version', 'subject', 'chain', 'key'] as const;
const PUBLIC_FIELDS = ['type', 'version', 'subject', 'license_id', 'key_id', 'public_key', 'chain'] as const;
const PLAIN_KEY_FIELDS = ['alg', 'protection', 'public_key', 'seed'] as const;
const ENCRYPTED_KEY_FIELDS = [
  'alg',
  'protection',
  'public_key',
  'kdf',
  'salt',
  'nonce',
  'ciphertext',
] as const;
const KDF_FIELDS = ['alg', 'log_n', 'r', 'p'] as const;

function pointerSegment(s: string | number): string {
  return '/' + String(s).replace(/~/g, '~0').replace(/\//g, '~1');
}

class Checker {
  constructor(readonly where: string) {}

  fail(pointer: string, message: string): never {
    throw new SigilError(
      'BAD_INPUT',
      `${this.where}: ${pointer === '' ? 'the document' : pointer} ${message}`,
      {
        path: pointer,
        file: this.where,
      },
    );
  }

  object<K extends string>(v: unknown, pointer: string, fields: readonly K[]): Record<K, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(pointer, 'must be an object');
    const proto: unknown = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) this.fail(pointer, 'must be a plain object');
    for (const k of Object.keys(v)) {
      if (!(fields as readonly string[]).includes(k))
        this.fail(pointer + pointerSegment(k), `is not an allowed field (allowed: ${fields.join(', ')})`);
    }
    const src = v as Record<string, unknown>;
    const out = {} as Record<K, unknown>;
    for (const f of fields) {
      if (!Object.prototype.hasOwnProperty.call(src, f)) this.fail(pointer + pointerSegment(f), 'is missing');
      out[f] = src[f];
    }
    return out;
  }

  literal<T extends string | number>(v: unknown, pointer: string, expected: T): T {
    if (v !== expected) this.fail(pointer, `must be ${JSON.stringify(expected)}`);
    return expected;
  }

  /** Canonical standard padded base64 of exactly `length` bytes. */
  base64(v: unknown, pointer: string, length: number): Uint8Array {
    const bytes = canonicalBase64(v, length);
    if (bytes === null) this.fail(pointer, `must be canonical standard base64 of exactly ${length} bytes`);
    return bytes;
  }

  chain(v: unknown, pointer: string): LicenseChain {
    try {
      return parseLicenseChain(v);
    } catch (e) {
      if (e instanceof SigilError && (e.code === 'BAD_INPUT' || e.code === 'JCS_INVALID')) {
        const inner = typeof e.details?.path === 'string' ? e.details.path : '';
        throw new SigilError('BAD_INPUT', `${this.where}: ${pointer}${inner}: ${e.message}`, {
          path: pointer + inner,
          file: this.where,
        });
      }
      throw e;
    }
  }
}

function canonicalBase64(v: unknown, length: number): Uint8Array | null {
  if (typeof v !== 'string' || v.length !== 4 * Math.ceil(length / 3)) return null;
  let bytes: Uint8Array;
  try {
    bytes = fromBase64(v);
  } catch {
    return null;
  }
  return bytes.length === length && toBase64(bytes) === v ? bytes : null;
}

function leafOf(chain: LicenseChain): SignedLicense {
  const leaf = chain[chain.length - 1];
  if (leaf === undefined) throw new SigilError('INTERNAL', 'a parsed licence chain is never empty');
  return leaf;
}

function parseKdf(c: Checker, v: unknown, pointer: string): ScryptParams {
  const k = c.object(v, pointer, KDF_FIELDS);
  c.literal(k.alg, pointer + '/alg', 'scrypt');
  const logN = k.log_n;
  if (
    typeof logN !== 'number' ||
    !Number.isInteger(logN) ||
    logN < MIN_READ_SCRYPT_LOG_N ||
    logN > MAX_READ_SCRYPT_LOG_N
  )
    c.fail(
      pointer + '/log_n',
      `must be an integer from ${MIN_READ_SCRYPT_LOG_N} to ${MAX_READ_SCRYPT_LOG_N}`,
    );
  c.literal(k.r, pointer + '/r', 8);
  c.literal(k.p, pointer + '/p', 1);
  return { alg: 'scrypt', log_n: logN, r: 8, p: 1 };
}

function parseKey(c: Checker, v: unknown): IdentityKey {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) c.fail('/key', 'must be an object');
  const protection = (v as { protection?: unknown }).protection;
  if (protection === 'none') {
    const k = c.object(v, '/key', PLAIN_KEY_FIELDS);
    c.literal(k.alg, '/key/alg', 'ed25519');
    c.base64(k.public_key, '/key/public_key', 32);
    c.base64(k.seed, '/key/seed', SEED_LENGTH);
    return {
      alg: 'ed25519',
      protection: 'none',
      public_key: k.public_key as string,
      seed: k.seed as string,
    };
  }
  if (protection === 'scrypt-aes-256-gcm') {
    const k = c.object(v, '/key', ENCRYPTED_KEY_FIELDS);
    c.literal(k.alg, '/key/alg', 'ed25519');
    c.base64(k.public_key, '/key/public_key', 32);
    const kdf = parseKdf(c, k.kdf, '/key/kdf');
    c.base64(k.salt, '/key/salt', SALT_LENGTH);
    c.base64(k.nonce, '/key/nonce', NONCE_LENGTH);
    c.base64(k.ciphertext, '/key/ciphertext', CIPHERTEXT_LENGTH);
    return {
      alg: 'ed25519',
      protection: 'scrypt-aes-256-gcm',
      public_key: k.public_key as string,
      kdf,
      salt: k.salt as string,
      nonce: k.nonce as string,
      ciphertext: k.ciphertext as string,
    };
  }
  if (!Object.prototype.hasOwnProperty.call(v, 'protection')) c.fail('/key/protection', 'is missing');
  return c.fail('/key/protection', 'must be "none" or "scrypt-aes-256-gcm"');
}

/**
 * Strictly parses an identity document (JSON text or a parsed value) without decrypting anything. Checks the
 * structure, that `subject` is the leaf's, and (KEY_INVALID) that `key.public_key` is the leaf's subject_key.
 * `where` (a file name) prefixes messages. Returns a fresh validated copy.
 */
export function parseIdentity(json: unknown, where = 'identity'): IdentityFile {
  const c = new Checker(where);
  const value = typeof json === 'string' ? parseJsonText(json, where) : json;
  const top = c.object(value, '', TOP_FIELDS);
  c.literal(top.type, '/type', IDENTITY_TYPE);
  if (top.version !== IDENTITY_VERSION)
    c.fail('/version', `must be ${IDENTITY_VERSION} (this Sigil reads identity files of version 1 only)`);
  const chain = c.chain(top.chain, '/chain');
  const leaf = leafOf(chain).body;
  if (typeof top.subject !== 'string') c.fail('/subject', 'must be a string');
  if (top.subject !== leaf.subject)
    c.fail('/subject', `must be the leaf licence's subject ${JSON.stringify(leaf.subject)}`);
  const key = parseKey(c, top.key);
  if (key.public_key !== leaf.subject_key) {
    throw new SigilError(
      'KEY_INVALID',
      `${where}: /key/public_key is not the subject key of licence ${leaf.id} (the leaf of /chain)`,
      { path: '/key/public_key', file: where },
    );
  }
  return { type: IDENTITY_TYPE, version: IDENTITY_VERSION, subject: leaf.subject, chain, key };
}

function parseJsonText(text: string, where: string): unknown {
  const size = Buffer.byteLength(text, 'utf8');
  if (size > MAX_IDENTITY_FILE_BYTES)
    throw new SigilError(
      'BAD_INPUT',
      `${where} is ${size} bytes; at most ${MAX_IDENTITY_FILE_BYTES} are allowed`,
      {
        path: '',
        file: where,
      },
    );
  return parseStrictJson(text, where);
}

// ---------------------------------------------------------------------------------------------------------
// Key protection

function aad(publicKeyB64: string): Buffer {
  return Buffer.from(AAD_PREFIX + publicKeyB64, 'utf8');
}

function encryptSeed(kek: Uint8Array, nonce: Uint8Array, seed: Uint8Array, publicKeyB64: string): Uint8Array {
  const cipher = createCipheriv('aes-256-gcm', kek, nonce, { authTagLength: TAG_LENGTH });
  cipher.setAAD(aad(publicKeyB64));
  return new Uint8Array(Buffer.concat([cipher.update(seed), cipher.final(), cipher.getAuthTag()]));
}

function decryptSeed(
  kek: Uint8Array,
  nonce: Uint8Array,
  ciphertext: Uint8Array,
  publicKeyB64: string,
): Uint8Array | null {
  const decipher = createDecipheriv('aes-256-gcm', kek, nonce, { authTagLength: TAG_LENGTH });
  decipher.setAAD(aad(publicKeyB64));
  decipher.setAuthTag(ciphertext.subarray(SEED_LENGTH));
  try {
    return new Uint8Array(
      Buffer.concat([decipher.update(ciphertext.subarray(0, SEED_LENGTH)), decipher.final()]),
    );
  } catch {
    return null;
  }
}

function checkSeed(seed: unknown): asserts seed is Uint8Array {
  if (!(seed instanceof Uint8Array) || seed.length !== SEED_LENGTH)
    throw new SigilError('KEY_INVALID', `the identity seed must be a Uint8Array of ${SEED_LENGTH} bytes`);
}

// ---------------------------------------------------------------------------------------------------------
// Create and unlock; pure helpers for the readers and writers of identity files

/**
 * The `key` object of an identity (or witness key) document for `seed`: in clear, or sealed with scrypt +
 * AES-256-GCM under a passphrase (at least 8 characters), bound to its public key. Throws BAD_INPUT /
 * KEY_INVALID as createIdentity.
 */
export async function sealSeed(seed: Uint8Array, opts: CreateIdentityOptions = {}): Promise<IdentityKey> {
  checkSeed(seed);
  const publicKey = toBase64(publicKeyFromSeed(seed));
  if (opts.passphrase === undefined) {
    return { alg: 'ed25519', protection: 'none', public_key: publicKey, seed: toBase64(seed) };
  } else {
    if (typeof opts.passphrase !== 'string' || opts.passphrase.length < MIN_PASSPHRASE_LENGTH)
      throw new SigilError(
        'BAD_INPUT',
        `the identity passphrase must be at least ${MIN_PASSPHRASE_LENGTH} characters long`,
      );
    const logN = opts.scryptLogN ?? DEFAULT_SCRYPT_LOG_N;
    if (!Number.isInteger(logN) || logN < MIN_SCRYPT_LOG_N || logN > MAX_SCRYPT_LOG_N)
      throw new SigilError(
        'BAD_INPUT',
        `scryptLogN must be an integer from ${MIN_SCRYPT_LOG_N} to ${MAX_SCRYPT_LOG_N}, not ${String(logN)}`,
      );
    const salt = new Uint8Array(randomBytes(SALT_LENGTH));
    const nonce = new Uint8Array(randomBytes(NONCE_LENGTH));
    const kek = await deriveKey(opts.passphrase, salt, logN);
    try {
      return {
        alg: 'ed25519',
        protection: 'scrypt-aes-256-gcm',
        public_key: publicKey,
        kdf: { alg: 'scrypt', log_n: logN, r: 8, p: 1 },
        salt: toBase64(salt),
        nonce: toBase64(nonce),
        ciphertext: toBase64(encryptSeed(kek, nonce, seed, publicKey)),
      };
    } finally {
      kek.fill(0);
    }
  }
}

/** Parses the `key` object of a document at `where` (BAD_INPUT naming the field). */
export function parseIdentityKey(value: unknown, where: string): IdentityKey {
  return parseKey(new Checker(where), value);
}

/**
 * Builds an identity document from a licence chain and the seed of its leaf's subject key. Throws BAD_INPUT
 * for a malformed chain, a passphrase shorter than 8 characters or a scryptLogN outside 14..20, KEY_INVALID
 * if the seed is not 32 bytes or does not produce the leaf's subject_key. Does not write anything.
 */
export async function createIdentity(
  chain: LicenseChain,
  seed: Uint8Array,
  opts: CreateIdentityOptions = {},
): Promise<IdentityFile> {
  const parsed = new Checker('identity').chain(chain, '/chain');
  const leaf = leafOf(parsed).body;
  checkSeed(seed);
  const publicKey = toBase64(publicKeyFromSeed(seed));
  if (publicKey !== leaf.subject_key)
    throw new SigilError('KEY_INVALID', `the seed does not produce the subject key of licence ${leaf.id}`);
  const key = await sealSeed(seed, opts);
  return { type: IDENTITY_TYPE, version: IDENTITY_VERSION, subject: leaf.subject, chain: parsed, key };
}

/**
 * The exact text an identity file holds (pretty-printed JSON and a newline), after validating `identity` with
 * `parseIdentity` (errors name `where`). Every writer uses this, so files stay byte-for-byte alike.
 */
export function identityFileText(identity: IdentityFile, where: string): string {
  return JSON.stringify(parseIdentity(identity, where), null, 2) + '\n';
}

/** The HOME_EXISTS refusal of a writer that finds `target` already there. */
export function identityExistsError(target: string): SigilError {
  return new SigilError('HOME_EXISTS', `${target} already exists; refusing to overwrite an identity`, {
    path: target,
  });
}

/** What the secret-file checks need of an fs.Stats. */
export interface SecretFileStat {
  readonly mode: number;
  readonly size: number;
  isFile(): boolean;
}

/**
 * KEY_INVALID when group or others may access a secret file (identity, witness key). Windows has no such mode
 * bits (its ACLs are not modelled by st_mode), so nothing is refused there.
 */
export function checkOwnerOnlyMode(file: string, mode: number, platform: string = process.platform): void {
  if (platform !== 'win32' && (mode & 0o077) !== 0) {
    throw new SigilError(
      'KEY_INVALID',
      `${file} is accessible to other users (mode ${(mode & 0o777).toString(8)}); run: chmod 600 ${JSON.stringify(file)}`,
      { path: file, mode: mode & 0o777 },
    );
  }
}

/**
 * The checks a reader makes on an identity file's stat before reading it: a regular file (BAD_INPUT), owner
 * only (KEY_INVALID), at most MAX_IDENTITY_FILE_BYTES (BAD_INPUT) — so a huge file is never read whole.
 */
export function checkIdentityFileStat(file: string, st: SecretFileStat): void {
  if (!st.isFile()) throw new SigilError('BAD_INPUT', `${file} is not a regular file`, { path: file });
  checkOwnerOnlyMode(file, st.mode);
  if (st.size > MAX_IDENTITY_FILE_BYTES)
    throw new SigilError(
      'BAD_INPUT',
      `${file} is ${st.size} bytes; an identity file is at most ${MAX_IDENTITY_FILE_BYTES}`,
      { path: file },
    );
}

/** The NOT_FOUND of a reader that finds no identity file at `file`. */
export function identityNotFoundError(file: string): SigilError {
  return new SigilError('NOT_FOUND', `no identity file at ${file}`, { path: file });
}

/** Parses and unlocks the text of an identity file read from `file` (everything after the read itself). */
export async function loadIdentityText(
  text: string,
  file: string,
  opts: ReadIdentityOptions = {},
): Promise<LoadedIdentity> {
  const doc = parseIdentity(text, file);
  return unlockIdentity(doc, { ...opts, where: file });
}
/**
 * The seed of a `key` object (parsed with parseIdentityKey): PASSPHRASE_REQUIRED when it is encrypted and no
 * passphrase comes, PASSPHRASE_WRONG when it does not decrypt. The caller must zero the result.
 */
export async function unsealSeed(
  key: IdentityKey,
  opts: ReadIdentityOptions,
  where: string,
): Promise<Uint8Array> {
  if (key.protection === 'none') return fromBase64(key.seed);
  const pass = opts.passphrase === undefined ? undefined : await opts.passphrase();
  if (pass === undefined)
    throw new SigilError(
      'PASSPHRASE_REQUIRED',
      `the key in ${where} is encrypted; set ${opts.passphraseEnv ?? 'SIGIL_PASSPHRASE'} or run in a terminal to be asked`,
    );
  const kek = await deriveKey(pass, fromBase64(key.salt), key.kdf.log_n);
  const plain = decryptSeed(kek, fromBase64(key.nonce), fromBase64(key.ciphertext), key.public_key);
  kek.fill(0);
  if (plain === null)
    throw new SigilError(
      'PASSPHRASE_WRONG',
      `cannot decrypt the key in ${where}: wrong passphrase or tampered file`,
    );
  return plain;
}

/**
 * Unlocks an identity document already in memory (e.g. from VS Code SecretStorage): the same checks and
 * errors as `readIdentityFile` after the file has been read.
 */
export async function unlockIdentity(
  identity: unknown,
  opts: ReadIdentityOptions & { readonly where?: string } = {},
): Promise<LoadedIdentity> {
  const where = opts.where ?? 'identity';
  const doc = parseIdentity(identity, where);
  const leaf = leafOf(doc.chain).body;
  const key = doc.key;
  const seed = await unsealSeed(key, opts, where);
  try {
    const signer = new Ed25519Signer(seed);
    if (!bytesEqual(signer.publicKey, fromBase64(leaf.subject_key)))
      throw new SigilError(
        'KEY_INVALID',
        `${where}: the stored seed does not produce the subject key of licence ${leaf.id}`,
        { path: key.protection === 'none' ? '/key/seed' : '/key/ciphertext', file: where },
      );
    return {
      chain: doc.chain,
      signer,
      subject: leaf.subject,
      licenseId: leaf.id,
      keyId: signer.keyId,
      publicKey: signer.publicKey,
      encrypted: key.protection !== 'none',
    };
  } finally {
    seed.fill(0);
  }
}

/**
 * The shareable form of an identity (no secret): subject, leaf licence id, key id, public key and chain.
 * Accepts an identity document or a loaded identity.
 */
export function publicIdentity(identity: IdentityFile | LoadedIdentity): PublicIdentity {
  const chain = new Checker('identity').chain(identity.chain, '/chain');
  const leaf = leafOf(chain).body;
  const mismatch =
    'signer' in identity
      ? !bytesEqual(identity.signer.publicKey, fromBase64(leaf.subject_key))
      : identity.key.public_key !== leaf.subject_key;
  if (mismatch)
    throw new SigilError('KEY_INVALID', `the identity's key is not the subject key of licence ${leaf.id}`);
  return publicFromChain(chain);
}

/** The public identity of a licence chain (whose key lives elsewhere). */
export function publicFromChain(chain: LicenseChain): PublicIdentity {
  const leaf = leafOf(chain).body;
  return {
    type: PUBLIC_IDENTITY_TYPE,
    version: IDENTITY_VERSION,
    subject: leaf.subject,
    license_id: leaf.id,
    key_id: keyId(fromBase64(leaf.subject_key)),
    public_key: leaf.subject_key,
    chain,
  };
}

/**
 * Strictly parses a public identity (JSON text or a parsed value): exactly its fields, and subject,
 * license_id, key_id and public_key consistent with the chain's leaf (BAD_INPUT naming the field otherwise).
 * Like `parseIdentity` it checks no signatures: verify the chain with `verifyLicenseChain`.
 */
export function parsePublicIdentity(json: unknown, where = 'public identity'): PublicIdentity {
  const c = new Checker(where);
  const value = typeof json === 'string' ? parseJsonText(json, where) : json;
  const top = c.object(value, '', PUBLIC_FIELDS);
  c.literal(top.type, '/type', PUBLIC_IDENTITY_TYPE);
  if (top.version !== IDENTITY_VERSION) c.fail('/version', `must be ${IDENTITY_VERSION}`);
  const chain = c.chain(top.chain, '/chain');
  const leaf = leafOf(chain).body;
  const expected = publicFromChain(chain);
  if (top.subject !== leaf.subject) c.fail('/subject', "must be the leaf licence's subject");
  if (top.license_id !== expected.license_id) c.fail('/license_id', "must be the leaf licence's id");
  if (top.public_key !== expected.public_key) c.fail('/public_key', "must be the leaf licence's subject_key");
  if (top.key_id !== expected.key_id) c.fail('/key_id', 'must be the key id of public_key');
  return expected;
}

/**
 * The licence chain a document carries: an identity, a public identity, or a bare JSON array of licences
 * (unchecked beyond its shape: verify it with `verifyLicenseChain` or sigil/license.verify).
 */
export function chainOfDocument(doc: unknown, where: string): unknown {
  if (Array.isArray(doc)) return doc;
  if (typeof doc === 'object' && doc !== null) {
    const type = (doc as { type?: unknown }).type;
    if (type === IDENTITY_TYPE) return parseIdentity(doc, where).chain;
    if (type === PUBLIC_IDENTITY_TYPE) return parsePublicIdentity(doc, where).chain;
  }
  throw new SigilError(
    'BAD_INPUT',
    `${where}: not a licence file (expected a Sigil identity, a public identity or a JSON array of licences)`,
  );
}
