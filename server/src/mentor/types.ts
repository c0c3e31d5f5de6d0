/** The shapes shared by RustMentor's rules, its engine and its callers (pure data, no behaviour). */
import type { Node } from 'web-tree-sitter';
import type { Range } from './positions.js';

export type { Position, Range } from './positions.js';

export type Severity = 'error' | 'warning' | 'information' | 'hint';

export type Category =
  'panics' | 'safety' | 'style' | 'complexity' | 'performance' | 'output' | 'async' | 'api';

/** clippy's lint groups; `style`…`suspicious` are on by default, the others must be enabled. */
export type ClippyGroup =
  'style' | 'complexity' | 'perf' | 'correctness' | 'suspicious' | 'pedantic' | 'restriction' | 'nursery';

export interface LearnMore {
  readonly title: string;
  /** A doc.rust-lang.org page (the Book, the Reference, std, the error index or clippy's lint list). */
  readonly url: string;
  /** What the page teaches, for retrieval from the local docs index when there is one. */
  readonly topic: string;
}

export interface Explanation {
  readonly what: string;
  readonly why: string;
  readonly fix: string;
  readonly learnMore: readonly LearnMore[];
}

export interface TextEdit {
  readonly range: Range;
  readonly newText: string;
}

export interface QuickFix {
  readonly title: string;
  readonly edits: readonly TextEdit[];
}

/** One thing RustMentor reports, in LSP coordinates (0-based lines, UTF-16 characters). */
export interface Finding {
  readonly ruleId: string;
  readonly clippy: string | null;
  readonly category: Category;
  readonly severity: Severity;
  readonly message: string;
  readonly range: Range;
  readonly fix?: QuickFix;
}

/** An edit in offsets (UTF-16 code units) of the analysed text; the engine turns it into a range. */
export interface OffsetEdit {
  readonly start: number;
  readonly end: number;
  readonly newText: string;
}

/** What a rule's check yields: the node it is about (for suppressions), and optionally a narrower span. */
export interface RuleHit {
  readonly node: Node;
  readonly start?: number;
  readonly end?: number;
  readonly message?: string;
  readonly fix?: { readonly title: string; readonly edits: readonly OffsetEdit[] };
}

export type CrateKind = 'lib' | 'bin' | 'unknown';

/** What a rule may ask about the file being analysed. */
export interface RuleContext {
  readonly source: string;
  readonly root: Node;
  /** Every node of these types, in document order. */
  nodesOfType(...types: string[]): readonly Node[];
  /** Whether the node is test code (test file, `#[cfg(test)]` module, `#[test]` function, …). */
  isTestCode(node: Node): boolean;
  readonly crateKind: CrateKind;
  readonly path: string | undefined;
  /** Whether this file's module is reachable from outside the crate: true for a crate root, otherwise only
   * when the caller knows (one file says nothing about `mod` declarations elsewhere). */
  readonly moduleExported: boolean;
}

/** How a rule treats test code: `relaxed` rules (unwrap, panic, …) are silent there unless configured. */
export type TestCodePolicy = 'relaxed' | 'normal';

export interface Rule {
  readonly id: string;
  /** `clippy::<lint>` when clippy has the same lint. */
  readonly clippy?: string;
  readonly clippyGroup?: ClippyGroup;
  readonly category: Category;
  readonly defaultSeverity: Severity;
  readonly message: string;
  readonly explanation: Explanation;
  readonly testCode: TestCodePolicy;
  /** Whether the rule offers a quick fix (for the registry; the fix itself comes with each hit). */
  readonly hasQuickFix: boolean;
  check(ctx: RuleContext): Iterable<RuleHit>;
}
