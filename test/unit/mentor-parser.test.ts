/**
 * RustMentor's parser: the grammar loads from source and from the esbuild bundle, positions are UTF-16, and
 * an incremental reparse after random LSP edits gives the same tree as parsing the new text from scratch.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import fc from 'fast-check';
import { RustDocument } from '../../server/src/mentor/document.js';
import { loadRustGrammar, resolveWasmPaths } from '../../server/src/mentor/parser.js';
import type { RustGrammar } from '../../server/src/mentor/parser.js';
import { lineStarts, offsetAt, positionAt } from '../../server/src/mentor/positions.js';
import type { TextChange } from '../../server/src/mentor/positions.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const SAMPLE = `//! Sample crate — with non-ASCII: é, 😀
use std::collections::HashMap;

/// Counts words.
pub fn count(text: &String) -> HashMap<String, usize> {
    let mut map = HashMap::new();
    for w in text.split(" ") {
        *map.entry(w.to_string()).or_insert(0) += 1;
    }
    return map;
}

fn main() {\r\n    let s = "héllo 😀 wörld".to_string();\r\n    println!("{:?}", count(&s));\r\n}
`;

let grammar: RustGrammar;
before(async () => {
  grammar = await loadRustGrammar();
});

describe('grammar', () => {
  test('loads tree-sitter-rust (ABI 14) and parses', () => {
    const lang = grammar.language as unknown as { abiVersion?: number; version?: number };
    assert.equal(lang.abiVersion ?? lang.version, 14);
    const tree = grammar.parse(SAMPLE);
    try {
      assert.equal(tree.rootNode.type, 'source_file');
      assert.equal(tree.rootNode.hasError, false);
    } finally {
      tree.delete();
    }
  });

  test('columns and indices are UTF-16 code units (as LSP positions)', () => {
    const src = 'fn f() { let s = "é😀"; x.unwrap(); }';
    const tree = grammar.parse(src);
    try {
      const x = tree.rootNode.descendantsOfType('identifier').find((n) => n?.text === 'x');
      assert.equal(x?.startIndex, src.indexOf('x.unwrap'));
      assert.equal(x?.startPosition.column, src.indexOf('x.unwrap'));
    } finally {
      tree.delete();
    }
  });

  test('an explicit wasmDir without the files falls back to the other places', () => {
    const paths = resolveWasmPaths({ wasmDir: '/nonexistent' });
    assert.ok(existsSync(paths.runtime) && existsSync(paths.grammar));
  });

  test('the esbuild bundle loads both wasm files from dist/tree-sitter', async () => {
    execFileSync(process.execPath, ['esbuild.mjs'], { cwd: root, stdio: 'ignore' });
    const outDir = path.join(root, 'dist', 'server');
    const outfile = path.join(outDir, `mentor-probe-${process.pid}.cjs`);
    try {
      await esbuild.build({
        stdin: {
          contents: `import { loadRustGrammar } from './server/src/mentor/parser.js';
import { analyzeRust } from './server/src/mentor/analyze.js';
loadRustGrammar().then((g) => {
  console.log(JSON.stringify({ paths: g.paths, n: analyzeRust('fn f(o: Option<u8>) -> u8 { o.unwrap() }').length }));
});`,
          resolveDir: root,
          loader: 'ts',
        },
        bundle: true,
        platform: 'node',
        target: 'node20',
        format: 'cjs',
        outfile,
        logLevel: 'silent',
        define: { 'import.meta.url': 'importMetaUrl' },
        inject: [path.join(root, 'scripts', 'esbuild-import-meta-url.mjs')],
      });
      // run from elsewhere, so nothing can be found relative to the working directory
      const cwd = mkdtempSync(path.join(os.tmpdir(), 'mentor-probe-'));
      try {
        const out = JSON.parse(execFileSync(process.execPath, [outfile], { cwd, encoding: 'utf8' })) as {
          paths: { runtime: string; grammar: string };
          n: number;
        };
        assert.equal(out.paths.runtime, path.join(root, 'dist', 'tree-sitter', 'tree-sitter.wasm'));
        assert.equal(out.paths.grammar, path.join(root, 'dist', 'tree-sitter', 'tree-sitter-rust.wasm'));
        assert.equal(out.n, 1);
      } finally {
        rmSync(cwd, { recursive: true, force: true });
      }
    } finally {
      rmSync(outfile, { force: true });
    }
  });
});

describe('positions', () => {
  test('offsetAt/positionAt round-trip and clamp like LSP', () => {
    const text = 'ab\r\ncd\ne😀f\rg';
    const starts = lineStarts(text);
    assert.deepEqual(starts, [0, 4, 7, 12]);
    for (let i = 0; i <= text.length; i++) {
      const p = positionAt(starts, i);
      // offsets inside a "\r\n" pair clamp to the end of the line
      if (text[i - 1] === '\r' && text[i] === '\n') continue;
      assert.equal(offsetAt(text, starts, p), i, `offset ${i}`);
    }
    assert.equal(offsetAt(text, starts, { line: 0, character: 99 }), 2);
    assert.equal(offsetAt(text, starts, { line: 99, character: 0 }), text.length);
  });
});

describe('RustDocument', () => {
  test('applies a ranged change and a full replacement', () => {
    const doc = new RustDocument(grammar, 'fn f() {}\n');
    try {
      doc.applyChanges(
        [{ range: { start: { line: 0, character: 8 }, end: { line: 0, character: 8 } }, text: ' 1 ' }],
        2,
      );
      assert.equal(doc.text, 'fn f() { 1 }\n');
      assert.equal(doc.version, 2);
      doc.applyChanges([{ text: 'struct S;' }]);
      assert.equal(doc.tree.rootNode.toString(), '(source_file (struct_item name: (type_identifier)))');
    } finally {
      doc.dispose();
    }
  });

  test('incremental reparse equals a full parse after random edits (fast-check)', () => {
    const alphabet = [
      'a',
      ' ',
      '\n',
      '{',
      '}',
      '(',
      ')',
      ';',
      'fn ',
      'let ',
      '"',
      'é',
      '😀',
      'x.unwrap()',
      '\r\n',
      '//',
    ];
    const edit = fc.record({
      from: fc.nat(),
      len: fc.nat({ max: 12 }),
      text: fc.array(fc.constantFrom(...alphabet), { maxLength: 6 }).map((a) => a.join('')),
    });
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 8 }), (edits) => {
        const doc = new RustDocument(grammar, SAMPLE);
        try {
          for (const e of edits) {
            const text = doc.text;
            const starts = lineStarts(text);
            const a = Math.min(e.from, text.length);
            const b = Math.min(a + e.len, text.length);
            const change: TextChange = {
              range: { start: positionAt(starts, a), end: positionAt(starts, b) },
              text: e.text,
            };
            // a position maps back to the same offset unless it falls inside a "\r\n"
            const sa = offsetAt(text, starts, change.range?.start ?? { line: 0, character: 0 });
            const sb = offsetAt(text, starts, change.range?.end ?? { line: 0, character: 0 });
            doc.applyChanges([change]);
            assert.equal(doc.text, text.slice(0, sa) + e.text + text.slice(sb));
          }
          const full = grammar.parse(doc.text);
          try {
            assert.equal(doc.tree.rootNode.toString(), full.rootNode.toString());
            assert.equal(doc.tree.rootNode.endIndex, full.rootNode.endIndex);
          } finally {
            full.delete();
          }
        } finally {
          doc.dispose();
        }
      }),
      { numRuns: 150 },
    );
  });

  test('several changes in one notification are applied in order', () => {
    const doc = new RustDocument(grammar, 'fn a() {}\nfn b() {}\n');
    try {
      doc.applyChanges([
        { range: { start: { line: 1, character: 3 }, end: { line: 1, character: 4 } }, text: 'bee' },
        { range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, text: 'pub ' },
      ]);
      assert.equal(doc.text, 'pub fn a() {}\nfn bee() {}\n');
      const full = grammar.parse(doc.text);
      assert.equal(doc.tree.rootNode.toString(), full.rootNode.toString());
      full.delete();
    } finally {
      doc.dispose();
    }
  });
});
