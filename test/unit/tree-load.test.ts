/**
 * The load behind the Memory, Licenses and Mentor trees (client/src/treeLoad.ts): one request for every
 * reader, a result kept until invalidated, a failed load's message kept once, and a load that started
 * before a refresh never overwriting the newer one.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { GuardedLoad } from '../../client/src/treeLoad.js';

/** A fetch whose calls the test answers by hand, in any order. */
class ManualFetch<T> {
  readonly pending: { resolve: (v: T) => void; reject: (e: unknown) => void }[] = [];
  readonly fetch = (): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      this.pending.push({ resolve, reject });
    });
}

/** Lets every settled promise run its continuations. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('GuardedLoad', () => {
  test('readers waiting together share one request, and the result is kept until invalidated', async () => {
    const m = new ManualFetch<string[]>();
    const load = new GuardedLoad(m.fetch, () => []);
    assert.equal(load.current, null);
    const a = load.get();
    const b = load.get();
    await settle();
    assert.equal(m.pending.length, 1);
    m.pending[0]!.resolve(['x']);
    assert.deepEqual(await a, { value: ['x'], error: null });
    assert.deepEqual(await b, { value: ['x'], error: null });
    assert.deepEqual(load.current, { value: ['x'], error: null });
    await load.get();
    assert.equal(m.pending.length, 1, 'a loaded value is not fetched again');
    load.invalidate();
    assert.equal(load.current, null);
    const c = load.get();
    await settle();
    assert.equal(m.pending.length, 2, 'an invalidated value is fetched again');
    m.pending[1]!.resolve(['y']);
    assert.deepEqual((await c).value, ['y']);
  });

  test('a load that started before a refresh is dropped, even when it answers after the newer one', async () => {
    const m = new ManualFetch<string>();
    const load = new GuardedLoad(m.fetch, () => '');
    const old = load.get();
    await settle();
    load.invalidate();
    const fresh = load.get();
    await settle();
    assert.equal(m.pending.length, 2);
    m.pending[1]!.resolve('new');
    assert.deepEqual(await fresh, { value: 'new', error: null });
    m.pending[0]!.resolve('stale');
    assert.deepEqual(await old, { value: 'new', error: null }, 'the reader of the old load gets the new one');
    await settle();
    assert.deepEqual(load.current, { value: 'new', error: null }, 'the stale answer overwrote nothing');
  });

  test('a reader of a superseded load waits for the newer load when the old one answers first', async () => {
    const m = new ManualFetch<string>();
    const load = new GuardedLoad(m.fetch, () => '');
    const old = load.get();
    await settle();
    load.invalidate();
    m.pending[0]!.resolve('stale');
    await settle();
    assert.equal(load.current, null, 'the stale answer is not shown');
    assert.equal(m.pending.length, 2, 'its reader started the newer load');
    m.pending[1]!.resolve('new');
    assert.deepEqual(await old, { value: 'new', error: null });
  });

  test('a failed load shows the empty value and its message once, until the next refresh', async () => {
    const m = new ManualFetch<string[]>();
    const load = new GuardedLoad(m.fetch, () => []);
    const a = load.get();
    await settle();
    m.pending[0]!.reject(new Error('ACCESS_DENIED: observer may not list'));
    assert.deepEqual(await a, { value: [], error: 'ACCESS_DENIED: observer may not list' });
    assert.deepEqual(await load.get(), { value: [], error: 'ACCESS_DENIED: observer may not list' });
    assert.equal(m.pending.length, 1, 'readers after a failure do not each retry');
    load.invalidate();
    const b = load.get();
    await settle();
    m.pending[1]!.resolve(['ok']);
    assert.deepEqual(await b, { value: ['ok'], error: null });
  });

  test('a failure of a superseded load is dropped too', async () => {
    const m = new ManualFetch<string>();
    const load = new GuardedLoad(m.fetch, () => '');
    void load.get();
    await settle();
    load.invalidate();
    const fresh = load.get();
    await settle();
    m.pending[1]!.resolve('new');
    m.pending[0]!.reject('connection closed');
    assert.deepEqual(await fresh, { value: 'new', error: null });
    await settle();
    assert.deepEqual(load.current, { value: 'new', error: null });
  });

  test('onLoaded hears each kept load once, and never a superseded one', async () => {
    const m = new ManualFetch<string>();
    const heard: string[] = [];
    const load = new GuardedLoad(
      m.fetch,
      () => '',
      ({ value, error }) => heard.push(error ?? value),
    );
    const old = load.get();
    await settle();
    load.invalidate();
    m.pending[0]!.resolve('stale');
    await settle();
    m.pending[1]!.reject(new Error('denied'));
    await old;
    await load.get();
    assert.deepEqual(heard, ['denied']);
  });
});
