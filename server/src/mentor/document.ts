/**
 * A Rust document that follows typing: LSP content changes are applied to the text and to the syntax tree
 * (tree.edit, then a reparse that reuses the old tree), so diagnostics can be recomputed on every change
 * without parsing the whole file from scratch.
 */
import type { Parser, Point, Tree } from 'web-tree-sitter';
import type { RustGrammar } from './parser.js';
import { lineStarts, offsetAt } from './positions.js';
import type { TextChange } from './positions.js';

export class RustDocument {
  private readonly parser: Parser;
  private currentText: string;
  private currentTree: Tree;
  private currentVersion: number;

  constructor(grammar: RustGrammar, text: string, version = 0) {
    this.parser = grammar.newParser();
    this.currentText = text;
    this.currentVersion = version;
    this.currentTree = this.reparse(null);
  }

  get text(): string {
    return this.currentText;
  }

  /** The tree of the current text. Valid until the next change or `dispose()`; do not delete it. */
  get tree(): Tree {
    return this.currentTree;
  }

  get version(): number {
    return this.currentVersion;
  }

  /**
   * Applies LSP content changes in order (each one's range is in the coordinates of the text left by the
   * previous one, as LSP specifies), then reparses once.
   */
  applyChanges(changes: readonly TextChange[], version?: number): void {
    if (changes.length === 0) return;
    let full = false;
    for (const change of changes) {
      if (!change.range) {
        this.currentText = change.text;
        full = true;
        continue;
      }
      const text = this.currentText;
      // Offsets are recomputed per change: a later change is expressed against the earlier one's result.
      const starts = lineStarts(text);
      const startIndex = offsetAt(text, starts, change.range.start);
      const oldEndIndex = Math.max(startIndex, offsetAt(text, starts, change.range.end));
      const next = text.slice(0, startIndex) + change.text + text.slice(oldEndIndex);
      if (!full) {
        const newEndIndex = startIndex + change.text.length;
        this.currentTree.edit({
          startIndex,
          oldEndIndex,
          newEndIndex,
          startPosition: pointAt(text, startIndex),
          oldEndPosition: pointAt(text, oldEndIndex),
          newEndPosition: pointAt(next, newEndIndex),
        });
      }
      this.currentText = next;
    }
    if (version !== undefined) this.currentVersion = version;
    const old = this.currentTree;
    this.currentTree = this.reparse(full ? null : old);
    old.delete();
  }

  /** Frees the wasm memory of the tree and the parser. The document is unusable afterwards. */
  dispose(): void {
    this.currentTree.delete();
    this.parser.delete();
  }

  private reparse(old: Tree | null): Tree {
    const tree = this.parser.parse(this.currentText, old);
    if (!tree) throw new Error('RustMentor: tree-sitter returned no tree');
    return tree;
  }
}

/**
 * The tree-sitter point of an offset: row = number of "\n" before it, column = UTF-16 units since the last
 * one. (tree-sitter counts rows by "\n" alone, so a lone "\r" does not start a row here.)
 */
function pointAt(text: string, offset: number): Point {
  let row = 0;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    row++;
    lineStart = i + 1;
  }
  return { row, column: offset - lineStart };
}
