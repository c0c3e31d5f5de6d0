/**
 * How witnesses and proposals are put into words in the editor: the votes ("1/2", and both sides of a
 * registry change), the time left, a one-line summary of a change, and what a tooltip says about who
 * signed, who is missing and why a commit would fail. Pure (no vscode), so the unit suite can check it.
 */
import type { ProposalStatus, ProposalView } from '../../shared/src/protocol.js';
import type { StoreView } from './ctx.js';

/** Record kinds that change what the Witnesses and Proposals trees show. */
export function isGovernanceKind(kind: string): boolean {
  return (
    kind.startsWith('proposal.') ||
    kind.startsWith('witness.') ||
    kind === 'policy.updated' ||
    kind === 'trust.params'
  );
}

/** What a store change must differ in for the registry and the proposals to be read again. */
export function storeKey(v: StoreView): string {
  return `${v.phase} ${v.home ?? ''} ${v.info?.origin ?? ''}`;
}

/** The groups of the Proposals tree, in order. */
export const PROPOSAL_GROUPS = ['pending', 'committed', 'closed', 'rejected'] as const;
export type ProposalGroup = (typeof PROPOSAL_GROUPS)[number];

export const PROPOSAL_GROUP_TITLES: Record<ProposalGroup, string> = {
  pending: 'Pending',
  committed: 'Committed',
  closed: 'Expired or stale',
  rejected: 'Rejected',
};

export function groupOf(status: ProposalStatus): ProposalGroup {
  switch (status) {
    case 'pending':
      return 'pending';
    case 'committed':
      return 'committed';
    case 'rejected':
      return 'rejected';
    case 'expired':
    case 'stale':
      return 'closed';
  }
}

/** "in 23 h", "in 5 min", "2 d ago". */
export function relativeTime(iso: string, now = Date.now()): string {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return iso;
  const d = t - now;
  const abs = Math.abs(d);
  const n =
    abs < 60_000
      ? `${Math.max(1, Math.round(abs / 1000))} s`
      : abs < 3_600_000
        ? `${Math.round(abs / 60_000)} min`
        : abs < 2 * 86_400_000
          ? `${Math.round(abs / 3_600_000)} h`
          : `${Math.round(abs / 86_400_000)} d`;
  return d >= 0 ? `in ${n}` : `${n} ago`;
}

/** "0/1" for most kinds; "current 1/1 · new 0/2" for a registry change (it needs both). */
export function votesText(p: ProposalView): string {
  const current = `${p.votes.length}/${p.threshold}`;
  if (p.newThreshold === undefined) return current;
  return `current ${current} · new ${p.newVotes?.length ?? 0}/${p.newThreshold}`;
}

/** A one-line summary of the change, e.g. `canon.export: loa observer` or `add witness bob`. */
export function changeSummary(p: Pick<ProposalView, 'kind' | 'change'>, max = 80): string {
  const c = (p.change ?? {}) as Record<string, unknown>;
  let text: string;
  switch (p.kind) {
    case 'witness.add':
      text = `add witness ${String(c.id)} (${String(c.name)})`;
      break;
    case 'witness.rotate':
      text = `rotate the key of ${String(c.id)}`;
      break;
    case 'witness.revoke':
      text = `revoke witness ${String(c.id)}`;
      break;
    case 'quorum.set_threshold':
      text = `set k to ${String(c.threshold)}`;
      break;
    case 'policy.update':
      text = Object.entries(c)
        .map(([op, rule]) =>
          rule && typeof rule === 'object'
            ? `${op}: ${Object.entries(rule as Record<string, unknown>)
                .map(([k, v]) => `${k} ${typeof v === 'string' ? v : JSON.stringify(v)}`)
                .join(', ')}`
            : `${op}: ${JSON.stringify(rule)}`,
        )
        .join('; ');
      break;
    default:
      text = JSON.stringify(c);
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** The description of a proposal's tree item. */
export function proposalDescription(p: ProposalView, now = Date.now()): string {
  switch (p.status) {
    case 'pending':
      return `${votesText(p)} · ${p.canCommit ? 'ready · ' : ''}expires ${relativeTime(p.expiresAt, now)}`;
    case 'expired':
      return `${votesText(p)} · expired ${relativeTime(p.expiresAt, now)}`;
    case 'stale':
      return `${votesText(p)} · stale: another change was committed first`;
    case 'committed':
      return `committed ${p.committed?.at.slice(0, 10) ?? ''}${p.committed ? ` by ${p.committed.by}` : ''}`;
    case 'rejected':
      return `rejected${p.rejected ? `: ${p.rejected.reason}` : ''}`;
  }
}

/** The tree item's contextValue: the menus key on it (sign/commit/reject on pending ones). */
export function proposalContext(p: ProposalView): string {
  if (p.status === 'pending') return p.canCommit ? 'sigil.proposal.pending.ready' : 'sigil.proposal.pending';
  return `sigil.proposal.${p.status}`;
}

/** Who signed, who is missing, and whether a commit would succeed, as lines of plain text. */
export function proposalFacts(p: ProposalView): string[] {
  const lines: string[] = [];
  const counted = p.signatures.filter((s) => s.counts);
  lines.push(
    `Votes: ${p.votes.length} of k = ${p.threshold}${p.votes.length ? ` (${p.votes.join(', ')})` : ''}`,
  );
  if (p.newThreshold !== undefined)
    lines.push(
      `New set: ${p.newVotes?.length ?? 0} of k = ${p.newThreshold}${p.newVotes?.length ? ` (${p.newVotes.join(', ')})` : ''} — a registry change needs both`,
    );
  lines.push(
    counted.length
      ? `Signed by: ${counted.map((s) => `${s.witnessId} (key ${s.keyId.slice(0, 8)})`).join(', ')}`
      : 'Signed by: nobody yet',
  );
  for (const s of p.signatures.filter((x) => !x.counts))
    lines.push(
      `Does not count: ${s.witnessId} (key ${s.keyId.slice(0, 8)}): ${s.problem ?? 'no reason given'}`,
    );
  if (p.unsigned.length && (p.status === 'pending' || p.status === 'stale' || p.status === 'expired'))
    lines.push(`Missing: ${p.unsigned.join(', ')}`);
  if (p.status === 'pending' || p.status === 'stale' || p.status === 'expired')
    lines.push(p.canCommit ? 'Ready to commit.' : `A commit would fail: ${p.blockers.join('; ')}`);
  if (p.committed)
    lines.push(`Committed ${p.committed.at} by ${p.committed.by} (record ${p.committed.recordId})`);
  if (p.rejected) lines.push(`Rejected ${p.rejected.at} by ${p.rejected.by}: ${p.rejected.reason}`);
  return lines;
}

export function escapeMarkdown(s: string): string {
  return s.replace(/[|\\`*_<>[\]]/g, (c) => `\\${c}`);
}
