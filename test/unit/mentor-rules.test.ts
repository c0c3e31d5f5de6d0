/**
 * RustMentor rules, one table row per rule: a positive case whose expected range is marked with ⟦ ⟧, a
 * negative case that looks similar but must stay silent, and (for rules with a quick fix) the fixed code,
 * which must parse without errors and no longer fire.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeRust, crateLintLevels } from '../../server/src/mentor/analyze.js';
import type { AnalyzeOptions } from '../../server/src/mentor/analyze.js';
import { loadRustGrammar } from '../../server/src/mentor/parser.js';
import { lineStarts, offsetAt } from '../../server/src/mentor/positions.js';
import { RULES, ruleById } from '../../server/src/mentor/rules/index.js';
import type { Finding, Range, TextEdit } from '../../server/src/mentor/types.js';

interface Case {
  readonly rule: string;
  /** Rust source with the expected range between ⟦ and ⟧. */
  readonly pos: string;
  readonly neg: string;
  readonly opts?: AnalyzeOptions;
}

const LIB: AnalyzeOptions = { path: 'src/lib.rs', crateKind: 'lib' };

const CASES: readonly Case[] = [
  {
    rule: 'unwrap_used',
    pos: 'fn f(o: Option<u8>) -> u8 { o⟦.unwrap()⟧ }',
    neg: 'fn f(o: Option<u8>) -> u8 { o.unwrap_or(0) }',
  },
  {
    rule: 'expect_used',
    pos: 'fn f(o: Option<u8>) -> u8 { o⟦.expect("set")⟧ }',
    neg: 'fn f(o: Option<u8>) -> u8 { o.expect_none() }',
  },
  {
    rule: 'lock_unwrap',
    pos: 'fn f(m: &Mutex<u8>) { let g = m.⟦lock().unwrap()⟧; }',
    neg: 'fn f(m: &Mutex<u8>) { let g = m.lock().unwrap_or_else(|e| e.into_inner()); }',
  },
  { rule: 'todo', pos: 'fn f() { ⟦todo!()⟧ }', neg: 'fn f() { my::todo!() }' },
  { rule: 'unimplemented', pos: 'fn f() { ⟦unimplemented!("x")⟧ }', neg: 'fn f() { unreachable!() }' },
  { rule: 'panic', pos: 'fn f() { ⟦panic!("bad")⟧ }', neg: 'fn f() { let panic = 1; }' },
  { rule: 'dbg_macro', pos: 'fn f(x: u8) -> u8 { ⟦dbg!(x)⟧ }', neg: 'fn f(x: u8) -> u8 { debug!(x) }' },
  { rule: 'exit', pos: 'fn f() { ⟦std::process::exit(1)⟧ }', neg: 'fn main() { std::process::exit(1) }' },
  {
    rule: 'manual_assert',
    pos: 'fn f(x: u8) { ⟦if x > 3 { panic!("big") }⟧ }',
    neg: 'fn f(x: u8) { if x > 3 { panic!("big") } else { g() } }',
  },
  {
    rule: 'undocumented_unsafe_blocks',
    pos: 'fn f(p: *const u8) -> u8 { ⟦unsafe⟧ { *p } }',
    neg: 'fn f(p: *const u8) -> u8 {\n    // SAFETY: p is valid, the caller checked it\n    unsafe { *p }\n}',
  },
  {
    rule: 'missing_safety_doc',
    pos: '/// Reads.\n⟦pub unsafe fn read⟧(p: *const u8) -> u8 { *p }',
    neg: '/// Reads.\n///\n/// # Safety\n/// p must be valid.\npub unsafe fn read(p: *const u8) -> u8 { *p }',
    opts: LIB,
  },
  {
    rule: 'zero_ptr',
    pos: 'fn f() -> *const u8 { ⟦0 as *const u8⟧ }',
    neg: 'fn f() -> usize { 0 as usize }',
  },
  {
    rule: 'needless_return',
    pos: 'fn f() -> u8 { ⟦return 1⟧; }',
    neg: 'fn f(x: bool) -> u8 { if x { return 1; } 2 }',
  },
  {
    rule: 'let_and_return',
    pos: 'fn f() -> u8 { ⟦let x = 1 + 2;\n    x⟧ }',
    neg: 'fn f() -> u8 { let x = 1 + 2; x + 1 }',
  },
  {
    rule: 'len_zero',
    pos: 'fn f(v: &[u8]) -> bool { ⟦v.len() == 0⟧ }',
    neg: 'fn f(v: &[u8]) -> bool { v.len() == 2 }',
  },
  {
    rule: 'ptr_arg',
    pos: 'fn f(v: ⟦&Vec<u8>⟧) -> usize { v.len() }',
    neg: 'fn f(v: &mut Vec<u8>) -> usize { v.push(1); v.len() }',
  },
  {
    rule: 'needless_range_loop',
    pos: 'fn f(v: &[u8]) -> u32 { let mut t = 0; ⟦for i in 0..v.len()⟧ { t += v[i] as u32; } t }',
    neg: 'fn f(v: &[u8]) -> u32 { let mut t = 0; for i in 0..v.len() { t += v[i + 1] as u32; } t }',
  },
  { rule: 'empty_loop', pos: 'fn f() { ⟦loop {}⟧ }', neg: 'fn f() { loop { std::thread::park(); } }' },
  {
    rule: 'print_stdout',
    pos: 'pub fn f() { ⟦println!("hi")⟧; }',
    neg: 'pub fn f() { eprintln!("hi"); }',
    opts: LIB,
  },
  {
    rule: 'print_literal',
    pos: 'fn f(x: u8) { eprintln!("{} {}", ⟦"a"⟧, x); }',
    neg: 'fn f(x: u8) { eprintln!("{:>5} {}", "a", x); }',
  },
  { rule: 'println_empty_string', pos: 'fn f() { ⟦eprintln!("")⟧; }', neg: 'fn f() { eprintln!(" "); }' },
  {
    rule: 'print_with_newline',
    pos: 'fn f(x: u8) { ⟦eprint!("{}\\n", x)⟧; }',
    neg: 'fn f(x: u8) { eprint!("{}\\\\n", x); }',
  },
  {
    rule: 'bool_comparison',
    pos: 'fn f(x: bool) -> bool { ⟦x == true⟧ }',
    neg: 'fn f(x: u8) -> bool { x == 1 }',
  },
  {
    rule: 'needless_bool',
    pos: 'fn f(x: u8) -> bool { ⟦if x > 1 { true } else { false }⟧ }',
    neg: 'fn f(x: u8) -> bool { if x > 1 { true } else { x == 0 } }',
  },
  {
    rule: 'collapsible_if',
    pos: 'fn f(a: bool, b: bool) { ⟦if a ⟧{ if b { g(); } } }',
    neg: 'fn f(a: bool, b: bool) { if a { h(); if b { g(); } } }',
  },
  {
    rule: 'collapsible_else_if',
    pos: 'fn f(a: bool, b: bool) { if a { h(); } ⟦else { if b { g(); } }⟧ }',
    neg: 'fn f(a: bool, b: bool) { if a { h(); } else { h(); if b { g(); } } }',
  },
  {
    rule: 'manual_range_contains',
    pos: 'fn f(x: u8) -> bool { ⟦x >= 1 && x < 10⟧ }',
    neg: 'fn f(x: u8, y: u8) -> bool { x >= 1 && y < 10 }',
  },
  {
    rule: 'redundant_field_names',
    pos: 'fn f(x: u8) -> P { P { ⟦x: x⟧ } }',
    neg: 'fn f(y: u8) -> P { P { x: y } }',
  },
  {
    rule: 'redundant_static_lifetimes',
    pos: 'const NAME: &⟦\'static⟧ str = "n";',
    neg: 'fn f() -> &\'static str { "n" }',
  },
  { rule: 'char_lit_as_u8', pos: "fn f() -> u8 { ⟦'a' as u8⟧ }", neg: "fn f() -> u32 { 'a' as u32 }" },
  {
    rule: 'toplevel_ref_arg',
    pos: 'fn f(v: Vec<u8>) { let ⟦ref x⟧ = v; g(x); }',
    neg: 'fn f(v: Vec<u8>) { let x = &v; g(x); }',
  },
  {
    rule: 'single_match',
    pos: 'fn f(o: Option<u8>) { ⟦match o ⟧{ Some(x) => g(x), _ => {} } }',
    neg: 'fn f(o: Option<u8>) { match o { Some(x) => g(x), _ => h() } }',
  },
  {
    rule: 'single_char_pattern',
    pos: 'fn f(s: &str) { s.split(⟦","⟧); }',
    neg: 'fn f(s: &str) { s.split(", "); }',
  },
  {
    rule: 'items_after_test_module',
    pos: '#[cfg(test)]\nmod ⟦tests⟧ {\n    #[test]\n    fn t() {}\n}\nfn after() {}\n',
    neg: 'fn before() {}\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn t() {}\n}\n',
  },
  {
    rule: 'wildcard_imports',
    pos: 'use ⟦std::collections::*⟧;',
    neg: 'pub use std::collections::*;\nuse std::io::prelude::*;',
  },
  {
    rule: 'blocking_sleep_in_async',
    pos: 'async fn f(d: Duration) { ⟦std::thread::sleep(d)⟧; }',
    neg: 'async fn f(d: Duration) { tokio::time::sleep(d).await; }\nfn g(d: Duration) { std::thread::sleep(d); }',
  },
];

function strip(marked: string): { source: string; start: number; end: number } {
  const start = marked.indexOf('⟦');
  const end = marked.indexOf('⟧') - 1;
  assert.ok(start >= 0 && end >= start, 'case without ⟦ ⟧');
  return { source: marked.replace('⟦', '').replace('⟧', ''), start, end };
}

function only(findings: Finding[], rule: string): Finding[] {
  return findings.filter((f) => f.ruleId === rule);
}

function offsets(source: string, range: Range): [number, number] {
  const starts = lineStarts(source);
  return [offsetAt(source, starts, range.start), offsetAt(source, starts, range.end)];
}

/** Applies non-overlapping edits (LSP ranges) to a text. */
function applyEdits(source: string, edits: readonly TextEdit[]): string {
  const starts = lineStarts(source);
  const abs = edits
    .map((e) => ({
      s: offsetAt(source, starts, e.range.start),
      e: offsetAt(source, starts, e.range.end),
      t: e.newText,
    }))
    .sort((a, b) => b.s - a.s);
  let out = source;
  for (const e of abs) out = out.slice(0, e.s) + e.t + out.slice(e.e);
  return out;
}

before(async () => {
  await loadRustGrammar();
});

describe('RustMentor rules', () => {
  test('every rule has a table case, and there are at least 30', () => {
    assert.ok(RULES.length >= 30, `${RULES.length} rules`);
    const covered = new Set(CASES.map((c) => c.rule));
    for (const r of RULES) assert.ok(covered.has(r.id), `no case for ${r.id}`);
  });

  for (const c of CASES) {
    describe(c.rule, () => {
      const { source, start, end } = strip(c.pos);
      const opts = c.opts ?? {};
      test('fires on the positive case with the exact range', () => {
        const hits = only(analyzeRust(source, opts), c.rule);
        assert.equal(hits.length, 1, JSON.stringify(hits));
        const [hit] = hits;
        assert.ok(hit);
        assert.deepEqual(offsets(source, hit.range), [start, end], `range of ${c.rule} in ${source}`);
        assert.equal(hit.clippy, ruleById(c.rule)?.clippy ?? null);
      });

      test('stays silent on the look-alike', () => {
        assert.deepEqual(only(analyzeRust(c.neg, opts), c.rule), []);
      });

      test('a // rustmentor: allow comment silences it', () => {
        const lines = source.split('\n');
        const line = source.slice(0, start).split('\n').length - 1;
        lines.splice(line, 0, `// rustmentor: allow(${c.rule})`);
        assert.deepEqual(only(analyzeRust(lines.join('\n'), opts), c.rule), []);
      });

      const rule = ruleById(c.rule);
      if (rule?.clippy)
        test(`#![allow(${rule.clippy})] at crate level silences it`, () => {
          assert.deepEqual(only(analyzeRust(`#![allow(${rule.clippy})]\n${source}`, opts), c.rule), []);
        });

      if (rule?.hasQuickFix)
        test('the quick fix gives code that parses and no longer fires', async () => {
          const [hit] = only(analyzeRust(source, opts), c.rule);
          assert.ok(hit?.fix, `${c.rule} declares a quick fix but gave none`);
          const fixed = applyEdits(source, hit.fix.edits);
          const grammar = await loadRustGrammar();
          const tree = grammar.parse(fixed);
          try {
            assert.equal(tree.rootNode.hasError, false, `fixed code does not parse: ${fixed}`);
          } finally {
            tree.delete();
          }
          assert.deepEqual(only(analyzeRust(fixed, opts), c.rule), [], fixed);
        });
    });
  }
});

describe('test code and suppressions', () => {
  const unwrap = 'fn f(o: Option<u8>) -> u8 { o.unwrap() }';
  test('unwrap is allowed in #[test] fns, #[cfg(test)] modules and tests/ files', () => {
    assert.deepEqual(only(analyzeRust(`#[test]\n${unwrap}`), 'unwrap_used'), []);
    assert.deepEqual(only(analyzeRust(`#[tokio::test]\nasync ${unwrap}`), 'unwrap_used'), []);
    assert.deepEqual(only(analyzeRust(`#[cfg(test)]\nmod tests {\n${unwrap}\n}`), 'unwrap_used'), []);
    assert.deepEqual(only(analyzeRust(unwrap, { path: 'crate/tests/it.rs' }), 'unwrap_used'), []);
    assert.deepEqual(only(analyzeRust(unwrap, { path: 'examples/demo.rs' }), 'unwrap_used'), []);
    assert.deepEqual(only(analyzeRust(unwrap, { isTestFile: true }), 'unwrap_used'), []);
  });

  test('cfg(not(test)) is not test code; testCode "normal" reports in tests; "skip" reports nothing there', () => {
    assert.equal(only(analyzeRust(`#[cfg(not(test))]\nmod m {\n${unwrap}\n}`), 'unwrap_used').length, 1);
    assert.equal(only(analyzeRust(`#[test]\n${unwrap}`, { testCode: 'normal' }), 'unwrap_used').length, 1);
    const style = '#[test]\nfn t() -> u8 { return 1; }';
    assert.equal(only(analyzeRust(style), 'needless_return').length, 1);
    assert.deepEqual(analyzeRust(style, { testCode: 'skip' }), []);
  });

  test('#[allow] and #[expect] at item and module level, groups and clippy::all', () => {
    assert.deepEqual(only(analyzeRust(`#[allow(clippy::unwrap_used)]\n${unwrap}`), 'unwrap_used'), []);
    assert.deepEqual(only(analyzeRust(`#[expect(clippy::unwrap_used)]\n${unwrap}`), 'unwrap_used'), []);
    assert.deepEqual(
      only(analyzeRust(`mod m {\n#![allow(clippy::restriction)]\n${unwrap}\n}`), 'unwrap_used'),
      [],
    );
    const ret = 'fn f() -> u8 { return 1; }';
    assert.deepEqual(only(analyzeRust(`#![allow(clippy::all)]\n${ret}`), 'needless_return'), []);
    assert.deepEqual(only(analyzeRust(`#![allow(clippy::style)]\n${ret}`), 'needless_return'), []);
    // clippy::all does not cover restriction lints
    assert.equal(only(analyzeRust(`#![allow(clippy::all)]\n${unwrap}`), 'unwrap_used').length, 1);
    // the innermost level wins
    assert.equal(
      only(
        analyzeRust(`#![allow(clippy::needless_return)]\n#[warn(clippy::needless_return)]\n${ret}`),
        'needless_return',
      ).length,
      1,
    );
  });

  test("the crate root's #![allow] reaches the crate's other files through inheritedLints", () => {
    const levels = crateLintLevels(
      '#![allow(clippy::needless_return, dead_code)]\n#![warn(clippy::unwrap_used)]\nmod a;',
    );
    assert.equal(levels.get('clippy::needless_return'), 'allow');
    const ret = 'fn f() -> u8 { return 1; }';
    assert.deepEqual(
      only(analyzeRust(ret, { path: 'src/a.rs', inheritedLints: levels }), 'needless_return'),
      [],
    );
    // the file's own attributes win
    const own = `#![warn(clippy::needless_return)]\n${ret}`;
    assert.equal(only(analyzeRust(own, { inheritedLints: levels }), 'needless_return').length, 1);
  });

  test('len_zero on self only when the impl has is_empty; cfg-gated code can be skipped', () => {
    const without = 'impl T { fn f(&self) -> bool { self.len() == 0 } fn len(&self) -> usize { 0 } }';
    assert.deepEqual(only(analyzeRust(without), 'len_zero'), []);
    const withIt = 'impl T { fn f(&self) -> bool { self.len() == 0 } fn is_empty(&self) -> bool { true } }';
    assert.equal(only(analyzeRust(withIt), 'len_zero').length, 1);
    const gated = '#[cfg(feature = "x")]\nfn f() { todo!() }';
    assert.equal(only(analyzeRust(gated), 'todo').length, 1);
    assert.deepEqual(only(analyzeRust(gated, { cfgGated: 'skip' }), 'todo'), []);
  });

  test('missing_safety_doc needs a public module: silent in a file not known to be exported', () => {
    const src = 'pub unsafe fn read(p: *const u8) -> u8 { *p }';
    assert.deepEqual(only(analyzeRust(src, { path: 'src/x86/avx.rs' }), 'missing_safety_doc'), []);
    assert.equal(
      only(analyzeRust(src, { path: 'src/x86/avx.rs', moduleExported: true }), 'missing_safety_doc').length,
      1,
    );
    assert.deepEqual(
      only(analyzeRust(`mod private {\n${src}\n}`, { path: 'src/lib.rs' }), 'missing_safety_doc'),
      [],
    );
  });

  test('a rustmentor comment on the same line, with several ids', () => {
    const src = 'fn f(o: Option<u8>) -> u8 { o.unwrap() } // rustmentor: allow(dbg_macro, unwrap_used)';
    assert.deepEqual(only(analyzeRust(src), 'unwrap_used'), []);
  });

  test('print_stdout only in libraries', () => {
    const src = 'fn f() { println!("x"); }';
    assert.equal(only(analyzeRust(src, { path: 'src/lib.rs' }), 'print_stdout').length, 1);
    assert.deepEqual(only(analyzeRust(src, { path: 'src/main.rs' }), 'print_stdout'), []);
    assert.deepEqual(only(analyzeRust(src), 'print_stdout'), []);
  });

  test('options: rules, disabledRules and severities', () => {
    const src = 'fn f(o: Option<u8>) -> u8 { dbg!(1); return o.unwrap(); }';
    assert.deepEqual(
      [...new Set(analyzeRust(src, { rules: ['dbg_macro'] }).map((f) => f.ruleId))],
      ['dbg_macro'],
    );
    assert.ok(!analyzeRust(src, { disabledRules: ['dbg_macro'] }).some((f) => f.ruleId === 'dbg_macro'));
    assert.equal(
      analyzeRust(src, { severities: { dbg_macro: 'error' } }).find((f) => f.ruleId === 'dbg_macro')
        ?.severity,
      'error',
    );
  });
});
