/**
 * `canon verify` re-checks system space: a commit written around the service layer (straight into the store,
 * with a valid root signature but without the witnesses' quorum) and a second "genesis" registry are both
 * named as failures, while a history made through the service passes.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { initHome, type SigilRuntime } from '../../server/src/runtime/home.js';
import { createHandlers } from '../../server/src/service/handlers.js';
import { storeInfo } from '../../server/src/service/canon-service.js';
import { readIdentityFile, unsealSeed } from '../../server/src/governance/identity.js';
import { createWitnessKey } from '../../server/src/governance/witness-keys.js';
import { COMMIT_SIGNING_PREFIX } from '../../server/src/governance/proposals.js';
import { checkSystemHistory } from '../../server/src/governance/system-audit.js';
import { signedParams } from '../../shared/src/signed-request.js';
import { Ed25519Signer } from '../../shared/src/ed25519.js';
import { toBase64, utf8 } from '../../shared/src/bytes.js';
import { signProposal } from '../../shared/src/quorum.js';
import type { ProposalView, VerifyResult } from '../../shared/src/protocol.js';
import type { JsonValue } from '../../shared/src/jcs.js';

const dirs: string[] = [];
const runtimes: SigilRuntime[] = [];
after(async () => {
  for (const rt of runtimes) await rt.close().catch(() => undefined);
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function setup() {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sigil-sysaudit-'));
  dirs.push(dir);
  const keys = await Promise.all(['w1', 'w2'].map((id) => createWitnessKey(id, `${id}-witness`)));
  const witnesses = await Promise.all(
    keys.map(async (k) => ({
      id: k.file.id,
      signer: new Ed25519Signer(await unsealSeed(k.file.key, {}, k.file.id)),
    })),
  );
  const init = await initHome({
    home: path.join(dir, 'home'),
    env: { SIGIL_KEYSTORE_SCRYPT_LOG_N: '14' },
    passphrase: { get: async () => undefined },
    ownerDescription: 'test',
    witnesses: keys.map((k) => ({ id: k.public.id, name: k.public.name, publicKey: k.public.public_key })),
    threshold: 2,
  });
  const rt = init.runtime;
  runtimes.push(rt);
  const owner = await readIdentityFile(init.ownerIdentity.file);
  const h = createHandlers({
    runtime: rt,
    requireRuntime: () => rt,
    info: () => storeInfo(rt),
    init: () => Promise.reject(new Error('not here')),
  });
  const call = async <T>(method: Parameters<typeof signedParams>[0], params: unknown): Promise<T> =>
    (await (h as unknown as Record<string, (p: unknown, c: object) => Promise<unknown>>)[method]!(
      signedParams(method, params, { chain: owner.chain, signer: owner.signer }),
      {},
    )) as T;
  return { rt, call, witnesses };
}

test('a history made through the service passes: genesis and a commit that met k = 2', async () => {
  const { call, witnesses } = await setup();
  const p = await call<ProposalView>('sigil/proposal.create', {
    kind: 'policy.update',
    change: { 'canon.export': { loa: 'mentor' } },
  });
  for (const w of witnesses)
    await call('sigil/proposal.attach', { id: p.id, signature: signProposal(p.id, w.id, w.signer) });
  await call('sigil/proposal.commit', { id: p.id });
  const report = await call<VerifyResult>('sigil/canon.verify', {});
  assert.equal(report.ok, true, report.firstBad?.reason);
  assert.deepEqual(report.system, { commits: 1, failed: [] });
});

test('a commit appended around the service, without the quorum, is named by verify', async () => {
  const { rt, call, witnesses } = await setup();
  const p = await call<ProposalView>('sigil/proposal.create', {
    kind: 'policy.update',
    change: { 'canon.export': { loa: 'observer' } },
  });
  // One of the two witnesses: the service refuses to commit it.
  const [w1] = witnesses;
  await call('sigil/proposal.attach', { id: p.id, signature: signProposal(p.id, w1!.id, w1!.signer) });
  await assert.rejects(call('sigil/proposal.commit', { id: p.id }), /cannot be committed/);
  // Someone with the store's keys writes the commit anyway, root signature and all.
  const forged = await rt.store.append({
    kind: 'proposal.committed',
    space: 'system',
    actor: 'license:intruder',
    payload: {
      id: p.id,
      kind: 'policy.update',
      prev: p.prev,
      votes: ['w1', 'w2'],
      threshold: 2,
      root_sig: toBase64(rt.keystore.root.sign(utf8(COMMIT_SIGNING_PREFIX + p.id))),
      root_key_id: rt.keystore.root.keyId,
      committed_by: 'intruder',
    },
  });
  const history = await checkSystemHistory(rt.governance);
  assert.equal(history.failed.length, 1);
  assert.equal(history.failed[0]?.recordId, forged.id);
  assert.match(history.failed[0]?.reason ?? '', /without meeting the quorum rule: .*1 of the 2 votes/);
  const report = await call<VerifyResult>('sigil/canon.verify', {});
  assert.equal(report.ok, false);
  assert.equal(report.firstBad?.id, forged.id);
  assert.equal(report.firstBad?.seq, forged.body.seq);
});

test('a second genesis registry, badly signed, is named by verify', async () => {
  const { rt, call } = await setup();
  const list = await call<{ threshold: number; witnesses: unknown[] }>('sigil/witness.list', {});
  assert.equal(list.threshold, 2);
  const genesis = await rt.store.append({
    kind: 'witness.registry',
    space: 'system',
    actor: 'license:intruder',
    payload: {
      registry: rt.governance.registry.system.registry as unknown as JsonValue,
      proposal_id: null,
      root_sig: toBase64(new Uint8Array(64)),
      root_key_id: rt.keystore.root.keyId,
    },
  });
  const history = await checkSystemHistory(rt.governance);
  assert.deepEqual(
    history.failed.map((f) => f.recordId),
    [genesis.id],
  );
  assert.match(history.failed[0]?.reason ?? '', /genesis witness registry is not signed by the root key/);
});
