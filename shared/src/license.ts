/**
 * Licences and authenticated requests (governance, issue 4). Pure: no I/O; time, randomness and the
 * revocation and nonce state are passed in.
 *
 * A licence is a JCS-canonical body signed with Ed25519 over `"sigil-license/v1\n" + JCS(body)`. A
 * chain holds 1 to 4 licences, root-issued first and leaf last:
 *
 *  - link 0 is issued by the store's root key, the pinned trust anchor handed to the verifier. Its
 *    signature is checked under that pinned key only, never under a key taken from the document;
 *  - link i > 0 is issued (and signed) by the subject key of link i − 1 and names it as `parent`;
 *  - a link may only delegate while the holder's effective LOA is at least mentor (3), and never to more
 *    than the holder has: LOA, role, expiry, not-before and audience are all attenuated;
 *  - revoking a licence (by id) invalidates every chain that passes through it.
 *
 * A request carries the chain plus an Ed25519 signature by the leaf's subject key over
 * `"sigil-request/v1\n" + method + "\n" + paramsHash + "\n" + nonce + "\n" + ts + "\n" + audience`,
 * so a copied licence is useless without its private key. The verifier refuses timestamps more than
 * 5 minutes away from its clock and nonces it has seen (see `NonceCache`).
 *
 * The three signing prefixes ("sigil-record/v1", "sigil-license/v1", "sigil-request/v1") keep a
 * signature made for one purpose from ever being accepted for another.
 */
import { LOA_LEVELS, ORIGIN_PATTERN, type LoaLevel } from './config-schema.js';
import { canonicalize, parseStrictJson } from './jcs.js';
import { sha256Hex } from './hash.js';
import {
  PUBLIC_KEY_LENGTH,
  SIGNATURE_LENGTH,
  checkPublicKey,
  keyId,
  publicKeyFromSeed,
  sign as ed25519Sign,
  verify as ed25519Verify,
} from './ed25519.js';
import { bytesEqual, fromBase64, toBase64, toHex, utf8 } from './bytes.js';
import { SigilError } from './errors.js';

// ---------------------------------------------------------------------------------------------------------
// Constants and types

export const LICENSE_VERSION = 1;
/** Longest chain: the root-issued licence plus three delegations. */
export const MAX_CHAIN_LENGTH = 4;
/** Largest licence chain accepted, as JSON text (UTF-8 bytes) or in canonical form. */
export const MAX_LICENSE_CHAIN_BYTES = 16 * 1024;
export const MAX_SUBJECT_LENGTH = 128;
export const MAX_AUDIENCE_LENGTH = 256;
/** Lowest effective LOA that may delegate (mentor). */
export const MIN_DELEGATOR_LOA = 3;
/** A request timestamp may be at most this far from the verifier's clock, either way (inclusive). */
export const REQUEST_MAX_SKEW_MS = 5 * 60 * 1000;
/** How long `NonceCache` remembers a nonce after its request timestamp: twice the skew window. */
export const NONCE_TTL_MS = 2 * REQUEST_MAX_SKEW_MS;
export const MIN_NONCE_BYTES = 16;
export const MAX_NONCE_BYTES = 64;
export const MAX_METHOD_LENGTH = 128;

export const LICENSE_SIGNING_PREFIX = 'sigil-license/v1\n';
export const REQUEST_SIGNING_PREFIX = 'sigil-request/v1\n';

/** Roles, lowest to highest; the same names as the `loa` of `[policies]` in sigil.toml. */
export const ROLES = LOA_LEVELS;
export type Role = LoaLevel;
/** The highest LOA each role may carry (and its rank). */
export const ROLE_LOA: Readonly<Record<Role, number>> = Object.freeze({
  guest: 0,
  observer: 1,
  operator: 2,
  mentor: 3,
  root: 4,
});

export interface LicenseBody {
  readonly v: 1;
  /** 32 lowercase hex characters (16 random bytes), unique within a chain; what revocation names. */
  readonly id: string;
  /** Who holds it: 1..128 UTF-16 code units, printable (see `checkSubject`). */
  readonly subject: string;
  /** Standard padded base64 of the subject's 32-byte Ed25519 public key. */
  readonly subject_key: string;
  readonly role: Role;
  /** Integer 0..4, at most ROLE_LOA[role]. */
  readonly loa: number;
  /** RFC 3339 UTC with milliseconds, e.g. 2026-01-02T03:04:05.678Z; issued_at ≤ not_before < expires_at. */
  readonly issued_at: string;
  readonly not_before: string;
  readonly expires_at: string;
  /** Key id (first 16 bytes of SHA-256 of the public key, hex) of the key that signs this licence. */
  readonly issuer: string;
  /** The store's origin (checkpoint origin line): a licence for one store is refused by another. */
  readonly audience: string;
  /** null for the root-issued licence, else the id of the licence it is delegated from. */
  readonly parent: string | null;
}

export interface SignedLicense {
  readonly body: LicenseBody;
  /** Standard padded base64 of the 64-byte Ed25519 signature over licenseSigningMessage(body). */
  readonly signature: string;
}

/** Root-issued licence first, leaf last; 1..4 links. */
export type LicenseChain = readonly SignedLicense[];

/** Anything that signs with an Ed25519 key (Ed25519Signer fits). */
export interface LicenseSigner {
  readonly keyId: string;
  sign(message: Uint8Array): Uint8Array;
  /** When given, issue/delegate check it matches keyId and that the signature verifies under it. */
  readonly publicKey?: Uint8Array;
}

export type Timestamp = Date | string;

/** What the issuer chooses; `v`, `issuer` and `parent` are filled in by issueLicense / delegateLicense. */
export interface LicenseFields {
  /** 32 lowercase hex characters; `newLicenseId(randomBytes(16))`. */
  readonly id: string;
  readonly subject: string;
  /** 32 raw bytes, or their standard base64. */
  readonly subject_key: Uint8Array | string;
  readonly role: Role;
  /** Defaults to ROLE_LOA[role]. */
  readonly loa?: number;
  readonly issued_at: Timestamp;
  /** Defaults to issued_at. */
  readonly not_before?: Timestamp;
  readonly expires_at: Timestamp;
  readonly audience: string;
}

/** For delegation the audience defaults to the parent's (and must equal it if given). */
export type DelegationFields = Omit<LicenseFields, 'audience'> & { readonly audience?: string };

export type LicenseFailureCode =
  /** Not a well-formed chain: wrong shape, type, length, encoding or size (`at` = link or -1). */
  | 'malformed'
  /** More than MAX_CHAIN_LENGTH links (`at` = 4). */
  | 'too_long'
  /** Link 0 not issued by the pinned root key, or link i not by the subject key of link i − 1. */
  | 'untrusted_issuer'
  /** parent is not null on link 0 / not the previous id, or an id repeats in the chain. */
  | 'broken_link'
  /** The signature does not verify under the issuing key. */
  | 'bad_signature'
  /** subject_key is refused (small-order, non-canonical, not on the curve). */
  | 'bad_key'
  | 'wrong_audience'
  | 'not_yet_valid'
  | 'expired'
  /** Delegation beyond the holder's rights (holder below mentor, loa/role/expiry/not_before exceeded). */
  | 'over_delegated'
  /** This link's id is revoked (so are all links after it). */
  | 'revoked';

export interface LicenseFailure {
  readonly ok: false;
  readonly code: LicenseFailureCode;
  readonly reason: string;
  /** Index of the offending link, or -1 when the chain as a whole is at fault. */
  readonly at: number;
}

export interface VerifiedLicense {
  readonly ok: true;
  /** The validated copy of the chain. */
  readonly chain: LicenseChain;
  readonly leaf: SignedLicense;
  readonly licenseId: string;
  readonly subject: string;
  readonly subjectKey: Uint8Array;
  readonly subjectKeyId: string;
  /** The leaf's role (roles only go down a chain, so it is also the lowest). */
  readonly role: Role;
  /** Effective LOA: the minimum over the chain. Authorise on this number, not on the role name. */
  readonly loa: number;
  /** Earliest expiry on the chain (the leaf's, since expiry only goes down a chain). */
  readonly expiresAt: string;
  /** Latest not-before on the chain (the leaf's, since not-before only goes up a chain). */
  readonly notBefore: string;
  /** Ids of the chain, root-issued first. */
  readonly ids: readonly string[];
}

export type LicenseVerification = VerifiedLicense | LicenseFailure;

export interface LicenseVerifyOptions {
  /** The pinned root public key (32 bytes). Never taken from the chain. */
  readonly rootKey: Uint8Array;
  /** This store's origin. */
  readonly audience: string;
  readonly now: Date;
  /** True if the licence with this id is revoked. Called for each link, root-issued first. */
  readonly isRevoked: (id: string) => boolean;
}

// ---------------------------------------------------------------------------------------------------------
// Small helpers

const HEX_ID = /^[0-9a-f]{32}$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const METHOD = /^[\x21-\x7e]+$/;
const NONCE = /^(?:[0-9a-f]{2})+$/;
const PARAMS_HASH = /^[0-9a-f]{64}$/;
/**
 * Refused in a subject: C0/C1 controls and DEL, lone surrogates, private use, line and paragraph
 * separators, bidirectional controls and the BOM (they make one name display as another).
 */
const UNPRINTABLE = /[\p{Cc}\p{Cs}\p{Co}\p{Zl}\p{Zp}\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]/u;

const BODY_FIELDS = [
  'v',
  'id',
  'subject',
  'subject_key',
  'role',
  'loa',
  'issued_at',
  'not_before',
  'expires_at',
  'issuer',
  'audience',
  'parent',
] as const;
const LINK_FIELDS = ['body', 'signature'] as const;
const AUTH_FIELDS = ['chain', 'nonce', 'ts', 'sig'] as const;

function isRole(x: unknown): x is Role {
  return typeof x === 'string' && (ROLES as readonly string[]).includes(x);
}

/** Milliseconds since the epoch of a canonical RFC 3339 UTC ms timestamp, or null. */
function timestampMs(s: unknown): number | null {
  if (typeof s !== 'string' || !TIMESTAMP.test(s)) return null;
  const ms = Date.parse(s);
  // The round trip refuses dates that do not exist (2026-02-30) and hours like 24:00.
  if (Number.isNaN(ms) || new Date(ms).toISOString() !== s) return null;
  return ms;
}

function ms(s: string): number {
  const t = timestampMs(s);
  if (t === null) throw new SigilError('INTERNAL', `unvalidated timestamp ${JSON.stringify(s)}`);
  return t;
}

/** Decodes canonical standard base64 of exactly `length` bytes, or null. */
function canonicalBase64(s: unknown, length: number): Uint8Array | null {
  if (typeof s !== 'string' || s.length !== 4 * Math.ceil(length / 3)) return null;
  let bytes: Uint8Array;
  try {
    bytes = fromBase64(s);
  } catch {
    return null;
  }
  return bytes.length === length && toBase64(bytes) === s ? bytes : null;
}

function dateMs(d: Date, what: string): number {
  const t = d instanceof Date ? d.getTime() : NaN;
  if (Number.isNaN(t)) throw new SigilError('INTERNAL', `${what} must be a valid Date`);
  return t;
}

function pointerSegment(s: string | number): string {
  return '/' + String(s).replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Why a subject is refused, or null. */
export function checkSubject(s: unknown): string | null {
  if (typeof s !== 'string') return 'must be a string';
  if (s.length === 0 || s.length > MAX_SUBJECT_LENGTH) return `must be 1 to ${MAX_SUBJECT_LENGTH} characters`;
  if (UNPRINTABLE.test(s))
    return 'must be printable (no control, bidirectional-control, private-use or separator characters)';
  if (/^\s|\s$/u.test(s)) return 'must not start or end with whitespace';
  return null;
}

/** Why an audience (store origin) is refused, or null. */
export function checkAudience(s: unknown): string | null {
  if (typeof s !== 'string') return 'must be a string';
  if (s.length === 0 || s.length > MAX_AUDIENCE_LENGTH)
    return `must be 1 to ${MAX_AUDIENCE_LENGTH} characters`;
  if (!ORIGIN_PATTERN.test(s)) return 'must be printable ASCII without spaces or "+" (a store origin)';
  return null;
}

/** A licence id from 16 random bytes (the caller supplies the randomness). */
export function newLicenseId(random16: Uint8Array): string {
  if (!(random16 instanceof Uint8Array) || random16.length !== 16) {
    throw new SigilError('BAD_INPUT', 'a licence id needs exactly 16 random bytes');
  }
  return toHex(random16);
}

// ---------------------------------------------------------------------------------------------------------
// Strict structural parsing

class Parser {
  readonly what: string;

  constructor(what: string) {
    this.what = what;
  }

  fail(path: string, message: string): never {
    throw new SigilError('BAD_INPUT', `${this.what}: ${path === '' ? 'the value' : path} ${message}`, {
      path,
    });
  }

  object<K extends string>(v: unknown, path: string, fields: readonly K[]): Record<K, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(path, 'must be an object');
    const proto: unknown = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) this.fail(path, 'must be a plain object');
    const keys = Object.keys(v);
    for (const k of keys) {
      if (!(fields as readonly string[]).includes(k))
        this.fail(path + pointerSegment(k), `is not an allowed field (allowed: ${fields.join(', ')})`);
    }
    const src = v as Record<string, unknown>;
    const out = {} as Record<K, unknown>;
    for (const f of fields) {
      if (!Object.prototype.hasOwnProperty.call(src, f)) this.fail(path + pointerSegment(f), 'is missing');
      out[f] = src[f];
    }
    return out;
  }

  array(v: unknown, path: string, min: number, max: number): readonly unknown[] {
    if (!Array.isArray(v) || Object.getPrototypeOf(v) !== Array.prototype)
      this.fail(path, 'must be an array');
    if (v.length < min || v.length > max)
      this.fail(path, `must hold ${min} to ${max} entries, not ${v.length}`);
    return v as unknown[];
  }

  hexId(v: unknown, path: string): string {
    if (typeof v !== 'string' || !HEX_ID.test(v)) this.fail(path, 'must be 32 lowercase hex characters');
    return v;
  }

  timestamp(v: unknown, path: string): string {
    if (timestampMs(v) === null)
      this.fail(path, 'must be an RFC 3339 UTC timestamp with milliseconds, e.g. 2026-01-02T03:04:05.678Z');
    return v as string;
  }

  base64(v: unknown, path: string, length: number): string {
    if (canonicalBase64(v, length) === null)
      this.fail(path, `must be canonical standard base64 of exactly ${length} bytes`);
    return v as string;
  }

  body(v: unknown, path: string): LicenseBody {
    const b = this.object(v, path, BODY_FIELDS);
    const at = (f: string): string => path + pointerSegment(f);
    if (b.v !== LICENSE_VERSION) this.fail(at('v'), `must be ${LICENSE_VERSION}`);
    const id = this.hexId(b.id, at('id'));
    const subjectProblem = checkSubject(b.subject);
    if (subjectProblem !== null) this.fail(at('subject'), subjectProblem);
    const subjectKey = this.base64(b.subject_key, at('subject_key'), PUBLIC_KEY_LENGTH);
    if (!isRole(b.role)) this.fail(at('role'), `must be one of ${ROLES.join(', ')}`);
    const role = b.role;
    const loa = b.loa;
    if (typeof loa !== 'number' || !Number.isInteger(loa) || loa < 0 || loa > ROLE_LOA.root)
      this.fail(at('loa'), `must be an integer from 0 to ${ROLE_LOA.root}`);
    if (loa > ROLE_LOA[role]) this.fail(at('loa'), `must be at most ${ROLE_LOA[role]} for role ${role}`);
    const issuedAt = this.timestamp(b.issued_at, at('issued_at'));
    const notBefore = this.timestamp(b.not_before, at('not_before'));
    const expiresAt = this.timestamp(b.expires_at, at('expires_at'));
    if (ms(notBefore) < ms(issuedAt)) this.fail(at('not_before'), 'must not be before issued_at');
    if (ms(expiresAt) <= ms(notBefore)) this.fail(at('expires_at'), 'must be after not_before');
    const issuer = this.hexId(b.issuer, at('issuer'));
    const audienceProblem = checkAudience(b.audience);
    if (audienceProblem !== null) this.fail(at('audience'), audienceProblem);
    const parent = b.parent === null ? null : this.hexId(b.parent, at('parent'));
    return {
      v: LICENSE_VERSION,
      id,
      subject: b.subject as string,
      subject_key: subjectKey,
      role,
      loa: loa === 0 ? 0 : loa, // no -0
      issued_at: issuedAt,
      not_before: notBefore,
      expires_at: expiresAt,
      issuer,
      audience: b.audience as string,
      parent,
    };
  }

  link(v: unknown, path: string): SignedLicense {
    const l = this.object(v, path, LINK_FIELDS);
    const body = this.body(l.body, path + '/body');
    const signature = this.base64(l.signature, path + '/signature', SIGNATURE_LENGTH);
    return { body, signature };
  }

  chain(v: unknown, path: string): LicenseChain {
    const links = this.array(v, path, 1, MAX_CHAIN_LENGTH);
    const out = links.map((l, i) => this.link(l, path + pointerSegment(i)));
    const size = utf8(canonicalize(out)).length;
    if (size > MAX_LICENSE_CHAIN_BYTES)
      this.fail(path, `is ${size} bytes; at most ${MAX_LICENSE_CHAIN_BYTES} are allowed`);
    return out;
  }
}

/** Parses JSON text (a string of at most `maxBytes` UTF-8 bytes) strictly; other values pass through. */
function parseJsonText(json: unknown, what: string, maxBytes: number): unknown {
  if (typeof json !== 'string') return json;
  const size = Buffer.byteLength(json, 'utf8');
  if (size > maxBytes) {
    throw new SigilError(
      'BAD_INPUT',
      `${what}: the JSON text is ${size} bytes; at most ${maxBytes} are allowed`,
      { path: '' },
    );
  }
  return parseStrictJson(json, what);
}

/** True for an array with more links than a chain may have (reported as 'too_long', not 'malformed'). */
function tooLong(chain: unknown): boolean {
  return Array.isArray(chain) && chain.length > MAX_CHAIN_LENGTH;
}

/**
 * Strictly parses a licence chain: JSON text (a string, at most 16 KiB of UTF-8) or an already parsed
 * value. Exactly the allowed fields, types, lengths and canonical encodings; returns a fresh validated
 * copy. Throws SigilError('BAD_INPUT', 'licence chain: /1/body/loa must be …', { path }) naming the field
 * by its JSON Pointer. It checks structure only, no signatures, keys or times: use verifyLicenseChain.
 */
export function parseLicenseChain(json: unknown): LicenseChain {
  const what = 'licence chain';
  return new Parser(what).chain(parseJsonText(json, what, MAX_LICENSE_CHAIN_BYTES), '');
}

// ---------------------------------------------------------------------------------------------------------
// Signing

function signingMessage(body: LicenseBody): Uint8Array {
  return utf8(LICENSE_SIGNING_PREFIX + canonicalize(body));
}

/** The exact bytes a licence signature covers: UTF-8 of "sigil-license/v1\n" + JCS(body). Validates body. */
export function licenseSigningMessage(body: LicenseBody): Uint8Array {
  return signingMessage(new Parser('licence body').body(body, ''));
}

function timestampText(t: Timestamp, field: string): string {
  if (t instanceof Date) {
    if (Number.isNaN(t.getTime())) throw new SigilError('BAD_INPUT', `${field} is an invalid Date`);
    return t.toISOString();
  }
  return t;
}

function subjectKeyBytes(k: Uint8Array | string): Uint8Array {
  if (k instanceof Uint8Array) return k;
  const bytes = canonicalBase64(k, PUBLIC_KEY_LENGTH);
  if (bytes === null)
    throw new SigilError('BAD_INPUT', 'subject_key must be 32 bytes or their canonical standard base64');
  return bytes;
}

function buildBody(fields: LicenseFields, issuer: string, parent: string | null): LicenseBody {
  const key = subjectKeyBytes(fields.subject_key);
  const problem = checkPublicKey(key);
  if (problem !== null) throw new SigilError('KEY_INVALID', `subject_key: ${problem}`);
  const issuedAt = timestampText(fields.issued_at, 'issued_at');
  const candidate = {
    v: LICENSE_VERSION,
    id: fields.id,
    subject: fields.subject,
    subject_key: toBase64(key),
    role: fields.role,
    loa: fields.loa ?? (isRole(fields.role) ? ROLE_LOA[fields.role] : undefined),
    issued_at: issuedAt,
    not_before: fields.not_before === undefined ? issuedAt : timestampText(fields.not_before, 'not_before'),
    expires_at: timestampText(fields.expires_at, 'expires_at'),
    issuer,
    audience: fields.audience,
    parent,
  };
  return new Parser('licence').body(candidate, '');
}

function signBody(body: LicenseBody, signer: LicenseSigner): SignedLicense {
  const message = signingMessage(body);
  const sig = signer.sign(message);
  if (!(sig instanceof Uint8Array) || sig.length !== SIGNATURE_LENGTH)
    throw new SigilError('KEY_INVALID', 'the signer must return a 64-byte signature');
  if (signer.publicKey !== undefined) {
    if (keyId(signer.publicKey) !== signer.keyId)
      throw new SigilError('KEY_INVALID', 'signer.keyId does not match signer.publicKey');
    if (!ed25519Verify(signer.publicKey, message, sig))
      throw new SigilError('KEY_INVALID', 'the signer produced a signature that does not verify');
  }
  return { body, signature: toBase64(sig) };
}

/**
 * Issues a root licence (parent null, issuer = signer.keyId) and signs it. Only one signed by the
 * store's root key will verify. Throws BAD_INPUT for invalid fields and KEY_INVALID for a refused
 * subject key (e.g. a small-order point) or a signer that does not match its keyId.
 */
export function issueLicense(fields: LicenseFields, signer: LicenseSigner): SignedLicense {
  if (typeof signer.keyId !== 'string' || !HEX_ID.test(signer.keyId))
    throw new SigilError('KEY_INVALID', 'signer.keyId must be 32 lowercase hex characters');
  return signBody(buildBody(fields, signer.keyId, null), signer);
}

/**
 * Delegates from the leaf of `parentChain` (which the holder holds) and returns the extended chain.
 * Refuses (ACCESS_DENIED) when the chain already has 4 links, the holder's effective LOA is below
 * mentor (3), or the child asks for more than the holder has: a higher loa or role, a later expires_at,
 * an earlier not_before, another audience, or an id already on the chain. KEY_INVALID when
 * holderSigner is not the leaf's subject key. It does not check the parent chain's signatures.
 */
export function delegateLicense(
  parentChain: LicenseChain,
  fields: DelegationFields,
  holderSigner: LicenseSigner,
): LicenseChain {
  const chain = parseLicenseChain(parentChain);
  const parent = (chain[chain.length - 1] as SignedLicense).body;
  const deny = (message: string, field?: string): never => {
    throw new SigilError(
      'ACCESS_DENIED',
      `cannot delegate: ${message}`,
      field === undefined ? undefined : { field },
    );
  };
  if (chain.length >= MAX_CHAIN_LENGTH)
    deny(`the chain already has ${chain.length} links, the most allowed is ${MAX_CHAIN_LENGTH}`);
  const holderLoa = Math.min(...chain.map((l) => l.body.loa));
  if (holderLoa < MIN_DELEGATOR_LOA)
    deny(
      `the holder's effective loa is ${holderLoa}; delegating needs at least ${MIN_DELEGATOR_LOA} (mentor)`,
    );
  const holderKeyId = keyId(subjectKeyBytes(parent.subject_key));
  if (holderSigner.keyId !== holderKeyId) {
    throw new SigilError(
      'KEY_INVALID',
      `the delegating signer (key ${String(holderSigner.keyId)}) is not the holder of licence ${parent.id} (key ${holderKeyId})`,
    );
  }
  if (fields.audience !== undefined && fields.audience !== parent.audience)
    deny(`audience must be the parent's (${parent.audience})`, 'audience');
  const body = buildBody({ ...fields, audience: parent.audience }, holderKeyId, parent.id);
  if (body.loa > holderLoa) deny(`loa ${body.loa} exceeds the holder's ${holderLoa}`, 'loa');
  if (ROLE_LOA[body.role] > ROLE_LOA[parent.role])
    deny(`role ${body.role} is above the holder's role ${parent.role}`, 'role');
  if (ms(body.expires_at) > ms(parent.expires_at))
    deny(`expires_at ${body.expires_at} is after the holder's ${parent.expires_at}`, 'expires_at');
  if (ms(body.not_before) < ms(parent.not_before))
    deny(`not_before ${body.not_before} is before the holder's ${parent.not_before}`, 'not_before');
  if (chain.some((l) => l.body.id === body.id)) deny(`id ${body.id} is already on the chain`, 'id');
  return [...chain, signBody(body, holderSigner)];
}

// ---------------------------------------------------------------------------------------------------------
// Verification

function linkIndexOf(path: unknown, prefix: string): number {
  if (typeof path !== 'string' || !path.startsWith(prefix)) return -1;
  const m = /^\/(\d+)(?:\/|$)/.exec(path.slice(prefix.length));
  return m === null ? -1 : Number(m[1]);
}

function licenseFail(code: LicenseFailureCode, at: number, reason: string): LicenseFailure {
  return { ok: false, code, reason: at >= 0 ? `licence chain link ${at}: ${reason}` : reason, at };
}

function checkRootKey(rootKey: Uint8Array): string {
  const problem = checkPublicKey(rootKey);
  if (problem !== null) throw new SigilError('KEY_INVALID', `pinned root key: ${problem}`);
  return keyId(rootKey);
}

/** Verifies a parsed chain; `opts` already checked. */
function verifyParsed(
  chain: LicenseChain,
  rootKey: Uint8Array,
  rootKeyId: string,
  audience: string,
  nowMs: number,
  isRevoked: (id: string) => boolean,
): LicenseVerification {
  let issuerKey = rootKey;
  let issuerKeyId = rootKeyId;
  let prev: LicenseBody | null = null;
  let loa = ROLE_LOA.root;
  const ids: string[] = [];
  let subjectKey = rootKey;
  for (let i = 0; i < chain.length; i++) {
    const link = chain[i] as SignedLicense;
    const b = link.body;
    if (b.issuer !== issuerKeyId) {
      return licenseFail(
        'untrusted_issuer',
        i,
        prev === null
          ? `issuer ${b.issuer} is not the pinned root key ${rootKeyId}`
          : `issuer ${b.issuer} is not the subject key of link ${i - 1} (${issuerKeyId})`,
      );
    }
    if (prev === null ? b.parent !== null : b.parent !== prev.id) {
      return licenseFail(
        'broken_link',
        i,
        prev === null
          ? 'the root-issued licence must have parent null'
          : `parent ${String(b.parent)} is not the id of link ${i - 1} (${prev.id})`,
      );
    }
    if (ids.includes(b.id)) return licenseFail('broken_link', i, `id ${b.id} repeats an earlier link`);
    const sig = canonicalBase64(link.signature, SIGNATURE_LENGTH);
    // The key is the pinned root key (link 0) or the previous link's verified subject key, never b.issuer.
    if (sig === null || !ed25519Verify(issuerKey, signingMessage(b), sig))
      return licenseFail('bad_signature', i, `signature does not verify under key ${issuerKeyId}`);
    subjectKey = canonicalBase64(b.subject_key, PUBLIC_KEY_LENGTH) as Uint8Array;
    const keyProblem = checkPublicKey(subjectKey);
    if (keyProblem !== null) return licenseFail('bad_key', i, `subject_key is refused: ${keyProblem}`);
    if (b.audience !== audience)
      return licenseFail('wrong_audience', i, `audience ${b.audience} is not this store (${audience})`);
    if (nowMs < ms(b.not_before)) return licenseFail('not_yet_valid', i, `not valid before ${b.not_before}`);
    if (nowMs >= ms(b.expires_at)) return licenseFail('expired', i, `expired at ${b.expires_at}`);
    if (prev !== null) {
      if (loa < MIN_DELEGATOR_LOA)
        return licenseFail(
          'over_delegated',
          i,
          `delegated by a holder with effective loa ${loa}; at least ${MIN_DELEGATOR_LOA} (mentor) is needed`,
        );
      if (b.loa > prev.loa)
        return licenseFail('over_delegated', i, `loa ${b.loa} exceeds the parent's ${prev.loa}`);
      if (ROLE_LOA[b.role] > ROLE_LOA[prev.role])
        return licenseFail('over_delegated', i, `role ${b.role} is above the parent's role ${prev.role}`);
      if (ms(b.expires_at) > ms(prev.expires_at))
        return licenseFail('over_delegated', i, `expires_at is after the parent's (${prev.expires_at})`);
      if (ms(b.not_before) < ms(prev.not_before))
        return licenseFail('over_delegated', i, `not_before is before the parent's (${prev.not_before})`);
    }
    if (isRevoked(b.id)) return licenseFail('revoked', i, `licence ${b.id} is revoked`);
    loa = Math.min(loa, b.loa);
    ids.push(b.id);
    issuerKey = subjectKey;
    issuerKeyId = keyId(subjectKey);
    prev = b;
  }
  const leaf = chain[chain.length - 1] as SignedLicense;
  return {
    ok: true,
    chain,
    leaf,
    licenseId: leaf.body.id,
    subject: leaf.body.subject,
    subjectKey,
    subjectKeyId: issuerKeyId,
    role: leaf.body.role,
    loa,
    expiresAt: leaf.body.expires_at,
    notBefore: leaf.body.not_before,
    ids,
  };
}

/**
 * Verifies a licence chain (any value: it is strictly parsed first) against the pinned root key, this
 * store's audience, the time `now` and the revocation list. Returns the effective identity or the first
 * failure with its code, a reason in words and the link index. Throws only for bad options
 * (KEY_INVALID for an unusable root key, INTERNAL for an invalid `now`) or if isRevoked throws.
 */
export function verifyLicenseChain(chain: unknown, opts: LicenseVerifyOptions): LicenseVerification {
  const rootKeyId = checkRootKey(opts.rootKey);
  const nowMs = dateMs(opts.now, 'now');
  if (tooLong(chain)) {
    return licenseFail('too_long', MAX_CHAIN_LENGTH, `the chain has more than ${MAX_CHAIN_LENGTH} links`);
  }
  let parsed: LicenseChain;
  try {
    parsed = parseLicenseChain(chain);
  } catch (e) {
    if (e instanceof SigilError && (e.code === 'BAD_INPUT' || e.code === 'JCS_INVALID'))
      return { ok: false, code: 'malformed', reason: e.message, at: linkIndexOf(e.details?.path, '') };
    throw e;
  }
  return verifyParsed(parsed, opts.rootKey, rootKeyId, opts.audience, nowMs, opts.isRevoked);
}

// ---------------------------------------------------------------------------------------------------------
// Requests

export interface RequestSigningFields {
  readonly method: string;
  /** sha256Hex(JCS(params)); see requestParamsHash. */
  readonly paramsHash: string;
  /** Lowercase hex of 16..64 random bytes. */
  readonly nonce: string;
  /** RFC 3339 UTC with milliseconds. */
  readonly ts: string;
  readonly audience: string;
}

export interface RequestAuth {
  readonly chain: LicenseChain;
  readonly nonce: string;
  readonly ts: string;
  /** Standard base64 of the leaf subject key's signature over requestSigningMessage. */
  readonly sig: string;
}

/** An identity: a licence chain plus the private seed (or a signer) of its leaf's subject key. */
export type Identity =
  | { readonly chain: LicenseChain; readonly seed: Uint8Array }
  | {
      readonly chain: LicenseChain;
      readonly signer: { readonly publicKey: Uint8Array; sign(message: Uint8Array): Uint8Array };
    };

function checkMethod(method: unknown): string | null {
  if (typeof method !== 'string' || method.length === 0 || method.length > MAX_METHOD_LENGTH)
    return `method must be a string of 1 to ${MAX_METHOD_LENGTH} characters`;
  if (!METHOD.test(method)) return 'method must be printable ASCII without spaces';
  return null;
}

function checkNonce(nonce: unknown): string | null {
  if (
    typeof nonce !== 'string' ||
    !NONCE.test(nonce) ||
    nonce.length < 2 * MIN_NONCE_BYTES ||
    nonce.length > 2 * MAX_NONCE_BYTES
  )
    return `nonce must be lowercase hex of ${MIN_NONCE_BYTES} to ${MAX_NONCE_BYTES} bytes`;
  return null;
}

/** sha256Hex(JCS(params)); absent params (undefined) count as null. Throws JCS_INVALID for non-JSON. */
export function requestParamsHash(params: unknown): string {
  return sha256Hex(canonicalize(params === undefined ? null : params));
}

/**
 * The exact bytes a request signature covers: UTF-8 of
 * "sigil-request/v1\n" + method + "\n" + paramsHash + "\n" + nonce + "\n" + ts + "\n" + audience.
 * Every field is validated (none can hold a newline), so the message is unambiguous. Throws BAD_INPUT.
 */
export function requestSigningMessage(f: RequestSigningFields): Uint8Array {
  const problem =
    checkMethod(f.method) ??
    (typeof f.paramsHash === 'string' && PARAMS_HASH.test(f.paramsHash)
      ? null
      : 'paramsHash must be 64 lowercase hex characters') ??
    checkNonce(f.nonce) ??
    (timestampMs(f.ts) === null ? 'ts must be an RFC 3339 UTC timestamp with milliseconds' : null) ??
    ((p) => (p === null ? null : `audience ${p}`))(checkAudience(f.audience));
  if (problem !== null) throw new SigilError('BAD_INPUT', `request: ${problem}`);
  return utf8(`${REQUEST_SIGNING_PREFIX}${f.method}\n${f.paramsHash}\n${f.nonce}\n${f.ts}\n${f.audience}`);
}

/**
 * Signs a request as `identity` at `now` with a caller-supplied nonce (16..64 random bytes, raw or as
 * lowercase hex). The audience signed is the leaf licence's. Throws BAD_INPUT for a malformed chain,
 * nonce or method, JCS_INVALID for non-JSON params, KEY_INVALID if the key is not the leaf's subject key.
 */
export function signRequest(
  method: string,
  params: unknown,
  identity: Identity,
  opts: { readonly now: Date; readonly nonce: Uint8Array | string },
): RequestAuth {
  const chain = parseLicenseChain(identity.chain);
  const leaf = (chain[chain.length - 1] as SignedLicense).body;
  const nonce = opts.nonce instanceof Uint8Array ? toHex(opts.nonce) : opts.nonce;
  const nonceProblem = checkNonce(nonce);
  if (nonceProblem !== null) throw new SigilError('BAD_INPUT', `request: ${nonceProblem}`);
  const ts = new Date(dateMs(opts.now, 'now')).toISOString();
  const message = requestSigningMessage({
    method,
    paramsHash: requestParamsHash(params),
    nonce,
    ts,
    audience: leaf.audience,
  });
  const leafKey = canonicalBase64(leaf.subject_key, PUBLIC_KEY_LENGTH) as Uint8Array;
  let publicKey: Uint8Array;
  let sig: Uint8Array;
  if ('seed' in identity) {
    publicKey = publicKeyFromSeed(identity.seed);
    if (!bytesEqual(publicKey, leafKey))
      throw new SigilError('KEY_INVALID', `the identity's key is not the subject key of licence ${leaf.id}`);
    sig = ed25519Sign(identity.seed, message);
  } else {
    publicKey = identity.signer.publicKey;
    if (!(publicKey instanceof Uint8Array) || !bytesEqual(publicKey, leafKey))
      throw new SigilError('KEY_INVALID', `the identity's key is not the subject key of licence ${leaf.id}`);
    sig = identity.signer.sign(message);
  }
  return { chain, nonce, ts, sig: toBase64(sig) };
}

/**
 * Strictly parses a RequestAuth {chain, nonce, ts, sig} (JSON text or a parsed value). Throws
 * SigilError('BAD_INPUT', 'request auth: /chain/0/body/id …', { path }).
 */
export function parseRequestAuth(json: unknown): RequestAuth {
  const what = 'request auth';
  const p = new Parser(what);
  // The chain's own limit plus room for the nonce, ts and sig.
  const a = p.object(parseJsonText(json, what, MAX_LICENSE_CHAIN_BYTES + 1024), '', AUTH_FIELDS);
  const chain = p.chain(a.chain, '/chain');
  const nonceProblem = checkNonce(a.nonce);
  if (nonceProblem !== null) p.fail('/nonce', nonceProblem.replace(/^nonce /, ''));
  const ts = p.timestamp(a.ts, '/ts');
  const sig = p.base64(a.sig, '/sig', SIGNATURE_LENGTH);
  return { chain, nonce: a.nonce as string, ts, sig };
}

/** Replay protection: records a nonce and says whether the request must be refused as a replay. */
export interface NonceStore {
  /**
   * True (refuse) if `key` was seen before or the store cannot vouch for it; false after recording it.
   * `ts` is the request timestamp and `now` the verifier's clock, both in epoch milliseconds.
   */
  seen(key: string, ts: number, now: number): boolean;
}

/**
 * In-memory NonceStore with bounded memory. A nonce is remembered until `now` passes its request
 * timestamp + ttlMs (default 10 minutes: twice the ±5-minute window, so it outlives every moment its
 * request could still be accepted). When full it forgets the oldest entry and from then on refuses every
 * timestamp at or before the forgotten one's (the floor), so forgetting never re-opens a replay. It also
 * refuses timestamps more than ttlMs from `now`, which it could not remember long enough.
 */
export class NonceCache implements NonceStore {
  readonly maxEntries: number;
  readonly ttlMs: number;
  readonly #entries = new Map<string, number>();
  #floor = -Infinity;

  constructor(opts: { readonly maxEntries?: number; readonly ttlMs?: number } = {}) {
    const max = opts.maxEntries ?? 100_000;
    const ttl = opts.ttlMs ?? NONCE_TTL_MS;
    if (!Number.isSafeInteger(max) || max < 1)
      throw new SigilError('BAD_USAGE', 'maxEntries must be a positive integer');
    if (!Number.isFinite(ttl) || ttl <= 0) throw new SigilError('BAD_USAGE', 'ttlMs must be positive');
    this.maxEntries = max;
    this.ttlMs = ttl;
  }

  get size(): number {
    return this.#entries.size;
  }

  seen(key: string, ts: number, now: number): boolean {
    if (!Number.isFinite(ts) || !Number.isFinite(now)) return true;
    // Drop expired entries from the front (insertion order is close to timestamp order).
    for (const [k, t] of this.#entries) {
      if (now - t <= this.ttlMs) break;
      this.#entries.delete(k);
    }
    if (ts <= this.#floor || Math.abs(now - ts) > this.ttlMs) return true;
    if (this.#entries.has(key)) return true;
    if (this.#entries.size >= this.maxEntries) {
      const oldest = this.#entries.entries().next();
      if (!oldest.done) {
        const [k, t] = oldest.value;
        this.#entries.delete(k);
        this.#floor = Math.max(this.#floor, t);
        if (ts <= this.#floor) return true;
      }
    }
    this.#entries.set(key, ts);
    return false;
  }
}

export interface VerifiedCaller {
  readonly subject: string;
  readonly role: Role;
  /** Effective LOA (minimum over the chain): authorise on this. */
  readonly loa: number;
  /** The leaf licence's id. */
  readonly licenseId: string;
  readonly keyId: string;
  readonly subjectKey: Uint8Array;
  /** Ids of the chain, root-issued first. */
  readonly chainIds: readonly string[];
  readonly expiresAt: string;
}

export type RequestFailureCode =
  | LicenseFailureCode
  /** The timestamp is more than 5 minutes before or after the verifier's clock. */
  | 'stale'
  /** The nonce was already used by this key (or cannot be vouched for, see NonceCache). */
  | 'replayed'
  /** sig is not the leaf subject key's signature over this method, params, nonce, ts and audience. */
  | 'bad_request_signature';

export interface RequestFailure {
  readonly ok: false;
  readonly code: RequestFailureCode;
  readonly reason: string;
  /** For licence failures the link index, else -1. */
  readonly at: number;
}

export type RequestVerification = { readonly ok: true; readonly caller: VerifiedCaller } | RequestFailure;

export interface RequestVerifyOptions extends LicenseVerifyOptions {
  readonly nonces: NonceStore;
  /**
   * Chains verified before under the same root key and audience. A hit skips the chain's parsing and its
   * signature checks, never the time window, the revocation list or the request signature.
   */
  readonly cache?: VerifiedChainCache;
}

/**
 * Remembers verified chains by their exact JSON text (a chain that differs in any byte misses). One cache
 * belongs to one verifier (one root key and audience). Bounded: the oldest entry goes first.
 */
export class VerifiedChainCache {
  readonly #entries = new Map<string, VerifiedLicense>();
  constructor(readonly maxEntries = 256) {}

  static keyOf(chain: unknown): string | undefined {
    try {
      const text = JSON.stringify(chain);
      return typeof text === 'string' && text.length <= MAX_LICENSE_CHAIN_BYTES ? text : undefined;
    } catch {
      return undefined;
    }
  }

  get(key: string): VerifiedLicense | undefined {
    return this.#entries.get(key);
  }

  set(key: string, v: VerifiedLicense): void {
    if (this.#entries.size >= this.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, v);
  }
}

/** The cached chain, if it is still within its validity window and nothing on it is revoked. */
function cachedChain(
  cache: VerifiedChainCache | undefined,
  key: string | undefined,
  nowMs: number,
  isRevoked: (id: string) => boolean,
): VerifiedLicense | undefined {
  if (cache === undefined || key === undefined) return undefined;
  const hit = cache.get(key);
  if (hit === undefined || nowMs < ms(hit.notBefore) || nowMs >= ms(hit.expiresAt)) return undefined;
  for (const id of hit.ids) if (isRevoked(id)) return undefined;
  return hit;
}

/** The nonce, ts and sig of an auth value whose chain came from the cache; null if any is malformed. */
function authEnvelope(auth: unknown): { nonce: string; ts: string; sig: string } | null {
  if (typeof auth !== 'object' || auth === null || Array.isArray(auth)) return null;
  const a = auth as Record<string, unknown>;
  const keys = Object.keys(a);
  if (keys.length !== AUTH_FIELDS.length || !AUTH_FIELDS.every((f) => Object.hasOwn(a, f))) return null;
  if (checkNonce(a.nonce) !== null || timestampMs(a.ts) === null) return null;
  if (canonicalBase64(a.sig, SIGNATURE_LENGTH) === null) return null;
  return { nonce: a.nonce as string, ts: a.ts as string, sig: a.sig as string };
}

function requestFail(code: RequestFailureCode, reason: string, at = -1): RequestFailure {
  return { ok: false, code, reason, at };
}

/**
 * Verifies an authenticated request: `auth` (any value, strictly parsed) must carry a valid chain for
 * this store at `now`, a timestamp within ±5 minutes (inclusive) of `now`, and a signature by the leaf's
 * subject key over this method, the hash of these params, its nonce and timestamp and this store's
 * audience. The nonce is recorded (as `<subject key id>:<nonce>`) only once everything else passed, so
 * a replay is refused. Throws only for bad options (see verifyLicenseChain) or if a callback throws.
 */
export function verifyRequest(
  method: string,
  params: unknown,
  auth: unknown,
  opts: RequestVerifyOptions,
): RequestVerification {
  const rootKeyId = checkRootKey(opts.rootKey);
  const nowMs = dateMs(opts.now, 'now');
  const audienceProblem = checkAudience(opts.audience);
  if (audienceProblem !== null) throw new SigilError('BAD_USAGE', `audience ${audienceProblem}`);
  if (typeof auth === 'object' && auth !== null && tooLong((auth as { chain?: unknown }).chain))
    return requestFail('too_long', `licence chain has more than ${MAX_CHAIN_LENGTH} links`, MAX_CHAIN_LENGTH);
  const cacheKey =
    opts.cache !== undefined && typeof auth === 'object' && auth !== null
      ? VerifiedChainCache.keyOf((auth as { chain?: unknown }).chain)
      : undefined;
  const cached = cachedChain(opts.cache, cacheKey, nowMs, opts.isRevoked);
  const envelope = cached !== undefined ? authEnvelope(auth) : null;
  let a: { readonly chain?: LicenseChain; readonly nonce: string; readonly ts: string; readonly sig: string };
  if (cached !== undefined && envelope !== null) {
    a = envelope;
  } else {
    try {
      a = parseRequestAuth(auth);
    } catch (e) {
      if (e instanceof SigilError && (e.code === 'BAD_INPUT' || e.code === 'JCS_INVALID'))
        return requestFail('malformed', e.message, linkIndexOf(e.details?.path, '/chain'));
      throw e;
    }
  }
  const tsMs = ms(a.ts);
  if (Math.abs(nowMs - tsMs) > REQUEST_MAX_SKEW_MS) {
    return requestFail(
      'stale',
      `request timestamp ${a.ts} is ${tsMs < nowMs ? 'older' : 'newer'} than the ±${REQUEST_MAX_SKEW_MS / 60000}-minute window around ${new Date(nowMs).toISOString()}`,
    );
  }
  const methodProblem = checkMethod(method);
  if (methodProblem !== null) return requestFail('malformed', methodProblem);
  let paramsHash: string;
  try {
    paramsHash = requestParamsHash(params);
  } catch (e) {
    if (e instanceof SigilError) return requestFail('malformed', `params: ${e.message}`);
    throw e;
  }
  let license: LicenseVerification;
  if (cached !== undefined && envelope !== null) {
    license = cached;
  } else {
    license = verifyParsed(
      a.chain as LicenseChain,
      opts.rootKey,
      rootKeyId,
      opts.audience,
      nowMs,
      opts.isRevoked,
    );
    if (license.ok && cacheKey !== undefined) opts.cache?.set(cacheKey, license);
  }
  if (!license.ok) return license;
  const message = requestSigningMessage({
    method,
    paramsHash,
    nonce: a.nonce,
    ts: a.ts,
    audience: opts.audience,
  });
  const sig = canonicalBase64(a.sig, SIGNATURE_LENGTH);
  if (sig === null || !ed25519Verify(license.subjectKey, message, sig)) {
    return requestFail(
      'bad_request_signature',
      `request signature does not verify under the subject key ${license.subjectKeyId} of licence ${license.licenseId} for this method, params and audience`,
    );
  }
  if (opts.nonces.seen(`${license.subjectKeyId}:${a.nonce}`, tsMs, nowMs))
    return requestFail('replayed', `nonce ${a.nonce} was already used (or is outside the replay window)`);
  return {
    ok: true,
    caller: {
      subject: license.subject,
      role: license.role,
      loa: license.loa,
      licenseId: license.licenseId,
      keyId: license.subjectKeyId,
      subjectKey: license.subjectKey,
      chainIds: license.ids,
      expiresAt: license.expiresAt,
    },
  };
}

/**
 * verifyRequest, throwing on failure: SigilError('BAD_INPUT') for 'malformed', else
 * SigilError('ACCESS_DENIED'); details = { code, at }. Returns the verified caller.
 */
export function verifyRequestOrThrow(
  method: string,
  params: unknown,
  auth: unknown,
  opts: RequestVerifyOptions,
): VerifiedCaller {
  const r = verifyRequest(method, params, auth, opts);
  if (r.ok) return r.caller;
  throw new SigilError(r.code === 'malformed' ? 'BAD_INPUT' : 'ACCESS_DENIED', r.reason, {
    code: r.code,
    at: r.at,
  });
}
