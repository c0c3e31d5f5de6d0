/**
 * How records look in the editor: the short summary the tree keeps, icons per kind family, and the
 * pretty-printing of canonical JSON; and how store states are put into words. Pure except for the vscode
 * value types.
 */
import * as vscode from 'vscode';
import type { CanonicalRecord, Space } from '../../shared/src/record.js';
import type { RecordVerification } from './verification.js';
import type { StoreView } from './ctx.js';
import { kindIcon } from './format.js';

export { kindIcon, prettyJson, shortTime } from './format.js';

export const RECORD_SCHEME = 'sigil';

/** What the tree keeps of a record. `actor` is missing for records learnt from an append notice. */
export interface RecordSummary {
  readonly id: string;
  readonly seq: number;
  readonly space: Space;
  readonly kind: string;
  readonly ts: string;
  actor?: string;
}

export function summarize(r: CanonicalRecord): RecordSummary {
  return {
    id: r.id,
    seq: r.body.seq,
    space: r.body.space,
    kind: r.body.kind,
    ts: r.body.ts,
    actor: r.body.actor,
  };
}

export function recordUri(id: string): vscode.Uri {
  return vscode.Uri.from({ scheme: RECORD_SCHEME, path: `/record/${id}.json` });
}

export function checkpointUri(size: number): vscode.Uri {
  return vscode.Uri.from({ scheme: RECORD_SCHEME, path: `/checkpoint/${size}.txt` });
}

export function recordIcon(kind: string, state: RecordVerification): vscode.ThemeIcon {
  switch (state) {
    case 'failed':
      return new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed'));
    case 'verified':
      return new vscode.ThemeIcon(kindIcon(kind), new vscode.ThemeColor('testing.iconPassed'));
    default:
      return new vscode.ThemeIcon(kindIcon(kind));
  }
}

export const STATE_WORDS: Readonly<Record<RecordVerification, string>> = {
  unknown: 'not verified yet (run Sigil: Verify Canon Log)',
  verified: 'verified by the last Verify Canon Log run',
  failed: 'failed: at or after the first bad record of the last Verify Canon Log run',
};

/**
 * Why an encrypted store is not open, in the editor's words (the server's own message tells a terminal user
 * to set an environment variable).
 */
export function passphraseProblem(view: StoreView): string {
  const home = view.home ?? 'this workspace';
  return view.problem?.code === 'PASSPHRASE_WRONG'
    ? `the key passphrase of ${home} is wrong: ${view.problem.message}`
    : `the keys of ${home} are encrypted and no passphrase was given`;
}

/**
 * The Audit Log never carries a message: VS Code shows no welcome content while a tree view has one, and
 * every state without records has its way out as a welcome button (Initialize, Enter Key Passphrase,
 * Retry, Show Output). The details of a locked or failed store go to the view's description and the status
 * bar item's tooltip instead.
 */
export function viewMessage(_v: StoreView): string | undefined {
  return undefined;
}

/** A short description for the Audit Log's title bar. */
export function viewDescription(v: StoreView): string | undefined {
  if (v.phase === 'ready') return v.info?.size !== undefined ? `${v.info.size} records` : undefined;
  if (v.phase === 'locked' || v.phase === 'error' || v.phase === 'server-failed') return v.problem?.message;
  return undefined;
}
