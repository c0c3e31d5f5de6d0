/** Small idioms: field init shorthand, `if let` for one-armed matches, char patterns. */
import type { Node } from 'web-tree-sitter';
import { containsComment, descendants, field, methodCall, namedKids, stringLiteralValue } from '../syntax.js';
import { DOCS, defineRule } from './define.js';

export const redundantFieldNames = defineRule({
  id: 'redundant_field_names',
  clippy: 'clippy::redundant_field_names',
  clippyGroup: 'style',
  category: 'style',
  defaultSeverity: 'hint',
  hasQuickFix: true,
  message: 'redundant field name: `x: x` can be written `x`',
  explanation: {
    what: 'A struct literal field initialized from a variable of the same name: `Point { x: x }`.',
    why: 'The field init shorthand (`Point { x }`) exists for exactly this case.',
    fix: 'Write the name once.',
    learnMore: [DOCS.structInit],
  },
  *check(ctx) {
    for (const init of ctx.nodesOfType('field_initializer')) {
      const name = field(init, 'field');
      const value = field(init, 'value');
      if (!name || !value || value.type !== 'identifier' || name.text !== value.text) continue;
      if (init.previousNamedSibling?.type === 'attribute_item' || containsComment(init)) continue;
      yield {
        node: init,
        fix: {
          title: `Write ${name.text}`,
          edits: [{ start: init.startIndex, end: init.endIndex, newText: name.text }],
        },
      };
    }
  },
});

function isEmptyArmValue(value: Node | null): boolean {
  if (!value) return false;
  if (value.type === 'unit_expression') return true;
  return value.type === 'block' && namedKids(value).length === 0;
}

export const singleMatch = defineRule({
  id: 'single_match',
  clippy: 'clippy::single_match',
  clippyGroup: 'style',
  category: 'style',
  defaultSeverity: 'hint',
  hasQuickFix: true,
  message: 'a `match` with one interesting arm and `_ => {}`: use `if let`',
  explanation: {
    what: 'A `match` with a single pattern arm and a wildcard arm that does nothing.',
    why: '`if let` says "do this only in this case" without the empty arm.',
    fix: 'Write `if let PATTERN = EXPR { … }`.',
    learnMore: [DOCS.ifLet, DOCS.matchBook],
  },
  *check(ctx) {
    for (const m of ctx.nodesOfType('match_expression')) {
      const body = field(m, 'body');
      const scrutinee = field(m, 'value');
      if (!body || !scrutinee || containsComment(body)) continue;
      const arms = namedKids(body);
      if (arms.length !== 2 || arms.some((a) => a.type !== 'match_arm')) continue;
      const [first, second] = arms as [Node, Node];
      const p1 = field(first, 'pattern');
      const p2 = field(second, 'pattern');
      if (!p1 || !p2 || field(p1, 'condition') || field(p2, 'condition')) continue;
      if (p2.text !== '_' || !isEmptyArmValue(field(second, 'value'))) continue;
      // or-patterns: clippy leaves them (an `if let A | B` reads worse than the match)
      if (descendants(p1, 'or_pattern').length > 0 || namedKids(p1)[0]?.type === 'or_pattern') continue;
      if (p1.text === '_' || first.previousNamedSibling?.type === 'attribute_item') continue;
      if (namedKids(first).some((c) => c.type === 'attribute_item')) continue;
      const value = field(first, 'value');
      if (!value) continue;
      const then = value.type === 'block' ? value.text : `{ ${value.text} }`;
      const expr = scrutinee.type === 'struct_expression' ? `(${scrutinee.text})` : scrutinee.text;
      const newText = `if let ${p1.text} = ${expr} ${then}`;
      yield {
        node: m,
        end: body.startIndex,
        fix: { title: 'Use if let', edits: [{ start: m.startIndex, end: m.endIndex, newText }] },
      };
    }
  },
});

/** str methods whose pattern argument can be a char, and where it is (0-based). */
const PATTERN_ARG: Record<string, number> = {
  split: 0,
  rsplit: 0,
  split_terminator: 0,
  rsplit_terminator: 0,
  split_inclusive: 0,
  splitn: 1,
  rsplitn: 1,
  split_once: 0,
  rsplit_once: 0,
  find: 0,
  rfind: 0,
  matches: 0,
  rmatches: 0,
  match_indices: 0,
  rmatch_indices: 0,
  trim_start_matches: 0,
  trim_end_matches: 0,
  replace: 0,
  replacen: 0,
};

function charLiteral(c: string): string {
  const esc: Record<string, string> = {
    '\n': '\\n',
    '\t': '\\t',
    '\r': '\\r',
    '\0': '\\0',
    '\\': '\\\\',
    "'": "\\'",
  };
  return `'${esc[c] ?? c}'`;
}

export const singleCharPattern = defineRule({
  id: 'single_char_pattern',
  clippy: 'clippy::single_char_pattern',
  clippyGroup: 'pedantic',
  category: 'performance',
  defaultSeverity: 'hint',
  hasQuickFix: true,
  message: 'one-character string used as a pattern: use a `char`',
  explanation: {
    what: 'A `str` method such as `split`, `find` or `replace` given a one-character string literal as its pattern.',
    why: 'A `char` pattern is matched directly; a `&str` pattern goes through the substring searcher.',
    fix: "Write the character literal: `s.split(',')`.",
    learnMore: [DOCS.strPattern],
  },
  *check(ctx) {
    for (const call of ctx.nodesOfType('call_expression')) {
      const m = methodCall(call);
      const at = m ? PATTERN_ARG[m.name] : undefined;
      if (!m || at === undefined) continue;
      const arg = m.args[at];
      if (!arg || arg.type !== 'string_literal') continue;
      const value = stringLiteralValue(arg);
      if (value === undefined || [...value].length !== 1) continue;
      // non-ASCII characters are left alone: clippy has changed how it treats them across versions
      if (value.charCodeAt(0) > 0x7f) continue;
      const newText = charLiteral(value);
      yield {
        node: arg,
        fix: { title: `Write ${newText}`, edits: [{ start: arg.startIndex, end: arg.endIndex, newText }] },
      };
    }
  },
});
