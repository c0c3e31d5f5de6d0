/**
 * Record signing on a worker thread. Appends are bound by Ed25519 signing; while the worker signs half of a
 * group-commit batch the main thread signs the other half, so both cores work on one batch.
 */
import { Worker } from 'node:worker_threads';
import type { KeyObject } from 'node:crypto';
import { recordSigningMessage, type RecordSigner } from '../../../shared/src/record.js';
import type { Ed25519Signer } from '../../../shared/src/ed25519.js';

/** Self-contained so it survives bundling; it needs only node:crypto. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { sign } = require('node:crypto');
const key = workerData.key;
const PREFIX = 'sigil-record/v1\\n';
parentPort.on('message', (m) => {
  const out = new Uint8Array(m.ids.length * 64);
  m.ids.forEach((id, i) => out.set(sign(null, Buffer.from(PREFIX + id), key), i * 64));
  parentPort.postMessage({ seq: m.seq, out }, [out.buffer]);
});
`;

export interface BatchSigner extends RecordSigner {
  /** Signatures of the record messages of `ids`, in order. */
  signRecords(ids: readonly string[]): Promise<Uint8Array[]>;
  close(): Promise<void>;
}

/** Signs everything on the calling thread. */
export class InlineBatchSigner implements BatchSigner {
  constructor(private readonly signer: RecordSigner) {}
  get keyId(): string {
    return this.signer.keyId;
  }
  sign(message: Uint8Array): Uint8Array {
    return this.signer.sign(message);
  }
  async signRecords(ids: readonly string[]): Promise<Uint8Array[]> {
    return ids.map((id) => this.signer.sign(recordSigningMessage(id)));
  }
  async close(): Promise<void> {}
}

/** Below this many records a batch is signed inline: the message round trip would cost more than it saves. */
const MIN_SPLIT = 8;
const WORKER_SHARE = 0.5;

export class WorkerBatchSigner implements BatchSigner {
  private readonly worker: Worker;
  private readonly pending = new Map<
    number,
    { resolve: (b: Uint8Array) => void; reject: (e: unknown) => void }
  >();
  private seq = 0;
  private broken: Error | null = null;

  constructor(private readonly signer: Ed25519Signer) {
    const key: KeyObject = signer.keyObjectForWorker();
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { key } });
    this.worker.on('message', (m: { seq: number; out: Uint8Array }) => {
      const p = this.pending.get(m.seq);
      this.pending.delete(m.seq);
      p?.resolve(m.out);
    });
    const fail = (e: Error): void => {
      this.broken = e;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => {
      if (this.pending.size > 0) fail(new Error(`signing worker exited with code ${code}`));
    });
    // An idle signer must not keep the process alive; a pending request does (see signRecords).
    this.worker.unref();
  }

  get keyId(): string {
    return this.signer.keyId;
  }

  sign(message: Uint8Array): Uint8Array {
    return this.signer.sign(message);
  }

  async signRecords(ids: readonly string[]): Promise<Uint8Array[]> {
    if (ids.length < MIN_SPLIT || this.broken) {
      return ids.map((id) => this.signer.sign(recordSigningMessage(id)));
    }
    // The worker signs its share while this thread signs the rest; both then wait on the slower half.
    const half = Math.floor(ids.length * (1 - WORKER_SHARE));
    const remote = ids.slice(half);
    const seq = this.seq++;
    this.worker.ref();
    const fromWorker = new Promise<Uint8Array>((resolve, reject) =>
      this.pending.set(seq, { resolve, reject }),
    );
    this.worker.postMessage({ seq, ids: remote });
    const local = ids.slice(0, half).map((id) => this.signer.sign(recordSigningMessage(id)));
    try {
      const packed = await fromWorker;
      for (let i = 0; i < remote.length; i++) local.push(packed.subarray(i * 64, i * 64 + 64));
      return local;
    } catch (e) {
      // A dead worker costs speed, not appends: sign its share here.
      if (!this.broken) throw e;
      return [...local, ...remote.map((id) => this.signer.sign(recordSigningMessage(id)))];
    } finally {
      if (this.pending.size === 0) this.worker.unref();
    }
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
