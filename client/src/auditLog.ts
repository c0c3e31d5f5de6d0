/**
 * The Audit Log tree: records grouped by space, newest first, 200 to a page with a "Load more…" item.
 * Appends announced by the server (`sigil/canon.appended`, from the editor or the CLI) are prepended to the
 * loaded groups without refetching; a store state change starts over.
 */
import * as vscode from 'vscode';
import { SPACES, type Space } from '../../shared/src/record.js';
import type { AppendedNotice, DamagedEntry } from '../../shared/src/protocol.js';
import type { Ctx } from './ctx.js';
import { STATE_WORDS, recordIcon, shortTime, summarize, type RecordSummary } from './present.js';

export const VIEW_ID = 'sigil.auditLog';
export const PAGE_SIZE = 200;
/** Past this many records in a group after prepends, the group goes back to its first page. */
const MAX_LOADED = 2000;

export type Node =
  | { readonly type: 'space'; readonly space: Space }
  | { readonly type: 'record'; readonly record: RecordSummary }
  /** A listed entry whose record could not be read (the server names its seq, id and why). */
  | { readonly type: 'damaged'; readonly space: Space; readonly entry: DamagedEntry }
  | { readonly type: 'more'; readonly space: Space }
  | { readonly type: 'message'; readonly space: Space; readonly text: string; readonly error: boolean };

class Group {
  records: RecordSummary[] = [];
  /** Entries of the loaded pages that could not be read, newest first; shown in their place by seq. */
  damaged: DamagedEntry[] = [];
  cursor: string | null = null;
  loaded = false;
  loading: Promise<void> | null = null;
  /** Appends announced while the first page was loading. */
  pending: RecordSummary[] = [];
  error: string | null = null;
  /** Bumped on reset so that a page arriving for an older generation is dropped. */
  generation = 0;

  constructor(readonly space: Space) {}

  reset(): void {
    this.records = [];
    this.damaged = [];
    this.cursor = null;
    this.loaded = false;
    this.loading = null;
    this.pending = [];
    this.error = null;
    this.generation++;
  }

  /** Seq of the newest (max) or oldest (min) loaded entry, records and damaged ones alike. */
  edge(which: 'newest' | 'oldest'): number | undefined {
    let edge: number | undefined;
    for (const { seq } of [...this.records, ...this.damaged])
      if (edge === undefined || (which === 'newest' ? seq > edge : seq < edge)) edge = seq;
    return edge;
  }

  /** Inserts records newer than the newest known one, keeping newest first. */
  prepend(incoming: readonly RecordSummary[]): number {
    const newest = this.edge('newest') ?? -1;
    const fresh = incoming.filter((r) => r.seq > newest).sort((a, b) => b.seq - a.seq);
    if (fresh.length) this.records = [...fresh, ...this.records];
    return fresh.length;
  }
}

export class AuditLogProvider implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly groups = new Map<Space, Group>(SPACES.map((s) => [s, new Group(s)]));
  /** One node object per space: VS Code identifies the elements passed to onDidChangeTreeData by identity. */
  private readonly spaceNodes = new Map<Space, Node>(
    SPACES.map((space) => [space, { type: 'space', space }]),
  );
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];
  private lastHome: string | undefined;
  private lastPhase: string | undefined;

  constructor(private readonly ctx: Ctx) {
    this.disposables.push(
      ctx.onDidChangeStore((v) => {
        // Appends also fire this (with the same phase and home): those are handled by onAppended.
        if (v.phase === this.lastPhase && v.home === this.lastHome && v.phase === 'ready') return;
        this.lastPhase = v.phase;
        this.lastHome = v.home;
        this.refresh();
      }),
      ctx.onDidAppend((n) => this.onAppended(n)),
      ctx.verification.onDidChange(() => this.changed.fire(undefined)),
    );
  }

  /** Forgets every loaded page and redraws. */
  refresh(): void {
    for (const g of this.groups.values()) g.reset();
    this.changed.fire(undefined);
  }

  private group(space: Space): Group {
    return this.groups.get(space) as Group;
  }

  private spaceNode(space: Space): Node {
    return this.spaceNodes.get(space) as Node;
  }

  private onAppended(notice: AppendedNotice): void {
    for (const space of SPACES) {
      const g = this.group(space);
      const incoming: RecordSummary[] = notice.records
        .filter((r) => r.space === space)
        .map((r) => ({ ...r }));
      if (incoming.length === 0) continue;
      if (g.loading) {
        g.pending.push(...incoming);
        continue;
      }
      if (!g.loaded) {
        // Never expanded (or reset): the first page will include them. Redraw the group's description.
        this.changed.fire(this.spaceNode(space));
        continue;
      }
      g.prepend(incoming);
      if (g.records.length > MAX_LOADED) g.reset();
      this.changed.fire(this.spaceNode(space));
    }
  }

  private async loadPage(g: Group): Promise<void> {
    const generation = g.generation;
    try {
      const page = await this.ctx.request('sigil/canon.list', {
        space: g.space,
        order: 'desc',
        limit: PAGE_SIZE,
        ...(g.cursor !== null && g.loaded ? { cursor: g.cursor } : {}),
      });
      if (generation !== g.generation) return;
      const records = page.records.map(summarize);
      const damaged = [...(page.damaged ?? [])].sort((a, b) => b.seq - a.seq);
      if (damaged.length)
        this.ctx.output.warn(
          `${damaged.length} ${g.space} record(s) could not be read: ${damaged.map((d) => `#${d.seq} ${d.id}: ${d.reason}`).join('; ')}`,
        );
      if (!g.loaded) {
        g.records = records;
        g.damaged = damaged;
        g.loaded = true;
        g.prepend(g.pending);
        g.pending = [];
      } else {
        const oldest = g.edge('oldest') ?? Number.MAX_SAFE_INTEGER;
        g.records.push(...records.filter((r) => r.seq < oldest));
        g.damaged.push(...damaged.filter((d) => d.seq < oldest));
      }
      g.cursor = page.nextCursor;
      g.error = null;
    } catch (e) {
      if (generation !== g.generation) return;
      const message = e instanceof Error ? e.message : String(e);
      g.error = message;
      this.ctx.output.error(`loading the ${g.space} records: ${message}`);
    }
  }

  private ensureLoaded(g: Group): Promise<void> {
    if (g.loaded && !g.error) return Promise.resolve();
    g.loading ??= this.loadPage(g).finally(() => {
      g.loading = null;
    });
    return g.loading;
  }

  /** Loads the next page of a space (the "Load more…" item). */
  async loadMore(space: Space): Promise<number> {
    const g = this.group(space);
    if (g.loading) await g.loading;
    if (!g.loaded) {
      await this.ensureLoaded(g);
    } else if (g.cursor !== null) {
      const before = g.records.length;
      g.loading = this.loadPage(g).finally(() => {
        g.loading = null;
      });
      await g.loading;
      if (g.error) throw new Error(g.error);
      this.changed.fire(this.spaceNode(space));
      return g.records.length - before;
    }
    this.changed.fire(this.spaceNode(space));
    return 0;
  }

  getParent(node: Node): Node | undefined {
    if (node.type === 'space') return undefined;
    return this.spaceNode(node.type === 'record' ? node.record.space : node.space);
  }

  /** The loaded entries of a group, newest first: damaged entries in their place among the records. */
  private entries(g: Group): Node[] {
    const nodes: Array<{ seq: number; node: Node }> = [
      ...g.records.map((record) => ({ seq: record.seq, node: { type: 'record', record } as const })),
      ...g.damaged.map((entry) => ({
        seq: entry.seq,
        node: { type: 'damaged', space: g.space, entry } as const,
      })),
    ];
    return nodes.sort((a, b) => b.seq - a.seq).map((n) => n.node);
  }

  async getChildren(node?: Node): Promise<Node[]> {
    if (!node) {
      if (this.ctx.store.phase !== 'ready') return [];
      return SPACES.map((space) => this.spaceNode(space));
    }
    if (node.type !== 'space') return [];
    const g = this.group(node.space);
    await this.ensureLoaded(g);
    if (g.error)
      return [{ type: 'message', space: g.space, text: `Could not load records: ${g.error}`, error: true }];
    if (g.records.length === 0 && g.damaged.length === 0)
      return [{ type: 'message', space: g.space, text: 'No records yet', error: false }];
    const items = this.entries(g);
    if (g.cursor !== null) items.push({ type: 'more', space: g.space });
    return items;
  }

  getTreeItem(node: Node): vscode.TreeItem {
    switch (node.type) {
      case 'space': {
        const item = new vscode.TreeItem(node.space, vscode.TreeItemCollapsibleState.Expanded);
        item.id = `space:${node.space}`;
        item.contextValue = 'sigil.space';
        item.iconPath = new vscode.ThemeIcon(node.space === 'system' ? 'server-process' : 'database');
        const head = this.ctx.store.info?.heads?.[node.space];
        item.description = head ? `latest #${head.seq}` : 'empty';
        item.tooltip =
          node.space === 'system'
            ? 'Governance records (genesis, keys, policies), newest first'
            : 'Data records, newest first';
        return item;
      }
      case 'record': {
        const r = node.record;
        const state = this.ctx.verification.stateOf(r.seq);
        const item = new vscode.TreeItem(`#${r.seq} ${r.kind}`, vscode.TreeItemCollapsibleState.None);
        item.id = `record:${r.id}`;
        item.contextValue = `sigil.record.${state}`;
        item.description = `${shortTime(r.ts)}${r.actor ? ` · ${r.actor}` : ''}`;
        item.iconPath = recordIcon(r.kind, state);
        item.tooltip = this.tooltip(r);
        item.command = { command: 'sigil.openRecord', title: 'Open Record', arguments: [r.id] };
        item.accessibilityInformation = { label: `record ${r.seq}, ${r.kind}, ${state}` };
        return item;
      }
      case 'damaged': {
        const e = node.entry;
        const item = new vscode.TreeItem(`#${e.seq} damaged record`, vscode.TreeItemCollapsibleState.None);
        item.id = `damaged:${e.id}:${e.seq}`;
        item.contextValue = 'sigil.record.damaged';
        item.description = 'cannot be read';
        item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed'));
        const md = new vscode.MarkdownString(undefined, true);
        md.appendMarkdown(`**Damaged record** — ${node.space} #${e.seq}\n\n`);
        md.appendMarkdown(`| | |\n|---|---|\n`);
        md.appendMarkdown(`| id | \`${e.id}\` |\n`);
        md.appendMarkdown(`| seq | ${e.seq} |\n\n`);
        md.appendMarkdown(`$(error) ${escapeCell(e.reason)}\n\n`);
        md.appendMarkdown('Click to verify the canon log.');
        item.tooltip = md;
        item.command = { command: 'sigil.verifyCanon', title: 'Verify Canon Log' };
        item.accessibilityInformation = { label: `record ${e.seq}, damaged: ${e.reason}` };
        return item;
      }
      case 'more': {
        const item = new vscode.TreeItem('Load more…', vscode.TreeItemCollapsibleState.None);
        item.id = `more:${node.space}`;
        item.contextValue = 'sigil.loadMore';
        item.iconPath = new vscode.ThemeIcon('ellipsis');
        item.tooltip = `Load the next ${PAGE_SIZE} older ${node.space} records`;
        item.command = { command: 'sigil.loadMore', title: 'Load more…', arguments: [node.space] };
        return item;
      }
      case 'message': {
        const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
        item.id = `message:${node.space}`;
        item.contextValue = 'sigil.message';
        item.iconPath = new vscode.ThemeIcon(node.error ? 'error' : 'info');
        if (node.error) item.command = { command: 'sigil.showServerOutput', title: 'Show Server Output' };
        return item;
      }
    }
  }

  /** Fills in the actor of records learnt from an append notice, when their tooltip is shown. */
  async resolveTreeItem(item: vscode.TreeItem, node: Node): Promise<vscode.TreeItem> {
    if (node.type !== 'record' || node.record.actor !== undefined) return item;
    try {
      const rec = await this.ctx.request('sigil/canon.getBySeq', { seq: node.record.seq });
      node.record.actor = rec.body.actor;
      item.description = `${shortTime(node.record.ts)} · ${rec.body.actor}`;
      item.tooltip = this.tooltip(node.record);
    } catch (e) {
      this.ctx.output.warn(`loading record #${node.record.seq}: ${(e as Error).message}`);
    }
    return item;
  }

  private tooltip(r: RecordSummary): vscode.MarkdownString {
    const state = this.ctx.verification.stateOf(r.seq);
    const md = new vscode.MarkdownString(undefined, true);
    md.appendMarkdown(`**${r.kind}** — ${r.space} #${r.seq}\n\n`);
    md.appendMarkdown(`| | |\n|---|---|\n`);
    md.appendMarkdown(`| id | \`${r.id}\` |\n`);
    md.appendMarkdown(`| seq | ${r.seq} |\n`);
    md.appendMarkdown(`| actor | ${r.actor === undefined ? '…' : escapeCell(r.actor)} |\n`);
    md.appendMarkdown(`| time | ${r.ts} |\n`);
    md.appendMarkdown(`| kind | ${r.kind} |\n\n`);
    const icon = state === 'verified' ? '$(pass)' : state === 'failed' ? '$(error)' : '$(circle-outline)';
    md.appendMarkdown(`${icon} ${STATE_WORDS[state]}`);
    const bad = this.ctx.verification.last?.result.firstBad;
    if (state === 'failed' && bad) md.appendMarkdown(`\n\nFirst problem: ${escapeCell(bad.reason)}`);
    return md;
  }

  /** What the tree shows, as plain data (the integration tests read it through the extension's API). */
  async snapshot(): Promise<TreeSnapshot> {
    const groups: TreeSnapshot['groups'] = [];
    for (const node of await this.getChildren()) {
      if (node.type !== 'space') continue;
      const children = await this.getChildren(node);
      groups.push({
        space: node.space,
        items: children.map((c) => {
          const item = this.getTreeItem(c);
          return {
            type: c.type,
            label: typeof item.label === 'string' ? item.label : (item.label?.label ?? ''),
            id: c.type === 'record' ? c.record.id : c.type === 'damaged' ? c.entry.id : undefined,
            seq: c.type === 'record' ? c.record.seq : c.type === 'damaged' ? c.entry.seq : undefined,
            kind: c.type === 'record' ? c.record.kind : undefined,
            icon: item.iconPath instanceof vscode.ThemeIcon ? item.iconPath.id : undefined,
            contextValue: item.contextValue,
            tooltip:
              item.tooltip instanceof vscode.MarkdownString
                ? item.tooltip.value
                : (item.tooltip ?? undefined),
            command: item.command?.command,
          };
        }),
      });
    }
    return { groups };
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}

function escapeCell(s: string): string {
  return s.replace(/[|\\`*_[\]<>]/g, (c) => `\\${c}`);
}

export interface TreeSnapshot {
  readonly groups: Array<{
    readonly space: Space;
    readonly items: Array<{
      readonly type: Node['type'];
      readonly label: string;
      readonly id: string | undefined;
      readonly seq: number | undefined;
      readonly kind: string | undefined;
      readonly icon: string | undefined;
      readonly contextValue: string | undefined;
      readonly tooltip: string | undefined;
      readonly command: string | undefined;
    }>;
  }>;
}
