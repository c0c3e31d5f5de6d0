/**
 * The keystore file (permissions, encryption at rest, tamper and passphrase errors) and the home
 * initialization that creates it.
 */
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  KEYSTORE_FILE,
  createKeystore,
  dataKeyId,
  keystoreExists,
  loadKeystore,
  type Keystore,
} from '../../server/src/canon/keystore.js';
import { LevelCanonStore } from '../../server/src/canon/store.js';
import { initHome, openRuntime } from '../../server/src/runtime/home.js';
import { readWitnessKey } from '../../server/src/governance/witness-keys.js';
import type { PassphraseSource } from '../../server/src/runtime/passphrase.js';
import { fromBase64, toBase64, toHex } from '../../shared/src/bytes.js';
import { keyId, publicKeyFromSeed, verify as ed25519Verify } from '../../shared/src/ed25519.js';
import { SigilError, type SigilErrorCode } from '../../shared/src/errors.js';

const PASS = 'correct horse battery staple';
const LOG_N = 14;
const isPosix = process.platform !== 'win32';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const d = await fs.mkdtemp(path.join(os.tmpdir(), 'sigil-keystore-test-'));
  dirs.push(d);
  return d;
}

function isSigilError(code: SigilErrorCode, message?: RegExp) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof SigilError, `expected a SigilError, got ${String(e)}`);
    assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
    if (message) assert.match(e.message, message);
    return true;
  };
}

const passphrase = (p: string | undefined) => ({ passphrase: async () => p });

interface StoredSecret {
  purpose: string;
  key_id: string;
  public_key?: string;
  secret: string;
}
interface KeystoreJson {
  sigil_keystore: number;
  protection: string;
  kdf?: { alg: string; log_n: number; r: number; p: number; salt: string };
  keys: StoredSecret[];
}

const fileOf = (dir: string): string => path.join(dir, KEYSTORE_FILE);

async function readJson(dir: string): Promise<KeystoreJson> {
  return JSON.parse(await fs.readFile(fileOf(dir), 'utf8')) as KeystoreJson;
}

/** Rewrites the keystore in place (an existing file keeps its 0600 mode). */
async function editJson(dir: string, edit: (k: KeystoreJson) => void): Promise<void> {
  const k = await readJson(dir);
  edit(k);
  await fs.writeFile(fileOf(dir), JSON.stringify(k, null, 2) + '\n');
}

function entry(k: KeystoreJson, purpose: string): StoredSecret {
  const e = k.keys.find((x) => x.purpose === purpose);
  assert.ok(e, `no ${purpose} entry`);
  return e;
}

function assertSameKeys(a: Keystore, b: Keystore): void {
  assert.equal(a.root.keyId, b.root.keyId);
  assert.deepEqual(a.root.publicKey, b.root.publicKey);
  assert.equal(a.runtime.keyId, b.runtime.keyId);
  assert.deepEqual(a.runtime.publicKey, b.runtime.publicKey);
  assert.deepEqual(Uint8Array.from(a.dataKey), Uint8Array.from(b.dataKey));
  assert.equal(a.dataKeyId, b.dataKeyId);
}

/**
 * True when the file holds the key material in the clear: any 32-byte window of any base64 or hex run that
 * is the data key or the seed of one of the signing keys.
 */
function leaksSecrets(text: string, ks: Keystore): boolean {
  const pubs = [toHex(ks.root.publicKey), toHex(ks.runtime.publicKey)];
  const dataHex = toHex(ks.dataKey);
  if (text.includes(toBase64(ks.dataKey)) || text.includes(dataHex)) return true;
  const blobs: Uint8Array[] = [];
  for (const m of text.matchAll(/[0-9a-f]{64,}/g)) {
    for (let shift = 0; shift < 2; shift++) blobs.push(new Uint8Array(Buffer.from(m[0].slice(shift), 'hex')));
  }
  for (const m of text.matchAll(/[A-Za-z0-9+/]{40,}/g)) {
    // Every character alignment, in case a key sits inside a longer base64 run.
    for (let shift = 0; shift < 4; shift++)
      blobs.push(new Uint8Array(Buffer.from(m[0].slice(shift), 'base64')));
  }
  for (const b of blobs) {
    for (let i = 0; i + 32 <= b.length; i++) {
      const w = b.subarray(i, i + 32);
      if (toHex(w) === dataHex) return true;
      if (pubs.includes(toHex(publicKeyFromSeed(w)))) return true;
    }
  }
  return false;
}

describe('keystore', () => {
  test('an encrypted keystore: 0600, no secret in the clear, loads with the right passphrase', async () => {
    const dir = await tempDir();
    const ks = await createKeystore(dir, { passphrase: PASS, scryptLogN: LOG_N });
    assert.equal(ks.encrypted, true);
    if (isPosix) assert.equal((await fs.stat(fileOf(dir))).mode & 0o777, 0o600);
    assert.equal(await keystoreExists(dir), true);

    const text = await fs.readFile(fileOf(dir), 'utf8');
    const json = JSON.parse(text) as KeystoreJson;
    assert.equal(json.protection, 'scrypt-aes-256-gcm');
    assert.deepEqual(
      { ...json.kdf, salt: undefined },
      { alg: 'scrypt', log_n: LOG_N, r: 8, p: 1, salt: undefined },
    );
    assert.equal(fromBase64(json.kdf?.salt ?? '').length, 16);
    assert.deepEqual(json.keys.map((k) => k.purpose).sort(), ['data', 'root', 'runtime']);
    for (const k of json.keys)
      assert.equal(fromBase64(k.secret).length, 1 + 12 + 32 + 16, `${k.purpose} secret is sealed`);
    assert.equal(entry(json, 'root').key_id, ks.root.keyId);
    assert.equal(entry(json, 'root').public_key, toBase64(ks.root.publicKey));
    assert.equal(entry(json, 'runtime').key_id, ks.runtime.keyId);
    assert.equal(entry(json, 'data').key_id, dataKeyId(ks.dataKey));
    assert.equal(entry(json, 'data').public_key, undefined);
    assert.equal(leaksSecrets(text, ks), false, 'no key material in the clear');
    assert.ok(!text.includes(PASS), 'the passphrase is not stored');

    let asked = 0;
    const loaded = await loadKeystore(dir, {
      passphrase: async () => {
        asked++;
        return PASS;
      },
    });
    assert.equal(asked, 1);
    assert.equal(loaded.encrypted, true);
    assertSameKeys(loaded, ks);
    const msg = new TextEncoder().encode('hello');
    assert.ok(ed25519Verify(ks.runtime.publicKey, msg, loaded.runtime.sign(msg)));
    assert.ok(ed25519Verify(ks.root.publicKey, msg, loaded.root.sign(msg)));
  });

  test('an unencrypted keystore loads without asking for a passphrase, and its secrets are visible', async () => {
    const dir = await tempDir();
    const ks = await createKeystore(dir, { passphrase: undefined, scryptLogN: LOG_N });
    assert.equal(ks.encrypted, false);
    if (isPosix) assert.equal((await fs.stat(fileOf(dir))).mode & 0o777, 0o600);
    const text = await fs.readFile(fileOf(dir), 'utf8');
    const json = JSON.parse(text) as KeystoreJson;
    assert.equal(json.protection, 'none');
    assert.equal(json.kdf, undefined);
    // The leak detector used above does find plaintext keys.
    assert.equal(leaksSecrets(text, ks), true);
    assert.equal(toHex(publicKeyFromSeed(fromBase64(entry(json, 'root').secret))), toHex(ks.root.publicKey));
    const loaded = await loadKeystore(dir, {
      passphrase: async () => assert.fail('an unencrypted keystore must not ask for a passphrase'),
    });
    assert.equal(loaded.encrypted, false);
    assertSameKeys(loaded, ks);
  });

  test('a wrong passphrase is PASSPHRASE_WRONG, none is PASSPHRASE_REQUIRED', async () => {
    const dir = await tempDir();
    await createKeystore(dir, { passphrase: PASS, scryptLogN: LOG_N });
    await assert.rejects(loadKeystore(dir, passphrase(PASS + '!')), isSigilError('PASSPHRASE_WRONG'));
    await assert.rejects(loadKeystore(dir, passphrase('')), isSigilError('PASSPHRASE_WRONG'));
    await assert.rejects(
      loadKeystore(dir, passphrase(undefined)),
      isSigilError('PASSPHRASE_REQUIRED', /SIGIL_PASSPHRASE/),
    );
  });

  test('a keystore readable by others is refused with a chmod hint', { skip: !isPosix }, async () => {
    const dir = await tempDir();
    await createKeystore(dir, { passphrase: undefined, scryptLogN: LOG_N });
    for (const mode of [0o644, 0o640, 0o604, 0o660]) {
      await fs.chmod(fileOf(dir), mode);
      await assert.rejects(
        loadKeystore(dir, passphrase(undefined)),
        isSigilError('KEY_INVALID', new RegExp(`mode ${mode.toString(8)}.*chmod 600`)),
      );
    }
    await fs.chmod(fileOf(dir), 0o400);
    await loadKeystore(dir, passphrase(undefined));
  });

  for (const encrypted of [false, true]) {
    const pass = encrypted ? PASS : undefined;
    const tamperCode: SigilErrorCode = encrypted ? 'PASSPHRASE_WRONG' : 'KEY_INVALID';

    test(`tampered entries are refused (${encrypted ? 'encrypted' : 'unencrypted'})`, async () => {
      const cases: Array<[string, (k: KeystoreJson) => void, SigilErrorCode]> = [
        ['root key id changed', (k) => void (entry(k, 'root').key_id = 'ab'.repeat(16)), tamperCode],
        [
          'runtime key id changed',
          (k) => void (entry(k, 'runtime').key_id = entry(k, 'root').key_id),
          tamperCode,
        ],
        ['data key id changed', (k) => void (entry(k, 'data').key_id = '00'.repeat(16)), tamperCode],
        [
          'root and runtime secrets swapped',
          (k) => {
            const [r, t] = [entry(k, 'root'), entry(k, 'runtime')];
            [r.secret, t.secret] = [t.secret, r.secret];
          },
          tamperCode,
        ],
        [
          'runtime and data secrets swapped',
          (k) => {
            const [d, t] = [entry(k, 'data'), entry(k, 'runtime')];
            [d.secret, t.secret] = [t.secret, d.secret];
          },
          tamperCode,
        ],
        [
          'public key replaced',
          (k) => void (entry(k, 'root').public_key = entry(k, 'runtime').public_key),
          'KEY_INVALID',
        ],
        ['a key missing', (k) => void (k.keys = k.keys.filter((e) => e.purpose !== 'data')), 'KEY_INVALID'],
        ['a key doubled', (k) => void k.keys.push({ ...entry(k, 'root') }), 'KEY_INVALID'],
        ['unknown protection', (k) => void (k.protection = 'rot13'), 'KEY_INVALID'],
        ['unknown version', (k) => void (k.sigil_keystore = 2), 'KEY_INVALID'],
      ];
      if (encrypted) {
        cases.push(
          ['salt changed', (k) => void (k.kdf!.salt = toBase64(new Uint8Array(16))), 'PASSPHRASE_WRONG'],
          ['scrypt cost lowered below the floor', (k) => void (k.kdf!.log_n = 9), 'KEY_INVALID'],
          ['scrypt r changed', (k) => void (k.kdf!.r = 1), 'KEY_INVALID'],
          ['kdf removed', (k) => void delete k.kdf, 'KEY_INVALID'],
          [
            'secret byte flipped',
            (k) => {
              const s = fromBase64(entry(k, 'runtime').secret);
              s[20] = (s[20] as number) ^ 1;
              entry(k, 'runtime').secret = toBase64(s);
            },
            'PASSPHRASE_WRONG',
          ],
        );
      } else {
        cases.push([
          'secret truncated',
          (k) => void (entry(k, 'root').secret = toBase64(new Uint8Array(31))),
          'KEY_INVALID',
        ]);
      }
      for (const [what, edit, code] of cases) {
        const dir = await tempDir();
        await createKeystore(dir, { passphrase: pass, scryptLogN: LOG_N });
        await editJson(dir, edit);
        await assert.rejects(
          loadKeystore(dir, passphrase(pass)),
          (e) => {
            assert.ok(e instanceof SigilError, `${what}: ${String(e)}`);
            assert.equal(e.code, code, `${what}: ${e.code} ${e.message}`);
            return true;
          },
          `${what} was accepted`,
        );
      }
      const dir = await tempDir();
      await createKeystore(dir, { passphrase: pass, scryptLogN: LOG_N });
      await fs.writeFile(fileOf(dir), '{ not json');
      await assert.rejects(
        loadKeystore(dir, passphrase(pass)),
        isSigilError('KEY_INVALID', /not valid JSON/),
      );
    });
  }

  test('root and runtime entries relabelled: the passphrase binds the purpose; without one, the store refuses', async () => {
    const relabel = (k: KeystoreJson): void => {
      entry(k, 'root').purpose = 'tmp';
      entry(k, 'runtime').purpose = 'root';
      entry(k, 'tmp').purpose = 'runtime';
    };
    const sealedDir = await tempDir();
    await createKeystore(sealedDir, { passphrase: PASS, scryptLogN: LOG_N });
    await editJson(sealedDir, relabel);
    await assert.rejects(loadKeystore(sealedDir, passphrase(PASS)), isSigilError('PASSPHRASE_WRONG'));

    // An unencrypted file has no integrity of its own: each entry is self-consistent, so it loads, but the
    // genesis record of the store pins the root key.
    const dir = await tempDir();
    const ks = await createKeystore(dir, { passphrase: undefined, scryptLogN: LOG_N });
    const location = path.join(dir, 'canon');
    await (await LevelCanonStore.create({ location, keystore: ks, origin: 'test.example/log' })).close();
    await editJson(dir, relabel);
    const swapped = await loadKeystore(dir, passphrase(undefined));
    assert.equal(swapped.root.keyId, ks.runtime.keyId);
    await assert.rejects(
      LevelCanonStore.open({ location, keystore: swapped }),
      isSigilError('STORE_CORRUPT', /root key other than this keystore holds/),
    );
  });

  test('an existing keystore is never overwritten', async () => {
    const dir = await tempDir();
    await createKeystore(dir, { passphrase: undefined, scryptLogN: LOG_N });
    const before = await fs.readFile(fileOf(dir));
    for (const pass of [undefined, PASS]) {
      await assert.rejects(
        createKeystore(dir, { passphrase: pass, scryptLogN: LOG_N }),
        isSigilError('HOME_EXISTS'),
      );
    }
    assert.deepEqual(await fs.readFile(fileOf(dir)), before);
  });

  test('a passphrase shorter than 8 characters is refused and nothing is written', async () => {
    const dir = await tempDir();
    for (const short of ['', 'a', '1234567']) {
      await assert.rejects(
        createKeystore(dir, { passphrase: short, scryptLogN: LOG_N }),
        isSigilError('BAD_INPUT', /at least 8/),
      );
    }
    assert.equal(await keystoreExists(dir), false);
    assert.deepEqual(await fs.readdir(dir), []);
    const ks = await createKeystore(dir, { passphrase: '12345678', scryptLogN: LOG_N });
    assertSameKeys(await loadKeystore(dir, passphrase('12345678')), ks);
  });

  test('a missing keystore is HOME_MISSING', async () => {
    const dir = await tempDir();
    await assert.rejects(loadKeystore(dir, passphrase(undefined)), isSigilError('HOME_MISSING'));
  });

  test('key ids are derived from the keys', async () => {
    const dir = await tempDir();
    const ks = await createKeystore(dir, { passphrase: undefined, scryptLogN: LOG_N });
    assert.equal(ks.root.keyId, keyId(ks.root.publicKey));
    assert.equal(ks.runtime.keyId, keyId(ks.runtime.publicKey));
    assert.notEqual(ks.root.keyId, ks.runtime.keyId);
    assert.match(ks.dataKeyId, /^[0-9a-f]{32}$/);
    assert.equal(ks.dataKey.length, 32);
  });
});

// ---------------------------------------------------------------------------------------------------------
// initHome
// ---------------------------------------------------------------------------------------------------------

async function treeOf(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string): Promise<void> => {
    for (const e of await fs.readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const st = await fs.stat(p);
      const rel = path.relative(dir, p);
      if (e.isDirectory()) {
        out[rel + '/'] = `dir ${(st.mode & 0o777).toString(8)}`;
        await walk(p);
      } else {
        out[rel] = `${(st.mode & 0o777).toString(8)} ${(await fs.readFile(p)).toString('base64')}`;
      }
    }
  };
  await walk(dir);
  return out;
}

const source = (p: string | undefined): PassphraseSource => ({ get: async () => p });
const ENV = { SIGIL_KEYSTORE_SCRYPT_LOG_N: String(LOG_N) };

describe('initHome', () => {
  test('refuses a non-empty directory and leaves it untouched', async () => {
    const home = await tempDir();
    await fs.writeFile(path.join(home, 'notes.txt'), 'my notes\n');
    await fs.mkdir(path.join(home, 'sub'));
    await fs.writeFile(path.join(home, 'sub', 'data.bin'), new Uint8Array([1, 2, 3]));
    const before = await treeOf(home);
    await assert.rejects(
      initHome({ home, env: ENV, passphrase: source(undefined), ownerDescription: 'test' }),
      isSigilError('HOME_EXISTS', /not empty/),
    );
    assert.deepEqual(await treeOf(home), before);
  });

  test('creates a home, then refuses to initialize it again without changing it', async () => {
    const parent = await tempDir();
    const home = path.join(parent, 'home');
    const init = await initHome({
      home,
      env: ENV,
      passphrase: source(PASS),
      ownerDescription: 'test init',
      origin: 'init.example/log',
    });
    assert.equal(init.origin, 'init.example/log');
    assert.equal(init.encrypted, true);
    // genesis, the owner's root licence and the audit record of its issue (one atomic group), then the
    // genesis witness registry and its audit record (another)
    assert.equal(init.runtime.store.size(), 5);
    const records = (await init.runtime.store.list({ limit: 10 })).records;
    assert.deepEqual(
      records.map((r) => r.body.kind),
      ['canon.genesis', 'license.issued', 'audit.decision', 'witness.registry', 'audit.decision'],
    );
    assert.equal(init.ownerIdentity.licenseId.length, 32);
    // No witnesses given: the owner is the single witness (k = 1), its key sealed with the store passphrase.
    const ownerKeyFile = path.join(home, 'witnesses', 'owner.key.json');
    assert.deepEqual(init.witnesses, { ids: ['owner'], threshold: 1, ownerKeyFile });
    const registry = (
      records[3]?.body.payload as {
        registry: { threshold: number; witnesses: Array<{ id: string; keys: Array<{ publicKey: string }> }> };
      }
    ).registry;
    await init.runtime.close();
    await assert.rejects(readWitnessKey(ownerKeyFile), isSigilError('PASSPHRASE_REQUIRED'));
    await assert.rejects(
      readWitnessKey(ownerKeyFile, { passphrase: async () => 'not the passphrase' }),
      isSigilError('PASSPHRASE_WRONG'),
    );
    const witnessKey = await readWitnessKey(ownerKeyFile, { passphrase: async () => PASS });
    assert.equal(witnessKey.id, 'owner');
    assert.deepEqual(
      registry.witnesses.map((w) => [w.id, w.keys.map((k) => k.publicKey)]),
      [['owner', [toBase64(witnessKey.publicKey)]]],
      'the registry holds the key of witnesses/owner.key.json',
    );
    assert.equal(registry.threshold, 1);
    if (isPosix) {
      assert.equal((await fs.stat(home)).mode & 0o777, 0o700);
      assert.equal((await fs.stat(fileOf(home))).mode & 0o777, 0o600);
      assert.equal((await fs.stat(path.join(home, 'witnesses'))).mode & 0o777, 0o700);
      assert.equal((await fs.stat(ownerKeyFile)).mode & 0o777, 0o600);
    }
    assert.equal((await readJson(home)).kdf?.log_n, LOG_N);

    const before = await treeOf(home);
    await assert.rejects(
      initHome({ home, env: ENV, passphrase: source(PASS), ownerDescription: 'again' }),
      isSigilError('HOME_EXISTS'),
    );
    assert.deepEqual(await treeOf(home), before);

    await assert.rejects(
      openRuntime({ home, env: ENV, passphrase: source('not the passphrase'), ownerDescription: 'wrong' }),
      isSigilError('PASSPHRASE_WRONG'),
    );
    const rt = await openRuntime({ home, env: ENV, passphrase: source(PASS), ownerDescription: 'test open' });
    try {
      assert.equal(rt.store.origin, 'init.example/log');
      assert.equal(rt.keystore.root.keyId, init.runtime.keystore.root.keyId);
      assert.equal((await rt.store.verify()).ok, true);
    } finally {
      await rt.close();
    }
  });
});
