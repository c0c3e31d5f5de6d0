/**
 * The extension's pure parts: JSON re-indenting that keeps the canonical form, the status bar wording per
 * store state, how settings become a config layer, how proposals are put into words, and the check of a
 * proposal export before a witness signs it.
 */
/// <reference types="mocha" />
import * as assert from 'node:assert/strict';
import * as os from 'node:os';
import * as path from 'node:path';
import { kindIcon, prettyJson, shortTime } from '../../../client/src/format.js';
import { expandPath, settingsLayer } from '../../../client/src/settings.js';
import { presentStatus } from '../../../client/src/statusBar.js';
import { viewDescription, viewMessage } from '../../../client/src/present.js';
import { phaseOf } from '../../../client/src/ctx.js';
import type { ProposalExport, ProposalView, StoreInfo, VerifyResult } from '../../../shared/src/protocol.js';
import { proposalId } from '../../../shared/src/quorum.js';
import {
  changeSummary,
  groupOf,
  proposalContext,
  proposalDescription,
  proposalFacts,
  relativeTime,
  votesText,
} from '../../../client/src/quorumPresent.js';
import { checkExport } from '../../../client/src/quorumCommands.js';
import { SigilError } from '../../../shared/src/errors.js';

suite('Sigil extension units', () => {
  test('prettyJson re-indents without reordering keys or respelling values', () => {
    const canonical = '{"10":true,"2":"\\\\","a":"x\\"{,}:[]","b":[],"c":{},"d":[1,-2.5e-7,{"e":null}]}';
    const pretty = prettyJson(canonical);
    assert.equal(pretty.replace(/\n\s*/g, '').replace(/": /g, '":'), canonical);
    assert.deepEqual(JSON.parse(pretty), JSON.parse(canonical));
    assert.ok(pretty.indexOf('"10"') < pretty.indexOf('"2"'), 'key order of the canonical form kept');
    assert.match(pretty, /"b": \[\],\n {2}"c": \{\},/);
    assert.equal(prettyJson('[]'), '[]');
  });

  test('times and kind icons', () => {
    assert.equal(shortTime('2026-01-02T03:04:05.678Z'), '2026-01-02 03:04:05 UTC');
    assert.equal(kindIcon('canon.genesis'), 'star-full');
    assert.equal(kindIcon('note.created'), 'note');
    assert.equal(kindIcon('unheard.of'), 'circle-outline');
  });

  test('status bar wording follows the store and the last verify run', () => {
    const info: StoreInfo = { status: 'ready', home: '/h', size: 5 };
    const run = (result: Partial<VerifyResult>) => ({
      home: '/h',
      at: new Date(),
      result: { ok: true, size: 5, checked: 5, rootHash: 'r', firstBad: null, ...result },
    });
    assert.equal(
      presentStatus({ phase: 'ready', home: '/h', info }, null).text,
      '$(shield) Sigil: unverified (5 records)',
    );
    assert.equal(
      presentStatus({ phase: 'ready', home: '/h', info }, run({})).text,
      '$(shield) Sigil: verified',
    );
    assert.equal(
      presentStatus({ phase: 'ready', home: '/h', info: { ...info, size: 6 } }, run({})).text,
      '$(shield) Sigil: unverified (1 record)',
    );
    const failed = presentStatus(
      { phase: 'ready', home: '/h', info },
      run({ ok: false, firstBad: { seq: 3, id: 'ab'.repeat(32), reason: 'signature does not verify' } }),
    );
    assert.equal(failed.text, '$(shield) Sigil: failed');
    assert.match(failed.tooltip, /record #3: signature does not verify/);
    assert.equal(presentStatus({ phase: 'no-store', home: '/h' }, null).text, '$(shield) Sigil: no store');
    assert.equal(presentStatus({ phase: 'locked', home: '/h' }, null).text, '$(lock) Sigil: locked');
    const needs = presentStatus({ phase: 'needs-passphrase', home: '/h' }, null);
    assert.equal(needs.text, '$(key) Sigil: passphrase needed');
    assert.equal(needs.command, 'sigil.enterPassphrase');
    assert.match(needs.tooltip, /the keys of \/h are encrypted and no passphrase was given/);
    const wrong = presentStatus(
      {
        phase: 'needs-passphrase',
        home: '/h',
        problem: { code: 'PASSPHRASE_WRONG', message: 'cannot decrypt the root key in /h/keystore.json' },
      },
      null,
    );
    assert.match(wrong.tooltip, /the key passphrase of \/h is wrong: cannot decrypt the root key/);
  });

  test('the status tooltip shows the docs index state before the click hint', () => {
    const info: StoreInfo = { status: 'ready', home: '/h', size: 5 };
    const view = { phase: 'ready', home: '/h', info } as const;
    const withIndex = presentStatus(view, null, {
      documents: 3,
      chunks: 44,
      embedder: { id: 'use-lite', dim: 512 },
    });
    assert.match(
      withIndex.tooltip,
      /Docs index: 3 documents, 44 chunks \(use-lite, 512-d\)\n\nClick to verify/,
    );
    assert.match(
      presentStatus(view, null, { documents: 0, chunks: 0, embedder: null }).tooltip,
      /Docs index: empty \(Sigil: Import Rust Documentation\)/,
    );
    assert.doesNotMatch(presentStatus(view, null, null).tooltip, /Docs index/);
    assert.doesNotMatch(
      presentStatus({ phase: 'locked', home: '/h' }, null, { documents: 1, chunks: 1, embedder: null })
        .tooltip,
      /Docs index/,
    );
  });

  test('a store that needs a passphrase leaves the Audit Log without a message, so its welcome button shows', () => {
    const problem = {
      code: 'PASSPHRASE_REQUIRED' as const,
      message: 'set SIGIL_PASSPHRASE or run in a terminal',
    };
    assert.equal(viewMessage({ phase: 'needs-passphrase', home: '/h', problem }), undefined);
    assert.equal(phaseOf({ status: 'needs-passphrase', home: '/h', problem }), 'needs-passphrase');
    // From a server that reported passphrase problems as errors.
    assert.equal(phaseOf({ status: 'error', home: '/h', problem }), 'needs-passphrase');
    const locked = { code: 'STORE_LOCKED' as const, message: 'locked by pid 1' };
    // No state hides the welcome buttons behind a message; the lock holder goes to the description.
    assert.equal(viewMessage({ phase: 'locked', home: '/h', problem: locked }), undefined);
    assert.equal(viewDescription({ phase: 'locked', home: '/h', problem: locked }), 'locked by pid 1');
  });

  test('only settings the user set become the config layer; the narrowest scope wins', () => {
    const layer = settingsLayer((s) =>
      s === 'server.logLevel'
        ? { globalValue: 'warn', workspaceValue: 'debug' }
        : s === 'canon.verifyWorkers'
          ? { globalValue: 4 }
          : undefined,
    );
    assert.deepEqual(layer.values, { server: { log_level: 'debug' }, canon: { verify_workers: 4 } });
    assert.deepEqual(layer.names, {
      'server.log_level': 'sigil.server.logLevel',
      'canon.verify_workers': 'sigil.canon.verifyWorkers',
    });
  });

  test('sigil.home paths: ~ and relative to the first workspace folder', () => {
    assert.equal(expandPath('~/x', '/ws'), path.join(os.homedir(), 'x'));
    assert.equal(expandPath('store', '/ws'), '/ws/store');
    assert.equal(expandPath('/abs/h/', '/ws'), '/abs/h', 'named as the server names it');
  });

  test('proposals in words: votes against k (both sides of a registry change), expiry, why a commit would fail', () => {
    const now = Date.parse('2026-01-01T00:00:00.000Z');
    const base: ProposalView = {
      id: 'a'.repeat(64),
      kind: 'policy.update',
      change: { 'canon.export': { loa: 'observer' } },
      prev: 'b'.repeat(64),
      createdAt: '2026-01-01T00:00:00.000Z',
      expiresAt: '2026-01-02T00:00:00.000Z',
      proposer: 'local:owner',
      status: 'pending',
      signatures: [],
      votes: [],
      threshold: 2,
      unsigned: ['alice', 'bob'],
      canCommit: false,
      blockers: ['1 more signature needed (0 of k = 2)'],
      recordId: 'c'.repeat(64),
      body: {},
    };
    assert.equal(votesText(base), '0/2');
    assert.equal(proposalDescription(base, now), '0/2 · expires in 24 h');
    assert.equal(proposalContext(base), 'sigil.proposal.pending');
    assert.equal(changeSummary(base), 'canon.export: loa observer');
    const facts = proposalFacts(base);
    assert.ok(facts.includes('Signed by: nobody yet'), facts.join('\n'));
    assert.ok(facts.includes('Missing: alice, bob'));
    assert.ok(facts.includes('A commit would fail: 1 more signature needed (0 of k = 2)'));

    const rotation: ProposalView = {
      ...base,
      kind: 'witness.add',
      change: { id: 'carol', name: 'carol', public_key: 'x' },
      votes: ['alice', 'bob'],
      newVotes: ['alice'],
      newThreshold: 2,
      unsigned: [],
      signatures: [
        { witnessId: 'alice', keyId: '1'.repeat(32), sig: 's', counts: true },
        { witnessId: 'bob', keyId: '2'.repeat(32), sig: 's', counts: true },
        { witnessId: 'mallory', keyId: '3'.repeat(32), sig: 's', counts: false, problem: 'unknown witness' },
      ],
    };
    assert.equal(votesText(rotation), 'current 2/2 · new 1/2');
    assert.equal(changeSummary(rotation), 'add witness carol (carol)');
    const rf = proposalFacts(rotation);
    assert.ok(rf.includes('Signed by: alice (key 11111111), bob (key 22222222)'), rf.join('\n'));
    assert.ok(rf.includes('Does not count: mallory (key 33333333): unknown witness'));
    assert.ok(rf.some((l) => l.startsWith('New set: 1 of k = 2 (alice)')));

    const ready = { ...base, votes: ['alice', 'bob'], canCommit: true, blockers: [] };
    assert.equal(proposalDescription(ready, now), '2/2 · ready · expires in 24 h');
    assert.equal(proposalContext(ready), 'sigil.proposal.pending.ready');
    assert.ok(proposalFacts(ready).includes('Ready to commit.'));
    assert.equal(groupOf('stale'), 'closed');
    assert.equal(groupOf('expired'), 'closed');
    assert.equal(proposalContext({ ...base, status: 'stale' }), 'sigil.proposal.stale');
    assert.equal(relativeTime('2025-12-31T23:30:00.000Z', now), '30 min ago');
  });

  test('a proposal export is signed only when its id is the hash of its body, for this store', async () => {
    const body = {
      v: 1,
      kind: 'policy.update',
      change: { 'canon.export': { loa: 'observer' } },
      prev: null,
      created_at: '2026-01-01T00:00:00.000Z',
      expires_at: '2026-01-02T00:00:00.000Z',
      proposer: 'local:owner',
    };
    const id = proposalId(body);
    const exp: ProposalExport = { type: 'sigil.proposal', version: 1, origin: 'example.org/s', id, body };
    assert.deepEqual(await checkExport(exp, id, 'example.org/s'), body);
    const refused = async (e: ProposalExport, want: string | undefined, re: RegExp): Promise<void> => {
      await assert.rejects(checkExport(e, id, want), (err: unknown) => {
        assert.ok(err instanceof SigilError);
        assert.match(err.message, re);
        return true;
      });
    };
    // The body was altered after the id was taken (e.g. a looser rule): refused.
    await refused(
      { ...exp, body: { ...body, change: { 'canon.export': { loa: 'guest' } } } },
      'example.org/s',
      /not the SHA-256 of its body/,
    );
    await refused(
      { ...exp, id: 'f'.repeat(64) },
      'example.org/s',
      /asked for proposal .* but the export is of f+/,
    );
    await refused(exp, 'other.example/s', /names the store example\.org\/s, not this one/);
  });
});
