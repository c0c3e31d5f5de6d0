/**
 * RustMentor as language features of the Sigil server: incremental document sync for Rust files,
 * debounced diagnostics, hover and code actions. Every handler is guarded: a file that breaks the analysis
 * logs an error and gets no diagnostics, it never takes the server down.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { nearestManifestDir } from '../mentor/cargo/workspace.js';
import {
  TextDocumentSyncKind,
  type CodeAction,
  type ClientCapabilities,
  type Connection,
  type Hover,
  type ServerCapabilities,
} from 'vscode-languageserver';
import { parseMentorSettings, type MentorSettings } from '../../../shared/src/mentor.js';
import { analyzeTree } from '../mentor/analyze.js';
import { RustDocument } from '../mentor/document.js';
import { loadRustGrammar, type RustGrammar } from '../mentor/parser.js';
import { ruleById } from '../mentor/rules/index.js';
import type { Finding, Position } from '../mentor/types.js';
import { ruleCitations, type CitationProvider } from './citations.js';
import { codeActionsFor, rangesOverlap } from './code-actions.js';
import { CrateLints } from './crate-roots.js';
import { toDiagnostic } from './diagnostics.js';
import { CompilerDiagnostics, compilerDiagnostic, type RelatedPresentation } from './compiler-diagnostics.js';
import { mergeFindings } from '../mentor/cargo/merge.js';
import { explanationMarkdown } from './markdown.js';
import { resolveMentorOptions, type MentorFileConfig, type MentorOptions } from './options.js';

export const MENTOR_CAPABILITIES: ServerCapabilities = {
  textDocumentSync: {
    openClose: true,
    change: TextDocumentSyncKind.Incremental,
    save: { includeText: false },
  },
  hoverProvider: true,
  codeActionProvider: { codeActionKinds: ['quickfix'] },
};

export const DEFAULT_DEBOUNCE_MS = 150;

export interface MentorServerOptions {
  /** The `[mentor]` section of the store's configuration, when one is loaded. */
  readonly fileConfig?: () => MentorFileConfig | undefined;
  readonly citations?: CitationProvider;
  readonly debounceMs?: number;
  /** Whether the editor trusts the workspace: cargo runs its build scripts, so no flycheck otherwise. */
  readonly trusted?: () => boolean;
}

interface OpenDoc {
  readonly uri: string;
  readonly path: string | undefined;
  /** The path the rules see: relative to the file's cargo package, as cargo sees it (`tests/…`, `src/main.rs`). */
  readonly analysisPath: string | undefined;
  readonly doc: RustDocument;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** Findings of `findingsVersion`; recomputed before use when the document moved on. */
  findings: readonly Finding[];
  findingsVersion: number;
}

function pathOf(uri: string): string | undefined {
  if (!uri.startsWith('file:')) return undefined;
  try {
    return fileURLToPath(uri);
  } catch {
    return undefined;
  }
}

/**
 * A folder named `tests` or `examples` above the project must not make every file test code: the rules get
 * the path inside the cargo package (or the bare file name outside any package).
 */
export function packagePath(file: string | undefined): string | undefined {
  if (!file) return undefined;
  const pkg = nearestManifestDir(path.dirname(file));
  return (pkg ? path.relative(pkg, file) : path.basename(file)).split(path.sep).join('/');
}

function contains(range: Finding['range'], p: Position): boolean {
  return rangesOverlap(range, { start: p, end: p });
}

export interface MentorServer {
  /** Editor settings from `initializationOptions.mentor`, and what the client can show. */
  initialize(settings: unknown, capabilities?: ClientCapabilities): void;
  /** The store's configuration changed (opened, reloaded): re-publish every open file. */
  refresh(): void;
  dispose(): void;
}

export function registerMentor(connection: Connection, opts: MentorServerOptions = {}): MentorServer {
  const citations = opts.citations ?? ruleCitations;
  const debounceMs = opts.debounceMs ?? DEFAULT_DEBOUNCE_MS;
  const docs = new Map<string, OpenDoc>();
  const lints = new CrateLints();
  let editor: MentorSettings = {};
  let relatedInformation = false;
  let options: MentorOptions = resolveMentorOptions(undefined, editor);
  let grammar: RustGrammar | undefined;
  const grammarReady: Promise<RustGrammar | undefined> = loadRustGrammar().then(
    (g) => (grammar = g),
    (e: unknown) => {
      connection.console.error(`RustMentor is off: ${(e as Error).message}`);
      return undefined;
    },
  );

  const problem = (m: string): void => connection.console.warn(`RustMentor: ${m}`);
  const compiler = new CompilerDiagnostics(connection, (files) => {
    for (const open of docs.values()) if (open.path && files.has(open.path)) schedule(open);
  });

  function guard<A extends unknown[], R>(what: string, fallback: R, fn: (...a: A) => R): (...a: A) => R {
    return (...args: A): R => {
      try {
        return fn(...args);
      } catch (e) {
        connection.console.error(`RustMentor: ${what} failed: ${(e as Error).stack ?? String(e)}`);
        return fallback;
      }
    };
  }

  /** Runs `fn` once the grammar is loaded, in arrival order (queued callbacks run before later events). */
  function withGrammar(fn: (g: RustGrammar) => void): void {
    if (grammar) fn(grammar);
    else void grammarReady.then((g) => g && fn(g));
  }

  function recomputeOptions(): void {
    options = resolveMentorOptions(opts.fileConfig?.(), editor);
  }

  function analyze(open: OpenDoc): readonly Finding[] {
    if (open.findingsVersion === open.doc.version) return open.findings;
    let findings: readonly Finding[] = [];
    if (options.enabled) {
      const inherited = open.path ? lints.levelsFor(open.path) : undefined;
      findings = analyzeTree(open.doc.tree, open.doc.text, {
        ...options.analyze,
        ...(open.analysisPath ? { path: open.analysisPath } : {}),
        ...(inherited ? { inheritedLints: inherited } : {}),
      });
    }
    open.findings = findings;
    open.findingsVersion = open.doc.version;
    return findings;
  }

  const publish = guard('publishing diagnostics', undefined, (open: OpenDoc): void => {
    open.timer = undefined;
    if (docs.get(open.uri) !== open) return;
    const findings = analyze(open);
    const version = open.doc.version;
    const merged = mergeFindings(findings, compiler.findingsFor(open.path));
    void connection.sendDiagnostics({
      uri: open.uri,
      version,
      diagnostics: merged.map((f) =>
        f.origin === 'mentor' ? toDiagnostic(f, version, citations) : compilerDiagnostic(f, shownIn(open)),
      ),
    });
  });

  const shownIn = (open: OpenDoc): RelatedPresentation => ({
    file: open.path ?? '',
    uri: open.uri,
    relatedInformation,
  });

  function schedule(open: OpenDoc): void {
    if (open.timer) clearTimeout(open.timer);
    open.timer = setTimeout(() => publish(open), debounceMs);
  }

  /** A crate root changed: every other file of the crate may see other inherited lints. */
  function rootChanged(path: string | undefined, text: string | undefined): void {
    if (!path || !lints.noteText(path, text)) return;
    for (const other of docs.values())
      if (other.path !== path) {
        other.findingsVersion = -1;
        schedule(other);
      }
  }

  function republishAll(): void {
    for (const open of docs.values()) {
      open.findingsVersion = -1;
      schedule(open);
    }
  }

  function close(uri: string): void {
    const open = docs.get(uri);
    if (!open) return;
    if (open.timer) clearTimeout(open.timer);
    docs.delete(uri);
    open.doc.dispose();
    void connection.sendDiagnostics({ uri, diagnostics: [] });
  }

  connection.onDidOpenTextDocument(
    guard('opening a document', undefined, ({ textDocument: td }) => {
      if (td.languageId !== 'rust' && !td.uri.endsWith('.rs')) return;
      withGrammar(
        guard(`opening ${td.uri}`, undefined, (g) => {
          close(td.uri);
          const open: OpenDoc = {
            uri: td.uri,
            path: pathOf(td.uri),
            analysisPath: packagePath(pathOf(td.uri)),
            doc: new RustDocument(g, td.text, td.version),
            timer: undefined,
            findings: [],
            findingsVersion: -1,
          };
          docs.set(td.uri, open);
          rootChanged(open.path, td.text);
          schedule(open);
        }),
      );
    }),
  );

  connection.onDidChangeTextDocument(
    guard('applying a change', undefined, ({ textDocument: td, contentChanges }) => {
      withGrammar(
        guard(`changing ${td.uri}`, undefined, () => {
          const open = docs.get(td.uri);
          if (!open) return;
          open.doc.applyChanges(contentChanges, td.version);
          rootChanged(open.path, open.doc.text);
          schedule(open);
        }),
      );
    }),
  );

  connection.onDidSaveTextDocument(
    guard('saving', undefined, ({ textDocument: td }) => {
      const open = docs.get(td.uri);
      if (open) rootChanged(open.path, open.doc.text);
      const mode = opts.trusted?.() === false ? 'off' : (opts.fileConfig?.()?.check_on_save ?? 'clippy');
      if (options.enabled) compiler.saved(open?.path ?? pathOf(td.uri), mode);
    }),
  );

  connection.onDidCloseTextDocument(
    guard('closing a document', undefined, ({ textDocument: td }) => {
      withGrammar(() => {
        const open = docs.get(td.uri);
        close(td.uri);
        // a closed crate root is read from disk again
        if (open?.path) rootChanged(open.path, undefined);
      });
    }),
  );

  // Cargo.toml or a crate root changed on disk (when the client watches them): other files' inherited lints
  connection.onDidChangeWatchedFiles(
    guard('watched files', undefined, ({ changes }) => {
      if (changes.some((c) => /(Cargo\.toml|[\\/]src[\\/](lib|main)\.rs)$/.test(c.uri))) {
        lints.clear();
        republishAll();
      }
    }),
  );

  connection.onDidChangeConfiguration(
    guard('changing settings', undefined, ({ settings }) => {
      const s = settings as { mentor?: unknown; sigil?: { mentor?: unknown } } | null | undefined;
      const raw = s?.mentor ?? s?.sigil?.mentor;
      if (raw === undefined) return;
      editor = parseMentorSettings(raw, problem);
      recomputeOptions();
      republishAll();
    }),
  );

  connection.onHover(
    guard('hover', null, ({ textDocument, position }): Hover | null => {
      const open = docs.get(textDocument.uri);
      if (!open) return null;
      const parts: string[] = [];
      for (const f of analyze(open)) {
        if (!contains(f.range, position)) continue;
        const rule = ruleById(f.ruleId);
        if (rule) parts.push(explanationMarkdown(rule, citations.citationsFor(rule.id), f.message));
      }
      if (parts.length === 0) return null;
      return { contents: { kind: 'markdown', value: parts.join('\n\n---\n\n') } };
    }),
  );

  connection.onCodeAction(
    guard('code actions', [], ({ textDocument, range, context }): CodeAction[] => {
      const open = docs.get(textDocument.uri);
      if (!open) return [];
      const findings = analyze(open);
      const actions = codeActionsFor(
        { uri: open.uri, text: open.doc.text, tree: open.doc.tree, version: open.doc.version },
        findings,
        range,
        citations,
        context.only,
      );
      // The compiler's machine-applicable suggestions (clippy, rustc) that no RustMentor finding carries.
      if (!context.only || context.only.some((k) => 'quickfix'.startsWith(k) || k.startsWith('quickfix')))
        for (const f of mergeFindings(findings, compiler.findingsFor(open.path)))
          if (f.origin === 'compiler' && f.fix && rangesOverlap(f.range, range))
            actions.push({
              title: f.fix.title,
              kind: 'quickfix',
              diagnostics: [compilerDiagnostic(f, shownIn(open))],
              edit: {
                changes: { [open.uri]: f.fix.edits.map((e) => ({ range: e.range, newText: e.newText })) },
              },
            });
      return actions;
    }),
  );

  return {
    initialize: guard('reading settings', undefined, (settings: unknown, caps?: ClientCapabilities) => {
      relatedInformation = caps?.textDocument?.publishDiagnostics?.relatedInformation === true;
      editor = parseMentorSettings(settings, problem);
      recomputeOptions();
    }),
    refresh: guard('refreshing', undefined, () => {
      recomputeOptions();
      republishAll();
    }),
    dispose() {
      compiler.dispose();
      for (const uri of [...docs.keys()]) close(uri);
    },
  };
}
