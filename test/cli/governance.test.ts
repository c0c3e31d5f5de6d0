/**
 * Governance end to end through the bundled `sigil` CLI (dist/cli.cjs via bin/sigil.js): init and the owner
 * identity, whoami, issuing licences with new keys, denials (exit 4) in text and --json, verify and revoke,
 * delegation and its cascade on revocation, the policy table, trust explain and feedback, licence listing,
 * and refusing an existing --out before anything is issued.
 *
 * One home for the whole file: the steps build on each other and run in order.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CLI_BUNDLE, ensureBuilt, show, type RunResult, runSigil } from '../support/process.js';
import { FEATURES } from '../../shared/src/trust.js';
import { OPERATIONS, POLICY_TABLE } from '../../shared/src/policy.js';
import type { CanonicalRecord } from '../../shared/src/record.js';
import type { CallerInfo, LicenseEntry, PolicyRow, TrustReport } from '../../shared/src/protocol.js';

let scratch = '';
let home = '';

function sigil(args: readonly string[]): Promise<RunResult> {
  return runSigil(['--home', home, ...args], { cwd: scratch });
}

async function expectExit(code: number, args: readonly string[]): Promise<RunResult> {
  const r = await sigil(args);
  assert.equal(r.code, code, `sigil ${args.join(' ')}\n${show(r)}`);
  return r;
}

async function json<T>(args: readonly string[]): Promise<T> {
  const r = await expectExit(0, ['--json', ...args]);
  return JSON.parse(r.stdout) as T;
}

interface JsonError {
  ok: false;
  error: { code: string; message: string; details?: Record<string, unknown> };
  exit_code: number;
}

async function jsonError(exit: number, code: string, args: readonly string[]): Promise<JsonError> {
  const r = await expectExit(exit, ['--json', ...args]);
  const doc = JSON.parse(r.stdout) as JsonError;
  assert.equal(doc.ok, false);
  assert.equal(doc.exit_code, exit);
  assert.equal(doc.error.code, code, show(r));
  return doc;
}

function file(name: string): string {
  return path.join(scratch, name);
}

async function licenses(): Promise<LicenseEntry[]> {
  return (await json<{ licenses: LicenseEntry[] }>(['license', 'list'])).licenses;
}

async function sha256(p: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(p))
    .digest('hex');
}

interface Issued {
  ok: true;
  license: { body: { id: string; subject: string; role: string; loa: number; expires_at: string } };
  chain: Array<{ body: { id: string } }>;
  file: string;
  containsKey: boolean;
  encrypted: boolean;
}

describe('governance through the CLI', { concurrency: 1 }, () => {
  let owner: CallerInfo;
  let obs: Issued;
  let mentor: Issued;
  let sub: Issued;
  let payload = '';

  before(async () => {
    await ensureBuilt([CLI_BUNDLE]);
    scratch = await mkdtemp(path.join(os.tmpdir(), 'sigil-governance-cli-'));
    home = path.join(scratch, 'home');
    payload = file('payload.json');
    await writeFile(payload, '{"text":"hello"}\n');
  });
  after(async () => {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('init creates the owner identity, and whoami names it: root', async () => {
    const r = await expectExit(0, ['--json', 'init']);
    const init = JSON.parse(r.stdout) as {
      ok: boolean;
      witnesses: { ids: string[]; threshold: number; ownerKeyFile: string | null };
    };
    assert.equal(init.ok, true);
    // The owner is also the genesis witness (k = 1), and init warns that system changes rest on its key.
    assert.deepEqual(init.witnesses, {
      ids: ['owner'],
      threshold: 1,
      ownerKeyFile: path.join(home, 'witnesses', 'owner.key.json'),
    });
    assert.match(r.stderr, /system changes need the signature of one witness \(owner, k = 1\)/);
    const ownerFile = path.join(home, 'identities', 'owner.json');
    assert.ok(existsSync(ownerFile));
    assert.equal(statSync(ownerFile).mode & 0o777, 0o600);

    owner = await json<CallerInfo>(['whoami']);
    assert.equal(owner.authenticated, true);
    assert.equal(owner.role, 'root');
    assert.equal(owner.loa, 4);
    assert.match(owner.subject, /^local:/);
    assert.equal(owner.chainIds.length, 1);
    const text = await expectExit(0, ['whoami']);
    // (The exact wording is the CLI's; the subject, role, LOA and licence must be in it.)
    assert.match(text.stdout, new RegExp(`^${owner.subject}: .*\\broot\\b.*LOA.*\\b4\\b`));
    assert.match(text.stdout, new RegExp(`licence +${owner.licenseId}`));
  });

  it('license issue --new-key writes an identity file; the observer it names may read but not append', async () => {
    const r = await expectExit(0, [
      '--json',
      'license',
      'issue',
      '--subject',
      'agent:obs',
      '--role',
      'observer',
      '--new-key',
      '--out',
      file('obs.json'),
    ]);
    obs = JSON.parse(r.stdout) as Issued;
    assert.equal(obs.license.body.subject, 'agent:obs');
    assert.equal(obs.license.body.role, 'observer');
    assert.equal(obs.license.body.loa, 1);
    assert.equal(obs.containsKey, true);
    assert.equal(obs.encrypted, false);
    assert.match(r.stderr, /NOT encrypted/);
    assert.equal(statSync(file('obs.json')).mode & 0o777, 0o600);

    const me = await json<CallerInfo>(['--identity', file('obs.json'), 'whoami']);
    assert.equal(me.subject, 'agent:obs');
    assert.equal(me.loa, 1);
    assert.deepEqual(me.chainIds, [obs.license.body.id]);
    await expectExit(0, ['--identity', file('obs.json'), 'canon', 'list']);

    const denied = await expectExit(4, [
      '--identity',
      file('obs.json'),
      'canon',
      'append',
      '--kind',
      'note.created',
      '--payload',
      payload,
    ]);
    assert.match(denied.stderr, /^sigil: error: /m);
    assert.match(denied.stderr, /canon\.append/);
    assert.match(denied.stderr, /needs LOA operator \(2\)/);
    assert.match(denied.stderr, /you have observer \(1\)/);
    assert.equal(denied.stdout, '');

    const doc = await jsonError(4, 'ACCESS_DENIED', [
      '--identity',
      file('obs.json'),
      'canon',
      'append',
      '--kind',
      'note.created',
      '--payload',
      payload,
    ]);
    const d = doc.error.details as {
      operation: string;
      cause: string;
      subject: string;
      required: { loa: string };
      actual: { loa: string; loa_rank: number };
    };
    assert.equal(d.operation, 'canon.append');
    assert.equal(d.cause, 'loa');
    assert.equal(d.subject, 'agent:obs');
    assert.equal(d.required.loa, 'operator');
    assert.equal(d.actual.loa_rank, 1);
    assert.match(d.actual.loa, /observer/);

    // Both denials are in the audit trail, as the observer.
    const page = await json<{ records: CanonicalRecord[] }>([
      'canon',
      'list',
      '--space',
      'system',
      '--kind',
      'audit.decision',
      '--order',
      'desc',
      '--limit',
      '2',
    ]);
    for (const rec of page.records) {
      const p = rec.body.payload as { decision: string; operation: string; caller: { subject: string } };
      assert.equal(p.decision, 'denied');
      assert.equal(p.operation, 'canon.append');
      assert.equal(p.caller.subject, 'agent:obs');
    }
  });

  it('license verify: exit 0 while valid; after revoke, exit 3 saying revoked, and the holder is refused', async () => {
    const ok = await expectExit(0, ['license', 'verify', file('obs.json')]);
    assert.match(ok.stdout, /^valid: agent:obs is observer, LOA .*\b1\b/);
    assert.match(ok.stdout, new RegExp(obs.license.body.id));

    const revoked = await json<{ ok: true; revoked: string; cascade: string[]; recordId: string }>([
      'license',
      'revoke',
      obs.license.body.id,
      '--reason',
      'x',
    ]);
    assert.equal(revoked.revoked, obs.license.body.id);
    assert.deepEqual(revoked.cascade, []);

    const bad = await expectExit(3, ['license', 'verify', file('obs.json')]);
    assert.match(bad.stdout, /INVALID \(revoked\)/);
    const badJson = await expectExit(3, ['--json', 'license', 'verify', file('obs.json')]);
    const check = JSON.parse(badJson.stdout) as { valid: boolean; code: string };
    assert.equal(check.valid, false);
    assert.equal(check.code, 'revoked');

    const refused = await expectExit(4, ['--identity', file('obs.json'), 'canon', 'list']);
    assert.match(refused.stderr, /revoked/);
  });

  it('delegation: a mentor delegates an observer who may read; an observer cannot delegate', async () => {
    mentor = await json<Issued>([
      'license',
      'issue',
      '--subject',
      'agent:mentor',
      '--role',
      'mentor',
      '--new-key',
      '--out',
      file('mentor.json'),
    ]);
    sub = await json<Issued>([
      '--identity',
      file('mentor.json'),
      'license',
      'delegate',
      '--subject',
      'agent:sub',
      '--role',
      'observer',
      '--expires',
      '7d',
      '--new-key',
      '--out',
      file('sub.json'),
    ]);
    assert.deepEqual(
      sub.chain.map((l) => l.body.id),
      [mentor.license.body.id, sub.license.body.id],
    );
    assert.equal(sub.license.body.role, 'observer');
    const me = await json<CallerInfo>(['--identity', file('sub.json'), 'whoami']);
    assert.equal(me.subject, 'agent:sub');
    assert.deepEqual(me.chainIds, [mentor.license.body.id, sub.license.body.id]);
    await expectExit(0, ['--identity', file('sub.json'), 'canon', 'list']);
    await expectExit(0, ['license', 'verify', file('sub.json')]);

    // Above the mentor's own LOA, and from an observer: refused, nothing recorded, no file written.
    const before = (await licenses()).length;
    const greedy = await expectExit(4, [
      '--identity',
      file('mentor.json'),
      'license',
      'delegate',
      '--subject',
      'agent:greedy',
      '--role',
      'root',
      '--new-key',
      '--out',
      file('greedy.json'),
    ]);
    assert.match(greedy.stderr, /cannot delegate/);
    const lowly = await json<Issued>([
      'license',
      'issue',
      '--subject',
      'agent:obs2',
      '--role',
      'observer',
      '--new-key',
      '--out',
      file('obs2.json'),
    ]);
    assert.equal(lowly.license.body.role, 'observer');
    const fromObserver = await jsonError(4, 'ACCESS_DENIED', [
      '--identity',
      file('obs2.json'),
      'license',
      'delegate',
      '--subject',
      'agent:op',
      '--role',
      'operator',
      '--new-key',
      '--out',
      file('op.json'),
    ]);
    assert.match(fromObserver.error.message, /cannot delegate/);
    assert.ok(!existsSync(file('greedy.json')) && !existsSync(file('op.json')));
    assert.equal((await licenses()).length, before + 1, 'only agent:obs2 was issued');
  });

  it('revoking the mentor revokes what it delegated', async () => {
    const r = await json<{ revoked: string; cascade: string[] }>([
      'license',
      'revoke',
      mentor.license.body.id,
      '--reason',
      'mentor retired',
    ]);
    assert.deepEqual(r.cascade, [sub.license.body.id]);
    const refused = await expectExit(4, ['--identity', file('sub.json'), 'canon', 'list']);
    assert.match(refused.stderr, /revoked/);
    await expectExit(4, ['--identity', file('mentor.json'), 'canon', 'list']);
    const check = await expectExit(3, ['license', 'verify', file('sub.json')]);
    assert.match(check.stdout, /INVALID \(revoked\)/);
  });

  it('license list --json: every licence with its status', async () => {
    const all = await licenses();
    const status = (id: string): LicenseEntry | undefined => all.find((l) => l.id === id);
    assert.equal(status(owner.licenseId as string)?.status, 'valid');
    assert.equal(status(obs.license.body.id)?.status, 'revoked');
    assert.equal(status(obs.license.body.id)?.revoked?.reason, 'x');
    assert.equal(status(mentor.license.body.id)?.status, 'revoked');
    const s = status(sub.license.body.id);
    assert.equal(s?.status, 'revoked');
    assert.equal(s?.revoked?.id, mentor.license.body.id, "revoked through its parent's revocation");
    assert.equal(s?.parent, mentor.license.body.id);
    assert.equal(s?.issuedBy, 'agent:mentor');
    assert.equal(all.find((l) => l.subject === 'agent:obs2')?.status, 'valid');
    assert.equal(all.length, 5);
    const valid = await json<{ licenses: LicenseEntry[] }>(['license', 'list', '--status', 'valid']);
    assert.deepEqual(valid.licenses.map((l) => l.subject).sort(), ['agent:obs2', owner.subject].sort());
  });

  it('policy show --json lists every operation of the policy table', async () => {
    const { operations } = await json<{ operations: PolicyRow[] }>(['policy', 'show']);
    assert.deepEqual(
      operations.map((o) => o.operation),
      [...OPERATIONS],
    );
    for (const row of operations) {
      const p = POLICY_TABLE[row.operation as keyof typeof POLICY_TABLE];
      assert.equal(row.loa, p.loa, row.operation);
      assert.equal(row.trustThreshold, p.trustThreshold, row.operation);
      assert.equal(row.writes, p.writes, row.operation);
    }
    const text = await expectExit(0, ['policy', 'show']);
    for (const op of OPERATIONS) assert.match(text.stdout, new RegExp(`^${op.replace('.', '\\.')} `, 'm'));
  });

  it('trust explain: contributions and bias add up to the logit', async () => {
    const r = await json<TrustReport>(['trust', 'explain', '--subject', 'agent:obs2', '--op', 'canon.list']);
    assert.equal(r.subject, 'agent:obs2');
    assert.equal(r.operation, 'canon.list');
    assert.equal(r.loa, 1);
    const sum = FEATURES.reduce((s, f) => s + r.contributions[f], r.bias);
    assert.ok(Math.abs(sum - r.logit) < 1e-9);
    assert.ok(Math.abs(1 / (1 + Math.exp(-r.logit)) - r.score) < 1e-12);
    const text = await expectExit(0, ['trust', 'explain', '--subject', 'agent:obs2', '--op', 'canon.list']);
    for (const f of FEATURES) assert.match(text.stdout, new RegExp(`^  ${f} +x=`, 'm'));
    assert.match(text.stdout, /bias -?\d+\.\d{3}, logit/);
    await expectExit(2, ['trust', 'explain', '--subject', 'agent:obs2', '--op', 'canon.apend']);
  });

  it('trust feedback records a signed trust.feedback record in the system space', async () => {
    const before = await json<TrustReport>([
      'trust',
      'score',
      '--subject',
      'agent:obs2',
      '--op',
      'canon.list',
    ]);
    const fb = await json<{ ok: true; recordId: string; scoreBefore: number; scoreAfter: number }>([
      'trust',
      'feedback',
      '--subject',
      'agent:obs2',
      '--op',
      'canon.list',
      '--outcome',
      'bad',
      '--note',
      'read too much',
    ]);
    assert.match(fb.recordId, /^[0-9a-f]{64}$/);
    assert.ok(fb.scoreAfter < fb.scoreBefore);
    const after = await json<TrustReport>([
      'trust',
      'score',
      '--subject',
      'agent:obs2',
      '--op',
      'canon.list',
    ]);
    assert.ok(after.score < before.score);
    assert.equal(after.history.bad > 0.99, true);

    const page = await json<{ records: CanonicalRecord[] }>([
      'canon',
      'list',
      '--space',
      'system',
      '--limit',
      '1000',
    ]);
    const rec = page.records.find((x) => x.id === fb.recordId);
    assert.ok(rec, 'the feedback record is listed in the system space');
    assert.equal(rec.body.kind, 'trust.feedback');
    assert.equal(rec.body.space, 'system');
    assert.equal(rec.body.actor, `license:${owner.subject}`);
    assert.equal(rec.signature.alg, 'ed25519');
    assert.match(rec.signature.sig, /^[A-Za-z0-9+/]+=*$/);
    const p = rec.body.payload as { subject: string; outcome: string; note: string; by: string };
    assert.deepEqual(
      [p.subject, p.outcome, p.note, p.by],
      ['agent:obs2', 'bad', 'read too much', owner.subject],
    );
    // Its audit record follows it in the same group commit.
    const next = page.records.find((x) => x.body.seq === rec.body.seq + 1);
    assert.equal(next?.body.kind, 'audit.decision');
    assert.equal((next?.body.payload as { operation: string }).operation, 'trust.feedback');
    const get = await expectExit(0, ['canon', 'get', fb.recordId]);
    assert.match(get.stdout, /verified: signature ok/);

    // An observer may not judge (trust.feedback needs operator).
    await jsonError(4, 'ACCESS_DENIED', [
      '--identity',
      file('obs2.json'),
      'trust',
      'feedback',
      '--subject',
      'agent:mentor',
      '--op',
      'canon.list',
      '--outcome',
      'good',
    ]);
  });

  it('an existing --out is refused before anything is issued', async () => {
    const before = (await licenses()).length;
    const hash = await sha256(file('obs2.json'));
    const r = await jsonError(2, 'HOME_EXISTS', [
      'license',
      'issue',
      '--subject',
      'agent:again',
      '--role',
      'observer',
      '--new-key',
      '--out',
      file('obs2.json'),
    ]);
    assert.match(r.error.message, /already exists/);
    assert.equal(await sha256(file('obs2.json')), hash, 'the file is untouched');
    await jsonError(2, 'HOME_EXISTS', [
      '--identity',
      file('obs2.json'),
      'license',
      'delegate',
      '--subject',
      'agent:again',
      '--role',
      'observer',
      '--new-key',
      '--out',
      file('sub.json'),
    ]);
    assert.equal((await licenses()).length, before, 'no licence was issued');
    assert.equal(
      (await licenses()).some((l) => l.subject === 'agent:again'),
      false,
    );
  });

  it("delegate without --expires stops at the holder's own expiry; a later --expires is refused and writes nothing", async () => {
    // A mentor issued with the default 30d ends a few seconds before a delegation made now for 30d would:
    // without --expires the delegation gets the holder's expiry (it may not outlive its parent,
    // server/src/cli/governance-commands.ts defaultDelegationExpiry); an explicit later one is refused.
    const mentor2 = await json<Issued>([
      'license',
      'issue',
      '--subject',
      'agent:mentor2',
      '--role',
      'mentor',
      '--new-key',
      '--out',
      file('mentor2.json'),
    ]);
    const before = (await licenses()).length;
    const delegate = (extra: readonly string[], asJson = false): Promise<RunResult> =>
      sigil([
        ...(asJson ? ['--json'] : []),
        '--identity',
        file('mentor2.json'),
        'license',
        'delegate',
        '--subject',
        'agent:sub2',
        '--role',
        'observer',
        ...extra,
        '--new-key',
        '--out',
        file('sub2.json'),
      ]);
    const refused = await delegate(['--expires', '30d']);
    assert.equal(refused.code, 4, show(refused));
    assert.match(refused.stderr, /cannot delegate: expires_at .* is after the holder's/);
    assert.ok(!existsSync(file('sub2.json')));
    assert.equal((await licenses()).length, before);
    const ok = await delegate([], true);
    assert.equal(ok.code, 0, show(ok));
    const sub2 = JSON.parse(ok.stdout) as Issued;
    assert.equal(sub2.license.body.expires_at, mentor2.license.body.expires_at);
    assert.deepEqual(
      sub2.chain.map((l) => l.body.id),
      [mentor2.license.body.id, sub2.license.body.id],
    );
    assert.equal((await licenses()).length, before + 1);
    await expectExit(0, ['--identity', file('sub2.json'), 'canon', 'list']);
  });

  it('the whole canon still verifies', async () => {
    const v = await json<{ ok: boolean }>(['canon', 'verify']);
    assert.equal(v.ok, true);
  });
});
