/** The markdown a reader sees for a rule: in hovers and in the "Explain" document. */
import type { Rule } from '../mentor/types.js';
import type { Citation } from './citations.js';

function ruleTitle(rule: Rule): string {
  return rule.clippy ? `\`${rule.id}\` (\`${rule.clippy}\`)` : `\`${rule.id}\``;
}

function learnMore(citations: readonly Citation[]): string[] {
  if (citations.length === 0) return [];
  return ['', '**Learn more**', '', ...citations.map((c) => `- [${c.title}](${c.url})`)];
}

/** What, why, how to fix and the citations; `message` is the finding's own wording when there is one. */
export function explanationMarkdown(rule: Rule, citations: readonly Citation[], message?: string): string {
  const e = rule.explanation;
  return [
    `**RustMentor** ${ruleTitle(rule)}: ${message ?? rule.message}`,
    '',
    `**What.** ${e.what}`,
    '',
    `**Why.** ${e.why}`,
    '',
    `**How to fix.** ${e.fix}`,
    ...learnMore(citations),
  ].join('\n');
}
