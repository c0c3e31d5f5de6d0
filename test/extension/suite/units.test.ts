/**
 * The extension's pure parts: JSON re-indenting that keeps the canonical form, the status bar wording per
 * store state, and how settings become a config layer.
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
import type { StoreInfo, VerifyResult } from '../../../shared/src/protocol.js';

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
});
