/**
 * The editor's own language model (vscode.lm) for "Ask RustMentor". The server builds the prompt (redacted,
 * cited, capped, deny-listed) and checks the answer; this file only finds a model and relays the prompt to
 * it. Consent is the editor's: VS Code asks the user the first time an extension sends a request.
 */
import * as vscode from 'vscode';
import { MAX_EDITOR_ANSWER, type EditorPrompt } from '../../shared/src/modules.js';

/** selectChatModels waits for model providers to register; an editor without any must not stall Ask. */
const SELECT_TIMEOUT_MS = 5000;

const JUSTIFICATION =
  'RustMentor sends your question, the code around it (secrets redacted) and the cited Rust documentation to answer it.';

/** The editor's first chat model, or null when it has no vscode.lm namespace or no model (code-server: none). */
export async function selectEditorModel(): Promise<vscode.LanguageModelChat | null> {
  const lm = (vscode as Partial<typeof vscode>).lm;
  if (typeof lm?.selectChatModels !== 'function') return null;
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<[]>((resolve) => {
      timer = setTimeout(() => resolve([]), SELECT_TIMEOUT_MS);
    });
    const models = await Promise.race([lm.selectChatModels(), timeout]);
    return models[0] ?? null;
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The model's whole answer to the server's prompt. vscode.lm has no system role, so the system message goes
 * first as a user message; the server's hash names the messages it handed out, not this mapping.
 */
export async function askEditorModel(
  model: vscode.LanguageModelChat,
  prompt: EditorPrompt,
  token: vscode.CancellationToken,
): Promise<string> {
  const messages = prompt.messages.map((m) => vscode.LanguageModelChatMessage.User(m.content));
  const response = await model.sendRequest(messages, { justification: JUSTIFICATION }, token);
  let text = '';
  for await (const part of response.text) {
    text += part;
    if (text.length >= MAX_EDITOR_ANSWER) return text.slice(0, MAX_EDITOR_ANSWER);
  }
  return text;
}

/** Why the model gave no answer, in words for the record and the user. */
export function editorModelFailure(e: unknown, token: vscode.CancellationToken): string {
  if (token.isCancellationRequested) return 'the request was cancelled';
  if (e instanceof vscode.LanguageModelError) return `${e.code || 'error'}: ${e.message}`.slice(0, 2000);
  return (e instanceof Error ? e.message : String(e)).slice(0, 2000) || 'unknown error';
}
