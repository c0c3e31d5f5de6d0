/**
 * The witness and proposal commands: Create Proposal, Sign Proposal (with a witness key file, here), Attach
 * Signature (a file from `sigil witness sign`), Export Proposal (for a witness who signs offline), Commit,
 * Reject, and Add / Rotate / Revoke Witness (each a proposal of its own). Every command takes its input as
 * an argument when run programmatically (tests, other extensions) and asks for it otherwise; one run from a
 * tree item's menu gets the item. What is allowed, and whether the quorum holds, is decided by the server;
 * the editor only refuses to sign a proposal whose id is not the hash of its body, and does not send a
 * commit the server has already said would fail.
 */
import { askLifetime } from './prompts.js';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as vscode from 'vscode';
import { SigilError } from '../../shared/src/errors.js';
import type { ProposalExport, ProposalView, WitnessView, PolicyRow } from '../../shared/src/protocol.js';
import type { LoadedWitnessKey } from '../../shared/src/witness-key-file.js';
import type { Ctx } from './ctx.js';
import type { ProposalNode } from './proposals.js';
import type { WitnessNode } from './witnesses.js';
import { changeSummary, votesText } from './quorumPresent.js';

/** What `sigil witness sign` writes (server/src/cli/quorum-commands.ts). */
const SIGNATURE_FILE_TYPE = 'sigil.proposal-signature';
const MAX_FILE_BYTES = 64 * 1024;

const KIND_DESCRIPTIONS: Record<string, { description: string; template: unknown }> = {
  'policy.update': {
    description: 'change the policy table (LOA or trust threshold of operations)',
    template: { 'canon.export': { loa: 'observer' } },
  },
  'trust.update_params': {
    description: 'change trust model parameters',
    template: { learningRate: 0.05 },
  },
  'witness.add': {
    description: 'add a witness (or use "Sigil: Add Witness…" with its public file)',
    template: { id: 'bob', name: 'bob', public_key: '<base64 Ed25519 public key>' },
  },
  'witness.rotate': {
    description: "replace a witness's key (needs the old and the new set's k)",
    template: { id: 'bob', public_key: '<base64 Ed25519 public key>' },
  },
  'witness.revoke': {
    description: 'revoke a witness: its signatures stop counting at once',
    template: { id: 'bob' },
  },
  'quorum.set_threshold': { description: 'change k', template: { threshold: 2 } },
};

// ---------------------------------------------------------------------------------------------------------
// Arguments

export interface CreateProposalArgs {
  readonly kind?: string;
  /** The change: a JSON object, or its text. */
  readonly change?: unknown;
  /** "24h", "7d" or an RFC 3339 time (default 24h). */
  readonly expires?: string;
}

export interface SignProposalArgs {
  readonly id?: string;
  /** The private witness key file (ID.key.json). */
  readonly keyFile?: string;
  /** Its passphrase (default: the store's, then a prompt). */
  readonly passphrase?: string;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function obj(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** A tree item (or its proposal) given by a menu, when that is what the command got. */
function proposalNode(raw: unknown): ProposalView | undefined {
  const n = raw as ProposalNode | undefined;
  if (n && typeof n === 'object' && 'type' in n && 'view' in n) return n.view;
  return undefined;
}

function witnessNode(raw: unknown): WitnessView | undefined {
  const n = raw as WitnessNode | undefined;
  if (n && typeof n === 'object' && 'type' in n && 'witness' in n) return n.witness;
  return undefined;
}

/** True when run with arguments (not from the palette or a tree item): no confirmations then. */
function programmatic(raw: unknown): boolean {
  return raw !== undefined && proposalNode(raw) === undefined && witnessNode(raw) === undefined;
}

function expiresAt(expires: string | undefined): Promise<string | undefined> {
  if (expires === undefined) return Promise.resolve(undefined);
  return import('../../shared/src/expiry.js').then(({ parseExpiry }) =>
    parseExpiry(expires, Date.now(), 'the proposal lifetime'),
  );
}

async function readJsonFile(file: string, what: string): Promise<unknown> {
  const st = await stat(file).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') throw new SigilError('NOT_FOUND', `${what}: no such file ${file}`);
    throw e;
  });
  if (st.size > MAX_FILE_BYTES)
    throw new SigilError('BAD_INPUT', `${file} is larger than ${MAX_FILE_BYTES} bytes; not a ${what}`);
  const { parseStrictJson } = await import('../../shared/src/jcs.js');
  return parseStrictJson(await readFile(file, 'utf8'), file);
}

async function pickProposal(
  ctx: Ctx,
  title: string,
  filter: (p: ProposalView) => boolean,
  none: string,
): Promise<string | undefined> {
  const { proposals } = await ctx.request('sigil/proposal.list', {});
  const candidates = proposals.filter(filter);
  if (candidates.length === 0) {
    void vscode.window.showInformationMessage(`Sigil: ${none}`);
    return undefined;
  }
  const pick = await vscode.window.showQuickPick(
    candidates.map((p) => ({
      label: `${p.kind}: ${changeSummary(p, 60)}`,
      description: `${p.status} · ${votesText(p)}${p.canCommit ? ' · ready' : ''}`,
      detail: p.id,
      id: p.id,
    })),
    { title, placeHolder: 'The proposal', matchOnDetail: true },
  );
  return pick?.id;
}

async function proposalIdOf(
  ctx: Ctx,
  raw: unknown,
  title: string,
  filter: (p: ProposalView) => boolean,
  none: string,
): Promise<string | undefined> {
  const fromNode = proposalNode(raw)?.id;
  if (fromNode) return fromNode;
  const given = str(raw) ?? str(obj(raw).id);
  if (given) return given;
  return pickProposal(ctx, title, filter, none);
}

const isOpen = (p: ProposalView): boolean =>
  p.status === 'pending' || p.status === 'stale' || p.status === 'expired';

function after(view: ProposalView): string {
  if (view.status === 'committed') return 'committed';
  if (view.canCommit) return `${votesText(view)}: ready to commit`;
  return `${votesText(view)}; ${view.blockers.join('; ')}`;
}

/** Offers the next step after a proposal changed: sign it, or commit it once it can be. */
function offerNext(ctx: Ctx, view: ProposalView, message: string): void {
  const actions = view.canCommit ? ['Commit'] : view.status === 'pending' ? ['Sign…', 'Copy Id'] : [];
  void vscode.window.showInformationMessage(message, ...actions).then((pick) => {
    if (pick === 'Commit')
      void vscode.commands.executeCommand('sigil.commitProposal', { view, type: 'proposal' });
    else if (pick === 'Sign…')
      void vscode.commands.executeCommand('sigil.signProposal', { view, type: 'proposal' });
    else if (pick === 'Copy Id') void vscode.env.clipboard.writeText(view.id);
  });
  ctx.output.info(message.replace(/^Sigil: /, ''));
}

// ---------------------------------------------------------------------------------------------------------
// Create

async function create(
  ctx: Ctx,
  kind: string,
  change: Record<string, unknown>,
  expires: string | undefined,
): Promise<ProposalView> {
  const at = await expiresAt(expires);
  const view = await ctx.request('sigil/proposal.create', {
    kind,
    change,
    ...(at !== undefined ? { expiresAt: at } : {}),
  });
  offerNext(
    ctx,
    view,
    `Sigil: proposal ${view.id.slice(0, 12)}… (${kind}: ${changeSummary(view, 60)}) created; it needs ${view.threshold} witness signature${view.threshold === 1 ? '' : 's'}${view.newThreshold !== undefined ? ` (and ${view.newThreshold} of the new set)` : ''}.`,
  );
  return view;
}

function parseChange(text: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new SigilError('BAD_INPUT', `the change is not JSON: ${(e as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new SigilError('BAD_INPUT', 'the change must be a JSON object');
  return v as Record<string, unknown>;
}

function askExpires(title: string): Thenable<string | undefined> {
  return askLifetime(
    title,
    'How long witnesses have to sign it: 24h, 7d, 90m, or an RFC 3339 time (at most 90 days)',
    '24h',
  );
}

export async function createProposal(ctx: Ctx, raw: unknown): Promise<ProposalView | undefined> {
  const args = obj(raw) as CreateProposalArgs;
  await ctx.requireReady();
  const title = 'Sigil: Create Proposal';
  let kind = str(args.kind);
  if (kind === undefined) {
    const { PROPOSAL_KINDS } = await import('../../shared/src/quorum.js');
    const pick = await vscode.window.showQuickPick(
      PROPOSAL_KINDS.map((k) => ({ label: k, description: KIND_DESCRIPTIONS[k]?.description ?? '' })),
      { title: `${title} — kind`, placeHolder: 'What the system change is' },
    );
    if (!pick) return undefined;
    kind = pick.label;
  }
  let change: Record<string, unknown>;
  if (args.change !== undefined) {
    change = typeof args.change === 'string' ? parseChange(args.change) : obj(args.change);
    if (typeof args.change !== 'string' && change !== args.change)
      throw new SigilError('BAD_INPUT', 'the change must be a JSON object');
  } else {
    const text = await vscode.window.showInputBox({
      title: `${title} — change (${kind})`,
      prompt: 'The change as a JSON object',
      value: JSON.stringify(KIND_DESCRIPTIONS[kind]?.template ?? {}),
      ignoreFocusOut: true,
      validateInput: (v) => {
        try {
          parseChange(v);
          return null;
        } catch (e) {
          return (e as Error).message;
        }
      },
    });
    if (text === undefined) return undefined;
    change = parseChange(text);
  }
  let expires = str(args.expires);
  if (expires === undefined && !programmatic(raw)) {
    expires = await askExpires(title);
    if (expires === undefined) return undefined;
  }
  return create(ctx, kind, change, expires);
}

// ---------------------------------------------------------------------------------------------------------
// Sign (here, with a witness key file) and attach

/**
 * The export of proposal `id`, checked before anything is signed: it is a Sigil proposal export of this
 * store, its id is the one asked for, and that id is SHA-256 of the JCS of its body (so what is shown is what
 * is signed). Exported for the unit suite.
 */
export async function checkExport(exp: ProposalExport, id: string, origin: string | undefined) {
  const { parseProposalBody, proposalId } = await import('../../shared/src/quorum.js');
  if (exp?.type !== 'sigil.proposal' || exp.version !== 1)
    throw new SigilError('BAD_INPUT', `the server's export of proposal ${id} is not a Sigil proposal export`);
  if (exp.id !== id)
    throw new SigilError(
      'VERIFY_FAILED',
      `asked for proposal ${id} but the export is of ${exp.id}; nothing was signed`,
    );
  if (origin !== undefined && exp.origin !== origin)
    throw new SigilError(
      'VERIFY_FAILED',
      `the export of proposal ${id} names the store ${exp.origin}, not this one (${origin}); nothing was signed`,
    );
  const body = parseProposalBody(exp.body);
  const computed = proposalId(body);
  if (computed !== exp.id)
    throw new SigilError(
      'VERIFY_FAILED',
      `proposal ${id}: its id is not the SHA-256 of its body (${computed}); the proposal was altered; nothing was signed`,
    );
  return body;
}

async function loadWitnessKey(
  ctx: Ctx,
  home: string,
  file: string,
  given: string | undefined,
): Promise<LoadedWitnessKey> {
  const { readWitnessKey } = await import('./keyFiles.js');
  if (given !== undefined) return readWitnessKey(file, { passphrase: () => Promise.resolve(given) });
  // The owner's witness key (made by init) is sealed with the store passphrase: try that one first.
  const known =
    (await ctx.passphrases.get(home)) ?? (process.env[ctx.config.passphraseEnvName()] || undefined);
  if (known !== undefined) {
    try {
      return await readWitnessKey(file, { passphrase: () => Promise.resolve(known) });
    } catch (e) {
      if (!(e instanceof SigilError) || e.code !== 'PASSPHRASE_WRONG') throw e;
    }
  }
  return readWitnessKey(file, {
    passphrase: async () => {
      const typed = await vscode.window.showInputBox({
        title: 'Sigil: Sign Proposal — witness key passphrase',
        prompt: `The witness key in ${file} is encrypted; its passphrase`,
        password: true,
        ignoreFocusOut: true,
      });
      if (typed === undefined) throw new vscode.CancellationError();
      return typed;
    },
  });
}

export async function signProposal(ctx: Ctx, raw: unknown): Promise<ProposalView | undefined> {
  const args = obj(raw) as SignProposalArgs;
  const info = await ctx.requireReady();
  const id = await proposalIdOf(
    ctx,
    raw,
    'Sigil: Sign Proposal',
    (p) => p.status === 'pending',
    'there is no pending proposal to sign.',
  );
  if (!id) return undefined;
  const exp = await ctx.request('sigil/proposal.export', { id });
  const body = await checkExport(exp, id, info.origin);
  if (Date.parse(body.expires_at) <= Date.now())
    throw new SigilError('BAD_INPUT', `proposal ${id} expired at ${body.expires_at}; nothing was signed`);

  const given = str(args.keyFile);
  let keyFile = given;
  if (keyFile === undefined) {
    const picked = await vscode.window.showOpenDialog({
      title: 'Sigil: Sign Proposal — witness key file (ID.key.json)',
      canSelectMany: false,
      defaultUri: vscode.Uri.file(path.join(info.home, 'witnesses')),
      filters: { 'Witness key': ['json'] },
    });
    if (!picked?.[0]) return undefined;
    keyFile = picked[0].fsPath;
  }
  const key = await loadWitnessKey(ctx, info.home, keyFile, str(args.passphrase));
  // Run with the key file as an argument (tests, other extensions), it signs without asking.
  if (given === undefined) {
    const sign = 'Sign';
    const pick = await vscode.window.showWarningMessage(
      `Sign proposal ${id.slice(0, 12)}… as witness ${key.id}?`,
      {
        modal: true,
        detail: `${body.kind}: ${JSON.stringify(body.change)}\n\nProposed by ${body.proposer} on ${body.created_at}; expires ${body.expires_at}.\nSigned with key ${key.keyId} over "sigil-proposal/v1" + the proposal id ${id} (the SHA-256 of its body, checked here).`,
      },
      sign,
    );
    if (pick !== sign) return undefined;
  }
  const { signProposal: sign } = await import('../../shared/src/quorum.js');
  const signature = sign(id, key.id, key.signer);
  const view = await ctx.request('sigil/proposal.attach', { id, signature });
  offerNext(ctx, view, `Sigil: signed proposal ${id.slice(0, 12)}… as ${key.id} — ${after(view)}.`);
  return view;
}

export async function attachSignature(ctx: Ctx, raw: unknown): Promise<ProposalView | undefined> {
  const args = obj(raw);
  const info = await ctx.requireReady();
  let file = str(args.file);
  if (file === undefined) {
    const picked = await vscode.window.showOpenDialog({
      title: 'Sigil: Attach Signature — a file from "sigil witness sign"',
      canSelectMany: false,
      filters: { 'Proposal signature': ['json'] },
    });
    if (!picked?.[0]) return undefined;
    file = picked[0].fsPath;
  }
  const doc = obj(await readJsonFile(file, 'proposal signature'));
  const sig = obj(doc.signature);
  if (
    doc.type !== SIGNATURE_FILE_TYPE ||
    doc.version !== 1 ||
    typeof doc.proposal_id !== 'string' ||
    typeof sig.witnessId !== 'string' ||
    typeof sig.keyId !== 'string' ||
    typeof sig.sig !== 'string'
  )
    throw new SigilError(
      'BAD_INPUT',
      `${file} is not a Sigil proposal signature (from "sigil witness sign")`,
    );
  const id = proposalNode(raw)?.id ?? str(args.id) ?? doc.proposal_id;
  if (doc.proposal_id !== id)
    throw new SigilError('BAD_INPUT', `${file} is a signature of proposal ${doc.proposal_id}, not ${id}`);
  if (info.origin !== undefined && doc.origin !== info.origin)
    throw new SigilError(
      'BAD_INPUT',
      `${file} is a signature for the store ${String(doc.origin)}, not this one (${info.origin})`,
    );
  const view = await ctx.request('sigil/proposal.attach', {
    id,
    signature: { witnessId: sig.witnessId, keyId: sig.keyId, sig: sig.sig },
  });
  offerNext(
    ctx,
    view,
    `Sigil: attached the signature of ${sig.witnessId} to proposal ${id.slice(0, 12)}… — ${after(view)}.`,
  );
  return view;
}

export async function exportProposal(ctx: Ctx, raw: unknown): Promise<string | undefined> {
  const args = obj(raw);
  await ctx.requireReady();
  const id = await proposalIdOf(ctx, raw, 'Sigil: Export Proposal', isOpen, 'there is no open proposal.');
  if (!id) return undefined;
  const exp = await ctx.request('sigil/proposal.export', { id });
  const text = JSON.stringify(exp, null, 2) + '\n';
  let file = str(args.file);
  if (file === undefined) {
    const target = await vscode.window.showSaveDialog({
      title: 'Sigil: Export Proposal — for a witness to sign offline (sigil witness sign)',
      defaultUri: vscode.Uri.file(path.join(ctx.store.home ?? '', `proposal-${id.slice(0, 12)}.json`)),
      filters: { 'Sigil proposal': ['json'] },
    });
    if (!target) return undefined;
    await writeFile(target.fsPath, text);
    file = target.fsPath;
  } else {
    await writeFile(file, text, { flag: 'wx' }).catch((e: NodeJS.ErrnoException) => {
      throw e.code === 'EEXIST' ? new SigilError('HOME_EXISTS', `${file} already exists`) : e;
    });
  }
  void vscode.window.showInformationMessage(
    `Sigil: proposal ${id.slice(0, 12)}… written to ${file}. A witness signs it with "sigil witness sign ${path.basename(file)} --key ID.key.json"; attach the result with "Sigil: Attach Signature…".`,
  );
  return file;
}

// ---------------------------------------------------------------------------------------------------------
// Commit and reject

/** The commit was not sent: the server says it would fail. Says why, like an error, but as a warning. */
function blocked(ctx: Ctx, view: ProposalView): void {
  const err = new SigilError(
    'ACCESS_DENIED',
    `proposal ${view.id.slice(0, 12)}… cannot be committed (${view.status}, ${votesText(view)}): ${view.blockers.join('; ')}`,
    { operation: 'system.commit', cause: 'quorum', blockers: [...view.blockers] },
  );
  ctx.lastError = err;
  ctx.output.warn(`sigil.commitProposal: not sent: ${err.message}`);
  const actions = view.status === 'pending' ? ['Sign…'] : [];
  void vscode.window.showWarningMessage(`Sigil: ${err.message}`, ...actions).then((pick) => {
    if (pick) void vscode.commands.executeCommand('sigil.signProposal', { view, type: 'proposal' });
  });
}

export async function commitProposal(ctx: Ctx, raw: unknown): Promise<ProposalView | undefined> {
  await ctx.requireReady();
  const id = await proposalIdOf(
    ctx,
    raw,
    'Sigil: Commit Proposal',
    (p) => p.status === 'pending',
    'there is no pending proposal to commit.',
  );
  if (!id) return undefined;
  const view = await ctx.request('sigil/proposal.show', { id });
  if (!view.canCommit) {
    blocked(ctx, view);
    return undefined;
  }
  if (!programmatic(raw)) {
    const commit = 'Commit';
    const pick = await vscode.window.showWarningMessage(
      `Commit proposal ${id.slice(0, 12)}…?`,
      {
        modal: true,
        detail: `${view.kind}: ${JSON.stringify(view.change)}\n\nSigned by ${view.votes.join(', ')} (${votesText(view)}). It takes effect at once and is recorded in the system space.`,
      },
      commit,
    );
    if (pick !== commit) return undefined;
  }
  const committed = await ctx.request('sigil/proposal.commit', { id });
  void vscode.window.showInformationMessage(
    `Sigil: committed proposal ${id.slice(0, 12)}… (${committed.kind}: ${changeSummary(committed, 60)}).`,
  );
  ctx.output.info(`committed proposal ${id} (${committed.kind})`);
  return committed;
}

export async function rejectProposal(ctx: Ctx, raw: unknown): Promise<ProposalView | undefined> {
  await ctx.requireReady();
  const id = await proposalIdOf(
    ctx,
    raw,
    'Sigil: Reject Proposal',
    isOpen,
    'there is no open proposal to reject.',
  );
  if (!id) return undefined;
  let reason = str(obj(raw).reason);
  if (reason === undefined) {
    reason = await vscode.window.showInputBox({
      title: 'Sigil: Reject Proposal — reason',
      prompt: `Why proposal ${id.slice(0, 12)}… is rejected (recorded in the canon)`,
      ignoreFocusOut: true,
      validateInput: (v) => (v.trim() === '' ? 'Say why' : null),
    });
    if (reason === undefined) return undefined;
  }
  const view = await ctx.request('sigil/proposal.reject', { id, reason: reason.trim() });
  void vscode.window.showInformationMessage(`Sigil: rejected proposal ${id.slice(0, 12)}….`);
  return view;
}

// ---------------------------------------------------------------------------------------------------------
// Witnesses: each change is a proposal (witness.add / witness.rotate / witness.revoke)

async function publicFile(args: Record<string, unknown>, title: string): Promise<string | undefined> {
  const given = str(args.file);
  if (given !== undefined) return given;
  const picked = await vscode.window.showOpenDialog({
    title,
    canSelectMany: false,
    filters: { 'Public witness file': ['json'] },
  });
  return picked?.[0]?.fsPath;
}

async function pickWitness(ctx: Ctx, title: string): Promise<string | undefined> {
  const { witnesses } = await ctx.request('sigil/witness.list', {});
  const active = witnesses.filter((w) => w.status === 'active');
  const pick = await vscode.window.showQuickPick(
    active.map((w) => ({ label: w.name, description: `${w.id} · key ${w.keyId ?? '-'}`, id: w.id })),
    { title, placeHolder: 'The witness' },
  );
  return pick?.id;
}

export async function addWitness(ctx: Ctx, raw: unknown): Promise<ProposalView | undefined> {
  const args = obj(raw);
  await ctx.requireReady();
  const file = await publicFile(
    args,
    'Sigil: Add Witness — its public file (ID.pub.json from "sigil witness keygen")',
  );
  if (file === undefined) return undefined;
  const { readPublicWitness } = await import('./keyFiles.js');
  const w = await readPublicWitness(file);
  return create(ctx, 'witness.add', { id: w.id, name: w.name, public_key: w.publicKey }, str(args.expires));
}

export async function rotateWitness(ctx: Ctx, raw: unknown): Promise<ProposalView | undefined> {
  const args = obj(raw);
  await ctx.requireReady();
  const id = witnessNode(raw)?.id ?? str(args.id) ?? (await pickWitness(ctx, 'Sigil: Rotate Witness Key'));
  if (id === undefined) return undefined;
  const file = await publicFile(args, `Sigil: Rotate Witness Key — the new public key file of ${id}`);
  if (file === undefined) return undefined;
  const { readPublicWitness } = await import('./keyFiles.js');
  const w = await readPublicWitness(file);
  if (w.id !== id && !programmatic(raw)) {
    const go = 'Use It';
    const pick = await vscode.window.showWarningMessage(
      `${path.basename(file)} is a key of witness ${w.id}, not ${id}. Propose it as ${id}'s new key anyway?`,
      { modal: true },
      go,
    );
    if (pick !== go) return undefined;
  }
  return create(ctx, 'witness.rotate', { id, public_key: w.publicKey }, str(args.expires));
}

export async function revokeWitness(ctx: Ctx, raw: unknown): Promise<ProposalView | undefined> {
  const args = obj(raw);
  await ctx.requireReady();
  const id = witnessNode(raw)?.id ?? str(args.id) ?? (await pickWitness(ctx, 'Sigil: Revoke Witness'));
  if (id === undefined) return undefined;
  if (!programmatic(raw)) {
    const go = 'Propose Revocation';
    const pick = await vscode.window.showWarningMessage(
      `Propose revoking witness ${id}?`,
      {
        modal: true,
        detail:
          'Once committed, its signatures stop counting at once, on pending proposals too. The revocation itself needs k of the current witnesses and k of the set without it.',
      },
      go,
    );
    if (pick !== go) return undefined;
  }
  return create(ctx, 'witness.revoke', { id }, str(args.expires));
}

// ---------------------------------------------------------------------------------------------------------
// Internals

export async function copyProposalId(raw: unknown): Promise<string | undefined> {
  const id = proposalNode(raw)?.id;
  if (id === undefined) return undefined;
  await vscode.env.clipboard.writeText(id);
  return id;
}

/** Hidden: the effective policy table (sigil/policy.show), e.g. after a committed policy.update. */
export async function policyTable(ctx: Ctx): Promise<{ operations: PolicyRow[] }> {
  await ctx.requireReady();
  return ctx.request('sigil/policy.show', {});
}
