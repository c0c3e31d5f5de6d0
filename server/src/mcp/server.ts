/**
 * Sigil's MCP server: the tools of tools.ts and the resources of resources.ts over any MCP transport, every
 * call sent through `client` (which signs it with the agent's identity). Built on the SDK's low-level
 * Server rather than McpServer because McpServer turns invalid-params errors into tool results, and the
 * issue wants the protocol's -32602 naming the field.
 */
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
  type CallToolResult,
} from '@modelcontextprotocol/sdk/types.js';
import { toSigilError, type SigilError } from '../../../shared/src/errors.js';
import { SIGIL_RPC_ERROR } from '../../../shared/src/protocol.js';
import type { OwnerClient } from '../rpc/owner-socket.js';
import { VERSION } from '../version.js';
import { TOOLS, toolNamed } from './tools.js';
import { invalidParamsError, RpcError } from './schema.js';
import { listResources, MEMORY_URI_TEMPLATE, readResource, RECORD_URI_TEMPLATE } from './resources.js';

/** The CLI's words for an error (see reportError in cli/output.ts), so an agent reads what a user would. */
export function errorText(e: SigilError): string {
  return `sigil: error: ${e.message}`;
}

/** A service error as a tool result; bad input the service found itself is still invalid params. */
function toolError(e: unknown): CallToolResult {
  const err = toSigilError(e);
  if (err.code === 'BAD_INPUT' || err.code === 'BAD_USAGE')
    throw invalidParamsError(err.message, err.toJSON());
  return {
    isError: true,
    content: [{ type: 'text', text: errorText(err) }],
    structuredContent: { error: err.toJSON(), exit_code: err.exitCode },
  };
}

/** Resource reads have no tool-error form: a service error is a JSON-RPC error with the Sigil data. */
function resourceError(e: unknown): never {
  if (e instanceof RpcError) throw e;
  const err = toSigilError(e);
  if (err.code === 'BAD_INPUT') throw invalidParamsError(err.message, err.toJSON());
  throw new RpcError(SIGIL_RPC_ERROR, errorText(err), err.toJSON());
}

export function createMcpServer(client: OwnerClient): Server {
  const server = new Server(
    { name: 'sigil', version: VERSION },
    {
      capabilities: { tools: {}, resources: {} },
      instructions:
        "Sigil: a signed, tamper-evident log (the canon), memory and a documentation index. Every call is signed with this server's licence and may be refused by the store's policy table; refusals are audited.",
    },
  );

  server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: TOOLS.map((t) => ({
      name: t.name,
      description: `${t.description} (Sigil method ${t.method})`,
      inputSchema: t.inputSchema,
      annotations: { readOnlyHint: t.readOnly, openWorldHint: false },
    })),
  }));

  server.setRequestHandler(CallToolRequestSchema, async (req): Promise<CallToolResult> => {
    const t = toolNamed(req.params.name);
    if (!t) throw invalidParamsError(`unknown tool ${JSON.stringify(req.params.name)}`, { field: 'name' });
    try {
      const { result, text } = await t.call(client, req.params.arguments);
      return { content: [{ type: 'text', text }], structuredContent: result };
    } catch (e) {
      if (e instanceof RpcError) throw e;
      return toolError(e);
    }
  });

  server.setRequestHandler(ListResourcesRequestSchema, (req) =>
    listResources(client, req.params?.cursor).catch(resourceError),
  );
  server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({
    resourceTemplates: [
      { uriTemplate: RECORD_URI_TEMPLATE, name: 'canon record', mimeType: 'application/json' },
      { uriTemplate: MEMORY_URI_TEMPLATE, name: 'memory entry', mimeType: 'text/plain' },
    ],
  }));
  server.setRequestHandler(ReadResourceRequestSchema, (req) =>
    readResource(client, req.params.uri).catch(resourceError),
  );
  return server;
}
