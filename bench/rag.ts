/**
 * The retrieval part of `npm run bench`. Ingestion and queries go through the same service handlers as
 * every front door (signed by the owner), on the Rust Book from the local Rust docs when the machine has
 * them (else the fixture docs), against the raw embedder on the same chunk texts in the same run; the
 * vector index is measured against exact search (recall) and raw hnswlib (speed) on the same vectors.
 */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HierarchicalNSW } from 'hnswlib-node';
import { initHome } from '../server/src/runtime/home.js';
import { runtimeHandlers } from '../server/src/service/handlers.js';
import { readIdentityFile } from '../server/src/governance/identity.js';
import { signedParams } from '../shared/src/signed-request.js';
import type { Identity } from '../shared/src/license.js';
import type { RequestMethod } from '../shared/src/protocol.js';
import { locateRustDocs } from '../server/src/rag/rust-docs.js';
import { UseLiteEmbedder } from '../server/src/rag/embedder-use-lite.js';
import { VectorIndex } from '../server/src/rag/vector-index.js';
import { RAG_KINDS, type RagChunksPayload } from '../shared/src/rag.js';
import { log, median } from './lib.js';
import { DEFAULT_CONFIG } from '../shared/src/config-schema.js';

type Result = Record<string, number | string | boolean | null>;

const here = path.dirname(fileURLToPath(import.meta.url));
const QUERIES = path.join(here, '..', 'test', 'fixtures', 'rag-eval', 'rust-docs-queries.jsonl');
const FIXTURE_DOCS = path.join(here, '..', 'test', 'fixtures', 'docs');

function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

async function corpus(): Promise<{ paths: string[]; licence: string; what: string }> {
  if (process.env.BENCH_RAG_DOCS !== 'fixtures')
    try {
      const docs = await locateRustDocs({});
      const book = docs.books.find((b) => b.book === 'book');
      if (book)
        return { paths: [book.root], licence: 'MIT OR Apache-2.0', what: `the Rust Book (${book.root})` };
    } catch {
      // no local Rust docs: the fixtures below
    }
  return {
    paths: ['markdown', 'mdbook'].map((d) => path.join(FIXTURE_DOCS, d)),
    licence: 'MIT',
    what:
      process.env.BENCH_RAG_DOCS === 'fixtures'
        ? 'the fixture docs (BENCH_RAG_DOCS=fixtures)'
        : 'the fixture docs (no local Rust docs on this machine)',
  };
}

export async function ragBench(result: Result, runs: number, vectorN: number): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sigil-bench-rag-'));
  const init = await initHome({
    home: path.join(dir, 'home'),
    env: { SIGIL_KEYSTORE_SCRYPT_LOG_N: '14' },
    passphrase: { get: async () => undefined },
    ownerDescription: 'bench',
  });
  const rt = init.runtime;
  const loaded = await readIdentityFile(init.ownerIdentity.file);
  const owner: Identity = { chain: loaded.chain, signer: loaded.signer };
  const handlers = runtimeHandlers(rt);
  const call = <T>(method: RequestMethod, params: Record<string, unknown>): Promise<T> =>
    (handlers[method] as (p: unknown, c: object) => Promise<T>)(signedParams(method, params, owner), {});
  try {
    const source = await corpus();
    result.rag_corpus = source.what;
    // Load the service's embedder first, so ingestion is timed without the model load (the baseline too).
    await call('sigil/rag.query', { text: 'warm up' });
    log(`rag_ingest_chunks_per_s: importing ${source.what}`);
    const imported = await call<{
      embeddedChunks: number;
      seconds: number;
      documents: number;
      chunks: number;
    }>('sigil/rag.import', { paths: source.paths, licence: source.licence });
    result.rag_documents = imported.documents;
    result.rag_chunks = imported.chunks;
    result.rag_ingest_chunks_per_s = Number((imported.embeddedChunks / imported.seconds).toFixed(1));

    const texts: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await rt.store.list({
        kind: RAG_KINDS.chunks,
        limit: 1000,
        ...(cursor ? { cursor } : {}),
      });
      for (const r of page.records) {
        const p = r.body.payload as unknown as RagChunksPayload;
        for (const c of p.texts) texts.push(c.text);
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    log(`embed_per_s_baseline: the raw USE-lite embedder on the same ${texts.length} chunk texts`);
    const queries = readFileSync(QUERIES, 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => (JSON.parse(l) as { query: string }).query)
      .slice(0, 100);
    const embedder = await UseLiteEmbedder.create();
    try {
      const rates: number[] = [];
      let corpusVectors: Float32Array[] = [];
      for (let r = 0; r < Math.max(1, Math.min(runs, 2)); r++) {
        const t0 = performance.now();
        corpusVectors = await embedder.embed(texts);
        rates.push((texts.length * 1000) / (performance.now() - t0));
      }
      result.embed_per_s_baseline = Number(median(rates).toFixed(1));
      result.rag_ingest_vs_embed_ratio = Number((result.rag_ingest_chunks_per_s / median(rates)).toFixed(3));
      log(
        `vector_recall_at_10_docs: the index's HNSW on those ${texts.length} chunk vectors, ${queries.length} queries`,
      );
      result.vector_recall_at_10_docs = await recallAt10(
        corpusVectors.map(unit),
        (await embedder.embed(queries)).map(unit),
        {
          m: DEFAULT_CONFIG.rag.m,
          efConstruction: DEFAULT_CONFIG.rag.ef_construction,
          efSearch: DEFAULT_CONFIG.rag.ef_search,
        },
      );
    } finally {
      await embedder.close();
    }

    log(`rag_query_ms: ${queries.length} queries end to end (embedding, BM25, vectors, fusion)`);
    const lat: number[] = [];
    for (const q of queries) {
      const signed = signedParams('sigil/rag.query', { text: q, k: 8 }, owner);
      const t0 = performance.now();
      await handlers['sigil/rag.query'](signed, {});
      lat.push(performance.now() - t0);
    }
    result.rag_query_ms_p50 = Number(percentile(lat, 50).toFixed(2));
    result.rag_query_ms_p95 = Number(percentile(lat, 95).toFixed(2));

    log('index_rebuild_s: rag.rebuild from the canon');
    const t0 = performance.now();
    await call('sigil/rag.rebuild', {});
    result.index_rebuild_s = Number(((performance.now() - t0) / 1000).toFixed(2));
  } finally {
    await rt.close();
    await rm(dir, { recursive: true, force: true });
  }
  await vectorBench(result, vectorN);
}

/** Deterministic pseudo-random unit vectors (xorshift), so runs compare. */
function vectors(n: number, dim: number, seed: number): Float32Array[] {
  let s = seed >>> 0 || 1;
  const next = (): number => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) / 0xffffffff) * 2 - 1;
  };
  return Array.from({ length: n }, () => {
    const v = new Float32Array(dim);
    let norm = 0;
    for (let i = 0; i < dim; i++) {
      v[i] = next();
      norm += v[i]! * v[i]!;
    }
    norm = Math.sqrt(norm);
    for (let i = 0; i < dim; i++) v[i]! /= norm;
    return v;
  });
}

function unit(v: Float32Array): Float32Array {
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}

/** Share of the exact cosine top 10 (over unit vectors) that the index returns, over all queries. */
function recallOf(
  index: VectorIndex,
  data: readonly Float32Array[],
  queries: readonly Float32Array[],
): number {
  let hits = 0;
  for (const q of queries) {
    const exact = new Set(exactTop(data, q, 10).map((i) => `v${i}`));
    for (const h of index.search(q, 10)) if (exact.has(h.id)) hits++;
  }
  return Number((hits / (queries.length * 10)).toFixed(4));
}

async function recallAt10(
  data: readonly Float32Array[],
  queries: readonly Float32Array[],
  tuning: { m: number; efConstruction: number; efSearch: number },
): Promise<number> {
  const index = VectorIndex.create({
    embedderId: 'bench',
    dim: data[0]!.length,
    initialCapacity: data.length,
    ...tuning,
  });
  await index.upsert(data.map((vector, i) => ({ id: `v${i}`, vector })));
  return recallOf(index, data, queries);
}

function exactTop(data: readonly Float32Array[], q: Float32Array, k: number): number[] {
  const scores = data.map((v, i) => {
    let dot = 0;
    for (let j = 0; j < q.length; j++) dot += v[j]! * q[j]!;
    return { i, dot };
  });
  scores.sort((a, b) => b.dot - a.dot);
  return scores.slice(0, k).map((x) => x.i);
}

async function vectorBench(result: Result, n: number): Promise<void> {
  const dim = 512;
  const Q = 200;
  log(`vector_recall_at_10 and vector_qps: ${n} vectors of ${dim} dimensions, ${Q} queries`);
  const data = vectors(n, dim, 7);
  const queries = vectors(Q, dim, 99);
  const index = VectorIndex.create({ embedderId: 'bench', dim, initialCapacity: n });
  for (let at = 0; at < n; at += 5000)
    await index.upsert(data.slice(at, at + 5000).map((vector, j) => ({ id: `v${at + j}`, vector })));
  const { HierarchicalNSW: Raw } = createRequire(import.meta.url)('hnswlib-node') as {
    HierarchicalNSW: new (space: string, dim: number) => HierarchicalNSW;
  };
  const raw = new Raw('cosine', dim);
  raw.initIndex(n, 16, 200, 100);
  raw.setEf(100);
  for (let i = 0; i < n; i++) raw.addPoint(Array.from(data[i]!), i);

  result.vector_recall_at_10 = recallOf(index, data, queries);

  const timeIt = (fn: (q: Float32Array) => void): number => {
    const t0 = performance.now();
    for (let r = 0; r < 3; r++) for (const q of queries) fn(q);
    return (3 * Q * 1000) / (performance.now() - t0);
  };
  const ours = timeIt((q) => void index.search(q, 10));
  const theirs = timeIt((q) => void raw.searchKnn(Array.from(q), 10));
  result.vector_qps = Math.round(ours);
  result.vector_qps_raw_hnswlib = Math.round(theirs);
  result.vector_qps_ratio = Number((ours / theirs).toFixed(3));
}
