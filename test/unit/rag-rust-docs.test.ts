import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  RUST_DOC_LICENCE_KEYS,
  locateRustDocs,
  rustDocUrl,
  type RustDocsLocation,
} from '../../server/src/rag/rust-docs.js';
import { listSource } from '../../server/src/rag/source-walk.js';
import { chunkHtml } from '../../server/src/rag/chunk-html.js';
import { BUILTIN_LICENCES, resolveLicence } from '../../server/src/rag/licence.js';
import { SigilError } from '../../shared/src/errors.js';

describe('rustDocUrl', () => {
  test('maps book, error index and std pages to doc.rust-lang.org', () => {
    assert.equal(
      rustDocUrl('book', 'ch04-02-references-and-borrowing.html', 'the-rules-of-references'),
      'https://doc.rust-lang.org/book/ch04-02-references-and-borrowing.html#the-rules-of-references',
    );
    assert.equal(rustDocUrl('error_codes', 'E0382.html'), 'https://doc.rust-lang.org/error_codes/E0382.html');
    assert.equal(
      rustDocUrl('std', 'option/enum.Option.html', 'method.is_some'),
      'https://doc.rust-lang.org/std/option/enum.Option.html#method.is_some',
    );
    // rustdoc's ids are already percent-encoded and its own links use them as they are.
    assert.equal(
      rustDocUrl('std', 'option/enum.Option.html', '#impl-Option%3CT%3E'),
      'https://doc.rust-lang.org/std/option/enum.Option.html#impl-Option%3CT%3E',
    );
    assert.equal(
      rustDocUrl('reference', 'a b/ü.html', 'x y'),
      'https://doc.rust-lang.org/reference/a%20b/%C3%BC.html#x%20y',
    );
  });

  test('refuses paths that leave the book', () => {
    for (const bad of ['', '/etc/passwd', '../std/index.html', 'a//b.html'])
      assert.throws(
        () => rustDocUrl('book', bad),
        (e: unknown) => e instanceof SigilError && e.code === 'BAD_INPUT',
      );
  });

  test('every book has a built-in licence entry', () => {
    for (const key of Object.values(RUST_DOC_LICENCE_KEYS)) assert.ok(key in BUILTIN_LICENCES, key);
  });
});

describe('locateRustDocs with a fake install', () => {
  test('finds the books, excludes nested books, omits std unless asked', async () => {
    const base = await mkdtemp(path.join(tmpdir(), 'sigil-rustdocs-'));
    try {
      for (const dir of ['book', 'book/first-edition', 'error_codes', 'rust-by-example/es', 'std'])
        await mkdir(path.join(base, dir), { recursive: true });
      for (const file of [
        'book/index.html',
        'book/first-edition/toc.html',
        'error_codes/index.html',
        'rust-by-example/index.html',
        'rust-by-example/es/toc.html',
        'std/index.html',
      ])
        await writeFile(path.join(base, file), '<html></html>');
      const found = await locateRustDocs({ htmlDir: base });
      assert.equal(found.origin, 'explicit');
      assert.deepEqual(
        found.books.map((b) => [b.book, b.exclude]),
        [
          ['book', ['first-edition/']],
          ['rust-by-example', ['es/']],
          ['error_codes', []],
        ],
      );
      assert.deepEqual(found.missing, ['reference', 'nomicon', 'edition-guide']);
      const withStd = await locateRustDocs({ htmlDir: base, include: ['std'] });
      assert.equal(withStd.books.at(-1)?.book, 'std');
      assert.equal(withStd.books.at(-1)?.urlBase, 'https://doc.rust-lang.org/std/');
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });

  test('absence is NOT_FOUND saying what was searched and how to install', async () => {
    await assert.rejects(
      locateRustDocs({ rustc: 'sigil-no-such-rustc', debianDir: '/nonexistent/rust-doc/html' }),
      (e: unknown) =>
        e instanceof SigilError &&
        e.code === 'NOT_FOUND' &&
        e.message.includes('sigil-no-such-rustc is not on PATH') &&
        e.message.includes('/nonexistent/rust-doc/html (missing)') &&
        e.message.includes('rustup component add rust-docs') &&
        e.message.includes('apt install rust-doc'),
    );
  });
});

describe('the local Rust documentation (integration)', () => {
  let located: RustDocsLocation | undefined;
  let why = '';
  const locate = async (): Promise<RustDocsLocation | undefined> => {
    if (located !== undefined || why !== '') return located;
    try {
      located = await locateRustDocs();
    } catch (e) {
      why = e instanceof Error ? e.message : String(e);
    }
    return located;
  };

  test('error_codes: E0382 is chunked; the index is a pure list', async (t) => {
    const docs = await locate();
    const root = docs?.books.find((b) => b.book === 'error_codes');
    if (root === undefined) {
      t.skip(`no local Rust docs: ${why || 'error_codes missing'}`);
      return;
    }
    const { documents, skipped } = await listSource(root.root, { exclude: root.exclude });
    assert.ok(documents.length > 400, `${documents.length} error pages`);
    assert.ok(skipped.some((s) => s.relPath === 'index.html' && s.reason === 'pure-list'));
    const e0382 = documents.find((d) => d.relPath === 'E0382.html');
    assert.ok(e0382 !== undefined);
    const { chunks, info } = chunkHtml(new TextDecoder().decode(e0382.bytes));
    assert.equal(info.flavour, 'mdbook');
    assert.ok(chunks.length >= 2);
    assert.equal(chunks[0]?.anchor, 'error-code-e0382');
    assert.deepEqual(chunks[0]?.headingPath, ['Error code E0382']);
    // This release's text (1.95): "A variable was used after its contents have been moved elsewhere."
    assert.ok(chunks.some((c) => /used after its contents have been moved/.test(c.text)));
    assert.ok(
      chunks.some((c) => c.text.includes('let y = x;\n    x.s = 6;')),
      'code keeps newlines',
    );
    for (const c of chunks) {
      assert.ok(c.text.length <= 1200);
      assert.doesNotMatch(c.text, /Press ←|Previous chapter|Toggle Table of Contents|mdbook-sidebar/);
    }
    assert.equal(
      rustDocUrl('error_codes', e0382.relPath, chunks[0]!.anchor),
      'https://doc.rust-lang.org/error_codes/E0382.html#error-code-e0382',
    );
    assert.equal(
      resolveLicence({ root: root.root, builtin: root.licenceKey }).expression,
      'MIT OR Apache-2.0',
    );
  });

  test('book: ch04-02 has "the-rules-of-references"; legacy editions and stubs are left out', async (t) => {
    const docs = await locate();
    const root = docs?.books.find((b) => b.book === 'book');
    if (root === undefined) {
      t.skip(`no local Rust docs: ${why || 'book missing'}`);
      return;
    }
    assert.ok(root.exclude.includes('first-edition/'));
    const { documents, skipped } = await listSource(root.root, { exclude: root.exclude });
    assert.ok(documents.length > 80, `${documents.length} book pages`);
    assert.ok(!documents.some((d) => /(^|\/)(print|toc|404)\.html$/.test(d.relPath)));
    assert.ok(!documents.some((d) => d.relPath.startsWith('first-edition/')));
    assert.ok(skipped.some((s) => s.reason === 'redirect'));
    const page = documents.find((d) => d.relPath === 'ch04-02-references-and-borrowing.html');
    assert.ok(page !== undefined);
    const { chunks } = chunkHtml(new TextDecoder().decode(page.bytes));
    const rules = chunks.find((c) => c.anchor === 'the-rules-of-references');
    assert.ok(rules !== undefined);
    assert.deepEqual(rules.headingPath, ['References and Borrowing', 'The Rules of References']);
    assert.match(rules.text, /one mutable reference/);
    assert.ok(chunks.some((c) => c.anchor === 'mutable-references'));
    assert.equal(
      new Set(chunks.map((c) => c.anchor)).size,
      new Set(chunks.map((c) => c.headingPath.join('>'))).size,
    );
  });
});
