/**
 * The Licenses tree: every licence recorded in the store (sigil/license.list), grouped by status (valid,
 * expired, revoked, not yet valid); a delegated licence sits under the licence it was delegated from, so
 * the tree shows each delegation chain. Refreshed when licence records are appended or the identity changes.
 */
import * as vscode from 'vscode';
import { LICENSE_STATUSES, type LicenseEntry, type LicenseStatus } from '../../shared/src/protocol.js';
import type { Ctx } from './ctx.js';
import { GuardedLoad } from './treeLoad.js';

export const LICENSES_VIEW_ID = 'sigil.licenses';

export type LicenseNode =
  | { readonly type: 'status'; readonly status: LicenseStatus; readonly count: number }
  | { readonly type: 'license'; readonly entry: LicenseEntry }
  | { readonly type: 'message'; readonly text: string; readonly error: boolean };

const STATUS_TITLES: Record<LicenseStatus, string> = {
  valid: 'Valid',
  expired: 'Expired',
  revoked: 'Revoked',
  'not-yet-valid': 'Not yet valid',
};

const STATUS_ICONS: Record<LicenseStatus, vscode.ThemeIcon> = {
  valid: new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed')),
  expired: new vscode.ThemeIcon('history'),
  revoked: new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed')),
  'not-yet-valid': new vscode.ThemeIcon('clock'),
};

const LOA_NAMES = ['guest', 'observer', 'operator', 'mentor', 'root'];

export interface LicenseSnapshot {
  readonly groups: ReadonlyArray<{ status: LicenseStatus; licenses: ReadonlyArray<LicenseEntry> }>;
  readonly error: string | null;
}

export class LicensesProvider implements vscode.TreeDataProvider<LicenseNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<LicenseNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly licenses = new GuardedLoad<readonly LicenseEntry[]>(
    async () =>
      this.ctx.store.phase === 'ready' ? (await this.ctx.request('sigil/license.list', {})).licenses : [],
    () => [],
  );
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly ctx: Ctx) {
    this.disposables.push(
      this.changed,
      ctx.onDidAppend((n) => {
        if (n.records.some((r) => r.kind.startsWith('license.'))) this.refresh();
      }),
      ctx.onDidChangeStore(() => this.refresh()),
      ctx.identities.onDidChange(() => this.refresh()),
    );
  }

  refresh(): void {
    this.licenses.invalidate();
    this.changed.fire(undefined);
  }

  /** What the tree shows, for the integration suite. */
  async snapshot(): Promise<LicenseSnapshot> {
    const { value: all, error } = await this.licenses.get();
    return {
      groups: LICENSE_STATUSES.map((status) => ({
        status,
        licenses: all.filter((l) => l.status === status),
      })),
      error,
    };
  }

  async getChildren(node?: LicenseNode): Promise<LicenseNode[]> {
    const { value: all, error } = await this.licenses.get();
    if (!node) {
      if (error) return [{ type: 'message', text: error, error: true }];
      if (this.ctx.store.phase !== 'ready') return [];
      return LICENSE_STATUSES.map((status) => ({
        type: 'status' as const,
        status,
        count: all.filter((l) => l.status === status).length,
      })).filter((g) => g.count > 0 || g.status === 'valid');
    }
    if (node.type === 'status') {
      // Roots of the group: licences whose parent is not in the same group.
      const inGroup = all.filter((l) => l.status === node.status);
      const ids = new Set(inGroup.map((l) => l.id));
      return inGroup
        .filter((l) => l.parent === null || !ids.has(l.parent))
        .map((entry) => ({ type: 'license' as const, entry }));
    }
    if (node.type === 'license') {
      return all
        .filter((l) => l.parent === node.entry.id && l.status === node.entry.status)
        .map((entry) => ({ type: 'license' as const, entry }));
    }
    return [];
  }

  getTreeItem(node: LicenseNode): vscode.TreeItem {
    if (node.type === 'status') {
      const item = new vscode.TreeItem(STATUS_TITLES[node.status], vscode.TreeItemCollapsibleState.Expanded);
      item.description = String(node.count);
      item.iconPath = STATUS_ICONS[node.status];
      item.contextValue = 'sigil.licenseStatus';
      return item;
    }
    if (node.type === 'message') {
      const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
      item.iconPath = new vscode.ThemeIcon(node.error ? 'warning' : 'info');
      return item;
    }
    const l = node.entry;
    const hasChildren = (this.licenses.current?.value ?? []).some(
      (c) => c.parent === l.id && c.status === l.status,
    );
    const item = new vscode.TreeItem(
      l.subject,
      hasChildren ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None,
    );
    item.id = `license:${l.id}`;
    item.description = `${l.role} · LOA ${l.loa} (${LOA_NAMES[l.loa] ?? '?'}) · expires ${l.expiresAt.slice(0, 10)}`;
    item.iconPath = STATUS_ICONS[l.status];
    item.contextValue = l.status === 'revoked' ? 'sigil.license.revoked' : 'sigil.license';
    const md = new vscode.MarkdownString(undefined, true);
    md.appendMarkdown(`**${escape(l.subject)}** — ${l.status}\n\n`);
    md.appendMarkdown(`| | |\n|---|---|\n`);
    md.appendMarkdown(`| licence | \`${l.id}\` |\n`);
    md.appendMarkdown(`| role / LOA | ${l.role} / ${l.loa} (${LOA_NAMES[l.loa] ?? '?'}) |\n`);
    md.appendMarkdown(`| valid | ${l.notBefore} → ${l.expiresAt} |\n`);
    md.appendMarkdown(`| key | \`${l.keyId}\` |\n`);
    md.appendMarkdown(`| issued by | ${escape(l.issuedBy)} |\n`);
    md.appendMarkdown(`| chain | ${l.chainIds.map((id) => `\`${id.slice(0, 8)}\``).join(' → ')} |\n`);
    if (l.revoked)
      md.appendMarkdown(
        `| revoked | ${escape(l.revoked.reason)} (${l.revoked.at}, by ${escape(l.revoked.by)}) |\n`,
      );
    item.tooltip = md;
    return item;
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}

function escape(s: string): string {
  return s.replace(/[|\\`*_<>[\]]/g, (c) => `\\${c}`);
}
