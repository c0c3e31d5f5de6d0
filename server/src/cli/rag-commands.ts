/**
 * `sigil rag …`: import documentation, query, stats, remove, rebuild — thin front doors over the
 * sigil/rag.* requests (the import itself runs in the store's owner, through the same service).
 */
import path from 'node:path';
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { SigilError } from '../../../shared/src/errors.js';
import type { RagCitation, RagImportResult, RagStats } from '../../../shared/src/protocol.js';
import { readInput } from './input.js';
import type { GovernanceCliContext } from './context.js';

function parseWhole(name: string) {
  return (v: string): number => {
    if (!/^[1-9][0-9]*$/.test(v) || !Number.isSafeInteger(Number(v)))
      throw new SigilError('BAD_USAGE', `${name} must be a positive whole number, got ${JSON.stringify(v)}`);
    return Number(v);
  };
}

function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

function oneLine(text: string, width: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > width ? flat.slice(0, width - 1) + '…' : flat;
}

function citationLines(hits: readonly RagCitation[]): string[] {
  if (hits.length === 0) return ['(nothing found)'];
  return hits.flatMap((h, i) => [
    `${i + 1}. ${h.source.title || h.source.path}${h.source.heading ? ` — ${h.source.heading}` : ''}  (score ${h.score.toFixed(4)})`,
    `   ${h.source.url ?? `${h.source.root}/${h.source.path}${h.source.anchor ? `#${h.source.anchor}` : ''}`}  [${h.source.licence}]`,
    `   ${oneLine(h.text, 160)}`,
  ]);
}

function importLines(r: RagImportResult): string[] {
  return [
    ...r.roots.map(
      (x) =>
        `${x.root}: ${x.added} added, ${x.replaced} replaced, ${x.unchanged} unchanged, ${x.removed} removed (no longer in the source), ${x.skipped} without text; ${x.chunks} chunks; licence ${x.licence} (from ${x.licenceFrom})`,
    ),
    `${r.documents} documents, ${r.chunks} chunks; ${r.embeddedChunks} chunks embedded in ${r.seconds} s (${r.chunksPerSecond} chunks/s); ${r.skippedTotal} files left out (not documents, repeats, redirects)`,
  ];
}

function statsLines(s: RagStats): string[] {
  return [
    `${s.documents} documents, ${s.chunks} chunks, ${s.vectors} vectors`,
    `embedder: ${s.embedder ? `${s.embedder.id} (${s.embedder.dim} dimensions)` : 'not loaded yet'}; vector index ${s.index.state}${s.index.detail ? ` (${s.index.detail})` : ''}`,
    ...s.roots.map((r) => `  ${r.root}: ${r.documents} documents, ${r.licences.join('; ')}`),
  ];
}

/** A progress bar on a terminal (stderr), nothing otherwise. */
function progressBar(
  enabled: boolean,
  unit: string,
): { update: (done: number, total: number) => void; stop: () => void } {
  if (!enabled || !process.stderr.isTTY) return { update: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `{bar} {percentage}% | {value}/{total} ${unit} | {rate}/s | ETA {eta_formatted}`,
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  const t0 = performance.now();
  return {
    update(done, total) {
      if (!started) {
        bar.start(total, 0, { rate: '0' });
        started = true;
      }
      bar.setTotal(total);
      const secs = (performance.now() - t0) / 1000;
      bar.update(done, { rate: secs > 0 ? (done / secs).toFixed(1) : '0' });
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}

export function registerRagCommands(program: Command, ctx: GovernanceCliContext): void {
  const { out, withClient, action, globals } = ctx;
  const rag = program
    .command('rag')
    .description('the retrieval index: licence-checked, provenance-tracked documentation (docs/rag.md)');

  rag
    .command('import')
    .description('import directories of HTML (mdBook, rustdoc) and Markdown, or the local Rust documentation')
    .argument('[paths...]', 'directories to import')
    .option(
      '--rust-docs',
      'the local Rust docs: the Book, the Reference, the Rustonomicon, Rust by Example, the edition guide, the error index',
    )
    .option(
      '--include <part>',
      'with --rust-docs: also "std" (the standard library API docs; large)',
      collect,
    )
    .option('--html-dir <dir>', 'with --rust-docs: the html directory to use instead of searching for it')
    .option('--licence <spdx>', 'the SPDX licence expression of the sources (instead of their licence files)')
    .option('--root <name>', 'the collection name of the one directory imported (default: its base name)')
    .action(
      action(
        async (
          paths: string[],
          opts: { rustDocs?: boolean; include?: string[]; htmlDir?: string; licence?: string; root?: string },
        ) => {
          if (paths.length === 0 && !opts.rustDocs)
            throw new SigilError('BAD_USAGE', 'name the directories to import, or pass --rust-docs');
          if (opts.root !== undefined && paths.length !== 1)
            throw new SigilError('BAD_USAGE', '--root names the collection of exactly one directory');
          for (const part of opts.include ?? [])
            if (part !== 'std')
              throw new SigilError('BAD_USAGE', `--include takes only "std", got ${JSON.stringify(part)}`);
          const bar = progressBar(globals().json !== true, 'documents');
          let r: RagImportResult;
          try {
            r = await withClient('rag import', (c) =>
              c.request(
                'sigil/rag.import',
                {
                  ...(paths.length ? { paths: paths.map((p) => path.resolve(p)) } : {}),
                  ...(opts.rustDocs ? { rustDocs: true } : {}),
                  ...(opts.include?.length ? { include: ['std' as const] } : {}),
                  ...(opts.htmlDir ? { htmlDir: path.resolve(opts.htmlDir) } : {}),
                  ...(opts.licence ? { licence: opts.licence } : {}),
                  ...(opts.root ? { root: opts.root } : {}),
                },
                { onProgress: bar.update },
              ),
            );
          } finally {
            bar.stop();
          }
          out().result({ ok: true, ...r }, () => importLines(r).join('\n'));
        },
      ),
    );

  rag
    .command('query')
    .description('the chunks that best answer a question, as citations (hybrid: BM25 and vectors, fused)')
    .argument('[text]', 'the question')
    .option('--k <n>', 'how many results (default 8)', parseWhole('--k'))
    .option(
      '--queries <file>',
      'a JSON Lines file of {"query": …} (one a line; "-": stdin): prints one JSON result line per query',
    )
    .option('--root <name>', 'only this collection (e.g. rust-docs/book)')
    .action(
      action(async (text: string | undefined, opts: { k?: number; queries?: string; root?: string }) => {
        if ((text === undefined) === (opts.queries === undefined))
          throw new SigilError('BAD_USAGE', 'give a question, or --queries FILE.jsonl (not both)');
        const base = {
          ...(opts.k !== undefined ? { k: opts.k } : {}),
          ...(opts.root ? { filter: { root: opts.root } } : {}),
        };
        if (text !== undefined) {
          const r = await withClient('rag query', (c) => c.request('sigil/rag.query', { text, ...base }));
          out().result(r, () => citationLines(r.hits).join('\n'));
          return;
        }
        const lines = (await readInput(opts.queries!, '--queries')).split('\n');
        const queries: { line: number; query: string; extra: Record<string, unknown> }[] = [];
        lines.forEach((l, i) => {
          if (l.trim() === '') return;
          let v: unknown;
          try {
            v = JSON.parse(l);
          } catch (e) {
            throw new SigilError(
              'BAD_INPUT',
              `--queries ${opts.queries}:${i + 1}: not JSON (${(e as Error).message})`,
            );
          }
          const q = (v as { query?: unknown } | null)?.query;
          if (typeof q !== 'string' || q.trim() === '')
            throw new SigilError(
              'BAD_INPUT',
              `--queries ${opts.queries}:${i + 1}: needs a non-empty "query" string`,
            );
          queries.push({ line: i + 1, query: q, extra: v as Record<string, unknown> });
        });
        await withClient('rag query', async (c) => {
          for (const q of queries) {
            const r = await c.request('sigil/rag.query', { text: q.query, ...base });
            process.stdout.write(
              JSON.stringify({
                ...q.extra,
                query: q.query,
                hits: r.hits.map((h) => ({
                  key: h.key,
                  score: h.score,
                  path: h.source.path,
                  anchor: h.source.anchor,
                  root: h.source.root,
                  url: h.source.url,
                  text: h.text,
                })),
              }) + '\n',
            );
          }
        });
      }),
    );

  rag
    .command('stats')
    .description('documents, chunks, collections and their licences, the embedder, the vector index')
    .action(
      action(async () => {
        const r = await withClient('rag stats', (c) => c.request('sigil/rag.stats', {}));
        out().result(r, () => statsLines(r).join('\n'));
      }),
    );

  rag
    .command('list')
    .description('the documents of the index (of one collection), with their content and source hashes')
    .option('--root <name>', 'only this collection')
    .action(
      action(async (opts: { root?: string }) => {
        const r = await withClient('rag list', (c) =>
          c.request('sigil/rag.documents', opts.root ? { root: opts.root } : {}),
        );
        out().result(r, () =>
          r.documents.length
            ? r.documents
                .map((d) => `${d.key}  ${d.chunks} chunks  ${d.contentSha256.slice(0, 12)}`)
                .join('\n')
            : '(no documents)',
        );
      }),
    );

  rag
    .command('remove')
    .description('remove a document from the index (a signed rag.remove record)')
    .argument('<key>', 'the document key, e.g. rust-docs/book:ch04-02-references-and-borrowing.html')
    .action(
      action(async (key: string) => {
        const r = await withClient('rag remove', (c) => c.request('sigil/rag.remove', { key }));
        out().result({ ok: true, ...r }, () =>
          r.removed ? `removed ${r.key}\n  record ${r.recordId}` : `${r.key} is not in the index`,
        );
      }),
    );

  rag
    .command('rebuild')
    .description('rebuild the vector and lexical indexes from the canon (re-embeds every chunk; root)')
    .action(
      action(async () => {
        const bar = progressBar(globals().json !== true, 'chunks');
        let r: RagStats;
        try {
          r = await withClient('rag rebuild', (c) =>
            c.request('sigil/rag.rebuild', {}, { onProgress: bar.update }),
          );
        } finally {
          bar.stop();
        }
        out().result(r, () => ['rebuilt', ...statsLines(r)].join('\n'));
      }),
    );
}
