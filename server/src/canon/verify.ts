/**
 * Verification of the canon store: its records streamed in seq order into a ChainVerifier, one window at a
 * time, then the stored state, chain heads and latest checkpoint checked against what the stream found.
 */
import type { ClassicLevel } from 'classic-level';
import { SigilError } from '../../../shared/src/errors.js';
import { toHex, bytesEqual } from '../../../shared/src/bytes.js';
import type { TreeNode } from '../../../shared/src/merkle.js';
import { ChainVerifier, type BrokenEntry, type ChainResult, type LogEntry } from './chain-verifier.js';
import { createSigVerifier } from './sig-pool.js';
import { KEYS, parseSeqHex, prefixEnd } from './layout.js';
import { SPACES, type Space } from '../../../shared/src/record.js';
import { decodeStoredRecord, openValue } from './value-codec.js';
import type { VerifyOptions, VerifyReport, Head, StoreCore, StoreState } from './store-types.js';

const WINDOW = 512;

export interface VerifyContext {
  readonly total: number;
  readonly trustedKeys: ReadonlyMap<string, Uint8Array>;
  readonly rootKeyId: string;
  readonly workers: number;
  readonly openRecord: (
    key: string,
    sealed: Uint8Array,
  ) => { sig: Uint8Array; keyId: string; bodyBytes: Uint8Array } | null;
}

export type CheckpointClaim = { size: number; rootHash: Uint8Array } | { error: string } | null;

/** The genesis record must be signed by the root key; every other record by a non-root key. */
export function genesisSignerRule(rootKeyId: string) {
  return (seq: number, keyId: string, body: { kind: string }): string | null => {
    if (seq === 0) {
      if (body.kind !== 'canon.genesis') return 'record 0 must be the genesis record';
      if (keyId !== rootKeyId) return 'the genesis record must be signed by the root key';
    } else if (body.kind === 'canon.genesis') {
      return 'a genesis record may only stand at seq 0';
    } else if (keyId === rootKeyId) {
      return 'only the genesis record may be signed by the root key';
    }
    return null;
  };
}

/**
 * The stored Merkle nodes serve every proof; each one the recomputed tree completes must equal the stored
 * one, else proofs from this store would not match its signed roots.
 */
async function checkStoredNodes(
  db: ClassicLevel<string, Uint8Array>,
  chain: ChainVerifier,
): Promise<boolean> {
  const nodes = chain.takeCompletedNodes();
  if (nodes.length === 0) return true;
  const stored = await db.getMany(nodes.map((n) => KEYS.node(n.level, n.index)));
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i] as TreeNode;
    const v = stored[i];
    if (v === undefined || !bytesEqual(v, n.hash)) {
      const lastLeaf = (n.index + 1) * 2 ** n.level - 1;
      await chain.reportProblem({
        seq: lastLeaf,
        id: null,
        reason: `stored Merkle node (level ${n.level}, index ${n.index}) ${v === undefined ? 'is missing' : 'does not match the recomputed tree'}; proofs served from this store would be wrong`,
      });
      return false;
    }
  }
  return true;
}

export async function verifyStream(
  db: ClassicLevel<string, Uint8Array>,
  ctx: VerifyContext,
  opts: VerifyOptions,
  checkpoint: CheckpointClaim,
): Promise<VerifyReport & { heads: Record<Space, Head | null> }> {
  const sigs = createSigVerifier(ctx.workers);
  const claim = checkpoint && 'size' in checkpoint ? checkpoint : null;
  const chain = new ChainVerifier(
    ctx.trustedKeys,
    sigs,
    new Set(claim ? [claim.size] : []),
    genesisSignerRule(ctx.rootKeyId),
  );
  chain.collectCompletedNodes();
  const it = db.iterator({ gte: KEYS.seqPrefix, lt: prefixEnd(KEYS.seqPrefix) });
  let result: ChainResult;
  try {
    let done = false;
    while (!done) {
      if (opts.signal?.aborted) throw new SigilError('CANCELLED', 'verification was cancelled');
      const chunk = await it.nextv(WINDOW);
      if (chunk.length === 0) break;
      const ids = chunk.map(([, v]) => toHex(v));
      const sealed = await db.getMany(ids.map((id) => KEYS.record(id)));
      const window: Array<LogEntry | BrokenEntry> = chunk.map(([key], i) => {
        const seq = parseSeqHex(key.slice(KEYS.seqPrefix.length));
        const id = ids[i] as string;
        const value = sealed[i];
        if (value === undefined)
          return { seq, id, problem: `record ${id} listed at seq ${seq} is missing from the store` };
        const decoded = ctx.openRecord(KEYS.record(id), value);
        if (!decoded) {
          return {
            seq,
            id,
            problem: 'record ciphertext does not authenticate (bytes tampered or values swapped)',
          };
        }
        return { seq, id, ...decoded };
      });
      done = !(await chain.push(window));
      if (!done) done = !(await checkStoredNodes(db, chain));
      opts.onProgress?.(
        Math.min(parseSeqHex(chunk[chunk.length - 1]![0].slice(2)) + 1, ctx.total),
        ctx.total,
      );
    }
    result = await chain.finish();
  } finally {
    await it.close();
    // Also on abort or error: live worker threads would keep the process from exiting.
    await sigs.close();
  }
  let firstBad = result.firstBad;
  if (!firstBad && checkpoint && 'error' in checkpoint)
    firstBad = { seq: null, id: null, reason: checkpoint.error };
  if (!firstBad && claim) {
    const seen = result.roots.get(claim.size);
    if (seen === undefined) {
      firstBad = {
        seq: null,
        id: null,
        reason: `the latest checkpoint covers ${claim.size} records but the log has only ${result.checked}`,
      };
    } else if (seen !== toHex(claim.rootHash)) {
      firstBad = {
        seq: null,
        id: null,
        reason: `the log at size ${claim.size} does not match the root hash of its signed checkpoint`,
      };
    }
  }
  return {
    ok: firstBad === null,
    size: ctx.total,
    checked: result.checked,
    rootHash: result.rootHash,
    firstBad,
    heads: result.heads,
  };
}

/**
 * Streams the whole log in seq order: every record must authenticate, hash to its id, carry its seq,
 * chain to the previous record of its space and carry a valid signature by a certified key; the
 * recomputed Merkle root must equal the stored state, the chain heads and the latest checkpoint.
 * Memory is bounded by the read window, not by the log size.
 */
export async function verifyStore(
  core: StoreCore,
  /** The durable state when verification started (taken before the checkpoint was read). */
  snapshotState: StoreState,
  workers: number,
  opts: VerifyOptions,
  latest: CheckpointClaim,
): Promise<VerifyReport> {
  const { db } = core;
  const dataKey = core.keystore.dataKey;
  const ctx: VerifyContext = {
    total: snapshotState.size,
    trustedKeys: core.keys,
    rootKeyId: core.keystore.root.keyId,
    workers,
    openRecord: (key: string, sealed: Uint8Array) => {
      const plain = openValue(dataKey, key, sealed);
      return plain ? decodeStoredRecord(plain) : null;
    },
  };
  const report = await verifyStream(db, ctx, opts, latest);
  if (!report.ok) {
    return {
      ok: false,
      size: report.size,
      checked: report.checked,
      rootHash: report.rootHash,
      firstBad: report.firstBad,
    };
  }
  const fail = (reason: string): VerifyReport => ({
    ok: false,
    size: report.size,
    checked: report.checked,
    rootHash: report.rootHash,
    firstBad: { seq: null, id: null, reason },
  });
  if (report.checked !== snapshotState.size) {
    return fail(`the store state says ${snapshotState.size} records but ${report.checked} were found`);
  }
  if (report.rootHash !== toHex(snapshotState.range.root())) {
    return fail('the recomputed Merkle root differs from the stored tree state');
  }
  for (const space of SPACES) {
    const key = KEYS.head(space);
    const sealed = await db.get(key);
    const plain = openValue(dataKey, key, sealed);
    const stored =
      sealed === undefined
        ? null
        : plain
          ? (JSON.parse(Buffer.from(plain).toString('utf8')) as Head | null)
          : undefined;
    if (stored === undefined)
      return fail(`the chain head of space ${space} does not authenticate (tampered or swapped)`);
    const expected = report.heads[space];
    if (
      (stored?.id ?? null) !== (expected?.id ?? null) ||
      (stored?.seq ?? null) !== (expected?.seq ?? null)
    ) {
      return fail(`the stored chain head of space ${space} does not match the last record of that space`);
    }
    const inState = snapshotState.heads[space];
    if ((inState?.id ?? null) !== (expected?.id ?? null)) {
      return fail(
        `the store state's chain head of space ${space} does not match the last record of that space`,
      );
    }
  }
  return {
    ok: true,
    size: report.size,
    checked: report.checked,
    rootHash: report.rootHash,
    firstBad: null,
  };
}
