import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  DEFAULT_FUSION_METHOD,
  DEFAULT_LEXICAL_WEIGHT,
  DEFAULT_RRF_K,
  DEFAULT_VECTOR_WEIGHT,
  type RankedList,
  convexFusion,
  fuse,
  reciprocalRankFusion,
} from '../../server/src/rag/fusion.js';
import { DEFAULT_CONFIG } from '../../shared/src/config-schema.js';
import { SigilError } from '../../shared/src/errors.js';

// A ranked list: distinct ids (sometimes repeated, to check first-occurrence handling) with descending scores.
const ids = fc.constantFrom(...'abcdefghijklmnop'.split(''));
const hits = (allowRepeats: boolean) =>
  (allowRepeats ? fc.array(ids, { maxLength: 12 }) : fc.uniqueArray(ids, { maxLength: 12 })).chain((xs) =>
    fc
      .array(fc.double({ min: -5, max: 50, noNaN: true }), { minLength: xs.length, maxLength: xs.length })
      .map((scores) => {
        const sorted = [...scores].sort((a, b) => b - a);
        return xs.map((id, i) => ({ id, score: sorted[i] ?? 0 }));
      }),
  );
const weight = fc.oneof(fc.constant(0), fc.constant(1), fc.double({ min: 0, max: 3, noNaN: true }));
const list = (allowRepeats = true) => fc.record({ weight, hits: hits(allowRepeats) });
const k = fc.integer({ min: 0, max: 20 });

const methods = [
  ['rrf', (l: RankedList[], n: number) => reciprocalRankFusion(l, n, 60)],
  ['rrf k=0', (l: RankedList[], n: number) => reciprocalRankFusion(l, n, 0)],
  ['convex minmax', (l: RankedList[], n: number) => convexFusion(l, n, 'minmax')],
  ['convex max', (l: RankedList[], n: number) => convexFusion(l, n, 'max')],
] as const;

function firstOccurrences(l: RankedList): string[] {
  return [...new Set(l.hits.map((h) => h.id))];
}

for (const [name, f] of methods) {
  describe(`fusion: ${name}`, () => {
    test('deterministic, no duplicates, at most k, only ids from weighted lists', () => {
      fc.assert(
        fc.property(fc.array(list(), { maxLength: 3 }), k, (lists, n) => {
          const a = f(lists, n);
          assert.deepEqual(f(lists, n), a);
          assert.ok(a.length <= n);
          const got = a.map((h) => h.id);
          assert.equal(new Set(got).size, got.length);
          const allowed = new Set(lists.filter((l) => l.weight > 0).flatMap((l) => l.hits.map((h) => h.id)));
          assert.ok(got.every((id) => allowed.has(id)));
          for (let i = 1; i < a.length; i++) assert.ok((a[i - 1]?.score ?? 0) >= (a[i]?.score ?? 0));
        }),
      );
    });

    test('an item ranked first by both lists ranks first', () => {
      fc.assert(
        fc.property(
          list(),
          list(),
          ids,
          fc.double({ min: 0.01, max: 3, noNaN: true }),
          k,
          (l1, l2, top, w, n) => {
            fc.pre(n > 0);
            const best = (l: RankedList): RankedList => {
              const rest = l.hits.filter((h) => h.id !== top);
              const s = Math.max(0, ...rest.map((h) => h.score ?? 0)) + 1;
              return { weight: l.weight, hits: [{ id: top, score: s }, ...rest] };
            };
            const a = best({ ...l1, weight: w });
            const b = best(l2);
            assert.equal(f([a, b], n)[0]?.id, top);
          },
        ),
      );
    });

    test('weights 1/0 reproduce one list, in its order', () => {
      fc.assert(
        fc.property(list(), list(), k, (l1, l2, n) => {
          const one = firstOccurrences(l1).slice(0, n);
          assert.deepEqual(
            f(
              [
                { ...l1, weight: 1 },
                { ...l2, weight: 0 },
              ],
              n,
            ).map((h) => h.id),
            one,
          );
          assert.deepEqual(
            f(
              [
                { ...l2, weight: 0 },
                { ...l1, weight: 1 },
              ],
              n,
            ).map((h) => h.id),
            one,
          );
        }),
      );
    });

    test('every list weight 0 returns nothing', () => {
      fc.assert(
        fc.property(list(), list(), k, (l1, l2, n) => {
          assert.deepEqual(
            f(
              [
                { ...l1, weight: 0 },
                { ...l2, weight: 0 },
              ],
              n,
            ),
            [],
          );
        }),
      );
    });
  });
}

describe('fusion: parameters and examples', () => {
  test('weighted RRF: a heavier list wins a disagreement', () => {
    const bm25 = { weight: 1, hits: [{ id: 'a' }, { id: 'b' }] };
    const vec = { weight: 0.5, hits: [{ id: 'b' }, { id: 'c' }] };
    assert.deepEqual(
      reciprocalRankFusion([bm25, vec], 3).map((h) => h.id),
      ['b', 'a', 'c'],
    );
    assert.deepEqual(
      reciprocalRankFusion([bm25, { ...vec, weight: 0.01 }], 3).map((h) => h.id),
      ['a', 'b', 'c'],
    );
    const [b] = reciprocalRankFusion([bm25, vec], 1);
    assert.deepEqual(b?.ranks, [2, 1]);
    assert.ok(Math.abs((b?.score ?? 0) - (1 / 62 + 0.5 / 61)) < 1e-12);
  });

  test('fuse() dispatches', () => {
    const l = [{ weight: 1, hits: [{ id: 'x', score: 2 }] }];
    assert.deepEqual(fuse(l, 1, { method: 'rrf', k: 60 }), reciprocalRankFusion(l, 1, 60));
    assert.deepEqual(fuse(l, 1, { method: 'convex', normalization: 'max' }), convexFusion(l, 1, 'max'));
  });

  test('bad parameters are refused', () => {
    const l = [{ weight: 1, hits: [{ id: 'x' }] }];
    assert.throws(() => reciprocalRankFusion(l, -1), SigilError);
    assert.throws(() => reciprocalRankFusion([{ weight: -1, hits: [] }], 1), SigilError);
    assert.throws(() => reciprocalRankFusion(l, 1, Number.NaN), SigilError);
    assert.throws(() => convexFusion(l, 1), SigilError, 'convex needs scores');
  });
});

describe('fusion defaults', () => {
  test('the [rag] configuration defaults are the measured fusion defaults', () => {
    assert.equal(DEFAULT_CONFIG.rag.fusion, DEFAULT_FUSION_METHOD);
    assert.equal(DEFAULT_CONFIG.rag.rrf_k, DEFAULT_RRF_K);
    assert.equal(DEFAULT_CONFIG.rag.lexical_weight, DEFAULT_LEXICAL_WEIGHT);
    assert.equal(DEFAULT_CONFIG.rag.vector_weight, DEFAULT_VECTOR_WEIGHT);
  });
});
