/**
 * The canon operations, run against a store opened in this process. Every front door reaches them: the
 * CLI directly (no owner running) and through a store owner's handlers (language server, `sigil serve`).
 */
import { canonicalize } from '../../../shared/src/jcs.js';
import { checkRecord } from '../../../shared/src/record.js';
import { fromHex } from '../../../shared/src/bytes.js';
import { leafHash, verifyInclusion } from '../../../shared/src/merkle.js';
import type { RecordView, StoreInfo } from '../../../shared/src/protocol.js';
import type { SigilRuntime } from '../runtime/home.js';

/** Checks one record on its own: id, signature by a certified key, and inclusion in the current tree. */
export async function recordView(rt: SigilRuntime, id: string): Promise<RecordView> {
  const store = rt.store;
  const record = await store.get(id);
  const reason = checkRecord(record, (k) => store.trustedKeys().get(k));
  let inclusion: RecordView['verification']['inclusion'] = null;
  if (reason === null) {
    const p = await store.inclusionProof(id);
    const ok = verifyInclusion(
      leafHash(fromHex(id)),
      p.leafIndex,
      p.treeSize,
      p.proof.map(fromHex),
      fromHex(p.rootHash),
    );
    inclusion = { treeSize: p.treeSize, rootHash: p.rootHash, ok };
  }
  return {
    record,
    canonical: canonicalize(record),
    verification: {
      ok: reason === null && (inclusion?.ok ?? false),
      reason: reason ?? (inclusion?.ok ? null : 'the record is not included in the current Merkle tree'),
      inclusion,
    },
  };
}

export function storeInfo(rt: SigilRuntime): StoreInfo {
  const s = rt.store;
  return {
    status: 'ready',
    home: rt.home,
    origin: s.origin,
    size: s.size(),
    rootHash: s.rootHash(),
    heads: { data: s.head('data'), system: s.head('system') },
    rootKeyId: rt.keystore.root.keyId,
    runtimeKeyId: rt.keystore.runtime.keyId,
    keysEncrypted: rt.keystore.encrypted,
  };
}
