// Pre-embeds the evaluation corpus with USE-lite (fills the cache that bench/rag-eval/run.ts reads).
import { UseLiteEmbedder } from '../../server/src/rag/embedder-use-lite.js';
import { embedCached, sectionText } from './embed-cache.js';
import { loadSections } from './load-docs.js';

const sections = loadSections();
const embedder = await UseLiteEmbedder.create();
const t0 = Date.now();
await embedCached(embedder, sections.map(sectionText), 'sections', (n) => {
  if (n % 640 === 0 || n === sections.length)
    console.log(`${n}/${sections.length} ${((n * 1000) / (Date.now() - t0)).toFixed(1)} sections/s`);
});
await embedder.close();
