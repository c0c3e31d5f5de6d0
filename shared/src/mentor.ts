/**
 * What the extension and the language server exchange about RustMentor: the editor settings (sent as
 * `initializationOptions.mentor` and in `workspace/didChangeConfiguration`) and the client-side commands the
 * server's code actions name, with their argument shapes. Pure data and validation, no behaviour.
 */

// Only the type: rule-zero.ts builds zod schemas, which the extension's bundle does not carry.
import type { RuleZeroManifest } from './rule-zero.js';

export const MENTOR_SEVERITIES = ['error', 'warning', 'information', 'hint'] as const;
export type MentorSeverity = (typeof MENTOR_SEVERITIES)[number];

export const MENTOR_TEST_CODE = ['relaxed', 'normal', 'skip'] as const;
export type MentorTestCode = (typeof MENTOR_TEST_CODE)[number];

/** Editor settings; every field optional so that only what the user set overrides `sigil.toml [mentor]`. */
export interface MentorSettings {
  readonly enable?: boolean;
  readonly disabledRules?: readonly string[];
  readonly severities?: Readonly<Record<string, MentorSeverity>>;
  readonly testCode?: MentorTestCode;
}

function isOneOf<T extends string>(values: readonly T[], v: unknown): v is T {
  return typeof v === 'string' && (values as readonly string[]).includes(v);
}

/**
 * Keeps the well-formed parts of settings from an untrusted client: a wrong field is dropped (and reported
 * through `onProblem`) rather than failing the whole object, so one typo does not turn RustMentor off.
 */
export function parseMentorSettings(raw: unknown, onProblem?: (message: string) => void): MentorSettings {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    onProblem?.('sigil.mentor settings must be an object; ignored');
    return {};
  }
  const r = raw as Record<string, unknown>;
  const out: {
    enable?: boolean;
    disabledRules?: string[];
    severities?: Record<string, MentorSeverity>;
    testCode?: MentorTestCode;
  } = {};
  if (r.enable !== undefined) {
    if (typeof r.enable === 'boolean') out.enable = r.enable;
    else onProblem?.('sigil.mentor.enable must be true or false; ignored');
  }
  if (r.disabledRules !== undefined) {
    if (Array.isArray(r.disabledRules) && r.disabledRules.every((x) => typeof x === 'string'))
      out.disabledRules = r.disabledRules as string[];
    else onProblem?.('sigil.mentor.disabledRules must be an array of rule ids; ignored');
  }
  if (r.severities !== undefined) {
    if (typeof r.severities === 'object' && r.severities !== null && !Array.isArray(r.severities)) {
      const sev: Record<string, MentorSeverity> = {};
      for (const [id, v] of Object.entries(r.severities as Record<string, unknown>)) {
        if (isOneOf(MENTOR_SEVERITIES, v)) sev[id] = v;
        else
          onProblem?.(
            `sigil.mentor.severities.${id} must be one of ${MENTOR_SEVERITIES.join(', ')}; ignored`,
          );
      }
      out.severities = sev;
    } else onProblem?.('sigil.mentor.severities must be an object of rule id → severity; ignored');
  }
  if (r.testCode !== undefined) {
    if (isOneOf(MENTOR_TEST_CODE, r.testCode)) out.testCode = r.testCode;
    else onProblem?.(`sigil.mentor.testCode must be one of ${MENTOR_TEST_CODE.join(', ')}; ignored`);
  }
  return out;
}

/**
 * Whether a module.result payload is an analysis of code, what the Mentor view lists. Feedback ("fixed",
 * "not helpful") and answers ("Ask RustMentor", whose suggestion carries the answer's text) are Rule Zero
 * results too, but listing them as analyses would show a file with findings as one with none.
 */
export function isMentorAnalysis(payload: unknown): payload is RuleZeroManifest {
  if (typeof payload !== 'object' || payload === null) return false;
  const p = payload as {
    schema?: unknown;
    input?: { kind?: unknown };
    suggestion?: { text?: unknown; findings?: unknown };
  };
  return (
    p.schema === 'sigil.rule-zero/1' &&
    typeof p.input?.kind === 'string' &&
    p.input.kind !== 'feedback' &&
    Array.isArray(p.suggestion?.findings) &&
    (p.suggestion.text === null || p.suggestion.text === undefined)
  );
}

/** Client-side commands named by the server's code actions. */
export const MENTOR_COMMANDS = {
  explain: 'sigil.mentor.explain',
  ask: 'sigil.mentor.ask',
  notHelpful: 'sigil.mentor.notHelpful',
  fixApplied: 'sigil.mentor.fixApplied',
} as const;

export interface MentorPosition {
  readonly line: number;
  readonly character: number;
}
export interface MentorRange {
  readonly start: MentorPosition;
  readonly end: MentorPosition;
}

export interface ExplainArgs {
  readonly ruleId: string;
  readonly markdown: string;
}
export interface AskArgs {
  readonly uri: string;
  readonly ruleId: string;
  readonly range: MentorRange;
  /** The code the finding is about. */
  readonly text: string;
}
export interface NotHelpfulArgs {
  readonly uri: string;
  readonly ruleId: string;
  readonly range: MentorRange;
}
export interface FixAppliedArgs {
  readonly uri: string;
  readonly ruleId: string;
  readonly range: MentorRange;
  /** sha256 (hex) of the code the fix replaced, so an acceptance can be tied to what was there. */
  readonly contentHash?: string;
}

/** What a RustMentor diagnostic's `data` carries for code actions. */
export interface MentorDiagnosticData {
  readonly ruleId: string;
  readonly version: number;
}
