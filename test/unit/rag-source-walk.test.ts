import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { listSource, readLicenceFiles, skipByPath, walkSource } from '../../server/src/rag/source-walk.js';
import { resolveLicence } from '../../server/src/rag/licence.js';
import { sha256Hex } from '../../shared/src/hash.js';
import { SigilError } from '../../shared/src/errors.js';

const DOCS = fileURLToPath(new URL('../fixtures/docs/', import.meta.url));
const MDBOOK = path.join(DOCS, 'mdbook');
const RUSTDOC = path.join(DOCS, 'rustdoc');

describe('walkSource over an mdBook', () => {
  test('yields the content pages in sorted order with /-separated paths, size and SHA-256', async () => {
    const { documents, skipped } = await listSource(MDBOOK);
    assert.deepEqual(
      documents.map((d) => d.relPath),
      ['ch04-02-references.html', 'guide/setup.html', 'index.html'],
    );
    for (const d of documents) {
      assert.equal(d.kind, 'html');
      assert.equal(d.size, d.bytes.length);
      assert.equal(d.sha256, sha256Hex(d.bytes));
      assert.equal(d.absPath, path.join(path.resolve(MDBOOK), ...d.relPath.split('/')));
      assert.ok(!d.relPath.includes('\\'));
    }
    const reasons = Object.fromEntries(skipped.map((s) => [s.relPath, s.reason]));
    assert.equal(reasons['print.html'], 'mdbook-repeat');
    assert.equal(reasons['toc.html'], 'mdbook-repeat');
    assert.equal(reasons['404.html'], 'mdbook-repeat');
    assert.equal(reasons['moved.html'], 'redirect');
    assert.equal(reasons['old-link.html'], 'noindex');
    assert.equal(reasons['book.js'], 'not-a-document');
    assert.equal(reasons['css/general.css'], 'not-a-document');
    assert.equal(reasons['fonts/open-sans.woff2'], 'not-a-document');
    assert.equal(reasons['LICENSE'], 'not-a-document');
  });

  test('a byte-identical page is skipped as a duplicate of the first one', async () => {
    // mdBook writes index.html as a copy of the first chapter; "index.html" sorts first and is kept.
    const { skipped } = await listSource(MDBOOK);
    assert.deepEqual(
      skipped.filter((s) => s.reason === 'duplicate'),
      [{ relPath: 'intro.html', reason: 'duplicate', detail: 'index.html' }],
    );
  });

  test('exclude prefixes leave out whole directories', async () => {
    const { documents, skipped } = await listSource(MDBOOK, { exclude: ['guide/'] });
    assert.ok(!documents.some((d) => d.relPath.startsWith('guide/')));
    assert.ok(skipped.some((s) => s.relPath === 'guide' && s.reason === 'excluded'));
  });

  test('the licence file at the top resolves to MIT through licence.ts', async () => {
    const files = await readLicenceFiles(MDBOOK);
    assert.deepEqual(Object.keys(files), ['LICENSE']);
    assert.equal(resolveLicence({ root: MDBOOK, files }).expression, 'MIT');
  });
});

describe('walkSource over rustdoc output', () => {
  test('skips source view, search index, sidebar items, settings, redirects and pure lists', async () => {
    const { documents, skipped } = await listSource(RUSTDOC);
    assert.deepEqual(
      documents.map((d) => d.relPath),
      ['std/option/enum.Option.html'],
    );
    const reasons = Object.fromEntries(skipped.map((s) => [s.relPath, s.reason]));
    assert.equal(reasons['src/core/option.rs.html'], 'rustdoc-non-content');
    assert.equal(reasons['std/settings.html'], 'rustdoc-non-content');
    assert.equal(reasons['std/search-index.js'], 'not-a-document');
    assert.equal(reasons['std/option/sidebar-items.js'], 'not-a-document');
    assert.equal(reasons['std/macro.eprintln!.html'], 'redirect');
    assert.equal(reasons['std/all.html'], 'pure-list');
    assert.equal(
      skipped.find((s) => s.relPath === 'std/macro.eprintln!.html')?.detail,
      'macro.eprintln.html',
    );
  });
});

describe('walkSource over Markdown', () => {
  test('.md and .markdown are documents; SUMMARY.md and other extensions are not', async () => {
    const { documents, skipped } = await listSource(path.join(DOCS, 'markdown'));
    assert.deepEqual(
      documents.map((d) => [d.relPath, d.kind]),
      [
        ['guide.md', 'markdown'],
        ['notes.markdown', 'markdown'],
      ],
    );
    const reasons = Object.fromEntries(skipped.map((s) => [s.relPath, s.reason]));
    assert.equal(reasons['SUMMARY.md'], 'mdbook-repeat');
    assert.equal(reasons['readme.txt'], 'not-a-document');
  });
});

describe('skipByPath', () => {
  test('path-only rules', () => {
    assert.equal(skipByPath('ch01.html'), undefined);
    assert.equal(skipByPath('a/b/c.htm'), undefined);
    assert.equal(skipByPath('print.html'), 'mdbook-repeat');
    assert.equal(skipByPath('es/toc.html'), 'mdbook-repeat');
    assert.equal(skipByPath('src/std/vec.rs.html'), 'rustdoc-non-content');
    assert.equal(skipByPath('static.files/x.html'), 'rustdoc-non-content');
    assert.equal(skipByPath('std/vec.rs.html'), undefined, 'only under src/');
    assert.equal(skipByPath('search-index.js'), 'not-a-document');
  });
});

describe('walkSource on the file system', () => {
  test('order is the sorted order of full relative paths; symlinks may not leave the root', async () => {
    const base = await mkdtemp(path.join(tmpdir(), 'sigil-walk-'));
    try {
      const root = path.join(base, 'root');
      const outside = path.join(base, 'outside');
      await mkdir(path.join(root, 'a'), { recursive: true });
      await mkdir(outside);
      await writeFile(path.join(outside, 'secret.md'), '# Secret\n\noutside text\n');
      await writeFile(path.join(root, 'a', 'b.md'), '# B\n\nb\n');
      await writeFile(path.join(root, 'a-c.md'), '# AC\n\nac\n');
      await writeFile(path.join(root, 'Z.md'), '# Z\n\nz\n');
      await writeFile(path.join(root, 'a.md'), '# A\n\na\n');
      await symlink(outside, path.join(root, 'escape-dir'));
      await symlink(path.join(outside, 'secret.md'), path.join(root, 'escape.md'));
      await symlink(path.join(root, 'a', 'b.md'), path.join(root, 'inside-link.md'));
      await symlink(root, path.join(root, 'a', 'loop'));
      const { documents, skipped } = await listSource(root);
      const rel = documents.map((d) => d.relPath);
      assert.deepEqual(rel, [...rel].sort());
      assert.deepEqual(rel, ['Z.md', 'a-c.md', 'a.md', 'a/b.md']);
      // The inside link is the same bytes as a/b.md: walked, then dropped as its duplicate.
      assert.deepEqual(
        skipped.find((s) => s.relPath === 'inside-link.md'),
        { relPath: 'inside-link.md', reason: 'duplicate', detail: 'a/b.md' },
      );
      for (const name of ['escape-dir', 'escape.md'])
        assert.equal(skipped.find((s) => s.relPath === name)?.reason, 'symlink-outside-root');
      assert.ok(!documents.some((d) => new TextDecoder().decode(d.bytes).includes('outside text')));
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });

  test('a missing root is NOT_FOUND naming the path', async () => {
    const missing = path.join(tmpdir(), 'sigil-no-such-dir-for-walk');
    await assert.rejects(
      async () => {
        for await (const _ of walkSource(missing)) void _;
      },
      (e: unknown) => e instanceof SigilError && e.code === 'NOT_FOUND' && e.message.includes(missing),
    );
  });

  test('an aborted walk stops with the signal', async () => {
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(
      async () => {
        for await (const _ of walkSource(MDBOOK, { signal: controller.signal })) void _;
      },
      (e: unknown) => e instanceof SigilError && e.code === 'CANCELLED',
    );
  });

  test('too-large files are skipped', async () => {
    const { documents, skipped } = await listSource(MDBOOK, { maxBytes: 2200 });
    assert.ok(documents.every((d) => d.size <= 2200));
    assert.ok(skipped.some((s) => s.reason === 'too-large'));
  });
});
