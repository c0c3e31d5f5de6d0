// UI flow 3, RustMentor in a workspace of its own ($E2E_MENTOR_WS) holding a small Rust crate: the store is
// initialized from the Audit Log's welcome view (as in the store flow), then src/lib.rs is opened and
// RustMentor's findings must show in the Problems panel, its hover must explain a finding with a "Learn more"
// link to doc.rust-lang.org, its quick fix must rewrite the code and clear that finding, and saving must
// record the analysis as a signed module.result record that the Sigil "Mentor" view lists for src/lib.rs.
// Env: E2E_URL, E2E_MENTOR_WS (a folder of its own: its .sigil home is created here), E2E_ARTIFACTS,
//      E2E_STATE (the summary goes next to it), E2E_PASSPHRASE, E2E_BROWSER_PROFILE.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  Flow,
  StepFailed,
  answerQuickInput,
  clearNotifications,
  launchBrowser,
  openSigilContainer,
  openWorkbench,
  waitAuditRow,
} from '../lib/workbench.mjs';

const { E2E_URL: base, E2E_MENTOR_WS: ws, E2E_ARTIFACTS: artifacts, E2E_STATE: stateFile } = process.env;
const passphrase = process.env.E2E_PASSPHRASE ?? '';
const home = path.join(ws, '.sigil');
const MENTOR_VIEW = 'Mentor';
// ptr_arg (information, with the fix "Take &[u32]") on `v`, needless_return (hint) on line 2, unwrap_used
// (information) on line 6. Hints are not listed in the Problems panel: needless_return's disappearance is
// read from the RustMentor status bar count instead.
const LIB_RS = `pub fn f(v: &Vec<u32>) -> u32 {
    return v.len() as u32;
}

pub fn first(v: &[u32]) -> u32 {
    v.first().copied().unwrap()
}
`;
const CARGO_TOML = `[package]
name = "mentor_e2e"
version = "0.1.0"
edition = "2021"

[dependencies]
`;

mkdirSync(path.join(ws, 'src'), { recursive: true });
writeFileSync(path.join(ws, 'Cargo.toml'), CARGO_TOML);
writeFileSync(path.join(ws, 'src', 'lib.rs'), LIB_RS);

const flow = new Flow('mentor-flow', { artifacts });
const browser = await launchBrowser(process.env.E2E_BROWSER_PROFILE);
const page = browser.ctx.pages()[0] ?? (await browser.ctx.newPage());
flow.page = page;
page.on('pageerror', (e) => flow.log(`pageerror: ${e.message}`));
let ok = false;

/** Polls `read` until `test` holds for its value; the error names what was last seen. */
async function waitFor(what, read, test, timeout = 20000) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    last = await read().catch((e) => `(unreadable: ${e.message})`);
    if (test(last)) return last;
    await sleep(250);
  }
  throw new Error(`${what} within ${timeout} ms; last seen: ${JSON.stringify(last)}`);
}

const problemRows = () => page.locator('.markers-panel .monaco-list-row').allInnerTexts();
const editorText = () =>
  page
    .locator('.part.editor .editor-instance .view-lines')
    .first()
    .innerText()
    .then((t) => t.replace(/\u00a0/g, ' '));

/** Puts the cursor of the active editor at line:column (1-based) with "Go to Line/Column". */
async function goTo(line, column) {
  await page.keyboard.press('Escape');
  await page.keyboard.press('Control+G');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: 10000 });
  await input.fill(`:${line}:${column}`);
  await page.keyboard.press('Enter');
  await input.waitFor({ state: 'hidden', timeout: 5000 });
}

/** Opens the quick fix menu at line:column and applies the action titled `title`, chosen with the keyboard. */
async function applyQuickFix(line, column, title, shot) {
  await goTo(line, column);
  await page.keyboard.press('Control+.');
  const rows = page.locator('.action-widget .monaco-list-row');
  try {
    await rows.filter({ hasText: title }).first().waitFor({ state: 'visible', timeout: 15000 });
  } catch {
    throw new Error(
      `no "${title}" quick fix offered (offered: ${JSON.stringify(await rows.allInnerTexts())})`,
    );
  }
  if (shot) await flow.screenshot(shot);
  // The keyboard, as the menu is meant to be used: a pointer click races its rows' layout.
  const focused = page.locator('.action-widget .monaco-list-row.focused');
  for (let i = 0; i < 12; i++) {
    if (((await focused.allInnerTexts())[0] ?? '').includes(title)) break;
    await page.keyboard.press('ArrowDown');
  }
  const chosen = (await focused.allInnerTexts())[0] ?? '';
  if (!chosen.includes(title))
    throw new Error(`could not select "${title}" in the quick fix menu (focused: ${JSON.stringify(chosen)})`);
  await page.keyboard.press('Enter');
  await page
    .locator('.action-widget')
    .first()
    .waitFor({ state: 'hidden', timeout: 5000 })
    .catch(() => {});
}

/** The RustMentor status bar item's count: every RustMentor diagnostic of the editor, hints included. */
const mentorCount = () =>
  page
    .locator('.part.statusbar .statusbar-item', { hasText: 'RustMentor:' })
    .first()
    .innerText()
    .then((t) => Number(/RustMentor:\s*(\d+)/.exec(t)?.[1] ?? NaN));

const mentorPane = () => page.locator(`.part.sidebar .pane-header[aria-label^="${MENTOR_VIEW}"]`);
const mentorRows = () =>
  page.locator(`.part.sidebar [role="tree"][aria-label^="${MENTOR_VIEW}"] .monaco-list-row[role="treeitem"]`);

try {
  await flow.step('workbench loads the Rust crate workspace with the "Sigil" container', async () => {
    await openWorkbench(page, `${base}/?folder=${encodeURIComponent(ws)}`);
    await openSigilContainer(page);
  });

  await flow.step('"Initialize Store" from the Audit Log welcome view creates the store', async () => {
    const button = page.locator('.part.sidebar .welcome-view-content .monaco-button', {
      hasText: 'Initialize Store',
    });
    try {
      await button.first().waitFor({ state: 'visible', timeout: 20000 });
    } catch {
      throw new Error(
        'no "Initialize Store" button in the Audit Log welcome view of a workspace with no store',
      );
    }
    await button.first().click();
    for (let i = 0; i < 3; i++) if ((await answerQuickInput(page, passphrase, 2500)) === null) break;
    await waitFor(
      `no store was created in ${home}`,
      async () => existsSync(path.join(home, 'keystore.json')),
      (v) => v === true,
      30000,
    );
    await waitAuditRow(page, 'canon.genesis', 30000);
    await clearNotifications(page);
  });

  await flow.step('opening src/lib.rs shows it as a Rust editor', async () => {
    await page.keyboard.press('Escape');
    await page.keyboard.press('Control+P');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible', timeout: 10000 });
    await input.fill('src/lib.rs');
    await page
      .locator('.quick-input-list .monaco-list-row', { hasText: 'lib.rs' })
      .first()
      .waitFor({ state: 'visible', timeout: 15000 });
    await page.keyboard.press('Enter');
    await page
      .locator('.part.editor .tab.active', { hasText: 'lib.rs' })
      .waitFor({ state: 'visible', timeout: 15000 });
    await waitFor('the editor does not show lib.rs', editorText, (t) => t.includes('v.len() as u32'));
    const lang = await waitFor(
      'the status bar does not show the Rust language mode',
      () => page.locator('.part.statusbar .statusbar-item[id$="editor.mode"]').innerText(),
      (t) => /rust/i.test(t),
      15000,
    );
    return `language mode ${lang.trim()}`;
  });

  await flow.step("the Problems panel lists RustMentor's ptr_arg and unwrap_used findings", async () => {
    await page.locator('.part.editor .editor-instance .view-lines').first().click();
    await page.keyboard.press('Control+Shift+M');
    const rows = await waitFor(
      'the Problems panel does not list RustMentor ptr_arg and unwrap_used',
      problemRows,
      (r) =>
        Array.isArray(r) &&
        r.some((t) => t.includes('RustMentor') && t.includes('ptr_arg')) &&
        r.some((t) => t.includes('RustMentor') && t.includes('unwrap_used')),
      30000,
    );
    await flow.screenshot('10-mentor-problems');
    return `${rows.length} rows`;
  });

  await flow.step(
    'hovering the ptr_arg finding explains it with a "Learn more" doc.rust-lang.org link',
    async () => {
      // The pointer rests on `Vec` of `&Vec<u32>` (line 1), as a reader's would.
      await page.keyboard.press('Escape');
      await page
        .locator('.part.editor .view-lines .view-line')
        .first()
        .locator('span span', { hasText: /^Vec$/ })
        .first()
        .hover();
      const hovers = () => page.locator('.monaco-hover').allInnerTexts();
      const texts = await waitFor(
        'no RustMentor hover explaining ptr_arg with "Learn more" on &Vec<u32>',
        hovers,
        (h) =>
          Array.isArray(h) &&
          h.some((t) => t.includes('RustMentor') && t.includes('ptr_arg') && t.includes('Learn more')),
        15000,
      );
      const hover = page.locator('.monaco-hover', { hasText: 'Learn more' }).first();
      const hrefs = await hover
        .locator('a')
        .evaluateAll((as) => as.map((a) => a.getAttribute('data-href') ?? a.getAttribute('href') ?? ''));
      const link = hrefs.find((h) => h.startsWith('https://doc.rust-lang.org/'));
      if (!link)
        throw new Error(`the hover links no doc.rust-lang.org page (links: ${JSON.stringify(hrefs)})`);
      await flow.screenshot('11-mentor-hover');
      await page.mouse.move(5, 5);
      await page.keyboard.press('Escape');
      return `${link} (${texts.length} hover part(s))`;
    },
  );

  await flow.step(
    'the quick fix "Take &[u32]" rewrites the parameter and ptr_arg leaves Problems',
    async () => {
      await applyQuickFix(1, 14, 'Take &[u32]', '12-mentor-quick-fix');
      await waitFor('the editor text was not rewritten', editorText, (t) =>
        t.includes('pub fn f(v: &[u32])'),
      );
      const rows = await waitFor(
        'ptr_arg is still listed (or unwrap_used vanished) in the Problems panel after the fix',
        problemRows,
        (r) =>
          Array.isArray(r) &&
          !r.some((t) => t.includes('ptr_arg')) &&
          r.some((t) => t.includes('RustMentor') && t.includes('unwrap_used')),
        20000,
      );
      return `Problems now: ${JSON.stringify(rows.map((t) => t.split('\n')[0]))}`;
    },
  );

  await flow.step(
    'the quick fix "Remove return" ends f with its expression and clears needless_return (a hint)',
    async () => {
      // Hints are not listed in Problems: the RustMentor status bar item counts them.
      const before = await waitFor(
        'the RustMentor status bar item shows no count',
        mentorCount,
        (n) => n === 2,
      );
      await applyQuickFix(2, 6, 'Remove return');
      await waitFor(
        'the editor text still has the trailing return',
        editorText,
        (t) => /\{\s*v\.len\(\) as u32\s*\}/.test(t) && !t.includes('return'),
      );
      const after = await waitFor(
        'the RustMentor count did not drop to 1 (unwrap_used only) after the fix',
        mentorCount,
        (n) => n === 1,
        20000,
      );
      return `RustMentor findings ${before} -> ${after}`;
    },
  );

  await flow.step(
    'saving records the analysis: the Mentor view lists src/lib.rs with its findings, the Audit Log a module.result',
    async () => {
      await clearNotifications(page);
      await page.locator('.part.editor .editor-instance .view-lines').first().click();
      await page.keyboard.press('Control+S');
      await page
        .locator('.part.editor .tab.active:not(.dirty)', { hasText: 'lib.rs' })
        .waitFor({ state: 'visible', timeout: 15000 });
      await openSigilContainer(page);
      const pane = mentorPane();
      await pane.first().waitFor({ state: 'visible', timeout: 15000 });
      if ((await pane.first().getAttribute('aria-expanded')) === 'false') await pane.first().click();
      const row = mentorRows().filter({ hasText: 'src/lib.rs' }).first();
      try {
        await row.waitFor({ state: 'visible', timeout: 30000 });
      } catch {
        const rows = await mentorRows().allInnerTexts();
        throw new Error(`the Mentor view lists no analysis of src/lib.rs; rows: ${JSON.stringify(rows)}`);
      }
      const summary = await row.innerText();
      // The recorded analysis is of the saved text: after both fixes only unwrap_used is left.
      if ((await row.getAttribute('aria-expanded')) === 'false')
        await row.locator('.monaco-tl-twistie').click();
      const findings = await waitFor(
        'the analysis of src/lib.rs does not list unwrap_used alone (without ptr_arg, needless_return)',
        () => mentorRows().allInnerTexts(),
        (r) =>
          Array.isArray(r) &&
          r.some((t) => t.startsWith('unwrap_used')) &&
          !r.some((t) => t.startsWith('needless_return')) &&
          !r.some((t) => t.startsWith('ptr_arg')),
        15000,
      );
      await waitAuditRow(page, 'module.result', 15000);
      await flow.screenshot('13-mentor-view');
      return `${summary.replace(/\s+/g, ' ')}; ${findings.length - 1} finding rows`;
    },
  );
  ok = true;
} catch (e) {
  if (!(e instanceof StepFailed)) flow.log(`error: ${e.stack}`);
} finally {
  flow.writeSummary(path.join(path.dirname(stateFile ?? artifacts), 'mentor-flow.json'));
  await browser.close();
}
const s = flow.summary();
console.log(`mentor-flow: ${s.passed} passed, ${s.failed} failed`);
process.exit(ok ? 0 : 1);
