/**
 * LevelDB key layout of the canon. Keys are latin1 strings; fixed-width hex keeps lexicographic order equal
 * to numeric order, so range scans by seq are plain iterator ranges.
 */
import { createHmac } from 'node:crypto';
import type { Space } from '../../../shared/src/record.js';
import { utf8 } from '../../../shared/src/bytes.js';

const SEQ_WIDTH = 14; // 2^53 fits in 14 hex digits

export function seqHex(seq: number): string {
  return seq.toString(16).padStart(SEQ_WIDTH, '0');
}

export function parseSeqHex(s: string): number {
  return Number.parseInt(s, 16);
}

export const KEYS = {
  record: (id: string) => `r/${id}`,
  bySeq: (seq: number) => `s/${seqHex(seq)}`,
  seqPrefix: 's/',
  bySpace: (space: Space, seq: number) => `x/${space}/${seqHex(seq)}`,
  spacePrefix: (space: Space) => `x/${space}/`,
  byKind: (tag: string, seq: number) => `k/${tag}/${seqHex(seq)}`,
  kindPrefix: (tag: string) => `k/${tag}/`,
  node: (level: number, index: number) => `m/${level.toString(16).padStart(2, '0')}/${seqHex(index)}`,
  head: (space: Space) => `h/${space}`,
  state: 'meta/state',
  checkpoint: (size: number) => `c/${seqHex(size)}`,
  checkpointPrefix: 'c/',
  legacy: (tag: string) => `l/${tag}`,
} as const;

/** Upper bound for a prefix scan: every key starting with `prefix` sorts below it. */
export function prefixEnd(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

/**
 * Kind names in index keys are keyed hashes, so the plaintext key space of the database does not reveal
 * which kinds of records exist.
 */
export function kindTag(indexKey: Uint8Array, kind: string): string {
  return createHmac('sha256', indexKey).update(`kind\n${kind}`).digest('hex').slice(0, 24);
}

export function legacyTag(indexKey: Uint8Array, legacyIdentity: string): string {
  return createHmac('sha256', indexKey).update(`legacy\n${legacyIdentity}`).digest('hex').slice(0, 32);
}

/** Associated data binding a sealed value to the key it is stored under. */
export function aadFor(key: string): Uint8Array {
  return utf8(`sigil-canon/v1\n${key}`);
}
