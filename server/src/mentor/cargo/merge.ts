/**
 * One list of findings for a file from RustMentor's rules and cargo's diagnostics, without saying the same
 * thing twice: when a rule with clippy equivalent `clippy::x` and clippy's `clippy::x` cover overlapping
 * ranges, RustMentor's finding stays (it carries the mentoring explanation) and takes clippy's quick fix
 * when it has none of its own. Pure.
 */
import { compareFindings } from '../analyze.js';
import type { Finding, Range } from '../types.js';
import type { CompilerFinding } from './findings.js';

export type MergedFinding =
  | (Finding & { readonly origin: 'mentor'; readonly confirmedBy?: string })
  | (CompilerFinding & { readonly origin: 'compiler' });

function before(a: Range['start'], b: Range['start']): boolean {
  return a.line < b.line || (a.line === b.line && a.character < b.character);
}

function samePos(a: Range['start'], b: Range['start']): boolean {
  return a.line === b.line && a.character === b.character;
}

/** Whether two ranges share text, or are the same (possibly empty) range. */
export function overlaps(a: Range, b: Range): boolean {
  if (samePos(a.start, b.start) && samePos(a.end, b.end)) return true;
  return before(a.start, b.end) && before(b.start, a.end);
}

function sameFinding(a: { ruleId: string; range: Range; message: string }, b: typeof a): boolean {
  return (
    a.ruleId === b.ruleId &&
    a.message === b.message &&
    samePos(a.range.start, b.range.start) &&
    samePos(a.range.end, b.range.end)
  );
}

/** Findings of one file. Either list may hold repeats; each distinct finding comes out once, sorted. */
export function mergeFindings(
  mentor: readonly Finding[],
  compiler: readonly CompilerFinding[],
): MergedFinding[] {
  const distinctCompiler: CompilerFinding[] = [];
  for (const c of compiler) if (!distinctCompiler.some((d) => sameFinding(c, d))) distinctCompiler.push(c);
  const used = new Set<CompilerFinding>();
  const out: MergedFinding[] = [];
  for (const m of mentor) {
    const { origin: _o, confirmedBy, ...plain } = m as Finding & { origin?: string; confirmedBy?: string };
    // Repeats are dropped; a finding that differs in its clippy twin is another finding (fast-check found
    // one dropped together with the twin it would have matched).
    if (out.some((o) => o.origin === 'mentor' && o.clippy === plain.clippy && sameFinding(o, plain)))
      continue;
    const twin = m.clippy
      ? distinctCompiler.find((c) => c.clippy === m.clippy && overlaps(c.range, m.range))
      : undefined;
    if (twin) used.add(twin);
    const fix = plain.fix ?? twin?.fix;
    out.push({
      ...plain,
      ...(fix ? { fix } : {}),
      origin: 'mentor',
      ...(twin ? { confirmedBy: twin.ruleId } : confirmedBy ? { confirmedBy } : {}),
    });
  }
  for (const c of distinctCompiler) {
    if (used.has(c)) continue;
    // a twin of a mentor finding that another clippy report of the same lint already matched
    if (
      out.some(
        (o) => o.origin === 'mentor' && o.clippy === c.clippy && c.clippy && overlaps(o.range, c.range),
      )
    )
      continue;
    const { origin: _o, ...plain } = c as CompilerFinding & { origin?: string };
    out.push({ ...plain, origin: 'compiler' });
  }
  return out.sort((a, b) => compareFindings(a as Finding, b as Finding));
}
