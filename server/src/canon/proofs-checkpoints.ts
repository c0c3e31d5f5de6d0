/**
 * RFC 6962 inclusion and consistency proofs served from the stored Merkle nodes, and the signed C2SP
 * checkpoints of the log (signed with the runtime key, every one kept in the checkpoint history).
 */
import { fromHex, toHex, utf8 } from '../../../shared/src/bytes.js';
import { SigilError } from '../../../shared/src/errors.js';
import {
  inclusionProof as merkleInclusionProof,
  consistencyProof as merkleConsistencyProof,
  subtreeHash,
  EMPTY_ROOT,
  type Hash,
  type NodeSource,
  type NodeRef,
} from '../../../shared/src/merkle.js';
import { formatCheckpoint, signNote, verifySignedNote, parseCheckpoint } from '../../../shared/src/note.js';
import { verify as ed25519Verify } from '../../../shared/src/ed25519.js';
import type { CanonicalRecord } from '../../../shared/src/record.js';
import { KEYS, prefixEnd } from './layout.js';
import type { CheckpointClaim } from './verify.js';
import type {
  ConsistencyProofResult,
  InclusionProofResult,
  SignedCheckpoint,
  StoreCore,
} from './store-types.js';

export class ProofsAndCheckpoints {
  constructor(private readonly core: StoreCore) {}

  private nodeSource(): NodeSource {
    const db = this.core.db;
    const missing = (level: number, index: number): SigilError =>
      new SigilError(
        'STORE_CORRUPT',
        `Merkle node level ${level} index ${index} is missing; run "sigil canon verify"`,
      );
    return {
      node: async (level: number, index: number): Promise<Hash> => {
        const v = await db.get(KEYS.node(level, index));
        if (v === undefined) throw missing(level, index);
        return v;
      },
      nodes: async (refs: readonly NodeRef[]): Promise<Hash[]> => {
        const values = await db.getMany(refs.map((r) => KEYS.node(r.level, r.index)));
        return values.map((v, i) => {
          if (v === undefined) throw missing(refs[i]!.level, refs[i]!.index);
          return v;
        });
      },
    };
  }

  private async rootAt(size: number): Promise<Hash> {
    if (size === 0) return EMPTY_ROOT;
    if (size === this.core.state.size) return this.core.state.range.root();
    return subtreeHash(this.nodeSource(), 0, size);
  }

  private checkTreeSize(n: number, what: string, min: number): void {
    const size = this.core.state.size;
    if (!Number.isSafeInteger(n) || n < min || n > size) {
      throw new SigilError(
        'BAD_INPUT',
        `${what} must be an integer from ${min} to the log size ${size}, got ${n}`,
      );
    }
  }

  /** Inclusion of `rec` (already read and checked by the caller) in the tree of `treeSize` records. */
  async inclusionProof(rec: CanonicalRecord, treeSize?: number): Promise<InclusionProofResult> {
    const { id } = rec;
    const size = treeSize ?? this.core.state.size;
    this.checkTreeSize(size, 'tree size', 1);
    if (rec.body.seq >= size) {
      throw new SigilError(
        'BAD_INPUT',
        `record ${id} (seq ${rec.body.seq}) is not in a tree of size ${size}`,
      );
    }
    const proof = await merkleInclusionProof(this.nodeSource(), rec.body.seq, size);
    return {
      id,
      leafIndex: rec.body.seq,
      treeSize: size,
      rootHash: toHex(await this.rootAt(size)),
      proof: proof.map(toHex),
    };
  }

  async consistencyProof(oldSize: number, newSize?: number): Promise<ConsistencyProofResult> {
    const n = newSize ?? this.core.state.size;
    this.checkTreeSize(n, 'new size', 1);
    this.checkTreeSize(oldSize, 'old size', 1);
    if (oldSize > n) throw new SigilError('BAD_INPUT', `old size ${oldSize} is larger than new size ${n}`);
    const proof = await merkleConsistencyProof(this.nodeSource(), oldSize, n);
    return {
      oldSize,
      newSize: n,
      oldRoot: toHex(await this.rootAt(oldSize)),
      newRoot: toHex(await this.rootAt(n)),
      proof: proof.map(toHex),
    };
  }

  /** Signs a checkpoint of the current tree with the runtime key and keeps it in the checkpoint history. */
  async checkpoint(): Promise<SignedCheckpoint> {
    const { db, origin, state } = this.core;
    const size = state.size;
    const root = state.range.root();
    const body = formatCheckpoint({ origin, size, rootHash: root, extensions: [] });
    const runtime = this.core.keystore.runtime;
    const note = signNote(body, origin, runtime.publicKey, (m) => runtime.sign(m));
    const key = KEYS.checkpoint(size);
    if ((await db.get(key)) === undefined) await db.put(key, utf8(note), { sync: true });
    return { origin, size, rootHash: toHex(root), note };
  }

  /** The checkpoint signed at `size`, if one was (the checkpoint history keeps every one). */
  async checkpointAt(size: number): Promise<SignedCheckpoint | null> {
    const value = await this.core.db.get(KEYS.checkpoint(size));
    if (value === undefined) return null;
    const note = Buffer.from(value).toString('utf8');
    const cp = this.checkNote(note);
    return { origin: cp.origin, size: cp.size, rootHash: toHex(cp.rootHash), note };
  }

  async latestCheckpoint(): Promise<SignedCheckpoint | null> {
    const it = this.core.db.iterator({
      gte: KEYS.checkpointPrefix,
      lt: prefixEnd(KEYS.checkpointPrefix),
      reverse: true,
      limit: 1,
    });
    try {
      const first = await it.next();
      if (!first) return null;
      const note = Buffer.from(first[1]).toString('utf8');
      const cp = this.checkNote(note);
      return { origin: cp.origin, size: cp.size, rootHash: toHex(cp.rootHash), note };
    } finally {
      await it.close();
    }
  }

  /** What verify checks the log against: the latest checkpoint's size and root, or why it does not verify. */
  async latestCheckpointClaim(): Promise<CheckpointClaim> {
    try {
      const cp = await this.latestCheckpoint();
      return cp ? { size: cp.size, rootHash: fromHex(cp.rootHash) } : null;
    } catch (e) {
      return { error: `the latest stored checkpoint does not verify: ${(e as Error).message}` };
    }
  }

  private checkNote(note: string): ReturnType<typeof parseCheckpoint> {
    const runtime = this.core.keystore.runtime;
    const { body } = verifySignedNote(
      note,
      [{ name: this.core.origin, publicKey: runtime.publicKey }],
      ed25519Verify,
    );
    return parseCheckpoint(body);
  }
}
