/**
 * Crash recovery: a child process appends through the gate (signed with the owner identity, as `sigil canon
 * append` does) with several appends in flight and prints each id once its append has resolved; we SIGKILL
 * it at a random moment, then reopen the store. Every acknowledged record must be there, each followed by
 * its audit record (they are one group commit, so a kill never leaves a record without its audit record or
 * an audit record without its record), the store must verify, and the dead process's owner.json must not
 * stand in the way.
 *
 * The kill delays come from a seeded PRNG; set CRASH_SEED to replay a failing run (the seed is printed in
 * every failure message).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { INIT_KINDS } from '../support/init-records.js';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  defaultActor,
  initHome,
  openRuntime,
  OWNER_FILE,
  type SigilRuntime,
} from '../../server/src/runtime/home.js';
import type { PassphraseSource } from '../../server/src/runtime/passphrase.js';
import type { CanonicalRecord } from '../../shared/src/record.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURE = path.join(ROOT, 'test', 'cli', 'fixtures', 'append-loop.ts');
const ROUNDS = 20;
const WRITERS = 8;
/**
 * Mean pause of each writer between appends (the fixture randomizes it): the writers stay out of step, so
 * a kill nearly always lands while some append is being committed, yet each round adds only a few hundred
 * records to re-verify.
 */
const PAUSE_MS = 8;
/** A round is also cut short after this many acks, so a slow (loaded) machine does not pile up records. */
const MAX_ACKS_PER_ROUND = 300;
const SEED = process.env.CRASH_SEED ? Number(process.env.CRASH_SEED) : 0x5161_1c0d;
const ID_RE = /^[0-9a-f]{64}$/;

/** mulberry32: small, fast, good enough to spread kill points; deterministic for a seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const noPassphrase: PassphraseSource = { get: async () => undefined };

function open(home: string): Promise<SigilRuntime> {
  return openRuntime({ home, env: {}, passphrase: noPassphrase, ownerDescription: 'crash test check' });
}

/** The inherited environment without SIGIL_* variables, which the child's config loader would read. */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('SIGIL_')) env[k] = v;
  return env;
}

interface Round {
  readonly pid: number;
  readonly acks: string[];
  readonly stderr: string;
}

/**
 * Runs the append loop and SIGKILLs it `delayMs` after its first acknowledged append, or as soon as
 * MAX_ACKS_PER_ROUND appends were acknowledged, whichever comes first; either way mid-stream.
 */
async function appendThenKill(home: string, delayMs: number): Promise<Round> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', FIXTURE, home, 'append', String(WRITERS), String(PAUSE_MS)],
    {
      cwd: ROOT,
      env: childEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const pid = child.pid;
  assert.ok(pid !== undefined, 'the child started');
  let out = '';
  let stderr = '';
  let killTimer: NodeJS.Timeout | undefined;
  let lines = 0;
  const watchdog = setTimeout(() => child.kill('SIGKILL'), 20_000);
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    out += s;
    for (const c of s) if (c === '\n') lines++;
    if (killTimer === undefined && lines > 0) killTimer = setTimeout(() => child.kill('SIGKILL'), delayMs);
    if (lines >= MAX_ACKS_PER_ROUND) child.kill('SIGKILL');
  });
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  clearTimeout(watchdog);
  clearTimeout(killTimer);
  assert.ok(
    killTimer !== undefined,
    `the child acknowledged nothing before it ended (exit ${code}, ${signal}):\n${stderr}`,
  );
  assert.equal(
    signal,
    'SIGKILL',
    `the child ended by itself (exit ${code}) instead of being killed:\n${stderr}`,
  );
  // Only complete lines are acknowledgements; a torn last line (never seen: pipe writes are atomic) is not.
  const acks = out.split('\n');
  acks.pop();
  for (const l of acks) assert.match(l, ID_RE, `not an id line: ${JSON.stringify(l)}`);
  return { pid, acks, stderr };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Every record of the log, oldest first. */
async function allRecords(rt: SigilRuntime): Promise<CanonicalRecord[]> {
  const out: CanonicalRecord[] = [];
  let cursor: string | undefined;
  do {
    const page = await rt.store.list({ limit: 1000, order: 'asc', ...(cursor ? { cursor } : {}) });
    assert.deepEqual(page.damaged ?? [], [], 'no record is damaged');
    out.push(...page.records);
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return out;
}

describe('crash recovery after SIGKILL during concurrent appends', () => {
  let dir = '';
  let home = '';
  /** The records init left: the appends start after them. */
  let base = 0;
  const actor = `license:${defaultActor()}`;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sigil-crash-test-'));
    home = path.join(dir, 'home');
    const init = await initHome({
      home,
      env: {},
      passphrase: noPassphrase,
      ownerDescription: 'crash test init',
    });
    assert.equal(init.encrypted, false);
    assert.deepEqual([init.witnesses.ids, init.witnesses.threshold], [['owner'], 1]);
    try {
      const records = await allRecords(init.runtime);
      assert.deepEqual(
        records.map((r) => r.body.kind),
        INIT_KINDS,
      );
      base = records.length;
    } finally {
      await init.runtime.close();
    }
  });

  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it(`keeps every acknowledged record over ${ROUNDS} kills (seed ${SEED})`, async (t) => {
    const rand = prng(SEED);
    const acked: string[] = [];
    const ackedSet = new Set<string>();
    let unacknowledged = 0; // committed, but killed before the ack was printed
    for (let round = 0; round < ROUNDS; round++) {
      const delay = 50 + Math.floor(rand() * 351);
      const where = `seed ${SEED} (CRASH_SEED=${SEED}), round ${round + 1}/${ROUNDS}, kill ${delay} ms after the first ack`;
      try {
        const { pid, acks } = await appendThenKill(home, delay);
        for (const id of acks) {
          assert.ok(!ackedSet.has(id), `id ${id} was acknowledged twice`);
          ackedSet.add(id);
          acked.push(id);
        }

        // The dead process's owner file is left behind; the OS released its LevelDB lock.
        assert.ok(!isAlive(pid), 'the killed child is gone');
        const stale = JSON.parse(await readFile(path.join(home, OWNER_FILE), 'utf8')) as {
          pid: number;
          command: string;
        };
        assert.equal(stale.pid, pid, 'owner.json still names the killed process');
        assert.equal(stale.command, 'test append');

        const rt = await open(home);
        try {
          const owner = JSON.parse(await readFile(path.join(home, OWNER_FILE), 'utf8')) as { pid: number };
          assert.equal(owner.pid, process.pid, 'opening replaces the stale owner file');
          const report = await rt.store.verify();
          assert.equal(report.ok, true, `verify failed: ${JSON.stringify(report.firstBad)}`);
          const size = rt.store.size();
          assert.equal(report.size, size);
          // Each append is two records, committed together: the record, then its audit record.
          const records = await allRecords(rt);
          assert.equal(records.length, size);
          assert.deepEqual(
            records.slice(0, base).map((r) => r.body.kind),
            INIT_KINDS,
          );
          assert.equal((size - base) % 2, 0, `${size - base} records after init: a torn append group`);
          for (let s = base; s < size; s += 2) {
            const rec = records[s] as CanonicalRecord;
            const audit = records[s + 1] as CanonicalRecord;
            assert.equal(rec.body.kind, 'test.crash', `seq ${s}`);
            assert.equal(rec.body.actor, actor, `seq ${s}`);
            assert.equal(audit.body.kind, 'audit.decision', `seq ${s + 1} audits seq ${s}`);
            assert.equal(audit.body.space, 'system');
            assert.equal(audit.body.actor, actor);
            const p = audit.body.payload as {
              operation: string;
              method: string;
              decision: string;
              covers: number;
              caller: { subject: string };
            };
            assert.deepEqual(
              [p.method, p.operation, p.decision, p.covers, p.caller.subject],
              [
                'sigil/canon.append',
                rec.body.space === 'system' ? 'canon.append_system' : 'canon.append',
                'allowed',
                1,
                defaultActor(),
              ],
              `the audit record at seq ${s + 1}`,
            );
          }
          assert.ok(
            size >= base + 2 * acked.length,
            `size ${size} < ${base} init records + 2 × ${acked.length} acknowledged appends`,
          );
          unacknowledged = (size - base) / 2 - acked.length;
          const seqs = new Set<number>();
          for (const id of acked) {
            const rec = await rt.store.get(id);
            assert.equal(rec.id, id);
            assert.equal(rec.body.kind, 'test.crash');
            assert.ok(
              rec.body.seq >= base && rec.body.seq < size && (rec.body.seq - base) % 2 === 0,
              `record ${id} has seq ${rec.body.seq}, not the first of an append group in ${base}..${size - 1}`,
            );
            assert.ok(!seqs.has(rec.body.seq), `seq ${rec.body.seq} holds two acknowledged records`);
            seqs.add(rec.body.seq);
          }
        } finally {
          await rt.close();
        }
        assert.ok(!existsSync(path.join(home, OWNER_FILE)), 'a clean close removes the owner file');
      } catch (e) {
        const err = e as Error;
        err.message = `${where}: ${err.message}`;
        throw err;
      }
    }
    assert.ok(acked.length >= ROUNDS, `only ${acked.length} appends were acknowledged over ${ROUNDS} rounds`);
    t.diagnostic(
      `seed ${SEED}: ${acked.length} acknowledged appends survived; ${unacknowledged} more were committed but not acknowledged`,
    );
  });
});
