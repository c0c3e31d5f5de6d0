/**
 * The `sigil` command-line tool. It parses arguments, resolves the home, calls the service layer and
 * prints; exit codes are documented in docs/cli.md and come from the SigilError codes.
 */
import { Command, CommanderError, Option } from 'commander';
import { existsSync } from 'node:fs';
import { SigilError } from '../../../shared/src/errors.js';
import { canonicalize, type JsonValue } from '../../../shared/src/jcs.js';
import { isSpace, type Space } from '../../../shared/src/record.js';
import { createOutput, reportError, writeNewFile, type Output } from './output.js';
import { readJsonInput } from './input.js';
import { resolveHome, requireHome, initHome } from '../runtime/home.js';
import { processPassphraseSource } from '../runtime/passphrase.js';
import type { CanonApi } from '../service/canon-api.js';
import type { OwnerClient } from '../rpc/owner-socket.js';
import { protocolCanonApi } from '../rpc/remote-api.js';
import { chooseIdentity, connectService, loadIdentity, signingClient } from './client.js';
import type { LoadedIdentity } from '../governance/identity.js';
import { registerGovernanceCommands } from './governance-commands.js';
import type { GlobalOptions } from './context.js';
import { registerQuorumCommands } from './quorum-commands.js';
import { registerMemoryCommands } from './memory-commands.js';
import { registerRagCommands } from './rag-commands.js';
import { registerMentorCommands } from './mentor-commands.js';
import { registerMcpCommands } from './mcp-commands.js';
import { readPublicWitness } from '../governance/witness-keys.js';
import { exportCanon, exportToFile, verifyExport } from '../canon/export.js';
import { migrate } from '../canon/migrate.js';
import { serveHome } from '../serve.js';
import { readLegacyFile } from '../canon/migrate.js';
import { loadConfig } from '../config/load.js';
import { formatRecord, formatVerify } from './format.js';

import { VERSION } from '../version.js';

function proofLines(proof: readonly string[]): string[] {
  return proof.length === 0
    ? ['proof: (empty: nothing to prove between equal sizes)']
    : ['proof:', ...proof.map((h) => `  ${h}`)];
}

function parseIntArg(name: string) {
  return (v: string): number => {
    if (!/^(0|[1-9][0-9]*)$/.test(v) || !Number.isSafeInteger(Number(v))) {
      throw new SigilError(
        'BAD_USAGE',
        `${name} must be a non-negative whole number, got ${JSON.stringify(v)}`,
      );
    }
    return Number(v);
  };
}

function parseSpace(v: string): Space {
  if (!isSpace(v))
    throw new SigilError('BAD_USAGE', `--space must be "data" or "system", got ${JSON.stringify(v)}`);
  return v;
}

export async function runCli(argv: string[]): Promise<number> {
  let exitCode = 0;
  let jsonMode = argv.includes('--json');
  const program = new Command();
  program
    .name('sigil')
    .description('Sigil: a signed, encrypted, tamper-evident log (the canon) for LLM agents and modules.')
    .version(VERSION, '-V, --version')
    .option('--home <dir>', 'Sigil home (default: $SIGIL_HOME, else the nearest .sigil/ upward)')
    .option('--json', 'print machine-readable JSON')
    .option(
      '--identity <file>',
      "identity file (licence + key) that signs every request (default: $SIGIL_IDENTITY, else the home's owner identity)",
    )
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeErr: (s) => {
        if (!jsonMode) process.stderr.write(s);
      },
    });

  const globals = (): GlobalOptions => program.opts<GlobalOptions>();
  const out = (): Output => createOutput(globals().json === true);
  const env = process.env;
  const passphrase = processPassphraseSource(env);
  const cwd = process.cwd();

  /**
   * Runs `fn` against the home's service layer: through the owner's socket when a language server or
   * `sigil serve` owns the store, else through the same handlers on the store opened in this process. Every
   * request is signed with the chosen identity and passes the same gate either way.
   */
  /** The caller's identity, read and unlocked once per command (unlocking an encrypted one runs scrypt). */
  let identityOnce: Promise<LoadedIdentity | null> | null = null;
  function callerIdentity(): Promise<LoadedIdentity | null> {
    identityOnce ??= (async () => {
      const home = requireHome(resolveHome(globals().home, env, cwd), cwd);
      return loadIdentity(chooseIdentity(globals().identity, env, home, cwd), env, passphrase);
    })();
    return identityOnce;
  }

  async function withClient<T>(what: string, fn: (client: OwnerClient) => Promise<T>): Promise<T> {
    const home = requireHome(resolveHome(globals().home, env, cwd), cwd);
    const identity = await callerIdentity();
    const client = signingClient(
      await connectService({ home, env, passphrase, what: `sigil ${what}` }),
      identity,
    );
    try {
      return await fn(client);
    } finally {
      await client.close();
    }
  }

  async function withApi<T>(what: string, fn: (api: CanonApi) => Promise<T>): Promise<T> {
    return withClient(what, (client) => fn(protocolCanonApi(client)));
  }

  const action =
    <A extends unknown[]>(fn: (...args: A) => Promise<void>) =>
    async (...args: A): Promise<void> => {
      jsonMode = globals().json === true;
      await fn(...args);
    };

  program
    .command('init')
    .description('create a Sigil home: keys, store (with its genesis record) and sigil.toml')
    .option('--origin <origin>', 'checkpoint origin line (default: sigil.local/<root key id prefix>)')
    .option(
      '--witness <file>',
      'a genesis witness: its public file from "sigil witness keygen" (repeat for each; default: the owner alone)',
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option(
      '--threshold <k>',
      'how many witnesses must sign a system change (default 1)',
      parseIntArg('--threshold'),
    )
    .action(
      action(async (opts: { origin?: string; witness?: string[]; threshold?: number }) => {
        const loc = resolveHome(globals().home, env, cwd);
        const home = loc && loc.how !== 'search' ? loc.home : `${cwd}/.sigil`;
        const o = out();
        const witnesses = [];
        for (const f of opts.witness ?? []) witnesses.push(await readPublicWitness(f));
        if (opts.threshold !== undefined && witnesses.length === 0 && opts.threshold !== 1)
          throw new SigilError('BAD_USAGE', '--threshold above 1 needs as many --witness files');
        const res = await initHome({
          home,
          env,
          passphrase,
          ownerDescription: 'sigil init',
          ...(opts.origin ? { origin: opts.origin } : {}),
          ...(witnesses.length ? { witnesses } : {}),
          ...(opts.threshold !== undefined ? { threshold: opts.threshold } : {}),
        });
        try {
          if (res.witnesses.ids.length === 1 && res.witnesses.threshold === 1)
            o.warn(
              `system changes need the signature of one witness (${res.witnesses.ids[0]}, k = 1): they rest on a single key. Add witnesses with "sigil witness add" (see docs/witnesses.md).`,
            );
          if (!res.encrypted) {
            o.warn(
              `PRIVATE KEYS ARE STORED UNENCRYPTED in ${home}/keystore.json, identities/owner.json and witnesses/owner.key.json. Anyone who can read those files as your user can sign as this store, act as its owner and vote as its witness. Set SIGIL_PASSPHRASE (or answer the prompt) when running "sigil init" to encrypt them.`,
            );
          }
          const ks = res.runtime.keystore;
          o.result(
            {
              ok: true,
              home,
              origin: res.origin,
              rootKeyId: ks.root.keyId,
              runtimeKeyId: ks.runtime.keyId,
              dataKeyId: ks.dataKeyId,
              keysEncrypted: res.encrypted,
              genesis: (await res.runtime.store.getBySeq(0)).id,
              ownerIdentity: res.ownerIdentity,
              witnesses: res.witnesses,
            },
            () =>
              [
                `Initialized Sigil home ${home}`,
                `  origin          ${res.origin}`,
                `  root key        ${ks.root.keyId}`,
                `  runtime key     ${ks.runtime.keyId}`,
                `  keys encrypted  ${res.encrypted ? 'yes' : 'NO'}`,
                `  owner identity  ${res.ownerIdentity.file} (${res.ownerIdentity.subject}, root licence ${res.ownerIdentity.licenseId})`,
                `  witnesses       ${res.witnesses.ids.join(', ')} (k = ${res.witnesses.threshold})${res.witnesses.ownerKeyFile ? `; owner witness key ${res.witnesses.ownerKeyFile}` : ''}`,
              ].join('\n'),
          );
        } finally {
          await res.runtime.close();
        }
      }),
    );

  const canon = program.command('canon').description('the canon: append, read, verify, prove, export');

  canon
    .command('append')
    .description('append a record; prints its id')
    .requiredOption('--kind <kind>', 'record kind, lowercase dotted words, e.g. note.created')
    .addOption(new Option('--space <space>', 'data or system').default('data').argParser(parseSpace))
    .requiredOption('--payload <file>', 'JSON payload file, or - for standard input')
    .action(
      action(async (opts: { kind: string; space: Space; payload: string }) => {
        const payload = (await readJsonInput(opts.payload, '--payload')) as JsonValue;
        const rec = await withApi('canon append', (api) =>
          api.append({ kind: opts.kind, space: opts.space, payload }),
        );
        out().result({ ok: true, id: rec.id, seq: rec.body.seq, record: rec }, () => rec.id);
      }),
    );

  canon
    .command('get')
    .description('print one record')
    .argument('<id>', 'record id (64 hex characters)')
    .action(
      action(async (id: string) => {
        const view = await withApi('canon get', (api) => api.get(id));
        out().result(view.record, () => {
          const v = view.verification;
          const status = v.ok
            ? `verified: signature ok, included in the tree of size ${v.inclusion?.treeSize ?? '?'}`
            : `NOT VERIFIED: ${v.reason ?? 'unknown reason'}`;
          return `${formatRecord(view.record)}\n${status}`;
        });
      }),
    );

  canon
    .command('list')
    .description('list records, oldest first unless --order desc')
    .addOption(new Option('--space <space>', 'only this space').argParser(parseSpace))
    .option('--kind <kind>', 'only this kind')
    .option('--limit <n>', 'page size (1..1000)', parseIntArg('--limit'), 50)
    .option('--cursor <cursor>', 'continue after a previous page (its nextCursor)')
    .addOption(new Option('--order <order>', 'asc or desc').choices(['asc', 'desc']).default('asc'))
    .action(
      action(
        async (opts: {
          space?: Space;
          kind?: string;
          limit: number;
          cursor?: string;
          order: 'asc' | 'desc';
        }) => {
          const page = await withApi('canon list', (api) =>
            api.list({
              limit: opts.limit,
              order: opts.order,
              ...(opts.space ? { space: opts.space } : {}),
              ...(opts.kind ? { kind: opts.kind } : {}),
              ...(opts.cursor ? { cursor: opts.cursor } : {}),
            }),
          );
          const damaged = page.damaged ?? [];
          const o = out();
          o.result(
            {
              records: page.records,
              nextCursor: page.nextCursor,
              ...(damaged.length > 0 ? { damaged } : {}),
            },
            () => {
              // Damaged entries in their place in the order, between the records around them.
              const rows = [
                ...page.records.map((r) => ({
                  seq: r.body.seq,
                  line: `${String(r.body.seq).padStart(6)}  ${r.id}  ${r.body.space.padEnd(6)}  ${r.body.kind.padEnd(24)}  ${r.body.ts}`,
                })),
                ...damaged.map((d) => ({
                  seq: d.seq,
                  line: `${String(d.seq).padStart(6)}  ${d.id}  DAMAGED: ${d.reason}`,
                })),
              ].sort((a, b) => (opts.order === 'desc' ? b.seq - a.seq : a.seq - b.seq));
              const lines = rows.map((r) => r.line);
              if (page.nextCursor) lines.push(`-- more: --cursor ${page.nextCursor}`);
              return lines.length ? lines.join('\n') : '(no records)';
            },
          );
          if (damaged.length > 0) {
            o.warn(
              `${damaged.length} record${damaged.length === 1 ? '' : 's'} of this page could not be read (seq ${damaged.map((d) => d.seq).join(', ')}); run "sigil canon verify"`,
            );
            exitCode = 3;
          }
        },
      ),
    );

  canon
    .command('verify')
    .description('check every id, signature, chain link and the Merkle root; names the first bad record')
    .option('--from-export <file>', 'verify an export file instead of a home (needs no home)')
    .option('--trust-key <keyid>', 'with --from-export: the root key id the log must be rooted in')
    .action(
      action(async (opts: { fromExport?: string; trustKey?: string }) => {
        const o = out();
        if (opts.trustKey && !opts.fromExport)
          throw new SigilError('BAD_USAGE', '--trust-key goes with --from-export');
        let report;
        if (opts.fromExport) {
          const workers = await exportVerifyWorkers(globals().home, env, cwd);
          report = await verifyExport(opts.fromExport, {
            workers,
            ...(opts.trustKey ? { trustKey: opts.trustKey } : {}),
          });
          if (!opts.trustKey) {
            o.warn(
              `no --trust-key given: this proves the export is internally consistent and rooted in key ${report.rootKeyId}, not that the key is the one you expect`,
            );
          }
        } else {
          report = await withApi('canon verify', (api) => api.verify());
        }
        o.result(report, () => formatVerify(report));
        if (!report.ok) exitCode = 3;
      }),
    );

  const proof = canon.command('proof').description('Merkle inclusion and consistency proofs (RFC 6962)');
  proof
    .command('inclusion')
    .description('prove a record is in the log at a tree size')
    .argument('<id>', 'record id')
    .option('--size <n>', 'tree size (default: current)', parseIntArg('--size'))
    .action(
      action(async (id: string, opts: { size?: number }) => {
        const p = await withApi('canon proof inclusion', (api) => api.inclusionProof(id, opts.size));
        out().result(p, () =>
          [
            `record     ${p.id}`,
            `leaf index ${p.leafIndex}`,
            `tree size  ${p.treeSize}`,
            `root       ${p.rootHash}`,
            ...proofLines(p.proof),
          ].join('\n'),
        );
      }),
    );
  proof
    .command('consistency')
    .description('prove the log at OLD size is a prefix of the log at NEW size')
    .argument('<old>', 'old tree size', parseIntArg('OLD'))
    .argument('[new]', 'new tree size (default: current)', parseIntArg('NEW'))
    .action(
      action(async (oldSize: number, newSize: number | undefined) => {
        const p = await withApi('canon proof consistency', (api) => api.consistencyProof(oldSize, newSize));
        out().result(p, () =>
          [
            `old size ${p.oldSize}  root ${p.oldRoot}`,
            `new size ${p.newSize}  root ${p.newRoot}`,
            ...proofLines(p.proof),
          ].join('\n'),
        );
      }),
    );

  canon
    .command('checkpoint')
    .description('sign and print a checkpoint of the log (C2SP tlog-checkpoint, signed note)')
    .option('--cosigned', 'the latest checkpoint the witnesses cosigned, with their cosignature lines')
    .option('--for-witness <id>', 'a request for that witness to cosign (sigil witness cosign), as JSON')
    .option('--from <size>', 'with --for-witness: prove consistency from this size', parseIntArg('--from'))
    .option('--out <file>', 'with --for-witness: write the request here')
    .action(
      action(async (opts: { cosigned?: boolean; forWitness?: string; from?: number; out?: string }) => {
        if (opts.cosigned && opts.forWitness)
          throw new SigilError('BAD_USAGE', '--cosigned and --for-witness exclude each other');
        if (opts.out && !opts.forWitness) throw new SigilError('BAD_USAGE', '--out goes with --for-witness');
        if (opts.forWitness) {
          const witnessId = opts.forWitness;
          const req = await withClient('canon checkpoint', (c) =>
            c.request('sigil/checkpoint.request', {
              witnessId,
              ...(opts.from !== undefined ? { fromSize: opts.from } : {}),
            }),
          );
          const text = JSON.stringify(req, null, 2) + '\n';
          if (!opts.out) process.stdout.write(text);
          else {
            await writeNewFile(opts.out, text);
            out().result(
              { ok: true, file: opts.out },
              () => `checkpoint request for ${witnessId} written to ${opts.out}`,
            );
          }
          return;
        }
        if (opts.cosigned) {
          const cp = await withClient('canon checkpoint', (c) => c.request('sigil/checkpoint.cosigned', {}));
          const o = out();
          o.result(cp, () => cp.note);
          if (!o.json)
            o.info(
              cp.cosignedSize === null
                ? 'no witness has cosigned a checkpoint yet (sigil canon checkpoint --for-witness ID)'
                : `cosigned by ${cp.cosigners.length} of ${cp.activeWitnesses} witnesses (k = ${cp.threshold}): ${cp.cosigners.map((c) => c.witnessId).join(', ')}`,
            );
          return;
        }
        const cp = await withApi('canon checkpoint', (api) => api.checkpoint());
        out().result(cp, () => cp.note);
      }),
    );

  canon
    .command('cosign')
    .description("record a witness's cosignature of a checkpoint (the output of sigil witness cosign)")
    .argument('<file>', 'the cosigned checkpoint file, or - for standard input')
    .action(
      action(async (file: string) => {
        const doc = (await readJsonInput(file, 'cosignature')) as {
          type?: unknown;
          note?: unknown;
        };
        if (doc?.type !== 'sigil.cosignature' || typeof doc.note !== 'string')
          throw new SigilError('BAD_INPUT', `${file}: not a Sigil cosignature file (sigil witness cosign)`);
        const note = doc.note;
        const r = await withClient('canon cosign', (c) => c.request('sigil/checkpoint.attach', { note }));
        out().result(
          { ok: true, ...r },
          () =>
            `recorded ${r.added.map((a) => `${a.witnessId}'s cosignature`).join(', ')} of the checkpoint at size ${r.size}`,
        );
      }),
    );

  canon
    .command('export')
    .description('write the log as JSONL with its public keys and a signed checkpoint')
    .option('--out <file>', 'output file (default: standard output)')
    .action(
      action(async (opts: { out?: string }) => {
        const res = await withApi('canon export', (api) =>
          opts.out ? exportToFile(api, opts.out) : exportCanon(api, process.stdout),
        );
        if (opts.out)
          out().result(
            { ok: true, file: opts.out, size: res.size, rootHash: res.rootHash },
            () => `exported ${res.size} records to ${opts.out}`,
          );
      }),
    );

  canon
    .command('canonicalize')
    .description('print the RFC 8785 (JCS) form of a JSON document (needs no home)')
    .argument('[file]', 'JSON file, or - for standard input', '-')
    .action(
      action(async (file: string) => {
        const jcs = canonicalize(await readJsonInput(file, 'canonicalize'));
        if (globals().json) out().result({ canonical: jcs }, () => jcs);
        else process.stdout.write(jcs + '\n');
      }),
    );

  canon
    .command('migrate')
    .description('sign and append legacy records (JSON array or JSONL); re-runs append nothing')
    .requiredOption('--from <file>', 'legacy records file')
    .option('--dry-run', 'report what would happen, append nothing')
    .option(
      '--skip-invalid',
      'migrate the valid records even if others are rejected (default: all or nothing)',
    )
    .action(
      action(async (opts: { from: string; dryRun?: boolean; skipInvalid?: boolean }) => {
        const values = await readLegacyFile(opts.from);
        const report = await withApi('canon migrate', (api) =>
          migrate(api, values, {
            dryRun: opts.dryRun === true,
            skipInvalid: opts.skipInvalid === true,
          }),
        );
        out().result(report, () => {
          const lines = report.dryRun
            ? [
                `dry run: ${report.planned.length} would be migrated, ${report.skipped.length} skipped, ${report.rejected.length} rejected (of ${report.total})`,
              ]
            : [];
          for (const p of report.dryRun ? report.planned : [])
            lines.push(`  would migrate #${p.index} ${p.legacy} as ${p.space}/${p.kind}`);
          if (!report.dryRun) {
            lines.push(
              `${report.migrated.length} migrated, ${report.skipped.length} skipped, ${report.rejected.length} rejected (of ${report.total})`,
            );
          }
          for (const s of report.skipped)
            lines.push(
              `  skipped  #${s.index} ${s.legacy}: ${s.reason}${s.existing ? ` (${s.existing})` : ''}`,
            );
          for (const r of report.rejected) lines.push(`  rejected #${r.index}: ${r.reason}`);
          if (report.rejected.length > 0 && !opts.skipInvalid && !report.dryRun) {
            lines.push(
              report.migrated.length === 0
                ? 'nothing was appended because some records were rejected; fix them or pass --skip-invalid'
                : `the ${report.migrated.length} migrated records were appended; the rejected ones were refused while appending. Fix them and run again: what is already migrated is skipped`,
            );
          }
          return lines.join('\n');
        });
        // A refusal by the policy is an access denial (4), whatever else was wrong.
        if (report.rejected.some((r) => r.code === 'ACCESS_DENIED')) exitCode = 4;
        else if (report.rejected.length > 0) exitCode = 2;
      }),
    );

  program
    .command('serve')
    .description('own the store and answer requests on its socket, so CLI calls and editors can share it')
    .action(
      action(async () => {
        const home = requireHome(resolveHome(globals().home, env, cwd), cwd);
        const o = out();
        await serveHome({
          home,
          env,
          passphrase,
          onReady: (socket) =>
            o.result(
              { ok: true, home, socket, pid: process.pid },
              () => `serving ${home} on ${socket} (pid ${process.pid}); Ctrl-C to stop`,
            ),
        });
      }),
    );

  const governanceContext = {
    globals,
    out,
    withClient,
    callerIdentity,
    setExitCode: (c: number) => (exitCode = c),
    action,
  };
  registerGovernanceCommands(program, governanceContext);
  registerQuorumCommands(program, governanceContext);
  registerMemoryCommands(program, governanceContext);
  registerRagCommands(program, governanceContext);
  registerMentorCommands(program, governanceContext);
  registerMcpCommands(program, governanceContext);

  const config = program.command('config').description('show the resolved configuration');
  config
    .command('show')
    .description('print every configuration key, its value and where it came from')
    .action(
      action(async () => {
        const home = requireHome(resolveHome(globals().home, env, cwd), cwd);
        if (!existsSync(home))
          throw new SigilError('HOME_MISSING', `no Sigil home at ${home}; run "sigil init" first`);
        const { config: c, origins } = await loadConfig({ home, env });
        out().result({ config: c, origins }, () => {
          const lines: string[] = [];
          for (const [section, values] of Object.entries(c) as Array<[string, Record<string, unknown>]>) {
            if (section === 'policies') {
              const entries = Object.entries(values);
              if (entries.length === 0) lines.push('policies = {}  (defaults)');
              for (const [op, rule] of entries) {
                const from =
                  Object.entries(origins).find(([k]) => k.startsWith(`policies."${op}"`))?.[1]?.name ??
                  'defaults';
                lines.push(`policies."${op}" = ${JSON.stringify(rule)}  (${from})`);
              }
              continue;
            }
            for (const [key, v] of Object.entries(values)) {
              const k = `${section}.${key}`;
              lines.push(
                `${k} = ${v === undefined ? '(not set)' : JSON.stringify(v)}  (${origins[k]?.name ?? 'defaults'})`,
              );
            }
          }
          return lines.join('\n');
        });
      }),
    );

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return 0;
      // A bare `sigil` or `sigil canon` shows the help but is still a usage error.
      if (e.code === 'commander.help') {
        if (jsonMode)
          reportError(
            new SigilError('BAD_USAGE', 'a command is required; run with --help for the list'),
            true,
          );
        return e.exitCode === 0 ? 0 : 2;
      }
      if (jsonMode) reportError(new SigilError('BAD_USAGE', e.message.replace(/^error: /, '')), true);
      return 2;
    }
    return reportError(e, jsonMode);
  }
  return exitCode;
}

/** Export verification needs no home; it still honours canon.verify_workers when a home is at hand. */
async function exportVerifyWorkers(
  flag: string | undefined,
  env: NodeJS.ProcessEnv,
  cwd: string,
): Promise<number> {
  const loc = resolveHome(flag, env, cwd);
  if (!loc) return 2;
  try {
    return (await loadConfig({ home: loc.home, env })).config.canon.verify_workers;
  } catch {
    return 2;
  }
}
