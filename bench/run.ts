/**
 * `npm run bench`: prints one JSON object. Throughputs are medians of several runs, and the targets are
 * ratios against raw node:crypto baselines measured in the same run, so machine noise cancels out.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, sign, verify, randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { appendConcurrent, log, median, newStore, PAYLOAD } from './lib.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const APPENDS = Number(process.env.BENCH_APPENDS ?? 20_000);
const VERIFY_SIZE = Number(process.env.BENCH_VERIFY_SIZE ?? 100_000);
const PROOF_SIZE = Number(process.env.BENCH_PROOF_SIZE ?? 1_000_000);

function rate(fn: () => void, ms = 700): number {
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms) {
    for (let i = 0; i < 50; i++) fn();
    n += 50;
    t = performance.now();
  }
  return n / ((t - t0) / 1000);
}

function baselines(): { sign: number; verify: number } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const msg = randomBytes(600);
  const sig = sign(null, msg, privateKey);
  const signs: number[] = [];
  const verifies: number[] = [];
  for (let i = 0; i < 5; i++) {
    signs.push(rate(() => sign(null, msg, privateKey)));
    verifies.push(rate(() => verify(null, msg, publicKey, sig)));
  }
  return { sign: median(signs), verify: median(verifies) };
}

function verifyChild(dir: string): { ok: boolean; checked: number; per_s: number; peak_rss_mb: number } {
  const out = execFileSync(process.execPath, ['--import', 'tsx', path.join(here, 'verify-child.ts'), dir], {
    encoding: 'utf8',
  });
  return JSON.parse(out.trim().split('\n').pop() as string) as ReturnType<typeof verifyChild>;
}

async function main(): Promise<void> {
  const result: Record<string, number | string | boolean> = {};
  log('baselines: raw node:crypto Ed25519 sign/verify of a 600-byte message');
  const base = baselines();
  result.sign_per_s_baseline = Math.round(base.sign);
  result.verify_per_s_baseline = Math.round(base.verify);

  log(`append_per_s: ${RUNS} runs x ${APPENDS} appends, 64 concurrent writers`);
  const appendRates: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const { dir, store } = await newStore();
    appendRates.push(await appendConcurrent(store, APPENDS, 64));
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
  result.append_per_s = Math.round(median(appendRates));
  result.append_vs_sign_ratio = Number((median(appendRates) / base.sign).toFixed(3));

  log('append_single_p50_ms: 300 sequential appends');
  {
    const { dir, store } = await newStore();
    const lat: number[] = [];
    for (let i = 0; i < 300; i++) {
      const t0 = performance.now();
      await store.append({ kind: 'bench.single', space: 'data', payload: PAYLOAD, actor: 'bench' });
      lat.push(performance.now() - t0);
    }
    result.append_single_p50_ms = Number(median(lat).toFixed(3));
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }

  log(`verify_log_per_s: building a ${VERIFY_SIZE}-record log`);
  const { dir, store } = await newStore();
  const small = Math.round(VERIFY_SIZE / 5);
  await appendConcurrent(store, small - 1, 64);
  await store.close();
  const smallRun = verifyChild(dir);
  const { reopen } = await import('./lib.js');
  let big = await reopen(dir);
  await appendConcurrent(big, VERIFY_SIZE - small, 64);
  await big.close();
  const verifyRuns = Array.from({ length: RUNS }, () => verifyChild(dir));
  if (!verifyRuns.every((v) => v.ok && v.checked === VERIFY_SIZE))
    throw new Error('verify failed during the benchmark');
  result.verify_log_records = VERIFY_SIZE;
  result.verify_log_per_s = Math.round(median(verifyRuns.map((v) => v.per_s)));
  result.verify_vs_baseline_ratio = Number((result.verify_log_per_s / base.verify).toFixed(3));
  result.verify_log_peak_rss_mb = Number(median(verifyRuns.map((v) => v.peak_rss_mb)).toFixed(1));
  result[`verify_log_peak_rss_mb_at_${small}`] = Number(smallRun.peak_rss_mb.toFixed(1));

  log(`inclusion_proof_ms: growing the log to ${PROOF_SIZE} records`);
  big = await reopen(dir);
  const proofSize = Math.max(PROOF_SIZE, VERIFY_SIZE);
  const chunk = 50_000;
  while (big.size() < proofSize) {
    await appendConcurrent(big, Math.min(chunk, proofSize - big.size()), 64);
    log(`  ${big.size()} records`);
  }
  const ids: string[] = [];
  for (let i = 0; i < 50; i++) {
    const seq = Math.floor((i * 7919 * 104729) % big.size());
    ids.push((await big.getBySeq(seq)).id);
  }
  const proofTimes: number[] = [];
  for (const id of ids) {
    const t0 = performance.now();
    await big.inclusionProof(id);
    proofTimes.push(performance.now() - t0);
  }
  result.inclusion_proof_log_size = big.size();
  result.inclusion_proof_ms_1m = Number(median(proofTimes).toFixed(3));
  await big.close();
  await rm(dir, { recursive: true, force: true });
  result.payload_bytes = Buffer.byteLength(JSON.stringify(PAYLOAD));
  result.cpus = (await import('node:os')).cpus().length;
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
}

await main();
