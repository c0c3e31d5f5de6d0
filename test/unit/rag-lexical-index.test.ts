import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LexicalIndex, normalizeTerm, tokenizeRust } from '../../server/src/rag/lexical-index.js';
import { SigilError } from '../../shared/src/errors.js';

const DOCS = [
  {
    id: 'vec',
    title: 'Vectors',
    text: 'Call Vec::push to append an element; Vec::pop removes the last one.',
    path: 'book/ch08-01-vectors.html',
    anchor: 'updating-a-vector',
  },
  {
    id: 'e0382',
    title: 'Error code E0382',
    text: 'A variable was used after its contents have been moved elsewhere.',
    path: 'error_codes/E0382.html',
  },
  {
    id: 'refs',
    title: 'Mutable references',
    text: 'A mutable reference &mut T allows changing the borrowed value.',
    path: 'book/ch04-02-references-and-borrowing.html',
  },
  {
    id: 'option',
    title: 'Option combinators',
    text: 'unwrap_or_else computes a default from a closure when the value is None.',
  },
  { id: 'macro', title: 'Formatted print', text: 'println! prints to the console with a newline.' },
  { id: 'static', title: 'Static lifetimes', text: "The 'static lifetime lasts for the whole program." },
  { id: 'map', title: 'Hash maps', text: 'HashMap<K, V> stores keys and values.' },
  {
    id: 'noise',
    title: 'Mutation',
    text: 'Variables are immutable by default; mut makes them mutable. Push a change.',
  },
];

function index(): LexicalIndex {
  const ix = LexicalIndex.create();
  ix.addAll(DOCS);
  return ix;
}
const top = (ix: LexicalIndex, q: string): string | undefined => ix.search(q, 3)[0]?.id;

describe('tokenizeRust', () => {
  test('keeps Rust constructs whole and adds their parts', () => {
    assert.deepEqual(tokenizeRust('Vec::push'), ['Vec::push', 'Vec', 'push']);
    assert.deepEqual(tokenizeRust('unwrap_or_else'), ['unwrap_or_else', 'unwrap', 'or', 'else']);
    assert.deepEqual(tokenizeRust('&mut x'), ['&mut', 'mut', 'x']);
    assert.deepEqual(tokenizeRust('println!("hi")'), ['println!', 'println', 'hi']);
    assert.deepEqual(tokenizeRust("&'static str"), ["'static", 'static', 'str']);
    assert.deepEqual(tokenizeRust('HashMap'), ['HashMap', 'Hash', 'Map']);
    assert.deepEqual(tokenizeRust('E0382'), ['E0382']);
  });
  test('normalizes case, drops function words, stems plain words only', () => {
    assert.equal(normalizeTerm('The'), null);
    assert.equal(normalizeTerm('Lifetimes'), 'lifetime');
    assert.equal(normalizeTerm('borrowing'), 'borrow');
    assert.equal(normalizeTerm('E0382'), 'e0382');
    assert.equal(normalizeTerm('unwrap_or_else'), 'unwrap_or_else');
    assert.equal(normalizeTerm('where'), 'where');
  });
});

describe('LexicalIndex', () => {
  test('Rust identifiers are searchable', () => {
    const ix = index();
    assert.equal(top(ix, 'Vec::push'), 'vec');
    assert.equal(top(ix, 'E0382'), 'e0382');
    assert.equal(top(ix, 'e0382'), 'e0382');
    assert.equal(top(ix, '&mut'), 'refs');
    assert.equal(top(ix, 'unwrap_or_else'), 'option');
    assert.equal(top(ix, 'println!'), 'macro');
    assert.equal(top(ix, "'static"), 'static');
    assert.equal(top(ix, 'hash map'), 'map');
    assert.equal(top(ix, 'how do I push onto a vec'), 'vec');
  });

  test('hits carry path and anchor; k bounds the result', () => {
    const ix = index();
    const [hit] = ix.search('Vec::push', 1);
    assert.deepEqual(
      { ...hit, score: 0 },
      { id: 'vec', score: 0, path: 'book/ch08-01-vectors.html', anchor: 'updating-a-vector' },
    );
    assert.ok(ix.search('mut value', 2).length <= 2);
    assert.deepEqual(ix.search('   ', 5), []);
    assert.deepEqual(ix.search('mut', 0), []);
    assert.throws(() => ix.search('mut', -1), SigilError);
  });

  test('title boost ranks a section named after the query first', () => {
    const ix = LexicalIndex.create();
    ix.add({ id: 'body', title: 'Other', text: 'closures closures capture their environment' });
    ix.add({ id: 'title', title: 'Closures', text: 'anonymous functions that capture their environment' });
    assert.equal(ix.search('closures', 2, { boost: { title: 5 } })[0]?.id, 'title');
    assert.equal(ix.search('closures', 2, { boost: { title: 0.1 } })[0]?.id, 'body');
  });

  test('add, remove, replace by chunk id', () => {
    const ix = index();
    assert.equal(ix.size, DOCS.length);
    assert.throws(
      () => ix.add(DOCS[0] ?? { id: '', text: '' }),
      (e: unknown) => e instanceof SigilError && e.code === 'DUPLICATE',
    );
    assert.equal(ix.remove('e0382'), true);
    assert.equal(ix.remove('e0382'), false);
    assert.equal(ix.search('E0382', 5).length, 0);
    ix.replace({ id: 'vec', title: 'Vectors', text: 'Vec::insert puts an element at an index.' });
    // Its old text is gone from the index: Vec::pop appeared only there.
    assert.deepEqual(ix.search('pop', 5), []);
    assert.equal(top(ix, 'Vec::insert'), 'vec');
    ix.replace({ id: 'new', text: 'Box<T> allocates on the heap.' });
    assert.equal(top(ix, 'Box heap'), 'new');
    assert.equal(ix.size, DOCS.length);
  });

  test('toJSON / loadJSON round-trip gives the same results', () => {
    const ix = index();
    ix.remove('noise');
    const loaded = LexicalIndex.loadJSON(ix.toJSON());
    assert.equal(loaded.size, ix.size);
    for (const q of ['Vec::push', 'E0382', '&mut', 'unwrap_or_else', 'moved value', 'mutable'])
      assert.deepEqual(loaded.search(q, 5), ix.search(q, 5));
  });

  test('loadJSON refuses garbage and other versions', () => {
    const bad = (json: string): void =>
      assert.throws(
        () => LexicalIndex.loadJSON(json),
        (e: unknown) => e instanceof SigilError && e.code === 'STORE_CORRUPT',
      );
    bad('not json');
    bad('{"format":"other"}');
    const saved = JSON.parse(index().toJSON()) as { version: number };
    saved.version = 999;
    bad(JSON.stringify(saved));
  });

  test('search is deterministic under ties', () => {
    const ix = LexicalIndex.create();
    for (const id of ['c', 'a', 'b']) ix.add({ id, text: 'same words here' });
    assert.deepEqual(
      ix.search('words', 3).map((h) => h.id),
      ['a', 'b', 'c'],
    );
  });
});
