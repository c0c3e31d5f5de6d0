/** Types in signatures and bindings that ask for more than the code needs. */
import type { Node } from 'web-tree-sitter';
import { field, kids, methodCall, namedKids, descendants } from '../syntax.js';
import { DOCS, defineRule } from './define.js';

const OWNED: Record<string, string> = {
  String: '&str',
  'std::string::String': '&str',
  PathBuf: '&Path',
  'std::path::PathBuf': '&Path',
};

/** `&String` → `&str`, `&Vec<T>` → `&[T]`, `&PathBuf` → `&Path`; undefined for anything else. */
function borrowedOwned(type: Node): string | undefined {
  if (type.type !== 'reference_type' || kids(type).some((c) => c.type === 'mutable_specifier'))
    return undefined;
  const inner = field(type, 'type');
  if (!inner) return undefined;
  if (inner.type === 'type_identifier' || inner.type === 'scoped_type_identifier') return OWNED[inner.text];
  if (inner.type === 'generic_type') {
    const base = field(inner, 'type')?.text;
    const args = field(inner, 'type_arguments');
    const targs = args ? namedKids(args) : [];
    if ((base === 'Vec' || base === 'std::vec::Vec') && targs.length === 1) return `&[${targs[0]?.text}]`;
  }
  return undefined;
}

/** Method calls that need the owned type behind the reference, not just its slice. */
const NEEDS_OWNED = new Set([
  'clone',
  'capacity',
  'to_owned',
  'into',
  'as_ref',
  'borrow',
  'cmp',
  'eq',
  'partial_cmp',
]);

/** Whether every use of `name` in `body` would also work on the slice type (method calls, indexing, `&x[..]`). */
function onlySliceUses(body: Node, name: string): boolean {
  if (descendants(body, 'token_tree').some((t) => descendants(t, 'identifier').some((i) => i.text === name)))
    return false; // used inside a macro: cannot tell how
  for (const id of descendants(body, 'identifier')) {
    if (id.text !== name) continue;
    const parent = id.parent;
    if (!parent) return false;
    if (parent.type === 'field_expression' && field(parent, 'value')?.equals(id)) {
      const call = parent.parent;
      const m = call ? methodCall(call) : undefined;
      if (m && !NEEDS_OWNED.has(m.name)) continue;
      return false;
    }
    if (parent.type === 'index_expression' && parent.namedChildren[0]?.equals(id)) continue;
    if (parent.type === 'for_expression' && field(parent, 'value')?.equals(id)) continue;
    return false; // passed on, returned, compared, captured…: it may have to stay a &Vec/&String
  }
  return true;
}

export const ptrArg = defineRule({
  id: 'ptr_arg',
  clippy: 'clippy::ptr_arg',
  clippyGroup: 'style',
  category: 'api',
  defaultSeverity: 'information',
  hasQuickFix: true,
  message: 'parameter takes `&String`/`&Vec<T>`/`&PathBuf`: take the slice type instead',
  explanation: {
    what: 'A function parameter of type `&String`, `&Vec<T>` or `&PathBuf`.',
    why: 'A shared reference cannot grow the collection, so it only needs the borrowed view: `&str`, `&[T]`, `&Path`. Those accept more callers (string literals, arrays, slices of other data) at no cost, and `&String` coerces to `&str` automatically (deref coercion).',
    fix: 'Change the parameter to `&str`, `&[T]` or `&Path`; call sites keep compiling.',
    learnMore: [DOCS.slices, DOCS.deref],
  },
  *check(ctx) {
    for (const fn of ctx.nodesOfType('function_item', 'function_signature_item')) {
      const impl = fn.parent?.parent;
      if (impl?.type === 'impl_item' && field(impl, 'trait')) continue; // signature fixed by the trait
      if (/\bextern\b/.test(namedKids(fn).find((c) => c.type === 'function_modifiers')?.text ?? '')) continue;
      const params = field(fn, 'parameters');
      const body = field(fn, 'body');
      for (const p of params ? namedKids(params) : []) {
        if (p.type !== 'parameter') continue;
        const type = field(p, 'type');
        const pattern = field(p, 'pattern');
        const slice = type ? borrowedOwned(type) : undefined;
        if (!type || !pattern || !slice) continue;
        if (body) {
          if (pattern.type !== 'identifier') continue;
          if (!onlySliceUses(body, pattern.text)) continue;
        }
        yield {
          node: type,
          message: `\`${type.text}\` parameter: take \`${slice}\` instead`,
          fix: {
            title: `Take ${slice}`,
            edits: [{ start: type.startIndex, end: type.endIndex, newText: slice }],
          },
        };
      }
    }
  },
});

/** Nesting through which clippy looks for `&'static` in a const/static type. */
const TRANSPARENT = new Set(['reference_type', 'array_type', 'tuple_type']);

export const redundantStaticLifetimes = defineRule({
  id: 'redundant_static_lifetimes',
  clippy: 'clippy::redundant_static_lifetimes',
  clippyGroup: 'style',
  category: 'style',
  defaultSeverity: 'hint',
  hasQuickFix: true,
  message: "`'static` is implied in `const` and `static` types",
  explanation: {
    what: "A reference type with an explicit `'static` lifetime in a `const` or `static` item.",
    why: "References in constants and statics are `'static` by default; writing it adds noise.",
    fix: "Remove the `'static` (keep the `&`).",
    learnMore: [DOCS.staticElision],
  },
  *check(ctx) {
    for (const item of ctx.nodesOfType('const_item', 'static_item')) {
      const owner = item.parent?.parent?.type;
      if (owner === 'impl_item' || owner === 'trait_item') continue; // associated consts are not covered
      const type = field(item, 'type');
      if (!type) continue;
      const refs = type.type === 'reference_type' ? [type] : [];
      refs.push(...descendants(type, 'reference_type').filter((r) => !r.equals(type)));
      for (const ref of refs) {
        let ok = true;
        for (let p = ref.parent; p && !p.equals(item); p = p.parent) if (!TRANSPARENT.has(p.type)) ok = false;
        if (!ok) continue;
        const lt = namedKids(ref).find((c) => c.type === 'lifetime');
        if (!lt || lt.text !== "'static") continue;
        let end = lt.endIndex;
        while (ctx.source[end] === ' ') end++;
        yield {
          node: lt,
          fix: { title: "Remove 'static", edits: [{ start: lt.startIndex, end, newText: '' }] },
        };
      }
    }
  },
});

export const charLitAsU8 = defineRule({
  id: 'char_lit_as_u8',
  clippy: 'clippy::char_lit_as_u8',
  clippyGroup: 'complexity',
  category: 'complexity',
  defaultSeverity: 'hint',
  hasQuickFix: true,
  message: "`'a' as u8`: write the byte literal `b'a'`",
  explanation: {
    what: 'A character literal cast to `u8`.',
    why: "`as u8` silently truncates characters above U+00FF; `b'a'` is a byte from the start and only accepts ASCII.",
    fix: "Write `b'a'`.",
    learnMore: [DOCS.byteLiterals],
  },
  *check(ctx) {
    for (const cast of ctx.nodesOfType('type_cast_expression')) {
      const value = field(cast, 'value');
      const type = field(cast, 'type');
      if (!value || !type || value.type !== 'char_literal' || type.text !== 'u8') continue;
      if (!/^'([\x20-\x26\x28-\x5b\x5d-\x7e]|\\[nrt0\\'"])'$/.test(value.text)) continue; // ASCII only
      const newText = `b${value.text}`;
      yield {
        node: cast,
        fix: { title: `Write ${newText}`, edits: [{ start: cast.startIndex, end: cast.endIndex, newText }] },
      };
    }
  },
});

export const toplevelRefArg = defineRule({
  id: 'toplevel_ref_arg',
  clippy: 'clippy::toplevel_ref_arg',
  clippyGroup: 'style',
  category: 'style',
  defaultSeverity: 'hint',
  hasQuickFix: true,
  message: '`let ref x = v` is `let x = &v`',
  explanation: {
    what: 'A `ref` binding at the top of a `let` pattern or a function parameter.',
    why: '`ref` in that position is an unusual way to borrow; `&v` on the value side (or a `&T` parameter) is what readers expect.',
    fix: 'Write `let x = &v;` (`&mut v` for `ref mut`), or take the parameter by reference.',
    learnMore: [DOCS.patterns],
  },
  *check(ctx) {
    for (const decl of ctx.nodesOfType('let_declaration')) {
      const pattern = field(decl, 'pattern');
      const value = field(decl, 'value');
      if (!pattern || pattern.type !== 'ref_pattern' || !value || field(decl, 'alternative')) continue;
      const mutable = kids(pattern).some((c) => c.type === 'mutable_specifier' || c.type === 'mut');
      const name = namedKids(pattern).find((c) => c.type === 'identifier');
      if (!name || field(decl, 'type')) {
        yield { node: pattern };
        continue;
      }
      const amp = mutable ? '&mut ' : '&';
      const needsParens = !['identifier', 'field_expression', 'call_expression', 'index_expression'].includes(
        value.type,
      );
      yield {
        node: pattern,
        fix: {
          title: `Write let ${name.text} = ${amp}…`,
          edits: [
            { start: pattern.startIndex, end: pattern.endIndex, newText: name.text },
            {
              start: value.startIndex,
              end: value.endIndex,
              newText: needsParens ? `${amp}(${value.text})` : `${amp}${value.text}`,
            },
          ],
        },
      };
    }
    for (const p of ctx.nodesOfType('parameter')) {
      const pattern = field(p, 'pattern');
      if (pattern?.type === 'ref_pattern' && p.parent?.parent?.type === 'function_item')
        yield { node: pattern };
    }
  },
});
