/**
 * A Sigil home: `sigil.toml`, `keystore.json`, the LevelDB canon under `canon/`, and `owner.json` naming
 * the process that holds the store. This module finds, creates and opens homes; nothing else touches
 * their layout.
 */
import { promises as fs, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { MemoryService } from '../memory/service.js';
import { MemoryVectors } from '../memory/vectors.js';
import { memorySearchSettings } from '../memory/settings.js';
import { sharedEmbedder } from '../rag/embedder.js';
import { RAG_DIR, RagService } from '../rag/service.js';
import { MEMORY_KEYS_DIR } from '../memory/entry-keys.js';
import { ragSettings, createEmbedder } from '../rag/settings.js';
import os from 'node:os';
import { SigilError } from '../../../shared/src/errors.js';
import {
  renderDefaultToml,
  ORIGIN_PATTERN,
  type SigilConfig,
  type ConfigLayer,
} from '../../../shared/src/config-schema.js';
import { loadConfig, CONFIG_FILE_NAME } from '../config/load.js';
import { createKeystore, loadKeystore, KEYSTORE_FILE, type Keystore } from '../canon/keystore.js';
import { LevelCanonStore } from '../canon/store.js';
import type { PassphraseSource } from './passphrase.js';
import { ANONYMOUS, Governance, JOURNAL_FILE, type Access } from '../governance/gate.js';
import type { NonceStore } from '../../../shared/src/license.js';
import { issue } from '../governance/operations.js';
import { genesisInput } from '../governance/proposals.js';
import { createWitnessKey, writeWitnessKeyFiles } from '../governance/witness-keys.js';
import type { GenesisWitness } from '../../../shared/src/quorum.js';
import { createIdentity, writeIdentityFile } from '../governance/identity.js';
import { decide } from '../../../shared/src/policy.js';
import { publicKeyFromSeed } from '../../../shared/src/ed25519.js';
import { toBase64 } from '../../../shared/src/bytes.js';
import { randomBytes } from 'node:crypto';
import type { ConfigSource } from '../../../shared/src/config-schema.js';

export const HOME_DIR_NAME = '.sigil';
export const STORE_DIR = 'canon';
export const OWNER_FILE = 'owner.json';
export const IDENTITIES_DIR = 'identities';
/** The owner's witness key (when init made the owner the genesis witness). */
export const WITNESSES_DIR = 'witnesses';
export const OWNER_WITNESS_ID = 'owner';
/** The identity `sigil init` creates: a root licence for the owner, used by default by the CLI and editor. */
export const OWNER_IDENTITY_FILE = path.join(IDENTITIES_DIR, 'owner.json');
/** How long the owner's root licence lasts (it can issue itself a new one before then). */
const OWNER_LICENSE_DAYS = 3650;

export interface HomeLocation {
  readonly home: string;
  readonly how: 'flag' | 'env' | 'search';
}

/** --home, else $SIGIL_HOME, else the nearest `.sigil/` upward from `cwd`. */
export function resolveHome(
  flag: string | undefined,
  env: NodeJS.ProcessEnv,
  cwd: string,
): HomeLocation | null {
  if (flag) return { home: path.resolve(cwd, flag), how: 'flag' };
  if (env.SIGIL_HOME) return { home: path.resolve(cwd, env.SIGIL_HOME), how: 'env' };
  let dir = path.resolve(cwd);
  for (;;) {
    const candidate = path.join(dir, HOME_DIR_NAME);
    try {
      if (statSync(candidate).isDirectory()) return { home: candidate, how: 'search' };
    } catch {
      // keep looking upward
    }
    const parent = path.dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

export function requireHome(loc: HomeLocation | null, cwd: string): string {
  if (loc) return loc.home;
  throw new SigilError(
    'HOME_MISSING',
    `no Sigil home found: none given with --home or SIGIL_HOME, and no ${HOME_DIR_NAME}/ in ${cwd} or above it; run "sigil init" to create one`,
  );
}

export interface SigilRuntime {
  readonly home: string;
  readonly config: SigilConfig;
  readonly keystore: Keystore;
  readonly store: LevelCanonStore;
  /** The gate every operation passes: licences, policy, trust, audit. */
  readonly governance: Governance;
  /** Agent memory (derived from the canon's memory records; entry keys under memory-keys/). */
  readonly memory: MemoryService;
  /** The retrieval index (derived from the canon's rag.* records; vectors saved under rag/). */
  readonly rag: RagService;
  close(): Promise<void>;
}

export interface OpenOptions {
  readonly home: string;
  readonly env: NodeJS.ProcessEnv;
  readonly flags?: ConfigLayer;
  readonly passphrase: PassphraseSource;
  /** What to write into owner.json, so a process that finds the store locked can say who holds it. */
  readonly ownerDescription: string;
  /** Unknown SIGIL_* variables: refused (CLI, default) or only warned about (editor). */
  readonly unknownEnv?: 'error' | 'warn';
  readonly onWarning?: (message: string) => void;
  /** Nonces of signed requests already seen, shared across opens by a long-lived owner (see gate.ts). */
  readonly nonces?: NonceStore;
}

function passphraseEnvName(config: SigilConfig): string {
  return config.keystore.passphrase_env;
}

export interface OwnerRecord {
  readonly pid: number;
  readonly command: string;
  readonly started_at: string;
  /** Where the owner answers requests, when it serves a socket (language server, `sigil serve`). */
  readonly socket?: string;
  readonly alive: boolean;
}

/** Who holds the store, from owner.json; null when nobody wrote one. */
export async function readOwner(home: string): Promise<OwnerRecord | null> {
  try {
    const raw = JSON.parse(await fs.readFile(path.join(home, OWNER_FILE), 'utf8')) as Partial<OwnerRecord>;
    if (typeof raw.pid !== 'number') return null;
    let alive = true;
    try {
      process.kill(raw.pid, 0);
    } catch (e) {
      alive = (e as NodeJS.ErrnoException).code === 'EPERM';
    }
    return {
      pid: raw.pid,
      command: typeof raw.command === 'string' ? raw.command : 'unknown command',
      started_at: typeof raw.started_at === 'string' ? raw.started_at : '?',
      ...(typeof raw.socket === 'string' ? { socket: raw.socket } : {}),
      alive,
    };
  } catch {
    return null;
  }
}

async function describeOwner(home: string): Promise<string | null> {
  const o = await readOwner(home);
  if (!o) return null;
  return `pid ${o.pid}${o.alive ? '' : ' (no longer running)'}, ${o.command}, since ${o.started_at}`;
}

async function writeOwner(home: string, description: string, socket?: string): Promise<void> {
  const body = JSON.stringify({
    pid: process.pid,
    command: description,
    started_at: new Date().toISOString(),
    ...(socket ? { socket } : {}),
  });
  await fs.writeFile(path.join(home, OWNER_FILE), body + '\n', { mode: 0o600 });
}

/** Records in owner.json that this process now answers requests on `socket`. */
export async function recordOwnerSocket(home: string, description: string, socket: string): Promise<void> {
  await writeOwner(home, description, socket);
}

async function removeOwner(home: string): Promise<void> {
  try {
    const raw = JSON.parse(await fs.readFile(path.join(home, OWNER_FILE), 'utf8')) as { pid?: number };
    if (raw.pid === process.pid) await fs.unlink(path.join(home, OWNER_FILE));
  } catch {
    // already gone, or another process's file: leave it
  }
}

function configLoadOptions(
  opts: OpenOptions,
): Pick<Parameters<typeof loadConfig>[0], 'flags' | 'unknownEnv' | 'onWarning'> {
  return {
    ...(opts.flags ? { flags: opts.flags } : {}),
    ...(opts.unknownEnv ? { unknownEnv: opts.unknownEnv } : {}),
    ...(opts.onWarning ? { onWarning: opts.onWarning } : {}),
  };
}

export async function openRuntime(opts: OpenOptions): Promise<SigilRuntime> {
  const home = opts.home;
  if (!existsSync(path.join(home, KEYSTORE_FILE))) {
    throw new SigilError(
      'HOME_MISSING',
      `${home} is not a Sigil home (no ${KEYSTORE_FILE}); run "sigil init" first`,
    );
  }
  const { config, origins } = await loadConfig({ home, env: opts.env, ...configLoadOptions(opts) });
  const keystore = await loadKeystore(home, {
    passphrase: () => opts.passphrase.get(passphraseEnvName(config), { confirm: false }),
    passphraseEnv: passphraseEnvName(config),
  });
  const store = await LevelCanonStore.open({
    ...storeOptions(home, config, keystore),
    describeLockOwner: () => describeOwner(home),
  });
  return ownedRuntime(home, config, origins, keystore, store, opts);
}

function storeOptions(home: string, config: SigilConfig, keystore: Keystore) {
  return {
    location: path.join(home, STORE_DIR),
    keystore,
    groupCommitMaxBatch: config.canon.group_commit_max_batch,
    verifyWorkers: config.canon.verify_workers,
  };
}

/** Records this process as the store's owner; closing the runtime closes the store and gives that up. */
async function ownedRuntime(
  home: string,
  config: SigilConfig,
  origins: Record<string, ConfigSource>,
  keystore: Keystore,
  store: LevelCanonStore,
  opts: OpenOptions,
): Promise<SigilRuntime> {
  let governance: Governance | undefined;
  let memory: MemoryService | undefined;
  const embedder = sharedEmbedder(() => createEmbedder(config));
  const retrieval = ragSettings(config);
  try {
    await writeOwner(home, opts.ownerDescription);
    governance = await Governance.open({
      home,
      config,
      origins,
      keystore,
      store,
      ...(opts.onWarning ? { onWarning: opts.onWarning } : {}),
      ...(opts.nonces ? { nonces: opts.nonces } : {}),
    });
    memory = await MemoryService.open({
      home,
      store,
      governance,
      dataKey: keystore.dataKey,
      searchSettings: memorySearchSettings(config),
      ...(config.memory.search === 'hybrid'
        ? {
            vectors: new MemoryVectors({
              embedder: embedder.get,
              tuning: {
                m: retrieval.m,
                efConstruction: retrieval.efConstruction,
                efSearch: retrieval.efSearch,
              },
              ...(opts.onWarning ? { onWarning: opts.onWarning } : {}),
            }),
          }
        : {}),
      ...(opts.onWarning ? { onWarning: opts.onWarning } : {}),
    });
  } catch (e) {
    await memory?.close();
    await embedder.close();
    await governance?.close();
    await store.close();
    await removeOwner(home);
    throw e;
  }
  const rag = new RagService({
    home,
    store,
    governance,
    settings: retrieval,
    embedder: embedder.get,
    ...(opts.onWarning ? { onWarning: opts.onWarning } : {}),
  });
  return {
    home,
    config,
    keystore,
    store,
    governance,
    memory,
    rag,
    async close() {
      await rag.close();
      await memory.close();
      await embedder.close();
      await governance.close();
      await store.close();
      await removeOwner(home);
    },
  };
}

export interface InitOptions extends OpenOptions {
  readonly origin?: string;
  /**
   * The genesis witnesses (public keys the owner was given, e.g. by `sigil witness keygen` elsewhere) and k.
   * Default: the owner as the single witness, k = 1 (its key in witnesses/owner.key.json).
   */
  readonly witnesses?: readonly GenesisWitness[];
  readonly threshold?: number;
}

export interface InitResult {
  readonly runtime: SigilRuntime;
  readonly origin: string;
  readonly encrypted: boolean;
  /** The owner identity file (root licence + its key) and its licence id. */
  readonly ownerIdentity: { readonly file: string; readonly licenseId: string; readonly subject: string };
  /** The genesis witness registry: who the witnesses are, k, and the owner's witness key file if made. */
  readonly witnesses: {
    readonly ids: readonly string[];
    readonly threshold: number;
    readonly ownerKeyFile: string | null;
  };
}

/** Creates a home: directory (0700), sigil.toml, keystore, and a store with its genesis record. */
export async function initHome(opts: InitOptions): Promise<InitResult> {
  const home = opts.home;
  const existing = await fs.readdir(home).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null;
    throw e;
  });
  if (existing && existing.length > 0) {
    throw new SigilError(
      'HOME_EXISTS',
      `${home} already exists and is not empty (${existing.slice(0, 3).join(', ')}${existing.length > 3 ? ', …' : ''}); refusing to overwrite it — choose another --home or remove it yourself`,
      { home },
    );
  }
  if (opts.origin !== undefined && !ORIGIN_PATTERN.test(opts.origin)) {
    throw new SigilError(
      'BAD_USAGE',
      `--origin ${JSON.stringify(opts.origin)} is not a valid checkpoint origin: use printable ASCII without spaces or '+', e.g. example.com/mylog`,
    );
  }
  const created = existing === null;
  await fs.mkdir(home, { recursive: true, mode: 0o700 });
  try {
    await fs.chmod(home, 0o700);
    const { config, origins } = await loadConfig({ home, env: opts.env, ...configLoadOptions(opts) });
    const passphrase = await opts.passphrase.get(passphraseEnvName(config), { confirm: true });
    const keystore = await createKeystore(home, { passphrase, scryptLogN: config.keystore.scrypt_log_n });
    const origin = opts.origin ?? config.canon.origin ?? `sigil.local/${keystore.root.keyId.slice(0, 16)}`;
    await fs.writeFile(path.join(home, CONFIG_FILE_NAME), renderDefaultToml({ origin }), {
      mode: 0o600,
      flag: 'wx',
    });
    const store = await LevelCanonStore.create({ ...storeOptions(home, config, keystore), origin });
    const runtime = await ownedRuntime(home, config, origins, keystore, store, opts);
    try {
      const ownerIdentity = await createOwnerIdentity(runtime, passphrase);
      const witnesses = await createGenesisWitnesses(runtime, passphrase, opts);
      return { origin, encrypted: keystore.encrypted, runtime, ownerIdentity, witnesses };
    } catch (e) {
      await runtime.close();
      throw e;
    }
  } catch (e) {
    // A failed init leaves nothing behind, so running it again just works.
    await undoInit(home, created);
    throw e;
  }
}

/** Who acts during `sigil init`: the runtime itself, before any licence exists (audited as store.init). */
function bootstrapAccess(gov: Governance): Access {
  return {
    method: 'sigil/store.init',
    operation: 'store.init',
    caller: { ...ANONYMOUS, subject: 'sigil:init' },
    decision: decide('store.init', 0, undefined, { storeExists: false, table: gov.table }),
    trust: null,
  };
}

/**
 * The bootstrap licence: root, for the owner (the local user), signed by the root key and recorded in the
 * canon with its audit record, its key in `identities/owner.json` (encrypted under the store passphrase
 * when there is one).
 */
async function createOwnerIdentity(
  rt: SigilRuntime,
  passphrase: string | undefined,
): Promise<InitResult['ownerIdentity']> {
  const gov = rt.governance;
  const subject = defaultActor();
  const seed = new Uint8Array(randomBytes(32));
  try {
    const bootstrap = bootstrapAccess(gov);
    const { chain, license } = await issue(gov, bootstrap, {
      subject,
      role: 'root',
      expiresAt: new Date(gov.now() + OWNER_LICENSE_DAYS * 24 * 3600 * 1000).toISOString(),
      subjectKey: toBase64(publicKeyFromSeed(seed)),
    });
    const identity = await createIdentity(chain, seed, {
      passphrase,
      scryptLogN: rt.config.keystore.scrypt_log_n,
    });
    const file = path.join(rt.home, OWNER_IDENTITY_FILE);
    await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    await writeIdentityFile(file, identity);
    return { file, licenseId: license.body.id, subject };
  } finally {
    seed.fill(0);
  }
}

/**
 * The genesis witness registry, signed by the root key and recorded with its audit record: the witnesses
 * given to init, or the owner alone (k = 1) with a fresh witness key sealed like the owner identity.
 */
async function createGenesisWitnesses(
  rt: SigilRuntime,
  passphrase: string | undefined,
  opts: InitOptions,
): Promise<InitResult['witnesses']> {
  let witnesses = opts.witnesses ?? [];
  let ownerKeyFile: string | null = null;
  if (witnesses.length === 0) {
    const key = await createWitnessKey(
      OWNER_WITNESS_ID,
      `${OWNER_WITNESS_ID}-${rt.keystore.root.keyId.slice(0, 16)}`,
      {
        passphrase,
        scryptLogN: rt.config.keystore.scrypt_log_n,
      },
    );
    ownerKeyFile = (await writeWitnessKeyFiles(path.join(rt.home, WITNESSES_DIR), key)).keyFile;
    witnesses = [{ id: key.public.id, name: key.public.name, publicKey: key.public.public_key }];
  }
  const threshold = opts.threshold ?? 1;
  await rt.governance.write(bootstrapAccess(rt.governance), [
    genesisInput(rt.governance, bootstrapAccess(rt.governance), witnesses, threshold),
  ]);
  return { ids: witnesses.map((w) => w.id), threshold, ownerKeyFile };
}

async function undoInit(home: string, removeHome: boolean): Promise<void> {
  for (const name of [KEYSTORE_FILE, CONFIG_FILE_NAME, OWNER_FILE, JOURNAL_FILE])
    await fs.rm(path.join(home, name), { force: true });
  await fs.rm(path.join(home, IDENTITIES_DIR), { recursive: true, force: true });
  await fs.rm(path.join(home, WITNESSES_DIR), { recursive: true, force: true });
  await fs.rm(path.join(home, STORE_DIR), { recursive: true, force: true });
  // Made when the runtime opened: empty at this point, since init writes no memory or documents.
  await fs.rm(path.join(home, MEMORY_KEYS_DIR), { recursive: true, force: true });
  await fs.rm(path.join(home, RAG_DIR), { recursive: true, force: true });
  if (removeHome) await fs.rmdir(home).catch(() => undefined);
}

export function defaultActor(): string {
  let user = 'unknown';
  try {
    user = os.userInfo().username;
  } catch {
    // no passwd entry (containers): keep "unknown"
  }
  return `local:${user}`;
}
