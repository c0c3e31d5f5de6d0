/**
 * The governance operations behind sigil/license.*, sigil/policy.show and sigil/trust.*. Each takes the
 * Access the gate granted; writes go through Governance.write, so they are audited in the same commit.
 */
import { randomBytes } from 'node:crypto';
import { SigilError } from '../../../shared/src/errors.js';
import type { JsonValue } from '../../../shared/src/jcs.js';
import {
  ROLE_LOA,
  checkSubject,
  issueLicense,
  newLicenseId,
  parseLicenseChain,
  verifyLicenseChain,
  type LicenseChain,
  type Role,
  type SignedLicense,
} from '../../../shared/src/license.js';
import { LOA, OPERATIONS, requirementFor, type OperationName } from '../../../shared/src/policy.js';
import { recordOutcome, sgdStep, explain, featuresFor } from '../../../shared/src/trust.js';
import { fromBase64, toBase64 } from '../../../shared/src/bytes.js';
import { PUBLIC_KEY_LENGTH, checkPublicKey, keyId } from '../../../shared/src/ed25519.js';
import type {
  CallerInfo,
  FeedbackResult,
  LicenseCheckResult,
  LicenseEntry,
  LicenseStatus,
  PolicyRow,
  TrustReport,
  TrustStatus,
} from '../../../shared/src/protocol.js';
import { auditActor, type Access, type Governance } from './gate.js';
import {
  GOVERNANCE_KINDS,
  paramsView,
  type LicenseIssuedPayload,
  type LicenseRevokedPayload,
  type TrustFeedbackPayload,
} from './registry.js';

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** A timestamp parameter: RFC 3339 (any offset, normalised to UTC milliseconds). */
function timestampParam(value: string, field: string): number {
  const t = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value)
    ? Date.parse(value)
    : NaN;
  if (Number.isNaN(t))
    throw new SigilError('BAD_INPUT', `${field} must be an RFC 3339 timestamp, e.g. 2027-01-31T12:00:00Z`, {
      field,
    });
  return t;
}

export function whoami(access: Access): CallerInfo {
  const c = access.caller;
  return {
    authenticated: c.authenticated,
    subject: c.subject,
    role: c.role,
    loa: c.loa,
    licenseId: c.licenseId,
    keyId: c.keyId,
    expiresAt: c.expiresAt,
    chainIds: [...c.chainIds],
  };
}

/** Whether a chain is valid for this store now: signatures, audience, time, revocations, registration. */
export function checkLicenseChain(gov: Governance, chain: unknown): LicenseCheckResult {
  const r = verifyLicenseChain(chain, {
    rootKey: gov.rootKey,
    audience: gov.origin,
    now: new Date(gov.now()),
    isRevoked: (id) => gov.registry.isRevoked(id),
  });
  if (!r.ok) return { valid: false, code: r.code, reason: r.reason, at: r.at };
  const unrecorded = r.ids.findIndex((id) => !gov.registry.licenses.has(id));
  const base = {
    subject: r.subject,
    role: r.role,
    loa: r.loa,
    licenseId: r.licenseId,
    expiresAt: r.expiresAt,
    chainIds: [...r.ids],
  };
  if (unrecorded >= 0)
    return {
      valid: false,
      code: 'unregistered',
      reason: `licence chain link ${unrecorded}: licence ${r.ids[unrecorded]} was never recorded in this store`,
      at: unrecorded,
      ...base,
    };
  return { valid: true, ...base };
}

export interface IssueParams {
  readonly subject: string;
  readonly role: Role;
  readonly loa?: number | undefined;
  readonly expiresAt: string;
  readonly notBefore?: string | undefined;
  readonly subjectKey: string;
}

function subjectKeyParam(b64: string): Uint8Array {
  let key: Uint8Array;
  try {
    key = fromBase64(b64);
  } catch {
    key = new Uint8Array(0);
  }
  if (key.length !== PUBLIC_KEY_LENGTH || toBase64(key) !== b64)
    throw new SigilError('BAD_INPUT', 'subjectKey must be standard base64 of a 32-byte Ed25519 public key', {
      field: 'subjectKey',
    });
  const problem = checkPublicKey(key);
  if (problem !== null)
    throw new SigilError('KEY_INVALID', `subjectKey is refused: ${problem}`, { field: 'subjectKey' });
  return key;
}

/** Checks what an issuer asks for; returns the licence fields' times. */
/** Names the runtime uses for callers without a licence; a licence may not take them. */
export function reservedSubjectProblem(subject: string): string | null {
  if (subject === 'anonymous' || subject.startsWith('sigil:'))
    return `subject ${JSON.stringify(subject)} is reserved (anonymous and sigil:… name callers without a licence)`;
  // A module's trust history is its own: a licence named like it could judge it or borrow its standing.
  if (subject.startsWith('module:'))
    return `subject ${JSON.stringify(subject)} is reserved (module:… names a built-in module's trust subject)`;
  return null;
}

function licenseTimes(p: IssueParams, now: number): { notBefore: number; expiresAt: number } {
  const subjectProblem = checkSubject(p.subject) ?? reservedSubjectProblem(p.subject);
  if (subjectProblem !== null)
    throw new SigilError(
      'BAD_INPUT',
      subjectProblem.startsWith('subject') ? subjectProblem : `subject ${subjectProblem}`,
      {
        field: 'subject',
      },
    );
  if (p.loa !== undefined && p.loa > ROLE_LOA[p.role])
    throw new SigilError(
      'BAD_INPUT',
      `loa ${p.loa} is above what role ${p.role} may carry (${ROLE_LOA[p.role]}); pick a higher role or a lower loa`,
      { field: 'loa' },
    );
  const notBefore = p.notBefore === undefined ? now : timestampParam(p.notBefore, 'notBefore');
  const expiresAt = timestampParam(p.expiresAt, 'expiresAt');
  if (expiresAt <= Math.max(now, notBefore))
    throw new SigilError('BAD_INPUT', 'expiresAt must be in the future and after notBefore', {
      field: 'expiresAt',
    });
  return { notBefore: Math.max(notBefore, now), expiresAt };
}

function issuedInput(payload: LicenseIssuedPayload, actor: string) {
  return {
    kind: GOVERNANCE_KINDS.licenseIssued,
    space: 'system' as const,
    actor,
    payload: payload as unknown as JsonValue,
  };
}

/** Issues a root-signed licence for a subject key the caller holds, and records it. */
export async function issue(
  gov: Governance,
  access: Access,
  p: IssueParams,
): Promise<{ license: SignedLicense; chain: LicenseChain }> {
  const now = gov.now();
  const key = subjectKeyParam(p.subjectKey);
  const { notBefore, expiresAt } = licenseTimes(p, now);
  const license = issueLicense(
    {
      id: newLicenseId(new Uint8Array(randomBytes(16))),
      subject: p.subject,
      subject_key: key,
      role: p.role,
      ...(p.loa !== undefined ? { loa: p.loa } : {}),
      issued_at: iso(now),
      not_before: iso(notBefore),
      expires_at: iso(expiresAt),
      audience: gov.origin,
    },
    gov.rootSigner,
  );
  await gov.write(access, [
    issuedInput(
      {
        license,
        chain_ids: [license.body.id],
        loa_effective: license.body.loa,
        issued_by: access.caller.subject,
        delegated: false,
      },
      auditActor(access.caller),
    ),
  ]);
  return { license, chain: [license] };
}

/** Records a delegation the caller signed: the chain must be the caller's own plus one valid link. */
export async function delegate(
  gov: Governance,
  access: Access,
  chainValue: unknown,
): Promise<{ license: SignedLicense; chain: LicenseChain }> {
  const chain = parseLicenseChain(chainValue);
  const parentIds = chain.slice(0, -1).map((l) => l.body.id);
  const mine = access.caller.chainIds;
  if (parentIds.length !== mine.length || parentIds.some((id, i) => id !== mine[i]))
    throw new SigilError(
      'ACCESS_DENIED',
      `a delegation must extend your own licence chain (${mine.join(' → ') || 'none'}) by one link`,
      { operation: 'license.delegate', cause: 'chain' },
    );
  const check = checkLicenseChain(gov, chain);
  const leaf = chain[chain.length - 1] as SignedLicense;
  const reserved = reservedSubjectProblem(leaf.body.subject);
  if (reserved !== null) throw new SigilError('BAD_INPUT', reserved, { field: 'subject' });
  if (gov.registry.licenses.has(leaf.body.id))
    throw new SigilError('DUPLICATE', `licence ${leaf.body.id} is already recorded`);
  // The new leaf is not recorded yet, so "unregistered" at the last link is expected; anything else is not.
  if (!check.valid && !(check.code === 'unregistered' && check.at === chain.length - 1))
    throw new SigilError('BAD_INPUT', `the delegated licence is not valid here: ${check.reason}`, {
      code: check.code,
      at: check.at,
    });
  await gov.write(access, [
    issuedInput(
      {
        license: leaf,
        chain_ids: chain.map((l) => l.body.id),
        loa_effective: check.loa ?? leaf.body.loa,
        issued_by: access.caller.subject,
        delegated: true,
      },
      auditActor(access.caller),
    ),
  ]);
  return { license: leaf, chain };
}

export async function revoke(
  gov: Governance,
  access: Access,
  p: { readonly id: string; readonly reason: string },
): Promise<{ revoked: string; cascade: string[]; recordId: string }> {
  const reg = gov.registry.licenses.get(p.id);
  if (!reg) throw new SigilError('NOT_FOUND', `no licence ${p.id} is recorded in this store`, { id: p.id });
  if (gov.registry.isRevoked(p.id))
    throw new SigilError('DUPLICATE', `licence ${p.id} is already revoked`, { id: p.id });
  if (access.caller.chainIds.includes(p.id))
    throw new SigilError(
      'BAD_INPUT',
      `licence ${p.id} is on your own chain: revoking it would revoke the access you are using; revoke it with another root identity`,
      { id: p.id },
    );
  const cascade = gov.registry.descendantsOf(p.id);
  const payload: LicenseRevokedPayload = {
    license_id: p.id,
    reason: p.reason,
    cascade,
    revoked_by: access.caller.subject,
  };
  const [rec] = await gov.write(access, [
    {
      kind: GOVERNANCE_KINDS.licenseRevoked,
      space: 'system',
      actor: auditActor(access.caller),
      payload: payload as unknown as JsonValue,
    },
  ]);
  return { revoked: p.id, cascade, recordId: rec?.id ?? '' };
}

export function listLicenses(gov: Governance): LicenseEntry[] {
  const now = gov.now();
  const out: LicenseEntry[] = [];
  for (const [id, reg] of gov.registry.licenses) {
    const b = reg.license.body;
    const revocation = gov.registry.revocationOf(id);
    // The chain is only as valid as its weakest link: an expired parent expires its delegations too.
    const links = reg.chainIds.map((x) => gov.registry.licenses.get(x)?.license.body ?? b);
    const status: LicenseStatus = revocation
      ? 'revoked'
      : links.some((l) => now >= Date.parse(l.expires_at))
        ? 'expired'
        : links.some((l) => now < Date.parse(l.not_before))
          ? 'not-yet-valid'
          : 'valid';
    out.push({
      id,
      subject: b.subject,
      role: b.role,
      loa: reg.loaEffective,
      issuedAt: b.issued_at,
      notBefore: b.not_before,
      expiresAt: b.expires_at,
      parent: b.parent,
      chainIds: [...reg.chainIds],
      keyId: keyId(fromBase64(b.subject_key)),
      status,
      ...(revocation
        ? { revoked: { id: revocation.id, reason: revocation.reason, at: revocation.at, by: revocation.by } }
        : {}),
      issuedBy: reg.issuedBy,
      recordId: reg.recordId,
      license: reg.license,
    });
  }
  return out;
}

export function policyRows(gov: Governance): PolicyRow[] {
  return OPERATIONS.map((name) => {
    const p = gov.table[name];
    const changed = p.changedBy;
    return {
      operation: name,
      loa: p.loa,
      loaRank: LOA[p.loa],
      trustThreshold: p.trustThreshold,
      action: p.action,
      sensitivity: p.sensitivity,
      writes: p.writes,
      description: p.description,
      ...(changed
        ? {
            changedBy: {
              ...(changed.loa ? { loa: changed.loa.name } : {}),
              ...(changed.trustThreshold ? { trustThreshold: changed.trustThreshold.name } : {}),
            },
          }
        : {}),
    };
  });
}

function operationParam(operation: string): OperationName {
  return requirementFor(operation).operation;
}

export function trustReport(gov: Governance, subject: string, operation: string): TrustReport {
  const name = operationParam(operation);
  const policy = gov.table[name];
  const now = gov.now();
  const loa = gov.registry.subjectLoa(subject, now);
  const e = gov.explainFor(subject, loa, policy);
  const h = gov.registry.histories.get(subject);
  return {
    subject,
    operation: name,
    loa,
    score: e.score,
    threshold: policy.trustThreshold,
    meetsThreshold: e.score >= policy.trustThreshold,
    features: e.features,
    weights: e.weights,
    contributions: e.contributions,
    bias: e.bias,
    logit: e.logit,
    history: { good: h?.good ?? 0, bad: h?.bad ?? 0 },
    requestsInWindow: gov.requestsInWindow(subject, false, now),
  };
}

export async function feedback(
  gov: Governance,
  access: Access,
  p: { subject: string; operation: string; outcome: 'good' | 'bad'; note?: string | undefined },
): Promise<FeedbackResult> {
  const name = operationParam(p.operation);
  if (access.caller.authenticated && p.subject === access.caller.subject)
    throw new SigilError('ACCESS_DENIED', 'a subject cannot judge its own outcomes; ask another operator', {
      operation: 'trust.feedback',
      cause: 'self',
    });
  const subjectProblem = checkSubject(p.subject);
  if (subjectProblem !== null)
    throw new SigilError('BAD_INPUT', `subject ${subjectProblem}`, { field: 'subject' });
  const policy = gov.table[name];
  const now = gov.now();
  const params = gov.trustParams(now);
  const loa = gov.registry.subjectLoa(p.subject, now);
  const before = gov.registry.histories.get(p.subject);
  const x = featuresFor(
    policy,
    { loa, history: before, requestsInWindow: gov.requestsInWindow(p.subject, false, now) },
    params,
    now,
    gov.rate,
  );
  const outcome = p.outcome === 'good' ? 1 : 0;
  const scoreBefore = explain(params, x).score;
  const next = sgdStep(params, x, outcome);
  const history = recordOutcome(before, outcome, now, gov.halfLifeMs);
  const xAfter = featuresFor(
    policy,
    { loa, history, requestsInWindow: gov.requestsInWindow(p.subject, false, now) },
    next,
    now,
    gov.rate,
  );
  const scoreAfter = explain(next, xAfter).score;
  const payload: TrustFeedbackPayload = {
    subject: p.subject,
    operation: name,
    outcome: p.outcome,
    ...(p.note !== undefined ? { note: p.note } : {}),
    features: { ...x },
    score_before: scoreBefore,
    score_after: scoreAfter,
    params: paramsView(next),
    history: { good: history.good, bad: history.bad, updated_at: history.updatedAt },
    by: access.caller.subject,
  };
  const [rec] = await gov.write(access, [
    {
      kind: GOVERNANCE_KINDS.trustFeedback,
      space: 'system',
      actor: auditActor(access.caller),
      payload: payload as unknown as JsonValue,
    },
  ]);
  return {
    subject: p.subject,
    operation: name,
    outcome: p.outcome,
    recordId: rec?.id ?? '',
    scoreBefore,
    scoreAfter,
    history: { good: history.good, bad: history.bad },
    params: paramsView(next),
  };
}

export function trustStatus(gov: Governance, subject?: string): TrustStatus {
  const now = gov.now();
  const params = gov.trustParams(now);
  const subjects = [...gov.registry.histories.entries()]
    .filter(([s]) => subject === undefined || s === subject)
    .map(([s, h]) => {
      const x = featuresFor(
        requirementFor('trust.status'),
        { loa: 0, history: h, requestsInWindow: 0 },
        params,
        now,
      );
      return { subject: s, good: h.good, bad: h.bad, history: x.history };
    });
  return { params: paramsView(params), prior: paramsView(gov.prior), subjects };
}
