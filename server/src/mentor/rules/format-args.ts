/** Reading the arguments of format-like macros (`println!("{}", x)`) from their token trees. */
import type { Node } from 'web-tree-sitter';
import { kids, macroName, macroPath, tokenTree } from '../syntax.js';

export interface FormatCall {
  readonly invocation: Node;
  readonly name: string;
  /** The top-level arguments, each a run of tokens; the first is the format string when there is one. */
  readonly args: readonly (readonly Node[])[];
  readonly tree: Node;
}

const PRINT_MACROS = new Set(['print', 'println', 'eprint', 'eprintln']);

/** `print!`/`println!`/`eprint!`/`eprintln!` from std (bare or `std::`-qualified), split at top-level commas. */
export function printCall(node: Node): FormatCall | undefined {
  const name = macroName(node);
  if (!name || !PRINT_MACROS.has(name)) return undefined;
  const path = macroPath(node) ?? '';
  if (path !== name && !/^(::)?std::/.test(path)) return undefined;
  const tree = tokenTree(node);
  if (!tree) return undefined;
  const inner = kids(tree).slice(1, -1); // drop the delimiters
  const args: Node[][] = [];
  let cur: Node[] = [];
  for (const tok of inner) {
    if (tok.type === ',') {
      args.push(cur);
      cur = [];
    } else if (tok.type !== 'line_comment' && tok.type !== 'block_comment') cur.push(tok);
  }
  if (cur.length > 0) args.push(cur);
  return { invocation: node, name, args, tree };
}

/** The single plain (non-raw, non-byte) string literal an argument consists of, if it is one. */
export function plainString(arg: readonly Node[] | undefined): Node | undefined {
  if (!arg || arg.length !== 1) return undefined;
  const n = arg[0];
  return n && n.type === 'string_literal' && n.text.startsWith('"') ? n : undefined;
}

/**
 * The placeholders of a format string's source text (between the quotes), or undefined when it has
 * something this reader does not understand (unbalanced braces).
 */
export function placeholders(body: string): string[] | undefined {
  const out: string[] = [];
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === '{') {
      if (body[i + 1] === '{') {
        i++;
        continue;
      }
      const close = body.indexOf('}', i);
      if (close < 0) return undefined;
      out.push(body.slice(i + 1, close));
      i = close;
    } else if (c === '}') {
      if (body[i + 1] === '}') i++;
      else return undefined;
    }
  }
  return out;
}
