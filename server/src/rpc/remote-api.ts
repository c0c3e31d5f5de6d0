/**
 * The canon API over protocol requests: to a store owner's socket, or to the service handlers of a store
 * opened in this process. Either way each request goes through the same gate.
 */
import type { CanonApi } from '../service/canon-api.js';
import type { OwnerClient } from './owner-socket.js';

export function protocolCanonApi(client: OwnerClient): CanonApi {
  return {
    info: () => client.request('sigil/store.info', {}),
    append: (p) => client.request('sigil/canon.append', p),
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
