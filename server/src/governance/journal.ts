/**
 * The audit journal (governance): an append-only, hash-chained JSONL file in the home that takes audit
 * records when the canon cannot, and gives them back, in order, to be replayed into the canon on the next
 * open.
 *
 * Format: one JSON object per line, each in RFC 8785 canonical form (JCS) followed by "\n":
 *
 *     entry line:   { "entry": <the audit record, any JSON>, "hash", "prev", "seq", "ts" }
 *     marker line:  { "hash", "prev", "replayed": <N>, "seq", "ts" }
 *
 *  - `seq` is the 1-based line number (entries and markers share the sequence); an entry's `seq` is its
 *    idempotency key: replaying hands it to the caller, who can check whether it was already applied;
 *  - `prev` is the previous line's `hash`, or 64 zeros on the first line;
 *  - `ts` is the writer's clock, RFC 3339 UTC with milliseconds (informational, not required monotonic);
 *  - `hash` = lowercase hex SHA-256 of the UTF-8 JCS of the line without `hash` (so it covers `prev`, and
 *    chaining on it is the same as chaining on the whole previous line);
 *  - a marker says every entry with seq ≤ N has been replayed. N only grows and always names an earlier
 *    line (previous N < N < the marker's own seq). Markers are lines of the chain like any other.
 *
 * Opening verifies the whole file: every complete line must be canonical JSON of exactly these fields with
 * the right seq, prev and hash and a consistent marker. Any break is SigilError('STORE_CORRUPT') whose
 * message and `details.line` name the first bad line (1-based) — an edited entry or hash shows on that line,
 * a deleted, inserted or reordered line on the first line whose seq or prev no longer fits.
 *
 * Torn final line — the choice made here: bytes after the last "\n" are the remains of an append that a
 * crash interrupted. Every append writes its line and newline in one buffer and returns only after fsync,
 * so such a fragment was never acknowledged to anyone. Opening tolerates it: it is reported as a warning
 * (`warnings`, and `onWarning` if given; code 'torn_tail' with its offset and length) and cut off the file
 * (ftruncate + fsync) so the next append starts on a clean line. It is dropped even if it happens to be a
 * complete, valid line without its newline, since its append never returned. Anything else that is wrong —
 * including a complete last line that does not verify — is STORE_CORRUPT.
 *
 * What the chain does not give: it has no key, so whoever can write the file can rewrite it consistently,
 * and removing whole lines at the end is indistinguishable from them never having been written. The journal
 * detects accidents and naive edits; an entry is vouched for once it is replayed into the signed canon
 * (which can keep the entry's `seq` and line `hash` as an anchor). The file is created 0600 and a journal
 * accessible to group or others is refused, like the keystore; entries are stored in clear, so the caller
 * decides what an audit record may contain.
 *
 * Concurrency: one writer. Within a process all writes are serialised (appends, markers, replay's marks),
 * and a second `open` of the same file in the same process is refused (STORE_LOCKED) until the first is
 * closed. Across processes the owner of the home is the only writer; a journal that grew behind our back is
 * noticed before the next write (STORE_LOCKED, reopen to re-verify) rather than forked.
 */
import { promises as fs, constants as fsConstants } from 'node:fs';
import path from 'node:path';
import { sha256Hex } from '../../../shared/src/hash.js';
import { SigilError } from '../../../shared/src/errors.js';
import { assertJsonValue, canonicalize, parseStrictJson } from '../../../shared/src/jcs.js';
import type { JsonValue } from '../../../shared/src/jcs.js';
import { syncDirectory } from '../runtime/fsync.js';

// ---------------------------------------------------------------------------------------------------------
// Format

export const JOURNAL_ZERO_HASH = '0'.repeat(64);
/** Longest line accepted, newline included (an audit record is small; this bounds a corrupt file's cost). */
export const MAX_JOURNAL_LINE_BYTES = 1024 * 1024;

export interface JournalEntryLine {
  readonly seq: number;
  readonly prev: string;
  readonly ts: string;
  readonly entry: JsonValue;
  readonly hash: string;
}

export interface JournalMarkerLine {
  readonly seq: number;
  readonly prev: string;
  readonly ts: string;
  /** Every entry with seq ≤ replayed has been replayed. */
  readonly replayed: number;
  readonly hash: string;
}

export type JournalLine = JournalEntryLine | JournalMarkerLine;

/** An entry line as handed out by `pending()` and `replay()` (deeply frozen). */
export interface JournalEntry {
  /** Its line number: the idempotency key to check when applying it. */
  readonly seq: number;
  readonly ts: string;
  readonly entry: JsonValue;
  /** The line's hash: an anchor for the chain up to and including it. */
  readonly hash: string;
}

export interface JournalWarning {
  readonly code: 'torn_tail';
  readonly message: string;
  /** The line number the fragment would have had. */
  readonly line: number;
  /** Byte offset where the fragment started (the file is cut back to it). */
  readonly offset: number;
  /** Its length in bytes. */
  readonly bytes: number;
}

export interface JournalVerification {
  /** Complete, verified lines. */
  readonly lines: number;
  readonly lastSeq: number;
  /** Hash of the last line, or 64 zeros. */
  readonly head: string;
  readonly replayedUpTo: number;
  /** Entries with seq > replayedUpTo, in order. */
  readonly pending: readonly JournalEntry[];
  /** Bytes of the verified lines (where a torn tail starts). */
  readonly goodBytes: number;
  /** The torn final fragment, if any. */
  readonly torn: { readonly offset: number; readonly bytes: number } | null;
}

const HEX64 = /^[0-9a-f]{64}$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const ENTRY_FIELDS = ['entry', 'hash', 'prev', 'seq', 'ts'] as const;
const MARKER_FIELDS = ['hash', 'prev', 'replayed', 'seq', 'ts'] as const;

/** The `hash` of a line: lowercase hex SHA-256 of the UTF-8 JCS of the line without `hash`. */
export function journalLineHash(
  line: Omit<JournalEntryLine, 'hash'> | Omit<JournalMarkerLine, 'hash'>,
): string {
  return sha256Hex(canonicalize(line));
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

function isTimestamp(s: unknown): s is string {
  if (typeof s !== 'string' || !TIMESTAMP.test(s)) return false;
  const t = Date.parse(s);
  return !Number.isNaN(t) && new Date(t).toISOString() === s;
}

function corrupt(where: string, line: number, reason: string): SigilError {
  return new SigilError('STORE_CORRUPT', `${where}: line ${line}: ${reason}`, { path: where, line, reason });
}

function sameFields(obj: object, fields: readonly string[]): boolean {
  const keys = Object.keys(obj);
  return keys.length === fields.length && fields.every((f) => Object.prototype.hasOwnProperty.call(obj, f));
}

/**
 * Verifies journal bytes (pure). Throws STORE_CORRUPT naming the first bad line; a final fragment without
 * its newline is returned as `torn`, not thrown. `where` (a file name) prefixes messages.
 */
export function verifyJournal(bytes: Uint8Array, where = 'audit journal'): JournalVerification {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  let head = JOURNAL_ZERO_HASH;
  let replayedUpTo = 0;
  let pending: JournalEntry[] = [];
  let n = 0;
  let start = 0;
  for (;;) {
    const nl = buf.indexOf(0x0a, start);
    if (nl < 0) break;
    n++;
    if (nl + 1 - start > MAX_JOURNAL_LINE_BYTES)
      throw corrupt(where, n, `is longer than ${MAX_JOURNAL_LINE_BYTES} bytes`);
    if (nl === start) throw corrupt(where, n, 'is empty');
    let text: string;
    try {
      text = decoder.decode(buf.subarray(start, nl));
    } catch {
      throw corrupt(where, n, 'is not valid UTF-8');
    }
    let value: unknown;
    try {
      value = parseStrictJson(text, `line ${n}`);
    } catch (e) {
      throw corrupt(where, n, `is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      throw corrupt(where, n, 'is not a JSON object');
    if (canonicalize(value) !== text) throw corrupt(where, n, 'is not in canonical (RFC 8785) form');
    const isEntry = sameFields(value, ENTRY_FIELDS);
    if (!isEntry && !sameFields(value, MARKER_FIELDS))
      throw corrupt(
        where,
        n,
        `must have exactly the fields ${ENTRY_FIELDS.join(', ')} (an entry) or ${MARKER_FIELDS.join(', ')} (a replay marker)`,
      );
    const line = value as Record<string, unknown>;
    if (line.seq !== n) throw corrupt(where, n, `seq is ${JSON.stringify(line.seq)}, expected ${n}`);
    if (typeof line.prev !== 'string' || !HEX64.test(line.prev))
      throw corrupt(where, n, 'prev must be 64 lowercase hex characters');
    if (line.prev !== head)
      throw corrupt(where, n, `prev ${line.prev} is not the hash of line ${n - 1} (${head})`);
    if (!isTimestamp(line.ts))
      throw corrupt(where, n, 'ts must be an RFC 3339 UTC timestamp with milliseconds');
    if (typeof line.hash !== 'string' || !HEX64.test(line.hash))
      throw corrupt(where, n, 'hash must be 64 lowercase hex characters');
    const { hash, ...unhashed } = line;
    const expected = sha256Hex(canonicalize(unhashed));
    if (hash !== expected)
      throw corrupt(where, n, `hash ${hash} does not match the line's content (${expected})`);
    if (isEntry) {
      pending.push(deepFreeze({ seq: n, ts: line.ts, entry: line.entry as JsonValue, hash }));
    } else {
      const r = line.replayed;
      if (typeof r !== 'number' || !Number.isSafeInteger(r) || r <= replayedUpTo || r >= n)
        throw corrupt(
          where,
          n,
          `replay marker ${JSON.stringify(r)} must be an integer above the previous marker (${replayedUpTo}) and below its own seq (${n})`,
        );
      replayedUpTo = r;
      pending = pending.filter((e) => e.seq > r);
    }
    head = hash;
    start = nl + 1;
  }
  return {
    lines: n,
    lastSeq: n,
    head,
    replayedUpTo,
    pending,
    goodBytes: start,
    torn: start < buf.length ? { offset: start, bytes: buf.length - start } : null,
  };
}

// ---------------------------------------------------------------------------------------------------------
// The journal

export interface AuditJournalOptions {
  /** The clock for `ts` (default: new Date()). */
  readonly now?: () => Date;
  /** Called for each warning found on open (a torn final line); they are also kept in `warnings`. */
  readonly onWarning?: (warning: JournalWarning) => void;
  /** Create the file (0600) if missing (default true); false makes a missing journal NOT_FOUND. */
  readonly create?: boolean;
}

export interface ReplayResult {
  /** Entries handed to the callback and marked in this call. */
  readonly replayed: number;
  /** The journal's replay mark afterwards. */
  readonly replayedUpTo: number;
}

/** Files open in this process (by real path): one AuditJournal per file. */
const openFiles = new Set<string>();

export class AuditJournal {
  readonly file: string;
  /** Warnings found on open (a torn final line that was cut off). */
  readonly warnings: readonly JournalWarning[];
  #handle: fs.FileHandle | null;
  readonly #realPath: string;
  readonly #now: () => Date;
  #size: number;
  #lastSeq: number;
  #head: string;
  #replayedUpTo: number;
  #pending: JournalEntry[];
  #queue: Promise<unknown> = Promise.resolve();
  #replays: Promise<unknown> = Promise.resolve();

  private constructor(
    file: string,
    realPath: string,
    handle: fs.FileHandle,
    v: JournalVerification,
    warnings: readonly JournalWarning[],
    now: () => Date,
  ) {
    this.file = file;
    this.#realPath = realPath;
    this.#handle = handle;
    this.#size = v.goodBytes;
    this.#lastSeq = v.lastSeq;
    this.#head = v.head;
    this.#replayedUpTo = v.replayedUpTo;
    this.#pending = [...v.pending];
    this.warnings = warnings;
    this.#now = now;
  }

  /**
   * Opens (creating it 0600 unless `create: false`) and verifies the journal. Throws STORE_CORRUPT naming
   * the first bad line, NOT_FOUND, BAD_INPUT (not a regular file, or a symbolic link), ACCESS_DENIED (group
   * or others have access: chmod 600), STORE_LOCKED (already open in this process). A torn final line is
   * cut off with a warning (see the module comment).
   */
  static async open(file: string, opts: AuditJournalOptions = {}): Promise<AuditJournal> {
    const create = opts.create ?? true;
    const flags =
      fsConstants.O_RDWR |
      fsConstants.O_APPEND |
      (create ? fsConstants.O_CREAT : 0) |
      (fsConstants.O_NOFOLLOW ?? 0);
    const handle = await fs.open(file, flags, 0o600).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT')
        throw new SigilError('NOT_FOUND', `no audit journal at ${file}`, { path: file });
      if (e.code === 'EISDIR')
        throw new SigilError('BAD_INPUT', `${file} is not a regular file`, { path: file });
      if (e.code === 'ELOOP')
        throw new SigilError(
          'BAD_INPUT',
          `${file} is a symbolic link; the audit journal must be a regular file`,
          {
            path: file,
          },
        );
      throw e;
    });
    let registered: string | null = null;
    try {
      const st = await handle.stat();
      if (!st.isFile()) throw new SigilError('BAD_INPUT', `${file} is not a regular file`, { path: file });
      if (process.platform !== 'win32' && (st.mode & 0o077) !== 0)
        throw new SigilError(
          'ACCESS_DENIED',
          `${file} is accessible to other users (mode ${(st.mode & 0o777).toString(8)}); run: chmod 600 ${JSON.stringify(file)}`,
          { path: file, mode: st.mode & 0o777 },
        );
      const real = await fs.realpath(file);
      if (openFiles.has(real))
        throw new SigilError('STORE_LOCKED', `the audit journal ${file} is already open in this process`, {
          path: file,
        });
      openFiles.add(real);
      registered = real;
      const bytes = await handle.readFile();
      const v = verifyJournal(bytes, file);
      const warnings: JournalWarning[] = [];
      if (v.torn !== null) {
        const w: JournalWarning = {
          code: 'torn_tail',
          message: `${file}: ignored an incomplete final line ${v.lastSeq + 1} (${v.torn.bytes} bytes at offset ${v.torn.offset}) left by an interrupted append; it was never acknowledged and has been cut off`,
          line: v.lastSeq + 1,
          offset: v.torn.offset,
          bytes: v.torn.bytes,
        };
        await handle.truncate(v.goodBytes);
        await handle.sync();
        warnings.push(w);
        opts.onWarning?.(w);
      }
      if (st.size === 0) await syncDirectory(path.dirname(file));
      return new AuditJournal(file, real, handle, v, Object.freeze(warnings), opts.now ?? (() => new Date()));
    } catch (e) {
      if (registered !== null) openFiles.delete(registered);
      await handle.close();
      throw e;
    }
  }

  /** seq of the last line (0 for an empty journal). */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** Hash of the last line, or 64 zeros. */
  get head(): string {
    return this.#head;
  }

  /** Every entry with seq ≤ this has been replayed. */
  get replayedUpTo(): number {
    return this.#replayedUpTo;
  }

  get closed(): boolean {
    return this.#handle === null;
  }

  /** Entries not yet replayed, oldest first. */
  pending(): readonly JournalEntry[] {
    return [...this.#pending];
  }

  /**
   * Appends an audit record (any JSON value; JCS_INVALID otherwise, BAD_INPUT if its line would exceed
   * 1 MiB). Returns after the line is written (O_APPEND) and fsynced. Appends are serialised in call order.
   */
  async append(entry: unknown): Promise<JournalEntry> {
    assertJsonValue(entry);
    // A private, frozen copy: the caller may change its object afterwards.
    const copy = deepFreeze(JSON.parse(canonicalize(entry)) as JsonValue);
    return this.#exclusive(async () => {
      const seq = this.#lastSeq + 1;
      const unhashed = { seq, prev: this.#head, ts: this.#now().toISOString(), entry: copy };
      const hash = journalLineHash(unhashed);
      await this.#write({ ...unhashed, hash });
      const e: JournalEntry = deepFreeze({ seq, ts: unhashed.ts, entry: copy, hash });
      this.#pending.push(e);
      return e;
    });
  }

  /**
   * Records that every entry with seq ≤ upToSeq has been replayed, as a chained marker line. A no-op
   * (returning false) when that is already so or there is no pending entry up to there. BAD_INPUT unless
   * 0 ≤ upToSeq ≤ lastSeq.
   */
  async markReplayed(upToSeq: number): Promise<boolean> {
    return this.#exclusive(async () => {
      if (!Number.isSafeInteger(upToSeq) || upToSeq < 0 || upToSeq > this.#lastSeq)
        throw new SigilError(
          'BAD_INPUT',
          `cannot mark entries up to ${String(upToSeq)} replayed: the journal's last seq is ${this.#lastSeq}`,
        );
      if (upToSeq <= this.#replayedUpTo) return false;
      const first = this.#pending[0];
      if (first === undefined || first.seq > upToSeq) return false;
      const unhashed = {
        seq: this.#lastSeq + 1,
        prev: this.#head,
        ts: this.#now().toISOString(),
        replayed: upToSeq,
      };
      await this.#write({ ...unhashed, hash: journalLineHash(unhashed) });
      this.#replayedUpTo = upToSeq;
      this.#pending = this.#pending.filter((e) => e.seq > upToSeq);
      return true;
    });
  }

  /**
   * Hands each pending entry to `into`, oldest first, and marks it replayed once `into` has resolved. If
   * `into` throws, the error is rethrown; the entries before it stay marked, that one and the rest stay
   * pending for the next call. A crash between `into` resolving and its mark being synced hands that entry
   * out again next time: `into` must treat `entry.seq` as an idempotency key. Entries appended while a replay
   * runs are left for the next call (so a callback that appends cannot make it run forever). Concurrent calls
   * run one after the other, so no entry goes to two callbacks.
   */
  async replay(into: (entry: JournalEntry) => Promise<void> | void): Promise<ReplayResult> {
    const run = async (): Promise<ReplayResult> => {
      this.#checkOpen();
      const limit = this.#lastSeq;
      let replayed = 0;
      for (;;) {
        const next = this.#pending[0];
        if (next === undefined || next.seq > limit) break;
        await into(next);
        await this.markReplayed(next.seq);
        replayed++;
      }
      return { replayed, replayedUpTo: this.#replayedUpTo };
    };
    const result = this.#replays.then(run, run);
    this.#replays = result.catch(() => undefined);
    return result;
  }

  /** Waits for queued writes, then closes the file. Idempotent. */
  async close(): Promise<void> {
    await this.#queue.catch(() => undefined);
    const handle = this.#handle;
    if (handle === null) return;
    this.#handle = null;
    openFiles.delete(this.#realPath);
    await handle.close();
  }

  #checkOpen(): fs.FileHandle {
    if (this.#handle === null)
      throw new SigilError('STORE_CLOSED', `the audit journal ${this.file} is closed`, { path: this.file });
    return this.#handle;
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      this.#checkOpen();
      return fn();
    };
    const result = this.#queue.then(run, run);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  /** Writes one line (under the lock) and advances the chain. On failure the file is cut back. */
  async #write(line: JournalLine): Promise<void> {
    const handle = this.#checkOpen();
    const data = Buffer.from(canonicalize(line) + '\n', 'utf8');
    if (data.length > MAX_JOURNAL_LINE_BYTES)
      throw new SigilError(
        'BAD_INPUT',
        `the audit record is too large: its journal line would be ${data.length} bytes, at most ${MAX_JOURNAL_LINE_BYTES} are allowed`,
      );
    const st = await handle.stat();
    if (st.size !== this.#size)
      throw new SigilError(
        'STORE_LOCKED',
        `the audit journal ${this.file} was changed by someone else since it was opened (${st.size} bytes, expected ${this.#size}); reopen it to verify it`,
        { path: this.file },
      );
    try {
      let off = 0;
      while (off < data.length) {
        const { bytesWritten } = await handle.write(data, off, data.length - off, null);
        off += bytesWritten;
      }
      await handle.sync();
    } catch (e) {
      // Cut a partial line back off so the chain on disk stays what we believe it is; if even that fails,
      // give the journal up (reopening will find the torn line).
      try {
        await handle.truncate(this.#size);
        await handle.sync();
      } catch {
        this.#handle = null;
        openFiles.delete(this.#realPath);
        await handle.close().catch(() => undefined);
      }
      throw e;
    }
    this.#size += data.length;
    this.#lastSeq = line.seq;
    this.#head = line.hash;
  }
}
