/**
 * Record signing and sealing on a worker thread. Appends are bound by Ed25519 signing; while the worker
 * signs and seals part of a group-commit batch the main thread signs and seals the rest, so both cores
 * work on one batch and the main thread has less left to do before the batch can be written.
 */
import { Worker } from 'node:worker_threads';
import type { KeyObject } from 'node:crypto';
import { seal } from '../../../shared/src/aead.js';
import { fromHex } from '../../../shared/src/bytes.js';
import { recordSigningMessage, type RecordSigner } from '../../../shared/src/record.js';
import type { Ed25519Signer } from '../../../shared/src/ed25519.js';
import { KEYS, aadFor } from './layout.js';
import { encodeStoredRecord } from './value-codec.js';

/**
 * Self-contained so it survives bundling; it needs only node:crypto. What it writes must stay byte for
 * byte what the main thread writes: the stored record of value-codec.ts (format 0x01, signature, raw key
 * id, body) sealed as shared/src/aead.ts seals (version 0x01, random 96-bit nonce, ciphertext, 16-byte
 * tag) under the associated data of layout.ts aadFor(KEYS.record(id)). The unit tests read back records
 * sealed on both threads.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { sign, createCipheriv, randomBytes } = require('node:crypto');
const key = workerData.key;
const dataKey = Buffer.from(workerData.dataKey);
const keyIdRaw = Buffer.from(workerData.keyIdRaw);
const PREFIX = 'sigil-record/v1\\n';
const AAD_PREFIX = 'sigil-canon/v1\\nr/';
let pool = Buffer.alloc(0);
let poolAt = 0;
function nonce() {
  if (poolAt + 12 > pool.length) { pool = randomBytes(4092); poolAt = 0; }
  const n = pool.subarray(poolAt, poolAt + 12);
  poolAt += 12;
  return n;
}
parentPort.on('message', (m) => {
  const n = m.ids.length;
  const sigs = new Uint8Array(n * 64);
  const bodies = Buffer.from(m.bodies.buffer, m.bodies.byteOffset, m.bodies.byteLength);
  let total = 0;
  for (let i = 0; i < n; i++) total += 1 + 12 + 1 + 64 + 16 + (m.ends[i] - (i === 0 ? 0 : m.ends[i - 1])) + 16;
  const sealed = new Uint8Array(total);
  const out = Buffer.from(sealed.buffer);
  const ends = new Uint32Array(n);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const id = m.ids[i];
    const sig = sign(null, Buffer.from(PREFIX + id), key);
    sigs.set(sig, i * 64);
    const body = bodies.subarray(i === 0 ? 0 : m.ends[i - 1], m.ends[i]);
    const plain = Buffer.allocUnsafe(1 + 64 + 16 + body.length);
    plain[0] = 1;
    sig.copy(plain, 1);
    keyIdRaw.copy(plain, 65);
    body.copy(plain, 81);
    const iv = nonce();
    const cipher = createCipheriv('aes-256-gcm', dataKey, iv, { authTagLength: 16 });
    cipher.setAAD(Buffer.from(AAD_PREFIX + id));
    const ct = cipher.update(plain);
    const fin = cipher.final();
    out[at] = 1;
    iv.copy(out, at + 1);
    ct.copy(out, at + 13);
    fin.copy(out, at + 13 + ct.length);
    cipher.getAuthTag().copy(out, at + 13 + ct.length + fin.length);
    at += 13 + ct.length + fin.length + 16;
    ends[i] = at;
  }
  parentPort.postMessage({ seq: m.seq, sigs, sealed, ends }, [sigs.buffer, sealed.buffer, ends.buffer]);
});
`;

/** A record to sign and seal: its id and canonical body bytes. */
export interface SealItem {
  readonly id: string;
  readonly bodyBytes: Uint8Array;
}

/** Signature and sealed stored value of each item, in order. */
export interface SignedSealed {
  readonly sigs: Uint8Array[];
  readonly sealed: Uint8Array[];
}

export interface BatchSigner extends RecordSigner {
  /** Signs each record's message with the runtime key and seals its stored value under the data key. */
  signAndSeal(items: readonly SealItem[]): Promise<SignedSealed>;
  close(): Promise<void>;
}

function signAndSealHere(
  signer: RecordSigner,
  dataKey: Uint8Array,
  items: readonly SealItem[],
  into: SignedSealed,
): void {
  for (const item of items) {
    const sig = signer.sign(recordSigningMessage(item.id));
    const key = KEYS.record(item.id);
    into.sigs.push(sig);
    into.sealed.push(seal(dataKey, encodeStoredRecord(sig, signer.keyId, item.bodyBytes), aadFor(key)));
  }
}

/** Signs and seals everything on the calling thread. */
export class InlineBatchSigner implements BatchSigner {
  constructor(
    private readonly signer: RecordSigner,
    private readonly dataKey: Uint8Array,
  ) {}
  get keyId(): string {
    return this.signer.keyId;
  }
  sign(message: Uint8Array): Uint8Array {
    return this.signer.sign(message);
  }
  async signAndSeal(items: readonly SealItem[]): Promise<SignedSealed> {
    const out: SignedSealed = { sigs: [], sealed: [] };
    signAndSealHere(this.signer, this.dataKey, items, out);
    return out;
  }
  async close(): Promise<void> {}
}

/** Below this many records a batch is done inline: the message round trip would cost more than it saves. */
const MIN_SPLIT = 8;
const WORKER_SHARE = 0.5;

interface WorkerReply {
  seq: number;
  sigs: Uint8Array;
  sealed: Uint8Array;
  ends: Uint32Array;
}

export class WorkerBatchSigner implements BatchSigner {
  private readonly worker: Worker;
  private readonly pending = new Map<
    number,
    { resolve: (r: WorkerReply) => void; reject: (e: unknown) => void }
  >();
  private seq = 0;
  private broken: Error | null = null;

  constructor(
    private readonly signer: Ed25519Signer,
    private readonly dataKey: Uint8Array,
  ) {
    const key: KeyObject = signer.keyObjectForWorker();
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { key, dataKey: new Uint8Array(dataKey), keyIdRaw: fromHex(signer.keyId) },
    });
    this.worker.on('message', (m: WorkerReply) => {
      const p = this.pending.get(m.seq);
      this.pending.delete(m.seq);
      p?.resolve(m);
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
    // An idle signer must not keep the process alive; a pending request does (see signAndSeal).
    this.worker.unref();
  }

  get keyId(): string {
    return this.signer.keyId;
  }

  sign(message: Uint8Array): Uint8Array {
    return this.signer.sign(message);
  }

  async signAndSeal(items: readonly SealItem[]): Promise<SignedSealed> {
    const out: SignedSealed = { sigs: [], sealed: [] };
    if (items.length < MIN_SPLIT || this.broken) {
      signAndSealHere(this.signer, this.dataKey, items, out);
      return out;
    }
    // The worker takes its share while this thread does the rest; both then wait on the slower part.
    const half = Math.floor(items.length * (1 - WORKER_SHARE));
    const remote = items.slice(half);
    let size = 0;
    for (const it of remote) size += it.bodyBytes.length;
    const bodies = new Uint8Array(size);
    const ends = new Uint32Array(remote.length);
    let at = 0;
    remote.forEach((it, i) => {
      bodies.set(it.bodyBytes, at);
      at += it.bodyBytes.length;
      ends[i] = at;
    });
    const seq = this.seq++;
    this.worker.ref();
    const fromWorker = new Promise<WorkerReply>((resolve, reject) =>
      this.pending.set(seq, { resolve, reject }),
    );
    this.worker.postMessage({ seq, ids: remote.map((it) => it.id), bodies, ends }, [
      bodies.buffer,
      ends.buffer,
    ]);
    signAndSealHere(this.signer, this.dataKey, items.slice(0, half), out);
    try {
      const r = await fromWorker;
      for (let i = 0; i < remote.length; i++) {
        out.sigs.push(r.sigs.subarray(i * 64, i * 64 + 64));
        out.sealed.push(r.sealed.subarray(i === 0 ? 0 : r.ends[i - 1], r.ends[i]));
      }
      return out;
    } catch (e) {
      // A dead worker costs speed, not appends: do its share here.
      if (!this.broken) throw e;
      signAndSealHere(this.signer, this.dataKey, remote, out);
      return out;
    } finally {
      if (this.pending.size === 0) this.worker.unref();
    }
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
