// UI flow 3, RustMentor in a workspace of its own ($E2E_MENTOR_WS) holding a small Rust crate: the store is
// initialized from the Audit Log's welcome view (as in the store flow), then src/lib.rs is opened and
// RustMentor's findings must show in the Problems panel, its hover must explain a finding with a "Learn more"
// link to doc.rust-lang.org; on unwrap_used (no fix) the code action "Explain…" opens the explanation
// (markdown preview) with a doc.rust-lang.org link, "Ask RustMentor" with no model configured answers in a
// preview from the rules and the docs, says no model was asked and cites its sources, and "not helpful"
// is confirmed as a signed record; the quick fixes must rewrite the code and clear their findings; saving
// must record the analysis as a signed module.result record that the Sigil "Mentor" view lists for src/lib.rs
// (and lists no answer or feedback as an analysis); last, the Memory view's user:<subject> /
// rustmentor/progress entry must count both applied fixes (sigil.mentor.fixApplied) and the "not helpful".
// Env: E2E_URL, E2E_MENTOR_WS (a folder of its own: its .sigil home is created here), E2E_ARTIFACTS,
//      E2E_STATE (the summary goes next to it), E2E_PASSPHRASE, E2E_BROWSER_PROFILE.
/* global document */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  Flow,
  StepFailed,
  clearNotifications,
  launchBrowser,
  openSigilContainer,
  openWorkbench,
  waitAuditRow,
  waitNotification,
} from '../lib/workbench.mjs';
import {
  answerInputBox,
  editorText,
  expandView,
  frameTexts,
  initStoreFromWelcome,
  openFile,
  runCodeAction,
  viewRows,
  waitFor,
} from '../lib/ui.mjs';

const { E2E_URL: base, E2E_MENTOR_WS: ws, E2E_ARTIFACTS: artifacts, E2E_STATE: stateFile } = process.env;
const passphrase = process.env.E2E_PASSPHRASE ?? '';
const home = path.join(ws, '.sigil');
const MENTOR_VIEW = 'Mentor';
const MEMORY_VIEW = 'Memory';
// Inside `unwrap` of `v.first().copied().unwrap()` on line 6.
const UNWRAP_COLUMN = 25;
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

const problemRows = () => page.locator('.markers-panel .monaco-list-row').allInnerTexts();
const libText = () => editorText(page);
const applyQuickFix = (line, column, title, shot) =>
  runCodeAction(page, line, column, title, shot ? () => flow.screenshot(shot) : undefined);

/** Brings the lib.rs editor back to the front (a markdown preview may have taken it). */
async function focusLib() {
  await page.keyboard.press('Escape');
  await page.locator('.part.editor .tab', { hasText: 'lib.rs' }).first().click();
  await page
    .locator('.part.editor .tab.active', { hasText: 'lib.rs' })
    .waitFor({ state: 'visible', timeout: 15000 });
  await page.locator('.part.editor .editor-instance .view-lines').first().click();
}

/** The preview's first doc.rust-lang.org link; throws `missing` (with the links seen) when it has none. */
function rustDocLink(preview, missing) {
  const link = preview.links.find((h) => h.startsWith('https://doc.rust-lang.org/'));
  if (!link) throw new Error(`${missing} (links: ${JSON.stringify(preview.links)})`);
  return link;
}

/** Waits for a markdown preview (a webview) showing every string of `needles`; returns its text and links. */
async function waitPreview(what, needles, timeout = 30000) {
  const found = await waitFor(
    what,
    async () => {
      const frames = await frameTexts(page, needles[0]);
      const hit = frames.find((f) => needles.every((n) => f.text.includes(n)));
      if (!hit) return frames.map((f) => f.text.slice(0, 300));
      const links = await hit.frame.evaluate(() =>
        Array.from(document.querySelectorAll('a')).map((a) => a.getAttribute('href') ?? ''),
      );
      return { text: hit.text, links };
    },
    (v) => v !== null && typeof v === 'object' && !Array.isArray(v),
    timeout,
  );
  return found;
}

/** The RustMentor status bar item's count: every RustMentor diagnostic of the editor, hints included. */
const mentorCount = () =>
  page
    .locator('.part.statusbar .statusbar-item', { hasText: 'RustMentor:' })
    .first()
    .innerText()
    .then((t) => Number(/RustMentor:\s*(\d+)/.exec(t)?.[1] ?? NaN));

const mentorRows = () => viewRows(page, MENTOR_VIEW);

try {
  await flow.step('workbench loads the Rust crate workspace with the "Sigil" container', async () => {
    await openWorkbench(page, `${base}/?folder=${encodeURIComponent(ws)}`);
    await openSigilContainer(page);
  });

  await flow.step('"Initialize Store" from the Audit Log welcome view creates the store', async () => {
    await initStoreFromWelcome(page, home, passphrase);
  });

  await flow.step('opening src/lib.rs shows it as a Rust editor', async () => {
    await openFile(page, 'src/lib.rs', 'v.len() as u32');
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

  // unwrap_used (line 6) has no fix: its code actions are Explain, Ask and Not helpful (and the allow comment).
  await flow.step(
    '"Explain `unwrap_used`…" opens the explanation (what, why, how to fix) with a doc.rust-lang.org link',
    async () => {
      await runCodeAction(page, 6, UNWRAP_COLUMN, 'Explain');
      const preview = await waitPreview('no preview explaining unwrap_used with "Learn more"', [
        'unwrap_used',
        'What.',
        'How to fix.',
        'Learn more',
      ]);
      const link = rustDocLink(preview, 'the explanation links no doc.rust-lang.org page');
      const tab = await page.locator('.part.editor .tab.active').innerText();
      await flow.screenshot('14-mentor-explain');
      return `tab ${JSON.stringify(tab.trim())}, ${link}`;
    },
  );

  await flow.step(
    '"Ask RustMentor about `unwrap_used`" with no model answers from the rules and the docs, says no model was asked, cites its sources',
    async () => {
      await focusLib();
      await runCodeAction(page, 6, UNWRAP_COLUMN, 'Ask RustMentor');
      await answerInputBox(page, 'Ask RustMentor about unwrap_used', '');
      const preview = await waitPreview('no RustMentor answer about unwrap_used in a preview', [
        'RustMentor: unwrap_used',
        'No model was asked',
        'rules and the docs',
        'Sources',
      ]);
      const link = rustDocLink(preview, 'the answer cites no doc.rust-lang.org source');
      if (!/Recorded as signed record/.test(preview.text))
        throw new Error(
          `the answer does not name its signed record: ${JSON.stringify(preview.text.slice(0, 600))}`,
        );
      const why = /No model was asked: [^.]*/.exec(preview.text)?.[0];
      await flow.screenshot('15-mentor-ask');
      return `${why}; ${link}`;
    },
  );

  await flow.step(
    '"RustMentor: `unwrap_used` was not helpful here" records the feedback as a signed record',
    async () => {
      await clearNotifications(page);
      await focusLib();
      await runCodeAction(page, 6, UNWRAP_COLUMN, 'was not helpful here');
      const note = await waitNotification(page, /noted that unwrap_used did not help \(signed record/, 30000);
      return note;
    },
  );

  await flow.step(
    'the quick fix "Take &[u32]" rewrites the parameter and ptr_arg leaves Problems',
    async () => {
      // The "not helpful" notification may hold the focus: the menu opens only in the focused editor.
      await clearNotifications(page);
      await focusLib();
      await applyQuickFix(1, 14, 'Take &[u32]', '12-mentor-quick-fix');
      await waitFor('the editor text was not rewritten', libText, (t) => t.includes('pub fn f(v: &[u32])'));
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
      await focusLib();
      await applyQuickFix(2, 6, 'Remove return');
      await waitFor(
        'the editor text still has the trailing return',
        libText,
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
      await openSigilContainer(page);
      const records = async () => {
        const m = /(\d+) records/.exec(await page.locator('.part.sidebar').innerText());
        return m ? Number(m[1]) : -1;
      };
      await page.locator('.part.editor .editor-instance .view-lines').first().click();
      // code-server saves after a delay by default (files.autoSave, off in run.sh's settings); the buffer is
      // made dirty here anyway so that the analysis recorded below can only come from this Ctrl+S.
      await page.keyboard.press('Control+End');
      await page.keyboard.type('// reviewed\n');
      await page
        .locator('.part.editor .tab.dirty', { hasText: 'lib.rs' })
        .waitFor({ state: 'visible', timeout: 5000 });
      const before = await records();
      await page.keyboard.press('Control+S');
      await page
        .locator('.part.editor .tab.active:not(.dirty)', { hasText: 'lib.rs' })
        .waitFor({ state: 'visible', timeout: 15000 });
      await openSigilContainer(page);
      await expandView(page, MENTOR_VIEW);
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
      // Every analysis here had unwrap_used: a "0 findings" row would be the Ask answer or the feedback.
      const clean = findings.filter((t) => /\b0 findings\b/.test(t));
      if (clean.length > 0)
        throw new Error(`the Mentor view lists a non-analysis as an analysis: ${JSON.stringify(clean)}`);
      await waitAuditRow(page, 'module.result', 15000);
      await waitFor(
        `the Audit Log did not grow past ${before} records after Ctrl+S`,
        records,
        (n) => n > before,
        15000,
      );
      await flow.screenshot('13-mentor-view');
      return `${summary.replace(/\s+/g, ' ')}; ${findings.length - 1} finding rows`;
    },
  );
  await flow.step(
    'the Memory view lists user:<subject> / rustmentor/progress counting both applied fixes and the "not helpful"',
    async () => {
      await openSigilContainer(page);
      await expandView(page, MEMORY_VIEW);
      const rows = viewRows(page, MEMORY_VIEW);
      const row = rows.filter({ hasText: 'rustmentor/progress' }).first();
      try {
        await row.waitFor({ state: 'visible', timeout: 20000 });
      } catch {
        throw new Error(
          `the Memory view lists no rustmentor/progress entry; rows: ${JSON.stringify(await rows.allInnerTexts())}`,
        );
      }
      const all = await rows.allInnerTexts();
      const ns = all.find((t) => t.startsWith('user:'));
      if (!ns)
        throw new Error(`the progress entry is not under a user:<subject> namespace: ${JSON.stringify(all)}`);
      // The row shows the first 60 characters; its tooltip (hover) holds the whole entry.
      const progress = (t) =>
        /"needless_return":\{[^}]*"fixed":1\b/.test(t) &&
        /"ptr_arg":\{[^}]*"fixed":1\b/.test(t) &&
        /"unwrap_used":\{[^}]*"notHelpful":1\b/.test(t);
      const tip = await waitFor(
        'the progress entry (tooltip) does not count needless_return and ptr_arg fixed once, unwrap_used not helpful once',
        async () => {
          await row.hover();
          return (await page.locator('.monaco-hover').allInnerTexts()).join('\n');
        },
        progress,
        20000,
      );
      await flow.screenshot('16-mentor-progress');
      await page.mouse.move(5, 5);
      return `${ns.split('\n')[0]}: ${/\{"rules".*\}\}/.exec(tip.replace(/\s+/g, ''))?.[0] ?? tip.slice(0, 200)}`;
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
