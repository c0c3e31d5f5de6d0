/**
 * The keystore: one file holding the root signing key, the runtime signing key and the AES-256-GCM data
 * key. One scrypt derivation unlocks all three, so a CLI call pays the KDF once, not per key.
 */
import { randomBytes, createHash } from 'node:crypto';
import { promises as fs, constants as fsConstants } from 'node:fs';
import path from 'node:path';
import { seal, open } from '../../../shared/src/aead.js';
import { fromBase64, toBase64, utf8 } from '../../../shared/src/bytes.js';
import {
  Ed25519Signer,
  generateKeyPair,
  assertValidPublicKey,
  publicKeyFromSeed,
  keyId,
} from '../../../shared/src/ed25519.js';
import { SigilError } from '../../../shared/src/errors.js';
import { deriveKey } from '../runtime/kdf.js';

export const KEYSTORE_FILE = 'keystore.json';
export type KeyPurpose = 'root' | 'runtime' | 'data';
const PURPOSES: readonly KeyPurpose[] = ['root', 'runtime', 'data'];

interface StoredSecret {
  readonly purpose: KeyPurpose;
  readonly key_id: string;
  readonly public_key?: string;
  readonly nonce?: string;
  readonly secret: string;
}

interface KeystoreFile {
  readonly sigil_keystore: 1;
  readonly protection: 'scrypt-aes-256-gcm' | 'none';
  readonly kdf?: {
    readonly alg: 'scrypt';
    readonly log_n: number;
    readonly r: number;
    readonly p: number;
    readonly salt: string;
  };
  readonly keys: readonly StoredSecret[];
}

export interface PublicKeyInfo {
  readonly keyId: string;
  readonly publicKey: Uint8Array;
}

export interface Keystore {
  readonly root: Ed25519Signer;
  readonly runtime: Ed25519Signer;
  readonly dataKey: Uint8Array;
  readonly dataKeyId: string;
  readonly encrypted: boolean;
}

export function dataKeyId(key: Uint8Array): string {
  return createHash('sha256').update('sigil-data-key-id/v1\n').update(key).digest('hex').slice(0, 32);
}

function secretAad(purpose: KeyPurpose, id: string): Uint8Array {
  return utf8(`sigil-keystore/v1\n${purpose}\n${id}`);
}

export interface CreateKeystoreOptions {
  readonly passphrase: string | undefined;
  readonly scryptLogN: number;
}

/** Creates a new keystore file in `home` (owner-only permissions); refuses to overwrite one. */
export async function createKeystore(home: string, opts: CreateKeystoreOptions): Promise<Keystore> {
  const root = generateKeyPair();
  const runtime = generateKeyPair();
  const dataKey = new Uint8Array(randomBytes(32));
  const secrets: Array<{ purpose: KeyPurpose; id: string; pub?: Uint8Array; secret: Uint8Array }> = [
    { purpose: 'root', id: keyId(root.publicKey), pub: root.publicKey, secret: root.seed },
    { purpose: 'runtime', id: keyId(runtime.publicKey), pub: runtime.publicKey, secret: runtime.seed },
    { purpose: 'data', id: dataKeyId(dataKey), secret: dataKey },
  ];
  let file: KeystoreFile;
  if (opts.passphrase !== undefined) {
    if (opts.passphrase.length < 8) {
      throw new SigilError('BAD_INPUT', 'the key passphrase must be at least 8 characters long');
    }
    const salt = randomBytes(16);
    const kek = await deriveKey(opts.passphrase, salt, opts.scryptLogN);
    file = {
      sigil_keystore: 1,
      protection: 'scrypt-aes-256-gcm',
      kdf: { alg: 'scrypt', log_n: opts.scryptLogN, r: 8, p: 1, salt: toBase64(salt) },
      keys: secrets.map((s) => ({
        purpose: s.purpose,
        key_id: s.id,
        ...(s.pub ? { public_key: toBase64(s.pub) } : {}),
        secret: toBase64(seal(kek, s.secret, secretAad(s.purpose, s.id))),
      })),
    };
  } else {
    file = {
      sigil_keystore: 1,
      protection: 'none',
      keys: secrets.map((s) => ({
        purpose: s.purpose,
        key_id: s.id,
        ...(s.pub ? { public_key: toBase64(s.pub) } : {}),
        secret: toBase64(s.secret),
      })),
    };
  }
  const target = path.join(home, KEYSTORE_FILE);
  const handle = await fs
    .open(target, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600)
    .catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'EEXIST')
        throw new SigilError('HOME_EXISTS', `${target} already exists; refusing to overwrite keys`);
      throw e;
    });
  try {
    await handle.writeFile(JSON.stringify(file, null, 2) + '\n');
    await handle.sync();
  } finally {
    await handle.close();
  }
  return {
    root: new Ed25519Signer(root.seed),
    runtime: new Ed25519Signer(runtime.seed),
    dataKey,
    dataKeyId: dataKeyId(dataKey),
    encrypted: file.protection !== 'none',
  };
}

function parseKeystoreFile(text: string, where: string): KeystoreFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new SigilError('KEY_INVALID', `${where} is not valid JSON: ${(e as Error).message}`);
  }
  const f = raw as Partial<KeystoreFile>;
  if (typeof f !== 'object' || f === null || f.sigil_keystore !== 1 || !Array.isArray(f.keys)) {
    throw new SigilError('KEY_INVALID', `${where} is not a Sigil keystore (version 1)`);
  }
  if (f.protection !== 'none' && f.protection !== 'scrypt-aes-256-gcm') {
    throw new SigilError('KEY_INVALID', `${where}: unknown key protection ${JSON.stringify(f.protection)}`);
  }
  if (f.protection === 'scrypt-aes-256-gcm') {
    const k = f.kdf;
    if (
      !k ||
      k.alg !== 'scrypt' ||
      !Number.isInteger(k.log_n) ||
      k.log_n < 10 ||
      k.log_n > 22 ||
      k.r !== 8 ||
      k.p !== 1
    ) {
      throw new SigilError('KEY_INVALID', `${where}: unsupported or malformed scrypt parameters`);
    }
  }
  for (const p of PURPOSES) {
    if (f.keys.filter((k) => k?.purpose === p).length !== 1) {
      throw new SigilError('KEY_INVALID', `${where} must hold exactly one ${p} key`);
    }
  }
  return f as KeystoreFile;
}

async function checkPermissions(file: string): Promise<void> {
  const st = await fs.stat(file);
  if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
    throw new SigilError(
      'KEY_INVALID',
      `${file} is readable by other users (mode ${(st.mode & 0o777).toString(8)}); run: chmod 600 ${JSON.stringify(file)}`,
    );
  }
}

export interface LoadKeystoreOptions {
  /** Called only when the keystore is encrypted; returns undefined when no passphrase can be had. */
  readonly passphrase: () => Promise<string | undefined>;
  /** The environment variable that supplies the passphrase, named in the error when none is given. */
  readonly passphraseEnv?: string;
}

export async function keystoreExists(home: string): Promise<boolean> {
  return fs.access(path.join(home, KEYSTORE_FILE)).then(
    () => true,
    () => false,
  );
}

export async function loadKeystore(home: string, opts: LoadKeystoreOptions): Promise<Keystore> {
  const file = path.join(home, KEYSTORE_FILE);
  const text = await fs.readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT')
      throw new SigilError('HOME_MISSING', `no keystore at ${file}; run "sigil init" first`);
    throw e;
  });
  await checkPermissions(file);
  const ks = parseKeystoreFile(text, file);
  let kek: Buffer | undefined;
  if (ks.protection === 'scrypt-aes-256-gcm' && ks.kdf) {
    const pass = await opts.passphrase();
    if (pass === undefined) {
      throw new SigilError(
        'PASSPHRASE_REQUIRED',
        `the keys in ${file} are encrypted; set ${opts.passphraseEnv ?? 'SIGIL_PASSPHRASE'} or run in a terminal to be asked`,
      );
    }
    kek = await deriveKey(pass, fromBase64(ks.kdf.salt), ks.kdf.log_n);
  }
  const secretOf = (purpose: KeyPurpose): { entry: StoredSecret; secret: Uint8Array } => {
    const entry = ks.keys.find((k) => k.purpose === purpose) as StoredSecret;
    const stored = fromBase64(entry.secret);
    if (!kek) return { entry, secret: stored };
    const plain = open(kek, stored, secretAad(purpose, entry.key_id));
    if (!plain) {
      throw new SigilError(
        'PASSPHRASE_WRONG',
        `cannot decrypt the ${purpose} key in ${file}: wrong passphrase or tampered keystore`,
      );
    }
    return { entry, secret: plain };
  };
  const signerOf = (purpose: 'root' | 'runtime'): Ed25519Signer => {
    const { entry, secret } = secretOf(purpose);
    if (secret.length !== 32)
      throw new SigilError('KEY_INVALID', `${file}: the ${purpose} key must be 32 bytes`);
    const pub = publicKeyFromSeed(secret);
    assertValidPublicKey(pub, `${purpose} key in ${file}`);
    if (
      keyId(pub) !== entry.key_id ||
      (entry.public_key !== undefined && toBase64(pub) !== entry.public_key)
    ) {
      throw new SigilError('KEY_INVALID', `${file}: the ${purpose} key does not match its recorded key id`);
    }
    return new Ed25519Signer(secret);
  };
  const root = signerOf('root');
  const runtime = signerOf('runtime');
  const { entry: dataEntry, secret: dataKey } = secretOf('data');
  if (dataKey.length !== 32 || dataKeyId(dataKey) !== dataEntry.key_id) {
    throw new SigilError('KEY_INVALID', `${file}: the data key does not match its recorded key id`);
  }
  return { root, runtime, dataKey, dataKeyId: dataEntry.key_id, encrypted: kek !== undefined };
}
