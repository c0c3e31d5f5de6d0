/** Memory search's settings, from the one configuration (`[memory]` in sigil.toml). */
import type { SigilConfig } from '../../../shared/src/config-schema.js';
import type { FusionParams } from '../rag/fusion.js';

/** `[memory]` in sigil.toml: how search fuses its two retrievers. */
export interface MemorySearchSettings {
  readonly fusion: FusionParams;
  readonly lexicalWeight: number;
  readonly vectorWeight: number;
  /** A vector-only hit below this cosine similarity is noise, not a match. */
  readonly minSimilarity: number;
  /** How long a search waits for the entries' vectors before answering from BM25 alone. */
  readonly waitMs: number;
}

export function memorySearchSettings(config: SigilConfig): MemorySearchSettings {
  const m = config.memory;
  return {
    fusion: { method: 'rrf', k: m.rrf_k },
    lexicalWeight: m.lexical_weight,
    vectorWeight: m.search === 'keywords' ? 0 : m.vector_weight,
    minSimilarity: m.min_similarity,
    waitMs: m.search_wait_ms,
  };
}
