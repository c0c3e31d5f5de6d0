/**
 * Documentation imports in the editor: `sigil/rag.import` with a progress notification that can be
 * cancelled (shared by Sigil: Import Rust Documentation and Sigil: Import Documentation Folder…), and the
 * folder command, which asks for an SPDX licence only when the server says it cannot find or read one.
 */
import * as vscode from 'vscode';
import { SigilError } from '../../shared/src/errors.js';
import type { RagImportParams, RagImportResult } from '../../shared/src/protocol.js';
import type { Ctx } from './ctx.js';
import { withServerProgress } from './serverProgress.js';
import { asksForLicence, folderImportArgs, importSummary } from './importWords.js';

/** Runs an import under a cancellable progress notification fed by the server's work-done progress. */
export async function runImport(ctx: Ctx, params: RagImportParams, title: string): Promise<RagImportResult> {
  await ctx.requireReady();
  return withServerProgress(ctx, { title, cancellable: true, kind: 'import' }, (workDoneToken, cancel) =>
    ctx.request('sigil/rag.import', params, { workDoneToken, cancel }),
  );
}

/** Runs an import and says how it went. */
export async function importAndSummarize(
  ctx: Ctx,
  params: RagImportParams,
  title: string,
): Promise<RagImportResult> {
  const result = await runImport(ctx, params, title);
  void vscode.window.showInformationMessage(importSummary(result));
  return result;
}

async function pickFolder(): Promise<string | undefined> {
  const picked = await vscode.window.showOpenDialog({
    canSelectFolders: true,
    canSelectFiles: false,
    canSelectMany: false,
    openLabel: 'Import',
    title: 'Sigil: Import Documentation Folder…',
  });
  const uri = picked?.[0];
  if (!uri) return undefined;
  if (uri.scheme !== 'file') {
    // The server reads the folder from its own disk: a folder of another file system cannot be imported.
    void vscode.window.showErrorMessage(
      `Sigil: ${uri.toString()} is not a folder on this machine's disk; pick a local folder, or run sigil rag import PATH where the files are.`,
    );
    return undefined;
  }
  return uri.fsPath;
}

/**
 * Sigil: Import Documentation Folder…: a directory of HTML (mdBook, rustdoc) or Markdown. When the server
 * refuses because the folder's licence cannot be found or read, its words are shown with an offer to type
 * an SPDX expression, which goes to the server as `licence` (and, if invalid, comes back refused the same way).
 */
export async function importDocsFolder(ctx: Ctx, raw: unknown): Promise<RagImportResult | undefined> {
  const args = folderImportArgs(raw);
  const dir = args.path ?? (await pickFolder());
  if (dir === undefined) return undefined;
  let licence = args.licence;
  for (;;) {
    try {
      return await importAndSummarize(
        ctx,
        { paths: [dir], ...(licence !== undefined ? { licence } : {}) },
        'Sigil: importing documentation',
      );
    } catch (e) {
      if (!(e instanceof SigilError) || !asksForLicence(e)) throw e;
      const choice = await vscode.window.showWarningMessage(
        `Sigil: ${e.message}`,
        { modal: false },
        'Enter SPDX Licence…',
      );
      if (choice === undefined) return undefined;
      const typed = await vscode.window.showInputBox({
        title: 'Sigil: licence of the documentation folder',
        prompt: `The SPDX licence expression of ${dir} (for example MIT OR Apache-2.0, CC-BY-4.0), as its terms state`,
        ignoreFocusOut: true,
        ...(licence !== undefined ? { value: licence } : {}),
      });
      if (typed === undefined || typed.trim() === '') return undefined;
      licence = typed.trim();
    }
  }
}
