/**
 * Prompts handed to an editor's model and not yet answered. The store owner cannot call back into the
 * editor (it may be a `sigil serve` process behind the language server), so an editor-model Ask is two
 * requests: the first leaves its prompt here, the second brings the answer. Entries live in memory only
 * (a restart forgets them, which only costs the user a second Ask), expire, are bounded in number, belong
 * to the caller who asked, and are taken once so that one prompt cannot be answered, and recorded, twice.
 */
import { randomBytes } from 'node:crypto';
import { SigilError } from '../../../shared/src/errors.js';

export const PENDING_PROMPT_TTL_MS = 5 * 60 * 1000;
/** Each entry keeps the text asked about (up to 4 MB), so the bound is also one on memory: 16 × 4 MB. */
export const MAX_PENDING_PROMPTS = 16;

interface Entry<T> {
  readonly owner: string;
  readonly expiresAt: number;
  readonly value: T;
}

export interface PendingPromptsOptions {
  readonly ttlMs?: number;
  readonly maxEntries?: number;
  readonly now?: () => number;
}

export class PendingPrompts<T> {
  readonly #entries = new Map<string, Entry<T>>();
  readonly #ttlMs: number;
  readonly #max: number;
  readonly #now: () => number;

  constructor(opts: PendingPromptsOptions = {}) {
    this.#ttlMs = opts.ttlMs ?? PENDING_PROMPT_TTL_MS;
    this.#max = Math.max(1, opts.maxEntries ?? MAX_PENDING_PROMPTS);
    this.#now = opts.now ?? Date.now;
  }

  get size(): number {
    this.#prune();
    return this.#entries.size;
  }

  /** Keeps `value` for `owner`; when full, the oldest prompt is forgotten (its reply will be refused). */
  add(owner: string, value: T): { id: string; expiresAt: number } {
    this.#prune();
    while (this.#entries.size >= this.#max) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) break;
      this.#entries.delete(oldest.value);
    }
    const id = randomBytes(16).toString('hex');
    const expiresAt = this.#now() + this.#ttlMs;
    this.#entries.set(id, { owner, expiresAt, value });
    return { id, expiresAt };
  }

  /**
   * The prompt `id` of `owner`, removed. Unknown, expired, already answered and someone else's are one
   * error: telling them apart would tell a caller which ids exist.
   */
  take(owner: string, id: string): T {
    this.#prune();
    const e = this.#entries.get(id);
    if (!e || e.owner !== owner)
      throw new SigilError(
        'NOT_FOUND',
        `no pending Ask prompt ${id} for ${owner}: it expired (prompts are kept ${Math.round(this.#ttlMs / 1000)} s), was already answered, or was never issued to this caller; ask again`,
        { field: 'promptId' },
      );
    this.#entries.delete(id);
    return e.value;
  }

  #prune(): void {
    const now = this.#now();
    for (const [id, e] of this.#entries) if (e.expiresAt <= now) this.#entries.delete(id);
  }
}
