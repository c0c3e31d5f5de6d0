/**
 * The `sigil.*` settings that map onto the shared config schema, and the pure helpers around them (no
 * `vscode` import, so scripts and tests can load this module outside the editor).
 */
import * as os from 'node:os';
import * as path from 'node:path';
import type { ConfigLayer } from '../../shared/src/config-schema.js';

/** A `sigil.*` setting that maps onto a config-schema key. */
export interface MappedSetting {
  /** Setting name below `sigil.`, e.g. "server.logLevel". */
  readonly setting: string;
  /** Dotted schema key, e.g. "server.log_level". */
  readonly key: `${'canon' | 'keystore' | 'server'}.${string}`;
}

/** Every setting that maps onto the config schema. package.json declares each with the schema's default. */
export const MAPPED_SETTINGS: readonly MappedSetting[] = [
  { setting: 'server.logLevel', key: 'server.log_level' },
  { setting: 'canon.verifyWorkers', key: 'canon.verify_workers' },
  { setting: 'canon.groupCommitMaxBatch', key: 'canon.group_commit_max_batch' },
  { setting: 'keystore.scryptLogN', key: 'keystore.scrypt_log_n' },
  { setting: 'keystore.passphraseEnv', key: 'keystore.passphrase_env' },
];

export const SECTION = 'sigil';
export const HOME_DIR_NAME = '.sigil';

/** Reads one setting the way `WorkspaceConfiguration.inspect` reports it. */
export type SettingInspector = (setting: string) =>
  | {
      readonly globalValue?: unknown;
      readonly workspaceValue?: unknown;
      readonly workspaceFolderValue?: unknown;
    }
  | undefined;

/** The explicitly set mapped settings as a config layer, plus the setting name to report for each key. */
export function settingsLayer(inspect: SettingInspector): {
  values: ConfigLayer;
  names: Record<string, string>;
} {
  const values: Record<string, Record<string, unknown>> = {};
  const names: Record<string, string> = {};
  for (const { setting, key } of MAPPED_SETTINGS) {
    const i = inspect(setting);
    const value = i?.workspaceFolderValue ?? i?.workspaceValue ?? i?.globalValue;
    if (value === undefined || value === null) continue;
    const [section, name] = key.split('.') as [string, string];
    (values[section] ??= {})[name] = value;
    names[key] = `${SECTION}.${setting}`;
  }
  return { values: values as ConfigLayer, names };
}

/** Expands `~` and resolves a relative path against `base` (no trailing separator). */
export function expandPath(p: string, base: string | undefined): string {
  let s = p.trim();
  if (s === '~' || s.startsWith('~/')) s = path.join(os.homedir(), s.slice(1));
  // path.resolve, as the server does with the home it is given: the two must name it identically.
  return path.resolve(base ?? process.cwd(), s);
}
