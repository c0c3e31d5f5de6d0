/**
 * The canon operations every front door (CLI, language server, extension) goes through. Front doors parse
 * and print; they do not touch the store themselves.
 */
import type { JsonValue } from '../../../shared/src/jcs.js';
import type { CanonicalRecord, Space, RecordLink } from '../../../shared/src/record.js';
import type {
  CanonStore,
  ListPage,
  ListQuery,
  VerifyReport,
  VerifyOptions,
  InclusionProofResult,
  ConsistencyProofResult,
  SignedCheckpoint,
} from '../canon/store.js';
import { exportCanon, type ExportResult } from '../canon/export.js';
import { migrate, type MigrationReport, type MigrateOptions } from '../canon/migrate.js';

/** Names of the canon operations; the policy table of later work keys on these. */
export const CANON_OPERATIONS = [
  'canon.append',
  'canon.get',
  'canon.list',
  'canon.verify',
  'canon.proof',
  'canon.checkpoint',
  'canon.export',
  'canon.migrate',
] as const;
export type CanonOperation = (typeof CANON_OPERATIONS)[number];

export interface CanonContext {
  readonly store: CanonStore;
  readonly actor: string;
}

export interface AppendParams {
  readonly kind: string;
  readonly space: Space;
  readonly payload: JsonValue;
  readonly links?: readonly RecordLink[];
}

export const canonService = {
  append(ctx: CanonContext, p: AppendParams): Promise<CanonicalRecord> {
    return ctx.store.append({ kind: p.kind, space: p.space, payload: p.payload, actor: ctx.actor, ...(p.links ? { links: p.links } : {}) });
  },
  get(ctx: CanonContext, id: string): Promise<CanonicalRecord> {
    return ctx.store.get(id);
  },
  list(ctx: CanonContext, q: ListQuery): Promise<ListPage> {
    return ctx.store.list(q);
  },
  verify(ctx: CanonContext, opts?: VerifyOptions): Promise<VerifyReport> {
    return ctx.store.verify(opts);
  },
  inclusionProof(ctx: CanonContext, id: string, treeSize?: number): Promise<InclusionProofResult> {
    return ctx.store.inclusionProof(id, treeSize);
  },
  consistencyProof(ctx: CanonContext, oldSize: number, newSize?: number): Promise<ConsistencyProofResult> {
    return ctx.store.consistencyProof(oldSize, newSize);
  },
  checkpoint(ctx: CanonContext): Promise<SignedCheckpoint> {
    return ctx.store.checkpoint();
  },
  export(ctx: CanonContext, out: NodeJS.WritableStream): Promise<ExportResult> {
    return exportCanon(ctx.store, out);
  },
  migrate(ctx: CanonContext, values: unknown[], opts: Omit<MigrateOptions, 'actor'>): Promise<MigrationReport> {
    return migrate(ctx.store, values, { ...opts, actor: ctx.actor });
  },
};
