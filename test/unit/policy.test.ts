import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  ACTION_CLASSES,
  DEFAULT_THRESHOLDS,
  LOA,
  LOA_LEVELS,
  OPERATIONS,
  POLICY_TABLE,
  SENSITIVITIES,
  appendOperation,
  applyCommittedPolicy,
  assertAllowed,
  decide,
  describeDenial,
  denialError,
  effectivePolicy,
  formatLoa,
  isOperationName,
  loaLevel,
  loaRank,
  policyConfigKey,
  requirementFor,
  type LoaLevel,
  type OperationName,
  type PolicyTable,
} from '../../shared/src/policy.js';
import {
  DEFAULT_RATE_LIMIT,
  DEFAULT_TRUST_PARAMS,
  featuresFor,
  recordOutcome,
  score,
} from '../../shared/src/trust.js';
import { OPERATION_NAME_PATTERN, mergeConfig, type ConfigSource } from '../../shared/src/config-schema.js';
import { REQUESTS, type RequestMethod } from '../../shared/src/protocol.js';
import { SigilError } from '../../shared/src/errors.js';

const FILE: ConfigSource = { kind: 'file', name: '/home/me/.sigil/sigil.toml' };

/** Runs `fn`, asserts it throws a SigilError with `code` whose message matches every pattern; returns it. */
function throwsSigil(fn: () => unknown, code: string, ...patterns: RegExp[]): SigilError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.equal(caught instanceof SigilError, true, `expected a SigilError, got ${String(caught)}`);
  const e = caught as SigilError;
  assert.equal(e.code, code, e.message);
  for (const p of patterns) assert.match(e.message, p);
  return e;
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\"]/g, '\\$&');

// ---------------------------------------------------------------------------------------------------------

describe('the policy table', () => {
  /** The defaults (issue 4), plus the canon and store operations that exist today. */
  const EXPECTED_LOA: Record<OperationName, LoaLevel> = {
    'store.info': 'guest',
    'store.init': 'guest',
    'canon.append': 'operator',
    'canon.append_system': 'root',
    'canon.get': 'observer',
    'canon.list': 'observer',
    'canon.verify': 'observer',
    'canon.proof': 'observer',
    'canon.checkpoint': 'observer',
    'canon.export': 'operator',
    'canon.migrate': 'mentor',
    'license.whoami': 'guest',
    'license.validate': 'observer',
    'license.list': 'observer',
    'license.issue': 'root',
    'license.revoke': 'root',
    'license.delegate': 'mentor',
    'policy.show': 'guest',
    'trust.score': 'guest',
    'trust.explain': 'guest',
    'trust.status': 'guest',
    'trust.feedback': 'operator',
    'memory.list': 'observer',
    'memory.get': 'observer',
    'memory.search': 'observer',
    'memory.write': 'mentor',
    'memory.forget': 'mentor',
    'rag.query': 'observer',
    'rag.stats': 'observer',
    'rag.upsert': 'mentor',
    'rag.remove': 'mentor',
    'rag.rebuild': 'root',
    'dataset.import': 'mentor',
    'module.run': 'operator',
    'module.list': 'guest',
    'system.show': 'observer',
    'system.propose': 'root',
    'system.commit': 'root',
    'key.manage': 'root',
  };

  test('holds exactly the expected operations, each at its default LOA', () => {
    assert.deepEqual([...OPERATIONS].sort(), Object.keys(EXPECTED_LOA).sort());
    for (const op of OPERATIONS) assert.equal(POLICY_TABLE[op].loa, EXPECTED_LOA[op], op);
  });

  test('every entry is well formed', () => {
    for (const op of OPERATIONS) {
      const p = POLICY_TABLE[op];
      assert.equal(p.operation, op);
      assert.match(op, OPERATION_NAME_PATTERN, `${op} must be usable as a [policies] key`);
      assert.equal(LOA_LEVELS.includes(p.loa), true, `${op}: loa`);
      assert.equal(p.trustThreshold >= 0 && p.trustThreshold <= 1, true, `${op}: threshold in [0,1]`);
      assert.equal(ACTION_CLASSES.includes(p.action), true, `${op}: action`);
      assert.equal(SENSITIVITIES.includes(p.sensitivity), true, `${op}: sensitivity`);
      assert.equal(typeof p.writes, 'boolean', `${op}: writes`);
      assert.notEqual(p.description, '', `${op}: description`);
      assert.equal(Object.isFrozen(p), true, `${op}: frozen`);
      // Reads never write; anything above read that is not the bootstrap does.
      if (p.action !== 'read') assert.equal(p.writes, true, `${op}: a ${p.action} operation writes`);
    }
    assert.equal(Object.isFrozen(POLICY_TABLE), true, 'the table is frozen');
  });

  test('thresholds follow the action class (with the documented exceptions)', () => {
    const exceptions: Partial<Record<OperationName, number>> = {
      'canon.export': DEFAULT_THRESHOLDS.write, // bulk plaintext disclosure
      'license.delegate': DEFAULT_THRESHOLDS.admin, // grants authority
    };
    for (const op of OPERATIONS) {
      const p = POLICY_TABLE[op];
      const expected =
        exceptions[op] ??
        (p.loa === 'guest' ? DEFAULT_THRESHOLDS.introspection : DEFAULT_THRESHOLDS[p.action]);
      assert.equal(p.trustThreshold, expected, op);
    }
  });

  test('only store.init is a bootstrap operation', () => {
    assert.deepEqual(
      OPERATIONS.filter((op) => POLICY_TABLE[op].bootstrap === true),
      ['store.init'],
    );
  });

  test('every protocol method names an operation of the table', () => {
    for (const method of Object.keys(REQUESTS) as RequestMethod[]) {
      const op = REQUESTS[method].operation;
      assert.equal(isOperationName(op), true, `${method} runs ${op}, which is not in POLICY_TABLE`);
    }
  });

  test('system-space appends are their own operation, needing root', () => {
    assert.equal(appendOperation('data'), 'canon.append');
    assert.equal(appendOperation('system'), 'canon.append_system');
    assert.equal(requirementFor(appendOperation('system')).loa, 'root');
  });

  test('LOA ranks', () => {
    assert.deepEqual(
      LOA_LEVELS.map((l) => LOA[l]),
      [0, 1, 2, 3, 4],
    );
    for (const l of LOA_LEVELS) {
      assert.equal(loaLevel(loaRank(l)), l);
      assert.equal(loaRank(LOA[l]), LOA[l]);
    }
    assert.equal(formatLoa('operator'), 'operator (2)');
    assert.equal(formatLoa(1), 'observer (1)');
    throwsSigil(() => loaRank(5), 'BAD_INPUT', /from 0 \(guest\) to 4 \(root\)/);
    throwsSigil(() => loaRank(1.5), 'BAD_INPUT');
    throwsSigil(() => loaRank('admin' as LoaLevel), 'BAD_INPUT', /unknown LOA "admin"/);
  });

  test('requirementFor names unknown operations with a suggestion', () => {
    assert.equal(requirementFor('canon.append'), POLICY_TABLE['canon.append']);
    const e = throwsSigil(
      () => requirementFor('canon.apend'),
      'BAD_INPUT',
      /unknown operation "canon\.apend" \(did you mean canon\.append\?\)/,
    );
    assert.equal(e.details?.suggestion, 'canon.append');
    throwsSigil(() => requirementFor('nothing.like.it'), 'BAD_INPUT', /unknown operation/);
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('decide', () => {
  const ctx = { storeExists: false } as const;

  for (const op of OPERATIONS) {
    const p = POLICY_TABLE[op];
    test(`${op}: below ${p.loa} denied, at or above allowed`, () => {
      for (const level of LOA_LEVELS) {
        const d = decide(op, level, 1, p.bootstrap ? ctx : {});
        if (LOA[level] < LOA[p.loa]) {
          assert.equal(d.allowed, false, `${level} must be denied ${op}`);
          assert.equal(d.cause, 'loa');
          assert.equal(d.reason, `${op} needs LOA ${formatLoa(p.loa)}; you have ${formatLoa(level)}`);
        } else {
          assert.equal(d.allowed, true, `${level} must be allowed ${op}: ${d.reason}`);
          assert.equal(d.cause, undefined);
        }
        assert.equal(d.operation, op);
        assert.deepEqual(d.required, { loa: p.loa, trustThreshold: p.trustThreshold });
        // Ranks work as well as names.
        assert.equal(decide(op, LOA[level], 1, p.bootstrap ? ctx : {}).allowed, d.allowed);
      }
    });

    test(`${op}: trust threshold ${p.trustThreshold}`, () => {
      const opts = p.bootstrap ? ctx : {};
      const t = p.trustThreshold;
      assert.equal(decide(op, p.loa, t, opts).allowed, true, 'the threshold itself passes');
      if (t === 0) {
        assert.equal(decide(op, p.loa, 0, opts).allowed, true, 'a 0 threshold never denies');
        assert.equal(decide(op, p.loa, undefined, opts).allowed, true, 'a 0 threshold needs no score');
      } else {
        const below = decide(op, 'root', t - 0.01, opts);
        assert.equal(below.allowed, false, 'just below the threshold is denied, even for root');
        assert.equal(below.cause, 'trust');
        const none = decide(op, 'root', undefined, opts);
        assert.equal(none.allowed, false, 'no score fails closed');
        assert.match(none.reason, /none could be computed/);
        assert.equal(decide(op, 'root', Number.NaN, opts).allowed, false, 'NaN fails closed');
      }
    });
  }

  test('the LOA is judged before the score', () => {
    const d = decide('canon.append', 'observer', 0);
    assert.equal(d.cause, 'loa');
  });

  test('store.init is allowed only where no store exists', () => {
    assert.equal(decide('store.init', 'guest', undefined, { storeExists: false }).allowed, true);
    const exists = decide('store.init', 'root', 1, { storeExists: true });
    assert.equal(exists.allowed, false);
    assert.equal(exists.cause, 'bootstrap');
    assert.match(exists.reason, /only where no store exists, and this home already has one/);
    const unknown = decide('store.init', 'root', 1);
    assert.equal(unknown.allowed, false, 'not saying whether a store exists fails closed');
    assert.equal(unknown.cause, 'bootstrap');
  });

  test('unknown operations throw', () => {
    throwsSigil(() => decide('canon.appendd', 'root', 1), 'BAD_INPUT', /did you mean canon\.append/);
  });

  test('describeDenial gives the words for exit 4', () => {
    assert.equal(
      describeDenial('canon.append', 'observer'),
      'canon.append needs LOA operator (2); you have observer (1)',
    );
    assert.equal(
      describeDenial('canon.append', 'operator', 0.31),
      'trust score 0.31 is below the threshold 0.35 for canon.append',
    );
    assert.equal(
      describeDenial('canon.append', 1, 0.9),
      'canon.append needs LOA operator (2); you have observer (1)',
    );
    // Rounded down, so a score just below the threshold never reads as equal to it.
    assert.equal(
      describeDenial('canon.append', 'operator', 0.3499),
      'trust score 0.34 is below the threshold 0.35 for canon.append',
    );
    assert.match(
      describeDenial('canon.append', 'operator', 0.34999999999999) ?? '',
      /^trust score 0\.349\d* is below the threshold 0\.35 for canon\.append$/,
    );
    assert.equal(
      describeDenial('canon.get', 'observer', 0.1),
      'trust score 0.10 is below the threshold 0.2 for canon.get',
    );
    assert.equal(
      describeDenial('system.commit', 'root', 0.29),
      'trust score 0.29 is below the threshold 0.5 for system.commit',
    );
    assert.equal(describeDenial('canon.append', 'operator', 0.35), undefined);
    assert.equal(describeDenial('canon.append', 'root'), undefined, 'without a score only the LOA counts');
    assert.equal(describeDenial('trust.status', 'guest', 0), undefined);
  });

  test('denials become ACCESS_DENIED (exit 4)', () => {
    const d = decide('license.issue', 'mentor', 0.99);
    const e = denialError(d);
    assert.equal(e.code, 'ACCESS_DENIED');
    assert.equal(e.exitCode, 4);
    assert.equal(e.message, 'license.issue needs LOA root (4); you have mentor (3)');
    assert.deepEqual(e.details, {
      operation: 'license.issue',
      cause: 'loa',
      required: { loa: 'root', trust_threshold: 0.5 },
    });
    throwsSigil(
      () => assertAllowed('canon.append', 'operator', 0.2),
      'ACCESS_DENIED',
      /^trust score 0\.20 is below the threshold 0\.35 for canon\.append$/,
    );
    assert.equal(assertAllowed('canon.append', 'operator', 0.5).allowed, true);
  });

  test('decide uses the table it is given', () => {
    const strict = effectivePolicy(POLICY_TABLE, { 'canon.get': { loa: 'operator' } }, FILE);
    assert.equal(decide('canon.get', 'observer', 1).allowed, true);
    assert.equal(decide('canon.get', 'observer', 1, { table: strict }).allowed, false);
    assert.equal(
      describeDenial('canon.get', 'observer', 1, { table: strict }),
      'canon.get needs LOA operator (2); you have observer (1)',
    );
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('effectivePolicy', () => {
  test('no overrides: the table itself (values equal)', () => {
    assert.deepEqual(effectivePolicy(POLICY_TABLE, {}, FILE), POLICY_TABLE);
    assert.deepEqual(effectivePolicy(POLICY_TABLE, undefined), POLICY_TABLE);
  });

  test('stricter overrides apply and record their source', () => {
    const t = effectivePolicy(
      POLICY_TABLE,
      {
        'canon.append': { loa: 'mentor', trust_threshold: 0.6 },
        'canon.list': { trust_threshold: 0.2 }, // equal: fine, not a change
        'memory.write': { loa: 'mentor' }, // equal
      },
      FILE,
    );
    assert.equal(t['canon.append'].loa, 'mentor');
    assert.equal(t['canon.append'].trustThreshold, 0.6);
    assert.deepEqual(t['canon.append'].changedBy, { loa: FILE, trustThreshold: FILE });
    assert.equal(t['canon.list'].changedBy, undefined);
    assert.equal(t['memory.write'].changedBy, undefined);
    // Everything else, and the input table, unchanged.
    assert.equal(POLICY_TABLE['canon.append'].loa, 'operator');
    assert.equal(t['canon.get'], POLICY_TABLE['canon.get']);
    assert.equal(Object.isFrozen(t), true);
    assert.equal(Object.isFrozen(t['canon.append']), true);
  });

  test('a lower LOA is refused: names the operation, the key and the system proposal', () => {
    const e = throwsSigil(
      () => effectivePolicy(POLICY_TABLE, { 'canon.append': { loa: 'observer' } }, FILE),
      'CONFIG_INVALID',
      new RegExp(`^${escape('policies."canon.append".loa = "observer" in /home/me/.sigil/sigil.toml: ')}`),
      /would lower canon\.append from LOA operator \(2\) to observer \(1\)/,
      /may only make an operation stricter/,
      /system proposal/,
    );
    assert.deepEqual(e.details?.problems, [
      { key: 'policies."canon.append".loa', operation: 'canon.append', source: FILE, message: e.message },
    ]);
  });

  test('a lower trust threshold is refused', () => {
    throwsSigil(
      () => effectivePolicy(POLICY_TABLE, { 'system.commit': { trust_threshold: 0.1 } }, FILE),
      'CONFIG_INVALID',
      /^policies\."system\.commit"\.trust_threshold = 0\.1 in .*sigil\.toml: /,
      /would lower the trust threshold of system\.commit from 0\.5 to 0\.1/,
      /system proposal/,
    );
  });

  test('unknown operations are refused with a suggestion', () => {
    throwsSigil(
      () => effectivePolicy(POLICY_TABLE, { 'canon.apend': { loa: 'root' } }, FILE),
      'CONFIG_INVALID',
      /policies\."canon\.apend" in .*: unknown operation \(did you mean "canon\.append"\?\)/,
    );
    throwsSigil(
      () => effectivePolicy(POLICY_TABLE, { 'quantum.flux': { loa: 'root' } }, FILE),
      'CONFIG_INVALID',
      /unknown operation; operations are store\.info, store\.init, /,
    );
  });

  test('the bootstrap operation cannot be overridden', () => {
    throwsSigil(
      () => effectivePolicy(POLICY_TABLE, { 'store.init': { loa: 'root' } }, FILE),
      'CONFIG_INVALID',
      /store\.init is the bootstrap operation/,
    );
  });

  test('out-of-range values are refused', () => {
    throwsSigil(
      () => effectivePolicy(POLICY_TABLE, { 'canon.append': { trust_threshold: 1.5 } }, FILE),
      'CONFIG_INVALID',
      /must be a number from 0 to 1/,
    );
    throwsSigil(
      () => effectivePolicy(POLICY_TABLE, { 'canon.append': { loa: 'admin' as LoaLevel } }, FILE),
      'CONFIG_INVALID',
      /must be one of "guest"/,
    );
  });

  test('all problems are reported together', () => {
    const e = throwsSigil(
      () =>
        effectivePolicy(
          POLICY_TABLE,
          {
            'canon.append': { loa: 'guest', trust_threshold: 0 },
            'canon.apend': { loa: 'root' },
            'canon.get': { loa: 'root' },
          },
          FILE,
        ),
      'CONFIG_INVALID',
      /^3 configuration problems:\n {2}- /,
    );
    assert.equal((e.details?.problems as unknown[]).length, 3);
  });

  test('sources come from the resolved configuration (mergeConfig origins)', () => {
    const { config, origins } = mergeConfig([
      { source: FILE, values: { policies: { 'canon.append': { trust_threshold: 0.5 } } } },
      {
        source: { kind: 'env', name: 'environment' },
        values: { policies: { 'canon.append': { loa: 'observer' } } },
      },
    ]);
    throwsSigil(
      () => effectivePolicy(POLICY_TABLE, config.policies, (k) => origins[k]),
      'CONFIG_INVALID',
      /^policies\."canon\.append"\.loa = "observer" in SIGIL_POLICIES: would lower/,
    );
    const ok = mergeConfig([
      { source: FILE, values: { policies: { 'canon.append': { trust_threshold: 0.5 } } } },
    ]);
    const t = effectivePolicy(POLICY_TABLE, ok.config.policies, (k) => ok.origins[k]);
    assert.equal(t['canon.append'].trustThreshold, 0.5);
    assert.deepEqual(t['canon.append'].changedBy, { trustThreshold: FILE });
    assert.equal(policyConfigKey('canon.append', 'loa') in ok.origins, false);
    assert.equal(policyConfigKey('canon.append', 'trust_threshold') in ok.origins, true);
  });

  test('a committed system proposal may loosen; the configuration then only tightens that', () => {
    const proposal: ConfigSource = { kind: 'defaults', name: 'system proposal #7' };
    const committed = applyCommittedPolicy(
      POLICY_TABLE,
      { 'canon.append': { loa: 'observer', trust_threshold: 0.3 } },
      proposal,
    );
    assert.equal(committed['canon.append'].loa, 'observer');
    assert.deepEqual(committed['canon.append'].changedBy, { loa: proposal, trustThreshold: proposal });
    assert.equal(decide('canon.append', 'observer', 0.31, { table: committed }).allowed, true);
    // Back to the default through the configuration: stricter than the committed table, so fine.
    const t = effectivePolicy(committed, { 'canon.append': { loa: 'operator' } }, FILE);
    assert.equal(t['canon.append'].loa, 'operator');
    assert.deepEqual(t['canon.append'].changedBy, { loa: FILE, trustThreshold: proposal });
    throwsSigil(
      () => effectivePolicy(committed, { 'canon.append': { loa: 'guest' } }, FILE),
      'CONFIG_INVALID',
      /system proposal/,
    );
    throwsSigil(
      () => applyCommittedPolicy(POLICY_TABLE, { 'store.init': { loa: 'root' } }, proposal),
      'CONFIG_INVALID',
      /bootstrap/,
    );
  });

  const gated = OPERATIONS.filter((op) => POLICY_TABLE[op].bootstrap !== true);
  const overridesArb = fc.dictionary(
    fc.constantFrom(...gated),
    fc.record(
      {
        loa: fc.constantFrom(...LOA_LEVELS),
        trust_threshold: fc.double({ min: 0, max: 1, noNaN: true }),
      },
      { requiredKeys: [] },
    ),
    { maxKeys: 8 },
  );

  test('property: an override set applies iff nothing is lowered, and never allows more', () => {
    fc.assert(
      fc.property(
        overridesArb,
        fc.constantFrom(...gated),
        fc.constantFrom(...LOA_LEVELS),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (overrides, op, caller, s) => {
          const lowers = Object.entries(overrides).some(([name, rule]) => {
            const p = POLICY_TABLE[name as OperationName];
            return (
              (rule.loa !== undefined && LOA[rule.loa] < LOA[p.loa]) ||
              (rule.trust_threshold !== undefined && rule.trust_threshold < p.trustThreshold)
            );
          });
          let table: PolicyTable | undefined;
          try {
            table = effectivePolicy(POLICY_TABLE, overrides, FILE);
          } catch (e) {
            assert.equal(e instanceof SigilError && e.code === 'CONFIG_INVALID', true, String(e));
          }
          assert.equal(table === undefined, lowers, 'refused exactly when something is lowered');
          if (table === undefined) return;
          for (const name of OPERATIONS) {
            assert.equal(LOA[table[name].loa] >= LOA[POLICY_TABLE[name].loa], true, `${name}: loa`);
            assert.equal(table[name].trustThreshold >= POLICY_TABLE[name].trustThreshold, true, name);
          }
          if (decide(op, caller, s, { table }).allowed) {
            assert.equal(decide(op, caller, s).allowed, true, 'a stricter table never allows more');
          }
        },
      ),
    );
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('the default policy and the default trust model together', () => {
  const P = DEFAULT_TRUST_PARAMS;
  const now = Date.UTC(2026, 0, 1);
  const trustScore = (op: OperationName, loa: LoaLevel, history: number, requests = 0): number =>
    score(P, {
      ...featuresFor(POLICY_TABLE[op], { loa, requestsInWindow: requests }, P, now),
      history,
    });

  for (const op of OPERATIONS) {
    const p = POLICY_TABLE[op];
    const opts = p.bootstrap ? { storeExists: false } : {};
    test(`${op}: a neutral newcomer at ${p.loa} is allowed; a bad record or a flood is not`, () => {
      const neutral = score(P, featuresFor(p, { loa: p.loa, requestsInWindow: 0 }, P, now));
      const d = decide(op, p.loa, neutral, opts);
      assert.equal(d.allowed, true, d.reason);
      if (p.trustThreshold > 0) {
        assert.equal(neutral >= p.trustThreshold + 0.1, true, `${op}: margin (${neutral})`);
        const bad = trustScore(op, p.loa, 0);
        assert.equal(decide(op, p.loa, bad, opts).allowed, false, `${op}: all-bad history scores ${bad}`);
        const flood = trustScore(op, p.loa, 0.5, DEFAULT_RATE_LIMIT.cap);
        assert.equal(decide(op, p.loa, flood, opts).allowed, false, `${op}: flooding scores ${flood}`);
      }
    });
  }

  test('root is refused admin operations after four straight rejections, and recovers', () => {
    let h = recordOutcome(undefined, 0, now, P.halfLifeMs);
    for (let i = 0; i < 2; i++) h = recordOutcome(h, 0, now, P.halfLifeMs);
    const subject = (history: typeof h, at: number) =>
      score(
        P,
        featuresFor(POLICY_TABLE['system.commit'], { loa: 'root', history, requestsInWindow: 0 }, P, at),
      );
    assert.equal(decide('system.commit', 'root', subject(h, now)).allowed, true, 'three rejections');
    h = recordOutcome(h, 0, now, P.halfLifeMs);
    const refused = decide('system.commit', 'root', subject(h, now));
    assert.equal(refused.allowed, false, 'four rejections');
    assert.match(refused.reason, /^trust score 0\.\d+ is below the threshold 0\.5 for system\.commit$/);
    assert.equal(
      decide('system.commit', 'root', subject(h, now + P.halfLifeMs)).allowed,
      true,
      'one half-life',
    );
  });
});
