/**
 * How the canon's values are laid out before sealing: the stored record (format byte, signature, raw key
 * id, canonical body bytes), the store state, and the canonical body JSON built around a payload that is
 * already canonical. Pure functions, no I/O.
 */
import { open as openSealed } from '../../../shared/src/aead.js';
import { fromBase64, toBase64, toHex, fromHex, utf8 } from '../../../shared/src/bytes.js';
import { canonicalize, type JsonValue } from '../../../shared/src/jcs.js';
import { CompactRange } from '../../../shared/src/merkle.js';
import type { CanonicalRecord, RecordBody, Space } from '../../../shared/src/record.js';
import { aadFor } from './layout.js';
import type { Head, StoreState } from './store-types.js';

const RECORD_FORMAT = 0x01;
const SIG_LEN = 64;
const KEYID_LEN = 16;

/** Plaintext layout of a stored record: format byte, signature, raw key id, canonical body bytes. */
export function encodeStoredRecord(sig: Uint8Array, keyId: string, bodyBytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + SIG_LEN + KEYID_LEN + bodyBytes.length);
  out[0] = RECORD_FORMAT;
  out.set(sig, 1);
  out.set(fromHex(keyId), 1 + SIG_LEN);
  out.set(bodyBytes, 1 + SIG_LEN + KEYID_LEN);
  return out;
}

export interface DecodedRecord {
  readonly sig: Uint8Array;
  readonly keyId: string;
  readonly bodyBytes: Uint8Array;
}

export function decodeStoredRecord(plain: Uint8Array): DecodedRecord | null {
  if (plain.length < 1 + SIG_LEN + KEYID_LEN + 2 || plain[0] !== RECORD_FORMAT) return null;
  return {
    sig: plain.subarray(1, 1 + SIG_LEN),
    keyId: toHex(plain.subarray(1 + SIG_LEN, 1 + SIG_LEN + KEYID_LEN)),
    bodyBytes: plain.subarray(1 + SIG_LEN + KEYID_LEN),
  };
}

export function toRecord(id: string, d: DecodedRecord): CanonicalRecord {
  const body = JSON.parse(Buffer.from(d.bodyBytes).toString('utf8')) as RecordBody;
  return { id, body, signature: { alg: 'ed25519', key_id: d.keyId, sig: toBase64(d.sig) } };
}

/** Opens a sealed value stored under `key`; null when it is absent or does not authenticate. */
export function openValue(
  dataKey: Uint8Array,
  key: string,
  sealed: Uint8Array | undefined,
): Uint8Array | null {
  if (sealed === undefined) return null;
  return openSealed(dataKey, sealed, aadFor(key));
}

export function encodeState(s: StoreState): Uint8Array {
  return utf8(
    JSON.stringify({
      size: s.size,
      range: toBase64(s.range.encode()),
      heads: { data: s.heads.data, system: s.heads.system },
    }),
  );
}

export function decodeState(plain: Uint8Array): StoreState {
  const raw = JSON.parse(Buffer.from(plain).toString('utf8')) as {
    size: number;
    range: string;
    heads: Record<Space, Head | null>;
  };
  const range = CompactRange.decode(fromBase64(raw.range));
  if (range.size !== raw.size) throw new Error('state size disagrees with its Merkle range');
  return { size: raw.size, range, heads: { data: raw.heads.data ?? null, system: raw.heads.system ?? null } };
}

/**
 * Canonical body bytes built around an already-canonical payload. JCS orders keys by UTF-16 code units,
 * which for these fixed field names is the order written here; the payload is not canonicalized twice.
 */
export function canonicalBodyJson(b: Omit<RecordBody, 'payload'>, payloadJcs: string): string {
  return (
    '{"actor":' +
    canonicalize(b.actor) +
    ',"kind":' +
    canonicalize(b.kind) +
    ',"links":' +
    canonicalize(b.links as unknown as JsonValue) +
    ',"payload":' +
    payloadJcs +
    ',"prev":' +
    (b.prev === null ? 'null' : '"' + b.prev + '"') +
    ',"schema_version":' +
    String(b.schema_version) +
    ',"seq":' +
    String(b.seq) +
    ',"space":"' +
    b.space +
    '","ts":"' +
    b.ts +
    '"}'
  );
}
