/** Human-readable renderings of service results for the CLI's text mode. */
import type { CanonicalRecord } from '../../../shared/src/record.js';
import type { VerifyReport } from '../canon/store-types.js';

export function formatRecord(r: CanonicalRecord): string {
  return [
    `id         ${r.id}`,
    `seq        ${r.body.seq}`,
    `space      ${r.body.space}`,
    `kind       ${r.body.kind}`,
    `ts         ${r.body.ts}`,
    `actor      ${r.body.actor}`,
    `prev       ${r.body.prev ?? '(none)'}`,
    `signed by  ${r.signature.key_id}`,
    ...(r.body.links.length
      ? [
          `links      ${r.body.links.map((l) => `${l.rel}${l.id ? ` ${l.id}` : ''}${l.hash ? ` ${l.hash}` : ''}${l.note ? ` (${l.note})` : ''}`).join('; ')}`,
        ]
      : []),
    'payload:',
    JSON.stringify(r.body.payload, null, 2),
  ].join('\n');
}

export function formatVerify(r: VerifyReport): string {
  const extra = r as { cosignatures?: { checked: number }; system?: { commits: number } };
  const cosigned = extra.cosignatures?.checked ?? 0;
  const commits = extra.system?.commits ?? 0;
  if (r.ok)
    return [
      `OK: ${r.checked} records verified; Merkle root ${r.rootHash}`,
      ...(commits > 0 ? [`${commits} system commit${commits === 1 ? '' : 's'} met the quorum rule`] : []),
      ...(cosigned > 0 ? [`${cosigned} witness cosignature${cosigned === 1 ? '' : 's'} verified`] : []),
    ].join('; ');
  const bad = r.firstBad;
  const where =
    bad?.seq !== null && bad?.seq !== undefined
      ? `record seq ${bad.seq}${bad.id ? ` (${bad.id})` : ''}: `
      : '';
  return `FAILED: ${where}${bad?.reason ?? 'unknown problem'} (${r.checked} of ${r.size} records checked before the failure)`;
}
