/**
 * The vector half of memory search: one embedding per live entry (of its latest text), in an HNSW index that
 * lives in this process's memory only.
 *
 * Why never on disk: an embedding is a lossy copy of the text (inversion attacks recover much of a short
 * sentence from its vector), so it gets the same treatment as the plaintext: derived at open from texts
 * that still have their keys, never written to an index file, a backup or the canon. A forget therefore
 * leaves no vector anywhere on disk, with nothing to rewrite. The price is re-embedding after each start;
 * it happens on the first search (not at open, so a store that is never searched never loads the model),
 * in the background, and searches answer from BM25 alone, saying so, until the vectors are ready.
 *
 * Updates race with embedding (a write lands while its old text is being embedded): each entry's wanted
 * text is kept, and a vector is added only if it was made from the text still wanted.
 */
import { SigilError } from '../../../shared/src/errors.js';
import { embedderDim, type Embedder } from '../rag/embedder.js';
import { VectorIndex, type VectorHit, type VectorIndexParams } from '../rag/vector-index.js';

export interface MemoryVectorsOptions {
  /** The configured embedder (shared with the docs index); called on first need, again after a failure. */
  readonly embedder: () => Promise<Embedder>;
  /** hnswlib tuning, from `[rag]` (the docs index's). */
  readonly tuning?: Pick<VectorIndexParams, 'm' | 'efConstruction' | 'efSearch'>;
  /** Texts per embedding call while building. */
  readonly batchSize?: number;
  readonly onWarning?: (message: string) => void;
}

/** Where the vectors are: what a search result reports when it had to answer without them. */
export type MemoryVectorState =
  | { readonly state: 'ready'; readonly entries: number; readonly embedder: string }
  | { readonly state: 'building'; readonly done: number; readonly total: number }
  | { readonly state: 'unavailable'; readonly detail: string };

export type MemoryVectorSearch =
  | { readonly hits: VectorHit[]; readonly state: MemoryVectorState & { state: 'ready' } }
  | { readonly hits: null; readonly state: MemoryVectorState };

const DEFAULT_BATCH = 16;

export class MemoryVectors {
  readonly #opts: MemoryVectorsOptions;
  /** Entry id → the text its vector must be made from (the latest version's). */
  readonly #wanted = new Map<string, string>();
  /** Entry id → the text the vector in the index was made from. */
  readonly #indexed = new Map<string, string>();
  /** Entries whose wanted text has no vector yet. */
  readonly #pending = new Set<string>();
  #embedder: Embedder | null = null;
  #index: VectorIndex | null = null;
  #drain: Promise<void> | null = null;
  #started = false;
  #error: string | null = null;
  #closed = false;

  constructor(opts: MemoryVectorsOptions) {
    this.#opts = opts;
  }

  /** The entry's latest text changed (or the entry appeared). */
  set(id: string, text: string): void {
    this.#wanted.set(id, text);
    if (this.#indexed.get(id) === text) this.#pending.delete(id);
    else this.#pending.add(id);
    if (this.#started) this.#kick();
  }

  /** The entry is gone (forgotten, expired): its vector leaves the index now. */
  async delete(id: string): Promise<void> {
    this.#wanted.delete(id);
    this.#pending.delete(id);
    if (this.#indexed.delete(id) && this.#index) await this.#index.remove(id);
  }

  state(): MemoryVectorState {
    if (this.#error !== null && !this.#drain) return { state: 'unavailable', detail: this.#error };
    const total = this.#wanted.size;
    if (this.#index && this.#embedder && this.#pending.size === 0 && !this.#drain)
      return { state: 'ready', entries: this.#index.size, embedder: this.#embedder.id };
    return { state: 'building', done: Math.max(0, total - this.#pending.size), total };
  }

  /**
   * The k nearest entries to `text` that `accept` lets through, waiting up to `waitMs` for the vectors of
   * every live entry; `hits: null` (with the state) when they are not ready by then or cannot be made.
   */
  async search(
    text: string,
    k: number,
    accept: (id: string) => boolean,
    waitMs: number,
  ): Promise<MemoryVectorSearch> {
    this.#ensureOpen();
    this.#started = true;
    this.#kick();
    const drain = this.#drain;
    if (drain) {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        drain.then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), waitMs);
        }),
      ]);
      clearTimeout(timer);
      if (timedOut) return { hits: null, state: this.state() };
    }
    const state = this.state();
    if (state.state !== 'ready') return { hits: null, state };
    let query: Float32Array;
    try {
      query = (await this.#embedder!.embed([text]))[0]!;
    } catch (e) {
      return { hits: null, state: { state: 'unavailable', detail: (e as Error).message } };
    }
    // Entries written while the query was embedded may be missing from this answer; the next has them.
    return { hits: this.#index!.search(query, k, accept), state };
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#drain?.catch(() => undefined);
  }

  #ensureOpen(): void {
    if (this.#closed) throw new SigilError('STORE_CLOSED', 'the memory service is closed');
  }

  /** Starts the builder unless it runs; it stops when every wanted text has its vector. */
  #kick(): void {
    if (this.#drain || this.#closed) return;
    if (this.#pending.size === 0 && this.#index) return;
    this.#drain = this.#build()
      .then(() => {
        this.#error = null;
      })
      .catch((e: unknown) => {
        this.#error = (e as Error).message;
        this.#opts.onWarning?.(
          `memory search: the entries' vectors could not be made (${this.#error}); searching by keywords only`,
        );
      })
      .finally(() => {
        this.#drain = null;
      });
  }

  async #build(): Promise<void> {
    if (!this.#embedder) this.#embedder = await this.#opts.embedder();
    const embedder = this.#embedder;
    if (!this.#index) {
      this.#index = VectorIndex.create({
        embedderId: embedder.id,
        dim: await embedderDim(embedder),
        ...this.#opts.tuning,
        initialCapacity: Math.max(1024, this.#wanted.size),
      });
    }
    const index = this.#index;
    const size = this.#opts.batchSize ?? DEFAULT_BATCH;
    while (this.#pending.size > 0 && !this.#closed) {
      const batch: [string, string][] = [];
      for (const id of this.#pending) {
        batch.push([id, this.#wanted.get(id)!]);
        if (batch.length === size) break;
      }
      for (const [id] of batch) this.#pending.delete(id);
      let vectors: Float32Array[];
      try {
        vectors = await embedder.embed(batch.map(([, t]) => t));
      } catch (e) {
        // Still wanted: the next search tries again.
        for (const [id] of batch)
          if (this.#wanted.has(id) && this.#indexed.get(id) !== this.#wanted.get(id)) this.#pending.add(id);
        throw e;
      }
      for (let i = 0; i < batch.length; i++) {
        const [id, t] = batch[i]!;
        // Changed or forgotten while it was embedded: set() put the new text back in #pending.
        if (this.#wanted.get(id) !== t) continue;
        // Marked before the add so that a delete() meanwhile queues its removal behind this add.
        this.#indexed.set(id, t);
        try {
          await index.add(id, vectors[i]!);
        } catch (e) {
          if (this.#indexed.get(id) === t) this.#indexed.delete(id);
          // A vector hnswlib must not see (e.g. all zeros): this entry is found by its keywords only.
          this.#opts.onWarning?.(`memory search: no vector for one entry (${(e as Error).message})`);
        }
      }
    }
  }
}
