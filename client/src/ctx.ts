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
import { Verification } from './verification.js';

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

export function phaseOf(info: StoreInfo): StorePhase {
  switch (info.status) {
    case 'ready':
      return 'ready';
    case 'no-store':
      return 'no-store';
    case 'locked':
      return 'locked';
    case 'error':
      return info.problem && PASSPHRASE_CODES.has(info.problem.code) ? 'needs-passphrase' : 'error';
  }
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

    const serverModule = this.extension.asAbsolutePath('dist/server/main.cjs');
    const run = {
      module: serverModule,
      transport: TransportKind.stdio,
      // Node's fork merges this over process.env; the settings override any SIGIL_* already there.
      options: { env },
    };
    const serverOptions: ServerOptions = { run, debug: run };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [],
      outputChannel: this.output,
      traceOutputChannel: silentTraceChannel(),
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      initializationOptions: { home, ...(passphrase !== undefined ? { passphrase } : {}) },
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

  /** Sends a Sigil request; a failure comes back as a SigilError with the server's words. */
  async request<M extends RequestMethod>(
    method: M,
    params: ParamsOf<M>,
    extra?: { workDoneToken?: string },
  ): Promise<ResultOf<M>> {
    const client = this.client;
    if (!client || client.state === State.Stopped) {
      throw new SigilError(
        'STORE_CLOSED',
        this.viewValue.phase === 'no-home'
          ? 'open a folder (or set sigil.home) to use Sigil'
          : 'the Sigil server is not running; see the Sigil output (Sigil: Show Server Output)',
      );
    }
    const body =
      extra?.workDoneToken !== undefined ? { ...(params ?? {}), workDoneToken: extra.workDoneToken } : params;
    try {
      return (await client.sendRequest(method, body)) as ResultOf<M>;
    } catch (e) {
      throw await rpcError(e);
    }
  }

  /** The running language client, for progress subscriptions. */
  get languageClient(): LanguageClient | null {
    return this.client;
  }

  /** Throws unless the store is open, with the reason in words. */
  requireReady(): StoreInfo {
    const v = this.viewValue;
    if (v.phase === 'ready' && v.info) return v.info;
    if (v.problem) throw new SigilError(v.problem.code, v.problem.message);
    switch (v.phase) {
      case 'starting':
        throw new SigilError('STORE_CLOSED', 'the Sigil server is still starting; try again in a moment');
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
    void vscode.window.showErrorMessage(`Sigil: ${err.message}`, 'Show Output').then((pick) => {
      if (pick) this.output.show(true);
    });
  }

  async dispose(): Promise<void> {
    await this.stop();
    for (const d of this.disposables) d.dispose();
  }
}
