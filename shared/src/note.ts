/**
 * C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 signatures, and the tlog-checkpoint note
 * body (https://c2sp.org/tlog-checkpoint). Wire-compatible with golang.org/x/mod/sumdb/note.
 *
 *   <text ending in "\n">
 *   <blank line>
 *   — <key name> <base64(key ID (4 bytes, big-endian) || signature)>\n   (one or more)
 *
 * - The signed message is the note text (the body), final newline included, separating blank line excluded.
 * - key ID = SHA-256(key name || 0x0A || 0x01 || 32-byte Ed25519 public key)[:4].
 * - Verifier key string: `<name>+<8 hex key ID>+<base64(0x01 || public key)>`.
 * - Verification: signatures whose (name, key ID) match no configured verifier are ignored; a signature that
 *   matches one must verify, otherwise the whole note is rejected; at least one must verify.
 *
 * Signing and verifying are passed in (dependency injection) so this module is independent of key storage.
 * Parsing is strict: every malformed input is SigilError('BAD_INPUT'); bad or missing signatures are
 * SigilError('SIGNATURE_INVALID').
 */
import { bytesEqual, concatBytes, fromBase64, toBase64, toHex, utf8 } from './bytes.js';
import { SigilError } from './errors.js';
import { sha256 } from './hash.js';

/** Signature type identifier byte for Ed25519 (C2SP signed-note). */
export const SIG_TYPE_ED25519 = 0x01;
export const ED25519_PUBLIC_KEY_LENGTH = 32;
export const ED25519_SIGNATURE_LENGTH = 64;
export const KEY_HASH_LENGTH = 4;
/** Upper bound on signature lines per note (the spec requires accepting at least 16; Go uses 100). */
export const MAX_NOTE_SIGNATURES = 100;
/** The em dash and space that start every signature line. */
export const SIGNATURE_PREFIX = '\u2014 ';

export type SignFn = (message: Uint8Array) => Uint8Array;
export type VerifyFn = (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean;

export interface NoteSignature {
  readonly name: string;
  /** 4-byte key ID. */
  readonly keyHash: Uint8Array;
  /** Signature bytes after the key ID (64 bytes for Ed25519; other lengths allowed for unknown signers). */
  readonly signature: Uint8Array;
}

export interface NoteVerifier {
  readonly name: string;
  readonly publicKey: Uint8Array;
}

export interface Checkpoint {
  origin: string;
  size: number;
  rootHash: Uint8Array;
  /** Optional extension lines (each non-empty, without the newline); usually empty. */
  extensions: string[];
}

// ---------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------

function bad(message: string, details?: Record<string, unknown>): SigilError {
  return new SigilError('BAD_INPUT', message, details);
}

/** Index of the first ASCII control character other than newline, or -1. */
function controlCharAt(s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 && c !== 0x0a) return i;
  }
  return -1;
}

/* A UTF-16 surrogate without its partner: such a string has no UTF-8 encoding. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
/* Unicode White_Space, the same set as Go's unicode.IsSpace. */
const SPACE = /\p{White_Space}/u;

function assertNoteText(text: string, what: string): void {
  if (LONE_SURROGATE.test(text)) throw bad(`${what} is not valid UTF-8 (lone surrogate)`);
  const at = controlCharAt(text);
  if (at >= 0) {
    const hex = text.charCodeAt(at).toString(16).padStart(4, '0');
    throw bad(`${what} contains a control character (U+${hex}) at offset ${at}`);
  }
}

/** Key names: non-empty, valid UTF-8, no Unicode white space, no '+'. */
export function isValidKeyName(name: string): boolean {
  return (
    typeof name === 'string' &&
    name.length > 0 &&
    !SPACE.test(name) &&
    !name.includes('+') &&
    !LONE_SURROGATE.test(name) &&
    controlCharAt(name) < 0
  );
}

function assertKeyName(name: string): void {
  if (!isValidKeyName(name)) {
    throw bad(`invalid key name ${JSON.stringify(name)}: must be non-empty, without spaces or '+'`);
  }
}

function assertPublicKey(publicKey: Uint8Array): void {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== ED25519_PUBLIC_KEY_LENGTH) {
    throw bad(`an Ed25519 public key must be ${ED25519_PUBLIC_KEY_LENGTH} bytes`);
  }
}

/** Standard padded base64 in its canonical form only (no stray bits in the last character), else undefined. */
function decodeBase64Strict(s: string): Uint8Array | undefined {
  let b: Uint8Array;
  try {
    b = fromBase64(s);
  } catch {
    return undefined;
  }
  return toBase64(b) === s ? b : undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------------------------

/** The 4-byte key ID: SHA-256(name || 0x0A || 0x01 || publicKey)[:4]. */
export function noteKeyHash(name: string, publicKey: Uint8Array): Uint8Array {
  assertKeyName(name);
  assertPublicKey(publicKey);
  return sha256(concatBytes(utf8(name), Uint8Array.of(0x0a, SIG_TYPE_ED25519), publicKey)).slice(
    0,
    KEY_HASH_LENGTH,
  );
}

/** `<name>+<hex8 key ID>+<base64(0x01 || publicKey)>`, the form Go's note.NewVerifier reads. */
export function verifierKey(name: string, publicKey: Uint8Array): string {
  const hash = noteKeyHash(name, publicKey);
  return `${name}+${toHex(hash)}+${toBase64(concatBytes(Uint8Array.of(SIG_TYPE_ED25519), publicKey))}`;
}

/** Parses and checks a verifier key string (the key ID must match the name and key). */
export function parseVerifierKey(vkey: string): { name: string; publicKey: Uint8Array; keyHash: Uint8Array } {
  if (typeof vkey !== 'string') throw bad('verifier key must be a string');
  const i = vkey.indexOf('+');
  const j = i < 0 ? -1 : vkey.indexOf('+', i + 1);
  if (i < 0 || j < 0) throw bad('malformed verifier key: expected <name>+<hash>+<key>');
  const name = vkey.slice(0, i);
  const hash16 = vkey.slice(i + 1, j);
  const key64 = vkey.slice(j + 1);
  if (!isValidKeyName(name)) throw bad(`malformed verifier key: invalid name ${JSON.stringify(name)}`);
  if (!/^[0-9a-fA-F]{8}$/.test(hash16)) throw bad('malformed verifier key: key ID must be 8 hex digits');
  const key = decodeBase64Strict(key64);
  if (key === undefined || key.length === 0) throw bad('malformed verifier key: key is not base64');
  if (key[0] !== SIG_TYPE_ED25519) {
    throw bad(`unsupported verifier key algorithm 0x${(key[0] as number).toString(16).padStart(2, '0')}`);
  }
  if (key.length !== 1 + ED25519_PUBLIC_KEY_LENGTH) {
    throw bad(`malformed verifier key: Ed25519 key must be ${ED25519_PUBLIC_KEY_LENGTH} bytes`);
  }
  const publicKey = key.slice(1);
  const keyHash = noteKeyHash(name, publicKey);
  if (toHex(keyHash) !== hash16.toLowerCase()) {
    throw bad(`verifier key ID ${hash16} does not match its name and key (expected ${toHex(keyHash)})`);
  }
  return { name, publicKey, keyHash };
}

// ---------------------------------------------------------------------------------------------------------
// Signed notes
// ---------------------------------------------------------------------------------------------------------

function signatureLine(sig: NoteSignature): string {
  return `${SIGNATURE_PREFIX}${sig.name} ${toBase64(concatBytes(sig.keyHash, sig.signature))}\n`;
}

function assertBody(body: string): void {
  if (typeof body !== 'string' || !body.endsWith('\n')) throw bad('note text must end with a newline');
  assertNoteText(body, 'note text');
}

/** Serialises a body and its signatures (at least one) as a signed note. */
export function formatSignedNote(body: string, signatures: readonly NoteSignature[]): string {
  assertBody(body);
  if (signatures.length === 0) throw bad('a signed note needs at least one signature');
  if (signatures.length > MAX_NOTE_SIGNATURES) throw bad(`more than ${MAX_NOTE_SIGNATURES} signatures`);
  for (const s of signatures) {
    assertKeyName(s.name);
    if (!(s.keyHash instanceof Uint8Array) || s.keyHash.length !== KEY_HASH_LENGTH) {
      throw bad(`key ID must be ${KEY_HASH_LENGTH} bytes`);
    }
    if (!(s.signature instanceof Uint8Array) || s.signature.length === 0) throw bad('empty signature');
  }
  return `${body}\n${signatures.map(signatureLine).join('')}`;
}

function makeSignature(body: string, name: string, publicKey: Uint8Array, sign: SignFn): NoteSignature {
  assertBody(body);
  const keyHash = noteKeyHash(name, publicKey);
  const signature = sign(utf8(body));
  if (!(signature instanceof Uint8Array) || signature.length !== ED25519_SIGNATURE_LENGTH) {
    throw bad(
      `signer returned a ${String(signature?.length)}-byte signature, expected ${ED25519_SIGNATURE_LENGTH}`,
    );
  }
  return { name, keyHash, signature: new Uint8Array(signature) };
}

/** Signs `body` (which must end in "\n") and returns the full signed note. */
export function signNote(body: string, name: string, publicKey: Uint8Array, sign: SignFn): string {
  return formatSignedNote(body, [makeSignature(body, name, publicKey, sign)]);
}

/**
 * Adds a signature over the note's body (e.g. a cosigner's). A signature with the same name and key ID is
 * replaced in place; otherwise the new line is appended. Existing signatures are kept as they are (not verified).
 */
export function addSignature(signedNote: string, name: string, publicKey: Uint8Array, sign: SignFn): string {
  const { body, signatures } = parseSignedNote(signedNote);
  const sig = makeSignature(body, name, publicKey, sign);
  const at = signatures.findIndex((s) => s.name === name && bytesEqual(s.keyHash, sig.keyHash));
  const out = signatures.slice();
  if (at >= 0) out[at] = sig;
  else out.push(sig);
  return formatSignedNote(body, out);
}

/**
 * Strict parse of a signed note. Accepts a string or raw bytes (which must be valid UTF-8).
 * The body is everything up to and including the newline before the last blank line.
 */
export function parseSignedNote(text: string | Uint8Array): { body: string; signatures: NoteSignature[] } {
  let s: string;
  if (text instanceof Uint8Array) {
    try {
      s = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(text);
    } catch {
      throw bad('signed note is not valid UTF-8');
    }
  } else if (typeof text === 'string') {
    s = text;
  } else {
    throw bad('signed note must be a string or bytes');
  }
  assertNoteText(s, 'signed note');
  const split = s.lastIndexOf('\n\n');
  if (split < 0) throw bad('signed note has no blank line before its signatures');
  const body = s.slice(0, split + 1);
  const block = s.slice(split + 2);
  if (block.length === 0) throw bad('signed note has no signatures');
  if (!block.endsWith('\n')) throw bad('signed note must end with a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_NOTE_SIGNATURES)
    throw bad(`signed note has more than ${MAX_NOTE_SIGNATURES} signatures`);
  const signatures = lines.map((line, n): NoteSignature => {
    if (!line.startsWith(SIGNATURE_PREFIX)) {
      throw bad(`signature line ${n + 1} does not start with an em dash (U+2014) and a space`);
    }
    const rest = line.slice(SIGNATURE_PREFIX.length);
    const sp = rest.indexOf(' ');
    const name = sp < 0 ? rest : rest.slice(0, sp);
    const b64 = sp < 0 ? '' : rest.slice(sp + 1);
    if (!isValidKeyName(name)) throw bad(`signature line ${n + 1} has an invalid key name`);
    const raw = b64 === '' ? undefined : decodeBase64Strict(b64);
    if (raw === undefined) throw bad(`signature line ${n + 1} is not base64`);
    if (raw.length < KEY_HASH_LENGTH + 1) throw bad(`signature line ${n + 1} is too short`);
    return { name, keyHash: raw.slice(0, KEY_HASH_LENGTH), signature: raw.slice(KEY_HASH_LENGTH) };
  });
  return { body, signatures };
}

/**
 * Opens a signed note. Signatures from keys not among `verifiers` (by name and key ID) are ignored. Throws
 * SigilError('SIGNATURE_INVALID') if a signature from a known key fails, or if no known key signed;
 * SigilError('BAD_INPUT') for a malformed note or verifier list.
 * `verifiedBy` lists the names of the verifiers whose signatures checked out, in note order, without repeats.
 */
export function verifySignedNote(
  text: string | Uint8Array,
  verifiers: readonly NoteVerifier[],
  verify: VerifyFn,
): { body: string; verifiedBy: string[] } {
  const { body, signatures } = parseSignedNote(text);
  const known = verifiers.map((v) => ({
    name: v.name,
    publicKey: v.publicKey,
    keyHash: noteKeyHash(v.name, v.publicKey),
  }));
  const message = utf8(body);
  const verifiedBy: string[] = [];
  for (const sig of signatures) {
    const matches = known.filter((k) => k.name === sig.name && bytesEqual(k.keyHash, sig.keyHash));
    if (matches.length === 0) continue; // unknown key: ignored
    const id = `${sig.name}+${toHex(sig.keyHash)}`;
    const first = matches[0] as (typeof matches)[number];
    if (matches.some((k) => !bytesEqual(k.publicKey, first.publicKey))) {
      throw bad(`ambiguous verifier key ${id}: several public keys share this name and key ID`);
    }
    let ok = false;
    let cause: unknown;
    if (sig.signature.length === ED25519_SIGNATURE_LENGTH) {
      try {
        ok = verify(first.publicKey, message, sig.signature) === true;
      } catch (e) {
        cause = e;
      }
    }
    if (!ok) {
      throw new SigilError(
        'SIGNATURE_INVALID',
        `invalid signature for key ${id}`,
        { name: sig.name, keyHash: toHex(sig.keyHash) },
        cause === undefined ? undefined : { cause },
      );
    }
    if (!verifiedBy.includes(sig.name)) verifiedBy.push(sig.name);
  }
  if (verifiedBy.length === 0) {
    throw new SigilError('SIGNATURE_INVALID', 'note has no valid signature from a known key', {
      signers: signatures.map((s) => `${s.name}+${toHex(s.keyHash)}`),
    });
  }
  return { body, verifiedBy };
}

// ---------------------------------------------------------------------------------------------------------
// Checkpoints (c2sp.org/tlog-checkpoint)
// ---------------------------------------------------------------------------------------------------------

const SIZE_RE = /^(?:0|[1-9][0-9]*)$/;

function assertLine(s: string, what: string): void {
  if (typeof s !== 'string' || s.length === 0) throw bad(`checkpoint ${what} must be a non-empty string`);
  if (s.includes('\n')) throw bad(`checkpoint ${what} must not contain a newline`);
  assertNoteText(s, `checkpoint ${what}`);
}

/** "origin\nsize\nbase64(root)\n" followed by one line per extension. */
export function formatCheckpoint(cp: Checkpoint): string {
  assertLine(cp.origin, 'origin');
  if (!Number.isSafeInteger(cp.size) || cp.size < 0) {
    throw bad(`checkpoint size must be a non-negative safe integer, got ${String(cp.size)}`);
  }
  if (!(cp.rootHash instanceof Uint8Array) || cp.rootHash.length !== 32) {
    throw bad('checkpoint root hash must be 32 bytes');
  }
  for (const e of cp.extensions) assertLine(e, 'extension line');
  return `${cp.origin}\n${cp.size}\n${toBase64(cp.rootHash)}\n${cp.extensions.map((e) => `${e}\n`).join('')}`;
}

/** Strict parse of a checkpoint note body (as returned by verifySignedNote). */
export function parseCheckpoint(body: string): Checkpoint {
  if (typeof body !== 'string' || !body.endsWith('\n')) throw bad('checkpoint must end with a newline');
  assertNoteText(body, 'checkpoint');
  const lines = body.slice(0, -1).split('\n');
  if (lines.length < 3) throw bad('checkpoint needs origin, size and root hash lines');
  const [origin, sizeText, rootText, ...extensions] = lines as [string, string, string, ...string[]];
  if (origin.length === 0) throw bad('checkpoint origin is empty');
  if (!SIZE_RE.test(sizeText))
    throw bad(`checkpoint size ${JSON.stringify(sizeText)} is not a canonical decimal`);
  const size = Number(sizeText);
  if (!Number.isSafeInteger(size)) throw bad(`checkpoint size ${sizeText} is too large`);
  const rootHash = decodeBase64Strict(rootText);
  if (rootHash === undefined) throw bad('checkpoint root hash is not canonical base64');
  if (rootHash.length !== 32) throw bad(`checkpoint root hash is ${rootHash.length} bytes, expected 32`);
  if (extensions.some((e) => e.length === 0)) throw bad('checkpoint extension lines must be non-empty');
  return { origin, size, rootHash, extensions };
}
