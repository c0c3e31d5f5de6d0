/**
 * The MCP tools: each is one protocol method, its input schema derived from that method's params schema
 * (picked, omitted or extended, never restated), and a readable text of its result. The decision whether a
 * call may run is not here: every call goes to the service layer, signed, and passes its gate.
 */
import { z } from 'zod';
import type { OwnerClient } from '../rpc/owner-socket.js';
import {
  MemoryParams,
  Params,
  RagParams,
  type MemoryEntryView,
  type ParamsOf,
  type RequestMethod,
  type ResultOf,
} from '../../../shared/src/protocol.js';
import { ModuleParams, RustMentorAnalyzeInput } from '../../../shared/src/modules.js';
import { formatRecord, formatVerify } from '../cli/format.js';
import { checkParams, parseArguments, toInputJsonSchema, type ToolInputJsonSchema } from './schema.js';

/** A tool as the server lists and calls it, its types erased behind `call`. */
export interface SigilTool {
  readonly name: string;
  readonly method: RequestMethod;
  readonly description: string;
  readonly inputSchema: ToolInputJsonSchema;
  readonly readOnly: boolean;
  /** Checks the arguments (an invalid-params RpcError), sends the signed request, returns result and text. */
  call(client: OwnerClient, args: unknown): Promise<{ result: Record<string, unknown>; text: string }>;
}

interface ToolSpec<M extends RequestMethod, S extends z.ZodObject> {
  readonly name: string;
  readonly method: M;
  readonly description: string;
  readonly schema: S;
  readonly readOnly: boolean;
  readonly toParams: (args: z.output<S>) => ParamsOf<M>;
  /** Maps a path in the method's params back to the argument it came from. */
  readonly fieldOf?: (path: PropertyKey[]) => string;
  readonly text: (result: ResultOf<M>) => string;
}

function tool<M extends RequestMethod, S extends z.ZodObject>(spec: ToolSpec<M, S>): SigilTool {
  return {
    name: spec.name,
    method: spec.method,
    description: spec.description,
    inputSchema: toInputJsonSchema(spec.schema),
    readOnly: spec.readOnly,
    async call(client, args) {
      const params = spec.toParams(parseArguments(spec.name, spec.schema, args));
      checkParams(spec.name, spec.method, params, spec.fieldOf);
      const result = await client.request(spec.method, params);
      return { result: result as unknown as Record<string, unknown>, text: spec.text(result) };
    },
  };
}

const same = <T>(args: T): T => args;

export function entryText(e: MemoryEntryView): string {
  return [
    `${e.namespace} / ${e.key}  (version ${e.version}, visible to ${e.visibility} and above)`,
    `updated ${e.updatedAt} by ${e.actor}; record ${e.recordId}`,
    ...(e.tags.length ? [`tags: ${e.tags.join(', ')}`] : []),
    ...(e.expiresAt ? [`expires ${e.expiresAt}`] : []),
    '',
    e.text,
  ].join('\n');
}

const analyzeShape = z.strictObject(RustMentorAnalyzeInput.shape).omit({ action: true });

export const TOOLS: readonly SigilTool[] = [
  tool({
    name: 'whoami',
    method: 'sigil/license.whoami',
    description: 'Who the store takes this agent to be: subject, role, LOA and licence chain.',
    schema: z.strictObject({}),
    readOnly: true,
    toParams: () => ({}),
    text: (r) =>
      `${r.subject}: ${r.role}, LOA ${r.loa}${r.licenseId ? `; licence ${r.licenseId}` : ' (anonymous guest)'}${r.expiresAt ? `, expires ${r.expiresAt}` : ''}`,
  }),
  tool({
    name: 'memory_write',
    method: 'sigil/memory.write',
    description:
      'Write a version of a memory entry (namespace like "agent:name", a key, the text). ifVersion makes it a compare-and-set; the same content again writes nothing.',
    schema: MemoryParams.write,
    readOnly: false,
    toParams: same,
    text: (r) =>
      r.written
        ? `wrote ${r.entry.namespace} / ${r.entry.key} version ${r.entry.version} (record ${r.entry.recordId})`
        : `unchanged: ${r.entry.namespace} / ${r.entry.key} is already version ${r.entry.version} with this content`,
  }),
  tool({
    name: 'memory_get',
    method: 'sigil/memory.get',
    description:
      'The latest version of a memory entry; with history, every version with actor, time and licence.',
    schema: MemoryParams.get,
    readOnly: true,
    toParams: same,
    text: (r) =>
      [
        entryText(r.entry),
        ...(r.history ?? []).map(
          (v) =>
            `-- version ${v.version} ${v.time} by ${v.actor}${v.licenseId ? ` (licence ${v.licenseId})` : ''}: ${v.text ?? '(forgotten)'}`,
        ),
      ].join('\n'),
  }),
  tool({
    name: 'memory_list',
    method: 'sigil/memory.list',
    description:
      'Memory entries this licence may read, by namespace, key prefix, tag or time; a page at a time.',
    schema: MemoryParams.list,
    readOnly: true,
    toParams: same,
    text: (r) =>
      [
        ...r.entries.map((e) => `${e.namespace} / ${e.key}  v${e.version}  ${e.updatedAt}`),
        ...(r.entries.length === 0 ? ['(no entries)'] : []),
        ...(r.nextCursor ? [`-- more: cursor ${r.nextCursor}`] : []),
      ].join('\n'),
  }),
  tool({
    name: 'memory_search',
    method: 'sigil/memory.search',
    description: 'Search the texts of the memory entries this licence may read.',
    schema: MemoryParams.search,
    readOnly: true,
    toParams: same,
    text: (r) =>
      [
        r.hits.length === 0
          ? '(no matches)'
          : r.hits.map((h) => `[${h.score.toFixed(3)}] ${entryText(h.entry)}`).join('\n\n'),
        ...(r.retrievers.vectorNote ? [`(${r.retrievers.vectorNote})`] : []),
      ].join('\n\n'),
  }),
  tool({
    name: 'memory_forget',
    method: 'sigil/memory.forget',
    description:
      'Forget a memory entry: a tombstone record, and the text of every version destroyed. Cannot be undone.',
    schema: MemoryParams.forget,
    readOnly: false,
    toParams: same,
    text: (r) =>
      `forgot ${r.namespace} / ${r.key}: ${r.forgottenVersions} version${r.forgottenVersions === 1 ? '' : 's'} (record ${r.recordId})`,
  }),
  tool({
    name: 'rag_query',
    method: 'sigil/rag.query',
    description:
      'Search the documentation index (BM25 and vectors, fused): the best chunks as citations with their sources and licences.',
    // Agents send text; the embedding form is for callers that hold the index's embedder.
    schema: RagParams.query.omit({ embedding: true }).required({ text: true }),
    readOnly: true,
    toParams: same,
    text: (r) =>
      r.hits.length === 0
        ? '(no matching passages)'
        : r.hits
            .map((h, i) => {
              const s = h.source;
              const where = s.url ?? `${s.root}/${s.path}${s.anchor ? `#${s.anchor}` : ''}`;
              return [
                `[${i + 1}] ${s.title}${s.heading ? ` > ${s.heading}` : ''}`,
                `    source: ${where} (licence ${s.licence}; record ${h.recordId})`,
                h.text,
              ].join('\n');
            })
            .join('\n\n'),
  }),
  tool({
    name: 'canon_append',
    method: 'sigil/canon.append',
    description:
      'Append a signed record to the canon (kind like "note.created", space "data" or "system", a JSON payload).',
    // Migration of legacy records is an owner's job (canon.migrate), not an agent's.
    schema: Params.append.omit({ legacyIdentity: true }),
    readOnly: false,
    toParams: same,
    text: (r) => `appended ${r.id} (seq ${r.body.seq}, ${r.body.space}/${r.body.kind})`,
  }),
  tool({
    name: 'canon_get',
    method: 'sigil/canon.get',
    description: 'One record of the canon by its id, with its verification (signature and Merkle inclusion).',
    schema: Params.get,
    readOnly: true,
    toParams: same,
    text: (r) =>
      `${formatRecord(r.record)}\n${r.verification.ok ? `verified: signature ok, included in the tree of size ${r.verification.inclusion?.treeSize ?? '?'}` : `NOT VERIFIED: ${r.verification.reason ?? 'unknown reason'}`}`,
  }),
  tool({
    name: 'canon_list',
    method: 'sigil/canon.list',
    description: 'A page of canon records, by space and kind, oldest first unless order is "desc".',
    schema: Params.list.omit({ purpose: true }),
    readOnly: true,
    toParams: same,
    text: (r) =>
      [
        ...r.records.map(
          (rec) =>
            `${String(rec.body.seq).padStart(6)}  ${rec.id}  ${rec.body.space}  ${rec.body.kind}  ${rec.body.ts}`,
        ),
        ...(r.damaged ?? []).map((d) => `${String(d.seq).padStart(6)}  ${d.id}  DAMAGED: ${d.reason}`),
        ...(r.records.length === 0 && !r.damaged?.length ? ['(no records)'] : []),
        ...(r.nextCursor ? [`-- more: cursor ${r.nextCursor}`] : []),
      ].join('\n'),
  }),
  tool({
    name: 'canon_verify',
    method: 'sigil/canon.verify',
    description:
      'Check every id, signature, chain link and the Merkle root of the canon; names the first bad record.',
    schema: z.strictObject({}),
    readOnly: true,
    toParams: () => ({}),
    text: (r) => formatVerify(r),
  }),
  tool({
    name: 'mentor_analyze',
    method: 'sigil/module.run',
    description:
      'RustMentor: analyse a Rust file of the workspace (path, relative to the workspace) or a snippet (text); findings with explanations and citations, recorded as a signed module.result.',
    schema: analyzeShape.extend({ sessionId: ModuleParams.run.shape.sessionId }),
    readOnly: false,
    toParams: ({ sessionId, ...input }) => ({
      module: 'rustmentor',
      input: { action: 'analyze', ...input },
      ...(sessionId !== undefined ? { sessionId } : {}),
    }),
    fieldOf: (p) => (p[0] === 'input' ? p.slice(1) : p).map(String).join('.'),
    text: (r) =>
      [
        `RustMentor ${r.verdict}: ${r.diagnostics.length} finding${r.diagnostics.length === 1 ? '' : 's'}${r.recordId ? ` (record ${r.recordId})` : ''}`,
        ...r.diagnostics.map((d) =>
          [
            `${d.file ?? '(snippet)'}:${d.range.start.line + 1}:${d.range.start.character + 1} ${d.severity} ${d.rule}: ${d.message}`,
            `  ${d.explanation}`,
            ...d.citations.map(
              (c) => `  see: ${c.title}${c.url ? ` <${c.url}>` : c.path ? ` (${c.path})` : ''}`,
            ),
          ].join('\n'),
        ),
        ...r.notes.map((n) => `note: ${n}`),
      ].join('\n'),
  }),
];

export function toolNamed(name: string): SigilTool | undefined {
  return TOOLS.find((t) => t.name === name);
}
