/**
 * Throwaway page-section loader for the retrieval evaluation only (the production HTML chunker is another
 * module): takes each mdBook page's <main>, splits it at every <h1>/<h2>/<h3> that has an id, strips tags and
 * yields one document per section with its path (relative to the docs root) and the heading's id as anchor.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

export interface DocSection {
  /** `<path>#<anchor>` (or `<path>` for text before the first heading). */
  readonly id: string;
  readonly path: string;
  readonly anchor?: string;
  readonly title: string;
  readonly pageTitle: string;
  readonly text: string;
}

export const BOOKS = [
  'book',
  'reference',
  'nomicon',
  'rust-by-example',
  'edition-guide',
  'error_codes',
] as const;
const SKIP_FILES = new Set(['print.html', 'toc.html', 'SUMMARY.html', '404.html']);
// The book's old editions are "this page has moved" stubs.
const SKIP_DIRS = new Set(['2018-edition', 'first-edition', 'second-edition']);

export function rustDocsRoot(): string {
  const env = process.env.RUST_DOCS_HTML;
  if (env !== undefined && env !== '') return env;
  const sysroot = execFileSync('rustc', ['--print', 'sysroot'], { encoding: 'utf8' }).trim();
  return path.join(sysroot, 'share', 'doc', 'rust', 'html');
}

function htmlFiles(dir: string, rel: string, out: string[]): void {
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    const r = rel === '' ? name : `${rel}/${name}`;
    if (statSync(full).isDirectory()) {
      if (!SKIP_DIRS.has(name)) htmlFiles(full, r, out);
    } else if (name.endsWith('.html') && !SKIP_FILES.has(name)) out.push(r);
  }
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

function decode(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) => {
    if (e[0] === '#')
      return String.fromCodePoint(
        e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10),
      );
    return ENTITIES[e.toLowerCase()] ?? m;
  });
}

function stripTags(html: string): string {
  return decode(html.replace(/<(script|style)[\s\S]*?<\/\1>/gi, ' ').replace(/<[^>]+>/g, ' '))
    .replace(/\s+/g, ' ')
    .trim();
}

const HEADING = /<h([1-3])\s+id="([^"]+)"[^>]*>([\s\S]*?)<\/h\1>/gi;

export function loadSections(root = rustDocsRoot(), books: readonly string[] = BOOKS): DocSection[] {
  const sections: DocSection[] = [];
  for (const book of books) {
    const files: string[] = [];
    htmlFiles(path.join(root, book), book, files);
    files.sort();
    for (const rel of files) {
      const html = readFileSync(path.join(root, rel), 'utf8');
      const main = /<main>([\s\S]*?)<\/main>/i.exec(html)?.[1];
      if (main === undefined) continue;
      const pageTitle = stripTags(/<title>([\s\S]*?)<\/title>/i.exec(html)?.[1] ?? rel);
      const cuts: { index: number; end: number; anchor: string; title: string }[] = [];
      for (const m of main.matchAll(HEADING))
        cuts.push({
          index: m.index,
          end: m.index + m[0].length,
          anchor: m[2] ?? '',
          title: stripTags(m[3] ?? ''),
        });
      const push = (anchor: string | undefined, title: string, body: string): void => {
        const text = stripTags(body);
        if (text.length < 40) return;
        sections.push({
          id: anchor === undefined ? rel : `${rel}#${anchor}`,
          path: rel,
          ...(anchor === undefined ? {} : { anchor }),
          title,
          pageTitle,
          text,
        });
      };
      push(undefined, pageTitle, main.slice(0, cuts[0]?.index ?? main.length));
      cuts.forEach((c, i) => push(c.anchor, c.title, main.slice(c.end, cuts[i + 1]?.index ?? main.length)));
    }
  }
  return sections;
}
