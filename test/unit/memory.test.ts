/**
 * Memory through the service handlers (the same ones the language server, the owner socket and the CLI
 * run): versions, compare-and-set, LOA visibility, pagination, search, expiry, and forgetting by key
 * destruction, checked against the bytes on disk.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import type { SigilRuntime } from '../../server/src/runtime/home.js';
import { auditActor } from '../../server/src/governance/gate.js';
import type { Identity } from '../../shared/src/license.js';
import type {
  MemoryForgetResult,
  MemoryGetResult,
  MemoryListResult,
  MemorySearchResult,
  MemoryWriteResult,
} from '../../shared/src/protocol.js';
import { fromBase64, toBase64, utf8 } from '../../shared/src/bytes.js';
import { open as aeadOpen } from '../../shared/src/aead.js';
import { SigilError } from '../../shared/src/errors.js';
import {
  MAX_TEXT_BYTES,
  MEMORY_KINDS,
  type MemoryForgetPayload,
  type MemoryVersionPayload,
} from '../../shared/src/memory.js';
import type { CanonicalRecord } from '../../shared/src/record.js';
import { MEMORY_KEYS_DIR } from '../../server/src/memory/entry-keys.js';
import {
  callAs,
  DAY,
  disposeTestHome as dispose,
  issueLicence as issue,
  newTestHome,
  rejectsWith as rejects,
  reopenTestHome as reopen,
  type TestHome,
  filesUnder,
} from '../support/runtime-home.js';

type Home = TestHome;
const newHome = (name: string): Promise<Home> => newTestHome(`memory-${name}`);
const call = callAs;

async function memoryRecords(rt: SigilRuntime, kind: string): Promise<CanonicalRecord[]> {
  return (await rt.store.list({ kind, limit: 1000 })).records;
}

describe('memory: versions and compare-and-set', () => {
  let h: Home;
  let mentor: Identity;
  before(async () => {
    h = await newHome('versions');
    mentor = await issue(h, 'agent:mentor', 'mentor');
  });
  after(() => dispose(h));

  test('each write is a signed version; the same content again is a no-op returning it', async () => {
    const w1 = await call<MemoryWriteResult>(
      h,
      'sigil/memory.write',
      { namespace: 'agent:planner', key: 'goal', text: 'ship memory', tags: ['b', 'a', 'a'] },
      mentor,
    );
    assert.equal(w1.written, true);
    assert.equal(w1.entry.version, 1);
    assert.deepEqual(w1.entry.tags, ['a', 'b']);
    assert.equal(w1.entry.visibility, 'operator');
    assert.equal(w1.entry.actor, auditActor({ authenticated: true, subject: 'agent:mentor' } as never));
    const size = h.rt.store.size();
    const again = await call<MemoryWriteResult>(
      h,
      'sigil/memory.write',
      { namespace: 'agent:planner', key: 'goal', text: 'ship memory', tags: ['a', 'b'] },
      mentor,
    );
    assert.equal(again.written, false);
    assert.equal(again.entry.version, 1);
    assert.equal(again.entry.recordId, w1.entry.recordId);
    assert.equal(h.rt.store.size(), size, 'a no-op appends nothing');
    const w2 = await call<MemoryWriteResult>(
      h,
      'sigil/memory.write',
      { namespace: 'agent:planner', key: 'goal', text: 'ship memory and RAG' },
      mentor,
    );
    assert.equal(w2.entry.version, 2);
    const got = await call<MemoryGetResult>(
      h,
      'sigil/memory.get',
      { namespace: 'agent:planner', key: 'goal', history: true },
      mentor,
    );
    assert.equal(got.entry.text, 'ship memory and RAG');
    assert.deepEqual(
      got.history?.map((v) => [v.version, v.text, v.actor]),
      [
        [1, 'ship memory', 'license:agent:mentor'],
        [2, 'ship memory and RAG', 'license:agent:mentor'],
      ],
    );
    assert.ok(got.history?.every((v) => typeof v.licenseId === 'string' && v.licenseId.length === 32));
    // The record holds ciphertext only: its payload never carries the text.
    const rec = await h.rt.store.get(w2.entry.recordId);
    assert.equal(rec.body.kind, MEMORY_KINDS.version);
    assert.ok(!JSON.stringify(rec.body.payload).includes('ship memory'));
    assert.equal((await h.rt.store.verify()).ok, true);
  });

  test('a stale ifVersion is a CONFLICT and writes nothing; the right one writes', async () => {
    await call(
      h,
      'sigil/memory.write',
      { namespace: 'agent:planner', key: 'cas', text: 'v1', ifVersion: 0 },
      mentor,
    );
    const size = h.rt.store.size();
    const e = await rejects(
      call(
        h,
        'sigil/memory.write',
        { namespace: 'agent:planner', key: 'cas', text: 'v2', ifVersion: 0 },
        mentor,
      ),
      'CONFLICT',
      /is at version 1, not 0/,
    );
    assert.equal(e.exitCode, 7);
    await rejects(
      call(
        h,
        'sigil/memory.write',
        { namespace: 'agent:planner', key: 'new', text: 'x', ifVersion: 3 },
        mentor,
      ),
      'CONFLICT',
      /does not exist/,
    );
    assert.equal(h.rt.store.size(), size);
    const ok = await call<MemoryWriteResult>(
      h,
      'sigil/memory.write',
      { namespace: 'agent:planner', key: 'cas', text: 'v2', ifVersion: 1 },
      mentor,
    );
    assert.equal(ok.entry.version, 2);
  });

  test('bad input gets a specific error naming the field, and nothing is written', async () => {
    const size = h.rt.store.size();
    const keysBefore = (await readdir(path.join(h.home, MEMORY_KEYS_DIR))).sort();
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ namespace: 'planner', key: 'k', text: 't' }, /namespace.*must be <kind>:<id>/],
      [{ namespace: 'team:x', key: 'k', text: 't' }, /kind one of user, agent, module, session/],
      [{ namespace: 'agent:', key: 'k', text: 't' }, /empty id/],
      [{ namespace: 'agent:a', key: '', text: 't' }, /key must not be empty/],
      [{ namespace: 'agent:a', key: 'a\nb', text: 't' }, /control characters/],
      [{ namespace: 'agent:a', key: 'k', text: '   ' }, /text is empty/],
      [{ namespace: 'agent:a', key: 'k', text: 'x'.repeat(MAX_TEXT_BYTES + 1) }, /at most 65536/],
      [{ namespace: 'agent:a', key: 'k', text: 't', tags: ['has space'] }, /tag/],
      [{ namespace: 'agent:a', key: 'k', text: 't', expiresAt: 'tomorrow' }, /RFC 3339/],
      [{ namespace: 'agent:a', key: 'k', text: 't', expiresAt: '2001-01-01T00:00:00Z' }, /not in the future/],
      [{ namespace: 'agent:a', key: 'k', text: 't', visibility: 'root' }, /above your own LOA/],
      [{ namespace: 'agent:a', key: 'k', text: 't', extra: 1 }, /extra|unrecognized/i],
    ];
    for (const [params, message] of cases)
      await rejects(call(h, 'sigil/memory.write', params, mentor), 'BAD_INPUT', message);
    assert.equal(h.rt.store.size(), size);
    assert.deepEqual(
      (await readdir(path.join(h.home, MEMORY_KEYS_DIR))).sort(),
      keysBefore,
      'no key file left behind',
    );
  });

  test('a raw append cannot forge a memory record', async () => {
    await rejects(
      call(
        h,
        'sigil/canon.append',
        { kind: MEMORY_KINDS.version, space: 'data', payload: { namespace: 'agent:x' } },
        h.owner,
      ),
      'BAD_INPUT',
      /reserved/,
    );
    await rejects(
      call(h, 'sigil/canon.append', { kind: 'memory.forget', space: 'data', payload: {} }, h.owner),
      'BAD_INPUT',
      /reserved/,
    );
  });

  test('32 concurrent writers of one key: every version once, none lost; with CAS and retries too', async () => {
    const texts = Array.from({ length: 32 }, (_, i) => `writer ${i}`);
    const results = await Promise.all(
      texts.map((text) =>
        call<MemoryWriteResult>(
          h,
          'sigil/memory.write',
          { namespace: 'session:race', key: 'k', text },
          mentor,
        ),
      ),
    );
    assert.deepEqual(
      results.map((r) => r.entry.version).sort((a, b) => a - b),
      texts.map((_, i) => i + 1),
    );
    const got = await call<MemoryGetResult>(
      h,
      'sigil/memory.get',
      { namespace: 'session:race', key: 'k', history: true },
      mentor,
    );
    assert.deepEqual(got.history?.map((v) => v.text).sort(), [...texts].sort());

    let conflicts = 0;
    await Promise.all(
      texts.map(async (text) => {
        for (;;) {
          const cur = await call<MemoryGetResult>(
            h,
            'sigil/memory.get',
            { namespace: 'session:cas', key: 'n' },
            mentor,
          ).catch(() => null);
          try {
            await call(
              h,
              'sigil/memory.write',
              { namespace: 'session:cas', key: 'n', text, ifVersion: cur?.entry.version ?? 0 },
              mentor,
            );
            return;
          } catch (e) {
            if (!(e instanceof SigilError) || e.code !== 'CONFLICT') throw e;
            conflicts++;
          }
        }
      }),
    );
    const cas = await call<MemoryGetResult>(
      h,
      'sigil/memory.get',
      { namespace: 'session:cas', key: 'n', history: true },
      mentor,
    );
    assert.equal(cas.history?.length, 32);
    assert.deepEqual(cas.history?.map((v) => v.text).sort(), [...texts].sort());
    assert.ok(conflicts > 0, 'the writers did race');
  });
});

describe('memory: who may see what', () => {
  let h: Home;
  let mentor: Identity;
  let observer: Identity;
  let operator: Identity;
  before(async () => {
    h = await newHome('loa');
    mentor = await issue(h, 'agent:mentor', 'mentor');
    observer = await issue(h, 'agent:observer', 'observer');
    operator = await issue(h, 'agent:operator', 'operator');
    await call(
      h,
      'sigil/memory.write',
      { namespace: 'user:alice', key: 'public', text: 'alice likes iterators', visibility: 'observer' },
      mentor,
    );
    await call(
      h,
      'sigil/memory.write',
      {
        namespace: 'user:alice',
        key: 'private',
        text: 'alice struggles with lifetimes',
        visibility: 'mentor',
      },
      mentor,
    );
    await call(
      h,
      'sigil/memory.write',
      { namespace: 'user:alice', key: 'default', text: 'alice uses neovim' },
      mentor,
    );
  });
  after(() => dispose(h));

  test('an observer may not write: ACCESS_DENIED, audited, nothing written', async () => {
    const size = h.rt.store.size();
    await rejects(
      call(h, 'sigil/memory.write', { namespace: 'user:alice', key: 'x', text: 't' }, observer),
      'ACCESS_DENIED',
      /mentor/,
    );
    assert.equal(h.rt.store.size(), size + 1, 'only the denial audit record');
    const last = await h.rt.store.getBySeq(size);
    assert.equal(last.body.kind, 'audit.decision');
    assert.equal((last.body.payload as { decision: string }).decision, 'denied');
  });

  test('list, get and search show each caller only what its LOA may read, and count nothing else', async () => {
    const keysFor = async (who: Identity) =>
      (await call<MemoryListResult>(h, 'sigil/memory.list', { namespace: 'user:alice' }, who)).entries.map(
        (e) => e.key,
      );
    assert.deepEqual(await keysFor(observer), ['public']);
    assert.deepEqual(await keysFor(operator), ['default', 'public']);
    assert.deepEqual(await keysFor(mentor), ['default', 'private', 'public']);
    const miss = await rejects(
      call(h, 'sigil/memory.get', { namespace: 'user:alice', key: 'private' }, operator),
      'NOT_FOUND',
    );
    const absent = await rejects(
      call(h, 'sigil/memory.get', { namespace: 'user:alice', key: 'nothing' }, operator),
      'NOT_FOUND',
    );
    assert.equal(
      miss.message.replace('private', 'X'),
      absent.message.replace('nothing', 'X'),
      'hidden and absent look alike',
    );
    const found = await call<MemorySearchResult>(h, 'sigil/memory.search', { text: 'alice' }, observer);
    assert.deepEqual(
      found.hits.map((x) => x.entry.key),
      ['public'],
    );
    const lifetimes = await call<MemorySearchResult>(h, 'sigil/memory.search', { text: 'lifetimes' }, mentor);
    assert.equal(lifetimes.hits[0]?.entry.key, 'private');
    await rejects(
      call(h, 'sigil/memory.forget', { namespace: 'user:alice', key: 'private' }, operator),
      'ACCESS_DENIED',
    );
  });

  test('an anonymous caller is refused even the list', async () => {
    await rejects(call(h, 'sigil/memory.list', {}, null), 'ACCESS_DENIED');
  });
});

describe('memory: pages and filters', () => {
  let h: Home;
  let mentor: Identity;
  before(async () => {
    h = await newHome('pages');
    mentor = await issue(h, 'agent:mentor', 'mentor');
  });
  after(() => dispose(h));

  test('cursor pages return every visible entry exactly once, in order, under any page size', async () => {
    const names: [string, string][] = [];
    for (const ns of ['agent:a', 'agent:b', 'user:z']) for (let i = 0; i < 7; i++) names.push([ns, `k${i}`]);
    for (const [namespace, key] of names)
      await call(
        h,
        'sigil/memory.write',
        { namespace, key, text: `${namespace} ${key}`, tags: key === 'k3' ? ['three'] : [] },
        mentor,
      );
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 25 }),
        fc.constantFrom(undefined, 'agent:b', 'user:z'),
        async (limit, namespace) => {
          const seen: string[] = [];
          let cursor: string | undefined;
          for (;;) {
            const page = await call<MemoryListResult>(
              h,
              'sigil/memory.list',
              { limit, ...(namespace ? { namespace } : {}), ...(cursor ? { cursor } : {}) },
              mentor,
            );
            assert.ok(page.entries.length <= limit);
            seen.push(...page.entries.map((e) => `${e.namespace}/${e.key}`));
            if (!page.nextCursor) break;
            cursor = page.nextCursor;
          }
          const want = names
            .filter(([ns]) => namespace === undefined || ns === namespace)
            .map(([ns, k]) => `${ns}/${k}`);
          assert.deepEqual(seen, want);
        },
      ),
      { numRuns: 25, seed: 20261203 },
    );
    const tagged = await call<MemoryListResult>(h, 'sigil/memory.list', { tag: 'three' }, mentor);
    assert.deepEqual(
      tagged.entries.map((e) => e.namespace),
      ['agent:a', 'agent:b', 'user:z'],
    );
    const prefixed = await call<MemoryListResult>(
      h,
      'sigil/memory.list',
      { namespace: 'agent:a', prefix: 'k1' },
      mentor,
    );
    assert.deepEqual(
      prefixed.entries.map((e) => e.key),
      ['k1'],
    );
    const future = await call<MemoryListResult>(
      h,
      'sigil/memory.list',
      { since: new Date(Date.now() + DAY).toISOString() },
      mentor,
    );
    assert.equal(future.entries.length, 0);
    const past = await call<MemoryListResult>(
      h,
      'sigil/memory.list',
      { until: '2001-01-01T00:00:00Z' },
      mentor,
    );
    assert.equal(past.entries.length, 0);
    await rejects(call(h, 'sigil/memory.list', { cursor: 'not-a-cursor' }, mentor), 'BAD_INPUT', /cursor/);
  });
});

describe('memory: forgetting destroys the text', () => {
  let h: Home;
  let mentor: Identity;
  before(async () => {
    h = await newHome('forget');
    mentor = await issue(h, 'agent:mentor', 'mentor');
  });
  after(() => dispose(h));

  test('after forget no API, file or key of the store yields any version; verify still passes', async () => {
    const secret = `the launch code is ${toBase64(randomBytes(12))}`;
    await call(h, 'sigil/memory.write', { namespace: 'user:bob', key: 'secret', text: secret }, mentor);
    await call(
      h,
      'sigil/memory.write',
      { namespace: 'user:bob', key: 'secret', text: secret + ' (v2)' },
      mentor,
    );
    await call(
      h,
      'sigil/memory.write',
      { namespace: 'user:bob', key: 'keep', text: 'bob writes Rust' },
      mentor,
    );
    const versions = (await memoryRecords(h.rt, MEMORY_KINDS.version)).filter(
      (r) => (r.body.payload as unknown as MemoryVersionPayload).key === 'secret',
    );
    assert.equal(versions.length, 2);
    const keyId = (versions[0]!.body.payload as unknown as MemoryVersionPayload).text.key_id;
    const keyFile = path.join(h.home, MEMORY_KEYS_DIR, `${keyId}.key`);
    const sealedKey = await readFile(keyFile);
    const entryKey = aeadOpen(h.rt.keystore.dataKey, sealedKey, utf8(`sigil-memory-key/v1\n${keyId}`));
    assert.ok(entryKey, 'the key file opens under the data key before forget');

    const f = await call<MemoryForgetResult>(
      h,
      'sigil/memory.forget',
      { namespace: 'user:bob', key: 'secret' },
      mentor,
    );
    assert.equal(f.forgottenVersions, 2);
    await rejects(
      call(h, 'sigil/memory.get', { namespace: 'user:bob', key: 'secret', history: true }, mentor),
      'NOT_FOUND',
    );
    const listed = await call<MemoryListResult>(h, 'sigil/memory.list', {}, mentor);
    assert.deepEqual(
      listed.entries.map((e) => e.key),
      ['keep'],
    );
    const searched = await call<MemorySearchResult>(
      h,
      'sigil/memory.search',
      { text: 'launch code' },
      mentor,
    );
    // "bob writes Rust" may come back by meaning (code); the forgotten entry may not, by either retriever.
    assert.deepEqual(
      searched.hits.filter((x) => x.entry.key !== 'keep').map((x) => x.entry.key),
      [],
    );

    await reopen(h);
    await rejects(call(h, 'sigil/memory.get', { namespace: 'user:bob', key: 'secret' }, mentor), 'NOT_FOUND');
    assert.equal((await h.rt.store.verify()).ok, true, 'the signed records are intact');
    const tomb = (await memoryRecords(h.rt, MEMORY_KINDS.forget))[0]!;
    const tp = tomb.body.payload as unknown as MemoryForgetPayload;
    assert.deepEqual(
      [tp.namespace, tp.key, tp.through_version, tp.reason],
      ['user:bob', 'secret', 2, 'requested'],
    );
    assert.deepEqual(tomb.body.links.map((l) => l.id).sort(), versions.map((v) => v.id).sort());

    // Someone holding the data key and every file of the home: the entry key is nowhere, so the sealed
    // texts in the (readable, verified) records cannot be opened.
    const files = await filesUnder(h.home);
    for (const { file, bytes } of files) {
      assert.ok(!bytes.includes(Buffer.from(entryKey)), `${file} holds the entry key`);
      assert.ok(!bytes.includes(sealedKey), `${file} holds the sealed key file`);
      assert.ok(!bytes.includes(Buffer.from(secret)), `${file} holds the plaintext`);
    }
    for (const v of versions) {
      const p = (await h.rt.store.get(v.id)).body.payload as unknown as MemoryVersionPayload;
      assert.equal(p.text.key_id, keyId);
      assert.ok(!JSON.stringify(p).includes('launch code'));
      assert.equal(aeadOpen(h.rt.keystore.dataKey, fromBase64(p.text.sealed), utf8('')), null);
    }
    assert.equal(
      await stat(keyFile).then(
        () => true,
        () => false,
      ),
      false,
      'the key file is gone',
    );

    // The name may be used again: a new key, versions continue after the forgotten ones.
    const again = await call<MemoryWriteResult>(
      h,
      'sigil/memory.write',
      { namespace: 'user:bob', key: 'secret', text: 'new' },
      mentor,
    );
    assert.equal(again.entry.version, 3);
    const newKey = (
      (await h.rt.store.get(again.entry.recordId)).body.payload as unknown as MemoryVersionPayload
    ).text.key_id;
    assert.notEqual(newKey, keyId);
  });

  test('a forget interrupted after its tombstone is finished when the store opens', async () => {
    await call(
      h,
      'sigil/memory.write',
      { namespace: 'agent:crash', key: 'k', text: 'half forgotten' },
      mentor,
    );
    const v = (await memoryRecords(h.rt, MEMORY_KINDS.version)).find(
      (r) => (r.body.payload as unknown as MemoryVersionPayload).namespace === 'agent:crash',
    )!;
    const keyId = (v.body.payload as unknown as MemoryVersionPayload).text.key_id;
    // What a SIGKILL between the tombstone and the key's destruction leaves: the tombstone, and the key file.
    const access = await h.rt.governance.authorize('sigil/memory.forget', {}, undefined, 'store.info');
    await h.rt.governance.write(access, [
      {
        kind: MEMORY_KINDS.forget,
        space: 'data',
        actor: 'sigil:test',
        payload: {
          namespace: 'agent:crash',
          key: 'k',
          through_version: 1,
          key_ids: [keyId],
          reason: 'requested',
          license_id: null,
        },
      },
    ]);
    assert.equal(
      await stat(path.join(h.home, MEMORY_KEYS_DIR, `${keyId}.key`)).then(
        () => true,
        () => false,
      ),
      true,
    );
    await reopen(h);
    assert.equal(
      await stat(path.join(h.home, MEMORY_KEYS_DIR, `${keyId}.key`)).then(
        () => true,
        () => false,
      ),
      false,
    );
    await rejects(call(h, 'sigil/memory.get', { namespace: 'agent:crash', key: 'k' }, mentor), 'NOT_FOUND');
  });

  test('expired entries are hidden at once and forgotten by the sweep', async () => {
    const expiresAt = new Date(Date.now() + 1200).toISOString();
    await call(
      h,
      'sigil/memory.write',
      { namespace: 'session:s1', key: 'tmp', text: 'short lived', expiresAt },
      mentor,
    );
    const got = await call<MemoryGetResult>(
      h,
      'sigil/memory.get',
      { namespace: 'session:s1', key: 'tmp' },
      mentor,
    );
    assert.equal(got.entry.expiresAt, new Date(expiresAt).toISOString());
    await new Promise((r) => setTimeout(r, 1400));
    await rejects(call(h, 'sigil/memory.get', { namespace: 'session:s1', key: 'tmp' }, mentor), 'NOT_FOUND');
    const listed = await call<MemoryListResult>(h, 'sigil/memory.list', { namespace: 'session:s1' }, mentor);
    assert.equal(listed.entries.length, 0);
    assert.equal(await h.rt.memory.sweepExpired(), 1);
    const tomb = (await memoryRecords(h.rt, MEMORY_KINDS.forget)).at(-1)!;
    assert.equal((tomb.body.payload as unknown as MemoryForgetPayload).reason, 'expired');
    assert.equal(tomb.body.actor, 'sigil:memory-expiry');
    assert.equal(await h.rt.memory.sweepExpired(), 0);
  });
});
