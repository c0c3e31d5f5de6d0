/**
 * Every command of the extension, in one table. package.json declares the same ids (titles, category
 * "Sigil", palette visibility); the integration suite checks that the two agree.
 */
import * as vscode from 'vscode';
import { SigilError } from '../../shared/src/errors.js';
import { ID_PATTERN, isSpace, type CanonicalRecord, type Space } from '../../shared/src/record.js';
import type { AppendParams, CheckpointResult, StoreInfo, VerifyResult } from '../../shared/src/protocol.js';
import type { AuditLogProvider, Node } from './auditLog.js';
import { VIEW_ID } from './auditLog.js';
import type { Ctx } from './ctx.js';
import { openRecordDocument, type SigilDocuments } from './documents.js';
import { passphraseProblem, shortTime } from './present.js';
import type { LicensesProvider } from './licenses.js';
import type { IdentityStatus } from './identityStatus.js';
import * as gov from './governanceCommands.js';
import * as quorum from './quorumCommands.js';
import type { WitnessesProvider } from './witnesses.js';
import type { ProposalsProvider } from './proposals.js';
import { forgetMemory, writeMemory, type MemoryProvider } from './memory.js';
import { importRustDocs, searchDocs, type CitationDocuments } from './docsSearch.js';
import { importDocsFolder } from './docsImport.js';
import { withServerProgress } from './serverProgress.js';
import type { MentorProvider } from './mentorRecords.js';

/** What command handlers can reach. */
export interface Env {
  readonly ctx: Ctx;
  readonly tree: AuditLogProvider;
  readonly docs: SigilDocuments;
  readonly licenses: LicensesProvider;
  readonly witnesses: WitnessesProvider;
  readonly proposals: ProposalsProvider;
  readonly memory: MemoryProvider;
  readonly mentor: MentorProvider;
  readonly citations: CitationDocuments;
  readonly identityStatus: IdentityStatus;
  readonly activationMs: () => number;
}

type Handler = (env: Env, ...args: unknown[]) => unknown;

/** Arguments "Initialize Store" accepts when run programmatically (tests, other extensions). */
export interface InitializeArgs {
  /** Encrypt the keys with this passphrase (kept in SecretStorage); no prompt. */
  readonly passphrase?: string;
  /** Store the keys unencrypted; no prompt. */
  readonly unencrypted?: boolean;
  /** Checkpoint origin line (default: derived by the server). */
  readonly origin?: string;
}

export const COMMANDS: Readonly<Record<string, Handler>> = {
  'sigil.initializeStore': (env, args) => initializeStore(env, asObject(args) as InitializeArgs),
  'sigil.verifyCanon': (env) => verifyCanon(env),
  'sigil.showCheckpoint': (env) => showCheckpoint(env),
  'sigil.openRecord': (env, id) => openRecord(env, id),
  'sigil.showServerOutput': (env) => env.ctx.output.show(true),
  'sigil.refreshAuditLog': (env) => refreshAuditLog(env),
  'sigil.restartServer': (env) => env.ctx.restart('requested from the command palette'),
  'sigil.enterPassphrase': (env, args) => enterPassphrase(env, asObject(args).passphrase),
  'sigil.forgetPassphrase': (env) => forgetPassphrase(env),
  'sigil.issueLicense': (env, args) => gov.issueLicense(env.ctx, args),
  'sigil.delegateLicense': (env, args) => gov.delegateLicense(env.ctx, args),
  'sigil.importIdentity': (env, args) => gov.importIdentity(env.ctx, args),
  'sigil.selectIdentity': (env, args) => gov.selectIdentity(env.ctx, args),
  'sigil.verifyLicenseFile': (env, args) => gov.verifyLicenseFile(env.ctx, args),
  'sigil.revokeLicense': (env, args) => gov.revokeLicense(env.ctx, args),
  'sigil.refreshLicenses': (env) => env.licenses.refresh(),
  'sigil.createProposal': (env, args) => quorum.createProposal(env.ctx, args),
  'sigil.signProposal': (env, args) => quorum.signProposal(env.ctx, args),
  'sigil.attachSignature': (env, args) => quorum.attachSignature(env.ctx, args),
  'sigil.exportProposal': (env, args) => quorum.exportProposal(env.ctx, args),
  'sigil.commitProposal': (env, args) => quorum.commitProposal(env.ctx, args),
  'sigil.rejectProposal': (env, args) => quorum.rejectProposal(env.ctx, args),
  'sigil.addWitness': (env, args) => quorum.addWitness(env.ctx, args),
  'sigil.rotateWitness': (env, args) => quorum.rotateWitness(env.ctx, args),
  'sigil.revokeWitness': (env, args) => quorum.revokeWitness(env.ctx, args),
  'sigil.refreshWitnesses': (env) => env.witnesses.refresh(),
  'sigil.refreshProposals': (env) => env.proposals.refresh(),
  'sigil.writeMemory': (env, args) => writeMemory(env.ctx, env.memory, args),
  'sigil.forgetMemory': (env, args) => forgetMemory(env.ctx, env.memory, args),
  'sigil.refreshMemory': (env) => env.memory.refresh(),
  'sigil.refreshMentor': (env) => env.mentor.refresh(),
  'sigil.mentor.analyzeFile': (env) => analyzeActiveFile(env),
  'sigil.searchDocs': (env, args) => searchDocs(env.ctx, env.citations, args),
  'sigil.importRustDocs': (env, args) => importRustDocs(env.ctx, args),
  'sigil.importDocsFolder': (env, args) => importDocsFolder(env.ctx, args),
  // Internal (not in the palette): tree items, menus, tests.
  'sigil.copyLicenseId': (_env, node) => gov.copyLicenseId(node),
  'sigil.copyProposalId': (_env, node) => quorum.copyProposalId(node),
  'sigil.getPolicy': (env) => quorum.policyTable(env.ctx),
  'sigil.whoami': (env) => env.identityStatus.refresh(),
  'sigil.loadMore': (env, space) => loadMore(env, space),
  'sigil.copyRecordId': (env, node) => copyRecordId(node),
  'sigil.getActivationTime': (env) => env.activationMs(),
  'sigil.appendRecord': (env, params) => appendRecord(env, params),
};

export function registerCommands(env: Env): vscode.Disposable[] {
  return Object.entries(COMMANDS).map(([id, handler]) =>
    vscode.commands.registerCommand(id, async (...args: unknown[]) => {
      try {
        return await handler(env, ...args);
      } catch (e) {
        if (e instanceof vscode.CancellationError) return undefined;
        env.ctx.report(e, id);
        return undefined;
      }
    }),
  );
}

function asObject(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

// ---------------------------------------------------------------------------------------------------------
// Initialize Store

/** The keystore refuses shorter passphrases (server/src/canon/keystore.ts); say so before restarting the server. */
const MIN_PASSPHRASE_LENGTH = 8;
const tooShort = (v: string): string | null =>
  v.length < MIN_PASSPHRASE_LENGTH ? `At least ${MIN_PASSPHRASE_LENGTH} characters` : null;

type PassphraseChoice = { kind: 'new'; value: string } | { kind: 'none' } | { kind: 'env'; name: string };

async function choosePassphrase(
  env: Env,
  home: string,
  args: InitializeArgs,
): Promise<PassphraseChoice | undefined> {
  if (typeof args.passphrase === 'string' && args.passphrase !== '') {
    const problem = tooShort(args.passphrase);
    if (problem)
      throw new SigilError('BAD_INPUT', `the key passphrase is too short: ${problem.toLowerCase()}`);
    return { kind: 'new', value: args.passphrase };
  }
  if (args.unencrypted === true) return { kind: 'none' };
  const name = env.ctx.config.passphraseEnvName();
  if (process.env[name]) return { kind: 'env', name };

  const first = await vscode.window.showInputBox({
    title: 'Sigil: Initialize Store — key passphrase',
    prompt: `Passphrase that encrypts the keys of the new store in ${home}. Leave empty to keep the keys unencrypted.`,
    password: true,
    ignoreFocusOut: true,
    validateInput: (v) => (v === '' ? null : tooShort(v)),
  });
  if (first === undefined) return undefined;
  if (first === '') {
    const ok = 'Store Keys Unencrypted';
    const pick = await vscode.window.showWarningMessage(
      'Store the Sigil keys unencrypted?',
      {
        modal: true,
        detail: `Anyone who can read ${home}/keystore.json could then sign records as this store. With a passphrase the keys are sealed with scrypt + AES-256-GCM, and the passphrase is kept in the editor's secret storage.`,
      },
      ok,
    );
    return pick === ok ? { kind: 'none' } : undefined;
  }
  const second = await vscode.window.showInputBox({
    title: 'Sigil: Initialize Store — repeat the passphrase',
    prompt: 'Type the passphrase again',
    password: true,
    ignoreFocusOut: true,
    validateInput: (v) => (v === first ? null : 'The two passphrases differ'),
  });
  if (second === undefined) return undefined;
  return { kind: 'new', value: first };
}

async function initializeStore(env: Env, args: InitializeArgs): Promise<StoreInfo | undefined> {
  const { ctx } = env;
  let view = await ctx.ready();
  if (view.phase === 'ready' && view.info) {
    void vscode.window.showInformationMessage(`Sigil: a store already exists in ${view.info.home}.`);
    return view.info;
  }
  if (view.phase === 'no-home')
    throw new SigilError('HOME_MISSING', 'open a folder (or set sigil.home) to create a Sigil store');
  if (view.phase !== 'no-store') {
    throw new SigilError(
      view.problem?.code ?? 'STORE_CLOSED',
      `cannot initialize a store in ${view.home ?? 'this workspace'}: ${view.problem?.message ?? 'the server is not running'}`,
    );
  }
  const home = view.home as string;
  const choice = await choosePassphrase(env, home, args);
  if (!choice) return undefined;

  // The server takes the passphrase at start (initializationOptions); restart it when that changes.
  if (choice.kind === 'new') {
    const kept = await ctx.passphrases.set(home, choice.value);
    if (!kept)
      void vscode.window.showWarningMessage(
        'Sigil: the secret storage is not available; the passphrase is kept for this session only.',
      );
  } else {
    await ctx.passphrases.forget(home);
  }
  const wanted = choice.kind === 'new' ? choice.value : undefined;
  if (ctx.needsRestartFor(wanted)) {
    await ctx.restart('the new store needs its key passphrase');
    view = await ctx.ready();
    if (view.phase !== 'no-store') {
      throw new SigilError(
        view.problem?.code ?? 'STORE_CLOSED',
        `cannot initialize: ${view.problem?.message ?? `the store is ${view.phase}`}`,
      );
    }
  }

  const info = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Sigil: creating the store in ${home}…` },
    () => ctx.request('sigil/store.init', args.origin ? { origin: args.origin } : {}),
  );
  const how = info.keysEncrypted
    ? choice.kind === 'env'
      ? `keys encrypted with the passphrase in $${choice.name}`
      : 'keys encrypted; the passphrase is in the editor secret storage'
    : 'keys stored UNENCRYPTED';
  ctx.output.info(`store initialized in ${info.home} (origin ${info.origin ?? '?'}, ${how})`);
  const message = `Sigil: store initialized in ${info.home} — origin ${info.origin ?? '?'}; ${how}.`;
  if (info.keysEncrypted) void vscode.window.showInformationMessage(message);
  else void vscode.window.showWarningMessage(message);
  void vscode.commands.executeCommand(`${VIEW_ID}.focus`);
  return info;
}

// ---------------------------------------------------------------------------------------------------------
// Verify

async function verifyCanon(env: Env): Promise<VerifyResult> {
  const { ctx } = env;
  const info = await ctx.requireReady();
  const result = await withServerProgress(
    ctx,
    { title: 'Sigil: verifying the canon log', cancellable: false, kind: 'verify' },
    (workDoneToken) => ctx.request('sigil/canon.verify', undefined, { workDoneToken }),
  );
  ctx.verification.set({ home: info.home, result, at: new Date() });
  if (result.ok) {
    ctx.output.info(`verify: OK, ${result.checked} records, root ${result.rootHash}`);
    void vscode.window.showInformationMessage(
      `Sigil: canon log verified — ${result.checked} record${result.checked === 1 ? '' : 's'} OK.`,
    );
  } else {
    const bad = result.firstBad;
    const where =
      bad?.seq != null
        ? `record #${bad.seq}${bad.id ? ` (${bad.id.slice(0, 12)}…)` : ''}`
        : 'the log as a whole';
    const message = `Sigil: verification FAILED at ${where}: ${bad?.reason ?? 'unknown reason'}`;
    ctx.output.error(
      `verify: FAILED at ${where}${bad?.id ? ` id ${bad.id}` : ''}: ${bad?.reason ?? '?'} (${result.checked} checked)`,
    );
    const actions = bad?.id ? ['Open Record', 'Show Output'] : ['Show Output'];
    void vscode.window.showErrorMessage(message, ...actions).then((pick) => {
      if (pick === 'Open Record' && bad?.id) void vscode.commands.executeCommand('sigil.openRecord', bad.id);
      else if (pick === 'Show Output') ctx.output.show(true);
    });
  }
  return result;
}

// ---------------------------------------------------------------------------------------------------------
// Documents

async function showCheckpoint(env: Env): Promise<CheckpointResult> {
  await env.ctx.requireReady();
  const cp = await env.ctx.request('sigil/canon.checkpoint', undefined);
  const uri = env.docs.addCheckpoint(cp);
  const doc = await vscode.workspace.openTextDocument(uri);
  await vscode.window.showTextDocument(doc, { preview: true });
  env.ctx.output.info(`checkpoint: size ${cp.size}, root ${cp.rootHash}`);
  return cp;
}

interface RecordPick extends vscode.QuickPickItem {
  readonly id?: string;
  readonly seq?: number;
}

async function openRecord(env: Env, idArg: unknown): Promise<string | undefined> {
  const { ctx } = env;
  if (typeof idArg === 'string') return (await openRecordDocument(idArg)).uri.toString();
  await ctx.requireReady();

  const qp = vscode.window.createQuickPick<RecordPick>();
  qp.title = 'Sigil: Open Record';
  qp.placeholder = 'Pick a recent record, or paste a record id (64 hex characters) or #seq';
  qp.matchOnDescription = true;
  qp.matchOnDetail = true;
  qp.busy = true;
  let recent: RecordPick[] = [];
  const typed = (value: string): RecordPick[] => {
    const v = value.trim().toLowerCase();
    if (ID_PATTERN.test(v))
      return [{ label: `$(go-to-file) Open record ${v.slice(0, 16)}…`, detail: v, id: v, alwaysShow: true }];
    const seq = /^#?(\d{1,15})$/.exec(v);
    if (seq)
      return [{ label: `$(go-to-file) Open record #${seq[1]}`, seq: Number(seq[1]), alwaysShow: true }];
    return [];
  };
  const update = (): void => {
    qp.items = [...typed(qp.value), ...recent];
  };
  qp.onDidChangeValue(update);
  const picked = new Promise<RecordPick | undefined>((resolve) => {
    qp.onDidAccept(() => {
      // A typed id or #seq wins: Enter can come before the list is filtered, when the active item is
      // still the newest record.
      resolve(typed(qp.value)[0] ?? qp.selectedItems[0]);
      qp.hide();
    });
    qp.onDidHide(() => resolve(undefined));
  });
  qp.show();
  ctx
    .request('sigil/canon.list', { order: 'desc', limit: 50 })
    .then((page) => {
      recent = page.records.map((r) => ({
        label: `#${r.body.seq} ${r.body.kind}`,
        description: `${r.body.space} · ${shortTime(r.body.ts)} · ${r.body.actor}`,
        detail: r.id,
        id: r.id,
      }));
    })
    .catch((e: unknown) => {
      ctx.output.error(`listing recent records: ${(e as Error).message}`);
      qp.placeholder = `Could not list recent records (${(e as Error).message}); paste a record id`;
    })
    .finally(() => {
      qp.busy = false;
      update();
    });
  const pick = await picked;
  qp.dispose();
  if (!pick) return undefined;
  let id = pick.id;
  if (id === undefined && pick.seq !== undefined)
    id = (await ctx.request('sigil/canon.getBySeq', { seq: pick.seq })).id;
  if (id === undefined) return undefined;
  return (await openRecordDocument(id)).uri.toString();
}

// ---------------------------------------------------------------------------------------------------------
// Tree, passphrase, internals

async function refreshAuditLog(env: Env): Promise<void> {
  if (env.ctx.store.phase === 'ready') await env.ctx.refreshInfo();
  env.tree.refresh();
}

async function loadMore(env: Env, space: unknown): Promise<number> {
  if (!isSpace(space))
    throw new SigilError(
      'BAD_INPUT',
      `sigil.loadMore needs a space ("data" or "system"), got ${String(space)}`,
    );
  return env.tree.loadMore(space as Space);
}

async function enterPassphrase(env: Env, given: unknown): Promise<boolean> {
  const { ctx } = env;
  await ctx.whenStarted();
  const home = ctx.store.home ?? ctx.config.resolveHome();
  if (home === undefined)
    throw new SigilError('HOME_MISSING', 'open a folder (or set sigil.home) to use Sigil');
  let passphrase = typeof given === 'string' && given !== '' ? given : undefined;
  if (passphrase === undefined) {
    passphrase = await vscode.window.showInputBox({
      title: 'Sigil: key passphrase',
      prompt: `Passphrase of the keys in ${home} (kept in the editor's secret storage)`,
      password: true,
      ignoreFocusOut: true,
      validateInput: tooShort,
    });
  }
  if (passphrase === undefined) return false;
  const previous = await ctx.passphrases.get(home);
  await ctx.passphrases.set(home, passphrase);
  await ctx.restart('a new key passphrase was entered');
  const view = await ctx.ready();
  if (view.phase === 'needs-passphrase' && view.home === home) {
    // Not kept: the next start would fail the same way. The store stays closed; say why.
    if (previous !== undefined && previous !== passphrase) await ctx.passphrases.set(home, previous);
    else await ctx.passphrases.forget(home);
    ctx.report(
      new SigilError(
        view.problem?.code === 'PASSPHRASE_REQUIRED' ? 'PASSPHRASE_REQUIRED' : 'PASSPHRASE_WRONG',
        `${passphraseProblem(view)}. The passphrase was not kept; run "Sigil: Enter Key Passphrase…" to try again.`,
      ),
      'sigil.enterPassphrase',
    );
    return false;
  }
  return view.phase === 'ready';
}

async function forgetPassphrase(env: Env): Promise<void> {
  const { ctx } = env;
  const home = ctx.store.home ?? ctx.config.resolveHome();
  if (home === undefined) return;
  await ctx.passphrases.forget(home);
  ctx.output.info(`forgot the stored key passphrase of ${home}`);
  void vscode.window.showInformationMessage(
    `Sigil: the passphrase of ${home} was removed from the secret storage. The running server keeps the store open until it restarts.`,
  );
}

async function copyRecordId(node: unknown): Promise<string | undefined> {
  const n = node as Node | undefined;
  const id = n?.type === 'record' ? n.record.id : n?.type === 'damaged' ? n.entry.id : undefined;
  if (id === undefined) return undefined;
  await vscode.env.clipboard.writeText(id);
  return id;
}

/** Hidden: appends a record as the active identity (used by the integration suite and for development). */
async function appendRecord(env: Env, params: unknown): Promise<CanonicalRecord> {
  await env.ctx.requireReady();
  const p = asObject(params);
  if (typeof p.kind !== 'string')
    throw new SigilError('BAD_INPUT', 'sigil.appendRecord needs { kind, space?, payload }');
  const req: AppendParams = {
    kind: p.kind,
    space: isSpace(p.space) ? p.space : 'data',
    payload: p.payload ?? null,
    ...(Array.isArray(p.links) ? { links: p.links as AppendParams['links'] } : {}),
  };
  return env.ctx.request('sigil/canon.append', req);
}

/** Runs RustMentor on the active Rust editor and records the analysis (also what saving does). */
async function analyzeActiveFile(env: Env): Promise<string | null> {
  const editor = vscode.window.activeTextEditor;
  if (!editor || editor.document.languageId !== 'rust') {
    void vscode.window.showInformationMessage('RustMentor: open a Rust file first.');
    return null;
  }
  const r = await env.mentor.analyze(editor.document);
  if (r)
    void vscode.window.showInformationMessage(
      `RustMentor: ${r.diagnostics.length} finding(s), verdict ${r.verdict}${r.recordId ? `, recorded as ${r.recordId.slice(0, 12)}…` : ''}.`,
    );
  return r?.recordId ?? null;
}
