/**
 * RustMentor's analysis entry point: parse (or take a parsed tree), run every enabled rule, drop findings
 * that test-code policy or suppressions silence, and return them sorted. Pure: no I/O, no LSP.
 */
import type { Tree } from 'web-tree-sitter';
import { innerAttributes, lintLevels } from './attributes.js';
import type { LintLevel } from './attributes.js';
import { FileContext, isTestPath } from './context.js';
import { rustGrammarIfLoaded } from './parser.js';
import { positionAt } from './positions.js';
import { RULES } from './rules/index.js';
import type { CrateKind, Finding, Rule, Severity } from './types.js';

export interface AnalyzeOptions {
  /** The file's path (any separator); `tests/`, `benches/`, `examples/` make it test code, `main.rs` a bin. */
  readonly path?: string;
  /** Force the whole file to be (or not be) test code, whatever its path says. */
  readonly isTestFile?: boolean;
  /** Library or binary crate; `unknown` (default) is guessed from the path, and print_stdout stays silent. */
  readonly crateKind?: CrateKind;
  /** `relaxed` (default): unwrap, expect, panic, … are allowed in test code; `normal`: treat it like any code;
   * `skip`: report nothing in test code (what `cargo clippy` without `--tests` sees). */
  readonly testCode?: 'relaxed' | 'normal' | 'skip';
  /** Whether the file's module is public (reachable from other crates); default: only for a `lib.rs`. Rules
   * about public API (missing_safety_doc) stay silent when this is not known to be true. */
  readonly moduleExported?: boolean;
  /** `skip`: report nothing under `#[cfg(…)]` gates (other than `cfg(test)`), which the build being compared
   * with (clippy's) may not compile. Default `analyze`. */
  readonly cfgGated?: 'analyze' | 'skip';
  /** Lint levels set outside this file, e.g. by the crate root's `#![allow(clippy::x)]` (see
   * `crateLintLevels`); the file's own attributes win over them. */
  readonly inheritedLints?: ReadonlyMap<string, LintLevel>;
  /** Rule ids to run (default: all). */
  readonly rules?: readonly string[];
  /** Rule ids to leave out. */
  readonly disabledRules?: readonly string[];
  /** Severity overrides by rule id. */
  readonly severities?: Readonly<Record<string, Severity>>;
}

/**
 * Analyses one Rust file. The grammar must have been loaded (`await loadRustGrammar()`); this is the only
 * exception it throws. Any text, parseable or not, yields findings (possibly none).
 */
export function analyzeRust(source: string, opts: AnalyzeOptions = {}): Finding[] {
  const grammar = rustGrammarIfLoaded();
  if (!grammar) throw new Error('RustMentor: call `await loadRustGrammar()` before analyzeRust()');
  const tree = grammar.parse(source);
  try {
    return analyzeTree(tree, source, opts);
  } finally {
    tree.delete();
  }
}

/** Analyses an already parsed tree of `source` (a RustDocument's, for instance). The tree is not deleted. */
export function analyzeTree(tree: Tree, source: string, opts: AnalyzeOptions = {}): Finding[] {
  const wholeFileIsTest = opts.isTestFile ?? isTestPath(opts.path);
  const crateKind = resolveCrateKind(opts);
  const exported = opts.moduleExported ?? /(^|[\\/])lib\.rs$/.test(opts.path ?? '');
  const ctx = new FileContext(
    source,
    tree,
    crateKind,
    opts.path,
    wholeFileIsTest,
    exported,
    opts.inheritedLints,
  );
  const policy = opts.testCode ?? 'relaxed';
  const only = opts.rules ? new Set(opts.rules) : undefined;
  const off = new Set(opts.disabledRules ?? []);
  const findings: Finding[] = [];
  const seen = new Set<string>();
  for (const rule of RULES) {
    if ((only && !only.has(rule.id)) || off.has(rule.id)) continue;
    for (const hit of safeCheck(rule, ctx)) {
      if (
        policy !== 'normal' &&
        (policy === 'skip' || rule.testCode === 'relaxed') &&
        ctx.isTestCode(hit.node)
      )
        continue;
      if (opts.cfgGated === 'skip' && ctx.isCfgGated(hit.node)) continue;
      const start = hit.start ?? hit.node.startIndex;
      const end = hit.end ?? hit.node.endIndex;
      const range = { start: positionAt(ctx.lineStarts, start), end: positionAt(ctx.lineStarts, end) };
      if (ctx.isSuppressed(rule, hit.node, range.start.line)) continue;
      const key = `${rule.id}@${start}-${end}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const fix = hit.fix && {
        title: hit.fix.title,
        edits: hit.fix.edits.map((e) => ({
          range: { start: positionAt(ctx.lineStarts, e.start), end: positionAt(ctx.lineStarts, e.end) },
          newText: e.newText,
        })),
      };
      findings.push({
        ruleId: rule.id,
        clippy: rule.clippy ?? null,
        category: rule.category,
        severity: opts.severities?.[rule.id] ?? rule.defaultSeverity,
        message: hit.message ?? rule.message,
        range,
        ...(fix ? { fix } : {}),
      });
    }
  }
  return findings.sort(compareFindings);
}

/** A rule that throws on some odd tree loses its findings for this file; the others still run. */
function safeCheck(
  rule: Rule,
  ctx: FileContext,
): ReturnType<Rule['check']> extends Iterable<infer H> ? H[] : never {
  try {
    return [...rule.check(ctx)];
  } catch {
    return [];
  }
}

/**
 * The lint levels a crate root (lib.rs, main.rs) sets for the whole crate with `#![allow(…)]`,
 * `#![expect(…)]`, `#![warn(…)]`…: pass them as `inheritedLints` when analysing the crate's other files.
 */
export function crateLintLevels(rootSource: string): Map<string, LintLevel> {
  const grammar = rustGrammarIfLoaded();
  if (!grammar) throw new Error('RustMentor: call `await loadRustGrammar()` before crateLintLevels()');
  const tree = grammar.parse(rootSource);
  try {
    const levels = new Map<string, LintLevel>();
    for (const attr of innerAttributes(tree.rootNode))
      for (const [k, v] of lintLevels(attr)) levels.set(k, v);
    return levels;
  } finally {
    tree.delete();
  }
}

function resolveCrateKind(opts: AnalyzeOptions): CrateKind {
  if (opts.crateKind && opts.crateKind !== 'unknown') return opts.crateKind;
  const p = (opts.path ?? '').replace(/\\/g, '/');
  if (/(^|\/)(main|build)\.rs$/.test(p) || /(^|\/)src\/bin\//.test(p)) return 'bin';
  if (/(^|\/)lib\.rs$/.test(p)) return 'lib';
  return 'unknown';
}

export function compareFindings(a: Finding, b: Finding): number {
  return (
    a.range.start.line - b.range.start.line ||
    a.range.start.character - b.range.start.character ||
    a.range.end.line - b.range.end.line ||
    a.range.end.character - b.range.end.character ||
    (a.ruleId < b.ruleId ? -1 : a.ruleId > b.ruleId ? 1 : 0)
  );
}

export { RULES, ruleById } from './rules/index.js';
export { loadRustGrammar } from './parser.js';
export type { Finding, Rule } from './types.js';
export type { LintLevel } from './attributes.js';
