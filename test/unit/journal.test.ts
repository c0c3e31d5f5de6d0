/**
 * The audit journal (server/src/governance/journal.ts): append-only, hash-chained JSONL with replay
 * markers; verification on open, the torn final line, replay order and idempotency, serialised appends.
 */
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import {
  AuditJournal,
  JOURNAL_ZERO_HASH,
  journalLineHash,
  verifyJournal,
  type JournalEntry,
  type JournalWarning,
} from '../../server/src/governance/journal.js';
import { canonicalize } from '../../shared/src/jcs.js';
import type { JsonValue } from '../../shared/src/jcs.js';
import { sha256Hex } from '../../shared/src/hash.js';
import { SigilError, type SigilErrorCode } from '../../shared/src/errors.js';

const isPosix = process.platform !== 'win32';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
});

async function tempFile(name = 'audit.jsonl'): Promise<string> {
  const d = await fs.mkdtemp(path.join(os.tmpdir(), 'sigil-journal-test-'));
  dirs.push(d);
  return path.join(d, name);
}

function isSigilError(code: SigilErrorCode, message?: RegExp, line?: number) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof SigilError, `expected a SigilError, got ${String(e)}`);
    assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
    if (message) assert.match(e.message, message);
    if (line !== undefined) assert.equal(e.details?.line, line, e.message);
    return true;
  };
}

/** A deterministic clock. */
function clock(start = Date.parse('2026-03-01T00:00:00.000Z')): () => Date {
  let t = start;
  return () => new Date((t += 1000));
}

const record = (i: number): JsonValue => ({
  operation: 'canon.append',
  actor: { subject: `agent-${i}`, license: 'a'.repeat(32) },
  decision: i % 3 === 0 ? 'deny' : 'allow',
  reason: i % 3 === 0 ? 'loa below operator (2)' : null,
  loa: i % 5,
  trust: { score: 0.5 + i / 1000, contributions: { loa: 0.1, history: -0.02 } },
});

async function lines(file: string): Promise<string[]> {
  const text = await fs.readFile(file, 'utf8');
  return text.split('\n').slice(0, -1);
}

async function writeLines(file: string, ls: readonly string[], trailingNewline = true): Promise<void> {
  await fs.writeFile(file, ls.join('\n') + (trailingNewline && ls.length > 0 ? '\n' : ''));
}

/** A journal of 5 entries (lines 1..5), closed. */
async function fiveEntries(): Promise<string> {
  const file = await tempFile();
  const j = await AuditJournal.open(file, { now: clock() });
  for (let i = 1; i <= 5; i++) await j.append(record(i));
  await j.close();
  return file;
}

async function openFails(file: string, code: SigilErrorCode, message: RegExp, line?: number): Promise<void> {
  await assert.rejects(AuditJournal.open(file), isSigilError(code, message, line));
}

function parse(line: string): Record<string, unknown> {
  return JSON.parse(line) as Record<string, unknown>;
}

/** Re-hashes a line after editing it (what a careful forger would do). */
function rehash(obj: Record<string, unknown>): string {
  const { hash: _old, ...rest } = obj;
  return canonicalize({ ...rest, hash: sha256Hex(canonicalize(rest)) });
}

describe('append, reopen, verify', () => {
  test('an empty journal is created 0600 and opens clean', async () => {
    const file = await tempFile();
    const j = await AuditJournal.open(file);
    assert.equal(j.lastSeq, 0);
    assert.equal(j.head, JOURNAL_ZERO_HASH);
    assert.equal(j.replayedUpTo, 0);
    assert.deepEqual(j.pending(), []);
    assert.deepEqual(j.warnings, []);
    await j.close();
    if (isPosix) assert.equal((await fs.stat(file)).mode & 0o777, 0o600);
    assert.equal((await fs.readFile(file)).length, 0);
  });

  test('lines are canonical JSON chained by hash', async () => {
    const file = await tempFile();
    const j = await AuditJournal.open(file, { now: clock() });
    const a = await j.append(record(1));
    const b = await j.append({ z: 1, a: [true, null, 'é'] });
    assert.equal(a.seq, 1);
    assert.equal(b.seq, 2);
    assert.equal(j.head, b.hash);
    await j.close();
    const [l1, l2] = await lines(file);
    assert.ok(l1 !== undefined && l2 !== undefined, 'two lines');
    const p1 = parse(l1);
    const p2 = parse(l2);
    assert.equal(canonicalize(p1), l1);
    assert.equal(canonicalize(p2), l2);
    assert.deepEqual(Object.keys(p1).sort(), ['entry', 'hash', 'prev', 'seq', 'ts']);
    assert.equal(p1.prev, JOURNAL_ZERO_HASH);
    assert.equal(p1.ts, '2026-03-01T00:00:01.000Z');
    const { hash: h1, ...rest1 } = p1;
    assert.equal(h1, sha256Hex(canonicalize(rest1)));
    assert.equal(h1, a.hash);
    assert.equal(p2.prev, h1);
    assert.deepEqual(p2.entry, { a: [true, null, 'é'], z: 1 });
    assert.equal(
      journalLineHash({ seq: 2, prev: h1 as string, ts: p2.ts as string, entry: p2.entry as JsonValue }),
      p2.hash,
    );
  });

  test('reopen: same entries pending, chain continues', async () => {
    const file = await fiveEntries();
    const j = await AuditJournal.open(file, { now: clock() });
    assert.equal(j.lastSeq, 5);
    assert.deepEqual(
      j.pending().map((e) => e.entry),
      [1, 2, 3, 4, 5].map(record),
    );
    const six = await j.append(record(6));
    assert.equal(six.seq, 6);
    await j.close();
    const v = verifyJournal(await fs.readFile(file));
    assert.equal(v.lastSeq, 6);
    assert.equal(v.head, six.hash);
    assert.equal(v.torn, null);
  });

  test('entries are private frozen copies; non-JSON entries are refused', async () => {
    const file = await tempFile();
    const j = await AuditJournal.open(file);
    const rec = { a: [1] };
    const e = await j.append(rec);
    rec.a.push(2);
    assert.deepEqual(e.entry, { a: [1] });
    assert.equal(Object.isFrozen(e.entry), true);
    await assert.rejects(j.append({ x: undefined }), isSigilError('JCS_INVALID'));
    await assert.rejects(j.append(Number.NaN), isSigilError('JCS_INVALID'));
    await assert.rejects(j.append({ big: 'x'.repeat(1024 * 1024) }), isSigilError('BAD_INPUT', /too large/));
    assert.equal(j.lastSeq, 1);
    await j.close();
    assert.equal(verifyJournal(await fs.readFile(file)).lastSeq, 1);
  });

  test('a second open in the same process is refused until the first closes', async () => {
    const file = await tempFile();
    const j = await AuditJournal.open(file);
    await assert.rejects(AuditJournal.open(file), isSigilError('STORE_LOCKED', /already open/));
    await j.close();
    await j.close(); // idempotent
    const k = await AuditJournal.open(file);
    await k.close();
  });

  test('after close every operation is STORE_CLOSED', async () => {
    const file = await tempFile();
    const j = await AuditJournal.open(file);
    await j.append(1);
    await j.close();
    assert.equal(j.closed, true);
    await assert.rejects(j.append(2), isSigilError('STORE_CLOSED'));
    await assert.rejects(j.markReplayed(1), isSigilError('STORE_CLOSED'));
    await assert.rejects(
      j.replay(async () => undefined),
      isSigilError('STORE_CLOSED'),
    );
  });

  test('create: false makes a missing journal NOT_FOUND', async () => {
    const file = await tempFile();
    await assert.rejects(AuditJournal.open(file, { create: false }), isSigilError('NOT_FOUND'));
    await assert.rejects(fs.access(file), 'nothing created');
  });

  test(
    'refuses a journal accessible to others, a symbolic link and a directory',
    { skip: !isPosix },
    async () => {
      const file = await fiveEntries();
      await fs.chmod(file, 0o644);
      await openFails(file, 'ACCESS_DENIED', /mode 644.*chmod 600/);
      await fs.chmod(file, 0o600);
      const link = path.join(path.dirname(file), 'link.jsonl');
      await fs.symlink(file, link);
      await openFails(link, 'BAD_INPUT', /symbolic link/);
      const dir = path.join(path.dirname(file), 'sub');
      await fs.mkdir(dir, { mode: 0o700 });
      await openFails(dir, 'BAD_INPUT', /not a regular file/);
    },
  );

  test('a write by someone else since open is noticed before the next append (STORE_LOCKED)', async () => {
    const file = await fiveEntries();
    const j = await AuditJournal.open(file);
    const other = await fs.readFile(file, 'utf8');
    await fs.appendFile(file, (other.split('\n')[0] ?? '') + '\n');
    await assert.rejects(j.append(record(6)), isSigilError('STORE_LOCKED', /changed by someone else/));
    await j.close();
    await openFails(file, 'STORE_CORRUPT', /line 6: seq is 1, expected 6/, 6);
  });
});

describe('tampering is STORE_CORRUPT naming the line', () => {
  test('an edited entry', async () => {
    const file = await fiveEntries();
    const ls = await lines(file);
    const edited = (ls[1] ?? '').replace('"decision":"allow"', '"decision":"deny"');
    assert.notEqual(edited, ls[1], 'the edit changes line 2');
    ls[1] = edited;
    await writeLines(file, ls);
    await openFails(file, 'STORE_CORRUPT', /line 2: hash .* does not match/, 2);
  });

  test('an edited entry with its hash recomputed breaks the next line', async () => {
    const file = await fiveEntries();
    const ls = await lines(file);
    const p = parse(ls[1] ?? '');
    (p.entry as Record<string, unknown>).decision = 'deny';
    ls[1] = rehash(p);
    await writeLines(file, ls);
    await openFails(file, 'STORE_CORRUPT', /line 3: prev .* is not the hash of line 2/, 3);
  });

  test('a deleted middle line', async () => {
    const file = await fiveEntries();
    const ls = await lines(file);
    ls.splice(2, 1);
    await writeLines(file, ls);
    await openFails(file, 'STORE_CORRUPT', /line 3: seq is 4, expected 3/, 3);
  });

  test('reordered lines', async () => {
    const file = await fiveEntries();
    const ls = await lines(file);
    const [a, b] = [ls[1] ?? '', ls[2] ?? ''];
    ls[1] = b;
    ls[2] = a;
    await writeLines(file, ls);
    await openFails(file, 'STORE_CORRUPT', /line 2: seq is 3, expected 2/, 2);
  });

  test('reordered lines with seq rewritten and rehashed still break the chain', async () => {
    const file = await fiveEntries();
    const ls = await lines(file);
    const a = parse(ls[1] ?? '');
    const b = parse(ls[2] ?? '');
    ls[1] = rehash({ ...b, seq: 2 });
    ls[2] = rehash({ ...a, seq: 3 });
    await writeLines(file, ls);
    await openFails(file, 'STORE_CORRUPT', /line 2: prev/, 2);
  });

  test('an edited hash', async () => {
    const file = await fiveEntries();
    const ls = await lines(file);
    const p = parse(ls[3] ?? '');
    p.hash = (p.hash as string).startsWith('0')
      ? '1' + (p.hash as string).slice(1)
      : '0' + (p.hash as string).slice(1);
    ls[3] = canonicalize(p);
    await writeLines(file, ls);
    await openFails(file, 'STORE_CORRUPT', /line 4: hash .* does not match/, 4);
  });

  test('an inserted (duplicated) line', async () => {
    const file = await fiveEntries();
    const ls = await lines(file);
    ls.splice(2, 0, ls[1] ?? '');
    await writeLines(file, ls);
    await openFails(file, 'STORE_CORRUPT', /line 3: seq is 2, expected 3/, 3);
  });

  test('a first line that does not start from zeros', async () => {
    const file = await fiveEntries();
    const ls = await lines(file);
    ls.shift();
    await writeLines(file, ls);
    await openFails(file, 'STORE_CORRUPT', /line 1: seq is 2, expected 1/, 1);
  });

  test('non-canonical whitespace, extra fields, bad JSON, empty lines, bad UTF-8', async () => {
    const file = await fiveEntries();
    const original = await lines(file);
    const variants: Array<[(ls: string[]) => void, RegExp, number]> = [
      [(ls) => (ls[1] = (ls[1] ?? '').replace(':', ': ')), /line 2: is not in canonical/, 2],
      [
        (ls) => (ls[1] = rehash({ ...parse(ls[1] ?? ''), note: 'x' })),
        /line 2: must have exactly the fields/,
        2,
      ],
      [(ls) => (ls[4] = '{"seq":5,'), /line 5: is not valid JSON/, 5],
      [(ls) => ls.splice(2, 0, ''), /line 3: is empty/, 3],
      [(ls) => (ls[0] = '[1]'), /line 1: is not a JSON object/, 1],
      [
        (ls) => (ls[2] = rehash({ ...parse(ls[2] ?? ''), ts: '2026-02-30T00:00:00.000Z' })),
        /line 3: ts must/,
        3,
      ],
    ];
    for (const [edit, message, line] of variants) {
      const ls = [...original];
      edit(ls);
      await writeLines(file, ls);
      await openFails(file, 'STORE_CORRUPT', message, line);
    }
    const bytes = Buffer.from(original.join('\n') + '\n');
    const at = bytes.indexOf('agent-2');
    bytes[at] = 0xff;
    await fs.writeFile(file, bytes);
    await openFails(file, 'STORE_CORRUPT', /line 2: is not valid UTF-8/, 2);
  });

  test('replay markers must move forward and name an earlier line', async () => {
    const file = await fiveEntries();
    const j = await AuditJournal.open(file, { now: clock() });
    await j.markReplayed(2);
    await j.markReplayed(4);
    await j.close();
    const original = await lines(file);
    const cases: Array<[number, number, RegExp]> = [
      [7, 2, /line 7: replay marker 2 must be an integer above the previous marker \(2\)/],
      [7, 1, /line 7: replay marker 1/],
      [6, 6, /line 6: replay marker 6 .* below its own seq \(6\)/],
      [6, 0, /line 6: replay marker 0/],
    ];
    for (const [lineNo, value, message] of cases) {
      const ls = [...original];
      const i = lineNo - 1;
      ls[i] = rehash({ ...parse(ls[i] ?? ''), replayed: value });
      // Re-chain the lines after it so only the marker rule is broken.
      for (let k = i + 1; k < ls.length; k++)
        ls[k] = rehash({ ...parse(ls[k] ?? ''), prev: parse(ls[k - 1] ?? '').hash });
      await writeLines(file, ls);
      await openFails(file, 'STORE_CORRUPT', message, lineNo);
    }
  });

  test('verifyJournal is the same check on bytes', async () => {
    const file = await fiveEntries();
    const ls = await lines(file);
    ls.splice(1, 1);
    assert.throws(
      () => verifyJournal(Buffer.from(ls.join('\n') + '\n'), 'mem'),
      isSigilError('STORE_CORRUPT', /^mem: line 2: /, 2),
    );
  });
});

describe('torn final line', () => {
  test('a final fragment without its newline is ignored with a warning and cut off', async () => {
    const file = await fiveEntries();
    const good = await fs.readFile(file);
    await fs.appendFile(file, '{"entry":{"operation":"canon.app');
    const seen: JournalWarning[] = [];
    const j = await AuditJournal.open(file, { onWarning: (w) => seen.push(w), now: clock() });
    assert.equal(j.warnings.length, 1);
    assert.deepEqual(seen, j.warnings);
    const w = j.warnings[0];
    assert.equal(w?.code, 'torn_tail');
    assert.equal(w?.line, 6);
    assert.equal(w?.offset, good.length);
    assert.equal(w?.bytes, 32);
    assert.match(w?.message ?? '', /incomplete final line 6/);
    assert.equal(j.lastSeq, 5);
    assert.equal(j.pending().length, 5);
    assert.deepEqual(await fs.readFile(file), good);
    const six = await j.append(record(6));
    assert.equal(six.seq, 6);
    await j.close();
    const again = await AuditJournal.open(file);
    assert.deepEqual(again.warnings, []);
    assert.equal(again.lastSeq, 6);
    await again.close();
  });

  test('even a complete line missing only its newline is dropped (its append never returned)', async () => {
    const file = await fiveEntries();
    const ls = await lines(file);
    await writeLines(file, ls.slice(0, 4));
    await fs.appendFile(file, ls[4] ?? '');
    const j = await AuditJournal.open(file);
    assert.equal(j.lastSeq, 4);
    assert.equal(j.warnings[0]?.line, 5);
    await j.close();
  });

  test('a first line torn in an otherwise empty journal', async () => {
    const file = await tempFile();
    await fs.writeFile(file, '{"en', { mode: 0o600 });
    const j = await AuditJournal.open(file);
    assert.equal(j.lastSeq, 0);
    assert.equal(j.warnings[0]?.offset, 0);
    assert.equal((await j.append('x')).seq, 1);
    await j.close();
  });

  test('zero bytes left by a crash (no newline) count as torn', async () => {
    const file = await fiveEntries();
    await fs.appendFile(file, Buffer.alloc(100));
    const j = await AuditJournal.open(file);
    assert.equal(j.warnings[0]?.bytes, 100);
    await j.close();
  });

  test('a broken last line that does end in a newline is corrupt, not torn', async () => {
    const file = await fiveEntries();
    await fs.appendFile(file, '{"entry":{"operation":"canon.app\n');
    await openFails(file, 'STORE_CORRUPT', /line 6: is not valid JSON/, 6);
  });
});

describe('replay', () => {
  test('hands pending entries over in order and marks them; markers are chained lines', async () => {
    const file = await fiveEntries();
    const j = await AuditJournal.open(file, { now: clock() });
    const got: JournalEntry[] = [];
    const r = await j.replay(async (e) => {
      got.push(e);
    });
    assert.deepEqual(r, { replayed: 5, replayedUpTo: 5 });
    assert.deepEqual(
      got.map((e) => e.seq),
      [1, 2, 3, 4, 5],
    );
    assert.deepEqual(
      got.map((e) => e.entry),
      [1, 2, 3, 4, 5].map(record),
    );
    assert.deepEqual(j.pending(), []);
    assert.equal(j.lastSeq, 10, 'one marker per replayed entry');
    assert.deepEqual(await j.replay(() => assert.fail('nothing is pending')), {
      replayed: 0,
      replayedUpTo: 5,
    });
    await j.close();
    const ls = await lines(file);
    assert.equal(parse(ls[5] ?? '').replayed, 1);
    assert.equal(parse(ls[9] ?? '').replayed, 5);
    const again = await AuditJournal.open(file);
    assert.equal(again.replayedUpTo, 5);
    assert.deepEqual(again.pending(), []);
    await again.close();
  });

  test('interrupted by a throwing callback, then resumed: none twice, none lost', async () => {
    const file = await fiveEntries();
    const applied = new Map<number, JsonValue>();
    let calls = 0;
    const into =
      (failAtSeq: number | null) =>
      async (e: JournalEntry): Promise<void> => {
        calls++;
        if (e.seq === failAtSeq) throw new Error(`store still down at ${e.seq}`);
        assert.equal(applied.has(e.seq), false, `entry ${e.seq} replayed twice`);
        applied.set(e.seq, e.entry);
      };
    let j = await AuditJournal.open(file, { now: clock() });
    await assert.rejects(j.replay(into(3)), /store still down at 3/);
    assert.deepEqual([...applied.keys()], [1, 2]);
    assert.deepEqual(
      j.pending().map((e) => e.seq),
      [3, 4, 5],
    );
    assert.equal(j.replayedUpTo, 2);
    // More audit records arrive; then the process restarts.
    await j.append(record(6));
    await j.close();
    j = await AuditJournal.open(file, { now: clock(Date.parse('2026-03-02T00:00:00.000Z')) });
    assert.deepEqual(
      j.pending().map((e) => e.entry),
      [3, 4, 5, 6].map(record),
    );
    await assert.rejects(j.replay(into(4)), /down at 4/);
    const r = await j.replay(into(null));
    assert.equal(r.replayed, 3);
    assert.deepEqual([...applied.values()], [1, 2, 3, 4, 5, 6].map(record));
    assert.equal(calls, 8, '2 + 1 failed, 1 + 1 failed, 3');
    await j.close();
  });

  test('a crash between applying an entry and marking it hands it out again (seq is the idempotency key)', async () => {
    const file = await fiveEntries();
    const applied = new Set<number>();
    let j = await AuditJournal.open(file);
    const before = await fs.readFile(file);
    await j.replay(async (e) => {
      applied.add(e.seq);
    });
    await j.close();
    // Simulate the marker of entries 4 and 5 never reaching the disk.
    const ls = await lines(file);
    await writeLines(file, ls.slice(0, 8));
    assert.equal(before.length < (await fs.readFile(file)).length, true, 'markers 1..3 kept');
    j = await AuditJournal.open(file);
    assert.deepEqual(
      j.pending().map((e) => e.seq),
      [4, 5],
    );
    let duplicates = 0;
    await j.replay(async (e) => {
      if (applied.has(e.seq)) duplicates++;
      else applied.add(e.seq);
    });
    assert.equal(duplicates, 2, 'the caller sees the same seqs and can skip them');
    await j.close();
  });

  test('markReplayed: range checked, no-op when nothing new, then covers a prefix', async () => {
    const file = await fiveEntries();
    const j = await AuditJournal.open(file);
    await assert.rejects(j.markReplayed(6), isSigilError('BAD_INPUT', /last seq is 5/));
    await assert.rejects(j.markReplayed(-1), isSigilError('BAD_INPUT'));
    await assert.rejects(j.markReplayed(1.5), isSigilError('BAD_INPUT'));
    assert.equal(await j.markReplayed(0), false);
    assert.equal(await j.markReplayed(3), true);
    assert.equal(j.lastSeq, 6);
    assert.equal(await j.markReplayed(3), false);
    assert.equal(await j.markReplayed(2), false);
    assert.equal(j.lastSeq, 6, 'no-ops write nothing');
    assert.deepEqual(
      j.pending().map((e) => e.seq),
      [4, 5],
    );
    assert.equal(await j.markReplayed(6), true, 'up to a marker line: covers entries 4 and 5');
    assert.equal(await j.markReplayed(7), false, 'nothing pending');
    assert.deepEqual(j.pending(), []);
    await j.close();
  });

  test('entries appended during a replay are left for the next one; concurrent replays do not overlap', async () => {
    const file = await fiveEntries();
    const j = await AuditJournal.open(file);
    const seen: number[] = [];
    let inFlight = 0;
    const into = async (e: JournalEntry): Promise<void> => {
      inFlight++;
      assert.equal(inFlight, 1, 'one callback at a time');
      seen.push(e.seq);
      if (e.seq === 1) await j.append({ audit: 'replay started' });
      await new Promise((r) => setTimeout(r, 1));
      inFlight--;
    };
    const [a, b] = await Promise.all([j.replay(into), j.replay(into)]);
    assert.equal(a.replayed, 5);
    assert.equal(b.replayed, 1, 'the second replay picks up the entry appended during the first');
    assert.deepEqual(seen, [1, 2, 3, 4, 5, 6]);
    await j.close();
  });
});

describe('concurrency within a process', () => {
  test('concurrent appends are serialised in call order and the chain verifies', async () => {
    const file = await tempFile();
    const j = await AuditJournal.open(file);
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => j.append({ i })));
    assert.deepEqual(
      results.map((r) => r.seq),
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    assert.deepEqual(
      results.map((r) => r.entry),
      Array.from({ length: 50 }, (_, i) => ({ i })),
    );
    // Mixed with markers.
    await Promise.all([j.append('a'), j.markReplayed(10), j.append('b'), j.markReplayed(20), j.append('c')]);
    await j.close();
    const v = verifyJournal(await fs.readFile(file));
    assert.equal(v.lastSeq, 55);
    assert.equal(v.replayedUpTo, 20);
    assert.equal(v.pending.length, 33);
  });
});

describe('property', () => {
  type Op =
    | { readonly op: 'append'; readonly value: JsonValue }
    | { readonly op: 'replay'; readonly failAfter: number | null }
    | { readonly op: 'reopen' }
    | { readonly op: 'tear'; readonly bytes: string };

  const jsonValue: fc.Arbitrary<JsonValue> = fc.jsonValue({ maxDepth: 2 }).map((v) => v as JsonValue);
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    { weight: 5, arbitrary: jsonValue.map((value) => ({ op: 'append' as const, value })) },
    {
      weight: 2,
      arbitrary: fc
        .option(fc.nat({ max: 4 }), { nil: null })
        .map((failAfter) => ({ op: 'replay' as const, failAfter })),
    },
    { weight: 1, arbitrary: fc.constant({ op: 'reopen' as const }) },
    {
      weight: 1,
      arbitrary: fc.string({ minLength: 1, maxLength: 40 }).map((s) => ({
        op: 'tear' as const,
        bytes: s.replace(/\n/g, ' '),
      })),
    },
  );

  test('any sequence of appends, replays, reopens and torn writes keeps the chain valid; each entry is replayed exactly once, in order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { maxLength: 25 }), async (ops) => {
        const file = await tempFile();
        let j = await AuditJournal.open(file);
        const appended: Array<{ seq: number; value: JsonValue }> = [];
        const replayed: Array<{ seq: number; value: JsonValue }> = [];
        const reopen = async (): Promise<void> => {
          await j.close();
          j = await AuditJournal.open(file);
        };
        const replay = async (failAfter: number | null): Promise<void> => {
          let n = 0;
          try {
            await j.replay(async (e) => {
              if (failAfter !== null && n === failAfter) throw new Error('injected');
              n++;
              replayed.push({ seq: e.seq, value: e.entry });
            });
          } catch (e) {
            assert.equal((e as Error).message, 'injected');
          }
        };
        try {
          for (const o of ops) {
            if (o.op === 'append') {
              const e = await j.append(o.value);
              appended.push({ seq: e.seq, value: JSON.parse(canonicalize(o.value)) as JsonValue });
            } else if (o.op === 'replay') {
              await replay(o.failAfter);
            } else if (o.op === 'reopen') {
              await reopen();
              assert.deepEqual(j.warnings, []);
            } else {
              // A crash in the middle of an append: a fragment without newline, then a restart.
              await j.close();
              await fs.appendFile(file, o.bytes);
              j = await AuditJournal.open(file);
              assert.equal(j.warnings.length, 1, 'the torn tail is reported');
            }
            // The pending list is exactly the appended entries not yet replayed.
            const done = new Set(replayed.map((r) => r.seq));
            assert.deepEqual(
              j.pending().map((e) => e.seq),
              appended.filter((a) => !done.has(a.seq)).map((a) => a.seq),
            );
          }
          await replay(null);
          await reopen();
          assert.deepEqual(j.pending(), []);
          const v = verifyJournal(await fs.readFile(file));
          assert.equal(v.torn, null);
          assert.equal(v.lastSeq, j.lastSeq);
          assert.deepEqual(replayed, appended);
        } finally {
          await j.close();
        }
      }),
      { numRuns: 60 },
    );
  });
});
