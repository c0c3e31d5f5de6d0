/**
 * Code actions for RustMentor findings: the rule's quick fix, "allow here", and the client-side commands
 * (explain, ask, not helpful). Pure: it takes the document's text and tree and returns LSP objects.
 */
import { createHash } from 'node:crypto';
import { CodeActionKind, type CodeAction, type Command, type TextEdit } from 'vscode-languageserver';
import type { Node, Tree } from 'web-tree-sitter';
import {
  MENTOR_COMMANDS,
  type AskArgs,
  type ExplainArgs,
  type FixAppliedArgs,
  type NotHelpfulArgs,
} from '../../../shared/src/mentor.js';
import { ruleById } from '../mentor/rules/index.js';
import { lineStarts, offsetAt } from '../mentor/positions.js';
import type { Finding, Range, Rule } from '../mentor/types.js';
import type { CitationProvider } from './citations.js';
import { toDiagnostic } from './diagnostics.js';
import { explanationMarkdown } from './markdown.js';

/** Nodes a `#[allow(…)]` attribute can sit on and that context.ts reads outer attributes of. */
const ITEM_TYPES = new Set([
  'function_item',
  'impl_item',
  'trait_item',
  'mod_item',
  'struct_item',
  'enum_item',
  'union_item',
  'const_item',
  'static_item',
  'type_item',
  'use_declaration',
  'macro_definition',
]);

export interface ActionDocument {
  readonly uri: string;
  readonly text: string;
  readonly tree: Tree;
  /** The version the findings are of; the quick fixes name the diagnostics they resolve. */
  readonly version: number;
}

/** Whether an action of `kind` was asked for: LSP's `only` is a list of kind prefixes (`quickfix`, `source`). */
export function kindRequested(kind: string, only: readonly string[] | undefined): boolean {
  if (!only || only.length === 0) return true;
  return only.some((o) => kind === o || (o !== '' && kind.startsWith(`${o}.`)));
}

export function rangesOverlap(a: Range, b: Range): boolean {
  const before = (p: Range['start'], q: Range['start']): boolean =>
    p.line < q.line || (p.line === q.line && p.character < q.character);
  return !before(a.end, b.start) && !before(b.end, a.start);
}

function textOf(doc: ActionDocument, range: Range): string {
  const starts = lineStarts(doc.text);
  return doc.text.slice(offsetAt(doc.text, starts, range.start), offsetAt(doc.text, starts, range.end));
}

function indentOf(text: string, starts: readonly number[], line: number): string {
  const from = starts[line] ?? text.length;
  return /^[ \t]*/.exec(text.slice(from))?.[0] ?? '';
}

function enclosingItem(tree: Tree, offset: number): Node | null {
  for (let n: Node | null = tree.rootNode.descendantForIndex(offset); n; n = n.parent)
    if (ITEM_TYPES.has(n.type)) return n;
  return null;
}

/**
 * The edit that silences `rule` for this finding: `#[allow(clippy::lint)]` above the enclosing item when clippy
 * has the lint (rustc and clippy honour it too), otherwise a `// rustmentor: allow(rule)` comment on the line
 * above the finding, which context.ts reads for the line below it.
 */
export function allowEdit(
  doc: ActionDocument,
  rule: Rule,
  finding: Finding,
): { title: string; edit: TextEdit } {
  const starts = lineStarts(doc.text);
  const item = rule.clippy ? enclosingItem(doc.tree, offsetAt(doc.text, starts, finding.range.start)) : null;
  if (rule.clippy && item) {
    const line = item.startPosition.row;
    return {
      title: `Allow \`${rule.clippy}\` on this item`,
      edit: {
        range: { start: { line, character: 0 }, end: { line, character: 0 } },
        newText: `${indentOf(doc.text, starts, line)}#[allow(${rule.clippy})]\n`,
      },
    };
  }
  const line = finding.range.start.line;
  return {
    title: `Allow \`${rule.id}\` here`,
    edit: {
      range: { start: { line, character: 0 }, end: { line, character: 0 } },
      newText: `${indentOf(doc.text, starts, line)}// rustmentor: allow(${rule.id})\n`,
    },
  };
}

function command<T>(title: string, name: string, args: T): Command {
  return { title, command: name, arguments: [args] };
}

export function codeActionsFor(
  doc: ActionDocument,
  findings: readonly Finding[],
  range: Range,
  citations: CitationProvider,
  only?: readonly string[],
): CodeAction[] {
  const actions: CodeAction[] = [];
  for (const finding of findings) {
    if (!rangesOverlap(finding.range, range)) continue;
    const diagnostics = [toDiagnostic(finding, doc.version, citations)];
    const rule = ruleById(finding.ruleId);
    if (!rule) continue;
    const text = textOf(doc, finding.range);
    if (finding.fix) {
      const fixed: FixAppliedArgs = {
        uri: doc.uri,
        ruleId: rule.id,
        range: finding.range,
        contentHash: createHash('sha256').update(text).digest('hex'),
      };
      actions.push({
        title: finding.fix.title,
        kind: CodeActionKind.QuickFix,
        diagnostics,
        isPreferred: true,
        edit: {
          changes: { [doc.uri]: finding.fix.edits.map((e) => ({ range: e.range, newText: e.newText })) },
        },
        command: command('Record the accepted fix', MENTOR_COMMANDS.fixApplied, fixed),
      });
    }
    const allow = allowEdit(doc, rule, finding);
    actions.push({
      title: allow.title,
      kind: CodeActionKind.QuickFix,
      diagnostics,
      edit: { changes: { [doc.uri]: [allow.edit] } },
    });
    const explain: ExplainArgs = {
      ruleId: rule.id,
      markdown: explanationMarkdown(rule, citations.citationsFor(rule.id), finding.message),
    };
    actions.push({
      title: `Explain \`${rule.id}\`…`,
      kind: CodeActionKind.Empty,
      command: command(`Explain ${rule.id}`, MENTOR_COMMANDS.explain, explain),
    });
    const ask: AskArgs = { uri: doc.uri, ruleId: rule.id, range: finding.range, text };
    actions.push({
      title: `Ask RustMentor about \`${rule.id}\``,
      kind: CodeActionKind.Empty,
      command: command('Ask RustMentor', MENTOR_COMMANDS.ask, ask),
    });
    const notHelpful: NotHelpfulArgs = { uri: doc.uri, ruleId: rule.id, range: finding.range };
    actions.push({
      title: `RustMentor: \`${rule.id}\` was not helpful here`,
      kind: CodeActionKind.Empty,
      command: command('Not helpful', MENTOR_COMMANDS.notHelpful, notHelpful),
    });
  }
  return actions.filter((a) => kindRequested(a.kind ?? '', only));
}
