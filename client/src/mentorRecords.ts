/**
 * RustMentor's signed side in the editor: on save of a Rust file, the analysis runs as `sigil/module.run`
 * under the editor's identity and is stored as a Rule Zero `module.result` record; the Mentor view lists the
 * recent analyses (from the canon) with their findings, each linked to its record; accepting a fix or
 * saying "not helpful" is sent as module feedback. Diagnostics as you type come from the language server
 * and need no identity; only the signed records do.
 */
import * as vscode from 'vscode';
import type {
  AskLlmChoice,
  MentorDiagnostic,
  ModuleRunResult,
  RustMentorAskReplyInput,
} from '../../shared/src/modules.js';
import type { RuleZeroManifest } from '../../shared/src/rule-zero.js';
import type { CanonicalRecord } from '../../shared/src/record.js';
import { SigilError } from '../../shared/src/errors.js';
import { isMentorAnalysis } from '../../shared/src/mentor.js';
import type { Ctx } from './ctx.js';
import { GuardedLoad } from './treeLoad.js';

export const MENTOR_VIEW_ID = 'sigil.mentor';
const RECENT = 50;

export interface MentorAnalysis {
  readonly recordId: string;
  readonly path: string | null;
  readonly time: string;
  readonly verdict: string;
  readonly findings: RuleZeroManifest['suggestion']['findings'];
}

export type MentorNode =
  | { readonly type: 'analysis'; readonly analysis: MentorAnalysis }
  | {
      readonly type: 'finding';
      readonly analysis: MentorAnalysis;
      readonly finding: RuleZeroManifest['suggestion']['findings'][number];
    }
  | { readonly type: 'message'; readonly text: string };

export interface MentorSnapshot {
  readonly analyses: ReadonlyArray<{
    recordId: string;
    path: string | null;
    verdict: string;
    rules: readonly string[];
  }>;
  readonly lastRun: {
    readonly recordId: string | null;
    readonly findings: number;
    readonly error: string | null;
  } | null;
}

function analysisOf(r: CanonicalRecord): MentorAnalysis | null {
  const p = r.body.payload;
  if (!isMentorAnalysis(p)) return null;
  return {
    recordId: r.id,
    path: p.input.path,
    time: p.audit.timestamp,
    verdict: p.verdict,
    findings: p.suggestion.findings,
  };
}

export class MentorProvider implements vscode.TreeDataProvider<MentorNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<MentorNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly analyses = new GuardedLoad<readonly MentorAnalysis[]>(
    () => this.fetchAnalyses(),
    () => [],
  );
  private lastRunValue: MentorSnapshot['lastRun'] = null;
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly disposables: vscode.Disposable[] = [];
  private deniedOnce = false;
  readonly sessionId = `vscode-${vscode.env.sessionId}`.slice(0, 128);

  constructor(
    private readonly ctx: Ctx,
    private readonly log: (message: string) => void,
  ) {
    this.disposables.push(
      this.changed,
      ctx.onDidAppend((n) => {
        if (n.records.some((r) => r.kind === 'module.result')) this.refresh();
      }),
      ctx.onDidChangeStore(() => this.refresh()),
      vscode.workspace.onDidSaveTextDocument((doc) => void this.recordOnSave(doc)),
    );
  }

  refresh(): void {
    this.analyses.invalidate();
    this.changed.fire(undefined);
  }

  /** Runs and records RustMentor's analysis of a saved Rust file (one run per file at a time). */
  async recordOnSave(doc: vscode.TextDocument): Promise<void> {
    if (doc.languageId !== 'rust' || doc.uri.scheme !== 'file') return;
    const cfg = vscode.workspace.getConfiguration('sigil.mentor');
    if (!cfg.get<boolean>('enable', true) || !cfg.get<boolean>('recordOnSave', true)) return;
    if (this.ctx.store.phase !== 'ready') return;
    const key = doc.uri.toString();
    const previous = this.inFlight.get(key);
    const run = (previous ?? Promise.resolve()).then(async () => {
      await this.analyze(doc);
    });
    this.inFlight.set(key, run);
    try {
      await run;
    } finally {
      if (this.inFlight.get(key) === run) this.inFlight.delete(key);
    }
  }

  /** Sends the document to `sigil/module.run` and remembers the outcome; never throws. */
  async analyze(doc: vscode.TextDocument): Promise<ModuleRunResult | null> {
    const folder = vscode.workspace.getWorkspaceFolder(doc.uri);
    const path = folder ? vscode.workspace.asRelativePath(doc.uri, false) : doc.uri.fsPath;
    try {
      const r = await this.ctx.request('sigil/module.run', {
        module: 'rustmentor',
        input: { action: 'analyze', path, text: doc.getText(), ...this.ruleOptions() },
        sessionId: this.sessionId,
      });
      this.lastRunValue = { recordId: r.recordId, findings: r.diagnostics.length, error: null };
      for (const note of r.notes) this.log(`RustMentor: ${note}`);
      this.refresh();
      return r;
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      this.lastRunValue = { recordId: null, findings: 0, error: message };
      this.log(`RustMentor: the analysis of ${path} was not recorded: ${message}`);
      if (e instanceof SigilError && e.code === 'ACCESS_DENIED' && !this.deniedOnce) {
        this.deniedOnce = true;
        void vscode.window.showWarningMessage(
          `RustMentor keeps showing findings, but cannot record its analyses under this identity: ${message}`,
        );
      }
      return null;
    }
  }

  private ruleOptions(): { disabledRules?: string[]; testCode?: 'relaxed' | 'normal' | 'skip' } {
    const cfg = vscode.workspace.getConfiguration('sigil.mentor');
    const disabled = cfg.get<string[]>('disabledRules', []);
    const testCode = cfg.get<string>('testCode');
    return {
      ...(Array.isArray(disabled) && disabled.length > 0 ? { disabledRules: disabled.slice(0, 200) } : {}),
      ...(testCode === 'relaxed' || testCode === 'normal' || testCode === 'skip' ? { testCode } : {}),
    };
  }

  /** Feedback on a finding: the user applied its fix, or found it unhelpful. */
  async feedback(
    rule: string,
    outcome: 'fixed' | 'not-helpful',
    path?: string,
  ): Promise<ModuleRunResult | null> {
    try {
      const r = await this.ctx.request('sigil/module.run', {
        module: 'rustmentor',
        input: { action: 'feedback', rule, outcome, ...(path ? { path } : {}) },
        sessionId: this.sessionId,
      });
      for (const note of r.notes) this.log(`RustMentor: ${note}`);
      return r;
    } catch (e) {
      this.log(
        `RustMentor: feedback on ${rule} was not recorded: ${e instanceof Error ? e.message : String(e)}`,
      );
      return null;
    }
  }

  /** Ask RustMentor (a model when `[llm]` allows, else the rules and the docs); errors reach the caller. */
  ask(input: {
    text: string;
    path?: string;
    selection?: { start: { line: number; character: number }; end: { line: number; character: number } };
    rule?: string;
    question?: string;
    llm?: AskLlmChoice;
  }): Promise<ModuleRunResult> {
    return this.ctx.request('sigil/module.run', {
      module: 'rustmentor',
      input: { action: 'ask', ...input },
      sessionId: this.sessionId,
    });
  }

  /** The editor model's answer to the prompt an `ask` handed back; the server checks and records it. */
  askReply(reply: Omit<RustMentorAskReplyInput, 'action'>): Promise<ModuleRunResult> {
    return this.ctx.request('sigil/module.run', {
      module: 'rustmentor',
      input: { action: 'ask', ...reply },
      sessionId: this.sessionId,
    });
  }

  private async fetchAnalyses(): Promise<MentorAnalysis[]> {
    if (this.ctx.store.phase !== 'ready') return [];
    const page = await this.ctx.request('sigil/canon.list', {
      kind: 'module.result',
      space: 'data',
      order: 'desc',
      limit: RECENT * 2,
    });
    return page.records
      .map(analysisOf)
      .filter((a): a is MentorAnalysis => a !== null)
      .slice(0, RECENT);
  }

  async getChildren(node?: MentorNode): Promise<MentorNode[]> {
    if (node?.type === 'analysis')
      return node.analysis.findings.map((finding) => ({ type: 'finding', analysis: node.analysis, finding }));
    if (node) return [];
    const { value: analyses, error } = await this.analyses.get();
    if (error) return [{ type: 'message', text: `Cannot list analyses: ${error}` }];
    if (analyses.length === 0)
      return [{ type: 'message', text: 'No recorded analyses yet: save a Rust file.' }];
    return analyses.map((analysis) => ({ type: 'analysis', analysis }));
  }

  getTreeItem(node: MentorNode): vscode.TreeItem {
    if (node.type === 'message') return new vscode.TreeItem(node.text);
    if (node.type === 'analysis') {
      const a = node.analysis;
      const item = new vscode.TreeItem(
        a.path ?? 'snippet',
        a.findings.length > 0
          ? vscode.TreeItemCollapsibleState.Collapsed
          : vscode.TreeItemCollapsibleState.None,
      );
      item.description = `${a.findings.length} finding${a.findings.length === 1 ? '' : 's'} · ${a.verdict} · ${a.time.replace('T', ' ').slice(0, 19)}`;
      item.tooltip = `Signed module.result record ${a.recordId}\nVerdict: ${a.verdict}`;
      item.iconPath = new vscode.ThemeIcon('mortar-board');
      item.contextValue = 'mentorAnalysis';
      item.command = { command: 'sigil.openRecord', title: 'Open Record', arguments: [a.recordId] };
      return item;
    }
    const f = node.finding;
    const item = new vscode.TreeItem(`${f.rule}: ${f.message}`);
    item.description = `line ${f.range.start.line + 1}`;
    item.tooltip = `${f.severity} ${f.clippy ?? f.rule}\nRecorded in ${node.analysis.recordId}`;
    item.iconPath = new vscode.ThemeIcon(
      f.severity === 'error' ? 'error' : f.severity === 'warning' ? 'warning' : 'info',
    );
    const folder = vscode.workspace.workspaceFolders?.[0];
    if (node.analysis.path && folder) {
      const uri = vscode.Uri.joinPath(folder.uri, node.analysis.path);
      const r = f.range;
      item.command = {
        command: 'vscode.open',
        title: 'Open',
        arguments: [
          uri,
          { selection: new vscode.Range(r.start.line, r.start.character, r.end.line, r.end.character) },
        ],
      };
    }
    return item;
  }

  async snapshot(): Promise<MentorSnapshot> {
    const { value: analyses } = await this.analyses.get();
    return {
      analyses: analyses.map((a) => ({
        recordId: a.recordId,
        path: a.path,
        verdict: a.verdict,
        rules: [...new Set(a.findings.map((f) => f.rule))],
      })),
      lastRun: this.lastRunValue,
    };
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}

/** The status bar's mentor state: RustMentor's findings in the active Rust editor. */
export class MentorStatus implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 90);
  private readonly disposables: vscode.Disposable[] = [];

  constructor() {
    this.item.name = 'RustMentor';
    this.item.command = 'workbench.actions.view.problems';
    this.disposables.push(
      this.item,
      vscode.window.onDidChangeActiveTextEditor(() => this.update()),
      vscode.languages.onDidChangeDiagnostics(() => this.update()),
    );
    this.update();
  }

  text(): string | undefined {
    return this.item.text || undefined;
  }

  private update(): void {
    const editor = vscode.window.activeTextEditor;
    if (!editor || editor.document.languageId !== 'rust') {
      this.item.hide();
      return;
    }
    const ours = vscode.languages
      .getDiagnostics(editor.document.uri)
      .filter((d) => d.source === 'RustMentor');
    this.item.text = `$(mortar-board) RustMentor: ${ours.length}`;
    this.item.tooltip =
      ours.length === 0
        ? 'RustMentor: nothing to mentor in this file'
        : `RustMentor: ${ours.length} finding${ours.length === 1 ? '' : 's'} in this file (click for Problems)`;
    this.item.show();
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}

/** For the integration suite: the findings RustMentor published for a document. */
export function mentorDiagnostics(uri: vscode.Uri): readonly vscode.Diagnostic[] {
  return vscode.languages.getDiagnostics(uri).filter((d) => d.source === 'RustMentor');
}

export type { MentorDiagnostic };
