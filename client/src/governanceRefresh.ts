/**
 * When a governance view (Witnesses, Proposals) must reload: a governance record was appended, the store's
 * state or home changed (every append also reports the store, with its new size: that alone changes
 * nothing here), or another identity became active.
 */
import type * as vscode from 'vscode';
import type { Ctx } from './ctx.js';
import { isGovernanceKind, storeKey } from './quorumPresent.js';

export function refreshOnGovernanceChange(ctx: Ctx, refresh: () => void): vscode.Disposable[] {
  let lastStore = storeKey(ctx.store);
  return [
    ctx.onDidAppend((n) => {
      if (n.records.some((r) => isGovernanceKind(r.kind))) refresh();
    }),
    ctx.onDidChangeStore((v) => {
      const key = storeKey(v);
      if (key === lastStore) return;
      lastStore = key;
      refresh();
    }),
    ctx.identities.onDidChange(() => refresh()),
  ];
}
