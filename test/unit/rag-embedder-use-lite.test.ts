import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import {
  USE_LITE_DIM,
  UseLiteEmbedder,
  resolveUseLiteAssets,
  truncateForEmbedding,
} from '../../server/src/rag/embedder-use-lite.js';
import { SigilError } from '../../shared/src/errors.js';

const cos = (a: Float32Array, b: Float32Array): number => {
  let d = 0;
  let x = 0;
  let y = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i] ?? 0) * (b[i] ?? 0);
    x += (a[i] ?? 0) ** 2;
    y += (b[i] ?? 0) ** 2;
  }
  return d / Math.sqrt(x * y);
};

describe('truncateForEmbedding', () => {
  test('collapses whitespace and cuts at a word boundary near the budget', () => {
    assert.equal(truncateForEmbedding('  a\n\n b\tc ', 100), 'a b c');
    const long = 'word '.repeat(100);
    const t = truncateForEmbedding(long, 52);
    assert.ok(t.length <= 52 && t.endsWith('word'), t);
    assert.equal(truncateForEmbedding('x'.repeat(100), 40), 'x'.repeat(40));
  });
});

describe('USE-lite embedder (worker thread, offline)', () => {
  let embedder: UseLiteEmbedder;
  const realFetch = globalThis.fetch;
  const proxies = { HTTP_PROXY: process.env.HTTP_PROXY, HTTPS_PROXY: process.env.HTTPS_PROXY };
  before(async () => {
    // No network from this thread either, and a proxy that goes nowhere.
    globalThis.fetch = () => Promise.reject(new Error('network access attempted from the test thread'));
    process.env.HTTP_PROXY = process.env.HTTPS_PROXY = 'http://127.0.0.1:9';
    embedder = await UseLiteEmbedder.create({
      assets: {
        workerPath: fileURLToPath(new URL('../support/no-network-use-lite-worker.ts', import.meta.url)),
      },
      batchSize: 4,
    });
  });
  after(async () => {
    await embedder.close();
    globalThis.fetch = realFetch;
    for (const [k, v] of Object.entries(proxies))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
  });

  test('names its model and package version and makes 512-d vectors', async () => {
    assert.match(embedder.id, /^use-lite@\d+\.\d+\.\d+$/);
    assert.equal(embedder.dim, USE_LITE_DIM);
    const [v] = await embedder.embed(['hello']);
    assert.ok(v instanceof Float32Array && v.length === 512);
  });

  test('similar questions are closer than unrelated text', async () => {
    const [a, b, c] = await embedder.embed([
      'How do I borrow a value mutably in Rust?',
      'take a mutable reference to a variable',
      'The weather in Paris is sunny.',
    ]);
    assert.ok(a && b && c);
    assert.ok(cos(a, b) > cos(a, c) + 0.2, `${cos(a, b)} vs ${cos(a, c)}`);
  });

  test('keeps input order across batches, and a text embeds the same alone or in a batch', async () => {
    const texts = Array.from({ length: 10 }, (_, i) => `sentence number ${i} about traits and generics`);
    const all = await embedder.embed(texts);
    assert.equal(all.length, 10);
    const [alone] = await embedder.embed([texts[7] ?? '']);
    assert.ok(alone && all[7]);
    assert.ok(cos(alone, all[7]) > 0.999);
    assert.deepEqual(await embedder.embed([]), []);
  });

  test('long inputs are truncated, not refused', async () => {
    const [v] = await embedder.embed(['ownership '.repeat(5000)]);
    assert.equal(v?.length, 512);
  });

  test('an aborted signal is CANCELLED', async () => {
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(
      embedder.embed(['x'], ac.signal),
      (e: unknown) => e instanceof SigilError && e.code === 'CANCELLED',
    );
  });

  test('a missing model directory is a clear error naming it', async () => {
    await assert.rejects(
      UseLiteEmbedder.create({ assets: { modelDir: '/nonexistent/use-lite' } }),
      (e: unknown) =>
        e instanceof SigilError &&
        /could not load the USE-lite model in \/nonexistent\/use-lite/.test(e.message),
    );
  });

  test('resolves assets from the source tree', () => {
    const a = resolveUseLiteAssets();
    assert.match(a.modelDir, /model-embeddings-en[\\/]dist$/);
    assert.match(a.workerPath, /embedder-use-lite-worker\.ts$/);
  });

  test('a closed embedder refuses work', async () => {
    const e = await UseLiteEmbedder.create();
    await e.close();
    await e.close();
    await assert.rejects(
      e.embed(['x']),
      (err: unknown) => err instanceof SigilError && err.code === 'STORE_CLOSED',
    );
  });
});
