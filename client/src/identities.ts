/**
 * The identities the editor can act as, per Sigil home: the home's owner identity (the root licence
 * `sigil init` wrote to `identities/owner.json`, unlocked with the store passphrase) and identities the user
 * imported or issued here, kept whole in SecretStorage (the OS keychain in desktop VS Code). One of them,
 * or none (an anonymous guest), is active; every request the extension sends is signed with it. The
 * decision about what an identity may do is the server's alone.
 */
import path from 'node:path';
import { existsSync } from 'node:fs';
import * as vscode from 'vscode';
import { SigilError, toSigilError } from '../../shared/src/errors.js';
import type { LoadedIdentity, IdentityFile } from '../../shared/src/identity-file.js';
import type { Passphrases } from './passphrase.js';

const KEY_PREFIX = 'sigil.identities:';

/** The identity-file code (scrypt, AES-GCM, licence parsing) is loaded on first use, not at activation. */
const identityModule = async () => {
  const [format, files] = await Promise.all([
    import('../../shared/src/identity-file.js'),
    import('./keyFiles.js'),
  ]);
  return {
    parseIdentity: format.parseIdentity,
    unlockIdentity: format.unlockIdentity,
    readIdentityFile: files.readIdentityFile,
  };
};
/** Relative to the home; the same path server/src/runtime/home.ts writes. */
export const OWNER_IDENTITY_FILE = path.join('identities', 'owner.json');
export const OWNER = 'owner';
export const ANONYMOUS = 'anonymous';

interface StoredIdentity {
  readonly doc: IdentityFile;
  /** For an imported document whose seed is encrypted. */
  readonly passphrase?: string;
  readonly importedAt: string;
}

interface StoredState {
  readonly imported: StoredIdentity[];
  /** OWNER, ANONYMOUS or the licence id of an imported identity. */
  readonly active: string;
}

export interface IdentityChoice {
  /** OWNER, ANONYMOUS or a licence id. */
  readonly key: string;
  readonly label: string;
  readonly subject: string | null;
  readonly role: string | null;
  readonly licenseId: string | null;
  readonly source: 'owner' | 'imported' | 'anonymous';
}

function leafOf(doc: IdentityFile): IdentityFile['chain'][number] {
  const leaf = doc.chain[doc.chain.length - 1];
  if (!leaf) throw new SigilError('BAD_INPUT', 'the identity has no licence');
  return leaf;
}

export class Identities implements vscode.Disposable {
  private readonly loaded = new Map<string, LoadedIdentity | null>();
  /**
   * Bumped whenever a stored choice or the cache changes (select, import, reset): an unlock that started
   * before does not put the identity it read into the cache, or requests signed after a switch would still
   * go as the previous identity.
   */
  private generation = 0;
  private readonly changed = new vscode.EventEmitter<string>();
  readonly onDidChange = this.changed.event;

  constructor(
    private readonly secrets: vscode.SecretStorage,
    private readonly passphrases: Passphrases,
    private readonly passphraseEnv: () => string,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  private async state(home: string): Promise<StoredState> {
    let text: string | undefined;
    try {
      text = await this.secrets.get(KEY_PREFIX + home);
    } catch (e) {
      this.log.warn(`cannot read the secret storage: ${(e as Error).message}`);
    }
    if (!text) return { imported: [], active: OWNER };
    try {
      const s = JSON.parse(text) as StoredState;
      return { imported: Array.isArray(s.imported) ? s.imported : [], active: s.active ?? OWNER };
    } catch {
      this.log.warn('the stored identity list is unreadable; starting from the owner identity');
      return { imported: [], active: OWNER };
    }
  }

  private invalidate(home?: string): void {
    this.generation++;
    if (home === undefined) this.loaded.clear();
    else this.loaded.delete(home);
  }

  private async save(home: string, s: StoredState): Promise<void> {
    await this.secrets.store(KEY_PREFIX + home, JSON.stringify(s));
    this.invalidate(home);
    this.changed.fire(home);
  }

  /** Everything the user can pick for `home`, the active one first. */
  async choices(home: string): Promise<{ active: string; choices: IdentityChoice[] }> {
    const s = await this.state(home);
    const out: IdentityChoice[] = [];
    if (existsSync(path.join(home, OWNER_IDENTITY_FILE)))
      out.push({
        key: OWNER,
        label: 'Store owner (identities/owner.json)',
        subject: null,
        role: 'root',
        licenseId: null,
        source: 'owner',
      });
    for (const i of s.imported) {
      const leaf = leafOf(i.doc).body;
      out.push({
        key: leaf.id,
        label: `${leaf.subject} (${leaf.role})`,
        subject: leaf.subject,
        role: leaf.role,
        licenseId: leaf.id,
        source: 'imported',
      });
    }
    out.push({
      key: ANONYMOUS,
      label: 'No identity (anonymous guest)',
      subject: null,
      role: 'guest',
      licenseId: null,
      source: 'anonymous',
    });
    return { active: s.active, choices: out };
  }

  /** The identity requests to `home` are signed with; null for an anonymous guest. */
  async active(home: string): Promise<LoadedIdentity | null> {
    if (this.loaded.has(home)) return this.loaded.get(home) ?? null;
    const generation = this.generation;
    const s = await this.state(home);
    let identity: LoadedIdentity | null = null;
    if (s.active === OWNER) {
      const file = path.join(home, OWNER_IDENTITY_FILE);
      if (!existsSync(file)) return null;
      const envName = this.passphraseEnv();
      const { readIdentityFile } = await identityModule();
      identity = await readIdentityFile(file, {
        passphrase: async () => (await this.passphrases.get(home)) ?? (process.env[envName] || undefined),
        passphraseEnv: envName,
      });
    } else if (s.active !== ANONYMOUS) {
      const stored = s.imported.find((i) => leafOf(i.doc).body.id === s.active);
      if (!stored) {
        this.log.warn(`the active identity ${s.active} is gone; using the owner identity`);
        await this.save(home, { ...s, active: OWNER });
        return this.active(home);
      }
      const { unlockIdentity } = await identityModule();
      identity = await unlockIdentity(stored.doc, {
        passphrase: async () => stored.passphrase,
        where: `the identity of ${stored.doc.subject}`,
      });
    }
    // The choice changed while this one was being unlocked: use the one chosen now.
    if (this.generation !== generation) return this.active(home);
    this.loaded.set(home, identity);
    return identity;
  }

  async select(home: string, key: string): Promise<void> {
    const s = await this.state(home);
    if (key !== OWNER && key !== ANONYMOUS && !s.imported.some((i) => leafOf(i.doc).body.id === key))
      throw new SigilError('NOT_FOUND', `no identity ${key} is known for ${home}`);
    await this.save(home, { ...s, active: key });
  }

  /**
   * Keeps an identity document for `home` after checking it unlocks (the seed matches the licence); it does
   * not judge the licence: the server does, on every request.
   */
  async import(home: string, value: unknown, passphrase?: string): Promise<IdentityChoice> {
    const { parseIdentity, unlockIdentity } = await identityModule();
    const doc = parseIdentity(value, 'the identity');
    await unlockIdentity(doc, {
      passphrase: async () => passphrase,
      passphraseEnv: 'the identity passphrase',
    });
    const s = await this.state(home);
    const id = leafOf(doc).body.id;
    const imported = [
      ...s.imported.filter((i) => leafOf(i.doc).body.id !== id),
      {
        doc,
        ...(passphrase !== undefined && doc.key.protection !== 'none' ? { passphrase } : {}),
        importedAt: new Date().toISOString(),
      },
    ];
    await this.save(home, { ...s, imported });
    const leaf = leafOf(doc).body;
    return {
      key: id,
      label: `${leaf.subject} (${leaf.role})`,
      subject: leaf.subject,
      role: leaf.role,
      licenseId: id,
      source: 'imported',
    };
  }

  /** Drops cached unlocked keys (the passphrase or the owner file may have changed). */
  reset(home?: string): void {
    this.invalidate(home);
    if (home !== undefined) this.changed.fire(home);
  }

  /** Loads the active identity, or says in words why it cannot be used (the request then goes unsigned). */
  async activeOrWarn(home: string): Promise<LoadedIdentity | null> {
    const generation = this.generation;
    try {
      return await this.active(home);
    } catch (e) {
      if (this.generation !== generation) return this.activeOrWarn(home);
      const err = toSigilError(e);
      this.log.warn(
        `the active identity cannot be used, sending requests unsigned: [${err.code}] ${err.message}`,
      );
      this.loaded.set(home, null);
      return null;
    }
  }

  dispose(): void {
    this.changed.dispose();
  }
}
