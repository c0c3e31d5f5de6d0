/**
 * Checks a log presented in seq order, whatever it is read from (the LevelDB store or an export file):
 * ids, seq continuity, per-space chain links, signatures by certified keys, and the Merkle root.
 * Holds O(log n) state plus one window of records, so memory does not grow with the log.
 */
import { createHash } from 'node:crypto';
import { CompactRange, leafHash, type TreeNode } from '../../../shared/src/merkle.js';
import { fromHex, toHex, bytesEqual } from '../../../shared/src/bytes.js';
import { checkBody, isSpace, type RecordBody, type Space } from '../../../shared/src/record.js';
import type { SigVerifier, SigCheck } from './sig-pool.js';
import type { Head, VerifyProblem } from './store-types.js';

export interface LogEntry {
  readonly seq: number;
  readonly id: string;
  readonly bodyBytes: Uint8Array;
  readonly keyId: string;
  readonly sig: Uint8Array;
}

/** A position in the log whose record could not even be decoded. */
export interface BrokenEntry {
  readonly seq: number;
  readonly id: string | null;
  readonly problem: string;
}

export interface ChainResult {
  readonly checked: number;
  readonly rootHash: string;
  readonly heads: Record<Space, Head | null>;
  readonly firstBad: VerifyProblem | null;
  /** Roots seen at the sizes asked for in `rootsAt`. */
  readonly roots: ReadonlyMap<number, string>;
}

export class ChainVerifier {
  private readonly range = CompactRange.empty();
  private readonly heads: Record<Space, Head | null> = { data: null, system: null };
  private readonly keyList: Uint8Array[] = [];
  private readonly keyIndex = new Map<string, number>();
  private checked = 0;
  private firstBad: VerifyProblem | null = null;
  private readonly roots = new Map<number, string>();
  /** Signature checks of the previous window, awaited only when the next window is pushed. */
  private pendingSigs: Promise<VerifyProblem | null> = Promise.resolve(null);

  /** Merkle nodes completed since the last take, when the caller wants to compare them with stored ones. */
  private completedNodes: TreeNode[] | null = null;

  /** From now on, remember the Merkle nodes each push completes (see takeCompletedNodes). */
  collectCompletedNodes(): void {
    this.completedNodes ??= [];
  }

  takeCompletedNodes(): TreeNode[] {
    const out = this.completedNodes ?? [];
    if (this.completedNodes) this.completedNodes = [];
    return out;
  }

  /**
   * Records a problem found outside the chain itself (e.g. in stored derived data); a signature failure
   * still being checked for an earlier record is reported first.
   */
  async reportProblem(p: VerifyProblem): Promise<void> {
    const sigBad = await this.pendingSigs;
    this.pendingSigs = Promise.resolve(null);
    if (sigBad && (p.seq === null || (sigBad.seq ?? 0) <= p.seq)) this.fail(sigBad);
    this.fail(p);
  }

  constructor(
    trustedKeys: ReadonlyMap<string, Uint8Array>,
    private readonly sigs: SigVerifier,
    private readonly rootsAt: ReadonlySet<number> = new Set(),
    /** Optional rule on which key may sign which record (e.g. genesis by the root key only). */
    private readonly signerRule?: (seq: number, keyId: string, body: RecordBody) => string | null,
  ) {
    for (const [id, key] of trustedKeys) {
      this.keyIndex.set(id, this.keyList.length);
      this.keyList.push(key);
    }
  }

  get failed(): boolean {
    return this.firstBad !== null;
  }

  private fail(p: VerifyProblem): void {
    if (!this.firstBad) this.firstBad = p;
  }

  /** Checks one window of consecutive entries. Returns false once a problem is known. */
  async push(window: ReadonlyArray<LogEntry | BrokenEntry>): Promise<boolean> {
    if (this.firstBad) return false;
    const checks: SigCheck[] = [];
    const checkSeqs: Array<{ seq: number; id: string }> = [];
    let structural: VerifyProblem | null = null;
    for (const e of window) {
      const expectedSeq = this.checked;
      if ('problem' in e) {
        structural = { seq: e.seq, id: e.id, reason: e.problem };
        break;
      }
      const bad = (reason: string): void => {
        structural = { seq: e.seq, id: e.id, reason };
      };
      if (e.seq !== expectedSeq) {
        bad(`expected seq ${expectedSeq} next but found seq ${e.seq}: record ${expectedSeq} is missing`);
        break;
      }
      const computed = createHash('sha256').update(e.bodyBytes).digest('hex');
      if (computed !== e.id) {
        bad(`record content does not hash to its id (computed ${computed})`);
        break;
      }
      let body: RecordBody;
      try {
        body = JSON.parse(Buffer.from(e.bodyBytes).toString('utf8')) as RecordBody;
      } catch {
        bad('record body is not valid JSON');
        break;
      }
      const problem = checkBody(body);
      if (problem) {
        bad(`record body is invalid: ${problem}`);
        break;
      }
      if (body.seq !== e.seq) {
        bad(`record body says seq ${body.seq} but it is stored at seq ${e.seq}`);
        break;
      }
      const space = body.space;
      if (!isSpace(space)) break;
      const expectedPrev = this.heads[space]?.id ?? null;
      if (body.prev !== expectedPrev) {
        bad(
          `chain link broken in space ${space}: prev is ${body.prev ?? 'null'} but the previous ${space} record is ${expectedPrev ?? 'none'}`,
        );
        break;
      }
      const keyIdx = this.keyIndex.get(e.keyId);
      if (keyIdx === undefined) {
        bad(`signed by key ${e.keyId}, which is not a certified key of this log`);
        break;
      }
      const ruleProblem = this.signerRule?.(e.seq, e.keyId, body) ?? null;
      if (ruleProblem) {
        bad(ruleProblem);
        break;
      }
      const idRaw = fromHex(e.id);
      checks.push({ id: idRaw, keyIndex: keyIdx, sig: e.sig });
      checkSeqs.push({ seq: e.seq, id: e.id });
      this.heads[space] = { id: e.id, seq: e.seq };
      const nodes = this.range.append(leafHash(idRaw));
      if (this.completedNodes) for (const n of nodes) this.completedNodes.push(n);
      this.checked++;
      if (this.rootsAt.has(this.checked)) this.roots.set(this.checked, toHex(this.range.root()));
    }
    const previous = this.pendingSigs;
    const current = this.sigs.verifyBatch(this.keyList, checks).then((ok) => {
      const i = ok.indexOf(false);
      if (i < 0) return null;
      const at = checkSeqs[i] as { seq: number; id: string };
      return { seq: at.seq, id: at.id, reason: 'signature does not verify' };
    });
    const prevBad = await previous;
    if (prevBad) {
      this.fail(prevBad);
      return false;
    }
    if (structural) {
      // A bad signature earlier in this window comes first in seq order.
      const sigBad = await current;
      this.fail(sigBad ?? structural);
      return false;
    }
    this.pendingSigs = current;
    return true;
  }

  async finish(): Promise<ChainResult> {
    const last = await this.pendingSigs;
    if (last) this.fail(last);
    this.pendingSigs = Promise.resolve(null);
    return {
      checked: this.firstBad?.seq != null ? Math.min(this.firstBad.seq, this.checked) : this.checked,
      rootHash: toHex(this.range.root()),
      heads: { ...this.heads },
      firstBad: this.firstBad,
      roots: this.roots,
    };
  }

  rootMatches(expected: Uint8Array): boolean {
    return bytesEqual(this.range.root(), expected);
  }
}
