/**
 * The configured deny list (`[llm] deny_patterns`, one case-insensitive regular expression whose
 * alternatives are separated by "|"): a prompt that matches is refused before anything is sent, and an
 * answer that matches is withheld. The match is reported by position and length, never quoted, because
 * what the pattern guards may be exactly what must not be repeated.
 */
import { SigilError } from '../../../shared/src/errors.js';

export interface DenyHit {
  readonly index: number;
  readonly length: number;
}

export class DenyList {
  readonly #pattern: RegExp | null;

  constructor(source: string | null) {
    if (source === null || source === '') {
      this.#pattern = null;
      return;
    }
    try {
      this.#pattern = new RegExp(source, 'iu');
    } catch (e) {
      throw new SigilError(
        'CONFIG_INVALID',
        `llm.deny_patterns is not a valid regular expression (${(e as Error).message}); fix it in sigil.toml`,
        { key: 'llm.deny_patterns' },
      );
    }
  }

  get configured(): boolean {
    return this.#pattern !== null;
  }

  /** The first match, or null. */
  match(text: string): DenyHit | null {
    if (!this.#pattern) return null;
    const m = this.#pattern.exec(text);
    return m ? { index: m.index, length: m[0].length } : null;
  }
}
