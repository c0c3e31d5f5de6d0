/**
 * What one append costs, step by step: each step of the write path timed on its own over N appends with
 * the store's own functions, as CPU time (`process.cpuUsage`, all threads of the process) per append.
 * `node --import tsx bench/append-steps.ts` (BENCH_STEPS_N, default 20000). Prints one JSON object.
 *
 * Steps: jcs (payload canonicalization and the canonical body bytes), hash (SHA-256 of the body: the id),
 * sign (Ed25519 of the record message), seal (AES-256-GCM of the stored record, plus the chain head and
 * the state once per batch of 64), merkle (leaf hash, compact range append, node entries), leveldb (the
 * batches of 64 appends' entries written with sync:true, fsync included). Whatever the full append costs
 * beyond their sum (promises, scheduling, the signing worker's messages, GC) is not a step here: compare
 * with `append_cpu_us` of bench/append.ts. seq_check_per_batch_cpu_us is the seek proving the seq slots past
 * the state free, per append if it were done for every batch of 64 (it is not in the sum).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ClassicLevel } from 'classic-level';
import { seal } from '../shared/src/aead.js';
import { utf8 } from '../shared/src/bytes.js';
import { sha256Hex } from '../shared/src/hash.js';
import { CompactRange, leafHash } from '../shared/src/merkle.js';
import { generateKeyPair, Ed25519Signer } from '../shared/src/ed25519.js';
import { recordSigningMessage, SCHEMA_VERSION } from '../shared/src/record.js';
import { KEYS, aadFor, kindTag, prefixEnd } from '../server/src/canon/layout.js';
import { canonicalBodyJson, encodeState, encodeStoredRecord } from '../server/src/canon/value-codec.js';
import { validateAppendInput } from '../server/src/canon/group-commit.js';
import type { AppendInput } from '../server/src/canon/store-types.js';
import { PAYLOAD } from './lib.js';

const N = Number(process.env.BENCH_STEPS_N ?? 20_000);
const BATCH = 64;

function cpuUs<T>(fn: () => T): { us: number; value: T } {
  const c0 = process.cpuUsage();
  const value = fn();
  const c = process.cpuUsage(c0);
  return { us: (c.user + c.system) / N, value };
}

async function cpuUsAsync(fn: () => Promise<void>): Promise<{ us: number; wallUs: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { us: (c.user + c.system) / N, wallUs: (wall * 1000) / N };
}

const signer = new Ed25519Signer(generateKeyPair().seed);
const dataKey = new Uint8Array(32).fill(7);
const indexKey = new Uint8Array(32).fill(9);
const input: AppendInput = { kind: 'bench.item', space: 'data', payload: PAYLOAD, actor: 'bench' };
const ts = new Date().toISOString();
const tag = kindTag(indexKey, input.kind);

// Warm up every path once so that JIT compilation is not counted in the first step.
for (let i = 0; i < 2000; i++) {
  const b = Buffer.from(
    canonicalBodyJson(
      { ...input, links: [], schema_version: 1, seq: i, ts, prev: null },
      validateAppendInput(input),
    ),
  );
  signer.sign(recordSigningMessage(sha256Hex(b)));
  seal(dataKey, b, aadFor('r/x'));
  leafHash(b.subarray(0, 32));
}

const bodies: Uint8Array[] = [];
const jcs = cpuUs(() => {
  let prev: string | null = null;
  for (let seq = 0; seq < N; seq++) {
    const payloadJcs = validateAppendInput(input);
    const body = canonicalBodyJson(
      {
        kind: input.kind,
        space: input.space,
        schema_version: SCHEMA_VERSION,
        seq,
        ts,
        actor: input.actor,
        links: [],
        prev,
      },
      payloadJcs,
    );
    bodies.push(Buffer.from(body, 'utf8'));
    prev = '0'.repeat(64);
  }
});

const ids: string[] = [];
const idRaws: Uint8Array[] = [];
const hash = cpuUs(() => {
  for (const b of bodies) {
    const id = sha256Hex(b);
    ids.push(id);
    idRaws.push(Buffer.from(id, 'hex'));
  }
});

const sigs: Uint8Array[] = [];
const sign = cpuUs(() => {
  for (const id of ids) sigs.push(signer.sign(recordSigningMessage(id)));
});

const range = CompactRange.empty();
const nodeOps: Array<Array<{ key: string; value: Uint8Array }>> = [];
const merkle = cpuUs(() => {
  for (const idRaw of idRaws) {
    nodeOps.push(
      range.append(leafHash(idRaw)).map((n) => ({ key: KEYS.node(n.level, n.index), value: n.hash })),
    );
  }
});

const sealed: Uint8Array[] = [];
const batchSealed: Array<Array<{ key: string; value: Uint8Array }>> = [];
const state = { size: N, range, heads: { data: { id: ids[0] as string, seq: 0 }, system: null } };
const sealStep = cpuUs(() => {
  for (let i = 0; i < N; i++) {
    const key = KEYS.record(ids[i] as string);
    sealed.push(
      seal(
        dataKey,
        encodeStoredRecord(sigs[i] as Uint8Array, signer.keyId, bodies[i] as Uint8Array),
        aadFor(key),
      ),
    );
    if (i % BATCH === BATCH - 1 || i === N - 1) {
      const head = KEYS.head('data');
      batchSealed.push([
        { key: head, value: seal(dataKey, utf8(JSON.stringify({ id: ids[i], seq: i })), aadFor(head)) },
        { key: KEYS.state, value: seal(dataKey, encodeState(state), aadFor(KEYS.state)) },
      ]);
    }
  }
});

const dir = await mkdtemp(path.join(os.tmpdir(), 'sigil-steps-'));
const db = new ClassicLevel<string, Uint8Array>(path.join(dir, 'db'), {
  keyEncoding: 'utf8',
  valueEncoding: 'view',
});
await db.open();
const leveldb = await cpuUsAsync(async () => {
  for (let start = 0, b = 0; start < N; start += BATCH, b++) {
    const batch = db.batch();
    for (let i = start; i < Math.min(N, start + BATCH); i++) {
      const idRaw = idRaws[i] as Uint8Array;
      batch.put(KEYS.bySeq(i), idRaw);
      batch.put(KEYS.bySpace('data', i), idRaw);
      batch.put(KEYS.byKind(tag, i), idRaw);
      for (const op of nodeOps[i] ?? []) batch.put(op.key, op.value);
      batch.put(KEYS.record(ids[i] as string), sealed[i] as Uint8Array);
    }
    for (const op of batchSealed[b] ?? []) batch.put(op.key, op.value);
    await batch.write({ sync: true });
  }
});
// The seek that proves the seq slots past the state free (group-commit.ts refuseOverwrites), once per batch.
const seqCheck = await cpuUsAsync(async () => {
  for (let start = 0; start < N; start += BATCH) {
    const it = db.keys({ gte: KEYS.bySeq(N + start), lt: prefixEnd(KEYS.seqPrefix), limit: 1 });
    await it.next().finally(() => it.close());
  }
});
await db.close();
await rm(dir, { recursive: true, force: true });

const r = (x: number): number => Number(x.toFixed(1));
const steps = {
  jcs: jcs.us,
  hash: hash.us,
  sign: sign.us,
  seal: sealStep.us,
  merkle: merkle.us,
  leveldb: leveldb.us,
};
process.stdout.write(
  JSON.stringify({
    appends: N,
    batch: BATCH,
    ...Object.fromEntries(Object.entries(steps).map(([k, v]) => [`${k}_cpu_us`, r(v)])),
    leveldb_wall_us: r(leveldb.wallUs),
    seq_check_per_batch_cpu_us: r(seqCheck.us),
    sum_cpu_us: r(Object.values(steps).reduce((a, b) => a + b, 0)),
    load_avg_1m: Number(os.loadavg()[0]?.toFixed(2)),
  }) + '\n',
);
