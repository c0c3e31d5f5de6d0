/**
 * HTML pages of mdBook books (the Rust book, reference, nomicon, Rust by Example, edition guide, error
 * index) and rustdoc API pages (std) into heading-following chunks. Pure: the caller passes the text.
 *
 * One streaming htmlparser2 pass turns the page into events (headings and text blocks), each marked with
 * the content roots it lies in (`<body>`, `<main>`, rustdoc's `<section id="main-content">`); the
 * innermost root present wins, so navigation outside it never reaches a chunk even when a page's chrome
 * changes. Elements that are chrome wherever they appear (nav, sidebars, scripts, rustdoc's "§" and
 * "Source" links) are dropped on the way.
 */
import { Parser } from 'htmlparser2';
import {
  AnchorRegistry,
  packSections,
  slugify,
  type Block,
  type ChunkOptions,
  type ChunkResult,
  type Section,
} from './chunk.js';

export type HtmlFlavour = 'mdbook' | 'rustdoc' | 'html';

export interface HtmlPageInfo {
  /** `<title>`, whitespace collapsed; '' when there is none. */
  readonly title: string;
  readonly flavour: HtmlFlavour;
  /** Target of a `<meta http-equiv="refresh">` redirect stub. */
  readonly redirect?: string;
  /** `<meta name="robots" content="noindex">`: the page asks not to be indexed (mdBook print/toc, old links). */
  readonly noindex: boolean;
  /** The content is (almost) only a list of links, e.g. rustdoc's all.html or the error code index. */
  readonly pureList: boolean;
}

export interface HtmlChunkResult extends ChunkResult {
  readonly info: HtmlPageInfo;
}

// ---------------------------------------------------------------------------------------------------------
// What is chrome, what is a block

/** Never content, wherever they are. `head` is skipped too; the title is read on its own. */
const SKIP_TAGS = new Set([
  'head',
  'script',
  'style',
  'noscript',
  'template',
  'nav',
  'svg',
  'iframe',
  'button',
  'input',
  'select',
  'textarea',
  'object',
  'rustdoc-toolbar',
  'rustdoc-search',
  'mdbook-sidebar-scrollbox',
]);

const SKIP_CLASSES = new Set([
  // mdBook
  'sidebar',
  'nav-chapters',
  'mobile-nav-chapters',
  'nav-wrapper',
  'nav-wide-wrapper',
  'menu-bar',
  // rustdoc: "§" links, "1.0.0 · Source", breadcrumbs, "Expand description", run-this-example arrows
  'anchor',
  'doc-anchor',
  'rightside',
  'sub-heading',
  'rustdoc-breadcrumbs',
  'hideme',
  'test-arrow',
  'tooltip',
  'notable-traits',
  'out-of-band',
  // The Reference's rule labels ("[expr.if.syntax]") before each paragraph: ids for citing, noise in a passage
  'rule-link',
]);

const SKIP_IDS = new Set([
  'sidebar',
  'menu-bar',
  'mdbook-sidebar',
  'mdbook-menu-bar',
  'mdbook-menu-bar-hover-placeholder',
  'search-wrapper',
  'mdbook-search-wrapper',
  'copy-path',
  // rustdoc's auto-trait and blanket impls repeat on every type's page (Send, Sync, Any, From<T>, …).
  'synthetic-implementations',
  'synthetic-implementations-list',
  'blanket-implementations',
  'blanket-implementations-list',
]);

/** Opening or closing one of these ends the current block of inline text. */
const BLOCK_TAGS = new Set([
  'address',
  'article',
  'aside',
  'blockquote',
  'body',
  'dd',
  'details',
  'dialog',
  'div',
  'dl',
  'dt',
  'fieldset',
  'figcaption',
  'figure',
  'footer',
  'form',
  'header',
  'hgroup',
  'hr',
  'li',
  'main',
  'ol',
  'p',
  'section',
  'summary',
  'table',
  'tbody',
  'tfoot',
  'thead',
  'tr',
  'ul',
]);

const HEADING = /^h([1-6])$/;

/**
 * rustdoc lists of trait impls (a type's "Trait Implementations", a trait's "Implementors"): the impl
 * headers are kept as one listing under the section's heading, and the methods below them dropped — their
 * docs are the trait's own ("Returns a duplicate of the value. Read more"), repeated on every type.
 */
const IMPL_LIST_IDS = new Set(['trait-implementations-list', 'implementors-list']);

// ---------------------------------------------------------------------------------------------------------
// Events

/** Bit per content root: the event lies inside it. */
const IN_BODY = 1;
const IN_MAIN = 2;
const IN_RUSTDOC_MAIN = 4;

type PageEvent =
  | {
      readonly type: 'heading';
      readonly roots: number;
      readonly level: number;
      readonly text: string;
      /** The id the page gives the heading, '' when it has none. */
      readonly id: string;
      /** A rustdoc item's signature (`h4.code-header` in `section#method.foo`, a struct field). */
      readonly item: boolean;
      /** An impl header inside a list of trait impls: a line of that list, not a section of its own. */
      readonly listed: boolean;
    }
  | { readonly type: 'block'; readonly roots: number; readonly text: string; readonly code: boolean };

interface Frame {
  readonly name: string;
  readonly skip: boolean;
  readonly root: number;
  readonly id: string;
  readonly header: boolean;
  readonly pre: boolean;
  readonly heading: boolean;
  readonly listItem: boolean;
  readonly link: boolean;
  readonly implList: boolean;
}

interface HeadingCapture {
  readonly level: number;
  readonly item: boolean;
  readonly listed: boolean;
  readonly roots: number;
  id: string;
  readonly parts: string[];
}

interface Extraction {
  readonly events: PageEvent[];
  readonly info: HtmlPageInfo;
  /** Which content root the events should be taken from. */
  readonly root: number;
}

function classList(attribs: Readonly<Record<string, string>>): string[] {
  return (attribs.class ?? '').split(/\s+/).filter((c) => c !== '');
}

const collapse = (text: string): string => text.replace(/\s+/g, ' ').trim();

/** One streaming pass over the page; never throws on malformed markup (htmlparser2 recovers). */
function extract(html: string): Extraction {
  const events: PageEvent[] = [];
  const stack: Frame[] = [];
  let skipDepth = 0;
  let roots = 0;
  let rootsSeen = 0;
  let title = '';
  let inTitle = false;
  let redirect: string | undefined;
  let noindex = false;
  let rustdoc = false;
  const mdbook = /<!--\s*Book generated using mdBook/i.test(html.slice(0, 2000));
  let inline: string[] = [];
  let pre: string[] | undefined;
  let preDepth = 0;
  let heading: HeadingCapture | undefined;
  // Pure-list statistics per content root: all text, text of links inside list items, list items.
  const textChars = [0, 0, 0, 0, 0, 0, 0, 0];
  const listLinkChars = [0, 0, 0, 0, 0, 0, 0, 0];
  const listItems = [0, 0, 0, 0, 0, 0, 0, 0];
  let linkDepth = 0;
  let listItemDepth = 0;
  let implListDepth = 0;

  const count = (counter: number[], n: number): void => {
    for (const bit of [IN_BODY, IN_MAIN, IN_RUSTDOC_MAIN]) if ((roots & bit) !== 0) counter[bit]! += n;
  };

  const flush = (): void => {
    const text = collapse(inline.join(''));
    inline = [];
    if (text !== '') events.push({ type: 'block', roots, text, code: false });
  };

  const endHeading = (): void => {
    if (heading === undefined) return;
    const text = collapse(heading.parts.join(''));
    events.push({
      type: 'heading',
      roots: heading.roots,
      level: heading.level,
      text,
      id: heading.id,
      item: heading.item,
      listed: heading.listed,
    });
    heading = undefined;
  };

  const parser = new Parser(
    {
      onopentag(name, attribs) {
        if (name === 'meta') {
          const equiv = (attribs['http-equiv'] ?? '').toLowerCase();
          const content = attribs.content ?? '';
          if (equiv === 'refresh') redirect = /url\s*=\s*['"]?([^'"\s]+)/i.exec(content)?.[1] ?? content;
          if ((attribs.name ?? '').toLowerCase() === 'robots' && /noindex/i.test(content)) noindex = true;
          if ((attribs.name ?? '').toLowerCase() === 'generator' && /rustdoc/i.test(content)) rustdoc = true;
        }
        if (name === 'title' && heading === undefined && title === '') inTitle = true;
        const classes = classList(attribs);
        const id = attribs.id ?? '';
        const skip =
          SKIP_TAGS.has(name) ||
          SKIP_IDS.has(id) ||
          classes.some((c) => SKIP_CLASSES.has(c)) ||
          (name === 'a' && classes.includes('src')) ||
          (implListDepth > 0 && classes.includes('impl-items'));
        let root = 0;
        if (name === 'body') root = IN_BODY;
        else if (name === 'main') root = IN_MAIN;
        else if (name === 'section' && id === 'main-content') root = IN_RUSTDOC_MAIN;
        if (root === IN_RUSTDOC_MAIN) rustdoc = true;
        const headingMatch = HEADING.exec(name);
        const structField = classes.includes('structfield') && id !== '';
        const frame: Frame = {
          name,
          skip,
          root,
          id,
          header: name === 'a' && classes.includes('header'),
          pre: name === 'pre',
          heading: (headingMatch !== null || structField) && skipDepth === 0 && !skip,
          listItem: name === 'li',
          link: name === 'a',
          implList: IMPL_LIST_IDS.has(id),
        };
        stack.push(frame);
        if (skip) skipDepth++;
        if (skipDepth > 0) return;
        // rustdoc puts where clauses in their own span right after the type: "Option<T> where T: Clone".
        if (classes.includes('where')) (heading?.parts ?? (preDepth > 0 ? pre : inline))?.push(' ');
        roots |= root;
        rootsSeen |= root;
        if (frame.link) linkDepth++;
        if (frame.implList) implListDepth++;
        if (frame.listItem) {
          listItemDepth++;
          count(listItems, 1);
        }
        if (frame.heading && preDepth === 0) {
          flush();
          endHeading();
          // A heading's own id first; else (below) its `a.header`; else the enclosing section's id.
          heading = {
            level: headingMatch !== null ? Number(headingMatch[1]) : 3,
            item: structField || classes.includes('code-header'),
            listed: implListDepth > 0,
            roots,
            id: id !== '' ? id : enclosingId(stack),
            parts: [],
          };
          return;
        }
        if (heading !== undefined) {
          if (frame.header && heading.id === '')
            heading.id = id !== '' ? id : (attribs.href ?? '').replace(/^#/, '');
          return;
        }
        if (frame.pre) {
          if (preDepth === 0) {
            flush();
            pre = [];
          }
          preDepth++;
          return;
        }
        if (preDepth > 0) {
          if (name === 'br') pre?.push('\n');
          return;
        }
        if (BLOCK_TAGS.has(name)) flush();
        else if (name === 'br') inline.push('\n');
        // Cells of a row stay one block (the row), so a table row reads as one line.
        if ((name === 'td' || name === 'th') && inline.join('').trim() !== '') inline.push(' | ');
      },
      ontext(data) {
        if (inTitle) {
          title += data;
          return;
        }
        if (skipDepth > 0) return;
        const visible = data.replace(/\s+/g, '').length;
        count(textChars, visible);
        if (linkDepth > 0 && listItemDepth > 0) count(listLinkChars, visible);
        if (heading !== undefined) heading.parts.push(data);
        else if (preDepth > 0) pre?.push(data);
        else inline.push(data);
      },
      onclosetag(name) {
        if (name === 'title') inTitle = false;
        // htmlparser2 closes implied elements itself, in order; an unmatched close tag is ignored by it.
        let index = stack.length - 1;
        while (index >= 0 && stack[index]!.name !== name) index--;
        if (index < 0) return;
        while (stack.length > index) {
          const frame = stack.pop()!;
          closeFrame(frame);
        }
      },
    },
    { decodeEntities: true },
  );

  function closeFrame(frame: Frame): void {
    if (frame.skip) {
      skipDepth--;
      return;
    }
    if (skipDepth > 0) return;
    if (frame.link) linkDepth--;
    if (frame.implList) implListDepth--;
    if (frame.listItem) listItemDepth--;
    if (frame.heading && heading !== undefined) endHeading();
    else if (frame.pre && preDepth > 0) {
      preDepth--;
      if (preDepth === 0) {
        const text = (pre ?? []).join('');
        pre = undefined;
        if (text.trim() !== '') events.push({ type: 'block', roots, text, code: true });
      }
    } else if (preDepth === 0 && heading === undefined && BLOCK_TAGS.has(frame.name)) flush();
    if (frame.root !== 0) {
      flush();
      roots &= ~frame.root;
    }
  }

  parser.write(html);
  parser.end();
  flush();
  endHeading();
  if (pre !== undefined && pre.join('').trim() !== '')
    events.push({ type: 'block', roots, text: pre.join(''), code: true });

  const root =
    (rootsSeen & IN_RUSTDOC_MAIN) !== 0
      ? IN_RUSTDOC_MAIN
      : (rootsSeen & IN_MAIN) !== 0
        ? IN_MAIN
        : (rootsSeen & IN_BODY) !== 0
          ? IN_BODY
          : 0;
  const flavour: HtmlFlavour = rustdoc ? 'rustdoc' : mdbook ? 'mdbook' : 'html';
  const total = textChars[root] ?? 0;
  // Headings of the list itself ("List of all items", "Structs") count against it; 10 items at least so a
  // short "see also" page is not mistaken for an index.
  const pureList = (listItems[root] ?? 0) >= 10 && total > 0 && (listLinkChars[root] ?? 0) / total >= 0.8;
  const info: HtmlPageInfo = {
    title: collapse(title),
    flavour,
    ...(redirect !== undefined ? { redirect } : {}),
    noindex,
    pureList,
  };
  return { events, info, root };
}

/** The id of the nearest enclosing `<section id>` or `<a class="header" id>`, where rustdoc and old mdBook put it. */
function enclosingId(stack: readonly Frame[]): string {
  for (let i = stack.length - 2; i >= 0; i--) {
    const f = stack[i]!;
    if ((f.name === 'section' && f.id !== 'main-content') || f.header) if (f.id !== '') return f.id;
  }
  return '';
}

// ---------------------------------------------------------------------------------------------------------
// Sections

interface OpenSection {
  headingPath: string[];
  anchor: string;
  blocks: Block[];
  level: number;
  item: boolean;
}

/**
 * Headings start sections, nested by level. In rustdoc pages a heading inside an item's docs ("Examples"
 * under a method) stays part of the item's chunk: one chunk per item, with its signature and its docs.
 */
function toSections(events: readonly PageEvent[], root: number, rustdoc: boolean): Section[] {
  const anchors = new AnchorRegistry();
  const stack: { level: number; text: string }[] = [];
  const sections: OpenSection[] = [];
  let current: OpenSection = { headingPath: [], anchor: '', blocks: [], level: 0, item: false };
  sections.push(current);
  for (const e of events) {
    if (root !== 0 && (e.roots & root) === 0) continue;
    if (e.type === 'block') {
      current.blocks.push({ text: e.text, code: e.code });
      continue;
    }
    if (rustdoc && e.listed) {
      current.blocks.push({ text: e.text, code: true });
      continue;
    }
    if (rustdoc && current.item && !e.item && e.level > current.level) {
      current.blocks.push({ text: e.text, code: false });
      continue;
    }
    // An h1 without an id that opens the page is the page itself: its anchor is the top ('').
    const pageTop = e.id === '' && e.level === 1 && sections.length === 1 && sections[0]!.blocks.length === 0;
    while (stack.length > 0 && stack.at(-1)!.level >= e.level) stack.pop();
    stack.push({ level: e.level, text: e.text });
    current = {
      headingPath: stack.map((h) => h.text),
      anchor: pageTop ? '' : anchors.claim(e.id !== '' ? e.id : slugify(e.text)),
      // A rustdoc item's signature is the first thing its chunk says.
      blocks: e.item && e.text !== '' ? [{ text: e.text, code: true }] : [],
      level: e.level,
      item: e.item,
    };
    sections.push(current);
  }
  // An impl header alone ("impl<T> Option<T>") says nothing its methods' heading paths do not.
  return sections.filter((s, i) => {
    const next = sections[i + 1];
    return !(s.item && s.blocks.length <= 1 && next !== undefined && next.level > s.level);
  });
}

// ---------------------------------------------------------------------------------------------------------
// Public API

/** Title, flavour, redirect/noindex/pure-list flags of a page, without chunking it (for the source walker). */
export function inspectHtml(html: string): HtmlPageInfo {
  try {
    return extract(html).info;
  } catch {
    return { title: '', flavour: 'html', noindex: false, pureList: false };
  }
}

/**
 * Chunks an HTML page along its headings. Never throws: a page that yields nothing (a redirect stub, no
 * text, a parser failure) gives zero chunks and the reason.
 */
export function chunkHtml(html: string, options?: ChunkOptions): HtmlChunkResult {
  let extraction: Extraction;
  try {
    extraction = extract(html);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    return {
      chunks: [],
      reason: `cannot parse the HTML: ${why}`,
      info: { title: '', flavour: 'html', noindex: false, pureList: false },
    };
  }
  const { events, info, root } = extraction;
  if (info.redirect !== undefined) return { chunks: [], reason: `redirect stub to ${info.redirect}`, info };
  const sections = toSections(events, root, info.flavour === 'rustdoc');
  const firstHeading = sections.find((s) => s.headingPath.length > 0)?.headingPath[0] ?? '';
  const chunks = packSections(sections, info.title !== '' ? info.title : firstHeading, options);
  return chunks.length > 0 ? { chunks, info } : { chunks, reason: 'the page has no text content', info };
}
