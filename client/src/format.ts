/**
 * Pure formatting helpers of the extension (no `vscode` import): times, kind-family icon names and the
 * re-indenting of canonical JSON.
 */

/** "2026-01-02T03:04:05.678Z" → "2026-01-02 03:04:05 UTC". */
export function shortTime(ts: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})/.exec(ts);
  return m ? `${m[1]} ${m[2]} UTC` : ts;
}

/** Codicon per kind family (the first dotted word of the kind). */
const FAMILY_ICONS: Readonly<Record<string, string>> = {
  canon: 'shield',
  note: 'note',
  licence: 'key',
  license: 'key',
  trust: 'verified',
  witness: 'eye',
  policy: 'law',
  config: 'settings-gear',
  module: 'package',
  agent: 'robot',
  migrate: 'history',
  legacy: 'history',
  file: 'file',
  event: 'pulse',
};

export function kindIcon(kind: string): string {
  if (kind === 'canon.genesis') return 'star-full';
  return FAMILY_ICONS[kind.split('.')[0] ?? ''] ?? 'circle-outline';
}

/**
 * Re-indents JSON text without parsing it into objects, so the key order and the number spellings of the
 * canonical form (RFC 8785) are kept exactly.
 */
export function prettyJson(text: string, indent = '  '): string {
  let out = '';
  let depth = 0;
  let i = 0;
  const nl = (): string => `\n${indent.repeat(depth)}`;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      let k = i + 1;
      while (k < text.length && /\s/.test(text[k] as string)) k++;
      if (text[k] === close) {
        out += c + close;
        i = k + 1;
        continue;
      }
      depth++;
      out += c + nl();
    } else if (c === '}' || c === ']') {
      depth--;
      out += nl() + c;
    } else if (c === ',') {
      out += ',' + nl();
    } else if (c === ':') {
      out += ': ';
    } else if (!/\s/.test(c)) {
      out += c;
    }
    i++;
  }
  return out;
}
