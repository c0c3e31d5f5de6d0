import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import {
  PROPOSAL_SIGNING_PREFIX,
  applyRegistryChange,
  evaluateCommit,
  evaluateQuorum,
  evaluateRotation,
  genesisRegistry,
  parseProposalBody,
  parseWitnessRegistry,
  proposalId,
  proposalSigningMessage,
  signProposal,
  type ProposalBody,
  type QuorumEvaluation,
  type QuorumOptions,
  type QuorumProblemReason,
  type WitnessRegistry,
  type WitnessSignature,
} from '../../shared/src/quorum.js';
import { Ed25519Signer, keyId } from '../../shared/src/ed25519.js';
import { canonicalize } from '../../shared/src/jcs.js';
import { SigilError } from '../../shared/src/errors.js';

// ---------------------------------------------------------------------------------------------------------
// Fixtures

const sha = (s: string): Buffer => createHash('sha256').update(s).digest();
const signerOf = (name: string): Ed25519Signer =>
  new Ed25519Signer(new Uint8Array(sha(`quorum-test/${name}`)));
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
const code =
  (c: string) =>
  (e: unknown): boolean =>
    e instanceof SigilError && e.code === c;

const S = {
  w1: signerOf('w1'),
  w2: signerOf('w2'),
  w3: signerOf('w3'),
  w4: signerOf('w4'),
  w5: signerOf('w5'),
  w1b: signerOf('w1-rotated'),
  mallory: signerOf('mallory'),
};

const HEAD = sha('system-head').toString('hex');
const OTHER_HEAD = sha('another-head').toString('hex');
const GENESIS_AT = '2025-12-01T00:00:00.000Z';
const CREATED = '2026-01-01T00:00:00.000Z';
const EXPIRES = '2026-01-02T00:00:00.000Z';
const NOW = new Date('2026-01-01T01:00:00.000Z');

function opts(over: Partial<QuorumOptions> = {}): QuorumOptions {
  return { now: NOW, systemHead: HEAD, committedIds: new Set<string>(), ...over };
}

function body(kind: string, change: unknown, over: Record<string, unknown> = {}): ProposalBody {
  return parseProposalBody({
    v: 1,
    kind,
    change,
    prev: HEAD,
    created_at: CREATED,
    expires_at: EXPIRES,
    proposer: 'alice',
    ...over,
  });
}

const policy = (n = 1): ProposalBody => body('policy.update', { rule: `r${n}`, loa: 2 });

/** w1..w4, k = 3. */
function registry4(k = 3): WitnessRegistry {
  return genesisRegistry({
    witnesses: (['w1', 'w2', 'w3', 'w4'] as const).map((id) => ({
      id,
      name: `witness.example/${id}`,
      publicKey: S[id].publicKey,
    })),
    threshold: k,
    at: GENESIS_AT,
  });
}

function vote(p: ProposalBody, witnessId: string, signer: Ed25519Signer): WitnessSignature {
  return signProposal(proposalId(p), witnessId, signer);
}

const reasons = (r: { problems: readonly { reason: QuorumProblemReason }[] }): QuorumProblemReason[] =>
  r.problems.map((x) => x.reason);

function assertNotOk(r: { ok: boolean }, why: string): void {
  assert.equal(r.ok, false, why);
}

// ---------------------------------------------------------------------------------------------------------
// Proposals

describe('proposals', () => {
  test('id = hex(SHA-256(JCS(body))), independent of key order', () => {
    const p = policy();
    const want = sha(canonicalize(p)).toString('hex');
    assert.equal(proposalId(p), want);
    const reordered = Object.fromEntries(Object.entries(p).reverse());
    assert.equal(proposalId(reordered), want);
    assert.notEqual(proposalId(policy(2)), want);
  });

  test('the signed message is "sigil-proposal/v1\\n" + id', () => {
    const id = proposalId(policy());
    assert.equal(Buffer.from(proposalSigningMessage(id)).toString('utf8'), `sigil-proposal/v1\n${id}`);
    assert.equal(PROPOSAL_SIGNING_PREFIX, 'sigil-proposal/v1\n');
    assert.throws(() => proposalSigningMessage('ABC'), code('BAD_INPUT'));
  });

  test('strict fields', () => {
    const good = { ...policy() } as Record<string, unknown>;
    const cases: [string, Record<string, unknown>][] = [
      ['extra field', { ...good, extra: 1 }],
      ['missing proposer', Object.fromEntries(Object.entries(good).filter(([k]) => k !== 'proposer'))],
      ['unknown kind', { ...good, kind: 'witness.promote' }],
      ['v 2', { ...good, v: 2 }],
      ['bad prev', { ...good, prev: 'abc' }],
      ['uppercase prev', { ...good, prev: HEAD.toUpperCase() }],
      ['expires before created', { ...good, expires_at: CREATED, created_at: EXPIRES }],
      ['expires = created', { ...good, expires_at: CREATED }],
      ['non-ms timestamp', { ...good, created_at: '2026-01-01T00:00:00Z' }],
      ['empty proposer', { ...good, proposer: '' }],
      ['policy change not an object', { ...good, change: [1] }],
      ['add: missing key', { ...good, kind: 'witness.add', change: { id: 'w9', name: 'w9' } }],
      [
        'add: name with space',
        { ...good, kind: 'witness.add', change: { id: 'w9', name: 'a b', public_key: b64(S.w5.publicKey) } },
      ],
      [
        'add: bad id',
        { ...good, kind: 'witness.add', change: { id: 'W 9', name: 'w9', public_key: b64(S.w5.publicKey) } },
      ],
      ['rotate: short key', { ...good, kind: 'witness.rotate', change: { id: 'w1', public_key: 'AAAA' } }],
      ['revoke: extra', { ...good, kind: 'witness.revoke', change: { id: 'w1', why: 'x' } }],
      ['threshold 0', { ...good, kind: 'quorum.set_threshold', change: { threshold: 0 } }],
      ['threshold 1.5', { ...good, kind: 'quorum.set_threshold', change: { threshold: 1.5 } }],
    ];
    for (const [name, v] of cases) assert.throws(() => parseProposalBody(v), code('BAD_INPUT'), name);
    assert.equal(parseProposalBody({ ...good, prev: null }).prev, null);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Quorum

describe('evaluateQuorum', () => {
  const reg = registry4();
  const p = policy();

  test('k distinct active witnesses commit', () => {
    const r = evaluateQuorum(reg, p, [vote(p, 'w1', S.w1), vote(p, 'w2', S.w2), vote(p, 'w3', S.w3)], opts());
    assert.equal(r.ok, true, JSON.stringify(r.problems));
    assert.deepEqual(r.votes, ['w1', 'w2', 'w3']);
    assert.equal(r.missing, 0);
    assert.equal(r.proposalId, proposalId(p));
    assert.deepEqual(r.problems, []);
  });

  test('insufficient signatures', () => {
    const r = evaluateQuorum(reg, p, [vote(p, 'w1', S.w1), vote(p, 'w2', S.w2)], opts());
    assertNotOk(r, 'two of three');
    assert.equal(r.missing, 1);
    assert.deepEqual(reasons(r), ['insufficient']);
    const none = evaluateQuorum(reg, p, [], opts());
    assert.equal(none.missing, 3);
  });

  test('duplicate signatures count once', () => {
    const v1 = vote(p, 'w1', S.w1);
    const r = evaluateQuorum(reg, p, [v1, v1, v1, vote(p, 'w2', S.w2)], opts());
    assertNotOk(r, 'duplicates');
    assert.deepEqual(r.votes, ['w1', 'w2']);
    assert.deepEqual(reasons(r), ['duplicate_witness', 'duplicate_witness', 'insufficient']);
  });

  test('the same witness with two keys has one vote (and its superseded key does not count)', () => {
    const rotate = body('witness.rotate', { id: 'w1', public_key: b64(S.w1b.publicKey) });
    const rotated = applyRegistryChange(reg, rotate);
    const w1 = rotated.witnesses.find((w) => w.id === 'w1');
    assert.equal(w1?.keys.length, 2, 'two keys held');
    assert.equal(w1?.rotations.length, 1, 'one rotation recorded');
    const r = evaluateQuorum(
      rotated,
      p,
      [vote(p, 'w1', S.w1), vote(p, 'w1', S.w1b), vote(p, 'w2', S.w2)],
      opts(),
    );
    assertNotOk(r, 'one vote for w1');
    assert.deepEqual(r.votes, ['w1', 'w2']);
    assert.deepEqual(reasons(r), ['superseded_key', 'insufficient']);
    // Both keys valid-looking but only the current counts, in either order.
    const r2 = evaluateQuorum(rotated, p, [vote(p, 'w1', S.w1b), vote(p, 'w1', S.w1)], opts());
    assert.deepEqual(r2.votes, ['w1']);
    assert.deepEqual(reasons(r2), ['superseded_key', 'insufficient']);
  });

  test('a signature by a non-witness does not count', () => {
    const forged: WitnessSignature[] = [
      vote(p, 'mallory', S.mallory), // not registered
      vote(p, 'w3', S.mallory), // claims w3 with its own key
      { ...vote(p, 'w3', S.mallory), keyId: keyId(S.w3.publicKey) }, // claims w3's key id
    ];
    const r = evaluateQuorum(reg, p, [vote(p, 'w1', S.w1), vote(p, 'w2', S.w2), ...forged], opts());
    assertNotOk(r, 'non-witness');
    assert.deepEqual(r.votes, ['w1', 'w2']);
    assert.deepEqual(reasons(r), ['unknown_witness', 'unknown_key', 'bad_signature', 'insufficient']);
  });

  test('a signature by a revoked witness does not count', () => {
    const reg5 = applyRegistryChange(
      reg,
      body('witness.add', { id: 'w5', name: 'witness.example/w5', public_key: b64(S.w5.publicKey) }),
    );
    const revoked = applyRegistryChange(reg5, body('witness.revoke', { id: 'w3' }));
    assert.equal(revoked.witnesses.find((w) => w.id === 'w3')?.status, 'revoked');
    const r = evaluateQuorum(
      revoked,
      p,
      [vote(p, 'w1', S.w1), vote(p, 'w2', S.w2), vote(p, 'w3', S.w3)],
      opts(),
    );
    assertNotOk(r, 'revoked');
    assert.deepEqual(reasons(r), ['revoked_witness', 'insufficient']);
  });

  test("a signature over another proposal's id does not count", () => {
    const q = policy(2);
    const r = evaluateQuorum(reg, p, [vote(p, 'w1', S.w1), vote(p, 'w2', S.w2), vote(q, 'w3', S.w3)], opts());
    assertNotOk(r, 'other id');
    assert.deepEqual(reasons(r), ['bad_signature', 'insufficient']);
  });

  test('a signature over a bare hash (no domain prefix) does not count', () => {
    const id = proposalId(p);
    const bare = (m: Uint8Array): WitnessSignature => ({
      witnessId: 'w3',
      keyId: keyId(S.w3.publicKey),
      sig: b64(S.w3.sign(m)),
    });
    const overHex = bare(new TextEncoder().encode(id));
    const overRaw = bare(new Uint8Array(Buffer.from(id, 'hex')));
    const r = evaluateQuorum(reg, p, [vote(p, 'w1', S.w1), vote(p, 'w2', S.w2), overHex, overRaw], opts());
    assertNotOk(r, 'bare hash');
    assert.deepEqual(reasons(r), ['bad_signature', 'bad_signature', 'insufficient']);
  });

  const all3 = (): WitnessSignature[] => [vote(p, 'w1', S.w1), vote(p, 'w2', S.w2), vote(p, 'w3', S.w3)];

  test('an expired proposal is refused (expires_at is exclusive)', () => {
    const at = evaluateQuorum(reg, p, all3(), opts({ now: new Date(EXPIRES) }));
    assertNotOk(at, 'at expires_at');
    assert.deepEqual(reasons(at), ['expired']);
    const before = evaluateQuorum(reg, p, all3(), opts({ now: new Date(Date.parse(EXPIRES) - 1) }));
    assert.equal(before.ok, true, 'one ms before');
  });

  test('a stale prev is refused', () => {
    const r = evaluateQuorum(reg, p, all3(), opts({ systemHead: OTHER_HEAD }));
    assertNotOk(r, 'stale');
    assert.deepEqual(reasons(r), ['stale']);
    const empty = evaluateQuorum(reg, p, all3(), opts({ systemHead: null }));
    assert.deepEqual(reasons(empty), ['stale']);
    const first = body('policy.update', { a: 1 }, { prev: null });
    const ok = evaluateQuorum(
      reg,
      first,
      [vote(first, 'w1', S.w1), vote(first, 'w2', S.w2), vote(first, 'w4', S.w4)],
      opts({ systemHead: null }),
    );
    assert.equal(ok.ok, true, 'prev null on an empty system space');
  });

  test('a replayed commit is refused', () => {
    const r = evaluateQuorum(reg, p, all3(), opts({ committedIds: new Set([proposalId(p)]) }));
    assertNotOk(r, 'replayed');
    assert.deepEqual(reasons(r), ['replayed']);
  });

  test('a revocation while a proposal is pending takes its vote away', () => {
    const pending = all3();
    assert.equal(evaluateQuorum(reg, p, pending, opts()).ok, true, 'before the revocation');
    // Revoke w3 (3 active left, k = 3), as a committed proposal would.
    const revoked = applyRegistryChange(reg, body('witness.revoke', { id: 'w3' }));
    const r = evaluateQuorum(revoked, p, pending, opts());
    assertNotOk(r, 'after the revocation');
    assert.deepEqual(r.votes, ['w1', 'w2']);
    assert.deepEqual(reasons(r), ['revoked_witness', 'insufficient']);
    // w4 signing makes up for it.
    assert.equal(evaluateQuorum(revoked, p, [...pending, vote(p, 'w4', S.w4)], opts()).ok, true, 'w4 helps');
  });

  test('a key rotation while a proposal is pending takes the old-key vote away', () => {
    const pending = all3();
    const rotated = applyRegistryChange(
      reg,
      body('witness.rotate', { id: 'w1', public_key: b64(S.w1b.publicKey) }),
    );
    const r = evaluateQuorum(rotated, p, pending, opts());
    assert.deepEqual(reasons(r), ['superseded_key', 'insufficient']);
  });

  test('malformed proposals and signatures', () => {
    const r = evaluateQuorum(reg, { ...p, extra: true }, all3(), opts());
    assertNotOk(r, 'malformed proposal');
    assert.equal(r.proposalId, null);
    assert.deepEqual(reasons(r), ['malformed_proposal']);
    const junk = [
      null,
      'x',
      { witnessId: 'w1' },
      { witnessId: 'w1', keyId: 'k', sig: 'AAAA' },
    ] as unknown as WitnessSignature[];
    const r2 = evaluateQuorum(reg, p, [...junk, ...all3()], opts());
    assert.equal(r2.ok, true, 'junk ignored');
    assert.deepEqual(reasons(r2), [
      'malformed_signature',
      'malformed_signature',
      'malformed_signature',
      'malformed_signature',
    ]);
    assert.throws(
      () => evaluateQuorum(reg, p, 'x' as unknown as WitnessSignature[], opts()),
      code('BAD_INPUT'),
    );
    assert.throws(() => evaluateQuorum(reg, p, [], opts({ now: new Date(NaN) })), code('BAD_USAGE'));
    assert.throws(() => evaluateQuorum(reg, p, [], opts({ systemHead: 'x' })), code('BAD_USAGE'));
  });
});

// ---------------------------------------------------------------------------------------------------------
// Registry

describe('registry', () => {
  const reg = registry4();
  const IDENTITY = new Uint8Array(32);
  IDENTITY[0] = 1; // the identity point: small order

  test('genesis validates keys, ids, names and k', () => {
    const w = (id: string, pk: Uint8Array, name = `n/${id}`) => ({ id, name, publicKey: pk });
    const at = GENESIS_AT;
    assert.throws(
      () => genesisRegistry({ witnesses: [w('a', IDENTITY)], threshold: 1, at }),
      code('KEY_INVALID'),
    );
    assert.throws(
      () => genesisRegistry({ witnesses: [w('a', new Uint8Array(32))], threshold: 1, at }),
      code('KEY_INVALID'),
    );
    assert.throws(
      () => genesisRegistry({ witnesses: [w('a', S.w1.publicKey)], threshold: 2, at }),
      code('BAD_INPUT'),
    );
    assert.throws(
      () => genesisRegistry({ witnesses: [w('a', S.w1.publicKey)], threshold: 0, at }),
      code('BAD_INPUT'),
    );
    assert.throws(
      () =>
        genesisRegistry({ witnesses: [w('a', S.w1.publicKey), w('b', S.w1.publicKey)], threshold: 1, at }),
      code('BAD_INPUT'),
      'one key, two witnesses',
    );
    assert.throws(
      () =>
        genesisRegistry({
          witnesses: [w('a', S.w1.publicKey), w('a', S.w2.publicKey, 'x')],
          threshold: 1,
          at,
        }),
      code('BAD_INPUT'),
    );
    assert.throws(
      () =>
        genesisRegistry({
          witnesses: [w('a', S.w1.publicKey, 'same'), w('b', S.w2.publicKey, 'same')],
          threshold: 1,
          at,
        }),
      code('BAD_INPUT'),
    );
    assert.equal(reg.threshold, 3);
    assert.equal(reg.witnesses[0]?.keys[0]?.keyId, keyId(S.w1.publicKey));
  });

  test('parseWitnessRegistry refuses a tampered registry', () => {
    const tamper = (f: (r: Record<string, unknown>) => void): unknown => {
      const r = JSON.parse(JSON.stringify(reg)) as Record<string, unknown>;
      f(r);
      return r;
    };
    const w0 = (r: Record<string, unknown>) =>
      (r.witnesses as Record<string, unknown>[])[0] as Record<string, unknown>;
    const k0 = (r: Record<string, unknown>) =>
      (w0(r).keys as Record<string, unknown>[])[0] as Record<string, unknown>;
    assert.throws(
      () => parseWitnessRegistry(tamper((r) => (k0(r).keyId = keyId(S.w2.publicKey)))),
      code('BAD_INPUT'),
    );
    assert.throws(
      () => parseWitnessRegistry(tamper((r) => (k0(r).publicKey = b64(IDENTITY)))),
      code('KEY_INVALID'),
    );
    assert.throws(
      () => parseWitnessRegistry(tamper((r) => (k0(r).until = CREATED))),
      code('BAD_INPUT'),
      'active without current key',
    );
    assert.throws(() => parseWitnessRegistry(tamper((r) => (w0(r).status = 'paused'))), code('BAD_INPUT'));
    assert.throws(() => parseWitnessRegistry(tamper((r) => (r.threshold = 5))), code('BAD_INPUT'));
    assert.throws(() => parseWitnessRegistry(tamper((r) => (r.extra = 1))), code('BAD_INPUT'));
  });

  test('applyRegistryChange validates every change', () => {
    const add = (id: string, name: string, pk: Uint8Array) =>
      body('witness.add', { id, name, public_key: b64(pk) });
    assert.throws(
      () => applyRegistryChange(reg, add('w1', 'new', S.w5.publicKey)),
      code('BAD_INPUT'),
      'id taken',
    );
    assert.throws(
      () => applyRegistryChange(reg, add('w5', 'witness.example/w1', S.w5.publicKey)),
      code('BAD_INPUT'),
      'name taken',
    );
    assert.throws(
      () => applyRegistryChange(reg, add('w5', 'w5', S.w1.publicKey)),
      code('BAD_INPUT'),
      'key held',
    );
    assert.throws(
      () => applyRegistryChange(reg, add('w5', 'w5', IDENTITY)),
      code('KEY_INVALID'),
      'small order',
    );
    const rotated = applyRegistryChange(
      reg,
      body('witness.rotate', { id: 'w1', public_key: b64(S.w1b.publicKey) }),
    );
    assert.throws(
      () =>
        applyRegistryChange(rotated, body('witness.rotate', { id: 'w1', public_key: b64(S.w1.publicKey) })),
      code('BAD_INPUT'),
      'rotating back to a superseded key',
    );
    assert.throws(
      () => applyRegistryChange(reg, body('witness.rotate', { id: 'w1', public_key: b64(IDENTITY) })),
      code('KEY_INVALID'),
    );
    assert.throws(
      () => applyRegistryChange(reg, body('witness.rotate', { id: 'zz', public_key: b64(S.w5.publicKey) })),
      code('BAD_INPUT'),
    );
    assert.throws(
      () => applyRegistryChange(reg, body('quorum.set_threshold', { threshold: 5 })),
      code('BAD_INPUT'),
      'k > active',
    );
    const k4 = applyRegistryChange(reg, body('quorum.set_threshold', { threshold: 4 }));
    assert.throws(
      () => applyRegistryChange(k4, body('witness.revoke', { id: 'w4' })),
      code('BAD_INPUT'),
      'revoke would break k',
    );
    const revoked = applyRegistryChange(reg, body('witness.revoke', { id: 'w4' }));
    assert.throws(
      () => applyRegistryChange(revoked, body('witness.revoke', { id: 'w4' })),
      code('BAD_INPUT'),
      'twice',
    );
    assert.throws(
      () => applyRegistryChange(revoked, add('w4', 'again', S.w5.publicKey)),
      code('BAD_INPUT'),
      'ids never reused',
    );
    assert.throws(() => applyRegistryChange(reg, policy()), code('BAD_INPUT'), 'not a registry change');
    const at = applyRegistryChange(reg, body('witness.revoke', { id: 'w4' }), { at: NOW });
    assert.equal(at.witnesses.find((w) => w.id === 'w4')?.revokedAt, NOW.toISOString());
  });
});

// ---------------------------------------------------------------------------------------------------------
// Rotation (TUF: old and new threshold)

describe('rotation', () => {
  const reg = registry4(); // k = 3
  const rotate = body('witness.rotate', { id: 'w1', public_key: b64(S.w1b.publicKey) });
  const rotated = applyRegistryChange(reg, rotate, { at: NOW });

  test('a key rotation needs the old threshold and the new one', () => {
    const oldOnly = [vote(rotate, 'w1', S.w1), vote(rotate, 'w2', S.w2), vote(rotate, 'w3', S.w3)];
    const r1 = evaluateRotation(reg, rotated, rotate, oldOnly, opts());
    assertNotOk(r1, 'only the old threshold');
    assert.equal(r1.old.ok, true, 'old side');
    assert.equal(r1.new.ok, false, 'new side');
    assert.deepEqual(reasons(r1.new), ['superseded_key', 'insufficient']);

    const newOnly = [vote(rotate, 'w1', S.w1b), vote(rotate, 'w2', S.w2), vote(rotate, 'w3', S.w3)];
    const r2 = evaluateRotation(reg, rotated, rotate, newOnly, opts());
    assertNotOk(r2, 'only the new threshold');
    assert.equal(r2.new.ok, true, 'new side');
    assert.deepEqual(reasons(r2.old), ['unknown_key', 'insufficient']);

    const both = [...oldOnly, vote(rotate, 'w1', S.w1b)];
    const r3 = evaluateRotation(reg, rotated, rotate, both, opts());
    assert.equal(r3.ok, true, JSON.stringify(r3));
    const c = evaluateCommit(reg, rotate, both, opts());
    assert.equal(c.ok, true, 'evaluateCommit agrees');
    assert.deepEqual(c.registry, rotated);
  });

  test('raising k needs the new, higher threshold', () => {
    const raise = body('quorum.set_threshold', { threshold: 4 });
    const next = applyRegistryChange(reg, raise);
    const three = [vote(raise, 'w1', S.w1), vote(raise, 'w2', S.w2), vote(raise, 'w3', S.w3)];
    const r = evaluateRotation(reg, next, raise, three, opts());
    assertNotOk(r, 'only the old k');
    assert.equal(r.new.missing, 1);
    assert.equal(
      evaluateRotation(reg, next, raise, [...three, vote(raise, 'w4', S.w4)], opts()).ok,
      true,
      'all four',
    );
  });

  test('lowering k still needs the old threshold', () => {
    const lower = body('quorum.set_threshold', { threshold: 1 });
    const next = applyRegistryChange(reg, lower);
    const r = evaluateRotation(reg, next, lower, [vote(lower, 'w1', S.w1)], opts());
    assertNotOk(r, 'only the new k');
    assert.equal(r.new.ok, true, 'new side');
    assert.equal(r.old.missing, 2);
  });

  test('a revocation: the revoked witness counts for the old set only', () => {
    const revoke = body('witness.revoke', { id: 'w4' });
    const next = applyRegistryChange(reg, revoke);
    const sigs = [vote(revoke, 'w4', S.w4), vote(revoke, 'w1', S.w1), vote(revoke, 'w2', S.w2)];
    const r = evaluateRotation(reg, next, revoke, sigs, opts());
    assertNotOk(r, 'new set lacks a vote');
    assert.equal(r.old.ok, true, 'old side');
    assert.deepEqual(reasons(r.new), ['revoked_witness', 'insufficient']);
  });

  test('an addition: the new witness counts for the new set only', () => {
    const add = body('witness.add', {
      id: 'w5',
      name: 'witness.example/w5',
      public_key: b64(S.w5.publicKey),
    });
    const next = applyRegistryChange(reg, add);
    const sigs = [vote(add, 'w5', S.w5), vote(add, 'w1', S.w1), vote(add, 'w2', S.w2)];
    const r = evaluateRotation(reg, next, add, sigs, opts());
    assertNotOk(r, 'old set lacks a vote');
    assert.equal(r.new.ok, true, 'new side');
    assert.deepEqual(reasons(r.old), ['unknown_witness', 'insufficient']);
  });

  test('the new registry must be the old one with the change applied', () => {
    const lower = body('quorum.set_threshold', { threshold: 1 });
    const sigs = [vote(lower, 'w1', S.w1), vote(lower, 'w2', S.w2), vote(lower, 'w3', S.w3)];
    const forged = { ...applyRegistryChange(reg, lower), witnesses: reg.witnesses.slice(0, 1) };
    const r = evaluateRotation(reg, forged, lower, sigs, opts());
    assertNotOk(r, 'mismatch');
    assert.deepEqual(reasons(r), ['registry_mismatch']);
    const pol = policy();
    const r2 = evaluateRotation(
      reg,
      applyRegistryChange(reg, lower),
      pol,
      sigs.map((s) => ({ ...s })),
      opts(),
    );
    assert.ok(reasons(r2).includes('registry_mismatch'), 'a policy change leaves the registry alone');
  });

  test('evaluateCommit refuses an invalid change', () => {
    const raise = body('quorum.set_threshold', { threshold: 5 });
    const sigs = (['w1', 'w2', 'w3', 'w4'] as const).map((w) => vote(raise, w, S[w]));
    const c = evaluateCommit(reg, raise, sigs, opts());
    assertNotOk(c, 'k > active');
    assert.ok(reasons(c).includes('invalid_change'), 'invalid_change listed');
    assert.deepEqual(c.registry, reg);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Properties

const POOL_A = Array.from({ length: 6 }, (_, i) => signerOf(`pool-a-${i}`));
const POOL_B = Array.from({ length: 6 }, (_, i) => signerOf(`pool-b-${i}`));
const POOL_C = Array.from({ length: 6 }, (_, i) => signerOf(`pool-c-${i}`));
const OUTSIDER = signerOf('outsider');
const wid = (i: number): string => `w${i}`;

interface Model {
  reg: WitnessRegistry;
  active: boolean[];
  rotated: boolean[];
}

/** A registry of n witnesses (keys POOL_A), some rotated to POOL_B, some revoked (one stays active), k. */
function buildRegistry(n: number, rotateMask: boolean[], revokeMask: boolean[], kRaw: number): Model {
  let reg = genesisRegistry({
    witnesses: Array.from({ length: n }, (_, i) => ({
      id: wid(i),
      name: `w/${i}`,
      publicKey: (POOL_A[i] as Ed25519Signer).publicKey,
    })),
    threshold: 1,
    at: GENESIS_AT,
  });
  const rotated = Array.from({ length: n }, (_, i) => rotateMask[i] === true);
  const active = Array.from({ length: n }, () => true);
  for (let i = 0; i < n; i++) {
    if (rotated[i])
      reg = applyRegistryChange(
        reg,
        body('witness.rotate', { id: wid(i), public_key: b64((POOL_B[i] as Ed25519Signer).publicKey) }),
      );
  }
  for (let i = 0; i < n; i++) {
    if (revokeMask[i] === true && active.filter(Boolean).length > 1) {
      reg = applyRegistryChange(reg, body('witness.revoke', { id: wid(i) }));
      active[i] = false;
    }
  }
  const k = 1 + (kRaw % active.filter(Boolean).length);
  if (k !== 1) reg = applyRegistryChange(reg, body('quorum.set_threshold', { threshold: k }));
  return { reg, active, rotated };
}

type Mode = 'current' | 'old' | 'other_id' | 'bare' | 'outsider' | 'outsider_claims';

const entryArb = fc.record({
  who: fc.nat(5),
  mode: fc.constantFrom<Mode>('current', 'old', 'other_id', 'bare', 'outsider', 'outsider_claims'),
});

describe('properties', () => {
  test('commit ok iff #distinct active witnesses with a valid current-key signature ≥ k and not expired/stale/replayed', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
        fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
        fc.nat(10),
        fc.array(entryArb, { maxLength: 14 }),
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        (n, rotateMask, revokeMask, kRaw, entries, expired, stale, replayed) => {
          const { reg, active, rotated } = buildRegistry(n, rotateMask, revokeMask, kRaw);
          const p = policy(7);
          const id = proposalId(p);
          const other = proposalId(policy(8));
          const counted = new Set<string>();
          const sigs = entries.map(({ who, mode }): WitnessSignature => {
            const i = who % n;
            const current = (rotated[i] ? POOL_B[i] : POOL_A[i]) as Ed25519Signer;
            const sign = (s: Ed25519Signer, msg: Uint8Array, w = wid(i)): WitnessSignature => ({
              witnessId: w,
              keyId: keyId(s.publicKey),
              sig: b64(s.sign(msg)),
            });
            switch (mode) {
              case 'current':
                if (active[i]) counted.add(wid(i));
                return sign(current, proposalSigningMessage(id));
              case 'old': {
                // The genesis key: current only if never rotated.
                if (active[i] && !rotated[i]) counted.add(wid(i));
                return sign(POOL_A[i] as Ed25519Signer, proposalSigningMessage(id));
              }
              case 'other_id':
                return sign(current, proposalSigningMessage(other));
              case 'bare':
                return sign(current, new Uint8Array(Buffer.from(id, 'hex')));
              case 'outsider':
                return sign(OUTSIDER, proposalSigningMessage(id), 'outsider');
              case 'outsider_claims':
                return { ...sign(OUTSIDER, proposalSigningMessage(id)), keyId: keyId(current.publicKey) };
            }
          });
          const r: QuorumEvaluation = evaluateQuorum(reg, p, sigs, {
            now: expired ? new Date(EXPIRES) : NOW,
            systemHead: stale ? OTHER_HEAD : HEAD,
            committedIds: new Set(replayed ? [id] : []),
          });
          const expected = counted.size >= reg.threshold && !expired && !stale && !replayed;
          assert.equal(
            r.ok,
            expected,
            JSON.stringify({ reasons: reasons(r), k: reg.threshold, counted: [...counted] }),
          );
          assert.deepEqual([...r.votes].sort(), [...counted].sort());
          assert.equal(r.missing, Math.max(0, reg.threshold - counted.size));
        },
      ),
      { numRuns: 150 },
    );
  });

  test('a registry change commits iff the old threshold and the new threshold are both met', () => {
    type Change =
      { t: 'add' } | { t: 'rotate'; i: number } | { t: 'revoke'; i: number } | { t: 'k'; k: number };
    const changeArb = fc.oneof(
      fc.constant<Change>({ t: 'add' }),
      fc.nat(5).map((i): Change => ({ t: 'rotate', i })),
      fc.nat(5).map((i): Change => ({ t: 'revoke', i })),
      fc.nat(6).map((k): Change => ({ t: 'k', k })),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
        fc.nat(10),
        changeArb,
        // per witness (0..5 plus the added one at index 5 when n < 6): sign with old key / new key
        fc.array(fc.record({ oldKey: fc.boolean(), newKey: fc.boolean() }), { minLength: 6, maxLength: 6 }),
        (n, revokeMask, kRaw, change, signs) => {
          const { reg, active } = buildRegistry(n, [], revokeMask, kRaw);
          const kOld = reg.threshold;
          const nActive = active.filter(Boolean).length;
          // Model: each witness's key before and after, active before and after, k after.
          const oldKey = (i: number): Ed25519Signer | undefined => (i < n ? POOL_A[i] : undefined);
          let newKey = oldKey;
          let activeAfter = (i: number): boolean => i < n && active[i] === true;
          let kNew = kOld;
          let p: ProposalBody;
          const firstActive = active.findIndex(Boolean);
          if (change.t === 'add') {
            p = body('witness.add', {
              id: wid(n),
              name: `w/${n}`,
              public_key: b64((POOL_C[n] as Ed25519Signer).publicKey),
            });
            newKey = (i) => (i === n ? POOL_C[n] : oldKey(i));
            activeAfter = (i) => (i === n ? true : i < n && active[i] === true);
          } else if (change.t === 'rotate') {
            const i0 = active[change.i % n] === true ? change.i % n : firstActive;
            p = body('witness.rotate', {
              id: wid(i0),
              public_key: b64((POOL_C[i0] as Ed25519Signer).publicKey),
            });
            newKey = (i) => (i === i0 ? POOL_C[i0] : oldKey(i));
          } else if (change.t === 'revoke' && nActive > kOld) {
            const i0 = active[change.i % n] === true ? change.i % n : firstActive;
            p = body('witness.revoke', { id: wid(i0) });
            activeAfter = (i) => i !== i0 && i < n && active[i] === true;
          } else {
            kNew = 1 + ((change.t === 'k' ? change.k : 0) % nActive);
            p = body('quorum.set_threshold', { threshold: kNew });
          }
          const id = proposalId(p);
          const sigs: WitnessSignature[] = [];
          let oldCount = 0;
          let newCount = 0;
          for (let i = 0; i <= n && i < 6; i++) {
            const s = signs[i] as { oldKey: boolean; newKey: boolean };
            const ko = oldKey(i);
            const kn = newKey(i);
            const used = new Set<Ed25519Signer>();
            if (s.oldKey && ko !== undefined) used.add(ko);
            if (s.newKey && kn !== undefined) used.add(kn);
            for (const k of used) sigs.push(signProposal(id, wid(i), k));
            if (i < n && active[i] === true && ko !== undefined && used.has(ko)) oldCount++;
            if (activeAfter(i) && kn !== undefined && used.has(kn)) newCount++;
          }
          const c = evaluateCommit(reg, p, sigs, opts());
          const expected = oldCount >= kOld && newCount >= kNew;
          assert.equal(
            c.ok,
            expected,
            JSON.stringify({ kind: p.kind, kOld, kNew, oldCount, newCount, problems: reasons(c) }),
          );
          if (expected) assert.deepEqual(c.registry, applyRegistryChange(reg, p, { at: NOW }));
          else assert.deepEqual(c.registry, reg);
          const r = evaluateRotation(reg, applyRegistryChange(reg, p, { at: NOW }), p, sigs, opts());
          assert.equal(r.ok, expected, 'evaluateRotation agrees');
        },
      ),
      { numRuns: 150 },
    );
  });
});
