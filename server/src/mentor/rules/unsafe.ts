/** Unsafe code must say why it is sound: `// SAFETY:` on blocks, `# Safety` on public unsafe functions. */
import type { Node } from 'web-tree-sitter';
import { outerAttributes } from '../attributes.js';
import { field, isComment, kids, namedKids } from '../syntax.js';
import type { RuleContext } from '../types.js';
import { DOCS, defineRule } from './define.js';

/** Statement-level ancestors up to which a SAFETY comment may be written (as clippy accepts). */
const STATEMENT_LIKE = new Set([
  'expression_statement',
  'let_declaration',
  'const_item',
  'static_item',
  'function_item',
  'match_arm',
  'field_initializer',
  'closure_expression',
]);

/** Whether the lines just above `offset` (comments, attributes, blank lines) or its own line mention SAFETY:. */
function safetyAbove(source: string, offset: number): boolean {
  const lineStart = source.lastIndexOf('\n', offset - 1) + 1;
  if (/safety:/i.test(source.slice(lineStart, offset))) return true;
  let end = lineStart - 1;
  while (end > 0) {
    const start = source.lastIndexOf('\n', end - 1) + 1;
    const line = source.slice(start, end).trim();
    if (/safety:/i.test(line)) return true;
    const quiet =
      line === '' ||
      line.startsWith('//') ||
      line.startsWith('/*') ||
      line.startsWith('*') ||
      line.startsWith('#[') ||
      line.endsWith('*/');
    if (!quiet) return false;
    end = start - 1;
  }
  return false;
}

function hasSafetyComment(ctx: RuleContext, block: Node): boolean {
  // inside the block's first line (`unsafe { // SAFETY: …`) — clippy wants it above, but it is documented
  // or in the comments that open the block (clippy accepts both)
  const body = namedKids(block).find((c) => c.type === 'block') ?? block;
  for (const c of namedKids(body)) {
    if (!isComment(c)) break;
    if (/safety:/i.test(c.text)) return true;
  }
  const firstLineEnd = ctx.source.indexOf('\n', block.startIndex);
  if (/safety:/i.test(ctx.source.slice(block.startIndex, firstLineEnd < 0 ? block.endIndex : firstLineEnd)))
    return true;
  for (let n: Node | null = block; n; n = n.parent) {
    if (safetyAbove(ctx.source, n.startIndex)) return true;
    if (STATEMENT_LIKE.has(n.type) || n.type === 'block') break;
  }
  return false;
}

export const undocumentedUnsafeBlocks = defineRule({
  id: 'undocumented_unsafe_blocks',
  clippy: 'clippy::undocumented_unsafe_blocks',
  clippyGroup: 'restriction',
  category: 'safety',
  defaultSeverity: 'warning',
  message: '`unsafe` block without a `// SAFETY:` comment',
  explanation: {
    what: 'An `unsafe { … }` block with no `// SAFETY:` comment just above it.',
    why: 'Inside `unsafe` the compiler trusts you to uphold the invariants it cannot check (valid pointers, no aliasing `&mut`, initialized memory…). The comment records which invariants hold and why, so reviewers and future editors can check them.',
    fix: 'Write `// SAFETY: <why every requirement of the unsafe operations holds here>` on the line(s) above the block (or above its statement).',
    learnMore: [DOCS.unsafeBook, DOCS.unsafeKeyword, DOCS.unsafety],
  },
  *check(ctx) {
    for (const block of ctx.nodesOfType('unsafe_block')) {
      if (hasSafetyComment(ctx, block)) continue;
      const kw = kids(block).find((c) => c.type === 'unsafe');
      yield { node: block, start: block.startIndex, end: kw?.endIndex ?? block.startIndex + 6 };
    }
  },
});

function isUnsafeFn(fn: Node): boolean {
  return namedKids(fn).some((c) => c.type === 'function_modifiers' && /\bunsafe\b/.test(c.text));
}

function isPlainPub(node: Node): boolean {
  return namedKids(node).some((c) => c.type === 'visibility_modifier' && c.text === 'pub');
}

// The doc text above an item: `///` and `/** … */` doc comments, `#[doc = "…"]` attributes.
function docText(item: Node): string | undefined {
  let text = '';
  for (let s = item.previousNamedSibling; s; s = s.previousNamedSibling) {
    if (s.type === 'attribute_item') {
      if (/^#\s*\[\s*(doc|cfg_attr)\b/.test(s.text)) {
        if (!/^#\s*\[\s*doc\s*=\s*"/.test(s.text)) return undefined; // include_str!, cfg_attr: unknown text
        text += s.text + '\n';
      }
    } else if (isComment(s)) {
      if (/^\/\/\/(?!\/)|^\/\*\*(?!\*)/.test(s.text)) text += s.text + '\n';
    } else break;
  }
  return text;
}

/** Whether the item can be seen from outside the crate, as far as this one file tells. */
function looksExported(ctx: RuleContext, fn: Node): boolean {
  for (let p = fn.parent; p; p = p.parent) {
    if (p.type === 'function_item' || p.type === 'block') return false; // a local item
    if (p.type === 'mod_item' && !isPlainPub(p)) return false;
    if (p.type === 'impl_item') {
      if (field(p, 'trait')) return false; // a trait impl: the trait's docs apply
      const ty = field(p, 'type');
      const name = ty?.type === 'generic_type' ? field(ty, 'type')?.text : ty?.text;
      const def = ctx
        .nodesOfType('struct_item', 'enum_item', 'union_item')
        .find((d) => field(d, 'name')?.text === name);
      if (def && !isPlainPub(def)) return false;
    }
    if (p.type === 'trait_item' && !isPlainPub(p)) return false;
  }
  return true;
}

export const missingSafetyDoc = defineRule({
  id: 'missing_safety_doc',
  clippy: 'clippy::missing_safety_doc',
  clippyGroup: 'style',
  category: 'safety',
  defaultSeverity: 'warning',
  message: 'public `unsafe fn` without a `# Safety` section in its docs',
  explanation: {
    what: 'A public `unsafe fn` whose doc comment has no `# Safety` heading.',
    why: 'Callers must uphold the function’s preconditions themselves; the `# Safety` section is where they learn what those are. Without it, every call site is a guess.',
    fix: 'Add a `/// # Safety` section listing the conditions the caller must guarantee.',
    learnMore: [DOCS.rustdocSections, DOCS.unsafeBook, DOCS.unsafeKeyword],
  },
  *check(ctx) {
    if (!ctx.moduleExported) return; // a private module's unsafe fns are not public API
    for (const fn of ctx.nodesOfType('function_item', 'function_signature_item')) {
      if (!isUnsafeFn(fn)) continue;
      const inTrait = fn.parent?.parent?.type === 'trait_item';
      if (!inTrait && !isPlainPub(fn)) continue;
      if (!looksExported(ctx, fn)) continue;
      const docs = docText(fn);
      if (docs === undefined || /#\s*safety/i.test(docs)) continue;
      if (outerAttributes(fn).some((a) => /^doc\s*\(\s*hidden/.test(a))) continue;
      const name = field(fn, 'name');
      yield { node: fn, start: fn.startIndex, end: name?.endIndex ?? fn.startIndex };
    }
  },
});

export const zeroPtr = defineRule({
  id: 'zero_ptr',
  clippy: 'clippy::zero_ptr',
  clippyGroup: 'style',
  category: 'safety',
  defaultSeverity: 'hint',
  hasQuickFix: true,
  message: '`0 as *const T`: use `std::ptr::null()`',
  explanation: {
    what: 'A null pointer written as the integer 0 cast to a pointer type.',
    why: '`ptr::null()`/`ptr::null_mut()` say "null" and keep the pointer’s provenance rules clear.',
    fix: 'Write `std::ptr::null::<T>()` (or `null_mut`).',
    learnMore: [DOCS.nullPtr, DOCS.unsafety],
  },
  *check(ctx) {
    for (const cast of ctx.nodesOfType('type_cast_expression')) {
      const value = field(cast, 'value');
      const type = field(cast, 'type');
      if (!value || !type || value.text !== '0' || type.type !== 'pointer_type') continue;
      const mutable = kids(type).some((c) => c.type === 'mutable_specifier');
      const pointee = field(type, 'type');
      if (!pointee) continue;
      const fn = mutable ? 'null_mut' : 'null';
      const newText = pointee.text === '_' ? `std::ptr::${fn}()` : `std::ptr::${fn}::<${pointee.text}>()`;
      yield {
        node: cast,
        fix: { title: `Write ${newText}`, edits: [{ start: cast.startIndex, end: cast.endIndex, newText }] },
      };
    }
  },
});
