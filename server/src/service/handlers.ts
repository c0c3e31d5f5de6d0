/**
 * The request handlers of a store owner: one per protocol method, shared by the language server (stdio)
 * and the owner socket that the CLI talks to. Params are validated here, against the protocol's schemas.
 */
import { parseParams, type RequestMethod, type ResultOf } from '../../../shared/src/protocol.js';
import { localCanonApi } from './canon-service.js';
import type { StoreSession } from './session.js';

export interface RequestContext {
  /** Who the request comes from when it names no actor, e.g. "editor" or "cli". */
  readonly defaultActor: string;
  readonly onProgress?: (checked: number, total: number) => void;
  /** Aborts long requests (verify) when the client cancels. */
  readonly signal?: AbortSignal;
}

type Handler<M extends RequestMethod> = (params: unknown, ctx: RequestContext) => Promise<ResultOf<M>>;
export type Handlers = { [M in RequestMethod]: Handler<M> };

export function createHandlers(session: StoreSession): Handlers {
  const api = (ctx: RequestContext) => localCanonApi(session.requireRuntime(), ctx.defaultActor);
  return {
    'sigil/store.info': async (p) => {
      parseParams('sigil/store.info', p);
      return session.info();
    },
    'sigil/store.init': async (p) => {
      const { origin } = parseParams('sigil/store.init', p);
      return session.init(origin);
    },
    'sigil/canon.append': async (p, ctx) => api(ctx).append(parseParams('sigil/canon.append', p)),
    'sigil/canon.get': async (p, ctx) => api(ctx).get(parseParams('sigil/canon.get', p).id),
    'sigil/canon.getBySeq': async (p, ctx) => api(ctx).getBySeq(parseParams('sigil/canon.getBySeq', p).seq),
    'sigil/canon.list': async (p, ctx) => api(ctx).list(parseParams('sigil/canon.list', p)),
    'sigil/canon.verify': async (p, ctx) => {
      parseParams('sigil/canon.verify', p);
      return api(ctx).verify({
        ...(ctx.onProgress ? { onProgress: ctx.onProgress } : {}),
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      });
    },
    'sigil/canon.checkpoint': async (p, ctx) => {
      parseParams('sigil/canon.checkpoint', p);
      return api(ctx).checkpoint();
    },
    'sigil/canon.proof.inclusion': async (p, ctx) => {
      const { id, treeSize } = parseParams('sigil/canon.proof.inclusion', p);
      return api(ctx).inclusionProof(id, treeSize);
    },
    'sigil/canon.proof.consistency': async (p, ctx) => {
      const { oldSize, newSize } = parseParams('sigil/canon.proof.consistency', p);
      return api(ctx).consistencyProof(oldSize, newSize);
    },
    'sigil/canon.findLegacy': async (p, ctx) => ({
      id: await api(ctx).findLegacy(parseParams('sigil/canon.findLegacy', p).legacyIdentity),
    }),
  };
}
