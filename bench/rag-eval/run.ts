/**
 * Retrieval evaluation on the installed Rust documentation: BM25 alone, USE-lite vectors alone (hnswlib via
 * VectorIndex) and fusion variants, on test/fixtures/rag-eval/rust-docs-queries.jsonl.
 *
 *   node --import tsx bench/rag-eval/embed-corpus.ts   # once: embeds ~3400 sections (cached in the OS temp dir)
 *   node --import tsx bench/rag-eval/run.ts [--grid] [--misses METHOD]
 *
 * Documents are page sections (bench/rag-eval/load-docs.ts), not the production chunker's chunks. Each
 * retriever returns its top DEPTH sections; fusion merges those. Weights are tuned on the even-numbered
 * queries and checked on the odd ones, so the chosen defaults are not just fitted to the whole set.
 */
import { readFileSync } from 'node:fs';
import { USE_LITE_DEFAULT_MAX_CHARS, UseLiteEmbedder } from '../../server/src/rag/embedder-use-lite.js';
import { type EvalQuery, type EvalReport, evaluate, parseEvalQueries } from '../../server/src/rag/eval.js';
import {
  DEFAULT_LEXICAL_WEIGHT,
  DEFAULT_RRF_K,
  DEFAULT_VECTOR_WEIGHT,
  type RankedList,
  convexFusion,
  reciprocalRankFusion,
} from '../../server/src/rag/fusion.js';
import { LexicalIndex } from '../../server/src/rag/lexical-index.js';
import { VectorIndex } from '../../server/src/rag/vector-index.js';
import { embedCached, sectionText } from './embed-cache.js';
import { type DocSection, loadSections } from './load-docs.js';

const DEPTH = 50;
const K = 10;
const args = process.argv.slice(2);

const sections = loadSections();
const byId = new Map<string, DocSection>(sections.map((s) => [s.id, s]));
const queries = parseEvalQueries(
  readFileSync(new URL('../../test/fixtures/rag-eval/rust-docs-queries.jsonl', import.meta.url), 'utf8'),
);
console.log(`${sections.length} sections, ${queries.length} queries`);

const lexical = LexicalIndex.create();
for (const s of sections)
  lexical.add({
    id: s.id,
    title: `${s.title} ${s.pageTitle}`,
    text: s.text,
    path: s.path,
    ...(s.anchor === undefined ? {} : { anchor: s.anchor }),
  });

// --max-chars N: evaluate vectors embedded with that USE-lite input budget (embed-corpus.ts --max-chars N first).
const mc = args.indexOf('--max-chars');
const maxChars = mc < 0 ? USE_LITE_DEFAULT_MAX_CHARS : Number(args[mc + 1]);
const embedder = await UseLiteEmbedder.create({ maxChars });
const sectionVectors = await embedCached(embedder, sections.map(sectionText), `sections-m${maxChars}`);
const queryVectors = await embedCached(
  embedder,
  queries.map((q) => q.query),
  'queries',
);
await embedder.close();
const vectors = VectorIndex.create({
  embedderId: embedder.id,
  dim: embedder.dim,
  initialCapacity: sections.length,
});
await vectors.upsert(
  sections.map((s, i) => ({ id: s.id, vector: sectionVectors[i] ?? new Float32Array(0) })),
);
const queryVector = new Map(queries.map((q, i) => [q.query, queryVectors[i] ?? new Float32Array(0)]));

// Both retrievers' top DEPTH per query, computed once.
const bm25Hits = new Map(queries.map((q) => [q.query, lexical.search(q.query, DEPTH)]));
const vecHits = new Map(queries.map((q) => [q.query, vectors.search(queryVector.get(q.query) ?? [], DEPTH)]));

type Method = (q: string, k: number) => { id: string }[];
function lists(q: string, wl: number, wv: number): RankedList[] {
  return [
    { weight: wl, hits: bm25Hits.get(q) ?? [] },
    { weight: wv, hits: vecHits.get(q) ?? [] },
  ];
}
const methods = new Map<string, Method>();
methods.set('bm25', (q, k) => (bm25Hits.get(q) ?? []).slice(0, k));
methods.set('use-lite', (q, k) => (vecHits.get(q) ?? []).slice(0, k));
const rrf =
  (wl: number, wv: number, c: number): Method =>
  (q, k) =>
    reciprocalRankFusion(lists(q, wl, wv), k, c);
const convex =
  (wl: number, wv: number, n: 'minmax' | 'max'): Method =>
  (q, k) =>
    convexFusion(lists(q, wl, wv), k, n);
methods.set('rrf 1:1 k=60', rrf(1, 1, 60));
methods.set(
  `default: rrf ${DEFAULT_LEXICAL_WEIGHT}:${DEFAULT_VECTOR_WEIGHT} k=${DEFAULT_RRF_K}`,
  rrf(DEFAULT_LEXICAL_WEIGHT, DEFAULT_VECTOR_WEIGHT, DEFAULT_RRF_K),
);
methods.set('convex minmax 0.5:0.5', convex(0.5, 0.5, 'minmax'));
const grid = args.includes('--grid');
if (grid) {
  for (const c of [5, 20, 60])
    for (const wv of [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]) methods.set(`rrf 1:${wv} k=${c}`, rrf(1, wv, c));
  for (const wv of [0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    for (const n of ['minmax', 'max'] as const)
      methods.set(`convex ${n} ${1 - wv}:${wv}`, convex(1 - wv, wv, n));
}

function retriever(m: Method) {
  return (q: string, k: number) =>
    Promise.resolve(
      m(q, k).flatMap((h) => {
        const s = byId.get(h.id);
        return s === undefined
          ? []
          : [{ path: s.path, ...(s.anchor === undefined ? {} : { anchor: s.anchor }) }];
      }),
    );
}

const f = (x: number): string => x.toFixed(3);
const even = queries.filter((_, i) => i % 2 === 0);
const odd = queries.filter((_, i) => i % 2 === 1);
async function run(
  name: string,
  m: Method,
  qs: readonly EvalQuery[],
  anchorSensitive: boolean,
): Promise<EvalReport> {
  void name;
  return evaluate(qs, retriever(m), K, { anchorSensitive, cutoffs: [1, 5, 10] });
}

console.log('\nmethod | section R@5 R@10 MRR | page R@5 R@10 MRR | tune(even) R@5 | check(odd) R@5');
const rows: { name: string; sec: EvalReport; page: EvalReport; tune: EvalReport; check: EvalReport }[] = [];
for (const [name, m] of methods) {
  const row = {
    name,
    sec: await run(name, m, queries, true),
    page: await run(name, m, queries, false),
    tune: await run(name, m, even, true),
    check: await run(name, m, odd, true),
  };
  rows.push(row);
  console.log(
    `${name.padEnd(26)} | ${f(row.sec.recallAt[5] ?? 0)} ${f(row.sec.recallAt[10] ?? 0)} ${f(row.sec.mrr)} | ` +
      `${f(row.page.recallAt[5] ?? 0)} ${f(row.page.recallAt[10] ?? 0)} ${f(row.page.mrr)} | ${f(row.tune.recallAt[5] ?? 0)} | ${f(row.check.recallAt[5] ?? 0)}`,
  );
}

console.log('\nper kind, section R@5:');
for (const name of ['bm25', 'use-lite', 'rrf 1:1 k=60', [...methods.keys()][3] ?? '']) {
  const row = rows.find((r) => r.name === name);
  if (row === undefined) continue;
  const kinds = ['error', 'concept', 'api'].map((k) => {
    const o = row.sec.perQuery.filter((p) => p.kind === k);
    return `${k} ${f(o.filter((p) => p.rank !== undefined && p.rank <= 5).length / o.length)} (${o.length})`;
  });
  console.log(`${name.padEnd(26)} ${kinds.join('  ')}`);
}

const missesOf = args[args.indexOf('--misses') + 1];
if (args.includes('--misses') && missesOf !== undefined) {
  const row = rows.find((r) => r.name === missesOf);
  for (const m of row?.sec.misses ?? [])
    console.log(
      `MISS ${m.query}\n  want ${m.expect.map((e) => `${e.path}#${e.anchor ?? ''}`).join(' ')}\n  got  ${m.retrieved
        .slice(0, 3)
        .map((r) => `${r.path}#${r.anchor ?? ''}`)
        .join(' ')}`,
    );
}
