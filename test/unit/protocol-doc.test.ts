/**
 * docs/protocol.md must document the protocol table of shared/src/protocol.ts: every method of REQUESTS and
 * NOTIFICATIONS appears in a heading or a table cell, and every `sigil/…` method the page mentions exists.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { NOTIFICATIONS, REQUESTS, SIGIL_RPC_ERROR, STORE_STATUSES } from '../../shared/src/protocol.js';
import { ERROR_CODES } from '../../shared/src/errors.js';

const DOC = fileURLToPath(new URL('../../docs/protocol.md', import.meta.url));
const METHODS = [...Object.keys(REQUESTS), ...Object.keys(NOTIFICATIONS)];

/** Headings and table cells of a Markdown text, outside fenced code blocks. */
function headingsAndCells(markdown: string): string[] {
  const out: string[] = [];
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    if (fenced) continue;
    const heading = /^#{1,6}\s+(.*)$/.exec(line);
    if (heading) out.push(heading[1]!);
    else if (/^\s*\|/.test(line)) {
      // Split on unescaped pipes; `\|` stays inside a cell.
      out.push(
        ...line
          .trim()
          .replace(/^\|/, '')
          .replace(/\|$/, '')
          .split(/(?<!\\)\|/),
      );
    }
  }
  return out;
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** True when `method` appears as a whole name (not a prefix of a longer one) in `text`. */
function names(text: string, method: string): boolean {
  return new RegExp(`(?<![\\w./-])${escape(method)}(?![\\w-]|\\.\\w)`).test(text);
}

/** Every `sigil/…` method name the text mentions (`.sigil/…` paths excluded). */
function mentionedMethods(markdown: string): Set<string> {
  return new Set(markdown.match(/(?<![\w./-])sigil\/[A-Za-z]\w*(?:\.[A-Za-z]\w*)*/g) ?? []);
}

function checkDoc(markdown: string): { missing: string[]; unknown: string[] } {
  const places = headingsAndCells(markdown);
  const missing = METHODS.filter((m) => !places.some((p) => names(p, m)));
  const known = new Set(METHODS);
  const unknown = [...mentionedMethods(markdown)].filter((m) => !known.has(m));
  return { missing, unknown };
}

describe('docs/protocol.md', () => {
  it('documents every request and notification of shared/src/protocol.ts in a heading or table cell', async () => {
    const { missing } = checkDoc(await readFile(DOC, 'utf8'));
    assert.deepEqual(missing, [], `methods missing from docs/protocol.md: ${missing.join(', ')}`);
  });

  it('mentions no sigil/… method that does not exist', async () => {
    const { unknown } = checkDoc(await readFile(DOC, 'utf8'));
    assert.deepEqual(
      unknown,
      [],
      `docs/protocol.md mentions methods that are not in the protocol: ${unknown.join(', ')}`,
    );
  });

  it('documents the error code and every data.code', async () => {
    const doc = await readFile(DOC, 'utf8');
    assert.ok(
      doc.includes(String(SIGIL_RPC_ERROR)),
      `the JSON-RPC error code ${SIGIL_RPC_ERROR} is documented`,
    );
    const cells = headingsAndCells(doc).map((c) => c.trim());
    for (const code of Object.keys(ERROR_CODES))
      assert.ok(cells.includes(`\`${code}\``), `data.code ${code} has a row`);
  });

  it('documents every StoreInfo status: in the status field type and with a row of its own', async () => {
    const doc = await readFile(DOC, 'utf8');
    const cells = headingsAndCells(doc).map((c) => c.trim());
    const statusType = cells.find((c, i) => c.includes('"ready"') && cells[i - 1] === '`status`');
    assert.ok(statusType, 'the StoreInfo table has a `status` row with its type');
    for (const status of STORE_STATUSES) {
      assert.ok(statusType.includes(`\`"${status}"\``), `status ${status} is in the type of \`status\``);
      assert.ok(cells.includes(`\`${status}\``), `status ${status} has a row`);
    }
    const documented = [...statusType.matchAll(/`"([a-z-]+)"`/g)].map((m) => m[1]);
    assert.deepEqual(documented.sort(), [...STORE_STATUSES].sort(), 'no status that does not exist');
  });

  it('the checks catch a missing method, a prefix-only mention and an unknown method', () => {
    const table = (rows: string[]): string =>
      ['| Method | Params |', '| --- | --- |', ...rows.map((r) => `| \`${r}\` | none |`)].join('\n');
    const all = table(METHODS);
    assert.deepEqual(checkDoc(all), { missing: [], unknown: [] });

    const [first, ...rest] = METHODS;
    assert.deepEqual(checkDoc(table(rest)).missing, [first]);
    // Mentioned only in prose: not documented.
    assert.deepEqual(checkDoc(`${table(rest)}\n\nSee \`${first}\`.`).missing, [first]);
    // In a heading: documented.
    assert.deepEqual(checkDoc(`${table(rest)}\n\n### \`${first}\`\n`).missing, []);
    // A longer method that merely starts with another one does not document it.
    assert.deepEqual(checkDoc(table(METHODS.filter((m) => m !== 'sigil/canon.get'))).missing, [
      'sigil/canon.get',
    ]);
    // Inside a code fence nothing counts as a heading or cell.
    assert.deepEqual(checkDoc(`${table(rest)}\n\n\`\`\`\n| ${first} |\n\`\`\`\n`).missing, [first]);

    assert.deepEqual(checkDoc(`${all}\n\nAlso \`sigil/canon.delete\` and sigil/store.reset.`).unknown, [
      'sigil/canon.delete',
      'sigil/store.reset',
    ]);
    // Paths such as .sigil/owner.json and sentence-ending dots are not methods.
    assert.deepEqual(checkDoc(`${all}\n\nRead <home>/.sigil/owner.json after sigil/store.info.`).unknown, []);
  });
});
