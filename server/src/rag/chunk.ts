/**
 * The chunk shape shared by the HTML and Markdown chunkers, and the part they share: packing the blocks
 * of each heading's section into chunks of bounded length. Pure: no I/O.
 *
 * A chunker turns a page into sections (one per heading, plus the text before the first heading), each a
 * list of blocks (paragraphs, list items, table rows, code blocks). Chunks never span two sections, so
 * every chunk has one heading path and one anchor that `page.html#anchor` opens.
 */

export interface Chunk {
  /** The section's body text: blocks separated by a blank line; code keeps its newlines. */
  readonly text: string;
  /** The page's title (HTML `<title>`, else the first heading). */
  readonly title: string;
  /** The headings above this text, outermost first (h1 > h2 > h3); empty before the first heading. */
  readonly headingPath: readonly string[];
  /** Fragment id of the section (no `#`); '' for the text before the first heading (top of the page). */
  readonly anchor: string;
  /** Position of the chunk in the page, from 0. */
  readonly ordinal: number;
}

export interface ChunkOptions {
  /**
   * Longest chunk, in UTF-16 code units (JavaScript string length). Only an unsplittable unit may be
   * longer: one code line, or one run of text without whitespace.
   */
  readonly maxChars?: number;
  /** Chunks shorter than this are merged into a neighbour of the same section when the result fits. */
  readonly minChars?: number;
}

/**
 * 1200: two or three paragraphs of the Rust books (their paragraphs are mostly 200–600 characters), about
 * 250–350 tokens — a passage that still reads on its own, short enough that a handful fit an LLM prompt
 * and that one embedding is not diluted by unrelated subsections.
 */
export const DEFAULT_MAX_CHARS = 1200;
/** Below this a chunk is a fragment (a one-line "Examples:" or a lone signature) better read with its neighbour. */
export const DEFAULT_MIN_CHARS = 200;
/** Smaller maxima would cut most sentences; they are raised to this. */
export const MIN_MAX_CHARS = 40;

export interface ChunkResult {
  readonly chunks: readonly Chunk[];
  /** Why there are no chunks (malformed input, a redirect, a page with no text), when there are none. */
  readonly reason?: string;
}

/** One unit of text the packer does not cut unless it alone exceeds the maximum. */
export interface Block {
  readonly text: string;
  /** Code is cut between lines; prose between words (preferably after a sentence). */
  readonly code: boolean;
}

export interface Section {
  readonly headingPath: readonly string[];
  readonly anchor: string;
  readonly blocks: readonly Block[];
}

/** Blocks are joined by a blank line in a chunk's text. */
const SEP = '\n\n';

export function resolveChunkOptions(options: ChunkOptions | undefined): {
  maxChars: number;
  minChars: number;
} {
  const max = options?.maxChars ?? DEFAULT_MAX_CHARS;
  const maxChars = Number.isFinite(max) ? Math.max(MIN_MAX_CHARS, Math.floor(max)) : DEFAULT_MAX_CHARS;
  const min = options?.minChars ?? Math.min(DEFAULT_MIN_CHARS, Math.floor(maxChars / 4));
  const minChars = Number.isFinite(min) ? Math.max(0, Math.min(Math.floor(min), maxChars)) : 0;
  return { maxChars, minChars };
}

/** Cuts `text` at the last acceptable point at or before `max`; returns [head, rest]. */
function cutOnce(text: string, max: number, code: boolean): [string, string] {
  const window = text.slice(0, max + 1);
  let at = -1;
  if (code) at = window.lastIndexOf('\n');
  else {
    // Prefer the end of a sentence in the second half of the window, else any whitespace.
    const sentence = /[.!?:;]\s/g;
    for (let m = sentence.exec(window); m !== null; m = sentence.exec(window))
      if (m.index + 1 > max / 2) at = m.index + 1;
    if (at < 0) {
      const ws = window.search(/\s\S*$/);
      at = ws;
    }
  }
  if (at <= 0) {
    // Unsplittable at or before max: cut at the first point after it instead (or not at all).
    const rest = text.slice(max + 1);
    const next = code ? rest.indexOf('\n') : rest.search(/\s/);
    if (next < 0) return [text, ''];
    at = max + 1 + next;
  }
  return [text.slice(0, at).trimEnd(), text.slice(at).replace(code ? /^\n+/ : /^\s+/, '')];
}

/** Splits one over-long block into pieces of at most `max` (except unsplittable runs). */
export function splitBlock(block: Block, max: number): Block[] {
  const out: Block[] = [];
  let rest = block.text;
  while (rest.length > max) {
    const [head, tail] = cutOnce(rest, max, block.code);
    if (head !== '') out.push({ text: head, code: block.code });
    rest = tail;
  }
  if (rest.trim() !== '') out.push({ text: rest, code: block.code });
  return out;
}

const joinedLength = (parts: readonly string[]): number =>
  parts.reduce((n, p) => n + p.length, 0) + SEP.length * Math.max(0, parts.length - 1);

/**
 * Packs one section's blocks into texts of at most maxChars (greedy), then evens out a short last text:
 * the blocks of the last two texts are re-divided at the point that makes the shorter one longest, so a
 * section does not end on a three-word fragment when its neighbour can give it a paragraph.
 */
function packSection(blocks: readonly Block[], maxChars: number, minChars: number): string[] {
  const pieces = blocks.flatMap((b) => (b.text.length > maxChars ? splitBlock(b, maxChars) : [b]));
  const groups: string[][] = [];
  let current: string[] = [];
  for (const p of pieces) {
    if (current.length > 0 && joinedLength([...current, p.text]) > maxChars) {
      groups.push(current);
      current = [];
    }
    current.push(p.text);
  }
  if (current.length > 0) groups.push(current);
  const last = groups.at(-1);
  if (groups.length >= 2 && last !== undefined && joinedLength(last) < minChars) {
    const both = [...groups[groups.length - 2]!, ...last];
    let best = -1;
    let bestShort = -1;
    for (let cut = 1; cut < both.length; cut++) {
      const a = joinedLength(both.slice(0, cut));
      const b = joinedLength(both.slice(cut));
      if (a <= maxChars && b <= maxChars && Math.min(a, b) > bestShort) {
        best = cut;
        bestShort = Math.min(a, b);
      }
    }
    if (joinedLength(both) <= maxChars) groups.splice(-2, 2, both);
    else if (best > 0) groups.splice(-2, 2, both.slice(0, best), both.slice(best));
  }
  return groups.map((g) => g.join(SEP));
}

/** Normalizes blocks (trims, drops empty ones) and packs every section into chunks, numbered in order. */
export function packSections(sections: readonly Section[], title: string, options?: ChunkOptions): Chunk[] {
  const { maxChars, minChars } = resolveChunkOptions(options);
  const chunks: Chunk[] = [];
  for (const section of sections) {
    const blocks = section.blocks
      .map((b) => ({ text: b.code ? trimCode(b.text) : b.text.trim(), code: b.code }))
      .filter((b) => b.text.trim() !== '');
    for (const text of packSection(blocks, maxChars, minChars))
      chunks.push({
        text,
        title,
        headingPath: section.headingPath,
        anchor: section.anchor,
        ordinal: chunks.length,
      });
  }
  return chunks;
}

/** Drops blank lines around code and trailing spaces, keeping the indentation of the first line. */
function trimCode(text: string): string {
  return text.replace(/^(?:[ \t]*\n)+/, '').replace(/\s+$/, '');
}

// ---------------------------------------------------------------------------------------------------------
// Heading anchors

/**
 * The slug GitHub and mdBook give a heading: trimmed, lower-cased, each whitespace character becomes `-`,
 * and every character that is not a letter, digit, combining mark, `-` or `_` is dropped
 * ("The Rules of References!" → "the-rules-of-references"; "`Option<T>`" → "optiont").
 */
export function slugify(text: string): string {
  return text
    .trim()
    .toLowerCase()
    .replace(/\s/gu, '-')
    .replace(/[^\p{L}\p{N}\p{M}_-]/gu, '');
}

/**
 * Hands out unique anchors in document order: a repeated anchor gets `-1`, `-2`, … (the first free one),
 * as GitHub and mdBook number repeated headings. An empty slug becomes "section".
 */
export class AnchorRegistry {
  private readonly used = new Set<string>(['']);

  claim(wanted: string): string {
    const base = wanted === '' ? 'section' : wanted;
    let anchor = base;
    for (let n = 1; this.used.has(anchor); n++) anchor = `${base}-${n}`;
    this.used.add(anchor);
    return anchor;
  }
}
