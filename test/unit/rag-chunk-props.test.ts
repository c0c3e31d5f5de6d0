import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { chunkHtml } from '../../server/src/rag/chunk-html.js';
import { chunkMarkdown } from '../../server/src/rag/chunk-markdown.js';
import type { Chunk } from '../../server/src/rag/chunk.js';

/**
 * Random pages: headings (from a small pool, so repeats happen) and paragraphs / code blocks whose words
 * are unique tokens, rendered both as mdBook-like HTML and as Markdown. Every token must come out in
 * exactly one chunk, within the length bound, with unique anchors per section.
 */
type Item =
  | { kind: 'heading'; level: number; text: string; withId: boolean }
  | { kind: 'para'; words: { style: 'plain' | 'em' | 'code' | 'link' }[] }
  | { kind: 'code'; lines: number[] };

const HEADINGS = ['Intro', 'Examples', 'The Rules', 'Notes & caveats', '`Option<T>`', 'Examples'];

const item: fc.Arbitrary<Item> = fc.oneof(
  fc.record({
    kind: fc.constant('heading' as const),
    level: fc.integer({ min: 1, max: 4 }),
    text: fc.constantFrom(...HEADINGS),
    withId: fc.boolean(),
  }),
  {
    arbitrary: fc.record({
      kind: fc.constant('para' as const),
      words: fc.array(
        fc.record({ style: fc.constantFrom('plain' as const, 'plain', 'plain', 'em', 'code', 'link') }),
        { minLength: 0, maxLength: 60 },
      ),
    }),
    weight: 3,
  },
  fc.record({
    kind: fc.constant('code' as const),
    lines: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 12 }),
  }),
);

interface Page {
  html: string;
  markdown: string;
  tokens: string[];
}

/** Token names are unique per page; `p…` prose and `c…` code tokens never occur in headings. */
function render(items: readonly Item[]): Page {
  const html: string[] = [
    '<!DOCTYPE html><html><head><title>T</title><script>var LEAK = 1;</script></head><body>',
  ];
  html.push('<nav class="sidebar"><a href="x.html">NAVLEAK</a></nav><main>');
  const markdown: string[] = [];
  const tokens: string[] = [];
  let n = 0;
  const next = (prefix: string): string => {
    const t = `${prefix}${n++}z`;
    tokens.push(t);
    return t;
  };
  items.forEach((it, i) => {
    if (it.kind === 'heading') {
      const esc = it.text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
      const id = it.withId ? ` id="h-${i}"` : '';
      html.push(`<h${it.level}${id}><a class="header" href="#h-${i}">${esc}</a></h${it.level}>`);
      markdown.push(`${'#'.repeat(it.level)} ${it.text}`, '');
    } else if (it.kind === 'para') {
      const words = it.words.map((w) => ({ style: w.style, t: next('p') }));
      const inHtml = words.map(({ style, t }) =>
        style === 'em'
          ? `<em>${t}</em>`
          : style === 'code'
            ? `<code>${t}</code>`
            : style === 'link'
              ? `<a href="#${t}">${t}</a>`
              : t,
      );
      const inMd = words.map(({ style, t }) =>
        style === 'em' ? `*${t}*` : style === 'code' ? `\`${t}\`` : style === 'link' ? `[${t}](#${t})` : t,
      );
      html.push(`<p>${inHtml.join(' ')}</p>`);
      if (inMd.length > 0) markdown.push(inMd.join(' '), '');
    } else {
      const lines = it.lines.map((k) => Array.from({ length: k }, () => next('c')).join(' '));
      html.push(`<pre><code class="language-rust">${lines.join('\n')}</code></pre>`);
      markdown.push('```rust', ...lines, '```', '');
    }
  });
  html.push('</main><script>LEAK()</script></body></html>');
  return { html: html.join('\n'), markdown: markdown.join('\n'), tokens };
}

function checkChunks(chunks: readonly Chunk[], page: Page, maxChars: number): void {
  const counts = new Map<string, number>();
  for (const c of chunks) {
    assert.ok(c.text.trim() !== '', 'no empty chunk');
    // Tokens are at most 8 characters and code lines at most 3 tokens: nothing here is unsplittable.
    assert.ok(c.text.length <= maxChars, `chunk of ${c.text.length} > ${maxChars}`);
    assert.doesNotMatch(c.text, /LEAK/);
    for (const w of c.text.split(/\s+/)) if (/^[pc]\d+z$/.test(w)) counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  for (const t of page.tokens)
    assert.equal(counts.get(t), 1, `token ${t} appears ${counts.get(t) ?? 0} times`);
  assert.equal(counts.size, page.tokens.length);
  // Anchors: a section's chunks are consecutive and share its path; two sections never share an anchor.
  const seen = new Map<string, readonly string[]>();
  chunks.forEach((c, i) => {
    assert.equal(c.ordinal, i);
    const prev = chunks[i - 1];
    if (prev !== undefined && prev.anchor === c.anchor) assert.deepEqual(c.headingPath, prev.headingPath);
    else assert.ok(!seen.has(c.anchor), `anchor ${c.anchor} reused by a later section`);
    seen.set(c.anchor, c.headingPath);
  });
}

const maxChars = fc.integer({ min: 40, max: 600 });

describe('chunkers: properties', () => {
  test('HTML: no loss, no duplication, bounded length, unique anchors', () => {
    fc.assert(
      fc.property(fc.array(item, { maxLength: 30 }), maxChars, (items, max) => {
        const page = render(items);
        const r = chunkHtml(page.html, { maxChars: max });
        checkChunks(r.chunks, page, max);
        if (r.chunks.length === 0) assert.ok(r.reason !== undefined);
      }),
      { numRuns: 200 },
    );
  });

  test('Markdown: no loss, no duplication, bounded length, unique anchors', () => {
    fc.assert(
      fc.property(fc.array(item, { maxLength: 30 }), maxChars, (items, max) => {
        const page = render(items);
        const r = chunkMarkdown(page.markdown, { maxChars: max });
        checkChunks(r.chunks, page, max);
        if (r.chunks.length === 0) assert.ok(r.reason !== undefined);
      }),
      { numRuns: 200 },
    );
  });

  test('arbitrary input never throws', () => {
    const markupish = fc.array(
      fc.oneof(
        fc.string({ maxLength: 20 }),
        fc.constantFrom(
          '<main>',
          '</main>',
          '<h2 id="x">',
          '</h2>',
          '<pre>',
          '</pre>',
          '<p>',
          '<li>',
          '<nav>',
          '<script>',
          '# ',
          '```',
          '\n',
          '<!--',
          '&amp;',
          '&#xD800;',
        ),
      ),
      { maxLength: 40 },
    );
    fc.assert(
      fc.property(markupish, fc.integer({ min: -5, max: 2000 }), (parts, max) => {
        const text = parts.join('');
        for (const r of [chunkHtml(text, { maxChars: max }), chunkMarkdown(text, { maxChars: max })])
          for (const c of r.chunks) assert.ok(c.text.trim() !== '');
      }),
      { numRuns: 300 },
    );
  });
});
