/**
 * One query through both retrievers and the fusion: the function the rag.query service calls. It owns no
 * state; the caller passes the indexes and the embedder (which must be the one the vector index was built
 * with: the ids are compared, since mixing vector spaces returns nonsense without failing).
 */
import type { RagFusionMethod } from '../../../shared/src/config-schema.js';
import { SigilError } from '../../../shared/src/errors.js';
import type { Embedder } from './embedder.js';
import {
  DEFAULT_LEXICAL_WEIGHT,
  DEFAULT_RRF_K,
  DEFAULT_VECTOR_WEIGHT,
  type FusedHit,
  type FusionParams,
  fuse,
} from './fusion.js';
import type { LexicalIndex } from './lexical-index.js';
import type { VectorIndex } from './vector-index.js';

/** Candidates each retriever contributes before fusion (the evaluation used 50). */
export const DEFAULT_CANDIDATE_DEPTH = 50;

export interface HybridSources {
  readonly lexical: LexicalIndex;
  readonly vectors: VectorIndex;
  readonly embedder: Embedder;
}

export interface HybridOptions {
  readonly fusion?: FusionParams;
  readonly lexicalWeight?: number;
  readonly vectorWeight?: number;
  /** Candidates taken from each retriever; at least k. */
  readonly depth?: number;
  /** Only ids it accepts are returned (e.g. licence or space filters). */
  readonly filter?: (id: string) => boolean;
  readonly signal?: AbortSignal;
}

/** The fusion settings of a resolved `[rag]` configuration section. */
export function fusionFromConfig(rag: {
  readonly fusion: RagFusionMethod;
  readonly rrf_k: number;
  readonly lexical_weight: number;
  readonly vector_weight: number;
}): Required<Pick<HybridOptions, 'fusion' | 'lexicalWeight' | 'vectorWeight'>> {
  const fusion: FusionParams =
    rag.fusion === 'rrf'
      ? { method: 'rrf', k: rag.rrf_k }
      : { method: 'convex', normalization: rag.fusion === 'convex-max' ? 'max' : 'minmax' };
  return { fusion, lexicalWeight: rag.lexical_weight, vectorWeight: rag.vector_weight };
}

export async function hybridSearch(
  query: string,
  k: number,
  sources: HybridSources,
  options: HybridOptions = {},
): Promise<FusedHit[]> {
  const { lexical, vectors, embedder } = sources;
  const stats = vectors.stats();
  if (stats.embedderId !== embedder.id)
    throw new SigilError(
      'BAD_INPUT',
      `the vector index was built with ${stats.embedderId}, but the query embedder is ${embedder.id}: rebuild the index or configure the same embedder`,
    );
  const depth = Math.max(k, options.depth ?? DEFAULT_CANDIDATE_DEPTH);
  const lexicalWeight = options.lexicalWeight ?? DEFAULT_LEXICAL_WEIGHT;
  const vectorWeight = options.vectorWeight ?? DEFAULT_VECTOR_WEIGHT;
  const filter = options.filter ?? (() => true);
  // A disabled retriever is not run at all (the embedding is the expensive part).
  const lexicalHits = lexicalWeight > 0 ? lexical.search(query, depth).filter((h) => filter(h.id)) : [];
  let vectorHits: { id: string; score: number }[] = [];
  if (vectorWeight > 0 && vectors.size > 0) {
    const [q] = await embedder.embed([query], options.signal);
    if (q === undefined) throw new SigilError('INTERNAL', `${embedder.id} returned no vector for the query`);
    vectorHits = vectors.search(q, depth, options.filter);
  }
  return fuse(
    [
      { weight: lexicalWeight, hits: lexicalHits },
      { weight: vectorWeight, hits: vectorHits },
    ],
    k,
    options.fusion ?? { method: 'rrf', k: DEFAULT_RRF_K },
  );
}
