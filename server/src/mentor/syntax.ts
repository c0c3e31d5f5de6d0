/** Small helpers over web-tree-sitter nodes (0.25: children may be null, so they are filtered here). */
import type { Node } from 'web-tree-sitter';

export function kids(node: Node): Node[] {
  return node.children.filter((c): c is Node => c !== null);
}

export function namedKids(node: Node): Node[] {
  return node.namedChildren.filter((c): c is Node => c !== null);
}

/** Descendants of these types, in document order (nulls dropped). */
export function descendants(node: Node, types: string | string[]): Node[] {
  return node.descendantsOfType(types).filter((c): c is Node => c !== null);
}

export function field(node: Node, name: string): Node | null {
  return node.childForFieldName(name);
}

export function isComment(node: Node): boolean {
  return node.type === 'line_comment' || node.type === 'block_comment';
}

/** The name of a macro invocation's macro, last path segment only (`std::println!` → `println`). */
export function macroName(node: Node): string | undefined {
  if (node.type !== 'macro_invocation') return undefined;
  const m = field(node, 'macro');
  if (!m) return undefined;
  if (m.type === 'scoped_identifier') return field(m, 'name')?.text;
  return m.text;
}

/** The full path of a macro invocation's macro as written (`std::println`). */
export function macroPath(node: Node): string | undefined {
  return field(node, 'macro')?.text;
}

export function tokenTree(node: Node): Node | undefined {
  return namedKids(node).find((c) => c.type === 'token_tree');
}

export interface MethodCall {
  readonly call: Node;
  readonly receiver: Node;
  readonly name: string;
  readonly nameNode: Node;
  readonly args: Node[];
  /** The `arguments` node, to know its extent. */
  readonly argList: Node;
}

/** `receiver.name(args)` (turbofish included: `x.parse::<u8>()`), or undefined. */
export function methodCall(node: Node): MethodCall | undefined {
  if (node.type !== 'call_expression') return undefined;
  let fn = field(node, 'function');
  const argList = field(node, 'arguments');
  if (!fn || !argList) return undefined;
  if (fn.type === 'generic_function') fn = field(fn, 'function');
  if (!fn || fn.type !== 'field_expression') return undefined;
  const receiver = field(fn, 'value');
  const nameNode = field(fn, 'field');
  if (!receiver || !nameNode || nameNode.type !== 'field_identifier') return undefined;
  const args = namedKids(argList).filter((c) => !isComment(c) && c.type !== 'attribute_item');
  return { call: node, receiver, name: nameNode.text, nameNode, args, argList };
}

/** The nearest ancestor (excluding the node itself) of one of these types. */
export function ancestorOfType(node: Node, ...types: string[]): Node | undefined {
  for (let p = node.parent; p; p = p.parent) if (types.includes(p.type)) return p;
  return undefined;
}

/** The innermost function-like ancestor: a fn, a closure or an async block (a new body). */
export function enclosingBody(node: Node): Node | undefined {
  return ancestorOfType(node, 'function_item', 'closure_expression', 'async_block', 'const_block');
}

/** Whether the text has a comment anywhere inside the node (tree-sitter keeps comments as nodes). */
export function containsComment(node: Node): boolean {
  return descendants(node, ['line_comment', 'block_comment']).length > 0;
}

/** The statements/expressions of a block, comments excluded. */
export function blockItems(block: Node): Node[] {
  return namedKids(block).filter((c) => !isComment(c));
}

/** The last expression of a block (its value), or undefined when the block ends with a `;`. */
export function tailExpression(block: Node): Node | undefined {
  const items = blockItems(block);
  const last = items[items.length - 1];
  if (!last) return undefined;
  if (last.type.endsWith('_statement') || last.type.endsWith('_declaration') || last.type.endsWith('_item'))
    return undefined;
  return last;
}

/** Unwraps `( … )` around an expression. */
export function unparen(node: Node): Node {
  let n = node;
  while (n.type === 'parenthesized_expression') {
    const inner = namedKids(n).find((c) => !isComment(c));
    if (!inner) break;
    n = inner;
  }
  return n;
}

/** The operator of a binary_expression (`==`, `&&`, …). */
export function binaryOperator(node: Node): string | undefined {
  if (node.type !== 'binary_expression') return undefined;
  return field(node, 'operator')?.text;
}

/** The text of a simple string literal's contents if it has no escapes or only these simple ones. */
export function stringLiteralValue(node: Node): string | undefined {
  if (node.type !== 'string_literal') return undefined;
  const raw = node.text;
  if (!raw.startsWith('"') || !raw.endsWith('"') || raw.length < 2) return undefined;
  const body = raw.slice(1, -1);
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = body[++i];
    const simple: Record<string, string> = {
      n: '\n',
      t: '\t',
      r: '\r',
      '0': '\0',
      '\\': '\\',
      '"': '"',
      "'": "'",
    };
    if (e !== undefined && e in simple) out += simple[e];
    else return undefined; // \u{…}, \x…, line continuations: not needed by the rules
  }
  return out;
}
