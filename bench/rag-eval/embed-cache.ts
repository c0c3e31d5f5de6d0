/**
 * Embeds texts once and keeps the vectors in a file under the OS temp dir keyed by the embedder id and the
 * texts, so re-running the evaluation (to tune fusion) does not re-embed thousands of sections.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Embedder } from '../../server/src/rag/embedder.js';

export async function embedCached(
  embedder: Embedder,
  texts: readonly string[],
  label: string,
  onProgress?: (done: number) => void,
): Promise<Float32Array[]> {
  const h = createHash('sha256').update(embedder.id);
  for (const t of texts) h.update('\0').update(t);
  const dir = path.join(tmpdir(), 'sigil-rag-eval-cache');
  const file = path.join(dir, `${label}-${h.digest('hex').slice(0, 16)}.f32`);
  if (existsSync(file)) {
    const buf = readFileSync(file);
    const all = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
    const dim = all.length / texts.length;
    return texts.map((_, i) => all.slice(i * dim, (i + 1) * dim));
  }
  const out: Float32Array[] = [];
  const step = 64;
  for (let i = 0; i < texts.length; i += step) {
    out.push(...(await embedder.embed(texts.slice(i, i + step))));
    onProgress?.(out.length);
  }
  mkdirSync(dir, { recursive: true });
  const flat = new Float32Array(out.length * embedder.dim);
  out.forEach((v, i) => flat.set(v, i * embedder.dim));
  writeFileSync(file, Buffer.from(flat.buffer));
  return out;
}

/** What the vector side embeds for a section: its heading and page title give the text its topic. */
export function sectionText(s: { title: string; pageTitle: string; text: string }): string {
  return `${s.title} (${s.pageTitle}). ${s.text}`;
}
