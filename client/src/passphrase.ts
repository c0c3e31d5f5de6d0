/**
 * Key passphrases, one per Sigil home, kept in the editor's SecretStorage (the OS keychain in desktop VS Code).
 * A copy lives in memory for the session, so a failing secret store still lets the user work. The passphrase
 * only ever leaves this module as the server's `initializationOptions.passphrase`; it is never logged.
 */
import type * as vscode from 'vscode';

const KEY_PREFIX = 'sigil.passphrase:';

export class Passphrases {
  private readonly memory = new Map<string, string>();

  constructor(
    private readonly secrets: vscode.SecretStorage,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  async get(home: string): Promise<string | undefined> {
    const cached = this.memory.get(home);
    if (cached !== undefined) return cached;
    try {
      const stored = await this.secrets.get(KEY_PREFIX + home);
      if (stored) this.memory.set(home, stored);
      return stored || undefined;
    } catch (e) {
      this.log.warn(`cannot read the secret storage: ${(e as Error).message}`);
      return undefined;
    }
  }

  /** Keeps the passphrase for `home`; returns false when only the session copy could be kept. */
  async set(home: string, passphrase: string): Promise<boolean> {
    this.memory.set(home, passphrase);
    try {
      await this.secrets.store(KEY_PREFIX + home, passphrase);
      return true;
    } catch (e) {
      this.log.warn(
        `cannot save the passphrase in the secret storage (kept for this session only): ${(e as Error).message}`,
      );
      return false;
    }
  }

  async forget(home: string): Promise<void> {
    this.memory.delete(home);
    try {
      await this.secrets.delete(KEY_PREFIX + home);
    } catch (e) {
      this.log.warn(`cannot remove the passphrase from the secret storage: ${(e as Error).message}`);
    }
  }
}
