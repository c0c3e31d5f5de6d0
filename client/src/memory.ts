/**
 * The Memory tree: namespaces → keys → versions of the memory entries the editor's identity may read
 * (sigil/memory.list, sigil/memory.get with history), and the commands on it: write an entry, forget one.
 * Refreshed when memory records are appended or the identity changes.
 */
import * as vscode from 'vscode';
import type { MemoryEntryView, MemoryVersionView } from '../../shared/src/protocol.js';
import type { Ctx } from './ctx.js';
import { GuardedLoad } from './treeLoad.js';

export const MEMORY_VIEW_ID = 'sigil.memory';
/** The tree lists at most this many entries; past it, the CLI's pages (`sigil memory list`) go further. */
const MAX_ENTRIES = 2000;
const PAGE = 500;

export type MemoryNode =
  | { readonly type: 'namespace'; readonly namespace: string; readonly count: number }
  | { readonly type: 'entry'; readonly entry: MemoryEntryView }
  | { readonly type: 'version'; readonly entry: MemoryEntryView; readonly version: MemoryVersionView }
  | { readonly type: 'message'; readonly text: string; readonly error: boolean };

export interface MemorySnapshot {
  readonly namespaces: ReadonlyArray<{ namespace: string; keys: readonly string[] }>;
  readonly truncated: boolean;
  readonly error: string | null;
}

interface MemoryList {
  readonly entries: readonly MemoryEntryView[];
  /** More entries than MAX_ENTRIES: the tree shows the first ones only. */
  readonly truncated: boolean;
}

export class MemoryProvider implements vscode.TreeDataProvider<MemoryNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<MemoryNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly list = new GuardedLoad<MemoryList>(
    () => this.fetch(),
    () => ({ entries: [], truncated: false }),
  );
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly ctx: Ctx) {
    this.disposables.push(
      this.changed,
      ctx.onDidAppend((n) => {
        if (n.records.some((r) => r.kind.startsWith('memory.'))) this.refresh();
      }),
      ctx.onDidChangeStore(() => this.refresh()),
      ctx.identities.onDidChange(() => this.refresh()),
    );
  }

  refresh(): void {
    this.list.invalidate();
    this.changed.fire(undefined);
  }

  private async fetch(): Promise<MemoryList> {
    if (this.ctx.store.phase !== 'ready') return { entries: [], truncated: false };
    const entries: MemoryEntryView[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.ctx.request('sigil/memory.list', {
        limit: PAGE,
        ...(cursor ? { cursor } : {}),
      });
      entries.push(...page.entries);
      cursor = page.nextCursor ?? undefined;
    } while (cursor && entries.length < MAX_ENTRIES);
    return { entries, truncated: cursor !== undefined };
  }

  private static namespaces(entries: readonly MemoryEntryView[]): Map<string, MemoryEntryView[]> {
    const by = new Map<string, MemoryEntryView[]>();
    for (const e of entries) {
      const list = by.get(e.namespace) ?? [];
      list.push(e);
      by.set(e.namespace, list);
    }
    return by;
  }

  /** What the tree shows, for the integration suite. */
  async snapshot(): Promise<MemorySnapshot> {
    const { value, error } = await this.list.get();
    return {
      namespaces: [...MemoryProvider.namespaces(value.entries)].map(([namespace, list]) => ({
        namespace,
        keys: list.map((e) => e.key),
      })),
      truncated: value.truncated,
      error,
    };
  }

  /** Every entry the tree holds (for the Forget quick pick). */
  async all(): Promise<readonly MemoryEntryView[]> {
    return (await this.list.get()).value.entries;
  }

  async getChildren(node?: MemoryNode): Promise<MemoryNode[]> {
    const { value, error } = await this.list.get();
    if (!node) {
      if (error) return [{ type: 'message', text: error, error: true }];
      if (this.ctx.store.phase !== 'ready') return [];
      const groups = [...MemoryProvider.namespaces(value.entries)].map(([namespace, list]) => ({
        type: 'namespace' as const,
        namespace,
        count: list.length,
      }));
      if (groups.length === 0)
        return [{ type: 'message', text: 'No memory entries you may read', error: false }];
      return value.truncated
        ? [
            ...groups,
            { type: 'message', text: `Only the first ${MAX_ENTRIES} entries are shown`, error: false },
          ]
        : groups;
    }
    if (node.type === 'namespace')
      return (MemoryProvider.namespaces(value.entries).get(node.namespace) ?? []).map((entry) => ({
        type: 'entry' as const,
        entry,
      }));
    if (node.type === 'entry') {
      try {
        const r = await this.ctx.request('sigil/memory.get', {
          namespace: node.entry.namespace,
          key: node.entry.key,
          history: true,
        });
        return [...(r.history ?? [])]
          .reverse()
          .map((version) => ({ type: 'version' as const, entry: r.entry, version }));
      } catch (e) {
        return [{ type: 'message', text: (e as Error).message, error: true }];
      }
    }
    return [];
  }

  getTreeItem(node: MemoryNode): vscode.TreeItem {
    if (node.type === 'message') {
      const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
      item.iconPath = new vscode.ThemeIcon(node.error ? 'warning' : 'info');
      return item;
    }
    if (node.type === 'namespace') {
      const item = new vscode.TreeItem(node.namespace, vscode.TreeItemCollapsibleState.Expanded);
      item.id = `memory-ns:${node.namespace}`;
      item.description = String(node.count);
      item.iconPath = new vscode.ThemeIcon('symbol-namespace');
      item.contextValue = 'sigil.memoryNamespace';
      return item;
    }
    if (node.type === 'entry') {
      const e = node.entry;
      const item = new vscode.TreeItem(e.key, vscode.TreeItemCollapsibleState.Collapsed);
      item.id = `memory:${e.namespace}\u0000${e.key}`;
      item.description = `v${e.version} · ${oneLine(e.text)}`;
      item.iconPath = new vscode.ThemeIcon('note');
      item.contextValue = 'sigil.memoryEntry';
      const md = new vscode.MarkdownString(undefined, true);
      md.appendMarkdown(`**${escape(e.namespace)} / ${escape(e.key)}** — version ${e.version}\n\n`);
      md.appendText(e.text.length > 2000 ? e.text.slice(0, 2000) + '…' : e.text);
      md.appendMarkdown(
        `\n\n| | |\n|---|---|\n| visible to | ${e.visibility} and above |\n| updated | ${e.updatedAt} by ${escape(e.actor)} |\n` +
          (e.tags.length ? `| tags | ${e.tags.map(escape).join(', ')} |\n` : '') +
          (e.expiresAt ? `| expires | ${e.expiresAt} |\n` : '') +
          `| record | \`${e.recordId}\` |\n`,
      );
      item.tooltip = md;
      return item;
    }
    const v = node.version;
    const item = new vscode.TreeItem(`version ${v.version}`, vscode.TreeItemCollapsibleState.None);
    item.id = `memory-v:${v.recordId}`;
    item.description = `${v.time.slice(0, 19).replace('T', ' ')} · ${v.actor}`;
    item.tooltip = v.text ?? '(text destroyed)';
    item.iconPath = new vscode.ThemeIcon('history');
    item.contextValue = 'sigil.memoryVersion';
    item.command = { command: 'sigil.openRecord', title: 'Open Record', arguments: [v.recordId] };
    return item;
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}

function oneLine(text: string, width = 60): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > width ? flat.slice(0, width - 1) + '…' : flat;
}

function escape(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&');
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** Sigil: Forget Memory Entry — from the tree's context menu, or a quick pick; always confirmed. */
export async function forgetMemory(
  ctx: Ctx,
  memory: MemoryProvider,
  raw: unknown,
): Promise<{ namespace: string; key: string; forgottenVersions: number } | undefined> {
  const node = raw as MemoryNode | { namespace?: unknown; key?: unknown; confirm?: unknown } | undefined;
  let namespace: string | undefined;
  let key: string | undefined;
  let confirmed = false;
  if (node && 'type' in node && (node.type === 'entry' || node.type === 'version')) {
    namespace = node.entry.namespace;
    key = node.entry.key;
  } else if (node && !('type' in node)) {
    namespace = str(node.namespace);
    key = str(node.key);
    confirmed = node.confirm === true;
  }
  if (namespace === undefined || key === undefined) {
    const pick = await vscode.window.showQuickPick(
      (await memory.all()).map((e) => ({
        label: `${e.namespace} / ${e.key}`,
        description: oneLine(e.text),
        e,
      })),
      { title: 'Sigil: Forget Memory Entry', placeHolder: 'The entry to forget (every version of it)' },
    );
    if (!pick) return undefined;
    namespace = pick.e.namespace;
    key = pick.e.key;
  }
  if (!confirmed) {
    const yes = 'Forget';
    const answer = await vscode.window.showWarningMessage(
      `Forget ${namespace} / ${key}? The text of every version is destroyed for good; the canon keeps only that it existed (names, times, actors).`,
      { modal: true },
      yes,
    );
    if (answer !== yes) return undefined;
  }
  const r = await ctx.request('sigil/memory.forget', { namespace, key });
  memory.refresh();
  void vscode.window.showInformationMessage(
    `Sigil: forgot ${r.namespace} / ${r.key} (${r.forgottenVersions} version(s)).`,
  );
  return r;
}

/** Sigil: Write Memory Entry — namespace, key and text from input boxes (or arguments, for tests). */
export async function writeMemory(
  ctx: Ctx,
  memory: MemoryProvider,
  raw: unknown,
): Promise<MemoryEntryView | undefined> {
  const args = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const namespace =
    str(args.namespace) ??
    (await vscode.window.showInputBox({
      title: 'Sigil: Write Memory Entry — namespace',
      prompt: 'Whose memory: user:<subject>, agent:<id>, module:<id> or session:<id>',
      ignoreFocusOut: true,
      validateInput: (v) =>
        /^(user|agent|module|session):\S+$/.test(v)
          ? null
          : 'namespace must be user:…, agent:…, module:… or session:…',
    }));
  if (namespace === undefined) return undefined;
  const key =
    str(args.key) ??
    (await vscode.window.showInputBox({
      title: 'Sigil: Write Memory Entry — key',
      ignoreFocusOut: true,
      validateInput: (v) => (v.trim() === '' ? 'Give a key' : null),
    }));
  if (key === undefined) return undefined;
  const text =
    str(args.text) ??
    (await vscode.window.showInputBox({
      title: `Sigil: Write Memory Entry — ${namespace} / ${key}`,
      prompt: 'The text to remember (a signed record)',
      ignoreFocusOut: true,
      validateInput: (v) => (v.trim() === '' ? 'There is nothing to remember' : null),
    }));
  if (text === undefined) return undefined;
  const r = await ctx.request('sigil/memory.write', { namespace, key, text });
  memory.refresh();
  return r.entry;
}
