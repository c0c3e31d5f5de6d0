/**
 * Witness registry and k-of-n quorum over system proposals (foundation for "Witnesses and k-of-n quorum").
 * Pure: no I/O; the time, the system head and the set of committed proposal ids are passed in.
 *
 * - The registry lists witnesses {id, name, keys, status, rotations} and the threshold k. The genesis set and
 *   k are chosen at init (`genesisRegistry`); afterwards every change is a system proposal applied with
 *   `applyRegistryChange`.
 * - A proposal body is a strict JSON object {v, kind, change, prev, created_at, expires_at, proposer};
 *   its id is hex(SHA-256(JCS(body))). Witnesses sign the UTF-8 bytes of "sigil-proposal/v1\n" + id, never
 *   the bare id or hash, so a vote can never be replayed as a record, licence or request signature.
 * - `evaluateQuorum` counts one vote per registered, active witness whose signature verifies under its
 *   CURRENT key over this proposal's id. Keys are handled as in TUF: a rotation removes the old key from
 *   the witness's role, so a signature by a superseded key no longer counts (not even on a proposal that was
 *   pending when the key was rotated), exactly like a revoked witness's signatures. A witness that signs
 *   with several keys, or several times, still has one vote. The proposal must not be expired
 *   (now < expires_at), not already committed, and its prev must still be the system head (else: stale,
 *   re-propose).
 * - Rotation follows TUF: a change of the witness set, of a witness's key or of k must reach the threshold
 *   of the old registry AND the threshold of the new one (`evaluateRotation`, `evaluateCommit`).
 *
 * Invariants of a valid registry (checked by `parseWitnessRegistry` on every evaluation): unique witness
 * ids and names, every key a valid Ed25519 public key (assertValidPublicKey: canonical, on the curve, not
 * small-order) whose keyId matches it, no key held by two witnesses or twice (so one key can never be two
 * votes), exactly one current key (without `until`, the last) per active witness, and
 * 1 ≤ k ≤ number of active witnesses.
 */
import { canonicalize, assertJsonValue, type JsonValue } from './jcs.js';
import { sha256Hex } from './hash.js';
import {
  PUBLIC_KEY_LENGTH,
  SIGNATURE_LENGTH,
  assertValidPublicKey,
  keyId as keyIdOf,
  verify as ed25519Verify,
} from './ed25519.js';
import { fromBase64, toBase64, utf8 } from './bytes.js';
import { SigilError } from './errors.js';
import { isValidKeyName } from './note.js';

// ---------------------------------------------------------------------------------------------------------
// Constants and types

export const PROPOSAL_VERSION = 1;
/** Domain separation of witness votes: the signed bytes are UTF-8 of this prefix + the proposal id. */
export const PROPOSAL_SIGNING_PREFIX = 'sigil-proposal/v1\n';
/** Kinds that change the witness registry or k (they need the old and the new threshold). */
export const REGISTRY_CHANGE_KINDS = [
  'witness.add',
  'witness.rotate',
  'witness.revoke',
  'quorum.set_threshold',
] as const;
export const PROPOSAL_KINDS = [...REGISTRY_CHANGE_KINDS, 'policy.update', 'trust.update_params'] as const;
export type RegistryChangeKind = (typeof REGISTRY_CHANGE_KINDS)[number];
export type ProposalKind = (typeof PROPOSAL_KINDS)[number];

/** Largest proposal body accepted, in canonical form (UTF-8 bytes). */
export const MAX_PROPOSAL_BYTES = 64 * 1024;
export const MAX_WITNESSES = 256;
/** Most signatures one evaluation looks at (more is refused as BAD_INPUT). */
export const MAX_PROPOSAL_SIGNATURES = 1024;
export const MAX_PROPOSER_LENGTH = 256;
export const MAX_WITNESS_NAME_LENGTH = 256;

export type WitnessStatus = 'active' | 'revoked';

export interface WitnessKey {
  /** Standard padded base64 of the 32-byte Ed25519 public key. */
  readonly publicKey: string;
  /** First 16 bytes of SHA-256(public key), lowercase hex (as everywhere in Sigil). */
  readonly keyId: string;
  /** RFC 3339 UTC with milliseconds: when the key became the witness's key. */
  readonly from: string;
  /** When it was superseded by a rotation; absent for the current key. */
  readonly until?: string;
}

export interface WitnessRotation {
  readonly at: string;
  /** Id of the witness.rotate proposal (or "" for a rotation not made by a proposal). */
  readonly proposalId: string;
  readonly fromKeyId: string;
  readonly toKeyId: string;
}

export interface WitnessRecord {
  /** `^[a-z0-9][a-z0-9._-]{0,63}$`, never reused. */
  readonly id: string;
  /** A C2SP note key name (no spaces, no '+'), at most 256 characters: the name on its cosignature lines. */
  readonly name: string;
  /** Every key the witness has held, oldest first; the last one (without `until`) is current. */
  readonly keys: readonly WitnessKey[];
  readonly status: WitnessStatus;
  readonly rotations: readonly WitnessRotation[];
  /** When the witness was revoked (revoked witnesses only). */
  readonly revokedAt?: string;
}

export interface WitnessRegistry {
  readonly witnesses: readonly WitnessRecord[];
  /** k: 1 ≤ k ≤ number of active witnesses. */
  readonly threshold: number;
}

export interface WitnessAddChange {
  readonly id: string;
  readonly name: string;
  /** Standard base64 of the new witness's Ed25519 public key. */
  readonly public_key: string;
}
export interface WitnessRotateChange {
  readonly id: string;
  /** Standard base64 of the witness's new Ed25519 public key. */
  readonly public_key: string;
}
export interface WitnessRevokeChange {
  readonly id: string;
}
export interface SetThresholdChange {
  readonly threshold: number;
}

interface ProposalCommon {
  readonly v: 1;
  /** Id of the current head of system space (64 lowercase hex), or null while it is empty. */
  readonly prev: string | null;
  /** RFC 3339 UTC with milliseconds; created_at < expires_at. */
  readonly created_at: string;
  readonly expires_at: string;
  /** Who proposes (1..256 characters). */
  readonly proposer: string;
}

export type ProposalBody =
  | (ProposalCommon & { readonly kind: 'witness.add'; readonly change: WitnessAddChange })
  | (ProposalCommon & { readonly kind: 'witness.rotate'; readonly change: WitnessRotateChange })
  | (ProposalCommon & { readonly kind: 'witness.revoke'; readonly change: WitnessRevokeChange })
  | (ProposalCommon & { readonly kind: 'quorum.set_threshold'; readonly change: SetThresholdChange })
  | (ProposalCommon & {
      readonly kind: 'policy.update' | 'trust.update_params';
      /** Any JSON object; its meaning is checked by the policy / trust modules. */
      readonly change: { readonly [k: string]: JsonValue };
    });

export interface WitnessSignature {
  readonly witnessId: string;
  /** keyId of the key that made `sig`. */
  readonly keyId: string;
  /** Standard base64 of the 64-byte Ed25519 signature over proposalSigningMessage(id). */
  readonly sig: string;
}

export interface QuorumOptions {
  readonly now: Date;
  /** Id of the current head of system space, or null if it is empty. */
  readonly systemHead: string | null;
  /** Ids of proposals already committed (a Set fits). */
  readonly committedIds: { has(id: string): boolean };
}

export type QuorumProblemReason =
  /** The proposal body is not a valid proposal. */
  | 'malformed_proposal'
  /** now ≥ expires_at. */
  | 'expired'
  /** prev is not the current system head: re-propose on top of the head. */
  | 'stale'
  /** The proposal id is already committed. */
  | 'replayed'
  /** A signature entry is not {witnessId, keyId, sig} with a 64-byte base64 sig. */
  | 'malformed_signature'
  | 'unknown_witness'
  | 'revoked_witness'
  /** The keyId is not a key the witness has ever held. */
  | 'unknown_key'
  /** The key was the witness's once but has been rotated away (TUF: no longer counts). */
  | 'superseded_key'
  /** Does not verify over "sigil-proposal/v1\n" + this proposal's id. */
  | 'bad_signature'
  /** A further valid signature by a witness already counted (one vote per witness). */
  | 'duplicate_witness'
  /** Fewer than k votes. */
  | 'insufficient'
  /** evaluateRotation: the new registry is not the old one with this proposal's change applied. */
  | 'registry_mismatch'
  /** The change cannot be applied to the registry (applyRegistryChange refused it). */
  | 'invalid_change';

export interface QuorumProblem {
  readonly reason: QuorumProblemReason;
  readonly message: string;
  readonly witnessId?: string;
  readonly keyId?: string;
}

export interface QuorumEvaluation {
  readonly ok: boolean;
  /** The proposal's id, or null if the body is malformed. */
  readonly proposalId: string | null;
  /** Witness ids counted, in the order of their first valid signature. */
  readonly votes: readonly string[];
  readonly threshold: number;
  /** max(0, k − votes). */
  readonly missing: number;
  readonly problems: readonly QuorumProblem[];
}

export interface RotationEvaluation {
  /** old.ok && new.ok && the new registry is the old one with the change applied. */
  readonly ok: boolean;
  readonly proposalId: string | null;
  readonly old: QuorumEvaluation;
  readonly new: QuorumEvaluation;
  /** Problems of the pair itself (registry_mismatch, invalid_change); each side has its own too. */
  readonly problems: readonly QuorumProblem[];
}

export interface CommitEvaluation {
  readonly ok: boolean;
  readonly proposalId: string | null;
  /** The registry after the commit (the changed one for a registry kind), or the input one when not ok. */
  readonly registry: WitnessRegistry;
  /** Under the current registry. */
  readonly quorum: QuorumEvaluation;
  /** Under the registry after the change (registry kinds only). */
  readonly newQuorum?: QuorumEvaluation;
  /** Every problem: the current side's, the new side's (marked in the message) and the pair's. */
  readonly problems: readonly QuorumProblem[];
}

/** Anything that signs with an Ed25519 key (Ed25519Signer fits). */
export interface ProposalSigner {
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

// ---------------------------------------------------------------------------------------------------------
// Small checks

const WITNESS_ID = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const HEX32 = /^[0-9a-f]{32}$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function bad(message: string, details?: Record<string, unknown>): SigilError {
  return new SigilError('BAD_INPUT', message, details);
}

function isRegistryKind(kind: string): kind is RegistryChangeKind {
  return (REGISTRY_CHANGE_KINDS as readonly string[]).includes(kind);
}

/** Epoch ms of an RFC 3339 UTC timestamp with milliseconds (the exact toISOString form), else null. */
function timestampMs(v: unknown): number | null {
  if (typeof v !== 'string' || !TIMESTAMP.test(v)) return null;
  const t = Date.parse(v);
  if (!Number.isFinite(t) || new Date(t).toISOString() !== v) return null;
  return t;
}

function isoOf(at: Date | string, what: string): string {
  if (at instanceof Date) {
    const t = at.getTime();
    if (!Number.isFinite(t)) throw new SigilError('BAD_USAGE', `${what} is an invalid Date`);
    return new Date(t).toISOString();
  }
  if (timestampMs(at) === null)
    throw new SigilError('BAD_USAGE', `${what} must be an RFC 3339 UTC timestamp`);
  return at;
}

/** Canonical standard base64 of exactly `length` bytes, else null. */
function canonicalBase64(v: unknown, length: number): Uint8Array | null {
  if (typeof v !== 'string') return null;
  let b: Uint8Array;
  try {
    b = fromBase64(v);
  } catch {
    return null;
  }
  return b.length === length && toBase64(b) === v ? b : null;
}

function publicKeyString(k: Uint8Array | string, what: string): string {
  const bytes = typeof k === 'string' ? canonicalBase64(k, PUBLIC_KEY_LENGTH) : k;
  if (!(bytes instanceof Uint8Array) || bytes.length !== PUBLIC_KEY_LENGTH)
    throw new SigilError('KEY_INVALID', `${what}: must be a 32-byte Ed25519 public key (raw or base64)`);
  assertValidPublicKey(bytes, what);
  return toBase64(bytes);
}

function checkWitnessName(name: unknown): string | null {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_WITNESS_NAME_LENGTH)
    return `must be a string of 1 to ${MAX_WITNESS_NAME_LENGTH} characters`;
  if (!isValidKeyName(name)) return 'must be a note key name (no spaces, no "+", no control characters)';
  return null;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Exactly `required` (plus optionally `optional`) own fields. */
function fields<K extends string>(
  v: unknown,
  what: string,
  required: readonly K[],
  optional: readonly string[] = [],
): Record<K, unknown> & Record<string, unknown> {
  if (!isPlainObject(v)) throw bad(`${what} must be a plain object`);
  for (const k of Object.keys(v)) {
    if (!(required as readonly string[]).includes(k) && !optional.includes(k))
      throw bad(
        `${what}: field ${JSON.stringify(k)} is not allowed (allowed: ${[...required, ...optional].join(', ')})`,
      );
  }
  for (const f of required) {
    if (!Object.prototype.hasOwnProperty.call(v, f))
      throw bad(`${what}: field ${JSON.stringify(f)} is missing`);
  }
  return v as Record<K, unknown> & Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------------------
// Proposals

const BODY_FIELDS = ['v', 'kind', 'change', 'prev', 'created_at', 'expires_at', 'proposer'] as const;

function parseChange(kind: ProposalKind, change: unknown): ProposalBody['change'] {
  const what = `proposal change (${kind})`;
  switch (kind) {
    case 'witness.add': {
      const c = fields(change, what, ['id', 'name', 'public_key']);
      if (typeof c.id !== 'string' || !WITNESS_ID.test(c.id))
        throw bad(`${what}: id must match ${WITNESS_ID}`);
      const nameProblem = checkWitnessName(c.name);
      if (nameProblem !== null) throw bad(`${what}: name ${nameProblem}`);
      if (canonicalBase64(c.public_key, PUBLIC_KEY_LENGTH) === null)
        throw bad(`${what}: public_key must be canonical base64 of 32 bytes`);
      return { id: c.id, name: c.name as string, public_key: c.public_key as string };
    }
    case 'witness.rotate': {
      const c = fields(change, what, ['id', 'public_key']);
      if (typeof c.id !== 'string' || !WITNESS_ID.test(c.id))
        throw bad(`${what}: id must match ${WITNESS_ID}`);
      if (canonicalBase64(c.public_key, PUBLIC_KEY_LENGTH) === null)
        throw bad(`${what}: public_key must be canonical base64 of 32 bytes`);
      return { id: c.id, public_key: c.public_key as string };
    }
    case 'witness.revoke': {
      const c = fields(change, what, ['id']);
      if (typeof c.id !== 'string' || !WITNESS_ID.test(c.id))
        throw bad(`${what}: id must match ${WITNESS_ID}`);
      return { id: c.id };
    }
    case 'quorum.set_threshold': {
      const c = fields(change, what, ['threshold']);
      const k = c.threshold;
      if (typeof k !== 'number' || !Number.isSafeInteger(k) || k < 1 || k > MAX_WITNESSES)
        throw bad(`${what}: threshold must be an integer from 1 to ${MAX_WITNESSES}`);
      return { threshold: k };
    }
    case 'policy.update':
    case 'trust.update_params': {
      if (!isPlainObject(change)) throw bad(`${what} must be a JSON object`);
      assertJsonValue(change);
      return JSON.parse(canonicalize(change)) as { [k: string]: JsonValue };
    }
  }
}

/**
 * Strictly parses a proposal body (a parsed JSON value): exactly the fields
 * {v: 1, kind, change, prev, created_at, expires_at, proposer}, a known kind with a change of its shape,
 * prev = 64 lowercase hex or null, RFC 3339 UTC millisecond timestamps with created_at < expires_at,
 * at most 64 KiB canonical. Returns a fresh validated copy. Throws SigilError('BAD_INPUT'), or
 * 'JCS_INVALID' for a policy/trust change that is not JSON.
 */
export function parseProposalBody(value: unknown): ProposalBody {
  const b = fields(value, 'proposal', BODY_FIELDS);
  if (b.v !== PROPOSAL_VERSION) throw bad(`proposal: v must be ${PROPOSAL_VERSION}`);
  if (typeof b.kind !== 'string' || !(PROPOSAL_KINDS as readonly string[]).includes(b.kind))
    throw bad(`proposal: kind must be one of ${PROPOSAL_KINDS.join(', ')}`);
  const kind = b.kind as ProposalKind;
  if (b.prev !== null && (typeof b.prev !== 'string' || !HEX64.test(b.prev)))
    throw bad('proposal: prev must be 64 lowercase hex characters or null');
  const created = timestampMs(b.created_at);
  const expires = timestampMs(b.expires_at);
  if (created === null) throw bad('proposal: created_at must be an RFC 3339 UTC timestamp with milliseconds');
  if (expires === null) throw bad('proposal: expires_at must be an RFC 3339 UTC timestamp with milliseconds');
  if (expires <= created) throw bad('proposal: expires_at must be after created_at');
  if (typeof b.proposer !== 'string' || b.proposer.length === 0 || b.proposer.length > MAX_PROPOSER_LENGTH)
    throw bad(`proposal: proposer must be a string of 1 to ${MAX_PROPOSER_LENGTH} characters`);
  const change = parseChange(kind, b.change);
  const out = {
    v: PROPOSAL_VERSION,
    kind,
    change,
    prev: b.prev as string | null,
    created_at: b.created_at as string,
    expires_at: b.expires_at as string,
    proposer: b.proposer,
  } as ProposalBody;
  const size = utf8(canonicalize(out)).length;
  if (size > MAX_PROPOSAL_BYTES)
    throw bad(`proposal is ${size} bytes; at most ${MAX_PROPOSAL_BYTES} are allowed`);
  return out;
}

/** hex(SHA-256(JCS(body))) of a strictly parsed body. Throws as parseProposalBody. */
export function proposalId(body: unknown): string {
  return sha256Hex(canonicalize(parseProposalBody(body)));
}

/** The bytes a witness signs: UTF-8 of "sigil-proposal/v1\n" + id. Throws BAD_INPUT for a malformed id. */
export function proposalSigningMessage(id: string): Uint8Array {
  if (typeof id !== 'string' || !HEX64.test(id)) throw bad('proposal id must be 64 lowercase hex characters');
  return utf8(PROPOSAL_SIGNING_PREFIX + id);
}

/** A witness's vote on proposal `id` with `signer` (which should be the witness's current key). */
export function signProposal(id: string, witnessId: string, signer: ProposalSigner): WitnessSignature {
  const message = proposalSigningMessage(id);
  const sig = signer.sign(message);
  if (!(sig instanceof Uint8Array) || sig.length !== SIGNATURE_LENGTH)
    throw new SigilError('KEY_INVALID', `signer returned a ${String(sig?.length)}-byte signature`);
  return { witnessId, keyId: keyIdOf(signer.publicKey), sig: toBase64(sig) };
}

// ---------------------------------------------------------------------------------------------------------
// Registry

/** The current key of a witness (the last, without `until`), or undefined if it has none. */
export function currentKey(w: WitnessRecord): WitnessKey | undefined {
  const last = w.keys[w.keys.length - 1];
  return last !== undefined && last.until === undefined ? last : undefined;
}

export function activeWitnesses(registry: WitnessRegistry): WitnessRecord[] {
  return registry.witnesses.filter((w) => w.status === 'active');
}

function parseKey(v: unknown, what: string): WitnessKey {
  const k = fields(v, what, ['publicKey', 'keyId', 'from'], ['until']);
  const pk = canonicalBase64(k.publicKey, PUBLIC_KEY_LENGTH);
  if (pk === null) throw bad(`${what}: publicKey must be canonical base64 of 32 bytes`);
  assertValidPublicKey(pk, `${what}: publicKey`);
  if (k.keyId !== keyIdOf(pk)) throw bad(`${what}: keyId does not match publicKey (expected ${keyIdOf(pk)})`);
  const from = timestampMs(k.from);
  if (from === null) throw bad(`${what}: from must be an RFC 3339 UTC timestamp`);
  const out: { publicKey: string; keyId: string; from: string; until?: string } = {
    publicKey: k.publicKey as string,
    keyId: k.keyId,
    from: k.from as string,
  };
  if (k.until !== undefined) {
    const until = timestampMs(k.until);
    if (until === null || until < from) throw bad(`${what}: until must be a timestamp not before from`);
    out.until = k.until as string;
  }
  return out;
}

function parseRotation(v: unknown, what: string): WitnessRotation {
  const r = fields(v, what, ['at', 'proposalId', 'fromKeyId', 'toKeyId']);
  if (timestampMs(r.at) === null) throw bad(`${what}: at must be an RFC 3339 UTC timestamp`);
  if (typeof r.proposalId !== 'string' || (r.proposalId !== '' && !HEX64.test(r.proposalId)))
    throw bad(`${what}: proposalId must be 64 lowercase hex characters or ""`);
  for (const f of ['fromKeyId', 'toKeyId'] as const) {
    if (typeof r[f] !== 'string' || !HEX32.test(r[f])) throw bad(`${what}: ${f} must be a key id`);
  }
  return {
    at: r.at as string,
    proposalId: r.proposalId,
    fromKeyId: r.fromKeyId as string,
    toKeyId: r.toKeyId as string,
  };
}

function parseWitness(v: unknown, what: string): WitnessRecord {
  const w = fields(v, what, ['id', 'name', 'keys', 'status', 'rotations'], ['revokedAt']);
  if (typeof w.id !== 'string' || !WITNESS_ID.test(w.id)) throw bad(`${what}: id must match ${WITNESS_ID}`);
  const nameProblem = checkWitnessName(w.name);
  if (nameProblem !== null) throw bad(`${what}: name ${nameProblem}`);
  if (w.status !== 'active' && w.status !== 'revoked') throw bad(`${what}: status must be active or revoked`);
  if (!Array.isArray(w.keys) || w.keys.length === 0) throw bad(`${what}: keys must be a non-empty array`);
  const keys = w.keys.map((k, i) => parseKey(k, `${what}.keys[${i}]`));
  keys.forEach((k, i) => {
    if (i < keys.length - 1 && k.until === undefined)
      throw bad(`${what}: only the last key may be current (keys[${i}] has no until)`);
  });
  const status = w.status;
  if (status === 'active' && (keys[keys.length - 1] as WitnessKey).until !== undefined)
    throw bad(`${what}: an active witness needs a current key (the last key has an until)`);
  if (!Array.isArray(w.rotations)) throw bad(`${what}: rotations must be an array`);
  const rotations = w.rotations.map((r, i) => parseRotation(r, `${what}.rotations[${i}]`));
  const out: {
    id: string;
    name: string;
    keys: WitnessKey[];
    status: WitnessStatus;
    rotations: WitnessRotation[];
    revokedAt?: string;
  } = { id: w.id, name: w.name as string, keys, status, rotations };
  if (w.revokedAt !== undefined) {
    if (status !== 'revoked') throw bad(`${what}: only a revoked witness has revokedAt`);
    if (timestampMs(w.revokedAt) === null) throw bad(`${what}: revokedAt must be an RFC 3339 UTC timestamp`);
    out.revokedAt = w.revokedAt as string;
  }
  return out;
}

/**
 * Strictly checks a registry (see the invariants at the top of this module) and returns a validated copy.
 * Throws SigilError('BAD_INPUT'), or 'KEY_INVALID' for a public key assertValidPublicKey refuses.
 */
export function parseWitnessRegistry(value: unknown): WitnessRegistry {
  const r = fields(value, 'witness registry', ['witnesses', 'threshold']);
  if (!Array.isArray(r.witnesses) || r.witnesses.length > MAX_WITNESSES)
    throw bad(`witness registry: witnesses must be an array of at most ${MAX_WITNESSES}`);
  const witnesses = r.witnesses.map((w, i) => parseWitness(w, `witness registry: witnesses[${i}]`));
  const ids = new Set<string>();
  const names = new Set<string>();
  const keyIds = new Set<string>();
  for (const w of witnesses) {
    if (ids.has(w.id)) throw bad(`witness registry: duplicate witness id ${w.id}`);
    if (names.has(w.name)) throw bad(`witness registry: duplicate witness name ${w.name}`);
    ids.add(w.id);
    names.add(w.name);
    for (const k of w.keys) {
      if (keyIds.has(k.keyId)) throw bad(`witness registry: key ${k.keyId} is held more than once`);
      keyIds.add(k.keyId);
    }
  }
  const active = witnesses.filter((w) => w.status === 'active').length;
  const k = r.threshold;
  if (typeof k !== 'number' || !Number.isSafeInteger(k) || k < 1 || k > active)
    throw bad(`witness registry: threshold must be an integer from 1 to the ${active} active witnesses`);
  return { witnesses, threshold: k };
}

export interface GenesisWitness {
  readonly id: string;
  readonly name: string;
  /** 32 raw bytes or their standard base64. */
  readonly publicKey: Uint8Array | string;
}

/** The registry chosen at init: these witnesses, all active, and k. Throws BAD_INPUT / KEY_INVALID. */
export function genesisRegistry(opts: {
  readonly witnesses: readonly GenesisWitness[];
  readonly threshold: number;
  readonly at: Date | string;
}): WitnessRegistry {
  const at = isoOf(opts.at, 'at');
  const witnesses = opts.witnesses.map((w, i): WitnessRecord => {
    const publicKey = publicKeyString(w.publicKey, `genesis witness ${i} public key`);
    return {
      id: w.id,
      name: w.name,
      keys: [{ publicKey, keyId: keyIdOf(fromBase64(publicKey)), from: at }],
      status: 'active',
      rotations: [],
    };
  });
  return parseWitnessRegistry({ witnesses, threshold: opts.threshold });
}

/**
 * The registry after a registry change (witness.add / witness.rotate / witness.revoke /
 * quorum.set_threshold), recorded at `opts.at` (default: the proposal's created_at). Validates the change:
 * add needs a new id, a new name and a key never held by anyone; rotate and revoke need an active witness;
 * rotate needs a key never held by anyone; revoke and set_threshold must leave 1 ≤ k ≤ active witnesses
 * (lower k before revoking). Does not check signatures (see evaluateCommit). Throws BAD_INPUT (also for a
 * non-registry kind) or KEY_INVALID.
 */
export function applyRegistryChange(
  registry: WitnessRegistry,
  proposal: unknown,
  opts: { readonly at?: Date | string } = {},
): WitnessRegistry {
  const reg = parseWitnessRegistry(registry);
  const p = parseProposalBody(proposal);
  const pid = sha256Hex(canonicalize(p));
  const at = opts.at === undefined ? p.created_at : isoOf(opts.at, 'at');
  const find = (id: string): WitnessRecord => {
    const w = reg.witnesses.find((x) => x.id === id);
    if (w === undefined) throw bad(`${p.kind}: no witness ${id}`);
    if (w.status !== 'active') throw bad(`${p.kind}: witness ${id} is revoked`);
    return w;
  };
  const keyHeld = (kid: string): boolean => reg.witnesses.some((w) => w.keys.some((k) => k.keyId === kid));
  const replace = (w: WitnessRecord): WitnessRecord[] => reg.witnesses.map((x) => (x.id === w.id ? w : x));
  let next: WitnessRegistry;
  switch (p.kind) {
    case 'witness.add': {
      const c = p.change;
      if (reg.witnesses.some((w) => w.id === c.id)) throw bad(`witness.add: witness id ${c.id} is taken`);
      if (reg.witnesses.some((w) => w.name === c.name))
        throw bad(`witness.add: witness name ${c.name} is taken`);
      const publicKey = publicKeyString(c.public_key, 'witness.add public_key');
      const kid = keyIdOf(fromBase64(publicKey));
      if (keyHeld(kid)) throw bad(`witness.add: key ${kid} is already held by a witness`);
      const w: WitnessRecord = {
        id: c.id,
        name: c.name,
        keys: [{ publicKey, keyId: kid, from: at }],
        status: 'active',
        rotations: [],
      };
      next = { witnesses: [...reg.witnesses, w], threshold: reg.threshold };
      break;
    }
    case 'witness.rotate': {
      const w = find(p.change.id);
      const publicKey = publicKeyString(p.change.public_key, 'witness.rotate public_key');
      const kid = keyIdOf(fromBase64(publicKey));
      if (keyHeld(kid)) throw bad(`witness.rotate: key ${kid} is already held (now or before) by a witness`);
      const old = currentKey(w) as WitnessKey;
      const keys = [...w.keys.slice(0, -1), { ...old, until: at }, { publicKey, keyId: kid, from: at }];
      const rotations = [...w.rotations, { at, proposalId: pid, fromKeyId: old.keyId, toKeyId: kid }];
      next = { witnesses: replace({ ...w, keys, rotations }), threshold: reg.threshold };
      break;
    }
    case 'witness.revoke': {
      const w = find(p.change.id);
      const active = activeWitnesses(reg).length - 1;
      if (reg.threshold > active)
        throw bad(`witness.revoke: k = ${reg.threshold} would exceed the ${active} active witnesses left`);
      next = { witnesses: replace({ ...w, status: 'revoked', revokedAt: at }), threshold: reg.threshold };
      break;
    }
    case 'quorum.set_threshold': {
      const k = p.change.threshold;
      const active = activeWitnesses(reg).length;
      if (k > active) throw bad(`quorum.set_threshold: k = ${k} exceeds the ${active} active witnesses`);
      next = { witnesses: reg.witnesses, threshold: k };
      break;
    }
    default:
      throw bad(`${p.kind} is not a registry change`);
  }
  return parseWitnessRegistry(next);
}

// ---------------------------------------------------------------------------------------------------------
// Evaluation

function checkOptions(opts: QuorumOptions): number {
  const now = opts.now instanceof Date ? opts.now.getTime() : NaN;
  if (!Number.isFinite(now)) throw new SigilError('BAD_USAGE', 'now must be a valid Date');
  if (opts.systemHead !== null && (typeof opts.systemHead !== 'string' || !HEX64.test(opts.systemHead)))
    throw new SigilError('BAD_USAGE', 'systemHead must be 64 lowercase hex characters or null');
  if (typeof opts.committedIds?.has !== 'function')
    throw new SigilError('BAD_USAGE', 'committedIds must have a has(id) method');
  return now;
}

function evaluateParsed(
  reg: WitnessRegistry,
  p: ProposalBody | null,
  parseError: string,
  signatures: readonly WitnessSignature[],
  opts: QuorumOptions,
  now: number,
): QuorumEvaluation {
  const problems: QuorumProblem[] = [];
  const k = reg.threshold;
  if (p === null) {
    problems.push({ reason: 'malformed_proposal', message: parseError });
    return { ok: false, proposalId: null, votes: [], threshold: k, missing: k, problems };
  }
  const id = sha256Hex(canonicalize(p));
  if (now >= (timestampMs(p.expires_at) as number))
    problems.push({ reason: 'expired', message: `proposal ${id} expired at ${p.expires_at}` });
  if (opts.committedIds.has(id))
    problems.push({ reason: 'replayed', message: `proposal ${id} is already committed` });
  if (p.prev !== opts.systemHead)
    problems.push({
      reason: 'stale',
      message: `proposal prev ${String(p.prev)} is not the system head ${String(opts.systemHead)}: re-propose`,
    });
  const message = proposalSigningMessage(id);
  const votes: string[] = [];
  signatures.forEach((s, i) => {
    const entry = s as unknown;
    if (
      !isPlainObject(entry) ||
      typeof entry.witnessId !== 'string' ||
      typeof entry.keyId !== 'string' ||
      typeof entry.sig !== 'string'
    ) {
      problems.push({
        reason: 'malformed_signature',
        message: `signature ${i} is not {witnessId, keyId, sig}`,
      });
      return;
    }
    const witnessId = entry.witnessId;
    const keyId = entry.keyId;
    const at = { witnessId, keyId };
    const sig = canonicalBase64(entry.sig, SIGNATURE_LENGTH);
    if (sig === null) {
      problems.push({
        ...at,
        reason: 'malformed_signature',
        message: `signature ${i}: sig is not 64 bytes of base64`,
      });
      return;
    }
    const w = reg.witnesses.find((x) => x.id === witnessId);
    if (w === undefined) {
      problems.push({
        ...at,
        reason: 'unknown_witness',
        message: `signature ${i}: ${witnessId} is not a witness`,
      });
      return;
    }
    if (w.status !== 'active') {
      problems.push({
        ...at,
        reason: 'revoked_witness',
        message: `signature ${i}: witness ${witnessId} is revoked`,
      });
      return;
    }
    const key = w.keys.find((x) => x.keyId === keyId);
    if (key === undefined) {
      problems.push({
        ...at,
        reason: 'unknown_key',
        message: `signature ${i}: ${keyId} is not a key of witness ${witnessId}`,
      });
      return;
    }
    if (key.until !== undefined) {
      problems.push({
        ...at,
        reason: 'superseded_key',
        message: `signature ${i}: key ${keyId} of witness ${witnessId} was rotated away at ${key.until}`,
      });
      return;
    }
    if (!ed25519Verify(fromBase64(key.publicKey), message, sig)) {
      problems.push({
        ...at,
        reason: 'bad_signature',
        message: `signature ${i} by witness ${witnessId} does not verify over "sigil-proposal/v1\\n${id}"`,
      });
      return;
    }
    if (votes.includes(witnessId)) {
      problems.push({
        ...at,
        reason: 'duplicate_witness',
        message: `signature ${i}: witness ${witnessId} already voted (one vote per witness)`,
      });
      return;
    }
    votes.push(witnessId);
  });
  const missing = Math.max(0, k - votes.length);
  if (missing > 0)
    problems.push({
      reason: 'insufficient',
      message: `${votes.length} of the ${k} votes needed (${missing} missing)`,
    });
  const fatal = problems.some((x) => ['expired', 'stale', 'replayed', 'insufficient'].includes(x.reason));
  return { ok: !fatal, proposalId: id, votes, threshold: k, missing, problems };
}

function checkSignatures(signatures: unknown): readonly WitnessSignature[] {
  if (!Array.isArray(signatures)) throw bad('signatures must be an array');
  if (signatures.length > MAX_PROPOSAL_SIGNATURES)
    throw bad(`more than ${MAX_PROPOSAL_SIGNATURES} signatures`);
  return signatures as readonly WitnessSignature[];
}

function tryParse(proposal: unknown): { p: ProposalBody | null; error: string } {
  try {
    return { p: parseProposalBody(proposal), error: '' };
  } catch (e) {
    if (e instanceof SigilError && (e.code === 'BAD_INPUT' || e.code === 'JCS_INVALID'))
      return { p: null, error: e.message };
    throw e;
  }
}

/**
 * Whether `signatures` commit `proposal` under `registry` at opts.now. ok iff the proposal is well formed,
 * now < expires_at, its id is not in committedIds, prev === systemHead, and at least k distinct witnesses
 * that are registered and active each have a signature that verifies under their CURRENT key over
 * "sigil-proposal/v1\n" + id. Invalid signatures are listed in `problems` but do not by themselves make
 * the result fail (they simply do not count). Throws only for an invalid registry (BAD_INPUT /
 * KEY_INVALID), a non-array signature list, or bad options (BAD_USAGE).
 */
export function evaluateQuorum(
  registry: WitnessRegistry,
  proposal: unknown,
  signatures: readonly WitnessSignature[],
  opts: QuorumOptions,
): QuorumEvaluation {
  const now = checkOptions(opts);
  const reg = parseWitnessRegistry(registry);
  const sigs = checkSignatures(signatures);
  const { p, error } = tryParse(proposal);
  return evaluateParsed(reg, p, error, sigs, opts, now);
}

/** What quorum depends on: k and, per witness, id, name, status and current key. */
function effective(reg: WitnessRegistry): string {
  const ws = reg.witnesses
    .map((w) => `${w.id} ${w.name} ${w.status} ${w.status === 'active' ? (currentKey(w)?.keyId ?? '') : ''}`)
    .sort();
  return JSON.stringify([reg.threshold, ws]);
}

function prefixed(side: string, problems: readonly QuorumProblem[]): QuorumProblem[] {
  return problems.map((x) => ({ ...x, message: `${side} registry: ${x.message}` }));
}

/**
 * TUF rotation: ok iff `newRegistry` is `oldRegistry` with the proposal's change applied (compared on what
 * quorum depends on: k and each witness's id, name, status and current key; for a non-registry kind the
 * two must be the same) AND the signatures reach the old registry's threshold AND the new one's. Each
 * side is evaluated with evaluateQuorum's rules (current keys only, so a rotated witness votes with its
 * old key on the old side and its new key on the new side; a newly added witness counts on the new side
 * only; a revoked one on the old side only). Throws as evaluateQuorum.
 */
export function evaluateRotation(
  oldRegistry: WitnessRegistry,
  newRegistry: WitnessRegistry,
  proposal: unknown,
  signatures: readonly WitnessSignature[],
  opts: QuorumOptions,
): RotationEvaluation {
  const now = checkOptions(opts);
  const oldReg = parseWitnessRegistry(oldRegistry);
  const newReg = parseWitnessRegistry(newRegistry);
  const sigs = checkSignatures(signatures);
  const { p, error } = tryParse(proposal);
  const oldSide = evaluateParsed(oldReg, p, error, sigs, opts, now);
  const newSide = evaluateParsed(newReg, p, error, sigs, opts, now);
  const problems: QuorumProblem[] = [];
  if (p !== null) {
    let expected: WitnessRegistry | null = oldReg;
    if (isRegistryKind(p.kind)) {
      try {
        expected = applyRegistryChange(oldReg, p, { at: opts.now });
      } catch (e) {
        if (!(e instanceof SigilError)) throw e;
        expected = null;
        problems.push({ reason: 'invalid_change', message: e.message });
      }
    }
    if (expected !== null && effective(expected) !== effective(newReg))
      problems.push({
        reason: 'registry_mismatch',
        message: `the new registry is not the old one with this ${p.kind} applied`,
      });
  }
  return {
    ok: oldSide.ok && newSide.ok && problems.length === 0,
    proposalId: oldSide.proposalId,
    old: oldSide,
    new: newSide,
    problems,
  };
}

/**
 * The commit decision for any proposal. For a registry kind the change is applied at opts.now
 * (applyRegistryChange) and both thresholds are required (evaluateRotation); otherwise evaluateQuorum.
 * `registry` is the registry after the commit when ok, else the input registry. Throws as evaluateQuorum.
 */
export function evaluateCommit(
  registry: WitnessRegistry,
  proposal: unknown,
  signatures: readonly WitnessSignature[],
  opts: QuorumOptions,
): CommitEvaluation {
  const now = checkOptions(opts);
  const reg = parseWitnessRegistry(registry);
  const sigs = checkSignatures(signatures);
  const { p, error } = tryParse(proposal);
  const quorum = evaluateParsed(reg, p, error, sigs, opts, now);
  if (p === null || !isRegistryKind(p.kind))
    return { ok: quorum.ok, proposalId: quorum.proposalId, registry: reg, quorum, problems: quorum.problems };
  let next: WitnessRegistry;
  try {
    next = applyRegistryChange(reg, p, { at: opts.now });
  } catch (e) {
    if (!(e instanceof SigilError)) throw e;
    const problems = [...quorum.problems, { reason: 'invalid_change' as const, message: e.message }];
    return { ok: false, proposalId: quorum.proposalId, registry: reg, quorum, problems };
  }
  const newQuorum = evaluateParsed(next, p, error, sigs, opts, now);
  const ok = quorum.ok && newQuorum.ok;
  return {
    ok,
    proposalId: quorum.proposalId,
    registry: ok ? next : reg,
    quorum,
    newQuorum,
    problems: [...prefixed('current', quorum.problems), ...prefixed('new', newQuorum.problems)],
  };
}
