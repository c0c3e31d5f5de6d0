import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { OpenAiCompatibleEmbedder, embeddingsUrl } from '../../server/src/rag/embedder-openai.js';
import { SigilError } from '../../shared/src/errors.js';

// A fake OpenAI-compatible server on 127.0.0.1 whose behaviour each test picks by model name.
interface Seen {
  url: string;
  model: string;
  input: string[];
}
const seen: Seen[] = [];
let calls = 0;

function vector(text: string, dim: number): number[] {
  return Array.from({ length: dim }, (_, i) => ((text.length + i) % 7) + 1);
}

const server = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c: Buffer) => (body += c.toString('utf8')));
  req.on('end', () => {
    const { model, input } = JSON.parse(body) as { model: string; input: string[] };
    seen.push({ url: req.url ?? '', model, input });
    calls++;
    const ok = (data: unknown): void => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', model, data }));
    };
    const items = (dim: number) =>
      input.map((t, index) => ({ object: 'embedding', index, embedding: vector(t, dim) }));
    switch (model) {
      case 'ok':
        return ok(items(4));
      case 'reversed':
        return ok(items(4).reverse());
      case 'e500':
        res.writeHead(500, { 'content-type': 'text/plain' });
        return res.end('model not loaded');
      case 'malformed':
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end('{"data": [');
      case 'short':
        return ok(items(4).slice(1));
      case 'grow':
        // 4 dimensions on the first call, 5 afterwards: a model swapped under the same name.
        return ok(items(calls === 1 ? 4 : 5));
      case 'slow':
        return setTimeout(() => ok(items(4)), 2000).unref();
      default:
        res.writeHead(404);
        return res.end();
    }
  });
});

let base = '';
before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

function rejectsWith(pattern: RegExp) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof SigilError, `expected a SigilError, got ${String(e)}`);
    assert.match(e.message, pattern);
    assert.match(e.message, /127\.0\.0\.1:\d+\/v1\/embeddings/, 'the message names the endpoint');
    return true;
  };
}

describe('OpenAI-compatible embedder', () => {
  test('builds the endpoint URL from any base URL form', () => {
    for (const b of ['http://h:1', 'http://h:1/', 'http://h:1/v1', 'http://h:1/v1/'])
      assert.equal(embeddingsUrl(b).href, 'http://h:1/v1/embeddings');
    assert.equal(embeddingsUrl('http://h/api/').href, 'http://h/api/v1/embeddings');
    assert.throws(() => embeddingsUrl('ftp://h'), SigilError);
    assert.throws(() => embeddingsUrl('not a url'), SigilError);
  });

  test('happy path: batches, keeps order, learns the dimension, names itself', async () => {
    seen.length = 0;
    const e = new OpenAiCompatibleEmbedder({ baseUrl: `${base}/`, model: 'ok', batchSize: 2 });
    assert.equal(e.id, `openai-compatible:ok@${new URL(base).host}`);
    assert.equal(e.dim, 0);
    const texts = ['a', 'bb', 'ccc', 'dddd', 'eeeee'];
    const out = await e.embed(texts);
    assert.equal(e.dim, 4);
    assert.deepEqual(
      out.map((v) => [...v]),
      texts.map((t) => vector(t, 4)),
    );
    assert.deepEqual(
      seen.map((s) => s.input.length),
      [2, 2, 1],
    );
    assert.ok(seen.every((s) => s.url === '/v1/embeddings' && s.model === 'ok'));
    assert.deepEqual(await e.embed([]), []);
    await e.close();
    await assert.rejects(e.embed(['x']), SigilError);
  });

  test('places vectors by their index when the server reorders data', async () => {
    const e = new OpenAiCompatibleEmbedder({ baseUrl: base, model: 'reversed' });
    const out = await e.embed(['a', 'bb', 'ccc']);
    assert.deepEqual(
      out.map((v) => [...v]),
      ['a', 'bb', 'ccc'].map((t) => vector(t, 4)),
    );
  });

  test('HTTP 500 is a clear error with the status and the body', async () => {
    const e = new OpenAiCompatibleEmbedder({ baseUrl: base, model: 'e500' });
    await assert.rejects(e.embed(['x']), rejectsWith(/HTTP 500: model not loaded/));
  });

  test('malformed JSON is a clear error', async () => {
    const e = new OpenAiCompatibleEmbedder({ baseUrl: base, model: 'malformed' });
    await assert.rejects(e.embed(['x']), rejectsWith(/malformed JSON/));
  });

  test('a wrong number of embeddings is refused', async () => {
    const e = new OpenAiCompatibleEmbedder({ baseUrl: base, model: 'short' });
    await assert.rejects(e.embed(['x', 'y', 'z']), rejectsWith(/returned 2 embeddings for 3 inputs/));
  });

  test('a dimension change after the first response is refused', async () => {
    calls = 0;
    const e = new OpenAiCompatibleEmbedder({ baseUrl: base, model: 'grow' });
    assert.equal(await e.discoverDim(), 4);
    await assert.rejects(
      e.embed(['x']),
      rejectsWith(/5-dimensional embedding, but this embedder's dimension is 4/),
    );
  });

  test('an expected dimension given up front is enforced on the first response', async () => {
    const e = new OpenAiCompatibleEmbedder({ baseUrl: base, model: 'ok', dim: 8 });
    await assert.rejects(
      e.embed(['x']),
      rejectsWith(/4-dimensional embedding, but this embedder's dimension is 8/),
    );
  });

  test('a server that does not answer in time is a timeout error', async () => {
    const e = new OpenAiCompatibleEmbedder({ baseUrl: base, model: 'slow', timeoutMs: 200 });
    const t0 = Date.now();
    await assert.rejects(e.embed(['x']), rejectsWith(/did not answer within 200 ms/));
    assert.ok(Date.now() - t0 < 1500);
  });

  test('a caller abort is CANCELLED', async () => {
    const e = new OpenAiCompatibleEmbedder({ baseUrl: base, model: 'slow' });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    await assert.rejects(
      e.embed(['x'], ac.signal),
      (err: unknown) => err instanceof SigilError && err.code === 'CANCELLED',
    );
  });

  test('an unreachable server names the endpoint', async () => {
    const e = new OpenAiCompatibleEmbedder({ baseUrl: 'http://127.0.0.1:9', model: 'ok', timeoutMs: 2000 });
    await assert.rejects(e.embed(['x']), (err: unknown) => {
      assert.ok(err instanceof SigilError);
      assert.match(err.message, /127\.0\.0\.1:9\/v1\/embeddings could not be reached/);
      return true;
    });
  });

  test('bad options are refused up front', () => {
    assert.throws(() => new OpenAiCompatibleEmbedder({ baseUrl: base, model: '' }), SigilError);
    assert.throws(
      () => new OpenAiCompatibleEmbedder({ baseUrl: base, model: 'm', batchSize: 0 }),
      SigilError,
    );
    assert.throws(
      () => new OpenAiCompatibleEmbedder({ baseUrl: base, model: 'm', timeoutMs: -1 }),
      SigilError,
    );
  });
});
