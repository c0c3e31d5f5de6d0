/** The retrieval index's settings and embedder, from the one configuration (`[rag]` in sigil.toml). */
import type { SigilConfig } from '../../../shared/src/config-schema.js';
import { DEFAULT_ALLOWED_LICENCES, normalizeAllowedList } from './licence.js';
import type { FusionParams } from './fusion.js';
import type { RagSettings } from './service.js';
import type { Embedder } from './embedder.js';
import { UseLiteEmbedder } from './embedder-use-lite.js';
import { OpenAiCompatibleEmbedder } from './embedder-openai.js';

export function ragSettings(config: SigilConfig): RagSettings {
  const rag = config.rag;
  const fusion: FusionParams =
    rag.fusion === 'rrf'
      ? { method: 'rrf', k: rag.rrf_k }
      : { method: 'convex', normalization: rag.fusion === 'convex-max' ? 'max' : 'minmax' };
  return {
    allowedLicences: normalizeAllowedList(rag.allowed_licences ?? DEFAULT_ALLOWED_LICENCES),
    fusion,
    lexicalWeight: rag.lexical_weight,
    vectorWeight: rag.vector_weight,
    m: rag.m,
    efConstruction: rag.ef_construction,
    efSearch: rag.ef_search,
  };
}

/** The configured embedder; the config loader has already refused openai-compatible without base_url and model. */
export async function createEmbedder(config: SigilConfig): Promise<Embedder> {
  const rag = config.rag;
  if (rag.embedder === 'openai-compatible')
    return new OpenAiCompatibleEmbedder({
      baseUrl: rag.base_url!,
      model: rag.model!,
      timeoutMs: rag.timeout_ms,
      ...(rag.batch_size !== undefined ? { batchSize: rag.batch_size } : {}),
      ...(rag.dimension !== undefined ? { dim: rag.dimension } : {}),
    });
  return UseLiteEmbedder.create({
    maxChars: rag.max_chars,
    ...(rag.batch_size !== undefined ? { batchSize: rag.batch_size } : {}),
  });
}
