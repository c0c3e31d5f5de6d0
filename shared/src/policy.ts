/**
 * The one policy table: every service operation with the level of access (LOA) and the trust score it
 * requires, read by the service layer for the CLI, the protocol and the extension alike (issue 4,
 * "Governance").
 *
 * Pure: no I/O. The service layer resolves the caller's LOA (from its licence) and trust score (shared/src/
 * trust.ts), then asks {@link decide}; a denial becomes SigilError('ACCESS_DENIED'), exit 4, whose message is
 * {@link describeDenial}'s words.
 *
 * `[policies]` in sigil.toml (config-schema.ts) can only make an operation stricter ({@link effectivePolicy});
 * loosening one is a governance change and goes through a system proposal ({@link applyCommittedPolicy}).
 */
import { LOA_LEVELS, suggest } from './config-schema.js';
import type { ConfigSource, LoaLevel, PolicyRule } from './config-schema.js';
import { SigilError } from './errors.js';

export { LOA_LEVELS };
export type { LoaLevel };

// ---------------------------------------------------------------------------------------------------------
// Levels of access, action classes, sensitivities.

/** Levels of access, lowest to highest. A caller at a level may do everything the levels below it may. */
export const LOA = Object.freeze({ guest: 0, observer: 1, operator: 2, mentor: 3, root: 4 } as const);
export type LoaRank = (typeof LOA)[LoaLevel];
/** The highest rank (root); the trust feature `loa` is rank / MAX_LOA_RANK. */
export const MAX_LOA_RANK = LOA.root;

/** Rank of a level; a rank given as a number is checked and returned. Throws BAD_INPUT for anything else. */
export function loaRank(level: LoaLevel | number): LoaRank {
  if (typeof level === 'number') {
    if (Number.isInteger(level) && level >= 0 && level <= MAX_LOA_RANK) return level as LoaRank;
    throw new SigilError('BAD_INPUT', `LOA rank ${level} must be an integer from 0 (guest) to 4 (root)`);
  }
  if (!isLoaLevel(level)) {
    throw new SigilError(
      'BAD_INPUT',
      `unknown LOA ${JSON.stringify(level)}; levels are ${LOA_LEVELS.join(', ')}`,
    );
  }
  return LOA[level];
}

/** Name of a rank (or the level itself). */
export function loaLevel(level: LoaLevel | number): LoaLevel {
  return LOA_LEVELS[loaRank(level)] as LoaLevel;
}

export function isLoaLevel(s: unknown): s is LoaLevel {
  return typeof s === 'string' && (LOA_LEVELS as readonly string[]).includes(s);
}

/** "operator (2)". */
export function formatLoa(level: LoaLevel | number): string {
  return `${loaLevel(level)} (${loaRank(level)})`;
}

/** What an operation does, least to most risky. The trust feature `risk` is 0, 1/3, 2/3, 1 in this order. */
export const ACTION_CLASSES = ['read', 'write', 'execute', 'admin'] as const;
export type ActionClass = (typeof ACTION_CLASSES)[number];

/**
 * What an operation touches, least to most sensitive. The trust feature `sensitivity` is 0, 1/4, 1/2, 3/4, 1
 * in this order.
 */
export const SENSITIVITIES = ['user_data', 'module', 'config', 'audit', 'canon_system'] as const;
export type Sensitivity = (typeof SENSITIVITIES)[number];

// ---------------------------------------------------------------------------------------------------------
// The table.

export interface OperationPolicy {
  readonly operation: OperationName;
  /** Lowest level of access allowed. */
  readonly loa: LoaLevel;
  /** Lowest trust score (0..1) allowed; 0 means the trust score never denies. */
  readonly trustThreshold: number;
  /** Action class: the trust feature `risk`. */
  readonly action: ActionClass;
  /** What it touches: the trust feature `sensitivity`. */
  readonly sensitivity: Sensitivity;
  /** Whether it changes persistent state (appends records, stores checkpoints, moves keys). */
  readonly writes: boolean;
  readonly description: string;
  /**
   * Bootstrap operation (store.init): there is no store, hence no licence, no LOA and no trust state yet, so
   * it is open to guests — and allowed ONLY where no store exists ({@link decide} needs `storeExists: false`;
   * the session also refuses with HOME_EXISTS). Its policy cannot be overridden.
   */
  readonly bootstrap?: true;
  /** Set by {@link effectivePolicy} / {@link applyCommittedPolicy}: where a changed value came from. */
  readonly changedBy?: { readonly loa?: ConfigSource; readonly trustThreshold?: ConfigSource };
}

/**
 * Default trust thresholds per kind of operation, set against DEFAULT_TRUST_PARAMS (trust.ts): a caller at
 * exactly the required LOA with a neutral history (0.5) and a quiet request rate clears each one with room
 * to spare, while the same caller with an all-bad history, or flooding requests (rate at the cap), falls
 * below it — test/unit/policy.test.ts checks both for every operation. In brackets: the neutral caller's
 * score / with an all-bad history, under the default parameters.
 */
export const DEFAULT_THRESHOLDS = Object.freeze({
  /**
   * 0: introspection (trust status and explanation, policy show, store info) and bootstrap are never gated
   * on trust, so a denied or penalised caller can always find out why and how it recovers.
   */
  introspection: 0,
  /**
   * 0.2 for reads: reading changes nothing, so only a clearly bad record (mostly rejected outcomes) or a
   * flood stops it. [observer reading the log 0.47 / 0.02]
   */
  read: 0.2,
  /**
   * 0.35 for writes, and for bulk disclosure (canon.export): what is appended stays in the log forever, so a
   * subject needs a history better than "mostly rejected". [operator appending user data 0.82 / 0.08]
   */
  write: 0.35,
  /** 0.4 for execution: running a module has effects outside the log. [operator running a module 0.65 / 0.03] */
  execute: 0.4,
  /**
   * 0.5 for administration and for granting authority (licences, keys, system space, governance): the score
   * must favour the caller, not merely not count against it. [root committing to system space 0.73 / 0.05]
   */
  admin: 0.5,
} as const);

const T = DEFAULT_THRESHOLDS;

function op<const N extends string>(
  operation: N,
  loa: LoaLevel,
  trustThreshold: number,
  action: ActionClass,
  sensitivity: Sensitivity,
  writes: boolean,
  description: string,
  bootstrap?: true,
): Omit<OperationPolicy, 'operation'> & { readonly operation: N } {
  return Object.freeze({
    operation,
    loa,
    trustThreshold,
    action,
    sensitivity,
    writes,
    description,
    ...(bootstrap ? { bootstrap } : {}),
  });
}

// prettier-ignore
const ENTRIES = [
  // operation              loa         threshold        action     sensitivity     writes description
  // The store. store.init is the bootstrap (see OperationPolicy.bootstrap).
  op('store.info',          'guest',    T.introspection, 'read',    'config',       false, 'state of the store: status, size, root hash, heads, key ids'),
  op('store.init',          'guest',    T.introspection, 'admin',   'canon_system', true,  'create the store (keys, sigil.toml, genesis record) where none exists', true),
  // The canon. System-space appends are a separate operation: sigil/canon.append with space "system" (appendOperation).
  op('canon.append',        'operator', T.write,         'write',   'user_data',    true,  'append a record to the data space'),
  op('canon.append_system', 'root',     T.admin,         'admin',   'canon_system', true,  'append a record to the system space'),
  op('canon.get',           'observer', T.read,          'read',    'audit',        false, 'read one record, decrypted, with its verification'),
  op('canon.list',          'observer', T.read,          'read',    'audit',        false, 'list records (decrypted), page by page'),
  op('canon.verify',        'observer', T.read,          'read',    'audit',        false, 'verify the whole log'),
  op('canon.proof',         'observer', T.read,          'read',    'audit',        false, 'RFC 6962 inclusion and consistency proofs'),
  op('canon.checkpoint',    'observer', T.read,          'read',    'audit',        false, 'sign a checkpoint (remembered in the checkpoint history; appends no record)'),
  // Operator and the write threshold although it only reads: it reveals every payload in plaintext at once.
  op('canon.export',        'operator', T.write,         'read',    'canon_system', false, 'export the whole log, in plaintext'),
  // Like dataset.import: bulk writes of foreign data. (The protocol's sigil/canon.findLegacy also runs under it.)
  op('canon.migrate',       'mentor',   T.write,         'write',   'user_data',    true,  'import records from a legacy log'),
  // Licences.
  op('license.whoami',      'guest',    T.introspection, 'read',    'config',       false, 'who the caller is: subject, role, LOA (anonymous callers too)'),
  op('license.validate',    'observer', T.read,          'read',    'config',       false, 'check a licence and the LOA it grants'),
  op('license.list',        'observer', T.read,          'read',    'config',       false, 'list licences'),
  op('license.issue',       'root',     T.admin,         'admin',   'config',       true,  'issue a licence'),
  op('license.revoke',      'root',     T.admin,         'admin',   'config',       true,  'revoke a licence'),
  // Mentor, but the admin threshold: delegation grants authority to someone else.
  op('license.delegate',    'mentor',   T.admin,         'write',   'config',       true,  "delegate a licence at or below one's own LOA"),
  // Policy and trust. Introspection is open to guests and never gated on trust.
  op('policy.show',         'guest',    T.introspection, 'read',    'config',       false, 'the effective policy table'),
  op('trust.score',         'guest',    T.introspection, 'read',    'audit',        false, 'a trust score (the trust check)'),
  op('trust.explain',       'guest',    T.introspection, 'read',    'audit',        false, "each feature's contribution to a score"),
  op('trust.status',        'guest',    T.introspection, 'read',    'audit',        false, 'trust model parameters and a subject history'),
  op('trust.feedback',      'operator', T.write,         'write',   'audit',        true,  'accept or reject what a subject did (updates its history and the model)'),
  // Memory, retrieval, datasets, modules.
  op('memory.list',         'observer', T.read,          'read',    'user_data',    false, 'list memory entries'),
  op('memory.get',          'observer', T.read,          'read',    'user_data',    false, 'read a memory entry and its history'),
  op('memory.search',       'observer', T.read,          'read',    'user_data',    false, 'search memory entries'),
  op('memory.write',        'mentor',   T.write,         'write',   'user_data',    true,  'write a memory entry'),
  op('memory.forget',       'mentor',   T.write,         'write',   'user_data',    true,  'forget a memory entry (tombstone + key shredding)'),
  op('rag.query',           'observer', T.read,          'read',    'user_data',    false, 'query the retrieval index'),
  op('rag.stats',           'observer', T.read,          'read',    'user_data',    false, 'documents, chunks and the state of the retrieval index'),
  op('rag.upsert',          'mentor',   T.write,         'write',   'user_data',    true,  'add or replace documents in the retrieval index'),
  op('rag.remove',          'mentor',   T.write,         'write',   'user_data',    true,  'remove documents from the retrieval index'),
  op('rag.rebuild',         'root',     T.admin,         'admin',   'user_data',    true,  'rebuild the retrieval indexes from the canon'),
  op('dataset.import',      'mentor',   T.write,         'write',   'user_data',    true,  'import a dataset'),
  op('module.run',          'operator', T.execute,       'execute', 'module',       true,  'run a module'),
  op('module.list',         'guest',    T.introspection, 'read',    'module',       false, 'list the built-in modules and their manifests'),
  // Governance and keys.
  op('system.show',         'observer', T.read,          'read',    'canon_system', false, 'list witnesses and proposals, with what a commit would need'),
  op('system.propose',      'root',     T.admin,         'admin',   'canon_system', true,  'propose a system change, or attach a witness signature to one'),
  op('system.commit',       'root',     T.admin,         'admin',   'canon_system', true,  'commit a system proposal'),
  op('key.manage',          'root',     T.admin,         'admin',   'canon_system', true,  'create, rotate or retire keys'),
] as const;

/** Every operation name, in table order. */
export type OperationName = (typeof ENTRIES)[number]['operation'];
export const OPERATIONS: readonly OperationName[] = Object.freeze(ENTRIES.map((e) => e.operation));

/** A policy table: one {@link OperationPolicy} per operation. */
export type PolicyTable = Readonly<Record<OperationName, OperationPolicy>>;

/** The built-in defaults. */
export const POLICY_TABLE: PolicyTable = Object.freeze(
  Object.fromEntries(ENTRIES.map((e) => [e.operation, e])) as Record<OperationName, OperationPolicy>,
);

export function isOperationName(s: unknown): s is OperationName {
  return typeof s === 'string' && Object.hasOwn(POLICY_TABLE, s);
}

/** The operation that sigil/canon.append runs for a space: system-space appends need root. */
export function appendOperation(space: 'data' | 'system'): 'canon.append' | 'canon.append_system' {
  return space === 'system' ? 'canon.append_system' : 'canon.append';
}

function unknownOperation(name: string): SigilError {
  const near = suggest(name, OPERATIONS);
  return new SigilError(
    'BAD_INPUT',
    `unknown operation ${JSON.stringify(name)}${near !== undefined ? ` (did you mean ${near}?)` : ''}`,
    { operation: name, ...(near !== undefined ? { suggestion: near } : {}) },
  );
}

/** The policy of an operation; BAD_INPUT (with a suggestion) for an unknown name. */
export function requirementFor(operation: string, table: PolicyTable = POLICY_TABLE): OperationPolicy {
  if (!isOperationName(operation)) throw unknownOperation(operation);
  return table[operation];
}

// ---------------------------------------------------------------------------------------------------------
// Overrides.

/** The dotted key of a policy field as in ResolvedConfig.origins: `policies."canon.append".loa`. */
export function policyConfigKey(operation: string, field: 'loa' | 'trust_threshold'): string {
  return `policies.${JSON.stringify(operation)}.${field}`;
}

/** Where override values came from: one source, or a lookup by dotted key (e.g. `(k) => origins[k]`). */
export type PolicySource = ConfigSource | ((key: string) => ConfigSource | undefined);

const UNNAMED_SOURCE: ConfigSource = Object.freeze({ kind: 'file', name: 'the configuration' });

interface PolicyProblem {
  readonly key: string;
  readonly operation: string;
  readonly source: ConfigSource;
  readonly message: string;
}

function throwPolicyProblems(problems: readonly PolicyProblem[]): never {
  const first = problems[0];
  const message =
    problems.length === 1 && first !== undefined
      ? first.message
      : `${problems.length} configuration problems:\n${problems.map((p) => `  - ${p.message}`).join('\n')}`;
  throw new SigilError('CONFIG_INVALID', message, {
    problems: problems.map((p) => ({
      key: p.key,
      operation: p.operation,
      source: p.source,
      message: p.message,
    })),
  });
}

/** `[policies]` as resolved by mergeConfig (`config.policies`), or the rules of a committed system proposal. */
export type PolicyOverrides = Readonly<Record<string, Readonly<PolicyRule> | undefined>>;

function applyRules(
  table: PolicyTable,
  rules: PolicyOverrides,
  source: PolicySource,
  mode: 'stricter' | 'any',
): PolicyTable {
  const sourceOf = (key: string): ConfigSource =>
    (typeof source === 'function' ? source(key) : source) ?? UNNAMED_SOURCE;
  const problems: PolicyProblem[] = [];
  const next: Record<string, OperationPolicy> = { ...table };

  for (const [operation, rule] of Object.entries(rules)) {
    if (rule === undefined) continue;
    const opKey = `policies.${JSON.stringify(operation)}`;
    const fail = (key: string, message: string, value?: unknown): void => {
      const src = sourceOf(key);
      const shown = value === undefined ? '' : ` = ${JSON.stringify(value) ?? String(value)}`;
      problems.push({ key, operation, source: src, message: `${key}${shown} in ${src.name}: ${message}` });
    };
    if (!isOperationName(operation)) {
      const near = suggest(operation, OPERATIONS);
      fail(
        opKey,
        near !== undefined
          ? `unknown operation (did you mean "${near}"?)`
          : `unknown operation; operations are ${OPERATIONS.join(', ')}`,
      );
      continue;
    }
    const current = table[operation];
    if (current.bootstrap) {
      fail(
        opKey,
        `${operation} is the bootstrap operation (allowed only where no store exists, before any licence); ` +
          'its policy cannot be changed',
      );
      continue;
    }
    let loa = current.loa;
    let trustThreshold = current.trustThreshold;
    const changedBy: { loa?: ConfigSource; trustThreshold?: ConfigSource } = { ...current.changedBy };

    if (rule.loa !== undefined) {
      const key = policyConfigKey(operation, 'loa');
      if (!isLoaLevel(rule.loa)) {
        fail(key, `must be one of ${LOA_LEVELS.map((l) => JSON.stringify(l)).join(', ')}`, rule.loa);
      } else if (mode === 'stricter' && LOA[rule.loa] < LOA[current.loa]) {
        fail(
          key,
          `would lower ${operation} from LOA ${formatLoa(current.loa)} to ` +
            `${formatLoa(rule.loa)}; [policies] may only make an operation stricter — loosening it must go ` +
            'through a system proposal (system.propose, then system.commit)',
          rule.loa,
        );
      } else {
        if (rule.loa !== current.loa) changedBy.loa = sourceOf(key);
        loa = rule.loa;
      }
    }
    if (rule.trust_threshold !== undefined) {
      const key = policyConfigKey(operation, 'trust_threshold');
      const t = rule.trust_threshold;
      if (typeof t !== 'number' || !Number.isFinite(t) || t < 0 || t > 1) {
        fail(key, 'must be a number from 0 to 1', t);
      } else if (mode === 'stricter' && t < current.trustThreshold) {
        fail(
          key,
          `would lower the trust threshold of ${operation} from ${current.trustThreshold} to ${t}; ` +
            '[policies] may only make an operation stricter — loosening it must go through a system proposal ' +
            '(system.propose, then system.commit)',
          t,
        );
      } else {
        if (t !== current.trustThreshold) changedBy.trustThreshold = sourceOf(key);
        trustThreshold = t;
      }
    }
    const changed = Object.keys(changedBy).length > 0;
    next[operation] = Object.freeze({
      ...current,
      loa,
      trustThreshold,
      ...(changed ? { changedBy: Object.freeze(changedBy) } : {}),
    });
  }
  if (problems.length > 0) throwPolicyProblems(problems);
  return Object.freeze(next) as PolicyTable;
}

/**
 * The policy in force: `table` with the `[policies]` overrides of the resolved configuration applied.
 * Overrides may only make an operation stricter (raise `loa`, raise `trust_threshold`; equal is fine). A
 * lowering override, an unknown operation (with a "did you mean"), an override of the bootstrap operation or
 * an out-of-range value throws SigilError('CONFIG_INVALID') naming the key (`policies."canon.append".loa`),
 * its source and the operation; all problems are reported together in `details.problems`
 * ({ key, operation, source, message }), like mergeConfig.
 *
 * `source` names where the overrides came from: one ConfigSource, or a lookup such as `(k) => origins[k]`
 * over ResolvedConfig.origins (keys as {@link policyConfigKey}).
 */
export function effectivePolicy(
  table: PolicyTable,
  overrides: PolicyOverrides | undefined,
  source: PolicySource = UNNAMED_SOURCE,
): PolicyTable {
  return applyRules(table, overrides ?? {}, source, 'stricter');
}

/**
 * Applies policy changes from a COMMITTED system proposal: unlike {@link effectivePolicy}, these may loosen
 * an operation. Call it only with the rules of a system.commit record whose signatures the caller has
 * verified; then apply the configuration's overrides on top with effectivePolicy. Unknown operations,
 * out-of-range values and the bootstrap operation are still refused (CONFIG_INVALID).
 */
export function applyCommittedPolicy(
  table: PolicyTable,
  rules: PolicyOverrides,
  source: ConfigSource,
): PolicyTable {
  return applyRules(table, rules, source, 'any');
}

// ---------------------------------------------------------------------------------------------------------
// Decisions.

/** loa, trust, bootstrap: the table said no; rule: the operation itself refused after the gate let it in. */
export type DenialCause = 'loa' | 'trust' | 'bootstrap' | 'rule';

export interface Decision {
  readonly allowed: boolean;
  /** Denied: the words for exit 4 (see {@link describeDenial}). Allowed: what was checked. */
  readonly reason: string;
  /** Why it was denied; absent when allowed. */
  readonly cause?: DenialCause;
  readonly operation: OperationName;
  readonly required: { readonly loa: LoaLevel; readonly trustThreshold: number };
}

export interface DecideOptions {
  /** The policy in force (default: the built-in table). Pass the result of {@link effectivePolicy}. */
  readonly table?: PolicyTable;
  /** Whether a store exists; bootstrap operations (store.init) are allowed only with `false`. */
  readonly storeExists?: boolean;
}

/** "0.31": the score rounded DOWN, with as many digits as it takes to show it below the threshold. */
function formatScore(score: number, threshold: number): string {
  for (let digits = 2; digits <= 6; digits++) {
    // (+1e-9: 0.29 * 100 is 28.999999999999996 in binary floating point.)
    const shown = Math.floor(score * 10 ** digits + 1e-9) / 10 ** digits;
    if (shown < threshold) return shown.toFixed(digits);
  }
  return String(score);
}

/**
 * Whether a caller at `callerLoa` with trust `score` may perform `operation`: the LOA first, then the score
 * (score ≥ threshold). A threshold of 0 never denies, so `score` may then be omitted; with a threshold above
 * 0, a missing or non-finite score denies (fail closed). Unknown operations throw BAD_INPUT.
 */
export function decide(
  operation: string,
  callerLoa: LoaLevel | number,
  score?: number,
  opts: DecideOptions = {},
): Decision {
  const policy = requirementFor(operation, opts.table);
  const name = policy.operation;
  const required = { loa: policy.loa, trustThreshold: policy.trustThreshold };
  const deny = (cause: DenialCause, reason: string): Decision => ({
    allowed: false,
    reason,
    cause,
    operation: name,
    required,
  });

  if (policy.bootstrap && opts.storeExists !== false) {
    return deny(
      'bootstrap',
      opts.storeExists === true
        ? `${name} is allowed only where no store exists, and this home already has one`
        : `${name} is allowed only where no store exists (the caller did not say whether one does)`,
    );
  }
  const rank = loaRank(callerLoa);
  if (rank < LOA[policy.loa]) {
    return deny('loa', `${name} needs LOA ${formatLoa(policy.loa)}; you have ${formatLoa(rank)}`);
  }
  const threshold = policy.trustThreshold;
  if (threshold > 0) {
    if (score === undefined || !Number.isFinite(score)) {
      return deny(
        'trust',
        `${name} needs a trust score of at least ${threshold}, and none could be computed`,
      );
    }
    if (score < threshold) {
      return deny(
        'trust',
        `trust score ${formatScore(score, threshold)} is below the threshold ${threshold} for ${name}`,
      );
    }
  }
  return {
    allowed: true,
    reason:
      `${name}: LOA ${formatLoa(rank)} meets ${formatLoa(policy.loa)}` +
      (threshold > 0 && score !== undefined ? `; trust score ${score.toFixed(2)} meets ${threshold}` : ''),
    operation: name,
    required,
  };
}

/**
 * The words for exit 4 when the caller is denied, e.g. "canon.append needs LOA operator (2); you have
 * observer (1)" or "trust score 0.31 is below the threshold 0.35 for canon.append"; undefined when the
 * caller is allowed. Without a score only the LOA is judged.
 */
export function describeDenial(
  operation: string,
  caller: LoaLevel | number,
  score?: number,
  opts: DecideOptions = {},
): string | undefined {
  // Without a score, 1 passes every threshold (0..1): only the LOA (and the bootstrap rule) is judged.
  const d = decide(operation, caller, score ?? 1, opts);
  return d.allowed ? undefined : d.reason;
}

/** SigilError('ACCESS_DENIED') (exit 4) for a denial; details carry operation, cause and the requirement. */
export function denialError(d: Decision): SigilError {
  return new SigilError('ACCESS_DENIED', d.reason, {
    operation: d.operation,
    ...(d.cause !== undefined ? { cause: d.cause } : {}),
    required: { loa: d.required.loa, trust_threshold: d.required.trustThreshold },
  });
}

/** {@link decide}, throwing {@link denialError} when denied. */
export function assertAllowed(
  operation: string,
  callerLoa: LoaLevel | number,
  score?: number,
  opts: DecideOptions = {},
): Decision {
  const d = decide(operation, callerLoa, score, opts);
  if (!d.allowed) throw denialError(d);
  return d;
}
