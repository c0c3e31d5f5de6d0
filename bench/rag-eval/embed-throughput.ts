/**
 * USE-lite throughput against chunk length: embeds 200 chunks of ~300, ~800 and ~1500 characters (cut from
 * the Rust docs sections) through the worker, with the default input budget and with no truncation.
 * Takes a few minutes.
 *
 *   node --import tsx bench/rag-eval/embed-throughput.ts
 */
import { USE_LITE_DEFAULT_MAX_CHARS, UseLiteEmbedder } from '../../server/src/rag/embedder-use-lite.js';
import { loadSections } from './load-docs.js';

const N = 200;
const corpus = loadSections()
  .map((s) => s.text)
  .join(' ');

function chunks(len: number): string[] {
  // Distinct chunks spread over the corpus, cut at spaces near `len`.
  const out: string[] = [];
  const stride = Math.floor(corpus.length / N);
  for (let i = 0; i < N; i++) {
    const start = corpus.indexOf(' ', i * stride) + 1;
    const end = corpus.lastIndexOf(' ', start + len);
    out.push(corpus.slice(start, end > start ? end : start + len));
  }
  return out;
}

// The machine may be shared: besides wall-clock chunks/s, report chunks per CPU-second of this process
// (process.cpuUsage counts the worker thread too), which load from other processes barely changes. Each
// length is measured ROUNDS times, interleaved, and the best round reported.
const ROUNDS = 3;
for (const maxChars of [USE_LITE_DEFAULT_MAX_CHARS, 100_000]) {
  const embedder = await UseLiteEmbedder.create({ maxChars });
  await embedder.embed(chunks(300).slice(0, 16)); // warm-up: the first graph execution compiles kernels
  const best = new Map<number, { wall: number; cpu: number; avg: number }>();
  for (let round = 0; round < ROUNDS; round++)
    for (const len of [300, 800, 1500]) {
      const texts = chunks(len);
      const avg = Math.round(texts.reduce((s, t) => s + t.length, 0) / texts.length);
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await embedder.embed(texts);
      const wall = N / ((performance.now() - t0) / 1000);
      const c = process.cpuUsage(c0);
      const cpu = N / ((c.user + c.system) / 1e6);
      const prev = best.get(len);
      best.set(len, { wall: Math.max(wall, prev?.wall ?? 0), cpu: Math.max(cpu, prev?.cpu ?? 0), avg });
    }
  for (const [len, b] of best)
    console.log(
      `maxChars=${maxChars} chunks~${len} (avg ${b.avg} chars): ${b.wall.toFixed(1)} chunks/s wall, ${b.cpu.toFixed(1)} chunks per CPU-second`,
    );
  await embedder.close();
}
