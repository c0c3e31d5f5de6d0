/**
 * The trust model (issue 4, "Governance"): a logistic score σ(w·x + b) over five features, each in [0, 1].
 *
 *   loa          the caller's level of access, rank / 4                          raises the score (w ≥ 0)
 *   history      its record of good outcomes: decayed Beta-smoothed good share   raises the score (w ≥ 0)
 *   risk         the operation's action class: read 0, write 1/3, execute 2/3, admin 1   lowers (w ≤ 0)
 *   sensitivity  the target: user_data 0, module 1/4, config 1/2, audit 3/4, canon_system 1  lowers (w ≤ 0)
 *   rate         the caller's recent request rate, min(1, requests in the window / cap)   lowers (w ≤ 0)
 *
 * The sign constraints hold ALWAYS: the score is computed with the weights projected onto them, every
 * update projects again, and parsed parameters that break them are refused. So the score is monotone in
 * each feature by construction, whatever feedback the model has learnt from. (The original design's weights
 * were all positive, so riskier actions raised the score; that cannot happen here.)
 *
 * Weights learn online from outcomes (an operator accepting or rejecting what a subject did, a system
 * proposal committed or rejected) by a bounded SGD step on the logistic loss ({@link sgdStep}); a subject's
 * history decays toward the prior with a half-life ({@link decay}), so a penalised subject recovers.
 *
 * Pure: no I/O, time is passed in (milliseconds since the epoch). The parameters live in the canon's system
 * space; each update is a signed record written by the service layer.
 */
import { z } from 'zod';
import { SigilError } from './errors.js';
import { ACTION_CLASSES, MAX_LOA_RANK, SENSITIVITIES, loaRank } from './policy.js';
import type { ActionClass, LoaLevel, OperationPolicy, Sensitivity } from './policy.js';

// ---------------------------------------------------------------------------------------------------------
// Types.

/** The features, in the order used everywhere (sums, explanations, records). */
export const FEATURES = ['loa', 'history', 'risk', 'sensitivity', 'rate'] as const;
export type FeatureName = (typeof FEATURES)[number];

/** One value per feature, each in [0, 1]. */
export type TrustFeatures = Readonly<Record<FeatureName, number>>;
export type TrustWeights = Readonly<Record<FeatureName, number>>;

/** +1: the weight must be ≥ 0 (the feature may only raise the score); -1: ≤ 0 (it may only lower it). */
export const WEIGHT_SIGNS: Readonly<Record<FeatureName, 1 | -1>> = Object.freeze({
  loa: 1,
  history: 1,
  risk: -1,
  sensitivity: -1,
  rate: -1,
});

/** Beta prior pseudo-counts of good and bad outcomes; an unknown subject's history is good / (good + bad). */
export interface BetaPrior {
  readonly good: number;
  readonly bad: number;
}

export interface TrustParams {
  readonly w: TrustWeights;
  /** Bias (unconstrained). */
  readonly b: number;
  /** SGD learning rate (> 0). */
  readonly learningRate: number;
  /** Largest change of any one weight (and of the bias) in one update (> 0). */
  readonly maxStep: number;
  /** Half-life, in ms, of subject histories (and of {@link decayParams}); Infinity: no decay. */
  readonly halfLifeMs: number;
  readonly prior: BetaPrior;
}

/** A subject's decayed outcome counts; `updatedAt` is when they were last decayed (ms since the epoch). */
export interface SubjectHistory {
  readonly good: number;
  readonly bad: number;
  readonly updatedAt: number;
}

export type Outcome = 0 | 1;

/** How the `rate` feature is measured: requests in the last `windowMs`, divided by `cap`, at most 1. */
export interface RateLimit {
  readonly windowMs: number;
  readonly cap: number;
}

// ---------------------------------------------------------------------------------------------------------
// Defaults.

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Default parameters. With a neutral history (0.5) and a quiet rate they give, for example:
 *   root, read, user data          0.98    guest, admin, canon/system      0.05
 *   operator, append user data     0.82    observer, read the audit log    0.47
 *   root, admin, canon/system      0.73    operator, run a module          0.65
 * An all-bad history costs 4 in the logit (history weight 8 × 0.5), and so does a request rate at the cap
 * (rate weight -4): either one takes every trust-gated operation, at its required LOA, below its threshold,
 * while a neutral newcomer clears all of them (the policy thresholds, policy.ts DEFAULT_THRESHOLDS, are set
 * against these numbers; test/unit/policy.test.ts checks both). The Beta(5, 5) prior makes one outcome move
 * a newcomer's history by about 0.05, not 0.17 as Beta(1, 1) would: root needs four rejections in a row
 * before admin operations are refused. Histories halve toward the prior every 7 days.
 */
export const DEFAULT_TRUST_PARAMS: TrustParams = deepFreeze({
  w: { loa: 4, history: 8, risk: -1.5, sensitivity: -1.5, rate: -4 },
  b: -4,
  learningRate: 0.1,
  maxStep: 0.05,
  halfLifeMs: 7 * DAY_MS,
  prior: { good: 5, bad: 5 },
});

/**
 * 1200 writes a minute (20 a second, sustained) count as the full `rate` feature (1). With the default
 * weights root's system-space writes (the strictest threshold) stay allowed up to a quarter of that.
 */
export const DEFAULT_RATE_LIMIT: RateLimit = Object.freeze({ windowMs: 60_000, cap: 1200 });

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

// ---------------------------------------------------------------------------------------------------------
// Validation.

const finite = z.number().refine(Number.isFinite, { error: 'must be a finite number' });
const positive = finite.refine((n) => n > 0, { error: 'must be greater than 0' });
const nonNegative = finite.refine((n) => n >= 0, { error: 'must not be negative' });
const signed = (f: FeatureName) =>
  WEIGHT_SIGNS[f] > 0
    ? finite.refine((n) => n >= 0, { error: `must be ≥ 0 (a higher ${f} must never lower the score)` })
    : finite.refine((n) => n <= 0, { error: `must be ≤ 0 (a higher ${f} must never raise the score)` });

export const TrustParamsSchema = z.strictObject({
  w: z.strictObject({
    loa: signed('loa'),
    history: signed('history'),
    risk: signed('risk'),
    sensitivity: signed('sensitivity'),
    rate: signed('rate'),
  }),
  b: finite,
  learningRate: positive,
  maxStep: positive,
  halfLifeMs: positive,
  prior: z.strictObject({ good: positive, bad: positive }),
});

export const SubjectHistorySchema = z.strictObject({
  good: nonNegative,
  bad: nonNegative,
  updatedAt: finite,
});

function parseWith<T>(schema: z.ZodType<T>, what: string, value: unknown): T {
  const r = schema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    const where = issue && issue.path.length > 0 ? issue.path.join('.') : what;
    throw new SigilError('BAD_INPUT', `${what}: ${where} ${issue?.message ?? 'is invalid'}`, {
      field: where,
    });
  }
  return deepFreeze(r.data);
}

/**
 * Checks parameters read from outside (a canon record, a file): every number finite, hyper-parameters
 * positive and the weights' signs right — a record that breaks them is refused (BAD_INPUT), not repaired.
 */
export function parseTrustParams(value: unknown): TrustParams {
  return parseWith(TrustParamsSchema, 'trust parameters', value);
}

export function parseSubjectHistory(value: unknown): SubjectHistory {
  return parseWith(SubjectHistorySchema, 'subject history', value);
}

function requirePositive(name: string, n: number, allowInfinity = false): void {
  if (!(n > 0) || (!allowInfinity && !Number.isFinite(n))) {
    throw new SigilError('BAD_INPUT', `${name} must be a positive number${allowInfinity ? '' : ' (finite)'}`);
  }
}

function checkFeatures(x: TrustFeatures): void {
  for (const f of FEATURES) {
    const v = x[f];
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) {
      throw new SigilError('BAD_INPUT', `trust feature ${f} = ${String(v)} must be a number from 0 to 1`, {
        feature: f,
      });
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Features.

/** rank / 4: guest 0, observer 0.25, operator 0.5, mentor 0.75, root 1. */
export function loaFeature(level: LoaLevel | number): number {
  return loaRank(level) / MAX_LOA_RANK;
}

/** read 0, write 1/3, execute 2/3, admin 1. */
export function riskFeature(action: ActionClass): number {
  const i = ACTION_CLASSES.indexOf(action);
  if (i < 0) throw new SigilError('BAD_INPUT', `unknown action class ${JSON.stringify(action)}`);
  return i / (ACTION_CLASSES.length - 1);
}

/** user_data 0, module 1/4, config 1/2, audit 3/4, canon_system 1. */
export function sensitivityFeature(sensitivity: Sensitivity): number {
  const i = SENSITIVITIES.indexOf(sensitivity);
  if (i < 0) throw new SigilError('BAD_INPUT', `unknown sensitivity ${JSON.stringify(sensitivity)}`);
  return i / (SENSITIVITIES.length - 1);
}

/** min(1, requests / cap). */
export function rateFeature(requests: number, cap: number): number {
  requirePositive('rate cap', cap);
  if (!(requests >= 0)) throw new SigilError('BAD_INPUT', 'request count must not be negative');
  return Math.min(1, requests / cap);
}

/** How many of `timestamps` fall in the window (now - windowMs, now]. */
export function requestsInWindow(timestamps: Iterable<number>, now: number, windowMs: number): number {
  let n = 0;
  for (const t of timestamps) if (t > now - windowMs && t <= now) n++;
  return n;
}

/**
 * The `history` feature: (good + prior.good) / (good + bad + prior.good + prior.bad), after decaying the
 * counts to `now`. No history (an unknown subject) gives the prior's mean, 0.5 by default.
 */
export function historyFeature(
  history: SubjectHistory | undefined,
  params: Pick<TrustParams, 'prior' | 'halfLifeMs'>,
  now: number,
): number {
  const { good: a, bad: b } = params.prior;
  requirePositive('prior.good', a);
  requirePositive('prior.bad', b);
  if (history === undefined) return a / (a + b);
  const h = decay(history, now, params.halfLifeMs);
  return (h.good + a) / (h.good + h.bad + a + b);
}

/** What the service layer knows about the caller of one request. */
export interface CallerState {
  readonly loa: LoaLevel | number;
  /** Its outcome history; undefined for a subject never judged. */
  readonly history?: SubjectHistory;
  /** Its requests in the last `rate.windowMs` (see {@link requestsInWindow}). */
  readonly requestsInWindow: number;
}

/** The five features of one request: the caller's state and the operation's action class and sensitivity. */
export function featuresFor(
  policy: Pick<OperationPolicy, 'action' | 'sensitivity'>,
  caller: CallerState,
  params: Pick<TrustParams, 'prior' | 'halfLifeMs'>,
  now: number,
  rate: RateLimit = DEFAULT_RATE_LIMIT,
): TrustFeatures {
  return Object.freeze({
    loa: loaFeature(caller.loa),
    history: historyFeature(caller.history, params, now),
    risk: riskFeature(policy.action),
    sensitivity: sensitivityFeature(policy.sensitivity),
    rate: rateFeature(caller.requestsInWindow, rate.cap),
  });
}

// ---------------------------------------------------------------------------------------------------------
// Scoring.

/** The weights projected onto the sign constraints (a weight of the wrong sign becomes 0). */
export function projectWeights(w: TrustWeights): TrustWeights {
  const out = {} as Record<FeatureName, number>;
  for (const f of FEATURES) {
    const v = w[f];
    if (!Number.isFinite(v)) throw new SigilError('BAD_INPUT', `trust weight ${f} = ${v} must be finite`);
    out[f] = WEIGHT_SIGNS[f] > 0 ? Math.max(0, v) : Math.min(0, v);
  }
  return Object.freeze(out);
}

function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

export interface TrustExplanation {
  readonly features: TrustFeatures;
  /** The weights used: the parameters' weights projected onto the sign constraints. */
  readonly weights: TrustWeights;
  /** w_i · x_i per feature; bias + the contributions (in FEATURES order) = logit. */
  readonly contributions: TrustWeights;
  readonly bias: number;
  readonly logit: number;
  /** σ(logit), in [0, 1]. */
  readonly score: number;
}

/** Each feature's contribution, the bias, the logit and the score. Throws BAD_INPUT for a feature outside [0,1]. */
export function explain(params: TrustParams, x: TrustFeatures): TrustExplanation {
  checkFeatures(x);
  if (!Number.isFinite(params.b)) throw new SigilError('BAD_INPUT', `trust bias ${params.b} must be finite`);
  const weights = projectWeights(params.w);
  const contributions = {} as Record<FeatureName, number>;
  let logit = params.b;
  for (const f of FEATURES) {
    const c = weights[f] * x[f];
    contributions[f] = c;
    logit += c;
  }
  return deepFreeze({
    features: { ...x },
    weights,
    contributions,
    bias: params.b,
    logit,
    score: sigmoid(logit),
  });
}

/** σ(w·x + b), with the weights projected onto the sign constraints. */
export function score(params: TrustParams, x: TrustFeatures): number {
  return explain(params, x).score;
}

// ---------------------------------------------------------------------------------------------------------
// Learning.

function clip(v: number, bound: number): number {
  return Math.max(-bound, Math.min(bound, v));
}

/**
 * One bounded SGD step on the logistic loss for an observed outcome (1 good, 0 bad) of a request with
 * features `x`: each weight moves by clip(-learningRate · (score - outcome) · x_i, ±maxStep), the bias by
 * clip(-learningRate · (score - outcome), ±maxStep), and the weights are projected onto the sign
 * constraints (starting from the projected input weights). So no weight ever moves by more than maxStep and
 * the signs always hold. Returns new (frozen) parameters; the input is unchanged.
 */
export function sgdStep(params: TrustParams, x: TrustFeatures, outcome: Outcome): TrustParams {
  if (outcome !== 0 && outcome !== 1)
    throw new SigilError('BAD_INPUT', 'outcome must be 0 (bad) or 1 (good)');
  requirePositive('learningRate', params.learningRate);
  requirePositive('maxStep', params.maxStep);
  const { weights, score: p } = explain(params, x);
  const g = p - outcome;
  const w = {} as Record<FeatureName, number>;
  for (const f of FEATURES) {
    const next = weights[f] + clip(-params.learningRate * g * x[f], params.maxStep);
    w[f] = WEIGHT_SIGNS[f] > 0 ? Math.max(0, next) : Math.min(0, next);
  }
  return deepFreeze({
    ...params,
    w,
    b: params.b + clip(-params.learningRate * g, params.maxStep),
    prior: { ...params.prior },
  });
}

/**
 * Relaxes learnt parameters toward `anchor` (the prior parameters recorded in the canon) over `elapsedMs`,
 * with `params.halfLifeMs`: w ← anchor.w + 2^(-elapsed/halfLife) · (w - anchor.w), the same for b. Both ends
 * satisfy the sign constraints, so the result does too. Hyper-parameters are kept from `params`.
 */
export function decayParams(params: TrustParams, anchor: TrustParams, elapsedMs: number): TrustParams {
  requirePositive('halfLifeMs', params.halfLifeMs, true);
  const f = elapsedMs > 0 ? 2 ** (-elapsedMs / params.halfLifeMs) : 1;
  const from = projectWeights(params.w);
  const to = projectWeights(anchor.w);
  const w = {} as Record<FeatureName, number>;
  for (const k of FEATURES) {
    const v = to[k] + f * (from[k] - to[k]);
    w[k] = WEIGHT_SIGNS[k] > 0 ? Math.max(0, v) : Math.min(0, v);
  }
  return deepFreeze({ ...params, w, b: anchor.b + f * (params.b - anchor.b), prior: { ...params.prior } });
}

// ---------------------------------------------------------------------------------------------------------
// Subject histories.

export function emptyHistory(now: number): SubjectHistory {
  return Object.freeze({ good: 0, bad: 0, updatedAt: now });
}

/**
 * The counts decayed to `now`: both multiplied by 2^(-(now - updatedAt) / halfLifeMs), so the history feature
 * moves back toward the prior's mean (exponentially, never past it). A `now` before `updatedAt` (a clock
 * step back) decays nothing and keeps `updatedAt`.
 */
export function decay(history: SubjectHistory, now: number, halfLifeMs: number): SubjectHistory {
  requirePositive('halfLifeMs', halfLifeMs, true);
  if (!Number.isFinite(now)) throw new SigilError('BAD_INPUT', `time ${now} must be finite`);
  const elapsed = now - history.updatedAt;
  if (!(elapsed > 0)) return history;
  const f = 2 ** (-elapsed / halfLifeMs);
  return Object.freeze({ good: history.good * f, bad: history.bad * f, updatedAt: now });
}

/** Decays to `now`, then counts one outcome (1 good, 0 bad) with `weight` (default 1). */
export function recordOutcome(
  history: SubjectHistory | undefined,
  outcome: Outcome,
  now: number,
  halfLifeMs: number,
  weight = 1,
): SubjectHistory {
  if (outcome !== 0 && outcome !== 1)
    throw new SigilError('BAD_INPUT', 'outcome must be 0 (bad) or 1 (good)');
  requirePositive('outcome weight', weight);
  const h = decay(history ?? emptyHistory(now), now, halfLifeMs);
  return Object.freeze({
    good: h.good + (outcome === 1 ? weight : 0),
    bad: h.bad + (outcome === 0 ? weight : 0),
    updatedAt: h.updatedAt,
  });
}
