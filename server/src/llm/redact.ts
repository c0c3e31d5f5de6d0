/**
 * Takes what looks like a secret out of text before it leaves the machine for a model: API keys and
 * tokens by their known shapes, private key blocks, passwords and bearer tokens, and long high-entropy
 * values assigned to names that say key/secret/token. Over-redacting costs the model a literal it never
 * needed; under-redacting leaks a credential, so the patterns err on the wide side.
 */

export const REDACTED = '[REDACTED]';

export interface Redaction {
  readonly text: string;
  /** How many secrets were replaced. */
  readonly count: number;
  /** Which patterns fired (their names, each once), for the record; never the secret itself. */
  readonly kinds: readonly string[];
}

interface SecretPattern {
  readonly name: string;
  readonly pattern: RegExp;
  /** Which capture group is the secret; the whole match when absent. */
  readonly group?: number;
}

// Unquoted values count only where a value ends (line end, `,`, `;`, `}`, `]`): in code, `x = f()` is an
// expression, not a secret. Order matters: whole blocks first, so a key inside a PEM block is counted once, as the block.
const PATTERNS: readonly SecretPattern[] = [
  {
    name: 'private-key-block',
    pattern:
      /-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|$)/g,
  },
  { name: 'openai-key', pattern: /\bsk-(?:proj-|ant-)?[A-Za-z0-9_-]{16,}/g },
  { name: 'github-token', pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})/g },
  { name: 'aws-access-key', pattern: /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g },
  { name: 'slack-token', pattern: /\bxox[abprs]-[A-Za-z0-9-]{10,}/g },
  { name: 'google-api-key', pattern: /\bAIza[A-Za-z0-9_-]{35}/g },
  { name: 'bearer-token', pattern: /\b(Bearer\s+)([A-Za-z0-9._~+/=-]{8,})/gi, group: 2 },
  {
    name: 'password',
    pattern:
      /\b(\w*(?:password|passwd|passphrase|pwd)\w*["']?\s*[:=]\s*)("[^"\n]*"|'[^'\n]*'|[^\s,;()"']+(?=\s*(?:$|[,;}\]])))/gim,
    group: 2,
  },
  {
    name: 'assigned-secret',
    pattern:
      /\b([A-Za-z_][A-Za-z0-9_]*(?:key|secret|token|credential|auth)[A-Za-z0-9_]*["']?\s*[:=]\s*)("[^"\n]{12,}"|'[^'\n]{12,}'|[A-Za-z0-9+/=_.-]{16,}(?=\s*(?:$|[,;}\]])))/gim,
    group: 2,
  },
];

/** Shannon entropy in bits per character. */
export function entropy(s: string): number {
  const counts = new Map<string, number>();
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

/**
 * Plain words, sentences and paths assigned to a `*_key` name are not secrets; random-looking strings are:
 * no spaces, and either many distinct symbols or letters mixed with digits.
 */
function looksRandom(value: string): boolean {
  const v = value.replace(/^["']|["']$/g, '');
  if (v === REDACTED || v.length < 12 || /\s/.test(v)) return false;
  const h = entropy(v);
  return h >= 3.5 || (h >= 3 && /[0-9]/.test(v) && /[A-Za-z]/.test(v));
}

export function redact(input: string): Redaction {
  let text = input;
  let count = 0;
  const kinds: string[] = [];
  for (const p of PATTERNS) {
    let hit = false;
    text = text.replace(p.pattern, (match: string, ...groups: unknown[]) => {
      if (p.group === undefined) {
        hit = true;
        count++;
        return REDACTED;
      }
      const prefix = typeof groups[0] === 'string' ? groups[0] : '';
      const secret = typeof groups[p.group - 1] === 'string' ? (groups[p.group - 1] as string) : '';
      if (secret.includes(REDACTED)) return match;
      if (p.name === 'assigned-secret' && !looksRandom(secret)) return match;
      hit = true;
      count++;
      const quote = /^["']/.test(secret) ? secret[0] : '';
      return `${prefix}${quote}${REDACTED}${quote}`;
    });
    if (hit) kinds.push(p.name);
  }
  return { text, count, kinds };
}
