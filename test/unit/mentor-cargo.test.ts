/**
 * cargo/clippy output → RustMentor findings, from JSON recorded here with rustc/clippy 1.95 on the fixture
 * crates in test/fixtures/mentor-crate*: stream parsing, span mapping (UTF-8 bytes and scalar-value
 * columns → UTF-16), macro call sites, quick fixes, repeats from --all-targets, explanation URLs.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  LineSplitter,
  parseCargoLine,
  parseCargoOutput,
  type CompilerMessage,
  type RustcDiagnostic,
  type RustcSpan,
} from '../../server/src/mentor/cargo/rustc-json.js';
import { SourceText, spanRange, userSpan } from '../../server/src/mentor/cargo/spans.js';
import {
  compilerFindings,
  MAX_RELATED,
  messageWithRelated,
  type CompilerFinding,
  type RelatedSpan,
} from '../../server/src/mentor/cargo/findings.js';
import { compilerDiagnostic } from '../../server/src/lsp/compiler-diagnostics.js';
import { compilerRuleUrl } from '../../server/src/mentor/cargo/explain.js';
import { cargoArgs } from '../../server/src/mentor/cargo/run.js';
import { findCargo } from '../../server/src/mentor/cargo/detect.js';
import { nearestManifestDir } from '../../server/src/mentor/cargo/workspace.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
const LIB_CRATE = path.join(FIXTURES, 'mentor-crate');
const ERR_CRATE = path.join(FIXTURES, 'mentor-crate-errors');
const REL_CRATE = path.join(FIXTURES, 'mentor-crate-related');
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
    // the help has spans, so it is a related span at the `return`, not a line of the message
    assert.deepEqual(
      ret?.related.map((r) => r.message),
      ['help: remove `return`: `s`'],
    );
    assert.doesNotMatch(ret?.message ?? '', /remove `return`/);
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

const where = (r: RelatedSpan): string =>
  `${path.relative(REL_CRATE, r.file)}@${r.range.start.line}:${r.range.start.character}-${r.range.end.line}:${r.range.end.character} ${r.kind} ${r.message}`;

describe('related spans (recorded from a workspace in test/fixtures/mentor-crate-related)', () => {
  const byFile = compilerFindings(parseCargoOutput(recorded('related.jsonl')), REL_CRATE, disk);
  const main = path.join(REL_CRATE, 'errs', 'src', 'main.rs');
  const lib = path.join(REL_CRATE, 'lints', 'src', 'lib.rs');
  const find = (file: string, rule: string, line: number): CompilerFinding | undefined =>
    byFile.get(file)?.find((f) => f.ruleId === rule && f.range.start.line === line);

  test('E0382: the move and the type as labelled secondary spans, the clone help at its place', () => {
    const moved = find(main, 'E0382', 6);
    assert.deepEqual(moved?.related.map(where), [
      'errs/src/main.rs@5:16-5:21 label value moved here',
      'errs/src/main.rs@4:8-4:13 label move occurs because `names` has type `std::vec::Vec<std::string::String>`, which does not implement the `Copy` trait',
      'errs/src/main.rs@5:21-5:21 child help: consider cloning the value if the performance cost is acceptable: `.clone()`',
    ]);
    // "🦀é" before the move on line 4 does not shift line 5's columns; the label is the moved name
    const text = readFileSync(main, 'utf8').split('\n')[5] ?? '';
    assert.equal(text.slice(16, 21), 'names');
    assert.equal(moved?.message, 'borrow of moved value: `names`\nnote: value borrowed here after move');
  });

  test('a note in another workspace file is related; one in the toolchain stays a line of the message', () => {
    const pair = find(main, 'E0061', 10);
    assert.deepEqual(pair?.related.map(where), [
      'errs/src/main.rs@10:15-10:18 label argument #2 of type `u32` is missing',
      'errs/src/other.rs@1:7-1:11 child note: function defined here',
      'errs/src/main.rs@10:15-10:18 child help: provide the argument: `(1, /* u32 */)`',
    ]);
    const std = find(main, 'E0061', 14);
    assert.ok(std?.related.every((r) => isInsideCrate(r.file)));
    assert.ok(!std?.related.some((r) => r.message.includes('associated function defined here')));
    assert.match(std?.message ?? '', /\nnote: associated function defined here$/);
  });

  test('clippy: the `let` binding as a secondary span, children without spans stay in the message', () => {
    const ret = find(lib, 'clippy::let_and_return', 3);
    assert.deepEqual(ret?.related.map(where), [
      'lints/src/lib.rs@2:4-2:18 label unnecessary `let` binding',
      'lints/src/lib.rs@2:4-2:18 child help: return the expression directly: `x * 2`',
    ]);
    assert.match(ret?.message ?? '', /\nnote: `#\[warn\(clippy::let_and_return\)\]` on by default$/);
    assert.doesNotMatch(ret?.message ?? '', /for further information/);
  });

  test('written inline for readers without related information, files named relative to the finding', () => {
    const pair = find(main, 'E0061', 10);
    assert.ok(pair);
    assert.equal(
      messageWithRelated(pair, main),
      [
        'this function takes 2 arguments but 1 argument was supplied',
        'note: argument #2 of type `u32` is missing (11:16)',
        'note: function defined here (other.rs:2:8)',
        'help: provide the argument: `(1, /* u32 */)` (11:16)',
      ].join('\n'),
    );
  });

  test('LSP: relatedInformation only when the client supports it, else the same words in the message', () => {
    const pair = find(main, 'E0061', 10);
    assert.ok(pair);
    const uri = 'file:///as/the/client/named/it.rs';
    const apart = compilerDiagnostic(pair, { file: main, uri, relatedInformation: true });
    assert.equal(apart.message, pair.message);
    assert.deepEqual(
      apart.relatedInformation?.map((r) => [r.location.uri, r.location.range.start.line, r.message]),
      [
        [uri, 10, 'argument #2 of type `u32` is missing'],
        [
          pathToFileURL(path.join(REL_CRATE, 'errs', 'src', 'other.rs')).href,
          1,
          'note: function defined here',
        ],
        [uri, 10, 'help: provide the argument: `(1, /* u32 */)`'],
      ],
    );
    const inline = compilerDiagnostic(pair, { file: main, uri, relatedInformation: false });
    assert.equal(inline.relatedInformation, undefined);
    assert.equal(inline.message, messageWithRelated(pair, main));
  });

  function isInsideCrate(file: string): boolean {
    return !path.relative(REL_CRATE, file).startsWith('..');
  }
});

describe('related spans: limits', () => {
  const root = '/ws';
  const src = 'fn main() { let a = 1; }\n';
  const read = (f: string): string | null => (f === '/ws/src/main.rs' ? src : null);
  const diag = (spans: RustcSpan[], children: RustcDiagnostic[] = []): CompilerMessage => ({
    manifestPath: '/ws/Cargo.toml',
    diagnostic: { message: 'm', code: null, level: 'error', spans, children, rendered: null },
  });
  const primary = span({
    file_name: 'src/main.rs',
    byte_start: 3,
    byte_end: 7,
    column_start: 4,
    column_end: 8,
  });
  const secondary = (label: string | null, file = 'src/main.rs', col = 13): RustcSpan =>
    span({
      file_name: file,
      is_primary: false,
      label,
      byte_start: col - 1,
      byte_end: col + 2,
      column_start: col,
      column_end: col + 3,
    });
  const only = (m: CompilerMessage): CompilerFinding | undefined =>
    compilerFindings([m], root, read).get('/ws/src/main.rs')?.[0];

  test('unlabelled, registry, toolchain and unreadable spans are left out; repeats are kept once', () => {
    const f = only(
      diag([
        primary,
        secondary('kept'),
        secondary('kept'),
        secondary(null),
        secondary('registry', '/home/u/.cargo/registry/src/index.crates.io-x/dep-1.0.0/src/lib.rs'),
        secondary('toolchain', '/rustc/0123/library/core/src/ops.rs'),
        secondary('parent', '../elsewhere/src/lib.rs'),
        secondary('unreadable', 'src/gone.rs'),
      ]),
    );
    assert.deepEqual(
      f?.related.map((r) => r.message),
      ['kept'],
    );
  });

  test('at most MAX_RELATED related spans', () => {
    const many = Array.from({ length: MAX_RELATED + 5 }, (_, i) => secondary(`label ${i}`));
    const f = only(diag([primary, ...many]));
    assert.equal(f?.related.length, MAX_RELATED);
    assert.equal(f?.related.at(-1)?.message, `label ${MAX_RELATED - 1}`);
  });

  test('a child with only a toolchain span is a line of the message, not lost', () => {
    const child: RustcDiagnostic = {
      message: 'defined here',
      code: null,
      level: 'note',
      spans: [span({ file_name: '/rustc/0123/library/alloc/src/vec/mod.rs' })],
      children: [],
      rendered: null,
    };
    const f = only(diag([primary], [child]));
    assert.deepEqual(f?.related, []);
    assert.equal(f?.message, 'm\nnote: defined here');
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
