/**
 * The module layer's protocol: `sigil/module.run` and `sigil/module.list`. Each built-in module's input is
 * its own schema here (one definition: the service validates with it, and the MCP server derives its tool
 * schema from it). Only built-in modules exist so far; `module` is a discriminator so more can join.
 */
import { z } from 'zod';
import type { RuleZeroManifest, Verdict } from './rule-zero.js';

export const MODULE_KINDS = { result: 'module.result' } as const;

/** The largest source text a module accepts in one request (2 MiB of UTF-16, about one very large file). */
export const MAX_MODULE_TEXT = 2 * 1024 * 1024;

const ruleId = z.string().min(1).max(128);

export const RustMentorAnalyzeInput = z
  .strictObject({
    action: z.literal('analyze'),
    /** The file's path (absolute, or relative to the workspace). Read from disk when `text` is absent. */
    path: z.string().min(1).max(4096).optional(),
    /** The text to analyse (an editor's unsaved buffer, or a snippet without a file). */
    text: z.string().max(MAX_MODULE_TEXT).optional(),
    testCode: z.enum(['relaxed', 'normal', 'skip']).optional(),
    disabledRules: z.array(ruleId).max(200).optional(),
  })
  .refine((v) => v.path !== undefined || v.text !== undefined, {
    message: 'give the file to analyse as `path`, or its content as `text`',
    path: ['text'],
  });

export const RustMentorFeedbackInput = z.strictObject({
  action: z.literal('feedback'),
  rule: ruleId,
  /** `fixed`: the user applied the rule's fix; `not-helpful`: the user said the finding did not help. */
  outcome: z.enum(['fixed', 'not-helpful']),
  path: z.string().min(1).max(4096).optional(),
});

/** Who may answer an Ask: see `RustMentorAskInput.llm`. */
export const ASK_LLM_CHOICES = ['server', 'editor', 'auto', 'none'] as const;
export type AskLlmChoice = (typeof ASK_LLM_CHOICES)[number];

const position = z.strictObject({ line: z.int().min(0), character: z.int().min(0) });

/** "Ask RustMentor" about a selection or a diagnostic: a model answers when `[llm]` allows, else the rules and docs do. */
export const RustMentorAskInput = z.strictObject({
  action: z.literal('ask'),
  question: z.string().min(1).max(4000).optional(),
  /** The file or the selection asked about. */
  text: z.string().max(MAX_MODULE_TEXT),
  path: z.string().min(1).max(4096).optional(),
  /** The selection inside `text` (LSP positions, UTF-16), when `text` is the whole file. */
  selection: z.strictObject({ start: position, end: position }).optional(),
  /** The rule or diagnostic asked about (`unwrap_used`, `E0382`, `clippy::…`). */
  rule: ruleId.optional(),
  /**
   * Which model may answer. `server` (the default): the `[llm]` endpoint when configured, else the rules and
   * docs. `editor`: the caller's own model (vscode.lm) answers; the result carries a prompt (`prompt`) to
   * send it, and the answer comes back as a {@link RustMentorAskReplyInput}. `auto`: the `[llm]` endpoint
   * when configured, else as `editor`. `none`: the rules and the docs, even with `[llm]` configured.
   */
  llm: z.enum(ASK_LLM_CHOICES).optional(),
});

/** The longest answer an editor's model may hand back (the record keeps at most 100 000 characters). */
export const MAX_EDITOR_ANSWER = 100_000;

const modelName = z.string().min(1).max(256);

/**
 * The second step of an editor-model Ask: the editor's model answered the prompt `promptId` (or could not:
 * `failed` says why, and the rules and the docs answer instead). The model's id, vendor and family are as
 * the editor reports them; the server cannot verify them.
 */
export const RustMentorAskReplyInput = z
  .strictObject({
    action: z.literal('ask'),
    promptId: z
      .string()
      .regex(/^[0-9a-f]{32}$/, 'a prompt id is 32 hex digits, as sigil/module.run returned it'),
    answer: z.string().max(MAX_EDITOR_ANSWER).optional(),
    model: z.strictObject({ id: modelName, vendor: modelName, family: modelName }).optional(),
    failed: z.string().min(1).max(2000).optional(),
  })
  .refine(
    (v) =>
      v.failed === undefined
        ? v.answer !== undefined && v.model !== undefined
        : v.answer === undefined && v.model === undefined,
    {
      message:
        'give either `answer` with the `model` that wrote it, or `failed` with why it could not answer',
      path: ['answer'],
    },
  );

export const RustMentorInput = z.union([
  RustMentorAnalyzeInput,
  RustMentorFeedbackInput,
  RustMentorAskInput,
  RustMentorAskReplyInput,
]);
export type RustMentorInput = z.infer<typeof RustMentorInput>;
export type RustMentorAnalyzeInput = z.infer<typeof RustMentorAnalyzeInput>;
export type RustMentorFeedbackInput = z.infer<typeof RustMentorFeedbackInput>;
export type RustMentorAskInput = z.infer<typeof RustMentorAskInput>;
export type RustMentorAskReplyInput = z.infer<typeof RustMentorAskReplyInput>;

export const ModuleParams = {
  run: z.strictObject({
    module: z.literal('rustmentor'),
    input: RustMentorInput,
    /** Store the result as a signed `module.result` record (default true). */
    record: z.boolean().optional(),
    /** Groups the results of one editor or agent session. */
    sessionId: z.string().min(1).max(128).optional(),
  }),
  list: z.strictObject({}),
} as const;
export type ModuleRunParams = z.infer<typeof ModuleParams.run>;

/** One finding as the front doors show it: the rule's finding with its mentoring. */
export interface MentorDiagnostic {
  readonly file: string | null;
  readonly range: {
    readonly start: { readonly line: number; readonly character: number };
    readonly end: { readonly line: number; readonly character: number };
  };
  readonly rule: string;
  readonly clippy: string | null;
  readonly severity: 'error' | 'warning' | 'information' | 'hint';
  readonly message: string;
  /** The mentoring: what, why, how to fix (one line once the user has fixed this rule often enough). */
  readonly explanation: string;
  /** Whether the explanation was shortened because the user already knows the rule. */
  readonly brief: boolean;
  readonly citations: readonly {
    readonly title: string;
    readonly url: string | null;
    readonly path: string | null;
  }[];
  readonly fix?: {
    readonly title: string;
    readonly edits: readonly {
      readonly range: MentorDiagnostic['range'];
      readonly newText: string;
    }[];
  };
}

/** How far a user has come with one rule (kept in their memory, namespace `user:<subject>`). */
export interface RuleProgress {
  readonly seen: number;
  readonly fixed: number;
  readonly notHelpful: number;
}

export interface ModuleRunResult {
  readonly module: string;
  readonly verdict: Verdict;
  /** The signed `module.result` record, or null when `record: false`. */
  readonly recordId: string | null;
  readonly result: RuleZeroManifest;
  /** RustMentor's findings with their mentoring (analyze). */
  readonly diagnostics: readonly MentorDiagnostic[];
  /** RustMentor's learning progress for the rule (feedback), or null. */
  readonly progress: RuleProgress | null;
  /** What the module could not do under this licence (e.g. remember progress without memory.write). */
  readonly notes: readonly string[];
  /** RustMentor's answer (ask): the text to show, what the guard rails flagged, and the model or null. */
  readonly answer?: AskAnswer;
  /**
   * An Ask the editor's model is to answer (`llm: "editor"` or `"auto"`): send `messages` to it and return
   * its answer with `promptId`. Such a result is not recorded (`recordId` null): the reply is.
   */
  readonly prompt?: EditorPrompt;
}

/** A prompt built, redacted, capped and deny-listed by the server, for the editor's model to answer. */
export interface EditorPrompt {
  readonly promptId: string;
  /** SHA-256 of `JSON.stringify(messages)`: what the record will name as the prompt the model saw. */
  readonly sha256: string;
  readonly messages: readonly { readonly role: 'system' | 'user'; readonly content: string }[];
  /** The `[llm] max_tokens` limit, for a model API that takes one. */
  readonly maxTokens: number;
  /** After this (ISO 8601) the server has forgotten the prompt and the reply is refused. */
  readonly expiresAt: string;
}

export interface AskAnswer {
  readonly text: string;
  readonly flags: readonly string[];
  /** The model that answered, or null when the rules and the docs did. */
  readonly model: string | null;
}

export interface ModuleManifestView {
  readonly id: string;
  readonly version: string;
  readonly description: string;
  readonly requiredLoa: 'guest' | 'observer' | 'operator' | 'mentor' | 'root';
  readonly capabilities: readonly string[];
}
