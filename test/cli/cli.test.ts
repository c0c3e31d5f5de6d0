/**
 * End-to-end tests of the bundled `sigil` CLI (dist/cli.cjs via bin/sigil.js): every command, every
 * documented exit code, text and --json output, and the three ways of finding a home.
 *
 * Each group below works in its own temporary home, so the groups run concurrently; the steps inside a
 * group depend on each other and run in order.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { INIT_KINDS, INIT_RECORDS } from '../support/init-records.js';
import { ensureBuilt, envWithoutSigil, show, type RunResult, runSigil } from '../support/process.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { ClassicLevel } from 'classic-level';
import { KEYS } from '../../server/src/canon/layout.js';
import { fromBase64, fromHex, toHex } from '../../shared/src/bytes.js';
import { leafHash, verifyConsistency, verifyInclusion } from '../../shared/src/merkle.js';
import { verifySignedNote } from '../../shared/src/note.js';
import { verify as ed25519Verify } from '../../shared/src/ed25519.js';
import type { CanonicalRecord } from '../../shared/src/record.js';
import type { WitnessRegistry } from '../../shared/src/quorum.js';
import type { WitnessListResult } from '../../shared/src/protocol.js';
import { registrySigningMessage } from '../../server/src/governance/proposals.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BUNDLE = path.join(ROOT, 'dist', 'cli.cjs');
const HOLD_SCRIPT = path.join(ROOT, 'test', 'cli', 'fixtures', 'append-loop.ts');
const JCS_FIXTURES = path.join(ROOT, 'test', 'fixtures', 'jcs');

const ID_RE = /^[0-9a-f]{64}$/;
const UNENCRYPTED_WARNING = 'PRIVATE KEYS ARE STORED UNENCRYPTED';
const PASSPHRASE = 'correct horse battery staple';

/** The subject of the owner's root licence that init records: the local user. */
const OWNER_SUBJECT = `local:${os.userInfo().username}`;
/** A record's actor is the subject of the caller's licence; the CLI signs with the owner identity by default. */
const OWNER_ACTOR = `license:${OWNER_SUBJECT}`;
/** The seqs of init's own audit records (each audits the record before it, as store.init). */
const INIT_AUDIT_SEQS = INIT_KINDS.flatMap((kind, seq) => (kind === 'audit.decision' ? [seq] : []));
/** The warning init gives while system changes rest on one witness key. */
const SINGLE_WITNESS_WARNING =
  /^sigil: warning: system changes need the signature of one witness \(owner, k = 1\)/m;
/** Each write is its record plus, in the same group commit, its audit record. */
const PER_APPEND = 2;

// ---------------------------------------------------------------------------------------------------
// Running the CLI

interface RunOptions {
  /** Working directory; defaults to the test's scratch directory (never the repository). */
  readonly cwd?: string;
  /** Extra environment on top of the inherited one, from which every SIGIL_* variable is removed. */
  readonly env?: Readonly<Record<string, string>>;
  /** Standard input; stdin is always closed so that `-` inputs never wait. */
  readonly input?: string;
}

let scratch = '';

function sigil(args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return runSigil(args, { ...opts, cwd: opts.cwd ?? scratch });
}

/** Runs the CLI and asserts its exit code; returns the result for further checks. */
async function expectExit(code: number, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const r = await sigil(args, opts);
  assert.equal(r.code, code, `sigil ${args.join(' ')}\n${show(r)}`);
  return r;
}

/** Runs the CLI with --json, asserts success and parses stdout. */
async function json<T = Record<string, unknown>>(args: readonly string[], opts: RunOptions = {}): Promise<T> {
  const r = await expectExit(0, ['--json', ...args], opts);
  return JSON.parse(r.stdout) as T;
}

interface JsonError {
  ok: false;
  error: { code: string; message: string; details?: unknown };
  exit_code: number;
}

/** Runs the CLI with --json, expects failure with `exit`, checks the error document's shape and code. */
async function jsonError(
  exit: number,
  code: string,
  args: readonly string[],
  opts: RunOptions = {},
): Promise<JsonError> {
  const r = await expectExit(exit, ['--json', ...args], opts);
  let doc: JsonError;
  try {
    doc = JSON.parse(r.stdout) as JsonError;
  } catch {
    assert.fail(`--json error output is not one JSON document\n${show(r)}`);
  }
  assert.deepEqual(Object.keys(doc).sort(), ['error', 'exit_code', 'ok'], show(r));
  assert.equal(doc.ok, false);
  assert.equal(doc.exit_code, exit);
  assert.equal(doc.error.code, code, show(r));
  assert.equal(typeof doc.error.message, 'string');
  assert.ok(doc.error.message.length > 0);
  assert.ok(
    Object.keys(doc.error).every((k) => k === 'code' || k === 'message' || k === 'details'),
    `unexpected error fields: ${Object.keys(doc.error).join(', ')}`,
  );
  assert.doesNotMatch(r.stderr, /sigil: error:/, 'with --json the error goes to stdout only');
  return doc;
}

// ---------------------------------------------------------------------------------------------------
// Helpers

async function tempDir(name: string): Promise<string> {
  const dir = path.join(scratch, name);
  await mkdir(dir, { recursive: true });
  return dir;
}

/** True when some directory from `dir` upward holds a `.sigil/` (which home discovery would find). */
function sigilAbove(dir: string): string | null {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    const candidate = path.join(d, '.sigil');
    if (existsSync(candidate) && statSync(candidate).isDirectory()) return candidate;
    if (path.dirname(d) === d) return null;
  }
}

/** Every file under `dir` with its mode, size and content hash: equal snapshots mean an untouched tree. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const st = await stat(p);
      if (e.isDirectory()) {
        out[path.relative(dir, p) + '/'] = `dir ${(st.mode & 0o777).toString(8)}`;
        await walk(p);
      } else {
        const hash = createHash('sha256')
          .update(await readFile(p))
          .digest('hex');
        out[path.relative(dir, p)] = `${(st.mode & 0o777).toString(8)} ${st.size} ${hash}`;
      }
    }
  };
  await walk(dir);
  return out;
}

interface InitJson {
  ok: true;
  home: string;
  origin: string;
  rootKeyId: string;
  runtimeKeyId: string;
  dataKeyId: string;
  keysEncrypted: boolean;
  genesis: string;
  ownerIdentity: { file: string; licenseId: string; subject: string };
  witnesses: { ids: string[]; threshold: number; ownerKeyFile: string | null };
}

/** Creates an unencrypted home with the CLI and returns its --json init report. */
async function initHome(home: string, extra: readonly string[] = []): Promise<InitJson> {
  const r = await expectExit(0, ['--json', '--home', home, 'init', ...extra]);
  assert.match(r.stderr, new RegExp(UNENCRYPTED_WARNING));
  return JSON.parse(r.stdout) as InitJson;
}

interface ListJson {
  records: CanonicalRecord[];
  nextCursor: string | null;
}

/** Follows nextCursor from the first page to the last; returns the seqs in order and the page count. */
async function walk(
  home: string,
  args: readonly string[],
): Promise<{
  seqs: number[];
  pages: number;
  kinds: string[];
  spaces: string[];
  records: CanonicalRecord[];
}> {
  const seqs: number[] = [];
  const kinds: string[] = [];
  const spaces: string[] = [];
  const records: CanonicalRecord[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page: ListJson = await json<ListJson>([
      '--home',
      home,
      'canon',
      'list',
      ...args,
      ...(cursor ? ['--cursor', cursor] : []),
    ]);
    pages++;
    for (const r of page.records) {
      seqs.push(r.body.seq);
      kinds.push(r.body.kind);
      spaces.push(r.body.space);
      records.push(r);
    }
    assert.ok(
      page.nextCursor === null || typeof page.nextCursor === 'string',
      `a page without nextCursor: ${JSON.stringify(page)}`,
    );
    if (page.nextCursor !== null) assert.notEqual(page.nextCursor, cursor, 'the cursor did not advance');
    cursor = page.nextCursor;
    assert.ok(pages < 100, 'the cursor walk does not end');
  } while (cursor !== null);
  return { seqs, pages, kinds, spaces, records };
}

/** Every record of the home, oldest first (one page: the tests' logs are small). */
async function allRecords(home: string, opts: RunOptions = {}): Promise<CanonicalRecord[]> {
  const page = await json<ListJson>(['--home', home, 'canon', 'list', '--limit', '1000'], opts);
  assert.equal(page.nextCursor, null);
  return page.records;
}

interface AuditPayload {
  operation: string;
  method: string;
  decision: 'allowed' | 'denied';
  cause?: string;
  covers?: number;
  caller: { subject: string; authenticated: boolean; role: string };
}

/** Asserts `audit` is the audit record of an allowed write of one record by `subject`, as `operation`. */
function assertAuditOf(audit: CanonicalRecord | undefined, operation: string, subject: string): void {
  assert.ok(audit, 'the audit record exists');
  assert.equal(audit.body.kind, 'audit.decision');
  assert.equal(audit.body.space, 'system');
  assert.equal(audit.body.actor, `license:${subject}`);
  const p = audit.body.payload as unknown as AuditPayload;
  assert.equal(p.operation, operation);
  assert.equal(p.decision, 'allowed');
  assert.equal(p.covers, 1);
  assert.equal(p.caller.subject, subject);
  assert.equal(p.caller.authenticated, true);
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

/** Writes `n` legacy records as JSONL: kinds note.a / note.b / task.c in turn, every fourth in the system space. */
async function legacyFile(file: string, n: number): Promise<void> {
  const kinds = ['note.a', 'note.b', 'task.c'];
  const lines = range(0, n).map((i) =>
    JSON.stringify({
      id: `legacy-${i}`,
      kind: kinds[i % 3],
      space: i % 4 === 3 ? 'system' : 'data',
      payload: { i },
    }),
  );
  await writeFile(file, lines.join('\n') + '\n');
}

/** Starts the fixture that opens the store of `home` and holds it until its stdin closes. */
async function holdStore(
  home: string,
): Promise<{ child: ChildProcess; pid: number; release: () => Promise<number | null> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', HOLD_SCRIPT, home, 'hold'], {
    cwd: ROOT,
    env: envWithoutSigil(),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const pid = await new Promise<number>((resolve, reject) => {
    let buf = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      buf += s;
      const m = /^ready (\d+)\n/.exec(buf);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`holder exited early with ${code}: ${stderr}`)));
  });
  return {
    child,
    pid,
    release: async () => {
      child.stdin.end();
      if (child.exitCode !== null) return child.exitCode;
      const [code] = (await once(child, 'exit')) as [number | null];
      return code;
    },
  };
}

// ---------------------------------------------------------------------------------------------------

before(async () => {
  await ensureBuilt([BUNDLE]);
  scratch = await mkdtemp(path.join(os.tmpdir(), 'sigil-cli-test-'));
});

after(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('sigil CLI', { concurrency: 3 }, () => {
  describe('init and finding the home', { concurrency: 1 }, () => {
    let dir = '';
    let flagHome = '';
    let envHome = '';
    let envInit: InitJson;

    before(async () => {
      dir = await tempDir('homes');
      flagHome = path.join(dir, 'flag-home');
      envHome = path.join(dir, 'env-home');
    });

    it('init with --home (text): creates the home, prints its keys and warns loudly about unencrypted keys', async () => {
      const r = await expectExit(0, ['--home', flagHome, 'init', '--origin', 'test.example/cli']);
      assert.match(r.stdout, new RegExp(`^Initialized Sigil home ${flagHome}$`, 'm'));
      assert.match(r.stdout, /^ {2}origin {10}test\.example\/cli$/m);
      assert.match(r.stdout, /^ {2}root key {8}[0-9a-f]{32}$/m);
      assert.match(r.stdout, /^ {2}runtime key {5}[0-9a-f]{32}$/m);
      assert.match(r.stdout, /^ {2}keys encrypted {2}NO$/m);
      const idLine = `  owner identity  ${path.join(flagHome, 'identities', 'owner.json')} (${OWNER_SUBJECT}, root licence `;
      assert.ok(r.stdout.includes(idLine), r.stdout);
      assert.match(r.stdout, /^ {2}owner identity .* root licence [0-9a-f]{32}\)$/m);
      const witnessKeyFile = path.join(flagHome, 'witnesses', 'owner.key.json');
      assert.ok(
        r.stdout.includes(`  witnesses       owner (k = 1); owner witness key ${witnessKeyFile}\n`),
        r.stdout,
      );
      assert.match(r.stderr, /^sigil: warning: PRIVATE KEYS ARE STORED UNENCRYPTED in /m);
      // A single witness (the owner, k = 1) is allowed, but init says what it means and how to add more.
      assert.match(r.stderr, SINGLE_WITNESS_WARNING);
      assert.match(r.stderr, /they rest on a single key\. Add witnesses with "sigil witness add"/);
      assert.ok(r.stderr.includes(path.join(flagHome, 'keystore.json')), r.stderr);
      assert.ok(r.stderr.includes('SIGIL_PASSPHRASE'), 'the warning says how to encrypt the keys');
      assert.equal((await stat(flagHome)).mode & 0o777, 0o700);
      assert.equal((await stat(path.join(flagHome, 'keystore.json'))).mode & 0o777, 0o600);
      assert.match(
        await readFile(path.join(flagHome, 'sigil.toml'), 'utf8'),
        /^origin = "test\.example\/cli"$/m,
      );
      assert.ok(existsSync(path.join(flagHome, 'canon')));
      assert.ok(!existsSync(path.join(flagHome, 'owner.json')), 'init removes its owner file when done');
      // The owner identity: a root licence for the local user and its key, in clear without a passphrase.
      const idFile = path.join(flagHome, 'identities', 'owner.json');
      assert.equal((await stat(idFile)).mode & 0o777, 0o600);
      const identity = JSON.parse(await readFile(idFile, 'utf8')) as {
        type: string;
        subject: string;
        chain: Array<{ body: { subject: string; role: string; audience: string } }>;
        key: { protection: string; seed?: string };
      };
      assert.equal(identity.type, 'sigil.identity');
      assert.equal(identity.subject, OWNER_SUBJECT);
      assert.equal(identity.chain.length, 1);
      assert.equal(identity.chain[0]?.body.role, 'root');
      assert.equal(identity.chain[0]?.body.subject, OWNER_SUBJECT);
      assert.equal(identity.chain[0]?.body.audience, 'test.example/cli');
      assert.equal(identity.key.protection, 'none');
      assert.equal(typeof identity.key.seed, 'string');
      // The owner's witness key: private (0600, in clear without a passphrase) and public, in witnesses/.
      assert.equal((await stat(path.join(flagHome, 'witnesses'))).mode & 0o777, 0o700);
      assert.equal((await stat(witnessKeyFile)).mode & 0o777, 0o600);
      const witnessKey = JSON.parse(await readFile(witnessKeyFile, 'utf8')) as {
        type: string;
        id: string;
        name: string;
        key: { protection: string; public_key: string; seed?: string };
      };
      assert.deepEqual(
        [witnessKey.type, witnessKey.id, witnessKey.key.protection, typeof witnessKey.key.seed],
        ['sigil.witness-key', 'owner', 'none', 'string'],
      );
      const witnessPub = JSON.parse(
        await readFile(path.join(flagHome, 'witnesses', 'owner.pub.json'), 'utf8'),
      ) as { type: string; id: string; name: string; public_key: string; key_id: string };
      assert.deepEqual(
        [witnessPub.type, witnessPub.id, witnessPub.name, witnessPub.public_key],
        ['sigil.witness-public', 'owner', witnessKey.name, witnessKey.key.public_key],
      );
      assert.ok(!('seed' in witnessPub), 'the public file holds no seed');
    });

    it('init --json via SIGIL_HOME: reports keys and genesis; the warning still goes to stderr', async () => {
      const r = await expectExit(0, ['--json', 'init'], { env: { SIGIL_HOME: envHome } });
      envInit = JSON.parse(r.stdout) as InitJson;
      assert.equal(envInit.ok, true);
      assert.equal(envInit.home, envHome);
      assert.equal(envInit.keysEncrypted, false);
      assert.match(envInit.rootKeyId, /^[0-9a-f]{32}$/);
      assert.match(envInit.runtimeKeyId, /^[0-9a-f]{32}$/);
      assert.notEqual(envInit.rootKeyId, envInit.runtimeKeyId);
      assert.match(envInit.dataKeyId, /^[0-9a-f]{32}$/);
      assert.equal(envInit.origin, `sigil.local/${envInit.rootKeyId.slice(0, 16)}`);
      assert.match(envInit.genesis, ID_RE);
      assert.match(r.stderr, new RegExp(UNENCRYPTED_WARNING));
      assert.match(r.stderr, SINGLE_WITNESS_WARNING);
      assert.deepEqual(envInit.witnesses, {
        ids: ['owner'],
        threshold: 1,
        ownerKeyFile: path.join(envHome, 'witnesses', 'owner.key.json'),
      });

      // The store starts with the genesis record, the owner's root licence and the audit record of issuing
      // it, then the genesis witness registry and its audit record: one system chain.
      const records = await allRecords(envHome);
      assert.deepEqual(
        records.map((rec) => [rec.body.seq, rec.body.space, rec.body.kind]),
        INIT_KINDS.map((kind, seq) => [seq, 'system', kind]),
      );
      const [genesis, issued, audit, registry, registryAudit] = records as [
        CanonicalRecord,
        CanonicalRecord,
        CanonicalRecord,
        CanonicalRecord,
        CanonicalRecord,
      ];
      assert.equal(genesis.body.prev, null);
      assert.equal(genesis.signature.key_id, envInit.rootKeyId);
      assert.equal(issued.body.prev, genesis.id);
      assert.equal(audit.body.prev, issued.id);
      assert.equal(registry.body.prev, audit.id);
      assert.equal(registryAudit.body.prev, registry.id);
      const licence = (
        issued.body.payload as {
          license: { body: { id: string; subject: string; role: string; issuer: string } };
        }
      ).license.body;
      assert.deepEqual(
        [licence.subject, licence.role, licence.issuer],
        [OWNER_SUBJECT, 'root', envInit.rootKeyId],
      );
      const owner = JSON.parse(await readFile(path.join(envHome, 'identities', 'owner.json'), 'utf8')) as {
        chain: Array<{ body: { id: string } }>;
      };
      assert.equal(owner.chain[0]?.body.id, licence.id, 'the owner identity holds the recorded licence');
      assert.deepEqual(envInit.ownerIdentity, {
        file: path.join(envHome, 'identities', 'owner.json'),
        licenseId: licence.id,
        subject: OWNER_SUBJECT,
      });
      // Init's bootstrap has no licence: it acts as the runtime itself, and audits each of its writes.
      for (const rec of records.slice(1)) assert.equal(rec.body.actor, 'sigil:init', rec.body.kind);
      for (const seq of INIT_AUDIT_SEQS) {
        const ap = (records[seq] as CanonicalRecord).body.payload as unknown as AuditPayload;
        assert.deepEqual(
          [ap.operation, ap.decision, ap.covers, ap.caller.authenticated, ap.caller.subject],
          ['store.init', 'allowed', 1, false, 'sigil:init'],
          `the audit record at seq ${seq}`,
        );
      }

      // The genesis witness registry: the owner's witness key alone, k = 1, signed by the root key over the
      // store's origin and the registry.
      const rp = registry.body.payload as unknown as {
        registry: WitnessRegistry;
        proposal_id: string | null;
        root_sig: string;
        root_key_id: string;
      };
      assert.equal(rp.proposal_id, null, 'chosen at init, not by a proposal');
      assert.equal(rp.root_key_id, envInit.rootKeyId);
      assert.equal(rp.registry.threshold, 1);
      const witnessPub = JSON.parse(
        await readFile(path.join(envHome, 'witnesses', 'owner.pub.json'), 'utf8'),
      ) as { id: string; name: string; public_key: string; key_id: string };
      assert.deepEqual(
        rp.registry.witnesses.map((w) => [w.id, w.name, w.status, w.keys.map((k) => [k.publicKey, k.keyId])]),
        [['owner', witnessPub.name, 'active', [[witnessPub.public_key, witnessPub.key_id]]]],
      );
      const rootKey = (genesis.body.payload as { root_key: { public_key: string } }).root_key;
      assert.ok(
        ed25519Verify(
          fromBase64(rootKey.public_key),
          registrySigningMessage(envInit.origin, rp.registry),
          fromBase64(rp.root_sig),
        ),
        'the root key signed the genesis registry',
      );
      assert.ok(
        !ed25519Verify(
          fromBase64(rootKey.public_key),
          registrySigningMessage(envInit.origin, { ...rp.registry, threshold: 2 }),
          fromBase64(rp.root_sig),
        ),
        'the signature covers the registry: another k does not verify',
      );
      // witness list reads it back: the owner, k = 1, the registry record as the head of system changes.
      const listed = await json<WitnessListResult>(['witness', 'list'], { env: { SIGIL_HOME: envHome } });
      assert.equal(listed.threshold, 1);
      assert.deepEqual(
        listed.witnesses.map((w) => [w.id, w.status, w.keyId]),
        [['owner', 'active', witnessPub.key_id]],
      );
      assert.equal(listed.head, registry.id);
      // With no identity of its own, the owner identity signs: whoami is the owner's root licence.
      const me = await json<{ subject: string; role: string; licenseId: string }>(['whoami'], {
        env: { SIGIL_HOME: envHome },
      });
      assert.deepEqual([me.subject, me.role, me.licenseId], [OWNER_SUBJECT, 'root', licence.id]);

      const g = await json<CanonicalRecord>(['canon', 'get', envInit.genesis], {
        env: { SIGIL_HOME: envHome },
      });
      assert.equal(g.id, envInit.genesis);
      assert.equal(g.body.seq, 0, 'the "genesis" init reports is the genesis record');
      assert.equal(g.body.kind, 'canon.genesis');
      assert.equal(g.id, genesis.id);
    });

    it('a second init refuses with exit 2 and leaves the home untouched', async () => {
      for (const home of [flagHome, envHome]) {
        const untouched = await snapshot(home);
        const r = await expectExit(2, ['--home', home, 'init']);
        assert.match(r.stderr, /already exists and is not empty/);
        assert.match(r.stderr, /refusing to overwrite/);
        assert.doesNotMatch(r.stderr, new RegExp(UNENCRYPTED_WARNING));
        assert.doesNotMatch(r.stderr, SINGLE_WITNESS_WARNING);
        const doc = await jsonError(2, 'HOME_EXISTS', ['init'], { env: { SIGIL_HOME: home } });
        assert.ok(doc.error.message.includes(home));
        assert.deepEqual(await snapshot(home), untouched);
      }
    });

    it('init without --home creates ./.sigil, found from subdirectories; SIGIL_HOME and --home take precedence', async () => {
      const project = await tempDir('project');
      const deep = path.join(project, 'a', 'b', 'c');
      await mkdir(deep, { recursive: true });
      const init = await json<InitJson>(['init'], { cwd: project });
      assert.equal(init.home, path.join(project, '.sigil'));
      assert.ok(existsSync(path.join(project, '.sigil', 'keystore.json')));

      const id = (
        await expectExit(0, ['canon', 'append', '--kind', 'note.created', '--payload', '-'], {
          cwd: deep,
          input: '{"found":"upward"}',
        })
      ).stdout.trim();
      assert.match(id, ID_RE);
      const page = await json<ListJson>(['canon', 'list'], { cwd: deep });
      assert.deepEqual(
        page.records.map((r) => r.body.kind),
        [...INIT_KINDS, 'note.created', 'audit.decision'],
      );
      assert.equal(page.records[0]?.signature.key_id, init.rootKeyId);
      const data = await json<ListJson>(['canon', 'list', '--space', 'data'], { cwd: deep });
      assert.deepEqual(
        data.records.map((r) => r.id),
        [id],
      );
      const cfg = await expectExit(0, ['config', 'show'], { cwd: deep });
      assert.ok(cfg.stdout.includes(`(${path.join(project, '.sigil', 'sigil.toml')})`), cfg.stdout);

      // SIGIL_HOME wins over the .sigil/ found upward.
      const viaEnv = await json<ListJson>(['canon', 'list'], { cwd: deep, env: { SIGIL_HOME: envHome } });
      assert.equal(viaEnv.records.length, INIT_RECORDS);
      assert.equal(viaEnv.records[0]?.signature.key_id, envInit.rootKeyId);
      // --home wins over SIGIL_HOME (which here names nothing at all).
      const viaFlag = await json<ListJson>(['--home', path.join(project, '.sigil'), 'canon', 'list'], {
        cwd: deep,
        env: { SIGIL_HOME: path.join(dir, 'does-not-exist') },
      });
      assert.equal(viaFlag.records.length, INIT_RECORDS + PER_APPEND);
      // A relative --home is taken from the working directory.
      const relative = await json<ListJson>(['--home', '../../../.sigil', 'canon', 'list'], { cwd: deep });
      assert.equal(relative.records.length, INIT_RECORDS + PER_APPEND);
      // init in a subdirectory creates a nested ./.sigil there, which is then the nearest one; a second
      // init there refuses.
      const nested = await json<InitJson>(['init'], { cwd: deep });
      assert.equal(nested.home, path.join(deep, '.sigil'));
      assert.notEqual(nested.rootKeyId, init.rootKeyId);
      const nearest = await json<ListJson>(['canon', 'list'], { cwd: deep });
      assert.equal(nearest.records.length, INIT_RECORDS);
      assert.equal(nearest.records[0]?.signature.key_id, nested.rootKeyId);
      const again = await expectExit(2, ['init'], { cwd: deep });
      assert.match(again.stderr, /already exists/);
      const above = await json<ListJson>(['canon', 'list'], { cwd: path.join(project, 'a') });
      assert.equal(above.records.length, INIT_RECORDS + PER_APPEND);
      assert.equal(above.records[0]?.signature.key_id, init.rootKeyId);
    });

    it('no home anywhere: exit 5 telling to run sigil init', async () => {
      const empty = await tempDir('no-home');
      assert.equal(sigilAbove(empty), null, 'precondition: no .sigil/ above the temporary directory');
      for (const args of [
        ['canon', 'list'],
        ['canon', 'append', '--kind', 'note.created', '--payload', '-'],
        ['canon', 'verify'],
        ['config', 'show'],
      ]) {
        const r = await expectExit(5, args, { cwd: empty, input: '{}' });
        assert.match(r.stderr, /^sigil: error: no Sigil home found/m);
        assert.match(r.stderr, /run "sigil init"/);
      }
      const doc = await jsonError(5, 'HOME_MISSING', ['canon', 'get', '0'.repeat(64)], { cwd: empty });
      assert.match(doc.error.message, /run "sigil init"/);
      // A directory that exists but is not a home.
      const r = await expectExit(5, ['--home', empty, 'canon', 'list']);
      assert.match(r.stderr, /is not a Sigil home/);
      assert.match(r.stderr, /run "sigil init"/);
      assert.deepEqual(await readdir(empty), [], 'looking for a home creates nothing');
    });
  });

  describe('append, get and errors of a record', { concurrency: 1 }, () => {
    let home = '';
    let init: InitJson;
    const ids: string[] = [];

    before(async () => {
      const dir = await tempDir('records');
      home = path.join(dir, 'home');
      init = await initHome(home);
    });

    it('append --payload FILE prints only the id', async () => {
      const file = path.join(scratch, 'records', 'payload.json');
      await writeFile(file, '{ "title": "hello", "tags": ["a", "b"], "n": 1 }\n');
      const r = await expectExit(0, [
        '--home',
        home,
        'canon',
        'append',
        '--kind',
        'note.created',
        '--payload',
        file,
      ]);
      assert.match(r.stdout, /^[0-9a-f]{64}\n$/);
      assert.equal(r.stderr, '');
      ids.push(r.stdout.trim());
    });

    it('append --payload - reads standard input; --json gives id and seq', async () => {
      const r = await expectExit(
        0,
        ['--home', home, 'canon', 'append', '--kind', 'note.edited', '--payload', '-'],
        {
          input: '{"title":"from stdin","€":"unicode ✓"}',
        },
      );
      assert.match(r.stdout, /^[0-9a-f]{64}\n$/);
      ids.push(r.stdout.trim());
      const j = await json<{ ok: boolean; id: string; seq: number; record: CanonicalRecord }>(
        ['--home', home, 'canon', 'append', '--kind', 'task.done', '--space', 'system', '--payload', '-'],
        { input: '[1, 2.50, "x", null, true]' },
      );
      assert.equal(j.ok, true);
      assert.match(j.id, ID_RE);
      // Init wrote seqs 0..4; each append is its record and its audit record, so appends are 2 apart.
      assert.equal(j.seq, INIT_RECORDS + 2 * PER_APPEND);
      assert.equal(j.record.id, j.id);
      assert.equal(j.record.body.seq, j.seq);
      assert.equal(j.record.body.space, 'system');
      assert.equal(j.record.body.actor, OWNER_ACTOR);
      assert.deepEqual(j.record.body.payload, [1, 2.5, 'x', null, true]);
      ids.push(j.id);

      const all = await allRecords(home);
      assert.equal(all.length, INIT_RECORDS + 3 * PER_APPEND);
      assert.deepEqual(
        all.map((r) => r.body.kind),
        [
          ...INIT_KINDS,
          'note.created',
          'audit.decision',
          'note.edited',
          'audit.decision',
          'task.done',
          'audit.decision',
        ],
      );
      /** The seq of append i (0, 1, 2); its audit record is the next one. */
      const seqOf = (i: number): number => INIT_RECORDS + i * PER_APPEND;
      assert.deepEqual([all[seqOf(0)]?.id, all[seqOf(1)]?.id, all[seqOf(2)]?.id], ids);
      // The system chain continues from the last system record: the audit record of the previous append.
      assert.equal(j.record.body.prev, all[seqOf(1) + 1]?.id);
      assertAuditOf(all[seqOf(0) + 1], 'canon.append', OWNER_SUBJECT);
      assertAuditOf(all[seqOf(1) + 1], 'canon.append', OWNER_SUBJECT);
      assertAuditOf(all[seqOf(2) + 1], 'canon.append_system', OWNER_SUBJECT);
      assert.equal(all[seqOf(2) + 1]?.body.prev, j.id);
    });

    it('get prints the record (text and --json) and the data chain links', async () => {
      const [first, second] = ids as [string, string];
      const r = await expectExit(0, ['--home', home, 'canon', 'get', first]);
      assert.match(r.stdout, new RegExp(`^id {9}${first}$`, 'm'));
      assert.match(r.stdout, new RegExp(`^seq {8}${INIT_RECORDS}$`, 'm'));
      assert.match(r.stdout, /^space {6}data$/m);
      assert.match(r.stdout, /^kind {7}note\.created$/m);
      assert.match(r.stdout, /^prev {7}\(none\)$/m);
      assert.match(r.stdout, new RegExp(`^signed by  ${init.runtimeKeyId}$`, 'm'));
      assert.match(r.stdout, /^payload:\n\{\n {2}"n": 1,/m);

      const rec = await json<CanonicalRecord>(['--home', home, 'canon', 'get', second]);
      assert.equal(rec.id, second);
      assert.equal(rec.body.seq, INIT_RECORDS + PER_APPEND);
      assert.equal(
        rec.body.prev,
        first,
        'the data chain skips the audit records, which are in the system space',
      );
      assert.equal(rec.body.kind, 'note.edited');
      assert.deepEqual(rec.body.payload, { title: 'from stdin', '€': 'unicode ✓' });
      assert.equal(rec.signature.alg, 'ed25519');
      assert.equal(rec.signature.key_id, init.runtimeKeyId);
      assert.equal(rec.body.actor, OWNER_ACTOR);
      assert.match(rec.body.actor, /^license:local:/);
    });

    it('get: unknown id exits 5, malformed id exits 2; reads, failed or not, append nothing', async () => {
      const size = (await allRecords(home)).length;
      const unknown = 'ab'.repeat(32);
      const r = await expectExit(5, ['--home', home, 'canon', 'get', unknown]);
      assert.equal(r.stderr, `sigil: error: no record with id ${unknown}\n`);
      assert.equal(r.stdout, '');
      const doc = await jsonError(5, 'NOT_FOUND', ['--home', home, 'canon', 'get', unknown]);
      assert.deepEqual(doc.error.details, { id: unknown });
      for (const bad of ['xyz', 'AB'.repeat(32), 'ab'.repeat(31), `${unknown}0`]) {
        const m = await expectExit(2, ['--home', home, 'canon', 'get', bad]);
        assert.equal(
          m.stderr,
          'sigil: error: sigil/canon.get: id must be a 64-character lowercase hex record id\n',
        );
      }
      const malformed = await jsonError(2, 'BAD_INPUT', ['--home', home, 'canon', 'get', 'xyz']);
      assert.deepEqual(malformed.error.details, { method: 'sigil/canon.get', field: 'id' });
      await expectExit(0, ['--home', home, 'canon', 'get', ids[0] as string]);
      await expectExit(0, ['--home', home, 'canon', 'verify']);
      assert.equal((await allRecords(home)).length, size);
    });

    it('append rejects bad input with exit 2 (and a missing payload file with 5) and appends nothing', async () => {
      const dir = path.join(scratch, 'records');
      const bad = path.join(dir, 'bad.json');
      await writeFile(bad, '{\n  "a": 1,\n  "b": }\n');
      const r = await expectExit(2, [
        '--home',
        home,
        'canon',
        'append',
        '--kind',
        'note.created',
        '--payload',
        bad,
      ]);
      assert.ok(r.stderr.includes(`${bad}:3:8:`), r.stderr);
      const stdin = await expectExit(
        2,
        ['--home', home, 'canon', 'append', '--kind', 'note.created', '--payload', '-'],
        { input: '{"a":1,"a":2}' },
      );
      assert.match(stdin.stderr, /<stdin>:1:8: duplicate key "a"/);
      await jsonError(
        2,
        'BAD_INPUT',
        ['--home', home, 'canon', 'append', '--kind', 'Not A Kind', '--payload', '-'],
        { input: '{}' },
      );
      // The kinds Sigil's own operations write cannot be forged by a raw append, even by the owner.
      const reservedKinds: Array<[string, string]> = [
        ['audit.decision', 'system'],
        ['license.issued', 'system'],
        ['trust.feedback', 'system'],
        ['canon.genesis', 'system'],
        ['license.issued', 'data'],
        ['witness.registry', 'system'],
        ['proposal.committed', 'system'],
        ['proposal.created', 'data'],
      ];
      for (const [kind, space] of reservedKinds) {
        const args = ['--home', home, 'canon', 'append', '--kind', kind, '--space', space, '--payload', '-'];
        const reserved = await jsonError(2, 'BAD_INPUT', args, { input: '{}' });
        assert.match(reserved.error.message, /is reserved/);
      }
      await jsonError(
        2,
        'BAD_USAGE',
        ['--home', home, 'canon', 'append', '--kind', 'note.x', '--space', 'elsewhere', '--payload', '-'],
        {
          input: '{}',
        },
      );
      await jsonError(2, 'BAD_USAGE', [
        '--home',
        home,
        'canon',
        'append',
        '--kind',
        'note.x',
        '--payload',
        dir,
      ]);
      const missing = await expectExit(5, [
        '--home',
        home,
        'canon',
        'append',
        '--kind',
        'note.x',
        '--payload',
        path.join(dir, 'nope.json'),
      ]);
      assert.match(missing.stderr, /no such file/);
      const page = await json<ListJson>(['--home', home, 'canon', 'list']);
      assert.equal(
        page.records.length,
        INIT_RECORDS + ids.length * PER_APPEND,
        'nothing was appended by the failed commands, not even an audit record',
      );
    });

    it("the actor is license:<subject> of the identity that signs: --identity, else SIGIL_IDENTITY, else the owner's", async () => {
      const dir = path.join(scratch, 'records');
      const tester = path.join(dir, 'tester.identity.json');
      const issued = await expectExit(0, [
        '--json',
        '--home',
        home,
        'license',
        'issue',
        '--subject',
        'agent:tester',
        '--role',
        'operator',
        '--new-key',
        '--out',
        tester,
      ]);
      assert.match(issued.stderr, /NOT encrypted/);
      const append = async (
        args: readonly string[],
        env: Record<string, string> = {},
      ): Promise<CanonicalRecord> =>
        (
          await json<{ record: CanonicalRecord }>(
            ['--home', home, ...args, 'canon', 'append', '--kind', 'note.signed', '--payload', '-'],
            { env, input: '{}' },
          )
        ).record;
      const byFlag = await append(['--identity', tester]);
      assert.equal(byFlag.body.actor, 'license:agent:tester');
      const byEnv = await append([], { SIGIL_IDENTITY: tester });
      assert.equal(byEnv.body.actor, 'license:agent:tester');
      const owner = path.join(home, 'identities', 'owner.json');
      const flagWins = await append(['--identity', owner], { SIGIL_IDENTITY: tester });
      assert.equal(flagWins.body.actor, OWNER_ACTOR);
      const byDefault = await append([]);
      assert.equal(byDefault.body.actor, OWNER_ACTOR);

      const all = await allRecords(home);
      const after = (rec: CanonicalRecord): CanonicalRecord | undefined => all[rec.body.seq + 1];
      assertAuditOf(after(byFlag), 'canon.append', 'agent:tester');
      assertAuditOf(after(byEnv), 'canon.append', 'agent:tester');
      assertAuditOf(after(flagWins), 'canon.append', OWNER_SUBJECT);
      assertAuditOf(after(byDefault), 'canon.append', OWNER_SUBJECT);

      // An operator may not write the system space: denied (exit 4), and the denial alone is recorded.
      const denied = await jsonError(
        4,
        'ACCESS_DENIED',
        ['--home', home, 'canon', 'append', '--kind', 'note.signed', '--space', 'system', '--payload', '-'],
        { env: { SIGIL_IDENTITY: tester }, input: '{}' },
      );
      assert.match(denied.error.message, /canon\.append_system needs LOA root/);
      const later = await allRecords(home);
      assert.equal(later.length, all.length + 1, 'a denial appends its audit record and nothing else');
      const audit = later[later.length - 1] as CanonicalRecord;
      assert.equal(audit.body.kind, 'audit.decision');
      assert.equal(audit.body.actor, 'license:agent:tester');
      const p = audit.body.payload as unknown as AuditPayload;
      assert.deepEqual(
        [p.operation, p.decision, p.cause, p.caller.subject, p.caller.role],
        ['canon.append_system', 'denied', 'loa', 'agent:tester', 'operator'],
      );
    });

    it('config show: every key with its value and origin', async () => {
      const r = await expectExit(0, ['--home', home, 'config', 'show']);
      assert.ok(
        r.stdout.includes(
          `canon.origin = ${JSON.stringify(init.origin)}  (${path.join(home, 'sigil.toml')})`,
        ),
        r.stdout,
      );
      assert.match(r.stdout, /^canon\.verify_workers = 2 {2}\(defaults\)$/m);
      assert.match(r.stdout, /^keystore\.passphrase_env = "SIGIL_PASSPHRASE" {2}\(defaults\)$/m);
      const j = await json<{
        config: { canon: { origin: string; verify_workers: number } };
        origins: Record<string, { kind: string; name: string }>;
      }>(['--home', home, 'config', 'show'], { env: { SIGIL_CANON_VERIFY_WORKERS: '1' } });
      assert.equal(j.config.canon.origin, init.origin);
      assert.equal(j.config.canon.verify_workers, 1);
      assert.deepEqual(j.origins['canon.verify_workers'], {
        kind: 'env',
        name: 'SIGIL_CANON_VERIFY_WORKERS',
      });
      assert.equal(j.origins['canon.origin']?.kind, 'file');
      // An unknown SIGIL_* variable is a configuration error (exit 2), named in the message.
      const bad = await expectExit(2, ['--home', home, 'config', 'show'], {
        env: { SIGIL_CANON_VERIFY_WORKRES: '1' },
      });
      assert.match(bad.stderr, /SIGIL_CANON_VERIFY_WORKRES/);
    });
  });

  describe('list: filters, order and cursor walks', { concurrency: 1 }, () => {
    let home = '';
    const N = 30; // legacy records, each followed by its audit record, after the records of init
    const TOTAL = INIT_RECORDS + N * PER_APPEND;
    /** The seq of legacy record i; its audit record is the next one. */
    const seqOf = (i: number): number => INIT_RECORDS + i * PER_APPEND;

    before(async () => {
      const dir = await tempDir('list');
      home = path.join(dir, 'home');
      await initHome(home);
      const file = path.join(dir, 'legacy.jsonl');
      await legacyFile(file, N);
      const report = await json<{ migrated: unknown[] }>([
        '--home',
        home,
        'canon',
        'migrate',
        '--from',
        file,
      ]);
      assert.equal(report.migrated.length, N);
    });

    it('lists every record oldest first, one line each (text)', async () => {
      const r = await expectExit(0, ['--home', home, 'canon', 'list', '--limit', '1000']);
      const lines = r.stdout.trimEnd().split('\n');
      assert.equal(lines.length, TOTAL);
      const genesis = (await allRecords(home))[0] as CanonicalRecord;
      assert.match(
        lines[0] ?? '',
        new RegExp(`^ {5}0 {2}${genesis.id} {2}system {2}canon\\.genesis +\\d{4}-\\d\\d-\\d\\dT`),
      );
      assert.match(lines[1] ?? '', /^ {5}1 {2}[0-9a-f]{64} {2}system {2}license\.issued +\d{4}-/);
      assert.match(lines[2] ?? '', /^ {5}2 {2}[0-9a-f]{64} {2}system {2}audit\.decision +\d{4}-/);
      assert.match(lines[3] ?? '', /^ {5}3 {2}[0-9a-f]{64} {2}system {2}witness\.registry +\d{4}-/);
      assert.match(lines[4] ?? '', /^ {5}4 {2}[0-9a-f]{64} {2}system {2}audit\.decision +\d{4}-/);
      assert.match(lines[5] ?? '', /^ {5}5 {2}[0-9a-f]{64} {2}data {4}note\.a +\d{4}-/);
      assert.match(lines[6] ?? '', /^ {5}6 {2}[0-9a-f]{64} {2}system {2}audit\.decision +\d{4}-/);
      const paged = await expectExit(0, ['--home', home, 'canon', 'list', '--limit', '2']);
      assert.match(paged.stdout, /^-- more: --cursor s1$/m);
    });

    it('the default page is 50; --json pages carry nextCursor', async () => {
      const page = await json<ListJson>(['--home', home, 'canon', 'list']);
      assert.deepEqual(
        page.records.map((r) => r.body.seq),
        range(0, 50),
      );
      assert.equal(page.nextCursor, 's49');
      const rest = await json<ListJson>(['--home', home, 'canon', 'list', '--cursor', 's49']);
      assert.deepEqual(
        rest.records.map((r) => r.body.seq),
        range(50, TOTAL),
      );
      assert.equal(rest.nextCursor, null);
      const first = await json<ListJson>(['--home', home, 'canon', 'list', '--limit', '4']);
      assert.equal(first.records.length, 4);
      assert.equal(first.nextCursor, 's3');
    });

    it('cursor walks cover every record exactly once, ascending and descending', async () => {
      const asc = await walk(home, ['--limit', '7']);
      assert.deepEqual(asc.seqs, range(0, TOTAL));
      assert.equal(asc.pages, Math.ceil(TOTAL / 7));
      const desc = await walk(home, ['--limit', '10', '--order', 'desc']);
      assert.deepEqual(desc.seqs, range(0, TOTAL).reverse());
      const mid = await json<ListJson>(['--home', home, 'canon', 'list', '--limit', '1', '--cursor', 's29']);
      assert.deepEqual(
        mid.records.map((r) => r.body.seq),
        [30],
      );
      assert.equal(mid.nextCursor, 's30');
      const last = `s${TOTAL - 2}`;
      const one = await json<ListJson>(['--home', home, 'canon', 'list', '--limit', '1', '--cursor', last]);
      assert.deepEqual(
        one.records.map((r) => r.body.seq),
        [TOTAL - 1],
      );
      assert.equal(one.nextCursor, null, 'no next cursor after the last record');
    });

    it('--space and --kind filter, alone and together, in both orders', async () => {
      const kindOf = (i: number): string => ['note.a', 'note.b', 'task.c'][i % 3] as string;
      const seqsWhere = (f: (i: number) => boolean): number[] => range(0, N).filter(f).map(seqOf);

      // The system space: init's records, the legacy system records and every audit record.
      const system = await walk(home, ['--space', 'system', '--limit', '4']);
      assert.deepEqual(system.seqs, [
        ...range(0, INIT_RECORDS),
        ...range(0, N).flatMap((i) => (i % 4 === 3 ? [seqOf(i), seqOf(i) + 1] : [seqOf(i) + 1])),
      ]);
      assert.ok(system.spaces.every((s) => s === 'system'));
      const data = await walk(home, ['--space', 'data', '--limit', '8', '--order', 'desc']);
      assert.deepEqual(data.seqs, seqsWhere((i) => i % 4 !== 3).reverse());
      assert.ok(data.records.every((r) => r.body.actor === OWNER_ACTOR));
      // Every migrated record has its audit record; an import into the system space is a system append.
      const audits = await walk(home, ['--kind', 'audit.decision', '--limit', '9']);
      assert.deepEqual(audits.seqs, [...INIT_AUDIT_SEQS, ...range(0, N).map((i) => seqOf(i) + 1)]);
      audits.records
        .slice(INIT_AUDIT_SEQS.length)
        .forEach((a, i) =>
          assertAuditOf(a, i % 4 === 3 ? 'canon.append_system' : 'canon.migrate', OWNER_SUBJECT),
        );

      const noteA = await walk(home, ['--kind', 'note.a', '--limit', '4']);
      assert.deepEqual(
        noteA.seqs,
        seqsWhere((i) => kindOf(i) === 'note.a'),
      );
      assert.ok(noteA.kinds.every((k) => k === 'note.a'));
      const taskDesc = await walk(home, ['--kind', 'task.c', '--limit', '4', '--order', 'desc']);
      assert.deepEqual(taskDesc.seqs, seqsWhere((i) => kindOf(i) === 'task.c').reverse());

      // Kind and space together (pages may come back short when the filter is applied after the kind
      // index): the walk must still find exactly the matching records.
      const both = await walk(home, ['--kind', 'task.c', '--space', 'system', '--limit', '1']);
      assert.deepEqual(
        both.seqs,
        seqsWhere((i) => kindOf(i) === 'task.c' && i % 4 === 3),
      );
      assert.ok(both.seqs.length === 2 && both.pages >= 2);
      const bothDesc = await walk(home, [
        '--kind',
        'note.a',
        '--space',
        'data',
        '--limit',
        '5',
        '--order',
        'desc',
      ]);
      assert.deepEqual(bothDesc.seqs, seqsWhere((i) => kindOf(i) === 'note.a' && i % 4 !== 3).reverse());
      const unknownKind = await json<ListJson>(['--home', home, 'canon', 'list', '--kind', 'never.used']);
      assert.deepEqual(unknownKind, { records: [], nextCursor: null });
      const text = await expectExit(0, ['--home', home, 'canon', 'list', '--kind', 'never.used']);
      assert.equal(text.stdout, '(no records)\n');
    });

    it('bad --limit, --cursor, --order, --space and --kind exit 2', async () => {
      // Rejected while parsing the command line, before the store is opened: these may run side by side.
      const usage = [
        ['--limit', 'ten'],
        ['--limit', '-1'],
        ['--limit', '1.5'],
        ['--order', 'sideways'],
        ['--space', 'both'],
      ];
      await Promise.all(
        usage.map(async (args) => {
          const r = await expectExit(2, ['--home', home, 'canon', 'list', ...args]);
          assert.match(r.stderr, /error/, `${args.join(' ')}: the error is explained`);
        }),
      );
      // Rejected by the store: one at a time, since each opens it.
      for (const args of [
        ['--limit', '0'],
        ['--limit', '1001'],
        ['--cursor', 's-1'],
        ['--kind', 'Not.Lowercase'],
      ]) {
        const r = await expectExit(2, ['--home', home, 'canon', 'list', ...args]);
        assert.match(r.stderr, /^sigil: error: /, `${args.join(' ')}: the error is explained`);
      }
      const doc = await jsonError(2, 'BAD_INPUT', ['--home', home, 'canon', 'list', '--cursor', 'bogus']);
      assert.match(doc.error.message, /invalid cursor/);
      await jsonError(2, 'BAD_USAGE', ['--home', home, 'canon', 'list', '--limit', 'ten']);
    });
  });

  describe('proofs, checkpoints, export and export verification', { concurrency: 1 }, () => {
    let dir = '';
    let home = '';
    let init: InitJson;
    let ids: string[] = [];
    let runtimePub: Uint8Array;
    let exportFile = '';
    /** 10 legacy records, each with its audit record, after init's records. */
    const SIZE = INIT_RECORDS + 10 * PER_APPEND;

    before(async () => {
      dir = await tempDir('proofs');
      home = path.join(dir, 'home');
      init = await initHome(home);
      const file = path.join(dir, 'legacy.jsonl');
      await legacyFile(file, 10);
      await json(['--home', home, 'canon', 'migrate', '--from', file]);
      const page = await json<ListJson>(['--home', home, 'canon', 'list']);
      ids = page.records.map((r) => r.id);
      assert.equal(ids.length, SIZE);
      const g = page.records[0]?.body.payload as { runtime_key: { key_id: string; public_key: string } };
      assert.equal(g.runtime_key.key_id, init.runtimeKeyId);
      runtimePub = fromBase64(g.runtime_key.public_key);
    });

    it('proof inclusion: verifies with verifyInclusion at the current and at an older size', async () => {
      type Incl = { id: string; leafIndex: number; treeSize: number; rootHash: string; proof: string[] };
      const verified = await json<{ ok: boolean; rootHash: string }>(['--home', home, 'canon', 'verify']);
      for (const seq of [0, 5, 10, SIZE - 1]) {
        const id = ids[seq] as string;
        const p = await json<Incl>(['--home', home, 'canon', 'proof', 'inclusion', id]);
        assert.equal(p.id, id);
        assert.equal(p.leafIndex, seq);
        assert.equal(p.treeSize, SIZE);
        assert.equal(p.rootHash, verified.rootHash);
        const proof = p.proof.map(fromHex);
        assert.ok(verifyInclusion(leafHash(fromHex(id)), seq, SIZE, proof, fromHex(p.rootHash)));
        // The proof is bound to the leaf and its position.
        assert.ok(
          !verifyInclusion(
            leafHash(fromHex(ids[(seq + 1) % SIZE] as string)),
            seq,
            SIZE,
            proof,
            fromHex(p.rootHash),
          ),
        );
      }
      const old = await json<Incl>([
        '--home',
        home,
        'canon',
        'proof',
        'inclusion',
        ids[5] as string,
        '--size',
        '8',
      ]);
      assert.equal(old.treeSize, 8);
      assert.ok(
        verifyInclusion(
          leafHash(fromHex(ids[5] as string)),
          5,
          8,
          old.proof.map(fromHex),
          fromHex(old.rootHash),
        ),
      );
      assert.notEqual(old.rootHash, verified.rootHash);

      const text = await expectExit(0, ['--home', home, 'canon', 'proof', 'inclusion', ids[5] as string]);
      assert.match(text.stdout, /^leaf index 5$/m);
      assert.match(text.stdout, new RegExp(`^tree size {2}${SIZE}$`, 'm'));
      assert.match(text.stdout, new RegExp(`^root {7}${verified.rootHash}$`, 'm'));

      await jsonError(2, 'BAD_INPUT', [
        '--home',
        home,
        'canon',
        'proof',
        'inclusion',
        ids[5] as string,
        '--size',
        '5',
      ]);
      await jsonError(2, 'BAD_INPUT', [
        '--home',
        home,
        'canon',
        'proof',
        'inclusion',
        ids[5] as string,
        '--size',
        String(SIZE + 1),
      ]);
      await jsonError(2, 'BAD_USAGE', [
        '--home',
        home,
        'canon',
        'proof',
        'inclusion',
        ids[5] as string,
        '--size',
        'x',
      ]);
      await jsonError(5, 'NOT_FOUND', ['--home', home, 'canon', 'proof', 'inclusion', 'cd'.repeat(32)]);
    });

    it('proof consistency: verifies with verifyConsistency; roots agree with inclusion proofs', async () => {
      type Cons = { oldSize: number; newSize: number; oldRoot: string; newRoot: string; proof: string[] };
      const check = (c: Cons): boolean =>
        verifyConsistency(c.oldSize, c.newSize, fromHex(c.oldRoot), fromHex(c.newRoot), c.proof.map(fromHex));
      const toNow = await json<Cons>(['--home', home, 'canon', 'proof', 'consistency', '4']);
      assert.equal(toNow.oldSize, 4);
      assert.equal(toNow.newSize, SIZE);
      assert.ok(check(toNow));
      assert.ok(!check({ ...toNow, oldRoot: toNow.newRoot }), 'a wrong old root does not verify');
      const between = await json<Cons>(['--home', home, 'canon', 'proof', 'consistency', '3', '8']);
      assert.equal(between.newSize, 8);
      assert.ok(check(between));
      const incl = await json<{ rootHash: string }>([
        '--home',
        home,
        'canon',
        'proof',
        'inclusion',
        ids[2] as string,
        '--size',
        '8',
      ]);
      assert.equal(between.newRoot, incl.rootHash);
      const same = await json<Cons>([
        '--home',
        home,
        'canon',
        'proof',
        'consistency',
        String(SIZE),
        String(SIZE),
      ]);
      assert.deepEqual(same.proof, []);
      assert.ok(check(same));

      const text = await expectExit(0, ['--home', home, 'canon', 'proof', 'consistency', '4']);
      assert.match(text.stdout, new RegExp(`^old size 4 {2}root ${toNow.oldRoot}$`, 'm'));
      assert.match(text.stdout, new RegExp(`^new size ${SIZE} {2}root ${toNow.newRoot}$`, 'm'));

      await jsonError(2, 'BAD_INPUT', ['--home', home, 'canon', 'proof', 'consistency', '9', '8']);
      await jsonError(2, 'BAD_INPUT', ['--home', home, 'canon', 'proof', 'consistency', '0']);
      await jsonError(2, 'BAD_INPUT', [
        '--home',
        home,
        'canon',
        'proof',
        'consistency',
        '4',
        String(SIZE + 1),
      ]);
      await jsonError(2, 'BAD_USAGE', ['--home', home, 'canon', 'proof', 'consistency', 'four']);
    });

    it('checkpoint: a signed note (origin, size, base64 root, blank line, em-dash signature line)', async () => {
      const verified = await json<{ rootHash: string }>(['--home', home, 'canon', 'verify']);
      const r = await expectExit(0, ['--home', home, 'canon', 'checkpoint']);
      const m = /^([^\n]+)\n(\d+)\n([A-Za-z0-9+/]+=*)\n\n\u2014 (\S+) ([A-Za-z0-9+/]+=*)\n$/.exec(r.stdout);
      assert.ok(m, `not a signed checkpoint note:\n${r.stdout}`);
      const [, origin, size, root, signer, sig] = m as unknown as [
        string,
        string,
        string,
        string,
        string,
        string,
      ];
      assert.equal(origin, init.origin);
      assert.equal(size, String(SIZE));
      assert.equal(fromBase64(root).length, 32);
      assert.equal(toHex(fromBase64(root)), verified.rootHash);
      assert.equal(signer, init.origin);
      assert.equal(fromBase64(sig).length, 4 + 64, 'key hash and Ed25519 signature');
      const { body } = verifySignedNote(
        r.stdout,
        [{ name: init.origin, publicKey: runtimePub }],
        ed25519Verify,
      );
      assert.equal(body, `${origin}\n${size}\n${root}\n`);

      const j = await json<{ origin: string; size: number; rootHash: string; note: string }>([
        '--home',
        home,
        'canon',
        'checkpoint',
      ]);
      assert.equal(j.origin, init.origin);
      assert.equal(j.size, SIZE);
      assert.equal(j.rootHash, verified.rootHash);
      assert.ok(j.note.startsWith(`${origin}\n${SIZE}\n${root}\n\n\u2014 ${origin} `));
    });

    it('export --out, then verify --from-export with no home: pinned key 0, wrong key 3, tampered file 3', async () => {
      exportFile = path.join(dir, 'canon.jsonl');
      const r = await expectExit(0, ['--home', home, 'canon', 'export', '--out', exportFile]);
      assert.equal(r.stdout, `exported ${SIZE} records to ${exportFile}\n`);
      const lines = (await readFile(exportFile, 'utf8')).trimEnd().split('\n');
      assert.equal(lines.length, SIZE + 1);
      const header = JSON.parse(lines[0] as string) as {
        type: string;
        root_key: { key_id: string };
        size: number;
        checkpoint: string;
      };
      assert.equal(header.type, 'sigil.canon.export');
      assert.equal(header.root_key.key_id, init.rootKeyId);
      assert.equal(header.size, SIZE);
      // An export reads: it appends nothing, not even an audit record.
      assert.equal((await allRecords(home)).length, SIZE);

      const nowhere = await tempDir('proofs-nowhere');
      assert.equal(sigilAbove(nowhere), null, 'precondition: no .sigil/ above the temporary directory');
      const ok = await expectExit(
        0,
        ['canon', 'verify', '--from-export', exportFile, '--trust-key', init.rootKeyId],
        { cwd: nowhere },
      );
      assert.match(ok.stdout, new RegExp(`^OK: ${SIZE} records verified; Merkle root [0-9a-f]{64}$`, 'm'));
      assert.equal(ok.stderr, '');
      const j = await json<{ ok: boolean; size: number; rootKeyId: string; pinned: boolean }>(
        ['canon', 'verify', '--from-export', exportFile, '--trust-key', init.rootKeyId],
        { cwd: nowhere },
      );
      assert.deepEqual([j.ok, j.size, j.rootKeyId, j.pinned], [true, SIZE, init.rootKeyId, true]);

      const unpinned = await expectExit(0, ['canon', 'verify', '--from-export', exportFile], {
        cwd: nowhere,
      });
      assert.match(unpinned.stderr, /^sigil: warning: no --trust-key given/m);
      assert.ok(unpinned.stderr.includes(init.rootKeyId));

      const wrongKey = 'f'.repeat(32);
      const wrong = await expectExit(
        3,
        ['canon', 'verify', '--from-export', exportFile, '--trust-key', wrongKey],
        { cwd: nowhere },
      );
      assert.ok(wrong.stderr.includes(`not in the pinned key ${wrongKey}`), wrong.stderr);
      const doc = await jsonError(
        3,
        'VERIFY_FAILED',
        ['canon', 'verify', '--from-export', exportFile, '--trust-key', wrongKey],
        { cwd: nowhere },
      );
      assert.deepEqual(doc.error.details, { rootKeyId: init.rootKeyId, pinned: wrongKey });

      // Change one payload in the file (legacy record 1, after init's records and legacy record 0 with its
      // audit record; line 0 is the header): the record no longer hashes to its id.
      const tamperedSeq = INIT_RECORDS + PER_APPEND;
      const tampered = path.join(dir, 'tampered.jsonl');
      const line = JSON.parse(lines[tamperedSeq + 1] as string) as { record: CanonicalRecord };
      assert.deepEqual([line.record.body.seq, line.record.body.payload], [tamperedSeq, { i: 1 }]);
      (line.record.body.payload as { i: number }).i = 999;
      await writeFile(
        tampered,
        [...lines.slice(0, tamperedSeq + 1), JSON.stringify(line), ...lines.slice(tamperedSeq + 2)].join(
          '\n',
        ) + '\n',
      );
      const bad = await expectExit(
        3,
        ['canon', 'verify', '--from-export', tampered, '--trust-key', init.rootKeyId],
        { cwd: nowhere },
      );
      assert.match(
        bad.stdout,
        new RegExp(`^FAILED: record seq ${tamperedSeq} \\(${line.record.id}\\): `, 'm'),
      );
      const badJson = await expectExit(
        3,
        ['--json', 'canon', 'verify', '--from-export', tampered, '--trust-key', init.rootKeyId],
        {
          cwd: nowhere,
        },
      );
      const report = JSON.parse(badJson.stdout) as { ok: boolean; firstBad: { seq: number; id: string } };
      assert.equal(report.ok, false);
      assert.equal(report.firstBad.seq, tamperedSeq);
      assert.equal(report.firstBad.id, line.record.id);

      await jsonError(5, 'NOT_FOUND', ['canon', 'verify', '--from-export', path.join(dir, 'missing.jsonl')], {
        cwd: nowhere,
      });
      await jsonError(2, 'BAD_USAGE', ['--home', home, 'canon', 'verify', '--trust-key', init.rootKeyId]);
    });

    it('export to standard output; an existing --out file is refused with exit 2', async () => {
      const r = await expectExit(0, ['--home', home, 'canon', 'export']);
      const lines = r.stdout.trimEnd().split('\n');
      assert.equal(lines.length, SIZE + 1);
      assert.equal((JSON.parse(lines[0] as string) as { type: string }).type, 'sigil.canon.export');
      assert.deepEqual(
        lines.slice(1).map((l) => (JSON.parse(l) as { record: CanonicalRecord }).record.id),
        ids,
      );
      const exists = await jsonError(2, 'BAD_USAGE', [
        '--home',
        home,
        'canon',
        'export',
        '--out',
        exportFile,
      ]);
      assert.match(exists.error.message, /already exists/);
      // The refused export left the store closed and usable.
      await expectExit(0, ['--home', home, 'canon', 'verify']);
    });
  });

  describe('verify and a corrupted record', { concurrency: 1 }, () => {
    let home = '';
    /** Every record id by seq: init's 5, then three appends (data, system, data), each with its audit record. */
    let ids: string[] = [];
    const SIZE = INIT_RECORDS + 3 * PER_APPEND;
    /** The victim: the system-space note (not a governance record), the second append (seq 7). */
    const VICTIM_SEQ = INIT_RECORDS + PER_APPEND;
    /** How `canon list` prints a seq: right-aligned in 6 columns. */
    const col = (seq: number): string => String(seq).padStart(6);

    before(async () => {
      home = path.join(await tempDir('verify'), 'home');
      await initHome(home);
      const appended: string[] = [];
      for (const [i, space] of (['data', 'system', 'data'] as const).entries()) {
        const j = await json<{ id: string }>(
          ['--home', home, 'canon', 'append', '--kind', 'note.created', '--space', space, '--payload', '-'],
          {
            input: JSON.stringify({ i }),
          },
        );
        appended.push(j.id);
      }
      const records = await allRecords(home);
      ids = records.map((r) => r.id);
      assert.equal(ids.length, SIZE);
      assert.deepEqual(
        [0, 1, 2].map((i) => ids[INIT_RECORDS + i * PER_APPEND]),
        appended,
      );
      assert.equal(records[VICTIM_SEQ]?.body.kind, 'note.created');
      assert.equal(records[VICTIM_SEQ]?.body.space, 'system');
    });

    it('verify of a sound store exits 0', async () => {
      const r = await expectExit(0, ['--home', home, 'canon', 'verify']);
      assert.match(r.stdout, new RegExp(`^OK: ${SIZE} records verified; Merkle root [0-9a-f]{64}\\n$`));
      const j = await json<{ ok: boolean; size: number; checked: number; rootHash: string; firstBad: null }>([
        '--home',
        home,
        'canon',
        'verify',
      ]);
      assert.deepEqual([j.ok, j.size, j.checked, j.firstBad], [true, SIZE, SIZE, null]);
    });

    it('one flipped byte of a stored record: verify exits 3 naming its seq and id', async () => {
      const victim = ids[VICTIM_SEQ] as string;
      const db = new ClassicLevel<string, Uint8Array>(path.join(home, 'canon'), {
        keyEncoding: 'utf8',
        valueEncoding: 'view',
      });
      await db.open();
      try {
        assert.equal(toHex((await db.get(KEYS.bySeq(VICTIM_SEQ))) as Uint8Array), victim);
        const sealed = await db.get(KEYS.record(victim));
        assert.ok(sealed, 'the record is stored under its id');
        const copy = Uint8Array.from(sealed);
        const at = Math.floor(copy.length / 2);
        copy[at] = (copy[at] as number) ^ 0x01;
        await db.put(KEYS.record(victim), copy, { sync: true });
      } finally {
        await db.close();
      }
      const r = await expectExit(3, ['--home', home, 'canon', 'verify']);
      assert.match(
        r.stdout,
        new RegExp(
          `^FAILED: record seq ${VICTIM_SEQ} \\(${victim}\\): record ciphertext does not authenticate`,
        ),
      );
      assert.ok(r.stdout.includes(`(${VICTIM_SEQ} of ${SIZE} records checked before the failure)`), r.stdout);
      const j = await expectExit(3, ['--json', '--home', home, 'canon', 'verify']);
      const report = JSON.parse(j.stdout) as {
        ok: boolean;
        firstBad: { seq: number; id: string; reason: string };
      };
      assert.equal(report.ok, false);
      assert.equal(report.firstBad.seq, VICTIM_SEQ);
      assert.equal(report.firstBad.id, victim);
      // Reading the damaged record is refused as corruption (3); its neighbours still read.
      const doc = await jsonError(3, 'STORE_CORRUPT', ['--home', home, 'canon', 'get', victim]);
      assert.ok(doc.error.message.includes(victim));
      for (const seq of [VICTIM_SEQ - 2, VICTIM_SEQ - 1, VICTIM_SEQ + 1, VICTIM_SEQ + 2])
        await expectExit(0, ['--home', home, 'canon', 'get', ids[seq] as string]);
    });

    it('canon list with the damaged record: the others are listed, the damaged one in its place, exit 3', async () => {
      const victim = ids[VICTIM_SEQ] as string;
      const reason = 'record ciphertext does not authenticate (bytes tampered or values swapped)';
      const r = await expectExit(3, ['--home', home, 'canon', 'list']);
      const lines = r.stdout.trimEnd().split('\n');
      assert.equal(lines.length, SIZE, show(r));
      const damagedLine = `${col(VICTIM_SEQ)}  ${victim}  DAMAGED: ${reason}`;
      assert.ok(lines[VICTIM_SEQ - 1]?.startsWith(`${col(VICTIM_SEQ - 1)}  ${ids[VICTIM_SEQ - 1]}  `));
      assert.equal(lines[VICTIM_SEQ], damagedLine);
      assert.ok(lines[VICTIM_SEQ + 1]?.startsWith(`${col(VICTIM_SEQ + 1)}  ${ids[VICTIM_SEQ + 1]}  `));
      assert.ok(
        r.stderr.startsWith(`sigil: warning: 1 record of this page could not be read (seq ${VICTIM_SEQ})`),
        r.stderr,
      );
      // Newest first, the damaged entry keeps its place; a page that does not reach it exits 0.
      const desc = await expectExit(3, ['--home', home, 'canon', 'list', '--order', 'desc']);
      assert.equal(desc.stdout.split('\n')[SIZE - 1 - VICTIM_SEQ], damagedLine);
      await expectExit(0, ['--home', home, 'canon', 'list', '--limit', '2']);
      // Paging across it: the damaged entry fills its slot of the page.
      const second = await expectExit(3, [
        '--home',
        home,
        'canon',
        'list',
        '--limit',
        '1',
        '--cursor',
        `s${VICTIM_SEQ - 1}`,
      ]);
      assert.equal(second.stdout, `${damagedLine}\n-- more: --cursor s${VICTIM_SEQ}\n`);
      const j = await expectExit(3, ['--json', '--home', home, 'canon', 'list']);
      const page = JSON.parse(j.stdout) as ListJson & {
        damaged: Array<{ seq: number; id: string; reason: string }>;
      };
      assert.deepEqual(
        page.records.map((rec) => rec.id),
        ids.filter((id) => id !== victim),
      );
      assert.deepEqual(page.damaged, [{ seq: VICTIM_SEQ, id: victim, reason }]);
      assert.equal(page.nextCursor, null);
      // An export needs every record: it stops, naming the damaged one.
      const ex = await jsonError(3, 'STORE_CORRUPT', [
        '--home',
        home,
        'canon',
        'export',
        '--out',
        path.join(path.dirname(home), 'damaged-export.jsonl'),
      ]);
      assert.match(
        ex.error.message,
        new RegExp(
          `^record ${victim} at seq ${VICTIM_SEQ} cannot be exported: ${reason.replace(/[()]/g, '\\$&')}`,
        ),
      );
    });

    it('LevelDB itself cannot open the store (garbled CURRENT file): internal error, exit 1', async () => {
      // Exit 1 is reserved for failures Sigil has no specific code for; a store directory LevelDB cannot
      // open (not locked, not missing) is mapped to INTERNAL on purpose, so this is an honest way to reach it.
      await writeFile(path.join(home, 'canon', 'CURRENT'), 'garbage');
      const r = await expectExit(1, ['--home', home, 'canon', 'list']);
      assert.ok(
        r.stderr.startsWith(`sigil: error: cannot open the store at ${path.join(home, 'canon')}: `),
        r.stderr,
      );
      const doc = await jsonError(1, 'INTERNAL', ['--home', home, 'canon', 'verify']);
      assert.match(doc.error.message, /Corruption/);
    });
  });

  describe('migrate', { concurrency: 1 }, () => {
    let dir = '';
    let home = '';
    const count = async (): Promise<number> =>
      (await json<ListJson>(['--home', home, 'canon', 'list', '--limit', '1000'])).records.length;

    before(async () => {
      dir = await tempDir('migrate');
      home = path.join(dir, 'home');
      await initHome(home);
    });

    it('from a JSON array: migrates, links the legacy id; a re-run migrates nothing', async () => {
      const file = path.join(dir, 'legacy.json');
      await writeFile(
        file,
        JSON.stringify(
          [
            {
              id: 'L-1',
              kind: 'note.created',
              space: 'data',
              payload: { text: 'one' },
              ts: '2020-01-01T00:00:00Z',
            },
            { kind: 'note.created', space: 'data', payload: { text: 'two, no id' } },
            { id: 'L-3', kind: 'task.done', space: 'system', payload: [3] },
          ],
          null,
          2,
        ),
      );
      const r = await expectExit(0, ['--home', home, 'canon', 'migrate', '--from', file]);
      assert.equal(r.stdout, '3 migrated, 0 skipped, 0 rejected (of 3)\n');
      const again = await json<{
        dryRun: boolean;
        total: number;
        migrated: unknown[];
        skipped: Array<{ reason: string; existing: string }>;
      }>(['--home', home, 'canon', 'migrate', '--from', file]);
      assert.equal(again.total, 3);
      assert.deepEqual(again.migrated, []);
      assert.equal(again.skipped.length, 3);
      assert.ok(again.skipped.every((s) => s.reason === 'already migrated' && ID_RE.test(s.existing)));
      const text = await expectExit(0, ['--home', home, 'canon', 'migrate', '--from', file]);
      assert.match(text.stdout, /^0 migrated, 3 skipped, 0 rejected \(of 3\)$/m);
      assert.match(text.stdout, /^ {2}skipped {2}#1 id:L-1: already migrated \([0-9a-f]{64}\)$/m);
      // Each migrated record came with its audit record; the re-runs, which migrated nothing, added nothing.
      assert.equal(await count(), INIT_RECORDS + 3 * PER_APPEND);

      const first = again.skipped[0]?.existing as string;
      const rec = await json<CanonicalRecord>(['--home', home, 'canon', 'get', first]);
      assert.deepEqual(rec.body.payload, { text: 'one' });
      assert.equal(rec.body.links[0]?.rel, 'migrated-from');
      assert.equal(rec.body.links[0]?.id, 'L-1');
      // The migrated records' actor is the caller's licence, whatever the legacy record said.
      const all = await allRecords(home);
      assert.equal(all[rec.body.seq]?.id, first);
      for (const s of again.skipped) {
        const migrated = all.find((r) => r.id === s.existing) as CanonicalRecord;
        assert.equal(migrated.body.actor, OWNER_ACTOR);
        // An import into the system space runs as a system append (root), into the data space as canon.migrate.
        const operation = migrated.body.space === 'system' ? 'canon.append_system' : 'canon.migrate';
        assertAuditOf(all[migrated.body.seq + 1], operation, OWNER_SUBJECT);
      }
    });

    it('from JSONL (blank lines allowed), with --dry-run first', async () => {
      const file = path.join(dir, 'legacy.jsonl');
      await writeFile(
        file,
        [
          '{"id":"J-1","kind":"note.created","space":"data","payload":{"j":1}}',
          '',
          '{"id":"J-2","kind":"note.created","space":"data","payload":{"j":2}}',
          '',
        ].join('\n'),
      );
      const dry = await json<{ dryRun: boolean; migrated: unknown[]; total: number }>([
        '--home',
        home,
        'canon',
        'migrate',
        '--from',
        file,
        '--dry-run',
      ]);
      assert.equal(dry.dryRun, true);
      assert.equal(dry.total, 2);
      assert.equal(await count(), INIT_RECORDS + 3 * PER_APPEND, 'a dry run appends nothing');
      const r = await expectExit(0, ['--home', home, 'canon', 'migrate', '--from', file]);
      assert.equal(r.stdout, '2 migrated, 0 skipped, 0 rejected (of 2)\n');
      const again = await expectExit(0, ['--home', home, 'canon', 'migrate', '--from', file]);
      assert.match(again.stdout, /^0 migrated, 2 skipped, 0 rejected \(of 2\)$/m);
      assert.equal(await count(), INIT_RECORDS + 5 * PER_APPEND);
    });

    it('rejects: exit 2 and nothing appended; --skip-invalid appends the valid ones and still exits 2', async () => {
      const file = path.join(dir, 'mixed.jsonl');
      await writeFile(
        file,
        [
          '{"id":"M-1","kind":"note.created","space":"data","payload":1}',
          '{"id":"M-2","kind":"Bad Kind","space":"data","payload":2}',
          '{"id":"M-3","kind":"note.created","space":"nowhere","payload":3}',
          '{"id":"M-4","kind":"note.created","space":"data","payload":4,"extra":true}',
        ].join('\n'),
      );
      const r = await expectExit(2, ['--home', home, 'canon', 'migrate', '--from', file]);
      assert.match(r.stdout, /^0 migrated, 0 skipped, 3 rejected \(of 4\)$/m);
      assert.match(r.stdout, /^ {2}rejected #2: kind "Bad Kind"/m);
      assert.match(r.stdout, /^ {2}rejected #3: space must be "data" or "system"/m);
      assert.match(r.stdout, /^ {2}rejected #4: unexpected field "extra"/m);
      assert.match(r.stdout, /nothing was appended because some records were rejected/);
      assert.equal(await count(), INIT_RECORDS + 5 * PER_APPEND);
      const skip = await expectExit(2, [
        '--json',
        '--home',
        home,
        'canon',
        'migrate',
        '--from',
        file,
        '--skip-invalid',
      ]);
      const report = JSON.parse(skip.stdout) as {
        migrated: Array<{ index: number }>;
        rejected: Array<{ index: number }>;
      };
      assert.deepEqual(
        report.migrated.map((m) => m.index),
        [1],
      );
      assert.deepEqual(
        report.rejected.map((m) => m.index),
        [2, 3, 4],
      );
      assert.equal(await count(), INIT_RECORDS + 6 * PER_APPEND);
    });

    it('unreadable input: invalid JSON exits 2 with line:col, a missing file 5', async () => {
      const file = path.join(dir, 'broken.json');
      await writeFile(file, '[\n  {"id": "x",\n]\n');
      const r = await expectExit(2, ['--home', home, 'canon', 'migrate', '--from', file]);
      assert.ok(r.stderr.includes(`${file}:3:1:`), r.stderr);
      const jsonl = path.join(dir, 'broken.jsonl');
      await writeFile(jsonl, '{"id":"ok","kind":"note.x","space":"data","payload":1}\n{"id": oops}\n');
      const l = await expectExit(2, ['--home', home, 'canon', 'migrate', '--from', jsonl]);
      assert.ok(l.stderr.includes(`${jsonl}:2:8:`), l.stderr);
      await jsonError(5, 'NOT_FOUND', [
        '--home',
        home,
        'canon',
        'migrate',
        '--from',
        path.join(dir, 'nope.json'),
      ]);
      await jsonError(2, 'BAD_USAGE', ['--home', home, 'canon', 'migrate']);
      assert.equal(await count(), INIT_RECORDS + 6 * PER_APPEND);
    });
  });

  describe('keys encrypted with SIGIL_PASSPHRASE', { concurrency: 1 }, () => {
    let home = '';

    before(async () => {
      home = path.join(await tempDir('passphrase'), 'home');
    });

    it('init with SIGIL_PASSPHRASE encrypts the keys and gives no warning about them', async () => {
      const r = await expectExit(0, ['--json', '--home', home, 'init'], {
        env: { SIGIL_PASSPHRASE: PASSPHRASE },
      });
      // The one warning left is about the single witness (k = 1), not about keys in clear.
      assert.match(r.stderr, SINGLE_WITNESS_WARNING);
      assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, r.stderr);
      assert.doesNotMatch(r.stderr, new RegExp(UNENCRYPTED_WARNING));
      assert.equal((JSON.parse(r.stdout) as InitJson).keysEncrypted, true);
      const text = await readFile(path.join(home, 'keystore.json'), 'utf8');
      assert.equal((JSON.parse(text) as { protection: string }).protection, 'scrypt-aes-256-gcm');
      assert.ok(!text.includes(PASSPHRASE));
      // The owner identity's key is encrypted with the same passphrase.
      const idText = await readFile(path.join(home, 'identities', 'owner.json'), 'utf8');
      const idKey = (JSON.parse(idText) as { key: Record<string, unknown> }).key;
      assert.equal(idKey.protection, 'scrypt-aes-256-gcm');
      assert.ok(!('seed' in idKey), 'no seed in clear');
      assert.ok(!idText.includes(PASSPHRASE));
      // So is the owner's witness key.
      const witnessText = await readFile(path.join(home, 'witnesses', 'owner.key.json'), 'utf8');
      const witnessKey = (JSON.parse(witnessText) as { key: Record<string, unknown> }).key;
      assert.equal(witnessKey.protection, 'scrypt-aes-256-gcm');
      assert.ok(!('seed' in witnessKey), 'no witness seed in clear');
      assert.ok(!witnessText.includes(PASSPHRASE));
      const id = await expectExit(
        0,
        ['--home', home, 'canon', 'append', '--kind', 'note.created', '--payload', '-'],
        {
          env: { SIGIL_PASSPHRASE: PASSPHRASE },
          input: '{"secret":false}',
        },
      );
      assert.match(id.stdout, /^[0-9a-f]{64}\n$/);
      assert.equal(id.stderr, '');
    });

    it('without SIGIL_PASSPHRASE and without a terminal: exit 2 naming SIGIL_PASSPHRASE', async () => {
      const r = await expectExit(2, ['--home', home, 'canon', 'list']);
      assert.match(r.stderr, /SIGIL_PASSPHRASE/);
      assert.match(r.stderr, /encrypted/);
      const doc = await jsonError(2, 'PASSPHRASE_REQUIRED', ['--home', home, 'canon', 'verify'], {
        env: { SIGIL_PASSPHRASE: '' },
      });
      assert.match(doc.error.message, /SIGIL_PASSPHRASE/);
    });

    it('a wrong passphrase exits 2', async () => {
      const r = await expectExit(2, ['--home', home, 'canon', 'list'], {
        env: { SIGIL_PASSPHRASE: 'not the passphrase' },
      });
      assert.match(r.stderr, /wrong passphrase/);
      await jsonError(2, 'PASSPHRASE_WRONG', ['--home', home, 'canon', 'list'], {
        env: { SIGIL_PASSPHRASE: 'not the passphrase' },
      });
      const ok = await json<ListJson>(['--home', home, 'canon', 'list'], {
        env: { SIGIL_PASSPHRASE: PASSPHRASE },
      });
      assert.equal(ok.records.length, INIT_RECORDS + PER_APPEND);
      assert.equal(ok.records[INIT_RECORDS]?.body.actor, OWNER_ACTOR, 'the encrypted owner identity signed');
    });

    it('a passphrase shorter than 8 characters is refused at init (2)', async () => {
      const other = path.join(scratch, 'passphrase', 'short');
      const r = await expectExit(2, ['--home', other, 'init'], { env: { SIGIL_PASSPHRASE: 'short' } });
      assert.match(r.stderr, /at least 8 characters/);
      assert.ok(!existsSync(path.join(other, 'keystore.json')));
    });
  });

  describe('a store held by another process', { concurrency: 1 }, () => {
    let home = '';
    let init: InitJson;

    before(async () => {
      home = path.join(await tempDir('locked'), 'home');
      init = await initHome(home);
    });

    it('exits 6 naming the holder pid from owner.json; works again once released', async () => {
      const holder = await holdStore(home);
      try {
        const owner = JSON.parse(await readFile(path.join(home, 'owner.json'), 'utf8')) as {
          pid: number;
          command: string;
        };
        assert.equal(owner.pid, holder.pid);
        assert.equal(owner.command, 'test hold');
        const r = await expectExit(6, ['--home', home, 'canon', 'list']);
        assert.match(r.stderr, /is locked by another process/);
        assert.ok(r.stderr.includes(`(pid ${holder.pid}, test hold, since `), r.stderr);
        const doc = await jsonError(
          6,
          'STORE_LOCKED',
          ['--home', home, 'canon', 'append', '--kind', 'note.x', '--payload', '-'],
          { input: '{}' },
        );
        assert.ok(doc.error.message.includes(`pid ${holder.pid}`));
        await expectExit(6, ['--home', home, 'canon', 'verify']);
        // The failed commands did not take over the owner file.
        assert.equal(
          (JSON.parse(await readFile(path.join(home, 'owner.json'), 'utf8')) as { pid: number }).pid,
          holder.pid,
        );
        // Needing no store, these still work while it is held.
        await expectExit(0, ['--home', home, 'config', 'show']);
        await expectExit(0, ['canon', 'canonicalize', '-'], { env: { SIGIL_HOME: home }, input: '{}' });
      } finally {
        assert.equal(await holder.release(), 0);
      }
      assert.ok(!existsSync(path.join(home, 'owner.json')), 'a clean close removes the owner file');
      // The refused commands appended nothing, not even an audit record.
      const page = await json<ListJson>(['--home', home, 'canon', 'list']);
      assert.deepEqual(
        page.records.map((r) => r.body.kind),
        INIT_KINDS,
      );
      assert.equal(page.records[0]?.signature.key_id, init.rootKeyId);
    });
  });

  describe('canonicalize (needs no home)', { concurrency: 1 }, () => {
    let nowhere = '';
    const input = path.join(JCS_FIXTURES, 'rfc8785-3.2.2-input.json');
    let expected = '';

    before(async () => {
      nowhere = await tempDir('canonicalize');
      assert.equal(sigilAbove(nowhere), null, 'precondition: no .sigil/ above the temporary directory');
      expected = await readFile(path.join(JCS_FIXTURES, 'rfc8785-3.2.2-output.json'), 'utf8');
    });

    it('the RFC 8785 example, from a file and from stdin', async () => {
      const r = await expectExit(0, ['canon', 'canonicalize', input], { cwd: nowhere });
      assert.equal(r.stdout, expected + '\n');
      assert.equal(r.stderr, '');
      const text = await readFile(input, 'utf8');
      const stdin = await expectExit(0, ['canon', 'canonicalize'], { cwd: nowhere, input: text });
      assert.equal(stdin.stdout, expected + '\n');
      const dash = await json<{ canonical: string }>(['canon', 'canonicalize', '-'], {
        cwd: nowhere,
        input: text,
      });
      assert.equal(dash.canonical, expected);
    });

    it('invalid JSON exits 2 with line:col; a duplicate key exits 2', async () => {
      const r = await expectExit(2, ['canon', 'canonicalize'], {
        cwd: nowhere,
        input: '{\n  "a": 1,\n  oops\n}',
      });
      assert.match(r.stderr, /^sigil: error: <stdin>:3:3: /);
      assert.equal(r.stdout, '');
      const file = path.join(nowhere, 'trailing.json');
      await writeFile(file, '[1, 2,]');
      const f = await expectExit(2, ['canon', 'canonicalize', file], { cwd: nowhere });
      assert.ok(f.stderr.startsWith(`sigil: error: ${file}:1:6: trailing comma`), f.stderr);
      const dup = await jsonError(2, 'BAD_INPUT', ['canon', 'canonicalize'], {
        cwd: nowhere,
        input: '{"a":1,"b":{"c":1,"c":2}}',
      });
      assert.match(dup.error.message, /^<stdin>:1:19: duplicate key "c"/);
      await expectExit(2, ['canon', 'canonicalize'], { cwd: nowhere, input: '' });
      await expectExit(5, ['canon', 'canonicalize', path.join(nowhere, 'missing.json')], { cwd: nowhere });
    });
  });

  describe('help and usage errors', { concurrency: 1 }, () => {
    it('every command and subcommand answers --help with exit 0', async () => {
      // Commands are discovered from the help output itself, so a new command cannot escape this test.
      const seen: string[] = [];
      const queue: string[][] = [[]];
      while (queue.length > 0) {
        const batch = queue.splice(0, 3);
        const results = await Promise.all(batch.map((cmd) => expectExit(0, [...cmd, '--help'])));
        results.forEach((r, i) => {
          const cmd = batch[i] as string[];
          seen.push(cmd.join(' '));
          assert.ok(r.stdout.startsWith(`Usage: ${['sigil', ...cmd].join(' ')} `), r.stdout);
          assert.equal(r.stderr, '');
          const section = /\nCommands:\n([\s\S]*?)(?:\n\n|$)/.exec(r.stdout)?.[1] ?? '';
          for (const line of section.split('\n')) {
            const name = /^ {2}([a-z][a-z-]*)/.exec(line)?.[1];
            if (name && name !== 'help') queue.push([...cmd, name]);
          }
        });
      }
      for (const expected of [
        '',
        'init',
        'canon',
        'canon append',
        'canon get',
        'canon list',
        'canon verify',
        'canon proof',
        'canon proof inclusion',
        'canon proof consistency',
        'canon checkpoint',
        'canon export',
        'canon canonicalize',
        'canon migrate',
        'config',
        'config show',
        'whoami',
        'license',
        'license issue',
        'license delegate',
        'license verify',
        'license revoke',
        'license list',
        'policy',
        'policy show',
        'trust',
        'trust score',
        'trust explain',
        'trust feedback',
        'trust status',
        'witness',
        'witness list',
        'witness keygen',
        'witness sign',
        'witness add',
        'witness rotate',
        'witness revoke',
        'proposal',
        'proposal create',
        'proposal list',
        'proposal show',
        'proposal export',
        'proposal attach',
        'proposal sign',
        'proposal commit',
        'proposal reject',
      ]) {
        assert.ok(
          seen.includes(expected),
          `--help of "sigil ${expected}" was not reached; seen: ${seen.join(', ')}`,
        );
      }
      const h = await expectExit(0, ['help', 'canon']);
      assert.ok(h.stdout.startsWith('Usage: sigil canon '));
      const v = await expectExit(0, ['--version']);
      assert.equal(v.stdout, '0.1.0\n');
    });

    it('unknown commands and options, missing and extra arguments exit 2', async () => {
      const cases: Array<[string[], RegExp]> = [
        [['bogus'], /unknown command 'bogus'/],
        [['canon', 'bogus'], /unknown command 'bogus'/],
        [['canon', 'list', '--bogus'], /unknown option '--bogus'/],
        [['--bogus', 'canon', 'list'], /unknown option '--bogus'/],
        // The record's actor comes from the caller's licence; there is no option to claim one.
        [['--actor', 'agent:x', 'canon', 'list'], /unknown option '--actor'/],
        [['canon', 'append', '--kind', 'note.x'], /required option '--payload <file>' not specified/],
        [['canon', 'get'], /missing required argument 'id'/],
        [['canon', 'get', 'a', 'b'], /too many arguments/],
        [['canon', 'proof', 'consistency'], /missing required argument 'old'/],
      ];
      // A bare group command shows its help on stderr, and is still a usage error.
      for (const args of [
        [],
        ['canon'],
        ['canon', 'proof'],
        ['config'],
        ['license'],
        ['policy'],
        ['trust'],
        ['witness'],
        ['proposal'],
      ]) {
        const r = await expectExit(2, args);
        assert.match(r.stderr, new RegExp(`^Usage: ${['sigil', ...args].join(' ')} `));
      }
      await Promise.all(
        cases.map(async ([args, message]) => {
          const r = await expectExit(2, args);
          assert.match(r.stderr, message);
          assert.match(r.stderr, /run with --help for usage/);
          assert.equal(r.stdout, '');
        }),
      );
    });

    it('--json usage errors are one JSON document {ok:false,error:{code,message},exit_code}', async () => {
      const doc = await jsonError(2, 'BAD_USAGE', ['canon', 'list', '--bogus']);
      assert.deepEqual(doc, {
        ok: false,
        error: { code: 'BAD_USAGE', message: "unknown option '--bogus'" },
        exit_code: 2,
      });
      const cmd = await jsonError(2, 'BAD_USAGE', ['nope']);
      assert.match(cmd.error.message, /unknown command 'nope'/);
    });
  });
});
