/**
 * Sigil: Search Docs (a quick pick of retrieval results; picking one opens the chunk with its citation and
 * licence) and Sigil: Import Rust Documentation (sigil/rag.import in the server, with a progress
 * notification that can be cancelled).
 */
import * as vscode from 'vscode';
import type { RagCitation, RagImportResult } from '../../shared/src/protocol.js';
import type { Ctx } from './ctx.js';
import { importAndSummarize } from './docsImport.js';

export const CITATION_SCHEME = 'sigil-citation';

function oneLine(text: string, width: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > width ? flat.slice(0, width - 1) + '…' : flat;
}

/** The chunk as a read-only Markdown document: its text, then where it is from and under what licence. */
export function citationMarkdown(c: RagCitation): string {
  const where =
    c.source.url ?? `${c.source.root}/${c.source.path}${c.source.anchor ? `#${c.source.anchor}` : ''}`;
  return [
    `# ${c.source.title || c.source.path}`,
    ...(c.source.heading ? [`## ${c.source.heading}`] : []),
    '',
    c.text,
    '',
    '---',
    '',
    `- Source: ${c.source.url ? `[${where}](${where})` : where}`,
    `- Collection: ${c.source.root}, file ${c.source.path}`,
    `- Licence: ${c.source.licence}`,
    `- Record: ${c.recordId} (chunk ${c.chunk})`,
    '',
  ].join('\n');
}

/** Citations shown this session, by URI: the documents are read-only views of them. */
export class CitationDocuments implements vscode.TextDocumentContentProvider {
  readonly #byUri = new Map<string, string>();
  provideTextDocumentContent(uri: vscode.Uri): string {
    return (
      this.#byUri.get(uri.toString()) ?? 'This citation is no longer available: run Sigil: Search Docs again.'
    );
  }
  open(c: RagCitation): vscode.Uri {
    const uri = vscode.Uri.from({
      scheme: CITATION_SCHEME,
      // The view is Markdown whatever the source was (an HTML page reads as book/ch04.html.md).
      path: `/${c.source.root}/${c.source.path}${c.source.path.endsWith('.md') ? '' : '.md'}`,
      query: `chunk=${c.chunk}&key=${encodeURIComponent(c.key)}`,
    });
    this.#byUri.set(uri.toString(), citationMarkdown(c));
    return uri;
  }
}

export async function searchDocs(
  ctx: Ctx,
  citations: CitationDocuments,
  raw: unknown,
): Promise<readonly RagCitation[] | undefined> {
  const args = (typeof raw === 'object' && raw !== null ? raw : {}) as { query?: unknown; pick?: unknown };
  const query =
    typeof args.query === 'string'
      ? args.query
      : await vscode.window.showInputBox({
          title: 'Sigil: Search Docs',
          prompt: 'A question or an error message (searches the imported documentation)',
          ignoreFocusOut: true,
          validateInput: (v) => (v.trim() === '' ? 'Type what you are looking for' : null),
        });
  if (query === undefined) return undefined;
  const r = await ctx.request('sigil/rag.query', { text: query, k: 12 });
  if (r.hits.length === 0) {
    void vscode.window.showInformationMessage(
      'Sigil: nothing found. Is documentation imported? (Sigil: Import Rust Documentation)',
    );
    return [];
  }
  let picked: RagCitation | undefined;
  if (typeof args.pick === 'number') picked = r.hits[args.pick];
  else {
    const item = await vscode.window.showQuickPick(
      r.hits.map((h) => ({
        label: h.source.heading || h.source.title || h.source.path,
        description: `${h.source.root} · ${h.source.licence}`,
        detail: oneLine(h.text, 180),
        h,
      })),
      { title: `Sigil: Search Docs — ${query}`, matchOnDescription: true, matchOnDetail: true },
    );
    picked = item?.h;
  }
  if (picked) {
    const doc = await vscode.workspace.openTextDocument(citations.open(picked));
    await vscode.languages.setTextDocumentLanguage(doc, 'markdown');
    await vscode.window.showTextDocument(doc, { preview: true });
  }
  return r.hits;
}

export async function importRustDocs(ctx: Ctx, raw: unknown): Promise<RagImportResult | undefined> {
  const args = (typeof raw === 'object' && raw !== null ? raw : {}) as { htmlDir?: unknown; paths?: unknown };
  const paths = Array.isArray(args.paths) ? args.paths.filter((p): p is string => typeof p === 'string') : [];
  return importAndSummarize(
    ctx,
    paths.length
      ? { paths }
      : { rustDocs: true, ...(typeof args.htmlDir === 'string' ? { htmlDir: args.htmlDir } : {}) },
    paths.length ? 'Sigil: importing documentation' : 'Sigil: importing the Rust documentation',
  );
}
