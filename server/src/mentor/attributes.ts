/**
 * Attributes as the rules need them: which outer attributes belong to a node (in tree-sitter they are the
 * node's preceding siblings, not its children), which inner attributes (`#![…]`) a module or file has, and
 * what lint levels they set.
 */
import type { Node } from 'web-tree-sitter';
import { isComment, namedKids } from './syntax.js';

/** The text inside `#[…]` / `#![…]` of the outer attributes attached to this node. */
export function outerAttributes(node: Node): string[] {
  const out: string[] = [];
  for (let s = node.previousNamedSibling; s; s = s.previousNamedSibling) {
    if (s.type === 'attribute_item') out.push(attributeBody(s));
    else if (!isComment(s)) break;
  }
  return out;
}

/** The text inside `#![…]` of the inner attributes directly in this container (file, module body, block). */
export function innerAttributes(container: Node): string[] {
  return namedKids(container)
    .filter((c) => c.type === 'inner_attribute_item')
    .map(attributeBody);
}

function attributeBody(item: Node): string {
  const attr = namedKids(item).find((c) => c.type === 'attribute');
  return (attr ?? item).text;
}

export type LintLevel = 'allow' | 'warn';

/**
 * The lint levels an attribute sets: `allow(clippy::x, y)`, `expect(…)` → allow; `warn/deny/forbid(…)` →
 * warn. `cfg_attr(pred, allow(…))` counts as allow whatever the predicate: staying silent is the safer
 * mistake for a tool that values precision.
 */
export function lintLevels(attr: string): Map<string, LintLevel> {
  const levels = new Map<string, LintLevel>();
  const re = /\b(allow|expect|warn|deny|forbid)\s*\(([^()]*)\)/g;
  for (let m = re.exec(attr); m; m = re.exec(attr)) {
    const level: LintLevel = m[1] === 'allow' || m[1] === 'expect' ? 'allow' : 'warn';
    for (const raw of (m[2] ?? '').split(',')) {
      const name = raw.trim().replace(/\s+/g, '');
      if (name && /^[\w:]+$/.test(name)) levels.set(name, level);
    }
  }
  return levels;
}

/** Whether a `cfg(…)` predicate text requires `test` (`cfg(test)`, `cfg(all(test, …))`, not `cfg(not(test))`). */
export function cfgRequiresTest(attr: string): boolean {
  const m = /^\s*cfg\s*\(([\s\S]*)\)\s*$/.exec(attr);
  if (!m) return false;
  const pred = m[1] ?? '';
  if (/\bany\s*\(/.test(pred)) return false; // any(test, x) also compiles outside tests
  const withoutNot = pred.replace(/\bnot\s*\([^()]*\)/g, '');
  return /\btest\b/.test(withoutNot);
}

/** `#[test]`, `#[tokio::test]`, `#[rstest]`, `#[bench]`, `#[test_case(…)]`, `#[quickcheck]`, … */
export function isTestAttribute(attr: string): boolean {
  const name = (/^\s*([\w:]+)/.exec(attr)?.[1] ?? '').split('::').pop() ?? '';
  return ['test', 'bench', 'rstest', 'test_case', 'quickcheck', 'proptest', 'wasm_bindgen_test'].includes(
    name,
  );
}
