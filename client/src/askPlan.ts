/**
 * Which model "Ask RustMentor" lets answer, from the `sigil.mentor.llm` setting and whether the editor has a
 * chat model at all. Kept free of the vscode module so the decision is testable on its own.
 */
import type { AskLlmChoice } from '../../shared/src/modules.js';

export const MENTOR_LLM_SETTINGS = ['auto', 'editor', 'server', 'off'] as const;
export type MentorLlmSetting = (typeof MENTOR_LLM_SETTINGS)[number];

export function parseMentorLlmSetting(v: unknown): MentorLlmSetting {
  return MENTOR_LLM_SETTINGS.find((s) => s === v) ?? 'auto';
}

/** Whether the setting could use the editor's model, i.e. whether it is worth asking the editor for one. */
export function mayUseEditorModel(setting: MentorLlmSetting): boolean {
  return setting === 'auto' || setting === 'editor';
}

export interface AskPlan {
  /** The `llm` of the first `ask` request. */
  readonly llm: AskLlmChoice;
  /** What to tell the user when the rules and the docs end up answering, or null when nothing needs saying. */
  readonly noModelNote: string | null;
}

export function askPlan(setting: MentorLlmSetting, editorHasModel: boolean): AskPlan {
  switch (setting) {
    case 'off':
      return { llm: 'none', noModelNote: 'No model is asked: `sigil.mentor.llm` is `off`.' };
    case 'server':
      return { llm: 'server', noModelNote: null };
    case 'editor':
      return editorHasModel
        ? { llm: 'editor', noModelNote: null }
        : {
            llm: 'none',
            noModelNote:
              '`sigil.mentor.llm` is `editor`, but this editor offers no language model (vscode.lm), so RustMentor answered from its rules and the docs.',
          };
    case 'auto':
      // The server's own [llm] endpoint comes first: it is what the user configured for this store.
      return editorHasModel
        ? { llm: 'auto', noModelNote: null }
        : {
            llm: 'server',
            noModelNote:
              'This editor offers no language model (vscode.lm) either, so RustMentor answered from its rules and the docs.',
          };
  }
}
