/**
 * Witness key files: the format, with no file I/O (server/src/governance/witness-keys.ts and the extension's
 * client/src/keyFiles.ts do the reading and writing). A witness need not share the store's machine:
 * `sigil witness keygen` writes a private key file (the key sealed like an identity's: in clear or scrypt +
 * AES-256-GCM) and a public file to hand to the store owner; `sigil witness sign` reads the private one and
 * signs an exported proposal.
 *
 *     NAME.key.json  { "type": "sigil.witness-key", "version": 1, "id": <witness id>, "name": <note key name>,
 *                      "key": <the key object of an identity file> }                          mode 0600
 *     NAME.pub.json  { "type": "sigil.witness-public", "version": 1, "id", "name",
 *                      "public_key": <base64>, "key_id": <hex> }
 */
import { randomBytes } from 'node:crypto';
import { fromBase64, toBase64 } from './bytes.js';
import { Ed25519Signer, checkPublicKey, keyId, publicKeyFromSeed } from './ed25519.js';
import { SigilError } from './errors.js';
import {
  parseIdentityKey,
  sealSeed,
  unsealSeed,
  type IdentityKey,
  type ReadIdentityOptions,
} from './identity-file.js';
import { parseStrictJson } from './jcs.js';
import { isValidKeyName } from './note.js';

export const WITNESS_KEY_TYPE = 'sigil.witness-key';
export const PUBLIC_WITNESS_TYPE = 'sigil.witness-public';
const VERSION = 1;
const WITNESS_ID = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/** Largest witness file read. */
export const MAX_WITNESS_FILE_BYTES = 64 * 1024;

export interface WitnessKeyFile {
  readonly type: typeof WITNESS_KEY_TYPE;
  readonly version: 1;
  readonly id: string;
  readonly name: string;
  readonly key: IdentityKey;
}

export interface PublicWitness {
  readonly type: typeof PUBLIC_WITNESS_TYPE;
  readonly version: 1;
  readonly id: string;
  readonly name: string;
  readonly public_key: string;
  readonly key_id: string;
}

export interface LoadedWitnessKey {
  readonly id: string;
  readonly name: string;
  readonly signer: Ed25519Signer;
  readonly publicKey: Uint8Array;
  readonly keyId: string;
}

/** What a public witness file gives: its id, name and a checked public key (base64). */
export interface PublicWitnessInfo {
  readonly id: string;
  readonly name: string;
  readonly publicKey: string;
}

export function checkWitnessId(id: string, what = 'witness id'): void {
  if (!WITNESS_ID.test(id))
    throw new SigilError(
      'BAD_INPUT',
      `${what} ${JSON.stringify(id)} must be 1 to 64 of a-z 0-9 . _ - (starting with a letter or digit)`,
    );
}

export function checkWitnessName(name: string): void {
  if (!isValidKeyName(name))
    throw new SigilError(
      'BAD_INPUT',
      `witness name ${JSON.stringify(name)} must be a signed-note key name: printable, no spaces and no "+"`,
    );
}

function publicOf(id: string, name: string, publicKey: Uint8Array): PublicWitness {
  return {
    type: PUBLIC_WITNESS_TYPE,
    version: VERSION,
    id,
    name,
    public_key: toBase64(publicKey),
    key_id: keyId(publicKey),
  };
}

/** A new witness key (fresh seed), sealed with `passphrase` when given. */
export async function createWitnessKey(
  id: string,
  name: string,
  opts: { passphrase?: string | undefined; scryptLogN?: number } = {},
): Promise<{ file: WitnessKeyFile; public: PublicWitness }> {
  checkWitnessId(id);
  checkWitnessName(name);
  const seed = new Uint8Array(randomBytes(32));
  try {
    const key = await sealSeed(seed, opts);
    return {
      file: { type: WITNESS_KEY_TYPE, version: VERSION, id, name, key },
      public: publicOf(id, name, publicKeyFromSeed(seed)),
    };
  } finally {
    seed.fill(0);
  }
}

/** The file names (`<id>.key.json`, `<id>.pub.json`) and exact texts a writer puts in a key directory. */
export function witnessKeyFileTexts(key: { file: WitnessKeyFile; public: PublicWitness }): {
  keyName: string;
  keyText: string;
  publicName: string;
  publicText: string;
} {
  return {
    keyName: `${key.file.id}.key.json`,
    keyText: JSON.stringify(key.file, null, 2) + '\n',
    publicName: `${key.file.id}.pub.json`,
    publicText: JSON.stringify(key.public, null, 2) + '\n',
  };
}

/** The HOME_EXISTS refusal of a writer that finds a witness key file already there. */
export function witnessExistsError(file: string): SigilError {
  return new SigilError('HOME_EXISTS', `${file} already exists; refusing to overwrite a witness key`, {
    path: file,
  });
}

/** The NOT_FOUND of a reader that finds no file at `file`; `what` says which. */
export function witnessNotFoundError(file: string, what: 'witness key' | 'public witness'): SigilError {
  return what === 'witness key'
    ? new SigilError('NOT_FOUND', `no witness key file at ${file}`, { path: file })
    : new SigilError('NOT_FOUND', `${what}: no such file ${file}`, { path: file });
}

function parseDoc(text: string, file: string, what: string): Record<string, unknown> {
  if (Buffer.byteLength(text) > MAX_WITNESS_FILE_BYTES)
    throw new SigilError('BAD_INPUT', `${file} is larger than ${MAX_WITNESS_FILE_BYTES} bytes`);
  const doc = parseStrictJson(text, file);
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw new SigilError('BAD_INPUT', `${file}: ${what} must be a JSON object`);
  return doc as Record<string, unknown>;
}

function exactFields(doc: Record<string, unknown>, fields: readonly string[], file: string): void {
  const extra = Object.keys(doc).find((k) => !fields.includes(k));
  if (extra !== undefined)
    throw new SigilError('BAD_INPUT', `${file}: unexpected field ${JSON.stringify(extra)}`);
  const missing = fields.find((k) => !Object.hasOwn(doc, k));
  if (missing !== undefined)
    throw new SigilError('BAD_INPUT', `${file}: missing field ${JSON.stringify(missing)}`);
}

/**
 * Strictly parses the text of a private witness key file read from `file` without unsealing it: BAD_INPUT
 * for anything malformed, and for a public witness file given where the private one is needed.
 */
export function parseWitnessKeyText(text: string, file: string): WitnessKeyFile {
  const doc = parseDoc(text, file, 'witness key');
  if (doc.type === PUBLIC_WITNESS_TYPE)
    throw new SigilError(
      'BAD_INPUT',
      `${file} is a public witness file; signing needs the private key file (.key.json)`,
    );
  exactFields(doc, ['type', 'version', 'id', 'name', 'key'], file);
  if (doc.type !== WITNESS_KEY_TYPE || doc.version !== VERSION)
    throw new SigilError(
      'BAD_INPUT',
      `${file}: not a Sigil witness key file (type ${WITNESS_KEY_TYPE}, version 1)`,
    );
  const id = String(doc.id);
  const name = String(doc.name);
  checkWitnessId(id);
  checkWitnessName(name);
  const key = parseIdentityKey(doc.key, file);
  return { type: WITNESS_KEY_TYPE, version: VERSION, id, name, key };
}

/**
 * Unseals a parsed witness key (PASSPHRASE_REQUIRED / PASSPHRASE_WRONG as an identity's) and checks that the
 * seed produces its public_key (KEY_INVALID). `where` names the file in messages.
 */
export async function unlockWitnessKey(
  doc: WitnessKeyFile,
  opts: ReadIdentityOptions,
  where: string,
): Promise<LoadedWitnessKey> {
  const seed = await unsealSeed(doc.key, opts, where);
  try {
    const signer = new Ed25519Signer(seed);
    if (toBase64(signer.publicKey) !== doc.key.public_key)
      throw new SigilError('KEY_INVALID', `${where}: the stored seed does not produce its public_key`);
    return { id: doc.id, name: doc.name, signer, publicKey: signer.publicKey, keyId: signer.keyId };
  } finally {
    seed.fill(0);
  }
}

/**
 * Parses the text of a public witness file read from `file` (a private key file is refused): id, name and a
 * public key checked as a point (KEY_INVALID for a small-order or invalid key, architecture invariant 7).
 */
export function parsePublicWitnessText(text: string, file: string): PublicWitnessInfo {
  const doc = parseDoc(text, file, 'public witness');
  let id: string;
  let name: string;
  let publicKey: string;
  if (doc.type === WITNESS_KEY_TYPE) {
    // The private file must stay with the witness; handing it around defeats having a witness at all.
    throw new SigilError(
      'BAD_INPUT',
      `${file} is a PRIVATE witness key file; give the public one (${String(doc.id)}.pub.json) instead and keep this one with the witness`,
    );
  } else if (doc.type === PUBLIC_WITNESS_TYPE) {
    exactFields(doc, ['type', 'version', 'id', 'name', 'public_key', 'key_id'], file);
    id = String(doc.id);
    name = String(doc.name);
    publicKey = String(doc.public_key);
    let bytes: Uint8Array;
    try {
      bytes = fromBase64(publicKey);
    } catch {
      bytes = new Uint8Array(0);
    }
    if (bytes.length !== 32 || keyId(bytes) !== doc.key_id)
      throw new SigilError('BAD_INPUT', `${file}: public_key and key_id do not match`);
  } else {
    throw new SigilError('BAD_INPUT', `${file}: not a Sigil witness file (type ${PUBLIC_WITNESS_TYPE})`);
  }
  checkWitnessId(id);
  checkWitnessName(name);
  const problem = checkPublicKey(fromBase64(publicKey));
  if (problem !== null)
    throw new SigilError('KEY_INVALID', `${file}: the witness key is refused: ${problem}`);
  return { id, name, publicKey };
}
