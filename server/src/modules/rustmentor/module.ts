/**
 * RustMentor as a module: `analyze` runs the rules on a file or snippet, cites the docs that teach each
 * finding (the local index when there is one), shortens explanations the user no longer needs (their
 * progress in memory), and returns a Rule Zero body; `feedback` records that the user applied a fix or
 * found a finding unhelpful, as trust feedback for the module and as progress in the user's memory.
 */
import type {
  MentorDiagnostic,
  ModuleRunParams,
  RuleProgress,
  RustMentorAnalyzeInput,
  RustMentorFeedbackInput,
} from '../../../../shared/src/modules.js';
import { SigilError } from '../../../../shared/src/errors.js';
import { sha256Hex } from '../../../../shared/src/hash.js';
import {
  MAX_RULE_ZERO_FINDINGS,
  type RuleZeroCitation,
  type RuleZeroFinding,
} from '../../../../shared/src/rule-zero.js';
import { analyzeTree, ruleById } from '../../mentor/analyze.js';
import { loadRustGrammar } from '../../mentor/parser.js';
import type { Finding, Rule } from '../../mentor/types.js';
import { VERSION } from '../../version.js';
import type { ModuleContext } from '../context.js';
import type { BuiltinModule, ModuleOutcome } from '../host.js';
import type { ModuleManifest } from '../manifest.js';
import { ask, askReply } from './ask.js';
import { progressOf, readProgress, updateProgress } from './progress.js';
import { crateRootLevels, resolveSource } from './source.js';

export const RUSTMENTOR_MANIFEST: ModuleManifest = {
  id: 'rustmentor',
  version: VERSION,
  description:
    'Mentors Rust code: syntactic rules with clippy equivalents, explained and cited from the Rust docs',
  requiredLoa: 'operator',
  capabilities: ['rag.query', 'memory.read', 'memory.write', 'trust.feedback', 'llm'],
};

/** After this many applied fixes of a rule, its explanation shrinks to one line. */
function adaptiveAfter(ctx: ModuleContext): number {
  return ctx.config.mentor.adaptive_after;
}

export function explanationText(rule: Rule, brief: boolean): string {
  const e = rule.explanation;
  if (brief) return `${e.what} (you have fixed this before; hover "Explain" for the full text)`;
  return `${e.what}\n\nWhy it matters: ${e.why}\n\nHow to fix it: ${e.fix}`;
}

function toRuleZeroFinding(f: Finding): RuleZeroFinding {
  return {
    rule: f.ruleId,
    clippy: f.clippy,
    severity: f.severity,
    message: f.message,
    range: f.range,
    ...(f.fix ? { fix: { title: f.fix.title, edits: f.fix.edits.map((e) => ({ ...e })) } } : {}),
  };
}

async function analyze(input: RustMentorAnalyzeInput, ctx: ModuleContext): Promise<ModuleOutcome> {
  const source = await resolveSource(input, ctx.workspace);
  const grammar = await loadRustGrammar();
  const inherited =
    source.absolute && ctx.workspace ? await crateRootLevels(source.absolute, ctx.workspace) : undefined;
  const tree = grammar.parse(source.text);
  let findings: Finding[];
  let partial: boolean;
  try {
    partial = tree.rootNode.hasError;
    findings = analyzeTree(tree, source.text, {
      ...(source.path ? { path: source.path } : {}),
      ...(input.testCode ? { testCode: input.testCode } : {}),
      ...(input.disabledRules ? { disabledRules: input.disabledRules } : {}),
      ...(inherited ? { inheritedLints: inherited } : {}),
    });
  } finally {
    tree.delete();
  }

  const progress = await readProgress(ctx);
  const threshold = adaptiveAfter(ctx);
  const citationsByRule = new Map<string, RuleZeroCitation[]>();
  const fired = [...new Set(findings.map((f) => f.ruleId))];
  for (const id of fired) {
    const rule = ruleById(id);
    if (!rule) continue;
    const cites: RuleZeroCitation[] = [];
    for (const link of rule.explanation.learnMore) cites.push(await ctx.cite(link));
    citationsByRule.set(id, cites);
  }
  const brief = new Set(
    fired.filter((id) => progress !== null && progressOf(progress.rules, id).fixed >= threshold),
  );
  const diagnostics: MentorDiagnostic[] = findings.map((f) => {
    const rule = ruleById(f.ruleId);
    return {
      file: source.path,
      range: f.range,
      rule: f.ruleId,
      clippy: f.clippy,
      severity: f.severity,
      message: f.message,
      explanation: rule ? explanationText(rule, brief.has(f.ruleId)) : f.message,
      brief: brief.has(f.ruleId),
      citations: (citationsByRule.get(f.ruleId) ?? []).map((c) => ({
        title: c.title,
        url: c.url,
        path: c.path,
      })),
      ...(f.fix ? { fix: f.fix } : {}),
    };
  });

  let remembered: Readonly<Record<string, RuleProgress>> | null = null;
  if (fired.length > 0 && ctx.recording)
    remembered = await updateProgress(ctx, (rules) => {
      for (const id of fired) {
        const p = progressOf(rules, id);
        rules[id] = { ...p, seen: p.seen + 1 };
      }
    });

  const allCitations = dedupeCitations([...citationsByRule.values()].flat());
  const kept = findings.slice(0, MAX_RULE_ZERO_FINDINGS);
  const counts = fired.map((id) => `${id} ×${findings.filter((f) => f.ruleId === id).length}`);
  return {
    body: {
      input: {
        kind: source.path ? 'file' : 'snippet',
        path: source.path,
        content_sha256: sha256Hex(source.text),
        bytes: Buffer.byteLength(source.text, 'utf8'),
        language: 'rust',
      },
      context: {
        module_id: RUSTMENTOR_MANIFEST.id,
        module_version: RUSTMENTOR_MANIFEST.version,
        parameters: {
          test_code: input.testCode ?? 'relaxed',
          disabled_rules: [...(input.disabledRules ?? [])],
          crate_lint_levels: inherited ? inherited.size : 0,
          adaptive_after: threshold,
          brief_rules: [...brief],
          progress_known: progress !== null,
          progress_remembered: remembered !== null,
          parsed_cleanly: !partial,
        },
      },
      reasoning: {
        summary:
          findings.length === 0
            ? `no rule fired on ${source.path ?? 'the snippet'}${partial ? ' (parts of it did not parse)' : ''}`
            : `${findings.length} finding(s) from syntactic rules without type information: ${counts.join(', ')}${partial ? '; parts of the file did not parse, so rules ran only on what did' : ''}`,
        rules: fired,
        citations: allCitations,
        llm: null,
      },
      suggestion: {
        summary:
          findings.length === 0
            ? 'nothing to change'
            : `${findings.length} suggestion(s), ${findings.filter((f) => f.fix).length} with a quick fix`,
        findings: kept.map(toRuleZeroFinding),
        truncated: findings.length - kept.length,
        text: null,
      },
      // Advice on code that parsed is fine to show; on a file that did not parse it may be incomplete.
      verdict: partial ? 'Defer' : 'Allow',
    },
    diagnostics,
    progress: null,
  };
}

function dedupeCitations(cites: readonly RuleZeroCitation[]): RuleZeroCitation[] {
  const seen = new Set<string>();
  const out: RuleZeroCitation[] = [];
  for (const c of cites) {
    const key = `${c.record_id ?? ''}|${c.url ?? ''}|${c.title}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(c);
  }
  return out.slice(0, 200);
}

async function feedback(input: RustMentorFeedbackInput, ctx: ModuleContext): Promise<ModuleOutcome> {
  const rule = ruleById(input.rule);
  // Compiler and clippy findings (E0382, clippy::x) are RustMentor's too once merged; only an unknown
  // RustMentor-style id is a caller error.
  if (!rule && !/^(E\d{4}|clippy::[a-z0-9_]+)$/.test(input.rule))
    throw new SigilError('BAD_INPUT', `no RustMentor rule ${JSON.stringify(input.rule)}`, {
      field: 'input.rule',
    });
  const good = input.outcome === 'fixed';
  const note = `${input.outcome}: ${input.rule}${input.path ? ` in ${input.path}` : ''}`.slice(0, 500);
  try {
    await ctx.feedback(good ? 'good' : 'bad', note);
  } catch (e) {
    if (!(e instanceof SigilError && e.code === 'ACCESS_DENIED')) throw e;
    ctx.notes.push(`the module's trust was not updated: ${e.message}`);
  }
  const rules = await updateProgress(ctx, (r) => {
    const p = progressOf(r, input.rule);
    r[input.rule] = good ? { ...p, fixed: p.fixed + 1 } : { ...p, notHelpful: p.notHelpful + 1 };
  });
  const progress = rules ? progressOf(rules, input.rule) : null;
  return {
    body: {
      input: {
        kind: 'feedback',
        path: input.path ?? null,
        content_sha256: null,
        bytes: null,
        language: 'rust',
      },
      context: {
        module_id: RUSTMENTOR_MANIFEST.id,
        module_version: RUSTMENTOR_MANIFEST.version,
        parameters: { rule: input.rule, outcome: input.outcome, adaptive_after: adaptiveAfter(ctx) },
      },
      reasoning: {
        summary: `the user ${good ? 'applied the fix of' : 'found unhelpful'} ${input.rule}`,
        rules: [input.rule],
        citations: [],
        llm: null,
      },
      suggestion: {
        summary: progress
          ? `${input.rule}: fixed ${progress.fixed}, not helpful ${progress.notHelpful}, seen ${progress.seen}`
          : `${input.rule}: progress not remembered under this licence`,
        findings: [],
        truncated: 0,
        text: null,
      },
      verdict: 'Allow',
    },
    progress,
  };
}

export const RUSTMENTOR: BuiltinModule = {
  manifest: RUSTMENTOR_MANIFEST,
  run(input: ModuleRunParams['input'], ctx: ModuleContext): Promise<ModuleOutcome> {
    if (input.action === 'ask') return 'promptId' in input ? askReply(input, ctx) : ask(input, ctx);
    return input.action === 'analyze' ? analyze(input, ctx) : feedback(input, ctx);
  },
};
