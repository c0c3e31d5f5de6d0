/**
 * The one typed accessor for the extension's `sigil.*` settings.
 *
 * Settings that configure the store map one to one onto keys of the shared config schema
 * (shared/src/config-schema.ts). Only settings the user has actually set (user, workspace or folder level) are
 * passed on, so an untouched setting never overrides `<home>/sigil.toml`. They reach the server as its
 * `SIGIL_<SECTION>_<KEY>` environment variables, the schema's highest-precedence layer the server reads, and
 * are validated here first with the schema's own rules so a bad value is reported with the setting's name.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ConfigLayer } from '../../shared/src/config-schema.js';
import { HOME_DIR_NAME, MAPPED_SETTINGS, SECTION, expandPath, settingsLayer } from './settings.js';

export { MAPPED_SETTINGS } from './settings.js';

export class Config {
  private get raw(): vscode.WorkspaceConfiguration {
    return vscode.workspace.getConfiguration(SECTION);
  }

  /** The `sigil.home` setting as written, or undefined when empty. */
  get homeSetting(): string | undefined {
    const v = this.raw.get<string>('home');
    return typeof v === 'string' && v.trim() !== '' ? v : undefined;
  }

  /** The first workspace folder on disk, if any. */
  get workspaceRoot(): string | undefined {
    const f = vscode.workspace.workspaceFolders?.find((w) => w.uri.scheme === 'file');
    return f?.uri.fsPath;
  }

  /**
   * The Sigil home the server opens: `sigil.home` (`~` expanded, relative to the first workspace folder),
   * else `<first workspace folder>/.sigil`, else $SIGIL_HOME; undefined when there is none.
   */
  resolveHome(): string | undefined {
    const root = this.workspaceRoot;
    const setting = this.homeSetting;
    if (setting !== undefined) return expandPath(setting, root);
    if (root !== undefined) return path.join(root, HOME_DIR_NAME);
    const env = process.env.SIGIL_HOME;
    return env ? path.resolve(env) : undefined;
  }

  /** The mapped settings the user has set, as a config layer. */
  layer(): { values: ConfigLayer; names: Record<string, string> } {
    const cfg = this.raw;
    return settingsLayer((s) => cfg.inspect(s));
  }

  /**
   * Validates the set settings with the schema's own rules (a SigilError('CONFIG_INVALID') naming the
   * setting) and returns the environment variables that carry them to the server. The schema module (zod)
   * is loaded here, when the server starts, not when the extension activates.
   */
  async serverEnv(): Promise<Record<string, string>> {
    const { envVarName, mergeConfig } = await import('../../shared/src/config-schema.js');
    const { values, names } = this.layer();
    mergeConfig([{ source: { kind: 'settings', name: 'VS Code settings' }, values, names }]);
    const env: Record<string, string> = {};
    for (const [section, table] of Object.entries(values as Record<string, Record<string, unknown>>)) {
      for (const [name, value] of Object.entries(table))
        env[envVarName(`${section}.${name}`)] = String(value);
    }
    return env;
  }

  /**
   * The environment variable the server reads the key passphrase from: the setting if set, else
   * $SIGIL_KEYSTORE_PASSPHRASE_ENV, else the default. (A rename in sigil.toml is seen only by the server.)
   */
  passphraseEnvName(): string {
    const { values } = this.layer();
    const fromSetting = (values.keystore as { passphrase_env?: string } | undefined)?.passphrase_env;
    // The declared default of the setting is the schema's default (the manifest test checks it).
    const declared = this.raw.inspect<string>('keystore.passphraseEnv')?.defaultValue ?? 'SIGIL_PASSPHRASE';
    return fromSetting ?? (process.env.SIGIL_KEYSTORE_PASSPHRASE_ENV?.trim() || declared);
  }

  /** True when a change needs the server restarted (the home or a mapped setting). */
  affectsServer(e: vscode.ConfigurationChangeEvent): boolean {
    if (e.affectsConfiguration(`${SECTION}.home`)) return true;
    return MAPPED_SETTINGS.some((m) => e.affectsConfiguration(`${SECTION}.${m.setting}`));
  }
}
