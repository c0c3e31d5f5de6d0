/**
 * How an MCP client starts Sigil's server: the bundled CLI's `mcp` command with the agent's identity file
 * and the home. Kept free of the vscode module so it can be tested and reused by every snippet.
 */
import path from 'node:path';

/** What `sigil mcp` is run as: the extension's bundled CLI under the `node` on the PATH. */
export interface McpLaunch {
  readonly command: string;
  readonly args: string[];
  readonly env: Record<string, string>;
}

export function mcpLaunch(extensionPath: string, home: string, identityFile: string): McpLaunch {
  return {
    command: 'node',
    args: [path.join(extensionPath, 'dist', 'cli.cjs'), 'mcp', '--identity', identityFile],
    env: { SIGIL_HOME: home },
  };
}

/** The snippet for VS Code's mcp.json (`servers`); Claude Desktop and Continue take the same fields. */
export function mcpConfigSnippet(launch: McpLaunch): string {
  return JSON.stringify({ servers: { sigil: { type: 'stdio', ...launch } } }, null, 2);
}
