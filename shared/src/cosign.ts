/**
 * C2SP tlog-cosignature (https://c2sp.org/tlog-cosignature), Ed25519 "cosignature/v1", and the witness side
 * of checkpoint cosigning. Pure: no I/O; time (POSIX seconds) and the signer are passed in.
 *
 * Format (checked against the spec text, C2SP/C2SP tlog-cosignature.md):
 *  - a cosignature is a signed-note signature line on the checkpoint:
 *      — <cosigner name> base64(key ID(4) || timestamped_signature)
 *  - key ID = SHA-256(<name> || "\n" || 0x04 || 32-byte Ed25519 public key)[:4] (signature type 0x04, where
 *    the log's own signature uses 0x01, so a log verifier ignores cosignature lines and vice versa);
 *  - timestamped_signature = u64 timestamp, big-endian (POSIX seconds, at most 2^63 − 1) || 64-byte Ed25519
 *    signature, so a line's payload is 4 + 8 + 64 = 76 bytes;
 *  - the signed message is "cosignature/v1\n" + "time " + <timestamp, ASCII decimal, no leading zeros> +
 *    "\n" + the whole note body of the checkpoint (final newline included, extension lines included, no
 *    signature lines). (Older implementations signed only the first three checkpoint lines; the spec now
 *    signs the whole body. Sigil checkpoints have no extension lines, so both agree on them.)
 *  - the statement: as of that time, this is the largest consistent tree head the cosigner has observed for
 *    the log named by the origin line. Verifiers MAY reject timestamps in the future (opts.maxTimestamp).
 *  - the vkey of a cosigner is `<name>+<hex key ID>+base64(0x04 || public key)`.
 *
 * Timestamps are JS numbers here, so limited to Number.MAX_SAFE_INTEGER (< 2^63 − 1); a line with a larger
 * timestamp is refused.
 */
import { bytesEqual, concatBytes, fromBase64, toBase64, toHex, utf8 } from './bytes.js';
import { SigilError } from './errors.js';
import { sha256 } from './hash.js';
import { assertValidPublicKey, verify as ed25519Verify } from './ed25519.js';
import { verifyConsistency, type Hash } from './merkle.js';
import {
  formatSignedNote,
  isValidKeyName,
  parseCheckpoint,
  parseSignedNote,
  verifySignedNote,
  type Checkpoint,
  type NoteSignature,
  type NoteVerifier,
  type VerifyFn,
} from './note.js';

/** Signature type byte of Ed25519 cosignature/v1 keys (C2SP signed-note / tlog-cosignature). */
export const SIG_TYPE_COSIGNATURE_V1 = 0x04;
export const COSIGNATURE_V1_HEADER = 'cosignature/v1\n';
/** 8-byte timestamp + 64-byte Ed25519 signature (after the 4-byte key ID). */
export const TIMESTAMPED_SIGNATURE_LENGTH = 8 + 64;

export interface CosignatureSigner {
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

export interface Cosigner {
  /** Key name on the cosignature line (the witness's name). */
  readonly name: string;
  readonly publicKey: Uint8Array;
}

export interface VerifiedCosignature {
  readonly name: string;
  /** POSIX seconds (the newest, if the note carries several lines by this cosigner). */
  readonly timestamp: number;
}

function bad(message: string, details?: Record<string, unknown>): SigilError {
  return new SigilError('BAD_INPUT', message, details);
}

function assertName(name: string): void {
  if (!isValidKeyName(name)) throw bad(`invalid cosigner name ${JSON.stringify(name)}`);
}

function assertTimestamp(t: number): void {
  if (!Number.isSafeInteger(t) || t < 0)
    throw bad(`cosignature timestamp must be a non-negative safe integer (POSIX seconds), got ${String(t)}`);
}

/** SHA-256(name || 0x0A || 0x04 || publicKey)[:4]. */
export function cosignatureKeyHash(name: string, publicKey: Uint8Array): Uint8Array {
  assertName(name);
  assertValidPublicKey(publicKey, `cosigner ${name} public key`);
  return sha256(concatBytes(utf8(name), Uint8Array.of(0x0a, SIG_TYPE_COSIGNATURE_V1), publicKey)).slice(0, 4);
}

/** `<name>+<hex8 key ID>+<base64(0x04 || publicKey)>`. */
export function cosignerVerifierKey(name: string, publicKey: Uint8Array): string {
  const hash = cosignatureKeyHash(name, publicKey);
  return `${name}+${toHex(hash)}+${toBase64(concatBytes(Uint8Array.of(SIG_TYPE_COSIGNATURE_V1), publicKey))}`;
}

/** "cosignature/v1\ntime <t>\n" + body, as UTF-8. `body` is the checkpoint note body (ends in "\n"). */
export function cosignatureMessage(body: string, timestamp: number): Uint8Array {
  assertTimestamp(timestamp);
  if (typeof body !== 'string' || !body.endsWith('\n'))
    throw bad('cosigned note body must end with a newline');
  return utf8(`${COSIGNATURE_V1_HEADER}time ${timestamp}\n${body}`);
}

function u64be(t: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(t), false);
  return out;
}

/** The signature line payload parts of a cosignature line, or null if it is not 72 bytes after the key ID. */
export function parseTimestampedSignature(
  signature: Uint8Array,
): { timestamp: number; signature: Uint8Array } | null {
  if (!(signature instanceof Uint8Array) || signature.length !== TIMESTAMPED_SIGNATURE_LENGTH) return null;
  const t = new DataView(signature.buffer, signature.byteOffset, 8).getBigUint64(0, false);
  if (t > BigInt(Number.MAX_SAFE_INTEGER)) return null;
  return { timestamp: Number(t), signature: signature.slice(8) };
}

/** The cosignature of `body` by `name` at `timestamp`, as a note signature. */
export function makeCosignature(
  body: string,
  name: string,
  signer: CosignatureSigner,
  timestamp: number,
): NoteSignature {
  const keyHash = cosignatureKeyHash(name, signer.publicKey);
  const sig = signer.sign(cosignatureMessage(body, timestamp));
  if (!(sig instanceof Uint8Array) || sig.length !== 64)
    throw new SigilError(
      'KEY_INVALID',
      `signer returned a ${String(sig?.length)}-byte signature, expected 64`,
    );
  return { name, keyHash, signature: concatBytes(u64be(timestamp), sig) };
}

/**
 * Adds `witnessName`'s cosignature (at `timestamp`, POSIX seconds) to a signed checkpoint note and returns
 * the note. A previous line with the same name and key ID is replaced; other lines are kept unverified.
 * It does not check the checkpoint: a witness uses checkAndCosign. Throws BAD_INPUT / KEY_INVALID.
 */
export function cosignCheckpoint(
  note: string,
  witnessName: string,
  signer: CosignatureSigner,
  timestamp: number,
): string {
  const { body, signatures } = parseSignedNote(note);
  parseCheckpoint(body);
  const sig = makeCosignature(body, witnessName, signer, timestamp);
  const at = signatures.findIndex((s) => s.name === witnessName && bytesEqual(s.keyHash, sig.keyHash));
  const out = signatures.slice();
  if (at >= 0) out[at] = sig;
  else out.push(sig);
  return formatSignedNote(body, out);
}

/**
 * The cosignatures of `witnesses` on a signed checkpoint note. Lines whose (name, 0x04 key ID) match no
 * witness are ignored (the log's own signature among them). A line that matches must be a 72-byte
 * timestamped signature that verifies (and, with opts.maxTimestamp, is not later than it), else the whole
 * note is refused with SigilError('SIGNATURE_INVALID'). Each witness is listed once (newest timestamp), in
 * note order; the list may be empty: the caller counts the quorum. Does NOT verify the log's signature
 * (use verifySignedNote with the log key). Throws BAD_INPUT for a malformed note or witness list.
 */
export function verifyCosignatures(
  note: string | Uint8Array,
  witnesses: readonly Cosigner[],
  opts: { readonly verify?: VerifyFn; readonly maxTimestamp?: number } = {},
): { body: string; checkpoint: Checkpoint; cosignatures: VerifiedCosignature[] } {
  const verify = opts.verify ?? ed25519Verify;
  const { body, signatures } = parseSignedNote(note);
  const checkpoint = parseCheckpoint(body);
  const known = witnesses.map((w) => ({ ...w, keyHash: cosignatureKeyHash(w.name, w.publicKey) }));
  const found = new Map<string, number>();
  for (const s of signatures) {
    const matches = known.filter((k) => k.name === s.name && bytesEqual(k.keyHash, s.keyHash));
    if (matches.length === 0) continue;
    const first = matches[0] as (typeof matches)[number];
    const id = `${s.name}+${toHex(s.keyHash)}`;
    if (matches.some((k) => !bytesEqual(k.publicKey, first.publicKey)))
      throw bad(`ambiguous cosigner key ${id}: several public keys share this name and key ID`);
    const ts = parseTimestampedSignature(s.signature);
    let ok = false;
    if (ts !== null && (opts.maxTimestamp === undefined || ts.timestamp <= opts.maxTimestamp)) {
      try {
        ok = verify(first.publicKey, cosignatureMessage(body, ts.timestamp), ts.signature) === true;
      } catch {
        ok = false;
      }
    }
    if (!ok || ts === null) {
      throw new SigilError('SIGNATURE_INVALID', `invalid cosignature for key ${id}`, {
        name: s.name,
        keyHash: toHex(s.keyHash),
        timestamp: ts?.timestamp,
      });
    }
    found.set(s.name, Math.max(found.get(s.name) ?? -1, ts.timestamp));
  }
  return {
    body,
    checkpoint,
    cosignatures: [...found].map(([name, timestamp]) => ({ name, timestamp })),
  };
}

// ---------------------------------------------------------------------------------------------------------
// The witness

/** What a witness remembers about one log: the last checkpoint it cosigned. JSON-serialisable. */
export interface WitnessState {
  readonly origin: string;
  readonly size: number;
  /** Standard base64 of the 32-byte root hash. */
  readonly rootHash: string;
  /** POSIX seconds of its last cosignature, or null if it has cosigned nothing yet. */
  readonly cosignedAt: number | null;
}

/** The state of a witness that has seen nothing of `origin` yet: the empty tree (size 0). */
export function newWitnessState(origin: string): WitnessState {
  if (typeof origin !== 'string' || origin.length === 0 || origin.includes('\n'))
    throw bad('origin must be a non-empty line');
  return { origin, size: 0, rootHash: toBase64(sha256(new Uint8Array(0))), cosignedAt: null };
}

export type CosignRefusal =
  /** Not a signed checkpoint note. */
  | 'malformed'
  /** The log's signature does not verify under opts.logKeys. */
  | 'bad_log_signature'
  /** The checkpoint is for another log. */
  | 'wrong_origin'
  /** Smaller than the checkpoint last cosigned. */
  | 'rollback'
  /** Not consistent with the checkpoint last cosigned: same size with another root, or a failing proof. */
  | 'split_view'
  /** The timestamp is before the last cosignature's. */
  | 'clock_regressed';

export type CosignResult =
  | {
      readonly ok: true;
      /** The note with this witness's cosignature added. */
      readonly note: string;
      readonly checkpoint: Checkpoint;
      /** The witness's state to persist (replacing the old one) before handing out the note. */
      readonly state: WitnessState;
    }
  | { readonly ok: false; readonly reason: CosignRefusal; readonly message: string };

export interface CheckAndCosignOptions {
  /** The log's note verifier keys (type 0x01, name = origin). */
  readonly logKeys: readonly NoteVerifier[];
  readonly witnessName: string;
  readonly signer: CosignatureSigner;
  /** POSIX seconds. */
  readonly timestamp: number;
  /** Defaults to the strict Ed25519 verify of ed25519.ts. */
  readonly verify?: VerifyFn;
}

/**
 * The witness's decision on a new signed checkpoint: verify the log's signature, then require it to be
 * for the same origin, not smaller than the checkpoint last cosigned, and consistent with it (RFC 6962
 * consistency proof from state.size to the new size via verifyConsistency; equal sizes need an empty proof
 * and the same root). Only then cosign it. Anything else is refused and the state is unchanged: a witness
 * never cosigns two inconsistent views of a log (split view). Throws only for bad options.
 */
export function checkAndCosign(
  state: WitnessState,
  signedCheckpoint: string,
  consistencyProof: readonly Hash[],
  opts: CheckAndCosignOptions,
): CosignResult {
  assertTimestamp(opts.timestamp);
  assertName(opts.witnessName);
  assertValidPublicKey(opts.signer.publicKey, 'witness public key');
  const verify = opts.verify ?? ed25519Verify;
  let checkpoint: Checkpoint;
  try {
    checkpoint = parseCheckpoint(parseSignedNote(signedCheckpoint).body);
  } catch (e) {
    if (e instanceof SigilError) return { ok: false, reason: 'malformed', message: e.message };
    throw e;
  }
  try {
    verifySignedNote(signedCheckpoint, opts.logKeys, verify);
  } catch (e) {
    if (e instanceof SigilError) return { ok: false, reason: 'bad_log_signature', message: e.message };
    throw e;
  }
  if (checkpoint.origin !== state.origin)
    return {
      ok: false,
      reason: 'wrong_origin',
      message: `checkpoint origin ${JSON.stringify(checkpoint.origin)} is not ${JSON.stringify(state.origin)}`,
    };
  if (checkpoint.size < state.size)
    return {
      ok: false,
      reason: 'rollback',
      message: `checkpoint size ${checkpoint.size} is smaller than the ${state.size} already cosigned`,
    };
  let oldRoot: Uint8Array;
  try {
    oldRoot = fromBase64(state.rootHash);
  } catch {
    throw new SigilError('BAD_USAGE', 'witness state rootHash is not base64');
  }
  if (oldRoot.length !== 32 || toBase64(oldRoot) !== state.rootHash)
    throw new SigilError('BAD_USAGE', 'witness state rootHash must be base64 of 32 bytes');
  if (!verifyConsistency(state.size, checkpoint.size, oldRoot, checkpoint.rootHash, consistencyProof))
    return {
      ok: false,
      reason: 'split_view',
      message:
        checkpoint.size === state.size
          ? `checkpoint ${checkpoint.size} has another root than the one already cosigned at this size`
          : `checkpoint ${checkpoint.size} is not consistent with the cosigned ${state.size} (consistency proof fails)`,
    };
  if (state.cosignedAt !== null && opts.timestamp < state.cosignedAt)
    return {
      ok: false,
      reason: 'clock_regressed',
      message: `timestamp ${opts.timestamp} is before the last cosignature's ${state.cosignedAt}`,
    };
  const note = cosignCheckpoint(signedCheckpoint, opts.witnessName, opts.signer, opts.timestamp);
  return {
    ok: true,
    note,
    checkpoint,
    state: {
      origin: state.origin,
      size: checkpoint.size,
      rootHash: toBase64(checkpoint.rootHash),
      cosignedAt: opts.timestamp,
    },
  };
}
