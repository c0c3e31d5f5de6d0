/**
 * The module host: runs a built-in module for a request the gate let in (`module.run`), completes what the
 * module returned into a Rule Zero manifest (audit, trust, scope), refuses and audits any result that does
 * not satisfy the schema, and stores a valid one as a signed `module.result` record linked to its input,
 * its citations and the licence it ran under.
 */
import { randomUUID } from 'node:crypto';
import { SigilError, toSigilError } from '../../../shared/src/errors.js';
import type { JsonValue } from '../../../shared/src/jcs.js';
import { loaLevel, loaRank } from '../../../shared/src/policy.js';
import type { RecordLink } from '../../../shared/src/record.js';
import {
  MODULE_KINDS,
  type AskAnswer,
  type EditorPrompt,
  type MentorDiagnostic,
  type ModuleManifestView,
  type ModuleRunParams,
  type ModuleRunResult,
  type RuleProgress,
} from '../../../shared/src/modules.js';
import { RULE_ZERO_SCHEMA, ruleZeroProblems, type RuleZeroManifest } from '../../../shared/src/rule-zero.js';
import type { Access } from '../governance/gate.js';
import type { SigilRuntime } from '../runtime/home.js';
import { ModuleContext } from './context.js';
import { manifestView, moduleSubject, type ModuleManifest } from './manifest.js';

/** What a module computes; the host adds the parts only it may vouch for. */
export type ModuleBody = Omit<RuleZeroManifest, 'schema' | 'audit' | 'trust' | 'scope' | 'witnesses'>;

export interface ModuleOutcome {
  readonly body: ModuleBody;
  readonly answer?: AskAnswer;
  /** A prompt for the caller's own model: the result is returned, not stored (the answer's will be). */
  readonly pending?: EditorPrompt;
  readonly diagnostics?: readonly MentorDiagnostic[];
  readonly progress?: RuleProgress | null;
}

export interface BuiltinModule {
  readonly manifest: ModuleManifest;
  run(input: ModuleRunParams['input'], ctx: ModuleContext): Promise<ModuleOutcome>;
}

/** Link at most this many cited chunk records (a record carries at most 64 links). */
const MAX_CITE_LINKS = 60;

export class ModuleHost {
  readonly #modules = new Map<string, BuiltinModule>();
  readonly #onResult: ((r: ModuleRunResult) => void) | undefined;

  /** `onResult` sees every valid result the host returns (the language server learns citations from it). */
  constructor(modules: readonly BuiltinModule[], onResult?: (r: ModuleRunResult) => void) {
    for (const m of modules) this.#modules.set(m.manifest.id, m);
    this.#onResult = onResult;
  }

  list(): ModuleManifestView[] {
    return [...this.#modules.values()].map((m) => manifestView(m.manifest));
  }

  async run(
    rt: SigilRuntime,
    access: Access,
    p: ModuleRunParams,
    workspace: string | null,
  ): Promise<ModuleRunResult> {
    const module = this.#modules.get(p.module);
    if (!module)
      throw new SigilError('NOT_FOUND', `no module ${JSON.stringify(p.module)}; see sigil/module.list`, {
        field: 'module',
      });
    const m = module.manifest;
    if (access.caller.loa < loaRank(m.requiredLoa))
      throw new SigilError(
        'ACCESS_DENIED',
        `module ${m.id} requires LOA ${m.requiredLoa}; the caller holds ${loaLevel(access.caller.loa)}`,
        { operation: 'module.run', cause: 'loa', module: m.id, required: { loa: m.requiredLoa } },
      );
    const sessionId = p.sessionId ?? randomUUID();
    const ctx = new ModuleContext(rt, access, m, { sessionId, workspace, recording: p.record !== false });
    let outcome: ModuleOutcome;
    try {
      outcome = await module.run(p.input, ctx);
    } catch (e) {
      const err = toSigilError(e);
      if (err.code === 'INTERNAL')
        throw new SigilError(
          'INTERNAL',
          `module ${m.id} failed: ${err.message}`,
          { module: m.id },
          { cause: e },
        );
      throw err;
    }
    if (outcome.body.reasoning.llm !== null && !m.capabilities.includes('llm')) {
      const err = new SigilError(
        'MODULE_RESULT_INVALID',
        `module ${m.id} returned a model's answer but does not declare the llm capability in its manifest; it was refused and not stored`,
        { module: m.id, problems: ['reasoning.llm: capability llm not declared'] },
      );
      await rt.governance.auditRefusal(access, err);
      throw err;
    }
    const manifest = this.#complete(rt, access, m, outcome.body, sessionId);
    const problems = ruleZeroProblems(manifest);
    if (problems.length > 0) {
      const err = new SigilError(
        'MODULE_RESULT_INVALID',
        `module ${m.id} returned a result that is not a valid Rule Zero manifest (${problems.join('; ')}); it was refused and not stored`,
        { module: m.id, problems },
      );
      await rt.governance.auditRefusal(access, err);
      throw err;
    }
    let recordId: string | null = null;
    if (p.record !== false && !outcome.pending) {
      const [rec] = await rt.governance.write(
        access,
        [
          {
            kind: MODULE_KINDS.result,
            space: 'data',
            actor: moduleSubject(m.id),
            payload: manifest as unknown as JsonValue,
            links: resultLinks(manifest),
          },
        ],
        { module: m.id, verdict: manifest.verdict },
      );
      recordId = rec?.id ?? null;
    }
    const out: ModuleRunResult = {
      module: m.id,
      verdict: manifest.verdict,
      recordId,
      result: manifest,
      diagnostics: outcome.diagnostics ?? [],
      progress: outcome.progress ?? null,
      notes: [...ctx.notes],
      ...(outcome.answer ? { answer: outcome.answer } : {}),
      ...(outcome.pending ? { prompt: outcome.pending } : {}),
    };
    // A prompt still waiting for its answer has told nothing yet that an observer should learn from.
    if (outcome.pending) return out;
    try {
      this.#onResult?.(out);
    } catch {
      // an observer's failure is not the caller's
    }
    return out;
  }

  #complete(
    rt: SigilRuntime,
    access: Access,
    m: ModuleManifest,
    body: ModuleBody,
    sessionId: string,
  ): RuleZeroManifest {
    const gov = rt.governance;
    const policy = gov.table['module.run'];
    // The module's own standing: feedback on its results (fixes applied, "not helpful") moves this score;
    // a module that has sunk below the threshold may still advise, but only for a person to review.
    const trust = gov.explainFor(moduleSubject(m.id), access.caller.loa, policy, false);
    const allowed = trust.score >= policy.trustThreshold;
    const verdict = !allowed && body.verdict === 'Allow' ? 'ManualReview' : body.verdict;
    return {
      schema: RULE_ZERO_SCHEMA,
      ...body,
      verdict,
      audit: {
        timestamp: new Date(gov.now()).toISOString(),
        session_id: sessionId,
        loa: loaLevel(access.caller.loa),
        chain_id: access.caller.licenseId ?? access.caller.subject,
      },
      trust: { model_id: gov.trustModelId(), score: trust.score, allowed },
      scope: { user_id: access.caller.subject, module_id: m.id, session_id: sessionId },
      witnesses: [],
    };
  }
}

function resultLinks(r: RuleZeroManifest): RecordLink[] {
  const links: RecordLink[] = [];
  if (r.input.content_sha256)
    links.push({
      rel: 'input',
      hash: r.input.content_sha256,
      ...(r.input.path ? { note: r.input.path.slice(0, 1024) } : {}),
    });
  links.push({ rel: 'licence', note: r.audit.chain_id.slice(0, 1024) });
  const cited = new Set<string>();
  for (const c of r.reasoning.citations) if (c.record_id) cited.add(c.record_id);
  for (const id of [...cited].slice(0, MAX_CITE_LINKS)) links.push({ rel: 'cites', id });
  return links;
}
