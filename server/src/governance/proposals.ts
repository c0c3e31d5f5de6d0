/**
 * System proposals and the witness registry behind sigil/witness.* and sigil/proposal.*: create a proposal on
 * top of the head of system changes, attach witness signatures, and commit it only when the quorum rule of
 * shared/src/quorum.ts holds (k distinct active witnesses under their current keys; for registry changes
 * the old and the new k, as in TUF), `prev` is still the head and it has not expired. A commit is one atomic
 * group: the `proposal.committed` record (with the root key's signature), the change's own record
 * (`witness.registry`, `policy.updated` or `trust.params`) and the audit record.
 */
import { SigilError } from '../../../shared/src/errors.js';
import { canonicalize, type JsonValue } from '../../../shared/src/jcs.js';
import { sha256Hex } from '../../../shared/src/hash.js';
import { fromBase64, toBase64, utf8 } from '../../../shared/src/bytes.js';
import { verify as ed25519Verify } from '../../../shared/src/ed25519.js';
import {
  PROPOSAL_KINDS,
  REGISTRY_CHANGE_KINDS,
  activeWitnesses,
  applyRegistryChange,
  currentKey,
  evaluateCommit,
  genesisRegistry,
  parseProposalBody,
  proposalId,
  proposalSigningMessage,
  type GenesisWitness,
  type ProposalBody,
  type QuorumProblem,
  type WitnessRegistry,
  type WitnessSignature,
} from '../../../shared/src/quorum.js';
import { POLICY_TABLE, applyCommittedPolicy, type PolicyOverrides } from '../../../shared/src/policy.js';
import { FEATURES, parseTrustParams } from '../../../shared/src/trust.js';
import type {
  ProposalExport,
  ProposalSignatureView,
  ProposalStatus,
  ProposalView,
  WitnessListResult,
} from '../../../shared/src/protocol.js';
import type { AppendInput } from '../canon/store-types.js';
import { auditActor, type Access, type Governance } from './gate.js';
import { paramsView } from './registry.js';
import {
  SYSTEM_KINDS,
  type ProposalCommittedPayload,
  type ProposalState,
  type RegistryPayload,
} from './system-state.js';

/** Problems that stop a commit (as opposed to a signature that merely does not count). */
const BLOCKING: readonly string[] = [
  'expired',
  'stale',
  'replayed',
  'insufficient',
  'invalid_change',
  'registry_mismatch',
  'malformed_proposal',
];
/** A proposal takes at most this many signatures (each witness may re-sign; quorum looks at 1024 at most). */
const MAX_ATTACHED_SIGNATURES = 256;
const DEFAULT_PROPOSAL_LIFETIME_MS = 24 * 60 * 60 * 1000;
const MAX_PROPOSAL_LIFETIME_MS = 90 * 24 * 60 * 60 * 1000;
export const COMMIT_SIGNING_PREFIX = 'sigil-commit/v1\n';
export const REGISTRY_SIGNING_PREFIX = 'sigil-registry/v1\n';

/** What the root key signs over a genesis registry: the store's origin and the registry's JCS hash. */
export function registrySigningMessage(origin: string, registry: WitnessRegistry): Uint8Array {
  return utf8(
    `${REGISTRY_SIGNING_PREFIX}${origin}\n${sha256Hex(canonicalize(registry as unknown as JsonValue))}`,
  );
}

function systemInput(kind: string, payload: unknown, access: Access): AppendInput {
  return { kind, space: 'system', actor: auditActor(access.caller), payload: payload as JsonValue };
}

function requireRegistry(gov: Governance): WitnessRegistry {
  const r = gov.registry.system.registry;
  if (!r)
    throw new SigilError(
      'NOT_FOUND',
      'this store has no witness registry (it was created before witnesses existed); create a new store with "sigil init"',
    );
  return r;
}

/** The genesis registry record of `sigil init`, signed by the root key. */
export function genesisInput(
  gov: Governance,
  access: Access,
  witnesses: readonly GenesisWitness[],
  threshold: number,
): AppendInput {
  const registry = genesisRegistry({ witnesses, threshold, at: new Date(gov.now()) });
  const payload: RegistryPayload = {
    registry,
    proposal_id: null,
    root_sig: toBase64(gov.rootSigner.sign(registrySigningMessage(gov.origin, registry))),
    root_key_id: gov.rootSigner.keyId,
  };
  return systemInput(SYSTEM_KINDS.registry, payload, access);
}

export function witnessList(gov: Governance): WitnessListResult {
  const reg = requireRegistry(gov);
  const system = gov.registry.system;
  return {
    threshold: reg.threshold,
    witnesses: reg.witnesses.map((w) => {
      const current = w.status === 'active' ? w.keys.find((k) => k.until === undefined) : undefined;
      return {
        id: w.id,
        name: w.name,
        status: w.status,
        keyId: current?.keyId ?? null,
        publicKey: current?.publicKey ?? null,
        keys: w.keys.map((k) => ({
          keyId: k.keyId,
          publicKey: k.publicKey,
          from: k.from,
          ...(k.until ? { until: k.until } : {}),
        })),
        rotations: w.rotations.map((r) => ({ ...r })),
        ...(w.revokedAt ? { revokedAt: w.revokedAt } : {}),
      };
    }),
    head: system.head,
    history: system.registryHistory.map((h) => ({ ...h })),
  };
}

/** Checks a change's meaning before anyone signs it (the shape is checked by parseProposalBody). */
function checkChange(gov: Governance, body: ProposalBody, registry: WitnessRegistry): void {
  try {
    if ((REGISTRY_CHANGE_KINDS as readonly string[]).includes(body.kind)) {
      applyRegistryChange(registry, body);
    } else if (body.kind === 'policy.update') {
      for (const [op, rule] of Object.entries(body.change)) {
        const fields =
          typeof rule === 'object' && rule !== null && !Array.isArray(rule) ? Object.keys(rule) : null;
        const bad =
          fields === null ? 'must be an object' : fields.find((f) => f !== 'loa' && f !== 'trust_threshold');
        if (fields?.length === 0 || bad !== undefined)
          throw new SigilError(
            'BAD_INPUT',
            `rule for ${op} ${fields === null ? 'must be an object' : fields.length === 0 ? 'is empty' : `has an unknown field ${JSON.stringify(bad)}`}: a rule sets "loa" and/or "trust_threshold"`,
          );
      }
      applyCommittedPolicy(POLICY_TABLE, body.change as PolicyOverrides, {
        kind: 'proposal',
        name: 'this proposal',
      });
    } else if (body.kind === 'trust.update_params') {
      parseTrustParams(mergedTrustParams(gov, body.change));
    }
  } catch (e) {
    if (e instanceof SigilError)
      throw new SigilError(
        e.code === 'KEY_INVALID' ? 'KEY_INVALID' : 'BAD_INPUT',
        `the change is refused: ${e.message}`,
        {
          kind: body.kind,
        },
      );
    throw e;
  }
}

/** trust.update_params: the parameters in force with the change's fields replaced. */
/** The fields a trust.update_params change may set (the half-life is configuration: trust.half_life_days). */
const TRUST_CHANGE_FIELDS = ['w', 'b', 'learningRate', 'maxStep', 'prior'] as const;

/** trust.update_params: the parameters in force with the change's fields replaced. Throws BAD_INPUT. */
function mergedTrustParams(gov: Governance, change: unknown): unknown {
  const current = paramsView(gov.trustParams());
  const c = (change ?? {}) as Record<string, unknown>;
  const unknown = Object.keys(c).find((k) => !(TRUST_CHANGE_FIELDS as readonly string[]).includes(k));
  if (unknown !== undefined)
    throw new SigilError(
      'BAD_INPUT',
      unknown === 'halfLifeMs'
        ? 'halfLifeMs is not a model parameter here: set trust.half_life_days in sigil.toml'
        : `unknown trust parameter ${JSON.stringify(unknown)}; a change may set ${TRUST_CHANGE_FIELDS.join(', ')}`,
    );
  if (c.w !== undefined) {
    if (typeof c.w !== 'object' || c.w === null || Array.isArray(c.w))
      throw new SigilError('BAD_INPUT', `w must be an object of feature weights (${FEATURES.join(', ')})`);
    const bad = Object.keys(c.w).find((k) => !(FEATURES as readonly string[]).includes(k));
    if (bad !== undefined)
      throw new SigilError(
        'BAD_INPUT',
        `unknown trust feature ${JSON.stringify(bad)} in w; features are ${FEATURES.join(', ')}`,
      );
  }
  const w = { ...current.w, ...((c.w as Record<string, unknown> | undefined) ?? {}) };
  return { ...current, ...c, w, halfLifeMs: current.halfLifeMs ?? Infinity };
}

/** The registry after a registry change (for the view's new side), or null for other kinds or an invalid one. */
function nextRegistry(registry: WitnessRegistry, body: ProposalBody, now: number): WitnessRegistry | null {
  if (!(REGISTRY_CHANGE_KINDS as readonly string[]).includes(body.kind)) return null;
  try {
    return applyRegistryChange(registry, body, { at: new Date(now) });
  } catch {
    return null;
  }
}

export async function createProposal(
  gov: Governance,
  access: Access,
  p: { kind: string; change: Record<string, unknown>; expiresAt?: string | undefined },
): Promise<ProposalView> {
  const registry = requireRegistry(gov);
  if (!(PROPOSAL_KINDS as readonly string[]).includes(p.kind))
    throw new SigilError('BAD_INPUT', `kind must be one of ${PROPOSAL_KINDS.join(', ')}`, { field: 'kind' });
  const now = gov.now();
  const expires = p.expiresAt === undefined ? now + DEFAULT_PROPOSAL_LIFETIME_MS : Date.parse(p.expiresAt);
  if (!Number.isFinite(expires) || expires <= now || expires - now > MAX_PROPOSAL_LIFETIME_MS)
    throw new SigilError(
      'BAD_INPUT',
      'expiresAt must be an RFC 3339 time in the future, at most 90 days ahead',
      {
        field: 'expiresAt',
      },
    );
  const body = parseProposalBody({
    v: 1,
    kind: p.kind,
    change: p.change,
    prev: gov.registry.system.head,
    created_at: new Date(now).toISOString(),
    expires_at: new Date(expires).toISOString(),
    proposer: access.caller.subject,
  });
  checkChange(gov, body, registry);
  const id = proposalId(body);
  if (gov.registry.system.proposals.has(id))
    throw new SigilError('DUPLICATE', `proposal ${id} already exists`);
  await gov.write(access, [systemInput(SYSTEM_KINDS.proposalCreated, { id, body }, access)], {
    proposal: id,
  });
  return proposalView(gov, id);
}

function requireProposal(gov: Governance, id: string): ProposalState {
  const p = gov.registry.system.proposals.get(id);
  if (!p) throw new SigilError('NOT_FOUND', `no proposal ${id} in this store`, { id });
  return p;
}

export function exportProposal(gov: Governance, id: string): ProposalExport {
  const p = requireProposal(gov, id);
  return { type: 'sigil.proposal', version: 1, origin: gov.origin, id, body: p.body };
}

/**
 * Keys a signature over this proposal may be made with: any key a witness of the registry holds or held, and
 * the key a witness.add or witness.rotate brings in (it votes on the new side). A superseded or revoked key's
 * signature is taken in but never counts: "sigil proposal show" says so next to it.
 */
function acceptableKeys(
  registry: WitnessRegistry,
  body: ProposalBody,
): Map<string, { witnessId: string; publicKey: string }> {
  const keys = new Map<string, { witnessId: string; publicKey: string }>();
  const addAll = (r: WitnessRegistry): void => {
    for (const w of r.witnesses)
      for (const k of w.keys) keys.set(k.keyId, { witnessId: w.id, publicKey: k.publicKey });
  };
  addAll(registry);
  if (body.kind === 'witness.add' || body.kind === 'witness.rotate') {
    try {
      addAll(applyRegistryChange(registry, body));
    } catch {
      // An inapplicable change cannot commit anyway; its signatures are judged against the registry alone.
    }
  }
  return keys;
}

export async function attachSignature(
  gov: Governance,
  access: Access,
  p: { id: string; signature: WitnessSignature },
): Promise<ProposalView> {
  const state = requireProposal(gov, p.id);
  if (state.status !== 'pending')
    throw new SigilError(
      'BAD_INPUT',
      `proposal ${p.id} is ${state.status}; signatures can only be attached to a pending one`,
    );
  if (gov.now() >= Date.parse(state.body.expires_at))
    throw new SigilError('BAD_INPUT', `proposal ${p.id} expired at ${state.body.expires_at}; re-propose it`);
  if (state.signatures.length >= MAX_ATTACHED_SIGNATURES)
    throw new SigilError(
      'BAD_INPUT',
      `proposal ${p.id} already carries ${state.signatures.length} signatures`,
    );
  const registry = requireRegistry(gov);
  const sig = p.signature;
  const key = acceptableKeys(registry, state.body).get(sig.keyId);
  if (!key || key.witnessId !== sig.witnessId)
    throw new SigilError(
      'BAD_INPUT',
      `key ${sig.keyId} is not a key of witness ${sig.witnessId} (nor one this proposal brings in); see "sigil witness list"`,
      { field: 'signature' },
    );
  if (!votesFor(p.id, key.publicKey, sig.sig))
    throw new SigilError(
      'SIGNATURE_INVALID',
      `the signature does not verify over proposal ${p.id} ("sigil-proposal/v1\\n" + id) with key ${sig.keyId}: it was made for another proposal, over a bare hash, or with another key`,
      { field: 'signature' },
    );
  if (state.signatures.some((s) => s.keyId === sig.keyId && s.sig === sig.sig))
    throw new SigilError('DUPLICATE', `this signature is already attached to proposal ${p.id}`);
  await gov.write(access, [systemInput(SYSTEM_KINDS.proposalSigned, { id: p.id, signature: sig }, access)], {
    proposal: p.id,
  });
  return proposalView(gov, p.id);
}

function evaluate(gov: Governance, state: ProposalState, now: number) {
  const system = gov.registry.system;
  return evaluateCommit(requireRegistry(gov), state.body, state.signatures, {
    now: new Date(now),
    systemHead: system.head,
    committedIds: system.committedIds,
  });
}

/** Whether `sig` is a valid vote under `registry`: an active witness's current key, verifying over the id. */
function validUnder(registry: WitnessRegistry, id: string, sig: WitnessSignature): boolean {
  const w = registry.witnesses.find((x) => x.id === sig.witnessId);
  if (!w || w.status !== 'active') return false;
  const key = currentKey(w);
  if (!key || key.keyId !== sig.keyId) return false;
  return votesFor(id, key.publicKey, sig.sig);
}

/** Whether `sig` (base64) is a signature by `publicKey` (base64) over "sigil-proposal/v1\n" + id. */
function votesFor(id: string, publicKey: string, sig: string): boolean {
  let bytes: Uint8Array;
  try {
    bytes = fromBase64(sig);
  } catch {
    return false;
  }
  return bytes.length === 64 && ed25519Verify(fromBase64(publicKey), proposalSigningMessage(id), bytes);
}

/**
 * Which signatures count, side by side: under the registry in force and, for a registry change, under the
 * registry after it (TUF). On each side the first valid signature of a witness is its vote.
 */
function signatureViews(
  id: string,
  sigs: readonly WitnessSignature[],
  registry: WitnessRegistry,
  next: WitnessRegistry | null,
  problems: readonly QuorumProblem[],
): ProposalSignatureView[] {
  const sides = [registry, ...(next ? [next] : [])].map((r) => ({ r, voted: new Set<string>() }));
  return sigs.map((s) => {
    let counts = false;
    let duplicate = false;
    for (const side of sides) {
      if (!validUnder(side.r, id, s)) continue;
      if (side.voted.has(s.witnessId)) duplicate = true;
      else {
        side.voted.add(s.witnessId);
        counts = true;
      }
    }
    const problem = problems.find((x) => x.keyId === s.keyId && x.witnessId === s.witnessId);
    return {
      witnessId: s.witnessId,
      keyId: s.keyId,
      sig: s.sig,
      counts,
      ...(counts
        ? {}
        : {
            problem: duplicate
              ? 'another signature of this witness already counts'
              : (problem?.message ?? 'not a valid vote of an active witness under its current key'),
          }),
    };
  });
}

export function proposalView(gov: Governance, id: string): ProposalView {
  const state = requireProposal(gov, id);
  const now = gov.now();
  const ev = evaluate(gov, state, now);
  const registry = requireRegistry(gov);
  const expired = now >= Date.parse(state.body.expires_at);
  const stale = state.body.prev !== gov.registry.system.head;
  const status: ProposalStatus =
    state.status !== 'pending' ? state.status : expired ? 'expired' : stale ? 'stale' : 'pending';
  const counted = new Set([...ev.quorum.votes, ...(ev.newQuorum?.votes ?? [])]);
  const blockers =
    state.status === 'pending'
      ? [...new Set(ev.problems.filter((x) => BLOCKING.includes(x.reason)).map((x) => x.message))]
      : [`the proposal is ${state.status}`];
  return {
    id,
    kind: state.body.kind,
    change: state.body.change,
    prev: state.body.prev,
    createdAt: state.body.created_at,
    expiresAt: state.body.expires_at,
    proposer: state.body.proposer,
    status,
    signatures: signatureViews(
      id,
      state.signatures,
      registry,
      nextRegistry(registry, state.body, now),
      ev.problems,
    ),
    // A committed proposal shows the votes its commit record names, not a recount under today's registry.
    ...(state.committed
      ? {
          votes: [...state.committed.votes],
          threshold: state.committed.threshold,
          ...(state.committed.newVotes ? { newVotes: [...state.committed.newVotes] } : {}),
        }
      : {
          votes: [...ev.quorum.votes],
          threshold: ev.quorum.threshold,
          ...(ev.newQuorum
            ? { newVotes: [...ev.newQuorum.votes], newThreshold: ev.newQuorum.threshold }
            : {}),
        }),
    unsigned: activeWitnesses(registry)
      .map((w) => w.id)
      .filter((w) => !counted.has(w)),
    canCommit: state.status === 'pending' && ev.ok,
    blockers:
      ev.ok && state.status === 'pending'
        ? []
        : blockers.length
          ? blockers
          : ['the quorum rule does not hold'],
    recordId: state.recordId,
    ...(state.committed
      ? { committed: { recordId: state.committed.recordId, at: state.committed.at, by: state.committed.by } }
      : {}),
    ...(state.rejected ? { rejected: state.rejected } : {}),
    body: state.body,
  };
}

export function listProposals(gov: Governance): ProposalView[] {
  return [...gov.registry.system.proposals.keys()].map((id) => proposalView(gov, id)).reverse();
}

/**
 * Commits are serialized per store: each one checks that its prev is the head and then moves the head, so two
 * racing commits over the same head cannot both land.
 */
const commitLocks = new WeakMap<Governance, Promise<unknown>>();

export async function commitProposal(gov: Governance, access: Access, id: string): Promise<ProposalView> {
  const previous = commitLocks.get(gov) ?? Promise.resolve();
  const run = previous.catch(() => undefined).then(() => commitNow(gov, access, id));
  commitLocks.set(gov, run);
  return run;
}

async function commitNow(gov: Governance, access: Access, id: string): Promise<ProposalView> {
  const state = requireProposal(gov, id);
  if (state.status === 'committed')
    throw new SigilError('DUPLICATE', `proposal ${id} is already committed (a commit cannot be replayed)`, {
      id,
    });
  if (state.status === 'rejected') throw new SigilError('BAD_INPUT', `proposal ${id} was rejected`, { id });
  const ev = evaluate(gov, state, gov.now());
  if (!ev.ok) {
    const reasons = [...new Set(ev.problems.map((x) => x.reason))];
    const stale = reasons.includes('stale');
    const words = [...new Set(ev.problems.filter((x) => BLOCKING.includes(x.reason)).map((x) => x.message))];
    throw new SigilError(
      'ACCESS_DENIED',
      `proposal ${id} cannot be committed: ${words.join('; ') || 'the quorum rule does not hold'}${stale ? ' — re-propose it on top of the current head' : ''}`,
      {
        operation: 'system.commit',
        cause: 'quorum',
        reasons,
        votes: ev.quorum.votes,
        threshold: ev.quorum.threshold,
      },
    );
  }
  const payload: ProposalCommittedPayload = {
    id,
    kind: state.body.kind,
    prev: state.body.prev,
    votes: [...ev.quorum.votes],
    ...(ev.newQuorum ? { new_votes: [...ev.newQuorum.votes] } : {}),
    threshold: ev.quorum.threshold,
    root_sig: toBase64(gov.rootSigner.sign(utf8(COMMIT_SIGNING_PREFIX + id))),
    root_key_id: gov.rootSigner.keyId,
    committed_by: access.caller.subject,
  };
  const inputs: AppendInput[] = [systemInput(SYSTEM_KINDS.proposalCommitted, payload, access)];
  const body = state.body;
  if ((REGISTRY_CHANGE_KINDS as readonly string[]).includes(body.kind)) {
    const registryPayload: RegistryPayload = { registry: ev.registry, proposal_id: id };
    inputs.push(systemInput(SYSTEM_KINDS.registry, registryPayload, access));
  } else if (body.kind === 'policy.update') {
    inputs.push(systemInput(SYSTEM_KINDS.policyUpdated, { proposal_id: id, rules: body.change }, access));
  } else if (body.kind === 'trust.update_params') {
    const params = parseTrustParams(mergedTrustParams(gov, body.change));
    inputs.push(
      systemInput(SYSTEM_KINDS.trustParams, { proposal_id: id, params: paramsView(params) }, access),
    );
  }
  await gov.write(access, inputs, { proposal: id });
  return proposalView(gov, id);
}

export async function rejectProposal(
  gov: Governance,
  access: Access,
  p: { id: string; reason: string },
): Promise<ProposalView> {
  const state = requireProposal(gov, p.id);
  if (state.status !== 'pending')
    throw new SigilError(
      'BAD_INPUT',
      `proposal ${p.id} is ${state.status}; only a pending one can be rejected`,
    );
  await gov.write(
    access,
    [
      systemInput(
        SYSTEM_KINDS.proposalRejected,
        { id: p.id, reason: p.reason, rejected_by: access.caller.subject },
        access,
      ),
    ],
    { proposal: p.id },
  );
  return proposalView(gov, p.id);
}
