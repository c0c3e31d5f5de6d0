/**
 * Retrieval evaluation: given queries with their known answers (a doc path relative to the docs root and,
 * optionally, the id of the section heading that answers it) and a retriever, computes recall@k, MRR and the
 * queries that missed. Used by bench/rag-eval/ to choose fusion defaults; usable against any retriever
 * (the production index, a remote embedder) because the retriever is just a function.
 */
import { z } from 'zod';
import { SigilError } from '../../../shared/src/errors.js';

export interface EvalExpect {
  /** Relative to the docs root, e.g. `error_codes/E0382.html`. */
  readonly path: string;
  /** Heading id of the answering section (h1–h3); absent: anywhere in the page answers. */
  readonly anchor?: string;
}

export interface EvalQuery {
  readonly query: string;
  /** Any one of these counts as a hit. */
  readonly expect: readonly EvalExpect[];
  /** Free-form class ('error', 'concept', 'api') for per-kind reports. */
  readonly kind?: string;
}

export interface RetrievedRef {
  readonly path: string;
  readonly anchor?: string;
}

export type Retrieve = (query: string, k: number) => Promise<readonly RetrievedRef[]>;

export interface EvalOptions {
  /**
   * true (default): an expectation with an anchor matches only a hit with that anchor. false: a hit anywhere in
   * the expected page counts (for chunkers whose anchors differ from the section ids, or page-level retrieval).
   */
  readonly anchorSensitive?: boolean;
  /** Cutoffs reported in `recallAt`, each ≤ k. Default 1, 3, 5, 10 and k. */
  readonly cutoffs?: readonly number[];
}

export interface QueryOutcome {
  readonly query: string;
  readonly kind?: string;
  /** 1-based rank of the first hit within k, undefined for a miss. */
  readonly rank: number | undefined;
  readonly retrieved: readonly RetrievedRef[];
}

export interface EvalMiss {
  readonly query: string;
  readonly kind?: string;
  readonly expect: readonly EvalExpect[];
  readonly retrieved: readonly RetrievedRef[];
}

export interface EvalReport {
  readonly k: number;
  readonly queries: number;
  /** Share of queries with a hit in the top k. */
  readonly recall: number;
  /** Share of queries with a hit in the top c, for each cutoff c. */
  readonly recallAt: Readonly<Record<number, number>>;
  /** Mean of 1/rank of the first hit (0 for a miss), within k. */
  readonly mrr: number;
  readonly perQuery: readonly QueryOutcome[];
  readonly misses: readonly EvalMiss[];
}

function normalizePath(p: string): string {
  return p.replace(/^(\.\/|\/)+/, '').replace(/#.*$/, '');
}

function normalizeAnchor(a: string | undefined): string | undefined {
  if (a === undefined) return undefined;
  const t = a.replace(/^#/, '');
  return t === '' ? undefined : t;
}

/** Whether `hit` answers `expect` (see {@link EvalOptions.anchorSensitive}). */
export function matches(hit: RetrievedRef, expect: EvalExpect, anchorSensitive = true): boolean {
  if (normalizePath(hit.path) !== normalizePath(expect.path)) return false;
  const want = normalizeAnchor(expect.anchor);
  return !anchorSensitive || want === undefined || normalizeAnchor(hit.anchor) === want;
}

export async function evaluate(
  queries: readonly EvalQuery[],
  retrieve: Retrieve,
  k: number,
  options: EvalOptions = {},
): Promise<EvalReport> {
  if (!Number.isInteger(k) || k < 1)
    throw new SigilError('BAD_INPUT', `evaluate: k must be a positive integer, got ${k}`);
  const anchorSensitive = options.anchorSensitive ?? true;
  const cutoffs = [...new Set([...(options.cutoffs ?? [1, 3, 5, 10]), k])]
    .filter((c) => c >= 1 && c <= k)
    .sort((a, b) => a - b);
  const perQuery: QueryOutcome[] = [];
  const misses: EvalMiss[] = [];
  for (const q of queries) {
    const retrieved = (await retrieve(q.query, k)).slice(0, k);
    const idx = retrieved.findIndex((hit) => q.expect.some((e) => matches(hit, e, anchorSensitive)));
    const rank = idx < 0 ? undefined : idx + 1;
    const kind = q.kind === undefined ? {} : { kind: q.kind };
    perQuery.push({ query: q.query, ...kind, rank, retrieved });
    if (rank === undefined) misses.push({ query: q.query, ...kind, expect: q.expect, retrieved });
  }
  const n = queries.length;
  const share = (f: (o: QueryOutcome) => boolean): number => (n === 0 ? 0 : perQuery.filter(f).length / n);
  const recallAt: Record<number, number> = {};
  for (const c of cutoffs) recallAt[c] = share((o) => o.rank !== undefined && o.rank <= c);
  const mrr = n === 0 ? 0 : perQuery.reduce((s, o) => s + (o.rank === undefined ? 0 : 1 / o.rank), 0) / n;
  return { k, queries: n, recall: recallAt[k] ?? 0, recallAt, mrr, perQuery, misses };
}

const QuerySchema = z.strictObject({
  query: z.string().min(1),
  kind: z.string().optional(),
  expect: z.array(z.strictObject({ path: z.string().min(1), anchor: z.string().min(1).optional() })).min(1),
});

/** Parses an evaluation set (one JSON object per line; blank lines ignored); errors name the line. */
export function parseEvalQueries(jsonl: string): EvalQuery[] {
  const out: EvalQuery[] = [];
  jsonl.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw new SigilError(
        'BAD_INPUT',
        `evaluation set line ${i + 1}: not JSON (${e instanceof Error ? e.message : String(e)})`,
      );
    }
    const parsed = QuerySchema.safeParse(value);
    if (!parsed.success)
      throw new SigilError(
        'BAD_INPUT',
        `evaluation set line ${i + 1}: ${parsed.error.issues.map((x) => `${x.path.join('.')}: ${x.message}`).join('; ')}`,
      );
    const { query, kind, expect } = parsed.data;
    out.push({
      query,
      ...(kind === undefined ? {} : { kind }),
      expect: expect.map((e) =>
        e.anchor === undefined ? { path: e.path } : { path: e.path, anchor: e.anchor },
      ),
    });
  });
  return out;
}
