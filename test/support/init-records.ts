/**
 * What a new store holds after `sigil init` (and sigil/store.init alike), in seq order, all in the system
 * space: the genesis record, the owner's root licence and the audit record of its issue, then the genesis
 * witness registry (the owner as the single witness, k = 1, signed by the root key) and its audit record.
 */
export const INIT_KINDS: readonly string[] = Object.freeze([
  'canon.genesis',
  'license.issued',
  'audit.decision',
  'witness.registry',
  'audit.decision',
]);
export const INIT_RECORDS = INIT_KINDS.length;
