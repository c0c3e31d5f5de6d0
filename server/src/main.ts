/**
 * The Sigil language server (stdio). It owns the workspace's store, answers the `sigil/*` requests of the
 * editor, serves the same requests on the owner socket for the CLI, and tells the client when records are
 * appended or the store changes state.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createConnection,
  ProposedFeatures,
  type InitializeParams,
  type InitializeResult,
  type Connection,
  type WorkDoneProgressReporter,
} from 'vscode-languageserver/node';
import { REQUESTS, type RequestMethod } from '../../shared/src/protocol.js';

/** Long requests that report work-done progress when the client passes a token. */
const PROGRESS_TITLES: Partial<Record<RequestMethod, { title: string; unit: string }>> = {
  'sigil/canon.verify': { title: 'Verifying the canon', unit: 'records' },
  'sigil/rag.import': { title: 'Importing documentation', unit: 'documents' },
  'sigil/rag.rebuild': { title: 'Rebuilding the retrieval index', unit: 'chunks' },
};
import { SigilError } from '../../shared/src/errors.js';
import { StoreSession } from './service/session.js';
import { createHandlers, type Handlers } from './service/handlers.js';
import {
  listenOwnerSocket,
  requestArgs,
  socketPathFor,
  toResponseError,
  type OwnerSocket,
} from './rpc/owner-socket.js';
import { recordOwnerSocket, HOME_DIR_NAME } from './runtime/home.js';
import type { PassphraseSource } from './runtime/passphrase.js';
import { VERSION } from './version.js';
import { MENTOR_CAPABILITIES, registerMentor } from './lsp/mentor-server.js';
import { IndexedCitations } from './lsp/citations.js';

export interface InitializationOptions {
  /** Absolute path of the Sigil home; default `<first workspace folder>/.sigil`, else $SIGIL_HOME. */
  readonly home?: string;
  /** Key passphrase from the editor's secret storage; never logged. */
  readonly passphrase?: string;
  /** RustMentor's editor settings (shared/src/mentor.ts MentorSettings). */
  readonly mentor?: unknown;
  /** False in an untrusted workspace: no cargo run (build scripts and proc macros are code). */
  readonly workspaceTrusted?: boolean;
}

function resolveServerHome(params: InitializeParams, opts: InitializationOptions): string {
  if (opts.home) return path.resolve(opts.home);
  const folder = params.workspaceFolders?.[0]?.uri ?? params.rootUri;
  if (folder && folder.startsWith('file://')) return path.join(fileURLToPath(folder), HOME_DIR_NAME);
  if (process.env.SIGIL_HOME) return path.resolve(process.env.SIGIL_HOME);
  throw new SigilError(
    'HOME_MISSING',
    'no workspace folder and no sigil.home setting: the server has no home to open',
  );
}

const OWNER_DESCRIPTION = 'sigil language server';

export function startServer(connection: Connection): void {
  let session: StoreSession | null = null;
  let socket: OwnerSocket | null = null;
  let handlers: Handlers | null = null;
  /** The first open of the store, started on `initialized`: requests wait for it instead of seeing no store. */
  let opened: Promise<void> = Promise.resolve();

  const log = (m: string): void => connection.console.info(m);
  let workspaceTrusted = true;
  const citations = new IndexedCitations();
  const mentor = registerMentor(connection, {
    citations,
    fileConfig: () => session?.runtime?.config.mentor,
    trusted: () => workspaceTrusted,
  });

  async function ensureSocket(): Promise<void> {
    const rt = session?.runtime;
    if (!session || !rt || socket || !handlers) return;
    try {
      socket = await listenOwnerSocket(socketPathFor(session.home, rt.config.server.socket), handlers);
      await recordOwnerSocket(session.home, OWNER_DESCRIPTION, socket.path);
      log(`serving the store to the CLI on ${socket.path}`);
    } catch (e) {
      connection.console.error(`cannot serve the owner socket: ${(e as Error).message}`);
    }
  }

  connection.onInitialize((params): InitializeResult => {
    const opts = (params.initializationOptions ?? {}) as InitializationOptions;
    workspaceTrusted = opts.workspaceTrusted !== false;
    const home = resolveServerHome(params, opts);
    const passphrase: PassphraseSource = {
      get: async (envName) => opts.passphrase ?? (process.env[envName] || undefined),
    };
    session = new StoreSession({
      home,
      env: process.env,
      passphrase,
      ownerDescription: OWNER_DESCRIPTION,
      // The editor's environment is the user's shell's: a stray SIGIL_* variable must not stop the server.
      unknownEnv: 'warn',
      onWarning: (m) => connection.console.warn(m),
    });
    handlers = createHandlers(session, { onModuleResult: (r) => citations.learn(r) });
    session.on('appended', (notice) => void connection.sendNotification('sigil/canon.appended', notice));
    session.on('changed', (info) => {
      void connection.sendNotification('sigil/store.changed', info);
      if (info.status === 'ready') {
        void ensureSocket();
        mentor.refresh();
      }
    });
    mentor.initialize(opts.mentor, params.capabilities);
    for (const method of Object.keys(REQUESTS) as RequestMethod[]) {
      connection.onRequest(method, async (...args: unknown[]) => {
        const { params: raw, token } = requestArgs(args);
        const h = handlers;
        if (!h) throw toResponseError(new SigilError('STORE_CLOSED', 'the server is shutting down'));
        // The LSP work-done token rides along in the params; it is not part of the Sigil schema.
        const { workDoneToken, ...params } = (raw ?? {}) as { workDoneToken?: string | number };
        let progress: ((checked: number, total: number) => void) | undefined;
        let reporter: WorkDoneProgressReporter | undefined;
        const shown = PROGRESS_TITLES[method];
        if (shown && workDoneToken !== undefined) {
          const r = connection.window.attachWorkDoneProgress(workDoneToken);
          r.begin(shown.title, 0, undefined, true);
          reporter = r;
          let lastPct = -1;
          progress = (checked, total) => {
            const pct = total > 0 ? Math.floor((checked / total) * 100) : 100;
            if (pct !== lastPct) {
              lastPct = pct;
              reporter?.report(pct, `${checked} of ${total} ${shown.unit}`);
            }
          };
        }
        const abort = new AbortController();
        const cancelled = token?.onCancellationRequested(() => abort.abort());
        try {
          await opened;
          if (token?.isCancellationRequested) throw new SigilError('CANCELLED', `${method} was cancelled`);
          return await (h[method] as (p: unknown, c: object) => Promise<unknown>)(params, {
            signal: abort.signal,
            ...(progress ? { onProgress: progress } : {}),
          });
        } catch (e) {
          throw toResponseError(e);
        } finally {
          cancelled?.dispose();
          reporter?.done();
        }
      });
    }
    return {
      capabilities: MENTOR_CAPABILITIES,
      serverInfo: { name: 'sigil', version: VERSION },
    };
  });

  connection.onInitialized(() => {
    if (!session) return;
    log(`Sigil ${VERSION}: home ${session.home}`);
    opened = session.open();
  });

  connection.onShutdown(async () => {
    mentor.dispose();
    await socket?.close();
    socket = null;
    await session?.close();
    handlers = null;
  });

  connection.onExit(() => process.exit(0));
  connection.listen();
}

startServer(createConnection(ProposedFeatures.all));
