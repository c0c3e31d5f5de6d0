/**
 * Agent memory over the canon. Every version is a signed `memory.version` record in the data space whose
 * text is sealed under the entry's own key (entry-keys.ts); forgetting appends a `memory.forget` tombstone
 * and destroys that key, so the records stay valid (`canon verify` passes) while the text is gone for good.
 *
 * The entries, their versions and the search index are derived from the canon when the store opens; the
 * plaintext of the latest versions lives only in this process's memory, never in an index file.
 */
import MiniSearch from 'minisearch';
import { SigilError } from '../../../shared/src/errors.js';
import { fromBase64, toBase64, utf8 } from '../../../shared/src/bytes.js';
import { open as aeadOpen, seal as aeadSeal } from '../../../shared/src/aead.js';
import type { JsonValue } from '../../../shared/src/jcs.js';
import { DEFAULT_CONFIG } from '../../../shared/src/config-schema.js';
import { memorySearchSettings, type MemorySearchSettings } from './settings.js';
import type { CanonicalRecord } from '../../../shared/src/record.js';
import { loaRank, type LoaLevel } from '../../../shared/src/policy.js';
import {
  DEFAULT_LIST_LIMIT,
  DEFAULT_VISIBILITY,
  MEMORY_KINDS,
  checkEntryName,
  sealedTextAad,
  textProblem,
  type MemoryForgetPayload,
  type MemoryVersionPayload,
} from '../../../shared/src/memory.js';
import type {
  MemoryEntryView,
  MemoryForgetResult,
  MemoryGetResult,
  MemoryListParams,
  MemoryListResult,
  MemorySearchHit,
  MemorySearchResult,
  MemoryVersionView,
  MemoryWriteParams,
  MemoryWriteResult,
} from '../../../shared/src/protocol.js';
import { ANONYMOUS, auditActor, type Access, type Governance } from '../governance/gate.js';
import type { LevelCanonStore } from '../canon/store.js';
import { EntryKeyStore } from './entry-keys.js';
import type { MemoryVectors } from './vectors.js';
import { fuse, type RankedHit } from '../rag/fusion.js';
import { normalizeTerm, tokenizeRust } from '../rag/lexical-index.js';

interface VersionMeta {
  readonly version: number;
  readonly recordId: string;
  readonly seq: number;
  readonly time: string;
  readonly actor: string;
  readonly licenseId: string | null;
  readonly tags: readonly string[];
  readonly visibility: LoaLevel;
  readonly expiresAt: string | null;
  readonly keyId: string;
}

interface Entry {
  readonly namespace: string;
  readonly key: string;
  /** Versions since the last forget (empty: the entry does not exist now). */
  versions: VersionMeta[];
  /** The highest version ever written, forgotten ones included: versions never repeat. */
  lastVersion: number;
  /** The latest version's text; null while the entry does not exist. */
  text: string | null;
}

export interface MemoryServiceOptions {
  readonly home: string;
  readonly store: LevelCanonStore;
  readonly governance: Governance;
  readonly dataKey: Uint8Array;
  /** The clock (tests); default Date.now. */
  readonly now?: () => number;
  /** How often expired entries are forgotten while the store is open; 0 turns the timer off. */
  readonly sweepIntervalMs?: number;
  readonly onWarning?: (message: string) => void;
  /** Semantic search; without it, search ranks by BM25 alone. */
  readonly vectors?: MemoryVectors;
  readonly searchSettings?: MemorySearchSettings;
}

/** Without a configuration (tests, tools): `[memory]`'s defaults. */
export const DEFAULT_MEMORY_SEARCH: MemorySearchSettings = memorySearchSettings(DEFAULT_CONFIG);

/** Candidates each retriever contributes to the fusion. */
const CANDIDATES = 50;

const ENTRY_SEP = '\u0000';
const entryId = (namespace: string, key: string): string => namespace + ENTRY_SEP + key;
const PAGE = 1000;

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function encodeCursor(namespace: string, key: string): string {
  return Buffer.from(JSON.stringify([namespace, key]), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string')
      return entryId(v[0], v[1]);
  } catch {
    // fall through to the error
  }
  throw new SigilError(
    'BAD_INPUT',
    'cursor is not one this server gave out: pass the nextCursor of the previous page',
    {
      field: 'cursor',
    },
  );
}

/** Index of the first element of sorted `ids` greater than `id` (or ≥ when `inclusive`). */
function lowerBound(ids: readonly string[], id: string, inclusive: boolean): number {
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const v = ids[mid]!;
    if (v < id || (!inclusive && v === id)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class MemoryService {
  readonly #opts: MemoryServiceOptions;
  readonly #keys: EntryKeyStore;
  readonly #entries = new Map<string, Entry>();
  /** Ids of entries that exist now, sorted: pages are ranges of it. */
  #sorted: string[] = [];
  readonly #locks = new Map<string, Promise<unknown>>();
  // The docs index's terms (Rust-aware tokens, English stop words dropped, light stemming): without them
  // "the" and "how" matched nearly every entry. Prefix and typo matching only on longer words, since
  // "user" fuzzily matching "use" ranked strangers (measured with bench/memory-eval/run.ts).
  readonly #search = new MiniSearch<{ id: string; text: string; namespace: string }>({
    fields: ['text', 'namespace'],
    storeFields: [],
    tokenize: tokenizeRust,
    processTerm: normalizeTerm,
    searchOptions: {
      tokenize: tokenizeRust,
      processTerm: normalizeTerm,
      boost: { text: 2 },
      prefix: (term) => term.length >= 4,
      fuzzy: (term) => (term.length >= 6 ? 0.15 : false),
    },
  });
  #timer: NodeJS.Timeout | null = null;
  #closed = false;

  private constructor(opts: MemoryServiceOptions, keys: EntryKeyStore) {
    this.#opts = opts;
    this.#keys = keys;
  }

  static async open(opts: MemoryServiceOptions): Promise<MemoryService> {
    const keys = await EntryKeyStore.open(opts.home, opts.dataKey);
    const svc = new MemoryService(opts, keys);
    await svc.#load();
    await svc.#finishInterruptedForgets();
    await svc.sweepExpired();
    const every = opts.sweepIntervalMs ?? 60_000;
    if (every > 0) {
      svc.#timer = setInterval(() => {
        svc
          .sweepExpired()
          .catch((e: unknown) => opts.onWarning?.(`memory expiry sweep: ${(e as Error).message}`));
      }, every);
      svc.#timer.unref();
    }
    return svc;
  }

  #now(): number {
    return (this.#opts.now ?? Date.now)();
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    await Promise.allSettled([...this.#locks.values()]);
    await this.#opts.vectors?.close();
  }

  // -------------------------------------------------------------------------------------------------------
  // Loading

  async #records(kind: string): Promise<CanonicalRecord[]> {
    const out: CanonicalRecord[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await this.#opts.store.list({ kind, limit: PAGE, ...(cursor ? { cursor } : {}) });
      out.push(...page.records);
      if (page.damaged?.length)
        throw new SigilError(
          'STORE_CORRUPT',
          `${page.damaged.length} ${kind} record(s) cannot be read (first at seq ${page.damaged[0]!.seq}); run "sigil verify"`,
        );
      if (!page.nextCursor) return out;
      cursor = page.nextCursor;
    }
  }

  async #load(): Promise<void> {
    const records = [
      ...(await this.#records(MEMORY_KINDS.version)),
      ...(await this.#records(MEMORY_KINDS.forget)),
    ];
    records.sort((a, b) => a.body.seq - b.body.seq);
    const byId = new Map(records.map((r) => [r.id, r]));
    for (const r of records) {
      if (r.body.kind === MEMORY_KINDS.version) this.#applyVersion(r);
      else this.#applyForget(r.body.payload as unknown as MemoryForgetPayload);
    }
    for (const e of this.#entries.values()) {
      const latest = e.versions.at(-1);
      if (!latest) continue;
      const rec = byId.get(latest.recordId);
      e.text = rec ? await this.#openText(rec.body.payload as unknown as MemoryVersionPayload) : null;
      if (e.text === null) {
        // The key is gone without a tombstone (a key file deleted by hand): the text cannot come back.
        this.#opts.onWarning?.(
          `memory entry ${e.namespace} / ${e.key}: its key file is missing, so its text cannot be read; forget it with "sigil memory forget"`,
        );
      }
    }
    this.#sorted = [...this.#entries.values()]
      .filter((e) => e.versions.length > 0)
      .map((e) => entryId(e.namespace, e.key))
      .sort();
    for (const id of this.#sorted) this.#index(this.#entries.get(id)!);
  }

  #entry(namespace: string, key: string): Entry {
    const id = entryId(namespace, key);
    let e = this.#entries.get(id);
    if (!e) {
      e = { namespace, key, versions: [], lastVersion: 0, text: null };
      this.#entries.set(id, e);
    }
    return e;
  }

  #applyVersion(r: CanonicalRecord): VersionMeta {
    const p = r.body.payload as unknown as MemoryVersionPayload;
    const e = this.#entry(p.namespace, p.key);
    const meta: VersionMeta = {
      version: p.version,
      recordId: r.id,
      seq: r.body.seq,
      time: r.body.ts,
      actor: r.body.actor,
      licenseId: p.license_id,
      tags: p.tags,
      visibility: p.visibility,
      expiresAt: p.expires_at,
      keyId: p.text.key_id,
    };
    e.versions.push(meta);
    e.lastVersion = Math.max(e.lastVersion, p.version);
    return meta;
  }

  #applyForget(p: MemoryForgetPayload): void {
    const e = this.#entry(p.namespace, p.key);
    e.versions = [];
    e.text = null;
    e.lastVersion = Math.max(e.lastVersion, p.through_version);
  }

  /** Keys a tombstone names but a crash left on disk, and keys no record names (a write that failed). */
  async #finishInterruptedForgets(): Promise<void> {
    const live = new Set<string>();
    for (const e of this.#entries.values()) for (const v of e.versions) live.add(v.keyId);
    for (const keyId of await this.#keys.list()) if (!live.has(keyId)) await this.#keys.destroy(keyId);
  }

  async #openText(p: MemoryVersionPayload): Promise<string | null> {
    const key = await this.#keys.get(p.text.key_id);
    if (!key) return null;
    const plain = aeadOpen(
      key,
      fromBase64(p.text.sealed),
      sealedTextAad(p.namespace, p.key, p.version, p.text.key_id),
    );
    if (!plain)
      throw new SigilError(
        'STORE_CORRUPT',
        `memory entry ${p.namespace} / ${p.key} version ${p.version}: the sealed text does not open under its key`,
      );
    return new TextDecoder('utf-8', { fatal: true }).decode(plain);
  }

  // -------------------------------------------------------------------------------------------------------
  // Views

  #visibleTo(e: Entry, access: Access): boolean {
    const latest = e.versions.at(-1);
    return latest !== undefined && loaRank(access.caller.loa) >= loaRank(latest.visibility);
  }

  #expired(e: Entry): boolean {
    const exp = e.versions.at(-1)?.expiresAt;
    return exp !== null && exp !== undefined && Date.parse(exp) <= this.#now();
  }

  /** What the caller may see of an entry now; absent, expired and too-private entries look the same. */
  #readable(e: Entry | undefined, access: Access): e is Entry & { text: string } {
    return e !== undefined && e.text !== null && this.#visibleTo(e, access) && !this.#expired(e);
  }

  #view(e: Entry & { text: string }): MemoryEntryView {
    const latest = e.versions.at(-1)!;
    return {
      namespace: e.namespace,
      key: e.key,
      version: latest.version,
      text: e.text,
      tags: latest.tags,
      visibility: latest.visibility,
      expiresAt: latest.expiresAt,
      createdAt: e.versions[0]!.time,
      updatedAt: latest.time,
      actor: latest.actor,
      recordId: latest.recordId,
    };
  }

  #notFound(namespace: string, key: string): SigilError {
    return new SigilError(
      'NOT_FOUND',
      `no memory entry ${namespace} / ${key} that you may read (it may never have existed, been forgotten, have expired, or be visible only to a higher LOA)`,
      { namespace, key },
    );
  }

  async #locked<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const before = this.#locks.get(id) ?? Promise.resolve();
    const run = before.then(fn, fn);
    const settled = run.catch(() => undefined);
    this.#locks.set(id, settled);
    try {
      return await run;
    } finally {
      if (this.#locks.get(id) === settled) this.#locks.delete(id);
    }
  }

  #index(e: Entry): void {
    if (e.text === null) return;
    const id = entryId(e.namespace, e.key);
    this.#search.add({ id, text: e.text, namespace: e.namespace });
    this.#opts.vectors?.set(id, e.text);
  }

  /** Out of the lexical index; the vector goes on a forget only, so an update keeps its old vector until the new one is made. */
  #unindex(id: string): void {
    if (this.#search.has(id)) this.#search.discard(id);
  }

  #insertSorted(id: string): void {
    const at = lowerBound(this.#sorted, id, true);
    if (this.#sorted[at] !== id) this.#sorted.splice(at, 0, id);
  }

  #removeSorted(id: string): void {
    const at = lowerBound(this.#sorted, id, true);
    if (this.#sorted[at] === id) this.#sorted.splice(at, 1);
  }

  // -------------------------------------------------------------------------------------------------------
  // Operations

  async write(access: Access, p: MemoryWriteParams): Promise<MemoryWriteResult> {
    this.#ensureOpen();
    checkEntryName(p.namespace, p.key);
    const problem = textProblem(p.text);
    if (problem) throw new SigilError('BAD_INPUT', problem, { field: 'text' });
    const visibility = p.visibility ?? DEFAULT_VISIBILITY;
    if (loaRank(visibility) > loaRank(access.caller.loa))
      throw new SigilError(
        'BAD_INPUT',
        `visibility ${visibility} is above your own LOA (${access.caller.role}): you could not read the entry back; choose ${access.caller.role} or lower`,
        { field: 'visibility' },
      );
    if (p.expiresAt !== undefined && Date.parse(p.expiresAt) <= this.#now())
      throw new SigilError('BAD_INPUT', `expiresAt ${p.expiresAt} is not in the future`, {
        field: 'expiresAt',
      });
    const tags = [...new Set(p.tags ?? [])].sort();
    const expiresAt = p.expiresAt !== undefined ? new Date(Date.parse(p.expiresAt)).toISOString() : null;
    const id = entryId(p.namespace, p.key);
    return this.#locked(id, async () => {
      this.#ensureOpen();
      let e = this.#entries.get(id);
      if (e && e.versions.length > 0 && this.#expired(e)) {
        await this.#forgetLocked(e, this.#runtimeAccess('sigil:memory-expiry'), 'expired');
      }
      e = this.#entries.get(id);
      const latest = e?.versions.at(-1);
      const current = latest && this.#visibleTo(e!, access) ? latest.version : latest ? -1 : 0;
      if (p.ifVersion !== undefined && p.ifVersion !== current) {
        // A version the caller may not see is reported as "exists", never by its number.
        throw new SigilError(
          'CONFLICT',
          current === 0
            ? `memory entry ${p.namespace} / ${p.key} does not exist, but ifVersion ${p.ifVersion} was given; pass ifVersion 0 to create it`
            : current < 0
              ? `memory entry ${p.namespace} / ${p.key} exists and is not visible to you; it cannot be written with ifVersion ${p.ifVersion}`
              : `memory entry ${p.namespace} / ${p.key} is at version ${current}, not ${p.ifVersion}: someone wrote it since you read it; read it again and retry`,
          {
            namespace: p.namespace,
            key: p.key,
            expected: p.ifVersion,
            ...(current >= 0 ? { actual: current } : {}),
          },
        );
      }
      if (latest && current < 0)
        throw new SigilError(
          'ACCESS_DENIED',
          `memory entry ${p.namespace} / ${p.key} is visible only to ${latest.visibility} and above; a ${access.caller.role} may not replace it`,
          { namespace: p.namespace, key: p.key, required: { loa: latest.visibility } },
        );
      if (
        e &&
        latest &&
        e.text === p.text &&
        sameStrings(latest.tags, tags) &&
        latest.visibility === visibility &&
        latest.expiresAt === expiresAt
      ) {
        return { entry: this.#view(e as Entry & { text: string }), written: false };
      }
      const created = latest ? null : await this.#keys.create();
      const keyId = latest ? latest.keyId : created!.keyId;
      const key = created ? created.key : await this.#keys.get(keyId);
      if (!key)
        throw new SigilError(
          'STORE_CORRUPT',
          `memory entry ${p.namespace} / ${p.key}: its key file is missing; forget the entry before writing it again`,
        );
      const version = (e?.lastVersion ?? 0) + 1;
      const payload: MemoryVersionPayload = {
        namespace: p.namespace,
        key: p.key,
        version,
        text: {
          alg: 'aes-256-gcm',
          key_id: keyId,
          sealed: toBase64(aeadSeal(key, utf8(p.text), sealedTextAad(p.namespace, p.key, version, keyId))),
        },
        text_bytes: Buffer.byteLength(p.text, 'utf8'),
        tags,
        visibility,
        expires_at: expiresAt,
        license_id: access.caller.licenseId,
      };
      let rec: CanonicalRecord | undefined;
      try {
        [rec] = await this.#opts.governance.write(access, [
          {
            kind: MEMORY_KINDS.version,
            space: 'data',
            payload: payload as unknown as JsonValue,
            actor: auditActor(access.caller),
            ...(latest ? { links: [{ rel: 'previous-version', id: latest.recordId }] } : {}),
          },
        ]);
      } catch (err) {
        if (created) await this.#keys.destroy(created.keyId);
        throw err;
      }
      if (!rec) throw new Error('memory write returned no record');
      this.#applyVersion(rec);
      const entry = this.#entries.get(id)!;
      this.#unindex(id);
      entry.text = p.text;
      this.#index(entry);
      this.#insertSorted(id);
      return { entry: this.#view(entry as Entry & { text: string }), written: true };
    });
  }

  async get(
    access: Access,
    p: { namespace: string; key: string; history?: boolean | undefined },
  ): Promise<MemoryGetResult> {
    this.#ensureOpen();
    const e = this.#entries.get(entryId(p.namespace, p.key));
    if (!this.#readable(e, access)) throw this.#notFound(p.namespace, p.key);
    const entry = this.#view(e);
    if (!p.history) return { entry };
    const history: MemoryVersionView[] = [];
    for (const v of e.versions) {
      const rec = await this.#opts.store.get(v.recordId);
      history.push({
        version: v.version,
        text: await this.#openText(rec.body.payload as unknown as MemoryVersionPayload),
        tags: v.tags,
        visibility: v.visibility,
        expiresAt: v.expiresAt,
        actor: v.actor,
        licenseId: v.licenseId,
        time: v.time,
        recordId: v.recordId,
        seq: v.seq,
      });
    }
    return { entry, history };
  }

  list(access: Access, p: MemoryListParams): MemoryListResult {
    this.#ensureOpen();
    const limit = p.limit ?? DEFAULT_LIST_LIMIT;
    const since = p.since !== undefined ? Date.parse(p.since) : -Infinity;
    const until = p.until !== undefined ? Date.parse(p.until) : Infinity;
    const start =
      p.cursor !== undefined
        ? decodeCursor(p.cursor)
        : p.namespace !== undefined
          ? p.namespace + ENTRY_SEP
          : '';
    let at = lowerBound(this.#sorted, start, p.cursor === undefined);
    const entries: MemoryEntryView[] = [];
    let last: Entry | null = null;
    let more = false;
    for (; at < this.#sorted.length; at++) {
      const id = this.#sorted[at]!;
      const e = this.#entries.get(id)!;
      if (p.namespace !== undefined && e.namespace !== p.namespace) {
        if (e.namespace > p.namespace) break;
        continue;
      }
      if (!this.#readable(e, access)) continue;
      if (p.prefix !== undefined && !e.key.startsWith(p.prefix)) continue;
      const latest = e.versions.at(-1)!;
      const t = Date.parse(latest.time);
      if (t < since || t > until) continue;
      if (p.tag !== undefined && !latest.tags.includes(p.tag)) continue;
      if (entries.length === limit) {
        more = true;
        break;
      }
      entries.push(this.#view(e));
      last = e;
    }
    return { entries, nextCursor: more && last ? encodeCursor(last.namespace, last.key) : null };
  }

  async search(
    access: Access,
    p: { text: string; k?: number | undefined; namespace?: string | undefined },
  ): Promise<MemorySearchResult> {
    this.#ensureOpen();
    const k = p.k ?? 10;
    const settings = this.#opts.searchSettings ?? DEFAULT_MEMORY_SEARCH;
    const accept = (id: string): boolean => {
      const e = this.#entries.get(id);
      return this.#readable(e, access) && (p.namespace === undefined || e.namespace === p.namespace);
    };
    const lexical: RankedHit[] = [];
    for (const r of this.#search.search(p.text)) {
      const id = String(r.id);
      if (!accept(id)) continue;
      lexical.push({ id, score: r.score });
      if (lexical.length === CANDIDATES) break;
    }
    const lists = [{ weight: settings.lexicalWeight, hits: lexical }];
    let retrievers: MemorySearchResult['retrievers'] = { lexical: true, vector: false };
    const vectors = this.#opts.vectors;
    if (vectors && settings.vectorWeight > 0) {
      const v = await vectors.search(p.text, CANDIDATES, accept, settings.waitMs);
      if (v.hits) {
        const lexicalIds = new Set(lexical.map((h) => h.id));
        const hits = v.hits.filter((h) => h.score >= settings.minSimilarity || lexicalIds.has(h.id));
        lists.push({ weight: settings.vectorWeight, hits });
        retrievers = { lexical: true, vector: true };
      } else {
        const s = v.state;
        retrievers = {
          lexical: true,
          vector: false,
          vectorNote:
            s.state === 'building'
              ? `the entries' vectors are still being made (${s.done} of ${s.total}); ranked by keywords only`
              : s.state === 'unavailable'
                ? `no embedder (${s.detail}); ranked by keywords only`
                : 'ranked by keywords only',
        };
      }
    }
    this.#ensureOpen();
    const hits: MemorySearchHit[] = [];
    for (const h of fuse(lists, k, settings.fusion)) {
      // Re-checked: an entry may have been forgotten while the query was embedded.
      const e = this.#entries.get(h.id);
      if (!this.#readable(e, access)) continue;
      hits.push({ entry: this.#view(e), score: Math.round(h.score * 1e6) / 1e6 });
    }
    return { hits, retrievers };
  }

  async forget(access: Access, p: { namespace: string; key: string }): Promise<MemoryForgetResult> {
    this.#ensureOpen();
    checkEntryName(p.namespace, p.key);
    const id = entryId(p.namespace, p.key);
    return this.#locked(id, async () => {
      const e = this.#entries.get(id);
      // Expired entries may be forgotten by hand before the sweep gets to them.
      if (!e || e.versions.length === 0 || !this.#visibleTo(e, access))
        throw this.#notFound(p.namespace, p.key);
      return this.#forgetLocked(e, access, 'requested');
    });
  }

  async #forgetLocked(
    e: Entry,
    access: Access,
    reason: MemoryForgetPayload['reason'],
  ): Promise<MemoryForgetResult> {
    const keyIds = [...new Set(e.versions.map((v) => v.keyId))].sort();
    const payload: MemoryForgetPayload = {
      namespace: e.namespace,
      key: e.key,
      through_version: e.lastVersion,
      key_ids: keyIds,
      reason,
      license_id: access.caller.licenseId,
    };
    const [rec] = await this.#opts.governance.write(access, [
      {
        kind: MEMORY_KINDS.forget,
        space: 'data',
        payload: payload as unknown as JsonValue,
        actor: auditActor(access.caller),
        links: e.versions.map((v) => ({ rel: 'forgets', id: v.recordId })),
      },
    ]);
    if (!rec) throw new Error('memory forget returned no record');
    const forgotten = e.versions.length;
    const id = entryId(e.namespace, e.key);
    this.#unindex(id);
    await this.#opts.vectors?.delete(id);
    this.#removeSorted(id);
    this.#applyForget(payload);
    // The tombstone is durable: from here a crash only delays the destruction to the next open.
    for (const k of keyIds) await this.#keys.destroy(k);
    return {
      namespace: e.namespace,
      key: e.key,
      forgottenVersions: forgotten,
      recordId: rec.id,
      time: rec.body.ts,
    };
  }

  /** Forgets every entry past its expiry (they are hidden from the moment they expire). */
  async sweepExpired(): Promise<number> {
    if (this.#closed) return 0;
    const due = [...this.#entries.values()].filter((e) => e.versions.length > 0 && this.#expired(e));
    let n = 0;
    for (const e of due) {
      await this.#locked(entryId(e.namespace, e.key), async () => {
        if (this.#closed || e.versions.length === 0 || !this.#expired(e)) return;
        await this.#forgetLocked(e, this.#runtimeAccess('sigil:memory-expiry'), 'expired');
        n++;
      });
    }
    return n;
  }

  /** The runtime acting on its own (the expiry sweep): audited as such, no licence involved. */
  #runtimeAccess(subject: `sigil:${string}`): Access {
    const policy = this.#opts.governance.table['memory.forget'];
    return {
      method: 'sigil/memory.forget',
      operation: 'memory.forget',
      caller: { ...ANONYMOUS, subject, loa: 4, role: 'root' },
      decision: {
        allowed: true,
        reason: 'the runtime forgets memory entries past their expires_at',
        operation: 'memory.forget',
        required: { loa: policy.loa, trustThreshold: policy.trustThreshold },
      },
      trust: null,
    };
  }

  /** Counts for the store status. */
  stats(): { entries: number; namespaces: number } {
    const ns = new Set<string>();
    for (const id of this.#sorted) ns.add(this.#entries.get(id)!.namespace);
    return { entries: this.#sorted.length, namespaces: ns.size };
  }

  /** For tests of the shredding: where the entry keys live. */
  get keyDirectory(): string {
    return this.#keys.directory;
  }

  #ensureOpen(): void {
    if (this.#closed) throw new SigilError('STORE_CLOSED', 'the memory service is closed');
  }
}
