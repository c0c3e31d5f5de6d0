/**
 * `sigil mcp`: Sigil as an MCP server on stdio for an agent. It holds one identity (the agent's licence)
 * and signs every tool call with it, through the same service path as every other command: the owner's
 * socket when an editor or `sigil serve` holds the store, else the store opened here for the session.
 */
import type { Command } from 'commander';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { SigilError } from '../../../shared/src/errors.js';
import { createMcpServer } from '../mcp/server.js';
import type { GovernanceCliContext } from './context.js';

export function registerMcpCommands(program: Command, ctx: GovernanceCliContext): void {
  program
    .command('mcp')
    .description(
      "serve MCP on stdio for an agent; every tool call is signed with --identity (the agent's licence, never the owner's by default)",
    )
    .action(
      ctx.action(async () => {
        // An agent gets the licence it was given; falling back to the owner's root identity would hand a
        // prompt-injectable client everything.
        if (!ctx.globals().identity && !process.env.SIGIL_IDENTITY)
          throw new SigilError(
            'BAD_USAGE',
            'sigil mcp needs --identity FILE (or $SIGIL_IDENTITY): the agent\'s licence. Issue a narrow one with "sigil license issue --subject agent:NAME --role observer --new-key --out FILE"',
          );
        const me = await ctx.callerIdentity();
        if (me?.chain.at(-1)?.body.role === 'root')
          ctx
            .out()
            .warn('this MCP server signs with a root licence: the agent can do anything the owner can');
        await ctx.withClient('mcp', async (client) => {
          const server = createMcpServer(client);
          const transport = new StdioServerTransport();
          const ended = new Promise<void>((resolve) => {
            process.stdin.once('end', resolve);
            process.stdin.once('close', resolve);
            transport.onclose = resolve;
          });
          await server.connect(transport);
          await ended;
          await server.close();
        });
      }),
    );
}
