// Pre-embeds the evaluation corpus with USE-lite (fills the cache that bench/rag-eval/run.ts reads).
import { USE_LITE_DEFAULT_MAX_CHARS, UseLiteEmbedder } from '../../server/src/rag/embedder-use-lite.js';
import { embedCached, sectionText } from './embed-cache.js';
import { loadSections } from './load-docs.js';

const sections = loadSections();
// --max-chars N: the USE-lite input budget to embed with (the cache is per budget).
const i = process.argv.indexOf('--max-chars');
const maxChars = i < 0 ? USE_LITE_DEFAULT_MAX_CHARS : Number(process.argv[i + 1]);
const embedder = await UseLiteEmbedder.create({ maxChars });
const t0 = Date.now();
await embedCached(embedder, sections.map(sectionText), `sections-m${maxChars}`, (n) => {
  if (n % 640 === 0 || n === sections.length)
    console.log(`${n}/${sections.length} ${((n * 1000) / (Date.now() - t0)).toFixed(1)} sections/s`);
});
await embedder.close();
