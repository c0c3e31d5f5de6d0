/**
 * Where a rule's "Learn more" links come from. One seam: the default reads each rule's own
 * `explanation.learnMore` (doc.rust-lang.org pages); a provider backed by the local docs index can replace it
 * without the diagnostics, hover or code actions changing.
 */
import { ruleById } from '../mentor/rules/index.js';

export interface Citation {
  readonly title: string;
  readonly url: string;
  /** A local copy of the page (from the docs index), when there is one. */
  readonly path?: string;
}

export interface CitationProvider {
  citationsFor(ruleId: string): readonly Citation[];
}

export const ruleCitations: CitationProvider = {
  citationsFor(ruleId) {
    const rule = ruleById(ruleId);
    return rule ? rule.explanation.learnMore.map(({ title, url }) => ({ title, url })) : [];
  },
};

/** The part of a module result the editor's citations learn from (shared/src/modules.ts ModuleRunResult). */
export interface CitedDiagnostics {
  readonly diagnostics: ReadonlyArray<{
    readonly rule: string;
    readonly citations: ReadonlyArray<{
      readonly title: string;
      readonly url: string | null;
      readonly path: string | null;
    }>;
  }>;
}

/**
 * Citations from the local docs index, learnt from the last gated RustMentor analysis (the editor's save, run
 * under its licence): hovers and diagnostics of this session then point at the indexed section, while the
 * language server itself never queries the index without a licence. Rules not seen yet keep their fixed links.
 */
export class IndexedCitations implements CitationProvider {
  readonly #byRule = new Map<string, readonly Citation[]>();

  learn(result: CitedDiagnostics): void {
    for (const d of result.diagnostics) {
      const indexed = d.citations
        .filter((c): c is { title: string; url: string; path: string } => c.url !== null && c.path !== null)
        .map(({ title, url, path }) => ({ title, url, path }));
      if (indexed.length > 0) this.#byRule.set(d.rule, indexed);
    }
  }

  citationsFor(ruleId: string): readonly Citation[] {
    return this.#byRule.get(ruleId) ?? ruleCitations.citationsFor(ruleId);
  }
}
