/**
 * rustc / clippy diagnostics → findings in RustMentor's coordinates, grouped by file. A diagnostic is shown
 * once, at its primary span in the user's code; its MachineApplicable suggestions (the ones
 * `cargo clippy --fix` would apply) become a quick fix. What it says about other places becomes related
 * spans, as rust-analyzer maps them: each labelled secondary span ("value moved here") with its label, each
 * note/help child that has a span with its text. A child without a span ("`#[warn(…)]` on by default") is a
 * line of the message, as is one whose span lies outside the workspace (std, the registry): its words still
 * help, a location the user cannot open does not.
 */
import path from 'node:path';
import type { QuickFix, Range, Severity, TextEdit } from '../types.js';
import type { CompilerMessage, RustcDiagnostic, RustcSpan } from './rustc-json.js';
import { isInside, SourceText, spanFile, spanRange, userSpan } from './spans.js';

/** Another place a diagnostic speaks of, in the workspace. */
export interface RelatedSpan {
  /** An absolute path. */
  readonly file: string;
  readonly range: Range;
  /** A secondary span's label, or a child's `level: message` (with its suggestion, when it has one). */
  readonly message: string;
  /** A secondary span's label reads as a note once it is written inline. */
  readonly kind: 'label' | 'child';
}

/** Enough to point at every place without burying the diagnostic (rustc rarely gives more than five). */
export const MAX_RELATED = 20;

/** One thing cargo reported, shaped like RustMentor's `Finding` (no category: the compiler has none). */
export interface CompilerFinding {
  readonly source: 'clippy' | 'rustc';
  /** `clippy::len_zero`, a rustc error code (`E0382`) or a rustc lint (`unused_variables`). */
  readonly ruleId: string;
  /** The clippy lint (`clippy::…`) when it is one, else null. */
  readonly clippy: string | null;
  readonly severity: Severity;
  /** The diagnostic's message, then its primary label and the notes and help that have no place, one a line. */
  readonly message: string;
  readonly range: Range;
  /** The other places the diagnostic speaks of, in order, each once, at most `MAX_RELATED`. */
  readonly related: readonly RelatedSpan[];
  readonly fix?: QuickFix;
}

/** Findings of one file (an absolute path). */
export type FindingsByFile = Map<string, CompilerFinding[]>;

/** Reads a file's text for span mapping; null when it cannot be read (the span is then dropped). */
export type ReadSource = (file: string) => string | null;

const SEVERITY: Readonly<Record<string, Severity>> = {
  error: 'error',
  'error: internal compiler error': 'error',
  warning: 'warning',
  note: 'information',
  help: 'hint',
};

/** The clippy page every lint has (rustc's own lints have none of this shape). */
export function clippyLintUrl(lint: string): string {
  return `https://rust-lang.github.io/rust-clippy/master/index.html#${lint.replace(/^clippy::/, '')}`;
}

export function errorCodeUrl(code: string): string {
  return `https://doc.rust-lang.org/error_codes/${code}.html`;
}

function childLine(child: RustcDiagnostic): string | null {
  // clippy's "for further information visit <url>": the URL is given as the finding's citation instead
  if (/^for further information visit /.test(child.message)) return null;
  const replacements = child.spans
    .map((s) => s.suggested_replacement)
    .filter((r): r is string => r !== null && r !== '');
  const suggestion = replacements.length === 1 ? `: \`${replacements[0]}\`` : '';
  return `${child.level}: ${child.message}${suggestion}`;
}

/** Where a span is in the user's code, or null when it is not (a toolchain or registry file, unreadable). */
type Locate = (span: RustcSpan) => { file: string; range: Range } | null;

/** The related spans of a diagnostic, and the child lines that found no place among them. */
function relatedOf(diag: RustcDiagnostic, locate: Locate): { related: RelatedSpan[]; lines: string[] } {
  const related: RelatedSpan[] = [];
  const lines: string[] = [];
  const seen = new Set<string>();
  const add = (r: RelatedSpan): void => {
    const key = `${r.file}\0${r.range.start.line}:${r.range.start.character}-${r.range.end.line}:${r.range.end.character}\0${r.message}`;
    if (seen.has(key) || related.length >= MAX_RELATED) return;
    seen.add(key);
    related.push(r);
  };
  for (const s of diag.spans) {
    if (s.is_primary || !s.label) continue;
    const at = locate(s);
    if (at) add({ ...at, message: s.label, kind: 'label' });
  }
  for (const child of diag.children) {
    const line = childLine(child);
    if (!line) continue;
    const first = child.spans.find((s) => s.is_primary) ?? child.spans[0];
    const at = first ? locate(first) : null;
    if (at) add({ ...at, message: line, kind: 'child' });
    else lines.push(line);
  }
  return { related, lines };
}

/**
 * A finding's message with its related spans written in, for a reader that cannot show them apart (the
 * CLI, an editor without `relatedInformation`): `note: value moved here (6:17)`, with the file named, relative
 * to the finding's own, when it is another.
 */
export function messageWithRelated(f: CompilerFinding, file: string): string {
  const lines = [f.message];
  for (const r of f.related) {
    const where = `${r.range.start.line + 1}:${r.range.start.character + 1}`;
    const other =
      r.file === file ? '' : `${path.relative(path.dirname(file), r.file).split(path.sep).join('/')}:`;
    lines.push(`${r.kind === 'label' ? 'note: ' : ''}${r.message} (${other}${where})`);
  }
  return lines.join('\n');
}

function quickFix(diag: RustcDiagnostic, file: string, root: string, src: SourceText): QuickFix | undefined {
  for (const child of diag.children) {
    const spans = child.spans.filter(
      (s) => s.suggested_replacement !== null && s.suggestion_applicability === 'MachineApplicable',
    );
    if (spans.length === 0) continue;
    // an edit elsewhere (another file, a macro's definition) cannot travel in this file's quick fix
    if (spans.some((s) => s.expansion || spanFile(s, root) !== file)) continue;
    const edits: TextEdit[] = spans.map((s) => ({
      range: spanRange(s, src),
      newText: s.suggested_replacement ?? '',
    }));
    return { title: child.message.charAt(0).toUpperCase() + child.message.slice(1), edits };
  }
  return undefined;
}

function primarySpan(diag: RustcDiagnostic): RustcSpan | undefined {
  return diag.spans.find((s) => s.is_primary) ?? diag.spans[0];
}

function ruleIdOf(diag: RustcDiagnostic): string {
  return diag.code?.code ?? 'rustc';
}

/**
 * The findings of cargo's compiler messages for a workspace. `--all-targets` compiles a library twice (as
 * itself and as its test harness), so the same diagnostic arrives twice: each is kept once.
 */
export function compilerFindings(
  messages: readonly CompilerMessage[],
  workspaceRoot: string,
  readSource: ReadSource,
): FindingsByFile {
  const sources = new Map<string, SourceText | null>();
  const sourceOf = (file: string): SourceText | null => {
    if (!sources.has(file)) {
      const text = readSource(file);
      sources.set(file, text === null ? null : new SourceText(text));
    }
    return sources.get(file) ?? null;
  };
  const out: FindingsByFile = new Map();
  const seen = new Set<string>();
  for (const { diagnostic: diag } of messages) {
    const severity = SEVERITY[diag.level];
    const primary = primarySpan(diag);
    if (!severity || !primary) continue; // "aborting due to…" and other span-less summaries
    const span = userSpan(primary, workspaceRoot);
    if (!span) continue;
    const file = spanFile(span, workspaceRoot);
    const src = sourceOf(file);
    if (!src) continue;
    const range = spanRange(span, src);
    const ruleId = ruleIdOf(diag);
    const lines = [diag.message];
    if (span !== primary && primary.label) lines.push(`note: ${primary.label} (in a macro expansion)`);
    else if (primary.label) lines.push(`note: ${primary.label}`);
    const { related, lines: unplaced } = relatedOf(diag, (s) => {
      const at = userSpan(s, workspaceRoot);
      if (!at) return null;
      const f = spanFile(at, workspaceRoot);
      const text = isInside(f, workspaceRoot) ? sourceOf(f) : null;
      return text ? { file: f, range: spanRange(at, text) } : null;
    });
    lines.push(...unplaced);
    const message = lines.join('\n');
    const key = `${file}\0${ruleId}\0${range.start.line}:${range.start.character}-${range.end.line}:${range.end.character}\0${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const fix = quickFix(diag, file, workspaceRoot, src);
    const isClippy = ruleId.startsWith('clippy::');
    const finding: CompilerFinding = {
      source: isClippy ? 'clippy' : 'rustc',
      ruleId,
      clippy: isClippy ? ruleId : null,
      severity,
      message,
      range,
      related,
      ...(fix ? { fix } : {}),
    };
    const list = out.get(file) ?? [];
    list.push(finding);
    out.set(file, list);
  }
  return out;
}
