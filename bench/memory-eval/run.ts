/**
 * Memory search evaluation: BM25 alone, vectors alone and fusion variants, each through the real
 * MemoryService (the same filters, thresholds and fusion code as `sigil memory search`), on
 * test/fixtures/memory-eval/ (60 entries of agent and user memory, 118 queries, written for this project:
 * about half paraphrase their answer with no shared content word, the rest share keywords).
 *
 *   node --import tsx bench/memory-eval/run.ts [--grid]
 *
 * Weights are tuned on the even-numbered queries and checked on the odd ones. The defaults live in
 * shared/src/config-schema.ts (MEMORY_FUSION_DEFAULTS).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MEMORY_FUSION_DEFAULTS } from '../../shared/src/config-schema.js';
import { ANONYMOUS, type Access } from '../../server/src/governance/gate.js';
import { MemoryService } from '../../server/src/memory/service.js';
import { MemoryVectors } from '../../server/src/memory/vectors.js';
import type { MemorySearchSettings } from '../../server/src/memory/settings.js';
import { sharedEmbedder } from '../../server/src/rag/embedder.js';
import { UseLiteEmbedder } from '../../server/src/rag/embedder-use-lite.js';
import { evaluate, parseEvalQueries, type EvalQuery } from '../../server/src/rag/eval.js';
import { initHome } from '../../server/src/runtime/home.js';

const K = 10;
const fixture = (name: string): URL => new URL(`../../test/fixtures/memory-eval/${name}`, import.meta.url);

interface EntryLine {
  readonly namespace: string;
  readonly key: string;
  readonly text: string;
}
const entries = (await readFile(fixture('entries.jsonl'), 'utf8'))
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l) as EntryLine);
// An expected answer is "namespace/key", carried in the evaluator's `path`.
const queries: EvalQuery[] = parseEvalQueries(
  (await readFile(fixture('queries.jsonl'), 'utf8'))
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const q = JSON.parse(l) as { query: string; kind: string; expect: string[] };
      return JSON.stringify({ query: q.query, kind: q.kind, expect: q.expect.map((p) => ({ path: p })) });
    })
    .join('\n'),
);

const dir = await mkdtemp(path.join(os.tmpdir(), 'sigil-memory-eval-'));
const { runtime: rt } = await initHome({
  home: path.join(dir, 'home'),
  env: { SIGIL_KEYSTORE_SCRYPT_LOG_N: '14', SIGIL_MEMORY_SEARCH: 'keywords' },
  passphrase: { get: async () => undefined },
  ownerDescription: 'memory-eval',
});
const access = (operation: 'memory.write' | 'memory.search'): Access => ({
  method: `sigil/${operation}`,
  operation,
  caller: { ...ANONYMOUS, subject: 'local:eval', loa: 4, role: 'root', authenticated: true },
  decision: {
    allowed: true,
    reason: 'evaluation',
    operation,
    required: { loa: 'observer', trustThreshold: 0 },
  },
  trust: null,
});
for (const e of entries) await rt.memory.write(access('memory.write'), { ...e, visibility: 'observer' });

const embedder = sharedEmbedder(() => UseLiteEmbedder.create({}));

async function run(settings: MemorySearchSettings, subset: readonly EvalQuery[]) {
  const svc = await MemoryService.open({
    home: rt.home,
    store: rt.store,
    governance: rt.governance,
    dataKey: rt.keystore.dataKey,
    sweepIntervalMs: 0,
    searchSettings: settings,
    vectors: new MemoryVectors({ embedder: embedder.get }),
  });
  try {
    return await evaluate(
      subset,
      async (q, k) =>
        (await svc.search(access('memory.search'), { text: q, k })).hits.map((h) => ({
          path: `${h.entry.namespace}/${h.entry.key}`,
        })),
      K,
      { anchorSensitive: false, cutoffs: [1, 3, 5] },
    );
  } finally {
    await svc.close();
  }
}

const base: MemorySearchSettings = {
  fusion: { method: 'rrf', k: MEMORY_FUSION_DEFAULTS.rrf_k },
  lexicalWeight: MEMORY_FUSION_DEFAULTS.lexical_weight,
  vectorWeight: MEMORY_FUSION_DEFAULTS.vector_weight,
  minSimilarity: MEMORY_FUSION_DEFAULTS.min_similarity,
  waitMs: 600_000,
};
const variants: [string, MemorySearchSettings][] = [
  ['BM25 alone', { ...base, vectorWeight: 0 }],
  ['vectors alone', { ...base, lexicalWeight: 0, minSimilarity: 0 }],
  ['default', base],
];
if (process.argv.includes('--grid'))
  for (const k of [5, 20, 60])
    for (const vw of [0.5, 1, 1.5, 2])
      for (const ms of [0, 0.2, 0.3, 0.4])
        variants.push([
          `rrf k=${k} 1:${vw} min=${ms}`,
          { ...base, fusion: { method: 'rrf', k }, vectorWeight: vw, minSimilarity: ms },
        ]);

const even = queries.filter((_, i) => i % 2 === 0);
const odd = queries.filter((_, i) => i % 2 === 1);
const kinds = [...new Set(queries.map((q) => q.kind ?? ''))];
const fmt = (x: number): string => x.toFixed(3);
console.log(`${entries.length} entries, ${queries.length} queries (${kinds.join(', ')})`);
console.log(
  'variant'.padEnd(30),
  'R@1   R@3   MRR   | tune MRR check MRR |',
  kinds.map((k) => `${k} R@1`).join(' '),
);
for (const [name, settings] of variants) {
  const all = await run(settings, queries);
  const tune = await run(settings, even);
  const check = await run(settings, odd);
  const perKind = kinds.map((kind) => {
    const outcomes = all.perQuery.filter((o) => o.kind === kind);
    return fmt(outcomes.filter((o) => o.rank === 1).length / outcomes.length);
  });
  console.log(
    name.padEnd(30),
    `${fmt(all.recallAt[1] ?? 0)} ${fmt(all.recallAt[3] ?? 0)} ${fmt(all.mrr)} | ${fmt(tune.mrr)}    ${fmt(check.mrr)}     |`,
    perKind.join('  '),
  );
}
await embedder.close();
await rt.close();
await rm(dir, { recursive: true, force: true });
