/**
 * cargo/clippy output → RustMentor findings, from JSON recorded here with rustc/clippy 1.95 on the fixture
 * crates in test/fixtures/mentor-crate*: stream parsing, span mapping (UTF-8 bytes and scalar-value
 * columns → UTF-16), macro call sites, quick fixes, repeats from --all-targets, explanation URLs.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  LineSplitter,
  parseCargoLine,
  parseCargoOutput,
  type RustcSpan,
} from '../../server/src/mentor/cargo/rustc-json.js';
import { SourceText, spanRange, userSpan } from '../../server/src/mentor/cargo/spans.js';
import { compilerFindings, type CompilerFinding } from '../../server/src/mentor/cargo/findings.js';
import { compilerRuleUrl } from '../../server/src/mentor/cargo/explain.js';
import { cargoArgs } from '../../server/src/mentor/cargo/run.js';
import { findCargo } from '../../server/src/mentor/cargo/detect.js';
import { nearestManifestDir } from '../../server/src/mentor/cargo/workspace.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
const LIB_CRATE = path.join(FIXTURES, 'mentor-crate');
const ERR_CRATE = path.join(FIXTURES, 'mentor-crate-errors');
const recorded = (name: string): string =>
  readFileSync(path.join(FIXTURES, 'mentor-clippy-json', name), 'utf8');
const disk = (f: string): string | null => {
  try {
    return readFileSync(f, 'utf8');
  } catch {
    return null;
  }
};

function span(p: Partial<RustcSpan>): RustcSpan {
  return {
    file_name: 'src/lib.rs',
    byte_start: 0,
    byte_end: 0,
    line_start: 1,
    line_end: 1,
    column_start: 1,
    column_end: 1,
    is_primary: true,
    label: null,
    suggested_replacement: null,
    suggestion_applicability: null,
    expansion: null,
    ...p,
  };
}

const at = (f: CompilerFinding): string =>
  `${f.ruleId}@${f.range.start.line}:${f.range.start.character}-${f.range.end.line}:${f.range.end.character}`;

describe('cargo JSON stream', () => {
  test('keeps compiler messages, skips other reasons, non-JSON and truncated lines', () => {
    const text = recorded('lib.jsonl');
    const all = parseCargoOutput(text);
    const expected = text.split('\n').filter((l) => l.includes('"reason":"compiler-message"')).length;
    assert.equal(all.length, expected);
    assert.ok(expected > 0);
    const noisy = [
      '   Compiling x v0.1.0',
      '{"reason":"build-script-executed"}',
      '{"reason":"compiler-message",',
      'not json {',
      text.split('\n')[0] ?? '',
    ];
    assert.equal(noisy.flatMap((l) => parseCargoLine(l) ?? []).length, 1);
    assert.equal(
      parseCargoLine('{"reason":"compiler-message","message":{"message":"x"}}'),
      null,
      'malformed diagnostic',
    );
  });

  test('LineSplitter joins lines split across chunks, even inside a multi-byte character', () => {
    const got: string[] = [];
    const s = new LineSplitter((l) => got.push(l));
    const bytes = Buffer.from('{"a":"🦀"}\nsecond\nthird', 'utf8');
    for (let i = 0; i < bytes.length; i += 3) s.push(bytes.subarray(i, i + 3));
    s.end();
    assert.deepEqual(got, ['{"a":"🦀"}', 'second', 'third']);
  });
});

describe('span mapping', () => {
  // line 1: tab, "🦀é" (astral + 2-byte), CJK 名: x is column 27 in scalar values, byte 41, UTF-16 27
  const text = 'fn f() {\n\tlet c = "🦀é"; let 名 = 1; x\n}\n';
  const src = new SourceText(text);
  test('byte offsets map to UTF-16 characters', () => {
    const r = spanRange(
      span({ byte_start: 41, byte_end: 42, line_start: 2, line_end: 2, column_start: 27, column_end: 28 }),
      src,
    );
    assert.deepEqual(r, { start: { line: 1, character: 27 }, end: { line: 1, character: 28 } });
    assert.equal(text.slice(src.offsetOfByte(41) ?? -1, (src.offsetOfByte(41) ?? -1) + 1), 'x');
  });
  test('when the bytes no longer match the line (file edited), the scalar-value column is used', () => {
    const r = spanRange(
      span({ byte_start: 2, byte_end: 3, line_start: 2, line_end: 2, column_start: 27, column_end: 28 }),
      src,
    );
    assert.deepEqual(r.start, { line: 1, character: 27 });
  });
  test('an offset inside a character is not trusted', () => {
    assert.equal(src.offsetOfByte(21), null); // the second byte of 🦀
    assert.equal(src.offsetOfByte(10_000), null);
  });
  test('CRLF line breaks', () => {
    const crlf = new SourceText('a\r\nbé c\r\n');
    const r = spanRange(
      span({ byte_start: 7, byte_end: 8, line_start: 2, line_end: 2, column_start: 4, column_end: 5 }),
      crlf,
    );
    assert.deepEqual(r, { start: { line: 1, character: 3 }, end: { line: 1, character: 4 } });
  });
  test('a span in a macro moves to the call site; a desugaring of user code stays; foreign files drop', () => {
    const root = '/ws';
    const call = span({ line_start: 12 });
    const inMacro = span({
      line_start: 5,
      expansion: { span: call, macro_decl_name: 'make_unused!', def_site_span: null },
    });
    assert.equal(userSpan(inMacro, root), call);
    const std = span({ file_name: '/rustc/abc/library/std/src/macros.rs' });
    const desugared = span({
      line_start: 11,
      expansion: { span: std, macro_decl_name: 'desugaring of format string literal', def_site_span: null },
    });
    assert.equal(userSpan(desugared, root), desugared);
    assert.equal(userSpan(std, root), null);
    const fromStd = span({
      file_name: '/rustc/abc/library/std/src/macros.rs',
      expansion: { span: call, macro_decl_name: 'println!', def_site_span: null },
    });
    assert.equal(userSpan(fromStd, root), call);
    assert.equal(userSpan(span({ file_name: '/elsewhere/dep/src/lib.rs' }), root), null);
  });
});

describe('findings from recorded clippy output', () => {
  test('clippy lints: ranges, severities, one finding per diagnostic despite --all-targets', () => {
    const byFile = compilerFindings(parseCargoOutput(recorded('lib.jsonl')), LIB_CRATE, disk);
    assert.deepEqual([...byFile.keys()], [path.join(LIB_CRATE, 'src', 'lib.rs')]);
    const list = byFile.get(path.join(LIB_CRATE, 'src', 'lib.rs')) ?? [];
    assert.deepEqual(list.map(at).sort(), [
      'clippy::bool_comparison@15:7-15:16',
      'clippy::clone_on_copy@34:29-34:38',
      // after "🦀é": 38 scalar values, 39 UTF-16 units
      'clippy::len_zero@32:39-32:51',
      'clippy::len_zero@3:7-3:22',
      'clippy::needless_bool@15:4-15:40',
      'clippy::needless_return@11:4-11:12',
      // after a tab and CJK identifiers
      'clippy::needless_return@29:35-29:43',
    ]);
    const text = readFileSync(path.join(LIB_CRATE, 'src', 'lib.rs'), 'utf8');
    const crab = list.find((f) => f.range.start.line === 32);
    const line = text.split('\n')[32] ?? '';
    assert.equal(line.slice(crab?.range.start.character, crab?.range.end.character), 's.len() == 0');
    for (const f of list) {
      assert.equal(f.severity, 'warning');
      assert.equal(f.source, 'clippy');
      assert.equal(f.clippy, f.ruleId);
      assert.doesNotMatch(f.message, /for further information visit/);
    }
  });

  test('MachineApplicable suggestions become quick fixes with all their edits', () => {
    const list = [
      ...compilerFindings(parseCargoOutput(recorded('lib.jsonl')), LIB_CRATE, disk).values(),
    ].flat();
    const len = list.find((f) => f.ruleId === 'clippy::len_zero' && f.range.start.line === 3);
    assert.deepEqual(len?.fix?.edits, [
      {
        range: { start: { line: 3, character: 7 }, end: { line: 3, character: 22 } },
        newText: 'name.is_empty()',
      },
    ]);
    const ret = list.find((f) => f.ruleId === 'clippy::needless_return' && f.range.start.line === 11);
    assert.equal(ret?.fix?.edits.length, 2, 'replace `return s` and delete the `;`');
    assert.match(ret?.message ?? '', /help: remove `return`/);
  });

  test('rustc errors and lints: codes, labels, macro call sites, suggestions', () => {
    const byFile = compilerFindings(parseCargoOutput(recorded('errors.jsonl')), ERR_CRATE, disk);
    const list = byFile.get(path.join(ERR_CRATE, 'src', 'main.rs')) ?? [];
    assert.deepEqual(list.map(at), ['E0382@10:51-10:52', 'unused_variables@11:4-11:18']);
    const [moved, unused] = list;
    assert.equal(moved?.severity, 'error');
    assert.equal(moved?.source, 'rustc');
    assert.equal(moved?.clippy, null);
    assert.match(moved?.message ?? '', /^borrow of moved value: `v`\nnote: value borrowed here after move/);
    assert.deepEqual(moved?.fix?.edits, [
      {
        range: { start: { line: 10, character: 10 }, end: { line: 10, character: 10 } },
        newText: '.clone()',
      },
    ]);
    // the macro's `let unused_here` is reported at `make_unused!();`, where the user can act on it
    assert.equal(unused?.severity, 'warning');
    assert.equal(unused?.fix, undefined);
  });
});

describe('rule pages and command line', () => {
  test('clippy lints and error codes have pages; rustc lints none', () => {
    assert.deepEqual(compilerRuleUrl('clippy::len_zero'), {
      title: 'clippy: len_zero',
      url: 'https://rust-lang.github.io/rust-clippy/master/index.html#len_zero',
    });
    assert.equal(compilerRuleUrl('E0382')?.url, 'https://doc.rust-lang.org/error_codes/E0382.html');
    assert.equal(compilerRuleUrl('unused_variables'), null);
    assert.equal(compilerRuleUrl('clippy::../../x'), null);
  });
  test('cargo runs offline over the whole workspace with JSON messages', () => {
    assert.deepEqual(cargoArgs('clippy'), [
      'clippy',
      '--workspace',
      '--all-targets',
      '--message-format=json',
      '--offline',
    ]);
    assert.equal(cargoArgs('check')[0], 'check');
  });
  test('no cargo anywhere: null, not an exception', () => {
    assert.equal(findCargo({ PATH: '/nonexistent', HOME: '/nonexistent' }), null);
  });
  test('the nearest manifest directory', () => {
    assert.equal(nearestManifestDir(path.join(LIB_CRATE, 'src', 'lib.rs')), LIB_CRATE);
    assert.equal(nearestManifestDir('/'), null);
  });
});
