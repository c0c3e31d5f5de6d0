/**
 * "Ask RustMentor" about a selection or a diagnostic. With `[llm]` enabled the question, the code and the
 * retrieved documentation go to the configured model — after redaction and the deny list, within the
 * prompt cap — and the answer's code is parsed and flagged before anyone sees it; the result records the
 * model, the hash of the exact request and the citations, and is always a ManualReview (a person reviews
 * generated code). Without a model (disabled, or it could not be asked), the rules and the docs answer.
 *
 * The editor's own model (vscode.lm) answers in two requests, because this code runs in the store owner,
 * which may be a `sigil serve` process that cannot reach the editor: the first builds the same prompt
 * through the same guard rails and hands it to the editor (kept in {@link PENDING} meanwhile, nothing
 * recorded), the second brings the editor's answer back to the same checks and the same record. The
 * prompt hash is the server's own, of what it handed out; the model id is only as the editor reports it.
 */
import { sha256Hex as sha256 } from '../../../../shared/src/hash.js';
import type {
  AskAnswer,
  EditorPrompt,
  RustMentorAskInput,
  RustMentorAskReplyInput,
} from '../../../../shared/src/modules.js';
import { SigilError } from '../../../../shared/src/errors.js';
import type { RagCitation } from '../../../../shared/src/protocol.js';
import type { RuleZeroCitation, Verdict } from '../../../../shared/src/rule-zero.js';
import { checkAnswer } from '../../llm/answer-check.js';
import { chatComplete, type ChatMessage } from '../../llm/client.js';
import { DenyList } from '../../llm/deny-list.js';
import { PendingPrompts } from '../../llm/pending-prompts.js';
import { buildPrompt, type BuiltPrompt } from '../../llm/prompt.js';
import { redact } from '../../llm/redact.js';
import type { LlmSettings } from '../../llm/settings.js';
import { analyzeTree, ruleById } from '../../mentor/analyze.js';
import { loadRustGrammar } from '../../mentor/parser.js';
import type { Finding, Rule } from '../../mentor/types.js';
import type { ModuleContext } from '../context.js';
import type { ModuleBody, ModuleOutcome } from '../host.js';
import { explanationText } from './module.js';

/** Passages retrieved for a question (each is a chunk of a few hundred words). */
const PASSAGES = 3;
/** Findings of the rules quoted in an offline answer. */
const MAX_OFFLINE_FINDINGS = 5;
const MAX_ANSWER_CHARS = 100_000;

export interface AskDeps {
  /** Injected by tests; defaults to the global fetch. */
  readonly fetch?: typeof fetch;
}

/** A model's answer as the record names it. */
interface ModelReply {
  readonly text: string;
  readonly model: string;
  readonly endpoint: string;
  readonly promptSha256: string;
  readonly via: 'http' | 'vscode.lm';
}

/** What an editor-model Ask keeps between its two requests: everything the answer's record needs. */
interface PendingAsk extends Omit<AskRun, 'ctx'> {
  readonly hits: readonly RagCitation[];
  readonly promptSha256: string;
}

/** One table per process: the store owner is one process, and an entry is bound to the caller's subject. */
const PENDING = new PendingPrompts<PendingAsk>();

function defaultQuestion(rule: Rule | undefined, ruleId: string | undefined): string {
  if (ruleId) return `What does ${rule ? `the ${ruleId} finding` : ruleId} mean here, and how do I fix it?`;
  return 'Explain this code and how to make it more idiomatic Rust.';
}

function offsetOf(text: string, p: { line: number; character: number }): number {
  let offset = 0;
  for (let line = 0; line < p.line; line++) {
    const nl = text.indexOf('\n', offset);
    if (nl < 0) return text.length;
    offset = nl + 1;
  }
  return Math.min(offset + p.character, text.length);
}

/** The code the user asked about: the selection when there is one, else all of `text`. */
function selected(input: RustMentorAskInput): string {
  if (!input.selection) return input.text;
  const from = offsetOf(input.text, input.selection.start);
  const to = offsetOf(input.text, input.selection.end);
  return to > from ? input.text.slice(from, to) : input.text;
}

function citationOf(hit: RagCitation): RuleZeroCitation {
  return {
    title:
      (hit.source.heading ? `${hit.source.title} — ${hit.source.heading}` : hit.source.title).slice(0, 512) ||
      hit.key.slice(0, 512),
    url: hit.source.url,
    path: hit.source.path,
    root: hit.source.root,
    record_id: hit.recordId,
    licence: hit.source.licence,
  };
}

function linkCitations(rule: Rule | undefined): RuleZeroCitation[] {
  return (rule?.explanation.learnMore ?? []).map((l) => ({
    title: l.title,
    url: l.url,
    path: null,
    root: null,
    record_id: null,
    licence: null,
  }));
}

async function findingsIn(input: RustMentorAskInput): Promise<Finding[]> {
  const grammar = await loadRustGrammar();
  const tree = grammar.parse(input.text);
  try {
    const all = analyzeTree(tree, input.text, input.path ? { path: input.path } : {});
    const sel = input.selection;
    if (!sel) return all;
    return all.filter((f) => f.range.end.line >= sel.start.line && f.range.start.line <= sel.end.line);
  } finally {
    tree.delete();
  }
}

/** The answer without a model: the rule's mentoring, what the rules find in the selection, and the docs. */
async function offlineAnswer(
  input: RustMentorAskInput,
  rule: Rule | undefined,
  hits: readonly RagCitation[],
  why: string,
): Promise<{ text: string; rules: string[] }> {
  const parts: string[] = [`No model was asked: ${why}. RustMentor answers from its rules and the docs.`];
  const rules: string[] = [];
  if (rule) {
    rules.push(rule.id);
    parts.push(`${rule.id}: ${explanationText(rule, false)}`);
  } else if (input.rule) {
    parts.push(
      `${input.rule} is not one of RustMentor's own rules; see the compiler's or clippy's documentation.`,
    );
  }
  const findings = (await findingsIn(input)).filter((f) => f.ruleId !== rule?.id);
  if (findings.length > 0) {
    const lines = findings.slice(0, MAX_OFFLINE_FINDINGS).map((f) => {
      if (!rules.includes(f.ruleId)) rules.push(f.ruleId);
      return `- line ${f.range.start.line + 1}: ${f.ruleId}: ${f.message}`;
    });
    parts.push(`The rules also find here:\n${lines.join('\n')}`);
  }
  for (const [i, h] of hits.entries())
    parts.push(`[${i + 1}] ${citationOf(h).title}${h.source.url ? ` <${h.source.url}>` : ''}\n${h.text}`);
  if (hits.length === 0 && rule)
    parts.push(`Learn more: ${rule.explanation.learnMore.map((l) => `${l.title} <${l.url}>`).join(', ')}`);
  return { text: parts.join('\n\n'), rules };
}

interface AskRun {
  readonly input: RustMentorAskInput;
  readonly ctx: ModuleContext;
  readonly rule: Rule | undefined;
  readonly question: string;
  readonly citations: RuleZeroCitation[];
  readonly parameters: Record<string, string | number | boolean | null | string[]>;
}

function body(
  run: AskRun,
  o: {
    summary: string;
    suggestion: string;
    text: string;
    verdict: Verdict;
    rules: readonly string[];
    llm: ModelReply | null;
  },
): ModuleBody {
  const { input } = run;
  return {
    input: {
      kind: input.selection ? 'selection' : input.path ? 'file' : 'snippet',
      path: input.path ?? null,
      content_sha256: sha256(input.text),
      bytes: Buffer.byteLength(input.text, 'utf8'),
      language: 'rust',
    },
    context: {
      module_id: 'rustmentor',
      module_version: run.ctx.moduleVersion,
      parameters: { ...run.parameters, question_sha256: sha256(run.question) },
    },
    reasoning: {
      summary: o.summary.slice(0, 4000),
      rules: [...o.rules],
      citations: run.citations.slice(0, 200),
      llm: o.llm
        ? {
            model_id: o.llm.model.slice(0, 256),
            prompt_sha256: o.llm.promptSha256,
            endpoint: o.llm.endpoint,
            via: o.llm.via,
          }
        : null,
    },
    suggestion: {
      summary: o.suggestion.slice(0, 4000),
      findings: [],
      truncated: 0,
      text: o.text.slice(0, MAX_ANSWER_CHARS),
    },
    verdict: o.verdict,
  };
}

function fallbackOutcome(run: AskRun, hits: readonly RagCitation[], why: string): Promise<ModuleOutcome> {
  run.ctx.notes.push(`no model was asked: ${why}`);
  run.parameters.fallback = why.slice(0, 2000);
  return offlineAnswer(run.input, run.rule, hits, why).then((offline) => ({
    body: body(run, {
      summary: `answered from RustMentor's rules and ${hits.length} documentation passage(s); no model was asked (${why})`,
      suggestion: 'an answer from the rules and the docs',
      text: offline.text,
      verdict: 'Allow',
      rules: offline.rules,
      llm: null,
    }),
    answer: { text: offline.text, flags: [], model: null },
  }));
}

/** The model's answer through the answer deny list and the code check: the same for every way of asking. */
async function judged(run: AskRun, deny: DenyList, reply: ModelReply, who: string): Promise<ModuleOutcome> {
  const { rule, citations, parameters, input, ctx } = run;
  if (deny.match(reply.text)) {
    const text =
      "RustMentor withheld the model's answer: it matches the configured deny list ([llm] deny_patterns).";
    ctx.notes.push(text);
    return {
      body: body(run, {
        summary: `${who} answered, but the answer matches the deny list and was withheld`,
        suggestion: 'refused: the answer was withheld',
        text,
        verdict: 'Deny',
        rules: rule ? [rule.id] : [],
        llm: reply,
      }),
      answer: { text, flags: ['the answer matches the deny list'], model: reply.model },
    };
  }

  const check = await checkAnswer(reply.text, selected(input));
  parameters.answer_code_blocks = check.blocks;
  parameters.answer_flags = [...check.added];
  const flagsText =
    check.flags.length > 0
      ? `\n\n---\nRustMentor's checks of this answer's code:\n${check.flags.map((f) => `- ${f}`).join('\n')}`
      : '';
  const answer: AskAnswer = { text: reply.text, flags: [...check.flags], model: reply.model };
  return {
    body: body(run, {
      summary: `${who} answered with ${citations.length} citation(s) in the prompt${check.flags.length > 0 ? `; flagged: ${check.flags.join('; ')}` : ''}`,
      suggestion:
        check.flags.length > 0
          ? `a generated answer to review: ${check.flags.join('; ')}`
          : 'a generated answer; review it before applying any of its code',
      text: `${reply.text}${flagsText}`,
      // A person reviews generated code, whatever the checks found.
      verdict: 'ManualReview',
      rules: rule ? [rule.id] : [],
      llm: reply,
    }),
    answer,
  };
}

/** Step one of an editor-model Ask: the prompt goes back to the editor; nothing is recorded yet. */
function editorPrompt(
  run: AskRun,
  hits: readonly RagCitation[],
  messages: readonly ChatMessage[],
  maxTokens: number,
): ModuleOutcome {
  // The hash is of the exact JSON handed out, so a client log of what it sent can be checked against it.
  const promptSha256 = sha256(JSON.stringify(messages));
  const { ctx, ...kept } = run;
  const { id, expiresAt } = PENDING.add(ctx.subject, { ...kept, hits, promptSha256 });
  const pending: EditorPrompt = {
    promptId: id,
    sha256: promptSha256,
    messages: messages.map((m) => ({ role: m.role, content: m.content })),
    maxTokens,
    expiresAt: new Date(expiresAt).toISOString(),
  };
  return {
    body: body(run, {
      summary: `a prompt with ${run.citations.length} citation(s) was prepared for the editor's language model (vscode.lm); the answer is checked and recorded when the editor returns it`,
      suggestion: "waiting for the editor's model to answer",
      text: '',
      verdict: 'ManualReview',
      rules: run.rule ? [run.rule.id] : [],
      llm: null,
    }),
    pending,
  };
}

export async function ask(
  input: RustMentorAskInput,
  ctx: ModuleContext,
  deps: AskDeps = {},
): Promise<ModuleOutcome> {
  const rule = input.rule ? ruleById(input.rule) : undefined;
  const question = input.question ?? defaultQuestion(rule, input.rule);
  const topic = [question, ...(rule?.explanation.learnMore.map((l) => l.topic) ?? [])]
    .join(' ')
    .slice(0, 8000);
  const hits = await ctx.passages(topic, PASSAGES);
  const citations = [...hits.map(citationOf), ...linkCitations(rule)];
  const settings: LlmSettings = await ctx.llm();
  const choice = input.llm ?? 'server';
  const viaEditor = choice === 'editor' || (choice === 'auto' && !settings.enabled);
  const parameters: AskRun['parameters'] = {
    rule: input.rule ?? null,
    llm_enabled: settings.enabled,
    llm_choice: choice,
    deny_list: settings.denyPattern !== null,
    passages: hits.length,
  };
  const run: AskRun = { input, ctx, rule, question, citations, parameters };

  if (choice === 'none') return fallbackOutcome(run, hits, 'the caller asked for no model (llm: "none")');
  if (!viaEditor && !settings.enabled)
    return fallbackOutcome(run, hits, '[llm] provider is "none" (the LLM is disabled)');

  const deny = new DenyList(settings.denyPattern);
  const code = redact(input.text);
  const asked = redact(question);
  const passages = hits.map((h) => ({
    title: citationOf(h).title,
    url: h.source.url,
    text: redact(h.text).text,
  }));
  const diagnostic = rule ? `${rule.id}: ${rule.explanation.what}` : (input.rule ?? null);
  const prompt: BuiltPrompt = buildPrompt({
    question: asked.text,
    code: code.text,
    path: input.path ?? null,
    selection: input.selection ?? null,
    diagnostic,
    passages,
    maxChars: settings.maxPromptChars,
  });
  parameters.redactions = code.count + asked.count;
  parameters.redacted_kinds = [...new Set([...code.kinds, ...asked.kinds])];
  parameters.prompt_chars = prompt.system.length + prompt.user.length;
  parameters.code_cut = prompt.codeCut;
  parameters.passages_cut = prompt.passagesCut;

  const denied = deny.match(`${prompt.system}\n${prompt.user}`);
  if (denied) {
    const text = `RustMentor did not ask the model: the prompt matches the configured deny list ([llm] deny_patterns) at character ${denied.index}. Nothing was sent.`;
    ctx.notes.push(text);
    return {
      body: body(run, {
        summary: 'the prompt was refused by the deny list before anything was sent',
        suggestion: 'refused: nothing was sent to the model',
        text,
        verdict: 'Deny',
        rules: rule ? [rule.id] : [],
        llm: null,
      }),
      answer: { text, flags: ['the prompt matches the deny list'], model: null },
    };
  }

  const messages: ChatMessage[] = [
    { role: 'system', content: prompt.system },
    { role: 'user', content: prompt.user },
  ];
  if (viaEditor) {
    parameters.llm_via = 'vscode.lm';
    return editorPrompt(run, hits, messages, settings.maxTokens);
  }

  let reply: ModelReply;
  try {
    reply = {
      ...(await chatComplete({
        baseUrl: settings.baseUrl,
        model: settings.model,
        messages,
        maxTokens: settings.maxTokens,
        timeoutMs: settings.timeoutMs,
        ...(deps.fetch ? { fetch: deps.fetch } : {}),
      })),
      via: 'http',
    };
  } catch (e) {
    if (e instanceof SigilError && e.code === 'LLM_UNAVAILABLE') return fallbackOutcome(run, hits, e.message);
    throw e;
  }
  return judged(run, deny, reply, reply.model);
}

/**
 * Step two of an editor-model Ask: the editor's answer (or why it has none) to a prompt this caller was
 * handed. The deny list is the one configured now, so a pattern added meanwhile still applies.
 */
export async function askReply(input: RustMentorAskReplyInput, ctx: ModuleContext): Promise<ModuleOutcome> {
  const settings: LlmSettings = await ctx.llm();
  const pending = PENDING.take(ctx.subject, input.promptId);
  const run: AskRun = { ...pending, ctx, parameters: { ...pending.parameters, llm_via: 'vscode.lm' } };
  if (input.failed !== undefined || input.answer === undefined || input.model === undefined)
    return fallbackOutcome(
      run,
      pending.hits,
      `the editor's language model did not answer (${input.failed ?? 'no answer'})`,
    );
  run.parameters.llm_vendor = input.model.vendor;
  run.parameters.llm_family = input.model.family;
  run.parameters.llm_model_source = 'reported by the editor';
  const reply: ModelReply = {
    text: input.answer,
    model: input.model.id,
    endpoint: 'vscode.lm',
    promptSha256: pending.promptSha256,
    via: 'vscode.lm',
  };
  return judged(
    run,
    new DenyList(settings.denyPattern),
    reply,
    `${input.model.id} (${input.model.vendor}, through the editor's vscode.lm)`,
  );
}
