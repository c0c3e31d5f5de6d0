/**
 * The retrieval index through the service handlers, with the real USE-lite embedder and hnswlib: documents
 * as signed records, hybrid queries returning citations, licence refusals and bad input that write
 * nothing, replacement and removal, and the derived indexes surviving a reopen or being rebuilt when their
 * files are missing or were made by another embedder.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { initHome } from '../../server/src/runtime/home.js';
import type { Identity } from '../../shared/src/license.js';
import type {
  RagQueryResult,
  RagRemoveResult,
  RagStats,
  RagUpsertResult,
} from '../../shared/src/protocol.js';
import { RAG_KINDS } from '../../shared/src/rag.js';
import { RAG_DIR } from '../../server/src/rag/service.js';
import { VECTOR_INDEX_HEADER } from '../../server/src/rag/vector-index.js';
import {
  callAs,
  disposeTestHome,
  issueLicence,
  newTestHome,
  noPassphrase,
  openTestHome,
  rejectsWith,
  type TestHome,
} from '../support/runtime-home.js';

const DOCS = {
  borrowing: {
    title: 'References and Borrowing',
    chunks: [
      {
        text: 'A reference is like a pointer in that it is an address we can follow to access the data stored at that address; that data is owned by some other variable.',
        headingPath: ['References and Borrowing'],
        anchor: 'references-and-borrowing',
      },
      {
        text: 'At any given time, you can have either one mutable reference or any number of immutable references. References must always be valid.',
        headingPath: ['References and Borrowing', 'The Rules of References'],
        anchor: 'the-rules-of-references',
      },
    ],
  },
  errors: {
    title: 'Recoverable Errors with Result',
    chunks: [
      {
        text: 'The ? operator placed after a Result value works in almost the same way as the match expressions: if the value is an Err, the Err is returned from the whole function.',
        headingPath: ['Recoverable Errors with Result', 'A Shortcut for Propagating Errors: the ? Operator'],
        anchor: 'a-shortcut-for-propagating-errors-the--operator',
      },
    ],
  },
  threads: {
    title: 'Using Threads to Run Code Simultaneously',
    chunks: [
      {
        text: 'To create a new thread, we call the thread::spawn function and pass it a closure containing the code we want to run in the new thread.',
        headingPath: ['Using Threads', 'Creating a New Thread with spawn'],
        anchor: 'creating-a-new-thread-with-spawn',
      },
    ],
  },
} as const;

function upsertParams(name: keyof typeof DOCS, licence = 'MIT OR Apache-2.0'): Record<string, unknown> {
  const d = DOCS[name];
  return {
    key: `fixture-book:${name}.html`,
    chunks: d.chunks.map((c) => ({ ...c, headingPath: [...c.headingPath] })),
    metadata: {
      source: {
        root: 'fixture-book',
        path: `${name}.html`,
        url: `https://example.org/book/${name}.html`,
        title: d.title,
      },
      licence,
      provenance: {
        sourcePath: `/fixtures/${name}.html`,
        sourceSha256: 'a'.repeat(64),
        licenceFrom: 'LICENSE-MIT, LICENSE-APACHE',
      },
    },
  };
}

describe('the retrieval index through the handlers', () => {
  let h: TestHome;
  let observer: Identity;
  before(async () => {
    h = await newTestHome('rag-service');
    observer = await issueLicence(h, 'agent:reader', 'observer');
  });
  after(() => disposeTestHome(h));

  test('documents become signed records; a query returns citations with their source and licence', async () => {
    for (const name of Object.keys(DOCS) as (keyof typeof DOCS)[]) {
      const r = await callAs<RagUpsertResult>(h, 'sigil/rag.upsert', upsertParams(name), h.owner);
      assert.equal(r.written, true);
    }
    const docs = (await h.rt.store.list({ kind: RAG_KINDS.document, limit: 10 })).records;
    assert.equal(docs.length, 3);
    assert.equal((docs[0]!.body.payload as { licence: string }).licence, 'MIT OR Apache-2.0');
    const res = await callAs<RagQueryResult>(
      h,
      'sigil/rag.query',
      { text: 'how many mutable references can I have at once', k: 3 },
      observer,
    );
    assert.deepEqual(res.retrievers, { lexical: true, vector: true });
    const top = res.hits[0]!;
    assert.equal(top.key, 'fixture-book:borrowing.html');
    assert.match(top.text, /one mutable reference/);
    assert.deepEqual(top.source, {
      root: 'fixture-book',
      path: 'borrowing.html',
      url: 'https://example.org/book/borrowing.html#the-rules-of-references',
      title: 'References and Borrowing',
      heading: 'References and Borrowing > The Rules of References',
      anchor: 'the-rules-of-references',
      licence: 'MIT OR Apache-2.0',
    });
    const spawn = await callAs<RagQueryResult>(
      h,
      'sigil/rag.query',
      { text: 'thread::spawn closure', k: 1 },
      observer,
    );
    assert.equal(spawn.hits[0]?.key, 'fixture-book:threads.html');
    const filtered = await callAs<RagQueryResult>(
      h,
      'sigil/rag.query',
      { text: 'references', filter: { pathPrefix: 'errors' } },
      observer,
    );
    assert.ok(filtered.hits.every((x) => x.source.path === 'errors.html'));
    const stats = await callAs<RagStats>(h, 'sigil/rag.stats', {}, observer);
    assert.equal(stats.documents, 3);
    assert.equal(stats.chunks, 4);
    assert.equal(stats.vectors, 4);
    assert.deepEqual(stats.embedder, { id: stats.embedder?.id, dim: 512 });
    assert.match(stats.embedder!.id, /^use-lite@/);
    assert.deepEqual(stats.roots, [{ root: 'fixture-book', documents: 3, licences: ['MIT OR Apache-2.0'] }]);
  });

  test('the same document again writes nothing; a changed one replaces its chunks', async () => {
    const size = h.rt.store.size();
    const same = await callAs<RagUpsertResult>(h, 'sigil/rag.upsert', upsertParams('threads'), h.owner);
    assert.equal(same.written, false);
    assert.equal(h.rt.store.size(), size);
    const changed = upsertParams('threads');
    (changed.chunks as { text: string }[])[0]!.text =
      'Channels send values between threads: mpsc stands for multiple producer, single consumer.';
    const r = await callAs<RagUpsertResult>(h, 'sigil/rag.upsert', changed, h.owner);
    assert.equal(r.replaced, true);
    const old = await callAs<RagQueryResult>(
      h,
      'sigil/rag.query',
      { text: 'thread::spawn closure', k: 5 },
      observer,
    );
    assert.ok(
      old.hits.every((x) => !/thread::spawn/.test(x.text)),
      'the old text is gone',
    );
    const now = await callAs<RagQueryResult>(
      h,
      'sigil/rag.query',
      { text: 'multiple producer single consumer', k: 1 },
      observer,
    );
    assert.equal(now.hits[0]?.key, 'fixture-book:threads.html');
    assert.equal((await callAs<RagStats>(h, 'sigil/rag.stats', {}, observer)).vectors, 4);
  });

  test('refusals write nothing: a licence not allowed, no licence expression, bad input, an observer', async () => {
    const size = h.rt.store.size();
    const gpl = await rejectsWith(
      callAs(h, 'sigil/rag.upsert', upsertParams('errors', 'GPL-3.0-only'), h.owner),
      'ACCESS_DENIED',
      /GPL-3.0-only.*not allowed/,
    );
    assert.equal((gpl.details as { reason: string }).reason, 'licence-not-allowed');
    assert.equal(h.rt.store.size(), size + 1, 'only the audit record of the refusal');
    const after = h.rt.store.size();
    await rejectsWith(
      callAs(h, 'sigil/rag.upsert', upsertParams('errors', 'MIT OR'), h.owner),
      'BAD_INPUT',
      /licence/,
    );
    await rejectsWith(
      callAs(h, 'sigil/rag.upsert', { ...upsertParams('errors'), content: 'both' }, h.owner),
      'BAD_INPUT',
      /exactly one of content/,
    );
    await rejectsWith(
      callAs(
        h,
        'sigil/rag.upsert',
        { ...upsertParams('errors'), chunks: undefined, content: 'one paragraph', embedding: [1, 2, 3] },
        h.owner,
      ),
      'BAD_INPUT',
      /3 dimensions.*512/,
    );
    await rejectsWith(
      callAs(h, 'sigil/rag.query', { embedding: [0.5, 0.5] }, observer),
      'BAD_INPUT',
      /2 dimensions/,
    );
    await rejectsWith(
      callAs(h, 'sigil/rag.query', {}, observer),
      'BAD_INPUT',
      /exactly one of text or embedding/,
    );
    assert.equal(h.rt.store.size(), after);
    await rejectsWith(
      callAs(h, 'sigil/rag.upsert', upsertParams('errors'), observer),
      'ACCESS_DENIED',
      /rag\.upsert/,
    );
    await rejectsWith(callAs(h, 'sigil/rag.rebuild', {}, observer), 'ACCESS_DENIED', /root/);
    for (const kind of Object.values(RAG_KINDS))
      await rejectsWith(
        callAs(h, 'sigil/canon.append', { kind, space: 'data', payload: {} }, h.owner),
        'BAD_INPUT',
        /reserved/,
      );
  });

  test('a query by embedding uses the vectors alone', async () => {
    const emb = (await h.rt.rag.query({ text: 'unused' })).hits.length;
    assert.ok(emb > 0);
    const one = await callAs<RagUpsertResult>(
      h,
      'sigil/rag.upsert',
      {
        ...upsertParams('errors'),
        key: 'fixture-book:vec.html',
        chunks: undefined,
        content: 'Vectors grow on the heap.',
        embedding: Array.from({ length: 512 }, (_, i) => (i === 7 ? 1 : 0)),
      },
      h.owner,
    );
    assert.equal(one.chunks, 1);
    const byVector = await callAs<RagQueryResult>(
      h,
      'sigil/rag.query',
      { embedding: Array.from({ length: 512 }, (_, i) => (i === 7 ? 1 : 0)), k: 1 },
      observer,
    );
    assert.deepEqual(byVector.retrievers, { lexical: false, vector: true });
    assert.equal(byVector.hits[0]?.key, 'fixture-book:vec.html');
    const removed = await callAs<RagRemoveResult>(
      h,
      'sigil/rag.remove',
      { key: 'fixture-book:vec.html' },
      h.owner,
    );
    assert.equal(removed.removed, true);
    assert.equal(
      (await callAs<RagRemoveResult>(h, 'sigil/rag.remove', { key: 'fixture-book:vec.html' }, h.owner))
        .removed,
      false,
    );
  });

  test('the derived indexes survive a reopen, and are rebuilt when missing or made by another embedder', async () => {
    const before = await callAs<RagQueryResult>(
      h,
      'sigil/rag.query',
      { text: 'the ? operator returns Err', k: 2 },
      observer,
    );
    await h.rt.close();
    const dir = path.join(h.home, RAG_DIR);
    const header = JSON.parse(await readFile(path.join(dir, VECTOR_INDEX_HEADER), 'utf8')) as {
      ids: string[];
      embedderId: string;
    };
    assert.equal(header.ids.length, 4, 'removed and replaced vectors are not in the saved file');
    await openTestHome(h);
    const again = await callAs<RagQueryResult>(
      h,
      'sigil/rag.query',
      { text: 'the ? operator returns Err', k: 2 },
      observer,
    );
    assert.deepEqual(
      again.hits.map((x) => [x.key, x.chunk]),
      before.hits.map((x) => [x.key, x.chunk]),
    );
    await h.rt.close();
    // Another embedder's file: rebuilt rather than mixed.
    await writeFile(
      path.join(dir, VECTOR_INDEX_HEADER),
      JSON.stringify({ ...header, embedderId: 'other-model@1' }),
    );
    await openTestHome(h);
    const rebuilt = await callAs<RagQueryResult>(
      h,
      'sigil/rag.query',
      { text: 'the ? operator returns Err', k: 2 },
      observer,
    );
    assert.deepEqual(
      rebuilt.hits.map((x) => x.key),
      before.hits.map((x) => x.key),
    );
    await h.rt.close();
    for (const f of await readdir(dir)) await rm(path.join(dir, f), { force: true });
    await openTestHome(h);
    const stats = await callAs<RagStats>(h, 'sigil/rag.rebuild', {}, h.owner);
    assert.equal(stats.vectors, 4);
    assert.equal(stats.documents, 3);
    assert.equal((await h.rt.store.verify()).ok, true);
  });
});

describe('[rag] allowed_licences', () => {
  test('the configured list replaces the default: GPL allowed once listed, MIT refused once not', async () => {
    const h = await newTestHome('rag-allowed', { SIGIL_RAG_ALLOWED_LICENCES: 'GPL-3.0-only,Apache-2.0' });
    const owner = h.owner;
    try {
      assert.deepEqual([...h.rt.rag.allowedLicences], ['GPL-3.0-only', 'Apache-2.0']);
      const ok = await callAs<{ written: boolean }>(
        h,
        'sigil/rag.upsert',
        upsertParams('errors', 'GPL-3.0-only'),
        owner,
      );
      assert.equal(ok.written, true);
      await rejectsWith(
        callAs(h, 'sigil/rag.upsert', upsertParams('threads', 'MIT'), owner),
        'ACCESS_DENIED',
        /MIT.*not in \[rag\] allowed_licences: GPL-3.0-only, Apache-2.0/,
      );
      // MIT OR Apache-2.0 has an allowed side
      const either = await callAs<{ written: boolean }>(
        h,
        'sigil/rag.upsert',
        upsertParams('threads'),
        owner,
      );
      assert.equal(either.written, true);
    } finally {
      await disposeTestHome(h);
    }
  });

  test('an entry that is not one licence id is a configuration error naming the key', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'sigil-rag-allowed-bad-'));
    try {
      await rejectsWith(
        initHome({
          home: path.join(dir, 'home'),
          env: { SIGIL_RAG_ALLOWED_LICENCES: 'MIT,MIT OR Apache-2.0' },
          passphrase: noPassphrase,
          ownerDescription: 'rag allowed test',
        }),
        'CONFIG_INVALID',
        /rag\.allowed_licences/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
