/**
 * Ed25519 signature checks of record batches on worker threads. Verifying a 100k-record log is bound by
 * signature checks; spreading them over the cores while the main thread decrypts and hashes is what lets
 * `verify` keep pace with raw node:crypto. Keys reaching the pool were already validated (small-order and
 * encoding checks) by the caller, and the S < L rule is enforced here too.
 */
import { Worker } from 'node:worker_threads';
import { verify as ed25519Verify } from '../../../shared/src/ed25519.js';
import { recordSigningMessage } from '../../../shared/src/record.js';
import { toHex } from '../../../shared/src/bytes.js';

export interface SigCheck {
  readonly id: Uint8Array; // 32 raw bytes
  readonly keyIndex: number;
  readonly sig: Uint8Array; // 64 bytes
}

export interface SigVerifier {
  /** One boolean per item, in order. */
  verifyBatch(keys: readonly Uint8Array[], items: readonly SigCheck[]): Promise<boolean[]>;
  close(): Promise<void>;
}

/** Worker source, self-contained so it survives bundling: it needs only node:crypto. */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createPublicKey, verify } = require('node:crypto');
const SPKI = Buffer.from('302a300506032b6570032100', 'hex');
const L = [0xed,0xd3,0xf5,0x5c,0x1a,0x63,0x12,0x58,0xd6,0x9c,0xf7,0xa2,0xde,0xf9,0xde,0x14,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0x10];
function sLessThanL(sig) {
  for (let i = 31; i >= 0; i--) {
    const s = sig[32 + i];
    if (s < L[i]) return true;
    if (s > L[i]) return false;
  }
  return false;
}
const PREFIX = Buffer.from('sigil-record/v1\\n');
parentPort.on('message', (m) => {
  const keys = m.keys.map((k) => createPublicKey({ key: Buffer.concat([SPKI, Buffer.from(k)]), format: 'der', type: 'spki' }));
  const n = m.count;
  const ids = Buffer.from(m.ids), sigs = Buffer.from(m.sigs), idx = new Uint32Array(m.keyIdx);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const sig = sigs.subarray(i * 64, i * 64 + 64);
    if (!sLessThanL(sig)) continue;
    const msg = Buffer.concat([PREFIX, Buffer.from(ids.subarray(i * 32, i * 32 + 32).toString('hex'))]);
    try { out[i] = verify(null, msg, keys[idx[i]], sig) ? 1 : 0; } catch { out[i] = 0; }
  }
  parentPort.postMessage({ seq: m.seq, out }, [out.buffer]);
});
`;

/** Checks on the calling thread; used when no workers are configured, and as the reference. */
export class InlineSigVerifier implements SigVerifier {
  async verifyBatch(keys: readonly Uint8Array[], items: readonly SigCheck[]): Promise<boolean[]> {
    return items.map((it) => {
      const key = keys[it.keyIndex];
      return key !== undefined && ed25519Verify(key, recordSigningMessage(toHex(it.id)), it.sig);
    });
  }
  async close(): Promise<void> {}
}

export class WorkerSigVerifier implements SigVerifier {
  private readonly workers: Worker[];
  private readonly waiting = new Map<number, (out: Uint8Array) => void>();
  private readonly failures = new Map<number, (e: unknown) => void>();
  private nextSeq = 0;

  constructor(count: number) {
    this.workers = Array.from({ length: count }, () => {
      const w = new Worker(WORKER_SOURCE, { eval: true });
      w.on('message', (m: { seq: number; out: Uint8Array }) => {
        this.failures.delete(m.seq);
        const done = this.waiting.get(m.seq);
        this.waiting.delete(m.seq);
        done?.(m.out);
      });
      w.on('error', (e) => {
        for (const fail of this.failures.values()) fail(e);
        this.failures.clear();
        this.waiting.clear();
      });
      return w;
    });
  }

  private run(worker: Worker, keys: readonly Uint8Array[], items: readonly SigCheck[]): Promise<Uint8Array> {
    const n = items.length;
    const ids = new Uint8Array(n * 32);
    const sigs = new Uint8Array(n * 64);
    const keyIdx = new Uint32Array(n);
    items.forEach((it, i) => {
      ids.set(it.id, i * 32);
      if (it.sig.length === 64) sigs.set(it.sig, i * 64);
      keyIdx[i] = it.sig.length === 64 ? it.keyIndex : 0xffffffff;
    });
    const seq = this.nextSeq++;
    return new Promise<Uint8Array>((resolve, reject) => {
      this.waiting.set(seq, resolve);
      this.failures.set(seq, reject);
      worker.postMessage(
        { seq, keys: keys.map((k) => new Uint8Array(k)), count: n, ids, sigs, keyIdx: keyIdx.buffer },
        [ids.buffer, sigs.buffer],
      );
    });
  }

  async verifyBatch(keys: readonly Uint8Array[], items: readonly SigCheck[]): Promise<boolean[]> {
    if (items.length === 0) return [];
    const per = Math.ceil(items.length / this.workers.length);
    const parts = await Promise.all(
      this.workers.map((w, i) => {
        const slice = items.slice(i * per, (i + 1) * per);
        return slice.length > 0 ? this.run(w, keys, slice) : Promise.resolve(new Uint8Array(0));
      }),
    );
    const out: boolean[] = [];
    parts.forEach((p, i) => {
      const slice = items.slice(i * per, (i + 1) * per);
      slice.forEach((it, j) =>
        out.push(p[j] === 1 && it.sig.length === 64 && keys[it.keyIndex] !== undefined),
      );
    });
    return out;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

export function createSigVerifier(workers: number): SigVerifier {
  return workers > 0 ? new WorkerSigVerifier(workers) : new InlineSigVerifier();
}
