/**
 * Appending to the canon, with group commit.
 *
 * One logical append = one LevelDB batch holding the sealed record, its seq/space/kind index entries, the
 * Merkle nodes it completes, the chain head of its space and the store state, written with sync:true.
 * Concurrent appends are grouped: whoever arrives while a batch is being written joins the next one, so
 * many appends share one fsync.
 */
import { seal } from '../../../shared/src/aead.js';
import { toBase64, toHex, utf8 } from '../../../shared/src/bytes.js';
import { canonicalize } from '../../../shared/src/jcs.js';
import { sha256Hex } from '../../../shared/src/hash.js';
import { SigilError } from '../../../shared/src/errors.js';
import { leafHash } from '../../../shared/src/merkle.js';
import {
  MAX_PAYLOAD_BYTES,
  SCHEMA_VERSION,
  SPACES,
  checkBody,
  checkKind,
  isSpace,
  recordSigningMessage,
  type CanonicalRecord,
  type RecordBody,
  type RecordSigner,
} from '../../../shared/src/record.js';
import { KEYS, aadFor, kindTag, legacyTag, parseSeqHex, prefixEnd } from './layout.js';
import { WorkerBatchSigner, InlineBatchSigner, type BatchSigner } from './sign-pool.js';
import { canonicalBodyJson, encodeState, encodeStoredRecord } from './value-codec.js';
import type { AppendInput, StoreCore, StoreState } from './store-types.js';

const ACTOR_MAX = 256;

type PutOp = { type: 'put'; key: string; value: Uint8Array };

interface BuiltItem {
  readonly p: Pending;
  readonly id: string;
  readonly seq: number;
  readonly bodyBytes: Uint8Array;
  readonly body: RecordBody;
  record: CanonicalRecord | null;
}

interface BuiltBatch {
  readonly items: BuiltItem[];
  readonly ops: PutOp[];
  readonly legacyTags: string[];
  readonly base: StoreState;
  readonly next: StoreState;
}

/** Appends that land together or not at all (appendAll): one group commit, never split. */
interface AppendGroup {
  readonly size: number;
  failed: unknown;
}

interface Pending {
  readonly input: AppendInput;
  readonly payloadJcs: string;
  readonly signer: RecordSigner;
  readonly resolve: (r: CanonicalRecord) => void;
  readonly reject: (e: unknown) => void;
  readonly group?: AppendGroup;
}

function nowIso(): string {
  return new Date().toISOString();
}

/** Only create() writes the genesis record; a second one would make the log fail verification for good. */
export function reservedGenesis(): SigilError {
  return new SigilError('BAD_INPUT', 'kind "canon.genesis" is reserved for the record that starts the log', {
    field: 'kind',
  });
}

/** Validates what a caller may put into an append; returns the payload's canonical JSON. */
export function validateAppendInput(input: AppendInput): string {
  const kindProblem = checkKind(input.kind);
  if (kindProblem) throw new SigilError('BAD_INPUT', kindProblem, { field: 'kind' });
  if (!isSpace(input.space)) {
    throw new SigilError(
      'BAD_INPUT',
      `space must be "data" or "system", got ${JSON.stringify(input.space)}`,
      {
        field: 'space',
      },
    );
  }
  if (typeof input.actor !== 'string' || input.actor.length === 0 || input.actor.length > ACTOR_MAX) {
    throw new SigilError('BAD_INPUT', `actor must be 1 to ${ACTOR_MAX} characters`, { field: 'actor' });
  }
  const payloadJcs = canonicalize(input.payload);
  if (Buffer.byteLength(payloadJcs, 'utf8') > MAX_PAYLOAD_BYTES) {
    throw new SigilError(
      'BAD_INPUT',
      `payload is ${Buffer.byteLength(payloadJcs, 'utf8')} bytes in canonical form; the limit is ${MAX_PAYLOAD_BYTES}`,
      { field: 'payload' },
    );
  }
  return payloadJcs;
}

export interface GroupCommitOptions {
  readonly maxBatch: number;
  /** Sign half of each batch on a worker thread. */
  readonly signWorkers: boolean;
  /** Called with the records of each batch once it is durable. */
  readonly onAppended: (records: CanonicalRecord[]) => void;
}

export class GroupCommit {
  private queue: Pending[] = [];
  private draining: Promise<void> | null = null;
  private scheduled = false;
  /** State after the batches built but not yet durable; null when nothing is ahead of `core.state`. */
  private spec: StoreState | null = null;
  private specBroken = false;
  private signerPool: BatchSigner | null = null;
  private readonly kindTags = new Map<string, string>();
  /** Legacy tags of batches built but not yet durable. */
  private readonly inflightLegacy = new Set<string>();
  /**
   * Whether the seq slots past the durable state must be proven free before the next write: after opening
   * the store (its state may be behind its records, e.g. restored from an older copy) and after a failed
   * write (LevelDB may have logged a batch whose sync failed, and replay it on reopen). Otherwise this
   * process holds the LevelDB lock and every batch it wrote advanced the state with it, so they are free.
   */
  private slotsUnproven = true;

  constructor(
    private readonly core: StoreCore,
    private readonly opts: GroupCommitOptions,
  ) {}

  get maxBatch(): number {
    return this.opts.maxBatch;
  }

  /** One append signed by `signer`; the caller refuses the reserved genesis kind where it must. */
  enqueue(input: AppendInput, signer: RecordSigner): Promise<CanonicalRecord> {
    let payloadJcs: string;
    try {
      payloadJcs = this.validateInput(input);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise<CanonicalRecord>((resolve, reject) => {
      this.queue.push({ input, payloadJcs, signer, resolve, reject });
      this.schedule();
    });
  }

  /**
   * Appends several records atomically: they get consecutive seqs in one synced batch, or none is written.
   * Only the first may carry a legacyIdentity (a refused duplicate then refuses the whole group).
   */
  appendAll(inputs: readonly AppendInput[]): Promise<CanonicalRecord[]> {
    try {
      if (inputs.length === 0) return Promise.resolve([]);
      if (inputs.length > this.opts.maxBatch)
        throw new SigilError('BAD_INPUT', `at most ${this.opts.maxBatch} records can be appended together`);
      const validated = inputs.map((input, i) => {
        if (input.kind === 'canon.genesis') throw reservedGenesis();
        if (i > 0 && input.legacyIdentity !== undefined)
          throw new SigilError('BAD_INPUT', 'only the first record of a group may carry a legacy identity');
        return { input, payloadJcs: this.validateInput(input) };
      });
      const group: AppendGroup = { size: inputs.length, failed: undefined };
      const signer = this.core.keystore.runtime;
      const results = validated.map(
        ({ input, payloadJcs }) =>
          new Promise<CanonicalRecord>((resolve, reject) => {
            this.queue.push({ input, payloadJcs, signer, resolve, reject, group });
          }),
      );
      this.schedule();
      return Promise.all(results);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Resolves once nothing is queued, scheduled or being written. */
  async idle(): Promise<void> {
    while (this.draining || this.scheduled || this.queue.length > 0) {
      await (this.draining ?? new Promise((r) => setImmediate(r)));
    }
  }

  async close(): Promise<void> {
    await this.signerPool?.close();
  }

  private validateInput(input: AppendInput): string {
    const payloadJcs = validateAppendInput(input);
    if (input.links !== undefined) {
      const problem = checkBody({
        kind: input.kind,
        space: input.space,
        schema_version: SCHEMA_VERSION,
        seq: 0,
        ts: nowIso(),
        actor: input.actor,
        links: input.links,
        prev: null,
        payload: null,
      });
      if (problem) throw new SigilError('BAD_INPUT', problem, { field: 'links' });
    }
    return payloadJcs;
  }

  /** Takes the next batch off the queue without splitting a group. */
  private takeBatch(): Pending[] {
    let n = Math.min(this.opts.maxBatch, this.queue.length);
    while (
      n < this.queue.length &&
      this.queue[n]?.group !== undefined &&
      this.queue[n]?.group === this.queue[n - 1]?.group
    )
      n++;
    return this.queue.splice(0, n);
  }

  /** Rejects a pending append; a refused member of a group takes the rest of its group with it. */
  private refuse(p: Pending, e: unknown): void {
    if (p.group && p.group.failed === undefined) p.group.failed = e;
    p.reject(e);
  }

  private schedule(): void {
    if (this.draining || this.scheduled) return;
    this.scheduled = true;
    // setImmediate lets every append issued in the same turn join the first batch.
    setImmediate(() => {
      this.scheduled = false;
      this.draining = this.drain().finally(() => {
        this.draining = null;
        if (this.queue.length > 0) this.schedule();
      });
    });
  }

  /**
   * Group commit with a two-stage pipeline: while batch N is being written and fsynced, batch N+1 is built
   * and signed on a speculative state. Writes stay strictly ordered; if one fails, every batch built on top
   * of it fails too and the speculative state falls back to the durable one.
   */
  private async drain(): Promise<void> {
    let inflight: Promise<boolean> = Promise.resolve(true);
    for (;;) {
      if (this.queue.length === 0) {
        await inflight;
        if (this.queue.length === 0) return;
      }
      if (this.specBroken) {
        await inflight;
        this.spec = null;
        this.specBroken = false;
      }
      const admitted = await this.admitLegacy(this.takeBatch());
      const base = this.spec ?? this.core.state;
      const built = this.buildBatch(admitted, base);
      if (!built) continue;
      this.spec = built.next;
      let sealed: PutOp[];
      try {
        sealed = await this.signAndSeal(built);
      } catch (e) {
        this.failBatch(built, e);
        this.specBroken = true;
        continue;
      }
      const previous = inflight;
      inflight = this.writeBatch(built, sealed, previous);
      // Build at most one batch ahead of the write in flight.
      await previous;
    }
  }

  /**
   * Refuses, one by one, appends whose legacy identity is already in the store or in a batch not yet
   * durable, so a duplicate never fails the unrelated appends that share its group commit.
   */
  private async admitLegacy(batch: Pending[]): Promise<Pending[]> {
    const tagged = batch.filter((p) => p.input.legacyIdentity !== undefined);
    if (tagged.length === 0) return batch;
    const tags = new Map<Pending, string>();
    for (const p of tagged) tags.set(p, legacyTag(this.core.indexKey, p.input.legacyIdentity as string));
    const stored = await this.core.db.getMany(tagged.map((p) => KEYS.legacy(tags.get(p) as string)));
    const refused = new Set<Pending>();
    const seen = new Set<string>();
    tagged.forEach((p, i) => {
      const tag = tags.get(p) as string;
      const existing = stored[i];
      if (existing !== undefined || this.inflightLegacy.has(tag) || seen.has(tag)) {
        refused.add(p);
        this.refuse(
          p,
          new SigilError(
            'DUPLICATE',
            `legacy record ${p.input.legacyIdentity} was already migrated${existing !== undefined ? ` as ${toHex(existing)}` : ''}`,
          ),
        );
        return;
      }
      seen.add(tag);
    });
    for (const tag of seen) this.inflightLegacy.add(tag);
    return refused.size === 0 ? batch : batch.filter((p) => !refused.has(p));
  }

  private releaseLegacy(built: BuiltBatch): void {
    for (const tag of built.legacyTags) this.inflightLegacy.delete(tag);
  }

  private failBatch(built: BuiltBatch, e: unknown): void {
    this.releaseLegacy(built);
    const err =
      e instanceof SigilError
        ? e
        : new SigilError(
            'INTERNAL',
            `append failed, nothing was written: ${(e as Error).message}`,
            undefined,
            { cause: e },
          );
    for (const item of built.items) item.p.reject(err);
  }

  private async writeBatch(built: BuiltBatch, sealed: PutOp[], previous: Promise<boolean>): Promise<boolean> {
    if (!(await previous)) {
      this.failBatch(
        built,
        new SigilError(
          'INTERNAL',
          'append failed: an earlier write in the same group commit failed; nothing was written',
        ),
      );
      this.specBroken = true;
      return false;
    }
    try {
      await this.refuseOverwrites(built.items[0]?.seq ?? built.base.size, built.legacyTags);
      // The chained form skips abstract-level's per-operation option cloning: ~3x cheaper per batch here.
      const batch = this.core.db.batch();
      for (const op of built.ops) batch.put(op.key, op.value);
      for (const op of sealed) batch.put(op.key, op.value);
      await batch.write({ sync: true });
    } catch (e) {
      this.slotsUnproven = true;
      this.failBatch(built, e);
      this.specBroken = true;
      return false;
    }
    this.core.state = built.next;
    this.releaseLegacy(built);
    if (this.spec === built.next) this.spec = null;
    const records = built.items.map((i) => i.record as CanonicalRecord);
    built.items.forEach((i, k) => i.p.resolve(records[k] as CanonicalRecord));
    this.opts.onAppended(records);
    return true;
  }

  /** Assigns seq and prev, computes ids, Merkle nodes and index entries; no I/O, no signatures yet. */
  private buildBatch(batch: Pending[], base: StoreState): BuiltBatch | null {
    const next: StoreState = { size: base.size, range: base.range.clone(), heads: { ...base.heads } };
    const ops: PutOp[] = [];
    const items: BuiltItem[] = [];
    const legacyTags: string[] = [];
    for (const p of batch) {
      const { input } = p;
      if (p.group?.failed !== undefined) {
        p.reject(p.group.failed);
        continue;
      }
      let legacy: string | undefined;
      if (input.legacyIdentity !== undefined) {
        legacy = legacyTag(this.core.indexKey, input.legacyIdentity);
        if (legacyTags.includes(legacy)) {
          this.refuse(
            p,
            new SigilError('DUPLICATE', `legacy record ${input.legacyIdentity} appears twice in one batch`),
          );
          continue;
        }
        legacyTags.push(legacy);
      }
      const seq = next.size;
      const head = next.heads[input.space];
      const bodyNoPayload = {
        kind: input.kind,
        space: input.space,
        schema_version: SCHEMA_VERSION,
        seq,
        ts: nowIso(),
        actor: input.actor,
        links: input.links ?? [],
        prev: head ? head.id : null,
      };
      // Buffers are Uint8Arrays; building them directly saves a copy per record on the hot path.
      const bodyBytes: Uint8Array = Buffer.from(canonicalBodyJson(bodyNoPayload, p.payloadJcs), 'utf8');
      const id = sha256Hex(bodyBytes);
      const idRaw: Uint8Array = Buffer.from(id, 'hex');
      ops.push({ type: 'put', key: KEYS.bySeq(seq), value: idRaw });
      ops.push({ type: 'put', key: KEYS.bySpace(input.space, seq), value: idRaw });
      ops.push({ type: 'put', key: KEYS.byKind(this.kindTagOf(input.kind), seq), value: idRaw });
      if (legacy !== undefined) ops.push({ type: 'put', key: KEYS.legacy(legacy), value: idRaw });
      for (const n of next.range.append(leafHash(idRaw))) {
        ops.push({ type: 'put', key: KEYS.node(n.level, n.index), value: n.hash });
      }
      next.heads[input.space] = { id, seq };
      next.size = seq + 1;
      items.push({ p, id, seq, bodyBytes, body: { ...bodyNoPayload, payload: input.payload }, record: null });
    }
    if (items.length === 0) return null;
    return { items, ops, legacyTags, base, next };
  }

  /**
   * Signs and seals every record of the batch: runtime-key records split across threads (each thread signs
   * and seals its share), others (the genesis record, signed by the root key) here.
   */
  private async signAndSeal(built: BuiltBatch): Promise<PutOp[]> {
    const { keystore } = this.core;
    const dataKey = keystore.dataKey;
    const runtimeItems = built.items.filter((i) => i.p.signer === keystore.runtime);
    const done = await this.batchSigner().signAndSeal(runtimeItems);
    const doneOf = new Map(
      runtimeItems.map((item, k) => [
        item,
        { sig: done.sigs[k] as Uint8Array, value: done.sealed[k] as Uint8Array },
      ]),
    );
    const out: PutOp[] = [];
    for (const item of built.items) {
      const signer = item.p.signer;
      const rkey = KEYS.record(item.id);
      let d = doneOf.get(item);
      if (d === undefined) {
        const sig = signer.sign(recordSigningMessage(item.id));
        d = {
          sig,
          value: seal(dataKey, encodeStoredRecord(sig, signer.keyId, item.bodyBytes), aadFor(rkey)),
        };
      }
      const { sig } = d;
      out.push({ type: 'put', key: rkey, value: d.value });
      item.record = {
        id: item.id,
        body: item.body,
        signature: { alg: 'ed25519', key_id: signer.keyId, sig: toBase64(sig) },
      };
    }
    for (const space of SPACES) {
      if (built.next.heads[space] !== built.base.heads[space]) {
        const key = KEYS.head(space);
        out.push({
          type: 'put',
          key,
          value: seal(dataKey, utf8(JSON.stringify(built.next.heads[space])), aadFor(key)),
        });
      }
    }
    out.push({
      type: 'put',
      key: KEYS.state,
      value: seal(dataKey, encodeState(built.next), aadFor(KEYS.state)),
    });
    return out;
  }

  private batchSigner(): BatchSigner {
    const runtime = this.core.keystore.runtime;
    this.signerPool ??= this.opts.signWorkers
      ? new WorkerBatchSigner(runtime, this.core.keystore.dataKey)
      : new InlineBatchSigner(runtime, this.core.keystore.dataKey);
    return this.signerPool;
  }

  private kindTagOf(kind: string): string {
    let tag = this.kindTags.get(kind);
    if (tag === undefined) {
      tag = kindTag(this.core.indexKey, kind);
      if (this.kindTags.size < 4096) this.kindTags.set(kind, tag);
    }
    return tag;
  }

  /** Append-only: a batch that would overwrite an existing record, seq slot or legacy tag is refused whole. */
  private async refuseOverwrites(first: number, tags: string[]): Promise<void> {
    const db = this.core.db;
    // A record id commits to its seq, so no existing record can be rewritten as long as no seq slot is
    // reused: one seek past the first new slot proves that for the whole batch and every later one this
    // process writes (see slotsUnproven). Creating a LevelDB iterator costs more than the rest of a
    // batch's index work, so it is not done for every batch.
    if (this.slotsUnproven) {
      const it = db.keys({ gte: KEYS.bySeq(first), lt: prefixEnd(KEYS.seqPrefix), limit: 1 });
      const taken = await it.next().finally(() => it.close());
      if (taken !== undefined) {
        throw new SigilError(
          'STORE_CORRUPT',
          `seq slot ${parseSeqHex(taken.slice(KEYS.seqPrefix.length))} is already taken: the store state is behind its records; run "sigil canon verify"`,
        );
      }
      this.slotsUnproven = false;
    }
    if (tags.length === 0) return;
    const existing = await db.getMany(tags.map((t) => KEYS.legacy(t)));
    const hit = existing.findIndex((v) => v !== undefined);
    if (hit >= 0) {
      throw new SigilError('DUPLICATE', 'a record with this legacy identity was already migrated', {
        key: KEYS.legacy(tags[hit] as string),
      });
    }
  }
}
