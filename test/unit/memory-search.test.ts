/**
 * Memory search by meaning: BM25 fused with USE-lite vectors (the bundled model, run for real) that live in
 * the owner process only. Checked: a paraphrase finds its entry where keywords alone do not; forgotten and
 * too-private entries never come back through the vectors; no file under the home holds a vector; a search
 * while the vectors are being made, or without an embedder, answers from keywords and says so; updates
 * replace the vector; a restart rebuilds them.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import type { Identity } from '../../shared/src/license.js';
import type { MemorySearchResult, MemoryWriteResult } from '../../shared/src/protocol.js';
import { UseLiteEmbedder } from '../../server/src/rag/embedder-use-lite.js';
import {
  callAs,
  disposeTestHome,
  issueLicence,
  newTestHome,
  reopenTestHome,
  type TestHome,
  filesUnder,
} from '../support/runtime-home.js';

/** Entries of test/fixtures/memory-eval/, and paraphrases that share no content word with them. */
const ENTRIES = [
  {
    key: 'decision/database',
    text: 'We chose PostgreSQL over MongoDB for the inventory because stock moves need transactions across several tables.',
  },
  {
    key: 'code/money',
    text: 'Prices are integers in cents with a currency code; floating point is forbidden for money.',
  },
  {
    key: 'bug/timezone',
    text: 'Bug 157: the nightly report ran twice on the day clocks changed for daylight saving; scheduling now uses UTC.',
  },
  {
    key: 'faq/reset',
    text: 'Customers who forget their password use the reset link on the sign-in page; support never asks for passwords.',
  },
] as const;
const PARAPHRASE = {
  'code/money': 'how should monetary values get represented',
  'faq/reset': 'user locked out, cannot authenticate',
} as const;
const NS = 'agent:planner';
const WAIT = { SIGIL_MEMORY_SEARCH_WAIT_MS: '120000' };

async function write(h: TestHome, key: string, text: string, who: Identity, visibility?: string) {
  return callAs<MemoryWriteResult>(
    h,
    'sigil/memory.write',
    { namespace: NS, key, text, ...(visibility ? { visibility } : {}) },
    who,
  );
}

function search(h: TestHome, text: string, who: Identity): Promise<MemorySearchResult> {
  return callAs<MemorySearchResult>(h, 'sigil/memory.search', { text, k: 3 }, who);
}

const keys = (r: MemorySearchResult): string[] => r.hits.map((x) => x.entry.key);

describe('memory search: hybrid ranking', () => {
  let hybrid: TestHome;
  let keywords: TestHome;
  before(async () => {
    hybrid = await newTestHome('memory-hybrid', WAIT);
    keywords = await newTestHome('memory-keywords', { SIGIL_MEMORY_SEARCH: 'keywords' });
    for (const e of ENTRIES) {
      await write(hybrid, e.key, e.text, hybrid.owner);
      await write(keywords, e.key, e.text, keywords.owner);
    }
  });
  after(async () => {
    await disposeTestHome(hybrid);
    await disposeTestHome(keywords);
  });

  test('a paraphrase finds its entry by meaning, where BM25 alone finds nothing', async () => {
    for (const [key, query] of Object.entries(PARAPHRASE)) {
      const k = await search(keywords, query, keywords.owner);
      assert.deepEqual(
        k.retrievers,
        { lexical: true, vector: false },
        'keywords mode never asks for vectors',
      );
      assert.deepEqual(keys(k), [], `keywords, "${query}"`);
      const h = await search(hybrid, query, hybrid.owner);
      assert.deepEqual(h.retrievers, { lexical: true, vector: true }, query);
      assert.equal(
        keys(h)[0],
        key,
        `hybrid, "${query}": ${JSON.stringify(h.hits.map((x) => [x.entry.key, x.score]))}`,
      );
    }
  });

  test('a query about nothing stored finds nothing, not the nearest stranger', async () => {
    const r = await search(hybrid, 'giraffes graze savanna grasslands', hybrid.owner);
    assert.equal(r.retrievers.vector, true);
    assert.deepEqual(keys(r), []);
  });

  test('exact keywords still rank their entry first', async () => {
    const r = await search(hybrid, 'PostgreSQL MongoDB', hybrid.owner);
    assert.equal(keys(r)[0], 'decision/database');
  });

  test('an entry above the caller\u2019s LOA is not found through its vector either', async () => {
    const observer = await issueLicence(hybrid, 'agent:observer', 'observer');
    await write(
      hybrid,
      'secret/plan',
      'The acquisition of the competitor closes next month; nobody outside the board knows.',
      hybrid.owner,
      'mentor',
    );
    const query = 'merger with a rival company';
    assert.ok(keys(await search(hybrid, query, hybrid.owner)).includes('secret/plan'), 'the owner finds it');
    const seen = await search(hybrid, query, observer);
    assert.equal(seen.retrievers.vector, true);
    assert.ok(!keys(seen).includes('secret/plan'), JSON.stringify(keys(seen)));
  });

  test('an update replaces the vector: the old meaning no longer finds the entry', async () => {
    await write(
      hybrid,
      'code/money',
      'The office plants are watered on Mondays by whoever arrives first.',
      hybrid.owner,
    );
    const old = await search(hybrid, PARAPHRASE['code/money'], hybrid.owner);
    assert.notEqual(keys(old)[0], 'code/money', JSON.stringify(keys(old)));
    const now = await search(hybrid, 'who takes care of the greenery', hybrid.owner);
    assert.equal(keys(now)[0], 'code/money', JSON.stringify(keys(now)));
  });

  test('a forgotten entry is gone from vector results at once, and no file ever held a vector', async () => {
    const query = PARAPHRASE['faq/reset'];
    const before = await search(hybrid, query, hybrid.owner);
    assert.equal(
      keys(before)[0],
      'faq/reset',
      JSON.stringify(before.hits.map((x) => [x.entry.key, x.score])),
    );
    await callAs(hybrid, 'sigil/memory.forget', { namespace: NS, key: 'faq/reset' }, hybrid.owner);
    assert.ok(!keys(await search(hybrid, query, hybrid.owner)).includes('faq/reset'));

    const embedder = await UseLiteEmbedder.create();
    try {
      const vectors = await embedder.embed(ENTRIES.map((e) => e.text));
      const files = await filesUnder(hybrid.home);
      for (const v of vectors) {
        const norm = Math.hypot(...v);
        for (const form of [v, v.map((x) => x / norm)]) {
          const probe = Buffer.from(Float32Array.from(form.slice(0, 8)).buffer);
          for (const f of files)
            assert.equal(f.bytes.indexOf(probe), -1, `${f.file} holds an entry's vector`);
        }
      }
    } finally {
      await embedder.close();
    }
  });

  test('after a restart the vectors are made again from the texts that still have keys', async () => {
    await reopenTestHome(hybrid);
    const r = await search(hybrid, 'which SQL engine was selected for storage', hybrid.owner);
    assert.equal(r.retrievers.vector, true);
    assert.equal(keys(r)[0], 'decision/database');
    assert.ok(!keys(await search(hybrid, PARAPHRASE['faq/reset'], hybrid.owner)).includes('faq/reset'));
  });
});

describe('memory search: without vectors it answers from keywords and says why', () => {
  let h: TestHome | undefined;
  after(async () => disposeTestHome(h));

  test('while the vectors are still being made', async () => {
    h = await newTestHome('memory-building', { SIGIL_MEMORY_SEARCH_WAIT_MS: '0' });
    for (const e of ENTRIES) await write(h, e.key, e.text, h.owner);
    const first = await search(h, 'PostgreSQL', h.owner);
    assert.equal(first.retrievers.vector, false);
    assert.match(first.retrievers.vectorNote ?? '', /still being made \(\d+ of 4\); ranked by keywords only/);
    assert.equal(keys(first)[0], 'decision/database', 'the keyword answer is there meanwhile');
    const deadline = Date.now() + 120_000;
    let r = first;
    while (!r.retrievers.vector && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      r = await search(h, PARAPHRASE['code/money'], h.owner);
    }
    assert.equal(r.retrievers.vector, true, 'the vectors became ready');
    assert.equal(keys(r)[0], 'code/money');
    await disposeTestHome(h);
    h = undefined;
  });

  test('when the embedder cannot be reached', async () => {
    // A loopback port nobody listens on: the embeddings server is down.
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    h = await newTestHome('memory-no-embedder', {
      SIGIL_RAG_EMBEDDER: 'openai-compatible',
      SIGIL_RAG_BASE_URL: `http://127.0.0.1:${port}`,
      SIGIL_RAG_MODEL: 'nomic-embed-text',
      SIGIL_RAG_TIMEOUT_MS: '2000',
      ...WAIT,
    });
    for (const e of ENTRIES) await write(h, e.key, e.text, h.owner);
    const r = await search(h, 'PostgreSQL', h.owner);
    assert.equal(r.retrievers.vector, false);
    assert.match(r.retrievers.vectorNote ?? '', /^no embedder \(.+\); ranked by keywords only$/);
    assert.equal(keys(r)[0], 'decision/database');
  });
});
