import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { chunkHtml, inspectHtml } from '../../server/src/rag/chunk-html.js';
import { chunkMarkdown } from '../../server/src/rag/chunk-markdown.js';
import {
  AnchorRegistry,
  DEFAULT_MAX_CHARS,
  packSections,
  slugify,
  splitBlock,
} from '../../server/src/rag/chunk.js';

const fixture = (rel: string): string =>
  readFileSync(new URL(`../fixtures/docs/${rel}`, import.meta.url), 'utf8');

const LEAKS = /LEAK|Press|Previous|Copy item path|Expand description|Source|§|SEARCH|Run\b/;

describe('chunkHtml: mdBook pages', () => {
  const page = chunkHtml(fixture('mdbook/ch04-02-references.html'));

  test('one chunk per heading, with heading paths and the heading ids as anchors', () => {
    assert.equal(page.info.flavour, 'mdbook');
    assert.deepEqual(
      page.chunks.map((c) => [c.ordinal, c.anchor, c.headingPath]),
      [
        [0, 'references-and-borrowing', ['References and Borrowing']],
        [1, 'mutable-references', ['References and Borrowing', 'Mutable References']],
        [2, 'data-races', ['References and Borrowing', 'Mutable References', 'Data Races']],
        [3, 'the-rules-of-references', ['References and Borrowing', 'The Rules of References']],
      ],
    );
    for (const c of page.chunks) assert.equal(c.title, 'References and Borrowing - The Fixture Book');
  });

  test('texts: paragraphs, code with its newlines, list items, table rows', () => {
    assert.equal(
      page.chunks[0]?.text,
      'A reference is like a pointer in that it is an address we can follow to access the data stored at that address.\n\n' +
        'fn main() {\n    let s1 = String::from("hello");\n    let len = calculate_length(&s1);\n}',
    );
    assert.equal(
      page.chunks[2]?.text,
      'Two or more pointers access the same data at the same time.\n\nAt least one of the pointers is being used to write to the data.',
    );
    assert.match(page.chunks[3]?.text ?? '', /\n\nRule \| Meaning\n\none writer \| exclusive access$/);
  });

  test('nav, sidebar, menu bar, scripts, styles and noscript never reach a chunk', () => {
    for (const file of ['mdbook/ch04-02-references.html', 'mdbook/intro.html', 'mdbook/guide/setup.html'])
      for (const c of chunkHtml(fixture(file)).chunks) assert.doesNotMatch(c.text, LEAKS, file);
  });

  test('redirect stubs yield no chunks and say why; noindex and print pages are flagged', () => {
    const moved = chunkHtml(fixture('mdbook/moved.html'));
    assert.equal(moved.chunks.length, 0);
    assert.match(moved.reason ?? '', /redirect stub to ch04-02-references\.html/);
    assert.equal(inspectHtml(fixture('mdbook/old-link.html')).noindex, true);
    assert.equal(inspectHtml(fixture('mdbook/intro.html')).noindex, false);
  });

  test('an enclosing <a class="header" id> (old mdBook) or <section id> gives the anchor', () => {
    const old = chunkHtml(
      '<main><a class="header" href="#old" id="old"><h2>Old style</h2></a><p>Body one.</p>' +
        '<section id="sec"><h3>No id</h3><p>Body two.</p></section><h3>Bare Heading!</h3><p>Three.</p></main>',
    );
    assert.deepEqual(
      old.chunks.map((c) => c.anchor),
      ['old', 'sec', 'bare-heading'],
    );
  });

  test('malformed HTML degrades instead of throwing', () => {
    for (const html of ['', '<', '<main><h2>Unclosed <p>text', '<<<>>>', '<pre>', '\u0000\uFFFF</x>'])
      assert.doesNotThrow(() => chunkHtml(html));
    const empty = chunkHtml('<main>   </main>');
    assert.equal(empty.chunks.length, 0);
    assert.equal(empty.reason, 'the page has no text content');
    const unclosed = chunkHtml('<main><h2 id="a">A</h2><p>open paragraph<li>item');
    assert.deepEqual(
      unclosed.chunks.map((c) => c.text),
      ['open paragraph\n\nitem'],
    );
  });
});

describe('chunkHtml: rustdoc pages', () => {
  const page = chunkHtml(fixture('rustdoc/std/option/enum.Option.html'));

  test('the main docblock, then one chunk per variant and method with its signature and docs', () => {
    assert.equal(page.info.flavour, 'rustdoc');
    assert.deepEqual(
      page.chunks.map((c) => c.anchor),
      ['', 'variant.None', 'variant.Some', 'method.is_some', 'method.unwrap_or', 'trait-implementations'],
    );
    assert.equal(
      page.chunks[0]?.text,
      'pub enum Option<T> {\n    None,\n    Some(T),\n}\n\nThe Option type. See the module level documentation for more.',
    );
    const isSome = page.chunks[3]!;
    assert.deepEqual(isSome.headingPath, [
      'Enum Option',
      'Implementations',
      'impl<T> Option<T>',
      'pub const fn is_some(&self) -> bool',
    ]);
    assert.equal(
      isSome.text,
      'pub const fn is_some(&self) -> bool\n\nReturns true if the option is a Some value.\n\nExamples\n\n' +
        'let x: Option<u32> = Some(2);\nassert_eq!(x.is_some(), true);',
    );
  });

  test('trait impls are one listing of their headers; their methods (the trait docs again) are dropped', () => {
    const listing = page.chunks.at(-1)!;
    assert.deepEqual(listing.headingPath, ['Enum Option', 'Trait Implementations']);
    assert.equal(
      listing.text,
      'impl<T> Clone for Option<T> where T: Clone,\n\nimpl<T: Copy> Copy for Option<T>',
    );
    assert.ok(!page.chunks.some((c) => c.text.includes('Returns a duplicate')));
  });

  test('chrome, auto-trait and blanket impls are left out', () => {
    for (const c of page.chunks) {
      assert.doesNotMatch(c.text, LEAKS);
      assert.doesNotMatch(c.text, /Send for|Any for T|MOBILE-TOPBAR/);
      assert.ok(!c.headingPath.includes('Auto Trait Implementations'));
    }
  });

  test('all.html is a pure list', () => {
    assert.equal(inspectHtml(fixture('rustdoc/std/all.html')).pureList, true);
    assert.equal(inspectHtml(fixture('rustdoc/std/option/enum.Option.html')).pureList, false);
  });
});

describe('chunkMarkdown', () => {
  const doc = chunkMarkdown(fixture('markdown/guide.md'));

  test('heading paths, GitHub/mdBook slugs, repeated headings numbered, {#id} attributes', () => {
    assert.deepEqual(
      doc.chunks.map((c) => [c.anchor, c.headingPath.at(-1)]),
      [
        ['ownership-guide', 'Ownership Guide'],
        ['the-rules-of-ownership', 'The Rules of Ownership!'],
        ['examples', 'Examples'],
        ['examples-1', 'Examples'],
        ['optiont--friends', 'Option<T> & friends'],
        ['my-custom-id', 'Custom Anchor'],
      ],
    );
    assert.ok(doc.chunks.every((c) => c.title === 'Ownership Guide'));
  });

  test('lists, fenced code with blank lines, quotes, tables and raw HTML text', () => {
    assert.equal(
      doc.chunks[1]?.text,
      'Each value in Rust has an owner.\n\nThere can only be one owner at a time.\n\n' +
        'fn main() {\n    let s = String::from("hello");\n\n    takes_ownership(s);\n}',
    );
    assert.equal(
      doc.chunks[5]?.text,
      'A quoted note about borrowing.\n\nTerm | Meaning\n\nmove | transfer of ownership\n\nRaw HTML warning text.',
    );
  });

  test('text before the first heading has the empty anchor and path', () => {
    const notes = chunkMarkdown(fixture('markdown/notes.markdown'));
    assert.deepEqual(
      notes.chunks.map((c) => [c.anchor, c.headingPath, c.text, c.title]),
      [
        ['', [], 'Text before any heading.', 'Notes'],
        ['notes', ['Notes'], 'Some notes.', 'Notes'],
      ],
    );
  });

  test('empty input: no chunks, a reason', () => {
    assert.deepEqual(chunkMarkdown('\n\n   \n'), {
      chunks: [],
      reason: 'the document has no text content',
    });
  });
});

describe('slugs and anchors', () => {
  test('slugify: lower-case, whitespace → -, punctuation but - and _ dropped', () => {
    assert.equal(slugify('The Rules of References'), 'the-rules-of-references');
    assert.equal(slugify('  `Option<T>` & friends '), 'optiont--friends');
    assert.equal(slugify('snake_case and-dash?'), 'snake_case-and-dash');
    assert.equal(slugify('Émile Zola'), 'émile-zola');
  });

  test('repeats get -1, -2 and never collide with an existing slug', () => {
    const r = new AnchorRegistry();
    assert.deepEqual(
      ['a', 'a', 'a-1', 'a', '', ''].map((s) => r.claim(s)),
      ['a', 'a-1', 'a-1-1', 'a-2', 'section', 'section-1'],
    );
  });
});

describe('length bounds', () => {
  const para = (n: number, word = 'word'): string => Array.from({ length: n }, () => word).join(' ');

  test('over-long sections split at paragraph boundaries into chunks ≤ maxChars', () => {
    const paragraphs = Array.from({ length: 12 }, (_, i) => `<p>${para(40, `w${i}`)}</p>`).join('');
    const r = chunkHtml(`<main><h2 id="long">Long</h2>${paragraphs}</main>`, { maxChars: 500 });
    assert.ok(r.chunks.length > 1);
    for (const c of r.chunks) {
      assert.ok(c.text.length <= 500, `${c.text.length}`);
      assert.equal(c.anchor, 'long');
      // Paragraphs are whole: every chunk starts and ends on a paragraph's first/last word.
      for (const p of c.text.split('\n\n')) assert.match(p, /^(w\d+)( \1){39}$/);
    }
  });

  test('one over-long paragraph splits between words; a code block between lines', () => {
    const pieces = splitBlock({ text: `${para(300)}.`, code: false }, 200);
    assert.ok(pieces.every((p) => p.text.length <= 200));
    assert.equal(pieces.map((p) => p.text).join(' '), `${para(300)}.`);
    const code = Array.from({ length: 50 }, (_, i) => `let x${i} = ${i};`).join('\n');
    const lines = splitBlock({ text: code, code: true }, 120);
    assert.ok(lines.every((p) => p.text.length <= 120));
    assert.equal(lines.map((p) => p.text).join('\n'), code);
  });

  test('unsplittable: one word or one code line longer than maxChars is kept whole', () => {
    const long = 'x'.repeat(300);
    const chunks = packSections(
      [{ headingPath: [], anchor: '', blocks: [{ text: `short ${long} tail`, code: false }] }],
      't',
      { maxChars: 100 },
    );
    assert.deepEqual(
      chunks.map((c) => c.text),
      ['short', long, 'tail'],
    );
    const line = `let s = "${'y'.repeat(200)}";`;
    const code = packSections(
      [{ headingPath: [], anchor: '', blocks: [{ text: `a();\n${line}\nb();`, code: true }] }],
      't',
      { maxChars: 100 },
    );
    assert.deepEqual(
      code.map((c) => c.text),
      ['a();', line, 'b();'],
    );
  });

  test('a short tail is evened out with its neighbour in the same section', () => {
    const blocks = [
      { text: 'a'.repeat(500), code: false },
      { text: 'b'.repeat(450), code: false },
      { text: 'c'.repeat(60), code: false },
    ];
    const chunks = packSections([{ headingPath: ['H'], anchor: 'h', blocks }], 't', {
      maxChars: 1000,
      minChars: 200,
    });
    // Greedy would give [a b] (952) and [c] (60); re-divided: [a] and [b c].
    assert.deepEqual(
      chunks.map((c) => c.text.length),
      [500, 512],
    );
  });

  test('the default maximum is 1200', () => {
    assert.equal(DEFAULT_MAX_CHARS, 1200);
  });
});
