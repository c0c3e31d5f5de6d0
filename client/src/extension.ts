/**
 * The VS Code extension entry. This first version only makes Sigil's presence and version visible; the
 * language server, views and commands arrive with the editor front door.
 */
import * as vscode from 'vscode';

export function activate(context: vscode.ExtensionContext): void {
  const output = vscode.window.createOutputChannel('Sigil');
  context.subscriptions.push(output);
  output.appendLine(`Sigil ${String(context.extension.packageJSON.version)} activated for ${vscode.workspace.name ?? 'no workspace'}`);
}

export function deactivate(): void {}
