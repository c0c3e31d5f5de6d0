import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  DEFAULT_RATE_LIMIT,
  DEFAULT_TRUST_PARAMS,
  FEATURES,
  WEIGHT_SIGNS,
  decay,
  decayParams,
  emptyHistory,
  explain,
  featuresFor,
  historyFeature,
  loaFeature,
  parseSubjectHistory,
  parseTrustParams,
  projectWeights,
  rateFeature,
  recordOutcome,
  requestsInWindow,
  riskFeature,
  score,
  sensitivityFeature,
  sgdStep,
  type FeatureName,
  type Outcome,
  type SubjectHistory,
  type TrustFeatures,
  type TrustParams,
} from '../../shared/src/trust.js';
import { ACTION_CLASSES, POLICY_TABLE, SENSITIVITIES } from '../../shared/src/policy.js';
import { SigilError } from '../../shared/src/errors.js';

const P = DEFAULT_TRUST_PARAMS;
const NOW = Date.UTC(2026, 0, 1);
const DAY = 24 * 60 * 60 * 1000;

function throwsSigil(fn: () => unknown, code: string, pattern?: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.equal(caught instanceof SigilError, true, `expected a SigilError, got ${String(caught)}`);
  assert.equal((caught as SigilError).code, code, (caught as SigilError).message);
  if (pattern) assert.match((caught as SigilError).message, pattern);
}

const near = (a: number, b: number, eps: number, what: string): void =>
  assert.equal(Math.abs(a - b) <= eps, true, `${what}: ${a} vs ${b} (ε ${eps})`);

const unit = fc.double({ min: 0, max: 1, noNaN: true });
const featuresArb: fc.Arbitrary<TrustFeatures> = fc.record({
  loa: unit,
  history: unit,
  risk: unit,
  sensitivity: unit,
  rate: unit,
});
const outcomeArb = fc.constantFrom<Outcome>(0, 1);
const updatesArb = fc.array(fc.tuple(featuresArb, outcomeArb), { maxLength: 150 });

/**
 * Parameters reachable by sgdStep from the defaults: the default weights, any learning rate and step bound
 * (large ones included, so that weights reach and cross zero), then a random sequence of updates.
 */
const reachableArb: fc.Arbitrary<TrustParams> = fc
  .tuple(
    fc.double({ min: 0.001, max: 20, noNaN: true }),
    fc.double({ min: 0.001, max: 3, noNaN: true }),
    updatesArb,
  )
  .map(([learningRate, maxStep, updates]) =>
    updates.reduce((p, [x, y]) => sgdStep(p, x, y), { ...P, learningRate, maxStep } as TrustParams),
  );

const x0: TrustFeatures = { loa: 0.5, history: 0.5, risk: 0, sensitivity: 0, rate: 0 };

// ---------------------------------------------------------------------------------------------------------

describe('features', () => {
  test('loa is rank / 4', () => {
    assert.deepEqual(
      (['guest', 'observer', 'operator', 'mentor', 'root'] as const).map((l) => loaFeature(l)),
      [0, 0.25, 0.5, 0.75, 1],
    );
    assert.equal(loaFeature(3), 0.75);
  });

  test('risk: read < write < execute < admin, from 0 to 1', () => {
    assert.deepEqual(
      ACTION_CLASSES.map((a) => riskFeature(a)),
      [0, 1 / 3, 2 / 3, 1],
    );
  });

  test('sensitivity: user_data < module < config < audit < canon_system, from 0 to 1', () => {
    assert.deepEqual(
      SENSITIVITIES.map((s) => sensitivityFeature(s)),
      [0, 0.25, 0.5, 0.75, 1],
    );
  });

  test('rate is min(1, requests / cap); requests are counted in the window', () => {
    assert.equal(rateFeature(0, 300), 0);
    assert.equal(rateFeature(150, 300), 0.5);
    assert.equal(rateFeature(10_000, 300), 1);
    throwsSigil(() => rateFeature(1, 0), 'BAD_INPUT', /rate cap/);
    throwsSigil(() => rateFeature(-1, 10), 'BAD_INPUT');
    const ts = [NOW - 60_000, NOW - 59_999, NOW - 1, NOW, NOW + 1];
    assert.equal(requestsInWindow(ts, NOW, 60_000), 3);
  });

  test('an unknown subject starts neutral; good outcomes raise the history, bad ones lower it', () => {
    assert.equal(historyFeature(undefined, P, NOW), 0.5);
    assert.equal(historyFeature(emptyHistory(NOW), P, NOW), 0.5);
    const good = recordOutcome(undefined, 1, NOW, P.halfLifeMs);
    const bad = recordOutcome(undefined, 0, NOW, P.halfLifeMs);
    assert.equal(historyFeature(good, P, NOW), 6 / 11);
    assert.equal(historyFeature(bad, P, NOW), 5 / 11);
    assert.equal(historyFeature(bad, { prior: { good: 3, bad: 1 }, halfLifeMs: DAY }, NOW), 3 / 5);
  });

  test('featuresFor combines the caller and the operation', () => {
    const x = featuresFor(
      POLICY_TABLE['module.run'],
      { loa: 'operator', history: recordOutcome(undefined, 1, NOW, P.halfLifeMs), requestsInWindow: 30 },
      P,
      NOW,
    );
    assert.deepEqual(x, {
      loa: 0.5,
      history: 6 / 11,
      risk: 2 / 3,
      sensitivity: 0.25,
      rate: 30 / DEFAULT_RATE_LIMIT.cap,
    });
  });

  test('features outside [0, 1] are refused', () => {
    throwsSigil(
      () => score(P, { ...x0, risk: 1.5 }),
      'BAD_INPUT',
      /trust feature risk = 1\.5 must be a number from 0 to 1/,
    );
    throwsSigil(() => score(P, { ...x0, rate: -0.1 }), 'BAD_INPUT', /rate/);
    throwsSigil(() => score(P, { ...x0, loa: Number.NaN }), 'BAD_INPUT', /loa/);
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('the default parameters', () => {
  test('satisfy the sign constraints and parse', () => {
    for (const f of FEATURES) {
      assert.equal(Math.sign(P.w[f]) === WEIGHT_SIGNS[f], true, `${f}: ${P.w[f]}`);
    }
    assert.deepEqual(parseTrustParams(JSON.parse(JSON.stringify(P))), P);
    assert.equal(Object.isFrozen(P.w), true, 'frozen');
  });

  test('a root caller reading with a clean history scores high (> 0.9)', () => {
    let h: SubjectHistory | undefined;
    for (let i = 0; i < 10; i++) h = recordOutcome(h, 1, NOW, P.halfLifeMs);
    const x = featuresFor(
      POLICY_TABLE['canon.get'],
      { loa: 'root', history: h, requestsInWindow: 1 },
      P,
      NOW,
    );
    assert.equal(score(P, x) > 0.9, true, `clean history: ${score(P, x)}`);
    const neutral = { loa: 1, history: 0.5, risk: 0, sensitivity: 0, rate: 0 };
    assert.equal(score(P, neutral) > 0.9, true, `neutral history, user data: ${score(P, neutral)}`);
  });

  test('a guest doing an admin action on canon/system scores low (< 0.1)', () => {
    const x = featuresFor(POLICY_TABLE['system.commit'], { loa: 'guest', requestsInWindow: 0 }, P, NOW);
    assert.equal(score(P, x) < 0.1, true, `${score(P, x)}`);
  });

  test('an operator appending user data with a neutral history clears 0.35', () => {
    const x = featuresFor(POLICY_TABLE['canon.append'], { loa: 'operator', requestsInWindow: 0 }, P, NOW);
    assert.equal(x.history, 0.5);
    assert.equal(score(P, x) >= 0.35, true, `${score(P, x)}`);
  });

  test('an observer reading the log with a neutral history clears 0.2; with a bad record it does not', () => {
    const x = featuresFor(POLICY_TABLE['canon.list'], { loa: 'observer', requestsInWindow: 0 }, P, NOW);
    assert.equal(score(P, x) >= 0.2, true, `${score(P, x)}`);
    let h: SubjectHistory | undefined;
    for (let i = 0; i < 10; i++) h = recordOutcome(h, 0, NOW, P.halfLifeMs);
    const bad = featuresFor(
      POLICY_TABLE['canon.list'],
      { loa: 'observer', history: h, requestsInWindow: 0 },
      P,
      NOW,
    );
    assert.equal(score(P, bad) < 0.2, true, `${score(P, bad)}`);
  });

  test('riskier actions and more sensitive targets never raise the score (the original design did)', () => {
    for (const loa of [0, 0.5, 1]) {
      const byRisk = ACTION_CLASSES.map((a) => score(P, { ...x0, loa, risk: riskFeature(a) }));
      const bySensitivity = SENSITIVITIES.map((s) =>
        score(P, { ...x0, loa, sensitivity: sensitivityFeature(s) }),
      );
      for (let i = 1; i < byRisk.length; i++) {
        assert.equal((byRisk[i] ?? 1) < (byRisk[i - 1] ?? 0), true, `risk ${ACTION_CLASSES[i]}`);
      }
      for (let i = 1; i < bySensitivity.length; i++) {
        assert.equal(
          (bySensitivity[i] ?? 1) < (bySensitivity[i - 1] ?? 0),
          true,
          `sensitivity ${SENSITIVITIES[i]}`,
        );
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('explain', () => {
  test('reports each contribution, the bias, the logit and the score', () => {
    const x = { loa: 1, history: 0.5, risk: 1, sensitivity: 1, rate: 0.25 };
    const e = explain(P, x);
    assert.deepEqual(e.features, x);
    assert.deepEqual(e.weights, P.w);
    assert.deepEqual(e.contributions, { loa: 4, history: 4, risk: -1.5, sensitivity: -1.5, rate: -1 });
    assert.equal(e.bias, -4);
    assert.equal(e.logit, 0);
    assert.equal(e.score, 0.5);
    assert.equal(score(P, x), e.score);
  });

  test('weights of the wrong sign count as 0 (the score always uses the projected weights)', () => {
    const wrong: TrustParams = { ...P, w: { ...P.w, risk: 3, loa: -2 } };
    const e = explain(wrong, { ...x0, risk: 1, loa: 1 });
    assert.equal(e.weights.risk, 0);
    assert.equal(e.weights.loa, 0);
    assert.equal(e.contributions.risk, 0);
    assert.deepEqual(projectWeights(wrong.w), { ...P.w, risk: 0, loa: 0 });
  });

  test('property: the contributions and the bias sum to the logit; score = σ(logit)', () => {
    fc.assert(
      fc.property(reachableArb, featuresArb, (params, x) => {
        const e = explain(params, x);
        let sum = e.bias;
        for (const f of FEATURES) {
          near(e.contributions[f], e.weights[f] * x[f], 0, `${f} contribution`);
          sum += e.contributions[f];
        }
        near(sum, e.logit, 1e-9 * (1 + Math.abs(e.logit)), 'logit');
        near(e.score, 1 / (1 + Math.exp(-e.logit)), 1e-12, 'score');
        assert.equal(e.score >= 0 && e.score <= 1, true, 'score in [0,1]');
      }),
    );
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('monotonicity', () => {
  const featureArb = fc.constantFrom<FeatureName>(...FEATURES);

  const monotone = (params: TrustParams, x: TrustFeatures, f: FeatureName, a: number, b: number): void => {
    const [lo, hi] = a <= b ? [a, b] : [b, a];
    const sLo = score(params, { ...x, [f]: lo });
    const sHi = score(params, { ...x, [f]: hi });
    if (WEIGHT_SIGNS[f] > 0)
      assert.equal(sHi >= sLo, true, `${f} ${lo}→${hi}: ${sLo} → ${sHi} must not fall`);
    else assert.equal(sHi <= sLo, true, `${f} ${lo}→${hi}: ${sLo} → ${sHi} must not rise`);
  };

  test('property: for any parameters reachable by sgdStep, the score rises with loa and history and falls with risk, sensitivity and rate', () => {
    fc.assert(
      fc.property(reachableArb, featuresArb, featureArb, unit, unit, (params, x, f, a, b) =>
        monotone(params, x, f, a, b),
      ),
    );
  });

  test('property: the same holds even for parameters that break the sign constraints', () => {
    const anyWeight = fc.double({ min: -50, max: 50, noNaN: true });
    const anyParams = fc
      .record({
        loa: anyWeight,
        history: anyWeight,
        risk: anyWeight,
        sensitivity: anyWeight,
        rate: anyWeight,
      })
      .map((w): TrustParams => ({ ...P, w }));
    fc.assert(
      fc.property(anyParams, featuresArb, featureArb, unit, unit, (params, x, f, a, b) =>
        monotone(params, x, f, a, b),
      ),
    );
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('sgdStep', () => {
  test('property: never breaks the sign constraints, never moves a weight or the bias by more than maxStep', () => {
    fc.assert(
      fc.property(reachableArb, featuresArb, outcomeArb, (params, x, y) => {
        const next = sgdStep(params, x, y);
        for (const f of FEATURES) {
          const w = next.w[f];
          assert.equal(Number.isFinite(w), true, `${f} finite`);
          if (WEIGHT_SIGNS[f] > 0) assert.equal(w >= 0, true, `${f} = ${w} must be ≥ 0`);
          else assert.equal(w <= 0, true, `${f} = ${w} must be ≤ 0`);
          const moved = Math.abs(w - params.w[f]);
          assert.equal(
            moved <= params.maxStep * (1 + 1e-12),
            true,
            `${f} moved ${moved} > ${params.maxStep}`,
          );
        }
        const movedB = Math.abs(next.b - params.b);
        assert.equal(movedB <= params.maxStep * (1 + 1e-12) + 1e-12, true, `b moved ${movedB}`);
        // Hyper-parameters are kept, and what an update produces can be stored and read back.
        assert.equal(next.learningRate, params.learningRate);
        assert.equal(next.maxStep, params.maxStep);
        assert.equal(next.halfLifeMs, params.halfLifeMs);
        assert.deepEqual(next.prior, params.prior);
        assert.deepEqual(parseTrustParams(JSON.parse(JSON.stringify(next))), next);
      }),
    );
  });

  test('property: a good outcome never lowers the score of what was done, a bad one never raises it', () => {
    fc.assert(
      fc.property(reachableArb, featuresArb, outcomeArb, (params, x, y) => {
        const before = score(params, x);
        const after = score(sgdStep(params, x, y), x);
        if (y === 1) assert.equal(after >= before, true, `good: ${before} → ${after}`);
        else assert.equal(after <= before, true, `bad: ${before} → ${after}`);
      }),
    );
  });

  test('is a bounded logistic-loss gradient step', () => {
    const x = { loa: 0.5, history: 0.5, risk: 1 / 3, sensitivity: 0, rate: 0 };
    const p = score(P, x);
    const next = sgdStep({ ...P, maxStep: 10 }, x, 0);
    // Unclipped: Δw_i = -lr · (p - y) · x_i, Δb = -lr · (p - y).
    near(next.w.loa, P.w.loa - 0.1 * p * 0.5, 1e-12, 'loa');
    near(next.w.risk, P.w.risk - (0.1 * p) / 3, 1e-12, 'risk');
    near(next.w.sensitivity, P.w.sensitivity, 0, 'a feature at 0 does not move its weight');
    near(next.b, P.b - 0.1 * p, 1e-12, 'bias');
    // Clipped.
    const clipped = sgdStep({ ...P, learningRate: 100, maxStep: 0.05 }, x, 0);
    near(clipped.w.loa, P.w.loa - 0.05, 1e-12, 'loa clipped');
    near(clipped.b, P.b - 0.05, 1e-12, 'bias clipped');
  });

  test('projects: a weight pushed past zero stops at zero', () => {
    const small: TrustParams = { ...P, w: { ...P.w, risk: -0.01 }, learningRate: 10, maxStep: 1 };
    const next = sgdStep(small, { ...x0, risk: 1 }, 1);
    assert.equal(next.w.risk, 0);
  });

  test('does not change its input and refuses bad input', () => {
    const copy = JSON.parse(JSON.stringify(P)) as TrustParams;
    sgdStep(P, x0, 0);
    assert.deepEqual(P, copy);
    throwsSigil(() => sgdStep(P, x0, 2 as Outcome), 'BAD_INPUT', /outcome/);
    throwsSigil(() => sgdStep({ ...P, maxStep: 0 }, x0, 1), 'BAD_INPUT', /maxStep/);
    throwsSigil(() => sgdStep({ ...P, learningRate: -1 }, x0, 1), 'BAD_INPUT', /learningRate/);
    throwsSigil(() => sgdStep(P, { ...x0, history: 2 }, 1), 'BAD_INPUT', /history/);
  });

  test('repeated rejections of one kind of request lower its score, within the bounds', () => {
    const x = { loa: 0.5, history: 0.5, risk: 2 / 3, sensitivity: 0.25, rate: 0 };
    let params = P;
    for (let i = 0; i < 40; i++) params = sgdStep(params, x, 0);
    assert.equal(score(params, x) < score(P, x), true, 'lower');
    assert.equal(Math.abs(params.w.loa - P.w.loa) <= 40 * P.maxStep + 1e-9, true, 'bounded drift');
    assert.equal(params.w.risk <= 0, true, 'risk still ≤ 0');
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('parseTrustParams', () => {
  test('refuses weights of the wrong sign and bad hyper-parameters', () => {
    const json = JSON.parse(JSON.stringify(P)) as { w: Record<string, number> } & Record<string, unknown>;
    throwsSigil(
      () => parseTrustParams({ ...json, w: { ...json.w, risk: 0.5 } }),
      'BAD_INPUT',
      /w\.risk must be ≤ 0 \(a higher risk must never raise the score\)/,
    );
    throwsSigil(
      () => parseTrustParams({ ...json, w: { ...json.w, history: -1 } }),
      'BAD_INPUT',
      /w\.history must be ≥ 0/,
    );
    throwsSigil(() => parseTrustParams({ ...json, maxStep: 0 }), 'BAD_INPUT', /maxStep/);
    throwsSigil(() => parseTrustParams({ ...json, prior: { good: 0, bad: 1 } }), 'BAD_INPUT', /prior\.good/);
    throwsSigil(() => parseTrustParams({ ...json, extra: 1 }), 'BAD_INPUT');
    throwsSigil(() => parseTrustParams(null), 'BAD_INPUT');
  });

  test('subject histories', () => {
    const h = { good: 1.5, bad: 0, updatedAt: NOW };
    assert.deepEqual(parseSubjectHistory(h), h);
    throwsSigil(() => parseSubjectHistory({ ...h, bad: -1 }), 'BAD_INPUT', /bad/);
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('decay', () => {
  const historyArb = fc.record({
    good: fc.double({ min: 0, max: 1000, noNaN: true }),
    bad: fc.double({ min: 0, max: 1000, noNaN: true }),
  });
  const priorArb = fc.record({
    good: fc.double({ min: 0.1, max: 20, noNaN: true }),
    bad: fc.double({ min: 0.1, max: 20, noNaN: true }),
  });

  test('halves the counts every half-life', () => {
    const h = { good: 4, bad: 8, updatedAt: NOW };
    assert.deepEqual(decay(h, NOW + DAY, DAY), { good: 2, bad: 4, updatedAt: NOW + DAY });
    assert.deepEqual(decay(h, NOW + 3 * DAY, DAY), { good: 0.5, bad: 1, updatedAt: NOW + 3 * DAY });
    assert.equal(decay(h, NOW, DAY), h, 'no time, no change');
    assert.equal(decay(h, NOW - DAY, DAY), h, 'a clock step back decays nothing');
    assert.deepEqual(decay(h, NOW + 1000 * DAY, Infinity), { ...h, updatedAt: NOW + 1000 * DAY });
    throwsSigil(() => decay(h, NOW + DAY, 0), 'BAD_INPUT', /halfLifeMs/);
  });

  test('recordOutcome decays first, then counts', () => {
    const h = recordOutcome({ good: 4, bad: 0, updatedAt: NOW }, 0, NOW + DAY, DAY);
    assert.deepEqual(h, { good: 2, bad: 1, updatedAt: NOW + DAY });
    assert.deepEqual(recordOutcome(undefined, 1, NOW, DAY, 2.5), { good: 2.5, bad: 0, updatedAt: NOW });
  });

  test('property: a penalised subject moves back toward the prior, within ε after k half-lives', () => {
    fc.assert(
      fc.property(
        historyArb,
        priorArb,
        fc.double({ min: 1, max: 1e10, noNaN: true }),
        fc.array(fc.double({ min: 0, max: 5, noNaN: true }), { minLength: 1, maxLength: 10 }),
        fc.double({ min: 1e-6, max: 0.1, noNaN: true }),
        (counts, prior, halfLifeMs, steps, eps) => {
          const params = { prior, halfLifeMs };
          const mean = prior.good / (prior.good + prior.bad);
          const h: SubjectHistory = { ...counts, updatedAt: NOW };
          // The distance to the prior never grows as time passes.
          let t = NOW;
          let last = Math.abs(historyFeature(h, params, t) - mean);
          for (const s of steps) {
            t += s * halfLifeMs;
            const d = Math.abs(historyFeature(h, params, t) - mean);
            assert.equal(d <= last + 1e-12, true, `distance grew: ${last} → ${d}`);
            last = d;
          }
          // |h - mean| ≤ 2^-k (good + bad) / (prior.good + prior.bad), so k half-lives bring it within ε.
          const n = counts.good + counts.bad;
          const k = Math.max(0, Math.ceil(Math.log2(n / ((prior.good + prior.bad) * eps))));
          const d = Math.abs(historyFeature(h, params, NOW + k * halfLifeMs) - mean);
          assert.equal(d <= eps, true, `after ${k} half-lives: ${d} > ${eps}`);
        },
      ),
    );
  });

  test('property: decaying in steps equals decaying at once', () => {
    fc.assert(
      fc.property(
        historyArb,
        fc.double({ min: 1, max: 1e9, noNaN: true }),
        fc.array(fc.double({ min: 0, max: 1e9, noNaN: true }), { maxLength: 6 }),
        (counts, halfLifeMs, gaps) => {
          let h: SubjectHistory = { ...counts, updatedAt: NOW };
          let t = NOW;
          for (const g of gaps) {
            t += g;
            h = decay(h, t, halfLifeMs);
          }
          const once = decay({ ...counts, updatedAt: NOW }, t, halfLifeMs);
          near(h.good, once.good, 1e-9 * (1 + once.good), 'good');
          near(h.bad, once.bad, 1e-9 * (1 + once.bad), 'bad');
        },
      ),
    );
  });

  test('a penalised subject recovers: denied now, allowed after a few half-lives', () => {
    let h: SubjectHistory | undefined;
    for (let i = 0; i < 20; i++) h = recordOutcome(h, 0, NOW, P.halfLifeMs);
    const at = (t: number) =>
      score(
        P,
        featuresFor(POLICY_TABLE['canon.append'], { loa: 'operator', history: h, requestsInWindow: 0 }, P, t),
      );
    assert.equal(at(NOW) < 0.35, true, `penalised: ${at(NOW)}`);
    assert.equal(at(NOW + 3 * P.halfLifeMs) >= 0.35, true, `recovered: ${at(NOW + 3 * P.halfLifeMs)}`);
  });

  test('decayParams relaxes learnt weights toward the prior parameters', () => {
    let learnt = P;
    for (let i = 0; i < 30; i++) learnt = sgdStep(learnt, { ...x0, risk: 1 }, 0);
    const half = decayParams(learnt, P, P.halfLifeMs);
    near(half.w.risk, (learnt.w.risk + P.w.risk) / 2, 1e-12, 'half way after one half-life');
    near(half.b, (learnt.b + P.b) / 2, 1e-12, 'bias half way');
    const long = decayParams(learnt, P, 60 * P.halfLifeMs);
    for (const f of FEATURES) near(long.w[f], P.w[f], 1e-9, f);
    assert.deepEqual(decayParams(learnt, P, 0), learnt);
  });
});
