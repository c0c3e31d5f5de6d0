/**
 * The append part of `npm run bench` alone, for quick iterations on the write path: the Ed25519 sign
 * baseline, then BENCH_RUNS runs of BENCH_APPENDS appends by 64 concurrent writers. Prints one JSON object
 * with sign_per_s_baseline, append_per_s, append_vs_sign_ratio and append_cpu_us (medians; see
 * docs/benchmarks.md). `node --import tsx bench/append.ts`
 */
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import { appendConcurrentCpu, log, median, newStore, rate } from './lib.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const APPENDS = Number(process.env.BENCH_APPENDS ?? 20_000);

const { privateKey } = generateKeyPairSync('ed25519');
const msg = randomBytes(600);
const signs: number[] = [];
for (let i = 0; i < 5; i++) signs.push(rate(() => sign(null, msg, privateKey)));
const signPerS = median(signs);
const rates: number[] = [];
const cpu: number[] = [];
for (let r = 0; r < RUNS; r++) {
  const { dir, store } = await newStore();
  const m = await appendConcurrentCpu(store, APPENDS, 64);
  log(`run ${r + 1}: ${Math.round(m.perS)} appends/s, ${m.cpuUs.toFixed(1)} µs CPU per append`);
  rates.push(m.perS);
  cpu.push(m.cpuUs);
  await store.close();
  await rm(dir, { recursive: true, force: true });
}
process.stdout.write(
  JSON.stringify({
    sign_per_s_baseline: Math.round(signPerS),
    append_per_s: Math.round(median(rates)),
    append_vs_sign_ratio: Number((median(rates) / signPerS).toFixed(3)),
    append_cpu_us: Number(median(cpu).toFixed(1)),
    load_avg_1m: Number(os.loadavg()[0]?.toFixed(2)),
  }) + '\n',
);
