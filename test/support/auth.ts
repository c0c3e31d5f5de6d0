/**
 * Signing requests from tests the way the CLI and the extension do: load an identity (a home's owner
 * identity, or any identity file) and put an `auth` signed for one method next to its params
 * (shared/src/signed-request.ts). The server refuses a request without `auth` unless its operation is open
 * to guests, and refuses an `auth` it has seen before (replay), so every call signs afresh.
 */
import os from 'node:os';
import path from 'node:path';
import type { ParamsOf, RequestMethod } from '../../shared/src/protocol.js';
import type { Identity, RequestAuth } from '../../shared/src/license.js';
import { signedParams } from '../../shared/src/signed-request.js';
import { readIdentityFile, type LoadedIdentity } from '../../server/src/governance/identity.js';

/** Where `sigil init` (and sigil/store.init) writes the owner identity of a home. */
export function ownerIdentityFile(home: string): string {
  return path.join(home, 'identities', 'owner.json');
}

/** The subject of the owner licence `init` issues: the local OS user. */
export function ownerSubject(): string {
  let user = 'unknown';
  try {
    user = os.userInfo().username;
  } catch {
    // no passwd entry: the server falls back to "unknown" too
  }
  return `local:${user}`;
}

/** The record actor of what a licence holder does. */
export function actorOf(subject: string): string {
  return `license:${subject}`;
}

/** Reads and unlocks an identity file; `passphrase` for one encrypted under the store passphrase. */
export function loadIdentity(file: string, passphrase?: string): Promise<LoadedIdentity> {
  return readIdentityFile(file, {
    ...(passphrase !== undefined ? { passphrase: async () => passphrase } : {}),
  });
}

/** The owner identity of `home` (root, LOA 4). */
export function loadOwner(home: string, passphrase?: string): Promise<LoadedIdentity> {
  return loadIdentity(ownerIdentityFile(home), passphrase);
}

/** What signs a request: a loaded identity file, or a licence chain with the signer of its leaf's key. */
export type SigningIdentity = Extract<Identity, { readonly signer: unknown }>;

/**
 * `params` with a fresh `auth` (new nonce) signed by `identity` for `method`, at `now` (default: the
 * current time). `workDoneToken` is not signed: add it to the result, as an LSP client does.
 */
export function sign<M extends RequestMethod>(
  method: M,
  params: ParamsOf<M> | Record<string, unknown> | undefined,
  identity: SigningIdentity,
  now?: Date,
): Record<string, unknown> & { auth: RequestAuth } {
  return signedParams(method, params, { chain: identity.chain, signer: identity.signer }, now);
}
