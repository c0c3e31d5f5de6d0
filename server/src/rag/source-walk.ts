/**
 * Walks an import root and yields the documents worth chunking: HTML and Markdown pages, minus the pages
 * that only repeat others (mdBook's print.html/toc.html/404.html, redirect stubs, noindex pages, link
 * listings, byte-identical copies) and generator chrome (rustdoc's source view, search index, scripts,
 * fonts). Each document carries the bytes it was hashed from, so what is chunked is what was hashed.
 *
 * Order is deterministic: relative paths in code-unit order, `/`-separated on every platform. Symbolic
 * links are followed only while they resolve inside the root; each directory is entered once.
 */
import { lstat, readdir, readFile, realpath, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { sha256Hex } from '../../../shared/src/hash.js';
import { SigilError } from '../../../shared/src/errors.js';
import { inspectHtml } from './chunk-html.js';
import { isLicenceFileName } from './licence.js';

export type DocumentKind = 'html' | 'markdown';

export interface SourceDocument {
  /** Path below the root, `/`-separated (e.g. `ch04-02-references-and-borrowing.html`). */
  readonly relPath: string;
  readonly absPath: string;
  readonly kind: DocumentKind;
  /** Bytes read. */
  readonly size: number;
  /** SHA-256 of the bytes, 64 lower-case hex digits. */
  readonly sha256: string;
  readonly bytes: Uint8Array;
}

export type SkipReason =
  /** Not .html/.htm/.md/.markdown (scripts, styles, fonts, images, search indexes). */
  | 'not-a-document'
  /** mdBook's print.html / toc.html / 404.html, SUMMARY.md: every page again, or navigation. */
  | 'mdbook-repeat'
  /** rustdoc's source view (`src/**.rs.html`), settings/help pages, static files. */
  | 'rustdoc-non-content'
  /** `<meta http-equiv="refresh">` stub. */
  | 'redirect'
  /** `<meta name="robots" content="noindex">`. */
  | 'noindex'
  /** A page that is only a list of links (all.html, the error code index). */
  | 'pure-list'
  /** Byte-identical to an earlier document of the walk. */
  | 'duplicate'
  /** Matched an `exclude` prefix of the caller. */
  | 'excluded'
  | 'symlink-outside-root'
  | 'too-large'
  | 'unreadable';

export interface SkippedPath {
  readonly relPath: string;
  readonly reason: SkipReason;
  /** The redirect target, the earlier duplicate, the error, … */
  readonly detail?: string;
}

export interface WalkOptions {
  /** Relative path prefixes to leave out (`first-edition/`, `es/`); compared on `/`-separated paths. */
  readonly exclude?: readonly string[];
  /** Larger files are skipped as too-large; default 16 MiB. */
  readonly maxBytes?: number;
  /** Told about every path left out, in walk order. */
  readonly onSkip?: (skipped: SkippedPath) => void;
  readonly signal?: AbortSignal;
}

export const DEFAULT_MAX_DOCUMENT_BYTES = 16 * 1024 * 1024;

const HTML_EXT = /\.html?$/i;
const MARKDOWN_EXT = /\.(md|markdown)$/i;
const MDBOOK_REPEATS = new Set(['print.html', 'toc.html', '404.html', 'summary.md']);
/** rustdoc's generated non-content pages and directories. */
const RUSTDOC_PAGES = new Set(['settings.html', 'help.html', 'scrape-examples-help.html']);
const RUSTDOC_DIRS = new Set(['static.files', 'search.index', 'trait.impl', 'type.impl']);

/** Skip rules that need only the path. */
export function skipByPath(relPath: string): SkipReason | undefined {
  const segments = relPath.split('/');
  const base = segments.at(-1)!.toLowerCase();
  if (!HTML_EXT.test(base) && !MARKDOWN_EXT.test(base)) return 'not-a-document';
  if (MDBOOK_REPEATS.has(base)) return 'mdbook-repeat';
  if (segments.slice(0, -1).some((s) => RUSTDOC_DIRS.has(s))) return 'rustdoc-non-content';
  if (base.endsWith('.rs.html') && segments.slice(0, -1).includes('src')) return 'rustdoc-non-content';
  if (RUSTDOC_PAGES.has(base)) return 'rustdoc-non-content';
  return undefined;
}

/** Skip rules that need the page itself; HTML only. */
export function skipByContent(html: string): { reason: SkipReason; detail?: string } | undefined {
  const info = inspectHtml(html);
  if (info.redirect !== undefined) return { reason: 'redirect', detail: info.redirect };
  if (info.noindex) return { reason: 'noindex' };
  if (info.pureList) return { reason: 'pure-list' };
  return undefined;
}

function isInside(root: string, target: string): boolean {
  const rel = path.relative(root, target);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * The documents below `root`, in sorted order. Throws NOT_FOUND when the root is missing or not a
 * directory; a file that cannot be read is skipped ('unreadable') and the walk goes on.
 */
export async function* walkSource(
  root: string,
  options: WalkOptions = {},
): AsyncGenerator<SourceDocument, void, undefined> {
  let realRoot: string;
  try {
    realRoot = await realpath(root);
    if (!(await stat(realRoot)).isDirectory()) throw new Error('not a directory');
  } catch (e) {
    throw new SigilError(
      'NOT_FOUND',
      `cannot import ${root}: it is not a readable directory (${e instanceof Error ? e.message : String(e)}); pass the directory that holds the documents`,
      { reason: 'source-missing', file: root },
      { cause: e },
    );
  }
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_DOCUMENT_BYTES;
  const exclude = (options.exclude ?? []).map((p) => p.replace(/^\.?\/+/, ''));
  const seenHashes = new Map<string, string>();
  const seenDirs = new Set<string>([realRoot]);
  const skip = (relPath: string, reason: SkipReason, detail?: string): void =>
    options.onSkip?.(detail === undefined ? { relPath, reason } : { relPath, reason, detail });

  async function* walkDir(absDir: string, relDir: string): AsyncGenerator<SourceDocument, void, undefined> {
    if (options.signal?.aborted === true)
      throw new SigilError('CANCELLED', `the walk of ${root} was cancelled at ${relDir || '.'}`, {
        reason: 'walk-cancelled',
        file: root,
      });
    let names: string[];
    try {
      names = await readdir(absDir);
    } catch (e) {
      skip(relDir === '' ? '.' : relDir, 'unreadable', e instanceof Error ? e.message : String(e));
      return;
    }
    // Sorting directories as "name/" makes the walk's order exactly the sorted order of full paths.
    const entries: { name: string; abs: string; rel: string; dir: boolean; key: string }[] = [];
    for (const name of names) {
      const abs = path.join(absDir, name);
      const rel = relDir === '' ? name : `${relDir}/${name}`;
      let info = await lstat(abs).catch(() => undefined);
      if (info === undefined) {
        skip(rel, 'unreadable', 'vanished or unreadable');
        continue;
      }
      let target = abs;
      if (info.isSymbolicLink()) {
        const resolved = await realpath(abs).catch(() => undefined);
        if (resolved === undefined || !isInside(realRoot, resolved)) {
          skip(rel, 'symlink-outside-root', resolved ?? 'dangling link');
          continue;
        }
        target = resolved;
        info = await stat(resolved).catch(() => undefined);
        if (info === undefined) {
          skip(rel, 'unreadable', 'dangling link');
          continue;
        }
      }
      if (!info.isDirectory() && !info.isFile()) continue;
      const dir = info.isDirectory();
      entries.push({ name, abs: target, rel, dir, key: dir ? `${name}/` : name });
    }
    entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    for (const entry of entries) {
      const relKey = entry.dir ? `${entry.rel}/` : entry.rel;
      if (exclude.some((p) => relKey.startsWith(p))) {
        skip(entry.rel, 'excluded');
        continue;
      }
      if (entry.dir) {
        const real = await realpath(entry.abs).catch(() => entry.abs);
        if (seenDirs.has(real)) continue;
        seenDirs.add(real);
        yield* walkDir(entry.abs, entry.rel);
        continue;
      }
      const byPath = skipByPath(entry.rel);
      if (byPath !== undefined) {
        skip(entry.rel, byPath);
        continue;
      }
      const document = await readDocument(entry.abs, entry.rel);
      if (document !== undefined) yield document;
    }
  }

  async function readDocument(absPath: string, relPath: string): Promise<SourceDocument | undefined> {
    let bytes: Uint8Array;
    try {
      const size = (await stat(absPath)).size;
      if (size > maxBytes) {
        skip(relPath, 'too-large', `${size} bytes > ${maxBytes}`);
        return undefined;
      }
      bytes = new Uint8Array(await readFile(absPath));
    } catch (e) {
      skip(relPath, 'unreadable', e instanceof Error ? e.message : String(e));
      return undefined;
    }
    const kind: DocumentKind = HTML_EXT.test(relPath) ? 'html' : 'markdown';
    if (kind === 'html') {
      const byContent = skipByContent(new TextDecoder().decode(bytes));
      if (byContent !== undefined) {
        skip(relPath, byContent.reason, byContent.detail);
        return undefined;
      }
    }
    const sha256 = sha256Hex(bytes);
    const earlier = seenHashes.get(sha256);
    if (earlier !== undefined) {
      skip(relPath, 'duplicate', earlier);
      return undefined;
    }
    seenHashes.set(sha256, relPath);
    return { relPath, absPath, kind, size: bytes.length, sha256, bytes };
  }

  yield* walkDir(realRoot, '');
}

/** Collects a walk: the documents and what was left out (for reports and tests). */
export async function listSource(
  root: string,
  options: Omit<WalkOptions, 'onSkip'> = {},
): Promise<{ documents: SourceDocument[]; skipped: SkippedPath[] }> {
  const documents: SourceDocument[] = [];
  const skipped: SkippedPath[] = [];
  for await (const d of walkSource(root, { ...options, onSkip: (s) => skipped.push(s) })) documents.push(d);
  return { documents, skipped };
}

/**
 * The licence files at the top of `root` (names per licence.ts's isLicenceFileName), as
 * resolveLicence's `files`: name → text. Files over 1 MiB are not licence texts and are left out.
 */
export async function readLicenceFiles(root: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  const names = (await readdir(root).catch(() => [] as string[])).sort();
  for (const name of names) {
    if (!isLicenceFileName(name)) continue;
    const abs = path.join(root, name);
    const info = await stat(abs).catch(() => undefined);
    if (info === undefined || !info.isFile() || info.size > 1024 * 1024) continue;
    files[name] = await readFile(abs, 'utf8');
  }
  return files;
}
