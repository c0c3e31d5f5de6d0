/**
 * The state of system space, rebuilt from its records: the witness registry (genesis, then one
 * `witness.registry` record per committed registry change), the proposals with their witness signatures
 * and outcome, the committed policy rules, and the head of system changes that a new proposal's `prev`
 * must name. Like the licence registry it only takes in signed records, through `apply`.
 *
 * The head is the last system change (the genesis registry record, then each `proposal.committed`), not
 * the last record of the space: audit records land in system space with every write, and a proposal that
 * took a day to collect signatures must not go stale because someone appended a note meanwhile.
 */
import type { CanonicalRecord } from '../../../shared/src/record.js';
import type { DamagedEntry } from '../../../shared/src/protocol.js';
import type { LevelCanonStore } from '../canon/store.js';
import type { JsonValue } from '../../../shared/src/jcs.js';
import type { PolicyOverrides } from '../../../shared/src/policy.js';
import {
  parseProposalBody,
  parseWitnessRegistry,
  type ProposalBody,
  type WitnessRegistry,
  type WitnessSignature,
} from '../../../shared/src/quorum.js';

export const SYSTEM_KINDS = {
  registry: 'witness.registry',
  proposalCreated: 'proposal.created',
  proposalSigned: 'proposal.signed',
  proposalCommitted: 'proposal.committed',
  proposalRejected: 'proposal.rejected',
  policyUpdated: 'policy.updated',
  trustParams: 'trust.params',
  checkpointCosigned: 'checkpoint.cosigned',
} as const;

/** One witness cosignature of a checkpoint, as recorded (`checkpoint.cosigned`). */
export interface CosignatureState {
  readonly witnessId: string;
  readonly name: string;
  readonly keyId: string;
  readonly size: number;
  /** Hex. */
  readonly rootHash: string;
  /** POSIX seconds the witness put in its cosignature. */
  readonly timestamp: number;
  /** The checkpoint body with only this cosignature line. */
  readonly note: string;
  readonly recordId?: string;
}

export interface RegistryPayload {
  readonly registry: WitnessRegistry;
  /** The committed proposal that produced it; null for the genesis registry chosen at init. */
  readonly proposal_id: string | null;
  /** Genesis only: the root key's signature over registrySigningMessage(origin, registry). */
  readonly root_sig?: string;
  readonly root_key_id?: string;
}

export interface ProposalCreatedPayload {
  readonly id: string;
  readonly body: ProposalBody;
}

export interface ProposalSignedPayload {
  readonly id: string;
  readonly signature: WitnessSignature;
}

export interface ProposalCommittedPayload {
  readonly id: string;
  readonly kind: string;
  readonly prev: string | null;
  /** Witness ids counted under the registry in force (and under the new one, for registry changes). */
  readonly votes: readonly string[];
  readonly new_votes?: readonly string[];
  readonly threshold: number;
  /** The root key's signature over "sigil-commit/v1\n" + id. */
  readonly root_sig: string;
  readonly root_key_id: string;
  readonly committed_by: string;
}

export interface ProposalRejectedPayload {
  readonly id: string;
  readonly reason: string;
  readonly rejected_by: string;
}

export interface PolicyUpdatedPayload {
  readonly proposal_id: string;
  readonly rules: PolicyOverrides;
}

export interface ProposalState {
  readonly id: string;
  readonly body: ProposalBody;
  readonly recordId: string;
  readonly signatures: WitnessSignature[];
  status: 'pending' | 'committed' | 'rejected';
  committed?: {
    readonly recordId: string;
    readonly at: string;
    readonly by: string;
    readonly votes: readonly string[];
    readonly newVotes?: readonly string[];
    readonly threshold: number;
  };
  rejected?: { readonly reason: string; readonly at: string; readonly by: string };
}

export interface RegistryChange {
  readonly recordId: string;
  readonly at: string;
  readonly proposalId: string | null;
}

export class SystemState {
  registry: WitnessRegistry | null = null;
  readonly registryHistory: RegistryChange[] = [];
  /** Id of the last system change record; a proposal's prev must equal it. */
  head: string | null = null;
  readonly proposals = new Map<string, ProposalState>();
  readonly committedIds = new Set<string>();
  /** Committed policy rules, merged in commit order (later rules win per operation and field). */
  policyRules: PolicyOverrides = {};
  /** Bumped whenever policyRules changes, so the gate knows to rebuild its table. */
  policyVersion = 0;
  readonly cosignatures: Array<CosignatureState & { readonly recordId: string }> = [];

  static readonly kinds: readonly string[] = Object.values(SYSTEM_KINDS);

  /** Returns true when the record was a system-state record. Throws on a malformed one. */
  apply(rec: CanonicalRecord): boolean {
    const p = rec.body.payload as JsonValue;
    switch (rec.body.kind) {
      case SYSTEM_KINDS.registry: {
        const x = p as unknown as RegistryPayload;
        this.registry = parseWitnessRegistry(x.registry);
        this.registryHistory.push({ recordId: rec.id, at: rec.body.ts, proposalId: x.proposal_id });
        if (x.proposal_id === null) this.head = rec.id;
        return true;
      }
      case SYSTEM_KINDS.proposalCreated: {
        const x = p as unknown as ProposalCreatedPayload;
        this.proposals.set(x.id, {
          id: x.id,
          body: parseProposalBody(x.body),
          recordId: rec.id,
          signatures: [],
          status: 'pending',
        });
        return true;
      }
      case SYSTEM_KINDS.proposalSigned: {
        const x = p as unknown as ProposalSignedPayload;
        this.proposals.get(x.id)?.signatures.push(x.signature);
        return true;
      }
      case SYSTEM_KINDS.proposalCommitted: {
        const x = p as unknown as ProposalCommittedPayload;
        const state = this.proposals.get(x.id);
        if (state) {
          state.status = 'committed';
          state.committed = {
            recordId: rec.id,
            at: rec.body.ts,
            by: x.committed_by,
            votes: x.votes,
            ...(x.new_votes ? { newVotes: x.new_votes } : {}),
            threshold: x.threshold,
          };
        }
        this.committedIds.add(x.id);
        this.head = rec.id;
        return true;
      }
      case SYSTEM_KINDS.proposalRejected: {
        const x = p as unknown as ProposalRejectedPayload;
        const state = this.proposals.get(x.id);
        if (state) {
          state.status = 'rejected';
          state.rejected = { reason: x.reason, at: rec.body.ts, by: x.rejected_by };
        }
        return true;
      }
      case SYSTEM_KINDS.policyUpdated: {
        const x = p as unknown as PolicyUpdatedPayload;
        const merged: Record<string, Record<string, unknown>> = {};
        for (const [op, rule] of Object.entries(this.policyRules)) merged[op] = { ...rule };
        for (const [op, rule] of Object.entries(x.rules)) merged[op] = { ...(merged[op] ?? {}), ...rule };
        this.policyRules = merged as PolicyOverrides;
        this.policyVersion++;
        return true;
      }
      case SYSTEM_KINDS.checkpointCosigned: {
        const x = p as unknown as CosignatureState;
        this.cosignatures.push({ ...x, recordId: rec.id });
        return true;
      }
      default:
        return false;
    }
  }
}

/**
 * Every system-space record of these kinds, in log order, through the kind index; `damaged` is the first one
 * that could not be read, if any.
 */
export async function systemRecordsOf(
  store: LevelCanonStore,
  kinds: readonly string[],
): Promise<{ records: CanonicalRecord[]; damaged: DamagedEntry | undefined }> {
  const records: CanonicalRecord[] = [];
  let damaged: DamagedEntry | undefined;
  for (const kind of kinds) {
    let cursor: string | undefined;
    do {
      const page = await store.list({
        space: 'system',
        kind,
        limit: 1000,
        order: 'asc',
        ...(cursor ? { cursor } : {}),
      });
      damaged ??= page.damaged?.[0];
      records.push(...page.records);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }
  return { records: records.sort((a, b) => a.body.seq - b.body.seq), damaged };
}
