/**
 * What the command modules of the CLI get from main.ts: the global options and the context their actions
 * run in. Kept apart so that main.ts imports the command modules and none of them imports main.ts.
 */
import type { OwnerClient } from '../rpc/owner-socket.js';
import type { LoadedIdentity } from '../governance/identity.js';
import type { Output } from './output.js';

export interface GlobalOptions {
  home?: string;
  json?: boolean;
  identity?: string;
}

export interface GovernanceCliContext {
  readonly globals: () => GlobalOptions;
  readonly out: () => Output;
  readonly withClient: <T>(what: string, fn: (client: OwnerClient) => Promise<T>) => Promise<T>;
  /** The identity that signs the command's requests (--identity, $SIGIL_IDENTITY or the owner's). */
  readonly callerIdentity: () => Promise<LoadedIdentity | null>;
  readonly setExitCode: (code: number) => void;
  readonly action: <A extends unknown[]>(fn: (...args: A) => Promise<void>) => (...args: A) => Promise<void>;
}
