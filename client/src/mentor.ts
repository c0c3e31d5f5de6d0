/**
 * RustMentor in the editor, client side: the settings sent to the server, and the commands its code actions
 * name. `sigil.mentor.explain` opens the explanation as a read-only markdown preview; ask, notHelpful and
 * fixApplied are placeholders that say what they will do (their bodies come with the memory/LLM work).
 */
import * as vscode from 'vscode';
import {
  MENTOR_COMMANDS,
  parseMentorSettings,
  type AskArgs,
  type ExplainArgs,
  type FixAppliedArgs,
  type MentorSettings,
  type NotHelpfulArgs,
} from '../../shared/src/mentor.js';

export const MENTOR_SECTION = 'sigil.mentor';
/** Virtual documents are read-only in VS Code: the explanation cannot be edited by mistake. */
export const EXPLAIN_SCHEME = 'sigil-mentor';

const SETTING_KEYS = ['enable', 'disabledRules', 'severities', 'testCode'] as const;

/**
 * Only the settings the user set (in any scope): an unset one must not hide `sigil.toml [mentor]`, which the
 * server layers under them.
 */
export function mentorSettings(onProblem?: (m: string) => void): MentorSettings {
  const cfg = vscode.workspace.getConfiguration(MENTOR_SECTION);
  const raw: Record<string, unknown> = {};
  for (const key of SETTING_KEYS) {
    const i = cfg.inspect(key);
    const v = i?.workspaceFolderValue ?? i?.workspaceValue ?? i?.globalValue;
    if (v !== undefined) raw[key] = v;
  }
  return parseMentorSettings(raw, onProblem);
}

/** Calls `send` with the new settings whenever a `sigil.mentor.*` setting changes. */
export function watchMentorSettings(send: (settings: MentorSettings) => void): vscode.Disposable {
  return vscode.workspace.onDidChangeConfiguration((e) => {
    if (e.affectsConfiguration(MENTOR_SECTION)) send(mentorSettings());
  });
}

class ExplanationDocuments implements vscode.TextDocumentContentProvider {
  private readonly texts = new Map<string, string>();
  private next = 0;

  add(args: ExplainArgs): vscode.Uri {
    const uri = vscode.Uri.from({
      scheme: EXPLAIN_SCHEME,
      path: `/${args.ruleId}.md`,
      query: String(this.next++),
    });
    this.texts.set(uri.toString(), args.markdown);
    return uri;
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.texts.get(uri.toString()) ?? '';
  }
}

function isExplainArgs(a: unknown): a is ExplainArgs {
  const x = a as Partial<ExplainArgs> | undefined;
  return typeof x?.ruleId === 'string' && typeof x.markdown === 'string';
}

async function explain(docs: ExplanationDocuments, args: unknown): Promise<void> {
  if (!isExplainArgs(args)) {
    void vscode.window.showErrorMessage(
      'Sigil: sigil.mentor.explain needs { ruleId, markdown } (it is run from a RustMentor code action)',
    );
    return;
  }
  await vscode.commands.executeCommand('markdown.showPreview', docs.add(args));
}

async function ask(args: AskArgs): Promise<void> {
  await vscode.window.showInformationMessage(
    `RustMentor will answer questions about \`${args.ruleId}\` here, from the local documentation index (not yet available).`,
  );
}

async function notHelpful(args: NotHelpfulArgs): Promise<void> {
  await vscode.window.showInformationMessage(
    `RustMentor will remember that \`${args.ruleId}\` was not helpful here and show it less (not yet recorded).`,
  );
}

async function fixApplied(args: FixAppliedArgs): Promise<void> {
  await vscode.window.showInformationMessage(
    `RustMentor will record that you accepted the \`${args.ruleId}\` fix (not yet recorded).`,
  );
}

export function registerMentorCommands(): vscode.Disposable[] {
  const docs = new ExplanationDocuments();
  return [
    vscode.workspace.registerTextDocumentContentProvider(EXPLAIN_SCHEME, docs),
    vscode.commands.registerCommand(MENTOR_COMMANDS.explain, (args: unknown) => explain(docs, args)),
    vscode.commands.registerCommand(MENTOR_COMMANDS.ask, (args: AskArgs) => ask(args)),
    vscode.commands.registerCommand(MENTOR_COMMANDS.notHelpful, (args: NotHelpfulArgs) => notHelpful(args)),
    vscode.commands.registerCommand(MENTOR_COMMANDS.fixApplied, (args: FixAppliedArgs) => fixApplied(args)),
  ];
}
