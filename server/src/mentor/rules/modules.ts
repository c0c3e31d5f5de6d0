/** Module layout: where the test module goes, and glob imports. */
import type { Node } from 'web-tree-sitter';
import { cfgRequiresTest, outerAttributes } from '../attributes.js';
import { field, isComment, namedKids } from '../syntax.js';
import { DOCS, defineRule } from './define.js';

function isCfgTest(item: Node): boolean {
  return outerAttributes(item).some(cfgRequiresTest);
}

/** Items that count as "after the test module" (macro invocations may expand to nothing). */
function isRealItem(n: Node): boolean {
  return (
    n.type.endsWith('_item') &&
    n.type !== 'attribute_item' &&
    n.type !== 'inner_attribute_item' &&
    !isComment(n)
  );
}

export const itemsAfterTestModule = defineRule({
  id: 'items_after_test_module',
  clippy: 'clippy::items_after_test_module',
  clippyGroup: 'style',
  category: 'style',
  defaultSeverity: 'hint',
  message: 'items after the `#[cfg(test)]` module',
  explanation: {
    what: 'A `#[cfg(test)] mod tests { … }` followed by more items in the same module.',
    why: 'By convention the test module is the last thing in a file; items below it are easy to miss and are often mistaken for test-only code.',
    fix: 'Move the test module to the end of the file (or the items above it).',
    learnMore: [DOCS.testOrg],
  },
  *check(ctx) {
    for (const mod of ctx.nodesOfType('mod_item')) {
      if (!field(mod, 'body') || !isCfgTest(mod)) continue;
      let after = false;
      for (let s = mod.nextNamedSibling; s; s = s.nextNamedSibling)
        if (isRealItem(s) && !isCfgTest(s)) after = true;
      if (!after) continue;
      const name = field(mod, 'name');
      yield { node: mod, start: name?.startIndex ?? mod.startIndex, end: name?.endIndex ?? mod.endIndex };
    }
  },
});

export const wildcardImports = defineRule({
  id: 'wildcard_imports',
  clippy: 'clippy::wildcard_imports',
  clippyGroup: 'pedantic',
  category: 'style',
  defaultSeverity: 'hint',
  message: 'wildcard import: name what you use',
  explanation: {
    what: 'A `use path::*;` glob import.',
    why: 'Readers cannot tell where a name comes from, and a new item in the imported module can silently shadow or clash with yours.',
    fix: 'List the items: `use path::{A, b, C};` (rust-analyzer’s "Expand glob import" does it). Globs are fine for preludes and `use super::*` in tests.',
    learnMore: [DOCS.usePaths],
  },
  *check(ctx) {
    for (const glob of ctx.nodesOfType('use_wildcard')) {
      const decl = glob.parent?.type === 'use_declaration' ? glob.parent : undefined;
      if (!decl) continue; // nested in a use list: leave it (clippy's span differs there)
      if (namedKids(decl).some((c) => c.type === 'visibility_modifier')) continue; // a re-export
      const path = glob.text.replace(/::\*$/, '').replace(/^\*$/, '');
      const segments = path.split('::').map((s) => s.trim());
      if (segments.some((s) => s === 'prelude' || s.endsWith('prelude'))) continue;
      const last = segments[segments.length - 1] ?? '';
      if (/^[A-Z]/.test(last)) continue; // an enum's variants: enum_glob_use's business
      // `use super::*` is the idiom in test modules, and clippy was seen silent on it elsewhere too
      // (anyhow's private helper modules): too ambiguous to report
      if (path === 'super' || path === 'self') continue;
      yield { node: decl, start: glob.startIndex, end: glob.endIndex };
    }
  },
});
