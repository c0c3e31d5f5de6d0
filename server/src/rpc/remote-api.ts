/** The canon API of a store owned by another process, reached over its owner socket. */
import type { CanonApi } from '../service/canon-api.js';
import type { OwnerClient } from './owner-socket.js';

export function remoteCanonApi(client: OwnerClient, actor: string): CanonApi {
  return {
    info: () => client.request('sigil/store.info', {}),
    append: (p) => client.request('sigil/canon.append', { ...p, actor: p.actor ?? actor }),
    get: (id) => client.request('sigil/canon.get', { id }),
    getBySeq: (seq) => client.request('sigil/canon.getBySeq', { seq }),
    list: (q) => client.request('sigil/canon.list', q),
    verify: () => client.request('sigil/canon.verify', {}),
    inclusionProof: (id, treeSize) =>
      client.request('sigil/canon.proof.inclusion', { id, ...(treeSize !== undefined ? { treeSize } : {}) }),
    consistencyProof: (oldSize, newSize) =>
      client.request('sigil/canon.proof.consistency', {
        oldSize,
        ...(newSize !== undefined ? { newSize } : {}),
      }),
    checkpoint: () => client.request('sigil/canon.checkpoint', {}),
    findLegacy: async (legacyIdentity) =>
      (await client.request('sigil/canon.findLegacy', { legacyIdentity })).id,
    close: async () => client.close(),
  };
}
