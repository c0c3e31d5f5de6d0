/**
 * MCP resources: canon records (`sigil://record/<id>`) and memory entries
 * (`sigil://memory/<namespace>/<key>`). Listing and reading are sigil/canon.list, canon.get, memory.list and
 * memory.get signed with the agent's identity, so what a client sees is what that licence may see.
 */
import type { Resource } from '@modelcontextprotocol/sdk/types.js';
import { invalidParamsError } from './schema.js';
import { SigilError } from '../../../shared/src/errors.js';
import type { OwnerClient } from '../rpc/owner-socket.js';
import { formatRecord } from '../cli/format.js';
import { entryText } from './tools.js';

export const RECORD_URI_TEMPLATE = 'sigil://record/{id}';
export const MEMORY_URI_TEMPLATE = 'sigil://memory/{namespace}/{key}';

/** How many of each a page lists; the cursor carries on where each stopped. */
const PAGE = 50;

interface ListCursor {
  /** canon.list's cursor for the next page of records; null once they are all listed. */
  readonly records: string | null;
  readonly memory: string | null;
  readonly started: { readonly records: boolean; readonly memory: boolean };
}

function decodeCursor(cursor: string | undefined): ListCursor {
  if (cursor === undefined)
    return { records: null, memory: null, started: { records: false, memory: false } };
  try {
    const c = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as ListCursor;
    if (typeof c === 'object' && c !== null && typeof c.started === 'object') return c;
  } catch {
    // falls through to the error below
  }
  throw invalidParamsError('resources/list: cursor is not one this server gave', {
    field: 'cursor',
  });
}

const encodeCursor = (c: ListCursor): string => Buffer.from(JSON.stringify(c)).toString('base64url');

/** A refusal of one kind of resource leaves the other listed: the licence may reach one and not the other. */
async function unlessDenied<T>(run: () => Promise<T>): Promise<T | null> {
  try {
    return await run();
  } catch (e) {
    if (e instanceof SigilError && e.code === 'ACCESS_DENIED') return null;
    throw e;
  }
}

export async function listResources(
  client: OwnerClient,
  cursor: string | undefined,
): Promise<{ resources: Resource[]; nextCursor?: string }> {
  const c = decodeCursor(cursor);
  const resources: Resource[] = [];
  let records: string | null = null;
  let memory: string | null = null;
  if (!c.started.records || c.records !== null) {
    const page = await unlessDenied(() =>
      client.request('sigil/canon.list', {
        space: 'data',
        order: 'desc',
        limit: PAGE,
        ...(c.records ? { cursor: c.records } : {}),
      }),
    );
    for (const r of page?.records ?? [])
      resources.push({
        uri: `sigil://record/${r.id}`,
        name: `record ${r.body.seq} ${r.body.kind}`,
        mimeType: 'application/json',
        description: `${r.body.space}/${r.body.kind} by ${r.body.actor} at ${r.body.ts}`,
      });
    records = page?.nextCursor ?? null;
  }
  if (!c.started.memory || c.memory !== null) {
    const page = await unlessDenied(() =>
      client.request('sigil/memory.list', { limit: PAGE, ...(c.memory ? { cursor: c.memory } : {}) }),
    );
    for (const e of page?.entries ?? [])
      resources.push({
        uri: memoryUri(e.namespace, e.key),
        name: `memory ${e.namespace} / ${e.key}`,
        mimeType: 'text/plain',
        description: `version ${e.version}, updated ${e.updatedAt} by ${e.actor}`,
      });
    memory = page?.nextCursor ?? null;
  }
  const next: ListCursor = { records, memory, started: { records: true, memory: true } };
  return { resources, ...(records !== null || memory !== null ? { nextCursor: encodeCursor(next) } : {}) };
}

export function memoryUri(namespace: string, key: string): string {
  return `sigil://memory/${encodeURIComponent(namespace)}/${encodeURIComponent(key)}`;
}

export async function readResource(
  client: OwnerClient,
  uri: string,
): Promise<{ contents: Array<{ uri: string; mimeType: string; text: string }> }> {
  const record = /^sigil:\/\/record\/([0-9a-f]{64})$/.exec(uri);
  if (record?.[1]) {
    const view = await client.request('sigil/canon.get', { id: record[1] });
    return {
      contents: [
        { uri, mimeType: 'application/json', text: JSON.stringify(view, null, 2) },
        { uri, mimeType: 'text/plain', text: formatRecord(view.record) },
      ],
    };
  }
  const mem = /^sigil:\/\/memory\/([^/]+)\/([^/]+)$/.exec(uri);
  if (mem?.[1] && mem[2]) {
    let namespace: string;
    let key: string;
    try {
      namespace = decodeURIComponent(mem[1]);
      key = decodeURIComponent(mem[2]);
    } catch {
      throw invalidParamsError(`resources/read: uri ${uri} is not well encoded`, {
        field: 'uri',
      });
    }
    const got = await client.request('sigil/memory.get', { namespace, key });
    return { contents: [{ uri, mimeType: 'text/plain', text: entryText(got.entry) }] };
  }
  throw invalidParamsError(
    `resources/read: uri must be ${RECORD_URI_TEMPLATE} (64 hex digits) or ${MEMORY_URI_TEMPLATE}, got ${JSON.stringify(uri)}`,
    { field: 'uri' },
  );
}
