import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Embedder } from '../../server/src/rag/embedder.js';
import { fusionFromConfig, hybridSearch } from '../../server/src/rag/hybrid.js';
import { LexicalIndex } from '../../server/src/rag/lexical-index.js';
import { VectorIndex } from '../../server/src/rag/vector-index.js';
import { DEFAULT_CONFIG } from '../../shared/src/config-schema.js';
import { SigilError } from '../../shared/src/errors.js';

// A toy embedder: one dimension per keyword, so "vector" similarity is predictable.
const WORDS = ['own', 'borrow', 'thread', 'macro'];
const toy: Embedder = {
  id: 'toy@1',
  dim: WORDS.length,
  embed: (texts) =>
    Promise.resolve(texts.map((t) => Float32Array.from(WORDS.map((w) => (t.includes(w) ? 1 : 0.01))))),
  close: () => Promise.resolve(),
};

async function sources() {
  const docs = [
    { id: 'a', text: 'ownership rules own values' },
    { id: 'b', text: 'borrow checker and references' },
    { id: 'c', text: 'spawn a thread' },
  ];
  const lexical = LexicalIndex.create();
  lexical.addAll(docs);
  const vectors = VectorIndex.create({ embedderId: toy.id, dim: toy.dim });
  const vs = await toy.embed(docs.map((d) => d.text));
  await vectors.upsert(docs.map((d, i) => ({ id: d.id, vector: vs[i] ?? new Float32Array(4) })));
  return { lexical, vectors, embedder: toy };
}

describe('hybridSearch', () => {
  test('fuses both retrievers; weights switch one off', async () => {
    const s = await sources();
    const both = await hybridSearch('borrow references', 3, s);
    assert.equal(both[0]?.id, 'b');
    const vecOnly = await hybridSearch('thread please', 1, s, { lexicalWeight: 0 });
    assert.deepEqual(
      vecOnly.map((h) => h.id),
      ['c'],
    );
    const lexOnly = await hybridSearch('spawn', 3, s, { vectorWeight: 0 });
    assert.deepEqual(
      lexOnly.map((h) => h.id),
      ['c'],
    );
    const filtered = await hybridSearch('borrow references', 3, s, { filter: (id) => id !== 'b' });
    assert.ok(filtered.every((h) => h.id !== 'b'));
  });

  test('refuses an embedder other than the index was built with', async () => {
    const s = await sources();
    await assert.rejects(hybridSearch('x', 1, { ...s, embedder: { ...toy, id: 'other@2' } }), SigilError);
  });

  test('fusionFromConfig maps the [rag] keys', () => {
    assert.deepEqual(fusionFromConfig(DEFAULT_CONFIG.rag), {
      fusion: { method: 'rrf', k: 5 },
      lexicalWeight: 1,
      vectorWeight: 0.4,
    });
    assert.deepEqual(fusionFromConfig({ ...DEFAULT_CONFIG.rag, fusion: 'convex-max' }).fusion, {
      method: 'convex',
      normalization: 'max',
    });
  });
});
