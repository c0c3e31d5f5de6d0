/**
 * Export files (writing, verifying with and without a pinned root key, detecting edits) and migration of
 * legacy records (both legacy shapes, idempotent re-runs, all-or-nothing on invalid input, dry runs).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { ClassicLevel } from 'classic-level';
import { createKeystore, loadKeystore, type Keystore } from '../../server/src/canon/keystore.js';
import { LevelCanonStore } from '../../server/src/canon/store.js';
import { exportToFile, verifyExport, type ExportHeader } from '../../server/src/canon/export.js';
import {
  migrate,
  type MigrationTarget,
  readLegacyFile,
  toCandidate,
  type MigrationReport,
} from '../../server/src/canon/migrate.js';
import { fromBase64, toBase64, toHex } from '../../shared/src/bytes.js';
import { canonicalBytes, canonicalize } from '../../shared/src/jcs.js';
import { Ed25519Signer, generateKeyPair, keyId } from '../../shared/src/ed25519.js';
import { formatCheckpoint, signNote } from '../../shared/src/note.js';
import {
  recordSigningMessage,
  type CanonicalRecord,
  type RecordBody,
  type Space,
} from '../../shared/src/record.js';
import { SigilError, type SigilErrorCode } from '../../shared/src/errors.js';

const ORIGIN = 'test.example/log';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const d = await fs.mkdtemp(path.join(os.tmpdir(), 'sigil-export-test-'));
  dirs.push(d);
  return d;
}

interface Env {
  readonly dir: string;
  readonly location: string;
  readonly keystore: Keystore;
  store: LevelCanonStore;
}

async function createEnv(verifyWorkers?: number): Promise<Env> {
  const dir = await tempDir();
  const keystore = await createKeystore(dir, { passphrase: undefined, scryptLogN: 14 });
  const location = path.join(dir, 'canon');
  const store = await LevelCanonStore.create({
    location,
    keystore,
    origin: ORIGIN,
    ...(verifyWorkers === undefined ? {} : { verifyWorkers }),
  });
  return { dir, location, keystore, store };
}

async function reopen(env: Env): Promise<LevelCanonStore> {
  const keystore = await loadKeystore(env.dir, { passphrase: async () => undefined });
  env.store = await LevelCanonStore.open({ location: env.location, keystore, verifyWorkers: 0 });
  return env.store;
}

async function dumpDb(location: string): Promise<string[]> {
  const db = new ClassicLevel<string, Uint8Array>(location, { keyEncoding: 'utf8', valueEncoding: 'view' });
  await db.open();
  try {
    const out: string[] = [];
    for await (const [k, v] of db.iterator()) out.push(`${k} = ${toHex(v)}`);
    return out;
  } finally {
    await db.close();
  }
}

function isSigilError(code: SigilErrorCode, message?: RegExp) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof SigilError, `expected a SigilError, got ${String(e)}`);
    assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
    if (message) assert.match(e.message, message);
    return true;
  };
}

// ---------------------------------------------------------------------------------------------------------
// Export
// ---------------------------------------------------------------------------------------------------------

interface RecordLine {
  type: 'record';
  record: CanonicalRecord;
}

describe('export', () => {
  let env: Env;
  let file: string;
  let lines: string[];
  let header: ExportHeader;
  let size: number;

  before(async () => {
    env = await createEnv();
    for (let i = 0; i < 24; i++) {
      const space: Space = i % 3 === 0 ? 'system' : 'data';
      await env.store.append({
        kind: i % 2 ? 'note.created' : 'task.done',
        space,
        payload: { i, text: `entry ${i}`, nested: { ok: i % 2 === 0, list: [i, 'ü', null] } },
        actor: 'test:export',
        ...(i % 5 === 0 ? { links: [{ rel: 'see-also', note: `entry ${i}` }] } : {}),
      });
    }
    file = path.join(env.dir, 'canon.export.jsonl');
    const result = await exportToFile(env.store, file);
    size = env.store.size();
    assert.equal(result.size, size);
    assert.equal(result.rootHash, env.store.rootHash());
    lines = (await fs.readFile(file, 'utf8')).split('\n');
    assert.equal(lines.pop(), '', 'the file ends with a newline');
    header = JSON.parse(lines[0] as string) as ExportHeader;
  });
  after(async () => env.store.close());

  /** Writes a copy of the export with some lines changed and verifies it. */
  async function verifyEdited(
    name: string,
    edit: (lines: string[]) => string[],
    opts: { trustKey?: string; workers: number } = { workers: 0 },
  ): ReturnType<typeof verifyExport> {
    const copy = path.join(env.dir, `${name}.jsonl`);
    await fs.writeFile(copy, edit([...lines]).join('\n') + '\n');
    return verifyExport(copy, opts);
  }

  const recordAt = (ls: string[], seq: number): RecordLine => JSON.parse(ls[seq + 1] as string) as RecordLine;
  const withRecord = (ls: string[], seq: number, change: (r: RecordLine) => void): string[] => {
    const r = recordAt(ls, seq);
    change(r);
    ls[seq + 1] = JSON.stringify(r);
    return ls;
  };
  const idOf = (body: RecordBody): string => createHash('sha256').update(canonicalBytes(body)).digest('hex');

  test('the file holds a header and every record in seq order', async () => {
    assert.equal(header.type, 'sigil.canon.export');
    assert.equal(header.version, 1);
    assert.equal(header.origin, ORIGIN);
    assert.equal(header.size, size);
    assert.equal(header.root_key.key_id, env.keystore.root.keyId);
    assert.equal(header.runtime_key.key_id, env.keystore.runtime.keyId);
    assert.equal(lines.length, size + 1);
    for (let seq = 0; seq < size; seq++) {
      const line = recordAt(lines, seq);
      assert.equal(line.type, 'record');
      assert.deepEqual(line.record, await env.store.getBySeq(seq));
    }
    await assert.rejects(exportToFile(env.store, file), isSigilError('BAD_USAGE', /already exists/));
  });

  test('verifies with and without a pinned root key, with and without workers', async () => {
    for (const workers of [0, 2]) {
      const plain = await verifyExport(file, { workers });
      assert.equal(plain.ok, true, plain.firstBad?.reason);
      assert.equal(plain.checked, size);
      assert.equal(plain.size, size);
      assert.equal(plain.rootHash, env.store.rootHash());
      assert.equal(plain.origin, ORIGIN);
      assert.equal(plain.rootKeyId, env.keystore.root.keyId);
      assert.equal(plain.pinned, false);
      const pinned = await verifyExport(file, { workers, trustKey: env.keystore.root.keyId });
      assert.equal(pinned.ok, true);
      assert.equal(pinned.pinned, true);
    }
  });

  test('a wrong pinned key is VERIFY_FAILED', async () => {
    for (const trustKey of [
      env.keystore.runtime.keyId,
      '0'.repeat(32),
      env.keystore.root.keyId.toUpperCase(),
    ]) {
      await assert.rejects(
        verifyExport(file, { workers: 0, trustKey }),
        isSigilError('VERIFY_FAILED', /not in the pinned key/),
      );
    }
  });

  test("an export of another log verifies on its own, but not against this log's root key", async () => {
    const other = await createEnv(0);
    try {
      await other.store.append({ kind: 'note.created', space: 'data', payload: 'other', actor: 'x' });
      const otherFile = path.join(other.dir, 'other.jsonl');
      await exportToFile(other.store, otherFile);
      assert.equal((await verifyExport(otherFile, { workers: 0 })).ok, true);
      await assert.rejects(
        verifyExport(otherFile, { workers: 0, trustKey: env.keystore.root.keyId }),
        isSigilError('VERIFY_FAILED'),
      );
    } finally {
      await other.store.close();
    }
  });

  const recordCases: Array<{
    name: string;
    edit: (ls: string[]) => string[];
    seq: number | null;
    reason: RegExp;
  }> = [
    {
      name: 'payload changed',
      edit: (ls) =>
        withRecord(ls, 5, (r) => void ((r.record.body as { payload: unknown }).payload = { i: 4 })),
      seq: 5,
      reason: /does not hash to its id/,
    },
    {
      name: 'payload changed and id recomputed',
      edit: (ls) =>
        withRecord(ls, 5, (r) => {
          (r.record.body as { payload: unknown }).payload = 'forged';
          (r.record as { id: string }).id = idOf(r.record.body);
        }),
      seq: 5,
      reason: /signature does not verify/,
    },
    {
      name: 'signature changed',
      edit: (ls) =>
        withRecord(ls, 7, (r) => {
          const sig = fromBase64(r.record.signature.sig);
          sig[10] = (sig[10] as number) ^ 0x20;
          (r.record.signature as { sig: string }).sig = toBase64(sig);
        }),
      seq: 7,
      reason: /signature does not verify/,
    },
    {
      name: 'signature of another record',
      edit: (ls) =>
        withRecord(
          ls,
          7,
          (r) => void ((r.record.signature as { sig: string }).sig = recordAt(lines, 8).record.signature.sig),
        ),
      seq: 7,
      reason: /signature does not verify/,
    },
    {
      name: 'signature not base64',
      edit: (ls) =>
        withRecord(ls, 7, (r) => void ((r.record.signature as { sig: string }).sig = 'not base64!')),
      seq: 7,
      reason: /signature is not base64/,
    },
    {
      name: 'signed by an uncertified key',
      edit: (ls) =>
        withRecord(ls, 9, (r) => {
          const foreign = new Ed25519Signer(generateKeyPair().seed);
          (r.record.signature as { key_id: string; sig: string }).key_id = foreign.keyId;
          (r.record.signature as { sig: string }).sig = toBase64(
            foreign.sign(recordSigningMessage(r.record.id)),
          );
        }),
      seq: 9,
      reason: /not a certified key/,
    },
    {
      name: 'record re-signed by the root key',
      edit: (ls) =>
        withRecord(ls, 9, (r) => {
          (r.record.signature as { key_id: string }).key_id = env.keystore.root.keyId;
          (r.record.signature as { sig: string }).sig = toBase64(
            env.keystore.root.sign(recordSigningMessage(r.record.id)),
          );
        }),
      seq: 9,
      reason: /only the genesis record may be signed by the root key/,
    },
    {
      name: 'rewritten and re-signed by the real runtime key',
      edit: (ls) =>
        withRecord(ls, 5, (r) => {
          (r.record.body as { payload: unknown }).payload = 'forged';
          (r.record as { id: string }).id = idOf(r.record.body);
          (r.record.signature as { sig: string }).sig = toBase64(
            env.keystore.runtime.sign(recordSigningMessage(r.record.id)),
          );
        }),
      seq: 6, // the next data record still chains to the original
      reason: /chain link broken in space data/,
    },
    {
      name: 'a line removed',
      edit: (ls) => ls.filter((_, i) => i !== 7),
      seq: 7,
      reason: /expected seq 6 next but found seq 7/,
    },
    {
      name: 'two lines swapped',
      edit: (ls) => {
        [ls[11], ls[12]] = [ls[12] as string, ls[11] as string];
        return ls;
      },
      seq: 11,
      reason: /expected seq 10 next but found seq 11/,
    },
    {
      name: 'the last line removed',
      edit: (ls) => ls.slice(0, -1),
      seq: null,
      reason: /holds 24 records but its checkpoint covers 25/,
    },
    {
      name: 'a line duplicated',
      edit: (ls) => [...ls.slice(0, 4), ls[3] as string, ...ls.slice(4)],
      seq: 2,
      reason: /expected seq 3 next but found seq 2/,
    },
    {
      name: 'a line that is not JSON',
      edit: (ls) => {
        ls[6] = '{"type": "record", ';
        return ls;
      },
      seq: 5,
      reason: /line 7 is not JSON/,
    },
    {
      name: 'a body field added',
      edit: (ls) =>
        withRecord(ls, 3, (r) => {
          (r.record.body as unknown as Record<string, unknown>).extra = 1;
          (r.record as { id: string }).id = idOf(r.record.body);
        }),
      seq: 3,
      reason: /unexpected field "extra"/,
    },
    {
      name: 'the genesis record of another origin',
      edit: (ls) =>
        withRecord(ls, 0, (r) => {
          (r.record.body.payload as { origin: string }).origin = 'evil.example/log';
        }),
      seq: 0,
      reason: /does not certify the keys and origin named in the header/,
    },
  ];

  for (const [i, c] of recordCases.entries()) {
    const workers = i % 2 === 0 ? 0 : 2;
    test(`an edited record line is found: ${c.name} (workers ${workers})`, async () => {
      const report = await verifyEdited(`case-${i}`, c.edit, { workers });
      assert.equal(report.ok, false, `${c.name} was not detected`);
      assert.ok(report.firstBad);
      assert.match(report.firstBad.reason, c.reason);
      assert.equal(report.firstBad.seq, c.seq, report.firstBad.reason);
    });
  }

  test('a changed checkpoint note is SIGNATURE_INVALID', async () => {
    const edits: Array<[string, (h: ExportHeader) => ExportHeader]> = [
      ['size', (h) => ({ ...h, checkpoint: h.checkpoint.replace(`\n${size}\n`, `\n${size - 1}\n`) })],
      [
        'root',
        (h) => {
          const [origin, n, root, ...rest] = h.checkpoint.split('\n');
          const bytes = fromBase64(root as string);
          bytes[0] = (bytes[0] as number) ^ 1;
          return { ...h, checkpoint: [origin, n, toBase64(bytes), ...rest].join('\n') };
        },
      ],
      ['origin', (h) => ({ ...h, checkpoint: h.checkpoint.replace(`${ORIGIN}\n`, 'evil.example/log\n') })],
    ];
    for (const [name, edit] of edits) {
      await assert.rejects(
        verifyEdited(`cp-${name}`, (ls) => [JSON.stringify(edit(header)), ...ls.slice(1)]),
        isSigilError('SIGNATURE_INVALID'),
        name,
      );
    }
  });

  test('a checkpoint re-signed by an attacker for a shorter log is refused', async () => {
    // The attacker drops the last record and signs a matching checkpoint with a key of their own.
    const evil = new Ed25519Signer(generateKeyPair().seed);
    const shortRoot = fromBase64(header.checkpoint.split('\n')[2] as string); // any 32 bytes: never reached
    const body = formatCheckpoint({ origin: ORIGIN, size: size - 1, rootHash: shortRoot, extensions: [] });
    const note = signNote(body, ORIGIN, evil.publicKey, (m) => evil.sign(m));
    await assert.rejects(
      verifyEdited('cp-evil', (ls) => [JSON.stringify({ ...header, checkpoint: note }), ...ls.slice(1, -1)]),
      isSigilError('SIGNATURE_INVALID'),
    );
  });

  test('a header runtime key swapped for another key is refused', async () => {
    const evil = new Ed25519Signer(generateKeyPair().seed);
    const evilKey = { key_id: evil.keyId, public_key: toBase64(evil.publicKey) };
    // The checkpoint no longer has a signature from the named key.
    await assert.rejects(
      verifyEdited('hdr-runtime', (ls) => [
        JSON.stringify({ ...header, runtime_key: evilKey }),
        ...ls.slice(1),
      ]),
      isSigilError('SIGNATURE_INVALID', /no valid signature/),
    );
    // Even with a checkpoint signed by the swapped-in key, the genesis record does not certify it.
    const cpBody = header.checkpoint.slice(0, header.checkpoint.indexOf('\n\n') + 1);
    const resigned = signNote(cpBody, ORIGIN, evil.publicKey, (m) => evil.sign(m));
    const report = await verifyEdited('hdr-runtime-resigned', (ls) => [
      JSON.stringify({ ...header, runtime_key: evilKey, checkpoint: resigned }),
      ...ls.slice(1),
    ]);
    assert.equal(report.ok, false);
    assert.equal(report.firstBad?.seq, 0);
    assert.match(report.firstBad?.reason ?? '', /genesis record does not certify the keys/);
    // Swapping the root key instead breaks the pin and the genesis signer rule.
    const rootSwapped = (ls: string[]): string[] => [
      JSON.stringify({ ...header, root_key: evilKey }),
      ...ls.slice(1),
    ];
    await assert.rejects(
      verifyEdited('hdr-root-pinned', rootSwapped, { workers: 0, trustKey: env.keystore.root.keyId }),
      isSigilError('VERIFY_FAILED'),
    );
    const unpinned = await verifyEdited('hdr-root', rootSwapped);
    assert.equal(unpinned.ok, false);
    assert.equal(unpinned.firstBad?.seq, 0);
  });

  test('a malformed header is VERIFY_FAILED', async () => {
    const evil = generateKeyPair();
    const cases: Array<[string, (ls: string[]) => string[]]> = [
      ['empty file', () => []],
      ['not JSON', (ls) => ['{ nope', ...ls.slice(1)]],
      ['wrong type', (ls) => [JSON.stringify({ ...header, type: 'something.else' }), ...ls.slice(1)]],
      ['wrong version', (ls) => [JSON.stringify({ ...header, version: 2 }), ...ls.slice(1)]],
      ['no root key', (ls) => [JSON.stringify({ ...header, root_key: undefined }), ...ls.slice(1)]],
      [
        'key id not of its key',
        (ls) => [
          JSON.stringify({
            ...header,
            root_key: { key_id: header.root_key.key_id, public_key: toBase64(evil.publicKey) },
          }),
          ...ls.slice(1),
        ],
      ],
    ];
    for (const [name, edit] of cases) {
      const copy = path.join(env.dir, `bad-header-${name.replaceAll(' ', '-')}.jsonl`);
      const out = edit([...lines]);
      await fs.writeFile(copy, out.length ? out.join('\n') + '\n' : '');
      await assert.rejects(verifyExport(copy, { workers: 0 }), isSigilError('VERIFY_FAILED'), name);
    }
    assert.notEqual(keyId(evil.publicKey), header.root_key.key_id);
  });

  test('an export taken while appends continue is consistent with its checkpoint', async () => {
    const busy = await createEnv(0);
    try {
      for (let i = 0; i < 30; i++)
        await busy.store.append({ kind: 'note.created', space: 'data', payload: i, actor: 'x' });
      const appends = Array.from({ length: 200 }, (_, i) =>
        busy.store.append({ kind: 'note.created', space: i % 2 ? 'data' : 'system', payload: i, actor: 'y' }),
      );
      const out = path.join(busy.dir, 'busy.jsonl');
      const [result] = await Promise.all([exportToFile(busy.store, out), ...appends]);
      const report = await verifyExport(out, { workers: 2, trustKey: busy.keystore.root.keyId });
      assert.equal(report.ok, true, report.firstBad?.reason);
      assert.equal(report.checked, result.size);
      const proof = await busy.store.consistencyProof(result.size);
      assert.equal(proof.oldRoot, result.rootHash);
    } finally {
      await busy.store.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------------------
// Migration
// ---------------------------------------------------------------------------------------------------------

const SIMPLE = [
  {
    id: 'legacy-1',
    kind: 'note.created',
    space: 'data',
    ts: '2023-05-01T10:00:00Z',
    payload: { title: 'first', tags: ['a'] },
  },
  { id: 'legacy-2', kind: 'note.updated', space: 'data', ts: 1683000000, payload: { title: 'second' } },
  { kind: 'config.changed', space: 'system', payload: { key: 'x', value: 1 } }, // no id: identified by its hash
  { id: 'legacy-4', kind: 'task.done', space: 'data', payload: null },
];

const ORIGINAL = [
  {
    kind: 'note.created',
    schema_version: 1,
    id: 'orig-1',
    tenant: 'acme',
    ts: '2022-01-01T00:00:00Z',
    space: 'data',
    payload: { body: 'from the original Sigil' },
    links: [],
    prev: null,
    hash: 'a'.repeat(64),
    sig: 'c2ln',
    pub_key: 'cHVi',
    witnesses: [],
  },
  {
    kind: 'note.created',
    schema_version: 1,
    id: 'orig-2',
    tenant: 'acme',
    ts: '2022-01-02T00:00:00Z',
    space: 'system',
    payload: { body: 'second', n: 2 },
    links: [{ rel: 'parent', id: 'orig-1' }],
    prev: 'orig-1',
    hash: 'b'.repeat(64),
    sig: 'c2ln',
    pub_key: 'cHVi',
    witnesses: ['w1'],
  },
];

const INVALID: unknown[] = [
  { id: 'bad-kind', kind: 'Not A Kind', space: 'data', payload: 1 },
  { id: 'bad-space', kind: 'note.created', space: 'elsewhere', payload: 1 },
  { id: 'no-payload', kind: 'note.created', space: 'data' },
  { id: 'unknown-field', kind: 'note.created', space: 'data', payload: 1, colour: 'red' },
  { ...ORIGINAL[0], id: 'orig-unknown', signature: 'x' },
  { id: 'genesis', kind: 'canon.genesis', space: 'system', payload: {} },
  { id: '', kind: 'note.created', space: 'data', payload: 1 },
  42,
  null,
  ['an', 'array'],
];

const MIGRATE = { actor: 'migration:test', dryRun: false, skipInvalid: false };

/** A store as a migration target, recording MIGRATE.actor as the protocol would record the caller. */
function target(store: LevelCanonStore): MigrationTarget {
  return {
    findLegacy: (l) => store.findLegacy(l),
    append: (input) => store.append({ ...input, actor: MIGRATE.actor }),
  };
}

async function writeLegacy(
  dir: string,
  name: string,
  values: unknown[],
  format: 'array' | 'jsonl',
): Promise<unknown[]> {
  const file = path.join(dir, name);
  await fs.writeFile(
    file,
    format === 'array'
      ? JSON.stringify(values, null, 2)
      : values.map((v) => JSON.stringify(v)).join('\n') + '\n\n',
  );
  return readLegacyFile(file);
}

function assertMigrated(
  report: MigrationReport,
  rec: CanonicalRecord,
  legacy: Record<string, unknown>,
): void {
  const entry = report.migrated.find((m) => m.id === rec.id);
  assert.ok(entry, `record ${rec.id} is in the report`);
  assert.equal(rec.body.kind, legacy.kind);
  assert.equal(rec.body.space, legacy.space);
  assert.deepEqual(rec.body.payload, legacy.payload);
  assert.equal(rec.body.actor, MIGRATE.actor);
  assert.equal(rec.body.links.length, 1);
  const link = rec.body.links[0];
  assert.equal(link?.rel, 'migrated-from');
  const isOriginal = 'hash' in legacy;
  const expectedHash = isOriginal
    ? legacy.hash
    : createHash('sha256').update(canonicalize(legacy)).digest('hex');
  assert.equal(link?.hash, `sha256:${String(expectedHash)}`);
  if (typeof legacy.id === 'string') {
    assert.equal(link?.id, legacy.id);
    assert.equal(entry.legacy, `id:${legacy.id}`);
  } else {
    assert.equal(link?.id, undefined);
    assert.equal(entry.legacy, `sha256:${String(expectedHash)}`);
  }
  if (legacy.ts !== undefined) assert.match(link?.note ?? '', new RegExp(`legacy ts ${String(legacy.ts)}`));
  if (typeof legacy.tenant === 'string')
    assert.match(link?.note ?? '', new RegExp(`tenant ${legacy.tenant}`));
}

describe('migration', () => {
  test('a JSON array and a JSONL file in both legacy shapes are migrated once', async () => {
    const env = await createEnv(0);
    try {
      const arrayValues = await writeLegacy(env.dir, 'legacy.json', SIMPLE, 'array');
      const jsonlValues = await writeLegacy(env.dir, 'legacy.jsonl', ORIGINAL, 'jsonl');
      assert.deepEqual(arrayValues, SIMPLE);
      assert.deepEqual(jsonlValues, ORIGINAL);

      const first = await migrate(target(env.store), arrayValues, MIGRATE);
      assert.deepEqual(first.rejected, []);
      assert.deepEqual(first.skipped, []);
      assert.equal(first.total, SIMPLE.length);
      assert.equal(first.dryRun, false);
      assert.deepEqual(
        first.migrated.map((m) => m.index),
        [1, 2, 3, 4],
      );
      const second = await migrate(target(env.store), jsonlValues, MIGRATE);
      assert.deepEqual(second.rejected, []);
      assert.equal(second.migrated.length, ORIGINAL.length);
      assert.equal(env.store.size(), 1 + SIMPLE.length + ORIGINAL.length);

      // File order is kept, and every record carries its migrated-from link.
      for (const [report, values, offset] of [
        [first, SIMPLE, 1],
        [second, ORIGINAL, 1 + SIMPLE.length],
      ] as const) {
        for (const [i, legacy] of values.entries()) {
          const rec = await env.store.getBySeq(offset + i);
          assertMigrated(report, rec, legacy);
          assert.equal(await env.store.findLegacy(report.migrated[i]?.legacy ?? ''), rec.id);
        }
      }

      // Running again appends nothing: everything is already there.
      const before = env.store.rootHash();
      for (const [values, report] of [
        [arrayValues, first],
        [jsonlValues, second],
      ] as const) {
        const again = await migrate(target(env.store), values, MIGRATE);
        assert.deepEqual(again.migrated, []);
        assert.deepEqual(again.rejected, []);
        assert.deepEqual(
          again.skipped.map((s) => [s.reason, s.existing]),
          report.migrated.map((m) => ['already migrated', m.id]),
        );
      }
      assert.equal(env.store.rootHash(), before);
      const report = await env.store.verify();
      assert.equal(report.ok, true, report.firstBad?.reason);
    } finally {
      await env.store.close();
    }
  });

  test('duplicates within a file are skipped', async () => {
    const env = await createEnv(0);
    try {
      const values = [
        SIMPLE[0],
        SIMPLE[2],
        { ...SIMPLE[0], payload: 'same id, other content' },
        SIMPLE[2],
        SIMPLE[1],
      ];
      const report = await migrate(target(env.store), values, MIGRATE);
      assert.deepEqual(
        report.migrated.map((m) => m.index),
        [1, 2, 5],
      );
      assert.deepEqual(
        report.skipped.map((s) => [s.index, s.reason]),
        [
          [3, 'duplicate of record 1 in the same file'],
          [4, 'duplicate of record 2 in the same file'],
        ],
      );
      assert.equal(env.store.size(), 4);
    } finally {
      await env.store.close();
    }
  });

  test('invalid entries are rejected with reasons, and then nothing at all is appended', async () => {
    const env = await createEnv(0);
    const values = [SIMPLE[0], ...INVALID, SIMPLE[1], ORIGINAL[0]];
    await env.store.append({ kind: 'note.created', space: 'data', payload: 'before', actor: 'x' });
    await env.store.close();
    const dumpBefore = await dumpDb(env.location);
    const store = await reopen(env);
    try {
      const report = await migrate(target(store), values, MIGRATE);
      assert.deepEqual(report.migrated, []);
      const reasons = new Map(report.rejected.map((r) => [r.index, r.reason]));
      assert.equal(report.rejected.length, INVALID.length);
      const expected: Array<[number, RegExp]> = [
        [2, /kind "Not A Kind" must be lowercase/],
        [3, /space must be "data" or "system", got "elsewhere"/],
        [4, /payload is missing/],
        [5, /unexpected field "colour" for a legacy record/],
        [6, /unexpected field "signature" for a Sigil CanonicalRecord/],
        [7, /canon.genesis/],
        [8, /id must be a non-empty string/],
        [9, /not a JSON object/],
        [10, /not a JSON object/],
        [11, /not a JSON object/],
      ];
      for (const [index, reason] of expected)
        assert.match(reasons.get(index) ?? '(none)', reason, `entry ${index}`);
    } finally {
      await store.close();
    }
    assert.deepEqual(await dumpDb(env.location), dumpBefore, 'the store is byte-identical');

    // With skipInvalid the valid entries go in, the invalid ones are still reported.
    const again = await reopen(env);
    try {
      const report = await migrate(target(again), values, { ...MIGRATE, skipInvalid: true });
      assert.deepEqual(
        report.migrated.map((m) => m.index),
        [1, 12, 13],
      );
      assert.equal(report.rejected.length, INVALID.length);
      assert.equal(again.size(), 5);
      assert.equal((await again.verify()).ok, true);
    } finally {
      await again.close();
    }
  });

  test('a dry run appends nothing but reports what it found', async () => {
    const env = await createEnv(0);
    try {
      await migrate(target(env.store), [SIMPLE[0]], MIGRATE);
      const size = env.store.size();
      const root = env.store.rootHash();
      const report = await migrate(target(env.store), [...SIMPLE, SIMPLE[1], INVALID[0]], {
        ...MIGRATE,
        dryRun: true,
      });
      assert.equal(report.dryRun, true);
      assert.deepEqual(report.migrated, []);
      assert.deepEqual(
        report.skipped.map((s) => [s.index, s.reason]),
        [
          [1, 'already migrated'],
          [5, 'duplicate of record 2 in the same file'],
        ],
      );
      assert.deepEqual(
        report.rejected.map((r) => r.index),
        [6],
      );
      assert.equal(env.store.size(), size);
      assert.equal(env.store.rootHash(), root);
      assert.equal(await env.store.findLegacy('id:legacy-2'), null);
    } finally {
      await env.store.close();
    }
  });

  test('legacy files that are not JSON are refused with their position', async () => {
    const dir = await tempDir();
    const bad = path.join(dir, 'bad.jsonl');
    await fs.writeFile(bad, JSON.stringify(SIMPLE[0]) + '\n{"kind": \n');
    await assert.rejects(readLegacyFile(bad), isSigilError('BAD_INPUT', /bad\.jsonl:2/));
    const dup = path.join(dir, 'dup.json');
    await fs.writeFile(dup, '[{"kind": "a", "kind": "b"}]');
    await assert.rejects(readLegacyFile(dup), isSigilError('BAD_INPUT'));
    await assert.rejects(readLegacyFile(path.join(dir, 'missing.json')), isSigilError('NOT_FOUND'));
    const crlf = path.join(dir, 'crlf.jsonl');
    await fs.writeFile(crlf, SIMPLE.map((v) => JSON.stringify(v)).join('\r\n') + '\r\n');
    assert.deepEqual(await readLegacyFile(crlf), SIMPLE);
  });

  test('toCandidate keeps the legacy identity stable and independent of key order', () => {
    const a = toCandidate({ kind: 'note.created', space: 'data', payload: { x: 1, y: 2 } }, 1);
    const b = toCandidate({ payload: { y: 2, x: 1 }, space: 'data', kind: 'note.created' }, 2);
    assert.ok('legacyIdentity' in a && 'legacyIdentity' in b);
    assert.equal(a.legacyIdentity, b.legacyIdentity);
    assert.match(a.legacyIdentity, /^sha256:[0-9a-f]{64}$/);
  });
});
