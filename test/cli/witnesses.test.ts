/**
 * Witnesses and k-of-n quorum end to end through the bundled `sigil` CLI (dist/cli.cjs via bin/sigil.js):
 * three witnesses make their keys in their own directories (no store), the owner creates a store with them
 * as the genesis set and k = 2, proposes a policy change, exports it; each witness signs the export offline
 * (no --home, from a directory without a .sigil); one signature is not enough (exit 4, and `proposal show`
 * says who is missing), two are; the change shows in `policy show`. A tampered export is refused by
 * `witness sign` (exit 3). A key rotation needs the old and the new threshold, a revocation too, and the
 * canon verifies at the end.
 *
 * One owner home for the whole file: the steps build on each other and run in order.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CLI_BUNDLE, ensureBuilt, show, type RunResult, runSigil } from '../support/process.js';
import type {
  PolicyRow,
  ProposalExport,
  ProposalView,
  WitnessListResult,
} from '../../shared/src/protocol.js';

let scratch = '';
let home = '';
/** Each witness's own directory: its key files, the proposal it was sent, its signatures. */
const witnessDir: Record<string, string> = {};

function run(cwd: string, args: readonly string[]): Promise<RunResult> {
  return runSigil(args, { cwd });
}

/** The owner: `sigil --home HOME …` from the scratch directory. */
const owner = (args: readonly string[]): Promise<RunResult> => run(scratch, ['--home', home, ...args]);

async function expectExit(code: number, r: Promise<RunResult>, what: string): Promise<RunResult> {
  const res = await r;
  assert.equal(res.code, code, `${what}\n${show(res)}`);
  return res;
}

async function ownerJson<T>(args: readonly string[]): Promise<T> {
  const r = await expectExit(0, owner(['--json', ...args]), `sigil ${args.join(' ')}`);
  return JSON.parse(r.stdout) as T;
}

interface JsonError {
  ok: false;
  error: { code: string; message: string; details?: Record<string, unknown> };
  exit_code: number;
}

async function ownerError(exit: number, code: string, args: readonly string[]): Promise<JsonError> {
  const r = await expectExit(exit, owner(['--json', ...args]), `sigil ${args.join(' ')}`);
  const doc = JSON.parse(r.stdout) as JsonError;
  assert.equal(doc.ok, false);
  assert.equal(doc.exit_code, exit);
  assert.equal(doc.error.code, code, show(r));
  return doc;
}

function file(name: string): string {
  return path.join(scratch, name);
}

/** `sigil proposal export ID > name` (in the scratch directory), then a copy to each witness. */
async function exportTo(id: string, name: string): Promise<string> {
  const r = await expectExit(0, owner(['proposal', 'export', id]), 'proposal export');
  const exp = JSON.parse(r.stdout) as ProposalExport;
  assert.equal(exp.type, 'sigil.proposal');
  assert.equal(exp.id, id);
  await writeFile(file(name), r.stdout);
  for (const dir of Object.values(witnessDir)) await writeFile(path.join(dir, name), r.stdout);
  return file(name);
}

/**
 * Witness `id` signs its copy of `proposal` offline, with the key in `keyDir` (default: its own
 * directory), from its own directory, without --home; the signature goes to the scratch directory.
 */
async function witnessSign(id: string, proposal: string, sigName: string, keyDir?: string): Promise<string> {
  const dir = witnessDir[id] as string;
  const key = path.join(keyDir ?? dir, `${id}.key.json`);
  const r = await expectExit(
    0,
    run(dir, ['witness', 'sign', proposal, '--key', key]),
    `witness sign by ${id}`,
  );
  const sig = JSON.parse(r.stdout) as { type: string; proposal_id: string; signature: { witnessId: string } };
  assert.equal(sig.type, 'sigil.proposal-signature');
  assert.equal(sig.signature.witnessId, id);
  assert.ok(!existsSync(path.join(dir, '.sigil')), 'signing offline creates no store');
  await writeFile(file(sigName), r.stdout);
  return file(sigName);
}

async function attach(id: string, sig: string): Promise<ProposalView> {
  return ownerJson<ProposalView>(['proposal', 'attach', id, sig]);
}

async function witnesses(): Promise<WitnessListResult> {
  return ownerJson<WitnessListResult>(['witness', 'list']);
}

describe('witnesses and quorum through the CLI', { concurrency: 1 }, () => {
  const keyIds: Record<string, string> = {};
  let policyId = '';

  before(async () => {
    await ensureBuilt([CLI_BUNDLE]);
    scratch = await mkdtemp(path.join(os.tmpdir(), 'sigil-witnesses-cli-'));
    home = path.join(scratch, 'owner', 'home');
    for (const id of ['w1', 'w2', 'w3']) {
      // Three temporary directories of their own, as if on three machines.
      witnessDir[id] = await mkdtemp(path.join(os.tmpdir(), `sigil-witness-${id}-`));
    }
  });
  after(async () => {
    for (const d of [scratch, ...Object.values(witnessDir)])
      if (d) await rm(d, { recursive: true, force: true });
  });

  it('witness keygen writes a private (0600) and a public file, without any store', async () => {
    for (const id of ['w1', 'w2', 'w3']) {
      const dir = witnessDir[id] as string;
      const r = await expectExit(
        0,
        run(dir, ['--json', 'witness', 'keygen', '--name', id, '--out', dir]),
        `keygen ${id}`,
      );
      const res = JSON.parse(r.stdout) as {
        keyFile: string;
        publicFile: string;
        id: string;
        keyId: string;
        encrypted: boolean;
      };
      assert.equal(res.id, id);
      assert.equal(res.keyFile, path.join(dir, `${id}.key.json`));
      assert.equal(res.publicFile, path.join(dir, `${id}.pub.json`));
      assert.equal(res.encrypted, false);
      assert.match(r.stderr, /NOT encrypted/);
      assert.equal(statSync(res.keyFile).mode & 0o777, 0o600);
      const pub = JSON.parse(await readFile(res.publicFile, 'utf8')) as { type: string; key_id: string };
      assert.equal(pub.type, 'sigil.witness-public');
      assert.equal(pub.key_id, res.keyId);
      assert.ok(!existsSync(path.join(dir, '.sigil')));
      keyIds[id] = res.keyId;
    }
    // Refuses to overwrite a key.
    const dir = witnessDir.w1 as string;
    await expectExit(2, run(dir, ['witness', 'keygen', '--name', 'w1', '--out', dir]), 'keygen again');
  });

  it('init with three genesis witnesses and k = 2; witness list shows them', async () => {
    await mkdir(path.dirname(home), { recursive: true });
    const pubs = ['w1', 'w2', 'w3'].flatMap((id) => [
      '--witness',
      path.join(witnessDir[id] as string, `${id}.pub.json`),
    ]);
    const init = await ownerJson<{
      ok: boolean;
      witnesses: { ids: string[]; threshold: number; ownerKeyFile: string | null };
    }>(['init', ...pubs, '--threshold', '2']);
    assert.equal(init.ok, true);
    assert.deepEqual(init.witnesses, { ids: ['w1', 'w2', 'w3'], threshold: 2, ownerKeyFile: null });

    const list = await witnesses();
    assert.equal(list.threshold, 2);
    assert.equal(list.witnesses.length, 3);
    assert.deepEqual(
      list.witnesses.map((w) => [w.id, w.name, w.status, w.keyId]),
      ['w1', 'w2', 'w3'].map((id) => [id, id, 'active', keyIds[id]]),
    );
    assert.equal(list.head, list.history[0]?.recordId);
    const text = await expectExit(0, owner(['witness', 'list']), 'witness list');
    assert.match(text.stdout, /k = 2 of 3 active witnesses/);
  });

  it('a policy change: one signature is refused at commit (exit 4), show says who is missing; two commit', async () => {
    const change = file('change.json');
    await writeFile(change, JSON.stringify({ 'canon.export': { loa: 'observer', trust_threshold: 0 } }));
    const created = await ownerJson<ProposalView>([
      'proposal',
      'create',
      '--kind',
      'policy.update',
      '--change',
      change,
    ]);
    assert.equal(created.status, 'pending');
    assert.equal(created.kind, 'policy.update');
    policyId = created.id;
    await exportTo(policyId, 'p.json');

    const sig1 = await witnessSign('w1', path.join(witnessDir.w1 as string, 'p.json'), 'sig1.json');
    const sig2 = await witnessSign('w2', path.join(witnessDir.w2 as string, 'p.json'), 'sig2.json');

    let v = await attach(policyId, sig1);
    assert.deepEqual(v.votes, ['w1']);

    const denied = await expectExit(4, owner(['proposal', 'commit', policyId]), 'commit with one vote');
    assert.match(denied.stderr, /^sigil: error: .*cannot be committed/m);
    assert.match(denied.stderr, /1 of the 2 votes needed \(1 missing\)/);
    const json = await ownerError(4, 'ACCESS_DENIED', ['proposal', 'commit', policyId]);
    assert.equal(json.error.details?.cause, 'quorum');
    assert.deepEqual(json.error.details?.votes, ['w1']);
    assert.equal(json.error.details?.threshold, 2);

    const shown = await expectExit(0, owner(['proposal', 'show', policyId]), 'proposal show');
    assert.match(shown.stdout, /votes +1 of k = 2 \(w1\)/);
    assert.match(shown.stdout, /missing +w2, w3/);
    assert.match(shown.stdout, /cannot commit: .*1 of the 2 votes/);
    v = await ownerJson<ProposalView>(['proposal', 'show', policyId]);
    assert.deepEqual(v.unsigned, ['w2', 'w3']);
    assert.equal(v.canCommit, false);

    // Nothing changed yet.
    let rows = await ownerJson<{ operations: PolicyRow[] }>(['policy', 'show']);
    assert.equal(rows.operations.find((r) => r.operation === 'canon.export')?.loa, 'operator');

    v = await attach(policyId, sig2);
    assert.deepEqual(v.votes, ['w1', 'w2']);
    assert.equal(v.canCommit, true);
    const done = await expectExit(0, owner(['proposal', 'commit', policyId]), 'commit with two votes');
    assert.match(done.stdout, /^committed/);

    rows = await ownerJson<{ operations: PolicyRow[] }>(['policy', 'show']);
    const row = rows.operations.find((r) => r.operation === 'canon.export');
    assert.equal(row?.loa, 'observer');
    assert.equal(row?.trustThreshold, 0);
    // A replayed commit is refused.
    await ownerError(2, 'DUPLICATE', ['proposal', 'commit', policyId]);
  });

  it('witness sign refuses a tampered export (exit 3) and signs nothing', async () => {
    const created = await ownerJson<ProposalView>([
      'proposal',
      'create',
      '--kind',
      'policy.update',
      '--change',
      file('change.json'),
    ]);
    const good = await exportTo(created.id, 'p2.json');
    const doc = JSON.parse(await readFile(good, 'utf8')) as ProposalExport & {
      body: { change: Record<string, { loa: string }> };
    };
    const dir = witnessDir.w1 as string;
    const tampered = path.join(dir, 'tampered.json');
    const changed = {
      ...doc,
      body: { ...doc.body, change: { 'canon.export': { loa: 'guest', trust_threshold: 0 } } },
    };
    await writeFile(tampered, JSON.stringify(changed, null, 2));
    const r = await expectExit(
      3,
      run(dir, ['witness', 'sign', tampered, '--key', path.join(dir, 'w1.key.json')]),
      'sign a tampered export',
    );
    assert.match(r.stderr, /altered/);
    assert.equal(r.stdout, '', 'no signature is printed');
    // Another field: the proposer.
    await writeFile(tampered, JSON.stringify({ ...doc, body: { ...doc.body, proposer: 'mallory' } }));
    await expectExit(
      3,
      run(dir, ['--json', 'witness', 'sign', tampered, '--key', path.join(dir, 'w1.key.json')]),
      'sign a tampered proposer',
    );
    await ownerJson(['proposal', 'reject', created.id, '--reason', 'only a tamper test']);
  });

  it('witness rotate needs the old threshold (old key) and the new one (new key)', async () => {
    const newDir = path.join(witnessDir.w3 as string, 'new');
    const kg = await expectExit(
      0,
      run(witnessDir.w3 as string, ['--json', 'witness', 'keygen', '--name', 'w3', '--out', newDir]),
      'keygen the new w3 key',
    );
    const newKey = JSON.parse(kg.stdout) as { publicFile: string; keyId: string };
    assert.notEqual(newKey.keyId, keyIds.w3);

    const rot = await ownerJson<ProposalView>([
      'witness',
      'rotate',
      '--id',
      'w3',
      '--key',
      newKey.publicFile,
    ]);
    assert.equal(rot.kind, 'witness.rotate');
    await exportTo(rot.id, 'rotate.json');
    const w3dir = witnessDir.w3 as string;
    // w1, and w3 with its new key: enough for the new set, not for the set in force.
    await attach(
      rot.id,
      await witnessSign('w1', path.join(witnessDir.w1 as string, 'rotate.json'), 'rot-w1.json'),
    );
    let v = await attach(
      rot.id,
      await witnessSign('w3', path.join(w3dir, 'rotate.json'), 'rot-w3-new.json', newDir),
    );
    assert.deepEqual(v.votes, ['w1']);
    assert.deepEqual(v.newVotes, ['w1', 'w3']);
    assert.equal(v.newThreshold, 2);
    const denied = await expectExit(4, owner(['proposal', 'commit', rot.id]), 'rotate with the new key only');
    assert.match(denied.stderr, /current registry: 1 of the 2 votes/);
    const shown = await expectExit(0, owner(['proposal', 'show', rot.id]), 'show rotation');
    assert.match(shown.stdout, /votes +1 of k = 2 \(w1\)/);
    assert.match(shown.stdout, /new set +2 of k = 2 \(w1, w3\)/);

    // w3's old key too: both thresholds are met.
    v = await attach(rot.id, await witnessSign('w3', path.join(w3dir, 'rotate.json'), 'rot-w3-old.json'));
    assert.deepEqual(v.votes, ['w1', 'w3']);
    assert.equal(v.canCommit, true);
    await expectExit(0, owner(['proposal', 'commit', rot.id]), 'commit the rotation');

    const w3 = (await witnesses()).witnesses.find((w) => w.id === 'w3');
    assert.equal(w3?.keyId, newKey.keyId);
    assert.equal(w3?.rotations.length, 1);
    assert.equal(w3?.keys.length, 2);
    // The old key file no longer makes a vote.
    await writeFile(file('trust.json'), '{"learningRate":0.05}');
    const probe = await ownerJson<ProposalView>([
      'proposal',
      'create',
      '--kind',
      'trust.update_params',
      '--change',
      file('trust.json'),
    ]);
    await exportTo(probe.id, 'probe.json');
    v = await attach(probe.id, await witnessSign('w3', path.join(w3dir, 'probe.json'), 'probe-old.json'));
    assert.deepEqual(v.votes, []);
    assert.match(v.signatures[0]?.problem ?? '', /rotated away/);
    await ownerJson(['proposal', 'reject', probe.id, '--reason', 'probe']);
  });

  it('witness revoke needs the old k and the new k (without the revoked witness)', async () => {
    const rev = await ownerJson<ProposalView>(['witness', 'revoke', '--id', 'w3']);
    await exportTo(rev.id, 'revoke.json');
    const newDir = path.join(witnessDir.w3 as string, 'new');
    await attach(
      rev.id,
      await witnessSign('w1', path.join(witnessDir.w1 as string, 'revoke.json'), 'rev-w1.json'),
    );
    let v = await attach(
      rev.id,
      await witnessSign('w3', path.join(witnessDir.w3 as string, 'revoke.json'), 'rev-w3.json', newDir),
    );
    assert.deepEqual(v.votes, ['w1', 'w3']);
    assert.deepEqual(v.newVotes, ['w1']);
    const denied = await expectExit(4, owner(['proposal', 'commit', rev.id]), 'revoke without the new k');
    assert.match(denied.stderr, /new registry: 1 of the 2 votes/);
    v = await attach(
      rev.id,
      await witnessSign('w2', path.join(witnessDir.w2 as string, 'revoke.json'), 'rev-w2.json'),
    );
    assert.equal(v.canCommit, true);
    await expectExit(0, owner(['proposal', 'commit', rev.id]), 'commit the revocation');

    const list = await witnesses();
    assert.deepEqual(
      list.witnesses.map((w) => [w.id, w.status]),
      [
        ['w1', 'active'],
        ['w2', 'active'],
        ['w3', 'revoked'],
      ],
    );
    assert.equal(list.threshold, 2);
    const text = await expectExit(0, owner(['witness', 'list']), 'witness list');
    assert.match(text.stdout, /k = 2 of 2 active witnesses/);
    assert.match(text.stdout, /w3 +revoked/);
  });

  it('canon verify passes at the end', async () => {
    const r = await expectExit(0, owner(['--json', 'canon', 'verify']), 'canon verify');
    assert.equal((JSON.parse(r.stdout) as { ok: boolean }).ok, true);
  });
});
