/**
 * cargo clippy (or check) on save, as rust-analyzer's flycheck does: one run per cargo workspace at a time,
 * debounced, a new save cancelling the run in progress. The last finished run's findings of each workspace
 * are kept per file and merged with RustMentor's own (a clippy twin of a RustMentor finding shows once).
 */
import { pathToFileURL } from 'node:url';
import type { Connection, Diagnostic } from 'vscode-languageserver';
import { FlycheckPool } from '../mentor/cargo/pool.js';
import type { FlycheckMode } from '../mentor/cargo/flycheck.js';
import {
  clippyLintUrl,
  errorCodeUrl,
  messageWithRelated,
  type CompilerFinding,
} from '../mentor/cargo/findings.js';
import { SEVERITY } from './diagnostics.js';

/** How the editor shows the other places a diagnostic speaks of. */
export interface RelatedPresentation {
  /** The finding's file (an absolute path) and the URI the client named it by. */
  readonly file: string;
  readonly uri: string;
  /**
   * The client's `textDocument.publishDiagnostics.relatedInformation` capability: when it is absent, the
   * related spans are written into the message, where every editor shows them.
   */
  readonly relatedInformation: boolean;
}

export function compilerDiagnostic(f: CompilerFinding, shown: RelatedPresentation): Diagnostic {
  const href = f.clippy
    ? clippyLintUrl(f.clippy.replace(/^clippy::/, ''))
    : /^E\d{4}$/.test(f.ruleId)
      ? errorCodeUrl(f.ruleId)
      : undefined;
  const apart = shown.relatedInformation && f.related.length > 0;
  return {
    range: f.range,
    severity: SEVERITY[f.severity],
    source: f.source,
    code: f.ruleId,
    ...(href ? { codeDescription: { href } } : {}),
    message: apart || f.related.length === 0 ? f.message : messageWithRelated(f, shown.file),
    ...(apart
      ? {
          relatedInformation: f.related.map((r) => ({
            location: {
              uri: r.file === shown.file ? shown.uri : pathToFileURL(r.file).href,
              range: r.range,
            },
            message: r.message,
          })),
        }
      : {}),
  };
}

export class CompilerDiagnostics {
  readonly #byRoot = new Map<string, Map<string, CompilerFinding[]>>();
  #pool: FlycheckPool | null = null;
  #mode: FlycheckMode = 'off';
  #saidMissing = false;

  constructor(
    private readonly connection: Connection,
    /** Files whose compiler findings changed (absolute paths): their diagnostics are published again. */
    private readonly changed: (files: ReadonlySet<string>) => void,
  ) {}

  /** The compiler's findings of a file from the last finished run of its workspace. */
  findingsFor(file: string | undefined): readonly CompilerFinding[] {
    if (!file) return [];
    for (const byFile of this.#byRoot.values()) {
      const f = byFile.get(file);
      if (f) return f;
    }
    return [];
  }

  /** A Rust file was saved: run the configured check of its workspace (nothing when off or untrusted). */
  saved(file: string | undefined, mode: FlycheckMode): void {
    if (!file) return;
    if (mode !== this.#mode) this.#setMode(mode);
    if (!this.#pool) return;
    void this.#pool.requestFor(file).catch((e: unknown) => {
      this.connection.console.error(`RustMentor: cargo ${mode} failed to start: ${(e as Error).message}`);
    });
  }

  #setMode(mode: FlycheckMode): void {
    this.#pool?.dispose();
    this.#pool = null;
    this.#mode = mode;
    const stale = new Set<string>();
    for (const byFile of this.#byRoot.values()) for (const f of byFile.keys()) stale.add(f);
    this.#byRoot.clear();
    if (stale.size > 0) this.changed(stale);
    if (mode === 'off') return;
    this.#pool = new FlycheckPool({
      mode,
      onFindings: (root, findings) => {
        const touched = new Set<string>([...(this.#byRoot.get(root)?.keys() ?? []), ...findings.keys()]);
        this.#byRoot.set(root, new Map(findings));
        this.changed(touched);
      },
      onStatus: (root, s) => {
        if (s.state === 'unavailable') {
          // Said once: without cargo only the syntactic rules run, and that is not an error.
          if (this.#saidMissing) return;
          this.#saidMissing = true;
          this.connection.console.info(`RustMentor: ${s.message}`);
          return;
        }
        if (s.state !== 'finished') return;
        this.connection.console.info(
          `RustMentor: cargo ${s.mode} in ${root}: ${s.findings} finding(s) in ${s.files} file(s)${s.exitCode !== null ? `, exit ${s.exitCode}` : ''}${s.detail ? ` (${s.detail})` : ''}`,
        );
      },
    });
  }

  dispose(): void {
    this.#pool?.dispose();
    this.#pool = null;
  }
}
