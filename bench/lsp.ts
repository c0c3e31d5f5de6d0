/**
 * The editor side of the benchmark: a minimal LSP client (vscode-jsonrpc on the child's stdio, like the
 * extension's language client and test/protocol/server.test.ts) for the bundled server
 * dist/server/main.cjs, and the VSIX / activation numbers that other runs leave behind.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  createMessageConnection,
  StreamMessageReader,
  StreamMessageWriter,
  type MessageConnection,
} from 'vscode-jsonrpc/node';
import type { ListResult, StoreInfo } from '../shared/src/protocol.js';
import { kindIcon, shortTime } from '../client/src/format.js';
import { log } from './lib.js';
import { signedParams } from '../shared/src/signed-request.js';
import type { Identity } from '../shared/src/license.js';

export const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SERVER = path.join(ROOT, 'dist', 'server', 'main.cjs');
const E2E_METRICS = path.join(ROOT, 'test', 'e2e', 'artifacts', 'metrics.json');
/** Upper bound of any single wait (the machine may be busy); nothing sleeps. */
const TIMEOUT_MS = 60_000;

/** The inherited environment without SIGIL_* variables, so the server opens exactly the home it is given. */
function serverEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('SIGIL_')) env[k] = v;
  return env;
}

function withTimeout<T>(p: Promise<T>, what: string, stderr: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what}: nothing within ${TIMEOUT_MS} ms; server stderr:\n${stderr()}`)),
      TIMEOUT_MS,
    );
  });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

/** One language server process and the connection to it. */
export class BenchServer {
  private stderrText = '';
  private readonly exited: Promise<number | null>;
  private storeWaiters: ((info: StoreInfo) => void)[] = [];
  lastStore: StoreInfo | null = null;

  private constructor(
    private readonly child: ChildProcess,
    readonly conn: MessageConnection,
    /** performance.now() just before spawn(). */
    readonly spawnedAt: number,
    private readonly identity: Identity,
  ) {
    child.stderr?.setEncoding('utf8').on('data', (s: string) => (this.stderrText += s));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    conn.onNotification('sigil/store.changed', (info: StoreInfo) => {
      this.lastStore = info;
      const waiters = this.storeWaiters;
      this.storeWaiters = [];
      for (const w of waiters) w(info);
    });
    conn.onNotification(() => undefined); // window/logMessage and the rest
    conn.onRequest(() => null); // e.g. window/workDoneProgress/create
    conn.onError(() => undefined);
    conn.listen();
  }

  /** `identity` signs the requests, as the extension signs them with the active identity. */
  static spawn(identity: Identity): BenchServer {
    if (!existsSync(SERVER)) throw new Error(`${SERVER} is missing: run "npm run build" first`);
    const t0 = performance.now();
    const child = spawn(process.execPath, [SERVER, '--stdio'], {
      cwd: ROOT,
      env: serverEnv(),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.stdin?.on('error', () => {});
    const conn = createMessageConnection(
      new StreamMessageReader(child.stdout!),
      new StreamMessageWriter(child.stdin!),
    );
    return new BenchServer(child, conn, t0, identity);
  }

  private timed<T>(p: Promise<T>, what: string): Promise<T> {
    return withTimeout(p, what, () => this.stderrText);
  }

  /** Sends `initialize` (what the extension sends: the home in initializationOptions); resolves when it answers. */
  async initialize(home: string): Promise<void> {
    const folder = pathToFileURL(path.dirname(home)).href;
    await this.timed(
      this.conn.sendRequest('initialize', {
        processId: process.pid,
        clientInfo: { name: 'sigil-bench' },
        rootUri: folder,
        workspaceFolders: [{ uri: folder, name: path.basename(path.dirname(home)) }],
        capabilities: { window: { workDoneProgress: true } },
        initializationOptions: { home },
      }),
      'initialize',
    );
  }

  /** Sends `initialized` and waits for the store to be open (`sigil/store.changed` with status ready). */
  async storeReady(): Promise<StoreInfo> {
    const info = new Promise<StoreInfo>((resolve) => this.storeWaiters.push(resolve));
    await this.conn.sendNotification('initialized', {});
    const first = await this.timed(info, 'sigil/store.changed');
    if (first.status !== 'ready') {
      throw new Error(`the server did not open the store: ${JSON.stringify(first)}\n${this.stderrText}`);
    }
    return first;
  }

  list(params: {
    space?: 'data' | 'system';
    order: 'asc' | 'desc';
    limit: number;
    cursor?: string;
  }): Promise<ListResult> {
    const signed = signedParams('sigil/canon.list', params, this.identity);
    return this.timed(this.conn.sendRequest('sigil/canon.list', signed) as Promise<ListResult>, 'canon.list');
  }

  /** shutdown + exit, and waits for the process to end (so the store lock is free for the next one). */
  async stop(): Promise<void> {
    try {
      await this.timed(this.conn.sendRequest('shutdown'), 'shutdown');
      await this.conn.sendNotification('exit');
      await this.timed(this.exited, 'exit');
    } finally {
      this.conn.dispose();
      if (this.child.exitCode === null && this.child.signalCode === null) {
        this.child.kill('SIGKILL');
        await this.exited;
      }
    }
  }
}

/** What the Audit Log keeps and shows of each record of a page (AuditLogProvider.loadPage + getTreeItem). */
export function treeRows(page: ListResult): { label: string; description: string; icon: string }[] {
  return page.records.map((r) => ({
    label: `#${r.body.seq} ${r.body.kind}`,
    description: `${shortTime(r.body.ts)} · ${r.body.actor}`,
    icon: kindIcon(r.body.kind),
  }));
}

// ---------------------------------------------------------------------------------------------------------
// Numbers other runs leave behind: the VSIX size and the extension's activation time

interface E2eMetrics {
  readonly results?: Readonly<Record<string, string>>;
  readonly extension_activate_ms?: number | null;
  readonly extension_activate_ms_ui?: number | null;
  readonly vsix_mb?: number | null;
  readonly vsix_bytes?: number | null;
}

function readE2eMetrics(): { metrics: E2eMetrics; mtime: Date } | null {
  try {
    return {
      metrics: JSON.parse(readFileSync(E2E_METRICS, 'utf8')) as E2eMetrics,
      mtime: statSync(E2E_METRICS).mtime,
    };
  } catch {
    return null;
  }
}

const MIB = 1024 * 1024;
const rel = (p: string): string => path.relative(ROOT, p);

export interface VsixSize {
  readonly vsix_mb: number | null;
  readonly vsix_source: string;
}

/**
 * BENCH_PACKAGE=1: runs `npm run package` and stats the VSIX it wrote (the package script leaves a
 * production build in dist/; it is rebuilt afterwards). Otherwise the newest of
 * test/e2e/artifacts/metrics.json (the e2e run packages the extension) and an existing sigil-*.vsix.
 */
export function vsixSize(packageNow: boolean): VsixSize {
  const version = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string })
    .version;
  if (packageNow) {
    log('vsix_mb: npm run package (BENCH_PACKAGE=1)');
    const out = execFileSync('npm', ['run', '--silent', 'package'], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    execFileSync(process.execPath, ['esbuild.mjs'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
    const packaged = /Packaged: (\S+\.vsix)/.exec(out)?.[1] ?? path.join(ROOT, `sigil-${version}.vsix`);
    return {
      vsix_mb: Number((statSync(packaged).size / MIB).toFixed(2)),
      vsix_source: `npm run package in this run (${rel(packaged)})`,
    };
  }
  const candidates: { mb: number; mtime: Date; source: string }[] = [];
  const e2e = readE2eMetrics();
  if (e2e && typeof e2e.metrics.vsix_bytes === 'number') {
    candidates.push({
      mb: e2e.metrics.vsix_bytes / MIB,
      mtime: e2e.mtime,
      source: `${rel(E2E_METRICS)} of ${e2e.mtime.toISOString()}`,
    });
  } else if (e2e && typeof e2e.metrics.vsix_mb === 'number') {
    candidates.push({
      mb: e2e.metrics.vsix_mb,
      mtime: e2e.mtime,
      source: `${rel(E2E_METRICS)} of ${e2e.mtime.toISOString()}`,
    });
  }
  for (const name of readdirSync(ROOT).filter((n) => /^sigil-.*\.vsix$/.test(n))) {
    const st = statSync(path.join(ROOT, name));
    candidates.push({
      mb: st.size / MIB,
      mtime: st.mtime,
      source: `${name} of ${st.mtime.toISOString()}${name === `sigil-${version}.vsix` ? '' : ` (not version ${version})`}`,
    });
  }
  candidates.sort((a, b) => b.mtime.getTime() - a.mtime.getTime());
  const best = candidates[0];
  if (!best) return { vsix_mb: null, vsix_source: 'not measured: run npm run package or BENCH_PACKAGE=1' };
  return { vsix_mb: Number(best.mb.toFixed(2)), vsix_source: best.source };
}

export interface Activation {
  readonly extension_activate_ms: number | null;
  /** The installed VSIX in the e2e run's first UI window, from the extension's log line. */
  readonly extension_activate_ms_ui?: number | null;
  readonly extension_activate_source: string;
}

/** The activation time the e2e run measured (sigil.getActivationTime in the extension host). */
export function activation(): Activation {
  const e2e = readE2eMetrics();
  const ms = e2e?.metrics.extension_activate_ms;
  if (!e2e || typeof ms !== 'number') {
    return {
      extension_activate_ms: null,
      extension_activate_source: 'not measured: run npm run test:e2e first',
    };
  }
  const failed = Object.entries(e2e.metrics.results ?? {}).filter(([, r]) => r !== 'passed');
  const note = failed.length ? `; that run had failures: ${failed.map(([k]) => k).join(', ')}` : '';
  return {
    extension_activate_ms: ms,
    extension_activate_ms_ui: e2e.metrics.extension_activate_ms_ui ?? null,
    extension_activate_source: `${rel(E2E_METRICS)} of ${e2e.mtime.toISOString()} (npm run test:e2e${note})`,
  };
}
