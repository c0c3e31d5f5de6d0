/**
 * Reading the canon: one record by id or seq (opened, authenticated and checked against its id), pages of
 * the log by seq, space or kind with cursors, and the legacy-identity index.
 */
import { toHex } from '../../../shared/src/bytes.js';
import { sha256Hex } from '../../../shared/src/hash.js';
import { SigilError } from '../../../shared/src/errors.js';
import { checkKind, isSpace, type CanonicalRecord } from '../../../shared/src/record.js';
import { KEYS, kindTag, legacyTag, parseSeqHex, prefixEnd } from './layout.js';
import { decodeStoredRecord, openValue, toRecord } from './value-codec.js';
import type { DamagedEntry, ListPage, ListQuery, StoreCore } from './store-types.js';

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 1000;

type RecordProblem = 'missing' | 'unauthentic' | 'hash';
type RecordRead =
  | { readonly ok: true; readonly record: CanonicalRecord }
  | { readonly ok: false; readonly problem: RecordProblem };

/** How `list` words a record it cannot read (as verify words the same problems). */
const DAMAGE_REASONS: Readonly<Record<RecordProblem, string>> = {
  missing: 'the record is missing from the store',
  unauthentic: 'record ciphertext does not authenticate (bytes tampered or values swapped)',
  hash: 'the record does not hash to its id',
};

function cursorFor(seq: number): string {
  return `s${seq}`;
}

function parseCursor(cursor: string): number {
  const m = /^s(0|[1-9][0-9]{0,15})$/.exec(cursor);
  const seq = m ? Number(m[1]) : NaN;
  if (!Number.isSafeInteger(seq)) {
    throw new SigilError(
      'BAD_INPUT',
      `invalid cursor ${JSON.stringify(cursor)}; pass the nextCursor of a previous page`,
    );
  }
  return seq;
}

export class RecordReader {
  constructor(private readonly core: StoreCore) {}

  /** Reads and checks a stored record; says why when it is missing or its stored bytes do not check. */
  private async tryReadRecord(id: string): Promise<RecordRead> {
    const key = KEYS.record(id);
    const sealed = await this.core.db.get(key);
    if (sealed === undefined) return { ok: false, problem: 'missing' };
    const plain = openValue(this.core.keystore.dataKey, key, sealed);
    const decoded = plain && decodeStoredRecord(plain);
    if (!decoded) return { ok: false, problem: 'unauthentic' };
    if (sha256Hex(decoded.bodyBytes) !== id) return { ok: false, problem: 'hash' };
    return { ok: true, record: toRecord(id, decoded) };
  }

  private async readRecord(id: string): Promise<CanonicalRecord | null> {
    const read = await this.tryReadRecord(id);
    if (read.ok) return read.record;
    switch (read.problem) {
      case 'missing':
        return null;
      case 'unauthentic':
        throw new SigilError(
          'STORE_CORRUPT',
          `record ${id} does not authenticate (tampered or swapped ciphertext)`,
          { id },
        );
      case 'hash':
        throw new SigilError('STORE_CORRUPT', `record ${id} does not hash to its id`, { id });
    }
  }

  async get(id: string): Promise<CanonicalRecord> {
    if (!/^[0-9a-f]{64}$/.test(id)) {
      throw new SigilError(
        'BAD_INPUT',
        `record id must be 64 lowercase hex characters, got ${JSON.stringify(id)}`,
      );
    }
    const rec = await this.readRecord(id);
    if (!rec) throw new SigilError('NOT_FOUND', `no record with id ${id}`, { id });
    return rec;
  }

  private async idAtSeq(seq: number): Promise<string | null> {
    const raw = await this.core.db.get(KEYS.bySeq(seq));
    return raw === undefined ? null : toHex(raw);
  }

  /** The record at `seq`, which the caller has checked is a non-negative integer. */
  async getBySeq(seq: number): Promise<CanonicalRecord> {
    const id = await this.idAtSeq(seq);
    if (!id) throw new SigilError('NOT_FOUND', `no record at seq ${seq}`, { seq });
    const rec = await this.readRecord(id);
    if (!rec) throw new SigilError('STORE_CORRUPT', `seq ${seq} points at missing record ${id}`, { seq, id });
    return rec;
  }

  async list(query: ListQuery): Promise<ListPage> {
    const { db, indexKey } = this.core;
    const limit = query.limit ?? DEFAULT_LIMIT;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
      throw new SigilError('BAD_INPUT', `limit must be an integer from 1 to ${MAX_LIMIT}, got ${limit}`);
    }
    if (query.space !== undefined && !isSpace(query.space)) {
      throw new SigilError(
        'BAD_INPUT',
        `space must be "data" or "system", got ${JSON.stringify(query.space)}`,
      );
    }
    if (query.kind !== undefined) {
      const problem = checkKind(query.kind);
      if (problem) throw new SigilError('BAD_INPUT', problem);
    }
    const order = query.order ?? 'asc';
    let prefix: string;
    if (query.kind !== undefined) prefix = KEYS.kindPrefix(kindTag(indexKey, query.kind));
    else if (query.space !== undefined) prefix = KEYS.spacePrefix(query.space);
    else prefix = KEYS.seqPrefix;
    const range: { gt?: string; gte?: string; lt?: string; lte?: string } = {};
    const end = prefixEnd(prefix);
    if (query.cursor !== undefined) {
      const after = prefix + KEYS.bySeq(parseCursor(query.cursor)).slice(2);
      if (order === 'asc') {
        range.gt = after;
        range.lt = end;
      } else {
        range.gte = prefix;
        range.lt = after;
      }
    } else {
      range.gte = prefix;
      range.lt = end;
    }
    const records: CanonicalRecord[] = [];
    // A record that cannot be read does not hide the others: it is skipped and reported in its place, and
    // counts toward the limit so that cursors walk every seq exactly once. `get` of it still fails.
    const damaged: DamagedEntry[] = [];
    let lastSeq: number | null = null;
    let more = false;
    const it = db.iterator({ ...range, reverse: order === 'desc' });
    try {
      for await (const [key, value] of it) {
        const seq = parseSeqHex(key.slice(prefix.length));
        if (records.length + damaged.length >= limit) {
          more = true;
          break;
        }
        const id = toHex(value);
        const read = await this.tryReadRecord(id);
        lastSeq = seq;
        if (!read.ok) {
          // With kind and space, the kind index spans both spaces: the space index says where it belongs.
          if (
            query.kind !== undefined &&
            query.space !== undefined &&
            (await db.get(KEYS.bySpace(query.space, seq))) === undefined
          )
            continue;
          damaged.push({ seq, id, reason: DAMAGE_REASONS[read.problem] });
          continue;
        }
        if (query.kind !== undefined && query.space !== undefined && read.record.body.space !== query.space)
          continue;
        records.push(read.record);
      }
    } finally {
      await it.close();
    }
    return {
      records,
      nextCursor: more && lastSeq !== null ? cursorFor(lastSeq) : null,
      ...(damaged.length > 0 ? { damaged } : {}),
    };
  }

  async findLegacy(legacyIdentity: string): Promise<string | null> {
    const v = await this.core.db.get(KEYS.legacy(legacyTag(this.core.indexKey, legacyIdentity)));
    return v === undefined ? null : toHex(v);
  }
}
