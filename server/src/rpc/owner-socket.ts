/**
 * The store owner's local socket. LevelDB lets one process open a store; the process that owns it (the
 * language server or `sigil serve`) listens on a Unix socket with owner-only permissions and answers the
 * same protocol requests there, so the CLI can work on the store at the same time as the editor.
 */
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promises as fs } from 'node:fs';
import { createHash } from 'node:crypto';
import {
  createMessageConnection,
  ResponseError,
  SocketMessageReader,
  SocketMessageWriter,
} from 'vscode-jsonrpc/node';
import type { CancellationToken, MessageConnection } from 'vscode-jsonrpc/node';
import { toSigilError, SigilError } from '../../../shared/src/errors.js';
import {
  REQUESTS,
  SIGIL_RPC_ERROR,
  sigilErrorFromRpc,
  type RequestMethod,
  type ParamsOf,
  type ResultOf,
} from '../../../shared/src/protocol.js';
import type { Handlers, RequestContext } from '../service/handlers.js';

/** Unix socket paths are limited to ~104 bytes; long homes get a short path in a private temp folder. */
const MAX_SOCKET_PATH = 100;

export function socketPathFor(home: string, configured: string | undefined): string {
  const preferred = configured ?? path.join(home, 'sigil.sock');
  if (Buffer.byteLength(preferred) <= MAX_SOCKET_PATH) return preferred;
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  const tag = createHash('sha256').update(path.resolve(home)).digest('hex').slice(0, 16);
  return path.join(os.tmpdir(), `sigil-${uid}`, `${tag}.sock`);
}

async function isLive(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(socketPath);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export function toResponseError(e: unknown): ResponseError<unknown> {
  const err = toSigilError(e);
  return new ResponseError(SIGIL_RPC_ERROR, err.message, err.toJSON());
}

/**
 * The params and cancellation token of a request handler registered by method name. vscode-jsonrpc passes
 * params by position spread before the token, and only the token when params are omitted (Neovim sends an
 * empty Lua table as `[]`): no params or `[]` count as none, a single positional param as the params.
 */
export function requestArgs(args: readonly unknown[]): {
  params: unknown;
  token: CancellationToken | undefined;
} {
  const n = Math.max(0, args.length - 1);
  return {
    params: n === 0 ? undefined : n === 1 ? args[0] : args.slice(0, n),
    token: args[n] as CancellationToken | undefined,
  };
}

/** Registers every protocol request of `handlers` on a JSON-RPC connection. */
export function serveRequests(conn: MessageConnection, handlers: Handlers): void {
  for (const method of Object.keys(REQUESTS) as RequestMethod[]) {
    conn.onRequest(method, async (...args: unknown[]) => {
      const { params, token } = requestArgs(args);
      // A client that wants progress passes a work-done token (not covered by the request signature) and
      // gets sigil/progress notifications carrying it.
      const workDoneToken = (params as { workDoneToken?: unknown } | undefined)?.workDoneToken;
      const abort = new AbortController();
      const cancelled = token?.onCancellationRequested(() => abort.abort());
      const ctx: RequestContext = {
        signal: abort.signal,
        ...(typeof workDoneToken === 'string'
          ? {
              onProgress: (done: number, total: number) =>
                void conn.sendNotification('sigil/progress', { token: workDoneToken, done, total }),
            }
          : {}),
      };
      try {
        return await (handlers[method] as (p: unknown, c: RequestContext) => Promise<unknown>)(params, ctx);
      } catch (e) {
        throw toResponseError(e);
      } finally {
        cancelled?.dispose();
      }
    });
  }
}

export interface OwnerSocket {
  readonly path: string;
  close(): Promise<void>;
}

export async function listenOwnerSocket(socketPath: string, handlers: Handlers): Promise<OwnerSocket> {
  await fs.mkdir(path.dirname(socketPath), { recursive: true, mode: 0o700 });
  try {
    await fs.lstat(socketPath);
    if (await isLive(socketPath)) {
      throw new SigilError('STORE_LOCKED', `another Sigil process is already serving ${socketPath}`);
    }
    await fs.unlink(socketPath); // stale, left by a process that died
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const connections = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
    const conn = createMessageConnection(new SocketMessageReader(socket), new SocketMessageWriter(socket));
    serveRequests(conn, handlers);
    conn.onClose(() => conn.dispose());
    conn.listen();
  });
  // The socket file is created owner-only from the start, not chmod-ed after the fact.
  const oldMask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } finally {
    process.umask(oldMask);
  }
  return {
    path: socketPath,
    async close() {
      for (const s of connections) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await fs.unlink(socketPath).catch(() => undefined);
    },
  };
}

/** A client connection to a store owner; `null` when nobody is listening. */
export interface RequestOptions {
  /** Progress of a long request (import, rebuild, verify), when the handler reports any. */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface OwnerClient {
  request<M extends RequestMethod>(
    method: M,
    params: ParamsOf<M>,
    options?: RequestOptions,
  ): Promise<ResultOf<M>>;
  /** Closes the connection (or the store opened for it); wait for it before exiting. */
  close(): void | Promise<void>;
}

export async function connectOwner(socketPath: string, timeoutMs = 3000): Promise<OwnerClient | null> {
  const socket = await new Promise<net.Socket | null>((resolve) => {
    const s = net.connect(socketPath);
    const timer = setTimeout(() => {
      s.destroy();
      resolve(null);
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(timer);
      resolve(s);
    });
    s.once('error', () => {
      clearTimeout(timer);
      resolve(null);
    });
  });
  if (!socket) return null;
  const conn = createMessageConnection(new SocketMessageReader(socket), new SocketMessageWriter(socket));
  conn.listen();
  let closed = false;
  conn.onClose(() => {
    closed = true;
  });
  const progress = new Map<string, (done: number, total: number) => void>();
  conn.onNotification('sigil/progress', (p: { token?: unknown; done?: unknown; total?: unknown }) => {
    const report = typeof p.token === 'string' ? progress.get(p.token) : undefined;
    if (report && typeof p.done === 'number' && typeof p.total === 'number') report(p.done, p.total);
  });
  let nextToken = 0;
  return {
    async request(method, params, options) {
      if (closed) throw new SigilError('STORE_CLOSED', 'the store owner closed the connection');
      const token = options?.onProgress ? `sigil-cli-${process.pid}-${++nextToken}` : undefined;
      if (token) progress.set(token, options!.onProgress!);
      try {
        const sent = token ? { ...(params as object), workDoneToken: token } : params;
        return (await conn.sendRequest(method, sent)) as ResultOf<typeof method>;
      } catch (e) {
        throw sigilErrorFromRpc(e);
      } finally {
        if (token) progress.delete(token);
      }
    },
    close() {
      conn.dispose();
      socket.destroy();
    },
  };
}
