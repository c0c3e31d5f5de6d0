/**
 * What `sigil mentor` found, as data: RustMentor's analysis of each file (with the crate root's lint
 * levels, and its path relative to the package so test code is recognised), merged with one cargo clippy
 * run per workspace when asked. Printing is elsewhere; a later `--record` stores this same object.
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { SigilError } from '../../../shared/src/errors.js';
import { analyzeRust, crateLintLevels, loadRustGrammar, ruleById } from '../mentor/analyze.js';
import type { LintLevel } from '../mentor/analyze.js';
import type { Range, Severity } from '../mentor/types.js';
import { detectToolchain } from '../mentor/cargo/detect.js';
import { nearestManifestDir, workspaceRoot } from '../mentor/cargo/workspace.js';
import { startCargoRun } from '../mentor/cargo/run.js';
import { mergeFindings, type MergedFinding } from '../mentor/cargo/merge.js';
import { messageWithRelated, type CompilerFinding } from '../mentor/cargo/findings.js';
import { CompilerExplainer, compilerRuleUrl } from '../mentor/cargo/explain.js';
import { collectRustFiles } from './mentor-files.js';

export interface MentorCitation {
  readonly title: string;
  readonly url: string;
  /** A local documentation file for the page; null when the citation is the URL alone (always, for now). */
  readonly path: string | null;
}

export interface MentorFix {
  readonly title: string;
  readonly edits: readonly { readonly range: Range; readonly newText: string }[];
}

export interface MentorDiagnostic {
  /** Relative to the working directory, `/`-separated. */
  readonly file: string;
  /** LSP coordinates: 0-based lines, UTF-16 characters. */
  readonly range: Range;
  /** RustMentor's rule id, or the compiler's (`clippy::len_zero`, `E0382`, `unused_variables`). */
  readonly rule: string;
  readonly clippy: string | null;
  readonly severity: Severity;
  readonly message: string;
  readonly explanation: string;
  readonly citations: readonly MentorCitation[];
  readonly fix?: MentorFix;
}

export interface MentorReport {
  readonly files: number;
  readonly diagnostics: readonly MentorDiagnostic[];
}

export interface MentorRunOptions {
  readonly paths: readonly string[];
  readonly cwd: string;
  readonly withClippy: boolean;
  readonly env: NodeJS.ProcessEnv;
  /** Where toolchain explanations are cached (see CompilerExplainer); none: memory only. */
  readonly explainCacheDir?: string;
  /** Said once each, on stderr by the CLI: cargo missing, a workspace cargo could not check… */
  readonly notice: (message: string) => void;
}

const toPosix = (p: string): string => p.split(path.sep).join('/');

/** The crate root's `#![allow(…)]` and friends, per package directory (lib.rs, else main.rs). */
async function packageLints(pkg: string | null): Promise<Map<string, LintLevel> | undefined> {
  if (!pkg) return undefined;
  for (const root of ['src/lib.rs', 'src/main.rs']) {
    const f = path.join(pkg, root);
    if (existsSync(f)) return crateLintLevels(await readFile(f, 'utf8'));
  }
  return undefined;
}

/** "### What it does\n…\n### Why is this bad?\n…" (clippy) or the error index's first paragraph (rustc). */
export function summarizeToolchainText(text: string): string {
  const section = (name: string): string =>
    new RegExp(`^### ${name}\\s*\\n([\\s\\S]*?)(?=^### |$(?![\\s\\S]))`, 'm').exec(text)?.[1]?.trim() ?? '';
  const what = section('What it does');
  if (what)
    return [what, section('Why is this bad\\?')]
      .filter(Boolean)
      .flatMap((t) => t.split(/\n\s*\n/))
      .map((p) => p.replace(/\s*\n\s*/g, ' ').trim())
      .join('\n\n');
  return (text.split(/\n\s*\n/)[0] ?? '').replace(/\n/g, ' ').trim();
}

async function compilerFindingsFor(
  files: readonly string[],
  opts: MentorRunOptions,
): Promise<{ byFile: Map<string, CompilerFinding[]>; explainer: CompilerExplainer | null }> {
  const byFile = new Map<string, CompilerFinding[]>();
  const toolchain = await detectToolchain(opts.env);
  if (!toolchain.available) {
    opts.notice(toolchain.reason);
    return { byFile, explainer: null };
  }
  const mode = toolchain.clippyVersion ? 'clippy' : 'check';
  if (mode === 'check')
    opts.notice('clippy is not installed (rustup component add clippy): ran cargo check instead');
  const roots = new Set<string>();
  // one `cargo locate-project` per package, not per file
  const packages = new Set(files.map((f) => nearestManifestDir(f)).filter((d): d is string => d !== null));
  for (const pkg of packages) {
    const root = await workspaceRoot(pkg, toolchain.cargo, opts.env);
    if (root) roots.add(root);
  }
  const wanted = new Set(files);
  for (const root of [...roots].sort()) {
    const r = await startCargoRun({ cargo: toolchain.cargo, root, mode, env: opts.env }).done;
    for (const [file, list] of r.findings) {
      if (!wanted.has(file)) continue; // the user asked about these paths only
      byFile.set(file, [...(byFile.get(file) ?? []), ...list]);
    }
    if (r.exitCode !== 0 && r.findings.size === 0)
      opts.notice(
        `cargo ${mode} failed in ${toPosix(path.relative(opts.cwd, root)) || '.'} (exit ${r.exitCode ?? 'killed'}) without diagnostics; RustMentor's rules ran alone there:\n${r.stderrTail}`,
      );
  }
  return {
    byFile,
    explainer: new CompilerExplainer({
      cargo: toolchain.cargo,
      toolchainVersion: toolchain.rustcVersion,
      ...(opts.explainCacheDir ? { cacheDir: opts.explainCacheDir } : {}),
      env: opts.env,
    }),
  };
}

async function toDiagnostic(
  f: MergedFinding,
  file: string,
  abs: string,
  explainer: CompilerExplainer | null,
): Promise<MentorDiagnostic> {
  let explanation = '';
  let citations: MentorCitation[] = [];
  if (f.origin === 'mentor') {
    const rule = ruleById(f.ruleId);
    if (rule) {
      const e = rule.explanation;
      explanation = `${e.what} ${e.why} Fix: ${e.fix}`;
      citations = e.learnMore.map((l) => ({ title: l.title, url: l.url, path: null }));
    }
    if (f.clippy) {
      const page = compilerRuleUrl(f.clippy);
      if (page) citations.push({ ...page, path: null });
    }
  } else {
    const page = compilerRuleUrl(f.ruleId);
    if (page) citations = [{ ...page, path: null }];
    const text = explainer ? (await explainer.explain(f.ruleId)).text : null;
    explanation = text ? summarizeToolchainText(text) : '';
  }
  return {
    file,
    range: f.range,
    rule: f.ruleId,
    clippy: f.clippy,
    severity: f.severity,
    // a report is text: the places the compiler points at are written into the message
    message: f.origin === 'compiler' ? messageWithRelated(f, abs) : f.message,
    explanation,
    citations,
    ...(f.fix ? { fix: { title: f.fix.title, edits: f.fix.edits } } : {}),
  };
}

export async function buildMentorReport(opts: MentorRunOptions): Promise<MentorReport> {
  if (opts.paths.length === 0) throw new SigilError('BAD_USAGE', 'give at least one Rust file or directory');
  const { files, unreadable } = await collectRustFiles(opts.paths, opts.cwd);
  for (const d of unreadable) opts.notice(`${toPosix(path.relative(opts.cwd, d))}: cannot be read, left out`);
  await loadRustGrammar();
  const compiler = opts.withClippy
    ? await compilerFindingsFor(files, opts)
    : { byFile: new Map(), explainer: null };
  const lintsByPackage = new Map<string, Promise<Map<string, LintLevel> | undefined>>();
  const diagnostics: MentorDiagnostic[] = [];
  for (const abs of files) {
    let source: string;
    try {
      source = await readFile(abs, 'utf8');
    } catch (e) {
      throw new SigilError(
        'BAD_INPUT',
        `${abs}: cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`,
        {
          path: abs,
        },
      );
    }
    const pkg = nearestManifestDir(abs);
    const key = pkg ?? '';
    if (!lintsByPackage.has(key)) lintsByPackage.set(key, packageLints(pkg));
    const inheritedLints = await lintsByPackage.get(key);
    const mentor = analyzeRust(source, {
      path: toPosix(pkg ? path.relative(pkg, abs) : path.relative(opts.cwd, abs)),
      ...(inheritedLints ? { inheritedLints } : {}),
    });
    const merged = mergeFindings(mentor, compiler.byFile.get(abs) ?? []);
    const rel = toPosix(path.relative(opts.cwd, abs));
    for (const f of merged) diagnostics.push(await toDiagnostic(f, rel, abs, compiler.explainer));
  }
  return { files: files.length, diagnostics };
}
