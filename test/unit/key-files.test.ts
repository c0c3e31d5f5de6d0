/**
 * The extension reads and writes identity and witness key files itself (client/src/keyFiles.ts), on the
 * shared format code, because the client imports nothing from server/. Its files must be the CLI's files
 * byte for byte, each side must read what the other wrote, and the refusals (overwrite, permissions, the
 * wrong kind of witness file) must be the same. The format functions the server exports must be the shared
 * ones themselves, not copies.
 */
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as clientFiles from '../../client/src/keyFiles.js';
import * as serverIdentity from '../../server/src/governance/identity.js';
import * as serverWitness from '../../server/src/governance/witness-keys.js';
import { Ed25519Signer } from '../../shared/src/ed25519.js';
import { SigilError, type SigilErrorCode } from '../../shared/src/errors.js';
import * as sharedIdentity from '../../shared/src/identity-file.js';
import * as sharedWitness from '../../shared/src/witness-key-file.js';
import { issueLicense, type LicenseChain } from '../../shared/src/license.js';

const PASS = 'correct horse battery staple';
const LOG_N = 14;
const isPosix = process.platform !== 'win32';
const seedOf = (name: string): Uint8Array =>
  new Uint8Array(createHash('sha256').update(`key-files-test/${name}`).digest());

const ROOT = new Ed25519Signer(seedOf('root'));
const OWNER_SEED = seedOf('owner');
const OWNER = new Ed25519Signer(OWNER_SEED);
const CHAIN: LicenseChain = [
  issueLicense(
    {
      id: createHash('sha256').update('key-files-test/id').digest('hex').slice(0, 32),
      subject: 'owner',
      subject_key: OWNER.publicKey,
      role: 'root',
      issued_at: '2026-01-01T00:00:00.000Z',
      expires_at: '2027-01-01T00:00:00.000Z',
      audience: 'sigil.local/key-files-test',
    },
    ROOT,
  ),
];

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const d = await fs.mkdtemp(path.join(os.tmpdir(), 'sigil-key-files-test-'));
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
const withPass = (p: string | undefined) => ({ passphrase: async () => p });

describe('server modules re-export the shared format code (one implementation)', () => {
  test('identity format functions are the shared ones', () => {
    for (const name of [
      'parseIdentity',
      'parseIdentityKey',
      'parsePublicIdentity',
      'createIdentity',
      'sealSeed',
      'unsealSeed',
      'unlockIdentity',
      'publicIdentity',
      'publicFromChain',
      'chainOfDocument',
    ] as const)
      assert.equal(serverIdentity[name], sharedIdentity[name], name);
  });

  test('witness key format functions are the shared ones', () => {
    for (const name of ['createWitnessKey', 'checkWitnessId', 'checkWitnessName'] as const)
      assert.equal(serverWitness[name], sharedWitness[name], name);
  });
});

describe('identity files: client and server I/O agree', () => {
  for (const passphrase of [undefined, PASS]) {
    const label = passphrase === undefined ? 'in clear' : 'encrypted';
    test(`${label}: both write the same bytes, mode 0600, and each reads the other's file`, async () => {
      const dir = await tempDir();
      const doc = await sharedIdentity.createIdentity(CHAIN, OWNER_SEED, { passphrase, scryptLogN: LOG_N });
      const byServer = path.join(dir, 'server.json');
      const byClient = path.join(dir, 'client.json');
      await serverIdentity.writeIdentityFile(byServer, doc);
      await clientFiles.writeIdentityFile(byClient, doc);
      assert.deepEqual(await fs.readFile(byClient), await fs.readFile(byServer));
      if (isPosix) {
        assert.equal((await fs.stat(byClient)).mode & 0o777, 0o600);
        assert.equal((await fs.stat(byServer)).mode & 0o777, 0o600);
      }
      assert.deepEqual((await fs.readdir(dir)).sort(), ['client.json', 'server.json'], 'no temporary left');
      const a = await clientFiles.readIdentityFile(byServer, withPass(passphrase));
      const b = await serverIdentity.readIdentityFile(byClient, withPass(passphrase));
      for (const loaded of [a, b]) {
        assert.equal(loaded.licenseId, CHAIN[0]?.body.id);
        assert.equal(loaded.keyId, OWNER.keyId);
        assert.equal(loaded.encrypted, passphrase !== undefined);
      }
    });
  }

  test('the client refuses what the server refuses: overwrite, group-readable, missing, wrong passphrase', async () => {
    const dir = await tempDir();
    const doc = await sharedIdentity.createIdentity(CHAIN, OWNER_SEED, {
      passphrase: PASS,
      scryptLogN: LOG_N,
    });
    const file = path.join(dir, 'id.json');
    await clientFiles.writeIdentityFile(file, doc);
    for (const write of [clientFiles.writeIdentityFile, serverIdentity.writeIdentityFile])
      await assert.rejects(
        write(file, doc),
        isSigilError('HOME_EXISTS', /refusing to overwrite an identity/),
      );
    for (const read of [clientFiles.readIdentityFile, serverIdentity.readIdentityFile]) {
      await assert.rejects(
        read(path.join(dir, 'none.json')),
        isSigilError('NOT_FOUND', /no identity file at/),
      );
      await assert.rejects(read(file, withPass(undefined)), isSigilError('PASSPHRASE_REQUIRED'));
      await assert.rejects(read(file, withPass('not the passphrase')), isSigilError('PASSPHRASE_WRONG'));
    }
    if (isPosix) {
      await fs.chmod(file, 0o640);
      for (const read of [clientFiles.readIdentityFile, serverIdentity.readIdentityFile])
        await assert.rejects(read(file, withPass(PASS)), isSigilError('KEY_INVALID', /chmod 600/));
    }
    await assert.rejects(
      clientFiles.writeIdentityFile(path.join(dir, 'no', 'such', 'dir.json'), doc),
      isSigilError('NOT_FOUND', /does not exist/),
    );
  });
});

describe('witness key files: the client reads what the CLI writes', () => {
  test('private and public files, in clear and encrypted, with the same refusals', async () => {
    for (const passphrase of [undefined, PASS]) {
      const dir = await tempDir();
      const key = await sharedWitness.createWitnessKey('alice', 'alice.example', {
        passphrase,
        scryptLogN: LOG_N,
      });
      const { keyFile, publicFile } = await serverWitness.writeWitnessKeyFiles(dir, key);
      const texts = sharedWitness.witnessKeyFileTexts(key);
      assert.equal(await fs.readFile(keyFile, 'utf8'), texts.keyText);
      assert.equal(await fs.readFile(publicFile, 'utf8'), texts.publicText);
      for (const m of [clientFiles, serverWitness]) {
        const loaded = await m.readWitnessKey(keyFile, withPass(passphrase));
        assert.equal(loaded.id, 'alice');
        assert.equal(loaded.name, 'alice.example');
        assert.equal(Buffer.from(loaded.publicKey).toString('base64'), key.public.public_key);
        assert.equal(loaded.keyId, key.public.key_id);
        assert.deepEqual(await m.readPublicWitness(publicFile), {
          id: 'alice',
          name: 'alice.example',
          publicKey: key.public.public_key,
        });
        await assert.rejects(
          m.readPublicWitness(keyFile),
          isSigilError('BAD_INPUT', /PRIVATE witness key file/),
        );
        await assert.rejects(
          m.readWitnessKey(publicFile),
          isPosix
            ? isSigilError('KEY_INVALID', /accessible to other users/) // the .pub.json is 0644
            : isSigilError('BAD_INPUT', /public witness file/),
        );
        await assert.rejects(
          m.readWitnessKey(path.join(dir, 'none.key.json')),
          isSigilError('NOT_FOUND', /no witness key file/),
        );
        if (passphrase !== undefined)
          await assert.rejects(
            m.readWitnessKey(keyFile, withPass('wrong passphrase')),
            isSigilError('PASSPHRASE_WRONG'),
          );
      }
    }
  });
});
