/**
 * The gate every service operation passes: it authenticates the request (licence chain + proof of
 * possession), looks the operation up in the one policy table, scores the caller with the trust model,
 * decides, and writes the audit record — for every write (in the same atomic group commit as the write)
 * and for every denial. When the canon cannot take an audit record it goes to the hash-chained journal in
 * the home and is replayed into the canon on the next open. Auditing cannot be turned off.
 */
import path from 'node:path';
import { SigilError, toSigilError } from '../../../shared/src/errors.js';
import { canonicalize, type JsonValue } from '../../../shared/src/jcs.js';
import { sha256Hex } from '../../../shared/src/hash.js';
import type { CanonicalRecord } from '../../../shared/src/record.js';
import {
  NonceCache,
  VerifiedChainCache,
  verifyRequest,
  type NonceStore,
  type Role,
} from '../../../shared/src/license.js';
import {
  POLICY_TABLE,
  applyCommittedPolicy,
  decide,
  effectivePolicy,
  formatLoa,
  loaLevel,
  type Decision,
  type OperationName,
  type OperationPolicy,
  type PolicyTable,
} from '../../../shared/src/policy.js';
import {
  DEFAULT_TRUST_PARAMS,
  decayParams,
  explain,
  featuresFor,
  type RateLimit,
  type TrustExplanation,
  type TrustParams,
} from '../../../shared/src/trust.js';
import type { ConfigSource, SigilConfig } from '../../../shared/src/config-schema.js';
import type { CallerInfo } from '../../../shared/src/protocol.js';
import type { LevelCanonStore } from '../canon/store.js';
import type { AppendInput } from '../canon/store-types.js';
import type { Keystore } from '../canon/keystore.js';
import { AuditJournal, type JournalEntry } from './journal.js';
import { GOVERNANCE_KINDS, GovernanceRegistry } from './registry.js';

export const JOURNAL_FILE = 'audit.journal';
const DAY_MS = 24 * 60 * 60 * 1000;

/** Who made a request, as established by the gate. */
export interface Caller extends CallerInfo {
  readonly role: Role;
}

export const ANONYMOUS: Caller = Object.freeze({
  authenticated: false,
  subject: 'anonymous',
  role: 'guest',
  loa: 0,
  licenseId: null,
  keyId: null,
  expiresAt: null,
  chainIds: [],
});

/** What a request was allowed to do, and why: handed to the operation and written into its audit record. */
export interface Access {
  readonly method: string;
  readonly operation: OperationName;
  readonly caller: Caller;
  readonly decision: Decision;
  readonly trust: TrustExplanation | null;
}

/**
 * Refuses nonces of requests signed before `startedAt`: the nonce memory starts empty then, so an older
 * request may have been accepted by an earlier owner of the store. A long-lived owner (the language server)
 * makes one when its process starts and keeps it across reopens of the store, so requests queued while the
 * store opens are accepted, and none is accepted twice by the same process.
 */
export class StartBoundNonces implements NonceStore {
  readonly #cache = new NonceCache();
  constructor(private readonly startedAt: number) {}
  seen(key: string, ts: number, now: number): boolean {
    return ts < this.startedAt || this.#cache.seen(key, ts, now);
  }
}

export interface GovernanceOptions {
  readonly home: string;
  readonly config: SigilConfig;
  readonly origins: Record<string, ConfigSource>;
  readonly keystore: Keystore;
  readonly store: LevelCanonStore;
  readonly onWarning?: (message: string) => void;
  /** The clock (tests); default Date.now. */
  readonly now?: () => number;
  /** Seen nonces; default: a fresh memory that refuses requests signed before this open. */
  readonly nonces?: NonceStore;
}

export class Governance {
  #table: PolicyTable;
  #tablePolicyVersion = 0;
  readonly registry: GovernanceRegistry;
  readonly rate: RateLimit;
  readonly halfLifeMs: number;
  readonly startedAt: number;
  readonly #nonces: NonceStore;
  readonly #chains = new VerifiedChainCache();
  readonly #requests = new Map<string, number[]>();
  readonly #now: () => number;

  private constructor(
    private readonly opts: GovernanceOptions,
    private readonly journal: AuditJournal,
    registry: GovernanceRegistry,
    table: PolicyTable,
  ) {
    this.#now = opts.now ?? Date.now;
    this.startedAt = this.#now();
    this.#nonces = opts.nonces ?? new StartBoundNonces(this.startedAt);
    this.registry = registry;
    this.#table = table;
    this.halfLifeMs = opts.config.trust.half_life_days * DAY_MS;
    this.rate = { windowMs: opts.config.trust.rate_window_s * 1000, cap: opts.config.trust.rate_cap };
    opts.store.on('appended', (records: CanonicalRecord[]) => {
      for (const r of records) registry.apply(r);
    });
  }

  /** Loads the policy, the governance state from the canon and the journal; replays what the journal holds. */
  static async open(opts: GovernanceOptions): Promise<Governance> {
    const table = effectivePolicy(POLICY_TABLE, opts.config.policies, (k) => opts.origins[k]);
    // (Committed policy rules, if any, are applied by the table getter once the registry is loaded.)
    const halfLifeMs = opts.config.trust.half_life_days * DAY_MS;
    const registry = await GovernanceRegistry.load(opts.store, halfLifeMs);
    const journal = await AuditJournal.open(path.join(opts.home, JOURNAL_FILE), {
      onWarning: (w) => opts.onWarning?.(`audit journal: ${w.message}`),
    });
    const gov = new Governance(opts, journal, registry, table);
    try {
      await gov.replayJournal();
    } catch (e) {
      await journal.close();
      throw e;
    }
    return gov;
  }

  /**
   * The policy in force: the built-in table, changed by committed policy.update proposals (which may loosen
   * it), then made stricter by the configuration's [policies].
   */
  get table(): PolicyTable {
    const system = this.registry.system;
    if (system.policyVersion !== this.#tablePolicyVersion) {
      const committed = applyCommittedPolicy(POLICY_TABLE, system.policyRules, {
        kind: 'proposal',
        name: 'a committed system proposal (policy.update)',
      });
      this.#table = this.configOnTop(committed);
      this.#tablePolicyVersion = system.policyVersion;
    }
    return this.#table;
  }

  /**
   * The configuration's [policies] over a committed table. They were checked against the built-in table at
   * startup; one that a committed change has since made looser than the proposal's is skipped with a
   * warning rather than failing the whole store, since the quorum's decision is the stricter authority.
   */
  private configOnTop(committed: PolicyTable): PolicyTable {
    let table = committed;
    for (const [operation, rule] of Object.entries(this.opts.config.policies)) {
      try {
        table = effectivePolicy(table, { [operation]: rule }, (k) => this.opts.origins[k]);
      } catch (e) {
        if (!(e instanceof SigilError)) throw e;
        this.opts.onWarning?.(`policies.${operation} is not applied over the committed policy: ${e.message}`);
      }
    }
    return table;
  }

  get store(): LevelCanonStore {
    return this.opts.store;
  }

  get origin(): string {
    return this.opts.store.origin;
  }

  /** The pinned trust anchor of every licence: the store's root public key. */
  get rootKey(): Uint8Array {
    return this.opts.keystore.root.publicKey;
  }

  /** Signs root-issued licences (license.issue, and the owner licence at init). */
  get rootSigner(): Keystore['root'] {
    return this.opts.keystore.root;
  }

  now(): number {
    return this.#now();
  }

  /** Entries the journal holds that are not in the canon yet. */
  pendingJournal(): number {
    return this.journal.pending().length;
  }

  /**
   * Puts journalled audit entries into the canon, oldest first. The journal line hash is the idempotency
   * tag, so an entry appended before a crash (and not yet marked) is not appended twice.
   */
  async replayJournal(): Promise<number> {
    const res = await this.journal.replay(async (entry: JournalEntry) => {
      try {
        await this.opts.store.append({
          kind: GOVERNANCE_KINDS.audit,
          space: 'system',
          actor: 'sigil:journal',
          payload: {
            ...(entry.entry as Record<string, JsonValue>),
            journal: { seq: entry.seq, hash: entry.hash, ts: entry.ts },
          },
          legacyIdentity: `journal:${entry.hash}`,
        });
      } catch (e) {
        if (!(e instanceof SigilError && e.code === 'DUPLICATE')) throw e;
      }
    });
    return res.replayed;
  }

  /** What the trust model relaxes toward: the committed parameters, else the built-in defaults. */
  get prior(): TrustParams {
    return { ...(this.registry.committedPrior ?? DEFAULT_TRUST_PARAMS), halfLifeMs: this.halfLifeMs };
  }

  /** The learnt trust parameters relaxed toward the prior for the time since they were learnt. */
  trustParams(now = this.#now()): TrustParams {
    const learnt = this.registry.learnt;
    if (!learnt) return this.prior;
    return decayParams({ ...learnt.params, halfLifeMs: this.halfLifeMs }, this.prior, now - learnt.at);
  }

  /** Requests by `subject` in the rate window, counting one more if `count` (this request). */
  requestsInWindow(subject: string, count: boolean, now = this.#now()): number {
    const since = now - this.rate.windowMs;
    let list = this.#requests.get(subject);
    if (list) {
      let drop = 0;
      while (drop < list.length && (list[drop] as number) <= since) drop++;
      if (drop > 0) list.splice(0, drop);
    }
    if (count) {
      if (!list) {
        list = [];
        this.#requests.set(subject, list);
      }
      list.push(now);
      // A flood only needs to be counted up to the cap; memory stays bounded.
      if (list.length > this.rate.cap * 2) list.splice(0, list.length - this.rate.cap * 2);
    }
    return list?.length ?? 0;
  }

  /** The trust explanation for `subject` at LOA `loa` performing `policy`, now. */
  explainFor(subject: string, loa: number, policy: OperationPolicy, count = false): TrustExplanation {
    const now = this.#now();
    const params = this.trustParams(now);
    const x = featuresFor(
      policy,
      {
        loa,
        history: this.registry.histories.get(subject),
        requestsInWindow: this.requestsInWindow(subject, count, now),
      },
      params,
      now,
      this.rate,
    );
    return explain(params, x);
  }

  /** Authenticates the request; any failure, a malformed `auth` included, is a denial (audited by the caller). */
  private authenticate(method: string, params: unknown, auth: unknown, operation: OperationName): Caller {
    if (auth === undefined) return ANONYMOUS;
    const now = this.#now();
    const r = verifyRequest(method, params, auth, {
      rootKey: this.opts.keystore.root.publicKey,
      audience: this.origin,
      now: new Date(now),
      isRevoked: (id) => this.registry.isRevoked(id),
      nonces: this.#nonces,
      cache: this.#chains,
    });
    if (!r.ok) {
      throw new AuthFailure(operation, r.code, r.reason);
    }
    const c = r.caller;
    // Every link must have been recorded here: the root issues through the canon, and delegations are
    // registered (license.delegate), so no licence acts without a trace and every one can be listed and revoked.
    const unrecorded = c.chainIds.find((id) => !this.registry.licenses.has(id));
    if (unrecorded !== undefined) {
      throw new AuthFailure(
        operation,
        'unregistered',
        `licence ${unrecorded} was never recorded in this store; register a delegated licence with "sigil license delegate" before using it`,
      );
    }
    return {
      authenticated: true,
      subject: c.subject,
      role: c.role,
      loa: c.loa,
      licenseId: c.licenseId,
      keyId: c.keyId,
      expiresAt: c.expiresAt,
      chainIds: c.chainIds,
    };
  }

  /**
   * The gate. Returns the access for an allowed request; a denied one is audited (canon, else journal) and
   * thrown as ACCESS_DENIED with what would be needed.
   */
  async authorize(method: string, params: unknown, auth: unknown, operation: OperationName): Promise<Access> {
    const policy = this.table[operation];
    // Fail closed on a damaged governance state, but keep the way to find out what is damaged open.
    const damage = this.registry.damage;
    if (damage && operation !== 'canon.verify' && operation !== 'store.info') throw damage;
    let caller: Caller;
    try {
      caller = this.authenticate(method, params, auth, operation);
    } catch (e) {
      if (!(e instanceof AuthFailure)) throw e;
      const denial: Decision = {
        allowed: false,
        reason: `request not authenticated (${e.failure}): ${e.message}`,
        operation,
        required: { loa: policy.loa, trustThreshold: policy.trustThreshold },
      };
      await this.audit(method, ANONYMOUS, denial, null, { authentication: e.failure });
      throw new SigilError('ACCESS_DENIED', denial.reason, {
        operation,
        cause: 'authentication',
        failure: e.failure,
        required: { loa: policy.loa, trust_threshold: policy.trustThreshold },
      });
    }
    // Only writes count toward the request rate: reading the log (an editor paging its views) is no flood.
    const trust = this.explainFor(caller.subject, caller.loa, policy, policy.writes);
    const decision = decide(operation, caller.loa, trust.score, { table: this.table, storeExists: true });
    if (!decision.allowed) {
      await this.audit(method, caller, decision, trust);
      const hint =
        decision.cause === 'loa'
          ? caller.authenticated
            ? decision.required.loa === 'root'
              ? ' (only a root licence may do this: ask the store owner)'
              : ` (ask a root holder, or a mentor who may delegate, for a licence at ${decision.required.loa} or above)`
            : ' (this request carried no licence: pass --identity FILE or select an identity)'
          : decision.cause === 'trust'
            ? ' (see "sigil trust explain"; histories recover toward the prior over time)'
            : '';
      throw new SigilError('ACCESS_DENIED', decision.reason + hint, {
        operation,
        cause: decision.cause,
        subject: caller.subject,
        required: { loa: decision.required.loa, trust_threshold: decision.required.trustThreshold },
        actual: { loa: formatLoa(caller.loa), loa_rank: caller.loa, score: trust.score },
      });
    }
    return { method, operation, caller, decision, trust };
  }

  /**
   * The gate for an operation a module performs on behalf of the request that runs it: the same caller
   * (the module never holds more than the licence that runs it), judged again for `operation` (its LOA,
   * its trust threshold), and audited as done `via` the module. A denial is audited and thrown like any.
   */
  async authorizeWithin(parent: Access, operation: OperationName, via: string): Promise<Access> {
    const policy = this.table[operation];
    const damage = this.registry.damage;
    if (damage) throw damage;
    const method = `${parent.method}>${via}:${operation}`;
    const caller = parent.caller;
    const trust = this.explainFor(caller.subject, caller.loa, policy, false);
    const decision = decide(operation, caller.loa, trust.score, { table: this.table, storeExists: true });
    if (!decision.allowed) {
      await this.audit(method, caller, decision, trust, { via });
      throw new SigilError('ACCESS_DENIED', `${via}: ${decision.reason}`, {
        operation,
        cause: decision.cause,
        subject: caller.subject,
        via,
        required: { loa: decision.required.loa, trust_threshold: decision.required.trustThreshold },
        actual: { loa: formatLoa(caller.loa), loa_rank: caller.loa, score: trust.score },
      });
    }
    return { method, operation, caller, decision, trust };
  }

  /** An identifier of the trust parameters in force (the prior, or what was learnt), for results to cite. */
  trustModelId(): string {
    // The parameters decay toward the prior over time, so the id names the weights actually used now.
    const { w, b } = this.trustParams();
    return `logistic/${sha256Hex(canonicalize({ w, b })).slice(0, 16)}`;
  }

  /**
   * Audits a refusal made by an operation after the gate let the request in (e.g. a subject judging itself,
   * a delegation that does not extend the caller's chain): it is a decision too.
   */
  async auditRefusal(access: Access, e: SigilError): Promise<void> {
    const denial: Decision = { ...access.decision, allowed: false, cause: 'rule', reason: e.message };
    await this.audit(access.method, access.caller, denial, access.trust);
  }

  /** The audit record's payload for one decision. */
  private auditPayload(
    method: string,
    caller: Caller,
    decision: Decision,
    trust: TrustExplanation | null,
    extra: Record<string, JsonValue> = {},
  ): Record<string, JsonValue> {
    return {
      operation: decision.operation,
      method,
      decision: decision.allowed ? 'allowed' : 'denied',
      ...(decision.cause ? { cause: decision.cause } : {}),
      reason: decision.reason,
      caller: {
        subject: caller.subject,
        authenticated: caller.authenticated,
        license_id: caller.licenseId,
        key_id: caller.keyId,
        role: caller.role,
        loa: caller.loa,
        loa_name: loaLevel(caller.loa),
      },
      required: { loa: decision.required.loa, trust_threshold: decision.required.trustThreshold },
      trust: trust
        ? {
            score: trust.score,
            bias: trust.bias,
            logit: trust.logit,
            features: { ...trust.features },
            contributions: { ...trust.contributions },
          }
        : null,
      ...extra,
    };
  }

  private auditInput(payload: Record<string, JsonValue>, caller: Caller): AppendInput {
    return { kind: GOVERNANCE_KINDS.audit, space: 'system', actor: auditActor(caller), payload };
  }

  /** Appends an audit record on its own (denials); falls back to the journal if the canon refuses it. */
  async audit(
    method: string,
    caller: Caller,
    decision: Decision,
    trust: TrustExplanation | null,
    extra: Record<string, JsonValue> = {},
  ): Promise<void> {
    const payload = this.auditPayload(method, caller, decision, trust, extra);
    try {
      await this.opts.store.append(this.auditInput(payload, caller));
    } catch (e) {
      await this.journalAudit(payload, e);
    }
  }

  private async journalAudit(payload: Record<string, JsonValue>, e: unknown): Promise<void> {
    const err = toSigilError(e);
    await this.journal.append({ ...payload, canon_error: { code: err.code, message: err.message } });
  }

  /**
   * Performs a write: `inputs` and their audit record (the last of the group, `covers` = inputs.length)
   * land in one atomic group commit. If the canon cannot take it, nothing of it is written, the audit of
   * the failed attempt goes to the journal and the error is rethrown.
   */
  async write(
    access: Access,
    inputs: readonly AppendInput[],
    extra: Record<string, JsonValue> = {},
  ): Promise<CanonicalRecord[]> {
    const payload = this.auditPayload(access.method, access.caller, access.decision, access.trust, {
      covers: inputs.length,
      ...extra,
    });
    try {
      const written = await this.opts.store.appendAll([...inputs, this.auditInput(payload, access.caller)]);
      return written.slice(0, inputs.length);
    } catch (e) {
      // A refused input (bad payload, duplicate) is the caller's error and leaves the store as it was. Only
      // a store that cannot take the write sends the attempt's audit to the journal.
      if (!isInputRefusal(e)) await this.journalAudit({ ...payload, outcome: 'failed' }, e);
      throw e;
    }
  }

  async close(): Promise<void> {
    await this.journal.close();
  }
}

/** The record `actor` for what a caller does: its subject, tagged with how it was established. */
export function auditActor(caller: Caller): string {
  if (caller.authenticated) return `license:${caller.subject}`;
  // The runtime itself (init's bootstrap, journal replay) acts as "sigil:<what>"; no licence can be named so.
  return caller.subject.startsWith('sigil:') ? caller.subject : 'anonymous';
}

function isInputRefusal(e: unknown): boolean {
  return e instanceof SigilError && ['BAD_INPUT', 'JCS_INVALID', 'DUPLICATE', 'BAD_USAGE'].includes(e.code);
}

class AuthFailure extends Error {
  constructor(
    readonly operation: OperationName,
    readonly failure: string,
    message: string,
  ) {
    super(message);
  }
}
