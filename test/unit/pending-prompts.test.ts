/**
 * The table of prompts handed to an editor's model: a prompt expires, is taken once, belongs to the caller
 * it was issued to, and the table never holds more than its bound.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SigilError } from '../../shared/src/errors.js';
import { PendingPrompts } from '../../server/src/llm/pending-prompts.js';

function refused(run: () => unknown): SigilError {
  try {
    run();
  } catch (e) {
    assert.ok(e instanceof SigilError, `expected a SigilError, got ${String(e)}`);
    assert.equal(e.code, 'NOT_FOUND');
    assert.match(e.message, /ask again/);
    return e;
  }
  assert.fail('expected the take to be refused');
}

describe('PendingPrompts', () => {
  test('a prompt is taken once by its owner, then is gone', () => {
    const t = new PendingPrompts<string>();
    const { id } = t.add('alice', 'prompt-a');
    assert.match(id, /^[0-9a-f]{32}$/);
    assert.equal(t.take('alice', id), 'prompt-a');
    refused(() => t.take('alice', id));
    assert.equal(t.size, 0);
  });

  test('an unknown id and another caller are refused, and the owner can still take it', () => {
    const t = new PendingPrompts<string>();
    const { id } = t.add('alice', 'prompt-a');
    refused(() => t.take('alice', '0'.repeat(32)));
    refused(() => t.take('mallory', id));
    assert.equal(t.take('alice', id), 'prompt-a', "a stranger's attempt does not consume the prompt");
  });

  test('a prompt expires after its time to live', () => {
    let now = 1_000_000;
    const t = new PendingPrompts<string>({ ttlMs: 5000, now: () => now });
    const a = t.add('alice', 'a');
    const b = t.add('alice', 'b');
    assert.equal(a.expiresAt, 1_005_000);
    now += 4999;
    assert.equal(t.take('alice', a.id), 'a', 'still there just before it expires');
    now += 1;
    refused(() => t.take('alice', b.id));
    assert.equal(t.size, 0);
  });

  test('the table is bounded: the oldest prompt is forgotten first', () => {
    const t = new PendingPrompts<number>({ maxEntries: 3 });
    const ids = [0, 1, 2, 3, 4].map((n) => t.add('alice', n).id);
    assert.equal(t.size, 3);
    refused(() => t.take('alice', ids[0]!));
    refused(() => t.take('alice', ids[1]!));
    assert.deepEqual(
      ids.slice(2).map((id) => t.take('alice', id)),
      [2, 3, 4],
    );
  });

  test('ids are random, not a counter', () => {
    const t = new PendingPrompts<number>({ maxEntries: 1000 });
    const ids = new Set(Array.from({ length: 200 }, (_, n) => t.add('alice', n).id));
    assert.equal(ids.size, 200);
  });
});
