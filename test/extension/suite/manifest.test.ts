/**
 * package.json against the running extension: every contributed command is registered (and the reverse),
 * the names other tools select by stay stable, and every `sigil.*` store setting maps onto a key of the
 * config schema with the schema's default.
 */
/// <reference types="mocha" />
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { describeConfig } from '../../../shared/src/config-schema.js';
import { MAPPED_SETTINGS } from '../../../client/src/settings.js';

interface Manifest {
  activationEvents: string[];
  contributes: {
    commands: Array<{ command: string; title: string; category?: string }>;
    menus: { commandPalette: Array<{ command: string; when: string }> };
    viewsContainers: { activitybar: Array<{ id: string; title: string; icon: string }> };
    views: Record<string, Array<{ id: string; name: string }>>;
    viewsWelcome: Array<{ view: string; contents: string; when: string }>;
    configuration: { properties: Record<string, { default?: unknown }> };
  };
}

suite('Sigil manifest (package.json)', () => {
  const ext = vscode.extensions.getExtension('sigil-dev.sigil');
  const pkg = ext?.packageJSON as Manifest;

  test('every contributed command is registered, and every registered sigil.* command is contributed', async () => {
    await ext?.activate();
    const contributed = pkg.contributes.commands.map((c) => c.command).sort();
    // VS Code adds sigil.auditLog.focus, .open, … for each view itself.
    const viewIds = pkg.contributes.views.sigil?.map((v) => v.id) ?? [];
    for (const v of ['sigil.auditLog', 'sigil.licenses', 'sigil.witnesses', 'sigil.proposals'])
      assert.ok(viewIds.includes(v), `view ${v} is contributed`);
    // Those are told apart from ours by not being contributed: `sigil.mentor.explain` is ours although the
    // Mentor view is `sigil.mentor`.
    const registered = (await vscode.commands.getCommands(true))
      .filter(
        (c) =>
          c.startsWith('sigil.') && (contributed.includes(c) || !viewIds.some((v) => c.startsWith(`${v}.`))),
      )
      .sort();
    assert.deepEqual(registered, contributed);
    for (const c of pkg.contributes.commands) assert.equal(c.category, 'Sigil', c.command);
  });

  test('the names the e2e flows select by are stable', () => {
    const titles = Object.fromEntries(pkg.contributes.commands.map((c) => [c.command, c.title]));
    assert.equal(titles['sigil.initializeStore'], 'Initialize Store');
    assert.equal(titles['sigil.verifyCanon'], 'Verify Canon Log');
    assert.equal(titles['sigil.showCheckpoint'], 'Show Checkpoint');
    assert.equal(titles['sigil.openRecord'], 'Open Record…');
    assert.deepEqual(pkg.contributes.viewsContainers.activitybar[0], {
      id: 'sigil',
      title: 'Sigil',
      icon: 'media/sigil.svg',
    });
    assert.equal(pkg.contributes.views.sigil?.[0]?.id, 'sigil.auditLog');
    assert.equal(pkg.contributes.views.sigil?.[0]?.name, 'Audit Log');
    const noStore = pkg.contributes.viewsWelcome.find((w) => w.when === 'sigil.storeStatus == no-store');
    assert.match(noStore?.contents ?? '', /\[Initialize Store\]\(command:sigil\.initializeStore\)/);
    const needsPassphrase = pkg.contributes.viewsWelcome.find(
      (w) => w.when === 'sigil.storeStatus == needs-passphrase',
    );
    assert.equal(
      needsPassphrase?.contents,
      "The store's keys are encrypted.\n[Enter Key Passphrase](command:sigil.enterPassphrase)",
    );
  });

  test('internal commands are hidden from the palette', () => {
    const hidden = new Set(
      pkg.contributes.menus.commandPalette.filter((m) => m.when === 'false').map((m) => m.command),
    );
    for (const c of [
      'sigil.loadMore',
      'sigil.getActivationTime',
      'sigil.appendRecord',
      'sigil.copyRecordId',
      'sigil.copyProposalId',
      'sigil.getPolicy',
      'sigil.mentor.explain',
      'sigil.mentor.ask',
      'sigil.mentor.notHelpful',
      'sigil.mentor.fixApplied',
    ]) {
      assert.ok(hidden.has(c), `${c} is hidden`);
    }
  });

  test('activation is lazy: the view, the commands, a workspace with .sigil', () => {
    const events = pkg.activationEvents;
    assert.ok(events.includes('onView:sigil.auditLog'));
    assert.ok(events.includes('onView:sigil.witnesses'));
    assert.ok(events.includes('onView:sigil.proposals'));
    assert.ok(events.includes('onView:sigil.memory'));
    assert.ok(events.includes('workspaceContains:.sigil'));
    assert.ok(events.includes('onLanguage:rust'), 'RustMentor starts with a Rust file');
    assert.ok(!events.includes('*') && !events.includes('onStartupFinished'));
  });

  test('store settings map onto the config schema with its defaults', () => {
    const docs = new Map(describeConfig().map((d) => [d.key, d]));
    const props = pkg.contributes.configuration.properties;
    assert.ok('sigil.home' in props);
    for (const { setting, key } of MAPPED_SETTINGS) {
      const doc = docs.get(key);
      assert.ok(doc, `schema key ${key}`);
      assert.deepEqual(props[`sigil.${setting}`]?.default, doc.default, `sigil.${setting} default`);
    }
    const mapped = new Set(['sigil.home', ...MAPPED_SETTINGS.map((m) => `sigil.${m.setting}`)]);
    // sigil.mentor.* are RustMentor's editor settings, sent to the running server (not a config layer)
    for (const name of Object.keys(props))
      if (!name.startsWith('sigil.mentor.')) assert.ok(mapped.has(name), `${name} is mapped (or sigil.home)`);
  });
});
