/** Verifies a store in a fresh process and reports its peak RSS, so memory is measured per log size. */
import { reopen } from './lib.js';

const dir = process.argv[2] as string;
const store = await reopen(dir);
const t0 = performance.now();
const report = await store.verify();
const seconds = (performance.now() - t0) / 1000;
await store.close();
process.stdout.write(
  JSON.stringify({
    ok: report.ok,
    checked: report.checked,
    per_s: report.checked / seconds,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
  }) + '\n',
);
