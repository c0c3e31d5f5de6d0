/**
 * Per-file facts the engine computes once: the node index, which code is test code, and which findings are
 * suppressed by lint attributes or by `// rustmentor: allow(rule)` comments.
 */
import type { Node, Tree } from 'web-tree-sitter';
import {
  cfgRequiresTest,
  innerAttributes,
  isTestAttribute,
  lintLevels,
  outerAttributes,
} from './attributes.js';
import type { LintLevel } from './attributes.js';
import { lineStarts, positionAt } from './positions.js';
import type { CrateKind, Rule, RuleContext } from './types.js';

/** Path segments that make a whole file test code (cargo's conventional target folders). */
const TEST_DIRS = new Set(['tests', 'benches', 'examples']);

export function isTestPath(path: string | undefined): boolean {
  if (!path) return false;
  const parts = path.split(/[\\/]+/);
  return parts.slice(0, -1).some((p) => TEST_DIRS.has(p));
}

/** Clippy groups and the `clippy::all` umbrella, to honour `#[allow(clippy::style)]` and friends. */
function lintNamesFor(rule: Rule): string[] {
  const names: string[] = [];
  if (rule.clippy) {
    names.push(rule.clippy);
    if (rule.clippyGroup) {
      names.push(`clippy::${rule.clippyGroup}`);
      if (!['pedantic', 'restriction', 'nursery'].includes(rule.clippyGroup)) names.push('clippy::all');
    }
  }
  return names;
}

export class FileContext implements RuleContext {
  readonly root: Node;
  private readonly index = new Map<string, Node[]>();
  private readonly testCache = new Map<number, boolean>();
  private readonly levelCache = new Map<number, Map<string, LintLevel>>();
  private readonly commentAllows = new Map<number, Set<string>>();
  /** LSP line starts ("\r", "\n" and "\r\n" all end a line; tree-sitter rows only count "\n"). */
  readonly lineStarts: readonly number[];

  constructor(
    readonly source: string,
    tree: Tree,
    readonly crateKind: CrateKind,
    readonly path: string | undefined,
    private readonly wholeFileIsTest: boolean,
    readonly moduleExported: boolean,
    private readonly inherited: ReadonlyMap<string, LintLevel> = new Map(),
  ) {
    this.root = tree.rootNode;
    this.lineStarts = lineStarts(source);
    this.buildIndex(tree);
  }

  nodesOfType(...types: string[]): readonly Node[] {
    if (types.length === 1) return this.index.get(types[0] ?? '') ?? [];
    const all = types.flatMap((t) => this.index.get(t) ?? []);
    return all.sort((a, b) => a.startIndex - b.startIndex);
  }

  isTestCode(node: Node): boolean {
    if (this.wholeFileIsTest) return true;
    for (let n: Node | null = node; n; n = n.parent) {
      const cached = this.testCache.get(n.id);
      if (cached !== undefined) return this.remember(node, cached);
      if (outerAttributes(n).some((a) => cfgRequiresTest(a) || isTestAttribute(a)))
        return this.remember(node, true);
      if (innerAttributes(n).some(cfgRequiresTest)) return this.remember(node, true);
    }
    return this.remember(node, false);
  }

  /**
   * Whether the node sits under a `#[cfg(…)]` (other than `cfg(test)`) or in a file with `#![cfg(…)]`: code
   * that a given build may not compile at all.
   */
  isCfgGated(node: Node): boolean {
    for (let n: Node | null = node; n; n = n.parent) {
      if (outerAttributes(n).some((a) => /^\s*cfg\s*\(/.test(a) && !cfgRequiresTest(a))) return true;
      if (innerAttributes(n).some((a) => /^\s*cfg\s*\(/.test(a) && !cfgRequiresTest(a))) return true;
    }
    return false;
  }

  /** Whether a finding of `rule` on `node` (starting on `line`) is allowed by an attribute or a comment. */
  isSuppressed(rule: Rule, node: Node, line: number): boolean {
    for (const l of [line, line - 1]) {
      const ids = this.commentAllows.get(l);
      if (ids && (ids.has(rule.id) || ids.has('all') || (rule.clippy !== undefined && ids.has(rule.clippy))))
        return true;
    }
    const names = lintNamesFor(rule);
    if (names.length === 0) return false;
    // Innermost level wins, as in rustc: `#[warn(x)]` on a fn undoes a crate-level `#![allow(x)]`.
    for (let n: Node | null = node; n; n = n.parent) {
      const levels = this.levelsAt(n);
      for (const name of names) {
        const level = levels.get(name);
        if (level) return level === 'allow';
      }
    }
    // levels set outside this file: the crate root's `#![allow(…)]`, passed in by the caller
    for (const name of names) {
      const level = this.inherited.get(name);
      if (level) return level === 'allow';
    }
    return false;
  }

  private levelsAt(n: Node): Map<string, LintLevel> {
    let levels = this.levelCache.get(n.id);
    if (!levels) {
      levels = new Map();
      // inner attributes first so that an outer one on the same item (written outside) is overridden by it
      for (const attr of [...outerAttributes(n), ...innerAttributes(n)])
        for (const [k, v] of lintLevels(attr)) levels.set(k, v);
      this.levelCache.set(n.id, levels);
    }
    return levels;
  }

  private remember(node: Node, value: boolean): boolean {
    this.testCache.set(node.id, value);
    return value;
  }

  private buildIndex(tree: Tree): void {
    const cursor = tree.walk();
    try {
      for (;;) {
        const node = cursor.currentNode;
        const list = this.index.get(node.type);
        if (list) list.push(node);
        else this.index.set(node.type, [node]);
        if (node.type === 'line_comment') this.noteCommentAllow(node);
        if (cursor.gotoFirstChild()) continue;
        while (!cursor.gotoNextSibling()) if (!cursor.gotoParent()) return;
      }
    } finally {
      cursor.delete();
    }
  }

  private noteCommentAllow(comment: Node): void {
    const m = /^\/\/\s*rustmentor:\s*allow\(([^)]*)\)/.exec(comment.text);
    if (!m) return;
    const line = positionAt(this.lineStarts, comment.startIndex).line;
    const ids = this.commentAllows.get(line) ?? new Set<string>();
    for (const id of (m[1] ?? '').split(',')) if (id.trim()) ids.add(id.trim());
    this.commentAllows.set(line, ids);
  }
}
