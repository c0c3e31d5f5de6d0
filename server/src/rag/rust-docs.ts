/**
 * Where the Rust documentation is on this machine, and the doc.rust-lang.org address of any page of it.
 *
 * Two installs are known: rustup's rust-docs component (`$(rustc --print sysroot)/share/doc/rust/html`)
 * and Debian's rust-doc package (`/usr/share/doc/rust-doc/html`). Each book is an mdBook directory below
 * the html root; std is rustdoc output and is returned only when asked for (it is large, and API pages
 * suit a different retrieval than prose).
 */
import { execFile } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { SigilError } from '../../../shared/src/errors.js';

export const RUST_DOC_BOOKS = [
  'book',
  'reference',
  'nomicon',
  'rust-by-example',
  'edition-guide',
  'error_codes',
] as const;

export type RustDocBook = (typeof RUST_DOC_BOOKS)[number] | 'std';

/** Key of BUILTIN_LICENCES (licence.ts) for each book; resolve with resolveLicence({ root, builtin }): the licence of the Rust project's docs. */
export const RUST_DOC_LICENCE_KEYS: Readonly<Record<RustDocBook, string>> = Object.freeze({
  book: 'rust-book',
  reference: 'rust-reference',
  nomicon: 'rust-nomicon',
  'rust-by-example': 'rust-by-example',
  'edition-guide': 'rust-edition-guide',
  error_codes: 'rust-error-index',
  std: 'rust-std',
});

/**
 * Directories of a book that only repeat it: the book's legacy editions (first-edition/, second-edition/,
 * 2018-edition/ are stubs saying "no longer distributed", pointing to the current chapter) and Rust by
 * Example's translations (es/, ja/, ko/, zh/: the same examples in other languages). Found by looking,
 * not listed, since both sets change between releases: any top-level subdirectory with its own toc.html
 * is a nested mdBook.
 */
async function nestedBooks(root: string, names: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const name of names) {
    if (await isFile(path.join(root, name, 'toc.html'))) out.push(`${name}/`);
  }
  return out;
}

export interface RustDocRoot {
  readonly book: RustDocBook;
  /** Absolute directory of the book. */
  readonly root: string;
  /** `https://doc.rust-lang.org/<book>/`. */
  readonly urlBase: string;
  /** Key of BUILTIN_LICENCES to resolve the book's licence with. */
  readonly licenceKey: string;
  /** Relative prefixes to pass to walkSource's `exclude`. */
  readonly exclude: readonly string[];
}

export type RustDocsOrigin = 'rustup' | 'debian' | 'explicit';

export interface RustDocsLocation {
  /** The html directory the books were found in. */
  readonly htmlDir: string;
  readonly origin: RustDocsOrigin;
  /** The requested books that exist, in RUST_DOC_BOOKS order (std last). */
  readonly books: readonly RustDocRoot[];
  /** Requested books not present in htmlDir. */
  readonly missing: readonly RustDocBook[];
}

export interface LocateOptions {
  /** `['std']` adds the standard library API docs. */
  readonly include?: readonly 'std'[];
  /** Use this html directory instead of searching. */
  readonly htmlDir?: string;
  /** The rustc to ask for its sysroot; default `rustc` on PATH. */
  readonly rustc?: string;
  /** Limit for `rustc --print sysroot`; default 10 s (rustup may sync a toolchain first). */
  readonly timeoutMs?: number;
  /** Debian's location; replaceable for tests. */
  readonly debianDir?: string;
}

export const DEBIAN_RUST_DOCS = '/usr/share/doc/rust-doc/html';
const DEFAULT_TIMEOUT_MS = 10_000;
const URL_ROOT = 'https://doc.rust-lang.org';

async function isDir(p: string): Promise<boolean> {
  return (await stat(p).catch(() => undefined))?.isDirectory() ?? false;
}
async function isFile(p: string): Promise<boolean> {
  return (await stat(p).catch(() => undefined))?.isFile() ?? false;
}

/** `rustc --print sysroot`, or why not (not installed, timed out, failed). */
export function rustSysroot(
  rustc = 'rustc',
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<{ sysroot: string } | { error: string }> {
  return new Promise((resolve) => {
    execFile(
      rustc,
      ['--print', 'sysroot'],
      { timeout: timeoutMs, encoding: 'utf8', windowsHide: true, maxBuffer: 64 * 1024 },
      (error, stdout, stderr) => {
        if (error === null) {
          const sysroot = stdout.trim();
          resolve(sysroot === '' ? { error: `${rustc} printed no sysroot` } : { sysroot });
          return;
        }
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') resolve({ error: `${rustc} is not on PATH` });
        else if (error.killed === true)
          resolve({ error: `${rustc} --print sysroot did not answer within ${timeoutMs} ms` });
        else
          resolve({
            error: `${rustc} --print sysroot failed: ${(stderr.trim() || error.message).slice(0, 300)}`,
          });
      },
    );
  });
}

/** The books present in one html directory. */
async function booksIn(htmlDir: string, wanted: readonly RustDocBook[]): Promise<RustDocRoot[]> {
  const found: RustDocRoot[] = [];
  for (const book of wanted) {
    const root = path.join(htmlDir, book);
    if (!(await isFile(path.join(root, 'index.html')))) continue;
    const subdirs = book === 'std' ? [] : await readdir(root).catch(() => [] as string[]);
    found.push({
      book,
      root,
      urlBase: `${URL_ROOT}/${book}/`,
      licenceKey: RUST_DOC_LICENCE_KEYS[book],
      exclude: await nestedBooks(root, subdirs.sort()),
    });
  }
  return found;
}

/**
 * Finds the local Rust documentation: rustup's first, then Debian's (or `htmlDir` alone). Returns the
 * first location that has at least one requested book, with the others it lacks in `missing`. Throws
 * NOT_FOUND, saying what was searched and how to install the docs, when none has any.
 */
export async function locateRustDocs(options: LocateOptions = {}): Promise<RustDocsLocation> {
  const wanted: RustDocBook[] = [...RUST_DOC_BOOKS];
  if (options.include?.includes('std') === true) wanted.push('std');
  const candidates: { dir: string; origin: RustDocsOrigin }[] = [];
  const searched: string[] = [];
  if (options.htmlDir !== undefined) candidates.push({ dir: options.htmlDir, origin: 'explicit' });
  else {
    const rustc = options.rustc ?? 'rustc';
    const sysroot = await rustSysroot(rustc, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    if ('sysroot' in sysroot)
      candidates.push({ dir: path.join(sysroot.sysroot, 'share', 'doc', 'rust', 'html'), origin: 'rustup' });
    else searched.push(`the rustup sysroot (${sysroot.error})`);
    candidates.push({ dir: options.debianDir ?? DEBIAN_RUST_DOCS, origin: 'debian' });
  }
  for (const { dir, origin } of candidates) {
    if (!(await isDir(dir))) {
      searched.push(`${dir} (missing)`);
      continue;
    }
    const books = await booksIn(dir, wanted);
    if (books.length === 0) {
      searched.push(`${dir} (none of ${wanted.join(', ')})`);
      continue;
    }
    const present = new Set(books.map((b) => b.book));
    return { htmlDir: dir, origin, books, missing: wanted.filter((b) => !present.has(b)) };
  }
  throw new SigilError(
    'NOT_FOUND',
    `no local Rust documentation found; searched ${searched.join('; ')}. Install it with \`rustup component add rust-docs\` (rustup) or \`apt install rust-doc\` (Debian/Ubuntu), or name the html directory explicitly`,
    { reason: 'rust-docs-missing', searched, books: wanted },
  );
}

// ---------------------------------------------------------------------------------------------------------
// URLs

/**
 * Characters a URL path or fragment cannot hold as they are. `%` is kept: rustdoc's ids are already
 * percent-encoded (`impl-Option%3CT%3E`) and its own links use them unchanged.
 */
const encodeLoose = (s: string): string =>
  s.replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@%/]/gu, (c) => {
    try {
      return encodeURIComponent(c);
    } catch {
      return '%EF%BF%BD'; // a lone surrogate: U+FFFD, as a browser would send it
    }
  });

/**
 * The published address of a page of a local book: `rustDocUrl('book',
 * 'ch04-02-references-and-borrowing.html', 'the-rules-of-references')` →
 * `https://doc.rust-lang.org/book/ch04-02-references-and-borrowing.html#the-rules-of-references`.
 * Throws BAD_INPUT for a path that is absolute or leaves the book.
 */
export function rustDocUrl(book: RustDocBook, relPath: string, anchor = ''): string {
  const rel = relPath.replace(/\\/g, '/').replace(/^\.\/+/, '');
  const segments = rel.split('/');
  if (rel === '' || rel.startsWith('/') || segments.some((s) => s === '..' || s === ''))
    throw new SigilError(
      'BAD_INPUT',
      `cannot make a doc.rust-lang.org address for ${JSON.stringify(relPath)} in ${book}: the path must be relative to the book and stay inside it`,
      { reason: 'rust-doc-path', book, path: relPath },
    );
  const fragment = anchor.replace(/^#/, '');
  return `${URL_ROOT}/${book}/${segments.map(encodeLoose).join('/')}${fragment === '' ? '' : `#${encodeLoose(fragment)}`}`;
}
