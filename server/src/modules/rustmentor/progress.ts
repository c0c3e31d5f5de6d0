/**
 * RustMentor's memory of a user: per rule, how often it was shown in a recorded analysis, how often the user
 * applied its fix and how often they said it did not help. It lives in the user's own memory
 * (`user:<subject>`, key `rustmentor/progress`) so the Memory view shows it and `memory forget` erases it.
 */
import { SigilError } from '../../../../shared/src/errors.js';
import type { RuleProgress } from '../../../../shared/src/modules.js';
import type { ModuleContext } from '../context.js';

export const PROGRESS_KEY = 'rustmentor/progress';
const EMPTY: RuleProgress = { seen: 0, fixed: 0, notHelpful: 0 };

export interface ProgressSnapshot {
  readonly rules: Readonly<Record<string, RuleProgress>>;
  /** The memory entry's version (0: none yet), for compare-and-set. */
  readonly version: number;
}

export function progressNamespace(subject: string): string {
  return `user:${subject}`;
}

function parseProgress(text: string): Record<string, RuleProgress> {
  try {
    const v = JSON.parse(text) as { rules?: Record<string, Partial<RuleProgress>> };
    const out: Record<string, RuleProgress> = {};
    for (const [rule, p] of Object.entries(v.rules ?? {})) {
      const n = (x: unknown): number =>
        typeof x === 'number' && Number.isFinite(x) && x >= 0 ? Math.floor(x) : 0;
      out[rule] = { seen: n(p.seen), fixed: n(p.fixed), notHelpful: n(p.notHelpful) };
    }
    return out;
  } catch {
    // A hand-edited entry that is not ours any more starts over rather than breaking mentoring.
    return {};
  }
}

/** The user's progress, or null when this licence may not read it (the reason goes to the notes). */
export async function readProgress(ctx: ModuleContext): Promise<ProgressSnapshot | null> {
  try {
    const r = await ctx.memory.get(progressNamespace(ctx.subject), PROGRESS_KEY);
    return { rules: parseProgress(r.entry.text), version: r.entry.version };
  } catch (e) {
    if (e instanceof SigilError && e.code === 'NOT_FOUND') return { rules: {}, version: 0 };
    ctx.notes.push(`learning progress is not read: ${(e as Error).message}`);
    return null;
  }
}

/**
 * Applies `change` to the stored progress with compare-and-set (retrying once on a concurrent update).
 * Returns the new progress, or null when this licence may not write memory (the reason goes to the notes).
 */
export async function updateProgress(
  ctx: ModuleContext,
  change: (rules: Record<string, RuleProgress>) => void,
): Promise<Readonly<Record<string, RuleProgress>> | null> {
  for (let attempt = 0; attempt < 2; attempt++) {
    const snap = await readProgress(ctx);
    if (!snap) return null;
    const rules: Record<string, RuleProgress> = { ...snap.rules };
    change(rules);
    const sorted = Object.fromEntries(Object.entries(rules).sort(([a], [b]) => (a < b ? -1 : 1)));
    try {
      await ctx.memory.write({
        namespace: progressNamespace(ctx.subject),
        key: PROGRESS_KEY,
        text: JSON.stringify({ rules: sorted }),
        tags: ['rustmentor'],
        ifVersion: snap.version,
      });
      return sorted;
    } catch (e) {
      if (e instanceof SigilError && e.code === 'CONFLICT' && attempt === 0) continue;
      if (e instanceof SigilError && (e.code === 'ACCESS_DENIED' || e.code === 'CONFLICT')) {
        ctx.notes.push(`learning progress is not remembered: ${e.message}`);
        return null;
      }
      throw e;
    }
  }
  return null;
}

export function progressOf(rules: Readonly<Record<string, RuleProgress>>, rule: string): RuleProgress {
  return rules[rule] ?? EMPTY;
}
