/**
 * What the documentation import commands say and ask, kept apart from VS Code so it can be tested: the
 * arguments a command accepts, the summary of a finished import, and which refusals of `sigil/rag.import`
 * a typed licence can answer. The client never judges a licence itself: the server validates what is typed.
 */
import type { RagImportResult } from '../../shared/src/protocol.js';
import type { SigilError } from '../../shared/src/errors.js';

/** The `{path, licence?}` argument of Sigil: Import Documentation Folder… (from tests or other commands). */
export interface FolderImportArgs {
  readonly path?: string;
  readonly licence?: string;
}

export function folderImportArgs(raw: unknown): FolderImportArgs {
  const o = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  return {
    ...(typeof o.path === 'string' && o.path !== '' ? { path: o.path } : {}),
    ...(typeof o.licence === 'string' && o.licence !== '' ? { licence: o.licence } : {}),
  };
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** A finished import in words: what came in, under which licence, what was left out. */
export function importSummary(r: RagImportResult): string {
  const added = r.roots.reduce((a, x) => a + x.added + x.replaced, 0);
  const removed = r.roots.reduce((a, x) => a + x.removed, 0);
  const parts = [
    `imported ${plural(r.documents, 'document')} (${added} new or changed${removed ? `, ${removed} removed` : ''}, ${plural(r.chunks, 'chunk')}) in ${r.seconds} s`,
  ];
  const licences = [...new Set(r.roots.map((x) => x.licence))];
  if (r.roots.length === 1 && r.roots[0]) parts.push(`into ${r.roots[0].root} under ${r.roots[0].licence}`);
  else if (licences.length > 0) parts.push(`under ${licences.join(', ')}`);
  if (r.skippedTotal > 0) parts.push(`${plural(r.skippedTotal, 'file')} left out`);
  return `Sigil: ${parts.join('; ')}.`;
}

/**
 * The refusals a typed SPDX licence can answer (see server/src/rag/licence.ts): no licence file, a licence
 * file the server cannot read, or a typed expression that is not valid SPDX. A licence the configuration
 * does not allow is not one of them: typing another licence would misstate the folder's terms.
 */
const LICENCE_QUESTIONS = new Set(['licence-missing', 'licence-unknown', 'licence-invalid']);

export function asksForLicence(e: SigilError): boolean {
  const reason = e.details?.reason;
  return typeof reason === 'string' && LICENCE_QUESTIONS.has(reason);
}
