/**
 * RustMentor's LSP mapping: findings → diagnostics, hover markdown, code actions. The edits the code actions
 * carry are applied and the result re-analysed: "allow here" must really silence the rule, a quick fix must
 * leave code where the rule no longer fires.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DiagnosticSeverity, type CodeAction, type TextEdit } from 'vscode-languageserver';
import { analyzeRust, analyzeTree, type AnalyzeOptions } from '../../server/src/mentor/analyze.js';
import { loadRustGrammar, type RustGrammar } from '../../server/src/mentor/parser.js';
import { lineStarts, offsetAt } from '../../server/src/mentor/positions.js';
import { ruleById } from '../../server/src/mentor/rules/index.js';
import type { Finding } from '../../server/src/mentor/types.js';
import { IndexedCitations, ruleCitations, type CitationProvider } from '../../server/src/lsp/citations.js';
import { codeActionsFor } from '../../server/src/lsp/code-actions.js';
import { DIAGNOSTIC_SOURCE, toDiagnostic } from '../../server/src/lsp/diagnostics.js';
import { explanationMarkdown } from '../../server/src/lsp/markdown.js';
import { resolveMentorOptions } from '../../server/src/lsp/options.js';
import { packagePath } from '../../server/src/lsp/mentor-server.js';
import { MENTOR_COMMANDS, parseMentorSettings } from '../../shared/src/mentor.js';

const FIXTURE = path.join(import.meta.dirname, '..', 'fixtures', 'mentor-lsp', 'mistakes.rs');
const SOURCE = readFileSync(FIXTURE, 'utf8');
const URI = 'file:///crate/src/lib.rs';
const OPTS: AnalyzeOptions = { path: '/crate/src/lib.rs' };

let grammar: RustGrammar;
before(async () => {
  grammar = await loadRustGrammar();
});

function applyEdits(text: string, edits: readonly TextEdit[]): string {
  const starts = lineStarts(text);
  const offs = edits
    .map((e) => ({
      s: offsetAt(text, starts, e.range.start),
      e: offsetAt(text, starts, e.range.end),
      t: e.newText,
    }))
    .sort((a, b) => b.s - a.s);
  let out = text;
  for (const o of offs) out = out.slice(0, o.s) + o.t + out.slice(o.e);
  return out;
}

function actionsAt(text: string, finding: Finding): CodeAction[] {
  const tree = grammar.parse(text);
  try {
    return codeActionsFor(
      { uri: URI, text, tree, version: 1 },
      analyzeTree(tree, text, OPTS),
      finding.range,
      ruleCitations,
    );
  } finally {
    tree.delete();
  }
}

function editsOf(action: CodeAction | undefined): TextEdit[] {
  const edits = action?.edit?.changes?.[URI];
  assert.ok(edits && edits.length > 0, `action ${action?.title ?? '(none)'} has edits for ${URI}`);
  return edits;
}

function count(text: string, ruleId: string): number {
  return analyzeRust(text, OPTS).filter((f) => f.ruleId === ruleId).length;
}

function parsesCleanly(text: string): boolean {
  const tree = grammar.parse(text);
  try {
    return !tree.rootNode.hasError;
  } finally {
    tree.delete();
  }
}

describe('findings as diagnostics', () => {
  test('source, code, severity, citation link and data', () => {
    const findings = analyzeRust(SOURCE, OPTS);
    const todo = findings.find((f) => f.ruleId === 'todo');
    assert.ok(todo, 'the fixture has a todo!()');
    const d = toDiagnostic(todo, 7, ruleCitations);
    assert.equal(d.source, DIAGNOSTIC_SOURCE);
    assert.equal(d.code, 'todo');
    assert.equal(d.severity, DiagnosticSeverity.Warning);
    assert.deepEqual(d.range, todo.range);
    assert.equal(d.message, todo.message);
    assert.equal(d.codeDescription?.href, ruleById('todo')?.explanation.learnMore[0]?.url);
    assert.match(d.codeDescription?.href ?? '', /^https:\/\/doc\.rust-lang\.org\//);
    assert.deepEqual(d.data, { ruleId: 'todo', version: 7 });
    const hint = findings.find((f) => f.severity === 'hint');
    assert.equal(hint && toDiagnostic(hint, 1, ruleCitations).severity, DiagnosticSeverity.Hint);
  });

  test('a citation provider replaces the links', () => {
    const local: CitationProvider = {
      citationsFor: (id) => [{ title: `local ${id}`, url: 'file:///docs/x.html', path: '/docs/x.html' }],
    };
    const [f] = analyzeRust(SOURCE, OPTS);
    assert.ok(f);
    assert.equal(toDiagnostic(f, 1, local).codeDescription?.href, 'file:///docs/x.html');
    const rule = ruleById(f.ruleId);
    assert.ok(rule);
    assert.match(
      explanationMarkdown(rule, local.citationsFor(rule.id)),
      /\[local .*\]\(file:\/\/\/docs\/x\.html\)/,
    );
  });
});

describe('hover markdown', () => {
  test('message, what / why / how to fix and the Learn more links', () => {
    const rule = ruleById('unwrap_used');
    assert.ok(rule);
    const md = explanationMarkdown(rule, ruleCitations.citationsFor(rule.id), 'custom message');
    assert.match(md, /custom message/);
    assert.ok(md.includes(rule.explanation.what) && md.includes(rule.explanation.why));
    assert.ok(md.includes(rule.explanation.fix));
    for (const l of rule.explanation.learnMore) assert.ok(md.includes(`](${l.url})`), l.url);
    assert.match(md, /clippy::unwrap_used/);
  });
});

describe('code actions', () => {
  const findings = (): Finding[] => analyzeRust(SOURCE, OPTS);

  test('nothing for a range without findings', () => {
    const tree = grammar.parse(SOURCE);
    try {
      const blank = { start: { line: 2, character: 0 }, end: { line: 2, character: 0 } };
      assert.deepEqual(
        codeActionsFor({ uri: URI, text: SOURCE, tree, version: 1 }, findings(), blank, ruleCitations),
        [],
      );
    } finally {
      tree.delete();
    }
  });

  test('every quick fix, applied, leaves parseable code where its rule fires less', () => {
    let fixes = 0;
    for (const f of findings().filter((x) => x.fix)) {
      const action = actionsAt(SOURCE, f).find((a) => a.isPreferred && a.title === f.fix?.title);
      assert.ok(action, `${f.ruleId}: a preferred quick fix`);
      assert.equal(action.kind, 'quickfix');
      assert.equal(action.command?.command, MENTOR_COMMANDS.fixApplied);
      const [arg] = (action.command?.arguments ?? []) as {
        uri: string;
        ruleId: string;
        contentHash?: string;
      }[];
      assert.equal(arg?.uri, URI);
      assert.equal(arg?.ruleId, f.ruleId);
      assert.match(arg?.contentHash ?? '', /^[0-9a-f]{64}$/);
      const fixed = applyEdits(SOURCE, editsOf(action));
      assert.ok(parsesCleanly(fixed), `${f.ruleId}: fixed code parses`);
      assert.ok(count(fixed, f.ruleId) < count(SOURCE, f.ruleId), `${f.ruleId}: fires less after the fix`);
      fixes++;
    }
    assert.ok(fixes >= 8, `the fixture exercises many fixes (${fixes})`);
  });

  test('"allow here" silences the rule for every finding (attribute or comment), re-analysed', () => {
    const seen = { attribute: 0, comment: 0 };
    for (const f of findings()) {
      // several rules can share a range: take this finding's own "allow" action
      const name = f.clippy ?? f.ruleId;
      const action = actionsAt(SOURCE, f).find((a) => a.title.startsWith(`Allow \`${name}\``));
      const [edit] = editsOf(action);
      assert.ok(edit);
      if (edit.newText.includes('#[allow(')) seen.attribute++;
      else {
        assert.match(edit.newText, new RegExp(`// rustmentor: allow\\(${f.ruleId}\\)`));
        seen.comment++;
      }
      const allowed = applyEdits(SOURCE, [edit]);
      assert.ok(parsesCleanly(allowed), `${f.ruleId}: still parses`);
      assert.ok(
        count(allowed, f.ruleId) < count(SOURCE, f.ruleId),
        `${f.ruleId}: silenced by ${edit.newText}`,
      );
    }
    assert.ok(seen.attribute > 0 && seen.comment > 0, JSON.stringify(seen));
  });

  test('`only` filters by kind prefix; quick fixes name the diagnostic they resolve', () => {
    const f = findings().find((x) => x.ruleId === 'needless_return');
    assert.ok(f);
    const tree = grammar.parse(SOURCE);
    try {
      const doc = { uri: URI, text: SOURCE, tree, version: 4 };
      const all = codeActionsFor(doc, [f], f.range, ruleCitations);
      const quick = codeActionsFor(doc, [f], f.range, ruleCitations, ['quickfix']);
      assert.ok(all.length > quick.length && quick.length >= 2);
      assert.ok(quick.every((a) => a.kind === 'quickfix'));
      assert.deepEqual(codeActionsFor(doc, [f], f.range, ruleCitations, ['source.organizeImports']), []);
      const fix = quick.find((a) => a.isPreferred);
      assert.equal(fix?.diagnostics?.[0]?.code, 'needless_return');
      assert.deepEqual(fix?.diagnostics?.[0]?.data, { ruleId: 'needless_return', version: 4 });
    } finally {
      tree.delete();
    }
  });

  test('explain, ask and not-helpful commands carry their arguments', () => {
    const f = findings().find((x) => x.ruleId === 'unwrap_used');
    assert.ok(f);
    const actions = actionsAt(SOURCE, f);
    const byCommand = (name: string): unknown[] =>
      actions.find((a) => a.command?.command === name)?.command?.arguments ?? [];
    const [explain] = byCommand(MENTOR_COMMANDS.explain) as { ruleId: string; markdown: string }[];
    assert.equal(explain?.ruleId, 'unwrap_used');
    assert.match(explain?.markdown ?? '', /\*\*Why\.\*\*/);
    const [ask] = byCommand(MENTOR_COMMANDS.ask) as { uri: string; text: string; range: unknown }[];
    assert.equal(ask?.uri, URI);
    assert.equal(ask?.text, '.unwrap()');
    assert.deepEqual(ask?.range, f.range);
    const [nh] = byCommand(MENTOR_COMMANDS.notHelpful) as { ruleId: string }[];
    assert.equal(nh?.ruleId, 'unwrap_used');
  });
});

describe('settings', () => {
  test('bad fields are dropped with a message, good ones kept', () => {
    const problems: string[] = [];
    const s = parseMentorSettings(
      {
        enable: 'yes',
        disabledRules: ['todo'],
        severities: { todo: 'fatal', dbg_macro: 'error' },
        testCode: 'x',
      },
      (m) => problems.push(m),
    );
    assert.deepEqual(s, { disabledRules: ['todo'], severities: { dbg_macro: 'error' } });
    assert.equal(problems.length, 3);
    assert.deepEqual(
      parseMentorSettings('nonsense', () => {}),
      {},
    );
  });

  test('editor settings layer over sigil.toml [mentor]; disabled rules add up', () => {
    const file = { disabled_rules: ['todo'], test_code: 'skip' as const };
    assert.deepEqual(resolveMentorOptions(file, {}), {
      enabled: true,
      analyze: { disabledRules: ['todo'], severities: {}, testCode: 'skip' },
    });
    const both = resolveMentorOptions(file, {
      disabledRules: ['dbg_macro'],
      testCode: 'normal',
      enable: false,
    });
    assert.deepEqual(both.analyze.disabledRules, ['todo', 'dbg_macro']);
    assert.equal(both.analyze.testCode, 'normal');
    assert.equal(both.enabled, false);
  });
});

describe('the path the rules see', () => {
  test('is relative to the cargo package, so a folder named tests/ above the project is not test code', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'sigil-package-path-'));
    try {
      const proj = path.join(dir, 'tests', 'examples', 'proj');
      await mkdir(path.join(proj, 'src'), { recursive: true });
      await mkdir(path.join(proj, 'tests'), { recursive: true });
      await writeFile(path.join(proj, 'Cargo.toml'), '[package]\nname = "proj"\nversion = "0.1.0"\n');
      assert.equal(packagePath(path.join(proj, 'src', 'lib.rs')), 'src/lib.rs');
      assert.equal(packagePath(path.join(proj, 'tests', 'it.rs')), 'tests/it.rs');
      assert.equal(packagePath(path.join(dir, 'tests', 'loose.rs')), 'loose.rs');
      assert.equal(packagePath(undefined), undefined);
      await loadRustGrammar();
      const code = 'pub fn f(x: Option<u8>) -> u8 { x.unwrap() }\n';
      const rules = (p: string | undefined) => analyzeRust(code, p ? { path: p } : {}).map((f) => f.ruleId);
      assert.ok(rules(packagePath(path.join(proj, 'src', 'lib.rs'))).includes('unwrap_used'));
      assert.ok(!rules(packagePath(path.join(proj, 'tests', 'it.rs'))).includes('unwrap_used'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('citations learnt from a gated analysis', () => {
  test('an indexed citation replaces the fixed link of its rule only; URL-only citations teach nothing', () => {
    const c = new IndexedCitations();
    const fixed = ruleCitations.citationsFor('unwrap_used');
    assert.deepEqual(c.citationsFor('unwrap_used'), fixed);
    c.learn({
      diagnostics: [
        {
          rule: 'unwrap_used',
          citations: [
            {
              title: 'The Book — 9.2',
              url: 'https://doc.rust-lang.org/book/ch09-02.html#x',
              path: 'ch09-02.html',
            },
            { title: 'fixed', url: 'https://doc.rust-lang.org/std/', path: null },
          ],
        },
        {
          rule: 'todo',
          citations: [
            { title: 'fixed only', url: 'https://doc.rust-lang.org/std/macro.todo.html', path: null },
          ],
        },
      ],
    });
    assert.deepEqual(c.citationsFor('unwrap_used'), [
      { title: 'The Book — 9.2', url: 'https://doc.rust-lang.org/book/ch09-02.html#x', path: 'ch09-02.html' },
    ]);
    assert.deepEqual(c.citationsFor('todo'), ruleCitations.citationsFor('todo'));
    const d = toDiagnostic(
      {
        ruleId: 'unwrap_used',
        clippy: 'clippy::unwrap_used',
        category: 'panics',
        severity: 'information',
        message: 'm',
        range: { start: { line: 0, character: 0 }, end: { line: 0, character: 1 } },
      },
      1,
      c,
    );
    assert.equal(d.codeDescription?.href, 'https://doc.rust-lang.org/book/ch09-02.html#x');
  });
});
