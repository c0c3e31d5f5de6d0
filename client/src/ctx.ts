/**
 * The extension's context: owns the language client (the Sigil server runs under the editor's own Node), the
 * "Sigil" output channel, what is known about the store, and the typed request helper every command uses.
 * Modelled on rust-analyzer's Ctx: commands and views get this one object and nothing else.
 */
import * as vscode from 'vscode';
import {
  LanguageClient,
  RevealOutputChannelOn,
  State,
  TransportKind,
  type LanguageClientOptions,
  type ServerOptions,
} from 'vscode-languageclient/node';
import type {
  AppendedNotice,
  ParamsOf,
  RequestMethod,
  ResultOf,
  StoreInfo,
} from '../../shared/src/protocol.js';
import { SigilError, toSigilError, type SigilErrorData } from '../../shared/src/errors.js';
import type { Config } from './config.js';
import type { Passphrases } from './passphrase.js';
import type { Identities } from './identities.js';
import { passphraseProblem } from './present.js';
import { Verification } from './verification.js';
import { mentorSettings, watchMentorSettings } from './mentor.js';

/** Where the store stands, as the views show it. */
export type StorePhase =
  'starting' | 'no-home' | 'no-store' | 'ready' | 'locked' | 'needs-passphrase' | 'error' | 'server-failed';

export interface StoreView {
  readonly phase: StorePhase;
  readonly home?: string;
  readonly info?: StoreInfo;
  readonly problem?: SigilErrorData;
}

/**
 * A failed request as a SigilError (the protocol's sigilErrorFromRpc). protocol.ts builds its zod schemas when
 * loaded, so it is loaded on the first failure rather than when the extension activates.
 */
export async function rpcError(e: unknown): Promise<SigilError> {
  const { sigilErrorFromRpc } = await import('../../shared/src/protocol.js');
  return sigilErrorFromRpc(e);
}

const PASSPHRASE_CODES = new Set(['PASSPHRASE_REQUIRED', 'PASSPHRASE_WRONG']);

/** How long commands wait for the server to start (or restart) before they give up with an error. */
export const READY_TIMEOUT_MS = 30_000;

export function phaseOf(info: StoreInfo): StorePhase {
  switch (info.status) {
    case 'ready':
      return 'ready';
    case 'no-store':
      return 'no-store';
    case 'locked':
      return 'locked';
    case 'needs-passphrase':
      return 'needs-passphrase';
    case 'error':
      // A server older than the 'needs-passphrase' status reported passphrase problems as errors.
      return info.problem && PASSPHRASE_CODES.has(info.problem.code) ? 'needs-passphrase' : 'error';
  }
}

/** Resolves with `p`, or rejects with `timeout()` once `deadline` (ms since the epoch) has passed. */
function before<T>(p: Promise<T>, deadline: number, timeout: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timeout()), Math.max(0, deadline - Date.now()));
  });
  return Promise.race([p, expired]).finally(() => clearTimeout(timer));
}

/** A LogOutputChannel that drops everything: the client's message trace would show the passphrase. */
function silentTraceChannel(): vscode.LogOutputChannel {
  const noop = (): void => {};
  const never: vscode.Event<vscode.LogLevel> = () => ({ dispose: noop });
  return {
    name: 'Sigil (trace disabled)',
    logLevel: vscode.LogLevel.Off,
    onDidChangeLogLevel: never,
    trace: noop,
    debug: noop,
    info: noop,
    warn: noop,
    error: noop,
    append: noop,
    appendLine: noop,
    replace: noop,
    clear: noop,
    show: noop,
    hide: noop,
    dispose: noop,
  };
}

export class Ctx implements vscode.Disposable {
  readonly verification = new Verification();
  private client: LanguageClient | null = null;
  private viewValue: StoreView = { phase: 'starting' };
  private queue: Promise<void> = Promise.resolve();
  private stopping = false;
  /** Passphrase the running server was started with (to know whether a restart is needed). */
  private launchedWith: string | undefined;
  private readonly storeChanged = new vscode.EventEmitter<StoreView>();
  private readonly appended = new vscode.EventEmitter<AppendedNotice>();
  private readonly disposables: vscode.Disposable[] = [];
  private mentorWatch: vscode.Disposable | undefined;
  /** ms from activation start to the first store state reported by the server. */
  serverReadyMs: number | undefined;
  lastError: SigilError | undefined;

  readonly onDidChangeStore = this.storeChanged.event;
  readonly onDidAppend = this.appended.event;

  constructor(
    readonly extension: vscode.ExtensionContext,
    readonly output: vscode.LogOutputChannel,
    readonly config: Config,
    readonly passphrases: Passphrases,
    readonly identities: Identities,
    private readonly activationStart: number,
  ) {
    this.disposables.push(this.storeChanged, this.appended, this.verification);
  }

  get store(): StoreView {
    return this.viewValue;
  }

  private setView(view: StoreView): void {
    this.viewValue = view;
    this.verification.resetUnless(view.phase === 'ready' ? view.home : undefined);
    void vscode.commands.executeCommand('setContext', 'sigil.storeStatus', view.phase);
    this.storeChanged.fire(view);
  }

  /** Resolves once the server has said what state the store is in (not 'starting'). */
  async settled(timeoutMs = 30_000): Promise<StoreView> {
    if (this.viewValue.phase !== 'starting') return this.viewValue;
    return new Promise<StoreView>((resolve, reject) => {
      const timer = setTimeout(() => {
        sub.dispose();
        reject(
          new SigilError(
            'INTERNAL',
            `the Sigil server did not report the store state within ${timeoutMs / 1000} s`,
          ),
        );
      }, timeoutMs);
      const sub = this.onDidChangeStore((v) => {
        if (v.phase === 'starting') return;
        clearTimeout(timer);
        sub.dispose();
        resolve(v);
      });
    });
  }

  /**
   * Waits until no server start, stop or restart is under way (at most `timeoutMs`): commands run while the
   * extension activates or the server restarts wait for it instead of failing.
   */
  async whenStarted(timeoutMs = READY_TIMEOUT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const q = this.queue;
      await before(q, deadline, () => this.notReadyError(timeoutMs));
      if (q === this.queue) return;
    }
  }

  /** Waits (at most `timeoutMs` in all) until the server has started and said what state the store is in. */
  async ready(timeoutMs = READY_TIMEOUT_MS): Promise<StoreView> {
    const deadline = Date.now() + timeoutMs;
    await this.whenStarted(timeoutMs);
    if (this.viewValue.phase !== 'starting') return this.viewValue;
    return before(this.settled(timeoutMs), deadline, () => this.notReadyError(timeoutMs));
  }

  private notReadyError(timeoutMs: number): SigilError {
    return new SigilError(
      'STORE_CLOSED',
      `the Sigil server did not get ready within ${Math.round(timeoutMs / 1000)} s; see the Sigil output (Sigil: Show Server Output), or run "Sigil: Restart Server"`,
    );
  }

  // -------------------------------------------------------------------------------------------------------
  // Server lifecycle. Starts, stops and restarts run one at a time.

  private serialize(f: () => Promise<void>): Promise<void> {
    const p = this.queue.then(f, f);
    this.queue = p.catch(() => undefined);
    return p;
  }

  start(): Promise<void> {
    return this.serialize(() => this.doStart());
  }

  restart(reason: string): Promise<void> {
    return this.serialize(async () => {
      this.output.info(`restarting the server: ${reason}`);
      await this.doStop();
      await this.doStart();
    });
  }

  stop(): Promise<void> {
    return this.serialize(() => this.doStop());
  }

  private async doStart(): Promise<void> {
    const home = this.config.resolveHome();
    if (home === undefined) {
      this.output.info(
        'no workspace folder, no sigil.home setting and no SIGIL_HOME: the server is not started',
      );
      this.setView({ phase: 'no-home' });
      return;
    }
    let env: Record<string, string>;
    try {
      env = await this.config.serverEnv();
    } catch (e) {
      const err = toSigilError(e);
      this.setView({ phase: 'server-failed', home, problem: err.toJSON() });
      this.report(err, 'settings');
      return;
    }
    const passphrase = await this.passphrases.get(home);
    const envName = this.config.passphraseEnvName();
    this.output.info(
      `starting the server for ${home} (key passphrase: ${
        passphrase !== undefined
          ? 'from the secret storage'
          : process.env[envName]
            ? `from $${envName}`
            : 'none given'
      })`,
    );
    this.setView({ phase: 'starting', home });
    // A new passphrase or a new store changes which identity can be unlocked.
    this.identities.reset(home);

    const serverModule = this.extension.asAbsolutePath('dist/server/main.cjs');
    const run = {
      module: serverModule,
      transport: TransportKind.stdio,
      // Node's fork merges this over process.env; the settings override any SIGIL_* already there.
      options: { env },
    };
    const serverOptions: ServerOptions = { run, debug: run };
    const rustRoots = vscode.workspace.createFileSystemWatcher('**/{Cargo.toml,src/lib.rs,src/main.rs}');
    const clientOptions: LanguageClientOptions = {
      documentSelector: [{ scheme: 'file', language: 'rust' }],
      // RustMentor reads crate-level lint attributes from the crate root; tell it when one changes on disk.
      synchronize: { fileEvents: rustRoots },
      outputChannel: this.output,
      traceOutputChannel: silentTraceChannel(),
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      initializationOptions: {
        home,
        ...(passphrase !== undefined ? { passphrase } : {}),
        mentor: mentorSettings((m) => this.output.warn(m)),
        workspaceTrusted: vscode.workspace.isTrusted,
      },
      initializationFailedHandler: (error) => {
        void rpcError(error).then((err) => this.report(err, 'starting the server'));
        return false;
      },
    };
    const client = new LanguageClient('sigil', 'Sigil', serverOptions, clientOptions);
    client.onNotification('sigil/store.changed', (info: StoreInfo) => {
      if (this.client !== client) return;
      this.serverReadyMs ??= performance.now() - this.activationStart;
      this.applyInfo(info);
    });
    client.onNotification('sigil/canon.appended', (notice: AppendedNotice) => {
      if (this.client !== client) return;
      const v = this.viewValue;
      if (v.info) {
        const heads = { ...(v.info.heads ?? { data: null, system: null }) };
        for (const r of notice.records) {
          const h = heads[r.space];
          if (!h || r.seq > h.seq) heads[r.space] = { id: r.id, seq: r.seq };
        }
        this.viewValue = { ...v, info: { ...v.info, size: notice.size, rootHash: notice.rootHash, heads } };
      }
      this.appended.fire(notice);
      this.storeChanged.fire(this.viewValue);
    });
    client.onDidChangeState((e) => {
      if (this.client !== client || this.stopping) return;
      if (e.newState === State.Stopped) {
        const problem = new SigilError(
          'STORE_CLOSED',
          'the Sigil server stopped; see the Sigil output for why',
        );
        this.setView({ phase: 'server-failed', home, problem: problem.toJSON() });
        this.output.error(problem.message);
      } else if (e.newState === State.Starting && this.viewValue.phase !== 'starting') {
        this.setView({ phase: 'starting', home });
      }
    });
    this.client = client;
    this.launchedWith = passphrase;
    this.mentorWatch?.dispose();
    // Sent by hand (not `synchronize`): only the settings the user set, so sigil.toml [mentor] shows through.
    this.mentorWatch = vscode.Disposable.from(
      rustRoots,
      watchMentorSettings((mentor) => {
        if (this.client === client && client.isRunning())
          void client.sendNotification('workspace/didChangeConfiguration', { settings: { mentor } });
      }),
    );
    try {
      await client.start();
    } catch (e) {
      const err = await rpcError(e);
      if (this.client === client) this.setView({ phase: 'server-failed', home, problem: err.toJSON() });
      this.report(err, 'starting the server');
    }
  }

  private applyInfo(info: StoreInfo): void {
    const phase = phaseOf(info);
    if (info.problem)
      this.output.warn(`store ${info.status}: [${info.problem.code}] ${info.problem.message}`);
    else
      this.output.info(
        `store ${info.status}: ${info.home}${info.size !== undefined ? ` (${info.size} records)` : ''}`,
      );
    this.setView({ phase, home: info.home, info, ...(info.problem ? { problem: info.problem } : {}) });
  }

  /** Asks the server for the store state again (the notifications normally keep it current). */
  async refreshInfo(): Promise<StoreView> {
    this.applyInfo(await this.request('sigil/store.info', undefined));
    return this.viewValue;
  }

  private async doStop(): Promise<void> {
    const client = this.client;
    this.client = null;
    if (!client) return;
    this.stopping = true;
    try {
      if (client.isRunning()) await client.stop(10_000);
    } catch (e) {
      this.output.warn(`stopping the server: ${(e as Error).message}`);
    } finally {
      this.stopping = false;
      await client.dispose().catch(() => undefined);
    }
  }

  /** True when the running server got a different passphrase than `passphrase`. */
  needsRestartFor(passphrase: string | undefined): boolean {
    return this.client === null || this.launchedWith !== passphrase;
  }

  // -------------------------------------------------------------------------------------------------------
  // Requests

  /**
   * Sends a Sigil request; a failure comes back as a SigilError with the server's words. While the server is
   * being started or restarted, the request waits for it (at most READY_TIMEOUT_MS).
   */
  async request<M extends RequestMethod>(
    method: M,
    params: ParamsOf<M>,
    extra?: { workDoneToken?: string; cancel?: vscode.CancellationToken },
  ): Promise<ResultOf<M>> {
    await this.whenStarted();
    const client = this.client;
    if (!client || client.state === State.Stopped) {
      throw new SigilError(
        'STORE_CLOSED',
        this.viewValue.phase === 'no-home'
          ? 'open a folder (or set sigil.home) to use Sigil'
          : 'the Sigil server is not running; see the Sigil output (Sigil: Show Server Output)',
      );
    }
    const signed = await this.sign(method, params);
    const body =
      extra?.workDoneToken !== undefined ? { ...(signed ?? {}), workDoneToken: extra.workDoneToken } : signed;
    try {
      return (await (extra?.cancel
        ? client.sendRequest(method, body, extra.cancel)
        : client.sendRequest(method, body))) as ResultOf<M>;
    } catch (e) {
      throw await rpcError(e);
    }
  }

  /**
   * The params with `auth`: the active identity's licence chain and its signature over this request. With no
   * identity (none chosen, or the store does not exist yet) the request goes as an anonymous guest.
   */
  private async sign<M extends RequestMethod>(method: M, params: ParamsOf<M>): Promise<ParamsOf<M>> {
    const home = this.viewValue.home;
    if (home === undefined || method === 'sigil/store.init') return params;
    const identity = await this.identities.activeOrWarn(home);
    if (!identity) return params;
    const { signedParams } = await import('../../shared/src/signed-request.js');
    return signedParams(method, params, { chain: identity.chain, signer: identity.signer }) as ParamsOf<M>;
  }

  /** The running language client, for progress subscriptions. */
  get languageClient(): LanguageClient | null {
    return this.client;
  }

  /**
   * The open store's info once the server is ready (waiting for a start or restart under way, at most
   * READY_TIMEOUT_MS); throws unless the store is open, with the reason in words.
   */
  async requireReady(): Promise<StoreInfo> {
    const v = await this.ready();
    if (v.phase === 'ready' && v.info) return v.info;
    if (v.phase === 'needs-passphrase') {
      throw new SigilError(
        v.problem?.code ?? 'PASSPHRASE_REQUIRED',
        `${passphraseProblem(v)}; run "Sigil: Enter Key Passphrase…" first`,
      );
    }
    if (v.problem) throw new SigilError(v.problem.code, v.problem.message);
    switch (v.phase) {
      case 'no-home':
        throw new SigilError('HOME_MISSING', 'open a folder (or set sigil.home) to use Sigil');
      default:
        throw new SigilError(
          'HOME_MISSING',
          `no Sigil store in ${v.home ?? 'this workspace'}; run "Sigil: Initialize Store" first`,
        );
    }
  }

  // -------------------------------------------------------------------------------------------------------
  // Errors: always in words, always in the output channel.

  report(e: unknown, what: string): void {
    const err = e instanceof SigilError ? e : toSigilError(e);
    this.lastError = err;
    this.output.error(`${what}: [${err.code}] ${err.message}`);
    if (err.code === 'ACCESS_DENIED') {
      // The server's words say what would be needed (the LOA or the trust score); offer the way to get it.
      const select = 'Select Identity…';
      void vscode.window
        .showWarningMessage(`Sigil: access denied — ${err.message}`, select, 'Show Output')
        .then((pick) => {
          if (pick === select) void vscode.commands.executeCommand('sigil.selectIdentity');
          else if (pick) this.output.show(true);
        });
      return;
    }
    void vscode.window.showErrorMessage(`Sigil: ${err.message}`, 'Show Output').then((pick) => {
      if (pick) this.output.show(true);
    });
  }

  async dispose(): Promise<void> {
    await this.stop();
    this.mentorWatch?.dispose();
    for (const d of this.disposables) d.dispose();
  }
}
