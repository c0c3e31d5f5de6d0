/**
 * A real home for in-process tests: `initHome` in a temporary directory, the service handlers every front
 * door runs, the owner identity, and helpers to sign calls, issue licences and expect typed errors.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { initHome, openRuntime, type SigilRuntime } from '../../server/src/runtime/home.js';
import type { PassphraseSource } from '../../server/src/runtime/passphrase.js';
import { runtimeHandlers, type Handlers } from '../../server/src/service/handlers.js';
import { readIdentityFile } from '../../server/src/governance/identity.js';
import type { Identity, LicenseChain, Role, SignedLicense } from '../../shared/src/license.js';
import { signedParams } from '../../shared/src/signed-request.js';
import type { RequestMethod } from '../../shared/src/protocol.js';
import { publicKeyFromSeed } from '../../shared/src/ed25519.js';
import { toBase64 } from '../../shared/src/bytes.js';
import { SigilError, type SigilErrorCode } from '../../shared/src/errors.js';
import type { CanonicalRecord } from '../../shared/src/record.js';

export const DAY = 24 * 60 * 60 * 1000;
export const noPassphrase: PassphraseSource = { get: async () => undefined };

export interface TestHome {
  /** The temporary directory holding the home (removed by dispose). */
  readonly dir: string;
  /** The project directory the home belongs to: `dir/project` with `inProject`, else `dir`. */
  readonly workspace: string;
  readonly home: string;
  /** The environment the runtime was opened with (configuration overrides); kept for reopen. */
  readonly env: Readonly<Record<string, string>>;
  rt: SigilRuntime;
  handlers: Handlers;
  owner: Identity;
}

export interface TestHomeOptions {
  /**
   * Put the home at `dir/project/.sigil`, as the extension does for a workspace, so that the project
   * directory is the workspace the modules may read (default: `dir/home`, no workspace).
   */
  readonly inProject?: boolean;
  /** Directories made inside the workspace before the home is initialised (e.g. `src`). */
  readonly workspaceDirs?: readonly string[];
}

/** A fresh home under the OS temp dir; `env` sets configuration (e.g. `SIGIL_MEMORY_SEARCH`). */
export async function newTestHome(
  name: string,
  env: Readonly<Record<string, string>> = {},
  options: TestHomeOptions = {},
): Promise<TestHome> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `sigil-${name}-`));
  const workspace = options.inProject ? path.join(dir, 'project') : dir;
  const home = options.inProject ? path.join(workspace, '.sigil') : path.join(dir, 'home');
  if (options.inProject) await mkdir(workspace, { recursive: true });
  for (const sub of options.workspaceDirs ?? []) await mkdir(path.join(workspace, sub), { recursive: true });
  const init = await initHome({
    home,
    env: { ...env },
    passphrase: noPassphrase,
    ownerDescription: `test ${name}`,
  });
  const owner = await readIdentityFile(init.ownerIdentity.file);
  return { dir, workspace, home, env, rt: init.runtime, handlers: runtimeHandlers(init.runtime), owner };
}

/** Closes the runtime and opens it again from disk, as a restart does. */
export async function reopenTestHome(h: TestHome): Promise<void> {
  await h.rt.close();
  await openTestHome(h);
}

/** Opens the runtime of a home whose runtime the test already closed (to look at its files in between). */
export async function openTestHome(h: TestHome): Promise<void> {
  h.rt = await openRuntime({
    home: h.home,
    env: { ...h.env },
    passphrase: noPassphrase,
    ownerDescription: 'test reopen',
  });
  h.handlers = runtimeHandlers(h.rt);
}

export async function disposeTestHome(h: TestHome | undefined): Promise<void> {
  if (!h) return;
  await h.rt.close();
  await rm(h.dir, { recursive: true, force: true });
}

/** Calls a handler as `who` (signed afresh, as the CLI does), or unsigned when `who` is null. */
export function callAs<T>(
  h: Pick<TestHome, 'handlers'>,
  method: RequestMethod,
  params: Record<string, unknown>,
  who: Identity | null,
): Promise<T> {
  const raw = who ? signedParams(method, params, who) : params;
  return h.handlers[method](raw, {}) as Promise<T>;
}

/** A licence of `role` for `subject`, issued by the owner, valid for a day. */
export async function issueLicence(
  h: Pick<TestHome, 'handlers' | 'owner'>,
  subject: string,
  role: Role,
): Promise<Identity> {
  const seed = new Uint8Array(randomBytes(32));
  const r = await callAs<{ license: SignedLicense; chain: LicenseChain }>(
    h,
    'sigil/license.issue',
    {
      subject,
      role,
      expiresAt: new Date(Date.now() + DAY).toISOString(),
      subjectKey: toBase64(publicKeyFromSeed(seed)),
    },
    h.owner,
  );
  return { chain: r.chain, seed } as unknown as Identity;
}

/** Awaits `p`, which must reject with a SigilError of `code` (and a message matching `message`). */
export async function rejectsWith(
  p: Promise<unknown>,
  code: SigilErrorCode,
  message?: RegExp,
): Promise<SigilError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof SigilError, `expected a SigilError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (message) assert.match(e.message, message);
    return e;
  }
  assert.fail(`expected ${code}`);
}

/** Every record of `kind` in the home's canon (up to a thousand, enough for any one test). */
export async function recordsOf(rt: SigilRuntime, kind: string): Promise<CanonicalRecord[]> {
  return (await rt.store.list({ kind, limit: 1000 })).records;
}

/** Every byte of every file under `dir` (to show that something is in no file of a home). */
export async function filesUnder(dir: string): Promise<{ file: string; bytes: Buffer }[]> {
  const out: { file: string; bytes: Buffer }[] = [];
  for (const name of await readdir(dir)) {
    const p = path.join(dir, name);
    if ((await stat(p)).isDirectory()) out.push(...(await filesUnder(p)));
    else out.push({ file: p, bytes: await readFile(p) });
  }
  return out;
}
