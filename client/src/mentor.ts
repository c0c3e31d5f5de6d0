/**
 * RustMentor in the editor, client side: the settings sent to the server, and the commands its code actions
 * name. `sigil.mentor.explain` opens the explanation as a read-only markdown preview; ask, notHelpful and
 * fixApplied go to the RustMentor module (`sigil/module.run`, signed with the editor's identity). Ask may be
 * answered by the editor's own model (vscode.lm): the server hands back its prompt, the editor's model
 * answers it here, and the answer goes back to the server to be checked and recorded (see askPlan.ts).
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
import type {
  AskLlmChoice,
  EditorPrompt,
  ModuleRunResult,
  RustMentorAskReplyInput,
} from '../../shared/src/modules.js';
import { askPlan, mayUseEditorModel, parseMentorLlmSetting } from './askPlan.js';
import { askEditorModel, editorModelFailure, selectEditorModel } from './editorModel.js';

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

/** The editor's way into the signed side of RustMentor (module.run): analyses, feedback and answers. */
export interface MentorModule {
  feedback(rule: string, outcome: 'fixed' | 'not-helpful', path?: string): Promise<ModuleRunResult | null>;
  ask(input: {
    text: string;
    path?: string;
    selection?: AskArgs['range'];
    rule?: string;
    question?: string;
    llm?: AskLlmChoice;
  }): Promise<ModuleRunResult>;
  /** The editor model's answer (or why it has none) to the prompt an `ask` handed back. */
  askReply(reply: Omit<RustMentorAskReplyInput, 'action'>): Promise<ModuleRunResult>;
}

function workspacePath(uri: string): string | undefined {
  const u = vscode.Uri.parse(uri);
  return u.scheme === 'file' ? vscode.workspace.asRelativePath(u, false) : undefined;
}

/** The answer as a read-only markdown document: verdict first, then flags, the text and the sources. */
export function answerMarkdown(rule: string, r: ModuleRunResult, noModelNote: string | null = null): string {
  const a = r.answer;
  const badge =
    r.verdict === 'ManualReview'
      ? '**Review before applying**: generated code is never applied for you.'
      : r.verdict === 'Deny'
        ? '**Refused** by the guard rails.'
        : '';
  const lines = [
    `# RustMentor: ${rule}`,
    '',
    `_Answered by ${a?.model ?? 'the rules and the docs (no model)'}${
      r.result.reasoning.llm?.via === 'vscode.lm'
        ? ", the editor's language model (model id as the editor reports it)"
        : ''
    }_`,
  ];
  if (!a?.model && noModelNote) lines.push('', noModelNote);
  if (badge) lines.push('', badge);
  for (const f of a?.flags ?? []) lines.push('', `> ⚠ ${f}`);
  lines.push('', a?.text ?? r.result.suggestion.summary);
  const cites = r.result.reasoning.citations;
  if (cites.length > 0) {
    lines.push('', '## Sources');
    for (const c of cites)
      lines.push(`- ${c.url ? `[${c.title}](${c.url})` : c.title}${c.licence ? ` (${c.licence})` : ''}`);
  }
  for (const n of r.notes) lines.push('', `_${n}_`);
  if (r.recordId) lines.push('', `Recorded as signed record \`${r.recordId}\`.`);
  return lines.join('\n');
}

async function ask(docs: ExplanationDocuments, mentor: MentorModule, args: AskArgs): Promise<void> {
  const question = await vscode.window.showInputBox({
    title: `Ask RustMentor about ${args.ruleId}`,
    prompt: 'Your question (optional): press Enter to ask about the finding',
  });
  if (question === undefined) return;
  const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === args.uri);
  const path = workspacePath(args.uri);
  const setting = parseMentorLlmSetting(vscode.workspace.getConfiguration(MENTOR_SECTION).get('llm'));
  try {
    const model = mayUseEditorModel(setting) ? await selectEditorModel() : null;
    const plan = askPlan(setting, model !== null);
    const first = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `RustMentor: asking about ${args.ruleId}…` },
      () =>
        mentor.ask({
          text: doc?.getText() ?? args.text,
          ...(path ? { path } : {}),
          ...(doc ? { selection: args.range } : {}),
          rule: args.ruleId,
          ...(question.trim() ? { question: question.trim() } : {}),
          llm: plan.llm,
        }),
    );
    const r = first.prompt ? await answerWithEditorModel(mentor, model, first.prompt) : first;
    await vscode.commands.executeCommand(
      'markdown.showPreview',
      docs.add({ ruleId: `ask-${args.ruleId}`, markdown: answerMarkdown(args.ruleId, r, plan.noModelNote) }),
    );
  } catch (e) {
    void vscode.window.showErrorMessage(
      `RustMentor could not answer: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}

/**
 * The second step of an editor-model Ask: the model answers the server's prompt under a cancellable
 * notification, and whatever happens the server hears of it, so a failed request still ends in the rules'
 * answer (and the pending prompt is not left waiting for its expiry).
 */
async function answerWithEditorModel(
  mentor: MentorModule,
  model: vscode.LanguageModelChat | null,
  prompt: EditorPrompt,
): Promise<ModuleRunResult> {
  if (!model)
    return mentor.askReply({ promptId: prompt.promptId, failed: 'the editor has no language model' });
  return vscode.window.withProgress(
    {
      location: vscode.ProgressLocation.Notification,
      title: `RustMentor: ${model.name} is answering…`,
      cancellable: true,
    },
    async (_progress, token) => {
      let answer: string;
      try {
        answer = await askEditorModel(model, prompt, token);
      } catch (e) {
        return mentor.askReply({ promptId: prompt.promptId, failed: editorModelFailure(e, token) });
      }
      if (!answer.trim())
        return mentor.askReply({ promptId: prompt.promptId, failed: 'the model returned an empty answer' });
      return mentor.askReply({
        promptId: prompt.promptId,
        answer,
        model: { id: model.id, vendor: model.vendor, family: model.family },
      });
    },
  );
}

async function notHelpful(mentor: MentorModule, args: NotHelpfulArgs): Promise<void> {
  const r = await mentor.feedback(args.ruleId, 'not-helpful', workspacePath(args.uri));
  void vscode.window.showInformationMessage(
    r
      ? `RustMentor: noted that ${args.ruleId} did not help (signed record ${r.recordId?.slice(0, 12) ?? '-'}…).`
      : `RustMentor: the feedback on ${args.ruleId} could not be recorded; see the Sigil output.`,
  );
}

/** Runs after the quick fix's edit was applied: the acceptance is trust feedback and learning progress. */
async function fixApplied(mentor: MentorModule, args: FixAppliedArgs): Promise<void> {
  const r = await mentor.feedback(args.ruleId, 'fixed', workspacePath(args.uri));
  const p = r?.progress;
  if (p && r?.result.context.parameters.adaptive_after === p.fixed)
    void vscode.window.showInformationMessage(
      `RustMentor: you have fixed ${args.ruleId} ${p.fixed} times; its explanation is one line from now on.`,
    );
}

export function registerMentorCommands(mentor: MentorModule): vscode.Disposable[] {
  const docs = new ExplanationDocuments();
  return [
    vscode.workspace.registerTextDocumentContentProvider(EXPLAIN_SCHEME, docs),
    vscode.commands.registerCommand(MENTOR_COMMANDS.explain, (args: unknown) => explain(docs, args)),
    vscode.commands.registerCommand(MENTOR_COMMANDS.ask, (args: AskArgs) => ask(docs, mentor, args)),
    vscode.commands.registerCommand(MENTOR_COMMANDS.notHelpful, (args: NotHelpfulArgs) =>
      notHelpful(mentor, args),
    ),
    vscode.commands.registerCommand(MENTOR_COMMANDS.fixApplied, (args: FixAppliedArgs) =>
      fixApplied(mentor, args),
    ),
  ];
}
