/**
 * Re-checks the history of system space, for `canon verify`: the genesis registry carries the root key's
 * signature, and every commit carries the root key's signature and met the quorum rule when it was made —
 * under the registry then in force, with the signatures attached before it, over the head then current.
 * The records are already signed by the runtime key; this makes a commit that skipped the rule (a runtime
 * key used outside the service layer) visible too.
 */
import { fromBase64, utf8 } from '../../../shared/src/bytes.js';
import { verify as ed25519Verify } from '../../../shared/src/ed25519.js';
import { evaluateQuorum, evaluateRotation, REGISTRY_CHANGE_KINDS } from '../../../shared/src/quorum.js';
import type { CanonicalRecord } from '../../../shared/src/record.js';
import type { SystemHistoryCheck } from '../../../shared/src/protocol.js';
import type { Governance } from './gate.js';
import { COMMIT_SIGNING_PREFIX, registrySigningMessage } from './proposals.js';
import {
  SYSTEM_KINDS,
  SystemState,
  systemRecordsOf,
  type ProposalCommittedPayload,
  type RegistryPayload,
} from './system-state.js';

/** A commit is judged a little before its record's time: the check ran just before the record was stamped. */
const STAMP_SLACK_MS = 5000;

export async function checkSystemHistory(gov: Governance): Promise<SystemHistoryCheck> {
  const { records } = await systemRecordsOf(gov.store, SystemState.kinds);
  const rootKey = gov.rootKey;
  const state = new SystemState();
  const failed: Array<SystemHistoryCheck['failed'][number]> = [];
  let commits = 0;
  const fail = (rec: CanonicalRecord, reason: string): void => {
    failed.push({ recordId: rec.id, seq: rec.body.seq, reason });
  };
  for (let i = 0; i < records.length; i++) {
    const rec = records[i] as CanonicalRecord;
    if (rec.body.kind === SYSTEM_KINDS.registry) {
      const x = rec.body.payload as unknown as RegistryPayload;
      if (x.proposal_id === null) {
        const ok =
          state.registry === null &&
          typeof x.root_sig === 'string' &&
          ed25519Verify(rootKey, registrySigningMessage(gov.origin, x.registry), fromBase64(x.root_sig));
        if (!ok)
          fail(rec, 'the genesis witness registry is not signed by the root key (or is not the first)');
      } else if (!state.committedIds.has(x.proposal_id)) {
        fail(
          rec,
          `a witness registry change names proposal ${x.proposal_id}, which was not committed before it`,
        );
      }
    }
    if (rec.body.kind === SYSTEM_KINDS.proposalCommitted) {
      commits++;
      const x = rec.body.payload as unknown as ProposalCommittedPayload;
      const proposal = state.proposals.get(x.id);
      let ok = state.registry !== null && proposal !== undefined;
      if (!ok) fail(rec, `commit of proposal ${x.id}, which was never proposed here`);
      else if (!ed25519Verify(rootKey, utf8(COMMIT_SIGNING_PREFIX + x.id), fromBase64(x.root_sig))) {
        fail(rec, `the commit of proposal ${x.id} is not signed by the root key`);
        ok = false;
      }
      if (ok && proposal && state.registry) {
        const at = Math.max(Date.parse(rec.body.ts) - STAMP_SLACK_MS, Date.parse(proposal.body.created_at));
        const opts = { now: new Date(at), systemHead: state.head, committedIds: state.committedIds };
        const isRegistry = (REGISTRY_CHANGE_KINDS as readonly string[]).includes(proposal.body.kind);
        let verdict: { ok: boolean; problems: ReadonlyArray<{ message: string }> };
        if (isRegistry) {
          const next = records
            .slice(i + 1)
            .find(
              (r) =>
                r.body.kind === SYSTEM_KINDS.registry &&
                (r.body.payload as unknown as RegistryPayload).proposal_id === x.id,
            );
          const r = next
            ? evaluateRotation(
                state.registry,
                (next.body.payload as unknown as RegistryPayload).registry,
                proposal.body,
                proposal.signatures,
                opts,
              )
            : null;
          verdict = r
            ? { ok: r.ok, problems: [...r.problems, ...r.old.problems, ...r.new.problems] }
            : { ok: false, problems: [{ message: 'no witness registry record follows it' }] };
        } else {
          verdict = evaluateQuorum(state.registry, proposal.body, proposal.signatures, opts);
        }
        if (!verdict.ok)
          fail(
            rec,
            `proposal ${x.id} was committed without meeting the quorum rule: ${verdict.problems.map((p) => p.message).join('; ')}`,
          );
      }
    }
    state.apply(rec);
  }
  return { commits, failed };
}
