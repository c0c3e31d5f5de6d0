/**
 * The extension, end to end inside a real extension host: it points `sigil.home` at a fresh directory
 * (restarting the server), initializes a store there without prompts, and checks what a person would see —
 * the Audit Log tree, the status bar, the record viewer, verification — through the extension's API and
 * commands. Appends come from the editor (hidden command) and from the `sigil` CLI in another process,
 * which reaches the store through the language server's owner socket.
 */
/// <reference types="mocha" />
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { SigilApi } from '../../../client/src/api.js';
import type { TreeSnapshot } from '../../../client/src/auditLog.js';
import type { CanonicalRecord } from '../../../shared/src/record.js';
import type {
  CheckpointResult,
  LicenseCheckResult,
  PolicyRow,
  ProposalView,
  StoreInfo,
  VerifyResult,
} from '../../../shared/src/protocol.js';
import type { LicenseCommandResult } from '../../../client/src/governanceCommands.js';
import type { ProposalItemSnapshot } from '../../../client/src/proposals.js';

const EXTENSION_ID = 'sigil-dev.sigil';
const PASSPHRASE = 'sigil extension suite passphrase';

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function group(snap: TreeSnapshot, space: 'data' | 'system'): TreeSnapshot['groups'][number]['items'] {
  return snap.groups.find((g) => g.space === space)?.items ?? [];
}

function records(snap: TreeSnapshot, space: 'data' | 'system'): TreeSnapshot['groups'][number]['items'] {
  return group(snap, space).filter((i) => i.type === 'record');
}

suite('Sigil extension (inside the extension host)', function () {
  let ext: vscode.Extension<SigilApi>;
  let api: SigilApi;
  let tmp: string;
  let home: string;
  let target = vscode.ConfigurationTarget.Global;
  let previousHome: unknown;
  const appended: CanonicalRecord[] = [];
  /** The owner's witness key, made by init and sealed with the store passphrase. */
  const OWNER_WITNESS_KEY = (): string => path.join(home, 'witnesses', 'owner.key.json');

  function runCli(args: string[], input = ''): Promise<string> {
    const cli = path.join(ext.extensionPath, 'dist', 'cli.cjs');
    return new Promise((resolve, reject) => {
      // process.execPath is Node in code-server and the Electron binary in desktop VS Code.
      const child = spawn(process.execPath, [cli, ...args], {
        // The CLI signs with the owner identity, whose key the store passphrase encrypts.
        env: { ...process.env, ELECTRON_RUN_AS_NODE: '1', SIGIL_PASSPHRASE: PASSPHRASE },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code) =>
        code === 0
          ? resolve(stdout)
          : reject(new Error(`sigil ${args.join(' ')} exited with ${code}: ${stderr || stdout}`)),
      );
      child.stdin.end(input);
    });
  }

  suiteSetup(async function () {
    this.timeout(120_000);
    const found = vscode.extensions.getExtension<SigilApi>(EXTENSION_ID);
    assert.ok(found, `extension ${EXTENSION_ID} is not loaded`);
    ext = found;
    api = await ext.activate();
    assert.ok(api && typeof api.store === 'function', 'activate() returns the Sigil API');

    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sigil-ext-suite-'));
    home = path.join(tmp, 'home');
    const cfg = vscode.workspace.getConfiguration('sigil');
    const inspected = cfg.inspect('home');
    target =
      inspected?.workspaceValue !== undefined
        ? vscode.ConfigurationTarget.Workspace
        : vscode.ConfigurationTarget.Global;
    previousHome =
      target === vscode.ConfigurationTarget.Workspace ? inspected?.workspaceValue : inspected?.globalValue;
    // Changing sigil.home restarts the server on the new home.
    await cfg.update('home', home, target);
    await waitFor(
      'the server to restart on the fresh home',
      () => {
        const s = api.store();
        return s.home === home && s.phase !== 'starting' ? s : undefined;
      },
      60_000,
    );
  });

  suiteTeardown(async function () {
    this.timeout(60_000);
    if (!api) return;
    await vscode.commands.executeCommand('sigil.forgetPassphrase');
    await vscode.workspace.getConfiguration('sigil').update('home', previousHome, target);
    await waitFor(
      'the server to leave the suite home',
      () => (api.store().home !== home ? true : undefined),
      30_000,
    ).catch(() => undefined);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('reports its activation time (hidden command sigil.getActivationTime)', async () => {
    const ms = await vscode.commands.executeCommand<number>('sigil.getActivationTime');
    assert.equal(typeof ms, 'number');
    assert.ok(Number.isFinite(ms) && ms > 0, `activation time ${ms}`);
    assert.equal(ms, api.activationMs);
  });

  test('an empty home shows "no store": status bar, welcome state, empty tree', async () => {
    const s = api.store();
    assert.equal(s.phase, 'no-store', `store phase is ${s.phase}: ${s.problem?.message ?? ''}`);
    assert.equal(api.status().text, '$(shield) Sigil: no store');
    assert.equal(api.status().command, 'sigil.initializeStore');
    assert.deepEqual((await api.auditLog()).groups, []);
  });

  test('"Initialize Store" creates the store; the Audit Log shows the genesis record', async () => {
    const info = await vscode.commands.executeCommand<StoreInfo | undefined>('sigil.initializeStore', {
      passphrase: PASSPHRASE,
    });
    assert.ok(info, `initialize failed: ${api.lastError()?.message ?? 'no result'}`);
    assert.equal(info.status, 'ready');
    assert.equal(info.home, home);
    assert.equal(info.keysEncrypted, true, 'keys are encrypted with the given passphrase');
    assert.ok(fs.existsSync(path.join(home, 'keystore.json')));
    // The system space: the genesis record, the owner's root licence, the genesis witness registry (the
    // owner alone, k = 1) and the audit records of both.
    const snap = await waitFor(
      'the genesis, owner licence and witness registry records in the tree',
      async () => {
        const s = await api.auditLog();
        return records(s, 'system').length === 5 ? s : undefined;
      },
    );
    assert.deepEqual(
      records(snap, 'system').map((r) => r.kind),
      ['audit.decision', 'witness.registry', 'audit.decision', 'license.issued', 'canon.genesis'],
    );
    assert.ok(fs.existsSync(path.join(home, 'identities', 'owner.json')), 'the owner identity is written');
    assert.ok(fs.existsSync(OWNER_WITNESS_KEY()), 'the owner witness key is written');
    const genesis = records(snap, 'system')[4];
    assert.equal(genesis?.kind, 'canon.genesis');
    assert.equal(genesis?.seq, 0);
    assert.equal(genesis?.label, '#0 canon.genesis');
    assert.equal(genesis?.contextValue, 'sigil.record.unknown', 'neutral before any verify');
    assert.deepEqual(
      group(snap, 'data').map((i) => i.label),
      ['No records yet'],
    );
    assert.equal(api.status().text, '$(shield) Sigil: unverified (5 records)');
  });

  test('a record appended in the editor appears at the top of its space', async () => {
    const rec = await vscode.commands.executeCommand<CanonicalRecord | undefined>('sigil.appendRecord', {
      kind: 'note.created',
      space: 'data',
      payload: { title: 'from the editor', n: 1 },
    });
    assert.ok(rec, `append failed: ${api.lastError()?.message ?? ''}`);
    appended.push(rec);
    assert.match(rec.body.actor, /^license:local:/, 'recorded as the owner identity the editor signs with');
    await waitFor('the editor record at the top of the data space', async () =>
      records(await api.auditLog(), 'data')[0]?.id === rec.id ? true : undefined,
    );
  });

  test('a record appended with the CLI (through the owner socket) appears without a refresh', async function () {
    this.timeout(60_000);
    // The server starts serving the CLI right after the store opens; wait until it says where.
    await waitFor('owner.json to name the server socket', () => {
      const owner = JSON.parse(fs.readFileSync(path.join(home, 'owner.json'), 'utf8')) as { socket?: string };
      return owner.socket ? owner.socket : undefined;
    });
    const out = await runCli(
      ['--home', home, '--json', 'canon', 'append', '--kind', 'note.cli', '--payload', '-'],
      JSON.stringify({ from: 'cli' }),
    );
    const res = JSON.parse(out) as { id: string; seq: number; record: CanonicalRecord };
    assert.match(res.id, /^[0-9a-f]{64}$/);
    appended.push(res.record);
    const snap = await waitFor('the CLI record in the tree', async () => {
      const s = await api.auditLog();
      return records(s, 'data')[0]?.id === res.id ? s : undefined;
    });
    assert.deepEqual(
      records(snap, 'data').map((r) => r.seq),
      [7, 5],
      'newest first (each write is followed by its audit record)',
    );
  });

  test('"Verify Canon Log" verifies every record; tree and status bar follow', async () => {
    const result = await vscode.commands.executeCommand<VerifyResult | undefined>('sigil.verifyCanon');
    assert.ok(result, `verify failed: ${api.lastError()?.message ?? ''}`);
    assert.equal(result.ok, true, `verify: ${result.firstBad?.reason ?? ''}`);
    assert.equal(result.checked, 9);
    assert.equal(api.status().text, '$(shield) Sigil: verified');
    const snap = await api.auditLog();
    for (const r of [...records(snap, 'data'), ...records(snap, 'system')]) {
      assert.equal(r.contextValue, 'sigil.record.verified', `record #${r.seq}`);
    }
  });

  test('clicking a record opens the read-only viewer with its canonical JSON and verification', async () => {
    const rec = appended[0] as CanonicalRecord;
    const snap = await api.auditLog();
    const item = records(snap, 'data').find((r) => r.id === rec.id);
    assert.ok(item, 'record in the tree');
    // The tree item's command is sigil.openRecord with the id, as a click runs it.
    const uri = await vscode.commands.executeCommand<string | undefined>('sigil.openRecord', rec.id);
    assert.equal(uri, `sigil:/record/${rec.id}.json`);
    const doc = await waitFor('the record document', () => {
      const d = vscode.window.activeTextEditor?.document;
      return d?.uri.toString() === uri && d.getText().includes('{') ? d : undefined;
    });
    assert.equal(doc.uri.scheme, 'sigil');
    assert.equal(doc.languageId, 'jsonc');
    const text = doc.getText();
    assert.ok(text.includes(rec.id), 'the document names the record id');
    assert.match(text, /verification: OK/);
    assert.match(text, /log: verified by the last Verify Canon Log run/);
    const json = text
      .split('\n')
      .filter((l) => !l.startsWith('//'))
      .join('\n');
    assert.deepEqual(JSON.parse(json), JSON.parse(JSON.stringify(rec)), 'the body is the record');
  });

  test('"Show Checkpoint" opens the signed note', async () => {
    const cp = await vscode.commands.executeCommand<CheckpointResult | undefined>('sigil.showCheckpoint');
    assert.ok(cp, `checkpoint failed: ${api.lastError()?.message ?? ''}`);
    assert.equal(cp.size, 9);
    const doc = await waitFor('the checkpoint document', () => {
      const d = vscode.window.activeTextEditor?.document;
      return d?.uri.path.startsWith('/checkpoint/') ? d : undefined;
    });
    assert.equal(doc.getText(), cp.note);
    assert.equal(doc.getText().split('\n')[0], cp.origin);
  });

  test('the Memory view shows entries written from the CLI and the editor; Forget removes one', async function () {
    this.timeout(60_000);
    await runCli(['--home', home, 'memory', 'write', 'user:dev', 'style', '--text', 'prefers iterators']);
    await waitFor('the CLI entry in the Memory view', async () => {
      const snap = await api.memory();
      return snap.namespaces.find((n) => n.namespace === 'user:dev')?.keys.includes('style')
        ? snap
        : undefined;
    });
    const written = await vscode.commands.executeCommand<{ version: number } | undefined>(
      'sigil.writeMemory',
      {
        namespace: 'agent:editor',
        key: 'note',
        text: 'written from the editor',
      },
    );
    assert.equal(written?.version, 1, `write failed: ${api.lastError()?.message ?? ''}`);
    const both = await api.memory();
    assert.deepEqual(
      both.namespaces.map((n) => [n.namespace, n.keys]),
      [
        ['agent:editor', ['note']],
        ['user:dev', ['style']],
      ],
    );
    const forgot = await vscode.commands.executeCommand<{ forgottenVersions: number } | undefined>(
      'sigil.forgetMemory',
      { namespace: 'user:dev', key: 'style', confirm: true },
    );
    assert.equal(forgot?.forgottenVersions, 1, `forget failed: ${api.lastError()?.message ?? ''}`);
    await waitFor('the forgotten entry to leave the Memory view', async () => {
      const snap = await api.memory();
      return snap.namespaces.some((n) => n.namespace === 'user:dev') ? undefined : snap;
    });
    const out = await runCli(['--home', home, '--json', 'memory', 'list']);
    assert.deepEqual(
      (JSON.parse(out) as { entries: { key: string }[] }).entries.map((e) => e.key),
      ['note'],
    );
  });

  test('licences: issue one, switch to an observer identity, see a write refused and a read allowed', async function () {
    this.timeout(90_000);
    const owner = await api.identity();
    assert.equal(owner.caller?.authenticated, true, owner.tooltip);
    assert.equal(owner.caller?.loa, 4);
    assert.match(owner.text, /^\$\(account\) local:.+ · root$/);
    const before = await api.licenses();
    assert.equal(before.groups.find((g) => g.status === 'valid')?.licenses.length, 1, 'the owner licence');

    const saved = path.join(tmp, 'observer.identity.json');
    const issued = await vscode.commands.executeCommand<LicenseCommandResult | undefined>(
      'sigil.issueLicense',
      {
        subject: 'agent:observer',
        role: 'observer',
        expires: '1d',
        activate: false,
        saveTo: saved,
      },
    );
    assert.ok(issued, `issue failed: ${api.lastError()?.message ?? ''}`);
    assert.equal(issued.subject, 'agent:observer');
    const listed = await waitFor('the new licence in the Licenses tree', async () => {
      const snap = await api.licenses();
      const valid = snap.groups.find((g) => g.status === 'valid')?.licenses ?? [];
      return valid.some((l) => l.id === issued.licenseId) ? valid : undefined;
    });
    assert.equal(listed.find((l) => l.id === issued.licenseId)?.role, 'observer');
    const check = await vscode.commands.executeCommand<LicenseCheckResult | undefined>(
      'sigil.verifyLicenseFile',
      {
        file: saved,
        quiet: true,
      },
    );
    assert.equal(check?.valid, true, check?.reason);
    assert.equal(check?.loa, 1);

    await vscode.commands.executeCommand('sigil.selectIdentity', issued.licenseId);
    const observer = await api.identity();
    assert.equal(observer.caller?.subject, 'agent:observer');
    assert.equal(observer.caller?.loa, 1);
    assert.equal(observer.text, '$(account) agent:observer · observer');

    const refused = await vscode.commands.executeCommand('sigil.appendRecord', {
      kind: 'note.created',
      payload: { by: 'observer' },
    });
    assert.equal(refused, undefined, 'the write is refused');
    assert.equal(api.lastError()?.code, 'ACCESS_DENIED');
    assert.match(
      api.lastError()?.message ?? '',
      /canon\.append needs LOA operator \(2\); you have observer \(1\)/,
    );
    const denial = await waitFor('the audit record of the denial', async () => {
      await vscode.commands.executeCommand('sigil.refreshAuditLog');
      const top = records(await api.auditLog(), 'system')[0];
      return top?.kind === 'audit.decision' && top.id !== undefined ? top : undefined;
    });
    const view = await vscode.commands.executeCommand<string | undefined>('sigil.openRecord', denial.id);
    assert.ok(view, `the observer can read the log: ${api.lastError()?.message ?? ''}`);
    const doc = await waitFor('the denial record document', () => {
      const d = vscode.window.activeTextEditor?.document;
      return d?.uri.toString() === view && d.getText().includes('denied') ? d : undefined;
    });
    assert.match(doc.getText(), /"agent:observer"/);

    // Revoking needs root: refused as the observer, done as the owner; the tree moves it to "Revoked".
    assert.equal(
      await vscode.commands.executeCommand('sigil.revokeLicense', { id: issued.licenseId, reason: 'suite' }),
      undefined,
    );
    assert.equal(api.lastError()?.code, 'ACCESS_DENIED');
    await vscode.commands.executeCommand('sigil.selectIdentity', 'owner');
    assert.equal((await api.identity()).caller?.loa, 4);
    const revoked = await vscode.commands.executeCommand<{ revoked: string } | undefined>(
      'sigil.revokeLicense',
      {
        id: issued.licenseId,
        reason: 'end of the suite flow',
      },
    );
    assert.equal(revoked?.revoked, issued.licenseId, api.lastError()?.message);
    await waitFor('the licence under "Revoked"', async () => {
      const snap = await api.licenses();
      return snap.groups.find((g) => g.status === 'revoked')?.licenses.some((l) => l.id === issued.licenseId)
        ? true
        : undefined;
    });
  });

  test('creates, signs and commits a policy change', async function () {
    this.timeout(90_000);
    // The witness registry of a new store: the owner alone, k = 1.
    const witnesses = await waitFor('the Witnesses tree', async () => {
      const w = await api.witnesses();
      return w.registry ? w : undefined;
    });
    assert.equal(witnesses.error, null);
    assert.equal(witnesses.summary, 'k = 1 of 1');
    const active = witnesses.groups.find((g) => g.status === 'active')?.witnesses ?? [];
    assert.deepEqual(
      active.map((w) => w.id),
      ['owner'],
    );
    assert.match(active[0]?.keyId ?? '', /^[0-9a-f]{32}$/);
    assert.deepEqual(witnesses.groups.find((g) => g.status === 'revoked')?.witnesses, []);
    const exportRule = async (): Promise<string | undefined> => {
      const table = await vscode.commands.executeCommand<{ operations: PolicyRow[] } | undefined>(
        'sigil.getPolicy',
      );
      assert.ok(table, `policy.show failed: ${api.lastError()?.message ?? ''}`);
      return table.operations.find((o) => o.operation === 'canon.export')?.loa;
    };
    assert.equal(await exportRule(), 'operator', 'the built-in rule');

    // Propose: pending, 0 of k = 1, and the tooltip says who is missing and why a commit would fail now.
    const created = await vscode.commands.executeCommand<ProposalView | undefined>('sigil.createProposal', {
      kind: 'policy.update',
      change: { 'canon.export': { loa: 'observer' } },
      expires: '1h',
    });
    assert.ok(created, `create failed: ${api.lastError()?.message ?? ''}`);
    assert.equal(created.status, 'pending');
    assert.equal(created.canCommit, false);
    const pendingItem = async (want: (i: ProposalItemSnapshot) => boolean, what: string) =>
      waitFor(what, async () => {
        const snap = await api.proposals();
        assert.equal(snap.error, null);
        const item = snap.groups
          .find((g) => g.group === 'pending')
          ?.proposals.find((p) => p.id === created.id);
        return item && want(item) ? item : undefined;
      });
    const pending = await pendingItem(() => true, 'the proposal under "Pending"');
    assert.match(pending.description, /^0\/1 · expires in /);
    assert.equal(pending.label, 'policy.update: canon.export: loa observer');
    assert.equal(pending.contextValue, 'sigil.proposal.pending');
    assert.match(pending.tooltip, /Missing: owner/);
    assert.match(pending.tooltip, /A commit would fail: .+/);

    // Commit now: the editor sees canCommit false, says why, and sends nothing.
    assert.equal(await vscode.commands.executeCommand('sigil.commitProposal', { id: created.id }), undefined);
    assert.equal(api.lastError()?.code, 'ACCESS_DENIED');
    assert.match(api.lastError()?.message ?? '', /cannot be committed \(pending, 0\/1\)/);
    assert.equal(await exportRule(), 'operator', 'nothing changed');

    // Sign with the owner's witness key file (the client checks the export's id before signing).
    const signed = await vscode.commands.executeCommand<ProposalView | undefined>('sigil.signProposal', {
      id: created.id,
      keyFile: OWNER_WITNESS_KEY(),
      passphrase: PASSPHRASE,
    });
    assert.ok(signed, `sign failed: ${api.lastError()?.message ?? ''}`);
    assert.deepEqual(signed.votes, ['owner']);
    assert.equal(signed.canCommit, true, signed.blockers.join('; '));
    const ready = await pendingItem((i) => i.view.canCommit, 'the proposal ready to commit');
    assert.match(ready.description, /^1\/1 · ready · expires in /);
    assert.equal(ready.contextValue, 'sigil.proposal.pending.ready');
    assert.match(ready.tooltip, /Signed by: owner \(key [0-9a-f]{8}\)/);
    assert.match(ready.tooltip, /Ready to commit\./);

    // Commit: the tree moves it to "Committed" and the policy in force follows.
    const committed = await vscode.commands.executeCommand<ProposalView | undefined>('sigil.commitProposal', {
      id: created.id,
    });
    assert.ok(committed, `commit failed: ${api.lastError()?.message ?? ''}`);
    assert.equal(committed.status, 'committed');
    const done = await waitFor('the proposal under "Committed"', async () => {
      const snap = await api.proposals();
      return snap.groups.find((g) => g.group === 'committed')?.proposals.find((p) => p.id === created.id);
    });
    assert.match(done.description, /^committed /);
    assert.equal(done.contextValue, 'sigil.proposal.committed');
    assert.ok(
      !(await api.proposals()).groups
        .find((g) => g.group === 'pending')
        ?.proposals.some((p) => p.id === created.id),
      'no longer pending',
    );
    assert.equal(await exportRule(), 'observer', 'sigil/policy.show reflects the committed change');
    const top = records(await api.auditLog(), 'system').map((r) => r.kind);
    assert.ok(top.includes('proposal.committed') && top.includes('policy.updated'), top.join(', '));
  });

  test('the Audit Log pages 200 records at a time with "Load more…"', async function () {
    this.timeout(120_000);
    const n = 205;
    const sizeBefore = api.store().info?.size ?? 0;
    const dataBefore = records(await api.auditLog(), 'data').length;
    for (let i = 0; i < n; i += 50) {
      const batch = Array.from({ length: Math.min(50, n - i) }, (_, k) =>
        vscode.commands.executeCommand<CanonicalRecord | undefined>('sigil.appendRecord', {
          kind: 'event.bulk',
          payload: { i: i + k },
        }),
      );
      for (const r of await Promise.all(batch))
        assert.ok(r, `bulk append failed: ${api.lastError()?.message ?? ''}`);
    }
    const total = dataBefore + n;
    await waitFor('all appends to reach the tree', async () =>
      records(await api.auditLog(), 'data').length === total ? true : undefined,
    );
    // Each append and its audit record land together: the newest data record is second to last.
    const newestSeq = sizeBefore + 2 * n - 2;
    // The last verify run checked 9 records.
    assert.equal(api.status().text, `$(shield) Sigil: unverified (${2 * n + sizeBefore - 9} records)`);

    await vscode.commands.executeCommand('sigil.refreshAuditLog');
    let data = group(await api.auditLog(), 'data');
    assert.equal(data.filter((i) => i.type === 'record').length, 200);
    assert.deepEqual(data.at(-1), { ...data.at(-1), type: 'more', label: 'Load more…' });
    assert.equal(data[0]?.seq, newestSeq, 'newest first after a refresh');

    const added = await vscode.commands.executeCommand<number>('sigil.loadMore', 'data');
    assert.equal(added, total - 200);
    data = group(await api.auditLog(), 'data');
    assert.equal(data.filter((i) => i.type === 'record').length, total);
    assert.ok(!data.some((i) => i.type === 'more'), 'no "Load more…" after the last page');
    assert.deepEqual(
      data.slice(-2).map((i) => i.seq),
      [7, 5],
    );
  });

  test('errors come back in words, never swallowed', async () => {
    const res = await vscode.commands.executeCommand('sigil.openRecord', 'not-an-id');
    assert.equal(res, undefined);
    assert.equal(api.lastError()?.code, 'BAD_INPUT');
    assert.match(api.lastError()?.message ?? '', /not a record id/);

    const missing = 'f'.repeat(64);
    await vscode.commands.executeCommand('sigil.openRecord', missing);
    const doc = await waitFor('the missing-record document', () => {
      const d = vscode.window.activeTextEditor?.document;
      return d?.uri.path === `/record/${missing}.json` ? d : undefined;
    });
    assert.match(doc.getText(), /Could not load it: .+/);
  });

  test('a restart reopens the encrypted store with the passphrase from the secret storage', async function () {
    this.timeout(60_000);
    const size = api.store().info?.size;
    await vscode.commands.executeCommand('sigil.restartServer');
    const s = await waitFor('the store to be ready again', () => {
      const v = api.store();
      return v.phase === 'ready' || v.phase === 'needs-passphrase' || v.phase === 'error' ? v : undefined;
    });
    assert.equal(s.phase, 'ready', `after restart: ${s.phase} ${s.problem?.message ?? ''}`);
    assert.equal(s.info?.size, size);
    assert.equal(s.info?.keysEncrypted, true);
    assert.equal(api.lastVerification(), null, 'a new server run starts unverified');
  });

  test('without its passphrase the store needs one; a wrong one is refused; "Enter Key Passphrase" opens it', async function () {
    this.timeout(90_000);
    await vscode.commands.executeCommand('sigil.forgetPassphrase');
    await vscode.commands.executeCommand('sigil.restartServer');
    const locked = await waitFor('the server to report the store state', () => {
      const v = api.store();
      return v.phase !== 'starting' ? v : undefined;
    });
    assert.equal(locked.phase, 'needs-passphrase', `${locked.phase}: ${locked.problem?.message ?? ''}`);
    assert.match(locked.problem?.code ?? '', /^PASSPHRASE_(REQUIRED|WRONG)$/);
    assert.equal(locked.info?.status, 'needs-passphrase', 'the server reports the status itself');
    assert.equal(api.status().text, '$(key) Sigil: passphrase needed');
    assert.equal(api.status().command, 'sigil.enterPassphrase');
    assert.doesNotMatch(api.status().tooltip, /run in a terminal/, 'editor words, not terminal advice');
    assert.deepEqual((await api.auditLog()).groups, [], 'the tree is empty: the welcome view explains');

    // A wrong passphrase: the store stays closed and the error names the problem.
    assert.equal(
      await vscode.commands.executeCommand('sigil.enterPassphrase', { passphrase: 'not the passphrase' }),
      false,
    );
    assert.equal(api.store().phase, 'needs-passphrase');
    assert.equal(api.store().problem?.code, 'PASSPHRASE_WRONG');
    assert.equal(api.lastError()?.code, 'PASSPHRASE_WRONG');
    assert.match(api.lastError()?.message ?? '', /passphrase .* is wrong/);
    assert.equal(api.status().text, '$(key) Sigil: passphrase needed');

    assert.equal(
      await vscode.commands.executeCommand('sigil.enterPassphrase', { passphrase: PASSPHRASE }),
      true,
    );
    const open = await waitFor('the store to open with the passphrase', () => {
      const v = api.store();
      return v.phase !== 'starting' ? v : undefined;
    });
    assert.equal(open.phase, 'ready', `${open.phase}: ${open.problem?.message ?? ''}`);
    assert.ok(records(await api.auditLog(), 'system').length >= 5);
  });

  test('a command run while the server restarts waits for it instead of failing', async function () {
    this.timeout(60_000);
    const starting = new Promise<void>((resolve) => {
      const sub = api.onDidChangeStore((v) => {
        if (v.phase !== 'starting') return;
        sub.dispose();
        resolve();
      });
    });
    const restarted = vscode.commands.executeCommand('sigil.restartServer');
    await starting;
    const cp = await vscode.commands.executeCommand<CheckpointResult | undefined>('sigil.showCheckpoint');
    assert.ok(cp, `checkpoint during a restart failed: ${api.lastError()?.message ?? ''}`);
    assert.equal(cp.size, api.store().info?.size);
    await restarted;
  });
});
