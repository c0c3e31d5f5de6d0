// UI flow 4, documentation search and memory in a workspace of its own ($E2E_DOCS_WS): the store is
// initialized from the Audit Log's welcome view (as in the other flows); a small Markdown doc set with an MIT
// LICENSE is written into the workspace and imported with "Sigil: Import Documentation Folder…" (the folder
// typed into code-server's folder dialog; the CLI then sees the documents through the owner socket);
// "Sigil: Search Docs…" finds a page and picking the
// result opens a read-only citation document with the chunk text, its source path and its licence. Then
// "Sigil: Write Memory Entry…" (its three prompts) writes an entry that the Memory view (collapsed by
// default) lists under its namespace, and the view's Forget action (confirmed in the modal) removes it.
// Env: E2E_URL, E2E_DOCS_WS (a folder of its own: its .sigil home is created here), E2E_REPO,
//      E2E_ARTIFACTS, E2E_STATE (the summary goes next to it), E2E_PASSPHRASE, E2E_BROWSER_PROFILE.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sigil } from '../lib/cli.mjs';
import {
  Flow,
  StepFailed,
  clearNotifications,
  launchBrowser,
  openSigilContainer,
  openWorkbench,
  runCommand,
  waitAuditRow,
  waitNotification,
} from '../lib/workbench.mjs';
import {
  answerInputBox,
  editorText,
  expandView,
  initStoreFromWelcome,
  viewRows,
  waitFor,
} from '../lib/ui.mjs';

const { E2E_URL: base, E2E_DOCS_WS: ws, E2E_REPO: repo, E2E_ARTIFACTS: artifacts } = process.env;
const stateFile = process.env.E2E_STATE;
const passphrase = process.env.E2E_PASSPHRASE ?? '';
const home = path.join(ws, '.sigil');
const DOCS = 'lighthouse-docs'; // the directory, and so the collection name the citations show
const MEMORY_VIEW = 'Memory';
const NAMESPACE = 'user:e2e';
const KEY = 'harbour-light';
const MEMORY_TEXT = 'the keeper trims the wick before dusk';

const MIT = `MIT License

Copyright (c) 2026 Sigil e2e fixtures

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
`;
// Words found on one page only, so the query names which chunk must come back.
const LANTERN_MD = `# Lantern Guide

The lantern keeper trims the wick before dusk so that the harbour light burns steadily all night.

## Refilling

Pour the oil slowly into the reservoir and wipe the brass collar dry.
`;
const TIDES_MD = `# Tides

Spring tides follow the new and the full moon; neap tides the quarter moons.
`;
const CHUNK_TEXT = 'The lantern keeper trims the wick before dusk';

const docsDir = path.join(ws, DOCS);
mkdirSync(docsDir, { recursive: true });
writeFileSync(path.join(docsDir, 'LICENSE'), MIT);
writeFileSync(path.join(docsDir, 'lantern.md'), LANTERN_MD);
writeFileSync(path.join(docsDir, 'tides.md'), TIDES_MD);

const flow = new Flow('memory-docs-flow', { artifacts });
const browser = await launchBrowser(process.env.E2E_BROWSER_PROFILE);
const page = browser.ctx.pages()[0] ?? (await browser.ctx.newPage());
flow.page = page;
page.on('pageerror', (e) => flow.log(`pageerror: ${e.message}`));
let ok = false;

const quickRows = () => page.locator('.quick-input-list .monaco-list-row');
const memoryRows = () => viewRows(page, MEMORY_VIEW);

try {
  await flow.step('workbench loads the docs workspace with the "Sigil" container', async () => {
    await openWorkbench(page, `${base}/?folder=${encodeURIComponent(ws)}`);
    await openSigilContainer(page);
  });

  await flow.step('"Initialize Store" from the Audit Log welcome view creates the store', async () => {
    await initStoreFromWelcome(page, home, passphrase);
  });

  await flow.step(
    '"Sigil: Import Documentation Folder…" imports the Markdown doc set picked in the folder dialog, under its MIT LICENSE',
    async () => {
      await clearNotifications(page);
      await runCommand(page, 'Sigil: Import Documentation Folder…');
      // code-server's folder dialog is a quick input holding a path. It fills in its start folder itself,
      // so the folder is typed once that has happened, and accepted with the dialog's own button.
      const quickInput = page.locator('.quick-input-widget');
      await quickInput.waitFor({ state: 'visible', timeout: 10000 });
      const input = quickInput.locator('input').first();
      // The dialog sets its start folder asynchronously and may overwrite what was typed before it did:
      // type the folder until it stays in the box.
      let kept = '';
      for (let attempt = 0; attempt < 10 && kept !== docsDir; attempt++) {
        await input.fill(docsDir);
        await page.waitForTimeout(700);
        kept = await input.inputValue();
      }
      if (kept !== docsDir)
        throw new Error(
          `the folder dialog did not keep the typed path ${docsDir}; it shows ${JSON.stringify(kept)}`,
        );
      const accept = quickInput.locator('.monaco-button', { hasText: 'Import' }).first();
      if (await accept.isVisible()) await accept.click();
      else await page.keyboard.press('Enter');
      const done = page.locator('.notifications-toasts .notification-toast', {
        hasText: /imported 2 documents/,
      });
      try {
        await done.first().waitFor({ state: 'visible', timeout: 8000 });
      } catch {
        // The dialog may first move into the folder; accepting again takes it.
        if (await quickInput.isVisible()) {
          const now = await input.inputValue().catch(() => '?');
          flow.log(`folder dialog still open with ${JSON.stringify(now)}: accepting again`);
          if (await accept.isVisible()) await accept.click();
          else await page.keyboard.press('Enter');
        }
        await done.first().waitFor({ state: 'visible', timeout: 60000 });
      }
      const text = await done.first().innerText();
      if (!/under MIT\b/.test(text))
        throw new Error(`the import summary does not name the MIT licence: ${text}`);
      // The CLI, through the owner socket, sees the same two documents.
      const r = JSON.parse(await sigil(repo, ['--home', home, '--json', 'rag', 'stats']));
      if (r.documents !== 2) throw new Error(`rag stats after the import: ${JSON.stringify(r)}`);
      return text.replace(/\s+/g, ' ').slice(0, 200);
    },
  );

  await flow.step(
    '"Sigil: Search Docs…" finds the page; picking it opens a read-only citation with text, source and licence',
    async () => {
      await runCommand(page, 'Sigil: Search Docs…');
      await answerInputBox(page, 'Sigil: Search Docs', 'lantern keeper wick dusk');
      const row = quickRows().filter({ hasText: 'trims the wick' }).first();
      try {
        await row.waitFor({ state: 'visible', timeout: 20000 });
      } catch {
        const offered = await quickRows().allInnerTexts();
        const toasts = await page.locator('.notification-list-item-message').allInnerTexts();
        throw new Error(
          `no search result showing the lantern page (offered: ${JSON.stringify(offered)}; notifications: ${JSON.stringify(toasts)})`,
        );
      }
      const label = (await row.innerText()).replace(/\s+/g, ' ');
      if (!label.includes(`${DOCS} · MIT`))
        throw new Error(`the result does not name its collection and licence: ${JSON.stringify(label)}`);
      await flow.screenshot('20-docs-search');
      await row.click();
      await page
        .locator('.part.editor .tab.active', { hasText: 'lantern.md' })
        .waitFor({ state: 'visible', timeout: 15000 });
      const text = await waitFor(
        'the citation document does not show the chunk, its source path and licence',
        () => editorText(page),
        (t) =>
          typeof t === 'string' &&
          t.includes(CHUNK_TEXT) &&
          t.includes(`Source: ${DOCS}/lantern.md`) &&
          t.includes(`Collection: ${DOCS}, file lantern.md`) &&
          t.includes('Licence: MIT'),
        15000,
      );
      const tab = await page.locator('.part.editor .tab.active').innerText();
      await flow.screenshot('21-docs-citation');
      // Read-only: typing into it changes nothing (the editor refuses the edit).
      await page.locator('.part.editor .editor-instance .view-lines').first().click();
      await page.keyboard.type('zzz');
      await page
        .locator('.part.editor .monaco-editor-overlaymessage', { hasText: 'read-only' })
        .first()
        .waitFor({ state: 'visible', timeout: 5000 })
        .catch(() => {
          throw new Error('typing into the citation document did not show "Cannot edit in read-only editor"');
        });
      const after = await editorText(page);
      if (after.includes('zzz')) throw new Error('the citation document accepted an edit');
      return `tab ${JSON.stringify(tab.trim())}, ${text.split('\n').length} lines`;
    },
  );

  await flow.step('"Sigil: Write Memory Entry…" writes an entry (namespace, key, text prompts)', async () => {
    await page.keyboard.press('Escape');
    await runCommand(page, 'Sigil: Write Memory Entry…');
    await answerInputBox(page, 'Write Memory Entry — namespace', NAMESPACE);
    await answerInputBox(page, 'Write Memory Entry — key', KEY);
    await answerInputBox(page, `${NAMESPACE} / ${KEY}`, MEMORY_TEXT);
    await waitAuditRow(page, 'memory.', 20000);
  });

  await flow.step(
    'the Memory view (collapsed by default) expanded lists the namespace and the key',
    async () => {
      await openSigilContainer(page);
      const was = await expandView(page, MEMORY_VIEW);
      await waitFor(
        `the Memory view does not list ${NAMESPACE} and ${KEY}`,
        () => memoryRows().allInnerTexts(),
        (r) => Array.isArray(r) && r.some((t) => t.includes(NAMESPACE)) && r.some((t) => t.includes(KEY)),
        20000,
      );
      await flow.screenshot('22-memory-view');
      return `was aria-expanded=${was}; rows ${JSON.stringify((await memoryRows().allInnerTexts()).map((t) => t.replace(/\s+/g, ' ')))}`;
    },
  );

  await flow.step(
    '"Forget" on the entry, confirmed in the modal, removes it from the Memory view',
    async () => {
      await clearNotifications(page);
      const row = memoryRows().filter({ hasText: KEY }).first();
      await row.hover();
      const forget = row.locator('.actions .action-label[aria-label^="Forget Memory Entry"]');
      try {
        await forget.first().waitFor({ state: 'visible', timeout: 5000 });
      } catch {
        const labels = await row
          .locator('.action-label')
          .evaluateAll((as) => as.map((a) => a.getAttribute('aria-label')));
        throw new Error(`the entry row offers no inline Forget action (actions: ${JSON.stringify(labels)})`);
      }
      await forget.first().click();
      const dialog = page.locator('.monaco-dialog-box');
      await dialog.waitFor({ state: 'visible', timeout: 10000 });
      const message = (await dialog.innerText()).replace(/\s+/g, ' ');
      if (!message.includes(`Forget ${NAMESPACE} / ${KEY}?`))
        throw new Error(`the confirmation does not name the entry: ${JSON.stringify(message)}`);
      await flow.screenshot('23-memory-forget-confirm');
      await dialog
        .locator('.monaco-button', { hasText: /^Forget$/ })
        .first()
        .click();
      await dialog.waitFor({ state: 'hidden', timeout: 10000 });
      await waitNotification(page, new RegExp(`forgot ${NAMESPACE} / ${KEY}`), 20000);
      const rows = await waitFor(
        `${KEY} is still listed in the Memory view after Forget`,
        () => memoryRows().allInnerTexts(),
        (r) => Array.isArray(r) && !r.some((t) => t.includes(KEY)),
        20000,
      );
      return `Memory view now: ${JSON.stringify(rows.map((t) => t.replace(/\s+/g, ' ')))}`;
    },
  );
  ok = true;
} catch (e) {
  if (!(e instanceof StepFailed)) flow.log(`error: ${e.stack}`);
} finally {
  flow.writeSummary(path.join(path.dirname(stateFile ?? artifacts), 'memory-docs-flow.json'));
  await browser.close();
}
const s = flow.summary();
console.log(`memory-docs-flow: ${s.passed} passed, ${s.failed} failed`);
process.exit(ok ? 0 : 1);
