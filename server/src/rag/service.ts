/**
 * The retrieval index over the canon. A document version is a batch of signed records (its chunk texts in
 * `rag.chunks`, then its metadata, licence, provenance and chunk hashes in `rag.document`) written through
 * the gate with its audit record; `rag.remove` takes it out. The BM25 index is rebuilt from those records
 * in memory; the vector index (hnswlib) is saved under `<home>/rag/` with the canon position it reflects,
 * and on open it is reconciled with the canon: vectors of chunks that are no longer live are removed and
 * missing ones embedded, or everything is re-embedded when the embedder changed.
 */
import path from 'node:path';
import { SigilError } from '../../../shared/src/errors.js';
import { sha256Hex } from '../../../shared/src/hash.js';
import type { JsonValue } from '../../../shared/src/jcs.js';
import type { CanonicalRecord } from '../../../shared/src/record.js';
import {
  CHUNK_RECORD_BYTES,
  DEFAULT_QUERY_K,
  RAG_KINDS,
  type RagChunkMeta,
  type RagChunksPayload,
  type RagDocumentPayload,
  type RagRemovePayload,
} from '../../../shared/src/rag.js';
import type {
  RagCitation,
  RagDocumentEntry,
  RagQueryParams,
  RagQueryResult,
  RagRemoveResult,
  RagStats,
  RagUpsertParams,
  RagUpsertResult,
} from '../../../shared/src/protocol.js';
import { auditActor, type Access, type Governance } from '../governance/gate.js';
import type { LevelCanonStore } from '../canon/store.js';
import { VERSION } from '../version.js';
import { judgeLicence, normalizeLicenceExpression } from './licence.js';
import { embedderDim, type Embedder } from './embedder.js';
import { LexicalIndex } from './lexical-index.js';
import { VectorIndex, type CanonPosition } from './vector-index.js';
import { fuse, type FusionParams } from './fusion.js';
import { chunkMarkdown } from './chunk-markdown.js';

export const RAG_DIR = 'rag';
const PAGE = 1000;
/** Candidates each retriever contributes before fusion. */
const CANDIDATES = 50;
/** The vector index is saved this long after the last change (and on close): saving rewrites the file. */
const SAVE_DELAY_MS = 2000;

export interface RagSettings {
  readonly allowedLicences: readonly string[];
  readonly fusion: FusionParams;
  readonly lexicalWeight: number;
  readonly vectorWeight: number;
  readonly m: number;
  readonly efConstruction: number;
  readonly efSearch: number;
}

export interface RagServiceOptions {
  readonly home: string;
  readonly store: LevelCanonStore;
  readonly governance: Governance;
  readonly settings: RagSettings;
  /** Makes the configured embedder; called on first need, and again after a failure. */
  readonly embedder: () => Promise<Embedder>;
  readonly onWarning?: (message: string) => void;
  readonly onLog?: (message: string) => void;
}

interface LiveChunk {
  readonly id: string;
  readonly key: string;
  readonly meta: RagChunkMeta;
  readonly text: string;
}

interface LiveDocument {
  readonly payload: RagDocumentPayload;
  readonly recordId: string;
  readonly seq: number;
  readonly chunkIds: readonly string[];
}

export interface Progress {
  readonly onProgress?: (done: number, total: number) => void;
  readonly signal?: AbortSignal;
}

/** A chunk's id: the document key's hash, the version's content hash and the position. */
function chunkId(key: string, contentSha256: string, ordinal: number): string {
  return `${sha256Hex(key).slice(0, 16)}.${contentSha256.slice(0, 16)}.${ordinal}`;
}

function contentHash(chunks: readonly { sha256: string }[]): string {
  return sha256Hex(chunks.map((c) => c.sha256).join('\n'));
}

/** Splits chunk texts over records of at most CHUNK_RECORD_BYTES each. */
function chunkParts(
  texts: readonly { ordinal: number; text: string }[],
): { ordinal: number; text: string }[][] {
  const parts: { ordinal: number; text: string }[][] = [];
  let current: { ordinal: number; text: string }[] = [];
  let bytes = 0;
  for (const t of texts) {
    const n = Buffer.byteLength(t.text, 'utf8') + 32;
    if (current.length > 0 && bytes + n > CHUNK_RECORD_BYTES) {
      parts.push(current);
      current = [];
      bytes = 0;
    }
    current.push(t);
    bytes += n;
  }
  if (current.length > 0) parts.push(current);
  return parts;
}

export class RagService {
  readonly #opts: RagServiceOptions;
  readonly #dir: string;
  readonly #docs = new Map<string, LiveDocument>();
  readonly #chunks = new Map<string, LiveChunk>();
  #lexical = LexicalIndex.create();
  #vectors: VectorIndex | null = null;
  #embedder: Embedder | null = null;
  #embedderError: string | null = null;
  /** Serializes writes and index maintenance: one document at a time, in canon order. */
  #queue: Promise<unknown> = Promise.resolve();
  #loaded: Promise<void> | null = null;
  #saveTimer: NodeJS.Timeout | null = null;
  #dirty = false;
  #position: CanonPosition = { size: 0, head: '' };
  #closed = false;

  constructor(opts: RagServiceOptions) {
    this.#opts = opts;
    this.#dir = path.join(opts.home, RAG_DIR);
  }

  // -------------------------------------------------------------------------------------------------------
  // Loading

  /** Reads the documents from the canon and the lexical index from them; the vectors come on first use. */
  #ensureLoaded(): Promise<void> {
    this.#loaded ??= this.#serial(() => this.#load()).catch((e: unknown) => {
      this.#loaded = null;
      throw e;
    });
    return this.#loaded;
  }

  async #records(kind: string): Promise<CanonicalRecord[]> {
    const out: CanonicalRecord[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await this.#opts.store.list({ kind, limit: PAGE, ...(cursor ? { cursor } : {}) });
      if (page.damaged?.length)
        throw new SigilError(
          'STORE_CORRUPT',
          `${page.damaged.length} ${kind} record(s) cannot be read (first at seq ${page.damaged[0]!.seq}); run "sigil canon verify"`,
        );
      out.push(...page.records);
      if (!page.nextCursor) return out;
      cursor = page.nextCursor;
    }
  }

  async #load(): Promise<void> {
    const docs = [...(await this.#records(RAG_KINDS.document)), ...(await this.#records(RAG_KINDS.remove))];
    docs.sort((a, b) => a.body.seq - b.body.seq);
    const live = new Map<string, { payload: RagDocumentPayload; record: CanonicalRecord }>();
    for (const r of docs) {
      if (r.body.kind === RAG_KINDS.document) {
        const p = r.body.payload as unknown as RagDocumentPayload;
        live.set(p.key, { payload: p, record: r });
      } else live.delete((r.body.payload as unknown as RagRemovePayload).key);
      this.#position = { size: r.body.seq + 1, head: r.id };
    }
    const wanted = new Map<string, string>();
    for (const { payload } of live.values())
      wanted.set(`${payload.key}\u0000${payload.content_sha256}`, payload.key);
    const texts = new Map<string, Map<number, string>>();
    for (const r of await this.#records(RAG_KINDS.chunks)) {
      const p = r.body.payload as unknown as RagChunksPayload;
      const id = `${p.key}\u0000${p.content_sha256}`;
      if (!wanted.has(id)) continue;
      const m = texts.get(id) ?? new Map<number, string>();
      for (const t of p.texts) m.set(t.ordinal, t.text);
      texts.set(id, m);
    }
    for (const { payload, record } of live.values()) {
      const m = texts.get(`${payload.key}\u0000${payload.content_sha256}`);
      this.#addDocument(payload, record, (ordinal) => m?.get(ordinal));
    }
  }

  #addDocument(
    payload: RagDocumentPayload,
    record: CanonicalRecord,
    textOf: (ordinal: number) => string | undefined,
  ): void {
    const ids: string[] = [];
    for (const meta of payload.chunks) {
      const text = textOf(meta.ordinal);
      if (text === undefined || sha256Hex(text) !== meta.sha256)
        throw new SigilError(
          'STORE_CORRUPT',
          `document ${payload.key} (record ${record.id}): the text of chunk ${meta.ordinal} is missing or does not match its hash`,
        );
      const id = chunkId(payload.key, payload.content_sha256, meta.ordinal);
      ids.push(id);
      this.#chunks.set(id, { id, key: payload.key, meta, text });
      this.#lexical.add({
        id,
        text,
        title: [payload.source.title, ...meta.heading_path].filter((s) => s).join(' — '),
        path: payload.source.path,
        anchor: meta.anchor,
      });
    }
    this.#docs.set(payload.key, { payload, recordId: record.id, seq: record.body.seq, chunkIds: ids });
  }

  #dropDocument(key: string): void {
    const doc = this.#docs.get(key);
    if (!doc) return;
    for (const id of doc.chunkIds) {
      this.#chunks.delete(id);
      this.#lexical.remove(id);
    }
    this.#docs.delete(key);
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** The embedder, started on first need; a failure is remembered so queries can say why they are lexical. */
  async #getEmbedder(): Promise<Embedder> {
    if (this.#embedder) return this.#embedder;
    try {
      this.#embedder = await this.#opts.embedder();
      this.#embedderError = null;
      return this.#embedder;
    } catch (e) {
      this.#embedderError = (e as Error).message;
      throw e;
    }
  }

  /**
   * The vector index, reconciled with the live chunks: opened from its file when it was made by this
   * embedder, else started empty; vectors of chunks no longer live are removed, missing ones embedded.
   */
  async #ensureVectors(progress: Progress = {}): Promise<VectorIndex> {
    const embedder = await this.#getEmbedder();
    if (!this.#vectors) {
      const dim = await embedderDim(embedder);
      const opened = await VectorIndex.open(
        this.#dir,
        { embedderId: embedder.id, dim, position: this.#position },
        this.#tuning(),
      );
      if (opened.status === 'ok' || opened.status === 'stale') this.#vectors = opened.index;
      else {
        if (opened.status !== 'missing' || this.#chunks.size > 0)
          this.#opts.onLog?.(`vector index: ${opened.reason}; rebuilding from the canon`);
        this.#vectors = VectorIndex.create({ embedderId: embedder.id, dim, ...this.#tuning() });
      }
    }
    const index = this.#vectors;
    const extra = index.ids().filter((id) => !this.#chunks.has(id));
    if (extra.length > 0) await index.remove(extra);
    const missing = [...this.#chunks.values()].filter((c) => !index.has(c.id));
    if (missing.length > 0) {
      await this.#embedInto(index, embedder, missing, progress);
      this.#scheduleSave();
    } else if (extra.length > 0) this.#scheduleSave();
    return index;
  }

  #tuning(): { m: number; efConstruction: number; efSearch: number } {
    const s = this.#opts.settings;
    return { m: s.m, efConstruction: s.efConstruction, efSearch: s.efSearch };
  }

  async #embedInto(
    index: VectorIndex,
    embedder: Embedder,
    chunks: readonly LiveChunk[],
    progress: Progress,
  ): Promise<void> {
    const BATCH = 64;
    for (let at = 0; at < chunks.length; at += BATCH) {
      if (progress.signal?.aborted) throw new SigilError('CANCELLED', 'the index rebuild was cancelled');
      const batch = chunks.slice(at, at + BATCH);
      const vectors = await embedder.embed(
        batch.map((c) => c.text),
        progress.signal,
      );
      await index.upsert(batch.map((c, i) => ({ id: c.id, vector: vectors[i]! })));
      progress.onProgress?.(Math.min(at + BATCH, chunks.length), chunks.length);
    }
  }

  #scheduleSave(): void {
    this.#dirty = true;
    if (this.#saveTimer || this.#closed) return;
    this.#saveTimer = setTimeout(() => {
      this.#saveTimer = null;
      void this.#serial(() => this.#save()).catch((e: unknown) =>
        this.#opts.onWarning?.(`saving the vector index: ${(e as Error).message}`),
      );
    }, SAVE_DELAY_MS);
    this.#saveTimer.unref();
  }

  async #save(): Promise<void> {
    if (!this.#dirty || !this.#vectors) return;
    this.#dirty = false;
    await this.#vectors.save(this.#dir, this.#position);
  }

  get allowedLicences(): readonly string[] {
    return this.#opts.settings.allowedLicences;
  }

  // -------------------------------------------------------------------------------------------------------
  // Operations

  async upsert(access: Access, p: RagUpsertParams): Promise<RagUpsertResult> {
    this.#ensureOpen();
    if ((p.content === undefined) === (p.chunks === undefined))
      throw new SigilError('BAD_INPUT', 'give the document as exactly one of content (a text) or chunks', {
        field: 'content',
      });
    if (p.embedding !== undefined && p.chunks !== undefined)
      throw new SigilError('BAD_INPUT', 'embedding goes with content (one chunk), not with chunks', {
        field: 'embedding',
      });
    const where = `licence of ${p.metadata.source.root}/${p.metadata.source.path}`;
    const licence = normalizeLicenceExpression(p.metadata.licence, where);
    const allowed = this.#opts.settings.allowedLicences;
    const verdict = judgeLicence(licence, allowed, where);
    if (!verdict.allowed)
      throw new SigilError(
        'ACCESS_DENIED',
        `${where}: licence "${licence}" is not allowed (${verdict.disallowed.join(', ')} not in [rag] allowed_licences: ${allowed.join(', ')}); nothing was written`,
        { reason: 'licence-not-allowed', licence, disallowed: verdict.disallowed },
      );
    const pieces =
      p.chunks?.map((c) => ({ text: c.text, headingPath: c.headingPath ?? [], anchor: c.anchor ?? '' })) ??
      chunkMarkdown(p.content!, { title: p.metadata.source.title ?? '' }).chunks.map((c) => ({
        text: c.text,
        headingPath: [...c.headingPath],
        anchor: c.anchor,
      }));
    if (pieces.length === 0)
      throw new SigilError('BAD_INPUT', `document ${p.key} has no text to index`, { field: 'content' });
    if (p.embedding !== undefined && pieces.length !== 1)
      throw new SigilError(
        'BAD_INPUT',
        `an embedding was given, but the content splits into ${pieces.length} chunks; send it as chunks and let the index embed them`,
        { field: 'embedding' },
      );
    const metas: RagChunkMeta[] = pieces.map((c, ordinal) => ({
      ordinal,
      sha256: sha256Hex(c.text),
      heading_path: c.headingPath,
      anchor: c.anchor,
      chars: c.text.length,
    }));
    const content = contentHash(metas);
    await this.#ensureLoaded();
    return this.#serial(async () => {
      this.#ensureOpen();
      const current = this.#docs.get(p.key);
      const source = {
        root: p.metadata.source.root,
        path: p.metadata.source.path,
        url: p.metadata.source.url ?? null,
        title: p.metadata.source.title ?? '',
      };
      if (
        current &&
        current.payload.content_sha256 === content &&
        current.payload.licence === licence &&
        JSON.stringify(current.payload.source) === JSON.stringify(source) &&
        current.payload.provenance.source_sha256 === (p.metadata.provenance.sourceSha256 ?? '')
      )
        return {
          key: p.key,
          written: false,
          replaced: false,
          chunks: metas.length,
          recordId: current.recordId,
          contentSha256: content,
        };
      // Embed before writing: an embedder that fails with bad input leaves the store as it was.
      let vectors: Float32Array[] | null = null;
      let index: VectorIndex | null = null;
      try {
        index = await this.#ensureVectors();
        const embedder = await this.#getEmbedder();
        if (p.embedding !== undefined) {
          if (p.embedding.length !== index.dim)
            throw new SigilError(
              'BAD_INPUT',
              `embedding has ${p.embedding.length} dimensions; the index's embedder ${embedder.id} makes ${index.dim}`,
              { field: 'embedding' },
            );
          vectors = [Float32Array.from(p.embedding)];
        } else vectors = await embedder.embed(pieces.map((c) => c.text));
      } catch (e) {
        if (e instanceof SigilError && e.code === 'BAD_INPUT') throw e;
        // Without an embedder the document is still recorded and found by BM25; its vectors are made when
        // an embedder is available (the reconcile on the next vector use).
        this.#opts.onWarning?.(
          `rag.upsert ${p.key}: no vectors (${(e as Error).message}); indexed for BM25 only`,
        );
        vectors = null;
        index = null;
      }
      const payload: RagDocumentPayload = {
        key: p.key,
        content_sha256: content,
        source,
        licence,
        provenance: {
          source_path: p.metadata.provenance.sourcePath ?? '',
          source_sha256: p.metadata.provenance.sourceSha256 ?? '',
          licence_from: p.metadata.provenance.licenceFrom ?? 'rag.upsert metadata.licence',
          importer: auditActor(access.caller),
          tool_version: p.metadata.provenance.toolVersion ?? `sigil ${VERSION}`,
          imported_at: new Date().toISOString(),
        },
        chunks: metas,
        parts: 0,
      };
      const parts = chunkParts(pieces.map((c, ordinal) => ({ ordinal, text: c.text })));
      const full: RagDocumentPayload = { ...payload, parts: parts.length };
      const actor = auditActor(access.caller);
      const written = await this.#opts.governance.write(access, [
        ...parts.map((texts, part) => ({
          kind: RAG_KINDS.chunks,
          space: 'data' as const,
          actor,
          payload: { key: p.key, content_sha256: content, part, texts } as unknown as JsonValue,
        })),
        {
          kind: RAG_KINDS.document,
          space: 'data' as const,
          actor,
          payload: full as unknown as JsonValue,
          ...(current ? { links: [{ rel: 'replaces', id: current.recordId }] } : {}),
        },
      ]);
      const rec = written.at(-1)!;
      const replaced = current !== undefined;
      this.#dropDocument(p.key);
      this.#addDocument(full, rec, (o) => pieces[o]?.text);
      this.#position = { size: rec.body.seq + 1, head: rec.id };
      if (index) {
        const stale = current ? current.chunkIds.filter((id) => index.has(id)) : [];
        if (stale.length) await index.remove(stale);
        if (vectors)
          await index.upsert(this.#docs.get(p.key)!.chunkIds.map((id, i) => ({ id, vector: vectors[i]! })));
        this.#scheduleSave();
      }
      return {
        key: p.key,
        written: true,
        replaced,
        chunks: metas.length,
        recordId: rec.id,
        contentSha256: content,
      };
    });
  }

  async remove(access: Access, p: { key: string; reason?: string | undefined }): Promise<RagRemoveResult> {
    this.#ensureOpen();
    await this.#ensureLoaded();
    return this.#serial(async () => {
      const current = this.#docs.get(p.key);
      if (!current) return { key: p.key, removed: false, recordId: null };
      const payload: RagRemovePayload = {
        key: p.key,
        content_sha256: current.payload.content_sha256,
        reason: p.reason ?? 'removed',
      };
      const [rec] = await this.#opts.governance.write(access, [
        {
          kind: RAG_KINDS.remove,
          space: 'data',
          actor: auditActor(access.caller),
          payload: payload as unknown as JsonValue,
          links: [{ rel: 'removes', id: current.recordId }],
        },
      ]);
      this.#dropDocument(p.key);
      this.#position = { size: rec!.body.seq + 1, head: rec!.id };
      if (this.#vectors) {
        await this.#vectors.remove(current.chunkIds.filter((id) => this.#vectors!.has(id)));
        this.#scheduleSave();
      }
      return { key: p.key, removed: true, recordId: rec!.id };
    });
  }

  async query(p: RagQueryParams): Promise<RagQueryResult> {
    this.#ensureOpen();
    if ((p.text === undefined) === (p.embedding === undefined))
      throw new SigilError('BAD_INPUT', 'give exactly one of text or embedding', { field: 'text' });
    await this.#ensureLoaded();
    const k = p.k ?? DEFAULT_QUERY_K;
    const f = p.filter;
    const accept = (id: string): boolean => {
      const c = this.#chunks.get(id);
      if (!c) return false;
      if (!f) return true;
      const doc = this.#docs.get(c.key)!.payload;
      return (
        (f.root === undefined || doc.source.root === f.root) &&
        (f.pathPrefix === undefined || doc.source.path.startsWith(f.pathPrefix)) &&
        (f.key === undefined || doc.key === f.key)
      );
    };
    const lists = [];
    let vectorError: string | undefined;
    if (p.text !== undefined) {
      const lexical = this.#lexical
        .search(p.text, f ? CANDIDATES * 20 : CANDIDATES)
        .filter((h) => accept(h.id))
        .slice(0, CANDIDATES);
      lists.push({ weight: this.#opts.settings.lexicalWeight, hits: lexical });
    }
    let vector = false;
    try {
      const index = await this.#serial(() => this.#ensureVectors());
      const embedder = await this.#getEmbedder();
      let q: Float32Array;
      if (p.embedding !== undefined) {
        if (p.embedding.length !== index.dim)
          throw new SigilError(
            'BAD_INPUT',
            `embedding has ${p.embedding.length} dimensions; the index's embedder ${embedder.id} makes ${index.dim}`,
            { field: 'embedding' },
          );
        q = Float32Array.from(p.embedding);
      } else q = (await embedder.embed([p.text!]))[0]!;
      const hits = index.search(q, CANDIDATES, accept);
      lists.push({ weight: p.text === undefined ? 1 : this.#opts.settings.vectorWeight, hits });
      vector = true;
    } catch (e) {
      if (e instanceof SigilError && e.code === 'BAD_INPUT') throw e;
      if (p.text === undefined) throw e;
      vectorError = (e as Error).message;
    }
    const fused = fuse(lists, k, this.#opts.settings.fusion);
    const hits: RagCitation[] = fused.map((h) => this.#citation(h.id, h.score));
    return {
      hits,
      retrievers: { lexical: p.text !== undefined, vector, ...(vectorError ? { vectorError } : {}) },
    };
  }

  #citation(id: string, score: number): RagCitation {
    const c = this.#chunks.get(id)!;
    const doc = this.#docs.get(c.key)!;
    const s = doc.payload.source;
    const url =
      s.url === null ? null : c.meta.anchor ? `${s.url.replace(/#.*$/, '')}#${c.meta.anchor}` : s.url;
    return {
      key: c.key,
      chunk: c.meta.ordinal,
      text: c.text,
      score: Math.round(score * 1e6) / 1e6,
      source: {
        root: s.root,
        path: s.path,
        url,
        title: s.title,
        heading: c.meta.heading_path.join(' > '),
        anchor: c.meta.anchor,
        licence: doc.payload.licence,
      },
      recordId: doc.recordId,
    };
  }

  async documents(p: { root?: string | undefined }): Promise<RagDocumentEntry[]> {
    this.#ensureOpen();
    await this.#ensureLoaded();
    return [...this.#docs.values()]
      .filter((d) => p.root === undefined || d.payload.source.root === p.root)
      .map((d) => ({
        key: d.payload.key,
        root: d.payload.source.root,
        path: d.payload.source.path,
        contentSha256: d.payload.content_sha256,
        sourceSha256: d.payload.provenance.source_sha256 || null,
        chunks: d.chunkIds.length,
      }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async stats(): Promise<RagStats> {
    this.#ensureOpen();
    await this.#ensureLoaded();
    const roots = new Map<string, { documents: number; licences: Set<string> }>();
    for (const d of this.#docs.values()) {
      const r = roots.get(d.payload.source.root) ?? { documents: 0, licences: new Set<string>() };
      r.documents++;
      r.licences.add(d.payload.licence);
      roots.set(d.payload.source.root, r);
    }
    const e = this.#embedder;
    return {
      documents: this.#docs.size,
      chunks: this.#chunks.size,
      roots: [...roots]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([root, r]) => ({ root, documents: r.documents, licences: [...r.licences].sort() })),
      embedder: e ? { id: e.id, dim: e.dim } : null,
      vectors: this.#vectors?.size ?? 0,
      index: this.#vectors
        ? { state: 'ready' }
        : this.#embedderError
          ? { state: 'unavailable', detail: this.#embedderError }
          : { state: 'empty', detail: 'the vector index is opened on the first query' },
    };
  }

  /** Drops the derived indexes and builds them again from the canon, re-embedding every chunk. */
  async rebuild(progress: Progress = {}): Promise<RagStats> {
    this.#ensureOpen();
    await this.#serial(async () => {
      this.#docs.clear();
      this.#chunks.clear();
      this.#lexical = LexicalIndex.create();
      this.#vectors = null;
      await this.#load();
      this.#loaded = Promise.resolve();
      const embedder = await this.#getEmbedder();
      const dim = await embedderDim(embedder);
      this.#vectors = VectorIndex.create({ embedderId: embedder.id, dim, ...this.#tuning() });
      await this.#embedInto(this.#vectors, embedder, [...this.#chunks.values()], progress);
      this.#dirty = true;
      await this.#save();
    });
    return this.stats();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#saveTimer) clearTimeout(this.#saveTimer);
    this.#saveTimer = null;
    await this.#queue.catch(() => undefined);
    try {
      await this.#save();
    } catch (e) {
      this.#opts.onWarning?.(`saving the vector index: ${(e as Error).message}`);
    }
    await this.#embedder?.close();
  }

  #ensureOpen(): void {
    if (this.#closed) throw new SigilError('STORE_CLOSED', 'the retrieval index is closed');
  }
}
