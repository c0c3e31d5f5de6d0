/**
 * Importing documentation into the retrieval index: directories of HTML (mdBook, rustdoc) and Markdown,
 * or the local Rust documentation. Every source's licence is resolved and judged before anything of any
 * source is written; then each document is chunked and written with the same `upsert` as every front door
 * (one atomic batch per document), an unchanged one skipped by its source hash, and documents that left the
 * source removed. A run killed half-way and run again ends as one uninterrupted run would have.
 */
import path from 'node:path';
import { SigilError } from '../../../shared/src/errors.js';
import type { RagImportParams, RagImportResult, RagImportRootSummary } from '../../../shared/src/protocol.js';
import type { Access } from '../governance/gate.js';
import { VERSION } from '../version.js';
import { resolveAllowedLicence, type ResolvedLicence } from './licence.js';
import { readLicenceFiles, walkSource, type SkippedPath } from './source-walk.js';
import { chunkHtml } from './chunk-html.js';
import { chunkMarkdown } from './chunk-markdown.js';
import { locateRustDocs, rustDocUrl, type RustDocBook } from './rust-docs.js';
import type { RagService } from './service.js';

export interface ImportContext {
  readonly onProgress?: (done: number, total: number) => void;
  readonly signal?: AbortSignal;
  readonly allowedLicences: readonly string[];
}

interface PlannedRoot {
  /** The collection name documents are filed under (their key prefix and citation root). */
  readonly root: string;
  readonly dir: string;
  readonly licence: ResolvedLicence;
  readonly book?: RustDocBook;
  readonly exclude: readonly string[];
}

const MAX_SKIPPED_REPORTED = 200;

function rootName(dir: string, given: string | undefined): string {
  const name = given ?? path.basename(path.resolve(dir));
  if (!/^[A-Za-z0-9][A-Za-z0-9._\-/]{0,199}$/.test(name))
    throw new SigilError(
      'BAD_INPUT',
      `cannot name the collection of ${dir} ${JSON.stringify(name)}: use letters, digits and . _ - / (pass --root NAME)`,
      { field: 'root' },
    );
  return name;
}

async function plan(p: RagImportParams, ctx: ImportContext): Promise<PlannedRoot[]> {
  const roots: PlannedRoot[] = [];
  if (p.rustDocs) {
    const found = await locateRustDocs({
      ...(p.include?.includes('std') ? { include: ['std' as const] } : {}),
      ...(p.htmlDir !== undefined ? { htmlDir: p.htmlDir } : {}),
    });
    for (const b of found.books)
      roots.push({
        root: `rust-docs/${b.book}`,
        dir: b.root,
        book: b.book,
        exclude: b.exclude,
        licence: resolveAllowedLicence(
          {
            root: b.root,
            ...(p.licence !== undefined ? { explicit: p.licence } : {}),
            builtin: b.licenceKey,
          },
          ctx.allowedLicences,
        ),
      });
  }
  for (const dir of p.paths ?? []) {
    if (!path.isAbsolute(dir))
      throw new SigilError('BAD_INPUT', `import path ${dir} must be absolute (the CLI resolves it)`, {
        field: 'paths',
      });
    const files = await readLicenceFiles(dir);
    roots.push({
      root: rootName(dir, p.root),
      dir,
      exclude: [],
      licence: resolveAllowedLicence(
        { root: dir, ...(p.licence !== undefined ? { explicit: p.licence } : {}), files },
        ctx.allowedLicences,
      ),
    });
  }
  if (roots.length === 0)
    throw new SigilError(
      'BAD_USAGE',
      'nothing to import: give directories, or rustDocs (sigil rag import --rust-docs)',
    );
  const names = roots.map((r) => r.root);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined)
    throw new SigilError(
      'BAD_INPUT',
      `two sources would be filed under the collection ${twice}; import them separately with --root`,
      {
        field: 'root',
      },
    );
  return roots;
}

/** Imports every planned source; the licences of all of them are checked before the first write. */
export async function importSources(
  rag: RagService,
  access: Access,
  p: RagImportParams,
  ctx: ImportContext,
): Promise<RagImportResult> {
  const started = performance.now();
  const roots = await plan(p, ctx);
  // Count first so progress has a total; the walk is cheap next to chunking and embedding.
  const counts: number[] = [];
  for (const r of roots) {
    let n = 0;
    for await (const _d of walkSource(r.dir, {
      exclude: r.exclude,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    }))
      n++;
    counts.push(n);
  }
  const total = counts.reduce((a, b) => a + b, 0);
  let done = 0;
  ctx.onProgress?.(0, total);
  const summaries: RagImportRootSummary[] = [];
  const skipped: SkippedPath[] = [];
  let chunks = 0;
  let embeddedChunks = 0;
  for (const r of roots) {
    const existing = new Map((await rag.documents({ root: r.root })).map((d) => [d.key, d]));
    const seen = new Set<string>();
    const s = { added: 0, replaced: 0, unchanged: 0, removed: 0, skipped: 0, chunks: 0 };
    for await (const doc of walkSource(r.dir, {
      exclude: r.exclude,
      onSkip: (x) => skipped.push(x),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    })) {
      if (ctx.signal?.aborted)
        throw new SigilError('CANCELLED', 'the import was cancelled; run it again to finish it');
      const key = `${r.root}:${doc.relPath}`;
      seen.add(key);
      const before = existing.get(key);
      if (before && before.sourceSha256 === doc.sha256) {
        s.unchanged++;
        s.chunks += before.chunks;
      } else {
        const text = new TextDecoder('utf-8', { fatal: false }).decode(doc.bytes);
        const result = doc.kind === 'html' ? chunkHtml(text) : chunkMarkdown(text);
        const title = result.chunks[0]?.title ?? '';
        if (result.chunks.length === 0) {
          s.skipped++;
          skipped.push({ relPath: doc.relPath, reason: 'unreadable', detail: result.reason ?? 'no text' });
          // A document that no longer has text leaves the index like a deleted one.
          seen.delete(key);
        } else {
          const url = r.book ? rustDocUrl(r.book, doc.relPath) : null;
          const res = await rag.upsert(access, {
            key,
            chunks: result.chunks.map((c) => ({
              text: c.text,
              headingPath: [...c.headingPath],
              anchor: c.anchor,
            })),
            metadata: {
              source: { root: r.root, path: doc.relPath, url, title },
              licence: r.licence.expression,
              provenance: {
                sourcePath: doc.absPath,
                sourceSha256: doc.sha256,
                licenceFrom: r.licence.where,
                toolVersion: `sigil ${VERSION}`,
              },
            },
          });
          if (res.written) {
            if (before) s.replaced++;
            else s.added++;
            embeddedChunks += res.chunks;
          } else s.unchanged++;
          s.chunks += res.chunks;
        }
      }
      done++;
      ctx.onProgress?.(done, total);
    }
    for (const key of existing.keys())
      if (!seen.has(key)) {
        const removed = await rag.remove(access, { key, reason: 'no longer in the imported source' });
        if (removed.removed) s.removed++;
      }
    chunks += s.chunks;
    summaries.push({
      root: r.root,
      dir: r.dir,
      licence: r.licence.expression,
      licenceFrom: r.licence.where,
      ...s,
    });
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    roots: summaries,
    documents: summaries.reduce((a, r) => a + r.added + r.replaced + r.unchanged, 0),
    chunks,
    embeddedChunks,
    seconds: Number(seconds.toFixed(2)),
    chunksPerSecond: seconds > 0 ? Math.round(embeddedChunks / seconds) : 0,
    skipped: skipped
      .slice(0, MAX_SKIPPED_REPORTED)
      .map((x) => ({ path: x.relPath, reason: x.reason, ...(x.detail ? { detail: x.detail } : {}) })),
    skippedTotal: skipped.length,
  };
}
