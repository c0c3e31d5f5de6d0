/**
 * BM25 keyword index over chunks (MiniSearch), the half of hybrid retrieval that finds exact terms: error
 * codes (`E0382`), paths (`Vec::push`), identifiers (`unwrap_or_else`), operators (`&mut`), macros (`println!`).
 *
 * MiniSearch's default tokenizer splits on every non-letter, so `Vec::push` becomes two unrelated words and
 * `&mut` loses its `&`. {@link tokenizeRust} keeps each such construct as one term *and* adds its parts, so
 * `Vec::push` matches both the exact path and a query that says "push onto a vec". Terms are lower-cased,
 * a few English function words are dropped and plain words get a light suffix stemming (lifetimes →
 * lifetime, borrowing → borrow), the same at index and query time.
 *
 * Documents are keyed by chunk id; add/remove/replace keep the index in step with the canon (MiniSearch's
 * discard + auto-vacuum), and toJSON/loadJSON persist it (derived data: it can always be rebuilt).
 */
import MiniSearch, { type Options, type SearchOptions } from 'minisearch';
import { SigilError } from '../../../shared/src/errors.js';

export const LEXICAL_INDEX_FORMAT = 'sigil-lexical-index';
/** Bumped whenever tokenization changes: an index saved with other terms cannot be searched correctly. */
export const LEXICAL_INDEX_VERSION = 1;

export interface LexicalDoc {
  /** Chunk id (unique). */
  readonly id: string;
  /** Heading of the chunk's section; weighted above the body. */
  readonly title?: string;
  readonly text: string;
  /** Carried back on hits so a caller can cite without another lookup. */
  readonly path?: string;
  readonly anchor?: string;
}

export interface LexicalHit {
  readonly id: string;
  /** BM25 score (higher is better); only comparable within one query. */
  readonly score: number;
  readonly path?: string;
  readonly anchor?: string;
}

export interface LexicalBoost {
  readonly title: number;
  readonly text: number;
}

/** Title terms count twice: a section named "Lifetime elision" is about lifetime elision. */
export const DEFAULT_LEXICAL_BOOST: LexicalBoost = { title: 2, text: 1 };

export interface LexicalSearchOptions {
  readonly boost?: Partial<LexicalBoost>;
  /** Fuzzy matching (edit distance as a fraction of term length); off: identifiers should match exactly. */
  readonly fuzzy?: number;
  /** Let the last query term match as a prefix (for search-as-you-type). */
  readonly prefix?: boolean;
}

// ---------------------------------------------------------------------------------------------------------
// Tokenization

/**
 * One raw token: `&mut`, a lifetime (`'static`), a path of identifiers joined by `::` with an optional macro
 * bang (`std::vec::Vec`, `println!`), or a number. Everything else (punctuation, spaces) separates tokens.
 */
const RAW_TOKEN = /&mut\b|'[A-Za-z_]\w*|[A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*!?|\d+/g;

function camelParts(word: string): string[] {
  return word.split(/(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])/).filter((p) => p.length > 0);
}

/** A segment, plus its `_`-separated and CamelCase parts when it has any. */
function segmentTerms(segment: string, out: string[]): void {
  out.push(segment);
  const snake = segment.split('_').filter((p) => p.length > 0);
  const parts = snake.length > 1 ? snake : [segment];
  for (const p of parts) {
    const camel = camelParts(p);
    if (snake.length > 1) out.push(p);
    if (camel.length > 1) out.push(...camel);
  }
}

/**
 * Splits text into terms for Rust documentation. Compound constructs are kept whole and also split:
 * `Vec::push` → `Vec::push`, `Vec`, `push`; `unwrap_or_else` → itself, `unwrap`, `or`, `else`;
 * `&mut` → `&mut`, `mut`; `println!` → `println!`, `println`; `'static` → `'static`, `static`;
 * `HashMap` → `HashMap`, `Hash`, `Map`. Case is left to {@link normalizeTerm}.
 */
export function tokenizeRust(text: string): string[] {
  const out: string[] = [];
  for (const [tok] of text.matchAll(RAW_TOKEN)) {
    if (tok === '&mut') {
      out.push('&mut', 'mut');
    } else if (tok.startsWith("'")) {
      out.push(tok, tok.slice(1));
    } else if (/^\d+$/.test(tok)) {
      out.push(tok);
    } else {
      const bang = tok.endsWith('!');
      const body = bang ? tok.slice(0, -1) : tok;
      if (bang) out.push(tok);
      const segments = body.split('::');
      if (segments.length > 1) out.push(body);
      for (const s of segments) segmentTerms(s, out);
    }
  }
  return out;
}

/**
 * English function words that only add noise to BM25 in questions ("how do I …"). Rust keywords that are
 * also English (`as`, `for`, `if`, `in`, `where`, `move`, `self`, `type`, `use`, `while`) are kept.
 */
const STOP_WORDS = new Set(
  (
    'a an and are be but by can could did do does doing i is it its me my of on or our so than that the their ' +
    'them then there these they this those to was we were what when which who why will with would you your ' +
    'how should get'
  ).split(' '),
);

/** Light suffix stemming for plain lower-case words; identifiers with `_`, `::` or digits are left alone. */
function stem(w: string): string {
  if (!/^[a-z]+$/.test(w) || w.length <= 3) return w;
  if (w.endsWith('ies') && w.length > 4) return `${w.slice(0, -3)}y`;
  if (/(ss|us|is)$/.test(w)) return w;
  if (/(sses|xes|ches|shes)$/.test(w)) return w.slice(0, -2);
  if (w.endsWith('s')) return w.slice(0, -1);
  if (w.endsWith('ing') && w.length > 5) return w.slice(0, -3);
  if (w.endsWith('ed') && w.length > 4) return w.slice(0, -2);
  return w;
}

/** Lower-cases, drops stop words, stems plain words. Returns null for a dropped term (MiniSearch's contract). */
export function normalizeTerm(term: string): string | null {
  const t = term.toLowerCase();
  if (STOP_WORDS.has(t)) return null;
  return stem(t);
}

// ---------------------------------------------------------------------------------------------------------
// Index

interface StoredDoc {
  id: string;
  title: string;
  text: string;
  path?: string;
  anchor?: string;
}

const FIELDS = ['title', 'text'] as const;

function miniOptions(): Options<StoredDoc> {
  return {
    idField: 'id',
    fields: [...FIELDS],
    storeFields: ['path', 'anchor'],
    tokenize: tokenizeRust,
    processTerm: normalizeTerm,
    searchOptions: { tokenize: tokenizeRust, processTerm: normalizeTerm },
  };
}

interface SavedLexicalIndex {
  readonly format: typeof LEXICAL_INDEX_FORMAT;
  readonly version: number;
  readonly index: unknown;
}

export class LexicalIndex {
  #mini: MiniSearch<StoredDoc>;

  private constructor(mini: MiniSearch<StoredDoc>) {
    this.#mini = mini;
  }

  static create(): LexicalIndex {
    return new LexicalIndex(new MiniSearch<StoredDoc>(miniOptions()));
  }

  get size(): number {
    return this.#mini.documentCount;
  }

  has(id: string): boolean {
    return this.#mini.has(id);
  }

  /** Adds a new chunk; an id already present is refused (use {@link replace}). */
  add(doc: LexicalDoc): void {
    this.#mini.add(toStored(doc, this));
  }

  addAll(docs: Iterable<LexicalDoc>): void {
    for (const d of docs) this.add(d);
  }

  /** Removes a chunk; false if it was not indexed. */
  remove(id: string): boolean {
    if (!this.#mini.has(id)) return false;
    this.#mini.discard(id);
    return true;
  }

  /** Adds or replaces the chunk with this id. */
  replace(doc: LexicalDoc): void {
    this.remove(doc.id);
    this.add(doc);
  }

  /** At most k hits, best first; ties broken by id so results are reproducible. */
  search(query: string, k: number, options: LexicalSearchOptions = {}): LexicalHit[] {
    if (!Number.isInteger(k) || k < 0)
      throw new SigilError('BAD_INPUT', `k must be a non-negative integer, got ${k}`);
    if (k === 0 || query.trim() === '') return [];
    const boost = { ...DEFAULT_LEXICAL_BOOST, ...options.boost };
    const so: SearchOptions = {
      boost: { title: boost.title, text: boost.text },
      combineWith: 'OR',
      fuzzy: options.fuzzy ?? false,
      prefix: options.prefix === true ? (_term, i, terms) => i === terms.length - 1 : false,
    };
    const results = this.#mini.search(query, so);
    results.sort((a, b) => b.score - a.score || (String(a.id) < String(b.id) ? -1 : 1));
    return results.slice(0, k).map((r) => {
      const path = r.path as string | undefined;
      const anchor = r.anchor as string | undefined;
      return {
        id: String(r.id),
        score: r.score,
        ...(path === undefined ? {} : { path }),
        ...(anchor === undefined ? {} : { anchor }),
      };
    });
  }

  /** A JSON string holding the format, the tokenization version and MiniSearch's own serialization. */
  toJSON(): string {
    const saved: SavedLexicalIndex = {
      format: LEXICAL_INDEX_FORMAT,
      version: LEXICAL_INDEX_VERSION,
      index: this.#mini.toJSON(),
    };
    return JSON.stringify(saved);
  }

  /** Loads what {@link toJSON} wrote; anything else, or another tokenization version, is STORE_CORRUPT. */
  static loadJSON(json: string): LexicalIndex {
    let saved: unknown;
    try {
      saved = JSON.parse(json);
    } catch (e) {
      throw new SigilError(
        'STORE_CORRUPT',
        `lexical index is not valid JSON: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    if (
      saved === null ||
      typeof saved !== 'object' ||
      (saved as { format?: unknown }).format !== LEXICAL_INDEX_FORMAT
    )
      throw new SigilError('STORE_CORRUPT', 'lexical index file is not a Sigil lexical index');
    const { version, index } = saved as SavedLexicalIndex;
    if (version !== LEXICAL_INDEX_VERSION)
      throw new SigilError(
        'STORE_CORRUPT',
        `lexical index has tokenization version ${String(version)}, this build uses ${LEXICAL_INDEX_VERSION}: rebuild it`,
        { version },
      );
    try {
      return new LexicalIndex(MiniSearch.loadJSON<StoredDoc>(JSON.stringify(index), miniOptions()));
    } catch (e) {
      throw new SigilError(
        'STORE_CORRUPT',
        `lexical index cannot be loaded: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  }
}

function toStored(doc: LexicalDoc, index: LexicalIndex): StoredDoc {
  if (typeof doc.id !== 'string' || doc.id === '')
    throw new SigilError('BAD_INPUT', 'lexical document id must be a non-empty string');
  if (index.has(doc.id))
    throw new SigilError('DUPLICATE', `lexical index already holds ${JSON.stringify(doc.id)}`);
  return {
    id: doc.id,
    title: doc.title ?? '',
    text: doc.text,
    ...(doc.path === undefined ? {} : { path: doc.path }),
    ...(doc.anchor === undefined ? {} : { anchor: doc.anchor }),
  };
}
