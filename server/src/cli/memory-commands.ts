/**
 * `sigil memory …`: thin front doors over the sigil/memory.* requests. What may be written, read or
 * forgotten is decided by the service layer; this file turns flags into params and results into words.
 */
import type { Command } from 'commander';
import { SigilError } from '../../../shared/src/errors.js';
import { parseExpiry } from '../../../shared/src/expiry.js';
import type { MemoryEntryView, MemoryVersionView } from '../../../shared/src/protocol.js';
import { readInput } from './input.js';
import type { GovernanceCliContext } from './context.js';

const LEVELS = ['guest', 'observer', 'operator', 'mentor', 'root'] as const;
type Level = (typeof LEVELS)[number];

function parseWhole(name: string) {
  return (v: string): number => {
    if (!/^(0|[1-9][0-9]*)$/.test(v) || !Number.isSafeInteger(Number(v)))
      throw new SigilError(
        'BAD_USAGE',
        `${name} must be a non-negative whole number, got ${JSON.stringify(v)}`,
      );
    return Number(v);
  };
}

function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

function parseLevel(v: string): Level {
  if (!(LEVELS as readonly string[]).includes(v))
    throw new SigilError(
      'BAD_USAGE',
      `--visibility must be one of ${LEVELS.join(', ')}, got ${JSON.stringify(v)}`,
    );
  return v as Level;
}

/** A time filter: an RFC 3339 timestamp, or a duration back from now ("7d": since a week ago). */
function parseSince(name: string) {
  return (v: string): string => {
    const now = Date.now();
    const ahead = Date.parse(parseExpiry(v, now, name)) - now;
    // A duration counts back from now; parseExpiry reads it forward (it is made for expiries).
    return /^\d{4}-\d{2}-\d{2}T/.test(v) ? v : new Date(now - ahead).toISOString();
  };
}

function entryLines(e: MemoryEntryView): string[] {
  return [
    `${e.namespace} / ${e.key}  (version ${e.version}, visible to ${e.visibility} and above)`,
    `  updated  ${e.updatedAt} by ${e.actor}`,
    ...(e.tags.length ? [`  tags     ${e.tags.join(', ')}`] : []),
    ...(e.expiresAt ? [`  expires  ${e.expiresAt}`] : []),
    `  record   ${e.recordId}`,
    '',
    ...e.text.split('\n').map((l) => `  ${l}`),
  ];
}

function versionLines(v: MemoryVersionView): string[] {
  return [
    `version ${v.version}  ${v.time}  ${v.actor}${v.licenseId ? ` (licence ${v.licenseId})` : ''}  record ${v.recordId}`,
    ...(v.text ?? '(text destroyed)').split('\n').map((l) => `    ${l}`),
  ];
}

function oneLine(text: string, width = 72): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > width ? flat.slice(0, width - 1) + '…' : flat;
}

export function registerMemoryCommands(program: Command, ctx: GovernanceCliContext): void {
  const { out, withClient, action } = ctx;
  const memory = program
    .command('memory')
    .description('agent memory: signed, versioned entries that can be forgotten for good (docs/memory.md)');

  memory
    .command('write')
    .description('write a version of an entry (a signed record; the same content again writes nothing)')
    .argument('<namespace>', 'whose memory: user:<subject>, agent:<id>, module:<id> or session:<id>')
    .argument('<key>', 'the entry key')
    .option('--text <text>', 'the text')
    .option('--file <file>', 'read the text from a file ("-": standard input)')
    .option('--tag <tag>', 'a tag (repeat for more)', collect)
    .option('--expires <when>', 'forget it after this: a duration (30d, 12h) or an RFC 3339 time')
    .option('--visibility <loa>', 'the lowest LOA that may read it (default operator)', parseLevel)
    .option(
      '--if-version <n>',
      'write only if the entry is still at version n (0: only if it does not exist)',
      parseWhole('--if-version'),
    )
    .action(
      action(
        async (
          namespace: string,
          key: string,
          opts: {
            text?: string;
            file?: string;
            tag?: string[];
            expires?: string;
            visibility?: Level;
            ifVersion?: number;
          },
        ) => {
          if ((opts.text === undefined) === (opts.file === undefined))
            throw new SigilError(
              'BAD_USAGE',
              'give the text with exactly one of --text TEXT or --file FILE (--file - reads standard input)',
            );
          const text = opts.text ?? (await readInput(opts.file!, '--file'));
          const r = await withClient('memory write', (c) =>
            c.request('sigil/memory.write', {
              namespace,
              key,
              text,
              ...(opts.tag ? { tags: opts.tag } : {}),
              ...(opts.expires ? { expiresAt: parseExpiry(opts.expires) } : {}),
              ...(opts.visibility ? { visibility: opts.visibility } : {}),
              ...(opts.ifVersion !== undefined ? { ifVersion: opts.ifVersion } : {}),
            }),
          );
          out().result({ ok: true, ...r }, () =>
            r.written
              ? `wrote ${r.entry.namespace} / ${r.entry.key} version ${r.entry.version}\n  record ${r.entry.recordId}`
              : `unchanged: ${r.entry.namespace} / ${r.entry.key} is already this at version ${r.entry.version}`,
          );
        },
      ),
    );

  memory
    .command('get')
    .description('the latest version of an entry')
    .argument('<namespace>')
    .argument('<key>')
    .option('--history', 'every version, with actor, time and licence')
    .action(
      action(async (namespace: string, key: string, opts: { history?: boolean }) => {
        const r = await withClient('memory get', (c) =>
          c.request('sigil/memory.get', { namespace, key, ...(opts.history ? { history: true } : {}) }),
        );
        out().result(r, () =>
          [
            ...entryLines(r.entry),
            ...(r.history ? ['', 'history:', ...r.history.flatMap(versionLines)] : []),
          ].join('\n'),
        );
      }),
    );

  memory
    .command('list')
    .description('entries you may read, a page at a time')
    .option('--namespace <ns>', 'only this namespace')
    .option('--prefix <p>', 'only keys starting with this')
    .option(
      '--since <when>',
      'updated at or after (RFC 3339, or a duration back from now: 7d)',
      parseSince('--since'),
    )
    .option(
      '--until <when>',
      'updated at or before (RFC 3339, or a duration back from now)',
      parseSince('--until'),
    )
    .option('--tag <tag>', 'only entries with this tag')
    .option('--limit <n>', 'entries per page (default 50, at most 500)', parseWhole('--limit'))
    .option('--cursor <c>', 'the next page: the cursor the previous page printed')
    .action(
      action(
        async (opts: {
          namespace?: string;
          prefix?: string;
          since?: string;
          until?: string;
          tag?: string;
          limit?: number;
          cursor?: string;
        }) => {
          const r = await withClient('memory list', (c) => c.request('sigil/memory.list', { ...opts }));
          out().result(r, () =>
            [
              ...(r.entries.length
                ? r.entries.map(
                    (e) => `${e.namespace} / ${e.key}  v${e.version}  ${e.updatedAt}  ${oneLine(e.text, 60)}`,
                  )
                : ['(no entries you may read)']),
              ...(r.nextCursor ? [`more: --cursor ${r.nextCursor}`] : []),
            ].join('\n'),
          );
        },
      ),
    );

  memory
    .command('search')
    .description('search the texts of entries you may read')
    .argument('<text>')
    .option('--k <n>', 'how many results (default 10)', parseWhole('--k'))
    .option('--namespace <ns>', 'only this namespace')
    .action(
      action(async (text: string, opts: { k?: number; namespace?: string }) => {
        const r = await withClient('memory search', (c) =>
          c.request('sigil/memory.search', {
            text,
            ...(opts.k !== undefined ? { k: opts.k } : {}),
            ...(opts.namespace ? { namespace: opts.namespace } : {}),
          }),
        );
        out().result(r, () =>
          [
            ...(r.hits.length
              ? r.hits.map(
                  (h) =>
                    `${h.score.toFixed(3)}  ${h.entry.namespace} / ${h.entry.key}  ${oneLine(h.entry.text, 60)}`,
                )
              : ['(nothing found)']),
            ...(r.retrievers.vectorNote ? [`note: ${r.retrievers.vectorNote}`] : []),
          ].join('\n'),
        );
      }),
    );

  memory
    .command('forget')
    .description('forget an entry: a tombstone record, and the text of every version destroyed for good')
    .argument('<namespace>')
    .argument('<key>')
    .action(
      action(async (namespace: string, key: string) => {
        const r = await withClient('memory forget', (c) =>
          c.request('sigil/memory.forget', { namespace, key }),
        );
        out().result({ ok: true, ...r }, () =>
          [
            `forgot ${r.namespace} / ${r.key}: ${r.forgottenVersions} version(s), their key destroyed`,
            `  tombstone ${r.recordId}`,
            '  kept: the namespace, the key, the times and actors of each version (see docs/memory.md)',
          ].join('\n'),
        );
      }),
    );
}
