/**
 * The request handlers of the service layer: one per protocol method, shared by the language server
 * (stdio), the owner socket the CLI talks to, and the CLI itself when it opens the store in-process. Each
 * passes the gate first (licence, policy table, trust, audit), then validates its params against the
 * protocol's schema and runs.
 */
import {
  REQUESTS,
  parseParams,
  splitAuth,
  type RequestMethod,
  type ResultOf,
} from '../../../shared/src/protocol.js';
import { appendOperation, type OperationName } from '../../../shared/src/policy.js';
import type { z } from 'zod';
import { SigilError } from '../../../shared/src/errors.js';
import type { SigilRuntime } from '../runtime/home.js';
import type { StoreInfo } from '../../../shared/src/protocol.js';
import { auditActor, type Access } from '../governance/gate.js';
import * as gov from '../governance/operations.js';
import * as quorum from '../governance/proposals.js';
import * as cosign from '../governance/cosigning.js';
import { checkSystemHistory } from '../governance/system-audit.js';
import { recordView, storeInfo } from './canon-service.js';
import { importSources } from '../rag/import.js';
import { ModuleHost } from '../modules/host.js';
import type { ModuleRunResult } from '../../../shared/src/modules.js';
import { RUSTMENTOR } from '../modules/rustmentor/module.js';
import { HOME_DIR_NAME } from '../runtime/home.js';
import path from 'node:path';

/** The project a store serves: the folder holding its `.sigil` home; none for a home elsewhere. */
function workspaceOf(home: string): string | null {
  return path.basename(home) === HOME_DIR_NAME ? path.dirname(home) : null;
}

export interface RequestContext {
  readonly onProgress?: (checked: number, total: number) => void;
  /** Aborts long requests (verify) when the client cancels. */
  readonly signal?: AbortSignal;
}

type Handler<M extends RequestMethod> = (params: unknown, ctx: RequestContext) => Promise<ResultOf<M>>;
export type Handlers = { [M in RequestMethod]: Handler<M> };

type Parsed<M extends RequestMethod> = z.output<(typeof REQUESTS)[M]['params']>;
type Run<M extends RequestMethod> = (
  p: Parsed<M>,
  access: Access,
  rt: SigilRuntime,
  ctx: RequestContext,
) => Promise<ResultOf<M>> | ResultOf<M>;

/**
 * sigil/canon.append runs as canon.append_system for the system space (whatever else it carries: an import
 * into the system space is a system append), as canon.migrate for an import into the data space, else as
 * canon.append.
 */
function appendOperationOf(params: Record<string, unknown>): OperationName {
  if (params.space === 'system') return appendOperation('system');
  if (params.legacyIdentity !== undefined) return 'canon.migrate';
  return appendOperation('data');
}

/**
 * Record kinds only the service layer writes: the governance state (licences, revocations, trust, audit,
 * and the witness/proposal/quorum/policy records of system space) is rebuilt from them, so a raw append
 * must never be able to forge one, nor the log's own records.
 */
const RESERVED_KIND_PREFIXES = [
  'audit.',
  'canon.',
  'checkpoint.',
  'license.',
  'memory.',
  'module.',
  'policy.',
  'proposal.',
  'quorum.',
  'rag.',
  'trust.',
  'witness.',
];

function refuseReservedKind(kind: string): void {
  const prefix = RESERVED_KIND_PREFIXES.find((p) => kind.startsWith(p));
  if (prefix !== undefined)
    throw new SigilError(
      'BAD_INPUT',
      `kind ${JSON.stringify(kind)} is reserved: "${prefix}…" records are written only by Sigil's own operations (e.g. sigil license issue); choose another kind`,
      { field: 'kind' },
    );
}

/** What the handlers serve: a StoreSession (language server, `sigil serve`) or a store the CLI opened. */
export interface HandlerHost {
  readonly runtime: SigilRuntime | null;
  /** The open runtime, or a SigilError saying why there is none. */
  requireRuntime(): SigilRuntime;
  info(): StoreInfo;
  init(origin?: string): Promise<StoreInfo>;
}

export interface HandlerOptions {
  /** Sees every module result the handlers return (the language server learns citations from them). */
  readonly onModuleResult?: (r: ModuleRunResult) => void;
}

export function createHandlers(session: HandlerHost, opts: HandlerOptions = {}): Handlers {
  const modules = new ModuleHost([RUSTMENTOR], opts.onModuleResult);
  function gated<M extends RequestMethod>(
    method: M,
    run: Run<M>,
    operationOf?: (params: Record<string, unknown>) => OperationName,
  ): Handler<M> {
    return async (raw, ctx) => {
      const rt = session.requireRuntime();
      const { params, auth } = splitAuth(raw);
      const operation = operationOf?.(params) ?? (REQUESTS[method].operation as OperationName);
      const access = await rt.governance.authorize(method, params, auth, operation);
      const parsed = parseParams(method, params);
      try {
        return await run(parsed, access, rt, ctx);
      } catch (e) {
        if (e instanceof SigilError && e.code === 'ACCESS_DENIED')
          await rt.governance.auditRefusal(access, e);
        throw e;
      }
    };
  }

  return {
    'sigil/store.info': async (raw, ctx) => {
      // Before there is a store (or while it cannot be opened) there is nothing to authenticate against,
      // and the status is what a guest may see anyway.
      if (!session.runtime) {
        parseParams('sigil/store.info', splitAuth(raw).params);
        return session.info();
      }
      return gated('sigil/store.info', () => session.info())(raw, ctx);
    },
    // The bootstrap: allowed only where no store exists (the session refuses with HOME_EXISTS otherwise);
    // it records the owner's root licence and its audit record.
    'sigil/store.init': async (raw) => {
      const { origin } = parseParams('sigil/store.init', splitAuth(raw).params);
      return session.init(origin);
    },
    'sigil/canon.append': gated(
      'sigil/canon.append',
      async (p, access, rt) => {
        refuseReservedKind(p.kind);
        const [rec] = await rt.governance.write(access, [
          {
            kind: p.kind,
            space: p.space,
            payload: p.payload as never,
            actor: auditActor(access.caller),
            ...(p.links ? { links: p.links } : {}),
            ...(p.legacyIdentity ? { legacyIdentity: p.legacyIdentity } : {}),
          },
        ]);
        if (!rec) throw new Error('append returned no record');
        return rec;
      },
      appendOperationOf,
    ),
    'sigil/canon.get': gated('sigil/canon.get', (p, _a, rt) => recordView(rt, p.id)),
    'sigil/canon.getBySeq': gated('sigil/canon.getBySeq', (p, _a, rt) => rt.store.getBySeq(p.seq)),
    'sigil/canon.list': gated(
      'sigil/canon.list',
      (p, _a, rt) => rt.store.list(p),
      (params) => (params.purpose === 'export' ? 'canon.export' : 'canon.list'),
    ),
    'sigil/canon.verify': gated('sigil/canon.verify', async (_p, _a, rt, ctx) => {
      const report = await rt.store.verify({
        ...(ctx.onProgress ? { onProgress: ctx.onProgress } : {}),
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      });
      // A log that fails on its own is reported as is; a sound one also answers for its cosignatures.
      if (!report.ok) return report;
      const cosignatures = await cosign.checkCosignatures(rt.governance);
      const system = await checkSystemHistory(rt.governance);
      const badCommit = system.failed[0];
      const badCosignature = cosignatures.failed[0];
      const firstBad = badCommit
        ? { seq: badCommit.seq, id: badCommit.recordId, reason: badCommit.reason }
        : badCosignature
          ? {
              seq: null,
              id: badCosignature.recordId,
              reason: `cosignature of witness ${badCosignature.witnessId} at size ${badCosignature.size}: ${badCosignature.reason}`,
            }
          : null;
      return { ...report, ok: firstBad === null, firstBad, cosignatures, system };
    }),
    'sigil/canon.checkpoint': gated('sigil/canon.checkpoint', (_p, _a, rt) => rt.store.checkpoint()),
    'sigil/canon.proof.inclusion': gated('sigil/canon.proof.inclusion', (p, _a, rt) =>
      rt.store.inclusionProof(p.id, p.treeSize),
    ),
    'sigil/canon.proof.consistency': gated('sigil/canon.proof.consistency', (p, _a, rt) =>
      rt.store.consistencyProof(p.oldSize, p.newSize),
    ),
    'sigil/canon.findLegacy': gated('sigil/canon.findLegacy', async (p, _a, rt) => ({
      id: await rt.store.findLegacy(p.legacyIdentity),
    })),
    'sigil/license.whoami': gated('sigil/license.whoami', (_p, access) => gov.whoami(access)),
    'sigil/license.verify': gated('sigil/license.verify', (p, _a, rt) =>
      gov.checkLicenseChain(rt.governance, p.chain),
    ),
    'sigil/license.issue': gated('sigil/license.issue', (p, access, rt) =>
      gov.issue(rt.governance, access, p),
    ),
    'sigil/license.delegate': gated('sigil/license.delegate', (p, access, rt) =>
      gov.delegate(rt.governance, access, p.chain),
    ),
    'sigil/license.revoke': gated('sigil/license.revoke', (p, access, rt) =>
      gov.revoke(rt.governance, access, p),
    ),
    'sigil/license.list': gated('sigil/license.list', (_p, _a, rt) => ({
      licenses: gov.listLicenses(rt.governance),
    })),
    'sigil/policy.show': gated('sigil/policy.show', (_p, _a, rt) => ({
      operations: gov.policyRows(rt.governance),
    })),
    'sigil/trust.score': gated('sigil/trust.score', (p, _a, rt) =>
      gov.trustReport(rt.governance, p.subject, p.operation),
    ),
    'sigil/trust.explain': gated('sigil/trust.explain', (p, _a, rt) =>
      gov.trustReport(rt.governance, p.subject, p.operation),
    ),
    'sigil/trust.feedback': gated('sigil/trust.feedback', (p, access, rt) =>
      gov.feedback(rt.governance, access, p),
    ),
    'sigil/trust.status': gated('sigil/trust.status', (p, _a, rt) =>
      gov.trustStatus(rt.governance, p.subject),
    ),
    'sigil/witness.list': gated('sigil/witness.list', (_p, _a, rt) => quorum.witnessList(rt.governance)),
    'sigil/proposal.create': gated('sigil/proposal.create', (p, access, rt) =>
      quorum.createProposal(rt.governance, access, p),
    ),
    'sigil/proposal.list': gated('sigil/proposal.list', (_p, _a, rt) => ({
      proposals: quorum.listProposals(rt.governance),
    })),
    'sigil/proposal.show': gated('sigil/proposal.show', (p, _a, rt) =>
      quorum.proposalView(rt.governance, p.id),
    ),
    'sigil/proposal.export': gated('sigil/proposal.export', (p, _a, rt) =>
      quorum.exportProposal(rt.governance, p.id),
    ),
    'sigil/proposal.attach': gated('sigil/proposal.attach', (p, access, rt) =>
      quorum.attachSignature(rt.governance, access, p),
    ),
    'sigil/proposal.commit': gated('sigil/proposal.commit', (p, access, rt) =>
      quorum.commitProposal(rt.governance, access, p.id),
    ),
    'sigil/proposal.reject': gated('sigil/proposal.reject', (p, access, rt) =>
      quorum.rejectProposal(rt.governance, access, p),
    ),
    'sigil/checkpoint.request': gated('sigil/checkpoint.request', (p, _a, rt) =>
      cosign.checkpointRequest(rt.governance, rt.keystore, p.witnessId, p.fromSize),
    ),
    'sigil/checkpoint.attach': gated('sigil/checkpoint.attach', (p, access, rt) =>
      cosign.attachCosignature(rt.governance, access, rt.keystore, p.note),
    ),
    'sigil/checkpoint.cosigned': gated('sigil/checkpoint.cosigned', (_p, _a, rt) =>
      cosign.cosignedCheckpoint(rt.governance),
    ),
    'sigil/rag.upsert': gated('sigil/rag.upsert', (p, access, rt) => rt.rag.upsert(access, p)),
    'sigil/rag.import': gated('sigil/rag.import', (p, access, rt, ctx) =>
      importSources(rt.rag, access, p, {
        allowedLicences: rt.rag.allowedLicences,
        ...(ctx.onProgress ? { onProgress: ctx.onProgress } : {}),
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      }),
    ),
    'sigil/rag.query': gated('sigil/rag.query', (p, _a, rt) => rt.rag.query(p)),
    'sigil/rag.remove': gated('sigil/rag.remove', (p, access, rt) => rt.rag.remove(access, p)),
    'sigil/rag.documents': gated('sigil/rag.documents', async (p, _a, rt) => ({
      documents: await rt.rag.documents(p),
    })),
    'sigil/rag.stats': gated('sigil/rag.stats', (_p, _a, rt) => rt.rag.stats()),
    'sigil/rag.rebuild': gated('sigil/rag.rebuild', async (_p, access, rt, ctx) => {
      const stats = await rt.rag.rebuild({
        ...(ctx.onProgress ? { onProgress: ctx.onProgress } : {}),
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      });
      // Nothing is appended but the derived indexes were replaced: the decision is recorded all the same.
      await rt.governance.audit(access.method, access.caller, access.decision, access.trust, {
        outcome: 'rebuilt',
        documents: stats.documents,
        chunks: stats.chunks,
      });
      return stats;
    }),
    'sigil/memory.write': gated('sigil/memory.write', (p, access, rt) => rt.memory.write(access, p)),
    'sigil/memory.get': gated('sigil/memory.get', (p, access, rt) => rt.memory.get(access, p)),
    'sigil/memory.list': gated('sigil/memory.list', (p, access, rt) => rt.memory.list(access, p)),
    'sigil/memory.search': gated('sigil/memory.search', (p, access, rt) => rt.memory.search(access, p)),
    'sigil/memory.forget': gated('sigil/memory.forget', (p, access, rt) => rt.memory.forget(access, p)),
    'sigil/module.run': gated('sigil/module.run', (p, access, rt) =>
      modules.run(rt, access, p, workspaceOf(rt.home)),
    ),
    'sigil/module.list': gated('sigil/module.list', () => ({ modules: modules.list() })),
  };
}

/**
 * The handlers over a runtime this process opened itself (the CLI when no server owns the store, the bench):
 * the store exists, so the bootstrap is refused.
 */
export function runtimeHandlers(rt: SigilRuntime): Handlers {
  return createHandlers({
    runtime: rt,
    requireRuntime: () => rt,
    info: () => storeInfo(rt),
    init: () => Promise.reject(new SigilError('HOME_EXISTS', `a store already exists in ${rt.home}`)),
  });
}
