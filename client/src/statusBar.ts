/**
 * The status bar item: "$(shield) Sigil: verified | failed | no store | unverified (N records)", "$(lock) Sigil:
 * locked", "$(key) Sigil: passphrase needed".
 * A click verifies the log, or offers what the state needs (initialize, passphrase, output).
 */
import * as vscode from 'vscode';
import type { Ctx, StoreView } from './ctx.js';
import { passphraseProblem } from './present.js';
import type { VerificationRun } from './verification.js';
import type { RagStats } from '../../shared/src/protocol.js';

export interface StatusPresentation {
  readonly text: string;
  readonly tooltip: string;
  readonly command: string | undefined;
  readonly severity: 'ok' | 'warning' | 'error' | 'none';
}

/** The retrieval index as the tooltip shows it: null until known (or when this identity may not read it). */
export type IndexState = Pick<RagStats, 'documents' | 'chunks' | 'embedder'> | null;

export function indexLine(index: IndexState): string {
  if (!index) return '';
  if (index.documents === 0) return '\nDocs index: empty (Sigil: Import Rust Documentation)';
  const embedder = index.embedder
    ? `${index.embedder.id}, ${index.embedder.dim}-d`
    : 'no embedder (lexical only)';
  return `\nDocs index: ${index.documents} document${index.documents === 1 ? '' : 's'}, ${index.chunks} chunk${index.chunks === 1 ? '' : 's'} (${embedder})`;
}

export function presentStatus(
  view: StoreView,
  run: VerificationRun | null,
  index: IndexState = null,
): StatusPresentation {
  const p = presentStore(view, run);
  if (view.phase !== 'ready' || !index) return p;
  // The index line goes before the click hint, which stays last.
  const cut = p.tooltip.lastIndexOf('\n\n');
  const tooltip =
    cut < 0
      ? p.tooltip + indexLine(index)
      : p.tooltip.slice(0, cut) + indexLine(index) + p.tooltip.slice(cut);
  return { ...p, tooltip };
}

function presentStore(view: StoreView, run: VerificationRun | null): StatusPresentation {
  const home = view.home ?? 'this workspace';
  const problem = view.problem ? `\n\n${view.problem.message}` : '';
  switch (view.phase) {
    case 'starting':
      return {
        text: '$(sync~spin) Sigil',
        tooltip: `Sigil: starting the server for ${home}`,
        command: 'sigil.showServerOutput',
        severity: 'none',
      };
    case 'no-home':
      return {
        text: '$(shield) Sigil: no folder',
        tooltip: 'Sigil: open a folder (or set sigil.home) to keep a store',
        command: undefined,
        severity: 'none',
      };
    case 'no-store':
      return {
        text: '$(shield) Sigil: no store',
        tooltip: `Sigil: no store in ${home}. Click to initialize one.`,
        command: 'sigil.initializeStore',
        severity: 'none',
      };
    case 'locked':
      return {
        text: '$(lock) Sigil: locked',
        tooltip: `Sigil: the store in ${home} is held by another process.${problem}\n\nClick to retry.`,
        command: 'sigil.restartServer',
        severity: 'warning',
      };
    case 'needs-passphrase':
      return {
        text: '$(key) Sigil: passphrase needed',
        tooltip: `Sigil: ${passphraseProblem(view)}.\n\nClick to enter the key passphrase.`,
        command: 'sigil.enterPassphrase',
        severity: 'warning',
      };
    case 'error':
    case 'server-failed':
      return {
        text: '$(shield) Sigil: error',
        tooltip: `Sigil: the store in ${home} cannot be used.${problem}\n\nClick to show the output.`,
        command: 'sigil.showServerOutput',
        severity: 'error',
      };
    case 'ready': {
      const size = view.info?.size ?? 0;
      const r = run?.result;
      if (r && !r.ok) {
        const where = r.firstBad?.seq != null ? `record #${r.firstBad.seq}` : 'the log as a whole';
        return {
          text: '$(shield) Sigil: failed',
          tooltip: `Sigil: verification FAILED at ${where}: ${r.firstBad?.reason ?? 'unknown reason'}\n(${run.at.toLocaleTimeString()})\n\nClick to verify again.`,
          command: 'sigil.verifyCanon',
          severity: 'error',
        };
      }
      const unverified = r ? Math.max(0, size - r.size) : size;
      if (r && unverified === 0) {
        return {
          text: '$(shield) Sigil: verified',
          tooltip: `Sigil: all ${size} records verified (signatures, chains, Merkle root) at ${run.at.toLocaleTimeString()}\nRoot ${view.info?.rootHash ?? ''}\n\nClick to verify again.`,
          command: 'sigil.verifyCanon',
          severity: 'ok',
        };
      }
      const since = r ? ` appended since the last verify (${r.size} verified)` : '';
      return {
        text: `$(shield) Sigil: unverified (${unverified} record${unverified === 1 ? '' : 's'})`,
        tooltip: `Sigil: ${unverified} record${unverified === 1 ? '' : 's'}${since || ' not verified yet'} in ${home}\n\nClick to verify the canon log.`,
        command: 'sigil.verifyCanon',
        severity: 'none',
      };
    }
  }
}

export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem(
    'sigil.status',
    vscode.StatusBarAlignment.Left,
    10,
  );
  private readonly disposables: vscode.Disposable[] = [this.item];
  current: StatusPresentation;
  private index: IndexState = null;
  private indexLoading = false;

  constructor(private readonly ctx: Ctx) {
    this.item.name = 'Sigil';
    this.current = this.render();
    this.item.show();
    this.disposables.push(
      ctx.onDidChangeStore((v) => {
        if (v.phase === 'ready') void this.loadIndex();
        else this.index = null;
        this.render();
      }),
      ctx.verification.onDidChange(() => this.render()),
      ctx.onDidAppend((n) => {
        if (n.records.some((r) => r.kind.startsWith('rag.'))) void this.loadIndex();
      }),
    );
  }

  /** Asks for the index state; an identity that may not read it just sees no index line. */
  private async loadIndex(): Promise<void> {
    if (this.indexLoading) return;
    this.indexLoading = true;
    try {
      const s = await this.ctx.request('sigil/rag.stats', {});
      this.index = { documents: s.documents, chunks: s.chunks, embedder: s.embedder };
    } catch {
      this.index = null;
    } finally {
      this.indexLoading = false;
    }
    this.render();
  }

  private render(): StatusPresentation {
    const p = presentStatus(this.ctx.store, this.ctx.verification.last, this.index);
    this.current = p;
    this.item.text = p.text;
    this.item.tooltip = p.tooltip;
    this.item.command = p.command;
    this.item.backgroundColor =
      p.severity === 'error'
        ? new vscode.ThemeColor('statusBarItem.errorBackground')
        : p.severity === 'warning'
          ? new vscode.ThemeColor('statusBarItem.warningBackground')
          : undefined;
    return p;
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
