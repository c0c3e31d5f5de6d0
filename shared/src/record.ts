/**
 * CanonicalRecord: the one shape every persistent write takes.
 * id = SHA-256(JCS(body)); the signature covers a domain-separated message naming the id, so a record
 * signature can never be confused with a signature over some other Sigil object that happens to hash alike.
 */
import { canonicalBytes, assertJsonValue, type JsonValue } from './jcs.js';
import { sha256Hex } from './hash.js';
import { verify as ed25519Verify } from './ed25519.js';
import { fromBase64, toBase64, utf8 } from './bytes.js';
import { SigilError } from './errors.js';

export const SPACES = ['data', 'system'] as const;
export type Space = (typeof SPACES)[number];
export const SCHEMA_VERSION = 1;
export const MAX_PAYLOAD_BYTES = 1024 * 1024;
export const KIND_PATTERN = /^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*$/;
export const MAX_KIND_LENGTH = 64;
export const ID_PATTERN = /^[0-9a-f]{64}$/;

export interface RecordLink {
  readonly rel: string;
  readonly id?: string;
  readonly hash?: string;
  readonly note?: string;
}

export interface RecordBody {
  readonly kind: string;
  readonly space: Space;
  readonly schema_version: number;
  readonly seq: number;
  readonly ts: string;
  readonly actor: string;
  readonly links: readonly RecordLink[];
  readonly prev: string | null;
  readonly payload: JsonValue;
}

export interface RecordSignature {
  readonly alg: 'ed25519';
  readonly key_id: string;
  readonly sig: string;
}

export interface CanonicalRecord {
  readonly id: string;
  readonly body: RecordBody;
  readonly signature: RecordSignature;
}

export interface RecordSigner {
  readonly keyId: string;
  sign(message: Uint8Array): Uint8Array;
}

const SIGNING_PREFIX = 'sigil-record/v1\n';

/** The exact bytes a record signature covers. */
export function recordSigningMessage(id: string): Uint8Array {
  return utf8(SIGNING_PREFIX + id);
}

export function isSpace(s: unknown): s is Space {
  return s === 'data' || s === 'system';
}

export function checkKind(kind: unknown): string | null {
  if (typeof kind !== 'string') return 'kind must be a string';
  if (kind.length === 0 || kind.length > MAX_KIND_LENGTH)
    return `kind must be 1 to ${MAX_KIND_LENGTH} characters`;
  if (!KIND_PATTERN.test(kind)) {
    return `kind ${JSON.stringify(kind)} must be lowercase dotted words (letters, digits, '_' or '-'), e.g. "note.created"`;
  }
  return null;
}

const ISO_TS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const LINK_KEYS = new Set(['rel', 'id', 'hash', 'note']);

/** Structural validation of a body; returns the first problem in words, or null. */
export function checkBody(body: unknown): string | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'body must be an object';
  const b = body as Record<string, unknown>;
  const expected = ['actor', 'kind', 'links', 'payload', 'prev', 'schema_version', 'seq', 'space', 'ts'];
  for (const k of Object.keys(b))
    if (!expected.includes(k)) return `body has unexpected field ${JSON.stringify(k)}`;
  for (const k of expected) if (!(k in b)) return `body is missing field ${JSON.stringify(k)}`;
  const kindProblem = checkKind(b.kind);
  if (kindProblem) return kindProblem;
  if (!isSpace(b.space)) return `space must be "data" or "system", got ${JSON.stringify(b.space)}`;
  if (b.schema_version !== SCHEMA_VERSION) return `schema_version must be ${SCHEMA_VERSION}`;
  if (typeof b.seq !== 'number' || !Number.isSafeInteger(b.seq) || b.seq < 0)
    return 'seq must be a non-negative integer';
  if (typeof b.ts !== 'string' || !ISO_TS.test(b.ts) || Number.isNaN(Date.parse(b.ts))) {
    return 'ts must be an RFC 3339 UTC timestamp with milliseconds, e.g. 2026-01-02T03:04:05.678Z';
  }
  if (typeof b.actor !== 'string' || b.actor.length === 0 || b.actor.length > 256)
    return 'actor must be 1 to 256 characters';
  if (b.prev !== null && (typeof b.prev !== 'string' || !ID_PATTERN.test(b.prev))) {
    return 'prev must be null or a 64-character lowercase hex record id';
  }
  if (!Array.isArray(b.links) || b.links.length > 64) return 'links must be an array of at most 64 links';
  for (const [i, l] of b.links.entries()) {
    if (typeof l !== 'object' || l === null || Array.isArray(l)) return `links[${i}] must be an object`;
    const link = l as Record<string, unknown>;
    for (const k of Object.keys(link))
      if (!LINK_KEYS.has(k)) return `links[${i}] has unexpected field ${JSON.stringify(k)}`;
    if (typeof link.rel !== 'string' || link.rel.length === 0)
      return `links[${i}].rel must be a non-empty string`;
    for (const k of ['id', 'hash', 'note'] as const) {
      if (k in link && (typeof link[k] !== 'string' || (link[k] as string).length > 1024)) {
        return `links[${i}].${k} must be a string of at most 1024 characters`;
      }
    }
  }
  return null;
}

export function assertBody(body: unknown): asserts body is RecordBody {
  const problem = checkBody(body);
  if (problem) throw new SigilError('BAD_INPUT', `invalid record body: ${problem}`);
  assertJsonValue((body as RecordBody).payload);
}

/** Canonical bytes and id of a body, validated. */
export function canonicalBody(body: RecordBody): { bytes: Uint8Array; id: string } {
  assertBody(body);
  const bytes = canonicalBytes(body);
  return { bytes, id: sha256Hex(bytes) };
}

export function sealRecord(
  body: RecordBody,
  signer: RecordSigner,
): { record: CanonicalRecord; bodyBytes: Uint8Array } {
  const { bytes, id } = canonicalBody(body);
  const sig = signer.sign(recordSigningMessage(id));
  return {
    record: { id, body, signature: { alg: 'ed25519', key_id: signer.keyId, sig: toBase64(sig) } },
    bodyBytes: bytes,
  };
}

/** Why a record does not verify, or null when it does. `publicKeyFor` resolves a key id to a trusted key. */
export function checkRecord(
  record: CanonicalRecord,
  publicKeyFor: (keyId: string) => Uint8Array | undefined,
): string | null {
  const bodyProblem = checkBody(record.body);
  if (bodyProblem) return bodyProblem;
  let id: string;
  try {
    id = sha256Hex(canonicalBytes(record.body));
  } catch (e) {
    return `body cannot be canonicalized: ${(e as Error).message}`;
  }
  if (id !== record.id) return `id does not match SHA-256 of the canonical body (computed ${id})`;
  const s = record.signature;
  if (typeof s !== 'object' || s === null || s.alg !== 'ed25519')
    return 'signature algorithm must be ed25519';
  const key = publicKeyFor(s.key_id);
  if (!key) return `signed by unknown key ${JSON.stringify(s.key_id)}`;
  let sig: Uint8Array;
  try {
    sig = fromBase64(s.sig);
  } catch {
    return 'signature is not valid base64';
  }
  if (!ed25519Verify(key, recordSigningMessage(record.id), sig)) return 'signature does not verify';
  return null;
}
