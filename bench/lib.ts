/** Shared pieces of the benchmark: temp stores, a ~600-byte payload, medians. */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createKeystore, loadKeystore } from '../server/src/canon/keystore.js';
import { LevelCanonStore } from '../server/src/canon/store.js';
import { initHome } from '../server/src/runtime/home.js';
import type { JsonValue } from '../shared/src/jcs.js';

export const PAYLOAD: JsonValue = {
  text: 'The quick brown fox jumps over the lazy dog. '.repeat(8),
  tags: ['bench', 'canon', 'append'],
  n: 42,
  nested: { ok: true, list: [1, 2, 3, 4, 5], note: 'a small nested object' },
};

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

export function log(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

export async function newStore(
  opts: { signWorkers?: number; verifyWorkers?: number } = {},
): Promise<{ dir: string; store: LevelCanonStore }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sigil-bench-'));
  const keystore = await createKeystore(dir, { passphrase: undefined, scryptLogN: 14 });
  const store = await LevelCanonStore.create({
    location: path.join(dir, 'canon'),
    keystore,
    origin: 'bench.sigil/log',
    ...opts,
  });
  return { dir, store };
}

/**
 * A real Sigil home (keys, store, the owner's root licence and identity, the genesis witness registry), with
 * its store open for the bench to fill directly: the language server then serves it to signed requests.
 */
export async function newHome(): Promise<{ dir: string; store: LevelCanonStore; ownerIdentity: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sigil-bench-home-'));
  const init = await initHome({
    home: dir,
    env: { SIGIL_KEYSTORE_SCRYPT_LOG_N: '14' },
    passphrase: { get: async () => undefined },
    ownerDescription: 'sigil bench',
    origin: 'bench.sigil/log',
  });
  // The bench appends straight to the store; the runtime's gate is not needed for that.
  await init.runtime.close();
  return { dir, store: await reopen(dir), ownerIdentity: init.ownerIdentity.file };
}

export async function reopen(dir: string, verifyWorkers = 2): Promise<LevelCanonStore> {
  const keystore = await loadKeystore(dir, { passphrase: async () => undefined });
  return LevelCanonStore.open({ location: path.join(dir, 'canon'), keystore, verifyWorkers });
}

/** Appends `count` records with `writers` concurrent writers; returns appends per second. */
export async function appendConcurrent(
  store: LevelCanonStore,
  count: number,
  writers: number,
): Promise<number> {
  let issued = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (issued < count) {
        issued++;
        await store.append({ kind: 'bench.item', space: 'data', payload: PAYLOAD, actor: 'bench' });
      }
    }),
  );
  return count / ((performance.now() - t0) / 1000);
}

/**
 * appendConcurrent, also measuring CPU: `process.cpuUsage()` counts user + system time of every thread of
 * the process (main thread, signing worker, LevelDB's threads, libuv's pool), so `cpuUs` is the CPU one
 * append costs in all, not only on the main thread.
 */
export async function appendConcurrentCpu(
  store: LevelCanonStore,
  count: number,
  writers: number,
): Promise<{ perS: number; cpuUs: number }> {
  const c0 = process.cpuUsage();
  const perS = await appendConcurrent(store, count, writers);
  const c = process.cpuUsage(c0);
  return { perS, cpuUs: (c.user + c.system) / count };
}

/** Calls per second of `fn`, over about `ms` milliseconds, in batches of `batch` between clock reads. */
export function rate(fn: () => void, ms = 700, batch = 50): number {
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms) {
    for (let i = 0; i < batch; i++) fn();
    n += batch;
    t = performance.now();
  }
  return n / ((t - t0) / 1000);
}
