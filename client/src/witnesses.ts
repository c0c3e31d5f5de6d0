/**
 * The Witnesses tree: the witness registry in force (sigil/witness.list). At the top "k of n" (how many
 * active witnesses must sign a system change, out of how many there are), then the active and the revoked
 * witnesses with their current key; under each witness the keys it has held, newest first, with the
 * rotation that replaced each old one. Refreshed when witness or proposal records are appended, when the
 * store changes and when the active identity changes.
 */
import { refreshOnGovernanceChange } from './governanceRefresh.js';
import * as vscode from 'vscode';
import type { WitnessListResult, WitnessView } from '../../shared/src/protocol.js';
import type { Ctx } from './ctx.js';
import { GuardedLoad } from './treeLoad.js';
import { escapeMarkdown } from './quorumPresent.js';

export const WITNESSES_VIEW_ID = 'sigil.witnesses';

type WitnessStatus = WitnessView['status'];

export type WitnessNode =
  | { readonly type: 'quorum'; readonly threshold: number; readonly active: number; readonly total: number }
  | { readonly type: 'status'; readonly status: WitnessStatus; readonly count: number }
  | { readonly type: 'witness'; readonly witness: WitnessView }
  | {
      readonly type: 'key';
      readonly witness: WitnessView;
      readonly key: WitnessView['keys'][number];
      readonly current: boolean;
    }
  | { readonly type: 'message'; readonly text: string; readonly error: boolean };

const STATUS_TITLES: Record<WitnessStatus, string> = { active: 'Active', revoked: 'Revoked' };

const STATUS_ICONS: Record<WitnessStatus, vscode.ThemeIcon> = {
  active: new vscode.ThemeIcon('eye', new vscode.ThemeColor('testing.iconPassed')),
  revoked: new vscode.ThemeIcon('circle-slash', new vscode.ThemeColor('testing.iconFailed')),
};

export interface WitnessSnapshot {
  /** k, the witnesses (active and revoked) and the head of system changes; null before the first load. */
  readonly registry: WitnessListResult | null;
  /** What the first row says, e.g. "k = 1 of 1". */
  readonly summary: string | null;
  readonly groups: ReadonlyArray<{ status: WitnessStatus; witnesses: ReadonlyArray<WitnessView> }>;
  readonly error: string | null;
}

/** "k = 2 of 3" (k of the active witnesses). */
export function quorumSummary(r: WitnessListResult): string {
  const active = r.witnesses.filter((w) => w.status === 'active').length;
  return `k = ${r.threshold} of ${active}`;
}

export class WitnessesProvider implements vscode.TreeDataProvider<WitnessNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<WitnessNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly registry = new GuardedLoad<WitnessListResult | null>(
    async () => (this.ctx.store.phase === 'ready' ? await this.ctx.request('sigil/witness.list', {}) : null),
    () => null,
  );
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly ctx: Ctx) {
    this.disposables.push(this.changed, ...refreshOnGovernanceChange(ctx, () => this.refresh()));
  }

  refresh(): void {
    this.registry.invalidate();
    this.changed.fire(undefined);
  }

  /** What the tree shows, for the integration suite. */
  async snapshot(): Promise<WitnessSnapshot> {
    const { value: r, error } = await this.registry.get();
    return {
      registry: r,
      summary: r ? quorumSummary(r) : null,
      groups: (['active', 'revoked'] as const).map((status) => ({
        status,
        witnesses: (r?.witnesses ?? []).filter((w) => w.status === status),
      })),
      error,
    };
  }

  async getChildren(node?: WitnessNode): Promise<WitnessNode[]> {
    const { value: r, error } = await this.registry.get();
    if (!node) {
      if (error) return [{ type: 'message', text: error, error: true }];
      if (!r || this.ctx.store.phase !== 'ready') return [];
      const active = r.witnesses.filter((w) => w.status === 'active').length;
      const groups = (['active', 'revoked'] as const)
        .map((status) => ({
          type: 'status' as const,
          status,
          count: r.witnesses.filter((w) => w.status === status).length,
        }))
        .filter((g) => g.count > 0 || g.status === 'active');
      return [{ type: 'quorum', threshold: r.threshold, active, total: r.witnesses.length }, ...groups];
    }
    if (node.type === 'status')
      return (r?.witnesses ?? [])
        .filter((w) => w.status === node.status)
        .map((witness) => ({ type: 'witness' as const, witness }));
    if (node.type === 'witness') {
      const w = node.witness;
      return [...w.keys].reverse().map((key) => ({
        type: 'key' as const,
        witness: w,
        key,
        current: w.status === 'active' && key.keyId === w.keyId,
      }));
    }
    return [];
  }

  getTreeItem(node: WitnessNode): vscode.TreeItem {
    switch (node.type) {
      case 'quorum':
        return this.quorumItem(node);
      case 'status': {
        const item = new vscode.TreeItem(
          STATUS_TITLES[node.status],
          vscode.TreeItemCollapsibleState.Expanded,
        );
        item.description = String(node.count);
        item.iconPath = STATUS_ICONS[node.status];
        item.contextValue = 'sigil.witnessStatus';
        return item;
      }
      case 'witness':
        return this.witnessItem(node.witness);
      case 'key':
        return keyItem(node);
      case 'message': {
        const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
        item.iconPath = new vscode.ThemeIcon(node.error ? 'warning' : 'info');
        return item;
      }
    }
  }

  private quorumItem(node: WitnessNode & { type: 'quorum' }): vscode.TreeItem {
    const item = new vscode.TreeItem(`k = ${node.threshold} of ${node.active}`);
    item.id = 'witnesses:quorum';
    item.iconPath = new vscode.ThemeIcon('shield');
    const revoked = node.total - node.active;
    item.description = `${node.threshold} signature${node.threshold === 1 ? '' : 's'} needed${revoked ? ` · ${revoked} revoked` : ''}`;
    item.contextValue = 'sigil.quorum';
    const md = new vscode.MarkdownString(undefined, true);
    md.appendMarkdown(
      `**k = ${node.threshold} of ${node.active}** active witness${node.active === 1 ? '' : 'es'}\n\n`,
    );
    md.appendMarkdown(
      `Every change to the system space (policy, trust parameters, the witness set, k) is a proposal that ` +
        `needs the signatures of ${node.threshold} distinct active witness${node.threshold === 1 ? '' : 'es'}, ` +
        `each with its current key. A change of the witness set or of k needs k of the current set AND k of the new one.\n\n`,
    );
    const registry = this.registry.current?.value;
    if (registry) {
      md.appendMarkdown(`Head of system changes: \`${registry.head ?? '(none)'}\`\n\n`);
      if (registry.history.length)
        md.appendMarkdown(
          `Registry history: ${registry.history
            .map(
              (h) =>
                `${h.at.slice(0, 19)}Z ${h.proposalId ? `proposal \`${h.proposalId.slice(0, 8)}\`` : 'genesis'}`,
            )
            .join(' → ')}\n`,
        );
    }
    item.tooltip = md;
    return item;
  }

  private witnessItem(w: WitnessView): vscode.TreeItem {
    const item = new vscode.TreeItem(w.name, vscode.TreeItemCollapsibleState.Collapsed);
    item.id = `witness:${w.id}`;
    const rotations = w.rotations.length;
    item.description =
      w.status === 'active'
        ? `${w.id} · key ${w.keyId ?? '-'}${rotations ? ` · ${rotations} rotation${rotations === 1 ? '' : 's'}` : ''}`
        : `${w.id} · revoked ${w.revokedAt?.slice(0, 10) ?? ''}`;
    item.iconPath = STATUS_ICONS[w.status];
    item.contextValue = w.status === 'active' ? 'sigil.witness.active' : 'sigil.witness.revoked';
    const md = new vscode.MarkdownString(undefined, true);
    md.appendMarkdown(`**${escapeMarkdown(w.name)}** — ${w.status}\n\n`);
    md.appendMarkdown(`| | |\n|---|---|\n`);
    md.appendMarkdown(`| witness | \`${w.id}\` |\n`);
    md.appendMarkdown(`| current key | ${w.keyId ? `\`${w.keyId}\`` : '(none: revoked)'} |\n`);
    if (w.publicKey) md.appendMarkdown(`| public key | \`${w.publicKey}\` |\n`);
    if (w.revokedAt) md.appendMarkdown(`| revoked | ${w.revokedAt} (its signatures no longer count) |\n`);
    for (const k of [...w.keys].reverse())
      md.appendMarkdown(
        `| ${k.keyId === w.keyId && w.status === 'active' ? 'key (current)' : 'old key'} | \`${k.keyId}\` ${k.from}${k.until ? ` → ${k.until}` : ''} |\n`,
      );
    for (const r of w.rotations)
      md.appendMarkdown(
        `| rotated | ${r.at}: \`${r.fromKeyId.slice(0, 8)}\` → \`${r.toKeyId.slice(0, 8)}\`${r.proposalId ? ` (proposal \`${r.proposalId.slice(0, 8)}\`)` : ''} |\n`,
      );
    item.tooltip = md;
    return item;
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}

function keyItem(node: WitnessNode & { type: 'key' }): vscode.TreeItem {
  const { key, witness, current } = node;
  const item = new vscode.TreeItem(`key ${key.keyId}`, vscode.TreeItemCollapsibleState.None);
  item.id = `witness:${witness.id}:key:${key.keyId}`;
  const rotation = witness.rotations.find((r) => r.fromKeyId === key.keyId);
  item.description = current
    ? `current since ${key.from.slice(0, 10)}`
    : key.until
      ? `${key.from.slice(0, 10)} → ${key.until.slice(0, 10)}${rotation ? ' (rotated)' : ''}`
      : `since ${key.from.slice(0, 10)} (witness revoked)`;
  item.iconPath = new vscode.ThemeIcon(current ? 'key' : 'history');
  item.contextValue = current ? 'sigil.witnessKey.current' : 'sigil.witnessKey.old';
  const md = new vscode.MarkdownString(undefined, true);
  md.appendMarkdown(`Key \`${key.keyId}\` of witness \`${witness.id}\`\n\n`);
  md.appendMarkdown(`Public key \`${key.publicKey}\`\n\n`);
  md.appendMarkdown(`From ${key.from}${key.until ? ` until ${key.until}` : ''}\n\n`);
  if (rotation)
    md.appendMarkdown(
      `Replaced by \`${rotation.toKeyId}\` at ${rotation.at}${rotation.proposalId ? ` (proposal \`${rotation.proposalId}\`)` : ''}; signatures by this key no longer count.\n`,
    );
  item.tooltip = md;
  return item;
}
