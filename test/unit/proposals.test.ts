/**
 * System proposals and the witness quorum through the service handlers (sigil/witness.list,
 * sigil/proposal.*) on real homes made with initHome, each with genesis witnesses made by createWitnessKey
 * so the test holds their private keys: duplicate signatures and a witness that signs twice, insufficient
 * signatures (refused, audited, nothing else written), signatures by non-witnesses, over another proposal
 * or over a bare hash (refused at attach), expiry, a stale prev, a replayed commit, racing commits over the
 * same head, the TUF rule for registry changes (witness.add, quorum.set_threshold, witness.rotate,
 * witness.revoke need the old k AND the new k), revocation and rotation while proposals are pending,
 * policy.update and trust.update_params taking effect, invalid changes refused at create, and a fast-check
 * property: a commit succeeds iff at least k distinct active witnesses signed.
 *
 * Homes are unencrypted (no scrypt cost). Every commit moves the head of system changes, so each step
 * creates its proposals on the head it finds.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { initHome, openRuntime, type SigilRuntime } from '../../server/src/runtime/home.js';
import { runtimeHandlers, type Handlers } from '../../server/src/service/handlers.js';
import { noPassphrase } from '../support/runtime-home.js';
import { readIdentityFile, unsealSeed, type LoadedIdentity } from '../../server/src/governance/identity.js';
import { createWitnessKey } from '../../server/src/governance/witness-keys.js';
import { GOVERNANCE_KINDS } from '../../server/src/governance/registry.js';
import { signedParams } from '../../shared/src/signed-request.js';
import type { Identity, LicenseChain } from '../../shared/src/license.js';
import { Ed25519Signer, publicKeyFromSeed, verify } from '../../shared/src/ed25519.js';
import { fromHex, toBase64, utf8 } from '../../shared/src/bytes.js';
import { proposalSigningMessage, signProposal, type WitnessSignature } from '../../shared/src/quorum.js';
import { SigilError } from '../../shared/src/errors.js';
import type {
  PolicyRow,
  ProposalView,
  RequestMethod,
  TrustStatus,
  WitnessListResult,
} from '../../shared/src/protocol.js';
import type { CanonicalRecord } from '../../shared/src/record.js';
import { signWithNonce } from '../support/ed25519-nonce.js';

const FAST_CHECK_SEED = 20260415;

// ---------------------------------------------------------------------------------------------------------
// Witnesses, homes, calls

interface Witness {
  readonly id: string;
  readonly name: string;
  readonly seed: Uint8Array;
  readonly signer: Ed25519Signer;
  /** Standard base64 of the public key. */
  readonly publicKey: string;
}

const scratchDirs: string[] = [];
const runtimes: SigilRuntime[] = [];

async function newWitness(id: string, name = `${id}-witness`): Promise<Witness> {
  const key = await createWitnessKey(id, name);
  const seed = await unsealSeed(key.file.key, {}, `witness ${id}`);
  const signer = new Ed25519Signer(seed);
  assert.equal(toBase64(signer.publicKey), key.public.public_key);
  return { id, name, seed, signer, publicKey: key.public.public_key };
}

/** Another key for the same witness (a rotation's new key). */
const rekeyed = (w: Witness): Promise<Witness> => newWitness(w.id, w.name);

type Four = [Witness, Witness, Witness, Witness];
const fourWitnesses = async (ids: readonly string[]): Promise<Four> =>
  (await Promise.all(ids.map((id) => newWitness(id)))) as Four;

interface Home {
  readonly home: string;
  rt: SigilRuntime;
  handlers: Handlers;
  readonly owner: LoadedIdentity;
}

/** Closes the home's runtime and opens it again: everything is rebuilt from the canon. */
async function reopen(h: Home): Promise<void> {
  await h.rt.close();
  runtimes.splice(runtimes.indexOf(h.rt), 1);
  h.rt = await openRuntime({ home: h.home, env: {}, passphrase: noPassphrase, ownerDescription: 'reopen' });
  runtimes.push(h.rt);
  h.handlers = runtimeHandlers(h.rt);
}

async function newHome(label: string, witnesses: readonly Witness[], threshold: number): Promise<Home> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `sigil-proposals-${label}-`));
  scratchDirs.push(dir);
  const home = path.join(dir, 'home');
  const init = await initHome({
    home,
    env: {},
    passphrase: noPassphrase,
    ownerDescription: `proposals test ${label}`,
    witnesses: witnesses.map((w) => ({ id: w.id, name: w.name, publicKey: w.publicKey })),
    threshold,
  });
  runtimes.push(init.runtime);
  assert.deepEqual(init.witnesses.ids, [...witnesses.map((w) => w.id)]);
  assert.equal(init.witnesses.threshold, threshold);
  assert.equal(init.witnesses.ownerKeyFile, null);
  const rt = init.runtime;
  return { home, rt, handlers: runtimeHandlers(rt), owner: await readIdentityFile(init.ownerIdentity.file) };
}

async function disposeAll(): Promise<void> {
  for (const rt of runtimes.splice(0)) await rt.close();
  for (const d of scratchDirs.splice(0)) await rm(d, { recursive: true, force: true });
}

/** A signed request as `who` (default: the owner, root). */
async function call<T>(
  h: Home,
  method: RequestMethod,
  params: Record<string, unknown>,
  who: Identity = h.owner,
): Promise<T> {
  return (await h.handlers[method](signedParams(method, params, who), {})) as T;
}

const witnessList = (h: Home): Promise<WitnessListResult> => call(h, 'sigil/witness.list', {});
const show = (h: Home, id: string): Promise<ProposalView> => call(h, 'sigil/proposal.show', { id });
const commit = (h: Home, id: string): Promise<ProposalView> => call(h, 'sigil/proposal.commit', { id });
const policyRows = async (h: Home): Promise<PolicyRow[]> =>
  (await call<{ operations: PolicyRow[] }>(h, 'sigil/policy.show', {})).operations;

function create(
  h: Home,
  kind: string,
  change: Record<string, unknown>,
  expiresAt?: string,
): Promise<ProposalView> {
  return call(h, 'sigil/proposal.create', { kind, change, ...(expiresAt ? { expiresAt } : {}) });
}

function attach(h: Home, id: string, signature: WitnessSignature): Promise<ProposalView> {
  return call(h, 'sigil/proposal.attach', { id, signature });
}

/** `w`'s vote on proposal `id` (the deterministic RFC 8032 signature). */
const vote = (w: Witness, id: string): WitnessSignature => signProposal(id, w.id, w.signer);

/** A second, different valid signature by `w` over the same proposal (another nonce). */
function revote(w: Witness, id: string): WitnessSignature {
  const sig = signWithNonce(w.seed, proposalSigningMessage(id));
  assert.ok(verify(w.signer.publicKey, proposalSigningMessage(id), sig));
  return { witnessId: w.id, keyId: w.signer.keyId, sig: toBase64(sig) };
}

/** A signature by `w`'s key over arbitrary bytes, presented as a vote. */
function rawVote(w: Witness, message: Uint8Array): WitnessSignature {
  return { witnessId: w.id, keyId: w.signer.keyId, sig: toBase64(w.signer.sign(message)) };
}

async function signAll(h: Home, id: string, ws: readonly Witness[]): Promise<ProposalView> {
  let v = await show(h, id);
  for (const w of ws) v = await attach(h, id, vote(w, id));
  return v;
}

function isCode(code: string, details?: (d: Record<string, unknown>) => void) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof SigilError, `expected a SigilError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (details) details((e.details ?? {}) as Record<string, unknown>);
    return true;
  };
}

/** A refused commit: ACCESS_DENIED (exit 4), cause quorum, with `reason` among the reasons. */
function quorumDenied(reason: string, message?: RegExp) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof SigilError, String(e));
    assert.equal(e.code, 'ACCESS_DENIED', e.message);
    assert.equal(e.exitCode, 4);
    const d = (e.details ?? {}) as { cause?: string; reasons?: string[]; operation?: string };
    assert.equal(d.cause, 'quorum');
    assert.equal(d.operation, 'system.commit');
    assert.ok(d.reasons?.includes(reason), `${reason} not in ${JSON.stringify(d.reasons)}: ${e.message}`);
    if (message) assert.match(e.message, message);
    return true;
  };
}

async function lastRecord(h: Home): Promise<CanonicalRecord> {
  return h.rt.store.getBySeq(h.rt.store.size() - 1);
}

const inMs = (ms: number): string => new Date(Date.now() + ms).toISOString();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A distinct policy.update each time (the proposal id is the hash of the body). */
let policyNonce = 0;
function harmlessPolicy(): Record<string, unknown> {
  // Raising trust.feedback's threshold a hair at a time: valid, and it changes nothing the tests rely on.
  policyNonce++;
  return { 'trust.feedback': { trust_threshold: 0.5 + policyNonce / 10_000 } };
}

after(disposeAll);

// ---------------------------------------------------------------------------------------------------------

describe('proposals: four witnesses, k = 2', { concurrency: 1 }, () => {
  let h: Home;
  let w1: Witness, w2: Witness, w3: Witness, w4: Witness;

  before(async () => {
    [w1, w2, w3, w4] = await fourWitnesses(['w1', 'w2', 'w3', 'w4']);
    h = await newHome('k2', [w1, w2, w3, w4], 2);
  });

  test('the genesis registry: the four witnesses given to init, k = 2, head = its record', async () => {
    const r = await witnessList(h);
    assert.equal(r.threshold, 2);
    assert.deepEqual(
      r.witnesses.map((w) => [w.id, w.name, w.status, w.keyId]),
      [w1, w2, w3, w4].map((w) => [w.id, w.name, 'active', w.signer.keyId]),
    );
    assert.equal(r.history.length, 1);
    assert.equal(r.history[0]?.proposalId, null);
    assert.equal(r.head, r.history[0]?.recordId);
    const genesis = await h.rt.store.get(r.head as string);
    assert.equal(genesis.body.kind, 'witness.registry');
    assert.equal(genesis.body.space, 'system');
  });

  test('duplicate signatures: the same one again is DUPLICATE; a witness signing twice has one vote', async () => {
    const head = (await witnessList(h)).head;
    const p = await create(h, 'policy.update', harmlessPolicy());
    assert.equal(p.status, 'pending');
    assert.equal(p.prev, head);
    assert.deepEqual(p.votes, []);
    assert.deepEqual(p.unsigned, ['w1', 'w2', 'w3', 'w4']);
    assert.equal(p.canCommit, false);

    let v = await attach(h, p.id, vote(w1, p.id));
    assert.deepEqual(v.votes, ['w1']);
    const size = h.rt.store.size();
    await assert.rejects(attach(h, p.id, vote(w1, p.id)), isCode('DUPLICATE'));
    assert.equal(h.rt.store.size(), size, 'a refused duplicate writes nothing');

    // A different valid signature by the same key over the same message (another nonce): attached, but w1
    // still has one vote.
    const again = revote(w1, p.id);
    assert.notEqual(again.sig, vote(w1, p.id).sig);
    v = await attach(h, p.id, again);
    assert.equal(v.signatures.length, 2);
    assert.deepEqual(v.votes, ['w1']);
    assert.deepEqual(
      v.signatures.map((s) => s.counts),
      [true, false],
    );
    assert.match(v.signatures[1]?.problem ?? '', /already voted|already counts/);
    assert.deepEqual(v.unsigned, ['w2', 'w3', 'w4']);
    assert.equal(v.canCommit, false);
    assert.ok(
      v.blockers.some((b) => /1 of the 2 votes/.test(b)),
      v.blockers.join('; '),
    );

    // Two signatures, one witness: below k = 2 (the commit is refused; see the next test for what that leaves).
    await assert.rejects(commit(h, p.id), quorumDenied('insufficient', /1 of the 2 votes/));

    v = await attach(h, p.id, vote(w2, p.id));
    assert.deepEqual(v.votes, ['w1', 'w2']);
    assert.equal(v.canCommit, true);
    const done = await commit(h, p.id);
    assert.equal(done.status, 'committed');
    assert.equal(done.canCommit, false);
  });

  test('insufficient signatures: ACCESS_DENIED (exit 4, cause quorum), one audit record, nothing else', async () => {
    const p = await create(h, 'policy.update', harmlessPolicy());
    await attach(h, p.id, vote(w3, p.id));
    const before = {
      size: h.rt.store.size(),
      list: await witnessList(h),
      policy: await policyRows(h),
      view: await show(h, p.id),
    };
    await assert.rejects(commit(h, p.id), (e: unknown) => {
      quorumDenied('insufficient')(e);
      const d = (e as SigilError).details as { votes: string[]; threshold: number };
      assert.deepEqual(d.votes, ['w3']);
      assert.equal(d.threshold, 2);
      return true;
    });
    assert.equal(h.rt.store.size(), before.size + 1, 'exactly one record: the audit of the refusal');
    const audit = await lastRecord(h);
    assert.equal(audit.body.kind, GOVERNANCE_KINDS.audit);
    assert.equal(audit.body.space, 'system');
    const payload = audit.body.payload as Record<string, unknown>;
    assert.equal(payload.decision, 'denied');
    assert.equal(payload.operation, 'system.commit');
    assert.equal(payload.method, 'sigil/proposal.commit');
    assert.match(String(payload.reason), /cannot be committed/);
    // Nothing else moved: the head, the registry, the policy, the proposal.
    assert.deepEqual(await witnessList(h), before.list);
    assert.deepEqual(await policyRows(h), before.policy);
    const after = await show(h, p.id);
    assert.equal(after.status, 'pending');
    assert.deepEqual(after.votes, before.view.votes);
    assert.equal(after.signatures.length, 1);
  });

  test('refused at attach: a non-witness, a key of another witness, another proposal, a bare hash', async () => {
    const p = await create(h, 'policy.update', harmlessPolicy());
    const other = await create(h, 'policy.update', harmlessPolicy());
    const mallory = await newWitness('mallory');
    const size = h.rt.store.size();

    // Not a witness at all.
    await assert.rejects(attach(h, p.id, vote(mallory, p.id)), isCode('BAD_INPUT'));
    // A stranger's key under a witness's id, and one witness's key under another's id.
    await assert.rejects(attach(h, p.id, { ...vote(mallory, p.id), witnessId: 'w1' }), isCode('BAD_INPUT'));
    await assert.rejects(attach(h, p.id, { ...vote(w2, p.id), witnessId: 'w1' }), isCode('BAD_INPUT'));
    // A real witness key, but not over "sigil-proposal/v1\n" + this id.
    await assert.rejects(attach(h, p.id, vote(w1, other.id)), isCode('SIGNATURE_INVALID'));
    await assert.rejects(attach(h, p.id, rawVote(w1, utf8(p.id))), isCode('SIGNATURE_INVALID'));
    await assert.rejects(attach(h, p.id, rawVote(w1, fromHex(p.id))), isCode('SIGNATURE_INVALID'));
    await assert.rejects(
      attach(h, p.id, rawVote(w1, utf8(`sigil-proposal/v2\n${p.id}`))),
      isCode('SIGNATURE_INVALID'),
    );
    const bodyHash = new Uint8Array(createHash('sha256').update(JSON.stringify(p.body)).digest());
    await assert.rejects(attach(h, p.id, rawVote(w1, bodyHash)), isCode('SIGNATURE_INVALID'));
    // Garbage in the sig field.
    await assert.rejects(
      attach(h, p.id, { ...vote(w1, p.id), sig: toBase64(new Uint8Array(64)) }),
      isCode('SIGNATURE_INVALID'),
    );
    await assert.rejects(
      attach(h, p.id, { ...vote(w1, p.id), sig: 'not base64!' }),
      isCode('SIGNATURE_INVALID'),
    );
    // No such proposal.
    await assert.rejects(attach(h, 'f'.repeat(64), vote(w1, 'f'.repeat(64))), isCode('NOT_FOUND'));
    assert.equal(h.rt.store.size(), size, 'refused attachments write nothing');
    const v = await show(h, p.id);
    assert.deepEqual(v.signatures, []);
    assert.deepEqual(v.votes, []);
    // The one over the other proposal is fine there.
    assert.deepEqual((await attach(h, other.id, vote(w1, other.id))).votes, ['w1']);
  });

  test('an expired proposal: status expired, the commit refused (cause quorum, expired)', async () => {
    const p = await create(h, 'policy.update', harmlessPolicy(), inMs(1500));
    const v = await signAll(h, p.id, [w1, w2]);
    assert.equal(v.canCommit, true, v.blockers.join('; '));
    await sleep(Math.max(0, Date.parse(p.expiresAt) - Date.now()) + 50);
    const late = await show(h, p.id);
    assert.equal(late.status, 'expired');
    assert.equal(late.canCommit, false);
    assert.ok(
      late.blockers.some((b) => /expired/.test(b)),
      late.blockers.join('; '),
    );
    const head = (await witnessList(h)).head;
    await assert.rejects(commit(h, p.id), quorumDenied('expired', /expired/));
    assert.equal((await witnessList(h)).head, head);
    // An expiry in the past, or more than 90 days ahead, is refused at create.
    await assert.rejects(create(h, 'policy.update', harmlessPolicy(), inMs(-1000)), isCode('BAD_INPUT'));
    await assert.rejects(
      create(h, 'policy.update', harmlessPolicy(), inMs(91 * 24 * 3600 * 1000)),
      isCode('BAD_INPUT'),
    );
  });

  test('a stale prev after another commit: status stale, the commit refused saying re-propose; a replay is DUPLICATE', async () => {
    const a = await create(h, 'policy.update', harmlessPolicy());
    const b = await create(h, 'policy.update', harmlessPolicy());
    assert.equal(a.prev, b.prev);
    await signAll(h, a.id, [w1, w4]);
    assert.equal((await signAll(h, b.id, [w2, w3])).canCommit, true);
    const done = await commit(h, a.id);
    assert.equal(done.status, 'committed');
    const list = await witnessList(h);
    assert.equal(list.head, done.committed?.recordId);
    assert.notEqual(list.head, b.prev);

    const stale = await show(h, b.id);
    assert.equal(stale.status, 'stale');
    assert.equal(stale.canCommit, false);
    assert.deepEqual(stale.votes, ['w2', 'w3'], 'its votes are still there; only its prev is wrong');
    assert.ok(
      stale.blockers.some((x) => /re-propose/.test(x)),
      stale.blockers.join('; '),
    );
    await assert.rejects(commit(h, b.id), quorumDenied('stale', /re-propose/));

    // Committing a committed proposal again is a replay.
    const size = h.rt.store.size();
    await assert.rejects(commit(h, a.id), isCode('DUPLICATE'));
    assert.equal(h.rt.store.size(), size);
    // Nor can it collect more signatures.
    await assert.rejects(attach(h, a.id, vote(w2, a.id)), isCode('BAD_INPUT'));

    // Re-proposing the same change on the new head works.
    const again = await create(h, 'policy.update', b.change as Record<string, unknown>);
    assert.equal(again.prev, list.head);
    await signAll(h, again.id, [w2, w3]);
    assert.equal((await commit(h, again.id)).status, 'committed');
  });

  test('commits racing for the same head: exactly one wins, the others are stale', async () => {
    const pairs: Array<[Witness, Witness]> = [
      [w1, w2],
      [w3, w4],
      [w1, w4],
    ];
    for (let round = 0; round < 3; round++) {
      const ps = await Promise.all(pairs.map(() => create(h, 'policy.update', harmlessPolicy())));
      assert.equal(new Set(ps.map((p) => p.prev)).size, 1, 'all on the same head');
      for (const [i, p] of ps.entries()) await signAll(h, p.id, pairs[i] as [Witness, Witness]);
      const results = await Promise.allSettled(ps.map((p) => commit(h, p.id)));
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r) => r.status === 'rejected');
      assert.equal(won.length, 1, `round ${round}: ${JSON.stringify(results.map((r) => r.status))}`);
      for (const l of lost) quorumDenied('stale', /re-propose/)(l.reason);
      const winner = won[0]?.value as ProposalView;
      for (const p of ps)
        assert.equal((await show(h, p.id)).status, p.id === winner.id ? 'committed' : 'stale');
      assert.equal((await witnessList(h)).head, winner.committed?.recordId);
    }
    const committed = (await call<{ proposals: ProposalView[] }>(h, 'sigil/proposal.list', {})).proposals
      .filter((p) => p.status === 'committed')
      .map((p) => p.prev);
    assert.equal(new Set(committed).size, committed.length, 'no two committed proposals share a prev');
  });

  test('system records cannot be forged through canon.append', async () => {
    const size = h.rt.store.size();
    for (const kind of [
      'proposal.created',
      'proposal.signed',
      'proposal.committed',
      'witness.registry',
      'policy.updated',
      'trust.params',
      'quorum.threshold',
    ])
      await assert.rejects(
        call(h, 'sigil/canon.append', { kind, space: 'system', payload: {} }),
        isCode('BAD_INPUT'),
        kind,
      );
    assert.equal(h.rt.store.size(), size);
  });

  test('only root proposes, attaches and commits; an observer may look', async () => {
    const seed = new Uint8Array(randomBytes(32));
    const issued = await call<{ chain: LicenseChain }>(h, 'sigil/license.issue', {
      subject: 'agent:looker',
      role: 'observer',
      expiresAt: inMs(24 * 3600 * 1000),
      subjectKey: toBase64(publicKeyFromSeed(seed)),
    });
    const looker: Identity = { chain: issued.chain, seed };
    const p = await create(h, 'policy.update', harmlessPolicy());
    const loaDenied = isCode('ACCESS_DENIED', (d) => assert.equal(d.cause, 'loa'));
    await assert.rejects(
      call(h, 'sigil/proposal.create', { kind: 'policy.update', change: harmlessPolicy() }, looker),
      loaDenied,
    );
    await assert.rejects(
      call(h, 'sigil/proposal.attach', { id: p.id, signature: vote(w1, p.id) }, looker),
      loaDenied,
    );
    await signAll(h, p.id, [w1, w2]);
    await assert.rejects(call(h, 'sigil/proposal.commit', { id: p.id }, looker), loaDenied);
    assert.equal((await call<ProposalView>(h, 'sigil/proposal.show', { id: p.id }, looker)).canCommit, true);
    assert.equal((await call<WitnessListResult>(h, 'sigil/witness.list', {}, looker)).witnesses.length, 4);
    const exp = await call<{ id: string; origin: string }>(h, 'sigil/proposal.export', { id: p.id }, looker);
    assert.equal(exp.id, p.id);
    assert.equal(exp.origin, h.rt.store.origin);
    assert.equal((await commit(h, p.id)).status, 'committed');
  });

  test('a rejected proposal takes no more signatures and cannot be committed', async () => {
    const p = await create(h, 'policy.update', harmlessPolicy());
    await attach(h, p.id, vote(w1, p.id));
    const r = await call<ProposalView>(h, 'sigil/proposal.reject', { id: p.id, reason: 'not now' });
    assert.equal(r.status, 'rejected');
    assert.equal(r.rejected?.reason, 'not now');
    await assert.rejects(attach(h, p.id, vote(w2, p.id)), isCode('BAD_INPUT'));
    await assert.rejects(commit(h, p.id), isCode('BAD_INPUT'));
    await assert.rejects(
      call(h, 'sigil/proposal.reject', { id: p.id, reason: 'again' }),
      isCode('BAD_INPUT'),
    );
  });

  test('policy.update may loosen an operation: canon.export to observer, in policy.show and at the gate', async () => {
    const seed = new Uint8Array(randomBytes(32));
    const issued = await call<{ chain: LicenseChain }>(h, 'sigil/license.issue', {
      subject: 'agent:observer',
      role: 'observer',
      expiresAt: inMs(24 * 3600 * 1000),
      subjectKey: toBase64(publicKeyFromSeed(seed)),
    });
    const observer: Identity = { chain: issued.chain, seed };
    const exportPage = () => call(h, 'sigil/canon.list', { purpose: 'export', limit: 1 }, observer);

    const rowBefore = (await policyRows(h)).find((r) => r.operation === 'canon.export');
    assert.equal(rowBefore?.loa, 'operator');
    await assert.rejects(
      exportPage(),
      isCode('ACCESS_DENIED', (d) => assert.equal(d.cause, 'loa')),
    );

    const p = await create(h, 'policy.update', {
      'canon.export': { loa: 'observer', trust_threshold: 0 },
    });
    await signAll(h, p.id, [w2, w4]);
    // Not in force until committed.
    assert.equal((await policyRows(h)).find((r) => r.operation === 'canon.export')?.loa, 'operator');
    const done = await commit(h, p.id);
    assert.equal(done.status, 'committed');
    const policyRecord = await lastRecord(h);
    assert.equal(policyRecord.body.kind, GOVERNANCE_KINDS.audit, 'the audit record closes the group');
    const group = await h.rt.store.getBySeq(policyRecord.body.seq - 1);
    assert.equal(group.body.kind, 'policy.updated');

    const row = (await policyRows(h)).find((r) => r.operation === 'canon.export');
    assert.equal(row?.loa, 'observer');
    assert.equal(row?.loaRank, 1);
    assert.equal(row?.trustThreshold, 0);
    assert.ok(row?.changedBy?.loa, 'policy show says where the change came from');
    const page = (await exportPage()) as { records: unknown[] };
    assert.equal(page.records.length, 1);
    // canon.list itself is untouched.
    assert.equal((await policyRows(h)).find((r) => r.operation === 'canon.list')?.loa, 'observer');
  });

  test('trust.update_params takes effect in trust.status', async () => {
    const before = await call<TrustStatus>(h, 'sigil/trust.status', {});
    assert.equal(before.params.learningRate, 0.1);
    const p = await create(h, 'trust.update_params', { learningRate: 0.05, maxStep: 0.02 });
    await signAll(h, p.id, [w1, w3]);
    assert.equal((await call<TrustStatus>(h, 'sigil/trust.status', {})).params.learningRate, 0.1);
    await commit(h, p.id);
    const now = await call<TrustStatus>(h, 'sigil/trust.status', {});
    assert.equal(now.params.learningRate, 0.05);
    assert.equal(now.params.maxStep, 0.02);
    assert.deepEqual(now.params.w, before.params.w, 'fields not named in the change are kept');
    assert.notEqual(before.prior.learningRate, 0.05);
    assert.equal(now.prior.learningRate, 0.05, 'committed parameters become what the model relaxes toward');
  });

  test('a trust.update_params change is refused at create or takes effect, never a silent no-op', async () => {
    // halfLifeMs is a field of the trust parameters, but mergedTrustParams (proposals.ts) overwrites it with
    // the one in force, and Governance.trustParams takes it from the configuration anyway.
    const before = await call<TrustStatus>(h, 'sigil/trust.status', {});
    assert.notEqual(before.params.halfLifeMs, 3_600_000);
    let p: ProposalView | null = null;
    try {
      p = await create(h, 'trust.update_params', { halfLifeMs: 3_600_000 });
    } catch (e) {
      isCode('BAD_INPUT')(e);
    }
    if (p) {
      await signAll(h, p.id, [w1, w2]);
      await commit(h, p.id);
      const after = await call<TrustStatus>(h, 'sigil/trust.status', {});
      assert.equal(
        after.params.halfLifeMs,
        3_600_000,
        'trust.update_params {halfLifeMs} was accepted, signed and committed, but trust.status still shows the old half-life',
      );
    }
  });

  test('a trust.update_params change whose w is not an object is refused at create', async () => {
    // mergedTrustParams (proposals.ts) spreads c.w into the weights in force: a number spreads to nothing,
    // so {"w": 5} passes the check and commits as a no-op.
    await assert.rejects(create(h, 'trust.update_params', { w: 5 }), isCode('BAD_INPUT'));
  });

  test('invalid changes are refused at create, and write nothing', async () => {
    const size = h.rt.store.size();
    const refused: Array<[string, Record<string, unknown>, string]> = [
      [
        'witness.add',
        { id: 'w1', name: 'someone-new', public_key: (await newWitness('x')).publicKey },
        'BAD_INPUT',
      ],
      [
        'witness.add',
        { id: 'w9', name: w2.name, public_key: (await newWitness('y')).publicKey },
        'BAD_INPUT',
      ],
      ['witness.add', { id: 'w9', name: 'w9-witness', public_key: w3.publicKey }, 'BAD_INPUT'],
      ['witness.add', { id: 'w9', name: 'w9-witness', public_key: 'AAAA' }, 'BAD_INPUT'],
      ['witness.add', { id: 'W 9', name: 'w9-witness', public_key: w3.publicKey }, 'BAD_INPUT'],
      ['witness.rotate', { id: 'nobody', public_key: (await newWitness('z')).publicKey }, 'BAD_INPUT'],
      ['witness.rotate', { id: 'w1', public_key: w2.publicKey }, 'BAD_INPUT'],
      ['witness.revoke', { id: 'nobody' }, 'BAD_INPUT'],
      ['quorum.set_threshold', { threshold: 5 }, 'BAD_INPUT'],
      ['quorum.set_threshold', { threshold: 0 }, 'BAD_INPUT'],
      ['policy.update', { 'canon.nonsense': { loa: 'observer' } }, 'BAD_INPUT'],
      ['policy.update', { 'canon.export': { loa: 'emperor' } }, 'BAD_INPUT'],
      ['policy.update', { 'store.init': { loa: 'root' } }, 'BAD_INPUT'],
      ['trust.update_params', { learningRate: -1 }, 'BAD_INPUT'],
      ['trust.update_params', { nonsense: 1 }, 'BAD_INPUT'],
      ['system.takeover', {}, 'BAD_INPUT'],
    ];
    for (const [kind, change, code] of refused)
      await assert.rejects(create(h, kind, change), isCode(code), `${kind} ${JSON.stringify(change)}`);
    assert.equal(h.rt.store.size(), size);
  });

  test('the whole state survives a reopen: registry, head, proposals, policy, trust', async () => {
    const snapshot = async () => ({
      list: await witnessList(h),
      proposals: (await call<{ proposals: ProposalView[] }>(h, 'sigil/proposal.list', {})).proposals.map(
        (p) => [p.id, p.status, p.votes, p.signatures.length],
      ),
      policy: await policyRows(h),
      trust: (await call<TrustStatus>(h, 'sigil/trust.status', {})).params.learningRate,
    });
    const before = await snapshot();
    assert.ok(before.proposals.length > 10);
    await reopen(h);
    assert.deepEqual(await snapshot(), before);
    // And it goes on: a proposal on the rebuilt head commits.
    const p = await create(h, 'policy.update', harmlessPolicy());
    assert.equal(p.prev, before.list.head);
    await signAll(h, p.id, [w3, w4]);
    assert.equal((await commit(h, p.id)).status, 'committed');
    const report = (await call(h, 'sigil/canon.verify', {})) as { ok: boolean };
    assert.equal(report.ok, true, JSON.stringify(report));
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('registry changes: the TUF rule (old k and new k)', { concurrency: 1 }, () => {
  let h: Home;
  let a: Witness, b: Witness, c: Witness, d: Witness, c2: Witness;

  before(async () => {
    [a, b, c, d] = await fourWitnesses(['a', 'b', 'c', 'd']);
    c2 = await rekeyed(c);
    h = await newHome('tuf', [a, b, c], 2);
  });

  test('witness.add: the new witness alone on the new side is not enough; the old k is needed too', async () => {
    const p = await create(h, 'witness.add', { id: d.id, name: d.name, public_key: d.publicKey });
    // d's key is not in the registry yet, but the proposal brings it in: its signature is accepted.
    let v = await attach(h, p.id, vote(d, p.id));
    v = await attach(h, p.id, vote(a, p.id));
    assert.deepEqual(v.votes, ['a'], 'under the registry in force d is nobody');
    assert.deepEqual(v.newVotes, ['d', 'a']);
    assert.equal(v.threshold, 2);
    assert.equal(v.newThreshold, 2);
    assert.equal(v.canCommit, false);
    await assert.rejects(commit(h, p.id), quorumDenied('insufficient', /current registry/));
    v = await attach(h, p.id, vote(b, p.id));
    assert.equal(v.canCommit, true);
    const done = await commit(h, p.id);
    assert.equal(done.status, 'committed');
    const list = await witnessList(h);
    assert.deepEqual(
      list.witnesses.map((w) => [w.id, w.status]),
      [
        ['a', 'active'],
        ['b', 'active'],
        ['c', 'active'],
        ['d', 'active'],
      ],
    );
    assert.equal(list.threshold, 2);
    assert.equal(list.history.length, 2);
    assert.equal(list.history[1]?.proposalId, p.id);
    const rec = await h.rt.store.getBySeq((await lastRecord(h)).body.seq - 1);
    assert.equal(rec.body.kind, 'witness.registry');
  });

  test('quorum.set_threshold 2 → 3: the old k alone is not enough', async () => {
    const p = await create(h, 'quorum.set_threshold', { threshold: 3 });
    let v = await signAll(h, p.id, [a, b]);
    assert.deepEqual(v.votes, ['a', 'b']);
    assert.equal(v.threshold, 2);
    assert.equal(v.newThreshold, 3);
    assert.equal(v.canCommit, false);
    await assert.rejects(commit(h, p.id), quorumDenied('insufficient', /new registry: 2 of the 3 votes/));
    v = await attach(h, p.id, vote(c, p.id));
    assert.equal(v.canCommit, true);
    await commit(h, p.id);
    assert.equal((await witnessList(h)).threshold, 3);
  });

  test('quorum.set_threshold 3 → 2: the new k alone is not enough', async () => {
    const p = await create(h, 'quorum.set_threshold', { threshold: 2 });
    let v = await signAll(h, p.id, [c, d]);
    assert.equal(v.threshold, 3);
    assert.equal(v.newThreshold, 2);
    assert.deepEqual(v.newVotes, ['c', 'd']);
    await assert.rejects(commit(h, p.id), quorumDenied('insufficient', /current registry: 2 of the 3 votes/));
    v = await attach(h, p.id, vote(a, p.id));
    assert.equal(v.canCommit, true);
    await commit(h, p.id);
    assert.equal((await witnessList(h)).threshold, 2);
  });

  test('witness.rotate: the old key votes on the old side, the new key on the new side; one vote each', async () => {
    // Only the new key: c does not count under the registry in force.
    const p1 = await create(h, 'witness.rotate', { id: c.id, public_key: c2.publicKey }, inMs(3_600_000));
    await attach(h, p1.id, vote(a, p1.id));
    let v = await attach(h, p1.id, vote(c2, p1.id));
    assert.deepEqual(v.votes, ['a']);
    assert.deepEqual(v.newVotes, ['a', 'c']);
    await assert.rejects(commit(h, p1.id), quorumDenied('insufficient', /current registry/));

    // Only the old key: c does not count under the registry after the rotation.
    const p2 = await create(h, 'witness.rotate', { id: c.id, public_key: c2.publicKey }, inMs(7_200_000));
    assert.notEqual(p2.id, p1.id);
    await attach(h, p2.id, vote(a, p2.id));
    v = await attach(h, p2.id, vote(c, p2.id));
    assert.deepEqual(v.votes, ['a', 'c']);
    assert.deepEqual(v.newVotes, ['a']);
    await assert.rejects(commit(h, p2.id), quorumDenied('insufficient', /new registry/));

    // Both keys: c is one vote on each side, and the rotation commits.
    v = await attach(h, p2.id, vote(c2, p2.id));
    assert.deepEqual(v.votes, ['a', 'c']);
    assert.deepEqual(v.newVotes, ['a', 'c']);
    assert.equal(v.canCommit, true);
    await commit(h, p2.id);
    assert.equal((await show(h, p1.id)).status, 'stale');

    const cw = (await witnessList(h)).witnesses.find((w) => w.id === 'c');
    assert.equal(cw?.keyId, c2.signer.keyId);
    assert.equal(cw?.keys.length, 2);
    assert.ok(cw?.keys[0]?.until, 'the old key is marked superseded');
    assert.deepEqual(
      cw?.rotations.map((r) => [r.proposalId, r.fromKeyId, r.toKeyId]),
      [[p2.id, c.signer.keyId, c2.signer.keyId]],
    );
  });

  test('after a rotation the old key does not count: a witness with two keys has one vote', async () => {
    const p = await create(h, 'policy.update', harmlessPolicy());
    let v = await attach(h, p.id, vote(c, p.id));
    assert.deepEqual(v.votes, [], 'a superseded key does not count');
    assert.equal(v.signatures[0]?.counts, false);
    assert.match(v.signatures[0]?.problem ?? '', /rotated away/);
    v = await attach(h, p.id, vote(c2, p.id));
    assert.deepEqual(v.votes, ['c']);
    assert.equal(v.canCommit, false, 'two keys of one witness are one vote, below k = 2');
    await assert.rejects(commit(h, p.id), quorumDenied('insufficient'));
    v = await attach(h, p.id, vote(d, p.id));
    assert.deepEqual(v.votes, ['c', 'd']);
    await commit(h, p.id);
  });

  test('the view marks the signature that counts, not merely the first one of its witness', async () => {
    // c's superseded key first, then its current key: only the second one counts.
    const p = await create(h, 'policy.update', harmlessPolicy());
    await attach(h, p.id, vote(c, p.id));
    const v = await attach(h, p.id, vote(c2, p.id));
    assert.deepEqual(v.votes, ['c']);
    await call(h, 'sigil/proposal.reject', { id: p.id, reason: 'view test' });
    assert.deepEqual(
      v.signatures.map((s) => [s.keyId, s.counts]),
      [
        [c.signer.keyId, false],
        [c2.signer.keyId, true],
      ],
      `proposalView says the superseded key's signature counts: ${JSON.stringify(v.signatures.map((s) => [s.keyId, s.counts, s.problem]))}`,
    );
    assert.match(v.signatures[0]?.problem ?? '', /rotated away/);
  });

  test('a revocation while a proposal is pending: the revoked witness stops counting there too', async () => {
    // A policy change that b and a signed: committable…
    const pending = await create(h, 'policy.update', harmlessPolicy());
    assert.equal((await signAll(h, pending.id, [b, a])).canCommit, true);

    // …until b is revoked. The revocation itself needs the old k and the new k (without b).
    const rev = await create(h, 'witness.revoke', { id: b.id });
    let v = await signAll(h, rev.id, [b, a]);
    assert.deepEqual(v.votes, ['b', 'a']);
    assert.deepEqual(v.newVotes, ['a'], 'b does not count in the registry that revokes it');
    await assert.rejects(commit(h, rev.id), quorumDenied('insufficient', /new registry/));
    v = await attach(h, rev.id, vote(d, rev.id));
    assert.equal(v.canCommit, true);
    await commit(h, rev.id);

    const bw = (await witnessList(h)).witnesses.find((w) => w.id === 'b');
    assert.equal(bw?.status, 'revoked');
    assert.ok(bw?.revokedAt);
    assert.equal(bw?.keyId, null);

    const after = await show(h, pending.id);
    assert.equal(after.status, 'stale');
    assert.deepEqual(after.votes, ['a'], "b's signature no longer counts");
    const bSig = after.signatures.find((s) => s.witnessId === 'b');
    assert.equal(bSig?.counts, false);
    assert.match(bSig?.problem ?? '', /revoked/);
    assert.deepEqual(after.unsigned, ['c', 'd']);
    await assert.rejects(commit(h, pending.id), quorumDenied('stale'));

    // On a fresh proposal b's signature is taken in but never counts.
    const fresh = await create(h, 'policy.update', harmlessPolicy());
    v = await attach(h, fresh.id, vote(b, fresh.id));
    assert.deepEqual(v.votes, []);
    assert.match(v.signatures[0]?.problem ?? '', /revoked/);
    v = await attach(h, fresh.id, vote(a, fresh.id));
    await assert.rejects(commit(h, fresh.id), quorumDenied('insufficient'));
    v = await attach(h, fresh.id, vote(c2, fresh.id));
    assert.deepEqual(v.votes, ['a', 'c']);
    await commit(h, fresh.id);

    // A revocation that would leave fewer active witnesses than k is refused at create.
    const p = await create(h, 'witness.revoke', { id: 'c' });
    assert.equal(p.status, 'pending', '3 active, k = 2: revoking one is fine');
    await call(h, 'sigil/proposal.reject', { id: p.id, reason: 'test' });
    const lower = await create(h, 'quorum.set_threshold', { threshold: 3 });
    await signAll(h, lower.id, [a, c2, d]);
    await commit(h, lower.id);
    await assert.rejects(create(h, 'witness.revoke', { id: 'd' }), isCode('BAD_INPUT'));
  });

  test('the canon still verifies after all of it', async () => {
    const report = (await call(h, 'sigil/canon.verify', {})) as { ok: boolean };
    assert.equal(report.ok, true, JSON.stringify(report));
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('init with a chosen genesis set', () => {
  test('refuses an impossible set (k above n, k = 0, duplicate ids or keys) and leaves nothing behind', async () => {
    const [x, y] = await Promise.all([newWitness('x'), newWitness('y')]);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'sigil-proposals-genesis-'));
    scratchDirs.push(dir);
    const genesis = (w: Witness) => ({ id: w.id, name: w.name, publicKey: w.publicKey });
    const bad: Array<[string, ReturnType<typeof genesis>[], number]> = [
      ['k above n', [genesis(x), genesis(y)], 3],
      ['k = 0', [genesis(x), genesis(y)], 0],
      ['duplicate ids', [genesis(x), { ...genesis(y), id: 'x' }], 1],
      ['duplicate names', [genesis(x), { ...genesis(y), name: x.name }], 1],
      ['one key twice', [genesis(x), { ...genesis(y), publicKey: x.publicKey }], 1],
    ];
    for (const [what, witnesses, threshold] of bad) {
      const home = path.join(dir, what.replace(/\W+/g, '-'));
      await assert.rejects(
        initHome({ home, env: {}, passphrase: noPassphrase, ownerDescription: what, witnesses, threshold }),
        (e: unknown) => e instanceof SigilError && ['BAD_INPUT', 'BAD_USAGE'].includes(e.code),
        what,
      );
      assert.deepEqual(await readdir(home).catch(() => []), [], `${what}: nothing left behind`);
    }
  });
});

describe('property: a commit succeeds iff at least k distinct active witnesses signed', () => {
  test('random witness sets (n 1..7), thresholds and signer subsets, on policy.update', async () => {
    const pool = await Promise.all(Array.from({ length: 7 }, (_, i) => newWitness(`p${i + 1}`)));
    const homes = new Map<string, Home>();
    const homeFor = async (n: number, k: number): Promise<Home> => {
      const key = `${n}/${k}`;
      let home = homes.get(key);
      if (!home) {
        home = await newHome(`prop-${n}-${k}`, pool.slice(0, n), k);
        homes.set(key, home);
      }
      return home;
    };
    const cases = fc.integer({ min: 1, max: 7 }).chain((n) =>
      fc.record({
        n: fc.constant(n),
        k: fc.integer({ min: 1, max: n }),
        // Indices of witnesses that sign, in order, with repeats (a repeat is refused as DUPLICATE).
        signers: fc.array(fc.integer({ min: 0, max: n - 1 }), { maxLength: n + 2 }),
        // Also a signature by someone outside the set (refused at attach).
        stranger: fc.boolean(),
        // Also a second, different valid signature by the first signer (counted once).
        twice: fc.boolean(),
      }),
    );
    await fc.assert(
      fc.asyncProperty(cases, async ({ n, k, signers, stranger, twice }) => {
        const h = await homeFor(n, k);
        const p = await create(h, 'policy.update', harmlessPolicy());
        const seen = new Set<number>();
        for (const i of signers) {
          const w = pool[i] as Witness;
          if (seen.has(i)) await assert.rejects(attach(h, p.id, vote(w, p.id)), isCode('DUPLICATE'));
          else await attach(h, p.id, vote(w, p.id));
          seen.add(i);
        }
        if (stranger) {
          const outsider = pool[n] ?? (await newWitness('outsider'));
          await assert.rejects(attach(h, p.id, vote(outsider, p.id)), isCode('BAD_INPUT'));
        }
        const first = signers[0];
        if (twice && first !== undefined) await attach(h, p.id, revote(pool[first] as Witness, p.id));
        const view = await show(h, p.id);
        const distinct = seen.size;
        assert.equal(view.votes.length, distinct);
        assert.equal(view.canCommit, distinct >= k);
        assert.equal(view.unsigned.length, n - distinct);
        if (distinct >= k) {
          const done = await commit(h, p.id);
          assert.equal(done.status, 'committed');
          assert.equal((await witnessList(h)).head, done.committed?.recordId);
        } else {
          const head = (await witnessList(h)).head;
          await assert.rejects(commit(h, p.id), quorumDenied('insufficient'));
          assert.equal((await witnessList(h)).head, head);
          // Leave nothing pending behind (it would only go stale).
          await call(h, 'sigil/proposal.reject', { id: p.id, reason: 'property: insufficient' });
        }
      }),
      { numRuns: 25, seed: FAST_CHECK_SEED },
    );
  });
});
