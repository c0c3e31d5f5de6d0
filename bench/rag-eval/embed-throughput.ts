/**
 * USE-lite throughput against chunk length: embeds 200 chunks of ~300, ~800 and ~1500 characters (cut from
 * the Rust docs sections) through the worker, with the default input budget and with no truncation.
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

for (const maxChars of [USE_LITE_DEFAULT_MAX_CHARS, 100_000]) {
  const embedder = await UseLiteEmbedder.create({ maxChars });
  await embedder.embed(chunks(300).slice(0, 16)); // warm-up: the first graph execution compiles kernels
  for (const len of [300, 800, 1500]) {
    const texts = chunks(len);
    const avg = Math.round(texts.reduce((s, t) => s + t.length, 0) / texts.length);
    const t0 = performance.now();
    await embedder.embed(texts);
    const s = (performance.now() - t0) / 1000;
    console.log(
      `maxChars=${maxChars} chunks~${len} (avg ${avg} chars): ${(N / s).toFixed(1)} chunks/s (${s.toFixed(1)} s for ${N})`,
    );
  }
  await embedder.close();
}
