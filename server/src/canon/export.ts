/**
 * Export: a JSONL file that carries everything needed to verify the log without its home — the public
 * keys, a signed checkpoint, and every record in seq order. Verification pins the root key when asked;
 * without a pin it proves only that the file is internally consistent.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { stat, unlink } from 'node:fs/promises';
import { once } from 'node:events';
import readline from 'node:readline';
import { canonicalBytes } from '../../../shared/src/jcs.js';
import { fromBase64, toBase64 } from '../../../shared/src/bytes.js';
import { SigilError } from '../../../shared/src/errors.js';
import {
  assertValidPublicKey,
  keyId as keyIdOf,
  verify as ed25519Verify,
} from '../../../shared/src/ed25519.js';
import { verifySignedNote, parseCheckpoint } from '../../../shared/src/note.js';
import type { CanonicalRecord } from '../../../shared/src/record.js';
import { ChainVerifier, type LogEntry, type BrokenEntry, type ChainResult } from './chain-verifier.js';
import { createSigVerifier } from './sig-pool.js';
import { genesisSignerRule } from './verify.js';
import type { GenesisPayload, VerifyReport } from './store-types.js';
import type { CheckpointResult, ListParams, ListResult } from '../../../shared/src/protocol.js';

/** What export reads: satisfied by the store itself and by a remote canon API. */
export interface ExportSource {
  checkpoint(): Promise<CheckpointResult>;
  getBySeq(seq: number): Promise<CanonicalRecord>;
  list(q: ListParams): Promise<ListResult>;
}

export const EXPORT_FORMAT = 'sigil.canon.export';

interface ExportKey {
  readonly key_id: string;
  readonly public_key: string;
}

export interface ExportHeader {
  readonly type: typeof EXPORT_FORMAT;
  readonly version: 1;
  readonly origin: string;
  readonly root_key: ExportKey;
  readonly runtime_key: ExportKey;
  readonly size: number;
  readonly checkpoint: string;
}

export interface ExportResult {
  readonly size: number;
  readonly rootHash: string;
  readonly checkpoint: string;
}

/** Writes the header and records 0..size-1 of the checkpoint taken at the start. */
export async function exportCanon(store: ExportSource, out: NodeJS.WritableStream): Promise<ExportResult> {
  const cp = await store.checkpoint();
  const genesis = await store.getBySeq(0);
  const g = genesis.body.payload as unknown as GenesisPayload;
  const header: ExportHeader = {
    type: EXPORT_FORMAT,
    version: 1,
    origin: cp.origin,
    root_key: g.root_key,
    runtime_key: g.runtime_key,
    size: cp.size,
    checkpoint: cp.note,
  };
  const write = async (line: string): Promise<void> => {
    if (!out.write(line + '\n')) await once(out, 'drain');
  };
  await write(JSON.stringify(header));
  let cursor: string | undefined;
  let written = 0;
  while (written < cp.size) {
    const page = await store.list({
      limit: 1000,
      order: 'asc',
      purpose: 'export',
      ...(cursor ? { cursor } : {}),
    });
    // An export holds every record or none: a record that cannot be read stops it, named.
    const bad = page.damaged?.find((d) => d.seq < cp.size);
    if (bad) {
      throw new SigilError(
        'STORE_CORRUPT',
        `record ${bad.id} at seq ${bad.seq} cannot be exported: ${bad.reason}; run "sigil canon verify"`,
        { seq: bad.seq, id: bad.id },
      );
    }
    for (const r of page.records) {
      if (r.body.seq >= cp.size) break;
      await write(JSON.stringify({ type: 'record', record: r }));
      written++;
    }
    if (!page.nextCursor) break;
    cursor = page.nextCursor;
  }
  if (written !== cp.size) {
    throw new SigilError(
      'STORE_CORRUPT',
      `export found ${written} records but the checkpoint covers ${cp.size}`,
    );
  }
  return { size: cp.size, rootHash: cp.rootHash, checkpoint: cp.note };
}

export async function exportToFile(store: ExportSource, file: string): Promise<ExportResult> {
  // Exports hold every payload in the clear: owner-only, like the keystore.
  const out = createWriteStream(file, { flags: 'wx', mode: 0o600 });
  await once(out, 'open').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'EEXIST')
      throw new SigilError('BAD_USAGE', `${file} already exists; choose another --out`);
    if (e.code === 'ENOENT')
      throw new SigilError('BAD_USAGE', `cannot create ${file}: its folder does not exist`);
    if (e.code === 'EISDIR')
      throw new SigilError('BAD_USAGE', `${file} is a directory; name a file with --out`);
    throw e;
  });
  let ok = false;
  try {
    const res = await exportCanon(store, out);
    ok = true;
    return res;
  } finally {
    out.end();
    await once(out, 'close');
    // A half-written export would look like a short log: leave none behind.
    if (!ok) await unlink(file).catch(() => undefined);
  }
}

export interface ExportVerifyReport extends VerifyReport {
  readonly origin: string;
  readonly rootKeyId: string;
  readonly pinned: boolean;
}

function badHeader(file: string, why: string): SigilError {
  return new SigilError('VERIFY_FAILED', `${file}: not a valid Sigil export: ${why}`);
}

function readKey(file: string, k: unknown, what: string): { id: string; key: Uint8Array } {
  const key = k as Partial<ExportKey> | undefined;
  if (!key || typeof key.key_id !== 'string' || typeof key.public_key !== 'string')
    throw badHeader(file, `${what} is missing`);
  let raw: Uint8Array;
  try {
    raw = fromBase64(key.public_key);
  } catch {
    throw badHeader(file, `${what} public key is not base64`);
  }
  assertValidPublicKey(raw, `${what} in ${file}`);
  if (keyIdOf(raw) !== key.key_id) throw badHeader(file, `${what} key id does not match its public key`);
  return { id: key.key_id, key: raw };
}

/** Verifies an export file with no home. `trustKey` pins the root key id the log must be rooted in. */
export async function verifyExport(
  file: string,
  opts: { trustKey?: string; workers: number },
): Promise<ExportVerifyReport> {
  await stat(file).then(
    (st) => {
      if (st.isDirectory()) throw new SigilError('BAD_USAGE', `${file} is a directory, not an export file`);
    },
    (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') throw new SigilError('NOT_FOUND', `no such export file: ${file}`);
      throw e;
    },
  );
  const lines = readline.createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  const iter = lines[Symbol.asyncIterator]();
  const first = await iter.next();
  if (first.done) throw badHeader(file, 'the file is empty');
  let header: ExportHeader;
  try {
    header = JSON.parse(first.value) as ExportHeader;
  } catch {
    throw badHeader(file, 'line 1 is not JSON');
  }
  if (header.type !== EXPORT_FORMAT || header.version !== 1)
    throw badHeader(file, `line 1 is not a ${EXPORT_FORMAT} v1 header`);
  const root = readKey(file, header.root_key, 'root_key');
  const runtime = readKey(file, header.runtime_key, 'runtime_key');
  if (opts.trustKey !== undefined && opts.trustKey !== root.id) {
    throw new SigilError(
      'VERIFY_FAILED',
      `${file} is rooted in key ${root.id}, not in the pinned key ${opts.trustKey}`,
      { rootKeyId: root.id, pinned: opts.trustKey },
    );
  }
  const keys = new Map([
    [root.id, root.key],
    [runtime.id, runtime.key],
  ]);
  const { body: cpBody } = verifySignedNote(
    header.checkpoint,
    [{ name: header.origin, publicKey: runtime.key }],
    ed25519Verify,
  );
  const cp = parseCheckpoint(cpBody);
  if (cp.origin !== header.origin)
    throw badHeader(file, 'the checkpoint origin differs from the header origin');
  const sigs = createSigVerifier(opts.workers);
  const chain = new ChainVerifier(keys, sigs, new Set([cp.size]), genesisSignerRule(root.id));
  let window: Array<LogEntry | BrokenEntry> = [];
  let seq = 0;
  let lineNo = 1;
  let stopped = false;
  let result: ChainResult;
  const flush = async (): Promise<void> => {
    if (window.length > 0 && !(await chain.push(window))) stopped = true;
    window = [];
  };
  try {
    for (let next = await iter.next(); !next.done && !stopped; next = await iter.next()) {
      lineNo++;
      if (next.value.trim() === '') continue;
      window.push(
        parseExportLine(next.value, lineNo, seq, seq === 0 ? { root, runtime, origin: header.origin } : null),
      );
      seq++;
      if (window.length >= 512) await flush();
    }
    await flush();
    result = await chain.finish();
  } finally {
    lines.close();
    // Also on a read error: live worker threads would keep the process from exiting.
    await sigs.close();
  }
  let firstBad = result.firstBad;
  if (!firstBad && result.checked !== cp.size) {
    firstBad = {
      seq: null,
      id: null,
      reason: `the file holds ${result.checked} records but its checkpoint covers ${cp.size}`,
    };
  }
  if (!firstBad && result.roots.get(cp.size) !== toHexRoot(cp.rootHash)) {
    firstBad = {
      seq: null,
      id: null,
      reason: 'the records do not produce the root hash of the signed checkpoint',
    };
  }
  return {
    ok: firstBad === null,
    size: cp.size,
    checked: result.checked,
    rootHash: result.rootHash,
    firstBad,
    origin: header.origin,
    rootKeyId: root.id,
    pinned: opts.trustKey !== undefined,
  };
}

function toHexRoot(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

function parseExportLine(
  line: string,
  lineNo: number,
  seq: number,
  genesisCheck: { root: { id: string }; runtime: { id: string; key: Uint8Array }; origin: string } | null,
): LogEntry | BrokenEntry {
  let parsed: { type?: string; record?: CanonicalRecord };
  try {
    parsed = JSON.parse(line) as typeof parsed;
  } catch {
    return { seq, id: null, problem: `line ${lineNo} is not JSON` };
  }
  const r = parsed.record;
  if (parsed.type !== 'record' || !r || typeof r !== 'object' || typeof r.id !== 'string' || !r.signature) {
    return { seq, id: null, problem: `line ${lineNo} is not a record line` };
  }
  let bodyBytes: Uint8Array;
  try {
    bodyBytes = canonicalBytes(r.body);
  } catch (e) {
    return {
      seq,
      id: r.id,
      problem: `line ${lineNo}: body cannot be canonicalized: ${(e as Error).message}`,
    };
  }
  let sig: Uint8Array;
  try {
    sig = fromBase64(String(r.signature.sig));
  } catch {
    return { seq, id: r.id, problem: `line ${lineNo}: signature is not base64` };
  }
  if (genesisCheck) {
    const g = r.body?.payload as unknown as GenesisPayload | undefined;
    if (
      !g ||
      g.origin !== genesisCheck.origin ||
      g.root_key?.key_id !== genesisCheck.root.id ||
      g.runtime_key?.key_id !== genesisCheck.runtime.id ||
      g.runtime_key?.public_key !== toBase64(genesisCheck.runtime.key)
    ) {
      return {
        seq,
        id: r.id,
        problem: 'the genesis record does not certify the keys and origin named in the header',
      };
    }
  }
  return {
    seq: typeof r.body?.seq === 'number' ? r.body.seq : seq,
    id: r.id,
    bodyBytes,
    keyId: String(r.signature.key_id),
    sig,
  };
}
