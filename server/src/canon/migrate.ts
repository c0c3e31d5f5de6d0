/**
 * Migration of legacy records into the canon. Each accepted legacy record is re-canonicalized, signed and
 * appended, with a link naming its legacy id and the hash of its original JSON. A legacy identity tag in
 * the store makes a re-run append nothing.
 */
import { readFile } from 'node:fs/promises';
import { canonicalize, parseStrictJson, type JsonValue } from '../../../shared/src/jcs.js';
import { sha256Hex } from '../../../shared/src/hash.js';
import { SigilError } from '../../../shared/src/errors.js';
import { checkKind, isSpace, type RecordLink, type Space } from '../../../shared/src/record.js';
import type { CanonicalRecord } from '../../../shared/src/record.js';

/** What migration writes to: the canon API (the caller's licence names each record's actor). */
export interface MigrationTarget {
  findLegacy(legacyIdentity: string): Promise<string | null>;
  append(input: {
    kind: string;
    space: Space;
    payload: JsonValue;
    links: RecordLink[];
    legacyIdentity: string;
  }): Promise<CanonicalRecord>;
}

export interface MigrationCandidate {
  readonly index: number;
  readonly legacyIdentity: string;
  readonly kind: string;
  readonly space: Space;
  readonly payload: JsonValue;
  readonly links: RecordLink[];
}

export interface MigrationReport {
  readonly dryRun: boolean;
  readonly total: number;
  readonly migrated: Array<{ index: number; legacy: string; id: string }>;
  /** What would be (dry run) or was attempted: every record that passed the checks, in file order. */
  readonly planned: Array<{ index: number; legacy: string; kind: string; space: Space }>;
  readonly skipped: Array<{ index: number; legacy: string; reason: string; existing: string | null }>;
  readonly rejected: Array<{ index: number; reason: string; code?: string }>;
}

/** Reads a JSON array or JSONL file of legacy objects; positions are 1-based record numbers. */
export async function readLegacyFile(file: string): Promise<unknown[]> {
  const text = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') throw new SigilError('NOT_FOUND', `no such file: ${file}`);
    if (e.code === 'EISDIR')
      throw new SigilError('BAD_USAGE', `${file} is a directory, not a legacy records file`);
    throw e;
  });
  const trimmed = text.trimStart();
  if (trimmed.startsWith('[')) return parseStrictJson(text, file) as unknown[];
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  // One object spread over several lines is a single record, not JSONL.
  if (trimmed.startsWith('{') && lines.length > 1 && !lines[0]?.trim().endsWith('}'))
    return [parseStrictJson(text, file)];
  const out: unknown[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      out.push(parseStrictJson(line, file));
    } catch (e) {
      // The parser counts lines within the one line it was given; report the file's line instead.
      if (e instanceof SigilError && typeof e.details?.column === 'number') {
        const rest = e.message.replace(/^.*?:\d+:\d+: /, '');
        throw new SigilError('BAD_INPUT', `${file}:${i + 1}:${e.details.column}: ${rest}`, {
          source: file,
          line: i + 1,
          column: e.details.column,
        });
      }
      throw e;
    }
  });
  return out;
}

const ORIGINAL_SHAPE = [
  'kind',
  'schema_version',
  'id',
  'tenant',
  'ts',
  'space',
  'payload',
  'links',
  'prev',
  'hash',
  'sig',
  'pub_key',
  'witnesses',
];
const SIMPLE_SHAPE = ['kind', 'space', 'payload', 'ts', 'id'];

function legacyNote(o: Record<string, unknown>): string | undefined {
  const parts: string[] = [];
  if (typeof o.ts === 'string' || typeof o.ts === 'number') parts.push(`legacy ts ${String(o.ts)}`);
  if (typeof o.tenant === 'string') parts.push(`tenant ${o.tenant}`);
  const note = parts.join('; ');
  return note === '' ? undefined : note.slice(0, 1024);
}

/** Turns one legacy object into an append, or says why it cannot be migrated. */
export function toCandidate(
  value: unknown,
  index: number,
): MigrationCandidate | { index: number; reason: string } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { index, reason: 'not a JSON object' };
  }
  const o = value as Record<string, unknown>;
  const isOriginal =
    'tenant' in o || 'hash' in o || 'sig' in o || 'pub_key' in o || 'witnesses' in o || 'schema_version' in o;
  const allowed = isOriginal ? ORIGINAL_SHAPE : SIMPLE_SHAPE;
  const extra = Object.keys(o).filter((k) => !allowed.includes(k));
  if (extra.length > 0) {
    return {
      index,
      reason: `unexpected field ${JSON.stringify(extra[0])} for a ${isOriginal ? 'Sigil CanonicalRecord' : 'legacy record'}`,
    };
  }
  const kindProblem = checkKind(o.kind);
  if (kindProblem) return { index, reason: kindProblem };
  if (o.kind === 'canon.genesis')
    return { index, reason: 'kind "canon.genesis" is reserved for the record that starts the log' };
  if (!isSpace(o.space))
    return { index, reason: `space must be "data" or "system", got ${JSON.stringify(o.space)}` };
  if (!('payload' in o)) return { index, reason: 'payload is missing' };
  if (o.id !== undefined && (typeof o.id !== 'string' || o.id.length === 0 || o.id.length > 256)) {
    return { index, reason: 'id must be a non-empty string of at most 256 characters' };
  }
  let originalJcs: string;
  try {
    canonicalize(o.payload);
    originalJcs = canonicalize(o);
  } catch (e) {
    return { index, reason: (e as Error).message };
  }
  const originalHash = sha256Hex(originalJcs);
  const legacyIdentity = typeof o.id === 'string' ? `id:${o.id}` : `sha256:${originalHash}`;
  const note = legacyNote(o);
  const link: RecordLink = {
    rel: 'migrated-from',
    ...(typeof o.id === 'string' ? { id: o.id } : {}),
    hash: `sha256:${typeof o.hash === 'string' && isOriginal ? o.hash : originalHash}`,
    ...(note ? { note } : {}),
  };
  return {
    index,
    legacyIdentity,
    kind: o.kind as string,
    space: o.space,
    payload: o.payload as JsonValue,
    links: [link],
  };
}

export interface MigrateOptions {
  readonly dryRun: boolean;
  /** Migrate the valid records even when others are rejected. Default: all or nothing. */
  readonly skipInvalid: boolean;
}

export async function migrate(
  store: MigrationTarget,
  values: unknown[],
  opts: MigrateOptions,
): Promise<MigrationReport> {
  const rejected: MigrationReport['rejected'] = [];
  const skipped: MigrationReport['skipped'] = [];
  const todo: MigrationCandidate[] = [];
  const seen = new Map<string, number>();
  for (const [i, v] of values.entries()) {
    const c = toCandidate(v, i + 1);
    if (!('legacyIdentity' in c)) {
      rejected.push(c);
      continue;
    }
    const dup = seen.get(c.legacyIdentity);
    if (dup !== undefined) {
      skipped.push({
        index: c.index,
        legacy: c.legacyIdentity,
        reason: `duplicate of record ${dup} in the same file`,
        existing: null,
      });
      continue;
    }
    seen.set(c.legacyIdentity, c.index);
    const existing = await store.findLegacy(c.legacyIdentity);
    if (existing) {
      skipped.push({ index: c.index, legacy: c.legacyIdentity, reason: 'already migrated', existing });
      continue;
    }
    todo.push(c);
  }
  const migrated: MigrationReport['migrated'] = [];
  const planned = todo.map((c) => ({
    index: c.index,
    legacy: c.legacyIdentity,
    kind: c.kind,
    space: c.space,
  }));
  const base = { dryRun: opts.dryRun, total: values.length, planned, skipped, rejected };
  if (opts.dryRun || (rejected.length > 0 && !opts.skipInvalid)) return { ...base, migrated };
  // Appends issued together share group commits; the queue keeps file order.
  const results = await Promise.allSettled(
    todo.map((c) =>
      store.append({
        kind: c.kind,
        space: c.space,
        payload: c.payload,
        links: c.links,
        legacyIdentity: c.legacyIdentity,
      }),
    ),
  );
  results.forEach((r, i) => {
    const c = todo[i] as MigrationCandidate;
    if (r.status === 'fulfilled') migrated.push({ index: c.index, legacy: c.legacyIdentity, id: r.value.id });
    else
      rejected.push({
        index: c.index,
        reason: (r.reason as Error).message,
        ...(r.reason instanceof SigilError ? { code: r.reason.code } : {}),
      });
  });
  return { ...base, migrated };
}
