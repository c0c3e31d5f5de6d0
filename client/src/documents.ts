/**
 * Read-only documents under the `sigil:` scheme:
 * - `sigil:/record/<id>.json` — a record's canonical JSON, pretty-printed, between a header and a footer
 *   (as `//` comments, shown as JSON with Comments) that say whether it verifies (`sigil/canon.get`);
 * - `sigil:/checkpoint/<size>.txt` — the signed checkpoint note that "Show Checkpoint" obtained.
 */
import * as vscode from 'vscode';
import { ID_PATTERN } from '../../shared/src/record.js';
import type { CheckpointResult, RecordView } from '../../shared/src/protocol.js';
import { SigilError } from '../../shared/src/errors.js';
import type { Ctx } from './ctx.js';
import { RECORD_SCHEME, STATE_WORDS, checkpointUri, prettyJson, recordUri } from './present.js';

export class SigilDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private readonly checkpoints = new Map<string, CheckpointResult>();
  private readonly disposables: vscode.Disposable[] = [this.changed];

  constructor(private readonly ctx: Ctx) {
    // Verification shown in the header follows the last verify run and the store's state.
    // Open records are re-read when the store (re)opens and after a verify run; while the server is not
    // ready they keep what they show.
    const refreshOpen = (): void => {
      if (ctx.store.phase !== 'ready') return;
      for (const doc of vscode.workspace.textDocuments) {
        if (doc.uri.scheme === RECORD_SCHEME && doc.uri.path.startsWith('/record/'))
          this.changed.fire(doc.uri);
      }
    };
    let lastPhase = ctx.store.phase;
    this.disposables.push(
      ctx.verification.onDidChange(refreshOpen),
      ctx.onDidChangeStore((v) => {
        if (v.phase === lastPhase) return;
        lastPhase = v.phase;
        refreshOpen();
      }),
    );
  }

  /** Remembers a checkpoint and returns the URI that shows it. */
  addCheckpoint(cp: CheckpointResult): vscode.Uri {
    const uri = checkpointUri(cp.size);
    this.checkpoints.set(uri.toString(), cp);
    this.changed.fire(uri);
    return uri;
  }

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const record = /^\/record\/([0-9a-f]{64})\.json$/.exec(uri.path);
    if (record) return this.recordText(record[1] as string);
    if (uri.path.startsWith('/checkpoint/')) {
      const cp = this.checkpoints.get(uri.toString());
      return cp ? cp.note : 'This checkpoint is no longer in memory: run "Sigil: Show Checkpoint" again.\n';
    }
    return `Unknown Sigil document ${uri.toString()}\n`;
  }

  private async recordText(id: string): Promise<string> {
    let view: RecordView;
    try {
      view = await this.ctx.request('sigil/canon.get', { id });
    } catch (e) {
      const message = (e as Error).message;
      this.ctx.output.error(`opening record ${id}: ${message}`);
      return `// Sigil record ${id}\n// Could not load it: ${message}\n`;
    }
    return renderRecord(view, this.ctx.verification.stateOf(view.record.body.seq));
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}

export function renderRecord(view: RecordView, logState: keyof typeof STATE_WORDS): string {
  const { record, verification: v } = view;
  const b = record.body;
  const lines = [
    `// Sigil record #${b.seq} — ${b.kind} (${b.space} space)`,
    `// id:     ${record.id}`,
    `// actor:  ${b.actor}`,
    `// time:   ${b.ts}`,
    `// signed: ${record.signature.alg}, key ${record.signature.key_id}`,
  ];
  if (v.ok) {
    lines.push(
      '// verification: OK',
      '//   the id is the SHA-256 of the canonical body, and the signature verifies by a certified key',
    );
  } else {
    lines.push(`// verification: FAILED — ${v.reason ?? 'unknown reason'}`);
  }
  if (v.inclusion) {
    lines.push(
      `//   ${v.inclusion.ok ? 'included' : 'NOT included'} in the Merkle tree of size ${v.inclusion.treeSize}, root ${v.inclusion.rootHash}`,
    );
  }
  lines.push(`// log: ${STATE_WORDS[logState]}`, '');
  const footer = [
    '',
    `// Canonical form (RFC 8785): ${Buffer.byteLength(view.canonical, 'utf8')} bytes; shown re-indented, key order kept.`,
    '// Read-only: the canon is append-only.',
    '',
  ];
  return lines.join('\n') + prettyJson(view.canonical) + '\n' + footer.join('\n');
}

/** Opens a record by id in a read-only editor (JSON with Comments). */
export async function openRecordDocument(id: string, preview = true): Promise<vscode.TextDocument> {
  const clean = id.trim().toLowerCase();
  if (!ID_PATTERN.test(clean)) {
    throw new SigilError(
      'BAD_INPUT',
      `not a record id: ${JSON.stringify(id)} (a record id is 64 hex characters)`,
    );
  }
  let doc = await vscode.workspace.openTextDocument(recordUri(clean));
  if (doc.languageId !== 'jsonc') doc = await vscode.languages.setTextDocumentLanguage(doc, 'jsonc');
  await vscode.window.showTextDocument(doc, { preview });
  return doc;
}
