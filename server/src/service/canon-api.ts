/**
 * What a front door can ask of a canon, whether the store is opened in this process or owned by another
 * process and reached over its socket. Export and migration are written against this, so they work the
 * same both ways.
 */
import type { CanonicalRecord } from '../../../shared/src/record.js';
import type {
  AppendParams,
  CheckpointResult,
  ConsistencyProofResult,
  InclusionProofResult,
  ListParams,
  ListResult,
  RecordView,
  StoreInfo,
  VerifyResult,
} from '../../../shared/src/protocol.js';
import type { JsonValue } from '../../../shared/src/jcs.js';

export interface CanonApi {
  info(): Promise<StoreInfo>;
  append(p: AppendParams): Promise<CanonicalRecord>;
  get(id: string): Promise<RecordView>;
  getBySeq(seq: number): Promise<CanonicalRecord>;
  list(q: ListParams): Promise<ListResult>;
  verify(opts?: {
    onProgress?: (checked: number, total: number) => void;
    signal?: AbortSignal;
  }): Promise<VerifyResult>;
  inclusionProof(id: string, treeSize?: number): Promise<InclusionProofResult>;
  consistencyProof(oldSize: number, newSize?: number): Promise<ConsistencyProofResult>;
  checkpoint(): Promise<CheckpointResult>;
  findLegacy(legacyIdentity: string): Promise<string | null>;
  close(): Promise<void>;
}

export type { AppendParams, JsonValue };
