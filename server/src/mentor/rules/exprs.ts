/** Building replacement source text for quick fixes. */
import type { Node } from 'web-tree-sitter';

/** Expressions that can take a prefix `!` or be an operand of `&&` without parentheses. */
const ATOMIC = new Set([
  'identifier',
  'field_expression',
  'call_expression',
  'macro_invocation',
  'index_expression',
  'parenthesized_expression',
  'boolean_literal',
  'scoped_identifier',
  'self',
  'unary_expression',
  'try_expression',
  'integer_literal',
  'string_literal',
  'char_literal',
  'await_expression',
]);

export function isAtomic(node: Node): boolean {
  return ATOMIC.has(node.type);
}

/** `!expr`, parenthesized when needed. */
export function negate(node: Node): string {
  return isAtomic(node) ? `!${node.text}` : `!(${node.text})`;
}

/** An operand of `&&`: comparisons and `&&` chains bind tighter; `||`, ranges, assignments do not. */
export function andOperand(node: Node): string {
  if (isAtomic(node)) return node.text;
  if (node.type === 'binary_expression') {
    const op = node.childForFieldName('operator')?.text ?? '';
    if (['==', '!=', '<', '<=', '>', '>=', '&&'].includes(op)) return node.text;
  }
  return `(${node.text})`;
}
