/**
 * Verifies a store in a fresh process and reports its memory, so memory is measured per log size.
 * LevelDB reads its table files through mmap, so RSS also counts file pages of the store that were read
 * (shared and reclaimable); the anonymous part is the memory verification itself holds.
 */
import { readFileSync } from 'node:fs';
import { reopen } from './lib.js';

function statusMb(field: string): number | null {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

const dir = process.argv[2] as string;
const store = await reopen(dir);
let peakAnon = 0;
const sample = (): void => {
  peakAnon = Math.max(peakAnon, statusMb('RssAnon') ?? 0);
};
const t0 = performance.now();
const report = await store.verify({ onProgress: sample });
const seconds = (performance.now() - t0) / 1000;
sample();
const rssFile = statusMb('RssFile');
await store.close();
process.stdout.write(
  JSON.stringify({
    ok: report.ok,
    checked: report.checked,
    per_s: report.checked / seconds,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
    peak_rss_anon_mb: peakAnon,
    rss_file_mb: rssFile,
  }) + '\n',
);
