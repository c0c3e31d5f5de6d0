/**
 * The memory part of `npm run bench`: writes through the same service handlers as every front door (signed
 * by the owner identity, 64 concurrent writers), against raw canon appends of the same run; and one page of
 * `sigil/memory.list` out of a store holding many entries.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { initHome } from '../server/src/runtime/home.js';
import { runtimeHandlers, type Handlers } from '../server/src/service/handlers.js';
import { readIdentityFile } from '../server/src/governance/identity.js';
import { signedParams } from '../shared/src/signed-request.js';
import type { Identity } from '../shared/src/license.js';
import { log, median } from './lib.js';

type Result = Record<string, number | string | boolean | null>;

const TEXT =
  'The user prefers iterator chains over index loops and asks for explanations with links to the Book.';

async function writeMany(
  handlers: Handlers,
  owner: Identity,
  keys: readonly string[],
  text: (i: number) => string,
  concurrency: number,
): Promise<number> {
  // Signing is the client's cost; only what the server does with signed requests is timed.
  const signed = keys.map((key, i) =>
    signedParams('sigil/memory.write', { namespace: 'agent:bench', key, text: text(i) }, owner),
  );
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (;;) {
        const i = next++;
        if (i >= signed.length) return;
        await handlers['sigil/memory.write'](signed[i], {});
      }
    }),
  );
  return (keys.length * 1000) / (performance.now() - t0);
}

export async function memoryBench(result: Result, runs: number, entries: number): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sigil-bench-memory-'));
  const init = await initHome({
    home: path.join(dir, 'home'),
    env: { SIGIL_KEYSTORE_SCRYPT_LOG_N: '14' },
    passphrase: { get: async () => undefined },
    ownerDescription: 'bench',
  });
  const rt = init.runtime;
  try {
    const loaded = await readIdentityFile(init.ownerIdentity.file);
    const owner: Identity = { chain: loaded.chain, signer: loaded.signer };
    const handlers = runtimeHandlers(rt);
    const N = 2000;
    log(`memory_write_per_s: ${runs} runs x ${N} new entries, then ${N} new versions, 64 concurrent writers`);
    const created: number[] = [];
    const updated: number[] = [];
    for (let r = 0; r < runs; r++) {
      const keys = Array.from({ length: N }, (_, i) => `run${r}-k${i}`);
      created.push(await writeMany(handlers, owner, keys, (i) => `${TEXT} #${i}`, 64));
      updated.push(await writeMany(handlers, owner, keys, (i) => `${TEXT} #${i} (revised)`, 64));
    }
    result.memory_write_per_s = Math.round(median(created));
    result.memory_update_per_s = Math.round(median(updated));
    if (typeof result.append_per_s === 'number') {
      // Each memory write is two records (the version and its audit record) plus the gate and the sealing.
      result.memory_write_vs_append_ratio = Number((median(created) / result.append_per_s).toFixed(3));
      result.memory_update_vs_append_ratio = Number((median(updated) / result.append_per_s).toFixed(3));
    }

    const have = runs * N;
    log(`memory_list_page_ms: filling to ${entries} entries, then pages of 100`);
    const rest = Array.from(
      { length: Math.max(0, entries - have) },
      (_, i) => `fill-${String(i).padStart(7, '0')}`,
    );
    for (let at = 0; at < rest.length; at += 10_000) {
      await writeMany(handlers, owner, rest.slice(at, at + 10_000), (i) => `${TEXT} fill ${at + i}`, 64);
      log(`  ${have + Math.min(at + 10_000, rest.length)} entries`);
    }
    const list = handlers['sigil/memory.list'];
    const pages: number[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 30; i++) {
      const params = { limit: 100, ...(cursor ? { cursor } : {}) };
      const signed = signedParams('sigil/memory.list', params, owner);
      const t0 = performance.now();
      const page = await list(signed, {});
      pages.push(performance.now() - t0);
      if (page.entries.length !== 100) throw new Error('a memory page came back short');
      cursor = page.nextCursor ?? undefined;
    }
    result.memory_list_entries = rt.memory.stats().entries;
    result.memory_list_page_ms = Number(median(pages).toFixed(3));
  } finally {
    await rt.close();
    await rm(dir, { recursive: true, force: true });
  }
}
