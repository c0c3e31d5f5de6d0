/**
 * Sigil's MCP server in VS Code. Where the editor has the MCP server definition API (VS Code 1.101+), the
 * extension offers `sigil mcp` run with an identity file the user picks; elsewhere (and always, for other
 * clients) a command copies a ready configuration snippet. The identity is never the owner's by default:
 * an agent should hold a narrow licence of its own, and picking a root one asks for confirmation.
 */
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import * as vscode from 'vscode';
import { mcpConfigSnippet, mcpLaunch } from './mcpConfig.js';

export const MCP_PROVIDER_ID = 'sigil.mcp';
const IDENTITY_STATE_KEY = 'sigil.mcp.identityFile';

/** The parts of the MCP definition API used here; the bundled @types/vscode predates it. */
interface McpStdioServerDefinitionLike {
  readonly label: string;
  args: string[];
  env: Record<string, string | number | null>;
}
type McpStdioServerDefinitionCtor = new (
  label: string,
  command: string,
  args?: string[],
  env?: Record<string, string | number | null>,
  version?: string,
) => McpStdioServerDefinitionLike;
interface McpServerDefinitionProviderLike {
  readonly onDidChangeMcpServerDefinitions?: vscode.Event<void>;
  provideMcpServerDefinitions(
    token: vscode.CancellationToken,
  ): vscode.ProviderResult<McpStdioServerDefinitionLike[]>;
  resolveMcpServerDefinition?(
    server: McpStdioServerDefinitionLike,
    token: vscode.CancellationToken,
  ): vscode.ProviderResult<McpStdioServerDefinitionLike>;
}
interface McpApi {
  readonly lm?: {
    readonly registerMcpServerDefinitionProvider?: (
      id: string,
      provider: McpServerDefinitionProviderLike,
    ) => vscode.Disposable;
  };
  readonly McpStdioServerDefinition?: McpStdioServerDefinitionCtor;
}

export interface McpDeps {
  readonly extensionPath: string;
  readonly state: vscode.Memento;
  /** The Sigil home the extension serves, if any. */
  readonly home: () => string | undefined;
  readonly log: (message: string) => void;
}

/** The role of the identity file's own licence, or null when it cannot be read as one. */
async function roleOf(file: string): Promise<string | null> {
  try {
    const doc = JSON.parse(await readFile(file, 'utf8')) as { chain?: Array<{ body?: { role?: unknown } }> };
    const role = doc.chain?.at(-1)?.body?.role;
    return typeof role === 'string' ? role : null;
  } catch {
    return null;
  }
}

/** Asks for the agent's identity file; a root licence (the owner's, say) only after an explicit yes. */
export async function pickMcpIdentity(deps: McpDeps): Promise<string | undefined> {
  const home = deps.home();
  const picked = await vscode.window.showOpenDialog({
    title: "Sigil MCP: the agent's identity file (a narrow licence, e.g. from sigil license issue --new-key)",
    canSelectMany: false,
    filters: { 'Sigil identity': ['json'] },
    ...(vscode.workspace.workspaceFolders?.[0]
      ? { defaultUri: vscode.workspace.workspaceFolders[0].uri }
      : {}),
  });
  const file = picked?.[0]?.fsPath;
  if (!file) return undefined;
  const role = await roleOf(file);
  if (role === null) {
    void vscode.window.showErrorMessage(`Sigil: ${file} is not a Sigil identity file (sigil.identity).`);
    return undefined;
  }
  const isOwner = home !== undefined && path.resolve(file) === path.join(home, 'identities', 'owner.json');
  if (role === 'root' || isOwner) {
    const yes = 'Use It Anyway';
    const answer = await vscode.window.showWarningMessage(
      `Sigil: ${path.basename(file)} holds a ${role} licence${isOwner ? " (the store owner's)" : ''}. An agent using it can do anything the owner can, including whatever a prompt injection asks. Issue a narrow licence for the agent instead?`,
      { modal: true },
      yes,
    );
    if (answer !== yes) return undefined;
  }
  await deps.state.update(IDENTITY_STATE_KEY, file);
  return file;
}

function chosenIdentity(deps: McpDeps): string | undefined {
  return deps.state.get<string>(IDENTITY_STATE_KEY);
}

/** Registers the provider where the editor has the API, and the two commands everywhere. */
export function registerMcp(deps: McpDeps): vscode.Disposable[] {
  const changed = new vscode.EventEmitter<void>();
  const disposables: vscode.Disposable[] = [
    changed,
    vscode.commands.registerCommand('sigil.pickMcpIdentity', async () => {
      if (await pickMcpIdentity(deps)) changed.fire();
    }),
    vscode.commands.registerCommand('sigil.copyMcpConfig', async () => {
      const home = deps.home();
      if (!home) {
        void vscode.window.showErrorMessage(
          'Sigil: no Sigil home in this workspace; initialize a store first.',
        );
        return;
      }
      const file = chosenIdentity(deps) ?? (await pickMcpIdentity(deps));
      if (!file) return;
      await vscode.env.clipboard.writeText(mcpConfigSnippet(mcpLaunch(deps.extensionPath, home, file)));
      void vscode.window.showInformationMessage(
        'Sigil: MCP configuration copied (for mcp.json; docs/mcp.md has the Claude Desktop and Continue forms).',
      );
    }),
  ];
  const api = vscode as unknown as McpApi;
  const register = api.lm?.registerMcpServerDefinitionProvider;
  const Definition = api.McpStdioServerDefinition;
  if (!register || !Definition) {
    deps.log('MCP server definition API not available in this editor; use "Sigil: Copy MCP Configuration"');
    return disposables;
  }
  const definition = (file: string | undefined): McpStdioServerDefinitionLike[] => {
    const home = deps.home();
    if (!home) return [];
    // Until an identity is picked the definition carries none; resolve asks for it when the server starts.
    const launch = mcpLaunch(deps.extensionPath, home, file ?? '');
    return [new Definition('Sigil', launch.command, launch.args, launch.env)];
  };
  // VS Code 1.100 (the engines floor) has the API but validates the provider against a contribution point it
  // names differently (modelContextServerCollections) and throws: that must not fail the whole activation.
  let provider: vscode.Disposable;
  try {
    provider = register.call(api.lm, MCP_PROVIDER_ID, {
      onDidChangeMcpServerDefinitions: changed.event,
      provideMcpServerDefinitions: () => definition(chosenIdentity(deps)),
      resolveMcpServerDefinition: async (server) => {
        const home = deps.home();
        const file = chosenIdentity(deps) ?? (await pickMcpIdentity(deps));
        if (!home || !file) return undefined;
        const launch = mcpLaunch(deps.extensionPath, home, file);
        server.args = launch.args;
        server.env = launch.env;
        return server;
      },
    });
  } catch (e) {
    deps.log(
      `MCP server definitions cannot be registered in this editor (${(e as Error).message}); use "Sigil: Copy MCP Configuration"`,
    );
    return disposables;
  }
  disposables.push(provider);
  return disposables;
}
