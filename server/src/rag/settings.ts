/** The retrieval index's settings and embedder, from the one configuration (`[rag]` in sigil.toml). */
import type { SigilConfig } from '../../../shared/src/config-schema.js';
import { DEFAULT_ALLOWED_LICENCES, normalizeAllowedList } from './licence.js';
import { DEFAULT_LEXICAL_WEIGHT, DEFAULT_RRF_K, DEFAULT_VECTOR_WEIGHT } from './fusion.js';
import type { RagSettings } from './service.js';
import type { Embedder } from './embedder.js';
import { UseLiteEmbedder } from './embedder-use-lite.js';

export function ragSettings(config: SigilConfig): RagSettings {
  const rag = config.rag;
  return {
    allowedLicences: normalizeAllowedList(DEFAULT_ALLOWED_LICENCES),
    fusion: { method: 'rrf', k: DEFAULT_RRF_K },
    lexicalWeight: DEFAULT_LEXICAL_WEIGHT,
    vectorWeight: DEFAULT_VECTOR_WEIGHT,
    m: rag.m,
    efConstruction: rag.ef_construction,
    efSearch: rag.ef_search,
  };
}

export function createEmbedder(_config: SigilConfig): Promise<Embedder> {
  return UseLiteEmbedder.create();
}
