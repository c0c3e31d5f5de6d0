import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { type EvalQuery, evaluate, matches, parseEvalQueries } from '../../server/src/rag/eval.js';
import { SigilError } from '../../shared/src/errors.js';

const Q: EvalQuery[] = [
  { query: 'moved', kind: 'error', expect: [{ path: 'error_codes/E0382.html' }] },
  { query: 'elision', expect: [{ path: 'book/ch10-03-lifetime-syntax.html', anchor: 'lifetime-elision' }] },
  { query: 'nothing', expect: [{ path: 'nomicon/hrtb.html' }] },
];

const answers: Record<string, { path: string; anchor?: string }[]> = {
  moved: [{ path: 'book/x.html' }, { path: 'error_codes/E0382.html', anchor: 'error-code-e0382' }],
  elision: [
    { path: 'book/ch10-03-lifetime-syntax.html', anchor: 'the-static-lifetime' },
    { path: 'x.html' },
    { path: '/book/ch10-03-lifetime-syntax.html', anchor: '#lifetime-elision' },
  ],
  nothing: [],
};
const retrieve = (q: string, k: number) => Promise.resolve((answers[q] ?? []).slice(0, k));

describe('evaluate', () => {
  test('recall@k, MRR and misses', async () => {
    const r = await evaluate(Q, retrieve, 3);
    assert.equal(r.queries, 3);
    assert.deepEqual(
      r.perQuery.map((o) => o.rank),
      [2, 3, undefined],
    );
    assert.equal(r.recall, 2 / 3);
    assert.deepEqual(r.recallAt, { 1: 0, 3: 2 / 3 });
    assert.ok(Math.abs(r.mrr - (1 / 2 + 1 / 3) / 3) < 1e-12);
    assert.deepEqual(
      r.misses.map((m) => m.query),
      ['nothing'],
    );
    assert.equal(r.perQuery[0]?.kind, 'error');
  });

  test('anchor-insensitive mode counts any hit in the page', async () => {
    const r = await evaluate(Q, retrieve, 3, { anchorSensitive: false });
    assert.deepEqual(
      r.perQuery.map((o) => o.rank),
      [2, 1, undefined],
    );
    assert.equal(r.recallAt[1], 1 / 3);
  });

  test('hits beyond k do not count', async () => {
    const r = await evaluate(Q, () => Promise.resolve(answers.elision ?? []), 2);
    assert.equal(r.recall, 0);
  });

  test('matches normalizes leading slashes and #', () => {
    assert.ok(matches({ path: './a/b.html', anchor: '#x' }, { path: 'a/b.html', anchor: 'x' }));
    assert.ok(!matches({ path: 'a/b.html', anchor: 'y' }, { path: 'a/b.html', anchor: 'x' }));
    assert.ok(matches({ path: 'a/b.html', anchor: 'y' }, { path: 'a/b.html', anchor: 'x' }, false));
    assert.ok(matches({ path: 'a/b.html' }, { path: 'a/b.html' }));
  });

  test('k must be positive', async () => {
    await assert.rejects(evaluate(Q, retrieve, 0), SigilError);
  });
});

describe('parseEvalQueries', () => {
  test('parses the Rust docs evaluation set', () => {
    const qs = parseEvalQueries(
      readFileSync(new URL('../fixtures/rag-eval/rust-docs-queries.jsonl', import.meta.url), 'utf8'),
    );
    assert.ok(qs.length >= 120, `${qs.length} queries`);
    const books = new Set(qs.flatMap((q) => q.expect.map((e) => e.path.split('/')[0])));
    for (const b of ['book', 'reference', 'nomicon', 'rust-by-example', 'edition-guide', 'error_codes'])
      assert.ok(books.has(b), b);
    assert.equal(new Set(qs.map((q) => q.query)).size, qs.length, 'no duplicate queries');
  });
  test('errors name the line', () => {
    assert.throws(
      () => parseEvalQueries('{"query":"a","expect":[{"path":"x"}]}\n\nnot json'),
      /line 3: not JSON/,
    );
    assert.throws(() => parseEvalQueries('{"query":"a","expect":[]}'), /line 1: expect/);
  });
});
