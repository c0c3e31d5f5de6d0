import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, promises as fs, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  VECTOR_INDEX_HEADER,
  VectorIndex,
  type CanonPosition,
  type VectorIndexOpenResult,
} from '../../server/src/rag/vector-index.js';
import { SigilError } from '../../shared/src/errors.js';

// ---------------------------------------------------------------------------------------------------------
// Fixtures

const root = mkdtempSync(path.join(tmpdir(), 'sigil-vector-index-'));
after(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const freshDir = (): string => path.join(root, `index-${++dirs}`);

/** Reproducible pseudo-random numbers (mulberry32), so failures can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomVectors(n: number, dim: number, seed: number): number[][] {
  const next = rng(seed);
  return Array.from({ length: n }, () => Array.from({ length: dim }, () => next() * 2 - 1));
}

const EMBEDDER = 'test-embedder@1';
const DIM = 16;
const POS: CanonPosition = { size: 10, head: 'a'.repeat(64) };

function newIndex(opts: { dim?: number; initialCapacity?: number } = {}): VectorIndex {
  return VectorIndex.create({
    embedderId: EMBEDDER,
    dim: opts.dim ?? DIM,
    initialCapacity: opts.initialCapacity ?? 64,
  });
}

async function filled(
  n: number,
  seed = 1,
  opts: { initialCapacity?: number } = {},
): Promise<{ index: VectorIndex; vectors: number[][] }> {
  const index = newIndex(opts);
  const vectors = randomVectors(n, DIM, seed);
  await index.upsert(vectors.map((vector, i) => ({ id: `doc-${i}`, vector })));
  return { index, vectors };
}

function isBadInput(...fragments: string[]): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof SigilError, String(e));
    assert.equal(e.code, 'BAD_INPUT', e.message);
    for (const f of fragments)
      assert.ok(e.message.includes(f), `message lacks ${JSON.stringify(f)}: ${e.message}`);
    return true;
  };
}

function expectStatus<S extends VectorIndexOpenResult['status']>(
  result: VectorIndexOpenResult,
  status: S,
): Extract<VectorIndexOpenResult, { status: S }> {
  assert.equal(result.status, status, 'reason' in result ? result.reason : 'ok');
  return result as Extract<VectorIndexOpenResult, { status: S }>;
}

const float32Bytes = (v: Float32Array): Buffer => Buffer.from(v.buffer, v.byteOffset, v.byteLength);

async function hnswFiles(dir: string): Promise<string[]> {
  return (await fs.readdir(dir)).filter((n) => n.endsWith('.hnsw'));
}

async function savedBytes(dir: string): Promise<Buffer> {
  const files = await hnswFiles(dir);
  assert.equal(files.length, 1, `one generation file expected, found ${files.join(', ')}`);
  return fs.readFile(path.join(dir, files[0]!));
}

function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
}

// ---------------------------------------------------------------------------------------------------------

describe('rag vector index: input checks', () => {
  test('a vector of the wrong dimension is BAD_INPUT and nothing of the batch is added', async () => {
    const index = newIndex();
    const good = randomVectors(2, DIM, 7);
    await assert.rejects(
      async () =>
        index.upsert([
          { id: 'ok', vector: good[0]! },
          { id: 'short', vector: good[1]!.slice(0, 8) },
        ]),
      isBadInput('"short"', '8 dimensions', `${DIM}-dimensional`, EMBEDDER),
    );
    assert.equal(index.size, 0);
    assert.throws(() => index.search([1, 2, 3], 5), isBadInput('query vector', '3 dimensions'));
  });

  test('NaN, infinities, float32 overflow and zero vectors are refused', async () => {
    const index = newIndex();
    const base = randomVectors(1, DIM, 3)[0]!;
    const withValue = (x: number) => base.map((v, i) => (i === 5 ? x : v));
    for (const bad of [NaN, Infinity, -Infinity, 1e39])
      await assert.rejects(async () => index.add('x', withValue(bad)), isBadInput('"x"', 'at [5]'));
    await assert.rejects(
      async () => index.add('zero', new Array<number>(DIM).fill(0)),
      isBadInput('all zeros'),
    );
    assert.throws(() => index.search(new Float32Array(DIM), 1), isBadInput('query vector', 'all zeros'));
    assert.equal(index.size, 0);
  });

  test('ids, k and parameters are checked', async () => {
    const index = newIndex();
    const v = randomVectors(2, DIM, 4);
    await assert.rejects(async () => index.add('', v[0]!), isBadInput('id of item 0'));
    await assert.rejects(
      async () =>
        index.upsert([
          { id: 'same', vector: v[0]! },
          { id: 'same', vector: v[1]! },
        ]),
      isBadInput('"same" appears twice'),
    );
    assert.throws(() => index.search(v[0]!, -1), isBadInput('k'));
    assert.throws(() => index.search(v[0]!, 1.5), isBadInput('k'));
    assert.throws(() => VectorIndex.create({ embedderId: EMBEDDER, dim: 0 }), isBadInput('dimension'));
    assert.throws(() => VectorIndex.create({ embedderId: '', dim: 4 }), isBadInput('embedder id'));
  });
});

describe('rag vector index: searching', () => {
  test('an empty index returns [] for any k', () => {
    const index = newIndex();
    const q = randomVectors(1, DIM, 5)[0]!;
    assert.deepEqual(index.search(q, 10), []);
    assert.deepEqual(index.search(q, 0), []);
  });

  test('k larger than the index returns what it holds, best first; k = 0 returns []', async () => {
    const { index, vectors } = await filled(5);
    const hits = index.search(vectors[2]!, 1000);
    assert.equal(hits.length, 5);
    assert.equal(hits[0]!.id, 'doc-2');
    assert.ok(Math.abs(hits[0]!.score - 1) < 1e-5);
    for (let i = 1; i < hits.length; i++) assert.ok(hits[i - 1]!.score >= hits[i]!.score);
    assert.deepEqual(index.search(vectors[2]!, 0), []);
    // After removals the live count, not hnswlib's element count, bounds k.
    await index.remove(['doc-0', 'doc-1', 'doc-2', 'doc-3']);
    assert.deepEqual(
      index.search(vectors[2]!, 1000).map((h) => h.id),
      ['doc-4'],
    );
    await index.remove('doc-4');
    assert.deepEqual(index.search(vectors[2]!, 10), []);
  });

  test('filters see ids; a filter that throws rethrows on the JS side', async () => {
    const { index, vectors } = await filled(40);
    const even = index.search(vectors[0]!, 10, (id) => Number(id.slice(4)) % 2 === 0);
    assert.equal(even.length, 10);
    assert.ok(even.every((h) => Number(h.id.slice(4)) % 2 === 0));
    assert.throws(
      () =>
        index.search(vectors[0]!, 5, () => {
          throw new Error('filter broke');
        }),
      /filter broke/,
    );
  });

  test('grows past its initial capacity, one at a time and in batches', async () => {
    const index = newIndex({ initialCapacity: 4 });
    const vectors = randomVectors(300, DIM, 11);
    for (let i = 0; i < 20; i++) await index.add(`one-${i}`, vectors[i]!);
    await index.upsert(vectors.slice(20).map((vector, i) => ({ id: `batch-${i}`, vector })));
    const stats = index.stats();
    assert.equal(stats.count, 300);
    assert.ok(stats.capacity >= 300, `capacity ${stats.capacity}`);
    assert.equal(index.search(vectors[3]!, 1)[0]!.id, 'one-3');
    assert.equal(index.search(vectors[299]!, 1)[0]!.id, 'batch-279');
  });

  test('replacing a vector keeps one entry per id', async () => {
    const { index } = await filled(10);
    const replacement = randomVectors(1, DIM, 99)[0]!;
    await index.add('doc-3', replacement);
    assert.equal(index.size, 10);
    assert.equal(index.stats().deleted, 1);
    const hits = index.search(replacement, 10);
    assert.equal(hits[0]!.id, 'doc-3');
    assert.equal(hits.filter((h) => h.id === 'doc-3').length, 1);
  });

  test('recall@10 against exact search on 2000 random vectors is at least 0.9', async () => {
    const dim = 32;
    const index = VectorIndex.create({ embedderId: EMBEDDER, dim, initialCapacity: 256 });
    const data = randomVectors(2000, dim, 2024);
    await index.upsert(data.map((vector, i) => ({ id: String(i), vector })));
    const queries = randomVectors(100, dim, 77);
    let found = 0;
    for (const q of queries) {
      const exact = data
        .map((v, i) => ({ i, s: cosine(q, v) }))
        .sort((a, b) => b.s - a.s)
        .slice(0, 10)
        .map((x) => String(x.i));
      const approx = new Set(index.search(q, 10).map((h) => h.id));
      found += exact.filter((id) => approx.has(id)).length;
    }
    const recall = found / (queries.length * 10);
    assert.ok(recall >= 0.9, `recall@10 = ${recall}`);
  });
});

describe('rag vector index: persistence', () => {
  test('save then open: same ids, vectors and results', async () => {
    const { index, vectors } = await filled(120, 21);
    const dir = freshDir();
    await index.save(dir, POS);
    const reopened = expectStatus(
      await VectorIndex.open(dir, { embedderId: EMBEDDER, dim: DIM, position: POS }),
      'ok',
    ).index;
    assert.equal(reopened.size, 120);
    assert.deepEqual(reopened.ids().sort(), index.ids().sort());
    assert.deepEqual(reopened.vector('doc-7'), index.vector('doc-7'));
    for (const q of vectors.slice(0, 10)) assert.deepEqual(reopened.search(q, 5), index.search(q, 5));
    const header = JSON.parse(await fs.readFile(path.join(dir, VECTOR_INDEX_HEADER), 'utf8')) as Record<
      string,
      unknown
    >;
    assert.equal(header.embedderId, EMBEDDER);
    assert.equal(header.dim, DIM);
    assert.deepEqual(header.position, POS);
    assert.equal((header.ids as unknown[]).length, 120);
    // Saving again replaces the generation file instead of accumulating them; no temporary files remain.
    await reopened.add('doc-new', randomVectors(1, DIM, 5)[0]!);
    await reopened.save(dir, { size: 11, head: 'b'.repeat(64) });
    assert.equal((await hnswFiles(dir)).length, 1);
    assert.deepEqual(
      (await fs.readdir(dir)).filter((n) => n.endsWith('.tmp')),
      [],
    );
  });

  test('an empty index round-trips', async () => {
    const dir = freshDir();
    await newIndex().save(dir, { size: 0, head: '' });
    const opened = expectStatus(
      await VectorIndex.open(dir, { embedderId: EMBEDDER, dim: DIM, position: { size: 0, head: '' } }),
      'ok',
    );
    assert.equal(opened.index.size, 0);
    assert.deepEqual(opened.index.search(randomVectors(1, DIM, 1)[0]!, 3), []);
  });

  test('missing, stale, mismatched and corrupt are reported, not thrown', async () => {
    const expect = { embedderId: EMBEDDER, dim: DIM, position: POS };
    expectStatus(await VectorIndex.open(freshDir(), expect), 'missing');

    const { index, vectors } = await filled(30, 8);
    const dir = freshDir();
    await index.save(dir, POS);

    const stale = expectStatus(
      await VectorIndex.open(dir, { ...expect, position: { size: 11, head: POS.head } }),
      'stale',
    );
    assert.deepEqual(stale.saved, POS);
    assert.equal(stale.index.search(vectors[4]!, 1)[0]!.id, 'doc-4', 'a stale index is still loaded');
    expectStatus(
      await VectorIndex.open(dir, { ...expect, position: { size: POS.size, head: 'c'.repeat(64) } }),
      'stale',
    );

    const otherEmbedder = expectStatus(
      await VectorIndex.open(dir, { ...expect, embedderId: 'other@2' }),
      'mismatched',
    );
    assert.deepEqual(otherEmbedder.saved, { version: 1, embedderId: EMBEDDER, dim: DIM });
    assert.match(otherEmbedder.reason, /other@2/);
    expectStatus(await VectorIndex.open(dir, { ...expect, dim: DIM * 2 }), 'mismatched');

    // A future format version.
    const headerPath = path.join(dir, VECTOR_INDEX_HEADER);
    const header = JSON.parse(await fs.readFile(headerPath, 'utf8')) as Record<string, unknown>;
    await fs.writeFile(headerPath, JSON.stringify({ ...header, version: 2 }));
    expectStatus(await VectorIndex.open(dir, expect), 'mismatched');

    // A header that is not JSON, or does not describe an index.
    await fs.writeFile(headerPath, '{"format": "sigil-vector-index", ');
    expectStatus(await VectorIndex.open(dir, expect), 'corrupt');
    await fs.writeFile(headerPath, JSON.stringify({ ...header, ids: 'nope' }));
    expectStatus(await VectorIndex.open(dir, expect), 'corrupt');

    // A flipped byte in the hnswlib file is caught by its hash before hnswlib reads it.
    await fs.writeFile(headerPath, JSON.stringify(header));
    expectStatus(await VectorIndex.open(dir, expect), 'ok');
    const file = path.join(dir, (await hnswFiles(dir))[0]!);
    const bytes = await fs.readFile(file);
    bytes[bytes.length >> 1] = (bytes[bytes.length >> 1]! ^ 0xff) & 0xff;
    await fs.writeFile(file, bytes);
    expectStatus(await VectorIndex.open(dir, expect), 'corrupt');
    await fs.rm(file);
    expectStatus(await VectorIndex.open(dir, expect), 'corrupt');
  });

  test('removed and replaced vectors are not in the file written by the next save, nor after reopening', async () => {
    const { index, vectors } = await filled(50, 31);
    const dir = freshDir();
    const removed = index.vector('doc-17')!;
    const replaced = index.vector('doc-23')!;
    await index.save(dir, POS);
    // The check below can see a vector: both are in the file while they are live.
    const before = await savedBytes(dir);
    assert.ok(before.includes(float32Bytes(removed)));
    assert.ok(before.includes(float32Bytes(replaced)));

    assert.equal(await index.remove(['doc-17', 'no-such-doc']), 1);
    await index.add('doc-23', randomVectors(1, DIM, 1234)[0]!);
    await index.save(dir, { size: 12, head: 'd'.repeat(64) });
    const after = await savedBytes(dir);
    assert.ok(!after.includes(float32Bytes(removed)), 'removed vector still in the saved file');
    assert.ok(!after.includes(float32Bytes(replaced)), 'replaced vector still in the saved file');
    assert.equal(index.stats().deleted, 0, 'save compacted the live index too');

    const reopened = expectStatus(
      await VectorIndex.open(dir, {
        embedderId: EMBEDDER,
        dim: DIM,
        position: { size: 12, head: 'd'.repeat(64) },
      }),
      'ok',
    ).index;
    assert.equal(reopened.size, 50 - 1);
    assert.equal(reopened.has('doc-17'), false);
    assert.ok(!reopened.search(vectors[17]!, 49).some((h) => h.id === 'doc-17'));
    assert.notDeepEqual(reopened.vector('doc-23'), replaced);
    assert.equal(reopened.search(vectors[5]!, 1)[0]!.id, 'doc-5');
  });

  test('an add issued during a save waits for it: the file holds the state when the save began', async () => {
    const { index } = await filled(200, 41);
    const dir = freshDir();
    const late = randomVectors(1, DIM, 4242)[0]!;
    const saving = index.save(dir, POS);
    const adding = index.add('late', late);
    const removing = index.remove('doc-0');
    await Promise.all([saving, adding, removing]);
    assert.equal(index.has('late'), true);
    assert.equal(index.has('doc-0'), false);
    const reopened = expectStatus(
      await VectorIndex.open(dir, { embedderId: EMBEDDER, dim: DIM, position: POS }),
      'ok',
    ).index;
    assert.equal(reopened.size, 200);
    assert.equal(reopened.has('late'), false);
    assert.equal(reopened.has('doc-0'), true);
  });
});
