/**
 * The VS Code extension entry: the Sigil activity-bar container with the Audit Log, the record viewer, the
 * commands, the status bar item, and the language server that owns the workspace's store. Activation is
 * lazy (the view, a command, or a workspace with .sigil/) and does no I/O itself: the server starts in the
 * background.
 */
import * as vscode from 'vscode';
import type { SigilApi } from './api.js';
import { AuditLogProvider, VIEW_ID } from './auditLog.js';
import { registerCommands } from './commands.js';
import { Config } from './config.js';
import { Ctx, type StoreView } from './ctx.js';
import { SigilDocuments } from './documents.js';
import { Passphrases } from './passphrase.js';
import { Identities } from './identities.js';
import { RECORD_SCHEME, passphraseProblem, viewDescription, viewMessage } from './present.js';
import { StatusBar } from './statusBar.js';
import { LICENSES_VIEW_ID, LicensesProvider } from './licenses.js';
import { IdentityStatus } from './identityStatus.js';
import { WITNESSES_VIEW_ID, WitnessesProvider } from './witnesses.js';
import { PROPOSALS_VIEW_ID, ProposalsProvider } from './proposals.js';
import { MEMORY_VIEW_ID, MemoryProvider } from './memory.js';
import { CITATION_SCHEME, CitationDocuments } from './docsSearch.js';
import { registerMentorCommands } from './mentor.js';
import { MENTOR_VIEW_ID, MentorProvider, MentorStatus } from './mentorRecords.js';
import { registerMcp } from './mcp.js';

let ctx: Ctx | undefined;

export function activate(context: vscode.ExtensionContext): SigilApi {
  const t0 = performance.now();
  const output = vscode.window.createOutputChannel('Sigil', { log: true });
  context.subscriptions.push(output);
  const config = new Config();
  const passphrases = new Passphrases(context.secrets, output);
  const identities = new Identities(context.secrets, passphrases, () => config.passphraseEnvName(), output);
  context.subscriptions.push(identities);
  const c = new Ctx(context, output, config, passphrases, identities, t0);
  ctx = c;
  void vscode.commands.executeCommand('setContext', 'sigil.storeStatus', 'starting');

  const tree = new AuditLogProvider(c);
  const treeView = vscode.window.createTreeView(VIEW_ID, { treeDataProvider: tree, showCollapseAll: true });
  const docs = new SigilDocuments(c);
  const status = new StatusBar(c);
  const licenses = new LicensesProvider(c);
  const licensesView = vscode.window.createTreeView(LICENSES_VIEW_ID, {
    treeDataProvider: licenses,
    showCollapseAll: true,
  });
  const witnesses = new WitnessesProvider(c);
  const witnessesView = vscode.window.createTreeView(WITNESSES_VIEW_ID, {
    treeDataProvider: witnesses,
    showCollapseAll: true,
  });
  const proposals = new ProposalsProvider(c);
  const proposalsView = vscode.window.createTreeView(PROPOSALS_VIEW_ID, {
    treeDataProvider: proposals,
    showCollapseAll: true,
  });
  const memory = new MemoryProvider(c);
  const memoryView = vscode.window.createTreeView(MEMORY_VIEW_ID, {
    treeDataProvider: memory,
    showCollapseAll: true,
  });
  const mentor = new MentorProvider(c, (m) => output.info(m));
  const mentorView = vscode.window.createTreeView(MENTOR_VIEW_ID, {
    treeDataProvider: mentor,
    showCollapseAll: true,
  });
  const mentorStatus = new MentorStatus();
  const citations = new CitationDocuments();
  const identityStatus = new IdentityStatus(c);
  let activationMs = 0;
  // An encrypted store without a (valid) passphrase: say so once per home, with the way out.
  const askedForPassphrase = new Set<string>();
  const offerPassphrase = (v: StoreView): void => {
    if (v.phase !== 'needs-passphrase' || !v.home || askedForPassphrase.has(v.home)) return;
    askedForPassphrase.add(v.home);
    const action = 'Enter Key Passphrase';
    void vscode.window.showWarningMessage(`Sigil: ${passphraseProblem(v)}.`, action).then((pick) => {
      if (pick === action) void vscode.commands.executeCommand('sigil.enterPassphrase');
    });
  };
  context.subscriptions.push(
    tree,
    treeView,
    docs,
    status,
    licenses,
    licensesView,
    witnesses,
    witnessesView,
    proposals,
    proposalsView,
    memory,
    memoryView,
    mentor,
    mentorView,
    mentorStatus,
    identityStatus,
    vscode.workspace.registerTextDocumentContentProvider(RECORD_SCHEME, docs),
    vscode.workspace.registerTextDocumentContentProvider(CITATION_SCHEME, citations),
    ...registerCommands({
      ctx: c,
      tree,
      docs,
      licenses,
      witnesses,
      proposals,
      memory,
      mentor,
      citations,
      identityStatus,
      activationMs: () => activationMs,
    }),
    ...registerMentorCommands(mentor),
    ...registerMcp({
      extensionPath: context.extensionPath,
      state: context.workspaceState,
      home: () => config.resolveHome(),
      log: (m) => output.info(m),
    }),
    c.onDidChangeStore((v) => {
      offerPassphrase(v);
      treeView.message = viewMessage(v);
      treeView.description = viewDescription(v);
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (config.affectsServer(e)) void c.restart('the Sigil settings changed');
    }),
    vscode.workspace.onDidChangeWorkspaceFolders(() => {
      if (config.resolveHome() !== c.store.home) void c.restart('the workspace folders changed');
    }),
  );

  void c.start();
  activationMs = performance.now() - t0;
  output.info(
    `Sigil ${String(context.extension.packageJSON.version)} activated in ${activationMs.toFixed(1)} ms for ${vscode.workspace.name ?? 'no workspace'}`,
  );

  return {
    activationMs,
    serverReadyMs: () => c.serverReadyMs,
    store: () => c.store,
    settled: (timeoutMs) => c.settled(timeoutMs),
    onDidChangeStore: c.onDidChangeStore,
    onDidAppend: c.onDidAppend,
    auditLog: () => tree.snapshot(),
    licenses: () => licenses.snapshot(),
    witnesses: () => witnesses.snapshot(),
    proposals: () => proposals.snapshot(),
    memory: () => memory.snapshot(),
    mentor: () => mentor.snapshot(),
    mentorStatus: () => mentorStatus.text(),
    identity: () => identityStatus.refresh(),
    status: () => status.current,
    lastVerification: () => c.verification.last,
    lastError: () => c.lastError?.toJSON(),
  };
}

export async function deactivate(): Promise<void> {
  const c = ctx;
  ctx = undefined;
  await c?.dispose();
}
