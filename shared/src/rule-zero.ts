/**
 * Rule Zero: the one shape every module result takes before it may be stored (a `module.result` record in
 * the data space) or returned. It says what went in, what the module knew, why it suggested what it
 * suggested, under which licence and trust, and in whose scope. The schema is versioned; a result that does
 * not satisfy it is refused and audited, never stored.
 */
import { z } from 'zod';

export const RULE_ZERO_SCHEMA = 'sigil.rule-zero/1';

export const VERDICTS = ['Allow', 'Deny', 'Defer', 'ManualReview'] as const;
export type Verdict = (typeof VERDICTS)[number];

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'a lowercase hex SHA-256');
const nonEmpty = (max: number) => z.string().min(1).max(max);
const isoTime = z.iso.datetime({ offset: false });

const position = z.strictObject({ line: z.int().min(0), character: z.int().min(0) });
const range = z.strictObject({ start: position, end: position });

export const RuleZeroCitation = z.strictObject({
  title: nonEmpty(512),
  url: z.string().max(2048).nullable(),
  /** Path of the cited page inside its imported collection, when it came from the local index. */
  path: z.string().max(2048).nullable(),
  /** The collection (`rust-docs/book` …) when from the local index, else null. */
  root: z.string().max(512).nullable(),
  /** The `rag.chunks` record the text came from, when from the local index. */
  record_id: hex64.nullable(),
  licence: z.string().max(256).nullable(),
});
export type RuleZeroCitation = z.infer<typeof RuleZeroCitation>;

export const RuleZeroFinding = z.strictObject({
  rule: nonEmpty(128),
  clippy: z.string().max(128).nullable(),
  severity: z.enum(['error', 'warning', 'information', 'hint']),
  message: nonEmpty(2000),
  range,
  fix: z
    .strictObject({
      title: nonEmpty(256),
      edits: z.array(z.strictObject({ range, newText: z.string().max(20_000) })).max(64),
    })
    .optional(),
});
export type RuleZeroFinding = z.infer<typeof RuleZeroFinding>;

/** At most this many findings are kept in one record (a record's payload is capped at 1 MiB). */
export const MAX_RULE_ZERO_FINDINGS = 1000;

export const RuleZeroManifest = z.strictObject({
  schema: z.literal(RULE_ZERO_SCHEMA),
  input: z.strictObject({
    /** `file` (a path and its content), `snippet` (text without a file), or a module-specific kind. */
    kind: nonEmpty(64),
    path: z.string().max(4096).nullable(),
    content_sha256: hex64.nullable(),
    bytes: z.int().min(0).nullable(),
    language: z.string().max(64).nullable(),
  }),
  context: z.strictObject({
    module_id: nonEmpty(128),
    module_version: nonEmpty(64),
    /** What shaped the result besides the input: configuration, options, what the module remembered. */
    parameters: z.record(
      z.string(),
      z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(z.string())]),
    ),
  }),
  reasoning: z.strictObject({
    summary: nonEmpty(4000),
    /** The rules that fired (rule ids). */
    rules: z.array(nonEmpty(128)).max(500),
    citations: z.array(RuleZeroCitation).max(200),
    llm: z
      .strictObject({
        model_id: nonEmpty(256),
        prompt_sha256: hex64,
        endpoint: z.string().max(2048),
        /** How the model was asked: the server's `[llm]` endpoint (absent in older records), or the editor's. */
        via: z.enum(['http', 'vscode.lm']).optional(),
      })
      .nullable(),
  }),
  suggestion: z.strictObject({
    summary: nonEmpty(4000),
    findings: z.array(RuleZeroFinding).max(MAX_RULE_ZERO_FINDINGS),
    /** Findings left out because of the cap. */
    truncated: z.int().min(0),
    text: z.string().max(100_000).nullable(),
  }),
  verdict: z.enum(VERDICTS),
  audit: z.strictObject({
    timestamp: isoTime,
    session_id: nonEmpty(128),
    /** The caller's Level of Access by name. */
    loa: z.enum(['guest', 'observer', 'operator', 'mentor', 'root']),
    /** The licence the module acted under (the caller's, leaf of its chain). */
    chain_id: nonEmpty(128),
  }),
  trust: z.strictObject({
    model_id: nonEmpty(128),
    score: z.number().min(0).max(1),
    allowed: z.boolean(),
  }),
  scope: z.strictObject({ user_id: nonEmpty(256), module_id: nonEmpty(128), session_id: nonEmpty(128) }),
  witnesses: z.array(z.strictObject({ key_id: nonEmpty(128), signature: nonEmpty(512) })).max(32),
});
export type RuleZeroManifest = z.infer<typeof RuleZeroManifest>;

/** Why a result is not a valid Rule Zero manifest: the first problems, each naming its field. */
export function ruleZeroProblems(value: unknown): string[] {
  const r = RuleZeroManifest.safeParse(value);
  if (r.success) return [];
  return r.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
}
