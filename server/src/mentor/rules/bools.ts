/** Boolean and comparison expressions that say more than they need to. */
import type { Node } from 'web-tree-sitter';
import {
  binaryOperator,
  blockItems,
  containsComment,
  field,
  methodCall,
  namedKids,
  unparen,
} from '../syntax.js';
import type { OffsetEdit } from '../types.js';
import { DOCS, defineRule } from './define.js';
import { andOperand, isAtomic, negate } from './exprs.js';

export const boolComparison = defineRule({
  id: 'bool_comparison',
  clippy: 'clippy::bool_comparison',
  clippyGroup: 'complexity',
  category: 'complexity',
  defaultSeverity: 'hint',
  hasQuickFix: true,
  message: 'comparison with a boolean literal',
  explanation: {
    what: 'An `x == true`, `x != false`, `x == false` or `x != true`.',
    why: 'A `bool` is already the condition; comparing it with a literal adds a step the reader has to undo.',
    fix: 'Write `x` or `!x`.',
    learnMore: [DOCS.booleans, DOCS.controlFlow],
  },
  *check(ctx) {
    for (const bin of ctx.nodesOfType('binary_expression')) {
      const op = binaryOperator(bin);
      if (op !== '==' && op !== '!=') continue;
      const left = field(bin, 'left');
      const right = field(bin, 'right');
      if (!left || !right) continue;
      const litLeft = left.type === 'boolean_literal';
      const litRight = right.type === 'boolean_literal';
      if (litLeft === litRight) continue; // none, or `true == false`
      const lit = litLeft ? left : right;
      const other = litLeft ? right : left;
      const keep = (lit.text === 'true') === (op === '==');
      const newText = keep ? (isAtomic(other) ? other.text : `(${other.text})`) : negate(other);
      yield {
        node: bin,
        message: `comparison with \`${lit.text}\`: write \`${newText}\``,
        fix: { title: `Write ${newText}`, edits: [{ start: bin.startIndex, end: bin.endIndex, newText }] },
      };
    }
  },
});

/** The boolean literal a block consists of (`{ true }`), if it is only that. */
function blockBool(block: Node | null): string | undefined {
  if (!block || block.type !== 'block' || containsComment(block)) return undefined;
  const items = blockItems(block);
  const only = items[0];
  return items.length === 1 && only?.type === 'boolean_literal' ? only.text : undefined;
}

export const needlessBool = defineRule({
  id: 'needless_bool',
  clippy: 'clippy::needless_bool',
  clippyGroup: 'complexity',
  category: 'complexity',
  defaultSeverity: 'hint',
  hasQuickFix: true,
  message: '`if c { true } else { false }` is just `c`',
  explanation: {
    what: 'An `if`/`else` whose branches are the literals `true` and `false`.',
    why: 'The condition already is that boolean.',
    fix: 'Write the condition (`c`), or its negation (`!c`) when the branches are the other way round.',
    learnMore: [DOCS.ifExpr, DOCS.booleans],
  },
  *check(ctx) {
    for (const ifx of ctx.nodesOfType('if_expression')) {
      if (ifx.parent?.type === 'else_clause') continue; // part of an else-if chain
      const cond = field(ifx, 'condition');
      const elseClause = field(ifx, 'alternative');
      if (!cond || !elseClause || cond.type === 'let_condition' || cond.type === 'let_chain') continue;
      const then = blockBool(field(ifx, 'consequence'));
      const other = blockBool(namedKids(elseClause).find((c) => c.type === 'block') ?? null);
      if (!then || !other || then === other) continue;
      const newText = then === 'true' ? (isAtomic(cond) ? cond.text : `(${cond.text})`) : negate(cond);
      yield {
        node: ifx,
        fix: { title: `Write ${newText}`, edits: [{ start: ifx.startIndex, end: ifx.endIndex, newText }] },
      };
    }
  },
});

/** The only thing in a block when it is an `if` (as a statement or as the tail), else undefined. */
function soleIf(block: Node): Node | undefined {
  if (containsComment(block)) return undefined;
  const items = blockItems(block);
  if (items.length !== 1) return undefined;
  const only = items[0];
  if (!only) return undefined;
  if (only.type === 'if_expression') return only;
  if (only.type === 'expression_statement') {
    const inner = namedKids(only);
    if (inner.length === 1 && inner[0]?.type === 'if_expression' && !only.text.trimEnd().endsWith(';'))
      return inner[0];
  }
  return undefined;
}

function isLetCondition(cond: Node | null): boolean {
  return !cond || cond.type === 'let_condition' || cond.type === 'let_chain';
}

export const collapsibleIf = defineRule({
  id: 'collapsible_if',
  clippy: 'clippy::collapsible_if',
  clippyGroup: 'style',
  category: 'style',
  defaultSeverity: 'hint',
  hasQuickFix: true,
  message: 'this `if` contains only another `if`: combine the conditions with `&&`',
  explanation: {
    what: '`if a { if b { … } }` with no `else` on either.',
    why: 'One `if a && b { … }` has one less level of nesting and says the same.',
    fix: 'Merge the conditions: `if a && b { … }`.',
    learnMore: [DOCS.ifExpr],
  },
  *check(ctx) {
    for (const outer of ctx.nodesOfType('if_expression')) {
      if (field(outer, 'alternative') || outer.parent?.type === 'else_clause') continue;
      const cond = field(outer, 'condition');
      const body = field(outer, 'consequence');
      if (!body || isLetCondition(cond) || !cond) continue;
      const inner = soleIf(body);
      if (!inner || field(inner, 'alternative')) continue;
      const innerCond = field(inner, 'condition');
      const innerBody = field(inner, 'consequence');
      if (!innerBody || isLetCondition(innerCond) || !innerCond) continue;
      // a condition over several lines: clippy leaves the nesting (the merged condition would read worse)
      if (innerCond.startPosition.row !== innerCond.endPosition.row) continue;
      const newText = `if ${andOperand(cond)} && ${andOperand(innerCond)} ${innerBody.text}`;
      const edit: OffsetEdit = { start: outer.startIndex, end: outer.endIndex, newText };
      yield { node: outer, end: body.startIndex, fix: { title: 'Collapse the nested if', edits: [edit] } };
    }
  },
});

export const collapsibleElseIf = defineRule({
  id: 'collapsible_else_if',
  clippy: 'clippy::collapsible_else_if',
  clippyGroup: 'pedantic', // allow-by-default in clippy 1.95 (checked: silent without -W)
  category: 'style',
  defaultSeverity: 'hint',
  hasQuickFix: true,
  message: '`else { if … }` can be `else if …`',
  explanation: {
    what: 'An `else` block whose only content is another `if`.',
    why: '`else if` keeps the chain flat.',
    fix: 'Write `else if …` and drop the extra braces.',
    learnMore: [DOCS.ifExpr],
  },
  *check(ctx) {
    for (const clause of ctx.nodesOfType('else_clause')) {
      const block = namedKids(clause).find((c) => c.type === 'block');
      if (!block) continue;
      const inner = soleIf(block);
      if (!inner) continue;
      yield {
        node: clause,
        fix: {
          title: 'Write else if',
          edits: [{ start: block.startIndex, end: block.endIndex, newText: inner.text }],
        },
      };
    }
  },
});

/** `len()` with no arguments: the receiver, or undefined. */
function lenReceiver(node: Node): Node | undefined {
  const m = methodCall(unparen(node));
  return m && m.name === 'len' && m.args.length === 0 ? m.receiver : undefined;
}

export const lenZero = defineRule({
  id: 'len_zero',
  clippy: 'clippy::len_zero',
  clippyGroup: 'style',
  category: 'style',
  defaultSeverity: 'hint',
  hasQuickFix: true,
  message: 'length compared with zero: use `is_empty()`',
  explanation: {
    what: '`x.len() == 0`, `x.len() != 0`, `x.len() > 0` and their mirror images.',
    why: '`is_empty()` states the intent, and for some collections it is cheaper than counting.',
    fix: 'Write `x.is_empty()` or `!x.is_empty()`.',
    learnMore: [DOCS.isEmpty],
  },
  *check(ctx) {
    for (const bin of ctx.nodesOfType('binary_expression')) {
      const op = binaryOperator(bin);
      const left = field(bin, 'left');
      const right = field(bin, 'right');
      if (!op || !left || !right) continue;
      let recv: Node | undefined;
      let empty: boolean | undefined;
      const lRecv = lenReceiver(left);
      const rRecv = lenReceiver(right);
      if (lRecv && right.type === 'integer_literal') {
        recv = lRecv;
        const n = right.text;
        if (n === '0' && op === '==') empty = true;
        else if (n === '0' && (op === '!=' || op === '>')) empty = false;
        else if (n === '1' && op === '<') empty = true;
        else if (n === '1' && op === '>=') empty = false;
      } else if (rRecv && left.type === 'integer_literal') {
        recv = rRecv;
        const n = left.text;
        if (n === '0' && op === '==') empty = true;
        else if (n === '0' && (op === '!=' || op === '<')) empty = false;
        else if (n === '1' && op === '>') empty = true;
        else if (n === '1' && op === '<=') empty = false;
      }
      if (!recv || empty === undefined) continue;
      // the body of an `is_empty` itself has to be written with len()
      let fn: Node | null = bin.parent;
      while (fn && fn.type !== 'function_item') fn = fn.parent;
      if (fn && field(fn, 'name')?.text === 'is_empty') continue;
      // `self.len()`: clippy only lints when the type has an `is_empty`, which must then be in this impl
      if (recv.type === 'self') {
        let impl: Node | null = bin.parent;
        while (impl && impl.type !== 'impl_item') impl = impl.parent;
        const body = impl ? field(impl, 'body') : null;
        const hasIsEmpty = body
          ? namedKids(body).some((f) => f.type === 'function_item' && field(f, 'name')?.text === 'is_empty')
          : false;
        if (!hasIsEmpty) continue;
      }
      const newText = `${empty ? '' : '!'}${recv.text}.is_empty()`;
      yield {
        node: bin,
        fix: { title: `Write ${newText}`, edits: [{ start: bin.startIndex, end: bin.endIndex, newText }] },
      };
    }
  },
});

/** `x >= a` (or `a <= x`) → lower bound; `x < b` / `x <= b` (or mirrored) → upper bound. */
interface Bound {
  readonly item: string;
  readonly bound: Node;
  readonly kind: 'lower' | 'upper';
  readonly inclusive: boolean;
}

function asBound(node: Node): Bound | undefined {
  const bin = unparen(node);
  const op = binaryOperator(bin);
  const l = field(bin, 'left');
  const r = field(bin, 'right');
  if (!op || !l || !r) return undefined;
  const simple = (n: Node) => n.type === 'identifier' || n.type === 'field_expression';
  const flip: Record<string, string> = { '<': '>', '<=': '>=', '>': '<', '>=': '<=' };
  let item: Node;
  let bound: Node;
  let o: string;
  if (simple(l) && !simple(r)) [item, bound, o] = [l, r, op];
  else if (simple(r) && !simple(l)) [item, bound, o] = [r, l, flip[op] ?? ''];
  else if (simple(l) && simple(r)) [item, bound, o] = [l, r, op];
  else return undefined;
  if (o === '>=') return { item: item.text, bound, kind: 'lower', inclusive: true };
  if (o === '<') return { item: item.text, bound, kind: 'upper', inclusive: false };
  if (o === '<=') return { item: item.text, bound, kind: 'upper', inclusive: true };
  return undefined;
}

export const manualRangeContains = defineRule({
  id: 'manual_range_contains',
  clippy: 'clippy::manual_range_contains',
  clippyGroup: 'style',
  category: 'style',
  defaultSeverity: 'hint',
  hasQuickFix: true,
  message: 'manual range check: use `(a..b).contains(&x)`',
  explanation: {
    what: '`x >= a && x < b` (or `<= b`) checks whether `x` lies in a range.',
    why: '`(a..b).contains(&x)` names the range once, so the bounds cannot be mixed up.',
    fix: 'Write `(a..b).contains(&x)` or `(a..=b).contains(&x)`.',
    learnMore: [DOCS.rangeContains],
  },
  *check(ctx) {
    for (const bin of ctx.nodesOfType('binary_expression')) {
      if (binaryOperator(bin) !== '&&') continue;
      const l = field(bin, 'left');
      const r = field(bin, 'right');
      if (!l || !r) continue;
      const a = asBound(l);
      const b = asBound(r);
      if (!a || !b || a.item !== b.item) continue;
      const lower = a.kind === 'lower' ? a : b.kind === 'lower' ? b : undefined;
      const upper = a.kind === 'upper' ? a : b.kind === 'upper' ? b : undefined;
      if (!lower || !upper || lower === upper) continue;
      // Range::contains is not a const fn
      let fn: Node | null = bin.parent;
      while (fn && fn.type !== 'function_item') fn = fn.parent;
      if (fn && /^(pub(\([^)]*\))?\s+)?const\b/.test(fn.text)) continue;
      if (bin.parent?.type === 'binary_expression' && binaryOperator(bin.parent) === '&&') continue;
      const newText = `(${lower.bound.text}..${upper.inclusive ? '=' : ''}${upper.bound.text}).contains(&${lower.item})`;
      yield {
        node: bin,
        fix: { title: `Write ${newText}`, edits: [{ start: bin.startIndex, end: bin.endIndex, newText }] },
      };
    }
  },
});
