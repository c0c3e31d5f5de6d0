/**
 * `sigil witness …` and `sigil proposal …`: the witness registry and system proposals. `witness keygen` and
 * `witness sign` need no store (a witness signs offline on its own machine); everything else is a
 * sigil/witness.* or sigil/proposal.* request through the service layer.
 */
import path from 'node:path';
import { open, readFile, rename } from 'node:fs/promises';
import { writeNewFile } from './output.js';
import { readJsonInput } from './input.js';
import { fromHex } from '../../../shared/src/bytes.js';
import { checkAndCosign, newWitnessState, type WitnessState } from '../../../shared/src/cosign.js';
import { parseVerifierKey } from '../../../shared/src/note.js';
import type { Command } from 'commander';
import { SigilError } from '../../../shared/src/errors.js';
import { parseStrictJson } from '../../../shared/src/jcs.js';
import { parseExpiry } from '../../../shared/src/expiry.js';
import { parseProposalBody, proposalId, signProposal } from '../../../shared/src/quorum.js';
import type {
  CheckpointRequest,
  ProposalExport,
  ProposalView,
  WitnessListResult,
} from '../../../shared/src/protocol.js';
import {
  createWitnessKey,
  readPublicWitness,
  readWitnessKey,
  writeWitnessKeyFiles,
} from '../governance/witness-keys.js';
import type { GovernanceCliContext } from './context.js';
import type { OwnerClient } from '../rpc/owner-socket.js';

/** Encrypts a witness key that `sigil witness keygen` makes, and unlocks one for `witness sign`. */
export const WITNESS_PASSPHRASE_ENV = 'SIGIL_WITNESS_PASSPHRASE';

export const SIGNATURE_FILE_TYPE = 'sigil.proposal-signature';

export interface SignatureFile {
  readonly type: typeof SIGNATURE_FILE_TYPE;
  readonly version: 1;
  readonly origin: string;
  readonly proposal_id: string;
  readonly signature: { readonly witnessId: string; readonly keyId: string; readonly sig: string };
}

/**
 * A witness key's passphrase: $SIGIL_WITNESS_PASSPHRASE, else the store's $SIGIL_PASSPHRASE (the owner's
 * witness key, made by init, is sealed with the store passphrase).
 */
function witnessKeyOptions(): { passphrase: () => Promise<string | undefined>; passphraseEnv: string } {
  return {
    passphrase: async () => process.env[WITNESS_PASSPHRASE_ENV] || process.env.SIGIL_PASSPHRASE || undefined,
    passphraseEnv: `${WITNESS_PASSPHRASE_ENV} (or SIGIL_PASSPHRASE for the owner's witness key)`,
  };
}

interface WitnessMemory {
  readonly type: 'sigil.witness-state';
  readonly version: 1;
  readonly logs: Readonly<Record<string, { readonly log_key: string; readonly state: WitnessState }>>;
}

async function readWitnessMemory(file: string): Promise<WitnessMemory> {
  const text = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null;
    throw e;
  });
  if (text === null) return { type: 'sigil.witness-state', version: 1, logs: {} };
  const doc = parseStrictJson(text, file) as Partial<WitnessMemory>;
  if (
    doc?.type !== 'sigil.witness-state' ||
    doc.version !== 1 ||
    typeof doc.logs !== 'object' ||
    doc.logs === null
  )
    throw new SigilError('BAD_INPUT', `${file}: not a Sigil witness state file`);
  return doc as WitnessMemory;
}

/** Replaces the state file atomically (write, sync, rename): a crash never leaves half a memory. */
async function writeWitnessMemory(file: string, memory: WitnessMemory): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  const handle = await open(tmp, 'w', 0o600);
  try {
    await handle.writeFile(JSON.stringify(memory, null, 2) + '\n', 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, file);
}

/** An exported proposal, checked: its id must be the SHA-256 of its body's JCS (else it was altered). */
export function checkProposalExport(value: unknown, where: string): ProposalExport {
  const v = value as Partial<ProposalExport>;
  if (typeof v !== 'object' || v === null || v.type !== 'sigil.proposal' || v.version !== 1)
    throw new SigilError('BAD_INPUT', `${where}: not a Sigil proposal export (sigil proposal export ID)`);
  if (typeof v.origin !== 'string' || typeof v.id !== 'string')
    throw new SigilError('BAD_INPUT', `${where}: origin and id must be strings`);
  const body = parseProposalBody(v.body);
  if (proposalId(body) !== v.id)
    throw new SigilError(
      'VERIFY_FAILED',
      `${where}: the id ${v.id} is not the SHA-256 of the proposal body: the file was altered; ask for a fresh export`,
    );
  return { type: 'sigil.proposal', version: 1, origin: v.origin, id: v.id, body };
}

function checkSignatureFile(value: unknown, where: string): SignatureFile {
  const v = value as Partial<SignatureFile>;
  if (
    typeof v !== 'object' ||
    v === null ||
    v.type !== SIGNATURE_FILE_TYPE ||
    v.version !== 1 ||
    !v.signature
  )
    throw new SigilError('BAD_INPUT', `${where}: not a Sigil proposal signature (sigil witness sign)`);
  return v as SignatureFile;
}

function witnessLines(r: WitnessListResult): string {
  const active = r.witnesses.filter((w) => w.status === 'active').length;
  return [
    `k = ${r.threshold} of ${active} active witness${active === 1 ? '' : 'es'}; head of system changes ${r.head ?? '(none)'}`,
    ...r.witnesses.map(
      (w) =>
        `  ${w.id.padEnd(16)} ${w.status.padEnd(8)} ${w.name}  key ${w.keyId ?? '-'}${w.rotations.length ? `  (${w.rotations.length} rotation${w.rotations.length === 1 ? '' : 's'})` : ''}${w.revokedAt ? `  revoked ${w.revokedAt}` : ''}`,
    ),
  ].join('\n');
}

export function proposalLines(p: ProposalView): string {
  const lines = [
    `${p.id}  ${p.status}  ${p.kind}`,
    `  proposer  ${p.proposer}; created ${p.createdAt}; expires ${p.expiresAt}`,
    `  change    ${JSON.stringify(p.change)}`,
    `  prev      ${p.prev ?? '(none)'}`,
    `  votes     ${p.votes.length} of k = ${p.threshold}${p.votes.length ? ` (${p.votes.join(', ')})` : ''}`,
  ];
  if (p.newThreshold !== undefined)
    lines.push(
      `  new set   ${p.newVotes?.length ?? 0} of k = ${p.newThreshold}${p.newVotes?.length ? ` (${p.newVotes.join(', ')})` : ''} (a registry change needs both)`,
    );
  if (p.unsigned.length) lines.push(`  missing   ${p.unsigned.join(', ')}`);
  for (const s of p.signatures)
    lines.push(
      `  signed    ${s.witnessId} key ${s.keyId}${s.counts ? '' : `  — does not count: ${s.problem ?? ''}`}`,
    );
  if (p.status === 'pending' || p.status === 'stale' || p.status === 'expired')
    lines.push(p.canCommit ? '  ready to commit' : `  cannot commit: ${p.blockers.join('; ')}`);
  if (p.committed)
    lines.push(`  committed ${p.committed.at} by ${p.committed.by} (record ${p.committed.recordId})`);
  if (p.rejected) lines.push(`  rejected  ${p.rejected.at} by ${p.rejected.by}: ${p.rejected.reason}`);
  return lines.join('\n');
}

export function registerQuorumCommands(program: Command, ctx: GovernanceCliContext): void {
  const { out, withClient, action } = ctx;
  const witness = program
    .command('witness')
    .description('witnesses: list, keygen, sign (offline), add, rotate, revoke');

  witness
    .command('list')
    .description('the witness registry: witnesses, keys, rotations and k')
    .action(
      action(async () => {
        const r = await withClient('witness list', (c) => c.request('sigil/witness.list', {}));
        out().result(r, () => witnessLines(r));
      }),
    );

  witness
    .command('keygen')
    .description(
      'make a witness key pair: DIR/ID.key.json (private, 0600) and DIR/ID.pub.json (needs no store)',
    )
    .requiredOption('--name <name>', 'the witness name on its signatures (no spaces or "+")')
    .option('--id <id>', 'the witness id (a-z 0-9 . _ -; default: the name)')
    .requiredOption('--out <dir>', 'where to write the two files')
    .action(
      action(async (opts: { name: string; id?: string; out: string }) => {
        const o = out();
        const passphrase = process.env[WITNESS_PASSPHRASE_ENV] || undefined;
        const key = await createWitnessKey(opts.id ?? opts.name, opts.name, { passphrase });
        const files = await writeWitnessKeyFiles(path.resolve(opts.out), key);
        if (!passphrase)
          o.warn(
            `the private key in ${files.keyFile} is NOT encrypted; set ${WITNESS_PASSPHRASE_ENV} to encrypt it (mode 0600 either way)`,
          );
        o.result(
          {
            ok: true,
            ...files,
            id: key.public.id,
            name: key.public.name,
            keyId: key.public.key_id,
            encrypted: !!passphrase,
          },
          () =>
            `witness ${key.public.id} (${key.public.name}), key ${key.public.key_id}\n  private ${files.keyFile}\n  public  ${files.publicFile} (give this one to the store owner)`,
        );
      }),
    );

  witness
    .command('sign')
    .description('sign an exported proposal with a witness key; prints the signature file (needs no store)')
    .argument('<proposal>', 'the file from "sigil proposal export", or - for standard input')
    .requiredOption('--key <file>', 'the private witness key file (ID.key.json)')
    .option('--out <file>', 'write the signature here instead of standard output')
    .action(
      action(async (file: string, opts: { key: string; out?: string }) => {
        const o = out();
        const exp = checkProposalExport(await readJsonInput(file, 'proposal'), file);
        const body = exp.body as { kind: string; change: unknown; expires_at: string; proposer: string };
        if (Date.parse(body.expires_at) <= Date.now())
          throw new SigilError(
            'BAD_INPUT',
            `proposal ${exp.id} expired at ${body.expires_at}; nothing was signed`,
          );
        const key = await readWitnessKey(opts.key, witnessKeyOptions());
        o.info(
          `signing as witness ${key.id} (key ${key.keyId}) proposal ${exp.id} of ${exp.origin}: ${body.kind} ${JSON.stringify(body.change)}, proposed by ${body.proposer}`,
        );
        const doc: SignatureFile = {
          type: SIGNATURE_FILE_TYPE,
          version: 1,
          origin: exp.origin,
          proposal_id: exp.id,
          signature: signProposal(exp.id, key.id, key.signer),
        };
        const text = JSON.stringify(doc, null, 2) + '\n';
        if (opts.out) {
          await writeNewFile(opts.out, text);
          o.result({ ok: true, file: opts.out, ...doc }, () => `signature written to ${opts.out}`);
        } else process.stdout.write(text);
      }),
    );

  witness
    .command('cosign')
    .description(
      "cosign a log's checkpoint after checking it is consistent with what this witness cosigned before (needs no store)",
    )
    .argument('<request>', 'the file from "sigil canon checkpoint --for-witness ID", or - for standard input')
    .requiredOption('--key <file>', 'the private witness key file')
    .option(
      '--state <file>',
      "this witness's memory of the logs it cosigned (default: next to the key, ID.state.json)",
    )
    .option('--out <file>', 'write the cosigned checkpoint here instead of standard output')
    .action(
      action(async (file: string, opts: { key: string; state?: string; out?: string }) => {
        const o = out();
        const req = (await readJsonInput(file, 'checkpoint request')) as Partial<CheckpointRequest>;
        if (req?.type !== 'sigil.checkpoint-request' || req.version !== 1 || typeof req.note !== 'string')
          throw new SigilError(
            'BAD_INPUT',
            `${file}: not a Sigil checkpoint request (sigil canon checkpoint --for-witness)`,
          );
        const key = await readWitnessKey(opts.key, witnessKeyOptions());
        const stateFile =
          opts.state ?? path.join(path.dirname(path.resolve(opts.key)), `${key.id}.state.json`);
        const memory = await readWitnessMemory(stateFile);
        const origin = String(req.origin);
        const logKey = parseVerifierKey(String(req.logKey));
        const known = memory.logs[origin];
        if (known && known.log_key !== req.logKey)
          throw new SigilError(
            'VERIFY_FAILED',
            `the log ${origin} now presents key ${String(req.logKey)}, but this witness cosigned it under ${known.log_key}: refusing`,
          );
        const state = known?.state ?? newWitnessState(origin);
        if (state.size !== req.oldSize)
          throw new SigilError(
            'BAD_INPUT',
            `this witness last cosigned size ${state.size} of ${origin}, but the request proves consistency from size ${String(req.oldSize)}; ask for a request from size ${state.size} (sigil canon checkpoint --for-witness ${key.id} --from ${state.size})`,
          );
        const result = checkAndCosign(
          state,
          req.note,
          (req.proof ?? []).map((h) => fromHex(h)),
          {
            logKeys: [{ name: logKey.name, publicKey: logKey.publicKey }],
            witnessName: key.name,
            signer: key.signer,
            timestamp: Math.floor(Date.now() / 1000),
          },
        );
        if (!result.ok)
          throw new SigilError('VERIFY_FAILED', `refused to cosign (${result.reason}): ${result.message}`, {
            reason: result.reason,
          });
        await writeWitnessMemory(stateFile, {
          ...memory,
          logs: { ...memory.logs, [origin]: { log_key: String(req.logKey), state: result.state } },
        });
        const doc = {
          type: 'sigil.cosignature',
          version: 1,
          origin,
          witness: key.id,
          size: result.checkpoint.size,
          note: result.note,
        };
        const text = JSON.stringify(doc, null, 2) + '\n';
        o.info(
          `cosigned ${origin} at size ${result.checkpoint.size} as ${key.name}; remembered in ${stateFile}`,
        );
        if (opts.out) {
          await writeNewFile(opts.out, text);
          o.result({ ok: true, file: opts.out, ...doc }, () => `cosignature written to ${opts.out}`);
        } else process.stdout.write(text);
      }),
    );

  const propose = async (
    what: string,
    kind: string,
    change: Record<string, unknown>,
    expires: string | undefined,
  ): Promise<void> => {
    const p = await withClient(what, (c) =>
      c.request('sigil/proposal.create', {
        kind,
        change,
        ...(expires ? { expiresAt: parseExpiry(expires) } : {}),
      }),
    );
    out().result(
      p,
      () => `${proposalLines(p)}\nexport it for the witnesses: sigil proposal export ${p.id} > proposal.json`,
    );
  };

  witness
    .command('add')
    .description('propose adding a witness (from its public file)')
    .argument('<public-file>', "the witness's ID.pub.json")
    .option('--expires <when>', 'proposal lifetime (24h, 7d, …)', '24h')
    .action(
      action(async (file: string, opts: { expires: string }) => {
        const w = await readPublicWitness(file);
        await propose(
          'witness add',
          'witness.add',
          { id: w.id, name: w.name, public_key: w.publicKey },
          opts.expires,
        );
      }),
    );

  witness
    .command('rotate')
    .description("propose replacing a witness's key (needs the old and the new set's threshold)")
    .requiredOption('--id <id>', 'the witness')
    .requiredOption('--key <public-file>', 'the new key: an ID.pub.json from "sigil witness keygen"')
    .option('--expires <when>', 'proposal lifetime', '24h')
    .action(
      action(async (opts: { id: string; key: string; expires: string }) => {
        const w = await readPublicWitness(opts.key);
        await propose(
          'witness rotate',
          'witness.rotate',
          { id: opts.id, public_key: w.publicKey },
          opts.expires,
        );
      }),
    );

  witness
    .command('revoke')
    .description(
      'propose revoking a witness (its signatures stop counting at once, on pending proposals too)',
    )
    .requiredOption('--id <id>', 'the witness')
    .option('--expires <when>', 'proposal lifetime', '24h')
    .action(
      action(async (opts: { id: string; expires: string }) => {
        await propose('witness revoke', 'witness.revoke', { id: opts.id }, opts.expires);
      }),
    );

  const proposal = program
    .command('proposal')
    .description('system proposals: create, list, show, export, attach, sign, commit, reject');

  proposal
    .command('create')
    .description('propose a system change on top of the current head')
    .requiredOption(
      '--kind <kind>',
      'witness.add, witness.rotate, witness.revoke, quorum.set_threshold, policy.update or trust.update_params',
    )
    .requiredOption('--change <file>', 'the change as a JSON object (file, or - for standard input)')
    .option('--expires <when>', 'proposal lifetime (24h, 7d, …)', '24h')
    .action(
      action(async (opts: { kind: string; change: string; expires: string }) => {
        const change = await readJsonInput(opts.change, '--change');
        if (typeof change !== 'object' || change === null || Array.isArray(change))
          throw new SigilError('BAD_INPUT', '--change must be a JSON object');
        await propose('proposal create', opts.kind, change as Record<string, unknown>, opts.expires);
      }),
    );

  proposal
    .command('list')
    .description('every proposal with its status and votes')
    .action(
      action(async () => {
        const { proposals } = await withClient('proposal list', (c) => c.request('sigil/proposal.list', {}));
        out().result({ proposals }, () =>
          proposals.length
            ? proposals
                .map(
                  (p) =>
                    `${p.id}  ${p.status.padEnd(9)}  ${p.kind.padEnd(20)}  ${p.votes.length}/${p.threshold}  expires ${p.expiresAt}`,
                )
                .join('\n')
            : '(no proposals)',
        );
      }),
    );

  proposal
    .command('show')
    .description('one proposal: who signed (k of n), who is missing, and whether a commit would succeed')
    .argument('<id>', 'proposal id')
    .action(
      action(async (id: string) => {
        const p = await withClient('proposal show', (c) => c.request('sigil/proposal.show', { id }));
        out().result(p, () => proposalLines(p));
      }),
    );

  proposal
    .command('export')
    .description('print the proposal as a file for a witness to sign offline')
    .argument('<id>', 'proposal id')
    .option('--out <file>', 'write it here instead of standard output')
    .action(
      action(async (id: string, opts: { out?: string }) => {
        const exp = await withClient('proposal export', (c) => c.request('sigil/proposal.export', { id }));
        const text = JSON.stringify(exp, null, 2) + '\n';
        if (!opts.out) process.stdout.write(text);
        else {
          await writeNewFile(opts.out, text);
          out().result({ ok: true, file: opts.out, id }, () => `proposal ${id} written to ${opts.out}`);
        }
      }),
    );

  const attach = async (c: OwnerClient, id: string, sig: SignatureFile): Promise<ProposalView> => {
    if (sig.proposal_id !== id)
      throw new SigilError('BAD_INPUT', `the signature is for proposal ${sig.proposal_id}, not ${id}`);
    return c.request('sigil/proposal.attach', { id, signature: sig.signature });
  };

  proposal
    .command('attach')
    .description('attach a witness\'s signature file (from "sigil witness sign")')
    .argument('<id>', 'proposal id')
    .argument('<signature>', 'signature file, or - for standard input')
    .action(
      action(async (id: string, file: string) => {
        const sig = checkSignatureFile(await readJsonInput(file, 'signature'), file);
        const p = await withClient('proposal attach', (c) => attach(c, id, sig));
        out().result(p, () => proposalLines(p));
      }),
    );

  proposal
    .command('sign')
    .description('sign a proposal here with a witness key file and attach the signature')
    .argument('<id>', 'proposal id')
    .requiredOption('--key <file>', 'the private witness key file')
    .action(
      action(async (id: string, opts: { key: string }) => {
        const key = await readWitnessKey(opts.key, witnessKeyOptions());
        const p = await withClient('proposal sign', async (c) => {
          const exp = checkProposalExport(await c.request('sigil/proposal.export', { id }), `proposal ${id}`);
          return attach(c, id, {
            type: SIGNATURE_FILE_TYPE,
            version: 1,
            origin: exp.origin,
            proposal_id: id,
            signature: signProposal(id, key.id, key.signer),
          });
        });
        out().result(p, () => proposalLines(p));
      }),
    );

  proposal
    .command('commit')
    .description('commit a proposal (root; k distinct active witnesses; prev still the head; not expired)')
    .argument('<id>', 'proposal id')
    .action(
      action(async (id: string) => {
        const p = await withClient('proposal commit', (c) => c.request('sigil/proposal.commit', { id }));
        out().result(p, () => `committed\n${proposalLines(p)}`);
      }),
    );

  proposal
    .command('reject')
    .description('reject a pending proposal')
    .argument('<id>', 'proposal id')
    .requiredOption('--reason <text>', 'why (recorded)')
    .action(
      action(async (id: string, opts: { reason: string }) => {
        const p = await withClient('proposal reject', (c) =>
          c.request('sigil/proposal.reject', { id, reason: opts.reason }),
        );
        out().result(p, () => proposalLines(p));
      }),
    );
}
