/**
 * `sigil whoami`, `sigil license …`, `sigil policy show` and `sigil trust …`: thin front doors over the
 * sigil/license.*, sigil/policy.show and sigil/trust.* requests. Decisions are the service layer's; this file
 * only turns flags into params and results into words.
 */
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { Option } from 'commander';
import { SigilError } from '../../../shared/src/errors.js';
import { fromBase64, toBase64 } from '../../../shared/src/bytes.js';
import { publicKeyFromSeed } from '../../../shared/src/ed25519.js';
import {
  ROLES,
  delegateLicense,
  newLicenseId,
  type LicenseChain,
  type Role,
} from '../../../shared/src/license.js';
import { formatLoa } from '../../../shared/src/policy.js';
import { parseStrictJson } from '../../../shared/src/jcs.js';
import { parseExpiry } from '../../../shared/src/expiry.js';
import type { LicenseCheckResult, LicenseEntry, TrustReport } from '../../../shared/src/protocol.js';
import {
  createIdentity,
  chainOfDocument,
  publicFromChain,
  writeIdentityFile,
} from '../governance/identity.js';
import { writeNewFile, type Output } from './output.js';
import { readInput } from './input.js';
import type { GovernanceCliContext } from './context.js';

const DEFAULT_LIFETIME = '30d';

/** 30 days, or the holder's own expiry if that comes first (a delegation may not outlive its parent). */
export function defaultDelegationExpiry(holderExpiresAt: string | undefined, now = Date.now()): string {
  const wanted = parseExpiry(DEFAULT_LIFETIME, now);
  return holderExpiresAt !== undefined && Date.parse(holderExpiresAt) < Date.parse(wanted)
    ? holderExpiresAt
    : wanted;
}

/** The environment variable that encrypts an identity file the CLI creates (issue/delegate --new-key). */
export const NEW_IDENTITY_PASSPHRASE_ENV = 'SIGIL_NEW_IDENTITY_PASSPHRASE';

function parseRole(v: string): Role {
  if (!(ROLES as readonly string[]).includes(v))
    throw new SigilError('BAD_USAGE', `--role must be one of ${ROLES.join(', ')}, got ${JSON.stringify(v)}`);
  return v as Role;
}

function parseLoaArg(v: string): number {
  const byName = (ROLES as readonly string[]).indexOf(v);
  if (byName >= 0) return byName;
  if (/^[0-4]$/.test(v)) return Number(v);
  throw new SigilError(
    'BAD_USAGE',
    `--loa must be 0..4 or a level name (${ROLES.join(', ')}), got ${JSON.stringify(v)}`,
  );
}

/** A subject public key file: standard base64 of 32 bytes, or JSON with a `public_key` field. */
async function readSubjectKey(file: string): Promise<string> {
  const text = (await readInput(file, '--subject-key')).trim();
  let b64 = text;
  if (text.startsWith('{')) {
    const doc = parseStrictJson(text, file) as { public_key?: unknown };
    if (typeof doc.public_key !== 'string')
      throw new SigilError('BAD_INPUT', `${file}: a JSON key file needs a "public_key" field (base64)`);
    b64 = doc.public_key;
  }
  let bytes: Uint8Array;
  try {
    bytes = fromBase64(b64);
  } catch {
    bytes = new Uint8Array(0);
  }
  if (bytes.length !== 32 || toBase64(bytes) !== b64)
    throw new SigilError('BAD_INPUT', `${file}: not a base64 Ed25519 public key (32 bytes)`);
  return b64;
}

/** The licence chain in a file: an identity, a public identity, or a bare JSON array of licences. */
export async function readChainFile(file: string): Promise<unknown> {
  return chainOfDocument(parseStrictJson(await readInput(file, 'licence file'), file), file);
}

interface KeyFlags {
  subjectKey?: string;
  newKey?: boolean;
}

/** The subject key for a new licence: a fresh seed (--new-key) or a public key file (--subject-key). */
async function subjectKeyOf(flags: KeyFlags): Promise<{ publicKey: string; seed: Uint8Array | null }> {
  if (flags.newKey && flags.subjectKey)
    throw new SigilError('BAD_USAGE', '--new-key and --subject-key exclude each other');
  if (flags.subjectKey) return { publicKey: await readSubjectKey(flags.subjectKey), seed: null };
  if (!flags.newKey)
    throw new SigilError(
      'BAD_USAGE',
      'say whose key the licence binds: --new-key (make one, written with the licence to --out) or --subject-key FILE',
    );
  const seed = new Uint8Array(randomBytes(32));
  return { publicKey: toBase64(publicKeyFromSeed(seed)), seed };
}

/**
 * Writes what the holder needs: with a fresh key, an identity file (licence chain + key, encrypted when
 * $SIGIL_NEW_IDENTITY_PASSPHRASE is set); with someone else's key, the public identity (chain only).
 */
async function writeLicenseOut(
  o: Output,
  file: string,
  chain: LicenseChain,
  seed: Uint8Array | null,
): Promise<{ file: string; containsKey: boolean; encrypted: boolean }> {
  if (seed === null) {
    await writeNewFile(file, JSON.stringify(publicFromChain(chain), null, 2) + '\n');
    return { file, containsKey: false, encrypted: false };
  }
  const passphrase = process.env[NEW_IDENTITY_PASSPHRASE_ENV] || undefined;
  try {
    const identity = await createIdentity(chain, seed, { passphrase });
    await writeIdentityFile(file, identity);
  } finally {
    seed.fill(0);
  }
  if (!passphrase)
    o.warn(
      `the private key in ${file} is NOT encrypted: anyone who can read it can act with this licence. Set ${NEW_IDENTITY_PASSPHRASE_ENV} to encrypt it, or keep the file private (it is written with mode 0600).`,
    );
  return { file, containsKey: true, encrypted: passphrase !== undefined };
}

function outExists(file: string): SigilError {
  return new SigilError(
    'HOME_EXISTS',
    `${file} already exists; choose another --out (nothing was overwritten)`,
    {
      path: file,
    },
  );
}

/** Refuses an existing --out before anything is issued, so a licence is never recorded and then lost. */
function checkOut(file: string): string {
  const target = path.resolve(file);
  if (existsSync(target)) throw outExists(target);
  if (!existsSync(path.dirname(target)))
    throw new SigilError('NOT_FOUND', `--out: directory ${path.dirname(target)} does not exist`);
  return target;
}

function licenseLines(e: LicenseEntry): string {
  const chain = e.chainIds.length > 1 ? `  chain ${e.chainIds.join(' → ')}` : '';
  const revoked = e.revoked ? `  (${e.revoked.reason})` : '';
  return `${e.id}  ${e.status.padEnd(13)}  ${e.subject.padEnd(20)}  ${e.role.padEnd(8)}  ${formatLoa(e.loa).padEnd(12)}  expires ${e.expiresAt}${chain}${revoked}`;
}

function checkLines(r: LicenseCheckResult): string {
  if (!r.valid) return `INVALID (${r.code ?? 'invalid'}): ${r.reason ?? ''}`;
  return [
    `valid: ${r.subject} is ${r.role}, LOA ${r.loa ?? 0}`,
    `  licence  ${r.licenseId}`,
    `  expires  ${r.expiresAt}`,
    `  chain    ${(r.chainIds ?? []).join(' → ')}`,
  ].join('\n');
}

function trustLines(r: TrustReport, detailed: boolean): string {
  const head = `${r.subject} for ${r.operation}: score ${r.score.toFixed(3)}, threshold ${r.threshold} — ${r.meetsThreshold ? 'meets it' : 'BELOW it'} (LOA ${formatLoa(r.loa)})`;
  if (!detailed) return head;
  const rows = (Object.keys(r.features) as Array<keyof typeof r.features>).map(
    (k) =>
      `  ${k.padEnd(12)} x=${r.features[k].toFixed(3)}  w=${r.weights[k].toFixed(3).padStart(7)}  contribution ${r.contributions[k].toFixed(3).padStart(7)}`,
  );
  return [
    head,
    ...rows,
    `  bias ${r.bias.toFixed(3)}, logit ${r.logit.toFixed(3)}; history ${r.history.good.toFixed(2)} good / ${r.history.bad.toFixed(2)} bad; ${r.requestsInWindow} requests in the rate window`,
  ].join('\n');
}

export function registerGovernanceCommands(program: Command, ctx: GovernanceCliContext): void {
  const { out, withClient, action } = ctx;

  program
    .command('whoami')
    .description('who the store takes you to be: subject, role, LOA and licence chain')
    .action(
      action(async () => {
        const me = await withClient('whoami', (c) => c.request('sigil/license.whoami', {}));
        out().result(me, () =>
          me.authenticated
            ? `${me.subject}: role ${me.role}, LOA ${me.loa}\n  licence  ${me.licenseId}\n  key      ${me.keyId}\n  expires  ${me.expiresAt}\n  chain    ${me.chainIds.join(' → ')}`
            : 'anonymous guest (no identity: pass --identity FILE or set SIGIL_IDENTITY)',
        );
      }),
    );

  const license = program.command('license').description('licences: issue, delegate, verify, revoke, list');

  const keyOptions = (cmd: Command): Command =>
    cmd
      .requiredOption('--subject <name>', 'who the licence is for, e.g. agent:planner')
      .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`, parseRole)
      .option('--loa <level>', "level of access, 0..4 or a name (default: the role's)", parseLoaArg)
      .option(
        '--expires <when>',
        'lifetime (30d, 12h, …) or an RFC 3339 time (default 30d, for a delegation never past your own)',
      )
      .option('--subject-key <file>', "the subject's public key (base64, or JSON with public_key)")
      .option('--new-key', 'make a new key pair and write it with the licence to --out')
      .requiredOption('--out <file>', 'where to write the identity (or, with --subject-key, the licence)');

  keyOptions(
    license.command('issue').description("issue a licence signed by the store's root key (root only)"),
  ).action(
    action(
      async (
        opts: KeyFlags & { subject: string; role: Role; loa?: number; expires: string; out: string },
      ) => {
        const o = out();
        const target = checkOut(opts.out);
        const expiresAt = parseExpiry(opts.expires ?? DEFAULT_LIFETIME);
        const key = await subjectKeyOf(opts);
        let result;
        try {
          result = await withClient('license issue', (c) =>
            c.request('sigil/license.issue', {
              subject: opts.subject,
              role: opts.role,
              ...(opts.loa !== undefined ? { loa: opts.loa } : {}),
              expiresAt,
              subjectKey: key.publicKey,
            }),
          );
        } catch (e) {
          key.seed?.fill(0);
          throw e;
        }
        const written = await writeLicenseOut(o, target, result.chain, key.seed);
        const b = result.license.body;
        o.result(
          { ok: true, license: result.license, chain: result.chain, ...written },
          () =>
            `issued licence ${b.id} to ${b.subject}: ${b.role}, LOA ${formatLoa(b.loa)}, expires ${b.expires_at}\n  written to ${written.file}${written.containsKey ? ' (identity: licence + key)' : ' (licence only)'}`,
        );
      },
    ),
  );

  keyOptions(
    license
      .command('delegate')
      .description('issue a sub-licence signed by your identity (mentor or above; never above your own)'),
  ).action(
    action(
      async (
        opts: KeyFlags & { subject: string; role: Role; loa?: number; expires: string; out: string },
      ) => {
        const o = out();
        const target = checkOut(opts.out);
        const me = await ctx.callerIdentity();
        if (!me) throw new SigilError('BAD_USAGE', 'delegating needs your identity: pass --identity FILE');
        const expiresAt = opts.expires
          ? parseExpiry(opts.expires)
          : defaultDelegationExpiry(me.chain[me.chain.length - 1]?.body.expires_at);
        const key = await subjectKeyOf(opts);
        const now = new Date();
        let chain: LicenseChain;
        try {
          chain = delegateLicense(
            me.chain,
            {
              id: newLicenseId(new Uint8Array(randomBytes(16))),
              subject: opts.subject,
              subject_key: key.publicKey,
              role: opts.role,
              ...(opts.loa !== undefined ? { loa: opts.loa } : {}),
              issued_at: now,
              not_before: now,
              expires_at: expiresAt,
            },
            { keyId: me.keyId, publicKey: me.publicKey, sign: (m) => me.signer.sign(m) },
          );
          await withClient('license delegate', (c) => c.request('sigil/license.delegate', { chain }));
        } catch (e) {
          key.seed?.fill(0);
          throw e;
        }
        const written = await writeLicenseOut(o, target, chain, key.seed);
        const b = chain[chain.length - 1]!.body;
        o.result(
          { ok: true, license: chain[chain.length - 1], chain, ...written },
          () =>
            `delegated licence ${b.id} to ${b.subject}: ${b.role}, LOA ${formatLoa(b.loa)}, expires ${b.expires_at}\n  chain ${chain.map((l) => l.body.id).join(' → ')}\n  written to ${written.file}`,
        );
      },
    ),
  );

  license
    .command('verify')
    .description('check a licence or identity file against this store (exit 3 when invalid, saying why)')
    .argument('<file>', 'identity, public identity, or JSON array of licences')
    .action(
      action(async (file: string) => {
        const chain = await readChainFile(file);
        const r = await withClient('license verify', (c) => c.request('sigil/license.verify', { chain }));
        out().result(r, () => checkLines(r));
        if (!r.valid) ctx.setExitCode(3);
      }),
    );

  license
    .command('revoke')
    .description('revoke a licence and everything delegated from it (root only)')
    .argument('<id>', 'licence id (32 hex characters)')
    .requiredOption('--reason <text>', 'why (recorded in the canon)')
    .action(
      action(async (id: string, opts: { reason: string }) => {
        const r = await withClient('license revoke', (c) =>
          c.request('sigil/license.revoke', { id, reason: opts.reason }),
        );
        out().result(
          { ok: true, ...r },
          () =>
            `revoked ${r.revoked}${r.cascade.length ? `, and delegated from it: ${r.cascade.join(', ')}` : ''}\n  record ${r.recordId}`,
        );
      }),
    );

  license
    .command('list')
    .description('every licence recorded in the store, with its status')
    .addOption(
      new Option('--status <status>', 'only this status').choices([
        'valid',
        'expired',
        'revoked',
        'not-yet-valid',
      ]),
    )
    .action(
      action(async (opts: { status?: string }) => {
        const { licenses } = await withClient('license list', (c) => c.request('sigil/license.list', {}));
        const shown = opts.status ? licenses.filter((l) => l.status === opts.status) : licenses;
        out().result({ licenses: shown }, () =>
          shown.length ? shown.map(licenseLines).join('\n') : '(no licences)',
        );
      }),
    );

  program
    .command('policy')
    .description('the policy table')
    .command('show')
    .description('every operation with the LOA and trust score it requires')
    .action(
      action(async () => {
        const { operations } = await withClient('policy show', (c) => c.request('sigil/policy.show', {}));
        out().result({ operations }, () =>
          operations
            .map(
              (r) =>
                `${r.operation.padEnd(20)}  ${r.loa.padEnd(8)}  trust ≥ ${String(r.trustThreshold).padEnd(4)}  ${r.action.padEnd(7)}  ${r.sensitivity.padEnd(12)}  ${r.description}${r.changedBy ? `  [changed by ${Object.values(r.changedBy).join(', ')}]` : ''}`,
            )
            .join('\n'),
        );
      }),
    );

  const trust = program
    .command('trust')
    .description('the logistic trust model: score, explain, feedback, status');
  const query = (name: 'score' | 'explain', description: string): void => {
    trust
      .command(name)
      .description(description)
      .requiredOption('--subject <name>', 'the subject')
      .requiredOption('--op <operation>', 'an operation of the policy table, e.g. canon.append')
      .action(
        action(async (opts: { subject: string; op: string }) => {
          const r = await withClient(`trust ${name}`, (c) =>
            c.request(`sigil/trust.${name}`, { subject: opts.subject, operation: opts.op }),
          );
          out().result(r, () => trustLines(r, name === 'explain'));
        }),
      );
  };
  query('score', "a subject's trust score for an operation, against its threshold");
  query('explain', "each feature's value, weight and contribution to a subject's score");

  trust
    .command('feedback')
    .description('record that what a subject did was good or bad (a signed record; updates the model)')
    .requiredOption('--subject <name>', 'the subject judged')
    .requiredOption('--op <operation>', 'the operation it performed')
    .addOption(
      new Option('--outcome <outcome>', 'good or bad').choices(['good', 'bad']).makeOptionMandatory(),
    )
    .option('--note <text>', 'why (recorded)')
    .action(
      action(async (opts: { subject: string; op: string; outcome: 'good' | 'bad'; note?: string }) => {
        const r = await withClient('trust feedback', (c) =>
          c.request('sigil/trust.feedback', {
            subject: opts.subject,
            operation: opts.op,
            outcome: opts.outcome,
            ...(opts.note ? { note: opts.note } : {}),
          }),
        );
        out().result(
          { ok: true, ...r },
          () =>
            `recorded ${r.outcome} for ${r.subject} (${r.operation}): score ${r.scoreBefore.toFixed(3)} → ${r.scoreAfter.toFixed(3)}\n  record ${r.recordId}`,
        );
      }),
    );

  trust
    .command('status')
    .description('the model parameters, the prior they decay toward, and subject histories')
    .option('--subject <name>', 'only this subject')
    .action(
      action(async (opts: { subject?: string }) => {
        const r = await withClient('trust status', (c) =>
          c.request('sigil/trust.status', opts.subject ? { subject: opts.subject } : {}),
        );
        out().result(r, () =>
          [
            `weights ${JSON.stringify(r.params.w)}, bias ${r.params.b.toFixed(3)}`,
            `prior   ${JSON.stringify(r.prior.w)}, bias ${r.prior.b.toFixed(3)}`,
            ...(r.subjects.length
              ? r.subjects.map(
                  (s) =>
                    `  ${s.subject.padEnd(24)} good ${s.good.toFixed(2)}  bad ${s.bad.toFixed(2)}  history ${s.history.toFixed(3)}`,
                )
              : ['  (no subject histories)']),
          ].join('\n'),
        );
      }),
    );
}
