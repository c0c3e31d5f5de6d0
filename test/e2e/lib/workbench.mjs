// Drives the real VS Code workbench (code-server) in headless Debian Chromium with playwright-core.
// Selectors are tied to the names the extension contributes (view container "Sigil", view "Audit Log",
// command titles), never to generated ids or positions.
/* global document */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium } from 'playwright-core';
import { assertNotBlank } from './png.mjs';

export const CONTAINER = 'Sigil';
export const VIEW = 'Audit Log';
export const COMMANDS = {
  init: 'Sigil: Initialize Store',
  verify: 'Sigil: Verify Canon Log',
  openRecord: 'Sigil: Open Record…',
  checkpoint: 'Sigil: Show Checkpoint',
  enterPassphrase: 'Sigil: Enter Key Passphrase…',
};

const BROWSER_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Chromium with the given profile dir (kept), or a fresh temporary one (removed on close). */
export function launchBrowser(profile) {
  // Playwright forbids --user-data-dir in args, hence a persistent context.
  const udd = profile ?? mkdtempSync(path.join(tmpdir(), 'sigil-e2e-chromium-'));
  return chromium
    .launchPersistentContext(udd, {
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      headless: true,
      // Tall enough that the Audit Log shows its first rows below the other Sigil views' headers.
      viewport: { width: 1400, height: 1200 },
      args: BROWSER_ARGS,
    })
    .then((ctx) => ({
      ctx,
      async close() {
        await ctx.close().catch(() => {});
        if (!profile) rmSync(udd, { recursive: true, force: true });
      },
    }));
}

/**
 * A test script: named steps run in order; the first failure stops the script, takes a FAIL screenshot and
 * dumps what the workbench shows (notifications, side bar) so the reason is readable from the CI log.
 */
export class Flow {
  constructor(name, { artifacts }) {
    this.name = name;
    this.artifacts = artifacts;
    this.t0 = Date.now();
    this.results = [];
    this.shots = [];
    this.timings = {};
    this.page = null;
  }

  log(m) {
    console.log(`[${this.name} ${((Date.now() - this.t0) / 1000).toFixed(1)}s] ${m}`);
  }

  async step(title, fn) {
    const t = Date.now();
    try {
      const detail = await fn();
      this.timings[title] = Date.now() - t;
      this.results.push({ title, ok: true });
      this.log(`ok - ${title}${detail ? ` (${detail})` : ''} [${Date.now() - t} ms]`);
    } catch (e) {
      this.results.push({ title, ok: false, error: e.message });
      this.log(`not ok - ${title}: ${e.message.split('\n')[0]}`);
      if (this.page) {
        await this.screenshot(`${this.name}-FAIL`, { check: false }).catch(() => {});
        await this.dumpState().catch((err) => this.log(`(state dump failed: ${err.message})`));
      }
      throw new StepFailed(title, e);
    }
  }

  async screenshot(name, { check = true } = {}) {
    const file = path.join(this.artifacts, `${name}.png`);
    await this.page.screenshot({ path: file });
    if (check) {
      const s = assertNotBlank(file);
      this.shots.push({ file: path.basename(file), ...s });
    }
    return file;
  }

  async dumpState() {
    const p = this.page;
    const toasts = await p.locator('.notification-list-item-message').allInnerTexts();
    this.log(`  notifications: ${JSON.stringify(toasts)}`);
    const side = await p
      .locator('.part.sidebar')
      .innerText({ timeout: 2000 })
      .catch(() => '(no side bar)');
    this.log(`  side bar: ${JSON.stringify(side.slice(0, 800))}`);
    const editor = await p
      .locator('.part.editor .tabs-container')
      .innerText({ timeout: 2000 })
      .catch(() => '');
    this.log(`  editor tabs: ${JSON.stringify(editor.slice(0, 300))}`);
  }

  summary() {
    const passed = this.results.filter((r) => r.ok).length;
    const failed = this.results.length - passed;
    return {
      flow: this.name,
      passed,
      failed,
      steps: this.results,
      timings_ms: this.timings,
      screenshots: this.shots,
    };
  }

  writeSummary(file) {
    writeFileSync(file, JSON.stringify(this.summary(), null, 2) + '\n');
  }
}

export class StepFailed extends Error {
  constructor(title, cause) {
    super(`${title}: ${cause.message}`);
    this.cause = cause;
  }
}

/** Loads the workbench on a folder and waits until the extension has contributed its activity bar entry. */
export async function openWorkbench(page, url) {
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('.monaco-workbench .part.activitybar', { timeout: 60000 });
  const entry = page.locator(`.activitybar a.action-label[aria-label^="${CONTAINER}"]`);
  try {
    await entry.first().waitFor({ state: 'visible', timeout: 45000 });
  } catch {
    const labels = await page
      .locator('.activitybar a.action-label')
      .evaluateAll((as) => as.map((a) => a.ariaLabel));
    throw new Error(
      `no "${CONTAINER}" view container in the activity bar (entries: ${JSON.stringify(labels)}): ` +
        'is contributes.viewsContainers.activitybar declared and the VSIX installed?',
    );
  }
}

/** Opens the Sigil view container and waits for the Audit Log view in it. */
export async function openSigilContainer(page) {
  const side = page.locator('.part.sidebar');
  const shown = await side
    .locator('.composite.title h2', { hasText: CONTAINER })
    .isVisible()
    .catch(() => false);
  if (!shown) await page.locator(`.activitybar a.action-label[aria-label^="${CONTAINER}"]`).first().click();
  // With one view the side bar title merges as "Sigil: Audit Log"; with several the view has a pane header.
  const header = side.locator(`.pane-header[aria-label^="${VIEW}"], .composite.title h2:has-text("${VIEW}")`);
  try {
    await header.first().waitFor({ state: 'visible', timeout: 15000 });
  } catch {
    const text = await side.innerText().catch(() => '');
    throw new Error(
      `the "${CONTAINER}" container shows no "${VIEW}" view; side bar: ${JSON.stringify(text.slice(0, 400))}`,
    );
  }
  // Expand the view if it is collapsed.
  const pane = side.locator(`.pane-header[aria-label^="${VIEW}"]`);
  if ((await pane.count()) && (await pane.first().getAttribute('aria-expanded')) === 'false')
    await pane.first().click();
}

/** The Audit Log's tree rows (empty list when the view shows its welcome content instead). */
export function auditRows(page) {
  return page.locator(`.part.sidebar [role="tree"][aria-label^="${VIEW}"] .monaco-list-row[role="treeitem"]`);
}

export async function waitAuditRow(page, text, timeout = 20000) {
  const row = auditRows(page).filter({ hasText: text }).first();
  try {
    await row.waitFor({ state: 'visible', timeout });
  } catch {
    const rows = await auditRows(page).allInnerTexts();
    throw new Error(
      `no "${VIEW}" row containing ${JSON.stringify(text)} within ${timeout} ms; rows: ${JSON.stringify(rows)}`,
    );
  }
  return row;
}

/** Waits until the Sigil status bar item's text matches `re` (e.g. /Sigil: (verified|unverified)/); returns it. */
export async function waitStatusBar(page, re, timeout = 30000) {
  const item = page.locator('.part.statusbar .statusbar-item', { hasText: 'Sigil' });
  const deadline = Date.now() + timeout;
  let text = '';
  while (Date.now() < deadline) {
    text = (await item.allInnerTexts()).join(' | ');
    if (re.test(text)) return text;
    await sleep(250);
  }
  throw new Error(
    `the Sigil status bar item does not match ${re} within ${timeout} ms (it shows ${JSON.stringify(text)})`,
  );
}

/** Runs a command by its title from the command palette (F1). */
export async function runCommand(page, title) {
  await page.keyboard.press('Escape');
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: 15000 });
  await input.fill(`>${title}`);
  const row = page.locator('.quick-input-list .monaco-list-row', {
    has: page.locator('.label-name', { hasText: new RegExp(`^${escapeRe(title)}$`) }),
  });
  try {
    await row.first().waitFor({ state: 'visible', timeout: 10000 });
  } catch {
    const offered = await page.locator('.quick-input-list .monaco-list-row').allInnerTexts();
    await page.keyboard.press('Escape');
    throw new Error(
      `command "${title}" is not in the command palette (offered: ${JSON.stringify(offered.slice(0, 8))})`,
    );
  }
  await row.first().click();
}

/** Waits for a notification toast whose message matches `re`; returns its text. */
export async function waitNotification(page, re, timeout = 30000) {
  const deadline = Date.now() + timeout;
  let seen = [];
  while (Date.now() < deadline) {
    seen = await page.locator('.notification-list-item-message').allInnerTexts();
    const hit = seen.find((t) => re.test(t));
    if (hit) return hit;
    await sleep(250);
  }
  throw new Error(
    `no notification matching ${re} within ${timeout} ms; notifications: ${JSON.stringify(seen)}`,
  );
}

export async function clearNotifications(page) {
  await page.keyboard.press('Escape');
  for (const btn of await page.locator('.notification-toast .codicon-notifications-clear').all()) {
    await btn.click().catch(() => {});
  }
}

/** Answers a quick input (input box or quick pick) if one opens within `timeout`; returns its prompt or null. */
export async function answerQuickInput(page, value, timeout = 3000) {
  const widget = page.locator('.quick-input-widget');
  try {
    await widget.waitFor({ state: 'visible', timeout });
  } catch {
    return null;
  }
  const prompt = await widget.innerText().catch(() => '');
  const title = await widget
    .locator('.quick-input-title')
    .innerText()
    .catch(() => '');
  await widget.locator('input').first().fill(value);
  await page.keyboard.press('Enter');
  // Wait until this input is gone (hidden, or replaced by the next one) so the caller never answers it twice.
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    if (!(await widget.isVisible().catch(() => false))) break;
    const now = await widget
      .locator('.quick-input-title')
      .innerText()
      .catch(() => '');
    if (now !== title) break;
    await sleep(100);
  }
  return prompt;
}

/** True once `needle` appears in the text of the page or of any frame (webviews are nested iframes). */
export async function waitTextAnywhere(page, needle, timeout = 20000) {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    for (const frame of page.frames()) {
      const text = await frame.evaluate(() => document.body?.innerText ?? '').catch(() => '');
      if (text.includes(needle)) return frame === page.mainFrame() ? 'workbench' : 'webview';
    }
    await sleep(300);
  }
  throw new Error(
    `${JSON.stringify(needle)} does not appear in the workbench or any webview within ${timeout} ms`,
  );
}

function escapeRe(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
