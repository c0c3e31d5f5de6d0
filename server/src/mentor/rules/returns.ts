/** Function and block endings: a block's last expression is its value, so `return` and temporaries can go. */
import type { Node } from 'web-tree-sitter';
import { blockItems, containsComment, field, isComment, namedKids } from '../syntax.js';
import type { RuleHit } from '../types.js';
import { DOCS, defineRule } from './define.js';

/**
 * The `return`s in tail position of a block: its last item, and recursively the last items of the branches
 * of a tail `if`/`else` or `match`. Each is yielded with the statement that holds it (to remove the `;`).
 */
function* tailReturns(block: Node): Iterable<{ ret: Node; holder: Node }> {
  const items = blockItems(block);
  const last = items[items.length - 1];
  if (!last) return;
  if (last.type === 'return_expression') {
    yield { ret: last, holder: last };
    return;
  }
  if (last.type !== 'expression_statement') return;
  const expr = namedKids(last).find((c) => !isComment(c));
  if (!expr) return;
  const hasSemicolon = last.text.trimEnd().endsWith(';');
  if (expr.type === 'return_expression') {
    yield { ret: expr, holder: last };
    return;
  }
  if (hasSemicolon) return;
  yield* tailReturnsOfExpr(expr);
}

function* tailReturnsOfExpr(expr: Node): Iterable<{ ret: Node; holder: Node }> {
  if (expr.type === 'if_expression') {
    const alt = field(expr, 'alternative');
    if (!alt) return; // without else, the `if` is not the value of the block
    const then = field(expr, 'consequence');
    if (then) yield* tailReturns(then);
    for (const c of namedKids(alt)) {
      if (c.type === 'block') yield* tailReturns(c);
      else if (c.type === 'if_expression') yield* tailReturnsOfExpr(c);
    }
  } else if (expr.type === 'match_expression') {
    const body = field(expr, 'body');
    for (const arm of body ? namedKids(body) : []) {
      if (arm.type !== 'match_arm') continue;
      const value = field(arm, 'value');
      if (value?.type === 'block') yield* tailReturns(value);
      else if (value?.type === 'return_expression') yield { ret: value, holder: value };
    }
  } else if (expr.type === 'block') {
    yield* tailReturns(expr);
  }
}

export const needlessReturn = defineRule({
  id: 'needless_return',
  clippy: 'clippy::needless_return',
  clippyGroup: 'style',
  category: 'style',
  defaultSeverity: 'hint',
  hasQuickFix: true,
  message: 'unneeded `return`: the last expression of a function is its value',
  explanation: {
    what: 'A `return` at the very end of a function body (or at the end of its last `if`/`match` branches).',
    why: 'In Rust a block evaluates to its final expression; idiomatic code keeps `return` for early exits, so a trailing one makes readers look for an early exit that is not there.',
    fix: 'Drop `return` and the semicolon: end the body with the expression.',
    learnMore: [DOCS.functions, DOCS.blockExpr, DOCS.returnExpr],
  },
  *check(ctx) {
    for (const fn of ctx.nodesOfType('function_item', 'closure_expression')) {
      const body = field(fn, 'body');
      if (!body || body.type !== 'block') continue;
      for (const { ret, holder } of tailReturns(body)) {
        if (containsComment(holder)) continue;
        const value = namedKids(ret).find((c) => !isComment(c));
        // `return` in a unit function: the whole statement goes
        const newText = value ? value.text : '';
        const hit: RuleHit = {
          node: ret,
          fix: {
            title: value ? 'Remove return' : 'Remove the return statement',
            edits: [{ start: holder.startIndex, end: holder.endIndex, newText }],
          },
        };
        yield hit;
      }
    }
  },
});

/** Calls whose result may borrow from a temporary that the block's end drops (clippy stays silent on them). */
const BORROWING =
  /\.(lock|borrow|borrow_mut|read|write|as_ref|as_mut|iter|iter_mut|get|get_mut|chars|bytes|lines)\s*\(/;

export const letAndReturn = defineRule({
  id: 'let_and_return',
  clippy: 'clippy::let_and_return',
  clippyGroup: 'style',
  category: 'style',
  defaultSeverity: 'hint',
  hasQuickFix: true,
  message: '`let x = …; x` at the end of a block: return the expression directly',
  explanation: {
    what: 'A block that binds a value to a name and then only returns that name.',
    why: 'The binding adds a name without adding meaning; the block can end with the expression itself.',
    fix: 'Replace `let x = expr; x` with `expr`.',
    learnMore: [DOCS.blockExpr, DOCS.functions],
  },
  *check(ctx) {
    for (const block of ctx.nodesOfType('block')) {
      const items = namedKids(block);
      const tail = items[items.length - 1];
      const prev = items[items.length - 2];
      if (!tail || !prev || tail.type !== 'identifier' || prev.type !== 'let_declaration') continue;
      const pattern = field(prev, 'pattern');
      const value = field(prev, 'value');
      if (!pattern || !value || pattern.type !== 'identifier' || pattern.text !== tail.text) continue;
      if (field(prev, 'type') || field(prev, 'alternative') || prev.text.includes('else')) continue;
      if (prev.previousNamedSibling?.type === 'attribute_item' || containsComment(prev)) continue;
      if (BORROWING.test(value.text) || value.type === 'macro_invocation') continue;
      yield {
        node: prev,
        start: prev.startIndex,
        end: tail.endIndex,
        fix: {
          title: 'Return the expression directly',
          edits: [{ start: prev.startIndex, end: tail.endIndex, newText: value.text }],
        },
      };
    }
  },
});
