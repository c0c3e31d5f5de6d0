/**
 * Protocol tests of the bundled language server (dist/server/main.cjs --stdio), spoken to by a real LSP
 * client: a vscode-jsonrpc MessageConnection on the child's stdio. They cover the LSP lifecycle, every
 * `sigil/*` request of the protocol table, the notifications, the error shape, the owner socket through
 * which the CLI (bin/sigil.js) reaches the store while the server owns it, and that the CLI gives the
 * same answers with and without a live owner.
 *
 * Governance: every `sigil/*` request passes the gate. A request without `auth` is an anonymous guest, which
 * may only call guest operations; the others are signed here with the home's owner identity (root, written
 * by init to identities/owner.json) or with identities the tests have issued (test/support/auth.ts). Every
 * write lands together with its `audit.decision` record, and every denial leaves one.
 *
 * Every wait is for a message (notification, response, process exit) with a timeout; nothing sleeps.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { INIT_KINDS, INIT_RECORDS } from '../support/init-records.js';
import { collect, ensureBuilt, envWithoutSigil, show, type RunResult } from '../support/process.js';
import {
  actorOf,
  loadOwner,
  ownerIdentityFile,
  ownerSubject,
  sign,
  type SigningIdentity,
} from '../support/auth.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  createMessageConnection,
  ResponseError,
  StreamMessageReader,
  StreamMessageWriter,
  type MessageConnection,
} from 'vscode-jsonrpc/node';
import {
  REQUESTS,
  SIGIL_RPC_ERROR,
  type AppendedNotice,
  type CheckpointResult,
  type ConsistencyProofResult,
  type InclusionProofResult,
  type ListResult,
  type ParamsOf,
  type PolicyRow,
  type RecordView,
  type RequestMethod,
  type ResultOf,
  type StoreInfo,
  type VerifyResult,
} from '../../shared/src/protocol.js';
import type { SigilErrorCode, SigilErrorData } from '../../shared/src/errors.js';
import type { CanonicalRecord } from '../../shared/src/record.js';
import { canonicalize } from '../../shared/src/jcs.js';
import { fromBase64, fromHex, toBase64, toHex } from '../../shared/src/bytes.js';
import { leafHash, verifyConsistency, verifyInclusion } from '../../shared/src/merkle.js';
import { parseCheckpoint, verifySignedNote } from '../../shared/src/note.js';
import { Ed25519Signer, verify as ed25519Verify, publicKeyFromSeed } from '../../shared/src/ed25519.js';
import { POLICY_TABLE, type OperationName } from '../../shared/src/policy.js';
import { ClassicLevel } from 'classic-level';
import { KEYS } from '../../server/src/canon/layout.js';
import {
  createIdentity,
  writeIdentityFile,
  type LoadedIdentity,
} from '../../server/src/governance/identity.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = path.join(ROOT, 'bin', 'sigil.js');
const SERVER = path.join(ROOT, 'dist', 'server', 'main.cjs');
const BUNDLES = [SERVER, path.join(ROOT, 'dist', 'cli.cjs')];

/** Upper bound of any single wait; generous because the machine may be busy, never slept. */
const TIMEOUT_MS = 30_000;
const ID_RE = /^[0-9a-f]{64}$/;
const HEX32_RE = /^[0-9a-f]{64}$/;
/** How many of init's records are audit records. */
const INIT_AUDITS = INIT_KINDS.filter((k) => k === 'audit.decision').length;

let scratch = '';

// ---------------------------------------------------------------------------------------------------
// Environment and build

// ---------------------------------------------------------------------------------------------------
// The CLI

function sigil(args: readonly string[], input = ''): Promise<RunResult> {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: scratch,
    env: envWithoutSigil(),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.on('error', () => {}); // the CLI may exit without reading its input
  child.stdin.end(input);
  return collect(child);
}

async function expectExit(code: number, args: readonly string[], input = ''): Promise<RunResult> {
  const r = await sigil(args, input);
  assert.equal(r.code, code, `sigil ${args.join(' ')}\n${show(r)}`);
  return r;
}

async function cliJson<T>(args: readonly string[], input = ''): Promise<T> {
  return JSON.parse((await expectExit(0, ['--json', ...args], input)).stdout) as T;
}

async function cliInit(home: string): Promise<{ genesis: string; origin: string }> {
  return cliJson(['--home', home, 'init', '--origin', 'test.example/protocol-cli']);
}

/** `sigil canon append`, signed by the CLI with the home's owner identity (its default). */
async function cliAppend(home: string, kind: string, payload: unknown): Promise<{ id: string; seq: number }> {
  return cliJson(
    ['--home', home, 'canon', 'append', '--kind', kind, '--payload', '-'],
    JSON.stringify(payload),
  );
}

// ---------------------------------------------------------------------------------------------------
// The LSP client

interface Received {
  readonly method: string;
  readonly params: unknown;
}

type ProgressValue = {
  kind: 'begin' | 'report' | 'end';
  title?: string;
  percentage?: number;
  message?: string;
};

/** A real JSON-RPC client on the stdio of a spawned server: records every notification it receives. */
class LspClient {
  readonly received: Received[] = [];
  /** Methods of the requests the server sent to the client (answered with null). */
  readonly serverRequests: string[] = [];
  private readonly listeners = new Set<() => void>();
  private stderrText = '';
  exitCode: number | null | undefined = undefined;
  readonly exited: Promise<number | null>;

  private constructor(
    readonly child: ChildProcess,
    readonly conn: MessageConnection,
  ) {
    child.stderr?.setEncoding('utf8').on('data', (s: string) => (this.stderrText += s));
    this.exited = new Promise((resolve) => {
      child.on('exit', (code) => {
        this.exitCode = code;
        resolve(code);
        this.poke();
      });
    });
    conn.onNotification((method, params) => this.push({ method, params }));
    // $/progress is routed to progress handlers; with none registered for the token it lands here.
    conn.onUnhandledProgress((p) => this.push({ method: '$/progress', params: p }));
    conn.onRequest((method) => {
      this.serverRequests.push(method);
      return null;
    });
    conn.onError(() => undefined);
    conn.listen();
  }

  static start(extraEnv: Readonly<Record<string, string>> = {}): LspClient {
    const child = spawn(process.execPath, [SERVER, '--stdio'], {
      cwd: scratch,
      env: envWithoutSigil(extraEnv),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.stdin?.on('error', () => {});
    const conn = createMessageConnection(
      new StreamMessageReader(child.stdout!),
      new StreamMessageWriter(child.stdin!),
    );
    return new LspClient(child, conn);
  }

  get pid(): number {
    return this.child.pid!;
  }

  get stderr(): string {
    return this.stderrText;
  }

  private push(e: Received): void {
    this.received.push(e);
    this.poke();
  }

  private poke(): void {
    for (const l of [...this.listeners]) l();
  }

  /** Index to pass to waitFor/since to ignore what was received before now. */
  mark(): number {
    return this.received.length;
  }

  since(mark: number, method?: string): Received[] {
    return this.received.slice(mark).filter((e) => method === undefined || e.method === method);
  }

  /** The first notification `method` received at or after `since` that satisfies `pred`. */
  waitFor<T>(
    method: string,
    pred: (p: T) => boolean = () => true,
    since = 0,
    timeoutMs = TIMEOUT_MS,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const check = (): void => {
        for (let i = since; i < this.received.length; i++) {
          const e = this.received[i]!;
          if (e.method === method && pred(e.params as T)) {
            done();
            resolve(e.params as T);
            return;
          }
        }
        if (this.exitCode !== undefined) {
          done();
          reject(
            new Error(
              `the server exited (${this.exitCode}) before sending ${method}; stderr:\n${this.stderrText}`,
            ),
          );
        }
      };
      const timer = setTimeout(() => {
        done();
        const got = this.received.slice(since).map((e) => e.method);
        reject(
          new Error(
            `no matching ${method} within ${timeoutMs} ms; received: ${got.join(', ') || 'nothing'}\nstderr:\n${this.stderrText}`,
          ),
        );
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
      check();
    });
  }

  /** Sends `params` as they are: without an `auth` field the request is an anonymous guest's. */
  request<M extends RequestMethod>(
    method: M,
    params: ParamsOf<M> | Record<string, unknown>,
  ): Promise<ResultOf<M>> {
    return this.conn.sendRequest(method, params) as Promise<ResultOf<M>>;
  }

  /** Who signs `call` by default: the home's owner identity, once the store exists. */
  identity: SigningIdentity | null = null;

  /** `method` with `params` signed afresh (a new nonce each time) by `as`, default the client's identity. */
  call<M extends RequestMethod>(
    method: M,
    params: ParamsOf<M> | Record<string, unknown> = {},
    as: SigningIdentity | null = this.identity,
  ): Promise<ResultOf<M>> {
    assert.ok(as, `no identity to sign ${method} with`);
    return this.request(method, sign(method, params, as));
  }

  /** initialize + initialized; returns the initialize result and the first sigil/store.changed. */
  async initialize(opts: {
    workspace?: string;
    initializationOptions?: Record<string, unknown>;
    /** Runs right after `initialized` is sent, before waiting for the first sigil/store.changed. */
    afterInitialized?: () => Promise<void>;
  }): Promise<{
    result: { serverInfo?: { name: string; version?: string }; capabilities: object };
    changed: StoreInfo;
  }> {
    const folder = opts.workspace ? pathToFileURL(opts.workspace).href : null;
    const result = (await this.conn.sendRequest('initialize', {
      processId: process.pid,
      clientInfo: { name: 'sigil-protocol-test' },
      rootUri: folder,
      workspaceFolders: folder ? [{ uri: folder, name: path.basename(opts.workspace!) }] : null,
      capabilities: { window: { workDoneProgress: true } },
      ...(opts.initializationOptions ? { initializationOptions: opts.initializationOptions } : {}),
    })) as { serverInfo?: { name: string; version?: string }; capabilities: object };
    const mark = this.mark();
    await this.conn.sendNotification('initialized', {});
    await opts.afterInitialized?.();
    const changed = await this.waitFor<StoreInfo>('sigil/store.changed', () => true, mark);
    return { result, changed };
  }

  /** shutdown + exit; resolves with the exit code of the server process. */
  async shutdown(): Promise<number | null> {
    await this.conn.sendRequest('shutdown');
    await this.conn.sendNotification('exit');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), TIMEOUT_MS);
    const code = await this.exited;
    clearTimeout(timer);
    this.conn.dispose();
    return code;
  }

  async kill(): Promise<void> {
    this.conn.dispose();
    if (this.exitCode === undefined) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}

/** Asserts that `p` fails with a Sigil error (-32050) of `code`, with data {code, message, details?}. */
async function sigilError(p: Promise<unknown>, code: SigilErrorCode): Promise<SigilErrorData> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof ResponseError, `expected a ResponseError, got ${String(err)}`);
  assert.equal(err.code, SIGIL_RPC_ERROR, err.message);
  const data = err.data as SigilErrorData;
  assert.ok(
    Object.keys(data).every((k) => k === 'code' || k === 'message' || k === 'details'),
    `unexpected error data fields: ${Object.keys(data).join(', ')}`,
  );
  assert.equal(data.code, code, `${data.code}: ${data.message}`);
  assert.equal(typeof data.message, 'string');
  assert.ok(data.message.length > 0);
  assert.equal(err.message, data.message, 'the JSON-RPC message is the Sigil message');
  return data;
}

/** A subject public key no test holds the seed of (valid as a key; nothing signs with it). */
const EXAMPLE_SUBJECT_KEY = toBase64(publicKeyFromSeed(new Uint8Array(32).fill(7)));
/** A well-formed proposal id (SHA-256 hex) that names no proposal. */
const EXAMPLE_PROPOSAL_ID = 'b'.repeat(64);
/** A signed note shaped like a cosigned checkpoint: origin, size, root, and one signature line. */
const EXAMPLE_COSIGNED_NOTE = `example.org/log\n1\n${toBase64(new Uint8Array(32))}\n\n\u2014 owner ${toBase64(new Uint8Array(76))}\n`;

/** Valid params for every request: the type forces a new protocol method to be added here. */
const VALID_PARAMS: { readonly [M in RequestMethod]: ParamsOf<M> } = {
  'sigil/store.info': {},
  'sigil/store.init': {},
  'sigil/canon.append': { kind: 'note.created', space: 'data', payload: { text: 'hello' } },
  'sigil/canon.get': { id: 'a'.repeat(64) },
  'sigil/canon.getBySeq': { seq: 0 },
  'sigil/canon.list': {},
  'sigil/canon.verify': {},
  'sigil/canon.checkpoint': {},
  'sigil/canon.proof.inclusion': { id: 'a'.repeat(64) },
  'sigil/canon.proof.consistency': { oldSize: 1 },
  'sigil/canon.findLegacy': { legacyIdentity: 'legacy:none' },
  'sigil/license.whoami': {},
  'sigil/license.verify': { chain: [] },
  'sigil/license.issue': {
    subject: 'agent:example',
    role: 'observer',
    expiresAt: '2099-01-01T00:00:00Z',
    subjectKey: EXAMPLE_SUBJECT_KEY,
  },
  'sigil/license.delegate': { chain: [] },
  'sigil/license.revoke': { id: 'a'.repeat(32), reason: 'an example' },
  'sigil/license.list': {},
  'sigil/policy.show': {},
  'sigil/trust.score': { subject: 'agent:example', operation: 'canon.append' },
  'sigil/trust.explain': { subject: 'agent:example', operation: 'canon.append' },
  'sigil/trust.feedback': { subject: 'agent:example', operation: 'canon.append', outcome: 'good' },
  'sigil/trust.status': {},
  'sigil/witness.list': {},
  'sigil/proposal.create': { kind: 'quorum.set_threshold', change: { threshold: 1 } },
  'sigil/proposal.list': {},
  'sigil/proposal.show': { id: EXAMPLE_PROPOSAL_ID },
  'sigil/proposal.export': { id: EXAMPLE_PROPOSAL_ID },
  'sigil/proposal.attach': {
    id: EXAMPLE_PROPOSAL_ID,
    signature: { witnessId: 'owner', keyId: 'c'.repeat(32), sig: toBase64(new Uint8Array(64).fill(1)) },
  },
  'sigil/proposal.commit': { id: EXAMPLE_PROPOSAL_ID },
  'sigil/proposal.reject': { id: EXAMPLE_PROPOSAL_ID, reason: 'an example' },
  'sigil/checkpoint.request': { witnessId: 'owner' },
  'sigil/checkpoint.attach': { note: EXAMPLE_COSIGNED_NOTE },
  'sigil/checkpoint.cosigned': {},
  'sigil/rag.upsert': {
    key: 'docs:example',
    content: 'An example paragraph about borrowing.',
    metadata: { source: { root: 'docs', path: 'example.md' }, licence: 'MIT', provenance: {} },
  },
  'sigil/rag.import': { paths: ['/nonexistent-sigil-import'] },
  'sigil/rag.query': { text: 'borrowing' },
  'sigil/rag.remove': { key: 'docs:absent' },
  'sigil/rag.documents': {},
  'sigil/rag.stats': {},
  'sigil/rag.rebuild': {},
  'sigil/memory.write': { namespace: 'agent:example', key: 'k', text: 'remember this' },
  'sigil/memory.get': { namespace: 'agent:example', key: 'k' },
  'sigil/memory.list': {},
  'sigil/memory.search': { text: 'remember' },
  'sigil/memory.forget': { namespace: 'agent:example', key: 'k' },
  'sigil/module.run': { module: 'rustmentor', input: { action: 'analyze', text: 'fn main() {}' } },
  'sigil/module.list': {},
};

/** The payload of an `audit.decision` record (server/src/governance/gate.ts, auditPayload). */
interface AuditPayload {
  readonly operation: string;
  readonly method: string;
  readonly decision: 'allowed' | 'denied';
  readonly cause?: string;
  readonly reason: string;
  readonly caller: {
    readonly subject: string;
    readonly authenticated: boolean;
    readonly license_id: string | null;
    readonly key_id: string | null;
    readonly role: string;
    readonly loa: number;
    readonly loa_name: string;
  };
  readonly required: { readonly loa: string; readonly trust_threshold: number };
  readonly trust: { readonly score: number } | null;
  /** Allowed writes: how many records before it (in the same group commit) it covers. */
  readonly covers?: number;
  /** Requests whose `auth` was refused: why (replayed, bad_request_signature, stale…). */
  readonly authentication?: string;
}

/** Asserts `rec` is an audit.decision record of the system space and returns its payload. */
function auditPayload(rec: CanonicalRecord | undefined): AuditPayload {
  assert.ok(rec, 'an audit record is there');
  assert.equal(rec.body.kind, 'audit.decision', JSON.stringify(rec.body));
  assert.equal(rec.body.space, 'system');
  return rec.body.payload as unknown as AuditPayload;
}

/**
 * Asserts that `rec`, appended with sigil/canon.append, is followed in the log by the audit record of its
 * write: allowed, covering it, for `subject` running `operation`, and made by the same actor.
 */
function assertAuditedWrite(
  log: readonly CanonicalRecord[],
  rec: CanonicalRecord,
  subject: string,
  operation = rec.body.space === 'system' ? 'canon.append_system' : 'canon.append',
): void {
  const audit = log[rec.body.seq + 1];
  const p = auditPayload(audit);
  const what = `the audit record after seq ${rec.body.seq}: ${JSON.stringify(p)}`;
  assert.equal(p.decision, 'allowed', what);
  assert.equal(p.covers, 1, what);
  assert.equal(p.method, 'sigil/canon.append', what);
  assert.equal(p.operation, operation, what);
  assert.equal(p.caller.subject, subject, what);
  assert.equal(p.caller.authenticated, true, what);
  assert.equal(audit!.body.actor, actorOf(subject), what);
  assert.equal(rec.body.actor, actorOf(subject));
}

/** Every record of the log, oldest first, following next cursors (signed by the client's identity). */
async function listAll(c: LspClient, limit = 1000): Promise<{ records: CanonicalRecord[]; pages: number }> {
  const records: CanonicalRecord[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page: ListResult = await c.call('sigil/canon.list', { limit, ...(cursor ? { cursor } : {}) });
    records.push(...page.records);
    cursor = page.nextCursor;
    pages++;
    assert.ok(pages < 1000, 'the cursor walk does not end');
  } while (cursor !== null);
  return { records, pages };
}

function assertContiguous(records: readonly CanonicalRecord[]): void {
  assert.deepEqual(
    records.map((r) => r.body.seq),
    records.map((_, i) => i),
    'seqs are 0..n-1 in order',
  );
  assert.equal(new Set(records.map((r) => r.id)).size, records.length, 'ids are unique');
}

async function runtimePublicKey(home: string): Promise<Uint8Array> {
  const ks = JSON.parse(await readFile(path.join(home, 'keystore.json'), 'utf8')) as {
    keys: { purpose: string; public_key?: string }[];
  };
  const rt = ks.keys.find((k) => k.purpose === 'runtime');
  assert.ok(rt?.public_key, 'keystore.json has a runtime public key');
  return fromBase64(rt.public_key);
}

interface OwnerJson {
  pid: number;
  command: string;
  socket?: string;
}

async function readOwnerJson(home: string): Promise<OwnerJson> {
  return JSON.parse(await readFile(path.join(home, 'owner.json'), 'utf8')) as OwnerJson;
}

// ---------------------------------------------------------------------------------------------------

before(async () => {
  await ensureBuilt(BUNDLES);
  scratch = await mkdtemp(path.join(os.tmpdir(), 'sigil-proto-'));
});

after(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe(
  'the language server, as an editor sees it (workspace folder, store created by the editor)',
  { concurrency: 1 },
  () => {
    let client: LspClient;
    let workspace = '';
    let home = '';
    let socketPath = '';
    let genesis = '';
    let owner: LoadedIdentity;
    /** Records appended by the editor in order, for later checks. */
    const appended: CanonicalRecord[] = [];
    /** CLI outputs with the server as the owner, compared after shutdown with the CLI owning the store. */
    const withOwner = new Map<string, RunResult>();
    let someId = '';
    /** A tree size that includes `someId` but is not the current one. */
    let someSize = 0;

    before(async () => {
      // A space in the folder name: the home must come from the decoded file URI.
      workspace = path.join(scratch, 'my workspace');
      await mkdir(workspace);
      home = path.join(workspace, '.sigil');
      // This suite sends the owner's requests far faster than an editor would (150+ in a few seconds).
      // Under the default trust.rate_cap (300 a minute) that alone takes root's score for system-space
      // appends below its threshold once ~75 requests fall in the window, and the burst of system appends
      // below would be refused on trust. The cap is raised so these tests are about what they name; the
      // trust gate itself is tested with the default configuration in the governance suite.
      client = LspClient.start({ SIGIL_TRUST_RATE_CAP: '100000' });
    });

    after(async () => {
      await client?.kill();
    });

    it('initialize names the server; initialized reports no-store for an empty home and creates nothing', async () => {
      const { result, changed } = await client.initialize({ workspace });
      assert.equal(result.serverInfo?.name, 'sigil');
      assert.match(result.serverInfo?.version ?? '', /^\d+\.\d+\.\d+/);
      assert.equal(typeof result.capabilities, 'object');
      assert.deepEqual(changed, { status: 'no-store', home });
      assert.ok(!existsSync(home), 'the server does not create a home by itself');
    });

    it('before a store exists: store.info is no-store and every other request fails with HOME_MISSING', async () => {
      assert.deepEqual(await client.request('sigil/store.info', {}), { status: 'no-store', home });
      assert.deepEqual(
        await client.conn.sendRequest('sigil/store.info'),
        { status: 'no-store', home },
        'params may be omitted',
      );
      assert.deepEqual(
        await client.request('sigil/store.info', null as never),
        { status: 'no-store', home },
        'params may be null',
      );
      for (const method of Object.keys(REQUESTS) as RequestMethod[]) {
        if (method === 'sigil/store.info' || method === 'sigil/store.init') continue;
        const data = await sigilError(client.request(method, VALID_PARAMS[method]), 'HOME_MISSING');
        assert.match(data.message, /sigil init/, `${method}: says how to create a store`);
        assert.equal(data.details?.home, home);
      }
      assert.ok(!existsSync(home));
    });

    it('store.init creates the store: ready, a store.changed notification, and the owner socket', async () => {
      const mark = client.mark();
      const info = await client.request('sigil/store.init', { origin: 'test.example/protocol' });
      assert.equal(info.status, 'ready');
      assert.equal(info.home, home);
      assert.equal(info.origin, 'test.example/protocol');
      // canon.genesis, the owner's license.issued, the genesis witness.registry and their audit records.
      assert.equal(info.size, INIT_RECORDS);
      assert.match(info.rootHash ?? '', HEX32_RE);
      assert.equal(info.heads?.data, null);
      assert.equal(info.heads?.system?.seq, INIT_RECORDS - 1);
      assert.match(info.rootKeyId ?? '', /^[0-9a-f]{32}$/);
      assert.match(info.runtimeKeyId ?? '', /^[0-9a-f]{32}$/);
      assert.equal(info.keysEncrypted, false);

      const changed = await client.waitFor<StoreInfo>(
        'sigil/store.changed',
        (i) => i.status === 'ready',
        mark,
      );
      assert.deepEqual(changed, info);
      assert.deepEqual(await client.request('sigil/store.info', {}), info);
      assert.equal((await stat(home)).mode & 0o777, 0o700);

      // Once the store is ready the server serves it on its socket and says so in owner.json.
      await client.waitFor<{ message: string }>(
        'window/logMessage',
        (m) => m.message.includes('serving the store to the CLI on'),
        mark,
      );
      const owner = await readOwnerJson(home);
      assert.equal(owner.pid, client.pid);
      assert.equal(owner.command, 'sigil language server');
      assert.ok(owner.socket, 'owner.json names the socket');
      socketPath = owner.socket;
      assert.equal(socketPath, path.join(home, 'sigil.sock'));
      const st = await stat(socketPath);
      assert.ok(st.isSocket());
      assert.equal(st.mode & 0o777, 0o600, 'the socket is owner-only');

      const again = await sigilError(client.request('sigil/store.init', {}), 'HOME_EXISTS');
      assert.equal(again.details?.home, home);
    });

    it('store.init wrote the owner identity (root) and recorded its licence with the audit of the bootstrap', async () => {
      const file = ownerIdentityFile(home);
      assert.equal((await stat(file)).mode & 0o777, 0o600, 'the owner identity is owner-only');
      assert.equal((await stat(path.dirname(file))).mode & 0o777, 0o700);
      owner = await loadOwner(home);
      client.identity = owner;
      assert.equal(owner.subject, ownerSubject());
      assert.equal(owner.encrypted, false, 'a store without a passphrase has a clear owner key');
      assert.equal(owner.chain.length, 1);
      const licence = owner.chain[0]!.body;
      assert.equal(licence.role, 'root');
      assert.equal(licence.loa, 4);
      assert.equal(licence.audience, 'test.example/protocol');
      assert.equal(licence.parent, null);

      const { records } = await client.call('sigil/canon.list', {});
      assert.deepEqual(
        records.map((r) => [r.body.seq, r.body.space, r.body.kind]),
        INIT_KINDS.map((kind, seq) => [seq, 'system', kind]),
      );
      genesis = records[0]!.id;
      const issued = records[1]!.body.payload as { license: { body: { id: string } }; chain_ids: string[] };
      assert.equal(issued.license.body.id, owner.licenseId);
      assert.deepEqual(issued.chain_ids, [owner.licenseId]);
      assert.equal(records[1]!.body.prev, genesis);
      // No licence exists before this one: the runtime's bootstrap issues it, and says so.
      assert.equal(records[1]!.body.actor, 'sigil:init');
      assert.equal(records[2]!.body.actor, 'sigil:init');
      const audit = auditPayload(records[2]);
      assert.equal(audit.caller.subject, 'sigil:init');
      assert.equal(audit.caller.authenticated, false);
      assert.equal(audit.operation, 'store.init');
      assert.equal(audit.method, 'sigil/store.init');
      assert.equal(audit.decision, 'allowed');
      assert.equal(audit.covers, 1);
      assert.equal(records[2]!.body.prev, records[1]!.id);

      // Then the genesis witness registry, also the bootstrap's, with its own audit record.
      const [registry, registryAudit] = [records[3]!, records[4]!];
      assert.equal(registry.body.actor, 'sigil:init');
      assert.equal(registry.body.prev, records[2]!.id);
      assert.equal(registryAudit.body.prev, registry.id);
      const ra = auditPayload(registryAudit);
      assert.deepEqual(
        [ra.operation, ra.decision, ra.covers, ra.caller.subject],
        ['store.init', 'allowed', 1, 'sigil:init'],
      );
      const rp = registry.body.payload as {
        proposal_id: string | null;
        root_key_id: string;
        registry: { threshold: number; witnesses: { id: string }[] };
      };
      assert.equal(rp.proposal_id, null);
      assert.equal(rp.root_key_id, (await client.request('sigil/store.info', {})).rootKeyId);
      // sigil/witness.list reads it back: the owner alone, k = 1, the registry record the head of changes.
      const witnesses = await client.call('sigil/witness.list', {});
      assert.equal(witnesses.threshold, 1);
      assert.deepEqual(
        witnesses.witnesses.map((w) => [w.id, w.status]),
        [['owner', 'active']],
      );
      assert.deepEqual(
        rp.registry.witnesses.map((w) => w.id),
        ['owner'],
      );
      assert.equal(witnesses.head, registry.id);
      assert.deepEqual(await client.call('sigil/proposal.list', {}), { proposals: [] });
    });

    it('canon.append returns the record (and its audit record) and sends sigil/canon.appended', async () => {
      const mark = client.mark();
      const rec = await client.call('sigil/canon.append', {
        kind: 'note.created',
        space: 'data',
        payload: { text: 'first note', n: 1, nested: { b: [1, 2, 3], a: null } },
        links: [{ rel: 'after', id: genesis }],
      });
      assert.match(rec.id, ID_RE);
      assert.equal(rec.body.seq, INIT_RECORDS);
      assert.equal(rec.body.kind, 'note.created');
      assert.equal(rec.body.space, 'data');
      assert.equal(rec.body.actor, actorOf(ownerSubject()), 'the actor is the licence holder that signed');
      assert.deepEqual(rec.body.links, [{ rel: 'after', id: genesis }]);
      assert.equal(rec.body.prev, null, 'first record of the data space');
      assert.equal(rec.signature.alg, 'ed25519');
      appended.push(rec);

      // One notice for the write and its audit record: they land in one group commit.
      const notice = await client.waitFor<AppendedNotice>(
        'sigil/canon.appended',
        (n) => n.records.some((r) => r.id === rec.id),
        mark,
      );
      assert.equal(notice.records.length, 2, JSON.stringify(notice.records));
      assert.deepEqual(notice.records[0], {
        id: rec.id,
        seq: INIT_RECORDS,
        space: 'data',
        kind: 'note.created',
        ts: rec.body.ts,
      });
      const audit = await client.call('sigil/canon.getBySeq', { seq: INIT_RECORDS + 1 });
      assert.deepEqual(notice.records[1], {
        id: audit.id,
        seq: INIT_RECORDS + 1,
        space: 'system',
        kind: 'audit.decision',
        ts: audit.body.ts,
      });
      assert.equal(notice.size, INIT_RECORDS + 2);
      const p = auditPayload(audit);
      assert.equal(p.caller.license_id, owner.licenseId);
      assert.equal(p.caller.key_id, owner.keyId);
      assert.equal(p.caller.loa, 4);
      assert.match(p.reason, /^canon\.append: LOA root \(4\) meets operator \(2\); trust score /);
      assert.equal(
        audit.body.prev,
        (await client.call('sigil/canon.getBySeq', { seq: INIT_RECORDS - 1 })).id,
        "chains to init's last record",
      );
      const info = await client.request('sigil/store.info', {});
      assert.equal(notice.rootHash, info.rootHash);
      assert.deepEqual(info.heads?.data, { id: rec.id, seq: INIT_RECORDS });
      assert.deepEqual(info.heads?.system, { id: audit.id, seq: INIT_RECORDS + 1 });

      // The caller no longer names the actor: the licence does.
      const named = await sigilError(
        client.call('sigil/canon.append', {
          kind: 'task.opened',
          space: 'system',
          payload: [],
          actor: 'agent:planner',
        }),
        'BAD_INPUT',
      );
      assert.match(named.message, /^sigil\/canon\.append: .*"actor"/);
      assert.equal(
        await client.request('sigil/store.info', {}).then((i) => i.size),
        INIT_RECORDS + 2,
        'nothing appended',
      );

      const sys = await client.call('sigil/canon.append', {
        kind: 'task.opened',
        space: 'system',
        payload: [],
      });
      assert.equal(sys.body.actor, actorOf(ownerSubject()));
      assert.equal(sys.body.seq, INIT_RECORDS + 2);
      assert.equal(sys.body.prev, audit.id, 'chains to the previous record of the system space');
      appended.push(sys);
      await client.waitFor<AppendedNotice>(
        'sigil/canon.appended',
        (n) => n.records.some((r) => r.id === sys.id),
        mark,
      );
      const { records } = await listAll(client);
      assert.equal(records.length, INIT_RECORDS + 4);
      for (const r of appended) assertAuditedWrite(records, r, ownerSubject());
    });

    it('canon.get returns a RecordView: canonical JSON is the JCS of the record, and it verifies', async () => {
      const size = (await client.request('sigil/store.info', {})).size;
      assert.equal(size, INIT_RECORDS + 4);
      for (const rec of appended) {
        const view: RecordView = await client.call('sigil/canon.get', { id: rec.id });
        assert.deepEqual(view.record, rec);
        assert.equal(view.canonical, canonicalize(rec));
        assert.deepEqual(JSON.parse(view.canonical), rec);
        assert.equal(view.verification.ok, true, view.verification.reason ?? '');
        assert.equal(view.verification.reason, null);
        assert.equal(view.verification.inclusion?.ok, true);
        assert.equal(view.verification.inclusion?.treeSize, size);
      }
      const g = await client.call('sigil/canon.get', { id: genesis });
      assert.equal(g.record.body.kind, 'canon.genesis');
      assert.equal(g.verification.ok, true);
    });

    it('canon.getBySeq returns the record at a seq', async () => {
      assert.equal((await client.call('sigil/canon.getBySeq', { seq: 0 })).id, genesis);
      for (const rec of appended)
        assert.deepEqual(await client.call('sigil/canon.getBySeq', { seq: rec.body.seq }), rec);
    });

    it('canon.list pages through the log in both orders and filters by space and kind', async () => {
      const more = await Promise.all(
        Array.from({ length: 9 }, (_, i) =>
          client.call('sigil/canon.append', {
            kind: i % 2 === 0 ? 'note.paged' : 'task.paged',
            space: i % 3 === 0 ? 'system' : 'data',
            payload: { i },
          }),
        ),
      );
      appended.push(...more);
      const all = await listAll(client);
      assert.equal(all.pages, 1);
      // Init's records and two appends before, then each append adds its record and its audit record.
      assert.equal(all.records.length, INIT_RECORDS + 2 * 2 + 9 * 2);
      assertContiguous(all.records);
      for (const rec of more) assertAuditedWrite(all.records, rec, ownerSubject());

      const paged = await listAll(client, 5);
      assert.equal(paged.pages, Math.ceil(all.records.length / 5));
      assert.deepEqual(paged.records, all.records);

      const desc: CanonicalRecord[] = [];
      let cursor: string | null = null;
      do {
        const page: ListResult = await client.call('sigil/canon.list', {
          order: 'desc',
          limit: 4,
          ...(cursor ? { cursor } : {}),
        });
        assert.ok(page.records.length <= 4);
        desc.push(...page.records);
        cursor = page.nextCursor;
      } while (cursor !== null);
      assert.deepEqual(desc, [...all.records].reverse());

      const notes = await client.call('sigil/canon.list', { kind: 'note.paged' });
      assert.deepEqual(
        notes.records.map((r) => r.id),
        all.records.filter((r) => r.body.kind === 'note.paged').map((r) => r.id),
      );
      assert.equal(notes.records.length, 5);
      const system = await client.call('sigil/canon.list', { space: 'system' });
      assert.deepEqual(
        system.records.map((r) => r.id),
        all.records.filter((r) => r.body.space === 'system').map((r) => r.id),
      );
      const audits = await client.call('sigil/canon.list', { kind: 'audit.decision' });
      assert.equal(audits.records.length, INIT_AUDITS + appended.length, "init's and one per append");
      const none = await client.call('sigil/canon.list', { kind: 'never.used' });
      assert.deepEqual(none, { records: [], nextCursor: null });
    });

    it('canon.verify passes; without a workDoneToken it reports no progress', async () => {
      const mark = client.mark();
      const v: VerifyResult = await client.call('sigil/canon.verify', {});
      const info = await client.request('sigil/store.info', {});
      const { ok, size, checked, rootHash, firstBad, ...rechecks } = v;
      assert.deepEqual(
        { ok, size, checked, rootHash, firstBad },
        { ok: true, size: info.size, checked: info.size, rootHash: info.rootHash, firstBad: null },
      );
      // No witness has cosigned a checkpoint of this log: nothing to re-check.
      assert.deepEqual(v.cosignatures, { checked: 0, failed: [] });
      // Whatever else verify re-checks (cosignatures, system history…) found nothing wrong.
      for (const [what, report] of Object.entries(rechecks))
        assert.deepEqual((report as { readonly failed?: readonly unknown[] }).failed, [], what);
      assert.deepEqual(client.since(mark, '$/progress'), []);
      // Params that are nothing but `auth` (signed over no params) are the same as empty params.
      assert.deepEqual(
        await client.conn.sendRequest('sigil/canon.verify', sign('sigil/canon.verify', undefined, owner)),
        v,
        'params may be omitted',
      );
      assert.deepEqual(
        await client.conn.sendRequest('sigil/canon.list', sign('sigil/canon.list', undefined, owner)),
        await client.call('sigil/canon.list', {}),
      );
    });

    it('canon.verify with a workDoneToken sends $/progress begin … end for that token', async () => {
      const token = 'verify-progress-1';
      const mark = client.mark();
      // The token rides along next to the signed params; the signature does not cover it.
      const v = await client.request('sigil/canon.verify', {
        ...sign('sigil/canon.verify', {}, owner),
        workDoneToken: token,
      });
      assert.equal(v.ok, true);
      const end = await client.waitFor<{ token: unknown; value: ProgressValue }>(
        '$/progress',
        (p) => p.token === token && p.value.kind === 'end',
        mark,
      );
      assert.equal(end.value.kind, 'end');
      const mine = client
        .since(mark, '$/progress')
        .map((e) => e.params as { token: unknown; value: ProgressValue });
      assert.ok(
        mine.every((p) => p.token === token),
        'progress only for our token',
      );
      const kinds = mine.map((p) => p.value.kind);
      assert.equal(kinds[0], 'begin', kinds.join(','));
      assert.equal(kinds.at(-1), 'end', kinds.join(','));
      assert.ok(
        kinds.slice(1, -1).every((k) => k === 'report'),
        kinds.join(','),
      );
      assert.equal(typeof mine[0]!.value.title, 'string');
      for (const p of mine.filter((x) => x.value.kind === 'report')) {
        assert.ok(p.value.percentage! >= 0 && p.value.percentage! <= 100);
      }
      // The token came from the client: the server must not ask to create one.
      assert.ok(!client.serverRequests.includes('window/workDoneProgress/create'));

      // A numeric token works too.
      const mark2 = client.mark();
      await client.request('sigil/canon.verify', {
        ...sign('sigil/canon.verify', {}, owner),
        workDoneToken: 42,
      });
      await client.waitFor<{ token: unknown; value: ProgressValue }>(
        '$/progress',
        (p) => p.token === 42 && p.value.kind === 'end',
        mark2,
      );
    });

    it('canon.checkpoint signs the current tree with the runtime key', async () => {
      const cp: CheckpointResult = await client.call('sigil/canon.checkpoint', {});
      const info = await client.request('sigil/store.info', {});
      assert.equal(cp.origin, 'test.example/protocol');
      assert.equal(cp.size, info.size);
      assert.equal(cp.rootHash, info.rootHash);
      const { body } = verifySignedNote(
        cp.note,
        [{ name: cp.origin, publicKey: await runtimePublicKey(home) }],
        ed25519Verify,
      );
      const parsed = parseCheckpoint(body);
      assert.equal(parsed.origin, cp.origin);
      assert.equal(parsed.size, cp.size);
      assert.equal(toHex(parsed.rootHash), cp.rootHash);
    });

    it('canon.proof.inclusion and canon.proof.consistency verify with shared/src/merkle.ts', async () => {
      const info = await client.request('sigil/store.info', {});
      const size = info.size!;
      const roots = new Map<number, string>();
      for (const rec of [appended[0]!, appended[4]!, appended.at(-1)!]) {
        const p: InclusionProofResult = await client.call('sigil/canon.proof.inclusion', { id: rec.id });
        assert.equal(p.id, rec.id);
        assert.equal(p.leafIndex, rec.body.seq);
        assert.equal(p.treeSize, size);
        assert.equal(p.rootHash, info.rootHash);
        const leaf = leafHash(fromHex(rec.id));
        assert.ok(verifyInclusion(leaf, p.leafIndex, p.treeSize, p.proof.map(fromHex), fromHex(p.rootHash)));
        if (p.proof.length > 0) {
          const bad = p.proof.map(fromHex);
          bad[0] = new Uint8Array(32);
          assert.ok(
            !verifyInclusion(leaf, p.leafIndex, p.treeSize, bad, fromHex(p.rootHash)),
            'a tampered proof fails',
          );
        }
        const older: InclusionProofResult = await client.call('sigil/canon.proof.inclusion', {
          id: rec.id,
          treeSize: rec.body.seq + 1,
        });
        assert.equal(older.treeSize, rec.body.seq + 1);
        assert.ok(
          verifyInclusion(
            leaf,
            older.leafIndex,
            older.treeSize,
            older.proof.map(fromHex),
            fromHex(older.rootHash),
          ),
        );
        roots.set(older.treeSize, older.rootHash);
      }
      for (const oldSize of [1, 2, 3, 7, size]) {
        const c: ConsistencyProofResult = await client.call('sigil/canon.proof.consistency', { oldSize });
        assert.equal(c.oldSize, oldSize);
        assert.equal(c.newSize, size);
        assert.equal(c.newRoot, info.rootHash);
        if (roots.has(oldSize)) assert.equal(c.oldRoot, roots.get(oldSize));
        assert.ok(
          verifyConsistency(
            c.oldSize,
            c.newSize,
            fromHex(c.oldRoot),
            fromHex(c.newRoot),
            c.proof.map(fromHex),
          ),
          `consistency ${oldSize} → ${size}`,
        );
      }
      const mid: ConsistencyProofResult = await client.call('sigil/canon.proof.consistency', {
        oldSize: 2,
        newSize: 5,
      });
      assert.equal(mid.newSize, 5);
      assert.ok(verifyConsistency(2, 5, fromHex(mid.oldRoot), fromHex(mid.newRoot), mid.proof.map(fromHex)));
      assert.ok(
        !verifyConsistency(2, 5, fromHex(mid.newRoot), fromHex(mid.newRoot), mid.proof.map(fromHex)),
        'a wrong old root fails',
      );

      await sigilError(client.call('sigil/canon.proof.consistency', { oldSize: size + 1 }), 'BAD_INPUT');
      await sigilError(
        client.call('sigil/canon.proof.inclusion', { id: appended.at(-1)!.id, treeSize: 1 }),
        'BAD_INPUT',
      );
    });

    it('canon.findLegacy finds a migrated record by its legacy identity; a second append with it is refused', async () => {
      const rec = await client.call('sigil/canon.append', {
        kind: 'note.migrated',
        space: 'data',
        payload: { from: 'legacy' },
        legacyIdentity: 'legacy:notes/42',
      });
      appended.push(rec);
      // An append with a legacy identity is an import: it runs (and is audited) as canon.migrate.
      assertAuditedWrite([...(await listAll(client)).records], rec, ownerSubject(), 'canon.migrate');
      assert.deepEqual(await client.call('sigil/canon.findLegacy', { legacyIdentity: 'legacy:notes/42' }), {
        id: rec.id,
      });
      assert.deepEqual(await client.call('sigil/canon.findLegacy', { legacyIdentity: 'legacy:notes/43' }), {
        id: null,
      });
      const before = await client.request('sigil/store.info', {});
      await sigilError(
        client.call('sigil/canon.append', {
          kind: 'note.migrated',
          space: 'data',
          payload: {},
          legacyIdentity: 'legacy:notes/42',
        }),
        'DUPLICATE',
      );
      assert.deepEqual(
        await client.request('sigil/store.info', {}),
        before,
        'a refused write appends nothing, not even its audit record',
      );
      // An import into the system space is a system append: it needs root, and is audited as such.
      const sys = await client.call('sigil/canon.append', {
        kind: 'task.migrated',
        space: 'system',
        payload: {},
        legacyIdentity: 'legacy:tasks/1',
      });
      appended.push(sys);
      assertAuditedWrite((await listAll(client)).records, sys, ownerSubject(), 'canon.append_system');
    });

    it('bad params are BAD_INPUT errors naming the field; unknown ids are NOT_FOUND', async () => {
      const cases: { method: RequestMethod; params: Record<string, unknown>; field: string }[] = [
        // missing fields
        { method: 'sigil/canon.append', params: { space: 'data', payload: {} }, field: 'kind' },
        { method: 'sigil/canon.append', params: { kind: 'note.x', payload: {} }, field: 'space' },
        { method: 'sigil/canon.get', params: {}, field: 'id' },
        { method: 'sigil/canon.getBySeq', params: {}, field: 'seq' },
        { method: 'sigil/canon.findLegacy', params: {}, field: 'legacyIdentity' },
        { method: 'sigil/canon.proof.consistency', params: {}, field: 'oldSize' },
        // wrong types or values
        { method: 'sigil/canon.get', params: { id: 42 }, field: 'id' },
        { method: 'sigil/canon.get', params: { id: 'XYZ' }, field: 'id' },
        { method: 'sigil/canon.getBySeq', params: { seq: '1' }, field: 'seq' },
        { method: 'sigil/canon.getBySeq', params: { seq: -1 }, field: 'seq' },
        { method: 'sigil/canon.getBySeq', params: { seq: 1.5 }, field: 'seq' },
        {
          method: 'sigil/canon.append',
          params: { kind: 'note.x', space: 'elsewhere', payload: {} },
          field: 'space',
        },
        { method: 'sigil/canon.append', params: { kind: 7, space: 'data', payload: {} }, field: 'kind' },
        {
          method: 'sigil/canon.append',
          params: { kind: 'note.x', space: 'data', payload: {}, links: 'none' },
          field: 'links',
        },
        { method: 'sigil/canon.list', params: { limit: 0 }, field: 'limit' },
        { method: 'sigil/canon.list', params: { order: 'sideways' }, field: 'order' },
        {
          method: 'sigil/canon.proof.inclusion',
          params: { id: appended[0]!.id, treeSize: 'all' },
          field: 'treeSize',
        },
        { method: 'sigil/store.init', params: { origin: '' }, field: 'origin' },
        // extra fields
        { method: 'sigil/canon.get', params: { id: appended[0]!.id, extra: true }, field: 'extra' },
        {
          method: 'sigil/canon.append',
          params: { kind: 'note.x', space: 'data', payload: {}, seq: 5 },
          field: 'seq',
        },
        { method: 'sigil/store.info', params: { verbose: true }, field: 'verbose' },
        { method: 'sigil/canon.verify', params: { full: true }, field: 'full' },
        { method: 'sigil/canon.checkpoint', params: { sign: false }, field: 'sign' },
        // the actor is the signer's licence, never a param
        {
          method: 'sigil/canon.append',
          params: { kind: 'note.x', space: 'data', payload: {}, actor: 'agent:someone' },
          field: 'actor',
        },
      ];
      // Signed by the owner: the gate lets each through, so the schema is what refuses it. (Unsigned, the
      // gate would refuse all but the guest operations before looking at their params.)
      const before = await client.request('sigil/store.info', {});
      for (const c of cases) {
        const data = await sigilError(client.call(c.method, c.params), 'BAD_INPUT');
        const what = `${c.method} ${JSON.stringify(c.params)}: ${data.message}`;
        assert.ok(data.message.startsWith(`${c.method}: `), `the message names the method: ${what}`);
        assert.ok(data.message.includes(c.field), `the message names the field: ${what}`);
        assert.equal(data.details?.method, c.method, what);
        assert.equal(typeof data.details?.field, 'string', what);
      }
      // details.field is the path of the offending field when the field exists in the schema.
      for (const c of cases.slice(0, 18)) {
        const data = await sigilError(client.call(c.method, c.params), 'BAD_INPUT');
        assert.equal(
          data.details?.field,
          c.field,
          `${c.method} ${JSON.stringify(c.params)}: ${data.message}`,
        );
      }
      assert.deepEqual(await client.request('sigil/store.info', {}), before, 'nothing was appended');

      const unknown = 'f'.repeat(64);
      const nf = await sigilError(client.call('sigil/canon.get', { id: unknown }), 'NOT_FOUND');
      assert.equal(nf.details?.id, unknown);
      assert.ok(nf.message.includes(unknown));
      await sigilError(client.call('sigil/canon.proof.inclusion', { id: unknown }), 'NOT_FOUND');
      const seq = await sigilError(client.call('sigil/canon.getBySeq', { seq: 10_000 }), 'NOT_FOUND');
      assert.equal(seq.details?.seq, 10_000);

      // A method outside the protocol is a plain JSON-RPC "method not found".
      await assert.rejects(client.conn.sendRequest('sigil/canon.delete', { id: unknown }), (e: unknown) => {
        assert.ok(e instanceof ResponseError);
        assert.equal(e.code, -32601);
        return true;
      });
    });

    it('an append by the CLI goes through the owner socket and is announced with sigil/canon.appended', async () => {
      const mark = client.mark();
      // No --identity: the CLI signs with the home's owner identity.
      const r = await expectExit(
        0,
        ['--json', '--home', home, 'canon', 'append', '--kind', 'note.from-cli', '--payload', '-'],
        '{"via":"socket"}',
      );
      const out = JSON.parse(r.stdout) as { ok: boolean; id: string; seq: number; record: CanonicalRecord };
      assert.equal(out.ok, true);
      const notice = await client.waitFor<AppendedNotice>(
        'sigil/canon.appended',
        (n) => n.records.some((x) => x.id === out.id),
        mark,
      );
      const audit = await client.call('sigil/canon.getBySeq', { seq: out.seq + 1 });
      assert.deepEqual(notice.records, [
        { id: out.id, seq: out.seq, space: 'data', kind: 'note.from-cli', ts: out.record.body.ts },
        { id: audit.id, seq: out.seq + 1, space: 'system', kind: 'audit.decision', ts: audit.body.ts },
      ]);
      const view = await client.call('sigil/canon.get', { id: out.id });
      assert.deepEqual(view.record, out.record);
      assert.equal(view.record.body.actor, actorOf(ownerSubject()));
      assert.deepEqual(view.record.body.payload, { via: 'socket' });
      assertAuditedWrite((await listAll(client)).records, out.record, ownerSubject());
      // The server still owns the store: the CLI did not open it itself (LevelDB would have refused).
      assert.equal((await readOwnerJson(home)).pid, client.pid);
      appended.push(out.record);
    });

    it('4 CLI appends and 50 editor appends at once: all land with unique contiguous seqs; the CLI verifies', async () => {
      const mark = client.mark();
      const sizeBefore = (await client.request('sigil/store.info', {})).size!;
      const [cli, editor] = await Promise.all([
        Promise.all(Array.from({ length: 4 }, (_, i) => cliAppend(home, 'note.parallel-cli', { i }))),
        Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            client.call('sigil/canon.append', {
              kind: 'note.parallel-editor',
              space: i % 5 === 0 ? 'system' : 'data',
              payload: { i },
            }),
          ),
        ),
      ]);
      const ids = [...cli.map((c) => c.id), ...editor.map((e) => e.id)];
      assert.equal(new Set(ids).size, 54);
      const all = await listAll(client);
      assertContiguous(all.records);
      // Each append is its record and its audit record, committed together.
      assert.equal(all.records.length, sizeBefore + 54 * 2);
      const fresh = all.records.slice(sizeBefore);
      const written = fresh.filter((r) => r.body.kind !== 'audit.decision');
      assert.deepEqual(
        new Set(written.map((r) => r.id)),
        new Set(ids),
        'exactly these records were appended',
      );
      for (const rec of written) assertAuditedWrite(all.records, rec, ownerSubject());

      // Every one of them was announced, with its audit record.
      await client.waitFor<AppendedNotice>(
        'sigil/canon.appended',
        (n) => n.size === sizeBefore + 54 * 2,
        mark,
      );
      const announced = new Set(
        client
          .since(mark, 'sigil/canon.appended')
          .flatMap((e) => (e.params as AppendedNotice).records.map((r) => r.id)),
      );
      for (const r of fresh) assert.ok(announced.has(r.id), `${r.body.kind} ${r.id} was announced`);

      const v = await cliJson<VerifyResult>(['--home', home, 'canon', 'verify']);
      assert.equal(v.ok, true);
      assert.equal(v.size, sizeBefore + 54 * 2);
      someId = editor[7]!.id;
      someSize = editor[7]!.body.seq + 3;
    });

    const comparable = (): [string, string[]][] => [
      ['list --json', ['--json', '--home', home, 'canon', 'list', '--limit', '20', '--order', 'desc']],
      ['list (text)', ['--home', home, 'canon', 'list', '--kind', 'note.paged']],
      ['get --json', ['--json', '--home', home, 'canon', 'get', someId]],
      ['get (text)', ['--home', home, 'canon', 'get', someId]],
      ['verify --json', ['--json', '--home', home, 'canon', 'verify']],
      ['checkpoint --json', ['--json', '--home', home, 'canon', 'checkpoint']],
      [
        'proof inclusion --json',
        ['--json', '--home', home, 'canon', 'proof', 'inclusion', someId, '--size', String(someSize)],
      ],
      ['proof consistency --json', ['--json', '--home', home, 'canon', 'proof', 'consistency', '9', '50']],
      ['bad id', ['--json', '--home', home, 'canon', 'get', 'not-an-id']],
      ['unknown id', ['--json', '--home', home, 'canon', 'get', 'e'.repeat(64)]],
    ];

    it("Ask through the editor's model: the owner hands out the prompt, records only the reply, and takes it once", async () => {
      const before = (await client.call('sigil/canon.list', { kind: 'module.result', limit: 100 })).records
        .length;
      const first = await client.call('sigil/module.run', {
        module: 'rustmentor',
        input: {
          action: 'ask',
          text: 'fn f(v: Vec<u32>) -> u32 { *v.first().unwrap() }',
          rule: 'unwrap_used',
          llm: 'editor',
        },
      });
      assert.equal(first.recordId, null);
      const prompt = first.prompt;
      assert.ok(prompt, 'the editor is handed a prompt over stdio');
      assert.equal(prompt.sha256, createHash('sha256').update(JSON.stringify(prompt.messages)).digest('hex'));
      const reply = {
        module: 'rustmentor' as const,
        input: {
          action: 'ask' as const,
          promptId: prompt.promptId,
          answer: '```rust\nfn f(v: Vec<u32>) -> u32 { unsafe { *v.get_unchecked(0) } }\n```',
          model: { id: 'test-model', vendor: 'test', family: 'test' },
        },
      };
      const r = await client.call('sigil/module.run', reply);
      assert.equal(r.verdict, 'ManualReview');
      assert.ok(r.answer?.flags.some((f) => /unsafe/.test(f)));
      assert.equal(r.result.reasoning.llm?.via, 'vscode.lm');
      assert.equal(r.result.reasoning.llm?.prompt_sha256, prompt.sha256);
      assert.match(r.recordId ?? '', ID_RE);
      await sigilError(client.call('sigil/module.run', reply), 'NOT_FOUND');
      const after = (await client.call('sigil/canon.list', { kind: 'module.result', limit: 100 })).records
        .length;
      assert.equal(after, before + 1, 'only the answered Ask is stored');
    });

    it('the CLI through the socket: results and exit codes (bad id → 2, unknown id → 5)', async () => {
      // Through the socket they may run at once; alone (below) they must not, as each opens the store.
      const runs = await Promise.all(
        comparable().map(async ([name, args]) => [name, await sigil(args)] as const),
      );
      for (const [name, r] of runs) withOwner.set(name, r);
      for (const [name, r] of withOwner) {
        const expected = name === 'bad id' ? 2 : name === 'unknown id' ? 5 : 0;
        assert.equal(r.code, expected, `${name}\n${show(r)}`);
      }
      assert.equal(
        (JSON.parse(withOwner.get('bad id')!.stdout) as { error: { code: string } }).error.code,
        'BAD_INPUT',
      );
      assert.equal(
        (JSON.parse(withOwner.get('unknown id')!.stdout) as { error: { code: string } }).error.code,
        'NOT_FOUND',
      );
      assert.equal((await readOwnerJson(home)).pid, client.pid, 'still served by the language server');
    });

    it('shutdown + exit: the server exits 0 and removes owner.json and the socket', async () => {
      const code = await client.shutdown();
      assert.equal(code, 0, client.stderr);
      assert.ok(!existsSync(path.join(home, 'owner.json')), 'owner.json is gone');
      assert.ok(!existsSync(socketPath), 'the socket file is gone');
    });

    it('afterwards the CLI opens the store itself and gives the same results and exit codes', async () => {
      const v = await cliJson<VerifyResult>(['--home', home, 'canon', 'verify']);
      assert.equal(v.ok, true);
      assert.ok(!existsSync(path.join(home, 'owner.json')), 'the CLI removed its owner.json when done');
      for (const [name, args] of comparable()) {
        const alone = await sigil(args);
        const owned = withOwner.get(name)!;
        assert.equal(
          alone.code,
          owned.code,
          `${name}: exit codes differ\nwith owner: ${show(owned)}\nalone: ${show(alone)}`,
        );
        if (name === 'bad id') {
          // Both are BAD_INPUT with exit 2; the message differs (protocol schema vs store check).
          const a = JSON.parse(alone.stdout) as { error: { code: string }; exit_code: number };
          const o = JSON.parse(owned.stdout) as { error: { code: string }; exit_code: number };
          assert.equal(a.error.code, o.error.code);
          assert.equal(a.exit_code, o.exit_code);
          continue;
        }
        assert.equal(alone.stdout, owned.stdout, `${name}: output differs`);
        assert.equal(alone.stderr, owned.stderr, `${name}: stderr differs`);
      }
    });
  },
);

describe('initializationOptions.home: an existing store opened by the server', { concurrency: 1 }, () => {
  let client: LspClient;
  let home = '';
  let workspace = '';
  let init: { genesis: string; origin: string };
  let fromCli = '';

  before(async () => {
    home = path.join(scratch, 'options-home');
    workspace = path.join(scratch, 'options-workspace');
    await mkdir(workspace);
    init = await cliInit(home);
    fromCli = (await cliAppend(home, 'note.before-server', { at: 'start' })).id;
    client = LspClient.start();
    // `sigil init` wrote the owner identity the editor signs with.
    client.identity = await loadOwner(home);
  });

  after(async () => {
    await client?.kill();
  });

  it('initializationOptions.home wins over the workspace folder; the store opens as ready', async () => {
    // Requests sent right after `initialized` wait for the store to open: they never see "no store".
    // (Guest operations, sent unsigned: policy.show needs the open store as much as canon.list does.)
    let early: [StoreInfo, { operations: PolicyRow[] }] | undefined;
    const { result, changed } = await client.initialize({
      workspace,
      initializationOptions: { home },
      afterInitialized: async () => {
        early = await Promise.all([
          client.request('sigil/store.info', {}),
          client.request('sigil/policy.show', {}),
        ]);
      },
    });
    assert.equal(early?.[0].status, 'ready', JSON.stringify(early?.[0]));
    assert.deepEqual(
      early?.[1].operations.map((o) => o.operation),
      Object.keys(POLICY_TABLE),
      'the policy table of the open store',
    );
    // init's records (genesis, the owner's licence, the witness registry, their audit records), then the
    // CLI's note and its audit record.
    const { records } = await client.call('sigil/canon.list', {});
    assert.deepEqual(
      records.map((r) => [r.body.seq, r.body.kind]),
      [...INIT_KINDS, 'note.before-server', 'audit.decision'].map((kind, seq) => [seq, kind]),
    );
    assert.equal(records[0]!.id, init.genesis, '`sigil init` names the genesis record');
    assert.equal(records[INIT_RECORDS]!.id, fromCli);
    assertAuditedWrite(records, records[INIT_RECORDS]!, ownerSubject());
    assert.equal(result.serverInfo?.name, 'sigil');
    assert.equal(changed.status, 'ready', JSON.stringify(changed));
    assert.equal(changed.home, home);
    assert.equal(changed.origin, init.origin);
    assert.equal(changed.size, INIT_RECORDS + 2);
    assert.deepEqual(changed.heads?.data, { id: fromCli, seq: INIT_RECORDS });
    assert.ok(!existsSync(path.join(workspace, '.sigil')), 'nothing is created in the workspace folder');
    const view = await client.call('sigil/canon.get', { id: fromCli });
    assert.equal(view.verification.ok, true);
    assert.equal((await client.call('sigil/canon.verify', {})).ok, true);
  });

  it('shutdown + exit leaves the home to the CLI', async () => {
    assert.equal(await client.shutdown(), 0, client.stderr);
    assert.ok(!existsSync(path.join(home, 'owner.json')));
    assert.equal((await cliJson<VerifyResult>(['--home', home, 'canon', 'verify'])).size, INIT_RECORDS + 2);
  });
});

describe('a store owned by `sigil serve`: the server reports it locked', { concurrency: 1 }, () => {
  let client: LspClient;
  let serve: ChildProcess;
  let servePid = 0;
  let home = '';

  before(async () => {
    home = path.join(scratch, 'locked-home');
    await cliInit(home);
    serve = spawn(process.execPath, [BIN, '--json', '--home', home, 'serve'], {
      cwd: scratch,
      env: envWithoutSigil(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    serve.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
    const ready = await new Promise<{ ok: boolean; socket: string; pid: number }>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`sigil serve not ready within ${TIMEOUT_MS} ms: ${out}${err}`)),
        TIMEOUT_MS,
      );
      serve.stdout!.setEncoding('utf8').on('data', (s: string) => {
        out += s;
        try {
          const doc = JSON.parse(out) as { ok: boolean; socket: string; pid: number };
          clearTimeout(timer);
          resolve(doc);
        } catch {
          // not complete yet
        }
      });
      serve.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`sigil serve exited early with ${code}: ${out}${err}`));
      });
    });
    assert.equal(ready.ok, true);
    servePid = ready.pid;
    client = LspClient.start();
  });

  after(async () => {
    await client?.kill();
    if (serve && serve.exitCode === null && serve.signalCode === null) {
      serve.kill('SIGKILL');
      await once(serve, 'exit');
    }
  });

  it('store.changed says locked, naming the holder; requests fail with STORE_LOCKED', async () => {
    const { changed } = await client.initialize({ initializationOptions: { home } });
    assert.equal(changed.status, 'locked', JSON.stringify(changed));
    assert.equal(changed.home, home);
    assert.equal(changed.problem?.code, 'STORE_LOCKED');
    assert.ok(changed.problem?.message.includes(`pid ${servePid}`), changed.problem?.message);
    assert.deepEqual(await client.request('sigil/store.info', {}), changed);
    for (const method of ['sigil/canon.list', 'sigil/canon.append', 'sigil/canon.verify'] as const) {
      const data = await sigilError(client.request(method, VALID_PARAMS[method]), 'STORE_LOCKED');
      assert.ok(data.message.includes(`pid ${servePid}`), data.message);
    }
    await sigilError(client.request('sigil/store.init', {}), 'HOME_EXISTS');
    // The CLI is unaffected: it talks to `sigil serve` through its socket (after init's records).
    assert.equal((await cliAppend(home, 'note.while-locked', {})).seq, INIT_RECORDS);
  });

  it('the locked server shuts down cleanly and leaves the owner file of `sigil serve` alone', async () => {
    assert.equal(await client.shutdown(), 0, client.stderr);
    const owner = await readOwnerJson(home);
    assert.equal(owner.pid, servePid);
    assert.ok(owner.socket && existsSync(owner.socket));
    serve.kill('SIGTERM');
    const [code] = (await once(serve, 'exit')) as [number | null];
    assert.equal(code, 0);
    assert.ok(!existsSync(path.join(home, 'owner.json')));
    assert.equal((await cliJson<VerifyResult>(['--home', home, 'canon', 'verify'])).ok, true);
  });
});

describe(
  'an encrypted store: needs-passphrase, and a damaged record in a listing',
  { concurrency: 1 },
  () => {
    const PASSPHRASE = 'protocol test passphrase';
    let home = '';
    let owner: LoadedIdentity;
    /** Genesis, then the three data records (seq 5, 7, 9: after init's records, each with its audit). */
    const ids: string[] = [];
    /** The seq of data record i (1, 2, 3). */
    const dataSeq = (i: number): number => INIT_RECORDS + 2 * (i - 1);

    /** A server started on the home with `passphrase` (none: no passphrase at all); returns its first state. */
    async function startWith(passphrase?: string): Promise<{ client: LspClient; changed: StoreInfo }> {
      const client = LspClient.start();
      const { changed } = await client.initialize({
        initializationOptions: { home, ...(passphrase !== undefined ? { passphrase } : {}) },
      });
      return { client, changed };
    }

    before(async () => {
      home = path.join(scratch, 'encrypted-home');
    });

    it('the editor creates an encrypted store with the passphrase of initializationOptions', async () => {
      const { client, changed } = await startWith(PASSPHRASE);
      try {
        assert.equal(changed.status, 'no-store');
        const info = await client.request('sigil/store.init', {});
        assert.equal(info.keysEncrypted, true);
        assert.equal(info.size, INIT_RECORDS);
        // The owner identity is encrypted under the store passphrase too.
        const file = ownerIdentityFile(home);
        await assert.rejects(loadOwner(home), (e: unknown) => {
          assert.equal((e as { code?: string }).code, 'PASSPHRASE_REQUIRED', String(e));
          return true;
        });
        await assert.rejects(loadOwner(home, 'not the passphrase'), (e: unknown) => {
          assert.equal((e as { code?: string }).code, 'PASSPHRASE_WRONG', String(e));
          return true;
        });
        const key = (JSON.parse(await readFile(file, 'utf8')) as { key: { protection: string } }).key;
        assert.equal(key.protection, 'scrypt-aes-256-gcm');
        owner = await loadOwner(home, PASSPHRASE);
        assert.equal(owner.encrypted, true);
        client.identity = owner;
        ids.push((await client.call('sigil/canon.getBySeq', { seq: 0 })).id);
        for (const i of [1, 2, 3]) {
          const rec = await client.call('sigil/canon.append', {
            kind: 'note.created',
            space: 'data',
            payload: { i },
          });
          assert.equal(
            rec.body.seq,
            dataSeq(i),
            'after init, each append is its record and its audit record',
          );
          ids.push(rec.id);
        }
      } finally {
        assert.equal(await client.shutdown(), 0, client.stderr);
      }
    });

    for (const [what, passphrase, code] of [
      ['no passphrase', undefined, 'PASSPHRASE_REQUIRED'],
      ['a wrong passphrase', 'not the passphrase', 'PASSPHRASE_WRONG'],
    ] as const) {
      it(`with ${what}: status needs-passphrase (${code}); canon requests fail with ${code}`, async () => {
        const { client, changed } = await startWith(passphrase);
        try {
          assert.equal(changed.status, 'needs-passphrase', JSON.stringify(changed));
          assert.equal(changed.home, home);
          assert.equal(changed.problem?.code, code);
          assert.deepEqual(await client.request('sigil/store.info', {}), changed);
          await sigilError(client.request('sigil/canon.list', {}), code);
          await sigilError(client.request('sigil/store.init', {}), 'HOME_EXISTS');
          assert.ok(!existsSync(path.join(home, 'owner.json')), 'a store that is not open has no owner');
        } finally {
          assert.equal(await client.shutdown(), 0, client.stderr);
        }
      });
    }

    it('with the passphrase: ready; a damaged record is listed in its place as damaged, get fails', async () => {
      const victim = ids[2] as string;
      const db = new ClassicLevel<string, Uint8Array>(path.join(home, 'canon'), {
        keyEncoding: 'utf8',
        valueEncoding: 'view',
      });
      await db.open();
      try {
        const sealed = Uint8Array.from((await db.get(KEYS.record(victim))) as Uint8Array);
        const at = Math.floor(sealed.length / 2);
        sealed[at] = (sealed[at] as number) ^ 0x01;
        await db.put(KEYS.record(victim), sealed, { sync: true });
      } finally {
        await db.close();
      }
      const { client, changed } = await startWith(PASSPHRASE);
      client.identity = owner;
      try {
        assert.equal(changed.status, 'ready', JSON.stringify(changed));
        assert.equal(changed.keysEncrypted, true);
        const damaged = {
          seq: dataSeq(2),
          id: victim,
          reason: 'record ciphertext does not authenticate (bytes tampered or values swapped)',
        };
        const page = await client.call('sigil/canon.list', { space: 'data', order: 'desc' });
        assert.deepEqual(
          page.records.map((r) => r.id),
          [ids[3], ids[1]],
        );
        assert.deepEqual(page.damaged, [damaged]);
        // One entry per page: the damaged one takes its own page, and the walk covers every seq once.
        const walked: number[] = [];
        let cursor: string | null = null;
        do {
          const p: ListResult = await client.call('sigil/canon.list', {
            limit: 1,
            ...(cursor ? { cursor } : {}),
          });
          assert.equal(p.records.length + (p.damaged?.length ?? 0), 1);
          walked.push(...p.records.map((r) => r.body.seq), ...(p.damaged ?? []).map((d) => d.seq));
          cursor = p.nextCursor;
        } while (cursor !== null);
        assert.deepEqual(
          walked,
          Array.from({ length: INIT_RECORDS + 6 }, (_, seq) => seq),
        );
        const undamaged = await client.call('sigil/canon.list', { space: 'system' });
        assert.ok(!('damaged' in undamaged), 'no damaged key on a page without damaged entries');
        assert.equal(
          undamaged.records.length,
          INIT_RECORDS + 3,
          "init's records (genesis, the licence, the witness registry, 2 audit records) and 3 audit records",
        );
        const data = await sigilError(client.call('sigil/canon.get', { id: victim }), 'STORE_CORRUPT');
        assert.ok(data.message.includes(victim), data.message);
        const report = await client.call('sigil/canon.verify', {});
        assert.equal(report.firstBad?.seq, dataSeq(2));
      } finally {
        assert.equal(await client.shutdown(), 0, client.stderr);
      }
    });
  },
);

describe(
  'governance: every request passes the gate (licence, policy table, trust, audit), default configuration',
  { concurrency: 1 },
  () => {
    const OBSERVER = 'agent:observer';
    let client: LspClient;
    let home = '';
    let origin = '';
    let owner: LoadedIdentity;
    /** Issued in a test below: an observer licence and the signer of its key. */
    let observer: SigningIdentity;
    let observerLicense = '';
    let observerFile = '';

    /** The current store size (store.info is a guest operation: asked unsigned, it appends nothing). */
    async function size(): Promise<number> {
      return (await client.request('sigil/store.info', {})).size!;
    }

    /** The record at `seq`, read by the owner. */
    function at(seq: number): Promise<CanonicalRecord> {
      return client.call('sigil/canon.getBySeq', { seq });
    }

    before(async () => {
      const workspace = path.join(scratch, 'governance-workspace');
      await mkdir(workspace);
      home = path.join(workspace, '.sigil');
      observerFile = path.join(scratch, 'observer.identity.json');
      client = LspClient.start();
      const { changed } = await client.initialize({ workspace });
      assert.equal(changed.status, 'no-store');
      const mark = client.mark();
      const info = await client.request('sigil/store.init', { origin: 'test.example/governance' });
      origin = info.origin!;
      owner = await loadOwner(home);
      client.identity = owner;
      // The CLI below reaches the store through the socket the server opens once the store is ready.
      await client.waitFor<{ message: string }>(
        'window/logMessage',
        (m) => m.message.includes('serving the store to the CLI on'),
        mark,
      );
    });

    after(async () => {
      await client?.kill();
    });

    it('sigil/license.whoami returns the owner: root, LOA 4, its licence, key and chain', async () => {
      const me = await client.call('sigil/license.whoami', {});
      assert.deepEqual(me, {
        authenticated: true,
        subject: ownerSubject(),
        role: 'root',
        loa: 4,
        licenseId: owner.licenseId,
        keyId: owner.keyId,
        expiresAt: owner.chain[0]!.body.expires_at,
        chainIds: [owner.licenseId],
      });
      // A guest operation: without auth it answers too, for an anonymous guest.
      const n = await size();
      assert.deepEqual(await client.request('sigil/license.whoami', {}), {
        authenticated: false,
        subject: 'anonymous',
        role: 'guest',
        loa: 0,
        licenseId: null,
        keyId: null,
        expiresAt: null,
        chainIds: [],
      });
      assert.equal(await size(), n, 'an allowed read appends nothing');
      const { licenses } = await client.call('sigil/license.list', {});
      assert.equal(licenses.length, 1);
      const [entry] = licenses;
      assert.equal(entry?.id, owner.licenseId);
      assert.equal(entry?.subject, ownerSubject());
      assert.equal(entry?.role, 'root');
      assert.equal(entry?.loa, 4);
      assert.equal(entry?.status, 'valid');
      assert.equal(entry?.parent, null);
      assert.equal(entry?.keyId, owner.keyId);
      assert.equal(entry?.recordId, (await at(1)).id, 'recorded by init as seq 1');
      assert.deepEqual(entry?.license, owner.chain[0]);
    });

    it('an unsigned sigil/canon.append is refused: ACCESS_DENIED naming the operation and the LOA it needs, and one audit record', async () => {
      const before = await client.request('sigil/store.info', {});
      const mark = client.mark();
      const data = await sigilError(
        client.request('sigil/canon.append', { kind: 'note.anonymous', space: 'data', payload: { x: 1 } }),
        'ACCESS_DENIED',
      );
      assert.equal(data.details?.operation, 'canon.append');
      assert.equal(data.details?.cause, 'loa');
      assert.equal(data.details?.subject, 'anonymous');
      assert.deepEqual(data.details?.required, {
        loa: 'operator',
        trust_threshold: POLICY_TABLE['canon.append'].trustThreshold,
      });
      const actual = data.details?.actual as { loa: string; loa_rank: number; score: number };
      assert.equal(actual.loa_rank, 0);
      assert.equal(actual.loa, 'guest (0)');
      assert.match(data.message, /^canon\.append needs LOA operator \(2\); you have guest \(0\)/);
      assert.match(data.message, /--identity/, 'says how to sign');

      const after = await client.request('sigil/store.info', {});
      assert.equal(after.size, before.size! + 1, 'exactly one record: the audit of the denial');
      assert.deepEqual(after.heads?.data, before.heads?.data, 'nothing reached the data space');
      const audit = await at(before.size!);
      assert.deepEqual(after.heads?.system, { id: audit.id, seq: before.size });
      const p = auditPayload(audit);
      assert.equal(audit.body.actor, 'anonymous');
      assert.equal(p.decision, 'denied');
      assert.equal(p.operation, 'canon.append');
      assert.equal(p.method, 'sigil/canon.append');
      assert.equal(p.cause, 'loa');
      assert.equal(p.reason, data.message.slice(0, p.reason.length));
      assert.deepEqual(p.required, data.details?.required);
      assert.equal(p.caller.authenticated, false);
      assert.equal(p.caller.subject, 'anonymous');
      assert.equal(p.caller.loa, 0);
      assert.equal(p.trust?.score, actual.score);
      assert.equal(p.covers, undefined, 'a denial covers no write');
      const notice = await client.waitFor<AppendedNotice>(
        'sigil/canon.appended',
        (n) => n.records.some((r) => r.id === audit.id),
        mark,
      );
      assert.deepEqual(notice.records, [
        { id: audit.id, seq: audit.body.seq, space: 'system', kind: 'audit.decision', ts: audit.body.ts },
      ]);
      // The system space needs more: root.
      const sys = await sigilError(
        client.request('sigil/canon.append', { kind: 'note.anonymous', space: 'system', payload: {} }),
        'ACCESS_DENIED',
      );
      assert.equal(sys.details?.operation, 'canon.append_system');
      assert.equal((sys.details?.required as { loa: string }).loa, 'root');
      assert.equal(await size(), before.size! + 2);
    });

    it('without auth, guest operations answer; every other request is ACCESS_DENIED naming its operation and LOA, with one audit record each', async () => {
      for (const method of Object.keys(REQUESTS) as RequestMethod[]) {
        const operation = REQUESTS[method].operation as OperationName;
        const policy = POLICY_TABLE[operation];
        const before = await size();
        if (method === 'sigil/store.init') {
          // The bootstrap is open to guests only where there is no store yet.
          await sigilError(client.request(method, VALID_PARAMS[method]), 'HOME_EXISTS');
          assert.equal(await size(), before);
          continue;
        }
        if (policy.loa === 'guest') {
          const result = await client.request(method, VALID_PARAMS[method]);
          assert.equal(typeof result, 'object', method);
          assert.equal(await size(), before, `${method}: an allowed read appends nothing`);
          continue;
        }
        const data = await sigilError(client.request(method, VALID_PARAMS[method]), 'ACCESS_DENIED');
        assert.equal(data.details?.operation, operation, method);
        assert.equal(data.details?.cause, 'loa', method);
        assert.deepEqual(
          data.details?.required,
          { loa: policy.loa, trust_threshold: policy.trustThreshold },
          method,
        );
        assert.equal(await size(), before + 1, `${method}: the denial is audited`);
        const p = auditPayload(await at(before));
        assert.equal(p.decision, 'denied', method);
        assert.equal(p.method, method);
        assert.equal(p.operation, operation);
      }
      // What guests see is what the owner sees.
      assert.deepEqual(
        await client.request('sigil/policy.show', {}),
        await client.call('sigil/policy.show', {}),
      );
      const score = await client.request('sigil/trust.score', {
        subject: ownerSubject(),
        operation: 'canon.append',
      });
      assert.equal(score.loa, 4, "the owner's LOA comes from its recorded licence");
      assert.equal(score.operation, 'canon.append');
      assert.equal(score.threshold, POLICY_TABLE['canon.append'].trustThreshold);
      assert.equal(score.meetsThreshold, true);
    });

    it('a replayed auth is refused; an auth covers exactly its method, its params and a fresh timestamp', async () => {
      const once = sign('sigil/canon.append', { kind: 'note.once', space: 'data', payload: { n: 1 } }, owner);
      const before = await size();
      const rec = await client.request('sigil/canon.append', once);
      assert.equal(rec.body.actor, actorOf(ownerSubject()));
      assert.equal(await size(), before + 2);

      const replay = await sigilError(client.request('sigil/canon.append', once), 'ACCESS_DENIED');
      assert.equal(replay.details?.operation, 'canon.append');
      assert.equal(replay.details?.cause, 'authentication');
      assert.equal(replay.details?.failure, 'replayed', replay.message);
      assert.match(replay.message, /already used/);
      assert.equal(await size(), before + 3, 'the replay is audited, and nothing else is written');
      const p = auditPayload(await at(before + 2));
      assert.equal(p.decision, 'denied');
      assert.equal(p.authentication, 'replayed');
      assert.equal(p.caller.authenticated, false, 'a refused auth proves nobody');
      const notes = await client.call('sigil/canon.list', { kind: 'note.once' });
      assert.deepEqual(
        notes.records.map((r) => r.id),
        [rec.id],
        'the record was appended once',
      );

      // The same kinds of refusal for an auth that does not fit the request.
      const refusals: [string, Record<string, unknown>, RequestMethod, string][] = [
        [
          'params changed after signing',
          {
            ...sign('sigil/canon.append', { kind: 'note.once', space: 'data', payload: { n: 2 } }, owner),
            payload: { n: 3 },
          },
          'sigil/canon.append',
          'bad_request_signature',
        ],
        [
          'signed for another method',
          sign('sigil/canon.list', {}, owner),
          'sigil/canon.verify',
          'bad_request_signature',
        ],
        [
          'signed ten minutes ago',
          sign('sigil/canon.list', {}, owner, new Date(Date.now() - 10 * 60_000)),
          'sigil/canon.list',
          'stale',
        ],
      ];
      for (const [what, params, method, failure] of refusals) {
        const n = await size();
        const data = await sigilError(client.request(method, params), 'ACCESS_DENIED');
        assert.equal(data.details?.failure, failure, `${what}: ${data.message}`);
        assert.equal(data.details?.operation, REQUESTS[method].operation, what);
        assert.equal(await size(), n + 1, `${what}: audited`);
        assert.equal(auditPayload(await at(n)).authentication, failure, what);
      }
      assert.equal((await client.call('sigil/canon.list', { kind: 'note.once' })).records.length, 1);
    });

    it('a raw append cannot forge governance records: reserved kinds are refused even to root', async () => {
      const before = await client.request('sigil/store.info', {});
      for (const [kind, space] of [
        ['audit.decision', 'system'],
        ['license.issued', 'system'],
        ['trust.feedback', 'system'],
        ['canon.genesis', 'system'],
        ['audit.forged', 'data'],
        ['witness.registry', 'system'],
        ['proposal.committed', 'system'],
        ['checkpoint.cosigned', 'system'],
      ] as const) {
        const data = await sigilError(
          client.call('sigil/canon.append', { kind, space, payload: {} }),
          'BAD_INPUT',
        );
        assert.equal(data.details?.field, 'kind', `${kind}: ${data.message}`);
        assert.match(data.message, /reserved/, kind);
      }
      assert.deepEqual(await client.request('sigil/store.info', {}), before, 'nothing was appended');
      const { licenses } = await client.call('sigil/license.list', {});
      assert.deepEqual(
        licenses.map((l) => l.id),
        [owner.licenseId],
        'no licence was forged',
      );
    });

    it('sigil/license.issue: an observer may read (canon.list) but not append (canon.append is refused)', async () => {
      const info = await client.request('sigil/store.info', {});
      const seed = new Uint8Array(randomBytes(32));
      const signer = new Ed25519Signer(seed);
      const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
      const mark = client.mark();
      const issued = await client.call('sigil/license.issue', {
        subject: OBSERVER,
        role: 'observer',
        expiresAt,
        subjectKey: toBase64(signer.publicKey),
      });
      const body = issued.license.body;
      assert.equal(body.subject, OBSERVER);
      assert.equal(body.role, 'observer');
      assert.equal(body.loa, 1);
      assert.equal(body.audience, origin);
      assert.equal(body.issuer, info.rootKeyId, 'signed by the root key');
      assert.equal(body.parent, null);
      assert.equal(body.subject_key, toBase64(signer.publicKey));
      assert.equal(body.expires_at, expiresAt);
      assert.deepEqual(issued.chain, [issued.license]);
      observer = { chain: issued.chain, signer };
      observerLicense = body.id;

      // The licence is recorded with the audit record of its issue, in one commit.
      const notice = await client.waitFor<AppendedNotice>(
        'sigil/canon.appended',
        (n) => n.records.some((r) => r.kind === 'license.issued'),
        mark,
      );
      assert.deepEqual(
        notice.records.map((r) => [r.seq, r.space, r.kind]),
        [
          [info.size, 'system', 'license.issued'],
          [info.size! + 1, 'system', 'audit.decision'],
        ],
      );
      const record = await at(info.size!);
      assert.equal(record.body.actor, actorOf(ownerSubject()));
      const audit = auditPayload(await at(info.size! + 1));
      assert.equal(audit.operation, 'license.issue');
      assert.equal(audit.decision, 'allowed');
      assert.equal(audit.covers, 1);

      assert.deepEqual(await client.call('sigil/license.whoami', {}, observer), {
        authenticated: true,
        subject: OBSERVER,
        role: 'observer',
        loa: 1,
        licenseId: observerLicense,
        keyId: signer.keyId,
        expiresAt,
        chainIds: [observerLicense],
      });
      const { licenses } = await client.call('sigil/license.list', {}, observer);
      const entry = licenses.find((l) => l.id === observerLicense);
      assert.equal(entry?.status, 'valid');
      assert.equal(entry?.issuedBy, ownerSubject());
      assert.equal(entry?.recordId, record.id);

      // canon.list (observer) passes and sees what the owner sees.
      const asObserver = await client.call('sigil/canon.list', { limit: 1000 }, observer);
      assert.deepEqual(asObserver, await client.call('sigil/canon.list', { limit: 1000 }));
      assert.equal(asObserver.records.length, await size());

      // canon.append (operator) does not.
      const before = await client.request('sigil/store.info', {});
      const data = await sigilError(
        client.call('sigil/canon.append', { kind: 'note.observed', space: 'data', payload: {} }, observer),
        'ACCESS_DENIED',
      );
      assert.equal(data.details?.operation, 'canon.append');
      assert.equal(data.details?.cause, 'loa');
      assert.equal(data.details?.subject, OBSERVER);
      assert.equal((data.details?.required as { loa: string }).loa, 'operator');
      assert.equal((data.details?.actual as { loa_rank: number }).loa_rank, 1);
      assert.match(data.message, /^canon\.append needs LOA operator \(2\); you have observer \(1\)/);
      assert.match(data.message, /ask a root holder/);
      const after = await client.request('sigil/store.info', {});
      assert.equal(after.size, before.size! + 1);
      assert.deepEqual(after.heads?.data, before.heads?.data, 'nothing reached the data space');
      const denial = await at(before.size!);
      assert.equal(denial.body.actor, actorOf(OBSERVER));
      const dp = auditPayload(denial);
      assert.equal(dp.decision, 'denied');
      assert.equal(dp.caller.authenticated, true);
      assert.equal(dp.caller.license_id, observerLicense);
      assert.equal(dp.caller.loa, 1);

      // Nor may it issue licences.
      const issue = await sigilError(
        client.call('sigil/license.issue', { ...VALID_PARAMS['sigil/license.issue'] }, observer),
        'ACCESS_DENIED',
      );
      assert.equal(issue.details?.operation, 'license.issue');
      assert.equal((issue.details?.required as { loa: string }).loa, 'root');

      // The same licence and key, as the identity file the CLI signs with.
      await writeIdentityFile(observerFile, await createIdentity(issued.chain, seed));
    });

    it('the CLI through the owner socket and the editor get the same answer to the same request and identity', async () => {
      assert.ok(observerFile && observer, 'the observer identity was issued above');
      const serverPid = client.pid;
      interface CliError {
        ok: false;
        error: SigilErrorData;
        exit_code: number;
      }
      /** A denial's details without the trust score, which moves with every request of the subject. */
      const stable = (d: SigilErrorData): Record<string, unknown> => {
        const { actual, ...rest } = (d.details ?? {}) as { actual?: { score?: number } };
        const { score: _score, ...fixed } = actual ?? {};
        return { ...rest, actual: fixed };
      };

      // The observer appends: exit 4 from the CLI, ACCESS_DENIED from the language server, same words.
      const n = await size();
      const denied = await expectExit(
        4,
        [
          '--json',
          '--home',
          home,
          '--identity',
          observerFile,
          'canon',
          'append',
          '--kind',
          'note.observed',
          '--payload',
          '-',
        ],
        '{"from":"cli"}',
      );
      const cli = JSON.parse(denied.stdout) as CliError;
      assert.equal(cli.ok, false);
      assert.equal(cli.exit_code, 4);
      assert.equal(cli.error.code, 'ACCESS_DENIED');
      const lsp = await sigilError(
        client.call('sigil/canon.append', { kind: 'note.observed', space: 'data', payload: {} }, observer),
        'ACCESS_DENIED',
      );
      assert.equal(cli.error.message, lsp.message);
      assert.deepEqual(stable(cli.error), stable(lsp));
      assert.equal(stable(lsp).subject, OBSERVER);
      // Both went through the one gate of the server (the CLI did not open the store): two audited denials.
      assert.equal(await size(), n + 2);
      for (const seq of [n, n + 1]) {
        const audit = await at(seq);
        assert.equal(audit.body.actor, actorOf(OBSERVER));
        assert.equal(auditPayload(audit).decision, 'denied');
        assert.equal(auditPayload(audit).operation, 'canon.append');
      }
      assert.equal((await readOwnerJson(home)).pid, serverPid, 'still served by the language server');

      // The text mode says the same on stderr.
      const text = await expectExit(
        4,
        ['--home', home, '--identity', observerFile, 'canon', 'append', '--kind', 'note.x', '--payload', '-'],
        '{}',
      );
      assert.equal(text.stderr, `sigil: error: ${lsp.message}\n`);

      // What the observer may do, it gets the same from both.
      const cliList = await cliJson<ListResult>([
        '--home',
        home,
        '--identity',
        observerFile,
        'canon',
        'list',
        '--limit',
        '1000',
      ]);
      const lspList = await client.call('sigil/canon.list', { limit: 1000, order: 'asc' }, observer);
      assert.deepEqual(cliList, lspList);
      assert.equal(lspList.records.length, await size());
      assert.deepEqual(
        await cliJson(['--home', home, '--identity', observerFile, 'whoami']),
        await client.call('sigil/license.whoami', {}, observer),
      );
      // And without --identity the CLI is the owner, as the editor is with the owner identity.
      assert.deepEqual(
        await cliJson(['--home', home, 'whoami']),
        await client.call('sigil/license.whoami', {}),
      );
      // A root-only operation: refused to the observer by both.
      const keyFile = path.join(scratch, 'example.pub');
      await writeFile(keyFile, EXAMPLE_SUBJECT_KEY + '\n');
      const cliIssue = JSON.parse(
        (
          await expectExit(4, [
            '--json',
            '--home',
            home,
            '--identity',
            observerFile,
            'license',
            'issue',
            '--subject',
            'agent:other',
            '--role',
            'observer',
            '--subject-key',
            keyFile,
            '--out',
            path.join(scratch, 'never-written.json'),
          ])
        ).stdout,
      ) as CliError;
      const lspIssue = await sigilError(
        client.call('sigil/license.issue', { ...VALID_PARAMS['sigil/license.issue'] }, observer),
        'ACCESS_DENIED',
      );
      assert.equal(cliIssue.error.message, lspIssue.message);
      assert.deepEqual(stable(cliIssue.error), stable(lspIssue));
      assert.ok(!existsSync(path.join(scratch, 'never-written.json')), 'nothing was written for a refusal');
    });
  },
);
