/**
 * Witness key files. A witness need not share the store's machine: `sigil witness keygen` writes a private
 * key file (the key sealed like an identity's: in clear or scrypt + AES-256-GCM) and a public file to hand
 * to the store owner; `sigil witness sign` reads the private one and signs an exported proposal.
 *
 *     NAME.key.json  { "type": "sigil.witness-key", "version": 1, "id": <witness id>, "name": <note key name>,
 *                      "key": <the key object of an identity file> }                          mode 0600
 *     NAME.pub.json  { "type": "sigil.witness-public", "version": 1, "id", "name",
 *                      "public_key": <base64>, "key_id": <hex> }
 */
import { randomBytes } from 'node:crypto';
import { promises as fs, constants as fsConstants } from 'node:fs';
import path from 'node:path';
import { SigilError } from '../../../shared/src/errors.js';
import { fromBase64, toBase64 } from '../../../shared/src/bytes.js';
import { Ed25519Signer, checkPublicKey, keyId, publicKeyFromSeed } from '../../../shared/src/ed25519.js';
import { parseStrictJson } from '../../../shared/src/jcs.js';
import { isValidKeyName } from '../../../shared/src/note.js';
import { syncDirectory } from '../runtime/fsync.js';
import {
  parseIdentityKey,
  sealSeed,
  unsealSeed,
  type IdentityKey,
  type ReadIdentityOptions,
} from './identity.js';

export const WITNESS_KEY_TYPE = 'sigil.witness-key';
export const PUBLIC_WITNESS_TYPE = 'sigil.witness-public';
const VERSION = 1;
const WITNESS_ID = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const MAX_FILE_BYTES = 64 * 1024;

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

async function writeNew(file: string, text: string, mode: number): Promise<void> {
  const handle = await fs
    .open(file, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, mode)
    .catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'EEXIST')
        throw new SigilError('HOME_EXISTS', `${file} already exists; refusing to overwrite a witness key`, {
          path: file,
        });
      throw e;
    });
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes `<dir>/<id>.key.json` (0600) and `<dir>/<id>.pub.json`; refuses to overwrite either. */
export async function writeWitnessKeyFiles(
  dir: string,
  key: { file: WitnessKeyFile; public: PublicWitness },
): Promise<{ keyFile: string; publicFile: string }> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const keyFile = path.join(dir, `${key.file.id}.key.json`);
  const publicFile = path.join(dir, `${key.file.id}.pub.json`);
  for (const f of [keyFile, publicFile])
    if (
      await fs.stat(f).then(
        () => true,
        () => false,
      )
    )
      throw new SigilError('HOME_EXISTS', `${f} already exists; refusing to overwrite a witness key`, {
        path: f,
      });
  await writeNew(keyFile, JSON.stringify(key.file, null, 2) + '\n', 0o600);
  await writeNew(publicFile, JSON.stringify(key.public, null, 2) + '\n', 0o644);
  await syncDirectory(dir);
  return { keyFile, publicFile };
}

async function readDoc(file: string, what: string): Promise<Record<string, unknown>> {
  const text = await fs.readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT')
      throw new SigilError('NOT_FOUND', `${what}: no such file ${file}`, { path: file });
    throw e;
  });
  if (Buffer.byteLength(text) > MAX_FILE_BYTES)
    throw new SigilError('BAD_INPUT', `${file} is larger than ${MAX_FILE_BYTES} bytes`);
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

/** Reads and unlocks a private witness key file (refused when group/others can read it). */
export async function readWitnessKey(
  file: string,
  opts: ReadIdentityOptions = {},
): Promise<LoadedWitnessKey> {
  const st = await fs.stat(file).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT')
      throw new SigilError('NOT_FOUND', `no witness key file at ${file}`, { path: file });
    throw e;
  });
  if (process.platform !== 'win32' && (st.mode & 0o077) !== 0)
    throw new SigilError(
      'KEY_INVALID',
      `${file} is accessible to other users (mode ${(st.mode & 0o777).toString(8)}); run: chmod 600 ${JSON.stringify(file)}`,
    );
  const doc = await readDoc(file, 'witness key');
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
  const seed = await unsealSeed(key, opts, file);
  try {
    const signer = new Ed25519Signer(seed);
    if (toBase64(signer.publicKey) !== key.public_key)
      throw new SigilError('KEY_INVALID', `${file}: the stored seed does not produce its public_key`);
    return { id, name, signer, publicKey: signer.publicKey, keyId: signer.keyId };
  } finally {
    seed.fill(0);
  }
}

/** Reads a public witness file (a private key file is refused): id, name and a checked public key. */
export async function readPublicWitness(
  file: string,
): Promise<{ id: string; name: string; publicKey: string }> {
  const doc = await readDoc(file, 'public witness');
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
