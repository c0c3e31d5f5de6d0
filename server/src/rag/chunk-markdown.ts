/**
 * Markdown files (mdBook sources, READMEs) into heading-following chunks of the same shape as the HTML
 * chunker's, parsed with markdown-it (CommonMark + tables). Pure: the caller passes the text.
 *
 * Anchors are the slugs GitHub and mdBook give headings (see slugify in chunk.ts: lower-case, whitespace
 * → `-`, punctuation other than `-` and `_` dropped, repeats numbered `-1`, `-2`, …), or the id of an
 * mdBook heading attribute (`## Title {#custom-id}`), so `file.html#anchor` of the rendered page works.
 */
import MarkdownIt, { type Token } from 'markdown-it';
import {
  AnchorRegistry,
  packSections,
  slugify,
  type Block,
  type ChunkOptions,
  type ChunkResult,
  type Section,
} from './chunk.js';

export interface MarkdownChunkOptions extends ChunkOptions {
  /** The page title; default the first h1 (else the first heading), else ''. */
  readonly title?: string;
}

// html: true so raw HTML blocks are recognized as such (and their tags dropped) rather than shown as text.
const md = new MarkdownIt({ html: true, linkify: false, typographer: false });

/** Text of an inline token: code spans and image alt texts kept, markup and raw inline HTML dropped. */
function inlineText(token: Token): string {
  const parts: string[] = [];
  for (const child of token.children ?? []) {
    switch (child.type) {
      case 'text':
      case 'text_special':
      case 'code_inline':
      case 'image':
        parts.push(child.content);
        break;
      case 'softbreak':
        parts.push(' ');
        break;
      case 'hardbreak':
        parts.push('\n');
        break;
      default:
        break;
    }
  }
  return parts.join('');
}

const collapse = (text: string): string => text.replace(/\s+/g, ' ').trim();

/** mdBook's heading attribute: `## Title {#id .class}` sets the id. */
function headingAttribute(text: string): { text: string; id: string } {
  const m = /^(.*?)\s*\{#([^\s}]+)[^}]*\}\s*$/.exec(text);
  return m === null ? { text, id: '' } : { text: m[1]!, id: m[2]! };
}

function toSections(tokens: readonly Token[]): { sections: Section[]; firstH1: string; first: string } {
  const anchors = new AnchorRegistry();
  const stack: { level: number; text: string }[] = [];
  const sections: { headingPath: string[]; anchor: string; blocks: Block[] }[] = [];
  let current = { headingPath: [] as string[], anchor: '', blocks: [] as Block[] };
  sections.push(current);
  let firstH1 = '';
  let first = '';
  let row: string[] | undefined;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.type === 'heading_open') {
      const inline = tokens[i + 1];
      const raw = inline?.type === 'inline' ? collapse(inlineText(inline)) : '';
      const { text, id } = headingAttribute(raw);
      const level = Number(t.tag.slice(1)) || 1;
      if (first === '') first = text;
      if (firstH1 === '' && level === 1) firstH1 = text;
      while (stack.length > 0 && stack.at(-1)!.level >= level) stack.pop();
      stack.push({ level, text });
      current = {
        headingPath: stack.map((h) => h.text),
        anchor: anchors.claim(id !== '' ? id : slugify(text)),
        blocks: [],
      };
      sections.push(current);
      // Skip the heading's inline and close tokens.
      while (i < tokens.length && tokens[i]!.type !== 'heading_close') i++;
      continue;
    }
    switch (t.type) {
      case 'inline':
        if (row !== undefined) row.push(collapse(inlineText(t)));
        else current.blocks.push({ text: collapse(inlineText(t)), code: false });
        break;
      case 'fence':
      case 'code_block':
        current.blocks.push({ text: t.content, code: true });
        break;
      case 'html_block': {
        // Raw HTML in Markdown (mdBook pages use it for figures and notes): its text, not its tags.
        const text = collapse(t.content.replace(/<!--[\s\S]*?-->/g, ' ').replace(/<[^>]*>/g, ' '));
        current.blocks.push({ text, code: false });
        break;
      }
      case 'tr_open':
        row = [];
        break;
      case 'tr_close':
        if (row !== undefined) current.blocks.push({ text: row.join(' | '), code: false });
        row = undefined;
        break;
      default:
        break;
    }
  }
  return { sections, firstH1, first };
}

/**
 * Chunks a Markdown document along its headings. Never throws: input markdown-it cannot parse gives zero
 * chunks and the reason.
 */
export function chunkMarkdown(source: string, options?: MarkdownChunkOptions): ChunkResult {
  let tokens: Token[];
  try {
    tokens = md.parse(source, {});
  } catch (e) {
    return {
      chunks: [],
      reason: `cannot parse the Markdown: ${e instanceof Error ? e.message : String(e)}`,
    };
  }
  const { sections, firstH1, first } = toSections(tokens);
  const title = options?.title ?? (firstH1 !== '' ? firstH1 : first);
  const chunks = packSections(sections, title, options);
  return chunks.length > 0 ? { chunks } : { chunks, reason: 'the document has no text content' };
}
