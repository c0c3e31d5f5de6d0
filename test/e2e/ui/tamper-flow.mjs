// UI flow 2, after code-server was restarted on a store whose record $E2E_STATE.victim was damaged
// on disk (ui/tamper-prepare.mjs): the Audit Log must list it as damaged, and Verify (run by clicking it)
// must report the failure and name the record.
// Env: as ui/store-flow.mjs.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  answerQuickInput,
  Flow,
  StepFailed,
  clearNotifications,
  launchBrowser,
  openSigilContainer,
  openWorkbench,
  waitAuditRow,
  waitNotification,
  waitStatusBar,
} from '../lib/workbench.mjs';

const { E2E_URL: base, E2E_WS: ws, E2E_ARTIFACTS: artifacts, E2E_STATE: stateFile } = process.env;
const { victim } = JSON.parse(readFileSync(stateFile, 'utf8'));
const passphrase = process.env.E2E_PASSPHRASE ?? '';

const flow = new Flow('tamper-flow', { artifacts });
const browser = await launchBrowser(process.env.E2E_BROWSER_PROFILE);
const page = browser.ctx.pages()[0] ?? (await browser.ctx.newPage());
flow.page = page;
page.on('pageerror', (e) => flow.log(`pageerror: ${e.message}`));
let ok = false;

try {
  await flow.step('workbench reloads on the damaged store with the "Sigil" container', async () => {
    await openWorkbench(page, `${base}/?folder=${encodeURIComponent(ws)}`);
    await openSigilContainer(page);
  });

  // code-server keeps SecretStorage in memory only, so after its restart the extension has no passphrase for
  // the store: it must say a passphrase is needed, and the welcome view's "Enter Key Passphrase" must open it.
  let status = '';
  await flow.step('the extension settles on the store (status bar leaves "starting")', async () => {
    status = await waitStatusBar(page, /Sigil: /, 30000);
    return status;
  });

  if (/passphrase needed/.test(status)) {
    await flow.step('the Audit Log welcome view\'s "Enter Key Passphrase" unlocks the store', async () => {
      const button = page.locator('.part.sidebar .welcome-view-content .monaco-button', {
        hasText: 'Enter Key Passphrase',
      });
      try {
        await button.first().waitFor({ state: 'visible', timeout: 20000 });
      } catch {
        throw new Error('no "Enter Key Passphrase" button in the Audit Log welcome view');
      }
      await flow.screenshot('08b-needs-passphrase');
      await button.first().click();
      const prompt = await answerQuickInput(page, passphrase, 10000);
      if (prompt === null) throw new Error('the button asked for no passphrase');
      // Ready again: the status bar counts the unverified records.
      return await waitStatusBar(page, /Sigil: (verified|unverified)/, 30000);
    });
  } else if (/locked/.test(status)) {
    throw new Error(`the store shows as locked rather than needing its passphrase: ${status}`);
  }

  let damagedRow = null;
  await flow.step('the Audit Log lists the other records and the damaged one in its place', async () => {
    damagedRow = await waitAuditRow(page, 'damaged record', 30000);
    return await damagedRow.innerText();
  });

  await flow.step(
    'clicking the damaged record runs Verify, which reports the failure naming it',
    async () => {
      await clearNotifications(page);
      await damagedRow.click();
      const text = await waitNotification(
        page,
        /fail|tamper|corrupt|does not authenticate|invalid|broken/i,
        60000,
      );
      // The record may be named by its full id or a prefix of it (at least 8 hex digits).
      const named =
        text.includes(victim.id) ||
        [...text.matchAll(/[0-9a-f]{8,64}/g)].some((m) => victim.id.startsWith(m[0]));
      if (!named) throw new Error(`the failure does not name record ${victim.id}: ${text}`);
      await waitStatusBar(page, /Sigil: failed/, 10000);
      await flow.screenshot('09-verify-failed');
      return text;
    },
  );
  ok = true;
} catch (e) {
  if (!(e instanceof StepFailed)) flow.log(`error: ${e.stack}`);
} finally {
  flow.writeSummary(path.join(path.dirname(stateFile), 'tamper-flow.json'));
  await browser.close();
}
const s = flow.summary();
console.log(`tamper-flow: ${s.passed} passed, ${s.failed} failed`);
process.exit(ok ? 0 : 1);
