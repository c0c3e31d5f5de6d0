/**
 * The licence and identity commands of the extension: Issue Licence, Delegate Licence, Import Identity,
 * Select Active Identity, Verify Licence File, Revoke Licence. Each gathers input (or takes it as an argument
 * when run programmatically) and sends one sigil/license.* request; what is allowed is decided by the server.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as vscode from 'vscode';
import { SigilError } from '../../shared/src/errors.js';
import { parseExpiry } from '../../shared/src/expiry.js';
import { askLifetime } from './prompts.js';
import type { LicenseCheckResult, LicenseEntry } from '../../shared/src/protocol.js';
import type { LicenseChain } from '../../shared/src/license.js';
import type { Ctx } from './ctx.js';
import type { IdentityChoice } from './identities.js';
import type { LicenseNode } from './licenses.js';

const ROLES = ['guest', 'observer', 'operator', 'mentor', 'root'] as const;
type Role = (typeof ROLES)[number];

/** Arguments of Issue / Delegate Licence when run programmatically (tests, other extensions): no prompts. */
export interface LicenseArgs {
  readonly subject?: string;
  readonly role?: Role;
  readonly loa?: number;
  /** "30d", "12h" or an RFC 3339 time (default 30d). */
  readonly expires?: string;
  /** Make the new identity the active one (default: ask). */
  readonly activate?: boolean;
  /** Also write the identity (licence + unencrypted key) to this file. */
  readonly saveTo?: string;
}

export interface LicenseCommandResult {
  readonly licenseId: string;
  readonly subject: string;
  readonly chain: LicenseChain;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

async function home(ctx: Ctx): Promise<string> {
  return (await ctx.requireReady()).home;
}

async function askLicenseFields(
  args: LicenseArgs,
  title: string,
): Promise<{ subject: string; role: Role; loa?: number; expiresAt: string } | undefined> {
  const subject =
    str(args.subject) ??
    (await vscode.window.showInputBox({
      title: `${title} — subject`,
      prompt: 'Who the licence is for, e.g. agent:planner or alice',
      ignoreFocusOut: true,
      validateInput: (v) => (v.trim() === '' ? 'A subject is required' : null),
    }));
  if (subject === undefined) return undefined;
  let role: Role | undefined = args.role;
  if (role === undefined) {
    const pick = await vscode.window.showQuickPick(
      ROLES.map((r, i) => ({ label: r, description: `LOA ${i}` })),
      { title: `${title} — role`, placeHolder: 'The role (and level of access) the licence grants' },
    );
    if (!pick) return undefined;
    role = pick.label as Role;
  }
  const expires =
    str(args.expires) ??
    (await askLifetime(title, 'How long it is valid: 30d, 12h, 90m, or an RFC 3339 time', '30d'));
  if (expires === undefined) return undefined;
  return {
    subject: subject.trim(),
    role,
    ...(args.loa !== undefined ? { loa: args.loa } : {}),
    expiresAt: parseExpiry(expires, Date.now(), 'the lifetime'),
  };
}

/** A fresh Ed25519 key pair for a new licence's subject. */
async function newSubjectKey(): Promise<{ seed: Uint8Array; publicKey: string }> {
  const [{ publicKeyFromSeed }, { toBase64 }] = await Promise.all([
    import('../../shared/src/ed25519.js'),
    import('../../shared/src/bytes.js'),
  ]);
  const seed = new Uint8Array(randomBytes(32));
  return { seed, publicKey: toBase64(publicKeyFromSeed(seed)) };
}

/** Keeps the new identity in SecretStorage, optionally writes it to a file, and offers to switch to it. */
async function keepIdentity(
  ctx: Ctx,
  h: string,
  chain: LicenseChain,
  seed: Uint8Array,
  args: LicenseArgs,
): Promise<LicenseCommandResult> {
  const [{ createIdentity }, { writeIdentityFile }] = await Promise.all([
    import('../../shared/src/identity-file.js'),
    import('./keyFiles.js'),
  ]);
  let doc;
  try {
    doc = await createIdentity(chain, seed);
  } finally {
    seed.fill(0);
  }
  const choice = await ctx.identities.import(h, doc);
  if (args.saveTo) await writeIdentityFile(args.saveTo, doc);
  const leaf = chain[chain.length - 1]!.body;
  ctx.output.info(
    `licence ${leaf.id} for ${leaf.subject} (${leaf.role}, LOA ${leaf.loa}) kept in the secret storage`,
  );
  let activate = args.activate;
  if (activate === undefined) {
    const use = 'Use This Identity';
    const save = 'Save to File…';
    const pick = await vscode.window.showInformationMessage(
      `Sigil: licence issued to ${leaf.subject} (${leaf.role}, LOA ${leaf.loa}, expires ${leaf.expires_at}). Its key is kept in the editor's secret storage.`,
      use,
      save,
    );
    if (pick === save) {
      const target = await vscode.window.showSaveDialog({
        title: 'Save the identity (licence + private key)',
        filters: { 'Sigil identity': ['json'] },
      });
      if (target) {
        await writeIdentityFile(target.fsPath, doc);
        void vscode.window.showWarningMessage(
          `Sigil: ${target.fsPath} holds the private key unencrypted (mode 0600); anyone who can read it can act as ${leaf.subject}.`,
        );
      }
    }
    activate = pick === use;
  }
  if (activate) await ctx.identities.select(h, choice.key);
  return { licenseId: leaf.id, subject: leaf.subject, chain };
}

export async function issueLicense(ctx: Ctx, raw: unknown): Promise<LicenseCommandResult | undefined> {
  const args = (raw ?? {}) as LicenseArgs;
  const h = await home(ctx);
  const fields = await askLicenseFields(args, 'Sigil: Issue Licence');
  if (!fields) return undefined;
  const key = await newSubjectKey();
  let chain: LicenseChain;
  try {
    chain = (await ctx.request('sigil/license.issue', { ...fields, subjectKey: key.publicKey })).chain;
  } catch (e) {
    key.seed.fill(0);
    throw e;
  }
  return keepIdentity(ctx, h, chain, key.seed, args);
}

export async function delegateLicense(ctx: Ctx, raw: unknown): Promise<LicenseCommandResult | undefined> {
  const args = (raw ?? {}) as LicenseArgs;
  const h = await home(ctx);
  const me = await ctx.identities.active(h);
  if (!me)
    throw new SigilError(
      'BAD_USAGE',
      'delegating needs an active identity at mentor or above; run "Sigil: Select Active Identity"',
    );
  const asked = await askLicenseFields(args, 'Sigil: Delegate Licence');
  if (!asked) return undefined;
  // A lifetime typed at the prompt (or the default) stops at the holder's own expiry: a delegation may not
  // outlive its parent. One passed as an argument is taken as is, and refused if it does.
  const holderExpiry = me.chain[me.chain.length - 1]?.body.expires_at;
  const fields =
    args.expires === undefined &&
    holderExpiry !== undefined &&
    Date.parse(asked.expiresAt) > Date.parse(holderExpiry)
      ? { ...asked, expiresAt: holderExpiry }
      : asked;
  const { delegateLicense: delegate, newLicenseId } = await import('../../shared/src/license.js');
  const key = await newSubjectKey();
  let chain: LicenseChain;
  try {
    const now = new Date();
    chain = delegate(
      me.chain,
      {
        id: newLicenseId(new Uint8Array(randomBytes(16))),
        subject: fields.subject,
        subject_key: key.publicKey,
        role: fields.role,
        ...(fields.loa !== undefined ? { loa: fields.loa } : {}),
        issued_at: now,
        not_before: now,
        expires_at: fields.expiresAt,
      },
      { keyId: me.keyId, publicKey: me.publicKey, sign: (m) => me.signer.sign(m) },
    );
    await ctx.request('sigil/license.delegate', { chain });
  } catch (e) {
    key.seed.fill(0);
    throw e;
  }
  return keepIdentity(ctx, h, chain, key.seed, args);
}

export async function importIdentity(ctx: Ctx, raw: unknown): Promise<IdentityChoice | undefined> {
  const args = (raw ?? {}) as { file?: string; passphrase?: string; activate?: boolean };
  const h = await home(ctx);
  let file = str(args.file);
  if (!file) {
    const picked = await vscode.window.showOpenDialog({
      title: 'Sigil: Import Identity (licence + key file)',
      canSelectMany: false,
      filters: { 'Sigil identity': ['json'] },
    });
    if (!picked?.[0]) return undefined;
    file = picked[0].fsPath;
  }
  const { parseStrictJson } = await import('../../shared/src/jcs.js');
  const doc = parseStrictJson(await readFile(file, 'utf8'), file) as { key?: { protection?: string } };
  let passphrase = str(args.passphrase);
  if (passphrase === undefined && doc.key?.protection !== undefined && doc.key.protection !== 'none') {
    passphrase = await vscode.window.showInputBox({
      title: 'Sigil: Import Identity — passphrase',
      prompt: `The key in ${file} is encrypted; its passphrase`,
      password: true,
      ignoreFocusOut: true,
    });
    if (passphrase === undefined) return undefined;
  }
  const choice = await ctx.identities.import(h, doc, passphrase);
  ctx.output.info(`imported the identity of ${choice.subject ?? '?'} (licence ${choice.licenseId ?? '?'})`);
  if (args.activate !== false) await ctx.identities.select(h, choice.key);
  void vscode.window.showInformationMessage(
    `Sigil: imported ${choice.label}${args.activate !== false ? '; it is now the active identity' : ''}.`,
  );
  return choice;
}

export async function selectIdentity(ctx: Ctx, raw: unknown): Promise<string | undefined> {
  const h = (await ctx.ready()).home;
  if (!h) throw new SigilError('HOME_MISSING', 'open a folder (or set sigil.home) to use Sigil');
  const wanted = str(raw) ?? str((raw as { key?: unknown } | undefined)?.key);
  const { active, choices } = await ctx.identities.choices(h);
  let key = wanted;
  if (key === undefined) {
    const pick = await vscode.window.showQuickPick(
      choices.map((c) => ({
        label: c.label,
        description: c.key === active ? 'active' : c.licenseId ? `licence ${c.licenseId.slice(0, 8)}…` : '',
        key: c.key,
      })),
      { title: 'Sigil: Select Active Identity', placeHolder: 'Requests from this editor are signed with it' },
    );
    if (!pick) return undefined;
    key = pick.key;
  }
  await ctx.identities.select(h, key);
  ctx.output.info(`active identity: ${key}`);
  return key;
}

export async function verifyLicenseFile(ctx: Ctx, raw: unknown): Promise<LicenseCheckResult | undefined> {
  const args = (raw ?? {}) as { file?: string; quiet?: boolean };
  await home(ctx);
  let file = str(args.file);
  if (!file) {
    const picked = await vscode.window.showOpenDialog({
      title: 'Sigil: Verify Licence File',
      canSelectMany: false,
      filters: { 'Licence or identity': ['json'] },
    });
    if (!picked?.[0]) return undefined;
    file = picked[0].fsPath;
  }
  const [{ parseStrictJson }, { chainOfDocument }] = await Promise.all([
    import('../../shared/src/jcs.js'),
    import('../../shared/src/identity-file.js'),
  ]);
  const chain = chainOfDocument(parseStrictJson(await readFile(file, 'utf8'), file), file);
  const r = await ctx.request('sigil/license.verify', { chain });
  if (!args.quiet) {
    if (r.valid)
      void vscode.window.showInformationMessage(
        `Sigil: the licence is valid here — ${r.subject} is ${r.role} (LOA ${r.loa}) until ${r.expiresAt}.`,
      );
    else
      void vscode.window.showWarningMessage(`Sigil: the licence is NOT valid here (${r.code}): ${r.reason}`);
  }
  return r;
}

export async function revokeLicense(
  ctx: Ctx,
  raw: unknown,
): Promise<{ revoked: string; cascade: string[] } | undefined> {
  const node = raw as (LicenseNode & { type: 'license' }) | { id?: string; reason?: string } | undefined;
  let id = node && 'entry' in node ? node.entry.id : str((node as { id?: unknown } | undefined)?.id);
  let reason = str((node as { reason?: unknown } | undefined)?.reason);
  if (id === undefined) {
    const { licenses } = await ctx.request('sigil/license.list', {});
    const pick = await vscode.window.showQuickPick(
      licenses
        .filter((l: LicenseEntry) => l.status !== 'revoked')
        .map((l: LicenseEntry) => ({ label: l.subject, description: `${l.role} · ${l.id}`, id: l.id })),
      { title: 'Sigil: Revoke Licence', placeHolder: 'The licence to revoke (its delegations go with it)' },
    );
    if (!pick) return undefined;
    id = pick.id;
  }
  if (reason === undefined) {
    reason = await vscode.window.showInputBox({
      title: 'Sigil: Revoke Licence — reason',
      prompt: `Why licence ${id} is revoked (recorded in the canon)`,
      ignoreFocusOut: true,
      validateInput: (v) => (v.trim() === '' ? 'Say why' : null),
    });
    if (reason === undefined) return undefined;
  }
  const r = await ctx.request('sigil/license.revoke', { id, reason });
  void vscode.window.showInformationMessage(
    `Sigil: revoked ${r.revoked}${r.cascade.length ? ` and ${r.cascade.length} licence(s) delegated from it` : ''}.`,
  );
  return r;
}

export async function copyLicenseId(node: unknown): Promise<string | undefined> {
  const n = node as LicenseNode | undefined;
  if (n?.type !== 'license') return undefined;
  await vscode.env.clipboard.writeText(n.entry.id);
  return n.entry.id;
}
