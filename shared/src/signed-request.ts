/**
 * The client side of authenticated requests: what the CLI and the extension put next to a request's params.
 * The signature covers exactly what the server will hash (see splitAuth in protocol.ts), so params are first
 * reduced to plain JSON (undefined fields dropped) the way they will travel.
 */
import { randomBytes } from 'node:crypto';
import { signRequest, type Identity, type RequestAuth } from './license.js';
import { AUTH_FIELD } from './protocol.js';

/** The params as they will arrive: plain JSON, undefined fields gone, no `auth` or `workDoneToken`. */
function asSent(params: unknown): Record<string, unknown> {
  if (params === undefined || params === null) return {};
  const plain = JSON.parse(JSON.stringify(params)) as Record<string, unknown>;
  delete plain[AUTH_FIELD];
  delete plain.workDoneToken;
  return plain;
}

/** `params` plus an `auth` signed by `identity` for `method`, now, with a fresh 16-byte nonce. */
export function signedParams(
  method: string,
  params: unknown,
  identity: Identity,
  now: Date = new Date(),
): Record<string, unknown> & { auth: RequestAuth } {
  const sent = asSent(params);
  const auth = signRequest(method, sent, identity, { now, nonce: new Uint8Array(randomBytes(16)) });
  return { ...sent, [AUTH_FIELD]: auth } as Record<string, unknown> & { auth: RequestAuth };
}
