/** Input boxes that more than one command asks. */
import * as vscode from 'vscode';
import { parseExpiry } from '../../shared/src/expiry.js';

/** A lifetime (30d, 12h, 90m or an RFC 3339 time), checked as it is typed; undefined when cancelled. */
export function askLifetime(title: string, prompt: string, value: string): Thenable<string | undefined> {
  return vscode.window.showInputBox({
    title: `${title} — lifetime`,
    prompt,
    value,
    ignoreFocusOut: true,
    validateInput: (v) => {
      try {
        parseExpiry(v, Date.now(), 'the lifetime');
        return null;
      } catch (e) {
        return (e as Error).message;
      }
    },
  });
}
