/** The MCP launch configuration the extension offers and copies: the CLI's mcp command with the agent's identity. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { mcpConfigSnippet, mcpLaunch } from '../../client/src/mcpConfig.js';

describe('MCP configuration snippet', () => {
  const launch = mcpLaunch('/ext', '/proj/.sigil', '/keys/agent.json');

  it('runs dist/cli.cjs mcp with the chosen identity and the home in SIGIL_HOME', () => {
    assert.equal(launch.command, 'node');
    assert.deepEqual(launch.args, [
      path.join('/ext', 'dist', 'cli.cjs'),
      'mcp',
      '--identity',
      '/keys/agent.json',
    ]);
    assert.deepEqual(launch.env, { SIGIL_HOME: '/proj/.sigil' });
  });

  it('is VS Code mcp.json: servers.sigil over stdio with that launch', () => {
    const doc = JSON.parse(mcpConfigSnippet(launch)) as {
      servers: { sigil: { type: string; command: string; args: string[]; env: Record<string, string> } };
    };
    assert.equal(doc.servers.sigil.type, 'stdio');
    assert.deepEqual(doc.servers.sigil.args, launch.args);
    assert.equal(doc.servers.sigil.command, 'node');
    assert.deepEqual(doc.servers.sigil.env, { SIGIL_HOME: '/proj/.sigil' });
  });
});
