/** `sigil serve`: own a store and answer protocol requests on its socket until SIGINT/SIGTERM. */
import { StoreSession } from './service/session.js';
import { createHandlers } from './service/handlers.js';
import { listenOwnerSocket, socketPathFor } from './rpc/owner-socket.js';
import { recordOwnerSocket } from './runtime/home.js';
import type { PassphraseSource } from './runtime/passphrase.js';

export interface ServeOptions {
  readonly home: string;
  readonly env: NodeJS.ProcessEnv;
  readonly passphrase: PassphraseSource;
  readonly onReady: (socket: string) => void;
}

export async function serveHome(opts: ServeOptions): Promise<void> {
  const description = 'sigil serve';
  const session = new StoreSession({
    home: opts.home,
    env: opts.env,
    passphrase: opts.passphrase,
    ownerDescription: description,
  });
  await session.open();
  const rt = session.requireRuntime();
  const socket = await listenOwnerSocket(
    socketPathFor(opts.home, rt.config.server.socket),
    createHandlers(session),
  );
  await recordOwnerSocket(opts.home, description, socket.path);
  opts.onReady(socket.path);
  await new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await socket.close();
  await session.close();
}
