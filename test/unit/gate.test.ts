/**
 * The governance gate (server/src/governance/gate.ts) on real homes made with initHome: every operation of
 * the policy table against every LOA, the protocol handlers and the operations they run under, denials by
 * the trust score, request authentication failures, failed writes, the audit journal's replay into the
 * canon, and the trust score's monotonicity in the LOA as Governance computes it.
 *
 * Each group has its own home (unencrypted, so no scrypt cost): the trust model learns from feedback for
 * every subject at once, and request rates are counted per subject, so groups must not share one.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { Governance, JOURNAL_FILE, type Access } from '../../server/src/governance/gate.js';
import {
  delegateLicense,
  issueLicense,
  licenseSigningMessage,
  newLicenseId,
  signRequest,
  type Identity,
  type LicenseBody,
  type LicenseChain,
  type RequestAuth,
  type Role,
  type SignedLicense,
} from '../../shared/src/license.js';
import { signedParams } from '../../shared/src/signed-request.js';
import {
  LOA,
  LOA_LEVELS,
  OPERATIONS,
  POLICY_TABLE,
  isOperationName,
  type LoaLevel,
  type OperationName,
} from '../../shared/src/policy.js';
import {
  DEFAULT_TRUST_PARAMS,
  FEATURES,
  sgdStep,
  type SubjectHistory,
  type TrustFeatures,
  type TrustParams,
} from '../../shared/src/trust.js';
import { REQUESTS, type RequestMethod, type TrustReport } from '../../shared/src/protocol.js';
import { Ed25519Signer, publicKeyFromSeed, sign as ed25519Sign } from '../../shared/src/ed25519.js';
import { toBase64 } from '../../shared/src/bytes.js';
import { MAX_PAYLOAD_BYTES, type CanonicalRecord } from '../../shared/src/record.js';
import { SigilError } from '../../shared/src/errors.js';
import {
  callAs,
  DAY,
  disposeTestHome,
  newTestHome,
  openTestHome,
  type TestHome,
} from '../support/runtime-home.js';

const FAST_CHECK_SEED = 20260301;

// ---------------------------------------------------------------------------------------------------------
// Homes, identities, calls
// ---------------------------------------------------------------------------------------------------------

type Home = TestHome;

/** A licence holder made in a test: its chain and the seed of its subject key. */
interface Holder {
  readonly chain: LicenseChain;
  readonly seed: Uint8Array;
  readonly subject: string;
  readonly licenseId: string;
}

const newHome = (name: string): Promise<Home> => newTestHome(`gate-${name}`);

function nonce(): Uint8Array {
  return new Uint8Array(randomBytes(16));
}

function authOf(method: string, params: unknown, who: Identity, now = new Date()): RequestAuth {
  return signRequest(method, params, who, { now, nonce: nonce() });
}

/** Governance.authorize as `who` (or anonymous), with params {}. */
function authorize(h: Home, method: string, who: Identity | null, operation: OperationName): Promise<Access> {
  const params = {};
  return h.rt.governance.authorize(method, params, who ? authOf(method, params, who) : undefined, operation);
}

function expiresIn(ms: number): string {
  return new Date(Date.now() + ms).toISOString();
}

/** Issues a licence through sigil/license.issue, signed by the owner (root), for a new key. */
async function issue(
  h: Home,
  subject: string,
  role: Role,
  opts: { loa?: number; expiresAt?: string; notBefore?: string } = {},
): Promise<Holder> {
  const seed = new Uint8Array(randomBytes(32));
  const r = (await callAs(
    h,
    'sigil/license.issue',
    {
      subject,
      role,
      ...(opts.loa !== undefined ? { loa: opts.loa } : {}),
      expiresAt: opts.expiresAt ?? expiresIn(DAY),
      ...(opts.notBefore !== undefined ? { notBefore: opts.notBefore } : {}),
      subjectKey: toBase64(publicKeyFromSeed(seed)),
    },
    h.owner,
  )) as { license: SignedLicense; chain: LicenseChain };
  assert.equal(r.license.body.subject, subject);
  return { chain: r.chain, seed, subject, licenseId: r.license.body.id };
}

/** A delegation from `parent` (signed by its key), not yet registered. */
function delegateFrom(parent: Holder, subject: string, role: Role, expiresAt = expiresIn(DAY / 2)): Holder {
  const seed = new Uint8Array(randomBytes(32));
  const now = new Date();
  const signer = new Ed25519Signer(parent.seed);
  const chain = delegateLicense(
    parent.chain,
    {
      id: newLicenseId(nonce()),
      subject,
      subject_key: publicKeyFromSeed(seed),
      role,
      issued_at: now,
      not_before: now,
      expires_at: expiresAt,
    },
    signer,
  );
  const leaf = chain[chain.length - 1] as SignedLicense;
  return { chain, seed, subject, licenseId: leaf.body.id };
}

/** A licence body signed by `seed` as it stands (no checks): for forged and over-delegated licences. */
function signedBody(body: LicenseBody, seed: Uint8Array): SignedLicense {
  return { body, signature: toBase64(ed25519Sign(seed, licenseSigningMessage(body))) };
}

function leafBody(holder: Holder): LicenseBody {
  return (holder.chain[holder.chain.length - 1] as SignedLicense).body;
}

// ---------------------------------------------------------------------------------------------------------
// Audit records and denials
// ---------------------------------------------------------------------------------------------------------

interface AuditPayload {
  operation: string;
  method: string;
  decision: 'allowed' | 'denied';
  cause?: string;
  reason: string;
  caller: {
    subject: string;
    authenticated: boolean;
    license_id: string | null;
    key_id: string | null;
    role: string;
    loa: number;
    loa_name: string;
  };
  required: { loa: string; trust_threshold: number };
  trust: {
    score: number;
    bias: number;
    logit: number;
    features: Record<string, number>;
    contributions: Record<string, number>;
  } | null;
  authentication?: string;
  covers?: number;
  outcome?: string;
  canon_error?: { code: string; message: string };
  journal?: { seq: number; hash: string; ts: string };
}

interface Denied {
  readonly error: SigilError;
  readonly record: CanonicalRecord;
  readonly audit: AuditPayload;
}

async function rejection(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (e) {
    return e;
  }
  return assert.fail('expected a rejection, but the call succeeded');
}

/**
 * Runs `fn` and expects ACCESS_DENIED (exit 4) and exactly one new record in the canon: a denied
 * audit.decision in the system space, for `operation` when given.
 */
async function expectDenied(
  h: Home,
  fn: () => Promise<unknown>,
  want: { operation?: string; cause?: string; failure?: string } = {},
): Promise<Denied> {
  const before = h.rt.store.size();
  const e = await rejection(fn);
  assert.ok(e instanceof SigilError, `expected a SigilError, got ${String(e)}`);
  assert.equal(e.code, 'ACCESS_DENIED', e.message);
  assert.equal(e.exitCode, 4);
  assert.equal(h.rt.store.size(), before + 1, `a denial appends exactly one record (${e.message})`);
  const record = await h.rt.store.getBySeq(before);
  assert.equal(record.body.kind, 'audit.decision');
  assert.equal(record.body.space, 'system');
  const audit = record.body.payload as unknown as AuditPayload;
  assert.equal(audit.decision, 'denied');
  assert.equal(audit.reason.length > 0, true);
  if (want.operation !== undefined) {
    assert.equal(e.details?.operation, want.operation);
    assert.equal(audit.operation, want.operation);
  }
  if (want.cause !== undefined) {
    assert.equal(e.details?.cause, want.cause, e.message);
    if (want.cause !== 'authentication') assert.equal(audit.cause, want.cause);
  }
  if (want.failure !== undefined) {
    assert.equal(e.details?.cause, 'authentication', e.message);
    assert.equal(e.details?.failure, want.failure, e.message);
    assert.equal(audit.authentication, want.failure);
    assert.equal(audit.caller.authenticated, false, 'an unauthenticated request is audited as anonymous');
    assert.equal(record.body.actor, 'anonymous');
    assert.match(audit.reason, new RegExp(`\\(${want.failure}\\)`));
  }
  return { error: e, record, audit };
}

/** Expects a SigilError with `code` and no change at all to the canon. */
async function expectRefusedUnchanged(
  h: Home,
  code: string,
  fn: () => Promise<unknown>,
): Promise<SigilError> {
  const size = h.rt.store.size();
  const root = h.rt.store.rootHash();
  const pending = h.rt.governance.pendingJournal();
  const e = await rejection(fn);
  assert.ok(e instanceof SigilError, `expected a SigilError, got ${String(e)}`);
  assert.equal(e.code, code, e.message);
  assert.equal(h.rt.store.size(), size, 'nothing was appended');
  assert.equal(h.rt.store.rootHash(), root, 'the root hash is unchanged');
  assert.equal(h.rt.governance.pendingJournal(), pending, 'nothing went to the journal');
  return e;
}

/** A protocol method that runs `operation`, or a made-up one for operations no method runs directly. */
function methodFor(operation: OperationName): string {
  const m = (Object.keys(REQUESTS) as RequestMethod[]).find((k) => REQUESTS[k].operation === operation);
  return m ?? `sigil/${operation}`;
}

function checkContributions(t: {
  bias: number;
  logit: number;
  score: number;
  contributions: Record<string, number>;
}): void {
  assert.deepEqual(Object.keys(t.contributions).sort(), [...FEATURES].sort());
  const sum = FEATURES.reduce((s, f) => s + (t.contributions[f] as number), t.bias);
  assert.ok(Math.abs(sum - t.logit) < 1e-9, `bias + contributions = ${sum}, logit ${t.logit}`);
  assert.ok(Math.abs(1 / (1 + Math.exp(-t.logit)) - t.score) < 1e-12, 'score = σ(logit)');
}

// ---------------------------------------------------------------------------------------------------------
// The policy table
// ---------------------------------------------------------------------------------------------------------

describe('every operation of the policy table, at every LOA', () => {
  let h: Home | undefined;
  /** One holder per LOA for the denials: the LOA is judged before the trust score, so sharing is safe. */
  const atLoa = new Map<number, Holder>();

  before(async () => {
    h = await newHome('table');
    for (const level of LOA_LEVELS) atLoa.set(LOA[level], await issue(h, `table:${level}`, level));
  });
  after(() => disposeTestHome(h));

  const gated = OPERATIONS.filter((op) => !POLICY_TABLE[op].bootstrap);

  test('the table has the operations this test walks (store.init is the only bootstrap)', () => {
    assert.deepEqual(
      OPERATIONS.filter((op) => POLICY_TABLE[op].bootstrap),
      ['store.init'],
    );
    assert.ok(gated.length >= 25);
  });

  for (const operation of gated) {
    const required = POLICY_TABLE[operation].loa;
    test(`${operation}: refused below ${required} (audited), allowed at ${required}`, async () => {
      assert.ok(h);
      const method = methodFor(operation);
      for (let rank = 0; rank < LOA[required]; rank++) {
        const who = atLoa.get(rank) as Holder;
        const { error, audit, record } = await expectDenied(h, () => authorize(h!, method, who, operation), {
          operation,
          cause: 'loa',
        });
        assert.match(error.message, new RegExp(`${operation.replace('.', '\\.')} needs LOA ${required}`));
        assert.deepEqual(error.details?.required, {
          loa: required,
          trust_threshold: POLICY_TABLE[operation].trustThreshold,
        });
        assert.equal((error.details?.actual as { loa_rank: number }).loa_rank, rank);
        assert.equal(audit.method, method);
        assert.equal(audit.caller.subject, who.subject);
        assert.equal(audit.caller.authenticated, true);
        assert.equal(audit.caller.license_id, who.licenseId);
        assert.equal(audit.caller.loa, rank);
        assert.equal(audit.required.loa, required);
        assert.equal(record.body.actor, `license:${who.subject}`);
        assert.ok(audit.trust, 'an LOA denial still carries the trust explanation');
        checkContributions(audit.trust);
      }

      // The anonymous caller (no auth) is a guest.
      if (LOA[required] > LOA.guest) {
        const { audit, record } = await expectDenied(h, () => authorize(h!, method, null, operation), {
          operation,
          cause: 'loa',
        });
        assert.equal(audit.caller.authenticated, false);
        assert.equal(audit.caller.subject, 'anonymous');
        assert.equal(audit.caller.loa, 0);
        assert.equal(record.body.actor, 'anonymous');
      } else {
        const size = h.rt.store.size();
        const access = await authorize(h, method, null, operation);
        assert.equal(access.caller.authenticated, false);
        assert.equal(h.rt.store.size(), size);
      }

      // At the required LOA, a fresh subject (neutral history, no request rate) passes.
      const fresh = await issue(h, `fresh:${operation}`, required);
      const size = h.rt.store.size();
      const access = await authorize(h, method, fresh, operation);
      assert.equal(access.operation, operation);
      assert.equal(access.decision.allowed, true);
      assert.equal(access.caller.subject, fresh.subject);
      assert.equal(access.caller.loa, LOA[required]);
      assert.deepEqual(access.caller.chainIds, [fresh.licenseId]);
      assert.ok(access.trust && access.trust.score >= POLICY_TABLE[operation].trustThreshold);
      assert.equal(h.rt.store.size(), size, 'an allowed request is audited with its write, not on its own');
    });
  }

  test('root passes every operation', async () => {
    assert.ok(h);
    const root = atLoa.get(LOA.root) as Holder;
    for (const operation of gated) {
      const access = await authorize(h, methodFor(operation), root, operation);
      assert.equal(access.decision.allowed, true, operation);
      assert.equal(access.caller.loa, LOA.root);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------
// The protocol handlers
// ---------------------------------------------------------------------------------------------------------

describe('the protocol handlers pass the gate under their policy operation', () => {
  let h: Home | undefined;
  let observer: Holder;
  let operator: Holder;
  let mentor: Holder;

  before(async () => {
    h = await newHome('handlers');
    observer = await issue(h, 'agent:observer', 'observer');
    operator = await issue(h, 'agent:operator', 'operator');
    mentor = await issue(h, 'agent:mentor', 'mentor');
  });
  after(() => disposeTestHome(h));

  /** A well-formed proposal id that names no proposal of the store. */
  const UNKNOWN_PROPOSAL = 'c'.repeat(64);
  /** A signed note shaped like a cosigned checkpoint (origin, size, root; one signature line). */
  const EXAMPLE_COSIGNED_NOTE = `example.org/log\n1\n${toBase64(new Uint8Array(32))}\n\n\u2014 owner ${toBase64(new Uint8Array(76))}\n`;

  /** Valid params for each method (the gate runs before the params are checked, but the allowed calls run). */
  function sampleParams(): Record<RequestMethod, Record<string, unknown>> {
    return {
      'sigil/store.info': {},
      'sigil/store.init': {},
      'sigil/canon.append': { kind: 'note.created', space: 'data', payload: { n: 1 } },
      'sigil/canon.get': { id: '0'.repeat(64) },
      'sigil/canon.getBySeq': { seq: 0 },
      'sigil/canon.list': { limit: 1 },
      'sigil/canon.verify': {},
      'sigil/canon.checkpoint': {},
      'sigil/canon.proof.inclusion': { id: '0'.repeat(64) },
      'sigil/canon.proof.consistency': { oldSize: 1 },
      'sigil/canon.findLegacy': { legacyIdentity: 'id:legacy-1' },
      'sigil/license.whoami': {},
      'sigil/license.verify': { chain: observer.chain },
      'sigil/license.issue': {
        subject: 'agent:never',
        role: 'observer',
        expiresAt: expiresIn(DAY),
        subjectKey: toBase64(publicKeyFromSeed(new Uint8Array(32).fill(7))),
      },
      'sigil/license.delegate': { chain: observer.chain },
      'sigil/license.revoke': { id: observer.licenseId, reason: 'test' },
      'sigil/license.list': {},
      'sigil/policy.show': {},
      'sigil/trust.score': { subject: 'agent:observer', operation: 'canon.append' },
      'sigil/trust.explain': { subject: 'agent:observer', operation: 'canon.append' },
      'sigil/trust.feedback': { subject: 'agent:observer', operation: 'canon.append', outcome: 'good' },
      'sigil/trust.status': {},
      'sigil/witness.list': {},
      'sigil/proposal.create': { kind: 'quorum.set_threshold', change: { threshold: 1 } },
      'sigil/proposal.list': {},
      'sigil/proposal.show': { id: UNKNOWN_PROPOSAL },
      'sigil/proposal.export': { id: UNKNOWN_PROPOSAL },
      'sigil/proposal.attach': {
        id: UNKNOWN_PROPOSAL,
        signature: { witnessId: 'owner', keyId: 'b'.repeat(32), sig: toBase64(new Uint8Array(64).fill(1)) },
      },
      'sigil/proposal.commit': { id: UNKNOWN_PROPOSAL },
      'sigil/proposal.reject': { id: UNKNOWN_PROPOSAL, reason: 'test' },
      'sigil/checkpoint.request': { witnessId: 'owner' },
      'sigil/checkpoint.attach': { note: EXAMPLE_COSIGNED_NOTE },
      'sigil/checkpoint.cosigned': {},
      'sigil/rag.upsert': {
        key: 'docs:example',
        content: 'An example paragraph about borrowing.',
        metadata: { source: { root: 'docs', path: 'example.md' }, licence: 'MIT', provenance: {} },
      },
      'sigil/rag.import': { paths: ['/nonexistent-sigil-import'] },
      'sigil/rag.query': { text: 'borrowing' },
      'sigil/rag.remove': { key: 'docs:absent' },
      'sigil/rag.documents': {},
      'sigil/rag.stats': {},
      'sigil/rag.rebuild': {},
      'sigil/memory.write': { namespace: 'agent:sample', key: 'k', text: 'a fact' },
      'sigil/memory.get': { namespace: 'agent:sample', key: 'absent' },
      'sigil/memory.list': {},
      'sigil/memory.search': { text: 'fact' },
      'sigil/memory.forget': { namespace: 'agent:sample', key: 'absent' },
      'sigil/module.run': { module: 'rustmentor', input: { action: 'analyze', text: 'fn main() {}' } },
      'sigil/module.list': {},
    };
  }

  test('every method in REQUESTS names an operation of the policy table', () => {
    const methods = Object.keys(REQUESTS) as RequestMethod[];
    assert.deepEqual(methods.sort(), Object.keys(sampleParams()).sort());
    for (const m of methods) {
      assert.ok(isOperationName(REQUESTS[m].operation), `${m} runs ${REQUESTS[m].operation}`);
    }
  });

  test('an anonymous caller reaches each method under its operation: refused above guest, audited', async () => {
    assert.ok(h);
    const params = sampleParams();
    for (const m of Object.keys(REQUESTS) as RequestMethod[]) {
      if (m === 'sigil/store.init') continue;
      const operation = REQUESTS[m].operation as OperationName;
      if (LOA[POLICY_TABLE[operation].loa] > LOA.guest) {
        const { audit } = await expectDenied(h, () => callAs(h!, m, params[m], null), {
          operation,
          cause: 'loa',
        });
        assert.equal(audit.method, m);
      } else {
        const size = h.rt.store.size();
        await callAs(h, m, params[m], null);
        assert.equal(h.rt.store.size(), size, `${m} as a guest appends nothing`);
      }
    }
  });

  test('an observer cannot call the write methods; each refusal is exit 4 and audited', async () => {
    assert.ok(h);
    const params = sampleParams();
    const writes = (Object.keys(REQUESTS) as RequestMethod[]).filter(
      (m) => POLICY_TABLE[REQUESTS[m].operation as OperationName].writes,
    );
    assert.ok(writes.includes('sigil/canon.append') && writes.includes('sigil/license.issue'));
    for (const m of writes) {
      const operation = REQUESTS[m].operation as OperationName;
      const policy = POLICY_TABLE[operation];
      if (m === 'sigil/store.init') {
        // The bootstrap never runs where a store exists, whoever asks.
        await expectRefusedUnchanged(h, 'HOME_EXISTS', () => callAs(h!, m, params[m], observer));
      } else if (LOA[policy.loa] > LOA.observer) {
        const { error, audit } = await expectDenied(h, () => callAs(h!, m, params[m], observer), {
          operation,
          cause: 'loa',
        });
        assert.equal(error.exitCode, 4);
        assert.equal(audit.caller.subject, observer.subject);
        assert.match(error.message, /you have observer \(1\)/);
      } else {
        // canon.checkpoint (a checkpoint, a witness's request to cosign one, the latest cosigned one): open
        // to observers; it keeps a checkpoint but appends no record.
        assert.equal(operation, 'canon.checkpoint', m);
        const size = h.rt.store.size();
        await callAs(h, m, params[m], observer);
        assert.equal(h.rt.store.size(), size);
      }
    }
  });

  test('an observer may read the system state (system.show) and nothing it reads is appended', async () => {
    assert.ok(h);
    const params = sampleParams();
    const shows = (Object.keys(REQUESTS) as RequestMethod[]).filter(
      (m) => REQUESTS[m].operation === 'system.show',
    );
    assert.deepEqual(shows.sort(), [
      'sigil/proposal.export',
      'sigil/proposal.list',
      'sigil/proposal.show',
      'sigil/witness.list',
    ]);
    const size = h.rt.store.size();
    const witnesses = (await callAs(h, 'sigil/witness.list', params['sigil/witness.list'], observer)) as {
      threshold: number;
      witnesses: Array<{ id: string; status: string }>;
      head: string | null;
    };
    assert.equal(witnesses.threshold, 1);
    assert.deepEqual(
      witnesses.witnesses.map((w) => [w.id, w.status]),
      [['owner', 'active']],
    );
    assert.equal(witnesses.head, (await h.rt.store.getBySeq(3)).id, 'the genesis registry record of init');
    assert.deepEqual(await callAs(h, 'sigil/proposal.list', params['sigil/proposal.list'], observer), {
      proposals: [],
    });
    for (const m of ['sigil/proposal.show', 'sigil/proposal.export'] as const)
      await expectRefusedUnchanged(h, 'NOT_FOUND', () => callAs(h!, m, params[m], observer));
    assert.equal(h.rt.store.size(), size, 'an allowed read appends nothing');
  });

  test('canon.append runs as canon.append_system for the system space and as canon.migrate for imports', async () => {
    assert.ok(h);
    const size = h.rt.store.size();
    const rec = (await callAs(
      h,
      'sigil/canon.append',
      { kind: 'note.created', space: 'data', payload: { by: 'operator' } },
      operator,
    )) as CanonicalRecord;
    assert.equal(rec.body.actor, 'license:agent:operator');
    assert.equal(h.rt.store.size(), size + 2, 'the record and its audit record, in one group');
    const audit = (await h.rt.store.getBySeq(size + 1)).body.payload as unknown as AuditPayload;
    assert.equal(audit.decision, 'allowed');
    assert.equal(audit.operation, 'canon.append');
    assert.equal(audit.covers, 1);

    await expectDenied(
      h,
      () =>
        callAs(h!, 'sigil/canon.append', { kind: 'note.created', space: 'system', payload: {} }, operator),
      { operation: 'canon.append_system', cause: 'loa' },
    );
    await expectDenied(
      h,
      () =>
        callAs(
          h!,
          'sigil/canon.append',
          { kind: 'note.created', space: 'data', payload: {}, legacyIdentity: 'id:x' },
          operator,
        ),
      { operation: 'canon.migrate', cause: 'loa' },
    );
    // A mentor may migrate; root may write the system space.
    await callAs(
      h,
      'sigil/canon.append',
      { kind: 'note.created', space: 'data', payload: {}, legacyIdentity: 'id:x' },
      mentor,
    );
    await callAs(h, 'sigil/canon.append', { kind: 'note.created', space: 'system', payload: {} }, h.owner);
  });

  test('a migration into the system space needs root too: system-space writes are root-only', async () => {
    assert.ok(h);
    // canon.migrate (mentor) must not open the system space (canon.append_system, root) to a mentor: the
    // governance state (licence.issued/revoked, trust.feedback) is read from system-space records.
    const { error } = await expectDenied(
      h,
      () =>
        callAs(
          h!,
          'sigil/canon.append',
          { kind: 'note.created', space: 'system', payload: { by: 'mentor' }, legacyIdentity: 'id:system-1' },
          mentor,
        ),
      { cause: 'loa' },
    );
    assert.match(error.message, /needs LOA root/);
  });

  test('canon.list with purpose "export" runs as canon.export (operator)', async () => {
    assert.ok(h);
    await expectDenied(h, () => callAs(h!, 'sigil/canon.list', { limit: 1, purpose: 'export' }, observer), {
      operation: 'canon.export',
      cause: 'loa',
    });
    const page = (await callAs(h, 'sigil/canon.list', { limit: 1, purpose: 'export' }, operator)) as {
      records: unknown[];
    };
    assert.equal(page.records.length, 1);
  });

  test('a failed write leaves the store exactly as it was', async () => {
    assert.ok(h);
    const append = (params: Record<string, unknown>) => () =>
      callAs(h!, 'sigil/canon.append', params, operator);
    // A kind the store refuses, the reserved genesis kind, an oversized payload, a bad link, a bad space.
    await expectRefusedUnchanged(h, 'BAD_INPUT', append({ kind: 'Not A Kind!', space: 'data', payload: {} }));
    await expectRefusedUnchanged(
      h,
      'BAD_INPUT',
      append({ kind: 'canon.genesis', space: 'data', payload: {} }),
    );
    await expectRefusedUnchanged(
      h,
      'BAD_INPUT',
      append({ kind: 'note.created', space: 'data', payload: { s: 'x'.repeat(MAX_PAYLOAD_BYTES) } }),
    );
    await expectRefusedUnchanged(
      h,
      'BAD_INPUT',
      append({ kind: 'note.created', space: 'data', payload: {}, links: [{ rel: 'cites', extra: 1 }] }),
    );
    await expectRefusedUnchanged(
      h,
      'BAD_INPUT',
      append({ kind: 'note.created', space: 'elsewhere', payload: {} }),
    );
    // A migration whose legacy identity is already taken: DUPLICATE, nothing written.
    await expectRefusedUnchanged(h, 'DUPLICATE', () =>
      callAs(
        h!,
        'sigil/canon.append',
        { kind: 'note.created', space: 'data', payload: {}, legacyIdentity: 'id:x' },
        mentor,
      ),
    );
    // Licence operations that are refused after the gate leave nothing either.
    await expectRefusedUnchanged(h, 'NOT_FOUND', () =>
      callAs(h!, 'sigil/license.revoke', { id: '0'.repeat(32), reason: 'no such licence' }, h!.owner),
    );
    await expectRefusedUnchanged(h, 'BAD_INPUT', () =>
      callAs(
        h!,
        'sigil/license.issue',
        {
          subject: 'agent:x',
          role: 'observer',
          expiresAt: new Date(Date.now() - DAY).toISOString(),
          subjectKey: toBase64(publicKeyFromSeed(new Uint8Array(32).fill(3))),
        },
        h!.owner,
      ),
    );
    assert.equal((await h.rt.store.verify()).ok, true);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Trust thresholds
// ---------------------------------------------------------------------------------------------------------

describe('trust-threshold denials', () => {
  let h: Home | undefined;
  let agent: Holder;
  let judge: Holder;

  before(async () => {
    h = await newHome('trust');
    agent = await issue(h, 'agent:unreliable', 'operator');
    judge = await issue(h, 'judge:operator', 'operator');
  });
  after(() => disposeTestHome(h));

  const note = { kind: 'note.created', space: 'data', payload: { text: 'hello' } };

  test('a subject cannot judge its own outcomes: refused after the gate, audited, nothing learnt', async () => {
    assert.ok(h);
    const { error, audit } = await expectDenied(
      h,
      () =>
        callAs(
          h!,
          'sigil/trust.feedback',
          { subject: judge.subject, operation: 'canon.append', outcome: 'good' },
          judge,
        ),
      { operation: 'trust.feedback' },
    );
    assert.equal(error.details?.cause, 'self');
    // A refusal by the operation itself, after the gate let the request in.
    assert.equal(audit.cause, 'rule');
    assert.equal(audit.caller.subject, judge.subject);
    assert.equal(h.rt.governance.registry.histories.has(judge.subject), false, 'nothing was learnt');
  });

  test('bad outcomes take a subject below the threshold: ACCESS_DENIED for trust, audited with the score', async () => {
    assert.ok(h);
    await callAs(h, 'sigil/canon.append', note, agent);
    const scoreOf = async (): Promise<TrustReport> =>
      (await callAs(
        h!,
        'sigil/trust.score',
        { subject: agent.subject, operation: 'canon.append' },
        null,
      )) as TrustReport;
    let report = await scoreOf();
    assert.equal(report.meetsThreshold, true);
    assert.equal(report.loa, LOA.operator);
    const start = report.score;
    let rounds = 0;
    while (report.meetsThreshold) {
      // Judged alternately by another operator and by root.
      const fb = (await callAs(
        h,
        'sigil/trust.feedback',
        { subject: agent.subject, operation: 'canon.append', outcome: 'bad', note: `round ${rounds}` },
        rounds % 2 === 0 ? judge : h.owner,
      )) as { scoreBefore: number; scoreAfter: number; recordId: string };
      assert.ok(fb.scoreAfter < fb.scoreBefore, `round ${rounds}: a bad outcome lowers the score`);
      const rec: CanonicalRecord = await h.rt.store.get(fb.recordId);
      assert.equal(rec.body.kind, 'trust.feedback');
      assert.equal(rec.body.space, 'system');
      const next = await scoreOf();
      assert.ok(next.score < report.score);
      report = next;
      rounds++;
      assert.ok(rounds <= 60, `the score is still ${report.score} after ${rounds} bad outcomes`);
    }
    assert.ok(report.score < start);
    // (Histories decay with time, so the count is a hair below the number of outcomes.)
    assert.ok(Math.abs(report.history.bad - rounds) < 1e-3, `${report.history.bad} bad for ${rounds} rounds`);

    const threshold = POLICY_TABLE['canon.append'].trustThreshold;
    const { error, audit } = await expectDenied(h, () => callAs(h!, 'sigil/canon.append', note, agent), {
      operation: 'canon.append',
      cause: 'trust',
    });
    assert.match(error.message, new RegExp(`below the threshold ${threshold} for canon\\.append`));
    assert.match(error.message, /sigil trust explain/);
    const actual = error.details?.actual as { score: number; loa_rank: number };
    assert.ok(actual.score < threshold);
    assert.equal(actual.loa_rank, LOA.operator);
    assert.ok(audit.trust);
    assert.ok(audit.trust.score < threshold);
    assert.equal(audit.trust.score, actual.score);
    assert.equal(audit.caller.subject, agent.subject);
    assert.equal(audit.required.trust_threshold, threshold);
    assert.ok((audit.trust.features.history as number) < 0.5);
    checkContributions(audit.trust);

    // The explanation: bias + contributions = logit, score = σ(logit), contribution = weight × feature.
    const ex = (await callAs(
      h,
      'sigil/trust.explain',
      { subject: agent.subject, operation: 'canon.append' },
      null,
    )) as TrustReport;
    checkContributions(ex);
    for (const f of FEATURES) {
      assert.ok(Math.abs(ex.contributions[f] - ex.weights[f] * ex.features[f]) < 1e-12, f);
    }
    assert.equal(ex.meetsThreshold, false);
    assert.ok(ex.features.history < 0.5);
    // Introspection is never gated on trust: the penalised subject can still find out why.
    const own = (await callAs(
      h,
      'sigil/trust.explain',
      { subject: agent.subject, operation: 'canon.append' },
      agent,
    )) as TrustReport;
    assert.equal(own.meetsThreshold, false);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Request authentication
// ---------------------------------------------------------------------------------------------------------

describe('request authentication failures are denials, each audited', () => {
  let h: Home | undefined;
  let observer: Holder;
  let mentor: Holder;
  const M = 'sigil/license.whoami';
  const OP = REQUESTS[M].operation;

  before(async () => {
    h = await newHome('auth');
    observer = await issue(h, 'agent:observer', 'observer');
    mentor = await issue(h, 'agent:mentor', 'mentor');
  });
  after(() => disposeTestHome(h));

  const whoami = (raw: unknown) => () => h!.handlers[M](raw, {});
  const denied = (raw: unknown, failure: string) => expectDenied(h!, whoami(raw), { operation: OP, failure });
  /** A root-signed licence that was never recorded, with `over` changing its fields. */
  const rootSigned = (seed: Uint8Array, over: Partial<Record<string, unknown>> = {}): Holder => {
    const now = Date.now();
    const lic = issueLicense(
      {
        id: newLicenseId(nonce()),
        subject: 'agent:direct',
        subject_key: publicKeyFromSeed(seed),
        role: 'observer',
        issued_at: new Date(now),
        expires_at: new Date(now + DAY),
        audience: h!.rt.store.origin,
        ...over,
      },
      h!.rt.keystore.root,
    );
    return { chain: [lic], seed, subject: lic.body.subject, licenseId: lic.body.id };
  };

  test('a valid request passes', async () => {
    const me = (await h!.handlers[M](signedParams(M, {}, observer), {})) as { subject: string; loa: number };
    assert.equal(me.subject, observer.subject);
    assert.equal(me.loa, LOA.observer);
  });

  test('replayed: the same auth twice, the second is refused', async () => {
    const raw = signedParams(M, {}, observer);
    await h!.handlers[M](raw, {});
    await denied(raw, 'replayed');
  });

  test('stale: a timestamp more than 5 minutes off, either way', async () => {
    await denied(signedParams(M, {}, observer, new Date(Date.now() - 6 * 60 * 1000)), 'stale');
    await denied(signedParams(M, {}, observer, new Date(Date.now() + 6 * 60 * 1000)), 'stale');
  });

  test('wrong audience: a root-signed licence for another store', async () => {
    const other = rootSigned(new Uint8Array(randomBytes(32)), { audience: 'elsewhere.example/log' });
    await denied(signedParams(M, {}, other), 'wrong_audience');
  });

  test('tampered params, or a signature made for another method', async () => {
    const raw = signedParams('sigil/canon.list', { limit: 1 }, observer);
    await expectDenied(h!, () => h!.handlers['sigil/canon.list']({ ...raw, limit: 2 }, {}), {
      operation: 'canon.list',
      failure: 'bad_request_signature',
    });
    await denied(signedParams('sigil/license.list', {}, observer), 'bad_request_signature');
  });

  test('forged licences: raised fields under the old signature, or signed by another key as if by root', async () => {
    const body = leafBody(observer);
    const raised: SignedLicense = {
      body: { ...body, role: 'root', loa: 4 },
      signature: (observer.chain[0] as SignedLicense).signature,
    };
    await denied(signedParams(M, {}, { chain: [raised], seed: observer.seed }), 'bad_signature');

    const attacker = new Uint8Array(randomBytes(32));
    const seed = new Uint8Array(randomBytes(32));
    const forged = issueLicense(
      {
        id: newLicenseId(nonce()),
        subject: 'agent:forged',
        subject_key: publicKeyFromSeed(seed),
        role: 'root',
        issued_at: new Date(),
        expires_at: new Date(Date.now() + DAY),
        audience: h!.rt.store.origin,
      },
      { keyId: h!.rt.keystore.root.keyId, sign: (m) => ed25519Sign(attacker, m) },
    );
    await denied(signedParams(M, {}, { chain: [forged], seed }), 'bad_signature');
  });

  test('self-signed: a licence issued by its own subject key', async () => {
    const seed = new Uint8Array(randomBytes(32));
    const lic = issueLicense(
      {
        id: newLicenseId(nonce()),
        subject: 'agent:self',
        subject_key: publicKeyFromSeed(seed),
        role: 'root',
        issued_at: new Date(),
        expires_at: new Date(Date.now() + DAY),
        audience: h!.rt.store.origin,
      },
      new Ed25519Signer(seed),
    );
    await denied(signedParams(M, {}, { chain: [lic], seed }), 'untrusted_issuer');
  });

  test('expired and not yet valid', async () => {
    const past = rootSigned(new Uint8Array(randomBytes(32)), {
      issued_at: new Date(Date.now() - 2 * DAY),
      expires_at: new Date(Date.now() - DAY),
    });
    await denied(signedParams(M, {}, past), 'expired');

    // A recorded licence that runs out.
    const briefExpiry = expiresIn(1500);
    const brief = await issue(h!, 'agent:brief', 'observer', { expiresAt: briefExpiry });
    await h!.handlers[M](signedParams(M, {}, brief), {});
    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(briefExpiry) - Date.now()) + 50));
    await denied(signedParams(M, {}, brief), 'expired');

    const later = await issue(h!, 'agent:later', 'observer', { notBefore: expiresIn(60 * 60 * 1000) });
    await denied(signedParams(M, {}, later), 'not_yet_valid');
    const list = (await callAs(h!, 'sigil/license.list', {}, h!.owner)) as {
      licenses: Array<{ id: string; status: string }>;
    };
    assert.equal(list.licenses.find((l) => l.id === later.licenseId)?.status, 'not-yet-valid');
    assert.equal(list.licenses.find((l) => l.id === brief.licenseId)?.status, 'expired');
  });

  test('revoked, and a delegation whose parent is revoked', async () => {
    const doomed = await issue(h!, 'agent:doomed', 'observer');
    await h!.handlers[M](signedParams(M, {}, doomed), {});
    await callAs(h!, 'sigil/license.revoke', { id: doomed.licenseId, reason: 'test' }, h!.owner);
    await denied(signedParams(M, {}, doomed), 'revoked');

    const parent = await issue(h!, 'agent:parent', 'mentor');
    const child = delegateFrom(parent, 'agent:child', 'observer');
    await callAs(h!, 'sigil/license.delegate', { chain: child.chain }, parent);
    const me = (await h!.handlers[M](signedParams(M, {}, child), {})) as { chainIds: readonly string[] };
    assert.deepEqual(me.chainIds, [parent.licenseId, child.licenseId]);
    const r = (await callAs(
      h!,
      'sigil/license.revoke',
      { id: parent.licenseId, reason: 'cascade' },
      h!.owner,
    )) as {
      cascade: string[];
    };
    assert.deepEqual(r.cascade, [child.licenseId]);
    const { error } = await denied(signedParams(M, {}, child), 'revoked');
    assert.match(error.message, new RegExp(parent.licenseId));
  });

  test('over-delegation: refused when signing, when registering, and when used', async () => {
    // The library refuses to delegate above the holder's LOA, and refuses delegating holders below mentor.
    assert.throws(
      () => delegateFrom(mentor, 'agent:greedy', 'root'),
      (e: unknown) => {
        assert.ok(e instanceof SigilError && e.code === 'ACCESS_DENIED', String(e));
        return true;
      },
    );
    assert.throws(() => delegateFrom(observer, 'agent:sub', 'observer'), /delegating needs at least 3/);

    // Signed by hand, the over-delegated chain is refused by license.delegate and writes nothing…
    const seed = new Uint8Array(randomBytes(32));
    const parentBody = leafBody(mentor);
    const body: LicenseBody = {
      v: 1,
      id: newLicenseId(nonce()),
      subject: 'agent:greedy',
      subject_key: toBase64(publicKeyFromSeed(seed)),
      role: 'root',
      loa: 4,
      issued_at: new Date().toISOString(),
      not_before: new Date().toISOString(),
      expires_at: parentBody.expires_at,
      issuer: new Ed25519Signer(mentor.seed).keyId,
      audience: parentBody.audience,
      parent: parentBody.id,
    };
    const greedy: Holder = {
      chain: [...mentor.chain, signedBody(body, mentor.seed)],
      seed,
      subject: body.subject,
      licenseId: body.id,
    };
    const e = await expectRefusedUnchanged(h!, 'BAD_INPUT', () =>
      callAs(h!, 'sigil/license.delegate', { chain: greedy.chain }, mentor),
    );
    assert.equal(e.details?.code, 'over_delegated');
    // …and as a request's licence it is a denial.
    await denied(signedParams(M, {}, greedy), 'over_delegated');

    // A holder below mentor cannot record a delegation at all.
    await expectDenied(h!, () => callAs(h!, 'sigil/license.delegate', { chain: observer.chain }, observer), {
      operation: 'license.delegate',
      cause: 'loa',
    });
  });

  test('unregistered: a delegation never recorded with license.delegate', async () => {
    const sub = delegateFrom(mentor, 'agent:unrecorded', 'observer');
    const { error } = await denied(signedParams(M, {}, sub), 'unregistered');
    assert.match(error.message, new RegExp(sub.licenseId));
    await callAs(h!, 'sigil/license.delegate', { chain: sub.chain }, mentor);
    const me = (await h!.handlers[M](signedParams(M, {}, sub), {})) as { subject: string };
    assert.equal(me.subject, 'agent:unrecorded');
  });

  test("a delegation that does not extend the caller's own chain is refused after the gate, and audited", async () => {
    const other = await issue(h!, 'agent:other-mentor', 'mentor');
    const sub = delegateFrom(other, 'agent:foreign', 'observer');
    const { error, audit } = await expectDenied(
      h!,
      () => callAs(h!, 'sigil/license.delegate', { chain: sub.chain }, mentor),
      { operation: 'license.delegate' },
    );
    assert.equal(error.details?.cause, 'chain');
    assert.equal(audit.cause, 'rule');
    assert.equal(audit.caller.subject, mentor.subject);
    assert.equal(h!.rt.governance.registry.licenses.has(sub.licenseId), false, 'nothing was recorded');
    await denied(signedParams(M, {}, sub), 'unregistered');
  });

  test('a copied licence used with another key', async () => {
    const attacker = new Uint8Array(randomBytes(32));
    const observerKey = publicKeyFromSeed(observer.seed);
    const params = {};
    const auth = signRequest(
      M,
      params,
      { chain: observer.chain, signer: { publicKey: observerKey, sign: (m) => ed25519Sign(attacker, m) } },
      { now: new Date(), nonce: nonce() },
    );
    await denied({ ...params, auth }, 'bad_request_signature');
    // And a licence issued for the attacker's key cannot be grafted onto the observer's chain.
    assert.throws(
      () => signedParams(M, {}, { chain: observer.chain, seed: attacker }),
      (err: unknown) => err instanceof SigilError && err.code === 'KEY_INVALID',
    );
  });

  test('a malformed auth is a denial, audited, never downgraded to an anonymous guest', async () => {
    // Even for an operation open to guests: an auth that is present must verify.
    for (const auth of [null, {}, { chain: [], nonce: 'x', ts: 'y', sig: 'z' }, 'text']) {
      await expectDenied(h!, () => h!.handlers['sigil/store.info']({ auth }, {}), {
        operation: 'store.info',
        failure: 'malformed',
      });
    }
  });
});

// ---------------------------------------------------------------------------------------------------------
// The audit journal
// ---------------------------------------------------------------------------------------------------------

describe('the audit journal takes what the canon cannot, and is replayed exactly once', () => {
  let h: Home | undefined;

  before(async () => {
    h = await newHome('journal');
  });
  after(() => disposeTestHome(h));

  async function journalled(home: Home): Promise<CanonicalRecord[]> {
    const out: CanonicalRecord[] = [];
    let cursor: string | undefined;
    do {
      const page = await home.rt.store.list({
        space: 'system',
        kind: 'audit.decision',
        limit: 1000,
        ...(cursor ? { cursor } : {}),
      });
      out.push(...page.records.filter((r) => r.body.actor === 'sigil:journal'));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return out;
  }

  test('a denial and a failed write while the store is closed go to the journal, then into the canon', async () => {
    assert.ok(h);
    const operator = await issue(h, 'agent:operator', 'operator');
    // A request signed now, before the reopen below: the new verifier must refuse it.
    const early = signedParams('sigil/license.whoami', {}, operator);
    const allowed = await authorize(h, 'sigil/canon.append', operator, 'canon.append');
    const size = h.rt.store.size();
    const root = h.rt.store.rootHash();

    await h.rt.store.close();
    const denied = await rejection(() => authorize(h!, 'sigil/canon.append', null, 'canon.append'));
    assert.ok(denied instanceof SigilError && denied.code === 'ACCESS_DENIED', String(denied));
    const failed = await rejection(() =>
      h!.rt.governance.write(allowed, [
        { kind: 'note.created', space: 'data', payload: { lost: true }, actor: 'license:agent:operator' },
      ]),
    );
    assert.ok(failed instanceof SigilError && failed.code === 'STORE_CLOSED', String(failed));
    assert.equal(h.rt.governance.pendingJournal(), 2);
    const lines = (await readFile(path.join(h.home, JOURNAL_FILE), 'utf8')).trim().split('\n');
    assert.equal(lines.length, 2);
    const first = JSON.parse(lines[0] as string) as { entry: AuditPayload };
    assert.equal(first.entry.decision, 'denied');
    assert.equal(first.entry.operation, 'canon.append');
    assert.equal(first.entry.canon_error?.code, 'STORE_CLOSED');
    const second = JSON.parse(lines[1] as string) as { entry: AuditPayload };
    assert.equal(second.entry.decision, 'allowed');
    assert.equal(second.entry.outcome, 'failed');
    assert.equal(second.entry.caller.subject, operator.subject);
    await h.rt.close();

    // Reopening replays both, in order, as audit.decision records of the system space.
    await openTestHome(h);
    assert.equal(h.rt.governance.pendingJournal(), 0);
    assert.equal(
      h.rt.store.size(),
      size + 2,
      'the lost write itself is not there, its two audit records are',
    );
    assert.notEqual(h.rt.store.rootHash(), root);
    const replayed = await journalled(h);
    assert.equal(replayed.length, 2);
    const [a, b] = replayed.map((r) => r.body.payload as unknown as AuditPayload);
    assert.equal(a?.decision, 'denied');
    assert.equal(a?.operation, 'canon.append');
    assert.equal(a?.caller.authenticated, false);
    assert.equal(a?.journal?.seq, 1);
    assert.equal(b?.outcome, 'failed');
    assert.equal(b?.journal?.seq, 2);
    assert.equal(typeof a?.journal?.hash, 'string');
    assert.equal((await h.rt.store.verify()).ok, true);

    // The new verifier refuses a request signed before it started.
    await expectDenied(h, () => h!.handlers['sigil/license.whoami'](early, {}), { failure: 'replayed' });

    // Reopening again replays nothing twice.
    const sizeAfter = h.rt.store.size();
    await h.rt.close();
    await openTestHome(h);
    assert.equal(h.rt.store.size(), sizeAfter);
    assert.equal((await journalled(h)).length, 2);
    assert.equal(h.rt.governance.pendingJournal(), 0);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Monotonicity of the score in the LOA, as Governance computes it
// ---------------------------------------------------------------------------------------------------------

describe('Governance.explainFor: a higher LOA never lowers the score', () => {
  let h: Home | undefined;
  /** A Governance over the same store with a fixed clock, so two scores differ only by what is varied. */
  let gov: Governance | undefined;
  const T = Date.UTC(2026, 5, 1);

  before(async () => {
    h = await newHome('monotone');
    await h.rt.governance.close(); // its journal; ours opens it again
    gov = await Governance.open({
      home: h.home,
      config: h.rt.config,
      origins: {},
      keystore: h.rt.keystore,
      store: h.rt.store,
      now: () => T,
    });
  });
  after(async () => {
    await gov?.close();
    await disposeTestHome(h);
  });

  // trust.test.ts checks the pure model (the score is monotone in each feature for any parameters); this
  // checks it through Governance: registry histories decayed to now, parameters learnt from feedback and
  // relaxed toward the prior, the policy table's action and sensitivity, and the per-subject request rate.
  test('for random subjects, histories, learnt parameters, operations and request rates', () => {
    assert.ok(gov);
    const g = gov;
    const unit = fc.double({ min: 0, max: 1, noNaN: true });
    const features: fc.Arbitrary<TrustFeatures> = fc.record({
      loa: unit,
      history: unit,
      risk: unit,
      sensitivity: unit,
      rate: unit,
    });
    const learnt = fc
      .array(fc.tuple(features, fc.constantFrom<0 | 1>(0, 1)), { maxLength: 40 })
      .map((steps) => steps.reduce<TrustParams>((p, [x, y]) => sgdStep(p, x, y), DEFAULT_TRUST_PARAMS));
    const history: fc.Arbitrary<SubjectHistory> = fc.record({
      good: fc.double({ min: 0, max: 200, noNaN: true }),
      bad: fc.double({ min: 0, max: 200, noNaN: true }),
      updatedAt: fc.integer({ min: -30 * DAY, max: 0 }).map((d) => T + d),
    });
    const gated = OPERATIONS.filter((op) => !POLICY_TABLE[op].bootstrap);
    const ranks = fc.integer({ min: 0, max: 4 });
    let n = 0;
    const saved = g.registry.learnt;
    try {
      fc.assert(
        fc.property(
          fc.string({ minLength: 1, maxLength: 24 }),
          fc.option(history, { nil: undefined }),
          fc.option(learnt, { nil: undefined }),
          fc.integer({ min: 0, max: 10 * DAY }),
          fc.constantFrom(...gated),
          ranks,
          ranks,
          fc.integer({ min: 0, max: 400 }),
          (name, hist, params, age, operation, r1, r2, requests) => {
            const subject = `prop:${n++}:${name}`;
            if (hist) g.registry.histories.set(subject, hist);
            g.registry.learnt = params ? { params, at: T - age } : null;
            try {
              for (let i = 0; i < requests; i++) g.requestsInWindow(subject, true);
              const policy = g.table[operation];
              const [lo, hi] = r1 <= r2 ? [r1, r2] : [r2, r1];
              const a = g.explainFor(subject, lo, policy);
              const b = g.explainFor(subject, hi, policy);
              assert.ok(
                b.score >= a.score,
                `${operation}: LOA ${lo} scores ${a.score}, LOA ${hi} scores ${b.score} (subject ${subject})`,
              );
              assert.ok(b.contributions.loa >= a.contributions.loa);
              assert.deepEqual({ ...b.features, loa: 0 }, { ...a.features, loa: 0 }, 'only the LOA differs');
              if (lo === hi) assert.equal(b.score, a.score);
            } finally {
              g.registry.histories.delete(subject);
            }
          },
        ),
        { seed: FAST_CHECK_SEED, numRuns: 300 },
      );
    } finally {
      g.registry.learnt = saved;
    }
  });

  test('the five levels score in order for a fresh subject, for every operation', () => {
    assert.ok(gov);
    for (const operation of OPERATIONS) {
      const scores = (LOA_LEVELS as readonly LoaLevel[]).map(
        (l) => gov!.explainFor(`order:${operation}`, LOA[l], gov!.table[operation]).score,
      );
      for (let i = 1; i < scores.length; i++)
        assert.ok((scores[i] as number) > (scores[i - 1] as number), `${operation}: ${scores.join(' ')}`);
    }
  });
});
