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
