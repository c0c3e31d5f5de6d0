// UI flow 1, on a fresh workspace with no store: open the Sigil container, initialize the store from the
// Audit Log's welcome view, append records with the CLI while the editor is open (through the language
// server's owner socket) and watch them appear, open records in the viewer, verify the log, show the
// checkpoint. Leaves the record ids in $E2E_STATE for the tamper flow.
// Env: E2E_URL (workbench base URL), E2E_WS (workspace folder), E2E_REPO, E2E_ARTIFACTS,
//      E2E_STATE, E2E_PASSPHRASE (typed into the passphrase prompts).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { sigil } from '../lib/cli.mjs';
import {
  COMMANDS,
  Flow,
  StepFailed,
  answerQuickInput,
  auditRows,
  clearNotifications,
  launchBrowser,
  openSigilContainer,
  openWorkbench,
  runCommand,
  waitAuditRow,
  waitNotification,
  waitStatusBar,
  waitTextAnywhere,
} from '../lib/workbench.mjs';
import { initializeStoreButton, initStoreFromWelcome } from '../lib/ui.mjs';

const { E2E_URL: base, E2E_WS: ws, E2E_REPO: repo, E2E_ARTIFACTS: artifacts } = process.env;
const stateFile = process.env.E2E_STATE;
const passphrase = process.env.E2E_PASSPHRASE ?? '';
const home = path.join(ws, '.sigil');
const KINDS = ['e2e.alpha', 'e2e.beta', 'e2e.gamma'];

const flow = new Flow('store-flow', { artifacts });
const browser = await launchBrowser(process.env.E2E_BROWSER_PROFILE);
const page = browser.ctx.pages()[0] ?? (await browser.ctx.newPage());
flow.page = page;
page.on('pageerror', (e) => flow.log(`pageerror: ${e.message}`));
const state = { records: [] };
let ok = false;

try {
  await flow.step('workbench loads with the "Sigil" view container in the activity bar', async () => {
    const t = Date.now();
    await openWorkbench(page, `${base}/?folder=${encodeURIComponent(ws)}`);
    flow.timings.workbench_ready_ms = Date.now() - t;
    await flow.screenshot('01-workbench');
  });

  await flow.step('the "Sigil" container shows the "Audit Log" view', async () => {
    await openSigilContainer(page);
  });

  await flow.step('the Audit Log welcome view offers "Initialize Store" (no store yet)', async () => {
    await initializeStoreButton(page);
    await flow.screenshot('02-welcome');
  });

  await flow.step(
    '"Initialize Store" creates the store and the genesis record shows in the Audit Log',
    async () => {
      const prompts = await initStoreFromWelcome(page, home, passphrase, { keepNotifications: true });
      await flow.screenshot('03-initialized');
      return prompts.length ? `answered prompts: ${JSON.stringify(prompts)}` : 'no prompts';
    },
  );

  await flow.step('records appended with the CLI (owner socket) appear in the Audit Log', async () => {
    const before = await auditRows(page).count();
    for (const kind of KINDS) {
      const payload = JSON.stringify({ title: `e2e ${kind}`, at: new Date().toISOString() });
      const out = await sigil(
        repo,
        ['--home', home, 'canon', 'append', '--kind', kind, '--payload', '-'],
        payload,
      );
      const id = out.split('\n').pop();
      if (!/^[0-9a-f]{64}$/.test(id)) throw new Error(`append printed no record id: ${out}`);
      state.records.push({ kind, id });
    }
    for (const { kind } of state.records) await waitAuditRow(page, kind, 20000);
    const after = await auditRows(page).count();
    await flow.screenshot('04-records');
    return `${before} -> ${after} rows`;
  });

  await flow.step('clicking an Audit Log record opens the viewer showing its id', async () => {
    const rec = state.records[1];
    await (await waitAuditRow(page, rec.kind)).click();
    const where = await waitTextAnywhere(page, rec.id, 20000);
    await flow.screenshot('05-record-viewer');
    return `id shown in the ${where}`;
  });

  await flow.step(`"${COMMANDS.openRecord}" opens a record by id`, async () => {
    const rec = state.records[2];
    await runCommand(page, COMMANDS.openRecord);
    const prompt = await answerQuickInput(page, rec.id, 10000);
    if (prompt === null) throw new Error('the command asked for no record id');
    await waitTextAnywhere(page, rec.id, 20000);
    await flow.screenshot('06-open-record');
  });

  await flow.step(`"${COMMANDS.verify}" reports a sound log`, async () => {
    await clearNotifications(page);
    await runCommand(page, COMMANDS.verify);
    const text = await waitNotification(page, /verified|FAILED/, 60000);
    if (!/verified/.test(text) || /FAILED/.test(text)) throw new Error(`verify reported a problem: ${text}`);
    const status = await waitStatusBar(page, /Sigil: verified/, 10000);
    await flow.screenshot('07-verify-ok');
    return `${text} / status bar: ${status}`;
  });

  await flow.step(`"${COMMANDS.checkpoint}" shows the signed checkpoint (origin and size)`, async () => {
    const note = await sigil(repo, ['--home', home, 'canon', 'checkpoint']);
    const origin = note.split('\n')[0];
    await runCommand(page, COMMANDS.checkpoint);
    const where = await waitTextAnywhere(page, origin, 20000);
    await flow.screenshot('08-checkpoint');
    return `origin ${origin} shown in the ${where}`;
  });
  ok = true;
} catch (e) {
  if (!(e instanceof StepFailed)) flow.log(`error: ${e.stack}`);
} finally {
  if (stateFile) writeFileSync(stateFile, JSON.stringify(state, null, 2) + '\n');
  flow.writeSummary(path.join(path.dirname(stateFile ?? artifacts), 'store-flow.json'));
  await browser.close();
}
const s = flow.summary();
console.log(`store-flow: ${s.passed} passed, ${s.failed} failed`);
process.exit(ok ? 0 : 1);
