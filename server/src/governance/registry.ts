/**
 * Governance state, rebuilt from the canon's system space on open and kept current as records are
 * appended: the licences issued or delegated, the revocations, each subject's outcome history and the
 * learnt trust parameters. Nothing here is authoritative on its own: every entry comes from a signed,
 * verified-on-read record, and `apply` is the only way in.
 */
import type { CanonicalRecord } from '../../../shared/src/record.js';
import type { JsonValue } from '../../../shared/src/jcs.js';
import { parseLicenseChain, type SignedLicense } from '../../../shared/src/license.js';
import {
  parseTrustParams,
  recordOutcome,
  type SubjectHistory,
  type TrustFeatures,
  type TrustParams,
} from '../../../shared/src/trust.js';
import { SigilError } from '../../../shared/src/errors.js';
import type { LevelCanonStore } from '../canon/store.js';
import type { TrustParamsView } from '../../../shared/src/protocol.js';
import { SYSTEM_KINDS, SystemState, systemRecordsOf } from './system-state.js';

/** Record kinds of the system space that carry governance state. */
export const GOVERNANCE_KINDS = {
  licenseIssued: 'license.issued',
  licenseRevoked: 'license.revoked',
  trustFeedback: 'trust.feedback',
  audit: 'audit.decision',
} as const;

export interface LicenseIssuedPayload {
  readonly license: SignedLicense;
  /** Ids from the root-issued licence to this one. */
  readonly chain_ids: readonly string[];
  /** Effective LOA: the minimum over the chain. */
  readonly loa_effective: number;
  readonly issued_by: string;
  readonly delegated: boolean;
}

export interface LicenseRevokedPayload {
  readonly license_id: string;
  readonly reason: string;
  /** Recorded licences delegated from it (directly or not) at the time of revocation. */
  readonly cascade: readonly string[];
  readonly revoked_by: string;
}

export interface TrustFeedbackPayload {
  readonly subject: string;
  readonly operation: string;
  readonly outcome: 'good' | 'bad';
  readonly note?: string;
  readonly features: TrustFeatures;
  readonly score_before: number;
  readonly score_after: number;
  /** The parameters after this update (halfLifeMs as a number of ms). */
  readonly params: TrustParamsView;
  readonly history: { readonly good: number; readonly bad: number; readonly updated_at: number };
  readonly by: string;
}

export interface RegisteredLicense {
  readonly license: SignedLicense;
  readonly chainIds: readonly string[];
  readonly loaEffective: number;
  readonly issuedBy: string;
  readonly recordId: string;
}

export interface Revocation {
  readonly reason: string;
  readonly at: string;
  readonly by: string;
  readonly recordId: string;
}

export function paramsView(p: TrustParams): TrustParamsView {
  return {
    w: { ...p.w },
    b: p.b,
    learningRate: p.learningRate,
    maxStep: p.maxStep,
    halfLifeMs: Number.isFinite(p.halfLifeMs) ? p.halfLifeMs : null,
    prior: { ...p.prior },
  };
}

export function paramsFromView(v: TrustParamsView): TrustParams {
  return parseTrustParams({ ...v, halfLifeMs: v.halfLifeMs ?? Infinity });
}

export class GovernanceRegistry {
  readonly licenses = new Map<string, RegisteredLicense>();
  readonly revocations = new Map<string, Revocation>();
  readonly histories = new Map<string, SubjectHistory>();
  /** Trust parameters committed by the last trust.update_params proposal, if any. */
  committedPrior: TrustParams | null = null;
  /** The last learnt trust parameters and when they were learnt (ms). */
  learnt: { readonly params: TrustParams; readonly at: number } | null = null;
  /** Witnesses, proposals, committed policy: the system space's quorum state. */
  readonly system = new SystemState();

  /**
   * Set when a governance record cannot be read: the licence and trust state is then incomplete (a lost
   * revocation would re-enable a licence), so the gate refuses everything but verification.
   */
  damage: SigilError | null = null;

  constructor(private readonly halfLifeMs: number) {}

  static async load(store: LevelCanonStore, halfLifeMs: number): Promise<GovernanceRegistry> {
    const r = new GovernanceRegistry(halfLifeMs);
    const { records, damaged: d } = await systemRecordsOf(store, [
      GOVERNANCE_KINDS.licenseIssued,
      GOVERNANCE_KINDS.licenseRevoked,
      GOVERNANCE_KINDS.trustFeedback,
      ...SystemState.kinds,
    ]);
    if (d)
      r.damage = new SigilError(
        'STORE_CORRUPT',
        `the store's licence and trust state cannot be rebuilt: governance record at seq ${d.seq} cannot be read (${d.reason}). Only verification (sigil canon verify) runs until the store is restored from a backup or export`,
        { seq: d.seq, id: d.id },
      );
    for (const rec of records) r.apply(rec);
    return r;
  }

  /** Takes in one appended system record; records of other kinds are ignored. */
  apply(rec: CanonicalRecord): void {
    if (rec.body.space !== 'system') return;
    const p = rec.body.payload as JsonValue;
    try {
      switch (rec.body.kind) {
        case GOVERNANCE_KINDS.licenseIssued: {
          const x = p as unknown as LicenseIssuedPayload;
          const [license] = parseLicenseChain([x.license]) as [SignedLicense];
          this.licenses.set(license.body.id, {
            license,
            chainIds: [...x.chain_ids],
            loaEffective: x.loa_effective,
            issuedBy: x.issued_by,
            recordId: rec.id,
          });
          break;
        }
        case GOVERNANCE_KINDS.licenseRevoked: {
          const x = p as unknown as LicenseRevokedPayload;
          if (!this.revocations.has(x.license_id))
            this.revocations.set(x.license_id, {
              reason: x.reason,
              at: rec.body.ts,
              by: x.revoked_by,
              recordId: rec.id,
            });
          break;
        }
        case GOVERNANCE_KINDS.trustFeedback: {
          const x = p as unknown as TrustFeedbackPayload;
          const at = Date.parse(rec.body.ts);
          this.learnt = { params: paramsFromView(x.params), at };
          this.histories.set(
            x.subject,
            recordOutcome(this.histories.get(x.subject), x.outcome === 'good' ? 1 : 0, at, this.halfLifeMs),
          );
          break;
        }
        case SYSTEM_KINDS.trustParams: {
          // Parameters committed by a trust.update_params proposal become the prior: what was learnt so far
          // is dropped, and what is learnt from now on relaxes back to them, not to the built-in defaults.
          const x = p as unknown as { params: TrustParamsView };
          this.committedPrior = paramsFromView(x.params);
          this.learnt = null;
          break;
        }
        default:
          this.system.apply(rec);
          return;
      }
    } catch (e) {
      throw new SigilError(
        'STORE_CORRUPT',
        `governance record ${rec.id} (seq ${rec.body.seq}, ${rec.body.kind}) is malformed: ${(e as Error).message}`,
      );
    }
  }

  /** Whether this licence itself was revoked (chain verification checks every link, root first). */
  isRevoked(id: string): boolean {
    return this.revocations.has(id);
  }

  /** The revocation that invalidates a recorded licence: its own, or one of an ancestor's. */
  revocationOf(id: string): (Revocation & { readonly id: string }) | undefined {
    const reg = this.licenses.get(id);
    for (const link of reg?.chainIds ?? [id]) {
      const r = this.revocations.get(link);
      if (r) return { ...r, id: link };
    }
    return undefined;
  }

  /** Recorded licences whose chain passes through `id` (not `id` itself). */
  descendantsOf(id: string): string[] {
    const out: string[] = [];
    for (const [other, reg] of this.licenses) if (other !== id && reg.chainIds.includes(id)) out.push(other);
    return out;
  }

  /** The best effective LOA a subject holds through a licence valid at `now`; 0 for none. */
  subjectLoa(subject: string, now: number): number {
    let best = 0;
    for (const reg of this.licenses.values()) {
      const b = reg.license.body;
      if (b.subject !== subject) continue;
      if (now < Date.parse(b.not_before) || now >= Date.parse(b.expires_at)) continue;
      if (this.revocationOf(b.id)) continue;
      best = Math.max(best, reg.loaEffective);
    }
    return best;
  }
}
