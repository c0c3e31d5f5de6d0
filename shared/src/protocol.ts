/**
 * The Sigil protocol: every custom request and notification, defined once with its params schema (checked
 * by the server, since params arrive from outside) and its result type. The language server, the local
 * store-owner socket, the CLI's remote client and the VS Code extension all import this table.
 * docs/protocol.md documents each method; a test fails when one is missing there.
 */
import { z } from 'zod';
import type { CanonicalRecord } from './record.js';
import type { LicenseChain, RequestAuth, SignedLicense } from './license.js';
import type { TrustFeatures, TrustWeights } from './trust.js';
import type { SigilErrorCode, SigilErrorData } from './errors.js';
import { SigilError } from './errors.js';
import {
  DEFAULT_LIST_LIMIT,
  MAX_LIST_LIMIT,
  MAX_TAGS,
  keyProblem,
  namespaceProblem,
  tagProblem,
  textProblem,
} from './memory.js';
import { ModuleParams, type ModuleManifestView, type ModuleRunResult } from './modules.js';
import { MAX_CHUNKS_PER_DOCUMENT, MAX_CHUNK_CHARS, MAX_DOCUMENT_KEY_LENGTH, MAX_QUERY_K } from './rag.js';

// ---------------------------------------------------------------------------------------------------------
// Result shapes (plain JSON; mirrored from the server's store types so the client needs no server code)

export interface HeadInfo {
  readonly id: string;
  readonly seq: number;
}

/**
 * - `ready`: the store is open;
 * - `no-store`: the home has no store yet;
 * - `locked`: another process holds the store (`problem.code` STORE_LOCKED);
 * - `needs-passphrase`: the keys are encrypted and no passphrase, or a wrong one, was given
 *   (`problem.code` PASSPHRASE_REQUIRED or PASSPHRASE_WRONG);
 * - `error`: the store cannot be opened for another reason (`problem` says which).
 */
export const STORE_STATUSES = ['ready', 'no-store', 'locked', 'needs-passphrase', 'error'] as const;
export type StoreStatus = (typeof STORE_STATUSES)[number];

export interface StoreInfo {
  readonly status: StoreStatus;
  readonly home: string;
  /** Present when status is 'locked', 'needs-passphrase' or 'error'. */
  readonly problem?: SigilErrorData;
  readonly origin?: string;
  readonly size?: number;
  readonly rootHash?: string;
  readonly heads?: { readonly data: HeadInfo | null; readonly system: HeadInfo | null };
  readonly rootKeyId?: string;
  readonly runtimeKeyId?: string;
  readonly keysEncrypted?: boolean;
}

/** An entry of a listing whose record could not be read (missing, or its stored bytes do not check). */
export interface DamagedEntry {
  readonly seq: number;
  readonly id: string;
  readonly reason: string;
}

export interface ListResult {
  readonly records: CanonicalRecord[];
  readonly nextCursor: string | null;
  /**
   * Entries of this page whose record could not be read, in the page's order; each takes the place in the
   * order (and counts toward the limit) that its record would have had. Absent when there are none.
   */
  readonly damaged?: DamagedEntry[];
}

export interface VerifyProblemInfo {
  readonly seq: number | null;
  readonly id: string | null;
  readonly reason: string;
}

export interface VerifyResult {
  readonly ok: boolean;
  readonly size: number;
  readonly checked: number;
  readonly rootHash: string;
  readonly firstBad: VerifyProblemInfo | null;
  /** The witnesses' recorded checkpoint cosignatures, re-checked against the log (sigil/canon.verify). */
  readonly cosignatures?: CosignatureCheck;
  /** System changes re-checked: root signatures, and the quorum rule each commit met when it was made. */
  readonly system?: SystemHistoryCheck;
}

export interface SystemHistoryCheck {
  readonly commits: number;
  readonly failed: ReadonlyArray<{ recordId: string; seq: number; reason: string }>;
}

export interface CosignatureCheck {
  readonly checked: number;
  readonly failed: ReadonlyArray<{ recordId: string; witnessId: string; size: number; reason: string }>;
}

/** What a witness needs to cosign the log's current checkpoint (`sigil canon checkpoint --for-witness`). */
export interface CheckpointRequest {
  readonly type: 'sigil.checkpoint-request';
  readonly version: 1;
  readonly origin: string;
  readonly witness: string;
  /** The signed checkpoint (C2SP signed note). */
  readonly note: string;
  /** The log's note verifier key, `<origin>+<key hash>+<base64 key>`. */
  readonly logKey: string;
  /** The size this witness last cosigned (0: none), and the RFC 6962 consistency proof from it (hex). */
  readonly oldSize: number;
  readonly proof: readonly string[];
}

export interface CosignAttachResult {
  readonly size: number;
  readonly added: ReadonlyArray<{ witnessId: string; name: string; size: number; timestamp: number }>;
}

/** The latest checkpoint the witnesses cosigned, with every cosignature line collected. */
export interface CosignedCheckpoint extends CheckpointResult {
  readonly cosigners: ReadonlyArray<{ witnessId: string; name: string; timestamp: number }>;
  readonly threshold: number;
  readonly activeWitnesses: number;
  /** Null when no witness has cosigned yet (the note is then the current checkpoint, uncosigned). */
  readonly cosignedSize: number | null;
}

export interface CheckpointResult {
  readonly origin: string;
  readonly size: number;
  readonly rootHash: string;
  readonly note: string;
}

export interface InclusionProofResult {
  readonly id: string;
  readonly leafIndex: number;
  readonly treeSize: number;
  readonly rootHash: string;
  readonly proof: string[];
}

export interface ConsistencyProofResult {
  readonly oldSize: number;
  readonly newSize: number;
  readonly oldRoot: string;
  readonly newRoot: string;
  readonly proof: string[];
}

/** A record with what the viewer shows: its canonical JSON and whether it verifies on its own. */
export interface RecordView {
  readonly record: CanonicalRecord;
  readonly canonical: string;
  readonly verification: {
    readonly ok: boolean;
    readonly reason: string | null;
    readonly inclusion: { readonly treeSize: number; readonly rootHash: string; readonly ok: boolean } | null;
  };
}

/** Who the server took the caller of a request to be (sigil/license.whoami). */
export interface CallerInfo {
  /** False for a request without `auth`: an anonymous guest (LOA 0). */
  readonly authenticated: boolean;
  readonly subject: string;
  readonly role: string;
  readonly loa: number;
  readonly licenseId: string | null;
  readonly keyId: string | null;
  readonly expiresAt: string | null;
  /** Licence ids from the root-issued one to the caller's. */
  readonly chainIds: readonly string[];
}

export const LICENSE_STATUSES = ['valid', 'expired', 'revoked', 'not-yet-valid'] as const;
export type LicenseStatus = (typeof LICENSE_STATUSES)[number];

/** A licence recorded in the canon (issued or delegated), with its status now. */
export interface LicenseEntry {
  readonly id: string;
  readonly subject: string;
  readonly role: string;
  readonly loa: number;
  readonly issuedAt: string;
  readonly notBefore: string;
  readonly expiresAt: string;
  readonly parent: string | null;
  /** Ids from the root-issued licence to this one. */
  readonly chainIds: readonly string[];
  readonly keyId: string;
  readonly status: LicenseStatus;
  /** Set when this licence, or one it was delegated from, is revoked. */
  readonly revoked?: {
    readonly id: string;
    readonly reason: string;
    readonly at: string;
    readonly by: string;
  };
  /** Subject of whoever issued it (recorded in the canon). */
  readonly issuedBy: string;
  /** The canon record that issued it. */
  readonly recordId: string;
  readonly license: SignedLicense;
}

/** sigil/license.verify: whether a chain is valid here and now, and if not, why. */
export interface LicenseCheckResult {
  readonly valid: boolean;
  /** Failure code (see docs/licenses.md): malformed, expired, revoked, wrong_audience… */
  readonly code?: string;
  readonly reason?: string;
  /** Index of the offending link, or -1. */
  readonly at?: number;
  readonly subject?: string;
  readonly role?: string;
  readonly loa?: number;
  readonly licenseId?: string;
  readonly expiresAt?: string;
  readonly chainIds?: readonly string[];
}

/** One row of the effective policy table. */
export interface PolicyRow {
  readonly operation: string;
  readonly loa: string;
  readonly loaRank: number;
  readonly trustThreshold: number;
  readonly action: string;
  readonly sensitivity: string;
  readonly writes: boolean;
  readonly description: string;
  /** Where a changed value came from (config file, environment…); absent for defaults. */
  readonly changedBy?: { readonly loa?: string; readonly trustThreshold?: string };
}

/** A trust score with its explanation (sigil/trust.score and sigil/trust.explain). */
export interface TrustReport {
  readonly subject: string;
  readonly operation: string;
  /** The subject's LOA (from its best valid licence; 0 for an unknown subject). */
  readonly loa: number;
  readonly score: number;
  readonly threshold: number;
  /** Whether the score meets the operation's threshold (the LOA is judged separately). */
  readonly meetsThreshold: boolean;
  readonly features: TrustFeatures;
  readonly weights: TrustWeights;
  readonly contributions: TrustWeights;
  readonly bias: number;
  readonly logit: number;
  readonly history: { readonly good: number; readonly bad: number };
  readonly requestsInWindow: number;
}

export interface TrustParamsView {
  readonly w: TrustWeights;
  readonly b: number;
  readonly learningRate: number;
  readonly maxStep: number;
  readonly halfLifeMs: number | null;
  readonly prior: { readonly good: number; readonly bad: number };
}

export interface FeedbackResult {
  readonly subject: string;
  readonly operation: string;
  readonly outcome: 'good' | 'bad';
  /** The signed trust.feedback record. */
  readonly recordId: string;
  readonly scoreBefore: number;
  readonly scoreAfter: number;
  readonly history: { readonly good: number; readonly bad: number };
  readonly params: TrustParamsView;
}

export interface TrustStatus {
  readonly params: TrustParamsView;
  /** The prior the parameters decay toward. */
  readonly prior: TrustParamsView;
  readonly subjects: ReadonlyArray<{
    readonly subject: string;
    readonly good: number;
    readonly bad: number;
    readonly history: number;
  }>;
}

/** One witness signature on a proposal, and whether it counts now. */
export interface ProposalSignatureView {
  readonly witnessId: string;
  readonly keyId: string;
  readonly sig: string;
  /** Counted toward the threshold of the registry in force (or, for registry changes, the new one). */
  readonly counts: boolean;
  /** Why it does not count (revoked witness, superseded key, bad signature, duplicate…). */
  readonly problem?: string;
}

export const PROPOSAL_STATUSES = ['pending', 'committed', 'rejected', 'expired', 'stale'] as const;
export type ProposalStatus = (typeof PROPOSAL_STATUSES)[number];

/** A proposal with its signatures and what committing it would need (sigil/proposal.show and .list). */
export interface ProposalView {
  readonly id: string;
  readonly kind: string;
  readonly change: unknown;
  readonly prev: string | null;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly proposer: string;
  /** pending, committed, rejected; expired or stale for a pending one that can no longer commit. */
  readonly status: ProposalStatus;
  readonly signatures: readonly ProposalSignatureView[];
  /** Votes counted under the registry in force, and k. */
  readonly votes: readonly string[];
  readonly threshold: number;
  /** Registry changes (TUF): the votes and k of the registry after the change. */
  readonly newVotes?: readonly string[];
  readonly newThreshold?: number;
  /** Active witnesses whose signature is not counted yet. */
  readonly unsigned: readonly string[];
  /** Whether a commit would succeed now (quorum, prev, expiry); `blockers` says why not. */
  readonly canCommit: boolean;
  readonly blockers: readonly string[];
  readonly recordId: string;
  readonly committed?: { readonly recordId: string; readonly at: string; readonly by: string };
  readonly rejected?: { readonly reason: string; readonly at: string; readonly by: string };
  /** The proposal body exactly as signed over (its id is SHA-256 of its JCS). */
  readonly body: unknown;
}

export interface WitnessView {
  readonly id: string;
  readonly name: string;
  readonly status: 'active' | 'revoked';
  readonly keyId: string | null;
  readonly publicKey: string | null;
  readonly keys: ReadonlyArray<{ keyId: string; publicKey: string; from: string; until?: string }>;
  readonly rotations: ReadonlyArray<{ at: string; proposalId: string; fromKeyId: string; toKeyId: string }>;
  readonly revokedAt?: string;
}

/** sigil/witness.list: the registry in force and the head of system changes. */
export interface WitnessListResult {
  readonly threshold: number;
  readonly witnesses: readonly WitnessView[];
  /** The id a new proposal's prev must be. */
  readonly head: string | null;
  readonly history: ReadonlyArray<{ recordId: string; at: string; proposalId: string | null }>;
}

/** The export of a proposal, for a witness that signs offline (`sigil witness sign`). */
export interface ProposalExport {
  readonly type: 'sigil.proposal';
  readonly version: 1;
  /** The store the proposal belongs to (its origin). */
  readonly origin: string;
  readonly id: string;
  readonly body: unknown;
}

// ---------------------------------------------------------------------------------------------------------
// Params schemas

const id = z.string().regex(/^[0-9a-f]{64}$/, { error: 'must be a 64-character lowercase hex record id' });
const space = z.enum(['data', 'system'], { error: 'must be "data" or "system"' });
const size = z.int({ error: 'must be a whole number' }).min(0, { error: 'must not be negative' });
const jsonValue: z.ZodType<unknown> = z.unknown();
const link = z.strictObject({
  rel: z.string().min(1),
  id: z.string().max(1024).optional(),
  hash: z.string().max(1024).optional(),
  note: z.string().max(1024).optional(),
});

export const Params = {
  empty: z.strictObject({}).optional(),
  storeInit: z.strictObject({ origin: z.string().min(1).max(200).optional() }),
  append: z.strictObject({
    kind: z.string().min(1).max(64),
    space,
    payload: jsonValue,
    links: z.array(link).max(64).optional(),
    legacyIdentity: z.string().min(1).max(300).optional(),
  }),
  get: z.strictObject({ id }),
  getBySeq: z.strictObject({ seq: size }),
  list: z.strictObject({
    space: space.optional(),
    kind: z.string().min(1).max(64).optional(),
    limit: z
      .int({ error: 'must be an integer from 1 to 1000' })
      .min(1, { error: 'must be an integer from 1 to 1000' })
      .max(1000, { error: 'must be an integer from 1 to 1000' })
      .optional(),
    cursor: z.string().max(40).optional(),
    order: z.enum(['asc', 'desc']).optional(),
    /** "export": the pages of a full plaintext export, which the policy table treats as canon.export. */
    purpose: z.enum(['export'], { error: 'must be "export" or absent' }).optional(),
  }),
  inclusion: z.strictObject({ id, treeSize: size.optional() }),
  consistency: z.strictObject({ oldSize: size, newSize: size.optional() }),
  findLegacy: z.strictObject({ legacyIdentity: z.string().min(1).max(300) }),
  licenseChain: z.strictObject({ chain: z.unknown() }),
  licenseIssue: z.strictObject({
    subject: z.string().min(1).max(128),
    role: z.enum(['guest', 'observer', 'operator', 'mentor', 'root'], {
      error: 'must be guest, observer, operator, mentor or root',
    }),
    loa: z.int({ error: 'must be an integer from 0 to 4' }).min(0).max(4).optional(),
    expiresAt: z.string().max(40),
    notBefore: z.string().max(40).optional(),
    /** Standard base64 of the subject's Ed25519 public key. */
    subjectKey: z.string().max(64),
  }),
  licenseRevoke: z.strictObject({
    id: z.string().regex(/^[0-9a-f]{32}$/, { error: 'must be a 32-character lowercase hex licence id' }),
    reason: z.string().min(1, { error: 'must say why' }).max(500),
  }),
  trustQuery: z.strictObject({ subject: z.string().min(1).max(128), operation: z.string().min(1).max(64) }),
  trustFeedback: z.strictObject({
    subject: z.string().min(1).max(128),
    operation: z.string().min(1).max(64),
    outcome: z.enum(['good', 'bad'], { error: 'must be "good" or "bad"' }),
    note: z.string().max(500).optional(),
  }),
  trustStatus: z.strictObject({ subject: z.string().min(1).max(128).optional() }),
  proposalCreate: z.strictObject({
    kind: z.string().min(1).max(64),
    change: z.record(z.string(), jsonValue),
    /** RFC 3339 time; default 24 hours from now. */
    expiresAt: z.string().max(40).optional(),
  }),
  proposalId: z.strictObject({ id }),
  proposalAttach: z.strictObject({
    id,
    signature: z.strictObject({
      witnessId: z.string().min(1).max(64),
      keyId: z.string().regex(/^[0-9a-f]{32}$/, { error: 'must be a 32-character lowercase hex key id' }),
      sig: z.string().max(100),
    }),
  }),
  proposalReject: z.strictObject({ id, reason: z.string().min(1, { error: 'must say why' }).max(500) }),
  checkpointRequest: z.strictObject({
    witnessId: z.string().min(1).max(64),
    /** Prove consistency from this size (default: the size the store last recorded this witness cosigning). */
    fromSize: size.optional(),
  }),
  checkpointAttach: z.strictObject({
    note: z
      .string()
      .min(1)
      .max(64 * 1024),
  }),
} as const;

// Memory: names and texts are checked by the same functions the service uses, so every front door gets the
// same words for the same mistake.
const problemCheck = (problem: (s: string) => string | null) =>
  z.string().superRefine((s, ctx) => {
    const p = problem(s);
    // The error names the field already ("namespace: …"), so the leading noun of the words is dropped.
    if (p) ctx.addIssue({ code: 'custom', message: p.replace(/^(namespace|key|text|tag) /, '') });
  });
const memoryNamespace = problemCheck(namespaceProblem);
const memoryKey = problemCheck(keyProblem);
const memoryTag = problemCheck(tagProblem);
const rfc3339 = z.string().refine((s) => /^\d{4}-\d{2}-\d{2}T/.test(s) && !Number.isNaN(Date.parse(s)), {
  error: 'must be an RFC 3339 timestamp such as 2026-12-31T23:59:59Z',
});
const loaName = z.enum(['guest', 'observer', 'operator', 'mentor', 'root'], {
  error: 'must be guest, observer, operator, mentor or root',
});

export const MemoryParams = {
  write: z.strictObject({
    namespace: memoryNamespace,
    key: memoryKey,
    text: problemCheck(textProblem),
    tags: z
      .array(memoryTag)
      .max(MAX_TAGS, { error: `at most ${MAX_TAGS} tags` })
      .optional(),
    expiresAt: rfc3339.optional(),
    /** The lowest LOA that may read the entry (default operator). */
    visibility: loaName.optional(),
    /** Compare-and-set: the version the caller last saw (0: the entry must not exist yet). */
    ifVersion: z
      .int({ error: 'must be a whole number' })
      .min(0, { error: 'must not be negative' })
      .optional(),
  }),
  get: z.strictObject({ namespace: memoryNamespace, key: memoryKey, history: z.boolean().optional() }),
  list: z.strictObject({
    namespace: memoryNamespace.optional(),
    prefix: z.string().max(256).optional(),
    since: rfc3339.optional(),
    until: rfc3339.optional(),
    tag: memoryTag.optional(),
    limit: z
      .int({ error: `must be an integer from 1 to ${MAX_LIST_LIMIT}` })
      .min(1, { error: `must be an integer from 1 to ${MAX_LIST_LIMIT}` })
      .max(MAX_LIST_LIMIT, { error: `must be an integer from 1 to ${MAX_LIST_LIMIT}` })
      .optional(),
    cursor: z.string().max(2048).optional(),
  }),
  search: z.strictObject({
    text: z.string().min(1, { error: 'must not be empty' }).max(4096),
    k: z.int().min(1, { error: 'must be 1 to 100' }).max(100, { error: 'must be 1 to 100' }).optional(),
    namespace: memoryNamespace.optional(),
  }),
  forget: z.strictObject({ namespace: memoryNamespace, key: memoryKey }),
} as const;
export { DEFAULT_LIST_LIMIT as MEMORY_DEFAULT_LIST_LIMIT };

const ragKey = z
  .string()
  .min(1, { error: 'must not be empty' })
  .max(MAX_DOCUMENT_KEY_LENGTH, { error: `must be at most ${MAX_DOCUMENT_KEY_LENGTH} characters` })
  // eslint-disable-next-line no-control-regex
  .refine((s) => !/[\u0000-\u001f]/.test(s), { error: 'must not contain control characters' });
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, { error: 'must be 64 lowercase hex digits (SHA-256)' });
const ragFilter = z.strictObject({
  root: z.string().min(1).max(200).optional(),
  pathPrefix: z.string().max(1000).optional(),
  key: ragKey.optional(),
});

export const RagParams = {
  upsert: z.strictObject({
    key: ragKey,
    /** One text; split into chunks at paragraph boundaries. Or pre-chunked `chunks` (an importer's). */
    content: z
      .string()
      .min(1, { error: 'must not be empty' })
      .max(4 * 1024 * 1024)
      .optional(),
    chunks: z
      .array(
        z.strictObject({
          text: z
            .string()
            .min(1, { error: 'must not be empty' })
            .max(MAX_CHUNK_CHARS, { error: `must be at most ${MAX_CHUNK_CHARS} characters` }),
          headingPath: z.array(z.string().max(500)).max(12).optional(),
          anchor: z.string().max(500).optional(),
        }),
      )
      .min(1, { error: 'must hold at least one chunk' })
      .max(MAX_CHUNKS_PER_DOCUMENT, { error: `at most ${MAX_CHUNKS_PER_DOCUMENT} chunks per document` })
      .optional(),
    /** The embedding of `content` when it is one chunk, computed by the caller with the index's embedder. */
    embedding: z.array(z.number()).min(1).max(4096).optional(),
    metadata: z.strictObject({
      source: z.strictObject({
        root: z.string().min(1).max(200),
        path: z.string().min(1).max(1000),
        url: z.string().max(2000).nullable().optional(),
        title: z.string().max(500).optional(),
      }),
      licence: z.string().min(1).max(1000),
      provenance: z.strictObject({
        sourcePath: z.string().max(4096).optional(),
        sourceSha256: sha256Hex.optional(),
        licenceFrom: z.string().max(2000).optional(),
        toolVersion: z.string().max(100).optional(),
      }),
    }),
  }),
  query: z.strictObject({
    text: z.string().min(1, { error: 'must not be empty' }).max(8192).optional(),
    embedding: z.array(z.number()).min(1).max(4096).optional(),
    k: z
      .int()
      .min(1, { error: `must be 1 to ${MAX_QUERY_K}` })
      .max(MAX_QUERY_K, { error: `must be 1 to ${MAX_QUERY_K}` })
      .optional(),
    filter: ragFilter.optional(),
  }),
  remove: z.strictObject({ key: ragKey, reason: z.string().max(500).optional() }),
  documents: z.strictObject({ root: z.string().min(1).max(200).optional() }),
  import: z.strictObject({
    /** Absolute directories of HTML (mdBook, rustdoc) and Markdown. */
    paths: z.array(z.string().min(1).max(4096)).max(64).optional(),
    /** The local Rust documentation (rustup's rust-docs, else Debian's rust-doc). */
    rustDocs: z.boolean().optional(),
    /** With rustDocs: also the std API docs. */
    include: z
      .array(z.enum(['std'], { error: 'the only optional part is "std"' }))
      .max(1)
      .optional(),
    /** The html directory of the Rust docs, instead of searching for it. */
    htmlDir: z.string().min(1).max(4096).optional(),
    /** The SPDX licence expression of every source, instead of its licence files or the built-in table. */
    licence: z.string().min(1).max(1000).optional(),
    /** The collection name of the one directory given (default: its base name). */
    root: z.string().min(1).max(200).optional(),
  }),
} as const;
export type RagImportParams = z.infer<typeof RagParams.import>;

export interface RagImportRootSummary {
  readonly root: string;
  readonly dir: string;
  readonly licence: string;
  readonly licenceFrom: string;
  readonly added: number;
  readonly replaced: number;
  readonly unchanged: number;
  readonly removed: number;
  readonly skipped: number;
  readonly chunks: number;
}

export interface RagImportResult {
  readonly roots: readonly RagImportRootSummary[];
  readonly documents: number;
  readonly chunks: number;
  /** Chunks chunked, embedded and written in this run (not the unchanged ones). */
  readonly embeddedChunks: number;
  readonly seconds: number;
  readonly chunksPerSecond: number;
  /** Files left out and why (the first 200; skippedTotal counts all). */
  readonly skipped: ReadonlyArray<{
    readonly path: string;
    readonly reason: string;
    readonly detail?: string;
  }>;
  readonly skippedTotal: number;
}
export type RagUpsertParams = z.infer<typeof RagParams.upsert>;
export type RagQueryParams = z.infer<typeof RagParams.query>;

export interface RagCitationSource {
  readonly root: string;
  readonly path: string;
  readonly url: string | null;
  readonly title: string;
  /** The heading path of the chunk's section, outermost first, joined with " > ". */
  readonly heading: string;
  readonly anchor: string;
  readonly licence: string;
}

/** One retrieved chunk, as a citation. */
export interface RagCitation {
  readonly key: string;
  readonly chunk: number;
  readonly text: string;
  readonly score: number;
  readonly source: RagCitationSource;
  readonly recordId: string;
}

export interface RagQueryResult {
  readonly hits: readonly RagCitation[];
  /** What ran: both retrievers, or only the lexical one when no embedder could be loaded (with why). */
  readonly retrievers: { readonly lexical: boolean; readonly vector: boolean; readonly vectorError?: string };
}

export interface RagUpsertResult {
  readonly key: string;
  /** False when the document's content, source and licence equal what the index holds: nothing written. */
  readonly written: boolean;
  readonly replaced: boolean;
  readonly chunks: number;
  readonly recordId: string;
  readonly contentSha256: string;
}

export interface RagRemoveResult {
  readonly key: string;
  readonly removed: boolean;
  readonly recordId: string | null;
}

export interface RagDocumentEntry {
  readonly key: string;
  readonly root: string;
  readonly path: string;
  readonly contentSha256: string;
  readonly sourceSha256: string | null;
  readonly chunks: number;
}

export interface RagStats {
  readonly documents: number;
  readonly chunks: number;
  readonly roots: ReadonlyArray<{
    readonly root: string;
    readonly documents: number;
    readonly licences: readonly string[];
  }>;
  readonly embedder: { readonly id: string; readonly dim: number } | null;
  readonly vectors: number;
  /** The vector index: ready, or why not (no embedder, rebuilding). */
  readonly index: { readonly state: 'ready' | 'empty' | 'unavailable'; readonly detail?: string };
}
export type MemoryWriteParams = z.infer<typeof MemoryParams.write>;
export type MemoryListParams = z.infer<typeof MemoryParams.list>;

/** One version of a memory entry; `text` is null once the entry is forgotten (its key is destroyed). */
export interface MemoryVersionView {
  readonly version: number;
  readonly text: string | null;
  readonly tags: readonly string[];
  readonly visibility: 'guest' | 'observer' | 'operator' | 'mentor' | 'root';
  readonly expiresAt: string | null;
  readonly actor: string;
  readonly licenseId: string | null;
  readonly time: string;
  readonly recordId: string;
  readonly seq: number;
}

export interface MemoryEntryView {
  readonly namespace: string;
  readonly key: string;
  readonly version: number;
  readonly text: string;
  readonly tags: readonly string[];
  readonly visibility: MemoryVersionView['visibility'];
  readonly expiresAt: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly actor: string;
  readonly recordId: string;
}

export interface MemoryWriteResult {
  readonly entry: MemoryEntryView;
  /** False when the text, tags, visibility and expiry equal the latest version's: nothing was written. */
  readonly written: boolean;
}

export interface MemoryGetResult {
  readonly entry: MemoryEntryView;
  readonly history?: readonly MemoryVersionView[];
}

export interface MemoryListResult {
  readonly entries: readonly MemoryEntryView[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  readonly nextCursor: string | null;
}

export interface MemorySearchHit {
  readonly entry: MemoryEntryView;
  readonly score: number;
}

export interface MemorySearchResult {
  readonly hits: readonly MemorySearchHit[];
  /**
   * What ranked the hits: BM25 always, the entries' vectors when they are ready; `vectorNote` says why
   * they were not used (still being made after a start, no embedder).
   */
  readonly retrievers: { readonly lexical: true; readonly vector: boolean; readonly vectorNote?: string };
}

export interface MemoryForgetResult {
  readonly namespace: string;
  readonly key: string;
  readonly forgottenVersions: number;
  readonly recordId: string;
  readonly time: string;
}

export type AppendParams = z.infer<typeof Params.append>;
export type ListParams = z.infer<typeof Params.list>;

// ---------------------------------------------------------------------------------------------------------
// The method table

interface MethodSpec<P extends z.ZodType, R> {
  readonly params: P;
  /** Phantom: the result type. */
  readonly result: R;
  readonly summary: string;
  /** The service operation it runs (the policy table keys on these). */
  readonly operation: string;
}

function method<P extends z.ZodType, R>(params: P, summary: string, operation: string): MethodSpec<P, R> {
  return { params, result: undefined as unknown as R, summary, operation };
}

export const REQUESTS = {
  'sigil/store.info': method<typeof Params.empty, StoreInfo>(
    Params.empty,
    'state of the store this server owns',
    'store.info',
  ),
  'sigil/store.init': method<typeof Params.storeInit, StoreInfo>(
    Params.storeInit,
    'create the store (keys, sigil.toml, genesis record) where none exists',
    'store.init',
  ),
  'sigil/canon.append': method<typeof Params.append, CanonicalRecord>(
    Params.append,
    'append a record',
    'canon.append',
  ),
  'sigil/canon.get': method<typeof Params.get, RecordView>(
    Params.get,
    'one record with its canonical JSON and verification',
    'canon.get',
  ),
  'sigil/canon.getBySeq': method<typeof Params.getBySeq, CanonicalRecord>(
    Params.getBySeq,
    'the record at a seq',
    'canon.get',
  ),
  'sigil/canon.list': method<typeof Params.list, ListResult>(Params.list, 'a page of records', 'canon.list'),
  'sigil/canon.verify': method<typeof Params.empty, VerifyResult>(
    Params.empty,
    'verify the whole log; reports $/progress when the client passes a workDoneToken',
    'canon.verify',
  ),
  'sigil/canon.checkpoint': method<typeof Params.empty, CheckpointResult>(
    Params.empty,
    'sign a checkpoint of the current log',
    'canon.checkpoint',
  ),
  'sigil/canon.proof.inclusion': method<typeof Params.inclusion, InclusionProofResult>(
    Params.inclusion,
    'RFC 6962 inclusion proof of a record',
    'canon.proof',
  ),
  'sigil/canon.proof.consistency': method<typeof Params.consistency, ConsistencyProofResult>(
    Params.consistency,
    'RFC 6962 consistency proof between two sizes',
    'canon.proof',
  ),
  'sigil/canon.findLegacy': method<typeof Params.findLegacy, { id: string | null }>(
    Params.findLegacy,
    'the record a legacy identity was migrated to, if any',
    'canon.migrate',
  ),
  'sigil/license.whoami': method<typeof Params.empty, CallerInfo>(
    Params.empty,
    "the caller's subject, role and LOA as the server sees them",
    'license.whoami',
  ),
  'sigil/license.verify': method<typeof Params.licenseChain, LicenseCheckResult>(
    Params.licenseChain,
    'check a licence chain against this store (root key, audience, expiry, revocations)',
    'license.validate',
  ),
  'sigil/license.issue': method<typeof Params.licenseIssue, { license: SignedLicense; chain: LicenseChain }>(
    Params.licenseIssue,
    "issue a licence signed by the store's root key, for a subject key the caller supplies",
    'license.issue',
  ),
  'sigil/license.delegate': method<
    typeof Params.licenseChain,
    { license: SignedLicense; chain: LicenseChain }
  >(
    Params.licenseChain,
    "record a sub-licence the caller signed: the chain must extend the caller's own",
    'license.delegate',
  ),
  'sigil/license.revoke': method<
    typeof Params.licenseRevoke,
    { revoked: string; cascade: string[]; recordId: string }
  >(Params.licenseRevoke, 'revoke a licence and everything delegated from it', 'license.revoke'),
  'sigil/license.list': method<typeof Params.empty, { licenses: LicenseEntry[] }>(
    Params.empty,
    'every licence recorded in the canon, with its status',
    'license.list',
  ),
  'sigil/policy.show': method<typeof Params.empty, { operations: PolicyRow[] }>(
    Params.empty,
    'the effective policy table',
    'policy.show',
  ),
  'sigil/trust.score': method<typeof Params.trustQuery, TrustReport>(
    Params.trustQuery,
    "a subject's trust score for an operation",
    'trust.score',
  ),
  'sigil/trust.explain': method<typeof Params.trustQuery, TrustReport>(
    Params.trustQuery,
    "each feature's contribution to a subject's score for an operation",
    'trust.explain',
  ),
  'sigil/trust.feedback': method<typeof Params.trustFeedback, FeedbackResult>(
    Params.trustFeedback,
    'record a good or bad outcome for a subject; updates its history and the model (signed record)',
    'trust.feedback',
  ),
  'sigil/trust.status': method<typeof Params.trustStatus, TrustStatus>(
    Params.trustStatus,
    'trust model parameters and subject histories',
    'trust.status',
  ),
  'sigil/witness.list': method<typeof Params.empty, WitnessListResult>(
    Params.empty,
    'the witness registry in force: witnesses, keys, rotations, k, and the head of system changes',
    'system.show',
  ),
  'sigil/proposal.create': method<typeof Params.proposalCreate, ProposalView>(
    Params.proposalCreate,
    'propose a system change on top of the current head (witnesses then sign its id)',
    'system.propose',
  ),
  'sigil/proposal.list': method<typeof Params.empty, { proposals: ProposalView[] }>(
    Params.empty,
    'every proposal with its signatures and status',
    'system.show',
  ),
  'sigil/proposal.show': method<typeof Params.proposalId, ProposalView>(
    Params.proposalId,
    'one proposal: who signed (k of n), who has not, and whether a commit would succeed',
    'system.show',
  ),
  'sigil/proposal.export': method<typeof Params.proposalId, ProposalExport>(
    Params.proposalId,
    'the proposal as a file a witness signs offline',
    'system.show',
  ),
  'sigil/proposal.attach': method<typeof Params.proposalAttach, ProposalView>(
    Params.proposalAttach,
    "attach a witness's signature over the proposal id",
    'system.propose',
  ),
  'sigil/proposal.commit': method<typeof Params.proposalId, ProposalView>(
    Params.proposalId,
    'commit a proposal: k distinct active witnesses (old and new k for registry changes), prev still the head, not expired',
    'system.commit',
  ),
  'sigil/proposal.reject': method<typeof Params.proposalReject, ProposalView>(
    Params.proposalReject,
    'reject a pending proposal',
    'system.commit',
  ),
  'sigil/checkpoint.request': method<typeof Params.checkpointRequest, CheckpointRequest>(
    Params.checkpointRequest,
    'a checkpoint for a witness to cosign, with a consistency proof from the size it last cosigned',
    'canon.checkpoint',
  ),
  'sigil/checkpoint.attach': method<typeof Params.checkpointAttach, CosignAttachResult>(
    Params.checkpointAttach,
    "record a witness's cosignature (C2SP tlog-cosignature) of one of this log's checkpoints",
    'system.propose',
  ),
  'sigil/checkpoint.cosigned': method<typeof Params.empty, CosignedCheckpoint>(
    Params.empty,
    'the latest cosigned checkpoint with its cosignatures',
    'canon.checkpoint',
  ),
  'sigil/memory.write': method<typeof MemoryParams.write, MemoryWriteResult>(
    MemoryParams.write,
    'write a version of a memory entry (compare-and-set with ifVersion; the same content again is a no-op)',
    'memory.write',
  ),
  'sigil/memory.get': method<typeof MemoryParams.get, MemoryGetResult>(
    MemoryParams.get,
    'the latest version of a memory entry, and with history every version with actor, time and licence',
    'memory.get',
  ),
  'sigil/memory.list': method<typeof MemoryParams.list, MemoryListResult>(
    MemoryParams.list,
    "memory entries the caller's LOA may read, by namespace and key, a page at a time",
    'memory.list',
  ),
  'sigil/memory.search': method<typeof MemoryParams.search, MemorySearchResult>(
    MemoryParams.search,
    "search the texts of memory entries the caller's LOA may read",
    'memory.search',
  ),
  'sigil/rag.upsert': method<typeof RagParams.upsert, RagUpsertResult>(
    RagParams.upsert,
    'add or replace a document of the retrieval index (signed records: metadata, licence, provenance, chunks)',
    'rag.upsert',
  ),
  'sigil/rag.import': method<typeof RagParams.import, RagImportResult>(
    RagParams.import,
    'import directories of HTML and Markdown, or the local Rust docs: licences checked first, incremental (+ LSP workDoneToken for progress)',
    'rag.upsert',
  ),
  'sigil/rag.query': method<typeof RagParams.query, RagQueryResult>(
    RagParams.query,
    'hybrid retrieval (BM25 and vectors, fused): the best chunks as citations',
    'rag.query',
  ),
  'sigil/rag.remove': method<typeof RagParams.remove, RagRemoveResult>(
    RagParams.remove,
    'remove a document from the retrieval index (a signed rag.remove record)',
    'rag.remove',
  ),
  'sigil/rag.documents': method<typeof RagParams.documents, { documents: RagDocumentEntry[] }>(
    RagParams.documents,
    'the documents of the index (of one root), with their content and source hashes (for incremental imports)',
    'rag.stats',
  ),
  'sigil/rag.stats': method<typeof Params.empty, RagStats>(
    Params.empty,
    'documents, chunks, roots with their licences, the embedder and the state of the vector index',
    'rag.stats',
  ),
  'sigil/rag.rebuild': method<typeof Params.empty, RagStats>(
    Params.empty,
    'rebuild the vector and lexical indexes from the canon (+ LSP workDoneToken for progress)',
    'rag.rebuild',
  ),
  'sigil/memory.forget': method<typeof MemoryParams.forget, MemoryForgetResult>(
    MemoryParams.forget,
    'forget a memory entry: a tombstone record, and the text of every version destroyed (its key is shredded)',
    'memory.forget',
  ),
  'sigil/module.run': method<typeof ModuleParams.run, ModuleRunResult>(
    ModuleParams.run,
    'run a built-in module (RustMentor): a Rule Zero result, stored as a signed module.result record',
    'module.run',
  ),
  'sigil/module.list': method<typeof ModuleParams.list, { modules: ModuleManifestView[] }>(
    ModuleParams.list,
    'the built-in modules and their manifests (required LOA, capabilities)',
    'module.list',
  ),
} as const;

/**
 * Every request may carry `auth` next to its params: the caller's licence chain and its signature over the
 * method, the hash of the JCS of the params without `auth` (and without LSP's `workDoneToken`), a nonce, a
 * timestamp and the store's origin (see shared/src/license.ts). A request without it is an anonymous guest.
 */
export const AUTH_FIELD = 'auth';
/** Fields that ride along in params but are not covered by the request signature. */
export const UNSIGNED_FIELDS = [AUTH_FIELD, 'workDoneToken'] as const;

/** Splits raw request params into the signed params and the `auth` value (undefined when absent). */
export function splitAuth(raw: unknown): { params: Record<string, unknown>; auth: unknown } {
  if (raw === undefined || raw === null) return { params: {}, auth: undefined };
  if (typeof raw !== 'object' || Array.isArray(raw))
    return { params: raw as Record<string, unknown>, auth: undefined };
  const { auth, workDoneToken: _ignored, ...params } = raw as Record<string, unknown>;
  return { params, auth };
}

export type { RequestAuth };

export type RequestMethod = keyof typeof REQUESTS;
export type ParamsOf<M extends RequestMethod> = z.input<(typeof REQUESTS)[M]['params']>;
export type ResultOf<M extends RequestMethod> = (typeof REQUESTS)[M]['result'];

export interface AppendedNotice {
  readonly records: ReadonlyArray<{
    id: string;
    seq: number;
    space: 'data' | 'system';
    kind: string;
    ts: string;
  }>;
  readonly size: number;
  readonly rootHash: string;
}

export const NOTIFICATIONS = {
  'sigil/canon.appended': {
    summary: 'server → client: records were appended (by anyone: editor, CLI via the socket)',
  },
  'sigil/store.changed': {
    summary: 'server → client: the store status changed (initialized, opened, failed); carries StoreInfo',
  },
  'sigil/progress': {
    summary:
      'owner socket, server → client: progress of a request that passed a workDoneToken ({ token, done, total })',
  },
} as const;
export type NotificationMethod = keyof typeof NOTIFICATIONS;
export interface NotificationParams {
  'sigil/canon.appended': AppendedNotice;
  'sigil/store.changed': StoreInfo;
  'sigil/progress': { readonly token: string; readonly done: number; readonly total: number };
}

// ---------------------------------------------------------------------------------------------------------
// Errors across the wire

/** JSON-RPC error code used for every SigilError; the stable Sigil code travels in `data.code`. */
export const SIGIL_RPC_ERROR = -32050;

export function isSigilErrorData(d: unknown): d is SigilErrorData {
  return (
    typeof d === 'object' &&
    d !== null &&
    typeof (d as { code?: unknown }).code === 'string' &&
    typeof (d as { message?: unknown }).message === 'string'
  );
}

/** Rebuilds a SigilError from a JSON-RPC error (`{code, message, data}`) received from the server. */
export function sigilErrorFromRpc(e: unknown): SigilError {
  const data = (e as { data?: unknown })?.data;
  if (isSigilErrorData(data)) {
    return new SigilError(
      data.code as SigilErrorCode,
      data.message,
      data.details as Record<string, unknown> | undefined,
    );
  }
  const message = e instanceof Error ? e.message : String(e);
  return new SigilError('INTERNAL', `request failed: ${message}`);
}

/** Validates params against the method's schema; a SigilError naming the field on failure. */
export function parseParams<M extends RequestMethod>(
  method: M,
  params: unknown,
): z.output<(typeof REQUESTS)[M]['params']> {
  const schema = REQUESTS[method].params as z.ZodType;
  // No params at all means none given: the same as an empty object.
  const res = schema.safeParse(params ?? {});
  if (!res.success) {
    const issue = res.error.issues[0];
    const where = issue && issue.path.length ? issue.path.join('.') : 'params';
    throw new SigilError('BAD_INPUT', `${method}: ${where} ${issue?.message ?? 'is invalid'}`, {
      method,
      field: where,
    });
  }
  return res.data as z.output<(typeof REQUESTS)[M]['params']>;
}
