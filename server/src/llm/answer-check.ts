/**
 * Reads the code a model proposes before anyone sees it as a suggestion: every fenced Rust block (and
 * untagged block, since models often omit the tag) is parsed with tree-sitter, and constructs that widen
 * what the program may do — `unsafe`, `extern`, `include!`-family macros, process spawning — are flagged
 * when the user's own code did not already contain them. Flags make the answer a ManualReview; they do not
 * hide it, because "you would need unsafe here" can be the right lesson. Syntax, not substrings, so a
 * comment or a string saying "unsafe" is not a flag.
 */
import type { Node, Tree } from 'web-tree-sitter';
import { loadRustGrammar } from '../mentor/parser.js';

export type RiskKind = 'unsafe' | 'extern' | 'include' | 'process';

export interface CodeBlock {
  readonly lang: string;
  readonly code: string;
}

export interface AnswerCheck {
  readonly blocks: number;
  /** Risky constructs the answer adds (not in the user's code), each once, described for a person. */
  readonly flags: readonly string[];
  readonly added: readonly RiskKind[];
  /** Blocks that did not parse as Rust (flagged, not refused: the text may still teach). */
  readonly unparsed: number;
}

const FENCE = /^[ \t]*(`{3,}|~{3,})[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n([\s\S]*?)^[ \t]*\1[ \t]*$/gm;
const RUST_TAGS = new Set(['', 'rust', 'rs']);

export function codeBlocks(answer: string): CodeBlock[] {
  const out: CodeBlock[] = [];
  for (const m of answer.matchAll(FENCE)) {
    const lang = (m[2] ?? '').toLowerCase();
    if (RUST_TAGS.has(lang)) out.push({ lang, code: m[3] ?? '' });
  }
  return out;
}

const DESCRIPTIONS: Record<RiskKind, string> = {
  unsafe: 'adds `unsafe` code (block, fn, impl or trait)',
  extern: 'adds `extern` (an FFI block, an extern fn or `extern crate`)',
  include: 'adds `include!`/`include_str!`/`include_bytes!` (reads files at compile time)',
  process: 'adds process spawning (`std::process::Command`)',
};

function hasUnsafeKeyword(n: Node): boolean {
  for (const c of n.children) {
    if (!c) continue;
    if (c.type === 'unsafe') return true;
    if (c.type === 'function_modifiers' && /\bunsafe\b/.test(c.text)) return true;
  }
  return false;
}

function hasExternModifier(n: Node): boolean {
  for (const c of n.children)
    if (c?.type === 'function_modifiers' && c.children.some((m) => m?.type === 'extern_modifier'))
      return true;
  return false;
}

/** The risky constructs in one parsed tree. */
export function risksIn(tree: Tree): Set<RiskKind> {
  const found = new Set<RiskKind>();
  const stack: Node[] = [tree.rootNode];
  while (stack.length > 0) {
    const n = stack.pop();
    if (!n) continue;
    switch (n.type) {
      case 'unsafe_block':
        found.add('unsafe');
        break;
      case 'function_item':
      case 'function_signature_item':
      case 'impl_item':
      case 'trait_item':
        if (hasUnsafeKeyword(n)) found.add('unsafe');
        if (hasExternModifier(n)) found.add('extern');
        break;
      case 'foreign_mod_item':
      case 'extern_crate_declaration':
        found.add('extern');
        break;
      case 'macro_invocation': {
        const name = n.childForFieldName('macro')?.text ?? '';
        if (/(^|::)include(_str|_bytes)?$/.test(name)) found.add('include');
        break;
      }
      case 'scoped_identifier':
      case 'scoped_use_list':
      case 'use_declaration':
        if (/\bprocess\s*::\s*(\{[^}]*\b)?Command\b/.test(n.text) || /^Command\s*::\s*new$/.test(n.text))
          found.add('process');
        break;
    }
    for (const c of n.children) if (c) stack.push(c);
  }
  return found;
}

async function risksOfCode(code: string): Promise<{ risks: Set<RiskKind>; parsed: boolean }> {
  const grammar = await loadRustGrammar();
  const tree = grammar.parse(code);
  try {
    return { risks: risksIn(tree), parsed: !tree.rootNode.hasError };
  } finally {
    tree.delete();
  }
}

/** Checks an answer against the user's code (`original`: what they selected or the file). */
export async function checkAnswer(answer: string, original: string): Promise<AnswerCheck> {
  const blocks = codeBlocks(answer);
  const had = (await risksOfCode(original)).risks;
  const added = new Set<RiskKind>();
  let unparsed = 0;
  for (const b of blocks) {
    const r = await risksOfCode(b.code);
    if (!r.parsed) unparsed++;
    for (const k of r.risks) if (!had.has(k)) added.add(k);
  }
  const order: RiskKind[] = ['unsafe', 'extern', 'include', 'process'];
  const kinds = order.filter((k) => added.has(k));
  const flags = kinds.map((k) => DESCRIPTIONS[k]);
  if (unparsed > 0) flags.push(`${unparsed} code block(s) do not parse as Rust; read them with care`);
  return { blocks: blocks.length, flags, added: kinds, unparsed };
}
