/**
 * The Proposals tree: every system proposal (sigil/proposal.list), grouped pending, committed, expired or
 * stale, rejected. A pending one says its votes against k ("0/1"; a registry change shows the current and
 * the new set) and when it expires; its tooltip (and its children) say who signed, who is missing and — when
 * a commit would fail — why, so a person sees it before trying. Refreshed when proposal or witness records
 * are appended, when the store or the active identity changes, and when a pending proposal expires.
 */
import { refreshOnGovernanceChange } from './governanceRefresh.js';
import * as vscode from 'vscode';
import type { ProposalSignatureView, ProposalView } from '../../shared/src/protocol.js';
import type { Ctx } from './ctx.js';
import { GuardedLoad } from './treeLoad.js';
import {
  PROPOSAL_GROUPS,
  PROPOSAL_GROUP_TITLES,
  changeSummary,
  escapeMarkdown,
  groupOf,
  proposalContext,
  proposalDescription,
  proposalFacts,
  type ProposalGroup,
} from './quorumPresent.js';

export const PROPOSALS_VIEW_ID = 'sigil.proposals';

export type ProposalNode =
  | { readonly type: 'group'; readonly group: ProposalGroup; readonly count: number }
  | { readonly type: 'proposal'; readonly view: ProposalView }
  | { readonly type: 'signature'; readonly view: ProposalView; readonly signature: ProposalSignatureView }
  | { readonly type: 'missing'; readonly view: ProposalView; readonly witnessId: string }
  | { readonly type: 'blocker'; readonly view: ProposalView; readonly text: string }
  | { readonly type: 'message'; readonly text: string; readonly error: boolean };

const GROUP_ICONS: Record<ProposalGroup, vscode.ThemeIcon> = {
  pending: new vscode.ThemeIcon('git-pull-request-draft'),
  committed: new vscode.ThemeIcon('git-merge', new vscode.ThemeColor('testing.iconPassed')),
  closed: new vscode.ThemeIcon('history'),
  rejected: new vscode.ThemeIcon('git-pull-request-closed', new vscode.ThemeColor('testing.iconFailed')),
};

function proposalIcon(p: ProposalView): vscode.ThemeIcon {
  switch (p.status) {
    case 'pending':
      return p.canCommit
        ? new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed'))
        : new vscode.ThemeIcon('git-pull-request-draft');
    case 'committed':
      return GROUP_ICONS.committed;
    case 'rejected':
      return GROUP_ICONS.rejected;
    case 'expired':
      return new vscode.ThemeIcon('watch');
    case 'stale':
      return new vscode.ThemeIcon('debug-disconnect');
  }
}

/** One proposal as the tree shows it. */
export interface ProposalItemSnapshot {
  readonly id: string;
  readonly kind: string;
  readonly status: ProposalView['status'];
  readonly label: string;
  readonly description: string;
  readonly contextValue: string;
  /** The tooltip's facts: votes, who signed, who is missing, why a commit would fail. */
  readonly tooltip: string;
  readonly view: ProposalView;
}

export interface ProposalSnapshot {
  readonly groups: ReadonlyArray<{ group: ProposalGroup; proposals: ReadonlyArray<ProposalItemSnapshot> }>;
  readonly error: string | null;
}

/** Longest wait before the tree looks at expiries again (setTimeout's limit is about 24.8 days). */
const MAX_TIMER_MS = 6 * 60 * 60 * 1000;

export class ProposalsProvider implements vscode.TreeDataProvider<ProposalNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<ProposalNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly proposals = new GuardedLoad<readonly ProposalView[]>(
    async () =>
      this.ctx.store.phase === 'ready' ? (await this.ctx.request('sigil/proposal.list', {})).proposals : [],
    () => [],
    ({ value }) => this.scheduleExpiry(value),
  );
  private expiryTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly ctx: Ctx) {
    this.disposables.push(this.changed, ...refreshOnGovernanceChange(ctx, () => this.refresh()));
  }

  refresh(): void {
    this.proposals.invalidate();
    this.changed.fire(undefined);
  }

  /** A pending proposal turns "expired" at its expiry without any record being appended: look again then. */
  private scheduleExpiry(proposals: readonly ProposalView[]): void {
    clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    const now = Date.now();
    const next = Math.min(
      ...proposals
        .filter((p) => p.status === 'pending')
        .map((p) => Date.parse(p.expiresAt))
        .filter((t) => Number.isFinite(t) && t > now),
    );
    if (!Number.isFinite(next)) return;
    this.expiryTimer = setTimeout(() => this.refresh(), Math.min(MAX_TIMER_MS, next - now + 500));
  }

  private static inGroup(proposals: readonly ProposalView[], group: ProposalGroup): ProposalView[] {
    return proposals.filter((p) => groupOf(p.status) === group);
  }

  /** What the tree shows, for the integration suite. */
  async snapshot(): Promise<ProposalSnapshot> {
    const { value: proposals, error } = await this.proposals.get();
    return {
      groups: PROPOSAL_GROUPS.map((group) => ({
        group,
        proposals: ProposalsProvider.inGroup(proposals, group).map((view) => {
          const item = this.getTreeItem({ type: 'proposal', view });
          return {
            id: view.id,
            kind: view.kind,
            status: view.status,
            label: typeof item.label === 'string' ? item.label : (item.label?.label ?? ''),
            description: typeof item.description === 'string' ? item.description : '',
            contextValue: item.contextValue ?? '',
            tooltip: proposalFacts(view).join('\n'),
            view,
          };
        }),
      })),
      error,
    };
  }

  /** The proposal with this id as last listed (loads the list if needed). */
  async find(id: string): Promise<ProposalView | undefined> {
    return (await this.proposals.get()).value.find((p) => p.id === id);
  }

  async getChildren(node?: ProposalNode): Promise<ProposalNode[]> {
    const { value: proposals, error } = await this.proposals.get();
    if (!node) {
      if (error) return [{ type: 'message', text: error, error: true }];
      // No proposals at all: the welcome content explains what they are and offers to create one.
      if (this.ctx.store.phase !== 'ready' || proposals.length === 0) return [];
      return PROPOSAL_GROUPS.map((group) => ({
        type: 'group' as const,
        group,
        count: ProposalsProvider.inGroup(proposals, group).length,
      })).filter((g) => g.count > 0 || g.group === 'pending');
    }
    if (node.type === 'group')
      return ProposalsProvider.inGroup(proposals, node.group).map((view) => ({
        type: 'proposal' as const,
        view,
      }));
    if (node.type === 'proposal') {
      const p = node.view;
      const open = p.status === 'pending' || p.status === 'stale' || p.status === 'expired';
      return [
        ...p.signatures.map((signature) => ({ type: 'signature' as const, view: p, signature })),
        ...(open ? p.unsigned.map((witnessId) => ({ type: 'missing' as const, view: p, witnessId })) : []),
        ...(open && !p.canCommit
          ? p.blockers.map((text) => ({ type: 'blocker' as const, view: p, text }))
          : []),
      ];
    }
    return [];
  }

  getTreeItem(node: ProposalNode): vscode.TreeItem {
    switch (node.type) {
      case 'group': {
        const item = new vscode.TreeItem(
          PROPOSAL_GROUP_TITLES[node.group],
          node.group === 'pending'
            ? vscode.TreeItemCollapsibleState.Expanded
            : vscode.TreeItemCollapsibleState.Collapsed,
        );
        item.id = `proposals:${node.group}`;
        item.description = String(node.count);
        item.iconPath = GROUP_ICONS[node.group];
        item.contextValue = 'sigil.proposalGroup';
        return item;
      }
      case 'proposal':
        return proposalItem(node.view);
      case 'signature': {
        const s = node.signature;
        const item = new vscode.TreeItem(`signed by ${s.witnessId}`, vscode.TreeItemCollapsibleState.None);
        item.id = `proposal:${node.view.id}:sig:${s.keyId}:${s.sig.slice(0, 16)}`;
        item.description = s.counts
          ? `key ${s.keyId.slice(0, 8)} · counts`
          : `does not count: ${s.problem ?? ''}`;
        item.iconPath = s.counts
          ? new vscode.ThemeIcon('check', new vscode.ThemeColor('testing.iconPassed'))
          : new vscode.ThemeIcon('warning');
        item.tooltip = `Witness ${s.witnessId}, key ${s.keyId}${s.counts ? '' : `\nDoes not count: ${s.problem ?? ''}`}`;
        item.contextValue = 'sigil.proposalSignature';
        return item;
      }
      case 'missing': {
        const item = new vscode.TreeItem(
          `not signed by ${node.witnessId}`,
          vscode.TreeItemCollapsibleState.None,
        );
        item.id = `proposal:${node.view.id}:missing:${node.witnessId}`;
        item.iconPath = new vscode.ThemeIcon('circle-large-outline');
        item.contextValue = 'sigil.proposalMissing';
        return item;
      }
      case 'blocker': {
        const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
        item.id = `proposal:${node.view.id}:blocker:${node.text}`;
        item.iconPath = new vscode.ThemeIcon('circle-slash', new vscode.ThemeColor('testing.iconFailed'));
        item.tooltip = `A commit would fail: ${node.text}`;
        item.contextValue = 'sigil.proposalBlocker';
        return item;
      }
      case 'message': {
        const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
        item.iconPath = new vscode.ThemeIcon(node.error ? 'warning' : 'info');
        return item;
      }
    }
  }

  dispose(): void {
    clearTimeout(this.expiryTimer);
    for (const d of this.disposables) d.dispose();
  }
}

function proposalItem(p: ProposalView): vscode.TreeItem {
  const item = new vscode.TreeItem(
    `${p.kind}: ${changeSummary(p, 60)}`,
    vscode.TreeItemCollapsibleState.Collapsed,
  );
  item.id = `proposal:${p.id}`;
  item.description = proposalDescription(p);
  item.iconPath = proposalIcon(p);
  item.contextValue = proposalContext(p);
  const md = new vscode.MarkdownString(undefined, true);
  md.appendMarkdown(`**${escapeMarkdown(p.kind)}** — ${p.status}\n\n`);
  md.appendCodeblock(JSON.stringify(p.change, null, 2), 'json');
  md.appendMarkdown(`\n| | |\n|---|---|\n`);
  md.appendMarkdown(`| proposal | \`${p.id}\` |\n`);
  md.appendMarkdown(`| proposed | ${p.createdAt} by ${escapeMarkdown(p.proposer)} |\n`);
  md.appendMarkdown(`| expires | ${p.expiresAt} |\n`);
  md.appendMarkdown(`| on top of | \`${p.prev ?? '(none)'}\` |\n\n`);
  for (const line of proposalFacts(p)) md.appendMarkdown(`- ${escapeMarkdown(line)}\n`);
  item.tooltip = md;
  return item;
}
