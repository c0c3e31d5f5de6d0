/**
 * CanonStore: the append-only, signed, encrypted log on classic-level (LevelDB).
 *
 * This module opens and creates the store (the genesis record and the keys it certifies) and puts the
 * pieces together; each responsibility lives in its own module:
 * - group-commit.ts: appending, one synced LevelDB batch per group of concurrent appends;
 * - record-reader.ts: reading records and listing pages of the log;
 * - proofs-checkpoints.ts: Merkle inclusion and consistency proofs, signed checkpoints;
 * - verify.ts (with chain-verifier.ts): verification of the whole log;
 * - value-codec.ts and layout.ts: what the values and keys in LevelDB look like.
 */
import { EventEmitter } from 'node:events';
import { createHash } from 'node:crypto';
import { ClassicLevel } from 'classic-level';
import { fromBase64, toBase64, toHex } from '../../../shared/src/bytes.js';
import type { JsonValue } from '../../../shared/src/jcs.js';
import { SigilError } from '../../../shared/src/errors.js';
import { CompactRange } from '../../../shared/src/merkle.js';
import {
  verify as ed25519Verify,
  keyId as keyIdOf,
  assertValidPublicKey,
} from '../../../shared/src/ed25519.js';
import { recordSigningMessage, type CanonicalRecord, type Space } from '../../../shared/src/record.js';
import { KEYS } from './layout.js';
import { decodeState, openValue } from './value-codec.js';
import { GroupCommit, reservedGenesis } from './group-commit.js';
import { RecordReader } from './record-reader.js';
import { ProofsAndCheckpoints } from './proofs-checkpoints.js';
import { verifyStore } from './verify.js';
import type {
  AppendInput,
  CanonStore,
  ConsistencyProofResult,
  Db,
  GenesisPayload,
  Head,
  InclusionProofResult,
  ListPage,
  ListQuery,
  OpenStoreOptions,
  SignedCheckpoint,
  StoreCore,
  VerifyOptions,
  VerifyReport,
} from './store-types.js';

function lockedError(location: string, cause: unknown, owner: string | null): SigilError {
  return new SigilError(
    'STORE_LOCKED',
    `the store at ${location} is locked by another process${owner ? ` (${owner})` : ''}; wait for it to finish or stop it (a language server or "sigil serve" owning the store would take the request instead)`,
    { location },
    { cause },
  );
}

export class LevelCanonStore extends EventEmitter implements CanonStore {
  private readonly db: Db;
  private readonly core: StoreCore;
  private readonly verifyWorkers: number;
  private readonly appender: GroupCommit;
  private readonly reader: RecordReader;
  private readonly proofs: ProofsAndCheckpoints;
  private closed = false;

  private constructor(db: Db, opts: OpenStoreOptions) {
    super();
    this.db = db;
    this.core = {
      db,
      keystore: opts.keystore,
      indexKey: new Uint8Array(
        createHash('sha256').update('sigil-index-key/v1\n').update(opts.keystore.dataKey).digest(),
      ),
      keys: new Map(),
      origin: '',
      state: { size: 0, range: CompactRange.empty(), heads: { data: null, system: null } },
    };
    this.verifyWorkers = opts.verifyWorkers ?? 2;
    this.appender = new GroupCommit(this.core, {
      maxBatch: opts.groupCommitMaxBatch ?? 512,
      signWorkers: (opts.signWorkers ?? 1) > 0,
      onAppended: (records) => this.emit('appended', records),
    });
    this.reader = new RecordReader(this.core);
    this.proofs = new ProofsAndCheckpoints(this.core);
  }

  get origin(): string {
    return this.core.origin;
  }

  private static async openDb(opts: OpenStoreOptions, createIfMissing: boolean): Promise<Db> {
    const db: Db = new ClassicLevel<string, Uint8Array>(opts.location, {
      keyEncoding: 'utf8',
      valueEncoding: 'view',
      createIfMissing,
      errorIfExists: createIfMissing,
    });
    try {
      await db.open();
    } catch (e) {
      const err = e as { code?: string; cause?: { code?: string; message?: string } };
      if (err.cause?.code === 'LEVEL_LOCKED' || err.code === 'LEVEL_LOCKED') {
        throw lockedError(opts.location, e, (await opts.describeLockOwner?.()) ?? null);
      }
      if (!createIfMissing && /does not exist/i.test(err.cause?.message ?? '')) {
        throw new SigilError(
          'HOME_MISSING',
          `no canon store at ${opts.location}; run "sigil init" first`,
          undefined,
          {
            cause: e,
          },
        );
      }
      throw new SigilError(
        'INTERNAL',
        `cannot open the store at ${opts.location}: ${err.cause?.message ?? String(e)}`,
        undefined,
        {
          cause: e,
        },
      );
    }
    return db;
  }

  /** Creates a new store and writes its genesis record, signed by the root key. */
  static async create(opts: OpenStoreOptions & { readonly origin: string }): Promise<LevelCanonStore> {
    const db = await LevelCanonStore.openDb(opts, true);
    const store = new LevelCanonStore(db, opts);
    const ks = opts.keystore;
    const genesis: GenesisPayload = {
      origin: opts.origin,
      root_key: { key_id: ks.root.keyId, public_key: toBase64(ks.root.publicKey) },
      runtime_key: { key_id: ks.runtime.keyId, public_key: toBase64(ks.runtime.publicKey) },
      data_key_id: ks.dataKeyId,
    };
    store.core.origin = opts.origin;
    store.core.keys.set(ks.root.keyId, ks.root.publicKey);
    try {
      await store.appender.enqueue(
        {
          kind: 'canon.genesis',
          space: 'system',
          actor: `key:${ks.root.keyId}`,
          payload: genesis as unknown as JsonValue,
        },
        ks.root,
      );
    } catch (e) {
      await db.close();
      throw e;
    }
    store.core.keys.set(ks.runtime.keyId, ks.runtime.publicKey);
    return store;
  }

  static async open(opts: OpenStoreOptions): Promise<LevelCanonStore> {
    const db = await LevelCanonStore.openDb(opts, false);
    const store = new LevelCanonStore(db, opts);
    try {
      await store.load();
    } catch (e) {
      await db.close();
      throw e;
    }
    return store;
  }

  private async load(): Promise<void> {
    const sealed = await this.db.get(KEYS.state);
    if (sealed === undefined)
      throw new SigilError('STORE_CORRUPT', 'the store has no state record; it was never initialized');
    const plain = openValue(this.core.keystore.dataKey, KEYS.state, sealed);
    if (!plain) {
      throw new SigilError(
        'STORE_CORRUPT',
        'the store state does not authenticate under this data key (wrong key or tampered)',
      );
    }
    try {
      this.core.state = decodeState(plain);
    } catch (e) {
      throw new SigilError('STORE_CORRUPT', `the store state is malformed: ${(e as Error).message}`);
    }
    const genesis = await this.readGenesis();
    this.core.origin = genesis.origin;
  }

  /** Reads record 0 and installs the keys it certifies; the root key must be this keystore's root key. */
  private async readGenesis(): Promise<GenesisPayload> {
    const ks = this.core.keystore;
    const keys = this.core.keys;
    const rec = await this.reader.getBySeq(0);
    const g = rec.body.payload as unknown as GenesisPayload;
    if (rec.body.kind !== 'canon.genesis' || typeof g?.origin !== 'string') {
      throw new SigilError('STORE_CORRUPT', 'record 0 is not a genesis record');
    }
    if (g.root_key?.key_id !== ks.root.keyId || rec.signature.key_id !== ks.root.keyId) {
      throw new SigilError(
        'STORE_CORRUPT',
        'the genesis record names a root key other than this keystore holds',
      );
    }
    const rootOk = ed25519Verify(
      ks.root.publicKey,
      recordSigningMessage(rec.id),
      fromBase64(rec.signature.sig),
    );
    if (!rootOk)
      throw new SigilError(
        'STORE_CORRUPT',
        'the genesis record signature does not verify under the root key',
      );
    const runtimePub = fromBase64(g.runtime_key.public_key);
    assertValidPublicKey(runtimePub, 'runtime key in the genesis record');
    if (keyIdOf(runtimePub) !== g.runtime_key.key_id) {
      throw new SigilError(
        'STORE_CORRUPT',
        'the genesis record runtime key id does not match its public key',
      );
    }
    keys.clear();
    keys.set(ks.root.keyId, ks.root.publicKey);
    keys.set(g.runtime_key.key_id, runtimePub);
    if (!keys.has(ks.runtime.keyId)) {
      throw new SigilError(
        'STORE_CORRUPT',
        'the keystore runtime key is not certified by the genesis record',
      );
    }
    return g;
  }

  trustedKeys(): ReadonlyMap<string, Uint8Array> {
    return this.core.keys;
  }

  private ensureOpen(): void {
    if (this.closed) throw new SigilError('STORE_CLOSED', 'the store is closed');
  }

  append(input: AppendInput): Promise<CanonicalRecord> {
    try {
      this.ensureOpen();
      if (input.kind === 'canon.genesis') throw reservedGenesis();
    } catch (e) {
      return Promise.reject(e);
    }
    return this.appender.enqueue(input, this.core.keystore.runtime);
  }

  /**
   * Appends several records atomically: they get consecutive seqs in one synced batch, or none is written.
   * Only the first may carry a legacyIdentity (a refused duplicate then refuses the whole group).
   */
  appendAll(inputs: readonly AppendInput[]): Promise<CanonicalRecord[]> {
    try {
      this.ensureOpen();
    } catch (e) {
      return Promise.reject(e);
    }
    return this.appender.appendAll(inputs);
  }

  async get(id: string): Promise<CanonicalRecord> {
    this.ensureOpen();
    return this.reader.get(id);
  }

  async getBySeq(seq: number): Promise<CanonicalRecord> {
    this.ensureOpen();
    if (!Number.isSafeInteger(seq) || seq < 0)
      throw new SigilError('BAD_INPUT', `seq must be a non-negative integer`);
    return this.reader.getBySeq(seq);
  }

  async list(query: ListQuery): Promise<ListPage> {
    this.ensureOpen();
    return this.reader.list(query);
  }

  async findLegacy(legacyIdentity: string): Promise<string | null> {
    this.ensureOpen();
    return this.reader.findLegacy(legacyIdentity);
  }

  head(space: Space): Head | null {
    return this.core.state.heads[space];
  }

  size(): number {
    return this.core.state.size;
  }

  rootHash(): string {
    return toHex(this.core.state.range.root());
  }

  async inclusionProof(id: string, treeSize?: number): Promise<InclusionProofResult> {
    this.ensureOpen();
    return this.proofs.inclusionProof(await this.reader.get(id), treeSize);
  }

  async consistencyProof(oldSize: number, newSize?: number): Promise<ConsistencyProofResult> {
    this.ensureOpen();
    return this.proofs.consistencyProof(oldSize, newSize);
  }

  /** Signs a checkpoint of the current tree with the runtime key and keeps it in the checkpoint history. */
  async checkpoint(): Promise<SignedCheckpoint> {
    this.ensureOpen();
    return this.proofs.checkpoint();
  }

  /** The checkpoint signed at `size`, if one was (the checkpoint history keeps every one). */
  async checkpointAt(size: number): Promise<SignedCheckpoint | null> {
    this.ensureOpen();
    return this.proofs.checkpointAt(size);
  }

  async latestCheckpoint(): Promise<SignedCheckpoint | null> {
    this.ensureOpen();
    return this.proofs.latestCheckpoint();
  }

  /** Checks the whole log against its signatures, chain links, Merkle root, state and checkpoint. */
  async verify(opts: VerifyOptions = {}): Promise<VerifyReport> {
    this.ensureOpen();
    const snapshot = this.core.state;
    const latest = await this.proofs.latestCheckpointClaim();
    return verifyStore(this.core, snapshot, this.verifyWorkers, opts, latest);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.appender.idle();
    this.closed = true;
    await this.appender.close();
    await this.db.close();
  }
}
