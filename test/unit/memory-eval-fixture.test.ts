/**
 * The memory search evaluation set (test/fixtures/memory-eval/, used by bench/memory-eval/run.ts to choose
 * the `[memory]` fusion defaults) stays well-formed: every entry has a valid name and text, every query's
 * answer is an entry of the set, and the set keeps its size and mix.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { checkEntryName, textProblem } from '../../shared/src/memory.js';

const read = (name: string): unknown[] =>
  readFileSync(new URL(`../fixtures/memory-eval/${name}`, import.meta.url), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as unknown);

test('memory-eval: entries are valid memory entries, queries answer with entries of the set', () => {
  const entries = read('entries.jsonl') as { namespace: string; key: string; text: string }[];
  const names = new Set<string>();
  for (const e of entries) {
    checkEntryName(e.namespace, e.key);
    assert.equal(textProblem(e.text), null, `${e.namespace}/${e.key}`);
    const name = `${e.namespace}/${e.key}`;
    assert.ok(!names.has(name), `${name} appears twice`);
    names.add(name);
  }
  const queries = read('queries.jsonl') as { query: string; kind: string; expect: string[] }[];
  assert.ok(queries.length >= 100, `${queries.length} queries`);
  const kinds = new Map<string, number>();
  const seen = new Set<string>();
  for (const q of queries) {
    assert.ok(q.query.trim().length > 0);
    assert.ok(!seen.has(q.query), `"${q.query}" appears twice`);
    seen.add(q.query);
    assert.ok(['keyword', 'paraphrase', 'mixed'].includes(q.kind), `${q.query}: kind ${q.kind}`);
    kinds.set(q.kind, (kinds.get(q.kind) ?? 0) + 1);
    assert.ok(q.expect.length > 0, q.query);
    for (const x of q.expect) assert.ok(names.has(x), `${q.query}: ${x} is not an entry of the set`);
  }
  // Paraphrases are what the vectors are for: the set must keep enough of them to measure that.
  assert.ok((kinds.get('paraphrase') ?? 0) >= 40, JSON.stringify([...kinds]));
});
