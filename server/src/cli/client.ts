/**
 * How a CLI command reaches the service layer: through the store owner's socket when a language server or
 * `sigil serve` holds the store, else through the same handlers on a store opened in this process. Either
 * way every request is signed with the caller's identity and passes the same gate.
 */
import path from 'node:path';
import { existsSync } from 'node:fs';
import { SigilError } from '../../../shared/src/errors.js';
import type { ParamsOf, RequestMethod, ResultOf } from '../../../shared/src/protocol.js';
import { signedParams } from '../../../shared/src/signed-request.js';
import { connectOwner, type OwnerClient, type RequestOptions } from '../rpc/owner-socket.js';
import { runtimeHandlers } from '../service/handlers.js';
import { openRuntime, readOwner, OWNER_IDENTITY_FILE } from '../runtime/home.js';
import type { PassphraseSource } from '../runtime/passphrase.js';
import { readIdentityFile, type LoadedIdentity } from '../governance/identity.js';

export interface IdentityChoice {
  /** The file, or null when none applies (requests then go unsigned, as an anonymous guest). */
  readonly file: string | null;
  readonly how: 'flag' | 'env' | 'owner' | 'none';
}

/** --identity, else $SIGIL_IDENTITY, else the home's owner identity if it exists. */
export function chooseIdentity(
  flag: string | undefined,
  env: NodeJS.ProcessEnv,
  home: string,
  cwd: string,
): IdentityChoice {
  if (flag) return { file: path.resolve(cwd, flag), how: 'flag' };
  if (env.SIGIL_IDENTITY) return { file: path.resolve(cwd, env.SIGIL_IDENTITY), how: 'env' };
  const owner = path.join(home, OWNER_IDENTITY_FILE);
  return existsSync(owner) ? { file: owner, how: 'owner' } : { file: null, how: 'none' };
}

/** Reads and unlocks the chosen identity; its passphrase is $SIGIL_IDENTITY_PASSPHRASE, else the store's. */
export async function loadIdentity(
  choice: IdentityChoice,
  env: NodeJS.ProcessEnv,
  passphrase: PassphraseSource,
): Promise<LoadedIdentity | null> {
  if (choice.file === null) return null;
  return readIdentityFile(choice.file, {
    passphrase: async () =>
      env.SIGIL_IDENTITY_PASSPHRASE || (await passphrase.get('SIGIL_PASSPHRASE', { confirm: false })),
    passphraseEnv: 'SIGIL_IDENTITY_PASSPHRASE (or SIGIL_PASSPHRASE)',
  });
}

/** Signs every request with `identity` (or sends it unsigned when there is none). */
export function signingClient(base: OwnerClient, identity: LoadedIdentity | null): OwnerClient {
  return {
    request: <M extends RequestMethod>(
      method: M,
      params: ParamsOf<M>,
      options?: RequestOptions,
    ): Promise<ResultOf<M>> =>
      base.request(
        method,
        (identity
          ? signedParams(method, params, { chain: identity.chain, signer: identity.signer })
          : params) as ParamsOf<M>,
        options,
      ),
    close: () => base.close(),
  };
}

/**
 * A language server or `sigil serve` opens the store first and starts its socket a moment later; a CLI
 * call in that gap waits briefly for the socket instead of failing on the lock.
 */
async function ownerWithSocket(home: string): Promise<Awaited<ReturnType<typeof readOwner>>> {
  const deadline = Date.now() + 3000;
  for (;;) {
    const owner = await readOwner(home);
    const serving = owner?.alive && /language server|sigil serve/.test(owner.command);
    if (!owner || owner.socket || !serving || Date.now() > deadline) return owner;
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface ConnectOptions {
  readonly home: string;
  readonly env: NodeJS.ProcessEnv;
  readonly passphrase: PassphraseSource;
  /** e.g. "sigil canon append": recorded as the store owner while the store is open here. */
  readonly what: string;
}

/** The unsigned path to the service: the owner's socket, else handlers over a store opened here. */
export async function connectService(opts: ConnectOptions): Promise<OwnerClient> {
  const owner = await ownerWithSocket(opts.home);
  const remote = owner?.socket && owner.alive ? await connectOwner(owner.socket) : null;
  if (remote) return remote;
  const rt = await openRuntime({
    home: opts.home,
    env: opts.env,
    passphrase: opts.passphrase,
    ownerDescription: opts.what,
  });
  const handlers = runtimeHandlers(rt);
  let closed: Promise<void> | null = null;
  return {
    request: async <M extends RequestMethod>(
      method: M,
      params: ParamsOf<M>,
      options?: RequestOptions,
    ): Promise<ResultOf<M>> => {
      if (closed) throw new SigilError('STORE_CLOSED', 'the store is closed');
      return (await handlers[method](
        params,
        options?.onProgress ? { onProgress: options.onProgress } : {},
      )) as ResultOf<M>;
    },
    close: () => (closed ??= rt.close()),
  };
}
