/**
 * Identity files (server/src/governance/identity.ts): a licence chain plus the private key of its leaf,
 * with and without passphrase protection; strict validation, permissions and never overwriting.
 */
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  DEFAULT_SCRYPT_LOG_N,
  IDENTITY_TYPE,
  PUBLIC_IDENTITY_TYPE,
  createIdentity,
  parseIdentity,
  parsePublicIdentity,
  publicIdentity,
  readIdentityFile,
  unlockIdentity,
  writeIdentityFile,
  type IdentityFile,
} from '../../server/src/governance/identity.js';
import { Ed25519Signer, keyId } from '../../shared/src/ed25519.js';
import { SigilError, type SigilErrorCode } from '../../shared/src/errors.js';
import {
  NonceCache,
  delegateLicense,
  issueLicense,
  signRequest,
  verifyRequest,
  type LicenseChain,
} from '../../shared/src/license.js';

const PASS = 'correct horse battery staple';
const LOG_N = 14;
const AUDIENCE = 'sigil.local/identity-test';
const NOW = new Date('2026-03-01T12:00:00.000Z');
const isPosix = process.platform !== 'win32';

const seedOf = (name: string): Uint8Array =>
  new Uint8Array(createHash('sha256').update(`identity-test-seed/${name}`).digest());
const idOf = (name: string): string =>
  createHash('sha256').update(`identity-test-id/${name}`).digest('hex').slice(0, 32);
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

const ROOT = new Ed25519Signer(seedOf('root'));
const OWNER_SEED = seedOf('owner');
const OWNER = new Ed25519Signer(OWNER_SEED);
const AGENT_SEED = seedOf('agent');
const AGENT = new Ed25519Signer(AGENT_SEED);

function rootChain(subject: string, signer: Ed25519Signer, id = idOf(subject)): LicenseChain {
  return [
    issueLicense(
      {
        id,
        subject,
        subject_key: signer.publicKey,
        role: 'root',
        issued_at: '2026-01-01T00:00:00.000Z',
        expires_at: '2027-01-01T00:00:00.000Z',
        audience: AUDIENCE,
      },
      ROOT,
    ),
  ];
}

const OWNER_CHAIN = rootChain('owner', OWNER);
const AGENT_CHAIN = delegateLicense(
  OWNER_CHAIN,
  {
    id: idOf('agent'),
    subject: 'agent:summariser',
    subject_key: AGENT.publicKey,
    role: 'operator',
    issued_at: '2026-01-02T00:00:00.000Z',
    expires_at: '2026-06-01T00:00:00.000Z',
  },
  OWNER,
);

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const d = await fs.mkdtemp(path.join(os.tmpdir(), 'sigil-identity-test-'));
  dirs.push(d);
  return d;
}

function isSigilError(code: SigilErrorCode, message?: RegExp, detailsPath?: string) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof SigilError, `expected a SigilError, got ${String(e)}`);
    assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
    if (message) assert.match(e.message, message);
    if (detailsPath !== undefined) assert.equal(e.details?.path, detailsPath, e.message);
    return true;
  };
}

const withPass = (p: string | undefined) => ({ passphrase: async () => p });

type Json = Record<string, unknown>;

async function writeJson(file: string, doc: unknown): Promise<void> {
  await fs.writeFile(file, JSON.stringify(doc, null, 2) + '\n', { mode: 0o600 });
}

/** A fresh, mutable copy of an identity document. */
function clone(doc: IdentityFile): Json {
  return JSON.parse(JSON.stringify(doc)) as Json;
}

function keyOf(doc: Json): Json {
  return doc.key as Json;
}

/** Proof of possession: the loaded identity signs a request that verifies against the store's root key. */
function assertCanSign(identity: Parameters<typeof signRequest>[2], subject: string): void {
  const auth = signRequest('canon.append', { kind: 'note' }, identity, {
    now: NOW,
    nonce: new Uint8Array(16).fill(7),
  });
  const r = verifyRequest('canon.append', { kind: 'note' }, auth, {
    rootKey: ROOT.publicKey,
    audience: AUDIENCE,
    now: NOW,
    isRevoked: () => false,
    nonces: new NonceCache(),
  });
  assert.equal(r.ok, true, r.ok ? '' : r.reason);
  if (r.ok) assert.equal(r.caller.subject, subject);
}

describe('createIdentity', () => {
  test('without a passphrase stores the seed in clear with its public key', async () => {
    const doc = await createIdentity(OWNER_CHAIN, OWNER_SEED);
    assert.equal(doc.type, IDENTITY_TYPE);
    assert.equal(doc.version, 1);
    assert.equal(doc.subject, 'owner');
    assert.deepEqual(doc.chain, OWNER_CHAIN);
    assert.deepEqual(doc.key, {
      alg: 'ed25519',
      protection: 'none',
      public_key: b64(OWNER.publicKey),
      seed: b64(OWNER_SEED),
    });
  });

  test('with a passphrase stores only salt, nonce and ciphertext', async () => {
    const doc = await createIdentity(AGENT_CHAIN, AGENT_SEED, { passphrase: PASS, scryptLogN: LOG_N });
    assert.equal(doc.subject, 'agent:summariser');
    const key = doc.key;
    assert.equal(key.protection, 'scrypt-aes-256-gcm');
    if (key.protection !== 'scrypt-aes-256-gcm') return;
    assert.deepEqual(key.kdf, { alg: 'scrypt', log_n: LOG_N, r: 8, p: 1 });
    assert.equal(Buffer.from(key.salt, 'base64').length, 16);
    assert.equal(Buffer.from(key.nonce, 'base64').length, 12);
    assert.equal(Buffer.from(key.ciphertext, 'base64').length, 48);
    assert.equal(JSON.stringify(doc).includes(b64(AGENT_SEED)), false, 'the seed must not appear in clear');
  });

  test('defaults scryptLogN to 15', async () => {
    const doc = await createIdentity(OWNER_CHAIN, OWNER_SEED, { passphrase: PASS });
    assert.equal(doc.key.protection === 'scrypt-aes-256-gcm' && doc.key.kdf.log_n, DEFAULT_SCRYPT_LOG_N);
  });

  test('refuses a seed that is not the leaf licence subject key (KEY_INVALID)', async () => {
    await assert.rejects(createIdentity(AGENT_CHAIN, OWNER_SEED), isSigilError('KEY_INVALID', /subject key/));
    await assert.rejects(
      createIdentity(OWNER_CHAIN, new Uint8Array(31)),
      isSigilError('KEY_INVALID', /32 bytes/),
    );
  });

  test('refuses a malformed chain, a short passphrase and a weak or absurd scrypt cost (BAD_INPUT)', async () => {
    await assert.rejects(
      createIdentity([] as unknown as LicenseChain, OWNER_SEED),
      isSigilError('BAD_INPUT'),
    );
    await assert.rejects(
      createIdentity(OWNER_CHAIN, OWNER_SEED, { passphrase: 'short' }),
      isSigilError('BAD_INPUT', /at least 8/),
    );
    for (const scryptLogN of [10, 21, 14.5]) {
      await assert.rejects(
        createIdentity(OWNER_CHAIN, OWNER_SEED, { passphrase: PASS, scryptLogN }),
        isSigilError('BAD_INPUT', /scryptLogN/),
      );
    }
  });
});

describe('writeIdentityFile / readIdentityFile', () => {
  test('round trip without a passphrase; the passphrase callback is not called', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'owner.identity.json');
    await writeIdentityFile(file, await createIdentity(OWNER_CHAIN, OWNER_SEED));
    let asked = 0;
    const id = await readIdentityFile(file, {
      passphrase: async () => {
        asked++;
        return PASS;
      },
    });
    assert.equal(asked, 0);
    assert.equal(id.subject, 'owner');
    assert.equal(id.licenseId, idOf('owner'));
    assert.equal(id.keyId, OWNER.keyId);
    assert.deepEqual(id.publicKey, OWNER.publicKey);
    assert.deepEqual(id.signer.publicKey, OWNER.publicKey);
    assert.deepEqual(id.chain, OWNER_CHAIN);
    assert.equal(id.encrypted, false);
    assertCanSign(id, 'owner');
    // Also without options at all.
    assert.equal((await readIdentityFile(file)).keyId, OWNER.keyId);
  });

  test('round trip with a passphrase (delegated chain)', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'agent.json');
    await writeIdentityFile(
      file,
      await createIdentity(AGENT_CHAIN, AGENT_SEED, { passphrase: PASS, scryptLogN: LOG_N }),
    );
    const id = await readIdentityFile(file, withPass(PASS));
    assert.equal(id.encrypted, true);
    assert.equal(id.subject, 'agent:summariser');
    assert.equal(id.licenseId, idOf('agent'));
    assert.equal(id.keyId, AGENT.keyId);
    assert.deepEqual(id.chain, AGENT_CHAIN);
    assertCanSign(id, 'agent:summariser');
  });

  test('writes 0600, pretty JSON, and leaves no temporary file', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'id.json');
    await writeIdentityFile(file, await createIdentity(OWNER_CHAIN, OWNER_SEED));
    if (isPosix) assert.equal((await fs.stat(file)).mode & 0o777, 0o600);
    assert.deepEqual(await fs.readdir(dir), ['id.json']);
    const text = await fs.readFile(file, 'utf8');
    assert.match(text, /^\{\n {2}"type": "sigil\.identity",/);
    assert.equal(text.endsWith('}\n'), true, 'ends with a newline');
  });

  test('refuses to overwrite an existing file (HOME_EXISTS) and leaves it untouched', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'id.json');
    await writeIdentityFile(file, await createIdentity(OWNER_CHAIN, OWNER_SEED));
    const before = await fs.readFile(file, 'utf8');
    await assert.rejects(
      writeIdentityFile(file, await createIdentity(AGENT_CHAIN, AGENT_SEED)),
      isSigilError('HOME_EXISTS', /refusing to overwrite/),
    );
    assert.equal(await fs.readFile(file, 'utf8'), before);
    assert.deepEqual(await fs.readdir(dir), ['id.json']);
    // Any existing file counts, even an empty one or a dangling symbolic link.
    const other = path.join(dir, 'other.json');
    await fs.writeFile(other, '');
    await assert.rejects(
      writeIdentityFile(other, await createIdentity(OWNER_CHAIN, OWNER_SEED)),
      isSigilError('HOME_EXISTS'),
    );
    if (isPosix) {
      const link = path.join(dir, 'link.json');
      await fs.symlink(path.join(dir, 'nowhere.json'), link);
      await assert.rejects(
        writeIdentityFile(link, await createIdentity(OWNER_CHAIN, OWNER_SEED)),
        isSigilError('HOME_EXISTS'),
      );
      await assert.rejects(fs.access(path.join(dir, 'nowhere.json')), 'nothing written through the link');
    }
  });

  test('concurrent writers to one path: exactly one wins', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'id.json');
    const docs = await Promise.all([
      createIdentity(OWNER_CHAIN, OWNER_SEED),
      createIdentity(AGENT_CHAIN, AGENT_SEED),
      createIdentity(OWNER_CHAIN, OWNER_SEED),
    ]);
    const results = await Promise.allSettled(docs.map((d) => writeIdentityFile(file, d)));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    for (const r of results)
      if (r.status === 'rejected') assert.equal((r.reason as SigilError).code, 'HOME_EXISTS');
    assert.deepEqual(await fs.readdir(dir), ['id.json']);
    await readIdentityFile(file);
  });

  test('validates before writing: an inconsistent document is refused and nothing is written', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'id.json');
    const doc = clone(await createIdentity(OWNER_CHAIN, OWNER_SEED));
    doc.subject = 'mallory';
    await assert.rejects(
      writeIdentityFile(file, doc as unknown as IdentityFile),
      isSigilError('BAD_INPUT', /\/subject/, '/subject'),
    );
    assert.deepEqual(await fs.readdir(dir), []);
    await assert.rejects(
      writeIdentityFile(path.join(dir, 'missing', 'id.json'), await createIdentity(OWNER_CHAIN, OWNER_SEED)),
      isSigilError('NOT_FOUND'),
    );
  });

  test('a missing file is NOT_FOUND', async () => {
    const dir = await tempDir();
    await assert.rejects(
      readIdentityFile(path.join(dir, 'nope.json')),
      isSigilError('NOT_FOUND', /no identity file/),
    );
  });

  test(
    'refuses a file group- or world-accessible (KEY_INVALID), like the keystore',
    { skip: !isPosix },
    async () => {
      const dir = await tempDir();
      const file = path.join(dir, 'id.json');
      await writeIdentityFile(file, await createIdentity(OWNER_CHAIN, OWNER_SEED));
      for (const mode of [0o640, 0o604, 0o620, 0o660]) {
        await fs.chmod(file, mode);
        await assert.rejects(
          readIdentityFile(file),
          isSigilError('KEY_INVALID', new RegExp(`mode ${mode.toString(8)}.*chmod 600`)),
        );
      }
      await fs.chmod(file, 0o400);
      assert.equal((await readIdentityFile(file)).subject, 'owner');
    },
  );

  test('refuses a directory and an oversized file (BAD_INPUT)', async () => {
    const dir = await tempDir();
    const sub = path.join(dir, 'sub');
    await fs.mkdir(sub, { mode: 0o700 });
    await assert.rejects(readIdentityFile(sub), isSigilError('BAD_INPUT', /not a regular file/));
    const big = path.join(dir, 'big.json');
    await fs.writeFile(big, ' '.repeat(70 * 1024), { mode: 0o600 });
    await assert.rejects(readIdentityFile(big), isSigilError('BAD_INPUT', /at most/));
  });

  test('invalid JSON is BAD_INPUT with a position', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'id.json');
    await fs.writeFile(file, '{"type": "sigil.identity",}', { mode: 0o600 });
    await assert.rejects(readIdentityFile(file), isSigilError('BAD_INPUT', /:1:\d+: trailing comma/));
  });
});

describe('passphrases', () => {
  let file = '';
  const setup = async (): Promise<string> => {
    if (file !== '') return file;
    const dir = await tempDir();
    file = path.join(dir, 'id.json');
    await writeIdentityFile(
      file,
      await createIdentity(OWNER_CHAIN, OWNER_SEED, { passphrase: PASS, scryptLogN: LOG_N }),
    );
    return file;
  };

  test('an encrypted identity without a passphrase is PASSPHRASE_REQUIRED naming the variable', async () => {
    const f = await setup();
    await assert.rejects(readIdentityFile(f), isSigilError('PASSPHRASE_REQUIRED', /SIGIL_PASSPHRASE/));
    await assert.rejects(
      readIdentityFile(f, { ...withPass(undefined), passphraseEnv: 'MY_PASS' }),
      isSigilError('PASSPHRASE_REQUIRED', /MY_PASS/),
    );
  });

  test('a wrong passphrase is PASSPHRASE_WRONG', async () => {
    const f = await setup();
    await assert.rejects(
      readIdentityFile(f, withPass('not the passphrase')),
      isSigilError('PASSPHRASE_WRONG'),
    );
    await assert.rejects(readIdentityFile(f, withPass('')), isSigilError('PASSPHRASE_WRONG'));
  });

  test('tampered salt, nonce, ciphertext or kdf cost is PASSPHRASE_WRONG (does not authenticate)', async () => {
    const f = await setup();
    const original = JSON.parse(await fs.readFile(f, 'utf8')) as Json;
    const flip = (s: string): string => {
      const b = Buffer.from(s, 'base64');
      b[0] = (b[0] ?? 0) ^ 1;
      return b.toString('base64');
    };
    const dir = path.dirname(f);
    const edits: Array<[string, (k: Json) => void]> = [
      ['salt', (k) => (k.salt = flip(k.salt as string))],
      ['nonce', (k) => (k.nonce = flip(k.nonce as string))],
      ['ciphertext', (k) => (k.ciphertext = flip(k.ciphertext as string))],
      ['log_n', (k) => ((k.kdf as Json).log_n = LOG_N + 1)],
    ];
    for (const [name, edit] of edits) {
      const doc = JSON.parse(JSON.stringify(original)) as Json;
      edit(keyOf(doc));
      const g = path.join(dir, `tampered-${name}.json`);
      await writeJson(g, doc);
      await assert.rejects(readIdentityFile(g, withPass(PASS)), isSigilError('PASSPHRASE_WRONG'), name);
    }
  });

  test('an encrypted seed moved under another licence and key does not decrypt', async () => {
    const dir = await tempDir();
    const owner = clone(
      await createIdentity(OWNER_CHAIN, OWNER_SEED, { passphrase: PASS, scryptLogN: LOG_N }),
    );
    const agent = clone(
      await createIdentity(AGENT_CHAIN, AGENT_SEED, { passphrase: PASS, scryptLogN: LOG_N }),
    );
    // The agent's chain and public key, the owner's encrypted seed: consistent structure, wrong AAD.
    const mixed = { ...agent, key: { ...keyOf(owner), public_key: keyOf(agent).public_key } };
    const g = path.join(dir, 'mixed.json');
    await writeJson(g, mixed);
    await assert.rejects(readIdentityFile(g, withPass(PASS)), isSigilError('PASSPHRASE_WRONG'));
  });

  test('unlockIdentity opens a document held in memory (SecretStorage)', async () => {
    const doc = await createIdentity(AGENT_CHAIN, AGENT_SEED, { passphrase: PASS, scryptLogN: LOG_N });
    const id = await unlockIdentity(JSON.stringify(doc), withPass(PASS));
    assert.equal(id.keyId, AGENT.keyId);
    await assert.rejects(unlockIdentity(doc, withPass('wrong passphrase')), isSigilError('PASSPHRASE_WRONG'));
  });
});

describe('the key must belong to the licence (KEY_INVALID)', () => {
  test('a clear seed replaced by another valid seed', async () => {
    const dir = await tempDir();
    const doc = clone(await createIdentity(OWNER_CHAIN, OWNER_SEED));
    keyOf(doc).seed = b64(AGENT_SEED);
    const file = path.join(dir, 'id.json');
    await writeJson(file, doc);
    await assert.rejects(
      readIdentityFile(file),
      isSigilError('KEY_INVALID', /does not produce/, '/key/seed'),
    );
  });

  test('public_key that is not the leaf subject key', async () => {
    const dir = await tempDir();
    const doc = clone(await createIdentity(OWNER_CHAIN, OWNER_SEED));
    keyOf(doc).public_key = b64(AGENT.publicKey);
    keyOf(doc).seed = b64(AGENT_SEED);
    const file = path.join(dir, 'id.json');
    await writeJson(file, doc);
    await assert.rejects(
      readIdentityFile(file),
      isSigilError('KEY_INVALID', /not the subject key/, '/key/public_key'),
    );
  });

  test("another subject's chain with this key", async () => {
    const dir = await tempDir();
    const doc = clone(await createIdentity(OWNER_CHAIN, OWNER_SEED));
    doc.chain = AGENT_CHAIN;
    doc.subject = 'agent:summariser';
    const file = path.join(dir, 'id.json');
    await writeJson(file, doc);
    await assert.rejects(readIdentityFile(file), isSigilError('KEY_INVALID'));
  });

  test('an encrypted seed that decrypts but is not the licence key', async () => {
    // Made by encrypting the agent seed under the owner's public key as associated data, i.e. a forger who
    // knows the passphrase format but not the owner's seed: it authenticates, then fails the key check.
    const doc = clone(await createIdentity(OWNER_CHAIN, OWNER_SEED, { passphrase: PASS, scryptLogN: LOG_N }));
    const { createCipheriv, scryptSync } = await import('node:crypto');
    const key = keyOf(doc);
    const kek = scryptSync(PASS, Buffer.from(key.salt as string, 'base64'), 32, {
      N: 2 ** LOG_N,
      r: 8,
      p: 1,
      maxmem: 64 * 1024 * 1024,
    });
    const cipher = createCipheriv('aes-256-gcm', kek, Buffer.from(key.nonce as string, 'base64'));
    cipher.setAAD(Buffer.from(`sigil-identity/v1\n${key.public_key as string}`));
    key.ciphertext = Buffer.concat([cipher.update(AGENT_SEED), cipher.final(), cipher.getAuthTag()]).toString(
      'base64',
    );
    await assert.rejects(
      unlockIdentity(doc, withPass(PASS)),
      isSigilError('KEY_INVALID', /does not produce/, '/key/ciphertext'),
    );
  });
});

describe('strict validation names the field (BAD_INPUT)', () => {
  const cases: Array<[string, (d: Json) => void, string]> = [
    ['type', (d) => (d.type = 'sigil.keystore'), '/type'],
    ['version', (d) => (d.version = 2), '/version'],
    ['subject', (d) => (d.subject = 'someone else'), '/subject'],
    ['subject type', (d) => (d.subject = 7), '/subject'],
    ['extra top field', (d) => (d.comment = 'hi'), '/comment'],
    ['missing key', (d) => delete d.key, '/key'],
    ['missing chain', (d) => delete d.chain, '/chain'],
    ['empty chain', (d) => (d.chain = []), '/chain'],
    [
      'chain link field',
      (d) =>
        (((d.chain as Json[])[0] as Json).body = {
          ...(((d.chain as Json[])[0] as Json).body as Json),
          loa: 9,
        }),
      '/chain/0/body/loa',
    ],
    ['key not an object', (d) => (d.key = 'seed'), '/key'],
    ['key alg', (d) => (keyOf(d).alg = 'rsa'), '/key/alg'],
    ['key protection', (d) => (keyOf(d).protection = 'rot13'), '/key/protection'],
    ['missing protection', (d) => delete keyOf(d).protection, '/key/protection'],
    ['key extra field', (d) => (keyOf(d).hint = 'x'), '/key/hint'],
    ['seed length', (d) => (keyOf(d).seed = b64(new Uint8Array(31))), '/key/seed'],
    [
      'seed not canonical base64',
      (d) => (keyOf(d).seed = (keyOf(d).seed as string).replace(/=$/, '')),
      '/key/seed',
    ],
    ['public_key length', (d) => (keyOf(d).public_key = b64(new Uint8Array(33))), '/key/public_key'],
    ['encrypted fields on a clear key', (d) => (keyOf(d).salt = b64(new Uint8Array(16))), '/key/salt'],
  ];
  for (const [name, edit, pointer] of cases) {
    test(name, async () => {
      const doc = clone(await createIdentity(OWNER_CHAIN, OWNER_SEED));
      edit(doc);
      assert.throws(() => parseIdentity(doc, 'id.json'), isSigilError('BAD_INPUT', /^id\.json: /, pointer));
    });
  }

  const encryptedCases: Array<[string, (k: Json) => void, string]> = [
    ['kdf alg', (k) => ((k.kdf as Json).alg = 'argon2'), '/key/kdf/alg'],
    ['kdf log_n too low', (k) => ((k.kdf as Json).log_n = 9), '/key/kdf/log_n'],
    ['kdf log_n too high', (k) => ((k.kdf as Json).log_n = 23), '/key/kdf/log_n'],
    ['kdf r', (k) => ((k.kdf as Json).r = 16), '/key/kdf/r'],
    ['kdf p', (k) => ((k.kdf as Json).p = 2), '/key/kdf/p'],
    ['kdf extra', (k) => ((k.kdf as Json).maxmem = 1), '/key/kdf/maxmem'],
    ['salt length', (k) => (k.salt = b64(new Uint8Array(8))), '/key/salt'],
    ['nonce length', (k) => (k.nonce = b64(new Uint8Array(16))), '/key/nonce'],
    ['ciphertext length', (k) => (k.ciphertext = b64(new Uint8Array(32))), '/key/ciphertext'],
    ['clear seed on an encrypted key', (k) => (k.seed = b64(OWNER_SEED)), '/key/seed'],
    ['missing ciphertext', (k) => delete k.ciphertext, '/key/ciphertext'],
  ];
  let encrypted: IdentityFile | undefined;
  for (const [name, edit, pointer] of encryptedCases) {
    test(`encrypted: ${name}`, async () => {
      encrypted ??= await createIdentity(OWNER_CHAIN, OWNER_SEED, { passphrase: PASS, scryptLogN: LOG_N });
      const doc = clone(encrypted);
      edit(keyOf(doc));
      assert.throws(() => parseIdentity(doc), isSigilError('BAD_INPUT', undefined, pointer));
    });
  }

  test('the file reader reports the same, with the file name', async () => {
    const dir = await tempDir();
    const doc = clone(await createIdentity(OWNER_CHAIN, OWNER_SEED));
    doc.version = 2;
    const file = path.join(dir, 'id.json');
    await writeJson(file, doc);
    await assert.rejects(
      readIdentityFile(file),
      isSigilError('BAD_INPUT', new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: /version`)),
    );
  });
});

describe('publicIdentity', () => {
  test('carries the licence and public key, never the secret', async () => {
    const doc = await createIdentity(AGENT_CHAIN, AGENT_SEED, { passphrase: PASS, scryptLogN: LOG_N });
    const pub = publicIdentity(doc);
    assert.deepEqual(pub, {
      type: PUBLIC_IDENTITY_TYPE,
      version: 1,
      subject: 'agent:summariser',
      license_id: idOf('agent'),
      key_id: keyId(AGENT.publicKey),
      public_key: b64(AGENT.publicKey),
      chain: AGENT_CHAIN,
    });
    const text = JSON.stringify(pub);
    for (const secret of ['seed', 'ciphertext', 'salt', 'nonce', 'kdf'])
      assert.equal(text.includes(`"${secret}"`), false, `no ${secret}`);
    const clear = publicIdentity(await createIdentity(AGENT_CHAIN, AGENT_SEED));
    assert.deepEqual(clear, pub);
    assert.equal(JSON.stringify(clear).includes(b64(AGENT_SEED)), false, 'no seed');
  });

  test('from a loaded identity, and parsePublicIdentity round trip', async () => {
    const id = await unlockIdentity(await createIdentity(OWNER_CHAIN, OWNER_SEED));
    const pub = publicIdentity(id);
    assert.deepEqual(parsePublicIdentity(JSON.stringify(pub)), pub);
    // A public identity is not an identity.
    assert.throws(() => parseIdentity(pub), isSigilError('BAD_INPUT'));
  });

  test('parsePublicIdentity refuses inconsistent or extra fields', async () => {
    const pub = publicIdentity(await createIdentity(OWNER_CHAIN, OWNER_SEED)) as unknown as Json;
    const cases: Array<[(p: Json) => void, string]> = [
      [(p) => (p.key_id = AGENT.keyId), '/key_id'],
      [(p) => (p.public_key = b64(AGENT.publicKey)), '/public_key'],
      [(p) => (p.subject = 'x'), '/subject'],
      [(p) => (p.license_id = idOf('x')), '/license_id'],
      [(p) => (p.seed = b64(OWNER_SEED)), '/seed'],
      [(p) => (p.type = IDENTITY_TYPE), '/type'],
    ];
    for (const [edit, pointer] of cases) {
      const p = JSON.parse(JSON.stringify(pub)) as Json;
      edit(p);
      assert.throws(() => parsePublicIdentity(p), isSigilError('BAD_INPUT', undefined, pointer));
    }
  });
});
