/**
 * Checkpoint cosigning by the witnesses (C2SP tlog-cosignature). The store hands a witness a checkpoint
 * request — its signed checkpoint, its note key, and a consistency proof from the size that witness last
 * cosigned; the witness checks it against what it saw before (shared/src/cosign.ts checkAndCosign, which
 * refuses a split view) and returns the note with its cosignature line; the store verifies that line
 * against the witness registry and the log itself, and records it (`checkpoint.cosigned`, system space).
 */
import { SigilError } from '../../../shared/src/errors.js';
import { bytesEqual, fromBase64, toHex } from '../../../shared/src/bytes.js';
import type { JsonValue } from '../../../shared/src/jcs.js';
import {
  formatSignedNote,
  parseCheckpoint,
  parseSignedNote,
  verifierKey,
  verifySignedNote,
  type NoteSignature,
} from '../../../shared/src/note.js';
import { verifyCosignatures, cosignatureKeyHash, type Cosigner } from '../../../shared/src/cosign.js';
import { verify as ed25519Verify } from '../../../shared/src/ed25519.js';
import type { WitnessRegistry } from '../../../shared/src/quorum.js';
import type {
  CheckpointRequest,
  CosignAttachResult,
  CosignatureCheck,
  CosignedCheckpoint,
} from '../../../shared/src/protocol.js';
import type { Keystore } from '../canon/keystore.js';
import { auditActor, type Access, type Governance } from './gate.js';
import { SYSTEM_KINDS, type CosignatureState } from './system-state.js';

export const CHECKPOINT_REQUEST_TYPE = 'sigil.checkpoint-request';

function registryOf(gov: Governance): WitnessRegistry {
  const r = gov.registry.system.registry;
  if (!r) throw new SigilError('NOT_FOUND', 'this store has no witness registry');
  return r;
}

/** The log's root hash (hex) at `size`, from the current tree (reading it signs and stores nothing). */
async function rootAt(gov: Governance, size: number): Promise<string> {
  const store = gov.store;
  if (size === store.size()) return store.rootHash();
  return (await store.consistencyProof(size)).oldRoot;
}

function lastCosignedSize(gov: Governance, witnessId: string): number {
  let size = 0;
  for (const c of gov.registry.system.cosignatures)
    if (c.witnessId === witnessId) size = Math.max(size, c.size);
  return size;
}

/** What a witness needs to cosign the current checkpoint: the note, the log key, a proof from its last size. */
export async function checkpointRequest(
  gov: Governance,
  keystore: Keystore,
  witnessId: string,
  fromSize?: number,
): Promise<CheckpointRequest> {
  const w = registryOf(gov).witnesses.find((x) => x.id === witnessId);
  if (!w)
    throw new SigilError('NOT_FOUND', `no witness ${witnessId} in the registry; see "sigil witness list"`);
  if (w.status !== 'active') throw new SigilError('BAD_INPUT', `witness ${witnessId} is revoked`);
  const cp = await gov.store.checkpoint();
  const oldSize = Math.min(fromSize ?? lastCosignedSize(gov, witnessId), cp.size);
  const proof =
    oldSize === 0 || oldSize === cp.size ? [] : (await gov.store.consistencyProof(oldSize, cp.size)).proof;
  return {
    type: CHECKPOINT_REQUEST_TYPE,
    version: 1,
    origin: cp.origin,
    witness: witnessId,
    note: cp.note,
    logKey: verifierKey(cp.origin, keystore.runtime.publicKey),
    oldSize,
    proof,
  };
}

/** Every key a witness has held, as cosigners (a cosignature made before a rotation stays valid). */
function cosignersOf(
  registry: WitnessRegistry,
  activeOnly: boolean,
): Array<Cosigner & { witnessId: string; keyId: string }> {
  const out: Array<Cosigner & { witnessId: string; keyId: string }> = [];
  for (const w of registry.witnesses) {
    if (activeOnly && w.status !== 'active') continue;
    const keys = activeOnly ? w.keys.filter((k) => k.until === undefined) : w.keys;
    for (const k of keys)
      out.push({ name: w.name, publicKey: fromBase64(k.publicKey), witnessId: w.id, keyId: k.keyId });
  }
  return out;
}

/** Records the new cosignatures of active witnesses found on `note`, after checking it against this log. */
export async function attachCosignature(
  gov: Governance,
  access: Access,
  keystore: Keystore,
  note: string,
): Promise<CosignAttachResult> {
  const registry = registryOf(gov);
  const { body, signatures } = parseSignedNote(note);
  const cp = parseCheckpoint(body);
  if (cp.origin !== gov.origin)
    throw new SigilError(
      'BAD_INPUT',
      `the checkpoint is for ${JSON.stringify(cp.origin)}, not this store (${gov.origin})`,
    );
  verifySignedNote(note, [{ name: gov.origin, publicKey: keystore.runtime.publicKey }], ed25519Verify);
  if (cp.size > gov.store.size())
    throw new SigilError(
      'VERIFY_FAILED',
      `the checkpoint's size ${cp.size} is beyond this log's ${gov.store.size()}`,
    );
  const root = await rootAt(gov, cp.size);
  if (root !== toHex(cp.rootHash))
    throw new SigilError(
      'VERIFY_FAILED',
      `the checkpoint's root at size ${cp.size} is not this log's: a split view`,
    );
  const cosigners = cosignersOf(registry, true);
  const verified = verifyCosignatures(note, cosigners, { maxTimestamp: Math.floor(gov.now() / 1000) + 300 });
  const inputs = [];
  const added: Array<CosignAttachResult['added'][number]> = [];
  for (const c of verified.cosignatures) {
    const signer = cosigners.find((k) => k.name === c.name);
    if (!signer) continue;
    const line = signatures.find(
      (s: NoteSignature) =>
        s.name === c.name && bytesEqual(s.keyHash, cosignatureKeyHash(c.name, signer.publicKey)),
    );
    if (!line) continue;
    const known = gov.registry.system.cosignatures.some(
      (x) => x.witnessId === signer.witnessId && x.size === cp.size && x.timestamp === c.timestamp,
    );
    if (known) continue;
    const payload: CosignatureState = {
      witnessId: signer.witnessId,
      name: c.name,
      keyId: signer.keyId,
      size: cp.size,
      rootHash: toHex(cp.rootHash),
      timestamp: c.timestamp,
      note: formatSignedNote(body, [line]),
    };
    inputs.push({
      kind: SYSTEM_KINDS.checkpointCosigned,
      space: 'system' as const,
      actor: auditActor(access.caller),
      payload: payload as unknown as JsonValue,
    });
    added.push({ witnessId: signer.witnessId, name: c.name, size: cp.size, timestamp: c.timestamp });
  }
  if (inputs.length === 0)
    throw new SigilError(
      'BAD_INPUT',
      'the note carries no new cosignature of an active witness (lines of unknown or revoked witnesses are ignored)',
    );
  await gov.write(access, inputs, { checkpoint_size: cp.size });
  return { size: cp.size, added };
}

/** The latest cosigned checkpoint with every cosignature collected for its size. */
export async function cosignedCheckpoint(gov: Governance): Promise<CosignedCheckpoint> {
  const registry = registryOf(gov);
  const all = gov.registry.system.cosignatures;
  const active = registry.witnesses.filter((w) => w.status === 'active').length;
  if (all.length === 0) {
    const cp = await gov.store.checkpoint();
    return {
      ...cp,
      cosigners: [],
      threshold: registry.threshold,
      activeWitnesses: active,
      cosignedSize: null,
    };
  }
  const size = Math.max(...all.map((c) => c.size));
  const at = all.filter((c) => c.size === size);
  const first = parseSignedNote((at[0] as CosignatureState).note);
  const log = await gov.store.checkpointAt(size);
  const logSigs = log ? parseSignedNote(log.note).signatures : [];
  const lines = new Map<string, NoteSignature>();
  for (const c of at)
    for (const s of parseSignedNote(c.note).signatures) lines.set(`${s.name}+${toHex(s.keyHash)}`, s);
  const note = formatSignedNote(first.body, [...logSigs, ...lines.values()]);
  return {
    origin: gov.origin,
    size,
    rootHash: at[0]?.rootHash ?? '',
    note,
    cosigners: [
      ...new Map(
        at.map((c) => [c.witnessId, { witnessId: c.witnessId, name: c.name, timestamp: c.timestamp }]),
      ).values(),
    ],
    threshold: registry.threshold,
    activeWitnesses: active,
    cosignedSize: size,
  };
}

/** Re-checks every recorded cosignature: its root is this log's at that size and its line verifies. */
export async function checkCosignatures(gov: Governance): Promise<CosignatureCheck> {
  const registry = gov.registry.system.registry;
  const failed: Array<CosignatureCheck['failed'][number]> = [];
  const all = gov.registry.system.cosignatures;
  for (const c of all) {
    let reason: string | null = null;
    try {
      if (c.size > gov.store.size()) reason = `size ${c.size} is beyond the log`;
      else if ((await rootAt(gov, c.size)) !== c.rootHash)
        reason = `the cosigned root at size ${c.size} is not the log's`;
      else {
        const cosigners = registry
          ? cosignersOf(registry, false).filter((k) => k.witnessId === c.witnessId)
          : [];
        const v = verifyCosignatures(c.note, cosigners);
        if (!v.cosignatures.some((x) => x.timestamp === c.timestamp))
          reason = 'the cosignature is not by a key this witness held';
        else if (toHex(v.checkpoint.rootHash) !== c.rootHash)
          reason = 'the cosigned note is not the recorded checkpoint';
      }
    } catch (e) {
      reason = (e as Error).message;
    }
    if (reason !== null) failed.push({ recordId: c.recordId, witnessId: c.witnessId, size: c.size, reason });
  }
  return { checked: all.length, failed };
}
