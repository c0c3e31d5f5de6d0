// Helpers the UI flows share on top of workbench.mjs: polling a condition, the store initialized from the
// Audit Log's welcome view, opening a file, the editor's text, code actions, input boxes and side-bar views.
// Each waits for a condition with a timeout and says what it last saw when the condition never held.
/* global document */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { answerQuickInput, clearNotifications, waitAuditRow } from './workbench.mjs';

/** Polls `read` until `test` holds for its value; the error names what was last seen. */
export async function waitFor(what, read, test, timeout = 20000) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    last = await read().catch((e) => `(unreadable: ${e.message})`);
    if (test(last)) return last;
    await sleep(250);
  }
  throw new Error(`${what} within ${timeout} ms; last seen: ${JSON.stringify(last)}`);
}

/** Waits for the Audit Log welcome view's "Initialize Store" button (a workspace with no store) and returns it. */
export async function initializeStoreButton(page) {
  const button = page
    .locator('.part.sidebar .welcome-view-content .monaco-button', { hasText: 'Initialize Store' })
    .first();
  try {
    await button.waitFor({ state: 'visible', timeout: 20000 });
  } catch {
    throw new Error(
      'no "Initialize Store" button in the Audit Log welcome view of a workspace with no store (contributes.viewsWelcome)',
    );
  }
  return button;
}

/**
 * Clicks "Initialize Store" in the Audit Log welcome view of a workspace with no store, answers the
 * passphrase prompts, and waits for the key store in `home` and the genesis record in the Audit Log.
 * Clears the notifications afterwards unless `keepNotifications`. Returns the first line of each prompt answered.
 */
export async function initStoreFromWelcome(page, home, passphrase, { keepNotifications = false } = {}) {
  await (await initializeStoreButton(page)).click();
  // The extension may ask for a passphrase (and its confirmation) or an origin; answer what it asks.
  const prompts = [];
  for (let i = 0; i < 3; i++) {
    const prompt = await answerQuickInput(page, passphrase, 2500);
    if (prompt === null) break;
    prompts.push(prompt.split('\n')[0]);
  }
  await waitFor(
    `no store was created in ${home}`,
    async () => existsSync(path.join(home, 'keystore.json')),
    (v) => v === true,
    30000,
  );
  await waitAuditRow(page, 'canon.genesis', 30000);
  if (!keepNotifications) await clearNotifications(page);
  return prompts;
}

/** The text of the active editor (non-breaking spaces as spaces). */
export function editorText(page) {
  return page
    .locator('.part.editor .editor-instance .view-lines')
    .first()
    .innerText()
    .then((t) => t.replace(/\u00a0/g, ' '));
}

/** Opens a workspace file with Quick Open and waits for its tab and for `expect` in its text. */
export async function openFile(page, relPath, expect) {
  const name = path.basename(relPath);
  await page.keyboard.press('Escape');
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: 10000 });
  await input.fill(relPath);
  await page
    .locator('.quick-input-list .monaco-list-row', { hasText: name })
    .first()
    .waitFor({ state: 'visible', timeout: 15000 });
  await page.keyboard.press('Enter');
  await page
    .locator('.part.editor .tab.active', { hasText: name })
    .waitFor({ state: 'visible', timeout: 15000 });
  await waitFor(
    `the editor does not show ${relPath}`,
    () => editorText(page),
    (t) => t.includes(expect),
  );
}

/** Puts the cursor of the active editor at line:column (1-based) with "Go to Line/Column". */
export async function goTo(page, line, column) {
  await page.keyboard.press('Escape');
  await page.keyboard.press('Control+G');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: 10000 });
  await input.fill(`:${line}:${column}`);
  await page.keyboard.press('Enter');
  await input.waitFor({ state: 'hidden', timeout: 5000 });
}

/**
 * Opens the code action menu (Ctrl+.) at line:column and runs the action whose title contains `title`,
 * chosen with the keyboard; `shot` (a function) runs while the menu is open.
 */
export async function runCodeAction(page, line, column, title, shot) {
  await goTo(page, line, column);
  await page.keyboard.press('Control+.');
  const rows = page.locator('.action-widget .monaco-list-row');
  try {
    await rows.filter({ hasText: title }).first().waitFor({ state: 'visible', timeout: 15000 });
  } catch {
    throw new Error(
      `no "${title}" code action offered (offered: ${JSON.stringify(await rows.allInnerTexts())})`,
    );
  }
  if (shot) await shot();
  // The keyboard, as the menu is meant to be used: a pointer click races its rows' layout.
  const focused = page.locator('.action-widget .monaco-list-row.focused');
  for (let i = 0; i < 16; i++) {
    if (((await focused.allInnerTexts())[0] ?? '').includes(title)) break;
    await page.keyboard.press('ArrowDown');
  }
  const chosen = (await focused.allInnerTexts())[0] ?? '';
  if (!chosen.includes(title))
    throw new Error(
      `could not select "${title}" in the code action menu (focused: ${JSON.stringify(chosen)})`,
    );
  await page.keyboard.press('Enter');
  await page
    .locator('.action-widget')
    .first()
    .waitFor({ state: 'hidden', timeout: 5000 })
    .catch(() => {});
}

/** Types `value` into the open input box whose title contains `title`, then Enter; waits until it is gone. */
export async function answerInputBox(page, title, value) {
  const quickInput = page.locator('.quick-input-widget');
  const readTitle = async () => {
    if (!(await quickInput.isVisible())) return '';
    return quickInput
      .locator('.quick-input-title')
      .innerText({ timeout: 1000 })
      .catch(() => '');
  };
  const shown = await waitFor(
    `no input box titled ${JSON.stringify(title)}`,
    readTitle,
    (t) => typeof t === 'string' && t.includes(title),
    10000,
  );
  await quickInput.locator('input').first().fill(value);
  await page.keyboard.press('Enter');
  // The next prompt may reuse the widget: it is gone once its title is no longer this one.
  await waitFor(
    `the input box ${JSON.stringify(shown)} did not close after Enter`,
    readTitle,
    (t) => typeof t === 'string' && t !== shown,
    10000,
  );
}

/** The pane header of the side-bar view named `view` (e.g. "Mentor", "Memory"). */
export function viewPane(page, view) {
  return page.locator(`.part.sidebar .pane-header[aria-label^="${view}"]`);
}

/** The tree rows of the side-bar view named `view`. */
export function viewRows(page, view) {
  return page.locator(`.part.sidebar [role="tree"][aria-label^="${view}"] .monaco-list-row[role="treeitem"]`);
}

/** Waits for the view's pane header and expands the view if it is collapsed; returns aria-expanded before. */
export async function expandView(page, view) {
  const pane = viewPane(page, view).first();
  await pane.waitFor({ state: 'visible', timeout: 15000 });
  const was = await pane.getAttribute('aria-expanded');
  if (was === 'false') await pane.click();
  return was;
}

/** The visible text of every frame of the page whose text contains `needle` (webviews are nested iframes). */
export async function frameTexts(page, needle) {
  const out = [];
  for (const frame of page.frames()) {
    const text = await frame.evaluate(() => document.body?.innerText ?? '').catch(() => '');
    if (text.includes(needle)) out.push({ frame, text });
  }
  return out;
}
