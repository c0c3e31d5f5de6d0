/**
 * The MCP part of `npm run bench`: rag_query and memory_write through `sigil mcp` (the SDK's Client over
 * stdio, one sequential call at a time, the MCP server holding the store itself) against the same
 * operation through the service handlers in this process, each request signed in both cases. The
 * difference is what the MCP front door costs: JSON-RPC over pipes, argument checks, result text.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { initHome } from '../server/src/runtime/home.js';
import { runtimeHandlers } from '../server/src/service/handlers.js';
import { readIdentityFile } from '../server/src/governance/identity.js';
import { signedParams } from '../shared/src/signed-request.js';
import type { Identity } from '../shared/src/license.js';
import { log, median } from './lib.js';

type Result = Record<string, number | string | boolean | null>;

const CLI_BIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'sigil.js');
const DOC =
  '# Ownership\n\n## Borrowing\n\nAt any given time you can have either one mutable reference or any number of immutable references.\n\n## Moves\n\nAssigning a String moves it; clone it to keep the original.\n';
const QUERY = { text: 'how many mutable references at a time', k: 5 };
const memoryArgs = (i: number) => ({ namespace: 'agent:bench', key: `k${i}`, text: `note number ${i}` });

const ms = (xs: number[]): number => Number(median(xs).toFixed(3));

async function timed(n: number, run: (i: number) => Promise<unknown>): Promise<number[]> {
  const lat: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await run(i);
    lat.push(performance.now() - t0);
  }
  return lat;
}

export async function mcpBench(result: Result, calls: number): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sigil-bench-mcp-'));
  const home = path.join(dir, 'ws', '.sigil');
  await mkdir(path.dirname(home), { recursive: true });
  const env = { SIGIL_KEYSTORE_SCRYPT_LOG_N: '14' };
  try {
    const init = await initHome({
      home,
      env,
      passphrase: { get: async () => undefined },
      ownerDescription: 'bench',
    });
    const loaded = await readIdentityFile(init.ownerIdentity.file);
    const owner: Identity = { chain: loaded.chain, signer: loaded.signer };
    const rt = init.runtime;
    let inproc = { rag: 0, memory: 0 };
    try {
      const h = runtimeHandlers(rt);
      await h['sigil/rag.upsert'](
        signedParams(
          'sigil/rag.upsert',
          {
            key: 'book/ownership.md',
            content: DOC,
            metadata: {
              source: { root: 'book', path: 'ownership.md', title: 'Ownership' },
              licence: 'MIT',
              provenance: {},
            },
          },
          owner,
        ),
        {},
      );
      log(
        `mcp_call_ms_p50: ${calls} calls each of rag_query and memory_write through the in-process handlers`,
      );
      await h['sigil/rag.query'](signedParams('sigil/rag.query', QUERY, owner), {}); // loads the embedder
      const inRag = await timed(calls, () =>
        h['sigil/rag.query'](signedParams('sigil/rag.query', QUERY, owner), {}),
      );
      const inMem = await timed(calls, (i) =>
        h['sigil/memory.write'](signedParams('sigil/memory.write', memoryArgs(i), owner), {}),
      );
      inproc = { rag: ms(inRag), memory: ms(inMem) };
      result.inproc_call_ms_p50_rag_query = inproc.rag;
      result.inproc_call_ms_p50_memory_write = inproc.memory;
    } finally {
      await rt.close();
    }

    log(`mcp_call_ms_p50: the same through sigil mcp (SDK Client, stdio)`);
    const childEnv: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env))
      if (v !== undefined && !k.startsWith('SIGIL_')) childEnv[k] = v;
    const client = new Client({ name: 'sigil-bench', version: '1' });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [CLI_BIN, '--home', home, 'mcp', '--identity', init.ownerIdentity.file],
        env: { ...childEnv, ...env },
        stderr: 'ignore',
      }),
    );
    try {
      const callOk = async (name: string, args: Record<string, unknown>): Promise<void> => {
        const r = await client.callTool({ name, arguments: args });
        if (r.isError) throw new Error(`${name} failed in the bench: ${JSON.stringify(r.content)}`);
      };
      await callOk('rag_query', QUERY); // the MCP process loads its own embedder
      const mcpRag = await timed(calls, () => callOk('rag_query', QUERY));
      const mcpMem = await timed(calls, (i) => callOk('memory_write', memoryArgs(calls + i)));
      result.mcp_calls = calls;
      result.mcp_call_ms_p50_rag_query = ms(mcpRag);
      result.mcp_call_ms_p50_memory_write = ms(mcpMem);
      result.mcp_overhead_ms_rag_query = Number((ms(mcpRag) - inproc.rag).toFixed(3));
      result.mcp_overhead_ms_memory_write = Number((ms(mcpMem) - inproc.memory).toFixed(3));
    } finally {
      await client.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
