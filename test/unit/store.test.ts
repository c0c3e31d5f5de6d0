/**
 * LevelCanonStore: appends, reads, listing, group commit, proofs, checkpoints, reopening, and tamper
 * detection by editing the LevelDB files underneath a closed store.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { ClassicLevel } from 'classic-level';
import { createKeystore, loadKeystore, type Keystore } from '../../server/src/canon/keystore.js';
import { LevelCanonStore } from '../../server/src/canon/store.js';
import type {
  AppendInput,
  Head,
  ListQuery,
  OpenStoreOptions,
  VerifyReport,
} from '../../server/src/canon/store-types.js';
import { KEYS, aadFor, seqHex } from '../../server/src/canon/layout.js';
import { seal, open as openSealed } from '../../shared/src/aead.js';
import { fromBase64, fromHex, toHex, utf8 } from '../../shared/src/bytes.js';
import { canonicalBytes, type JsonValue } from '../../shared/src/jcs.js';
import {
  leafHash,
  CompactRange,
  nodeHash,
  verifyConsistency,
  verifyInclusion,
  type Hash,
} from '../../shared/src/merkle.js';
import { parseCheckpoint, verifySignedNote } from '../../shared/src/note.js';
import { Ed25519Signer, generateKeyPair, verify as ed25519Verify } from '../../shared/src/ed25519.js';
import { SigilError, type SigilErrorCode } from '../../shared/src/errors.js';
import {
  MAX_PAYLOAD_BYTES,
  recordSigningMessage,
  type CanonicalRecord,
  type RecordBody,
  type Space,
} from '../../shared/src/record.js';

// ---------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------

type RawDb = ClassicLevel<string, Uint8Array>;
type StoreOptions = Pick<OpenStoreOptions, 'verifyWorkers' | 'groupCommitMaxBatch' | 'signWorkers'>;

const ORIGIN = 'test.example/log';
const FAST_CHECK_SEED = 20260117;

interface Env {
  readonly dir: string;
  readonly location: string;
  readonly keystore: Keystore;
  store: LevelCanonStore;
}

const envs: Env[] = [];

async function createEnv(opts: StoreOptions = {}): Promise<Env> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sigil-store-test-'));
  const keystore = await createKeystore(dir, { passphrase: undefined, scryptLogN: 14 });
  const location = path.join(dir, 'canon');
  const store = await LevelCanonStore.create({ location, keystore, origin: ORIGIN, ...opts });
  const env: Env = { dir, location, keystore, store };
  envs.push(env);
  return env;
}

/** Opens the store again with a keystore read back from disk. */
async function reopen(env: Env, opts: StoreOptions = {}): Promise<LevelCanonStore> {
  const keystore = await loadKeystore(env.dir, { passphrase: async () => undefined });
  env.store = await LevelCanonStore.open({ location: env.location, keystore, ...opts });
  return env.store;
}

async function destroy(env: Env): Promise<void> {
  await env.store.close();
  await rm(env.dir, { recursive: true, force: true });
  envs.splice(envs.indexOf(env), 1);
}

// Whatever a failing test leaves behind is cleaned up here.
after(async () => {
  for (const env of [...envs]) await destroy(env);
});

async function withRaw<T>(location: string, fn: (db: RawDb) => Promise<T>): Promise<T> {
  const db: RawDb = new ClassicLevel<string, Uint8Array>(location, {
    keyEncoding: 'utf8',
    valueEncoding: 'view',
  });
  await db.open();
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

/** Every key and value of the database, in key order. */
async function dumpDb(location: string): Promise<string[]> {
  return withRaw(location, async (db) => {
    const out: string[] = [];
    for await (const [k, v] of db.iterator()) out.push(`${k} = ${toHex(v)}`);
    return out;
  });
}

function isSigilError(code: SigilErrorCode, message?: RegExp) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof SigilError, `expected a SigilError, got ${String(e)}`);
    assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
    if (message) assert.match(e.message, message);
    return true;
  };
}

async function rejectsWith(p: Promise<unknown>, code: SigilErrorCode, message?: RegExp): Promise<void> {
  await assert.rejects(p, isSigilError(code, message));
}

function note(i: number, space: Space = 'data', kind = 'note.created'): AppendInput {
  return { kind, space, payload: { i, text: `note ${i}` }, actor: 'test:unit' };
}

function snapshot(store: LevelCanonStore): {
  size: number;
  root: string;
  data: Head | null;
  system: Head | null;
} {
  return {
    size: store.size(),
    root: store.rootHash(),
    data: store.head('data'),
    system: store.head('system'),
  };
}

async function allRecords(store: LevelCanonStore): Promise<CanonicalRecord[]> {
  const out: CanonicalRecord[] = [];
  for (let seq = 0; seq < store.size(); seq++) out.push(await store.getBySeq(seq));
  return out;
}

/** Checks seqs 0..n-1 in order and the prev chain of each space, independently of the store's verify. */
function assertChains(records: readonly CanonicalRecord[]): void {
  const last: Record<Space, string | null> = { data: null, system: null };
  records.forEach((r, i) => {
    assert.equal(r.body.seq, i, `record at position ${i} has seq ${r.body.seq}`);
    assert.equal(r.body.prev, last[r.body.space], `prev of seq ${i} in space ${r.body.space}`);
    assert.equal(r.id, createHash('sha256').update(canonicalBytes(r.body)).digest('hex'), `id of seq ${i}`);
    last[r.body.space] = r.id;
  });
}

/** RFC 6962 Merkle tree hash computed naively from the leaves, as an independent reference. */
function mth(leaves: readonly Hash[]): Hash {
  if (leaves.length === 0) return createHash('sha256').digest();
  if (leaves.length === 1) return leaves[0] as Hash;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

const leafOf = (id: string): Hash => leafHash(fromHex(id));

type BatchFn = (...args: unknown[]) => unknown;
interface ChainedBatch {
  write(...args: unknown[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * Wraps the store's private LevelDB handle's `batch` (array or chained form) to count group commits and,
 * for the calls `fail` picks, make the write fail as a full disk would. Returns the counters and a restore.
 */
function instrumentBatch(
  store: LevelCanonStore,
  fail: (call: number) => boolean = () => false,
): { calls: () => number; failed: () => number; restore: () => void } {
  const db = (store as unknown as { db: { batch: BatchFn } }).db;
  const hadOwn = Object.prototype.hasOwnProperty.call(db, 'batch');
  const original = db.batch;
  let calls = 0;
  let failed = 0;
  db.batch = function (this: unknown, ...args: unknown[]): unknown {
    const failThis = fail(++calls);
    if (failThis) failed++;
    if (args.length > 0) {
      return failThis ? Promise.reject(new Error('disk full')) : original.apply(this, args);
    }
    const chained = original.apply(this, args) as ChainedBatch;
    if (failThis) {
      chained.write = async () => {
        await chained.close();
        throw new Error('disk full');
      };
    }
    return chained;
  };
  return {
    calls: () => calls,
    failed: () => failed,
    restore: () => {
      if (hadOwn) db.batch = original;
      else delete (db as { batch?: BatchFn }).batch;
    },
  };
}

function decodeSealedRecord(
  ks: Keystore,
  id: string,
  sealed: Uint8Array,
): { sig: Uint8Array; keyId: string; body: Uint8Array } {
  const plain = openSealed(ks.dataKey, sealed, aadFor(KEYS.record(id)));
  assert.ok(plain, `record ${id} does not open`);
  assert.equal(plain[0], 0x01);
  return {
    sig: Uint8Array.from(plain.subarray(1, 65)),
    keyId: toHex(plain.subarray(65, 81)),
    body: Uint8Array.from(plain.subarray(81)),
  };
}

/** The stored form of a record: format byte, signature, raw key id, canonical body, sealed under r/<id>. */
function sealRecordValue(
  ks: Keystore,
  id: string,
  sig: Uint8Array,
  keyId: string,
  body: Uint8Array,
): Uint8Array {
  const plain = new Uint8Array(1 + 64 + 16 + body.length);
  plain[0] = 0x01;
  plain.set(sig, 1);
  plain.set(fromHex(keyId), 65);
  plain.set(body, 81);
  return seal(ks.dataKey, plain, aadFor(KEYS.record(id)));
}

async function mustGet(db: RawDb, key: string): Promise<Uint8Array> {
  const v = await db.get(key);
  assert.ok(v !== undefined, `missing key ${key}`);
  return v;
}

// ---------------------------------------------------------------------------------------------------------
// Append, get, list
// ---------------------------------------------------------------------------------------------------------

const KINDS = ['note.created', 'note.updated', 'task.done'] as const;

describe('append, get and list', () => {
  let env: Env;
  let genesis: CanonicalRecord;
  let appended: CanonicalRecord[];
  let all: CanonicalRecord[];

  before(async () => {
    env = await createEnv({ verifyWorkers: 0, signWorkers: 0 });
    genesis = await env.store.getBySeq(0);
    appended = [];
    for (let i = 0; i < 30; i++) {
      const space: Space = i % 3 === 1 ? 'system' : 'data';
      appended.push(await env.store.append(note(i, space, KINDS[i % KINDS.length])));
    }
    all = await allRecords(env.store);
  });
  after(async () => destroy(env));

  test('record 0 is the genesis record: system space, signed by the root key, certifying the keys', () => {
    const ks = env.keystore;
    assert.equal(genesis.body.kind, 'canon.genesis');
    assert.equal(genesis.body.space, 'system');
    assert.equal(genesis.body.seq, 0);
    assert.equal(genesis.body.prev, null);
    assert.equal(genesis.signature.key_id, ks.root.keyId);
    assert.ok(
      ed25519Verify(ks.root.publicKey, recordSigningMessage(genesis.id), fromBase64(genesis.signature.sig)),
    );
    assert.ok(
      !ed25519Verify(
        ks.runtime.publicKey,
        recordSigningMessage(genesis.id),
        fromBase64(genesis.signature.sig),
      ),
    );
    const g = genesis.body.payload as {
      origin: string;
      root_key: { key_id: string };
      runtime_key: { key_id: string };
    };
    assert.equal(g.origin, ORIGIN);
    assert.equal(g.root_key.key_id, ks.root.keyId);
    assert.equal(g.runtime_key.key_id, ks.runtime.keyId);
    assert.equal(env.store.origin, ORIGIN);
    assert.deepEqual([...env.store.trustedKeys().keys()].sort(), [ks.root.keyId, ks.runtime.keyId].sort());
  });

  test('appends get 64-hex ids, seqs from 1 and runtime-key signatures', () => {
    appended.forEach((r, i) => {
      assert.match(r.id, /^[0-9a-f]{64}$/);
      assert.equal(r.body.seq, i + 1);
      assert.equal(r.body.schema_version, 1);
      assert.match(r.body.ts, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      assert.deepEqual(r.body.links, []);
      assert.equal(r.signature.alg, 'ed25519');
      assert.equal(r.signature.key_id, env.keystore.runtime.keyId);
      assert.ok(
        ed25519Verify(
          env.keystore.runtime.publicKey,
          recordSigningMessage(r.id),
          fromBase64(r.signature.sig),
        ),
      );
    });
    assert.equal(env.store.size(), 31);
    assert.equal(new Set(appended.map((r) => r.id)).size, appended.length);
  });

  test('prev chains each space separately', () => {
    assertChains(all);
    const firstData = all.find((r) => r.body.space === 'data');
    assert.equal(firstData?.body.prev, null, 'the first data record starts its own chain');
    const firstSystemAppend = appended.find((r) => r.body.space === 'system');
    assert.equal(firstSystemAppend?.body.prev, genesis.id, 'the system chain starts at genesis');
    const lastOf = (s: Space): CanonicalRecord =>
      all.filter((r) => r.body.space === s).at(-1) as CanonicalRecord;
    assert.deepEqual(env.store.head('data'), { id: lastOf('data').id, seq: lastOf('data').body.seq });
    assert.deepEqual(env.store.head('system'), { id: lastOf('system').id, seq: lastOf('system').body.seq });
  });

  test('get and getBySeq return what append returned', async () => {
    for (const r of appended) {
      assert.deepEqual(await env.store.get(r.id), r);
      assert.deepEqual(await env.store.getBySeq(r.body.seq), r);
    }
  });

  test('get: unknown id is NOT_FOUND, a malformed id is BAD_INPUT', async () => {
    await rejectsWith(env.store.get('0'.repeat(64)), 'NOT_FOUND');
    const flipped = (appended[0] as CanonicalRecord).id.replace(/^./, (c) => (c === 'a' ? 'b' : 'a'));
    await rejectsWith(env.store.get(flipped), 'NOT_FOUND');
    for (const bad of [
      '',
      'abc',
      'A'.repeat(64),
      'g'.repeat(64),
      '0'.repeat(63),
      '0'.repeat(65),
      ' '.repeat(64),
    ]) {
      await rejectsWith(env.store.get(bad), 'BAD_INPUT');
    }
    await rejectsWith(env.store.get((appended[0] as CanonicalRecord).id.toUpperCase()), 'BAD_INPUT');
    await rejectsWith(env.store.getBySeq(env.store.size()), 'NOT_FOUND');
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])
      await rejectsWith(env.store.getBySeq(bad), 'BAD_INPUT');
  });

  test('list filters by space, by kind and by both', async () => {
    const seqs = (rs: readonly CanonicalRecord[]): number[] => rs.map((r) => r.body.seq);
    const listAll = async (q: ListQuery): Promise<number[]> =>
      seqs((await env.store.list({ ...q, limit: 1000 })).records);
    assert.deepEqual(await listAll({}), seqs(all));
    for (const space of ['data', 'system'] as const) {
      assert.deepEqual(await listAll({ space }), seqs(all.filter((r) => r.body.space === space)));
      for (const kind of [...KINDS, 'canon.genesis']) {
        assert.deepEqual(
          await listAll({ space, kind }),
          seqs(all.filter((r) => r.body.space === space && r.body.kind === kind)),
          `${space} ${kind}`,
        );
      }
    }
    for (const kind of [...KINDS, 'canon.genesis']) {
      assert.deepEqual(await listAll({ kind }), seqs(all.filter((r) => r.body.kind === kind)), kind);
    }
    assert.deepEqual(await listAll({ kind: 'never.used' }), []);
    assert.deepEqual(await listAll({ order: 'desc' }), seqs(all).reverse());
    const page = await env.store.list({ limit: 1000 });
    assert.deepEqual(page.records, all, 'list returns whole records');
    assert.equal(page.nextCursor, null);
    const first = await env.store.list({});
    assert.equal(first.records.length, Math.min(50, all.length), 'the default limit');
  });

  test('pagination in either order visits every record exactly once (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 12 }),
        fc.constantFrom<'asc' | 'desc'>('asc', 'desc'),
        fc.constantFrom('none', 'space', 'kind', 'both'),
        fc.constantFrom<Space>('data', 'system'),
        fc.constantFrom(...KINDS, 'canon.genesis'),
        async (limit, order, filter, space, kind) => {
          const q: ListQuery = {
            ...(filter === 'space' || filter === 'both' ? { space } : {}),
            ...(filter === 'kind' || filter === 'both' ? { kind } : {}),
          };
          const expected = all
            .filter(
              (r) =>
                (q.space === undefined || r.body.space === q.space) &&
                (q.kind === undefined || r.body.kind === q.kind),
            )
            .map((r) => r.id);
          if (order === 'desc') expected.reverse();
          const seen: string[] = [];
          let cursor: string | undefined;
          for (let pages = 0; ; pages++) {
            assert.ok(pages <= all.length + 1, 'pagination does not terminate');
            const page = await env.store.list({
              ...q,
              limit,
              order,
              ...(cursor === undefined ? {} : { cursor }),
            });
            assert.ok(page.records.length <= limit);
            seen.push(...page.records.map((r) => r.id));
            if (page.nextCursor === null) break;
            cursor = page.nextCursor;
          }
          assert.deepEqual(seen, expected);
        },
      ),
      { numRuns: 30, seed: FAST_CHECK_SEED },
    );
  });

  test('list refuses a bad limit, cursor, space or kind', async () => {
    for (const limit of [0, -1, 1001, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      await rejectsWith(env.store.list({ limit }), 'BAD_INPUT', /limit/);
    }
    for (const cursor of ['', 'x', 's', 's-1', 's01', 's1.5', '5', 'S5', 's 5', 's12345678901234567']) {
      await rejectsWith(env.store.list({ cursor }), 'BAD_INPUT', /cursor/);
    }
    await rejectsWith(env.store.list({ space: 'other' as Space }), 'BAD_INPUT');
    await rejectsWith(env.store.list({ kind: 'Not A Kind' }), 'BAD_INPUT');
    assert.equal((await env.store.list({ limit: 1000 })).records.length, all.length);
    assert.equal((await env.store.list({ limit: 1 })).records.length, 1);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Bad input and failed writes lose nothing
// ---------------------------------------------------------------------------------------------------------

describe('bad input loses nothing', () => {
  test('rejected appends leave state and every LevelDB key and value as they were', async () => {
    const env = await createEnv({ verifyWorkers: 0 });
    for (let i = 0; i < 5; i++) await env.store.append(note(i, i % 2 ? 'system' : 'data'));
    await env.store.checkpoint();
    const before = snapshot(env.store);
    await env.store.close();
    const dumpBefore = await dumpDb(env.location);
    const store = await reopen(env, { verifyWorkers: 0 });
    assert.deepEqual(snapshot(store), before);

    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const base = note(99);
    const bad: Array<[string, AppendInput, SigilErrorCode]> = [
      ['NaN payload', { ...base, payload: Number.NaN }, 'JCS_INVALID'],
      ['nested NaN', { ...base, payload: { a: [1, Number.NaN] } }, 'JCS_INVALID'],
      ['Infinity', { ...base, payload: { a: Number.POSITIVE_INFINITY } }, 'JCS_INVALID'],
      ['undefined member', { ...base, payload: { a: undefined } as unknown as JsonValue }, 'JCS_INVALID'],
      ['cycle', { ...base, payload: cyclic as JsonValue }, 'JCS_INVALID'],
      ['lone surrogate', { ...base, payload: { s: '\ud800' } }, 'JCS_INVALID'],
      ['Date payload', { ...base, payload: new Date(0) as unknown as JsonValue }, 'JCS_INVALID'],
      ['oversize payload', { ...base, payload: 'x'.repeat(MAX_PAYLOAD_BYTES - 1) }, 'BAD_INPUT'],
      ['empty kind', { ...base, kind: '' }, 'BAD_INPUT'],
      ['kind with spaces', { ...base, kind: 'Note Created' }, 'BAD_INPUT'],
      ['kind too long', { ...base, kind: 'a'.repeat(65) }, 'BAD_INPUT'],
      ['kind not a string', { ...base, kind: 42 as unknown as string }, 'BAD_INPUT'],
      ['second genesis', { ...base, kind: 'canon.genesis', space: 'system' }, 'BAD_INPUT'],
      ['bad space', { ...base, space: 'other' as Space }, 'BAD_INPUT'],
      ['missing space', { ...base, space: undefined as unknown as Space }, 'BAD_INPUT'],
      ['empty actor', { ...base, actor: '' }, 'BAD_INPUT'],
      ['actor too long', { ...base, actor: 'a'.repeat(257) }, 'BAD_INPUT'],
      ['link without rel', { ...base, links: [{ rel: '' }] }, 'BAD_INPUT'],
      ['link with unknown field', { ...base, links: [{ rel: 'x', url: 'y' } as never] }, 'BAD_INPUT'],
      ['too many links', { ...base, links: Array.from({ length: 65 }, () => ({ rel: 'x' })) }, 'BAD_INPUT'],
    ];
    const results = await Promise.allSettled(bad.map(([, input]) => store.append(input)));
    results.forEach((r, i) => {
      const [what, , code] = bad[i] as (typeof bad)[number];
      assert.equal(r.status, 'rejected', `${what} was accepted`);
      if (r.status === 'rejected') isSigilError(code)(r.reason);
    });
    assert.deepEqual(snapshot(store), before);
    assert.equal((await store.verify()).ok, true);
    await store.close();
    assert.deepEqual(await dumpDb(env.location), dumpBefore);
    await reopen(env, { verifyWorkers: 0 });
    await destroy(env);
  });

  test('the payload limit is exact: 1 MiB canonical is accepted, one byte more is not', async () => {
    const env = await createEnv({ verifyWorkers: 0 });
    // A JSON string payload canonicalizes to its characters plus two quotes.
    await rejectsWith(
      env.store.append({ ...note(0), payload: 'y'.repeat(MAX_PAYLOAD_BYTES - 1) }),
      'BAD_INPUT',
      /payload/,
    );
    // Multi-byte characters count as their UTF-8 bytes: 3 bytes each.
    await rejectsWith(
      env.store.append({ ...note(0), payload: '€'.repeat(MAX_PAYLOAD_BYTES / 3) }),
      'BAD_INPUT',
    );
    const big = await env.store.append({ ...note(0), payload: 'y'.repeat(MAX_PAYLOAD_BYTES - 2) });
    assert.equal(big.body.seq, 1);
    assert.equal((await env.store.get(big.id)).body.payload, big.body.payload);
    assert.equal((await env.store.verify()).ok, true);
    await destroy(env);
  });

  test('bad appends issued alongside good ones do not disturb them', async () => {
    const env = await createEnv({ verifyWorkers: 0 });
    const inputs: AppendInput[] = Array.from({ length: 40 }, (_, i) =>
      i % 4 === 3 ? { ...note(i), payload: Number.NaN } : note(i, i % 3 ? 'data' : 'system'),
    );
    const results = await Promise.allSettled(inputs.map((input) => env.store.append(input)));
    const ok = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    assert.equal(ok.length, 30);
    assert.deepEqual(
      ok.map((r) => r.body.seq),
      Array.from({ length: 30 }, (_, i) => i + 1),
    );
    assertChains(await allRecords(env.store));
    assert.equal((await env.store.verify()).ok, true);
    await destroy(env);
  });
});

describe('a failed batch write leaves the store as before', () => {
  test('one failed write: the append rejects, nothing changes, the next append continues the log', async () => {
    const env = await createEnv({ verifyWorkers: 0 });
    for (let i = 0; i < 5; i++) await env.store.append(note(i, i % 2 ? 'system' : 'data'));
    const before = snapshot(env.store);
    const spy = instrumentBatch(env.store, (n) => n === 1);
    try {
      await rejectsWith(env.store.append(note(100)), 'INTERNAL', /disk full/);
      assert.equal(spy.failed(), 1);
    } finally {
      spy.restore();
    }
    assert.deepEqual(snapshot(env.store), before);
    const next = await env.store.append(note(101));
    assert.equal(next.body.seq, before.size);
    assert.equal(next.body.prev, before.data?.id);
    assert.deepEqual(await env.store.get(next.id), next);
    const sys = await env.store.append(note(102, 'system'));
    assert.equal(sys.body.seq, before.size + 1);
    assert.equal(sys.body.prev, before.system?.id);
    assert.equal((await env.store.verify()).ok, true);

    const after = snapshot(env.store);
    await env.store.close();
    const store = await reopen(env, { verifyWorkers: 0 });
    assert.deepEqual(snapshot(store), after);
    assertChains(await allRecords(store));
    assert.equal((await store.verify()).ok, true);
    await destroy(env);
  });

  test('a failed write among many concurrent batches leaves no hole and no duplicate', async () => {
    // Small batches so that the failing write has batches before it and batches built on top of it.
    const env = await createEnv({ groupCommitMaxBatch: 16 });
    const spy = instrumentBatch(env.store, (n) => n === 3);
    const inputs = Array.from({ length: 160 }, (_, i) => note(i, i % 3 === 0 ? 'system' : 'data'));
    let results: Array<PromiseSettledResult<CanonicalRecord>>;
    try {
      results = await Promise.allSettled(inputs.map((input) => env.store.append(input)));
    } finally {
      spy.restore();
    }
    assert.equal(spy.failed(), 1);
    const ok = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    assert.ok(failed.length >= 16, `the whole failing batch is rejected (${failed.length} rejected)`);
    for (const e of failed) isSigilError('INTERNAL')(e);
    // Committed records hold exactly the seqs 1..n: nothing lost, nothing doubled.
    assert.deepEqual(
      ok.map((r) => r.body.seq).sort((a, b) => a - b),
      Array.from({ length: ok.length }, (_, i) => i + 1),
    );
    assert.equal(env.store.size(), ok.length + 1);
    const stored = await allRecords(env.store);
    assertChains(stored);
    assert.deepEqual(
      stored.slice(1),
      [...ok].sort((a, b) => a.body.seq - b.body.seq),
    );
    assert.equal((await env.store.verify()).ok, true);

    // The store carries on after the failure.
    const more = await Promise.all(Array.from({ length: 20 }, (_, i) => env.store.append(note(1000 + i))));
    assert.deepEqual(
      more.map((r) => r.body.seq),
      Array.from({ length: 20 }, (_, i) => ok.length + 1 + i),
    );
    const after = snapshot(env.store);
    await env.store.close();
    const store = await reopen(env);
    assert.deepEqual(snapshot(store), after);
    assert.equal((await store.verify()).ok, true);
    await destroy(env);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Concurrency and group commit
// ---------------------------------------------------------------------------------------------------------

describe('concurrent appends', () => {
  for (const [name, opts] of [
    ['one group commit', {}],
    ['batches of 32, inline signing', { groupCommitMaxBatch: 32, signWorkers: 0, verifyWorkers: 0 }],
  ] as const) {
    test(`500 concurrent appends across both spaces (${name})`, async () => {
      const env = await createEnv(opts);
      const spy = instrumentBatch(env.store);
      const inputs = Array.from({ length: 500 }, (_, i) =>
        note(i, i % 7 < 3 ? 'system' : 'data', KINDS[i % 3]),
      );
      let records: CanonicalRecord[];
      try {
        records = await Promise.all(inputs.map((input) => env.store.append(input)));
      } finally {
        spy.restore();
      }
      // Appends issued together keep their order: the i-th gets seq i + 1.
      assert.deepEqual(
        records.map((r) => r.body.seq),
        Array.from({ length: 500 }, (_, i) => i + 1),
      );
      records.forEach((r, i) => assert.deepEqual(r.body.payload, inputs[i]?.payload));
      assert.equal(new Set(records.map((r) => r.id)).size, 500);
      assert.ok(spy.calls() < 500, `group commit batched the writes (${spy.calls()} batches)`);
      if ('groupCommitMaxBatch' in opts) assert.ok(spy.calls() >= Math.ceil(500 / opts.groupCommitMaxBatch));
      else assert.ok(spy.calls() <= 2, `${spy.calls()} batches`);
      assert.equal(env.store.size(), 501);
      const stored = await allRecords(env.store);
      assertChains(stored);
      for (const r of records) assert.deepEqual(await env.store.get(r.id), r);
      const report = await env.store.verify();
      assert.equal(report.ok, true, report.firstBad?.reason);
      assert.equal(report.checked, 501);
      assert.equal(report.rootHash, env.store.rootHash());
      await destroy(env);
    });
  }

  test('records signed and sealed on the signing worker read back and verify after reopening', async () => {
    const env = await createEnv({ signWorkers: 1, verifyWorkers: 0 });
    const records = await Promise.all(
      Array.from({ length: 200 }, (_, i) => env.store.append(note(i, i % 5 ? 'data' : 'system'))),
    );
    await env.store.close();
    const store = await reopen(env, { signWorkers: 0, verifyWorkers: 0 });
    for (const r of records) assert.deepEqual(await store.get(r.id), r);
    assertChains(await allRecords(store));
    assert.equal((await store.verify()).ok, true);
    await destroy(env);
  });

  test('appends racing with reads, checkpoints and more appends', async () => {
    const env = await createEnv({ groupCommitMaxBatch: 8 });
    const store = env.store;
    const checkpoints: Array<Promise<unknown>> = [];
    const appends: Array<Promise<CanonicalRecord>> = [];
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 20; i++)
        appends.push(store.append(note(round * 20 + i, i % 2 ? 'data' : 'system')));
      checkpoints.push(store.checkpoint(), store.list({ limit: 5, order: 'desc' }));
      await new Promise((r) => setImmediate(r));
    }
    const records = await Promise.all(appends);
    await Promise.all(checkpoints);
    assert.deepEqual(
      records.map((r) => r.body.seq),
      Array.from({ length: 200 }, (_, i) => i + 1),
    );
    const report = await store.verify();
    assert.equal(report.ok, true, report.firstBad?.reason);
    await destroy(env);
  });

  test('appends after close are refused with STORE_CLOSED', async () => {
    const env = await createEnv();
    const pending = env.store.append(note(1));
    await env.store.close();
    assert.equal((await pending).body.seq, 1, 'an append issued before close is committed');
    await rejectsWith(env.store.append(note(2)), 'STORE_CLOSED');
    await rejectsWith(env.store.get((await pending).id), 'STORE_CLOSED');
    await reopen(env);
    assert.equal(env.store.size(), 2);
    await destroy(env);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Proofs and checkpoints
// ---------------------------------------------------------------------------------------------------------

describe('inclusion and consistency proofs', () => {
  let env: Env;
  /** rootAt[n] = rootHash() when the log had n records. */
  const rootAt: string[] = [];
  let records: CanonicalRecord[];

  before(async () => {
    env = await createEnv({ verifyWorkers: 0 });
    rootAt[1] = env.store.rootHash();
    for (let i = 1; i < 40; i++) {
      await env.store.append(note(i, i % 4 === 0 ? 'system' : 'data'));
      rootAt[i + 1] = env.store.rootHash();
    }
    records = await allRecords(env.store);
  });
  after(async () => destroy(env));

  test('the snapshot roots are the RFC 6962 roots of the ids', () => {
    const leaves = records.map((r) => leafOf(r.id));
    for (let n = 1; n <= 40; n++) assert.equal(rootAt[n], toHex(mth(leaves.slice(0, n))), `root at ${n}`);
  });

  test('every record has an inclusion proof at every size that contains it', async () => {
    for (const r of records) {
      const seq = r.body.seq;
      const sizes = new Set([seq + 1, Math.ceil((seq + 41) / 2), 33, 40].filter((n) => n > seq && n <= 40));
      for (const size of sizes) {
        const p = await env.store.inclusionProof(r.id, size);
        assert.equal(p.id, r.id);
        assert.equal(p.leafIndex, seq);
        assert.equal(p.treeSize, size);
        assert.equal(p.rootHash, rootAt[size], `root of inclusion proof for ${seq} at ${size}`);
        const proof = p.proof.map(fromHex);
        assert.ok(
          verifyInclusion(leafOf(r.id), seq, size, proof, fromHex(rootAt[size] as string)),
          `${seq} in ${size}`,
        );
        // The proof is bound to its leaf and its root.
        const other = records[(seq + 1) % records.length] as CanonicalRecord;
        assert.ok(!verifyInclusion(leafOf(other.id), seq, size, proof, fromHex(p.rootHash)));
        if (size > 1)
          assert.ok(!verifyInclusion(leafOf(r.id), seq, size, proof, fromHex(rootAt[size - 1] as string)));
      }
      const current = await env.store.inclusionProof(r.id);
      assert.equal(current.treeSize, 40);
      assert.equal(current.rootHash, env.store.rootHash());
    }
  });

  test('consistency proofs between every pair of sizes verify against the snapshot roots', async () => {
    for (let m = 1; m <= 40; m++) {
      for (let n = m; n <= 40; n++) {
        const p = await env.store.consistencyProof(m, n);
        assert.equal(p.oldSize, m);
        assert.equal(p.newSize, n);
        assert.equal(p.oldRoot, rootAt[m], `old root at ${m}`);
        assert.equal(p.newRoot, rootAt[n], `new root at ${n}`);
        const proof = p.proof.map(fromHex);
        assert.ok(verifyConsistency(m, n, fromHex(p.oldRoot), fromHex(p.newRoot), proof), `${m} -> ${n}`);
        if (m < n && m > 1) {
          assert.ok(!verifyConsistency(m, n, fromHex(rootAt[m - 1] as string), fromHex(p.newRoot), proof));
        }
      }
    }
    const latest = await env.store.consistencyProof(7);
    assert.equal(latest.newSize, 40);
    assert.equal(latest.newRoot, env.store.rootHash());
  });

  test('bad sizes and ids are refused', async () => {
    const r5 = records[5] as CanonicalRecord;
    for (const size of [0, -1, 41, 2.5, Number.NaN])
      await rejectsWith(env.store.inclusionProof(r5.id, size), 'BAD_INPUT');
    await rejectsWith(env.store.inclusionProof(r5.id, 5), 'BAD_INPUT', /not in a tree of size 5/);
    await rejectsWith(env.store.inclusionProof('f'.repeat(64)), 'NOT_FOUND');
    await rejectsWith(env.store.inclusionProof('nope'), 'BAD_INPUT');
    for (const [m, n] of [
      [0, 10],
      [-1, 10],
      [41, 41],
      [10, 41],
      [11, 10],
      [1.5, 10],
      [Number.NaN, 10],
      [3, Number.NaN],
    ] as const) {
      await rejectsWith(env.store.consistencyProof(m, n), 'BAD_INPUT');
    }
    await rejectsWith(env.store.consistencyProof(41), 'BAD_INPUT');
  });
});

describe('checkpoints', () => {
  test('a checkpoint is a note signed by the runtime key over the current size and root; it survives reopening', async () => {
    const env = await createEnv();
    assert.equal(await env.store.latestCheckpoint(), null);
    for (let i = 0; i < 6; i++) await env.store.append(note(i));
    const cp = await env.store.checkpoint();
    assert.equal(cp.origin, ORIGIN);
    assert.equal(cp.size, 7);
    assert.equal(cp.rootHash, env.store.rootHash());
    const ks = env.keystore;
    const { body, verifiedBy } = verifySignedNote(
      cp.note,
      [{ name: ORIGIN, publicKey: ks.runtime.publicKey }],
      ed25519Verify,
    );
    assert.deepEqual(verifiedBy, [ORIGIN]);
    const parsed = parseCheckpoint(body);
    assert.equal(parsed.origin, ORIGIN);
    assert.equal(parsed.size, 7);
    assert.equal(toHex(parsed.rootHash), env.store.rootHash());
    // Not signed by the root key, nor under another origin.
    assert.throws(
      () => verifySignedNote(cp.note, [{ name: ORIGIN, publicKey: ks.root.publicKey }], ed25519Verify),
      isSigilError('SIGNATURE_INVALID'),
    );
    assert.throws(
      () =>
        verifySignedNote(
          cp.note,
          [{ name: 'other.example/log', publicKey: ks.runtime.publicKey }],
          ed25519Verify,
        ),
      isSigilError('SIGNATURE_INVALID'),
    );
    assert.deepEqual(await env.store.latestCheckpoint(), cp);
    // Checkpointing the same size twice keeps the first note.
    assert.equal((await env.store.checkpoint()).size, 7);
    assert.deepEqual(await env.store.latestCheckpoint(), cp);

    for (let i = 0; i < 300; i++) await env.store.append(note(i, 'system'));
    const cp2 = await env.store.checkpoint();
    assert.equal(cp2.size, 307);
    assert.deepEqual(await env.store.latestCheckpoint(), cp2, 'the largest checkpoint is the latest');
    const proof = await env.store.consistencyProof(cp.size, cp2.size);
    assert.ok(
      verifyConsistency(
        cp.size,
        cp2.size,
        fromHex(cp.rootHash),
        fromHex(cp2.rootHash),
        proof.proof.map(fromHex),
      ),
    );

    await env.store.close();
    const store = await reopen(env);
    assert.deepEqual(await store.latestCheckpoint(), cp2);
    assert.equal((await store.verify()).ok, true);
    await destroy(env);
  });
});

describe('reopening', () => {
  test('a state rolled back behind its records: the first append is refused, nothing is overwritten', async () => {
    const env = await createEnv({ verifyWorkers: 0 });
    for (let i = 0; i < 3; i++) await env.store.append(note(i));
    await env.store.close();
    const oldState = await withRaw(env.location, (db) => mustGet(db, KEYS.state));
    await reopen(env);
    for (let i = 3; i < 6; i++) await env.store.append(note(i));
    const kept = await allRecords(env.store);
    await env.store.close();
    await withRaw(env.location, (db) => db.put(KEYS.state, oldState));
    const store = await reopen(env, { verifyWorkers: 0 });
    assert.equal(store.size(), 4);
    await rejectsWith(store.append(note(100)), 'STORE_CORRUPT', /seq slot 4 is already taken/);
    // Still refused on the next try (the check is not a one-off), and the records are untouched.
    await rejectsWith(store.append(note(101)), 'STORE_CORRUPT', /seq slot 4 is already taken/);
    for (const r of kept.slice(0, 4)) assert.deepEqual(await store.get(r.id), r);
    for (const r of kept.slice(4)) assert.deepEqual(await store.get(r.id), r);
    await destroy(env);
  });

  test('a write reported as failed that still landed: the next append sees the taken slot', async () => {
    const env = await createEnv({ verifyWorkers: 0 });
    for (let i = 0; i < 3; i++) await env.store.append(note(i));
    const db = (env.store as unknown as { db: { batch: BatchFn } }).db;
    const original = db.batch;
    // The batch is written, then reported failed (as a sync error after the log write could be).
    db.batch = function (this: unknown, ...args: unknown[]): unknown {
      const chained = original.apply(this, args) as ChainedBatch;
      const write = chained.write.bind(chained);
      chained.write = async (...a: unknown[]) => {
        await write(...a);
        throw new Error('sync failed');
      };
      return chained;
    };
    try {
      await rejectsWith(env.store.append(note(100)), 'INTERNAL', /sync failed/);
    } finally {
      delete (db as { batch?: BatchFn }).batch;
    }
    await rejectsWith(env.store.append(note(101)), 'STORE_CORRUPT', /seq slot 4 is already taken/);
    await destroy(env);
  });

  test('size, root, heads and origin survive; appends continue both chains', async () => {
    const env = await createEnv({ verifyWorkers: 0 });
    for (let i = 0; i < 12; i++) await env.store.append(note(i, i % 3 === 0 ? 'system' : 'data'));
    const before = snapshot(env.store);
    await env.store.close();
    await env.store.close(); // closing twice is harmless
    const store = await reopen(env);
    assert.deepEqual(snapshot(store), before);
    assert.equal(store.origin, ORIGIN);
    const d = await store.append(note(100, 'data'));
    const s = await store.append(note(101, 'system'));
    assert.equal(d.body.seq, before.size);
    assert.equal(d.body.prev, before.data?.id);
    assert.equal(s.body.seq, before.size + 1);
    assert.equal(s.body.prev, before.system?.id);
    assertChains(await allRecords(store));
    assert.equal((await store.verify()).ok, true);
    await destroy(env);
  });

  test('open refuses a missing store, a locked store and a foreign keystore', async () => {
    const env = await createEnv();
    await rejectsWith(
      LevelCanonStore.open({ location: path.join(env.dir, 'nowhere'), keystore: env.keystore }),
      'HOME_MISSING',
    );
    await rejectsWith(
      LevelCanonStore.open({ location: env.location, keystore: env.keystore }),
      'STORE_LOCKED',
    );
    await env.store.close();
    const otherDir = await mkdtemp(path.join(os.tmpdir(), 'sigil-store-test-'));
    try {
      const foreign = await createKeystore(otherDir, { passphrase: undefined, scryptLogN: 14 });
      await rejectsWith(LevelCanonStore.open({ location: env.location, keystore: foreign }), 'STORE_CORRUPT');
    } finally {
      await rm(otherDir, { recursive: true, force: true });
    }
    await reopen(env);
    await destroy(env);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Tampering with the files under a closed store
// ---------------------------------------------------------------------------------------------------------

/** Spaces of seqs 1..11: data and system interleaved. */
const PATTERN: readonly Space[] = [
  'data',
  'data',
  'system',
  'data',
  'system',
  'data',
  'data',
  'system',
  'data',
  'data',
  'data',
];

interface Fixture {
  readonly env: Env;
  readonly records: CanonicalRecord[];
  /** Checkpoint root, when one was taken after the last append. */
  readonly cpRoot: string | null;
}

async function tamperFixture(opts: { verifyWorkers: number; checkpoint: boolean }): Promise<Fixture> {
  const env = await createEnv({ verifyWorkers: opts.verifyWorkers });
  const records = [await env.store.getBySeq(0)];
  for (const [i, space] of PATTERN.entries()) records.push(await env.store.append(note(i + 1, space)));
  const cpRoot = opts.checkpoint ? (await env.store.checkpoint()).rootHash : null;
  const report = await env.store.verify();
  assert.equal(report.ok, true);
  await env.store.close();
  return { env, records, cpRoot };
}

/** Edits the closed store's database, reopens it and verifies. */
async function tamperAndVerify(
  f: Fixture,
  edit: (db: RawDb) => Promise<void>,
  verifyWorkers = 0,
): Promise<VerifyReport> {
  await withRaw(f.env.location, edit);
  const store = await reopen(f.env, { verifyWorkers });
  return store.verify();
}

/** Rewrites every stored Merkle node as the tree over `ids` has them: what an attacker who forges a record must also do. */
async function rewriteMerkleNodes(db: ClassicLevel<string, Uint8Array>, ids: string[]): Promise<void> {
  const range = CompactRange.empty();
  const batch = db.batch();
  for (const id of ids)
    for (const n of range.append(leafHash(fromHex(id)))) batch.put(KEYS.node(n.level, n.index), n.hash);
  await batch.write();
}

function assertBad(report: VerifyReport, seq: number | null, id: string | null, reason: RegExp): void {
  assert.equal(report.ok, false, 'verify must fail');
  assert.ok(report.firstBad, 'firstBad is set');
  assert.equal(report.firstBad.seq, seq, `firstBad.seq (${report.firstBad.reason})`);
  assert.equal(report.firstBad.id, id, `firstBad.id (${report.firstBad.reason})`);
  assert.match(report.firstBad.reason, reason);
  assert.deepEqual(Object.keys(report).sort(), ['checked', 'firstBad', 'ok', 'rootHash', 'size']);
}

const rec = (f: Fixture, seq: number): CanonicalRecord => f.records[seq] as CanonicalRecord;

/** A copy of a record body with other fields, and its canonical bytes and id as the store computes them. */
function rebuildBody(
  body: RecordBody,
  change: Partial<RecordBody>,
): { body: RecordBody; bytes: Uint8Array; id: string } {
  const next = { ...body, ...change };
  const bytes = canonicalBytes(next);
  return { body: next, bytes, id: createHash('sha256').update(bytes).digest('hex') };
}

describe('tamper detection', () => {
  for (const workers of [0, 2]) {
    test(`(a) a flipped ciphertext byte is named by seq and id (verifyWorkers ${workers})`, async () => {
      const f = await tamperFixture({ verifyWorkers: workers, checkpoint: true });
      const target = rec(f, 5);
      const report = await tamperAndVerify(
        f,
        async (db) => {
          const v = new Uint8Array(await mustGet(db, KEYS.record(target.id)));
          v[40] = (v[40] as number) ^ 0x01;
          await db.put(KEYS.record(target.id), v);
        },
        workers,
      );
      assertBad(report, 5, target.id, /does not authenticate/);
      assert.equal(report.checked, 5);
      await rejectsWith(f.env.store.get(target.id), 'STORE_CORRUPT');
      await destroy(f.env);
    });
  }

  test('(b) a deleted record value', async () => {
    const f = await tamperFixture({ verifyWorkers: 0, checkpoint: true });
    const target = rec(f, 6);
    const report = await tamperAndVerify(f, (db) => db.del(KEYS.record(target.id)));
    assertBad(report, 6, target.id, /record [0-9a-f]{64} listed at seq 6 is missing/);
    await rejectsWith(f.env.store.getBySeq(6), 'STORE_CORRUPT');
    await rejectsWith(f.env.store.get(target.id), 'NOT_FOUND');
    await destroy(f.env);
  });

  test('(c) a deleted seq index entry of a middle record', async () => {
    const f = await tamperFixture({ verifyWorkers: 2, checkpoint: false });
    const report = await tamperAndVerify(f, (db) => db.del(KEYS.bySeq(4)), 2);
    // The gap is found at the record after it, and the reason names the missing seq.
    assertBad(report, 5, rec(f, 5).id, /expected seq 4 next but found seq 5: record 4 is missing/);
    assert.equal(report.checked, 4);
    await destroy(f.env);
  });

  test('(d) two record values swapped between their keys', async () => {
    const f = await tamperFixture({ verifyWorkers: 0, checkpoint: true });
    const [a, b] = [rec(f, 3), rec(f, 8)];
    const report = await tamperAndVerify(f, async (db) => {
      const va = await mustGet(db, KEYS.record(a.id));
      const vb = await mustGet(db, KEYS.record(b.id));
      await db.batch([
        { type: 'put', key: KEYS.record(a.id), value: vb },
        { type: 'put', key: KEYS.record(b.id), value: va },
      ]);
    });
    assertBad(report, 3, a.id, /does not authenticate/);
    await destroy(f.env);
  });

  test('(e) the sealed chain heads of the two spaces swapped: the store opens, verify fails', async () => {
    const f = await tamperFixture({ verifyWorkers: 2, checkpoint: true });
    await withRaw(f.env.location, async (db) => {
      const d = await mustGet(db, KEYS.head('data'));
      const s = await mustGet(db, KEYS.head('system'));
      await db.batch([
        { type: 'put', key: KEYS.head('data'), value: s },
        { type: 'put', key: KEYS.head('system'), value: d },
      ]);
    });
    // Heads are not read at open (the state record carries them), so this is found by verify.
    const store = await reopen(f.env, { verifyWorkers: 2 });
    const report = await store.verify();
    assertBad(report, null, null, /chain head of space data does not authenticate/);
    await destroy(f.env);
  });

  test('(e2) a validly sealed but stale chain head', async () => {
    const f = await tamperFixture({ verifyWorkers: 0, checkpoint: false });
    const stale = rec(f, 6);
    const report = await tamperAndVerify(f, async (db) => {
      const key = KEYS.head('data');
      await db.put(
        key,
        seal(f.env.keystore.dataKey, utf8(JSON.stringify({ id: stale.id, seq: 6 })), aadFor(key)),
      );
    });
    assertBad(report, null, null, /stored chain head of space data does not match/);
    await destroy(f.env);
  });

  test('(f) an overwritten Merkle node: proofs through it no longer verify against the checkpoint root', async () => {
    const f = await tamperFixture({ verifyWorkers: 0, checkpoint: true });
    const cpRoot = fromHex(f.cpRoot as string);
    const size = f.records.length;
    // The stored leaf node of record 5 is the sibling that the proof of record 4 uses.
    await withRaw(f.env.location, async (db) => {
      const key = KEYS.node(0, 5);
      assert.equal(toHex(await mustGet(db, key)), toHex(leafOf(rec(f, 5).id)));
      await db.put(key, new Uint8Array(32).fill(0xab));
    });
    const store = await reopen(f.env, { verifyWorkers: 0 });
    const cp = await store.latestCheckpoint();
    assert.equal(cp?.rootHash, f.cpRoot);
    const p4 = await store.inclusionProof(rec(f, 4).id, size);
    assert.equal(p4.rootHash, f.cpRoot, 'the root itself comes from the authenticated state');
    assert.equal(verifyInclusion(leafOf(rec(f, 4).id), 4, size, p4.proof.map(fromHex), cpRoot), false);
    // Proofs that do not pass through the node still verify.
    const p9 = await store.inclusionProof(rec(f, 9).id, size);
    assert.equal(verifyInclusion(leafOf(rec(f, 9).id), 9, size, p9.proof.map(fromHex), cpRoot), true);
    // So does a consistency proof from size 5, whose path needs the same leaf.
    const c = await store.consistencyProof(5, size);
    assert.equal(verifyConsistency(5, size, fromHex(c.oldRoot), cpRoot, c.proof.map(fromHex)), false);
    // And verify compares every stored node with the recomputed tree, so it names the leaf that completes it.
    const report = await store.verify();
    assertBad(report, 5, null, /stored Merkle node \(level 0, index 5\) does not match the recomputed tree/);
    await destroy(f.env);
  });

  test('(g) a record re-signed by a foreign key and sealed validly: "not a certified key"', async () => {
    const f = await tamperFixture({ verifyWorkers: 0, checkpoint: true });
    const target = rec(f, 7);
    const foreign = new Ed25519Signer(generateKeyPair().seed);
    const report = await tamperAndVerify(f, async (db) => {
      const key = KEYS.record(target.id);
      const old = decodeSealedRecord(f.env.keystore, target.id, await mustGet(db, key));
      assert.equal(old.keyId, f.env.keystore.runtime.keyId);
      assert.deepEqual(old.body, canonicalBytes(target.body), 'the stored body is the canonical body');
      const sig = foreign.sign(recordSigningMessage(target.id));
      await db.put(key, sealRecordValue(f.env.keystore, target.id, sig, foreign.keyId, old.body));
    });
    assertBad(
      report,
      7,
      target.id,
      new RegExp(`signed by key ${foreign.keyId}, which is not a certified key`),
    );
    // The same with the signing workers' path.
    await f.env.store.close();
    assertBad(
      await (await reopen(f.env, { verifyWorkers: 2 })).verify(),
      7,
      target.id,
      /not a certified key/,
    );
    await destroy(f.env);
  });

  test('(g3) a non-genesis record re-signed by the root key', async () => {
    const f = await tamperFixture({ verifyWorkers: 0, checkpoint: false });
    const target = rec(f, 3);
    const ks = f.env.keystore;
    const report = await tamperAndVerify(f, async (db) => {
      const key = KEYS.record(target.id);
      const old = decodeSealedRecord(ks, target.id, await mustGet(db, key));
      const sig = ks.root.sign(recordSigningMessage(target.id));
      await db.put(key, sealRecordValue(ks, target.id, sig, ks.root.keyId, old.body));
    });
    assertBad(report, 3, target.id, /only the genesis record may be signed by the root key/);
    await destroy(f.env);
  });

  test('(g2) a record whose runtime-key signature is replaced by garbage: "signature does not verify"', async () => {
    const f = await tamperFixture({ verifyWorkers: 2, checkpoint: true });
    const target = rec(f, 9);
    const report = await tamperAndVerify(
      f,
      async (db) => {
        const key = KEYS.record(target.id);
        const old = decodeSealedRecord(f.env.keystore, target.id, await mustGet(db, key));
        const sig = f.env.keystore.runtime.sign(recordSigningMessage(rec(f, 8).id)); // valid, for another record
        await db.put(key, sealRecordValue(f.env.keystore, target.id, sig, old.keyId, old.body));
      },
      2,
    );
    assertBad(report, 9, target.id, /signature does not verify/);
    await destroy(f.env);
  });

  test('(h) a middle record replaced by a runtime-signed forgery under its seq: the chain breaks after it', async () => {
    const f = await tamperFixture({ verifyWorkers: 0, checkpoint: true });
    const target = rec(f, 4); // data; the next data record is seq 6
    const forged = rebuildBody(target.body, { payload: { i: 4, text: 'forged' } });
    const report = await tamperAndVerify(f, async (db) => {
      const sig = f.env.keystore.runtime.sign(recordSigningMessage(forged.id));
      await db.batch([
        {
          type: 'put',
          key: KEYS.record(forged.id),
          value: sealRecordValue(f.env.keystore, forged.id, sig, f.env.keystore.runtime.keyId, forged.bytes),
        },
        { type: 'put', key: KEYS.bySeq(4), value: fromHex(forged.id) },
      ]);
    });
    assertBad(report, 6, rec(f, 6).id, /chain link broken in space data/);
    // The forgery itself reads back as a well-formed record: only the chain gives it away.
    assert.deepEqual((await f.env.store.getBySeq(4)).body, forged.body);
    await destroy(f.env);
  });

  test('(h2) the last record replaced by a runtime-signed forgery: the checkpoint root no longer matches', async () => {
    const f = await tamperFixture({ verifyWorkers: 2, checkpoint: true });
    const last = f.records.length - 1;
    const target = rec(f, last);
    const forged = rebuildBody(target.body, { payload: 'forged' });
    const report = await tamperAndVerify(
      f,
      async (db) => {
        const sig = f.env.keystore.runtime.sign(recordSigningMessage(forged.id));
        await db.batch([
          { type: 'del', key: KEYS.record(target.id) },
          {
            type: 'put',
            key: KEYS.record(forged.id),
            value: sealRecordValue(
              f.env.keystore,
              forged.id,
              sig,
              f.env.keystore.runtime.keyId,
              forged.bytes,
            ),
          },
          { type: 'put', key: KEYS.bySeq(last), value: fromHex(forged.id) },
        ]);
        await rewriteMerkleNodes(db, [...f.records.slice(0, last).map((r) => r.id), forged.id]);
      },
      2,
    );
    assertBad(
      report,
      null,
      null,
      new RegExp(`the log at size ${last + 1} does not match the root hash of its signed checkpoint`),
    );
    await destroy(f.env);
  });

  test('(h3) the same without a checkpoint: the recomputed root differs from the stored tree state', async () => {
    const f = await tamperFixture({ verifyWorkers: 0, checkpoint: false });
    const last = f.records.length - 1;
    const forged = rebuildBody(rec(f, last).body, { payload: 'forged' });
    const report = await tamperAndVerify(f, async (db) => {
      const sig = f.env.keystore.runtime.sign(recordSigningMessage(forged.id));
      await db.put(
        KEYS.record(forged.id),
        sealRecordValue(f.env.keystore, forged.id, sig, f.env.keystore.runtime.keyId, forged.bytes),
      );
      await db.put(KEYS.bySeq(last), fromHex(forged.id));
      await rewriteMerkleNodes(db, [...f.records.slice(0, last).map((r) => r.id), forged.id]);
    });
    assertBad(report, null, null, /recomputed Merkle root differs from the stored tree state/);
    await destroy(f.env);
  });

  test('(h4) the same forgery without rewriting the Merkle nodes: the stored leaf node names the record', async () => {
    const f = await tamperFixture({ verifyWorkers: 2, checkpoint: true });
    const last = f.records.length - 1;
    const forged = rebuildBody(rec(f, last).body, { payload: 'forged' });
    const report = await tamperAndVerify(f, async (db) => {
      const sig = f.env.keystore.runtime.sign(recordSigningMessage(forged.id));
      await db.put(
        KEYS.record(forged.id),
        sealRecordValue(f.env.keystore, forged.id, sig, f.env.keystore.runtime.keyId, forged.bytes),
      );
      await db.put(KEYS.bySeq(last), fromHex(forged.id));
    });
    assertBad(
      report,
      last,
      null,
      new RegExp(`stored Merkle node \\(level 0, index ${last}\\) does not match`),
    );
    await destroy(f.env);
  });

  for (const withCheckpoint of [false, true]) {
    test(`(i) truncation: the last record and its index entries deleted (checkpoint: ${withCheckpoint})`, async () => {
      const f = await tamperFixture({ verifyWorkers: 0, checkpoint: withCheckpoint });
      const last = f.records.length - 1;
      const target = rec(f, last);
      const report = await tamperAndVerify(f, async (db) => {
        const doomed = [KEYS.record(target.id), KEYS.bySeq(last), KEYS.bySpace(target.body.space, last)];
        for await (const key of db.keys({ gte: 'k/', lt: 'k0' }))
          if (key.endsWith(`/${seqHex(last)}`)) doomed.push(key);
        assert.equal(doomed.length, 4, 'record, seq, space and kind entries');
        await db.batch(doomed.map((key) => ({ type: 'del' as const, key })));
      });
      const n = f.records.length;
      assertBad(
        report,
        null,
        null,
        withCheckpoint
          ? new RegExp(`the latest checkpoint covers ${n} records but the log has only ${n - 1}`)
          : new RegExp(`the store state says ${n} records but ${n - 1} were found`),
      );
      assert.equal(report.checked, n - 1);
      await destroy(f.env);
    });
  }

  test('(j) a tampered state record is refused at open', async () => {
    const f = await tamperFixture({ verifyWorkers: 0, checkpoint: false });
    await withRaw(f.env.location, async (db) => {
      const v = new Uint8Array(await mustGet(db, KEYS.state));
      v[v.length - 1] = (v[v.length - 1] as number) ^ 0x80;
      await db.put(KEYS.state, v);
    });
    await rejectsWith(reopen(f.env), 'STORE_CORRUPT', /state does not authenticate/);
    await destroy(f.env);
  });

  test('(k) a tampered stored checkpoint note', async () => {
    const f = await tamperFixture({ verifyWorkers: 0, checkpoint: true });
    const report = await tamperAndVerify(f, async (db) => {
      const key = KEYS.checkpoint(f.records.length);
      const text = Buffer.from(await mustGet(db, key)).toString('utf8');
      await db.put(key, utf8(text.replace(`\n${f.records.length}\n`, `\n${f.records.length - 1}\n`)));
    });
    assertBad(report, null, null, /latest stored checkpoint does not verify/);
    await destroy(f.env);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Verify at scale
// ---------------------------------------------------------------------------------------------------------

describe('verify of 5,000 records', () => {
  let env: Env;
  const N = 5000;

  before(async () => {
    env = await createEnv();
    const inputs = Array.from({ length: N - 1 }, (_, i) =>
      note(i, i % 5 === 0 ? 'system' : 'data', KINDS[i % 3]),
    );
    await Promise.all(inputs.map((input) => env.store.append(input)));
    await env.store.checkpoint();
    await env.store.close();
  });
  after(async () => destroy(env));

  async function verifyWith(
    workers: number,
  ): Promise<{ report: VerifyReport; progress: Array<[number, number]> }> {
    const store = await reopen(env, { verifyWorkers: workers });
    const progress: Array<[number, number]> = [];
    try {
      const report = await store.verify({ onProgress: (checked, total) => progress.push([checked, total]) });
      return { report, progress };
    } finally {
      await store.close();
    }
  }

  test('workers 0 and 2 give identical reports and progress, in bounded windows', async () => {
    const inline = await verifyWith(0);
    const pooled = await verifyWith(2);
    assert.equal(inline.report.ok, true, inline.report.firstBad?.reason);
    assert.equal(inline.report.checked, N);
    assert.equal(inline.report.size, N);
    assert.deepEqual(pooled, inline);
    const p = inline.progress;
    assert.ok(p.length >= 2, 'progress is reported more than once');
    assert.deepEqual(p.at(-1), [N, N]);
    let prev = 0;
    for (const [checked, total] of p) {
      assert.equal(total, N);
      assert.ok(
        checked > prev && checked - prev <= 1024,
        `progress steps are window-sized (${prev} -> ${checked})`,
      );
      prev = checked;
    }
  });

  test('an aborted verify rejects and leaves no worker thread behind', async () => {
    const store = await reopen(env, { verifyWorkers: 2 });
    try {
      const ac = new AbortController();
      await assert.rejects(
        store.verify({ signal: ac.signal, onProgress: (checked) => checked >= 1000 && ac.abort() }),
        (e) => e instanceof SigilError && e.code === 'CANCELLED',
      );
      // If the verifier's workers were left running, this test file would never exit.
      assert.equal(store.size(), N);
    } finally {
      await store.close();
    }
  });

  test('a bad signature deep in the log is found identically with and without workers', async () => {
    const target = 4321;
    await withRaw(env.location, async (db) => {
      const id = toHex(await mustGet(db, KEYS.bySeq(target)));
      const old = decodeSealedRecord(env.keystore, id, await mustGet(db, KEYS.record(id)));
      const sig = new Uint8Array(old.sig);
      sig[3] = (sig[3] as number) ^ 0x04;
      await db.put(KEYS.record(id), sealRecordValue(env.keystore, id, sig, old.keyId, old.body));
    });
    const inline = await verifyWith(0);
    const pooled = await verifyWith(2);
    assert.equal(inline.report.ok, false);
    assert.equal(inline.report.firstBad?.seq, target);
    assert.match(inline.report.firstBad?.reason ?? '', /signature does not verify/);
    assert.deepEqual(pooled.report, inline.report);
  });
});

describe('legacy identities in a group commit', () => {
  test('a duplicate legacy identity is refused alone; the appends sharing its batch land', async () => {
    const env = await createEnv({ verifyWorkers: 0 });
    const { store } = env;
    await store.append({ ...note(1), legacyIdentity: 'id:L1' });
    const results = await Promise.allSettled([
      store.append(note(2)),
      store.append({ ...note(3), legacyIdentity: 'id:L1' }),
      store.append({ ...note(4), legacyIdentity: 'id:L2' }),
      store.append({ ...note(5), legacyIdentity: 'id:L2' }),
      store.append(note(6)),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled'],
    );
    for (const i of [1, 3]) {
      const r = results[i] as PromiseRejectedResult;
      assert.ok(r.reason instanceof SigilError && r.reason.code === 'DUPLICATE', String(r.reason));
    }
    assert.equal(store.size(), 5, 'genesis + L1 + three landed appends');
    assert.ok(await store.findLegacy('id:L2'));
    assert.equal((await store.verify()).ok, true);
    await destroy(env);
  });
});

describe('list around a damaged record', () => {
  /** Seqs of the fixture (tamperFixture: 0..11) in the order a listing gives them. */
  const ALL_SEQS = Array.from({ length: PATTERN.length + 1 }, (_, i) => i);
  const VICTIM = 6; // a data record, after system record 5 and before data record 7

  let f: Fixture;
  let victim: CanonicalRecord;

  before(async () => {
    f = await tamperFixture({ verifyWorkers: 0, checkpoint: false });
    victim = rec(f, VICTIM);
    assert.equal(victim.body.space, 'data');
    // One flipped ciphertext byte, as tamper test (a) does.
    await withRaw(f.env.location, async (db) => {
      const v = new Uint8Array(await mustGet(db, KEYS.record(victim.id)));
      v[40] = (v[40] as number) ^ 0x01;
      await db.put(KEYS.record(victim.id), v);
    });
    await reopen(f.env, { verifyWorkers: 0 });
  });

  after(async () => {
    if (f) await destroy(f.env);
  });

  const seqsOf = (rs: readonly CanonicalRecord[]): number[] => rs.map((r) => r.body.seq);

  test('list returns the other records and one damaged entry in its place; get still fails', async () => {
    for (const order of ['asc', 'desc'] as const) {
      const page = await f.env.store.list({ order, limit: 1000 });
      const expected = ALL_SEQS.filter((s) => s !== VICTIM);
      assert.deepEqual(seqsOf(page.records), order === 'asc' ? expected : expected.reverse(), order);
      assert.deepEqual(
        page.records,
        (order === 'asc' ? f.records : [...f.records].reverse()).filter((r) => r.body.seq !== VICTIM),
      );
      assert.deepEqual(page.damaged, [
        {
          seq: VICTIM,
          id: victim.id,
          reason: 'record ciphertext does not authenticate (bytes tampered or values swapped)',
        },
      ]);
      assert.equal(page.nextCursor, null);
    }
    // Filtered listings report it too when it belongs to them, and only then.
    const data = await f.env.store.list({ space: 'data', limit: 1000 });
    assert.deepEqual(
      seqsOf(data.records),
      ALL_SEQS.filter((s) => s !== VICTIM && rec(f, s).body.space === 'data'),
    );
    assert.deepEqual(
      data.damaged?.map((d) => d.seq),
      [VICTIM],
    );
    const system = await f.env.store.list({ space: 'system', limit: 1000 });
    assert.equal(system.damaged, undefined, 'no damaged entry in the other space');
    const both = await f.env.store.list({ space: 'data', kind: 'note.created', limit: 1000 });
    assert.deepEqual(
      both.damaged?.map((d) => d.seq),
      [VICTIM],
    );
    const otherSpace = await f.env.store.list({ space: 'system', kind: 'note.created', limit: 1000 });
    assert.equal(otherSpace.damaged, undefined, 'the space index keeps it out of the other space');
    // Reading it on its own is still refused as corruption.
    await rejectsWith(f.env.store.get(victim.id), 'STORE_CORRUPT', /does not authenticate/);
    await rejectsWith(f.env.store.getBySeq(VICTIM), 'STORE_CORRUPT');
  });

  test('paging across it with small limits covers every seq exactly once', async () => {
    for (const order of ['asc', 'desc'] as const) {
      for (const space of [undefined, 'data'] as const) {
        for (let limit = 1; limit <= 4; limit++) {
          const expected = ALL_SEQS.filter((s) => space === undefined || rec(f, s).body.space === space);
          if (order === 'desc') expected.reverse();
          const seen: number[] = [];
          let cursor: string | undefined;
          for (let pages = 0; ; pages++) {
            assert.ok(pages <= ALL_SEQS.length + 1, 'pagination does not terminate');
            const page = await f.env.store.list({
              limit,
              order,
              ...(space ? { space } : {}),
              ...(cursor === undefined ? {} : { cursor }),
            });
            const damaged = page.damaged ?? [];
            assert.ok(
              page.records.length + damaged.length <= limit,
              'damaged entries count toward the limit',
            );
            const inPage = [...seqsOf(page.records), ...damaged.map((d) => d.seq)].sort((a, b) =>
              order === 'asc' ? a - b : b - a,
            );
            seen.push(...inPage);
            if (page.nextCursor === null) break;
            cursor = page.nextCursor;
          }
          assert.deepEqual(seen, expected, `order ${order}, space ${space ?? 'all'}, limit ${limit}`);
        }
      }
    }
  });

  test('a record missing from the store is listed as damaged too', async () => {
    const gone = rec(f, 8);
    await f.env.store.close();
    await withRaw(f.env.location, (db) => db.del(KEYS.record(gone.id)));
    const store = await reopen(f.env, { verifyWorkers: 0 });
    const page = await store.list({ limit: 1000 });
    assert.deepEqual(page.damaged, [
      {
        seq: VICTIM,
        id: victim.id,
        reason: 'record ciphertext does not authenticate (bytes tampered or values swapped)',
      },
      { seq: 8, id: gone.id, reason: 'the record is missing from the store' },
    ]);
    assert.equal(page.records.length, ALL_SEQS.length - 2);
  });
});
