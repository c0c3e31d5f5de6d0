/**
 * The canon store's API types, and the state its modules share. Result shapes are the protocol's: what the
 * store returns is exactly what travels to the editor and the CLI, so they are declared once, in
 * shared/src/protocol.ts.
 */
import type { ClassicLevel } from 'classic-level';
import type { JsonValue } from '../../../shared/src/jcs.js';
import type { CompactRange } from '../../../shared/src/merkle.js';
import type { CanonicalRecord, RecordLink, Space } from '../../../shared/src/record.js';
import type {
  CheckpointResult,
  ConsistencyProofResult,
  DamagedEntry,
  HeadInfo,
  InclusionProofResult,
  ListResult,
  VerifyProblemInfo,
  VerifyResult,
} from '../../../shared/src/protocol.js';
import type { Keystore } from './keystore.js';

export interface AppendInput {
  readonly kind: string;
  readonly space: Space;
  readonly payload: JsonValue;
  readonly actor: string;
  readonly links?: readonly RecordLink[];
  /** Idempotency tag for migrations: a second append with the same tag is refused with the existing id. */
  readonly legacyIdentity?: string;
}

export type Head = HeadInfo;
export type { DamagedEntry, InclusionProofResult, ConsistencyProofResult };
export type ListPage = ListResult;
export type SignedCheckpoint = CheckpointResult;
export type VerifyProblem = VerifyProblemInfo;
export type VerifyReport = VerifyResult;

export interface ListQuery {
  readonly space?: Space;
  readonly kind?: string;
  readonly limit?: number;
  readonly cursor?: string;
  readonly order?: 'asc' | 'desc';
}

export interface VerifyOptions {
  readonly onProgress?: (checked: number, total: number) => void;
  readonly signal?: AbortSignal;
}

export interface GenesisPayload {
  readonly origin: string;
  readonly root_key: { readonly key_id: string; readonly public_key: string };
  readonly runtime_key: { readonly key_id: string; readonly public_key: string };
  readonly data_key_id: string;
}

/** The operations every front door relies on. */
export interface CanonStore {
  readonly origin: string;
  append(input: AppendInput): Promise<CanonicalRecord>;
  get(id: string): Promise<CanonicalRecord>;
  getBySeq(seq: number): Promise<CanonicalRecord>;
  list(query: ListQuery): Promise<ListPage>;
  head(space: Space): Head | null;
  size(): number;
  rootHash(): string;
  inclusionProof(id: string, treeSize?: number): Promise<InclusionProofResult>;
  consistencyProof(oldSize: number, newSize?: number): Promise<ConsistencyProofResult>;
  checkpoint(): Promise<SignedCheckpoint>;
  latestCheckpoint(): Promise<SignedCheckpoint | null>;
  verify(opts?: VerifyOptions): Promise<VerifyReport>;
  findLegacy(legacyIdentity: string): Promise<string | null>;
  trustedKeys(): ReadonlyMap<string, Uint8Array>;
  close(): Promise<void>;
}

export interface OpenStoreOptions {
  readonly location: string;
  readonly keystore: Keystore;
  readonly groupCommitMaxBatch?: number;
  /** Worker threads for signature checks during verify; 0 checks on the calling thread. */
  readonly verifyWorkers?: number;
  /** 1 signs half of each batch on a worker thread; 0 signs on the calling thread. */
  readonly signWorkers?: number;
  /** Explains who holds the lock, read from the home's owner file. */
  readonly describeLockOwner?: () => Promise<string | null>;
}

export type Db = ClassicLevel<string, Uint8Array>;

/** The durable state of the log: its size, its Merkle compact range and the chain head of each space. */
export interface StoreState {
  size: number;
  range: CompactRange;
  heads: Record<Space, Head | null>;
}

/**
 * What the store's modules (group commit, reading, proofs, verification) share: one LevelDB handle, the
 * keystore, the keyed-index key, the keys the genesis record certifies and the durable state, which only
 * the group commit replaces (after a batch is durable).
 */
export interface StoreCore {
  readonly db: Db;
  readonly keystore: Keystore;
  /** HMAC key of the kind and legacy index tags (derived from the data key). */
  readonly indexKey: Uint8Array;
  readonly keys: Map<string, Uint8Array>;
  origin: string;
  state: StoreState;
}
